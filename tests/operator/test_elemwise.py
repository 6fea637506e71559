"""Element-wise operators (``mixnet/operator/elemwise.py``): unary math, same-shape
``elemwise_*`` binaries, ``broadcast_*`` binaries, scalar and reflected scalar ops,
comparisons and logical ops, the NDArray operator dunders, ``add_n``, ``clip``, ``Cast``,
the identity-like ops, ``out=`` and forward goldens recorded with real MXNet 1.9.1.

MXNet semantics pinned here: output dtype == input dtype for every op (comparisons give
0/1 in the input dtype); integer arrays use C arithmetic (the scalar operand is cast to
the array dtype first, division truncates toward zero, ``%`` takes the divisor's sign,
division by zero gives 0); float math on integer arrays is computed in float and cast
back (truncated); ``round`` is half away from zero, ``rint`` sends exact halves down.
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

import mixnet as mx
from mixnet.base import BFLOAT16
from mixnet.operator import elemwise as E
from mixnet.operator import registry as R

TOL = {np.dtype(np.float16): (1e-2, 1e-2), np.dtype(np.float32): (1e-5, 1e-6),
       np.dtype(np.float64): (1e-12, 1e-12)}


# ----------------------------------------------------------------------------- helpers
def _op(name):
    """``mx.nd.<name>``, or ``mx.nd._internal.<name>`` for the underscore ops."""
    f = getattr(mx.nd, name, None)
    return f if f is not None else getattr(mx.nd._internal, name)


def _nd(x, dtype=None):
    x = np.asarray(x)
    return mx.nd.array(x, dtype=x.dtype if dtype is None else dtype)


def _check(got, want, rtol=0.0, atol=0.0, what=""):
    """Same shape, same dtype, values close (float64 arithmetic, NaN == NaN)."""
    if hasattr(got, "asnumpy"):
        got = got.asnumpy()
    want = np.asarray(want)
    assert got.shape == want.shape, "%s: shape %s != %s" % (what, got.shape, want.shape)
    assert got.dtype == want.dtype, "%s: dtype %s != %s" % (what, got.dtype, want.dtype)
    ok = np.isclose(got.astype(np.float64), want.astype(np.float64), rtol=rtol, atol=atol,
                    equal_nan=True)
    assert ok.all(), "%s:\n got %r\nwant %r" % (what, got, want)


def _tol(dtype):
    return TOL.get(np.dtype(dtype), (0.0, 0.0))


def _exact_round(v, halves_down):
    """Round one value with exact rational arithmetic (no intermediate rounding)."""
    v = float(v)
    if not math.isfinite(v):
        return v
    fr = Fraction(v)
    fl = math.floor(fr)
    d = fr - fl
    if d > Fraction(1, 2) or (d == Fraction(1, 2) and not halves_down and v > 0):
        return float(fl + 1)
    return float(fl)


def _ref_round(x):
    """Half away from zero."""
    return np.vectorize(lambda v: _exact_round(v, False), otypes=[np.float64])(x)


def _ref_rint(x):
    """MXNet's rint: nearest integer, exact halves go down."""
    return np.vectorize(lambda v: _exact_round(v, True), otypes=[np.float64])(x)


# ----------------------------------------------------------------------------- unary
# name: (float64 reference, input domain)
UNARY = {
    "abs": (np.abs, "any"),
    "negative": (np.negative, "any"),
    "square": (np.square, "any"),
    "sqrt": (np.sqrt, "pos"),
    "rsqrt": (lambda x: 1.0 / np.sqrt(x), "pos"),
    "cbrt": (np.cbrt, "any"),
    "rcbrt": (lambda x: 1.0 / np.cbrt(x), "nonzero"),
    "exp": (np.exp, "any"),
    "expm1": (np.expm1, "any"),
    "log": (np.log, "pos"),
    "log10": (np.log10, "pos"),
    "log2": (np.log2, "pos"),
    "log1p": (np.log1p, "gt-1"),
    "reciprocal": (lambda x: 1.0 / x, "nonzero"),
    "sin": (np.sin, "any"),
    "cos": (np.cos, "any"),
    "tan": (np.tan, "tan"),
    "arcsin": (np.arcsin, "unit"),
    "arccos": (np.arccos, "unit"),
    "arctan": (np.arctan, "any"),
    "sinh": (np.sinh, "any"),
    "cosh": (np.cosh, "any"),
    "tanh": (np.tanh, "any"),
    "arcsinh": (np.arcsinh, "any"),
    "arccosh": (np.arccosh, "ge1"),
    "arctanh": (np.arctanh, "unit"),
    "degrees": (np.degrees, "any"),
    "radians": (np.radians, "any"),
    "sign": (np.sign, "any"),
    "floor": (np.floor, "any"),
    "ceil": (np.ceil, "any"),
    "round": (_ref_round, "any"),
    "rint": (_ref_rint, "any"),
    "trunc": (np.trunc, "any"),
    "fix": (np.trunc, "any"),
    "relu": (lambda x: np.maximum(x, 0), "any"),
    "sigmoid": (lambda x: 1.0 / (1.0 + np.exp(-x)), "any"),
    "softsign": (lambda x: x / (1.0 + np.abs(x)), "any"),
    "logical_not": (lambda x: (x == 0).astype(np.float64), "any"),
    "_copy": (lambda x: x, "any"),
    "BlockGrad": (lambda x: x, "any"),
    "make_loss": (lambda x: x, "any"),
    "zeros_like": (np.zeros_like, "any"),
    "ones_like": (np.ones_like, "any"),
}
INT_SAFE = ["abs", "negative", "square", "sign", "relu", "logical_not", "_copy", "BlockGrad",
            "make_loss", "zeros_like", "ones_like", "floor", "ceil", "round", "rint", "trunc",
            "fix"]
# float functions on int32 arrays: computed in float, truncated back to int32
INT_FLOAT = {"exp": (-4, 6), "sqrt": (0, 60), "log": (1, 200), "sin": (-6, 6),
             "reciprocal": (-3, 3), "degrees": (-5, 5), "softsign": (-5, 5), "tanh": (-3, 3)}
FLOAT16_OPS = ["exp", "sqrt", "log", "tanh", "sigmoid", "sin", "rsqrt", "square"]


def _unary_input(domain, dtype, shape=(4, 5)):
    rng = np.random.default_rng(0)
    if domain == "pos":
        x = rng.uniform(0.1, 5.0, shape)
    elif domain == "nonzero":
        x = rng.uniform(0.2, 3.0, shape) * rng.choice([-1.0, 1.0], shape)
    elif domain == "gt-1":
        x = rng.uniform(-0.9, 3.0, shape)
    elif domain == "tan":
        x = rng.uniform(-1.2, 1.2, shape)
    elif domain == "unit":
        x = rng.uniform(-0.95, 0.95, shape)
    elif domain == "ge1":
        x = rng.uniform(1.05, 5.0, shape)
    else:
        x = rng.uniform(-3.0, 3.0, shape)
        x.flat[0] = 0.0  # sign, relu, logical_not, ... at exactly zero
        x.flat[1] = 1.0
    return x.astype(dtype)


def test_unary_table_is_covered():
    assert set(UNARY) == set(E._UNARY)
    assert set(INT_SAFE) == set(E._INTEGER_SAFE)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_float(name, dtype):
    ref, domain = UNARY[name]
    x = _unary_input(domain, dtype)
    want = np.asarray(ref(x.astype(np.float64))).astype(dtype)
    got = _op(name)(_nd(x))
    _check(got, want, *_tol(dtype), what=name)


@pytest.mark.parametrize("name", FLOAT16_OPS)
def test_unary_float16(name):
    ref, domain = UNARY[name]
    x = _unary_input(domain, np.float16)
    want = np.asarray(ref(x.astype(np.float64))).astype(np.float16)
    _check(_op(name)(_nd(x)), want, 1e-2, 1e-2, what=name)


@pytest.mark.parametrize("name", INT_SAFE)
def test_unary_int32_exact(name):
    ref, _ = UNARY[name]
    x = np.random.default_rng(0).integers(-9, 10, (3, 5)).astype(np.int32)
    x.flat[0] = 0
    want = np.asarray(ref(x.astype(np.float64))).astype(np.int32)
    _check(_op(name)(_nd(x)), want, what=name)


@pytest.mark.parametrize("name", sorted(INT_FLOAT))
def test_unary_int32_float_math_truncates(name):
    lo, hi = INT_FLOAT[name]
    x = np.random.default_rng(0).integers(lo, hi + 1, (4, 5)).astype(np.int32)
    if name == "reciprocal":
        x[x == 0] = 1
    ref, _ = UNARY[name]
    want = np.trunc(ref(x.astype(np.float64))).astype(np.int32)
    got = _op(name)(_nd(x))
    _check(got, want, what=name)


def test_unary_int32_examples():
    x = _nd(np.array([-2, -1, 0, 1, 4, 7], dtype=np.int32))
    _check(mx.nd.exp(x), np.array([0, 0, 1, 2, 54, 1096], dtype=np.int32))
    _check(mx.nd.sqrt(_nd(np.array([0, 1, 2, 3, 4, 99], dtype=np.int32))),
           np.array([0, 1, 1, 1, 2, 9], dtype=np.int32))
    _check(mx.nd.reciprocal(_nd(np.array([-2, -1, 1, 2], dtype=np.int32))),
           np.array([0, -1, 1, 0], dtype=np.int32))


@pytest.mark.parametrize("case", ["exp", "power_scalar"])
def test_int32_float_math_is_float32(case):
    # MXNet computes float math on integer arrays in float32 (expf/powf), then truncates:
    # the result is within one float32 ulp (32 here) of the float32-rounded exact value,
    # and visibly different from the float64 result
    if case == "exp":
        got = mx.nd.exp(_nd(np.array([20], dtype=np.int32)))
        exact = np.exp(20.0)                                   # 485165195.4
    else:
        got = _op("_power_scalar")(_nd(np.array([7], dtype=np.int32)), scalar=10)
        exact = 7.0 ** 10                                      # 282475249
    value = int(got.asnumpy()[0])
    assert got.dtype == np.int32
    assert abs(value - int(np.float32(exact))) <= 32, (case, value)
    assert value != int(exact), (case, value)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_rounding_exact_halves(dtype):
    x = _nd(np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, -0.25, 3.75], dtype=dtype))
    _check(mx.nd.round(x), np.array([-3, -2, -1, 1, 2, 3, 0, 4], dtype=dtype))
    _check(mx.nd.rint(x), np.array([-3, -2, -1, 0, 1, 2, 0, 4], dtype=dtype))
    trunc = np.array([-2, -1, 0, 0, 1, 2, 0, 3], dtype=dtype)
    _check(mx.nd.fix(x), trunc)
    _check(mx.nd.trunc(x), trunc)
    _check(mx.nd.floor(x), np.array([-3, -2, -1, 0, 1, 2, -1, 3], dtype=dtype))
    _check(mx.nd.ceil(x), np.array([-2, -1, 0, 1, 2, 3, 0, 4], dtype=dtype))


# values where "floor(|x| + 0.5)" and "ceil(x - 0.5)" round twice in the input dtype
_ROUND_EDGES = {
    np.float16: [1025.0, -1025.0, 2047.0],
    np.float32: [0.49999997, -0.49999997, 8388609.0, -8388609.0],
    np.float64: [0.49999999999999994, -0.49999999999999994, 2.0 ** 52 + 1, -(2.0 ** 52 + 1)],
}


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("name", ["round", "rint"])
def test_rounding_precision_edges(name, dtype):
    x = np.array(_ROUND_EDGES[dtype], dtype=dtype)
    want = (_ref_round if name == "round" else _ref_rint)(x).astype(dtype)
    _check(_op(name)(_nd(x)), want, what="%s %s" % (name, np.dtype(dtype).name))


def test_special_values_pass_through():
    x = _nd(np.array([np.nan, np.inf, -np.inf, 0.0], dtype=np.float32))
    _check(mx.nd.relu(x), np.array([np.nan, np.inf, 0, 0], dtype=np.float32))
    _check(mx.nd.abs(x), np.array([np.nan, np.inf, np.inf, 0], dtype=np.float32))
    _check(mx.nd.sign(x), np.array([np.nan, 1, -1, 0], dtype=np.float32))
    _check(mx.nd.logical_not(x), np.array([0, 0, 0, 1], dtype=np.float32))
    # out-of-domain inputs give nan/inf quietly, as in MXNet
    y = _nd(np.array([-1.0, 0.0, 2.0], dtype=np.float32))
    _check(mx.nd.log(y), np.array([np.nan, -np.inf, np.log(2)], dtype=np.float32), 1e-6, 0)
    _check(mx.nd.sqrt(y), np.array([np.nan, 0, np.sqrt(2)], dtype=np.float32), 1e-6, 0)
    _check(mx.nd.reciprocal(y), np.array([-1, np.inf, 0.5], dtype=np.float32))
    _check(mx.nd.arcsin(y), np.array([-np.pi / 2, 0, np.nan], dtype=np.float32), 1e-6, 0)


def _f32(*v):
    return np.array(v, dtype=np.float32)


# (label, call, expected): float results that overflow or are undefined are inf/nan,
# silently, as in MXNet
_QUIET_CASES = [
    ("exp", lambda: mx.nd.exp(_nd(_f32(100, -1e4))), _f32(np.inf, 0)),
    ("expm1", lambda: mx.nd.expm1(_nd(_f32(100))), _f32(np.inf)),
    ("cosh", lambda: mx.nd.cosh(_nd(_f32(100, -100))), _f32(np.inf, np.inf)),
    ("sinh", lambda: mx.nd.sinh(_nd(_f32(100, -100))), _f32(np.inf, -np.inf)),
    ("sigmoid", lambda: mx.nd.sigmoid(_nd(_f32(-100, 100))), _f32(0, 1)),
    ("log", lambda: mx.nd.log(_nd(_f32(0, -1))), _f32(-np.inf, np.nan)),
    ("log1p", lambda: mx.nd.log1p(_nd(_f32(-1, -2))), _f32(-np.inf, np.nan)),
    ("sqrt", lambda: mx.nd.sqrt(_nd(_f32(-1))), _f32(np.nan)),
    ("rsqrt", lambda: mx.nd.rsqrt(_nd(_f32(0, -1))), _f32(np.inf, np.nan)),
    ("rcbrt", lambda: mx.nd.rcbrt(_nd(_f32(0))), _f32(np.inf)),
    ("arccosh", lambda: mx.nd.arccosh(_nd(_f32(0))), _f32(np.nan)),
    ("arctanh", lambda: mx.nd.arctanh(_nd(_f32(1, 2))), _f32(np.inf, np.nan)),
    ("_power_scalar", lambda: _nd(_f32(-8, 0)) ** 0.5, _f32(np.nan, 0)),
    ("broadcast_power", lambda: _nd(_f32(-8, 1e30)) ** _nd(_f32(0.5, 2)),
     _f32(np.nan, np.inf)),
    ("_rpower_scalar", lambda: 10 ** _nd(_f32(100)), _f32(np.inf)),
    ("broadcast_hypot", lambda: mx.nd.broadcast_hypot(_nd(_f32(3e38)), _nd(_f32(3e38))),
     _f32(np.inf)),
    ("hard_sigmoid", lambda: mx.nd.hard_sigmoid(_nd(_f32(np.inf, -np.inf))), _f32(1, 0)),
    ("round", lambda: mx.nd.round(_nd(_f32(np.inf, np.nan))), _f32(np.inf, np.nan)),
    ("rint", lambda: mx.nd.rint(_nd(_f32(-np.inf, np.nan))), _f32(-np.inf, np.nan)),
    pytest.param("broadcast_add", lambda: _nd(_f32(np.inf, 3e38)) + _nd(_f32(-np.inf, 3e38)),
                 _f32(np.nan, np.inf), id="broadcast_add"),
    pytest.param("broadcast_sub", lambda: _nd(_f32(np.inf)) - _nd(_f32(np.inf)),
                 _f32(np.nan), id="broadcast_sub"),
    pytest.param("broadcast_mul", lambda: _nd(_f32(np.inf, 1e30)) * _nd(_f32(0, 1e30)),
                 _f32(np.nan, np.inf), id="broadcast_mul"),
    pytest.param("elemwise_mul", lambda: mx.nd.elemwise_mul(_nd(_f32(1e30)), _nd(_f32(1e30))),
                 _f32(np.inf), id="elemwise_mul"),
    pytest.param("_mul_scalar", lambda: _nd(_f32(np.inf)) * 0, _f32(np.nan),
                 id="_mul_scalar"),
    pytest.param("_plus_scalar", lambda: _nd(_f32(3e38)) + 3e38, _f32(np.inf),
                 id="_plus_scalar"),
    pytest.param("square", lambda: mx.nd.square(_nd(_f32(1e30))), _f32(np.inf),
                 id="square"),
    pytest.param("softsign", lambda: mx.nd.softsign(_nd(_f32(np.inf))), _f32(np.nan),
                 id="softsign"),
    pytest.param("degrees", lambda: mx.nd.degrees(_nd(_f32(3e38))), _f32(np.inf),
                 id="degrees"),
    pytest.param("add_n", lambda: mx.nd.add_n(_nd(_f32(3e38)), _nd(_f32(3e38))), _f32(np.inf),
                 id="add_n"),
]


@pytest.mark.parametrize("label,call,want", [
    c if isinstance(c, type(pytest.param(None))) else pytest.param(*c, id=c[0])
    for c in _QUIET_CASES])
def test_float_overflow_and_invalid_are_quiet(label, call, want):
    _check(call(), want, 1e-6, 0, what=label)


def test_rint_keeps_the_sign_of_zero():
    # MXNet's rint is floor(x) (+1 above the half) on [0, 0.5): +0.0, never -0.0
    got = mx.nd.rint(_nd(_f32(0.0, 0.2, 0.49))).asnumpy()
    np.testing.assert_array_equal(np.signbit(got), [False, False, False])


def test_zeros_like_ones_like():
    for dt in (np.float32, np.float64, np.int32, np.float16):
        x = _nd(np.array([[np.nan, 1, 2], [3, -4, 5]]).astype(dt) if dt != np.int32
                else np.arange(6, dtype=dt).reshape(2, 3))
        _check(mx.nd.zeros_like(x), np.zeros((2, 3), dtype=dt))
        _check(mx.nd.ones_like(x), np.ones((2, 3), dtype=dt))


@pytest.mark.parametrize("name", ["_copy", "identity", "BlockGrad", "stop_gradient",
                                  "make_loss"])
def test_identity_like_ops(name):
    x = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    a = _nd(x)
    y = _op(name)(a)
    _check(y, x, what=name)
    assert y is not a
    y += 1  # a fresh buffer: the input is untouched
    _check(a, x, what=name)


def test_aliases_resolve_to_the_same_op():
    pairs = [("identity", "_copy"), ("stop_gradient", "BlockGrad"), ("cast", "Cast"),
             ("broadcast_plus", "broadcast_add"), ("broadcast_minus", "broadcast_sub"),
             ("ElementWiseSum", "add_n"), ("_Plus", "elemwise_add"), ("_add", "elemwise_add"),
             ("_plus", "elemwise_add"), ("_Minus", "elemwise_sub"), ("_sub", "elemwise_sub"),
             ("_Mul", "elemwise_mul"), ("_Div", "elemwise_div"), ("_Mod", "_mod"),
             ("_Power", "_power"), ("_Maximum", "_maximum"), ("_Hypot", "_hypot"),
             ("_Equal", "_equal"), ("_Greater_Equal", "_greater_equal"),
             ("_Logical_Xor", "_logical_xor"), ("_PlusScalar", "_plus_scalar"),
             ("_RMinusScalar", "_rminus_scalar"), ("_RDivScalar", "_rdiv_scalar"),
             ("_RModScalar", "_rmod_scalar"), ("_RPowerScalar", "_rpower_scalar"),
             ("_NotEqualScalar", "_not_equal_scalar")]
    for alias, name in pairs:
        assert R.get(alias) is R.get(name), alias
    a = _nd(np.array([1.0, -2.0, 3.0], dtype=np.float32))
    b = _nd(np.array([2.0, 2.0, -1.0], dtype=np.float32))
    _check(_op("_Plus")(a, b), np.array([3, 0, 2], dtype=np.float32))
    _check(_op("_RMinusScalar")(a, scalar=1), np.array([0, 3, -2], dtype=np.float32))
    _check(mx.nd.broadcast_minus(a, b), np.array([-1, -4, 4], dtype=np.float32))
    _check(mx.nd.ElementWiseSum(a, b, a), np.array([4, -2, 5], dtype=np.float32))


# ----------------------------------------------------------------------------- binary
def _int_div_ref(a, b):
    return np.trunc(a.astype(np.float64) / b)


BINARY = {
    "add": np.add,
    "sub": np.subtract,
    "mul": np.multiply,
    "div": np.divide,
    "mod": np.mod,
    "power": np.power,
    "maximum": np.maximum,
    "minimum": np.minimum,
    "hypot": np.hypot,
    "equal": np.equal,
    "not_equal": np.not_equal,
    "greater": np.greater,
    "greater_equal": np.greater_equal,
    "lesser": np.less,
    "lesser_equal": np.less_equal,
    "logical_and": lambda a, b: np.logical_and(a != 0, b != 0),
    "logical_or": lambda a, b: np.logical_or(a != 0, b != 0),
    "logical_xor": lambda a, b: np.logical_xor(a != 0, b != 0),
}
_DISCRETE = {"equal", "not_equal", "greater", "greater_equal", "lesser", "lesser_equal",
             "logical_and", "logical_or", "logical_xor"}
ELEMWISE_NAME = {k: v[1] for k, v in E._BINARY.items()}
BCAST_SHAPES = [((2, 3), (2, 3)), ((2, 3), (3,)), ((2, 1, 4), (3, 1)), ((1,), (2, 2))]


def _binary_inputs(key, shape_l, shape_r, dtype):
    rng = np.random.default_rng(0)
    if np.dtype(dtype).kind == "i":
        if key == "power":
            a = rng.integers(-3, 4, shape_l)
            b = rng.integers(0, 5, shape_r)
        else:
            a = rng.integers(-9, 10, shape_l)
            b = rng.integers(-4, 5, shape_r)
            if key in ("div", "mod"):
                b[b == 0] = 3
    elif key in _DISCRETE:
        a = rng.integers(-2, 3, shape_l).astype(np.float64)
        b = rng.integers(-2, 3, shape_r).astype(np.float64)
    elif key in ("div", "mod"):
        a = rng.uniform(-5, 5, shape_l)
        b = rng.uniform(0.5, 3, shape_r) * rng.choice([-1.0, 1.0], shape_r)
    elif key == "power":
        a = rng.uniform(0.5, 2.0, shape_l)
        b = rng.uniform(-2.0, 2.0, shape_r)
    else:
        a = rng.uniform(-3, 3, shape_l)
        b = rng.uniform(-3, 3, shape_r)
    return np.asarray(a).astype(dtype), np.asarray(b).astype(dtype)


def _binary_ref(key, a, b, dtype):
    if np.dtype(dtype).kind == "i":
        if key == "div":
            return _int_div_ref(a, b).astype(dtype)
        if key in ("power", "hypot"):
            return np.trunc(BINARY[key](a.astype(np.float64), b)).astype(dtype)
        return np.asarray(BINARY[key](a, b)).astype(dtype)
    return np.asarray(BINARY[key](a.astype(np.float64), b.astype(np.float64))).astype(dtype)


def test_binary_table_is_covered():
    assert set(BINARY) == set(E._BINARY)


@pytest.mark.parametrize("shapes", BCAST_SHAPES, ids=lambda s: "%s+%s" % s)
@pytest.mark.parametrize("key", sorted(BINARY))
def test_broadcast_float32(key, shapes):
    a, b = _binary_inputs(key, shapes[0], shapes[1], np.float32)
    got = _op("broadcast_" + key)(_nd(a), _nd(b))
    _check(got, _binary_ref(key, a, b, np.float32), *_tol(np.float32), what=key)


@pytest.mark.parametrize("dtype", [np.float64, np.int32, np.float16])
@pytest.mark.parametrize("key", sorted(BINARY))
def test_broadcast_other_dtypes(key, dtype):
    a, b = _binary_inputs(key, (2, 1, 4), (3, 1), dtype)
    got = _op("broadcast_" + key)(_nd(a), _nd(b))
    _check(got, _binary_ref(key, a, b, dtype), *_tol(dtype), what=key)


@pytest.mark.parametrize("key", sorted(BINARY))
def test_broadcast_shape_mismatch(key):
    name = "broadcast_" + key
    with pytest.raises(mx.MXNetError) as e:
        _op(name)(_nd(np.ones((2, 3), np.float32)), _nd(np.ones((4,), np.float32)))
    msg = str(e.value)
    assert name in msg and "(2, 3)" in msg and "(4,)" in msg, msg
    with pytest.raises(mx.MXNetError):
        _op(name)(_nd(np.ones((2, 3), np.float32)), _nd(np.ones((3, 2), np.float32)))


@pytest.mark.parametrize("key", sorted(BINARY))
def test_binary_dtype_mismatch(key):
    a = _nd(np.ones((2, 3), np.float32))
    with pytest.raises(mx.MXNetError):
        _op("broadcast_" + key)(a, _nd(np.ones((2, 3), np.float64)))
    with pytest.raises(mx.MXNetError):
        _op(ELEMWISE_NAME[key])(a, _nd(np.ones((2, 3), np.int32)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
@pytest.mark.parametrize("key", sorted(BINARY))
def test_elemwise_same_shape(key, dtype):
    a, b = _binary_inputs(key, (3, 4), (3, 4), dtype)
    got = _op(ELEMWISE_NAME[key])(_nd(a), _nd(b))
    _check(got, _binary_ref(key, a, b, dtype), *_tol(dtype), what=ELEMWISE_NAME[key])


@pytest.mark.parametrize("name", sorted(ELEMWISE_NAME.values()) + ["_grad_add"])
def test_elemwise_does_not_broadcast(name):
    a = _nd(np.ones((2, 3), np.float32))
    for other in [(1, 3), (3,), (2, 1), (3, 2)]:
        with pytest.raises(mx.MXNetError) as e:
            _op(name)(a, _nd(np.ones(other, np.float32)))
        assert name in str(e.value)


def test_grad_add_and_elemwise_f16():
    a = np.random.default_rng(0).standard_normal((3, 4))
    b = np.random.default_rng(1).standard_normal((3, 4))
    _check(_op("_grad_add")(_nd(a.astype(np.float32)), _nd(b.astype(np.float32))),
           (a + b).astype(np.float32), 1e-6, 1e-6)
    _check(mx.nd.elemwise_add(_nd(a.astype(np.float16)), _nd(b.astype(np.float16))),
           (a.astype(np.float16) + b.astype(np.float16)), 1e-3, 1e-3)


# ----------------------------------------------------------------------------- scalar
SCALAR_OPS = [(v[3], k, False) for k, v in E._BINARY.items()] + \
             [(v[5], k, True) for k, v in E._BINARY.items() if v[5]]


def _scalar_inputs(key, reflected, dtype, scalar):
    rng = np.random.default_rng(0)
    if np.dtype(dtype).kind == "i":
        x = rng.integers(-6, 7, (3, 4))
        if key == "power" and not reflected:
            x = rng.integers(-4, 5, (3, 4))
        if key == "power" and reflected:
            x = rng.integers(0, 6, (3, 4))  # 0 ** negative is undefined for integers
        if reflected and key in ("div", "mod"):
            x[x == 0] = 2
        return x.astype(dtype)
    if key in _DISCRETE:
        x = rng.integers(-2, 3, (3, 4)).astype(np.float64)
        x.flat[:2] = [scalar, 0.0]
    elif key == "power" and not reflected:
        x = rng.uniform(0.2, 3.0, (3, 4))
    elif reflected and key in ("div", "mod"):
        x = rng.uniform(0.5, 3.0, (3, 4)) * rng.choice([-1.0, 1.0], (3, 4))
    else:
        x = rng.uniform(-3, 3, (3, 4))
    return x.astype(dtype)


def _scalar_ref(key, reflected, x, s, dtype):
    s_arr = np.full_like(x, s)
    a, b = (s_arr, x) if reflected else (x, s_arr)
    return _binary_ref(key, a, b, dtype)


@pytest.mark.parametrize("scalar", [1.5, -2.5, 2.0])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,key,reflected", SCALAR_OPS, ids=[o[0] for o in SCALAR_OPS])
def test_scalar_float(name, key, reflected, dtype, scalar):
    if key == "power" and reflected and scalar < 0:
        scalar = -scalar
    x = _scalar_inputs(key, reflected, dtype, scalar)
    got = _op(name)(_nd(x), scalar=scalar)
    _check(got, _scalar_ref(key, reflected, x, scalar, dtype), *_tol(dtype), what=name)


def _int_scalar_cases():
    """(op, key, reflected, scalar) for int32 arrays, leaving out what C leaves undefined
    (a zero divisor after the cast is tested on its own; x ** negative on x == 0)."""
    out = []
    for name, key, reflected in SCALAR_OPS:
        for scalar in (1.5, -2.7, 2.0, 0.5):
            s = int(np.trunc(scalar))
            if not reflected and ((key in ("div", "mod") and s == 0) or
                                  (key == "power" and s < 0)):
                continue
            out.append(pytest.param(name, key, reflected, scalar, id="%s-%s" % (name, scalar)))
    return out


@pytest.mark.parametrize("name,key,reflected,scalar", _int_scalar_cases())
def test_scalar_int32_casts_scalar_first(name, key, reflected, scalar):
    s = int(np.trunc(scalar))  # MXNet: DType(scalar)
    x = _scalar_inputs(key, reflected, np.int32, scalar)
    got = _op(name)(_nd(x), scalar=scalar)
    _check(got, _scalar_ref(key, reflected, x, s, np.int32), what="%s %s" % (name, scalar))


def test_scalar_int32_examples():
    x = _nd(np.array([-7, -3, 3, 7], dtype=np.int32))
    _check(x * 1.5, np.array([-7, -3, 3, 7], dtype=np.int32))     # 1.5 -> 1
    _check(x + 0.9, np.array([-7, -3, 3, 7], dtype=np.int32))     # 0.9 -> 0
    _check(x - 2.9, np.array([-9, -5, 1, 5], dtype=np.int32))     # 2.9 -> 2
    _check(x / 2, np.array([-3, -1, 1, 3], dtype=np.int32))
    _check(x / 2.9, np.array([-3, -1, 1, 3], dtype=np.int32))
    _check(x / -2, np.array([3, 1, -1, -3], dtype=np.int32))
    _check(7 / x, np.array([-1, -2, 2, 1], dtype=np.int32))
    _check(x > 2.5, np.array([0, 0, 1, 1], dtype=np.int32))       # 2.5 -> 2
    _check(x == 3.7, np.array([0, 0, 1, 0], dtype=np.int32))      # 3.7 -> 3
    _check(mx.nd.maximum(x, 1.5), np.array([1, 1, 3, 7], dtype=np.int32))


def test_int_power_negative_exponent():
    x = _nd(np.array([-2, -1, 1, 2, 3], dtype=np.int32))
    _check(x ** -1, np.array([0, -1, 1, 0, 0], dtype=np.int32))
    _check(x ** 2, np.array([4, 1, 1, 4, 9], dtype=np.int32))
    _check(2 ** x, np.array([0, 0, 2, 4, 8], dtype=np.int32))
    b = _nd(np.array([-1, -2, 0, 3, 1], dtype=np.int32))
    _check(x ** b, np.array([0, 1, 1, 8, 3], dtype=np.int32))


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.int8])
def test_integer_division_truncates_toward_zero(dtype):
    a = _nd(np.array([-7, 7, -7, 7, -1, 0], dtype=dtype))
    b = _nd(np.array([2, -2, -2, 2, 3, 5], dtype=dtype))
    want = np.array([-3, -3, 3, 3, 0, 0], dtype=dtype)
    _check(a / b, want)
    _check(mx.nd.broadcast_div(a, b), want)
    _check(mx.nd.elemwise_div(a, b), want)
    _check(_op("_div_scalar")(_nd(np.array([-7], dtype=dtype)), scalar=2),
           np.array([-3], dtype=dtype))
    _check(_op("_rdiv_scalar")(_nd(np.array([2, -2], dtype=dtype)), scalar=-7),
           np.array([-3, 3], dtype=dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64])
def test_mod_takes_divisor_sign(dtype):
    a = np.array([-7, 7, -7, 7, 6, -6], dtype=dtype)
    b = np.array([3, 3, -3, -3, 3, -3], dtype=dtype)
    want = np.array([2, 1, -1, -2, 0, 0], dtype=dtype)
    _check(_nd(a) % _nd(b), want)
    _check(mx.nd.broadcast_mod(_nd(a), _nd(b)), want)
    _check(_op("_mod")(_nd(a), _nd(b)), want)
    _check(_nd(a) % 3, np.array([2, 1, 2, 1, 0, 0], dtype=dtype))
    _check(_nd(a) % -3, np.array([-1, -2, -1, -2, 0, 0], dtype=dtype))
    _check(7 % _nd(b), np.array([1, 1, -2, -2, 1, -2], dtype=dtype))
    if np.dtype(dtype).kind == "f":
        x = _nd(np.array([-7.5, 7.5, -0.5], dtype=dtype))
        _check(x % 2, np.array([0.5, 1.5, 1.5], dtype=dtype))
        _check(x % -2, np.array([-1.5, -0.5, -0.5], dtype=dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_division_by_zero(dtype):
    x = _nd(np.array([1.0, -1.0, 0.0], dtype=dtype))
    z = _nd(np.zeros(3, dtype=dtype))
    want = np.array([np.inf, -np.inf, np.nan], dtype=dtype)
    _check(x / 0, want)
    _check(x / z, want)
    _check(mx.nd.elemwise_div(x, z), want)
    _check(1 / x, np.array([1, -1, np.inf], dtype=dtype))
    _check(x ** -1, np.array([1, -1, np.inf], dtype=dtype))
    _check(mx.nd.broadcast_power(z, _nd(np.array([-1.0], dtype=dtype))),
           np.array([np.inf] * 3, dtype=dtype))


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint8])
def test_integer_division_by_zero_gives_zero(dtype):
    x = _nd(np.array([5, 0, 3], dtype=dtype))
    z = _nd(np.zeros(3, dtype=dtype))
    zeros = np.zeros(3, dtype=dtype)
    _check(x / 0, zeros)
    _check(x / z, zeros)
    _check(mx.nd.elemwise_div(x, z), zeros)
    _check(x % 0, zeros)
    _check(x % z, zeros)
    _check(7 / x, np.array([1, 0, 2], dtype=dtype))
    _check(7 % x, np.array([2, 0, 1], dtype=dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_mod_by_zero_gives_zero(dtype):
    x = _nd(np.array([5.0, -2.5, 0.0], dtype=dtype))
    z = _nd(np.zeros(3, dtype=dtype))
    zeros = np.zeros(3, dtype=dtype)
    _check(x % 0, zeros, what="_mod_scalar")
    _check(x % z, zeros, what="broadcast_mod")
    _check(_op("_mod")(x, z), zeros, what="_mod")
    _check(7 % x, np.array([2, -0.5, 0], dtype=dtype), what="_rmod_scalar")


# ----------------------------------------------------------------------------- compare
CMP = {"==": ("equal", np.equal), "!=": ("not_equal", np.not_equal),
       ">": ("greater", np.greater), ">=": ("greater_equal", np.greater_equal),
       "<": ("lesser", np.less), "<=": ("lesser_equal", np.less_equal)}


def _apply(sym, a, b):
    return {"==": lambda: a == b, "!=": lambda: a != b, ">": lambda: a > b,
            ">=": lambda: a >= b, "<": lambda: a < b, "<=": lambda: a <= b}[sym]()


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.float16])
@pytest.mark.parametrize("sym", sorted(CMP))
def test_comparisons_give_0_1_in_input_dtype(sym, dtype):
    a = np.array([[-1, 0, 1, 2], [2, 2, -3, 0]], dtype=dtype)
    b = np.array([0, 0, 1, 3], dtype=dtype)
    key, ref = CMP[sym]
    want = ref(a, b).astype(dtype)
    _check(_apply(sym, _nd(a), _nd(b)), want, what=sym)
    _check(_op("broadcast_" + key)(_nd(a), _nd(b)), want, what=key)
    want_s = ref(a, dtype(2)).astype(dtype)
    _check(_apply(sym, _nd(a), 2), want_s, what=sym + " scalar")
    _check(_op("_%s_scalar" % key)(_nd(a), scalar=2), want_s, what=key + " scalar")
    _check(_op("_" + key)(_nd(a), _nd(np.broadcast_to(b, a.shape).copy())), want, what=key)


def test_comparisons_with_nan():
    a = _nd(np.array([np.nan, 1.0, np.nan], dtype=np.float32))
    b = _nd(np.array([np.nan, np.nan, 1.0], dtype=np.float32))
    _check(a == b, np.zeros(3, np.float32))
    _check(a != b, np.ones(3, np.float32))
    _check(a > b, np.zeros(3, np.float32))
    _check(a <= 1, np.array([0, 1, 0], dtype=np.float32))


@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.float64])
def test_logical_ops(dtype):
    a = np.array([0, 0, 2, -3], dtype=dtype)
    b = np.array([0, 5, 0, 1], dtype=dtype)
    _check(mx.nd.broadcast_logical_and(_nd(a), _nd(b)), np.array([0, 0, 0, 1], dtype=dtype))
    _check(mx.nd.broadcast_logical_or(_nd(a), _nd(b)), np.array([0, 1, 1, 1], dtype=dtype))
    _check(mx.nd.broadcast_logical_xor(_nd(a), _nd(b)), np.array([0, 1, 1, 0], dtype=dtype))
    _check(_op("_logical_and")(_nd(a), _nd(b)), np.array([0, 0, 0, 1], dtype=dtype))
    _check(_op("_logical_or_scalar")(_nd(a), scalar=0), np.array([0, 0, 1, 1], dtype=dtype))
    _check(_op("_logical_and_scalar")(_nd(a), scalar=3), np.array([0, 0, 1, 1], dtype=dtype))
    _check(_op("_logical_xor_scalar")(_nd(a), scalar=1), np.array([1, 1, 0, 0], dtype=dtype))
    _check(mx.nd.logical_not(_nd(a)), np.array([1, 1, 0, 0], dtype=dtype))
    # the scalar is cast to the array dtype first: 0.5 is 0 for integers
    want = np.zeros(4) if np.dtype(dtype).kind == "i" else np.array([0, 0, 1, 1])
    _check(_op("_logical_and_scalar")(_nd(a), scalar=0.5), want.astype(dtype))
    nan = _nd(np.array([np.nan, np.nan], dtype=np.float32))
    _check(mx.nd.broadcast_logical_and(nan, _nd(np.array([1.0, 0.0], dtype=np.float32))),
           np.array([1, 0], dtype=np.float32))


# ----------------------------------------------------------------------------- dunders
def test_ndarray_operators_map_to_ops():
    rng = np.random.default_rng(0)
    a = rng.uniform(0.5, 2.0, (2, 3)).astype(np.float32)
    b = rng.uniform(0.5, 2.0, (3,)).astype(np.float32) * np.array([1, -1, 1], np.float32)
    A, B = _nd(a), _nd(b)
    f32 = np.float32
    cases = [
        (A + B, a + b), (A - B, a - b), (A * B, a * b), (A / B, a / b),
        (A % B, np.mod(a, b)), (A ** B, np.power(a, b)),
        (A + 3, a + 3), (3 + A, 3 + a), (A - 3, a - 3), (3 - A, 3 - a),
        (A * 3, a * 3), (3 * A, 3 * a), (A / 2, a / 2), (2 / A, 2 / a),
        (A % 0.75, np.mod(a, f32(0.75))), (3 % A, np.mod(f32(3), a)),
        (A ** 2, a ** 2), (2 ** A, np.power(f32(2), a)),
        (-A, -a), (+A, a), (abs(-A), a),
        (A == B, (a == b).astype(f32)), (A != 1, (a != 1).astype(f32)),
        (A > B, (a > b).astype(f32)), (A >= 1, (a >= 1).astype(f32)),
        (A < B, (a < b).astype(f32)), (A <= 1, (a <= 1).astype(f32)),
    ]
    for i, (got, want) in enumerate(cases):
        _check(got, np.asarray(want, dtype=f32), 1e-6, 1e-6, what="case %d" % i)
    assert (+A) is A
    # a number on the left of a non-commutative op uses the reflected scalar ops
    _check(3 - _nd(np.array([1, 5], dtype=np.int32)), np.array([2, -2], dtype=np.int32))
    _check(-_nd(np.array([1, -5, 0], dtype=np.int32)), np.array([-1, 5, 0], dtype=np.int32))


def test_inplace_ops_write_into_the_same_array():
    a = _nd(np.arange(6, dtype=np.float32).reshape(2, 3))
    expect = np.arange(6, dtype=np.float32).reshape(2, 3)
    row = a[1]
    flat = a.reshape((6,))
    obj = id(a)
    steps = [
        (lambda x: x.__iadd__(_nd(np.array([1, 2, 3], dtype=np.float32))),
         lambda e: e + np.array([1, 2, 3], dtype=np.float32)),
        (lambda x: x.__iadd__(2), lambda e: e + 2),
        (lambda x: x.__isub__(_nd(np.ones((2, 3), np.float32))), lambda e: e - 1),
        (lambda x: x.__isub__(0.5), lambda e: e - np.float32(0.5)),
        (lambda x: x.__imul__(_nd(np.array([[2], [3]], dtype=np.float32))),
         lambda e: e * np.array([[2], [3]], dtype=np.float32)),
        (lambda x: x.__imul__(2), lambda e: e * 2),
        (lambda x: x.__itruediv__(_nd(np.array([4.0], dtype=np.float32))), lambda e: e / 4),
        (lambda x: x.__itruediv__(2), lambda e: e / 2),
    ]
    for i, (op, ref) in enumerate(steps):
        res = op(a)
        assert res is a and id(a) == obj, "step %d returned a new array" % i
        expect = ref(expect).astype(np.float32)
        _check(a, expect, 1e-6, 1e-6, what="step %d" % i)
        _check(row, expect[1], 1e-6, 1e-6, what="view after step %d" % i)
        _check(flat, expect.reshape(6), 1e-6, 1e-6, what="reshaped view after step %d" % i)
    # the statement form rebinds the name to the same object
    b = a
    b += 1
    assert b is a
    _check(row, expect[1] + 1, 1e-6, 1e-6)
    # an in-place op on a view writes through to the base array
    row *= 0
    _check(a[0], expect[0] + 1, 1e-6, 1e-6)
    _check(a[1], np.zeros(3, np.float32))


def test_inplace_int32():
    a = _nd(np.array([-7, 7, 5], dtype=np.int32))
    a /= 2
    _check(a, np.array([-3, 3, 2], dtype=np.int32))
    a *= 1.5
    _check(a, np.array([-3, 3, 2], dtype=np.int32))
    a += _nd(np.array([1, 1, 1], dtype=np.int32))
    _check(a, np.array([-2, 4, 3], dtype=np.int32))


@pytest.mark.parametrize("shapes", [((1, 3), (2, 3)), ((3,), (2, 3)), ((2, 1), (2, 3)),
                                    ((2, 3), (4,))])
@pytest.mark.parametrize("opname", ["__iadd__", "__isub__", "__imul__", "__itruediv__"])
def test_inplace_cannot_change_shape(opname, shapes):
    a = _nd(np.ones(shapes[0], np.float32))
    b = _nd(np.ones(shapes[1], np.float32))
    with pytest.raises(mx.MXNetError):
        getattr(a, opname)(b)
    _check(a, np.ones(shapes[0], np.float32))  # untouched


# ----------------------------------------------------------------------------- misc ops
def test_add_n():
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal((2, 3)).astype(np.float32) for _ in range(5)]
    _check(mx.nd.add_n(_nd(xs[0])), xs[0])
    _check(mx.nd.add_n(_nd(xs[0]), _nd(xs[1])), xs[0] + xs[1], 1e-6, 1e-6)
    _check(mx.nd.add_n(*[_nd(x) for x in xs]), np.sum(xs, axis=0), 1e-5, 1e-6)
    ints = [np.full((2, 2), i, dtype=np.int32) for i in range(5)]
    _check(mx.nd.add_n(*[_nd(x) for x in ints]), np.full((2, 2), 10, dtype=np.int32))
    # the single-input form returns a copy, not its input
    a = _nd(xs[0])
    out = mx.nd.add_n(a)
    assert out is not a
    out += 1
    _check(a, xs[0])
    # the same array several times
    _check(mx.nd.add_n(a, a, a), 3 * xs[0], 1e-6, 1e-6)
    with pytest.raises(mx.MXNetError):
        mx.nd.add_n(_nd(xs[0]), _nd(np.ones((3, 2), np.float32)))


def test_clip_bounds_inclusive():
    x = np.array([-3.0, -1.0, -0.999, 0.0, 0.5, 1.0, 1.001, 4.0, np.nan], dtype=np.float32)
    got = mx.nd.clip(_nd(x), -1.0, 1.0)
    _check(got, np.array([-1, -1, -0.999, 0, 0.5, 1, 1, 1, np.nan], dtype=np.float32))
    _check(mx.nd.clip(_nd(x), a_min=0.5, a_max=0.5),
           np.array([0.5] * 8 + [np.nan], dtype=np.float32))
    xi = np.arange(-4, 5, dtype=np.int32)
    _check(mx.nd.clip(_nd(xi), -2.5, 2.5), np.clip(xi, -2, 2).astype(np.int32))
    x64 = np.random.default_rng(0).uniform(-3, 3, (3, 4))
    _check(mx.nd.clip(_nd(x64), -1, 2), np.clip(x64, -1, 2))
    with pytest.raises(mx.MXNetError):
        mx.nd.clip(_nd(x))  # a_min and a_max are required


CAST_TARGETS = ["float16", "float32", "float64", "int32", "int64", "int8", "uint8", "bool"]


@pytest.mark.parametrize("src", ["float32", "float64", "float16", "int32"])
@pytest.mark.parametrize("dst", CAST_TARGETS)
def test_cast(src, dst):
    if src == "int32":
        x = np.array([-100, -3, -1, 0, 1, 2, 7, 100], dtype=np.int32)
    else:
        x = np.array([-100.75, -2.7, -1.5, -0.5, 0.0, 0.5, 1.5, 2.7, 100.9], dtype=src)
    if dst == "uint8":
        x = np.abs(x)  # negative float -> unsigned is undefined in C
    got = mx.nd.Cast(_nd(x), dtype=dst)
    want = np.trunc(x).astype(dst) if np.dtype(dst).kind in "iu" else x.astype(dst)
    _check(got, want, what="%s->%s" % (src, dst))
    _check(mx.nd.cast(_nd(x), dst), want, what="cast alias")


def test_cast_truncates_negative_floats():
    x = _nd(np.array([-2.9, -2.5, -2.1, -0.9, 0.9, 2.5, 2.9], dtype=np.float32))
    for dt in ("int32", "int64", "int8"):
        _check(mx.nd.Cast(x, dtype=dt), np.array([-2, -2, -2, 0, 0, 2, 2], dtype=dt))
    _check(mx.nd.Cast(_nd(np.array([True, False])), dtype="float32"),
           np.array([1, 0], dtype=np.float32))
    _check(mx.nd.Cast(_nd(np.array([300, -129], dtype=np.int32)), dtype="int8"),
           np.array([300, -129], dtype=np.int32).astype(np.int8))  # C wrap-around


def test_cast_to_bfloat16():
    x = np.array([-1.7, 2.9, 0.0, 1.0, 100.5], dtype=np.float32)
    got = mx.nd.Cast(_nd(x), dtype="bfloat16").asnumpy()
    assert got.dtype == BFLOAT16
    if BFLOAT16.names is not None:
        values = (got.view(np.uint16).astype(np.uint32) << 16).view(np.float32)
    else:
        values = got.astype(np.float32)
    assert np.allclose(values, x, rtol=8e-3, atol=0), values


def test_hard_sigmoid():
    x = np.array([-5.0, -2.5, -1.0, 0.0, 1.0, 2.5, 5.0], dtype=np.float32)
    _check(mx.nd.hard_sigmoid(_nd(x)),
           np.array([0, 0, 0.3, 0.5, 0.7, 1, 1], dtype=np.float32), 1e-6, 1e-7)
    _check(mx.nd.hard_sigmoid(_nd(x), alpha=0.5, beta=0.25),
           np.clip(0.5 * x + 0.25, 0, 1).astype(np.float32), 1e-6, 1e-7)
    x64 = np.random.default_rng(0).uniform(-4, 4, (3, 5))
    _check(mx.nd.hard_sigmoid(_nd(x64)), np.clip(0.2 * x64 + 0.5, 0, 1), 1e-12, 1e-12)


@pytest.mark.parametrize("sigma", [1.0, 2.0, 0.5])
def test_smooth_l1(sigma):
    s2 = sigma * sigma
    x = np.concatenate([np.random.default_rng(0).uniform(-5, 5, 20),
                        [0.0, 1 / s2, -1 / s2, 0.5 / s2, -2 / s2]])
    want = np.where(np.abs(x) < 1 / s2, 0.5 * s2 * x * x, np.abs(x) - 0.5 / s2)
    for dt in (np.float32, np.float64):
        _check(mx.nd.smooth_l1(_nd(x.astype(dt)), scalar=sigma), want.astype(dt),
               *_tol(dt), what="sigma=%s %s" % (sigma, np.dtype(dt).name))
    with pytest.raises(mx.MXNetError):
        mx.nd.smooth_l1(_nd(x))  # scalar is required


# ----------------------------------------------------------------------------- out=
def test_out_argument():
    x = _nd(np.array([0.0, 1.0, 2.0], dtype=np.float32))
    y = mx.nd.exp(x, out=x)
    assert y is x
    _check(x, np.exp(np.array([0, 1, 2], dtype=np.float32)), 1e-6, 1e-6)

    base = np.arange(6, dtype=np.float32).reshape(2, 3)
    row = np.array([1, 2, 3], dtype=np.float32)
    a, b = _nd(base), _nd(row)
    c = _nd(np.zeros((2, 3), np.float32))
    r = mx.nd.broadcast_add(a, b, out=c)
    assert r is c
    _check(c, base + row)
    # out aliasing an input of a binary op
    mx.nd.elemwise_mul(a, a, out=a)
    _check(a, base * base)
    mx.nd.broadcast_sub(a, b, out=a)
    _check(a, base * base - row)
    s = _nd(np.zeros(3, np.float32))
    assert _op("_plus_scalar")(b, scalar=1, out=s) is s
    _check(s, row + 1)
    mx.nd.clip(b, 1.5, 2.5, out=b)
    _check(b, np.array([1.5, 2, 2.5], dtype=np.float32))
    n = _nd(np.zeros((2, 3), np.float32))
    mx.nd.add_n(c, c, c, out=n)
    _check(n, 3 * (base + row))


def test_out_argument_mismatch():
    x = _nd(np.array([0.0, 1.0, 2.0], dtype=np.float32))
    with pytest.raises(mx.MXNetError):
        mx.nd.exp(x, out=_nd(np.zeros(4, np.float32)))
    with pytest.raises(mx.MXNetError):
        mx.nd.exp(x, out=_nd(np.zeros(3, np.float64)))
    with pytest.raises(mx.MXNetError):
        mx.nd.broadcast_add(x, _nd(np.zeros((2, 1), np.float32)), out=x)
    _check(x, np.array([0, 1, 2], dtype=np.float32))


# ----------------------------------------------------------------------------- gradients
from mixnet import autograd  # noqa: E402
from mixnet.test_utils import check_op  # noqa: E402

_RNG = np.random.default_rng(7)


def _vec(f):
    return np.vectorize(f, otypes=[np.float64])


def _u(lo, hi, shape=(2, 3)):
    return _RNG.uniform(lo, hi, shape)


_POS, _OPEN1 = (0.5, 2.0), (-0.9, 0.9)
# op: (NumPy reference, input range)
UNARY_REF = {
    "abs": (np.abs, (-2, 2)), "square": (np.square, (-2, 2)), "sqrt": (np.sqrt, _POS),
    "rsqrt": (lambda x: 1 / np.sqrt(x), _POS), "cbrt": (np.cbrt, _POS),
    "rcbrt": (lambda x: 1 / np.cbrt(x), _POS), "exp": (np.exp, (-2, 2)),
    "expm1": (np.expm1, (-2, 2)), "log": (np.log, _POS), "log10": (np.log10, _POS),
    "log2": (np.log2, _POS), "log1p": (np.log1p, _POS), "reciprocal": (lambda x: 1 / x, _POS),
    "sin": (np.sin, (-3, 3)), "cos": (np.cos, (-3, 3)), "tan": (np.tan, (-1.2, 1.2)),
    "arcsin": (np.arcsin, _OPEN1), "arccos": (np.arccos, _OPEN1), "arctan": (np.arctan, (-3, 3)),
    "sinh": (np.sinh, (-2, 2)), "cosh": (np.cosh, (-2, 2)), "tanh": (np.tanh, (-2, 2)),
    "arcsinh": (np.arcsinh, (-2, 2)), "arccosh": (np.arccosh, (1.2, 3)),
    "arctanh": (np.arctanh, _OPEN1), "relu": (lambda x: np.maximum(x, 0), (-2, 2)),
    "sigmoid": (lambda x: 1 / (1 + np.exp(-x)), (-3, 3)),
    "softsign": (lambda x: x / (1 + np.abs(x)), (-3, 3)),
    "erf": (_vec(math.erf), (-2.5, 2.5)), "gammaln": (_vec(math.lgamma), (0.2, 6)),
    "gamma": (_vec(math.gamma), (0.3, 4)),
    "negative": (np.negative, (-2, 2)), "degrees": (np.degrees, (-2, 2)),
    "radians": (np.radians, (-2, 2)), "_copy": (lambda x: x.copy(), (-2, 2)),
}


@pytest.mark.parametrize("name", sorted(UNARY_REF))
def test_unary_gradients(name):
    ref, (lo, hi) = UNARY_REF[name]
    x = _u(lo, hi)
    if name == "relu":
        x[np.abs(x) < 0.05] = 0.3  # keep away from the kink
    check_op(name, [x], reference=lambda a: ref(a), rtol=1e-10, atol=1e-12)


def test_erfinv_forward_and_gradient():
    y = _u(-0.99, 0.99, (3, 4))
    got = check_op("erfinv", [y], reference=lambda a: a, grad=True,
                   rtol=np.inf, atol=np.inf)[0]  # checked by inverting below
    np.testing.assert_allclose(_vec(math.erf)(got), y, rtol=0, atol=1e-14)
    edge = mx.nd.erfinv(mx.nd.array([1.0, -1.0, 1.5, 0.0])).asnumpy()
    assert edge[0] == np.inf and edge[1] == -np.inf and np.isnan(edge[2]) and edge[3] == 0


def test_special_functions_wide_range_float64():
    x = np.linspace(-6, 6, 2001)
    np.testing.assert_allclose(mx.nd.erf(_nd(x)).asnumpy(), _vec(math.erf)(x), rtol=1e-14,
                               atol=1e-16)
    g = np.arange(-9.7, 40.0, 0.1) + 0.0123  # avoids the poles
    np.testing.assert_allclose(mx.nd.gammaln(_nd(g)).asnumpy(), _vec(math.lgamma)(g),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(mx.nd.gamma(_nd(g)).asnumpy(), _vec(math.gamma)(g), rtol=1e-11)
    poles = mx.nd.gamma(_nd(np.array([0.0, -1.0, -2.0]))).asnumpy()
    assert poles[0] == np.inf and np.isnan(poles[1:]).all()
    # float32 in, float32 out, computed wide
    assert mx.nd.erf(_nd(x.astype(np.float32))).dtype == np.float32


ZERO_GRAD_UNARY = ["sign", "floor", "ceil", "round", "rint", "trunc", "fix", "logical_not",
                   "BlockGrad", "stop_gradient", "zeros_like", "ones_like"]


def _grads(fn, arrays, head=None):
    xs = [_nd(a) for a in arrays]
    for x in xs:
        x.attach_grad()
    with autograd.record():
        y = fn(*xs)
    y.backward(None if head is None else _nd(head))
    return [x.grad.asnumpy() for x in xs]


@pytest.mark.parametrize("name", ZERO_GRAD_UNARY)
def test_discrete_unary_ops_have_zero_gradient(name):
    (g,) = _grads(_op(name), [_u(-2, 2)])
    assert (g == 0).all()


@pytest.mark.parametrize("key", ["equal", "not_equal", "greater", "greater_equal", "lesser",
                                 "lesser_equal", "logical_and", "logical_or", "logical_xor"])
def test_comparisons_have_zero_gradient(key):
    a, b = _u(-1, 1), _u(-1, 1)
    for fn in (lambda x, y: _op("broadcast_" + key)(x, y), lambda x, y: _op("_" + key)(x, y)):
        assert all((g == 0).all() for g in _grads(fn, [a, b]))
    assert (_grads(lambda x: _op("_%s_scalar" % key)(x, scalar=0.1), [a])[0] == 0).all()


def test_make_loss_ignores_the_head_gradient():
    (g,) = _grads(mx.nd.make_loss, [_u(-1, 1)], head=np.full((2, 3), 7.0))
    np.testing.assert_array_equal(g, np.ones((2, 3)))


BINARY_REF = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide,
              "power": np.power, "hypot": np.hypot, "maximum": np.maximum,
              "minimum": np.minimum, "mod": np.mod}
_SAME = {"add": "elemwise_add", "sub": "elemwise_sub", "mul": "elemwise_mul",
         "div": "elemwise_div"}


@pytest.mark.parametrize("key", sorted(BINARY_REF))
def test_binary_gradients_same_shape_and_broadcast(key):
    # mod: lhs in [2.3, 2.7] over rhs in [1, 1.1] keeps floor(a / b) == 2, away from jumps
    (la, ha), (lb, hb) = ((2.3, 2.7), (1.0, 1.1)) if key == "mod" else ((0.5, 2.0), (0.5, 2.0))
    ref = BINARY_REF[key]
    check_op(_SAME.get(key, "_" + key), [_u(la, ha, (3, 4)), _u(lb, hb, (3, 4))],
             reference=ref, rtol=1e-12, atol=1e-12)
    for sa, sb in (((3, 1, 4), (1, 5, 4)), ((4, 1), (1, 3)), ((2, 3), (3,)), ((1,), (2, 2))):
        check_op("broadcast_" + key, [_u(la, ha, sa), _u(lb, hb, sb)], reference=ref,
                 rtol=1e-12, atol=1e-12)


def test_maximum_minimum_ties_go_to_lhs():
    a = np.array([[1.0, 2.0, 3.0]])
    b = np.array([[1.0, 5.0, 0.0]])
    for name, lhs_mask in (("_maximum", [1, 0, 1]), ("broadcast_maximum", [1, 0, 1]),
                           ("_minimum", [1, 1, 0]), ("broadcast_minimum", [1, 1, 0])):
        ga, gb = _grads(_op(name), [a, b])
        np.testing.assert_array_equal(ga, [lhs_mask])
        np.testing.assert_array_equal(gb, [[1 - m for m in lhs_mask]])


SCALAR_REF = {
    "_plus_scalar": lambda x, s: x + s, "_minus_scalar": lambda x, s: x - s,
    "_rminus_scalar": lambda x, s: s - x, "_mul_scalar": lambda x, s: x * s,
    "_div_scalar": lambda x, s: x / s, "_rdiv_scalar": lambda x, s: s / x,
    "_power_scalar": lambda x, s: x ** s, "_rpower_scalar": lambda x, s: s ** x,
    "_maximum_scalar": lambda x, s: np.maximum(x, s),
    "_minimum_scalar": lambda x, s: np.minimum(x, s), "_mod_scalar": lambda x, s: np.mod(x, s),
    "_rmod_scalar": lambda x, s: np.mod(s, x), "_hypot_scalar": lambda x, s: np.hypot(x, s),
}


@pytest.mark.parametrize("name", sorted(SCALAR_REF))
def test_scalar_op_gradients(name):
    s = 1.7
    x = _u(0.5, 3.0, (3, 4))
    x[np.abs(x - s) < 0.05] += 0.2  # away from max/min switch points
    if name == "_rmod_scalar":
        x = _u(0.6, 0.8, (3, 4))  # keep floor(s / x) constant near each point
    if name == "_mod_scalar":
        x = _u(0.1, 1.5, (3, 4))
    check_op(name, [x], {"scalar": s}, reference=lambda a, scalar: SCALAR_REF[name](a, scalar),
             rtol=1e-12, atol=1e-12)


def test_add_n_grad_add_clip_smooth_l1_hard_sigmoid_gradients():
    xs = [_u(-1, 1) for _ in range(3)]
    check_op("add_n", xs, reference=lambda *a: sum(a), rtol=1e-12, atol=1e-12)
    check_op("_grad_add", xs[:2], reference=np.add, rtol=1e-12, atol=1e-12)
    x = np.array([[-2.0, -1.0, -0.3, 0.2, 1.0, 1.6]])
    check_op("clip", [x], {"a_min": -1.0, "a_max": 1.0}, grad=False,
             reference=lambda a, a_min, a_max: np.clip(a, a_min, a_max))
    (g,) = _grads(lambda v: mx.nd.clip(v, -1.0, 1.0), [x])
    np.testing.assert_array_equal(g, [[0, 1, 1, 1, 1, 0]])  # bounds inclusive
    y = np.array([[-2.0, -0.4, 0.1, 0.3, 2.0]])
    (g,) = _grads(lambda v: mx.nd.smooth_l1(v, scalar=2.0), [y])
    np.testing.assert_allclose(g, [[-1, -1, 0.4, 1, 1]])
    check_op("smooth_l1", [_u(-2, 2, (3, 5))], {"scalar": 1.5}, rtol=1e-12, atol=1e-12,
             reference=lambda a, scalar: np.where(np.abs(a) < 1 / scalar ** 2,
                                                  0.5 * (scalar * a) ** 2,
                                                  np.abs(a) - 0.5 / scalar ** 2))
    (g,) = _grads(lambda v: mx.nd.hard_sigmoid(v, alpha=0.25, beta=0.5),
                  [np.array([[-3.0, -1.0, 0.0, 1.5, 3.0]])])
    np.testing.assert_allclose(g, [[0, 0.25, 0.25, 0.25, 0]])


@pytest.mark.parametrize("src,dst", [("float32", "float16"), ("float64", "float32"),
                                     ("float16", "float64")])
def test_cast_gradient_returns_input_dtype(src, dst):
    x = _nd(np.array([[1.5, -2.0]]), dtype=src)
    x.attach_grad()
    with autograd.record():
        y = mx.nd.Cast(x, dtype=dst)
    y.backward(mx.nd.array([[3.0, 4.0]], dtype=dst))
    assert x.grad.dtype == np.dtype(src)
    np.testing.assert_array_equal(x.grad.asnumpy(), [[3.0, 4.0]])


def test_float16_gradients_are_computed_wide():
    x = _u(0.5, 2.0, (4,)).astype(np.float16)
    (g,) = _grads(mx.nd.log, [x])
    assert g.dtype == np.float16
    np.testing.assert_allclose(g, 1 / x.astype(np.float64), rtol=2e-3)
    a, b = x, _u(0.5, 2.0, (1,)).astype(np.float16)
    ga, gb = _grads(mx.nd.broadcast_div, [a, b])
    np.testing.assert_allclose(gb, [np.sum(-a.astype(np.float64) / b[0] ** 2)], rtol=5e-3)


def test_second_order_through_mul():
    x = _nd(np.array([1.5, -2.0]))
    x.attach_grad()
    with autograd.record():
        y = x * x * x
        (dx,) = autograd.grad(y, [x], create_graph=True)
    dx.backward()
    np.testing.assert_allclose(x.grad.asnumpy(), 6 * np.array([1.5, -2.0]))


def test_backward_op_errors_name_the_op():
    g = _nd(np.zeros((2, 3)))
    with pytest.raises(mx.MXNetError, match="_backward_broadcast_div"):
        mx.nd._internal._backward_broadcast_div(g, _nd(np.zeros((2, 4))), _nd(np.zeros((1, 4))))


@pytest.mark.parametrize("name", sorted(set(E._UNARY_DERIV)))
def test_unary_backward_ops_are_differentiable(name):
    """``_backward_<op>(g, v)`` checked like any op: both inputs, so second-order
    gradients through every unary op are right."""
    ref, (lo, hi) = UNARY_REF.get(name, (None, _OPEN1))
    x = _u(lo, hi)
    if name == "relu":
        x[np.abs(x) < 0.05] = 0.3
    v = x if E._UNARY_DERIV[name][2] == "input" else _op(name)(_nd(x)).asnumpy()
    if name == "relu":
        v[v == 0] = -0.5  # the mask is flat away from 0
    g = _u(-1, 1)
    deriv = E._UNARY_DERIV[name][0]
    check_op("_backward_" + name, [g, v], reference=lambda a, b: a * deriv(np, b),
             rtol=1e-9, atol=1e-12)


def test_second_order_through_sin_and_sigmoid():
    for fn, d2 in ((mx.nd.sin, lambda x: -np.sin(x)),
                   (mx.nd.sigmoid, lambda x: (lambda s: s * (1 - s) * (1 - 2 * s))(
                       1 / (1 + np.exp(-x))))):
        x = _nd(np.array([0.3, 1.2, -0.7]))
        x.attach_grad()
        with autograd.record():
            (g,) = autograd.grad(fn(x), [x], create_graph=True)
        g.backward()
        np.testing.assert_allclose(x.grad.asnumpy(), d2(x.asnumpy()), rtol=1e-12)
