"""The hand-written ``mx.nd`` functions: ``zeros``/``ones``/``full``/``arange``/
``linspace``/``eye`` with MXNet's signatures and defaults, ``concatenate``, ``moveaxis``
and the arithmetic/comparison wrappers (``add``, ``greater``, ...), whose dispatch on
number/array operands follows MXNet: numbers give plain Python results, an array and a
number use the ``_*_scalar`` ops (reflected or flipped when the number comes first), two
arrays broadcast.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import mixnet as mx
from mixnet.ndarray import creation
from mixnet.test_utils import assert_almost_equal


# ------------------------------------------------------------------ creation functions
def test_namespace_wiring():
    for name in creation.__all__:
        assert getattr(mx.nd, name) is getattr(creation, name), name


def test_zeros_ones_defaults(ctx):
    z = mx.nd.zeros((2, 3), ctx=ctx)
    assert z.shape == (2, 3) and z.dtype == np.float32 and z.context == ctx
    np.testing.assert_array_equal(z.asnumpy(), np.zeros((2, 3)))
    o = mx.nd.ones(4, ctx=ctx)  # an int shape is 1-D
    assert o.shape == (4,) and o.dtype == np.float32
    np.testing.assert_array_equal(o.asnumpy(), np.ones(4))


def test_zeros_ones_dtype_and_ctx_forms():
    assert mx.nd.zeros((2,), dtype="int32").dtype == np.int32
    assert mx.nd.ones((2,), dtype=np.float64).dtype == np.float64
    assert mx.nd.zeros((2,), dtype=None).dtype == np.float32
    assert mx.nd.zeros((1,), ctx="cpu(2)").context == mx.cpu(2)
    with mx.cpu(1):
        assert mx.nd.ones((1,)).context == mx.cpu(1)
    assert mx.nd.zeros((2,), stype="default").shape == (2,)


def test_zeros_out_and_bad_input():
    out = mx.nd.ones((2, 2))
    assert mx.nd.zeros((2, 2), out=out) is out
    np.testing.assert_array_equal(out.asnumpy(), 0)
    with pytest.raises(mx.MXNetError):
        mx.nd.zeros((2, -2))
    with pytest.raises(mx.MXNetError):
        mx.nd.ones((2,), foo=3)
    with pytest.raises(mx.MXNetError):
        mx.nd.zeros((2,), ctx="nowhere(0)")


def test_full():
    x = mx.nd.full((2, 3), 7)
    assert x.dtype == np.float32
    np.testing.assert_array_equal(x.asnumpy(), np.full((2, 3), 7.0))
    y = mx.nd.full(3, -1.5, dtype="float64", ctx=mx.cpu(1))
    assert y.dtype == np.float64 and y.context == mx.cpu(1)
    np.testing.assert_array_equal(y.asnumpy(), [-1.5] * 3)
    np.testing.assert_array_equal(mx.nd.full(2, 3.9, dtype="int32").asnumpy(), [3, 3])
    # with out, MXNet fills that array whatever shape/dtype are passed
    out = mx.nd.zeros((2, 2), dtype="int64")
    assert mx.nd.full((9,), 4, out=out) is out
    np.testing.assert_array_equal(out.asnumpy(), np.full((2, 2), 4))


def test_arange():
    x = mx.nd.arange(5)
    assert x.dtype == np.float32
    np.testing.assert_array_equal(x.asnumpy(), [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(mx.nd.arange(2, 8, 2).asnumpy(), [2, 4, 6])
    np.testing.assert_array_equal(mx.nd.arange(0, 2, repeat=3).asnumpy(), [0, 0, 0, 1, 1, 1])
    np.testing.assert_allclose(mx.nd.arange(1, 0, -0.25).asnumpy(), [1, 0.75, 0.5, 0.25])
    y = mx.nd.arange(3, dtype="int32", ctx=mx.cpu(1))
    assert y.dtype == np.int32 and y.context == mx.cpu(1)
    with pytest.raises(mx.MXNetError):
        mx.nd.arange(3, 1)


def test_arange_infer_range_is_deprecated():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        x = mx.nd.arange(0, 3, infer_range=True)
    assert any(issubclass(w.category, DeprecationWarning) for w in caught)
    np.testing.assert_array_equal(x.asnumpy(), [0, 1, 2])


def test_linspace():
    x = mx.nd.linspace(0, 1, 5)
    assert x.dtype == np.float32
    np.testing.assert_allclose(x.asnumpy(), np.linspace(0, 1, 5))
    np.testing.assert_allclose(mx.nd.linspace(0, 1, 4, endpoint=False).asnumpy(),
                               [0, 0.25, 0.5, 0.75])
    assert mx.nd.linspace(0, 10, 3, dtype="int32").dtype == np.int32


def test_eye():
    np.testing.assert_array_equal(mx.nd.eye(3).asnumpy(), np.eye(3))
    x = mx.nd.eye(2, 4, k=2, dtype="int64")
    assert x.dtype == np.int64
    np.testing.assert_array_equal(x.asnumpy(), np.eye(2, 4, 2))
    np.testing.assert_array_equal(mx.nd.eye(3, 2, -1).asnumpy(), np.eye(3, 2, -1))


# ------------------------------------------------------------------ concatenate / moveaxis
def test_concatenate():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.arange(6, 9, dtype=np.float32).reshape(1, 3)
    x = mx.nd.concatenate([mx.nd.array(a), mx.nd.array(b)])
    np.testing.assert_array_equal(x.asnumpy(), np.concatenate([a, b]))
    c = np.ones((2, 2), np.float32)
    y = mx.nd.concatenate([mx.nd.array(a), mx.nd.array(c)], axis=1)
    np.testing.assert_array_equal(y.asnumpy(), np.concatenate([a, c], axis=1))
    z = mx.nd.concatenate([mx.nd.array(a), mx.nd.array(c)], axis=-1)
    np.testing.assert_array_equal(z.asnumpy(), y.asnumpy())
    single = mx.nd.array(a)
    assert mx.nd.concatenate([single], always_copy=False) is single
    copied = mx.nd.concatenate([single])
    assert copied is not single
    np.testing.assert_array_equal(copied.asnumpy(), a)


def test_concatenate_bad_input():
    a = mx.nd.zeros((2, 3))
    with pytest.raises(mx.MXNetError):
        mx.nd.concatenate([])
    with pytest.raises(mx.MXNetError):
        mx.nd.concatenate([a, mx.nd.zeros((2, 4))])
    with pytest.raises(mx.MXNetError):
        mx.nd.concatenate([a, mx.nd.zeros((2, 3), dtype="float64")])
    with pytest.raises(mx.MXNetError):
        mx.nd.concatenate([a, a], axis=2)


def test_moveaxis():
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    x = mx.nd.array(a)
    for src, dst in [(0, -1), (-1, 0), (1, 2), ((0, 1), (2, 0)), ([2, 0], [0, 1])]:
        np.testing.assert_array_equal(mx.nd.moveaxis(x, src, dst).asnumpy(),
                                      np.moveaxis(a, src, dst))
    with pytest.raises(mx.MXNetError):
        mx.nd.moveaxis(x, 3, 0)
    with pytest.raises(mx.MXNetError):
        mx.nd.moveaxis(x, (0, 1), 0)
    with pytest.raises(mx.MXNetError):
        mx.nd.moveaxis(x, (0, 0), (1, 2))


# ------------------------------------------------------------------ arithmetic wrappers
A = np.array([[1.0, -2.0, 3.0], [0.5, 4.0, -6.0]], np.float32)
B = np.array([[2.0, 2.0, -1.0]], np.float32)  # broadcasts against A
S = 3.0

BINARY = [
    ("add", np.add), ("subtract", np.subtract), ("multiply", np.multiply),
    ("divide", np.divide), ("true_divide", np.divide), ("modulo", np.mod),
    ("power", np.power), ("maximum", np.maximum), ("minimum", np.minimum),
    ("hypot", np.hypot), ("equal", np.equal), ("not_equal", np.not_equal),
    ("greater", np.greater), ("greater_equal", np.greater_equal), ("lesser", np.less),
    ("lesser_equal", np.less_equal), ("logical_and", np.logical_and),
    ("logical_or", np.logical_or), ("logical_xor", np.logical_xor),
]


def _ref(fn, x, y):
    with np.errstate(all="ignore"):  # NaN from negative ** fraction is the expected value
        return np.asarray(fn(x, y)).astype(np.float32)


@pytest.mark.parametrize("name, ref", BINARY)
def test_array_array_broadcasts(name, ref):
    res = getattr(mx.nd, name)(mx.nd.array(A), mx.nd.array(B))
    assert res.shape == (2, 3) and res.dtype == np.float32
    np.testing.assert_allclose(res.asnumpy(), _ref(ref, A, B), rtol=1e-5, equal_nan=True)


@pytest.mark.parametrize("name, ref", BINARY)
def test_array_number(name, ref):
    res = getattr(mx.nd, name)(mx.nd.array(A), S)
    assert res.shape == (2, 3) and res.dtype == np.float32
    np.testing.assert_allclose(res.asnumpy(), _ref(ref, A, S), rtol=1e-5, equal_nan=True)


@pytest.mark.parametrize("name, ref", BINARY)
def test_number_array_uses_reflected_op(name, ref):
    # subtract/divide/modulo/power reflect, comparisons flip: 3 > x is x < 3
    res = getattr(mx.nd, name)(S, mx.nd.array(A))
    assert res.shape == (2, 3) and res.dtype == np.float32
    np.testing.assert_allclose(res.asnumpy(), _ref(ref, S, A), rtol=1e-5, equal_nan=True)


@pytest.mark.parametrize("name, expected", [
    ("add", 5), ("subtract", 1), ("multiply", 6), ("divide", 1.5), ("modulo", 1),
    ("power", 9), ("maximum", 3), ("minimum", 2), ("hypot", math.hypot(3, 2)),
    ("equal", 0), ("not_equal", 1), ("greater", 1), ("greater_equal", 1), ("lesser", 0),
    ("lesser_equal", 0), ("logical_and", 1), ("logical_or", 1), ("logical_xor", 0),
])
def test_number_number_is_plain_python(name, expected):
    res = getattr(mx.nd, name)(3, 2)
    assert not isinstance(res, mx.nd.NDArray)
    assert res == expected


def test_comparisons_of_numbers_give_ints():
    assert mx.nd.greater(1, 2) == 0 and type(mx.nd.greater(2, 1)) is int
    assert mx.nd.logical_xor(0, 5) == 1


def test_wrappers_match_operators():
    x, y = mx.nd.array(A), mx.nd.array(B)
    np.testing.assert_array_equal(mx.nd.add(x, y).asnumpy(), (x + y).asnumpy())
    np.testing.assert_array_equal(mx.nd.subtract(2, x).asnumpy(), (2 - x).asnumpy())
    np.testing.assert_array_equal(mx.nd.lesser(x, 1).asnumpy(), (x < 1).asnumpy())


def test_wrappers_reject_other_types():
    with pytest.raises(TypeError):
        mx.nd.add(mx.nd.array(A), [1, 2, 3])
    with pytest.raises(TypeError):
        mx.nd.multiply("2", mx.nd.array(A))


def test_split_v2_sections_and_indices():
    x = np.arange(12.0).reshape(2, 6)
    parts = mx.nd.split_v2(mx.nd.array(x), 3, axis=1)
    for got, want in zip(parts, np.split(x, 3, axis=1)):
        assert_almost_equal(got, want)
    parts = mx.nd.split_v2(mx.nd.array(x), (1, 4), axis=1)
    for got, want in zip(parts, np.split(x, (1, 4), axis=1)):
        assert_almost_equal(got, want)
    with pytest.raises(mx.MXNetError, match="int or a tuple"):
        mx.nd.split_v2(mx.nd.array(x), "2")
