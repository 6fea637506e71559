"""``mx.nd.linalg``: forward against NumPy (batched shapes, ``axis`` of gemm/gemm2,
transpose/side/triangle flags), float64 random-direction gradient checks (well-conditioned
SPD and triangular matrices), and bad inputs."""
from __future__ import annotations

import numpy as np
import pytest

import mixnet as mx
from mixnet.test_utils import check_op

T = lambda x: np.swapaxes(x, -1, -2)  # noqa: E731


def _rng(seed=0):
    return np.random.default_rng(seed)


def _spd(rng, n, batch=()):
    m = rng.standard_normal(batch + (n, n))
    return m @ T(m) + n * np.eye(n)


def _tri(rng, n, batch=()):
    """Matrices whose triangles are well-conditioned triangular matrices; the triangle an op
    does not read holds garbage it must ignore."""
    return rng.standard_normal(batch + (n, n)) * 0.3 + 2.0 * np.eye(n)


# ------------------------------------------------------------------ gemm / gemm2
def _op(a, t):
    return T(a) if t else a


@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("tb", [False, True])
@pytest.mark.parametrize("batch", [(), (2,), (2, 3)])
def test_gemm_gemm2(ta, tb, batch):
    rng = _rng()
    m, k, n = 3, 4, 2
    a = rng.standard_normal(batch + ((k, m) if ta else (m, k)))
    b = rng.standard_normal(batch + ((n, k) if tb else (k, n)))
    c = rng.standard_normal(batch + (m, n))
    p2 = dict(transpose_a=ta, transpose_b=tb, alpha=1.5)
    short_k = b[..., :1] if tb else b[..., :1, :]  # inner sizes disagree
    check_op("_linalg_gemm2", [a, b], p2,
             reference=lambda a, b, **_: 1.5 * _op(a, ta) @ _op(b, tb),
             bad_inputs=[([a, short_k], p2), ([a, b, c], p2), ([a], p2),
                         ([a[0], b] if batch else [a, b[None]], p2),
                         ([a.astype(np.float16), b.astype(np.float16)], p2),
                         ([a.astype(np.int32), b.astype(np.int32)], p2)])
    p = dict(p2, beta=-0.5)
    check_op("_linalg_gemm", [a, b, c], p,
             reference=lambda a, b, c, **_: 1.5 * _op(a, ta) @ _op(b, tb) - 0.5 * c,
             bad_inputs=[([a, b, c[..., :1]], p), ([a, b], p)])
    # float32 and the flat alias / namespaced names
    a32, b32 = a.astype(np.float32), b.astype(np.float32)
    got = mx.nd.linalg_gemm2(mx.nd.array(a32), mx.nd.array(b32), **p2).asnumpy()
    np.testing.assert_allclose(got, 1.5 * _op(a32, ta) @ _op(b32, tb), rtol=1e-5, atol=1e-5)
    assert mx.nd.linalg.gemm2 is not None and mx.nd.linalg.gemm is not None


@pytest.mark.parametrize("axis", [0, 1, -3])
def test_gemm_axis(axis):
    """``axis`` is the row axis; the columns stay last, other axes are batch axes."""
    rng = _rng(1)
    shape_a, shape_b = [2, 3, 4], [2, 3, 4]
    nd = 3
    ax = axis % nd
    m, k, n = 5, 4, 6
    shape_a[ax], shape_a[-1] = m, k
    shape_b[ax], shape_b[-1] = k, n
    a, b = rng.standard_normal(shape_a), rng.standard_normal(shape_b)

    def ref(a, b, c=None, **_):
        am, bm = np.moveaxis(a, ax, -2), np.moveaxis(b, ax, -2)
        r = 0.5 * am @ bm + (0 if c is None else 2.0 * np.moveaxis(c, ax, -2))
        return np.moveaxis(r, -2, ax)

    out_shape = list(shape_a)
    out_shape[-1] = n
    c = rng.standard_normal(out_shape)
    check_op("_linalg_gemm2", [a, b], dict(axis=axis, alpha=0.5), reference=ref)
    check_op("_linalg_gemm", [a, b, c], dict(axis=axis, alpha=0.5, beta=2.0), reference=ref)
    with pytest.raises(mx.MXNetError, match="_linalg_gemm2.*row axis"):
        mx.nd.linalg.gemm2(mx.nd.array(a), mx.nd.array(b), axis=2)
    # transposed operands with a moved row axis
    at = np.moveaxis(np.swapaxes(np.moveaxis(a, ax, -2), -1, -2), -2, ax)
    got = mx.nd.linalg.gemm2(mx.nd.array(at, dtype="float64"), mx.nd.array(b, dtype="float64"),
                             transpose_a=True, axis=axis, alpha=0.5).asnumpy()
    np.testing.assert_allclose(got, ref(a, b), rtol=1e-10)


def test_gemm_infers_c_shape():
    op = mx.operator.get("_linalg_gemm")
    p = op.parse_params({"transpose_a": True})
    ins, outs = op.infer_shape(p, [(2, 4, 3), (2, 4, 5), None])
    assert ins[2] == (2, 3, 5) and outs == [(2, 3, 5)]
    assert op.infer_shape(p, [None, (2, 4, 5), None])[1] == [None]


# ------------------------------------------------------------------ Cholesky
@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("batch", [(), (3,), (2, 2)])
def test_potrf(lower, batch):
    rng = _rng(2)
    a = _spd(rng, 4, batch)
    want = np.linalg.cholesky(a)
    if not lower:
        want = T(want)
    # garbage in the triangle potrf does not read must not matter
    noisy = a + (np.triu(rng.standard_normal(a.shape), 1) if lower
                 else np.tril(rng.standard_normal(a.shape), -1))
    got = mx.nd.linalg.potrf(mx.nd.array(noisy, dtype="float64"), lower=lower).asnumpy()
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)

    # the gradient is MXNet's symmetric one: check it through a symmetrised input
    def sym_potrf(x):
        return mx.nd.linalg.potrf(0.5 * (x + mx.nd.swapaxes(x, -1, -2)), lower=lower)
    check_op(sym_potrf, [a], {}, reference=lambda x: want)
    g = mx.nd.array(a, dtype="float64")
    g.attach_grad()
    with mx.autograd.record():
        y = mx.nd.linalg.potrf(g, lower=lower)
    y.backward(mx.nd.array(rng.standard_normal(a.shape), dtype="float64"))
    np.testing.assert_allclose(g.grad.asnumpy(), T(g.grad.asnumpy()), atol=1e-12)


def test_potrf_known_values_and_errors():
    a = mx.nd.array([[4.0, 1.0], [1.0, 4.25]])
    np.testing.assert_allclose(mx.nd.linalg.potrf(a).asnumpy(), [[2.0, 0], [0.5, 2.0]])
    with pytest.raises(mx.MXNetError, match="potrf.*positive definite"):
        mx.nd.linalg.potrf(mx.nd.array([[1.0, 2.0], [2.0, 1.0]])).wait_to_read()
    with pytest.raises(mx.MXNetError, match="_linalg_potrf.*square"):
        mx.nd.linalg.potrf(mx.nd.ones((2, 3)))
    with pytest.raises(mx.MXNetError, match="_linalg_potrf.*ndim >= 2"):
        mx.nd.linalg.potrf(mx.nd.ones((3,)))
    with pytest.raises(mx.MXNetError, match="_linalg_potrf.*float32 and float64"):
        mx.nd.linalg.potrf(mx.nd.ones((2, 2), dtype="float16"))


@pytest.mark.parametrize("lower", [True, False])
def test_potri(lower):
    rng = _rng(3)
    a = _tri(rng, 3, (2,))
    t = np.tril(a) if lower else np.triu(a)
    want = np.linalg.inv(t @ T(t) if lower else T(t) @ t)
    check_op("_linalg_potri", [a], dict(lower=lower), reference=lambda x, **_: want,
             bad_inputs=[([a[..., :2]], {}), ([a, a], {})])
    # potri(potrf(A)) = A^-1
    s = _spd(rng, 4)
    inv = mx.nd.linalg.potri(mx.nd.linalg.potrf(mx.nd.array(s, dtype="float64")))
    np.testing.assert_allclose(inv.asnumpy(), np.linalg.inv(s), rtol=1e-9, atol=1e-12)


# ------------------------------------------------------------------ trsm / trmm
@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("transpose", [False, True])
@pytest.mark.parametrize("rightside", [False, True])
def test_trsm_trmm(lower, transpose, rightside):
    rng = _rng(4)
    a = _tri(rng, 3, (2,))
    b = rng.standard_normal((2, 4, 3) if rightside else (2, 3, 4))
    t = np.tril(a) if lower else np.triu(a)
    op_t = T(t) if transpose else t
    p = dict(lower=lower, transpose=transpose, rightside=rightside, alpha=-0.7)
    solve = -0.7 * (b @ np.linalg.inv(op_t) if rightside else np.linalg.solve(op_t, b))
    mult = -0.7 * (b @ op_t if rightside else op_t @ b)
    bad_b = rng.standard_normal((2, 3, 5) if rightside else (2, 5, 3))
    bad = [([a, bad_b], p), ([a[..., :2], b], p), ([a[0], b], p), ([a, b[:1]], p)]
    check_op("_linalg_trsm", [a, b], p, reference=lambda *x, **_: solve, bad_inputs=bad)
    check_op("_linalg_trmm", [a, b], p, reference=lambda *x, **_: mult, bad_inputs=bad)


def test_trsm_inverts_trmm_float32():
    rng = _rng(5)
    a = _tri(rng, 4).astype(np.float32)
    b = rng.standard_normal((4, 2)).astype(np.float32)
    na, nb = mx.nd.array(a), mx.nd.array(b)
    back = mx.nd.linalg.trsm(na, mx.nd.linalg.trmm(na, nb, alpha=2.0), alpha=0.5)
    assert back.dtype == np.float32
    np.testing.assert_allclose(back.asnumpy(), b, rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------------ syrk
@pytest.mark.parametrize("transpose", [False, True])
def test_syrk(transpose):
    rng = _rng(6)
    a = rng.standard_normal((2, 3, 4))
    want = 0.5 * (T(a) @ a if transpose else a @ T(a))
    check_op("_linalg_syrk", [a], dict(transpose=transpose, alpha=0.5),
             reference=lambda x, **_: want,
             bad_inputs=[([a[0, 0]], {}), ([a, a], {}), ([a.astype(np.float16)], {})])


# ------------------------------------------------------------------ diagonals
@pytest.mark.parametrize("offset", [0, 1, -2])
@pytest.mark.parametrize("batch", [(), (2,), (2, 1)])
def test_extractdiag_makediag(offset, batch):
    rng = _rng(7)
    a = rng.standard_normal(batch + (4, 4))
    want = np.diagonal(a, offset, axis1=-2, axis2=-1)
    check_op("_linalg_extractdiag", [a], dict(offset=offset),
             reference=lambda x, **_: want,
             bad_inputs=[([a[..., :3]], {}), ([a], dict(offset=4)), ([a], dict(offset=-5))])
    v = rng.standard_normal(batch + (3,))
    m = 3 + abs(offset)
    made = np.zeros(batch + (m, m))
    for i in range(3):
        made[..., i + max(0, -offset), i + max(0, offset)] = v[..., i]
    check_op("_linalg_makediag", [v], dict(offset=offset), reference=lambda x, **_: made)
    np.testing.assert_array_equal(
        mx.nd.linalg.extractdiag(mx.nd.linalg.makediag(mx.nd.array(v), offset=offset),
                                 offset=offset).asnumpy(), v.astype(np.float32))


def test_sumlogdiag():
    rng = _rng(8)
    for batch in [(), (3,), (2, 2)]:
        a = _spd(rng, 3, batch)
        want = np.sum(np.log(np.diagonal(a, axis1=-2, axis2=-1)), axis=-1).reshape(
            batch or (1,))
        check_op("_linalg_sumlogdiag", [a], {}, reference=lambda x: want,
                 bad_inputs=[([a[..., :2]], {}), ([a.reshape(-1)], {})])


# ------------------------------------------------------------------ inverse / det / slogdet
@pytest.mark.parametrize("batch", [(), (2,), (2, 3)])
def test_inverse_det_slogdet(batch):
    rng = _rng(9)
    a = _spd(rng, 3, batch) * np.where(rng.random(batch + (1, 1)) > 0.5, 1, -1)
    one = batch or (1,)
    bad = [([a[..., :2]], {}), ([a, a], {}), ([a.astype(np.float16)], {})]
    check_op("_linalg_inverse", [a], {}, reference=lambda x: np.linalg.inv(x), bad_inputs=bad)
    check_op("_linalg_det", [a], {}, reference=lambda x: np.linalg.det(x).reshape(one),
             bad_inputs=bad)
    sign, logabs = np.linalg.slogdet(a)
    check_op("_linalg_slogdet", [a], {},
             reference=lambda x: [sign.reshape(one), logabs.reshape(one)], bad_inputs=bad)
    # float32 through the namespaced function
    s32, l32 = mx.nd.linalg.slogdet(mx.nd.array(a.astype(np.float32)))
    np.testing.assert_allclose(l32.asnumpy(), logabs.reshape(one), rtol=1e-4)
    np.testing.assert_array_equal(s32.asnumpy(), sign.reshape(one))


def test_inverse_second_order():
    """inverse's gradient is built from gemm2, so it differentiates again."""
    rng = _rng(10)
    a = mx.nd.array(_spd(rng, 3), dtype="float64")
    a.attach_grad()
    with mx.autograd.record():
        x = mx.nd.linalg.inverse(a)
        (g,) = mx.autograd.grad(x, [a], create_graph=True)
    assert g.shape == (3, 3)
    inv = np.linalg.inv(a.asnumpy())
    np.testing.assert_allclose(g.asnumpy(), -(inv.T @ np.ones((3, 3)) @ inv.T), rtol=1e-9)


def test_singular_inverse_raises():
    with pytest.raises(mx.MXNetError, match="inverse"):
        mx.nd.linalg.inverse(mx.nd.zeros((2, 2))).wait_to_read()
    np.testing.assert_array_equal(mx.nd.linalg.det(mx.nd.zeros((2, 2))).asnumpy(), [0.0])
