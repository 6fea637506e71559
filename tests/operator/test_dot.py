"""``dot`` and ``batch_dot``: forward against NumPy and against MXNet 1.9.1 goldens."""
from __future__ import annotations


import numpy as np
import pytest

import mixnet as mx
from mixnet.operator.registry import OpCtx

TOL = {np.float16: (1e-2, 1e-2), np.float32: (1e-5, 1e-5), np.float64: (1e-12, 1e-12),
       np.int32: (0, 0)}
DTYPES = [np.float32, np.float64, np.float16, np.int32]


def _data(shape, dtype, rng):
    if np.dtype(dtype).kind == "i":
        return rng.integers(-3, 4, size=shape).astype(dtype)
    return rng.uniform(-1, 1, size=shape).astype(dtype)


def _check(got, want, dtype, what):
    rtol, atol = TOL[dtype]
    assert got.shape == want.shape, "%s: shape %s != %s" % (what, got.shape, want.shape)
    assert got.dtype == np.dtype(dtype), "%s: dtype %s" % (what, got.dtype)
    ok = np.isclose(got.astype(np.float64), want.astype(np.float64), rtol=rtol, atol=atol)
    assert ok.all(), "%s:\n got %s\nwant %s" % (what, got, want)


def _dot_ref(a, b, ta, tb):
    """MXNet's dot: contract lhs's first axis (transpose_a) or last axis with rhs's last
    axis (transpose_b) or first axis; 1-D x 1-D gives shape (1,)."""
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    la = 0 if (ta and a.ndim > 1) else a.ndim - 1
    rb = b.ndim - 1 if (tb and b.ndim > 1) else 0
    r = np.tensordot(a64, b64, axes=([la], [rb]))
    return np.asarray(r).reshape(np.shape(r) or (1,))


# (lhs shape, rhs shape, transpose_a, transpose_b, output shape)
DOT_CASES = [
    ((6,), (6,), False, False, (1,)),
    ((3, 4), (4, 5), False, False, (3, 5)),
    ((4, 3), (4, 5), True, False, (3, 5)),
    ((3, 4), (5, 4), False, True, (3, 5)),
    ((4, 3), (5, 4), True, True, (3, 5)),
    ((4,), (4, 5), False, False, (5,)),
    ((3, 4), (4,), False, False, (3,)),
    ((4,), (5, 4), False, True, (5,)),
    ((4, 3), (4,), True, False, (3,)),
    ((2, 3, 4), (4, 5), False, False, (2, 3, 5)),
    ((3, 4), (4, 2, 5), False, False, (3, 2, 5)),
    ((2, 3, 4), (4, 2, 5), False, False, (2, 3, 2, 5)),
    ((4, 2, 3), (4, 5), True, False, (2, 3, 5)),
    ((3, 4), (5, 2, 4), False, True, (3, 5, 2)),
    ((4, 2, 3), (2, 5, 4), True, True, (2, 3, 2, 5)),
    ((1, 1), (1, 1), False, False, (1, 1)),
    ((3, 0), (0, 2), False, False, (3, 2)),
]


@pytest.mark.parametrize("dtype", DTYPES)
def test_dot_sweep(dtype):
    rng = np.random.default_rng(0)
    for ls, rs, ta, tb, oshape in DOT_CASES:
        a, b = _data(ls, dtype, rng), _data(rs, dtype, rng)
        got = mx.nd.dot(mx.nd.array(a, dtype=dtype), mx.nd.array(b, dtype=dtype),
                        transpose_a=ta, transpose_b=tb).asnumpy()
        want = _dot_ref(a, b, ta, tb)
        assert want.shape == oshape
        _check(got, want, dtype, "dot %s x %s ta=%s tb=%s" % (ls, rs, ta, tb))


BATCH_CASES = [
    ((2, 3, 4), (2, 4, 5), False, False, (2, 3, 5)),
    ((2, 4, 3), (2, 4, 5), True, False, (2, 3, 5)),
    ((2, 3, 4), (2, 5, 4), False, True, (2, 3, 5)),
    ((2, 4, 3), (2, 5, 4), True, True, (2, 3, 5)),
    ((1, 1, 1), (1, 1, 1), False, False, (1, 1, 1)),
    ((2, 3, 4, 5), (2, 3, 5, 6), False, False, (2, 3, 4, 6)),
    ((2, 3, 5, 4), (2, 3, 6, 5), True, True, (2, 3, 4, 6)),
    ((0, 3, 4), (0, 4, 5), False, False, (0, 3, 5)),
]


@pytest.mark.parametrize("dtype", DTYPES)
def test_batch_dot_sweep(dtype):
    rng = np.random.default_rng(0)
    for ls, rs, ta, tb, oshape in BATCH_CASES:
        a, b = _data(ls, dtype, rng), _data(rs, dtype, rng)
        a64 = np.swapaxes(a, -1, -2) if ta else a
        b64 = np.swapaxes(b, -1, -2) if tb else b
        want = np.matmul(a64.astype(np.float64), b64.astype(np.float64))
        assert want.shape == oshape
        got = mx.nd.batch_dot(mx.nd.array(a, dtype=dtype), mx.nd.array(b, dtype=dtype),
                              transpose_a=ta, transpose_b=tb).asnumpy()
        _check(got, want, dtype, "batch_dot %s x %s ta=%s tb=%s" % (ls, rs, ta, tb))


def test_positional_string_and_out():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 3)).astype(np.float32)
    b = rng.standard_normal((4, 5)).astype(np.float32)
    na, nb = mx.nd.array(a), mx.nd.array(b)
    np.testing.assert_allclose(mx.nd.dot(na, nb, True).asnumpy(), a.T @ b, rtol=1e-5)
    np.testing.assert_allclose(mx.nd.dot(na, nb, transpose_a="True").asnumpy(), a.T @ b,
                               rtol=1e-5)
    np.testing.assert_allclose(mx.nd.dot(lhs=na, rhs=nb, transpose_a=1).asnumpy(), a.T @ b,
                               rtol=1e-5)
    out = mx.nd.array(np.zeros((3, 5), np.float32))
    ret = mx.nd.dot(na, nb, transpose_a=True, out=out)
    assert ret is out
    np.testing.assert_allclose(out.asnumpy(), a.T @ b, rtol=1e-5)
    ba = rng.standard_normal((2, 3, 4)).astype(np.float32)
    bb = rng.standard_normal((2, 5, 4)).astype(np.float32)
    out = mx.nd.array(np.zeros((2, 3, 5), np.float32))
    mx.nd.batch_dot(mx.nd.array(ba), mx.nd.array(bb), False, "1", out=out)
    np.testing.assert_allclose(out.asnumpy(), ba @ bb.transpose(0, 2, 1), rtol=1e-5)
    # dense inputs ignore the requested sparse output storage
    np.testing.assert_allclose(mx.nd.dot(na, nb, True, forward_stype="default").asnumpy(),
                               a.T @ b, rtol=1e-5)


def test_out_aliasing_an_input():
    a = np.arange(4, dtype=np.float32).reshape(2, 2)
    na = mx.nd.array(a)
    mx.nd.dot(na, na, out=na)
    np.testing.assert_allclose(na.asnumpy(), a @ a)


def test_kernels_write_non_contiguous_out():
    oc = OpCtx(np, None, False)
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.arange(12, dtype=np.float32).reshape(3, 4)
    for name, x, y, ref in (("dot", a, b, a @ b),
                            ("batch_dot", a[None], b[None], (a @ b)[None])):
        op = mx.operator.get(name)
        buf = np.zeros(ref.shape + (2,), np.float32)
        out = buf[..., 0]
        op.forward(oc, [x, y], [out], op.parse_params({}))
        np.testing.assert_allclose(buf[..., 0], ref)
        np.testing.assert_array_equal(buf[..., 1], 0)


def test_cost_is_mnk():
    dot, bdot = mx.operator.get("dot"), mx.operator.get("batch_dot")
    p = dot.parse_params({})
    assert dot.cost(p, [(30, 40), (40, 50)], [(30, 50)]) == 30 * 40 * 50
    assert dot.cost(p, [(2, 3, 4), (4, 5)], [(2, 3, 5)]) == 2 * 3 * 4 * 5
    pt = dot.parse_params({"transpose_a": True, "transpose_b": True})
    assert dot.cost(pt, [(40, 30), (50, 40)], [(30, 50)]) == 30 * 40 * 50
    assert bdot.cost(p, [(7, 3, 4), (7, 4, 5)], [(7, 3, 5)]) == 7 * 3 * 4 * 5


def test_dot_errors():
    a = mx.nd.array(np.zeros((3, 4), np.float32))
    b = mx.nd.array(np.zeros((5, 6), np.float32))
    with pytest.raises(mx.MXNetError, match=r"dot.*\(3, 4\) X \(5, 6\)"):
        mx.nd.dot(a, b)
    with pytest.raises(mx.MXNetError, match=r"dot.*\(3, 4\) X \(3, 4\)"):
        mx.nd.dot(a, a)
    v, w = mx.nd.array(np.zeros(3, np.float32)), mx.nd.array(np.zeros(4, np.float32))
    with pytest.raises(mx.MXNetError, match=r"dot.*\(3,\) X \(4,\)"):
        mx.nd.dot(v, w)
    with pytest.raises(mx.MXNetError, match="transpose vectors"):
        mx.nd.dot(v, v, transpose_a=True)
    with pytest.raises(mx.MXNetError, match="dtype"):
        mx.nd.dot(a, mx.nd.array(np.zeros((4, 2)), dtype=np.float64))
    with pytest.raises(mx.MXNetError, match="unknown parameter"):
        mx.nd.dot(a, a, transpose=True)
    with pytest.raises(mx.MXNetError, match="forward_stype"):
        mx.nd.dot(a, a, forward_stype="dense")


def test_batch_dot_errors():
    a = mx.nd.array(np.zeros((2, 3, 4), np.float32))
    with pytest.raises(mx.MXNetError, match=r"batch_dot.*batch.*\(2, 3, 4\) X \(3, 4, 5\)"):
        mx.nd.batch_dot(a, mx.nd.array(np.zeros((3, 4, 5), np.float32)))
    with pytest.raises(mx.MXNetError, match=r"batch_dot.*\(2, 3, 4\) X \(2, 5, 6\)"):
        mx.nd.batch_dot(a, mx.nd.array(np.zeros((2, 5, 6), np.float32)))
    with pytest.raises(mx.MXNetError, match=r"batch_dot.*\(2, 3, 4\) X \(2, 3, 4\)"):
        mx.nd.batch_dot(a, a)
    m = mx.nd.array(np.zeros((3, 4), np.float32))
    with pytest.raises(mx.MXNetError, match=r"batch_dot.*rank.*\(3, 4\) X \(3, 4\)"):
        mx.nd.batch_dot(m, m, transpose_b=True)
    with pytest.raises(mx.MXNetError, match=r"batch_dot.*\(2, 3, 4\) X \(2, 1, 4, 3\)"):
        mx.nd.batch_dot(a, mx.nd.array(np.zeros((2, 1, 4, 3), np.float32)))


# ----------------------------------------------------------------------------- gradients
from mixnet import autograd  # noqa: E402
from mixnet.test_utils import check_op  # noqa: E402


def test_dot_gradients_every_layout():
    rng = np.random.default_rng(3)
    for ls, rs, ta, tb, _ in DOT_CASES:
        if 0 in ls + rs:
            continue
        a, b = rng.standard_normal(ls), rng.standard_normal(rs)
        check_op("dot", [a, b], {"transpose_a": ta, "transpose_b": tb},
                 reference=lambda x, y, transpose_a, transpose_b: _dot_ref(x, y, transpose_a,
                                                                           transpose_b),
                 rtol=1e-12, atol=1e-12)


def test_batch_dot_gradients_every_layout():
    rng = np.random.default_rng(4)
    for ls, rs, ta, tb, _ in BATCH_CASES:
        if 0 in ls + rs:
            continue

        def ref(x, y, transpose_a, transpose_b):
            return np.matmul(np.swapaxes(x, -1, -2) if transpose_a else x,
                             np.swapaxes(y, -1, -2) if transpose_b else y)
        check_op("batch_dot", [rng.standard_normal(ls), rng.standard_normal(rs)],
                 {"transpose_a": ta, "transpose_b": tb}, reference=ref, rtol=1e-12,
                 atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_dot_gradient_dtypes(dtype):
    rng = np.random.default_rng(5)
    a, b = rng.uniform(-1, 1, (3, 4)).astype(dtype), rng.uniform(-1, 1, (4, 2)).astype(dtype)
    g = rng.uniform(-1, 1, (3, 2)).astype(dtype)
    x, y = mx.nd.array(a, dtype=dtype), mx.nd.array(b, dtype=dtype)
    x.attach_grad()
    y.attach_grad()
    with autograd.record():
        z = mx.nd.dot(x, y)
    z.backward(mx.nd.array(g, dtype=dtype))
    rtol = 1e-2 if dtype == np.float16 else 1e-5
    assert x.grad.dtype == dtype and y.grad.dtype == dtype
    np.testing.assert_allclose(x.grad.asnumpy(), g.astype(np.float64) @ b.T, rtol=rtol,
                               atol=rtol)
    np.testing.assert_allclose(y.grad.asnumpy(), a.T.astype(np.float64) @ g, rtol=rtol,
                               atol=rtol)


@pytest.mark.parametrize("name,ls,rs", [("dot", (4, 3), (5, 4)),
                                        ("batch_dot", (2, 4, 3), (2, 5, 4))])
def test_second_order_gradients(name, ls, rs):
    """The backward ops are differentiable: check them like any op (all three inputs)."""
    rng = np.random.default_rng(6)
    p = {"transpose_a": True, "transpose_b": True}
    a, b = rng.standard_normal(ls), rng.standard_normal(rs)
    fwd = getattr(mx.nd, name)(mx.nd.array(a, dtype=a.dtype), mx.nd.array(b, dtype=b.dtype),
                               **p).asnumpy()
    g = rng.standard_normal(fwd.shape)

    def ref(g_, x, y, transpose_a, transpose_b):
        # forward is bilinear: lhs grad = d<g, f(x, y)>/dx, computed by finite structure
        f = (lambda u, v: _dot_ref(u, v, True, True)) if name == "dot" else \
            (lambda u, v: np.matmul(np.swapaxes(u, -1, -2), np.swapaxes(v, -1, -2)))
        gx = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            e = np.zeros_like(x)
            e[i] = 1
            gx[i] = np.sum(g_ * f(e, y))
        gy = np.zeros_like(y)
        for i in np.ndindex(y.shape):
            e = np.zeros_like(y)
            e[i] = 1
            gy[i] = np.sum(g_ * f(x, e))
        return [gx, gy]
    check_op(getattr(mx.nd._internal, "_backward_" + name), [g, a, b], p, reference=ref,
             rtol=1e-10, atol=1e-10)


def test_backward_shapes_are_inferred():
    op = mx.operator.get("_backward_dot")
    p = op.parse_params({"transpose_a": True})
    _, outs = op.infer_shape(p, [(3, 5), (4, 3), (4, 5)])
    assert outs == [(4, 3), (4, 5)]
    assert op.cost(p, [(3, 5), (4, 3), (4, 5)], outs) == 2 * 3 * 4 * 5
