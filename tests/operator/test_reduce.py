"""Reduction ops (sum, mean, prod, nansum, nanprod, max, min, norm, argmax, argmin,
argmax_channel, moments): forward against NumPy and against MXNet 1.9.1 goldens."""
from __future__ import annotations


import numpy as np
import pytest

import mixnet as mx
from mixnet.operator.registry import OpCtx

SHAPES = [(5,), (3, 4), (2, 3, 4), (2, 1, 3, 2)]
TOL = {np.float16: (1e-2, 1e-2), np.float32: (1e-5, 1e-5), np.float64: (1e-12, 1e-12),
       np.int32: (0, 0)}


# ----------------------------------------------------------------------------- helpers
def _data(shape, dtype, rng, nan=False):
    """Values away from 0 with random signs, so products stay in range and integer
    reductions cannot overflow."""
    if np.dtype(dtype).kind == "i":
        return rng.choice(np.array([-2, -1, 1, 2]), size=shape).astype(dtype)
    x = rng.uniform(0.5, 1.5, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    if nan and x.size > 1:
        x.flat[rng.integers(0, x.size, size=max(1, x.size // 4))] = np.nan
    return x.astype(dtype)


def _axes(ndim, axis, exclude):
    if axis is None or axis == ():
        return tuple(range(ndim))
    axis = (axis,) if isinstance(axis, int) else axis
    norm = sorted(a % ndim for a in axis)
    return tuple(i for i in range(ndim) if i not in norm) if exclude else tuple(norm)


def _axis_cases(ndim):
    cases = [None, (), 0, -1]
    if ndim > 1:
        cases += [(0, ndim - 1), (-1, 0)]
    if ndim > 2:
        cases.append((1,))
    return cases


def _trunc_mean(x, axis, keepdims):
    s = np.sum(x.astype(np.int64), axis=axis, keepdims=keepdims)
    n = int(np.prod([x.shape[a] for a in axis]))
    return (np.sign(s) * (np.abs(s) // n)).astype(x.dtype)


NP_REF = {
    "sum": np.sum, "mean": np.mean, "prod": np.prod, "nansum": np.nansum,
    "nanprod": np.nanprod, "max": np.max, "min": np.min,
}


def _reference(op, x, axis, keepdims, exclude):
    axes = _axes(x.ndim, axis, exclude)
    if op == "mean" and x.dtype.kind == "i":
        r = _trunc_mean(x, axes, keepdims)
    else:
        r = NP_REF[op](x.astype(np.float64) if x.dtype.kind == "f" else x, axis=axes,
                       keepdims=keepdims)
    r = np.asarray(r)
    if r.ndim == 0:
        r = r.reshape(1)
    return r.astype(x.dtype)


def _check(got, want, rtol, atol, what):
    assert got.shape == want.shape, "%s: shape %s != %s" % (what, got.shape, want.shape)
    assert got.dtype == want.dtype, "%s: dtype %s != %s" % (what, got.dtype, want.dtype)
    ok = np.isclose(got.astype(np.float64), want.astype(np.float64), rtol=rtol, atol=atol,
                    equal_nan=True)
    assert ok.all(), "%s:\n got %s\nwant %s" % (what, got, want)


# ----------------------------------------------------------------------------- sweeps
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, np.int32])
@pytest.mark.parametrize("op", sorted(NP_REF))
def test_reduce_sweep(op, dtype):
    rng = np.random.default_rng(0)
    rtol, atol = TOL[dtype]
    fn = getattr(mx.nd, op)
    for shape in SHAPES:
        x = _data(shape, dtype, rng, nan=op.startswith("nan"))
        nd = mx.nd.array(x, dtype=dtype)
        for axis in _axis_cases(len(shape)):
            for keepdims in (False, True):
                for exclude in (False, True):
                    got = fn(nd, axis=axis, keepdims=keepdims, exclude=exclude).asnumpy()
                    want = _reference(op, x, axis, keepdims, exclude)
                    _check(got, want, rtol, atol, "%s%s axis=%s keepdims=%s exclude=%s %s"
                           % (op, shape, axis, keepdims, exclude, np.dtype(dtype).name))


@pytest.mark.parametrize("op", sorted(NP_REF) + ["norm", "argmax", "argmin"])
def test_full_reduction_is_shape_1(op):
    x = mx.nd.array(np.arange(1, 13, dtype=np.float32).reshape(3, 4))
    assert getattr(mx.nd, op)(x).shape == (1,)
    assert getattr(x, op)().shape == (1,)
    assert getattr(mx.nd, op)(x, keepdims=True).shape == (1, 1)


def test_positional_params():
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    nd = mx.nd.array(x)
    np.testing.assert_allclose(mx.nd.sum(nd, 1).asnumpy(), x.sum(axis=1))
    assert mx.nd.sum(nd, 1, True).shape == (2, 1, 4)
    np.testing.assert_allclose(mx.nd.mean(nd, 1, False, True).asnumpy(),
                               x.mean(axis=(0, 2)))
    np.testing.assert_allclose(mx.nd.argmax(nd, 2).asnumpy(), x.argmax(axis=2))
    np.testing.assert_allclose(mx.nd.norm(nd, 1, (0, 2)).asnumpy(),
                               np.abs(x).sum(axis=(0, 2)))


def test_string_params():
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    nd = mx.nd.array(x)
    got = mx.nd.sum(nd, axis="(0, 1)", keepdims="True")
    np.testing.assert_allclose(got.asnumpy(), x.sum(axis=(0, 1), keepdims=True))
    got = mx.nd.max(nd, axis="1", exclude="true")
    np.testing.assert_allclose(got.asnumpy(), x.max(axis=(0, 2)))
    got = mx.nd.sum(nd, axis="None")
    np.testing.assert_allclose(got.asnumpy(), [x.sum()])
    got = mx.nd.argmin(nd, axis="None", keepdims="False")
    np.testing.assert_allclose(got.asnumpy(), [0])
    got = mx.nd.norm(nd, ord="1", axis="(-1,)", out_dtype="float64")
    assert got.dtype == np.float64
    np.testing.assert_allclose(got.asnumpy(), np.abs(x).sum(axis=-1))


def test_fluent_methods():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4)).astype(np.float32)
    nd = mx.nd.array(x)
    np.testing.assert_allclose(nd.sum(axis=0).asnumpy(), x.sum(axis=0), rtol=1e-5)
    np.testing.assert_allclose(nd.mean(axis=1).asnumpy(), x.mean(axis=1), rtol=1e-5)
    np.testing.assert_allclose(nd.max(axis=1).asnumpy(), x.max(axis=1))
    np.testing.assert_allclose(nd.min().asnumpy(), [x.min()])
    np.testing.assert_allclose(nd.prod(axis=0).asnumpy(), x.prod(axis=0), rtol=1e-5)
    np.testing.assert_allclose(nd.nansum(axis=0).asnumpy(), x.sum(axis=0), rtol=1e-5)
    np.testing.assert_allclose(nd.nanprod(axis=1).asnumpy(), x.prod(axis=1), rtol=1e-5)
    np.testing.assert_allclose(nd.norm().asnumpy(), [np.linalg.norm(x)], rtol=1e-5)
    np.testing.assert_array_equal(nd.argmax(axis=1).asnumpy(), x.argmax(axis=1))
    np.testing.assert_array_equal(nd.argmin(axis=0).asnumpy(), x.argmin(axis=0))
    np.testing.assert_array_equal(nd.argmax_channel().asnumpy(), x.argmax(axis=1))


def test_aliases():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    nd = mx.nd.array(x)
    np.testing.assert_allclose(mx.nd.sum_axis(nd, axis=1).asnumpy(), x.sum(axis=1))
    np.testing.assert_allclose(mx.nd.max_axis(nd, axis=0).asnumpy(), x.max(axis=0))
    np.testing.assert_allclose(mx.nd.min_axis(nd, axis=0).asnumpy(), x.min(axis=0))


def test_empty_axis_tuple_reduces_everything():
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    nd = mx.nd.array(x)
    for exclude in (False, True):
        got = mx.nd.sum(nd, axis=(), exclude=exclude)
        assert got.shape == (1,)
        np.testing.assert_allclose(got.asnumpy(), [x.sum()])
    assert mx.nd.mean(nd, axis=(), keepdims=True).shape == (1, 1, 1)
    assert mx.nd.norm(nd, axis=()).shape == (1,)


def test_exclude_all_axes_keeps_shape():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    got = mx.nd.sum(mx.nd.array(x), axis=(0, 1), exclude=True)
    assert got.shape == (2, 3)
    np.testing.assert_array_equal(got.asnumpy(), x)


def test_out_argument():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    nd = mx.nd.array(x)
    out = mx.nd.array(np.zeros(3, np.float32))
    ret = mx.nd.sum(nd, axis=1, out=out)
    assert ret is out
    np.testing.assert_allclose(out.asnumpy(), x.sum(axis=1))
    out = mx.nd.array(np.zeros((1, 4), np.float32))
    mx.nd.mean(nd, axis=0, keepdims=True, out=out)
    np.testing.assert_allclose(out.asnumpy(), x.mean(axis=0, keepdims=True))
    out = mx.nd.array(np.zeros(3, np.float32))
    mx.nd.argmax(nd, axis=1, out=out)
    np.testing.assert_array_equal(out.asnumpy(), [3, 3, 3])
    # writing into the input itself (same shape) must see the original values
    sq = mx.nd.array(np.ones((2, 2), np.float32))
    mx.nd.sum(sq, axis=(0, 1), exclude=True, out=sq)
    np.testing.assert_array_equal(sq.asnumpy(), np.ones((2, 2)))


def test_kernels_write_non_contiguous_out():
    # the ``out=`` path may hand kernels a strided buffer; they must fill it, not a copy
    oc = OpCtx(np, None, False)
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    for name, ref in (("sum", x.sum(axis=0)), ("mean", x.mean(axis=0)),
                      ("max", x.max(axis=0)), ("nansum", x.sum(axis=0))):
        op = mx.operator.get(name)
        buf = np.zeros((4, 2), np.float32)
        out = buf[:, 0]
        assert not out.flags.c_contiguous
        op.forward(oc, [x], [out], op.parse_params({"axis": 0}))
        np.testing.assert_allclose(buf[:, 0], ref)
        np.testing.assert_array_equal(buf[:, 1], 0)


# ----------------------------------------------------------------------------- semantics
def test_integer_mean_truncates_and_keeps_dtype():
    x = np.array([[-3, -2], [3, 2], [7, 0]], dtype=np.int32)
    got = mx.nd.mean(mx.nd.array(x, dtype=np.int32), axis=1)
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got.asnumpy(), [-2, 2, 3])
    got = mx.nd.sum(mx.nd.array(x, dtype=np.int32))
    assert got.dtype == np.int32 and got.asnumpy().tolist() == [7]


def test_nan_ops_skip_nan_without_warnings():
    x = np.array([[np.nan, np.nan], [1.0, np.nan], [2.0, 3.0]], dtype=np.float32)
    nd = mx.nd.array(x)
    np.testing.assert_array_equal(mx.nd.nansum(nd, axis=1).asnumpy(), [0, 1, 5])
    np.testing.assert_array_equal(mx.nd.nanprod(nd, axis=1).asnumpy(), [1, 1, 6])
    assert np.isnan(mx.nd.sum(nd, axis=1).asnumpy()[:2]).all()


def test_empty_inputs():
    e = mx.nd.array(np.zeros((0, 3), np.float32))
    np.testing.assert_array_equal(mx.nd.sum(e, axis=0).asnumpy(), np.zeros(3))
    np.testing.assert_array_equal(mx.nd.nansum(e, axis=0).asnumpy(), np.zeros(3))
    np.testing.assert_array_equal(mx.nd.prod(e, axis=0).asnumpy(), np.ones(3))
    assert np.isnan(mx.nd.mean(e).asnumpy()).all()
    assert mx.nd.sum(e, axis=1).shape == (0,)
    assert mx.nd.argmax(e, axis=1).shape == (0,)
    np.testing.assert_array_equal(mx.nd.norm(e).asnumpy(), [0])
    for op in ("max", "min"):
        with pytest.raises(mx.MXNetError, match=op + r".*\(0, 3\)"):
            getattr(mx.nd, op)(e, axis=0)
    for op in ("argmax", "argmin"):
        with pytest.raises(mx.MXNetError, match=op):
            getattr(mx.nd, op)(e, axis=0)
        with pytest.raises(mx.MXNetError, match=op):
            getattr(mx.nd, op)(e)


@pytest.mark.parametrize("op", sorted(NP_REF))
def test_axis_errors(op):
    nd = mx.nd.array(np.zeros((2, 3, 4), np.float32))
    fn = getattr(mx.nd, op)
    for bad in (3, -4, (0, 5)):
        with pytest.raises(mx.MXNetError, match=r"%s.*\(2, 3, 4\)" % op):
            fn(nd, axis=bad)
    with pytest.raises(mx.MXNetError, match="duplicate"):
        fn(nd, axis=(1, -2))
    with pytest.raises(mx.MXNetError, match="unknown parameter"):
        fn(nd, axes=1)
    with pytest.raises(mx.MXNetError, match="keepdims"):
        fn(nd, keepdims="maybe")


# ----------------------------------------------------------------------------- norm
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_norm_sweep(dtype):
    rng = np.random.default_rng(0)
    rtol, atol = TOL[dtype]
    for shape in SHAPES:
        x = _data(shape, dtype, rng)
        nd = mx.nd.array(x, dtype=dtype)
        xd = x.astype(np.float64)
        for axis in [None, (), 0, -1] + ([(0, 1), (-1, 0)] if len(shape) > 1 else []):
            axes = _axes(len(shape), axis, False)
            for keepdims in (False, True):
                for ord_ in (1, 2):
                    if ord_ == 1:
                        want = np.abs(xd).sum(axis=axes, keepdims=keepdims)
                    else:
                        want = np.sqrt((xd * xd).sum(axis=axes, keepdims=keepdims))
                    want = np.asarray(want).reshape(np.shape(want) or (1,)).astype(dtype)
                    got = mx.nd.norm(nd, ord=ord_, axis=axis, keepdims=keepdims).asnumpy()
                    _check(got, want, rtol, atol, "norm%s ord=%d axis=%s keepdims=%s"
                           % (shape, ord_, axis, keepdims))


def test_norm_out_dtype_and_errors():
    x = np.arange(-6, 6, dtype=np.float32).reshape(3, 4)
    nd = mx.nd.array(x)
    got = mx.nd.norm(nd, out_dtype="float64")
    assert got.dtype == np.float64
    np.testing.assert_allclose(got.asnumpy(), [np.linalg.norm(x.astype(np.float64))])
    got = mx.nd.norm(nd, ord=1, axis=1, out_dtype=np.int32)
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got.asnumpy(), np.abs(x).sum(axis=1))
    xi = mx.nd.array(np.array([[3, 4], [6, 8]]), dtype=np.int32)
    got = mx.nd.norm(xi, axis=1)
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got.asnumpy(), [5, 10])
    with pytest.raises(mx.MXNetError, match=r"norm.*ord.*\(3, 4\)"):
        mx.nd.norm(nd, ord=3)
    with pytest.raises(mx.MXNetError, match="out_dtype"):
        mx.nd.norm(nd, out_dtype="uint8")
    with pytest.raises(mx.MXNetError, match=r"norm.*\(3, 4\)"):
        mx.nd.norm(nd, axis=2)
    with pytest.raises(mx.MXNetError, match="unknown parameter"):
        mx.nd.norm(nd, exclude=True)


# ----------------------------------------------------------------------------- argmax/argmin
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, np.int32])
@pytest.mark.parametrize("op", ["argmax", "argmin"])
def test_arg_sweep(op, dtype):
    rng = np.random.default_rng(0)
    ref = getattr(np, op)
    for shape in SHAPES:
        x = rng.permutation(int(np.prod(shape))).reshape(shape).astype(dtype)
        nd = mx.nd.array(x, dtype=dtype)
        for axis in [None] + list(range(-len(shape), len(shape))):
            for keepdims in (False, True):
                got = getattr(mx.nd, op)(nd, axis=axis, keepdims=keepdims).asnumpy()
                want = np.asarray(ref(x, axis=axis, keepdims=keepdims))
                if want.ndim == 0:
                    want = want.reshape(1)
                # MXNet stores indices in the input dtype (float32 for the usual input)
                want = want.astype(dtype)
                _check(got, want, 0, 0, "%s%s axis=%s keepdims=%s %s"
                       % (op, shape, axis, keepdims, np.dtype(dtype).name))


def test_arg_ties_first_occurrence_and_errors():
    x = np.array([[1, 3, 3], [2, 2, 0]], dtype=np.float32)
    nd = mx.nd.array(x)
    np.testing.assert_array_equal(mx.nd.argmax(nd, axis=1).asnumpy(), [1, 0])
    np.testing.assert_array_equal(mx.nd.argmin(nd, axis=0).asnumpy(), [0, 1, 1])
    assert mx.nd.argmax(nd).asnumpy().tolist() == [1]
    assert mx.nd.argmax(nd, keepdims=True).shape == (1, 1)
    for op in ("argmax", "argmin"):
        with pytest.raises(mx.MXNetError, match=r"%s.*\(2, 3\)" % op):
            getattr(mx.nd, op)(nd, axis=2)
        with pytest.raises(mx.MXNetError, match=op):
            getattr(mx.nd, op)(nd, axis=(0, 1))


def test_argmax_channel():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 5)).astype(np.float32)
    got = mx.nd.argmax_channel(mx.nd.array(x))
    assert got.dtype == np.float32 and got.shape == (4,)
    np.testing.assert_array_equal(got.asnumpy(), x.argmax(axis=1))
    # MXNet fixes the searched axis at 1
    x3 = rng.standard_normal((2, 3, 4)).astype(np.float64)
    got = mx.nd.argmax_channel(mx.nd.array(x3, dtype=np.float64))
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got.asnumpy(), x3.argmax(axis=1))
    with pytest.raises(mx.MXNetError, match=r"argmax_channel.*\(5,\)"):
        mx.nd.argmax_channel(mx.nd.array(np.zeros(5)))


# ----------------------------------------------------------------------------- moments
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_moments(dtype):
    rng = np.random.default_rng(0)
    rtol, atol = TOL[dtype]
    for shape in SHAPES:
        x = _data(shape, dtype, rng)
        nd = mx.nd.array(x, dtype=dtype)
        xd = x.astype(np.float64)
        for axes in [None, (0,), (-1,)] + ([(0, 1)] if len(shape) > 1 else []):
            ax = _axes(len(shape), axes, False)
            for keepdims in (False, True):
                res = mx.nd.moments(nd, axes=axes, keepdims=keepdims)
                assert isinstance(res, list) and len(res) == 2
                for got, want in ((res[0], xd.mean(axis=ax, keepdims=keepdims)),
                                  (res[1], xd.var(axis=ax, keepdims=keepdims))):
                    want = np.asarray(want)
                    want = want.reshape(want.shape or (1,)).astype(dtype)
                    _check(got.asnumpy(), want, rtol, atol, "moments%s axes=%s keepdims=%s"
                           % (shape, axes, keepdims))


def test_moments_string_params_and_errors():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    mean, var = mx.nd.moments(mx.nd.array(x), axes="(1,)", keepdims="True")
    np.testing.assert_allclose(mean.asnumpy(), [[1], [4]])
    np.testing.assert_allclose(var.asnumpy(), [[2 / 3], [2 / 3]], rtol=1e-6)
    with pytest.raises(mx.MXNetError, match=r"moments.*\(2, 3\)"):
        mx.nd.moments(mx.nd.array(x), axes=(2,))


# ----------------------------------------------------------------------------- gradients
from mixnet import autograd  # noqa: E402
from mixnet.test_utils import check_op  # noqa: E402

_GRNG = np.random.default_rng(11)
_REDUCE_REFS = {"sum": np.sum, "mean": np.mean, "prod": np.prod, "nansum": np.nansum,
                "nanprod": np.nanprod, "max": np.max, "min": np.min}
_AXES_CASES = [{}, {"axis": 1}, {"axis": (0, 2), "keepdims": True},
               {"axis": 1, "exclude": True}, {"axis": -1, "keepdims": True}]


def _ref_reduce(fn):
    def ref(x, axis=None, keepdims=False, exclude=False):
        ax = tuple(range(x.ndim)) if axis is None else \
            ((axis,) if isinstance(axis, int) else tuple(axis))
        ax = tuple(a % x.ndim for a in ax)
        if exclude:
            ax = tuple(i for i in range(x.ndim) if i not in ax)
        r = fn(x, axis=ax, keepdims=keepdims)
        return np.asarray(r).reshape(np.shape(r) or (1,))
    return ref


@pytest.mark.parametrize("name", sorted(_REDUCE_REFS))
def test_reduction_gradients(name):
    # distinct magnitudes away from 0 keep max/min unique and prod well conditioned
    x = _GRNG.permutation(np.linspace(0.5, 1.5, 24)).reshape(2, 3, 4) * \
        _GRNG.choice([-1.0, 1.0], (2, 3, 4))
    for params in _AXES_CASES:
        check_op(name, [x], params, reference=_ref_reduce(_REDUCE_REFS[name]),
                 rtol=1e-12, atol=1e-12)


def _grad_of(fn, x, head):
    a = mx.nd.array(x, dtype=x.dtype)
    a.attach_grad()
    with autograd.record():
        y = fn(a)
    y.backward(mx.nd.array(head, dtype=x.dtype))
    return a.grad.asnumpy()


def test_max_min_gradient_goes_to_every_tie():
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])
    g = _grad_of(lambda a: mx.nd.max(a, axis=1), x, np.array([1.0, 2.0]))
    np.testing.assert_array_equal(g, [[0, 1, 1], [2, 2, 0]])
    g = _grad_of(lambda a: mx.nd.min(a, axis=0, keepdims=True), x, np.array([[5.0, 6, 7]]))
    np.testing.assert_array_equal(g, [[5, 0, 0], [0, 6, 7]])


def test_prod_and_nan_reductions_gradients_at_zeros_and_nans():
    x = np.array([[2.0, 0.0, 3.0], [0.0, 0.0, 4.0], [1.0, 2.0, 5.0]])
    g = _grad_of(lambda a: mx.nd.prod(a, axis=1), x, np.ones(3))
    np.testing.assert_array_equal(g, [[0, 6, 0], [0, 0, 0], [10, 5, 2]])
    y = np.array([[2.0, np.nan, 3.0]])
    np.testing.assert_array_equal(_grad_of(lambda a: mx.nd.nanprod(a, axis=1), y,
                                           np.ones(1)), [[3, 0, 2]])
    np.testing.assert_array_equal(_grad_of(lambda a: mx.nd.nansum(a), y, np.ones(1)),
                                  [[1, 0, 1]])


@pytest.mark.parametrize("params", [{}, {"ord": 1}, {"axis": 1, "keepdims": True},
                                    {"ord": 1, "axis": (0, 2)}, {"axis": -1}])
def test_norm_gradients(params):
    x = _GRNG.uniform(0.2, 1.0, (2, 3, 4)) * _GRNG.choice([-1.0, 1.0], (2, 3, 4))
    ordv = params.get("ord", 2)

    def ref(a, ord=2, axis=None, keepdims=False):
        ax = tuple(range(a.ndim)) if axis is None else \
            ((axis,) if isinstance(axis, int) else tuple(axis))
        r = np.sum(np.abs(a), axis=ax, keepdims=keepdims) if ord == 1 else \
            np.sqrt(np.sum(a * a, axis=ax, keepdims=keepdims))
        return np.asarray(r).reshape(np.shape(r) or (1,))
    assert ordv in (1, 2)
    check_op("norm", [x], params, reference=ref, rtol=1e-12, atol=1e-12)
    g = _grad_of(lambda a: mx.nd.norm(a), np.zeros((2, 2)), np.ones(1))
    np.testing.assert_array_equal(g, np.zeros((2, 2)))  # no NaN at a zero norm


@pytest.mark.parametrize("params", [{}, {"axes": (1,)}, {"axes": (0, 2), "keepdims": True}])
def test_moments_gradients(params):
    x = _GRNG.standard_normal((2, 3, 4))

    def ref(a, axes=None, keepdims=False):
        ax = tuple(range(a.ndim)) if axes is None else tuple(axes)
        m, v = np.mean(a, axis=ax, keepdims=keepdims), np.var(a, axis=ax, keepdims=keepdims)
        return [np.asarray(r).reshape(np.shape(r) or (1,)) for r in (m, v)]
    check_op("moments", [x], params, reference=ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name,params", [("argmax", {"axis": 1}), ("argmin", {}),
                                         ("argmax_channel", {})])
def test_arg_reductions_have_zero_gradient(name, params):
    x = _GRNG.standard_normal((3, 4))
    g = _grad_of(lambda a: getattr(mx.nd, name)(a, **params), x,
                 np.ones(3 if params or name == "argmax_channel" else 1))
    np.testing.assert_array_equal(g, np.zeros((3, 4)))


def test_sum_mean_second_order():
    x = mx.nd.array(np.array([[1.0, 2.0], [3.0, 4.0]]), dtype=np.float64)
    x.attach_grad()
    with autograd.record():
        y = mx.nd.sum(x * x, axis=1)
        (dx,) = autograd.grad(y, [x], create_graph=True)
        z = mx.nd.mean(dx * x)
    z.backward()
    # dx = 2x, z = mean(2 x^2), dz/dx = 4x / 4
    np.testing.assert_allclose(x.grad.asnumpy(), np.array([[1.0, 2.0], [3.0, 4.0]]))


def test_float16_reduction_gradients():
    x = _GRNG.uniform(0.5, 1.5, (3, 4)).astype(np.float16)
    g = _grad_of(lambda a: mx.nd.mean(a, axis=0), x, np.ones(4))
    assert g.dtype == np.float16
    np.testing.assert_allclose(g, np.full((3, 4), 1 / 3), rtol=1e-3)
