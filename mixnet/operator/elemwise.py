"""Element-wise operators: unary math, same-shape binary (``elemwise_*``, what Symbol
arithmetic emits), broadcast binary (what NDArray arithmetic emits), scalar variants,
comparisons (0/1 in the input dtype), ``clip``, ``Cast`` and the identity-like ops.

Integer arrays follow MXNet's C semantics: scalars are cast to the array dtype first,
division truncates toward zero, and ``%`` takes the sign of the divisor.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..base import MXNetError
from .params import REQUIRED, Bool, DType, Float, Int, Param
from .registry import OpDef, register, shape_str

# --------------------------------------------------------------------------- helpers
def _int_div(xp: Any, a: Any, b: Any) -> Any:
    """C-style integer division (toward zero); division by zero gives 0 instead of a trap."""
    safe = xp.where(b == 0, 1, b)
    q = xp.floor_divide(a, safe)
    q = q + ((q < 0) & (q * safe != a))
    return xp.where(b == 0, 0, q)


def _div(xp: Any, a: Any, b: Any, out: Any) -> None:
    if out.dtype.kind in "iub":
        out[...] = _int_div(xp, a, b)
    else:
        xp.true_divide(a, b, out=out)


def _mod(xp: Any, a: Any, b: Any, out: Any) -> None:
    # the sign follows the divisor (Python/NumPy mod); MXNet gives 0 for a zero divisor
    safe = xp.where(b == 0, 1, b)
    out[...] = xp.where(b == 0, 0, xp.mod(a, safe))


def _power(xp: Any, a: Any, b: Any, out: Any) -> None:
    if out.dtype.kind in "iu":
        # NumPy refuses negative integer exponents; compute in float64 and truncate
        out[...] = xp.power(xp.asarray(a, dtype=np.float32), xp.asarray(b, dtype=np.float32))
    else:
        xp.power(a, b, out=out)


def _ufunc(name: str) -> Callable:
    def run(xp: Any, a: Any, b: Any, out: Any) -> None:
        f = getattr(xp, name)
        if out.dtype.kind == "b":
            out[...] = f(a, b)
        else:
            f(a, b, out=out, casting="unsafe")
    return run


def _compare(name: str) -> Callable:
    def run(xp: Any, a: Any, b: Any, out: Any) -> None:
        getattr(xp, name)(a, b, out=out, casting="unsafe")
    return run


def _logical(name: str) -> Callable:
    def run(xp: Any, a: Any, b: Any, out: Any) -> None:
        getattr(xp, name)(a != 0, b != 0, out=out, casting="unsafe")
    return run


def _hypot(xp: Any, a: Any, b: Any, out: Any) -> None:
    if out.dtype.kind in "iub":
        out[...] = xp.hypot(xp.asarray(a, dtype=np.float32), xp.asarray(b, dtype=np.float32))
    else:
        xp.hypot(a, b, out=out)


# name -> (kernel(xp, a, b, out), same-shape op name, same-shape aliases, scalar name,
#          scalar aliases, reflected scalar name or None, reflected scalar aliases)
_BINARY = {
    "add": (_ufunc("add"), "elemwise_add", ("_Plus", "_add", "_plus"), "_plus_scalar",
            ("_PlusScalar",), None, ()),
    "sub": (_ufunc("subtract"), "elemwise_sub", ("_Minus", "_minus", "_sub"), "_minus_scalar",
            ("_MinusScalar",), "_rminus_scalar", ("_RMinusScalar",)),
    "mul": (_ufunc("multiply"), "elemwise_mul", ("_Mul", "_mul"), "_mul_scalar",
            ("_MulScalar",), None, ()),
    "div": (_div, "elemwise_div", ("_Div", "_div"), "_div_scalar", ("_DivScalar",),
            "_rdiv_scalar", ("_RDivScalar",)),
    "mod": (_mod, "_mod", ("_Mod",), "_mod_scalar", ("_ModScalar",), "_rmod_scalar",
            ("_RModScalar",)),
    "power": (_power, "_power", ("_Power",), "_power_scalar", ("_PowerScalar",),
              "_rpower_scalar", ("_RPowerScalar",)),
    "maximum": (_ufunc("maximum"), "_maximum", ("_Maximum",), "_maximum_scalar",
                ("_MaximumScalar",), None, ()),
    "minimum": (_ufunc("minimum"), "_minimum", ("_Minimum",), "_minimum_scalar",
                ("_MinimumScalar",), None, ()),
    "hypot": (_hypot, "_hypot", ("_Hypot",), "_hypot_scalar", ("_HypotScalar",), None, ()),
    "equal": (_compare("equal"), "_equal", ("_Equal",), "_equal_scalar", ("_EqualScalar",),
              None, ()),
    "not_equal": (_compare("not_equal"), "_not_equal", ("_Not_Equal",), "_not_equal_scalar",
                  ("_NotEqualScalar",), None, ()),
    "greater": (_compare("greater"), "_greater", ("_Greater",), "_greater_scalar",
                ("_GreaterScalar",), None, ()),
    "greater_equal": (_compare("greater_equal"), "_greater_equal", ("_Greater_Equal",),
                      "_greater_equal_scalar", ("_GreaterEqualScalar",), None, ()),
    "lesser": (_compare("less"), "_lesser", ("_Lesser",), "_lesser_scalar",
               ("_LesserScalar",), None, ()),
    "lesser_equal": (_compare("less_equal"), "_lesser_equal", ("_Lesser_Equal",),
                     "_lesser_equal_scalar", ("_LesserEqualScalar",), None, ()),
    "logical_and": (_logical("logical_and"), "_logical_and", ("_Logical_And",),
                    "_logical_and_scalar", ("_LogicalAndScalar",), None, ()),
    "logical_or": (_logical("logical_or"), "_logical_or", ("_Logical_Or",),
                   "_logical_or_scalar", ("_LogicalOrScalar",), None, ()),
    "logical_xor": (_logical("logical_xor"), "_logical_xor", ("_Logical_Xor",),
                    "_logical_xor_scalar", ("_LogicalXorScalar",), None, ()),
}
def broadcast_shape(a: tuple, b: tuple) -> tuple:
    """NumPy broadcasting of two shapes (aligned from the right, size-1 dims stretch);
    raises ``MXNetError`` naming both shapes when they are incompatible."""
    if a == b:
        return a
    n = max(len(a), len(b))
    pa = (1,) * (n - len(a)) + tuple(a)
    pb = (1,) * (n - len(b)) + tuple(b)
    out = []
    for x, y in zip(pa, pb):
        if x == y or y == 1:
            out.append(x)
        elif x == 1:
            out.append(y)
        else:
            raise MXNetError("shapes %s and %s cannot be broadcast together"
                             % (shape_str(a), shape_str(b)))
    return tuple(out)


def _bcast_shape(p: Any, shapes: list):
    a, b = shapes
    if a is None or b is None:
        return shapes, [None]
    return shapes, [broadcast_shape(a, b)]


def _binary_forward(kernel: Callable) -> Callable:
    def fwd(oc: Any, ins: list, outs: list, p: Any) -> None:
        kernel(oc.xp, ins[0], ins[1], outs[0])
    return fwd


def _scalar_value(x: Any, s: float) -> Any:
    """MXNet casts the scalar to the array's dtype before computing."""
    return x.dtype.type(s)


def _scalar_forward(kernel: Callable, reflected: bool) -> Callable:
    if reflected:
        def fwd(oc: Any, ins: list, outs: list, p: Any) -> None:
            x = ins[0]
            kernel(oc.xp, _scalar_value(x, p.scalar), x, outs[0])
    else:
        def fwd(oc: Any, ins: list, outs: list, p: Any) -> None:
            x = ins[0]
            kernel(oc.xp, x, _scalar_value(x, p.scalar), outs[0])
    return fwd


_SCALAR_PARAMS = [Param("scalar", Float(), 1.0, "the scalar operand"),
                  Param("is_int", Bool(), True, "internal: the scalar is integral")]

for _key, (_k, _ew, _ew_alias, _sc, _sc_alias, _rsc, _rsc_alias) in _BINARY.items():
    _bname = "broadcast_" + _key
    register(OpDef(_bname, inputs=("lhs", "rhs"), forward=_binary_forward(_k),
                   infer_shape=_bcast_shape,
                   aliases=("broadcast_plus",) if _key == "add" else
                   ("broadcast_minus",) if _key == "sub" else (),
                   doc="Element-wise %s of two arrays with NumPy broadcasting." % _key))
    register(OpDef(_ew, inputs=("lhs", "rhs"), forward=_binary_forward(_k),
                   aliases=_ew_alias, inplace=((0, 0), (1, 0)),
                   doc="Element-wise %s of two arrays of the same shape." % _key))
    register(OpDef(_sc, params=_SCALAR_PARAMS, forward=_scalar_forward(_k, False),
                   aliases=_sc_alias, inplace=((0, 0),),
                   doc="Element-wise %s of an array and a scalar." % _key))
    if _rsc:
        register(OpDef(_rsc, params=_SCALAR_PARAMS, forward=_scalar_forward(_k, True),
                       aliases=_rsc_alias, inplace=((0, 0),),
                       doc="Element-wise %s of a scalar and an array (scalar first)." % _key))


def _add_n_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    o = outs[0]
    if len(ins) == 1:
        o[...] = ins[0]
        return
    oc.xp.add(ins[0], ins[1], out=o)
    for x in ins[2:]:
        oc.xp.add(o, x, out=o)


register(OpDef("add_n", inputs=lambda p: ["arg%d" % i for i in range(p.num_args)],
               params=[Param("num_args", Int(lo=1), REQUIRED, "number of inputs")],
               forward=_add_n_forward, varargs="num_args", aliases=("ElementWiseSum",),
               inplace=((0, 0),), doc="Sum of any number of arrays of the same shape."))
register(OpDef("_grad_add", inputs=("lhs", "rhs"), forward=_binary_forward(_ufunc("add")),
               inplace=((0, 0), (1, 0)), doc="Gradient accumulation: lhs + rhs."))


# --------------------------------------------------------------------------- unary
def _round_away(xp: Any, x: Any) -> Any:
    # half away from zero; x - trunc(x) is exact, unlike floor(|x| + 0.5), which rounds
    # 0.49999997 up and misses odd integers above 2**23
    t = xp.trunc(x)
    return t + xp.sign(x) * (xp.abs(x - t) >= 0.5)


def _rint_down(xp: Any, x: Any) -> Any:
    # MXNet's rint sends exact halves down (2.5 -> 2, -2.5 -> -3); everything else rounds
    # to nearest. 2x and 2f+1 are exact, so the half test cannot be fooled by rounding.
    f = xp.floor(x)
    return xp.where(2 * x == 2 * f + 1, f, xp.rint(x))


def _sigmoid(xp: Any, x: Any) -> Any:
    return 1.0 / (1.0 + xp.exp(-x))


_UNARY: dict = {
    # name: (function of (xp, x), aliases)
    "abs": (lambda xp, x: xp.abs(x), ()),
    "negative": (lambda xp, x: xp.negative(x), ()),
    "square": (lambda xp, x: xp.square(x), ()),
    "sqrt": (lambda xp, x: xp.sqrt(x), ()),
    "rsqrt": (lambda xp, x: 1.0 / xp.sqrt(x), ()),
    "cbrt": (lambda xp, x: xp.cbrt(x), ()),
    "rcbrt": (lambda xp, x: 1.0 / xp.cbrt(x), ()),
    "exp": (lambda xp, x: xp.exp(x), ()),
    "expm1": (lambda xp, x: xp.expm1(x), ()),
    "log": (lambda xp, x: xp.log(x), ()),
    "log10": (lambda xp, x: xp.log10(x), ()),
    "log2": (lambda xp, x: xp.log2(x), ()),
    "log1p": (lambda xp, x: xp.log1p(x), ()),
    "reciprocal": (lambda xp, x: 1.0 / x, ()),
    "sin": (lambda xp, x: xp.sin(x), ()),
    "cos": (lambda xp, x: xp.cos(x), ()),
    "tan": (lambda xp, x: xp.tan(x), ()),
    "arcsin": (lambda xp, x: xp.arcsin(x), ()),
    "arccos": (lambda xp, x: xp.arccos(x), ()),
    "arctan": (lambda xp, x: xp.arctan(x), ()),
    "sinh": (lambda xp, x: xp.sinh(x), ()),
    "cosh": (lambda xp, x: xp.cosh(x), ()),
    "tanh": (lambda xp, x: xp.tanh(x), ()),
    "arcsinh": (lambda xp, x: xp.arcsinh(x), ()),
    "arccosh": (lambda xp, x: xp.arccosh(x), ()),
    "arctanh": (lambda xp, x: xp.arctanh(x), ()),
    "degrees": (lambda xp, x: xp.degrees(x), ()),
    "radians": (lambda xp, x: xp.radians(x), ()),
    "sign": (lambda xp, x: xp.sign(x), ()),
    "floor": (lambda xp, x: xp.floor(x), ()),
    "ceil": (lambda xp, x: xp.ceil(x), ()),
    "round": (_round_away, ()),
    "rint": (_rint_down, ()),
    "trunc": (lambda xp, x: xp.trunc(x), ()),
    "fix": (lambda xp, x: xp.trunc(x), ()),
    "relu": (lambda xp, x: xp.maximum(x, 0), ()),
    "sigmoid": (_sigmoid, ()),
    "softsign": (lambda xp, x: x / (1 + xp.abs(x)), ()),
    "logical_not": (lambda xp, x: x == 0, ()),
    "_copy": (lambda xp, x: x, ("identity",)),
    "BlockGrad": (lambda xp, x: x, ("stop_gradient",)),
    "make_loss": (lambda xp, x: x, ()),
    "zeros_like": (lambda xp, x: 0, ()),
    "ones_like": (lambda xp, x: 1, ()),
}
_INTEGER_SAFE = {"abs", "negative", "square", "sign", "relu", "logical_not", "_copy",
                 "BlockGrad", "make_loss", "zeros_like", "ones_like", "floor", "ceil",
                 "round", "rint", "trunc", "fix"}


def _unary_forward(fn: Callable, name: str) -> Callable:
    # MXNet's math functions run in float32 for every dtype but float64, and the result
    # is cast back to the input dtype
    float_input = name not in _INTEGER_SAFE

    def fwd(oc: Any, ins: list, outs: list, p: Any) -> None:
        x = ins[0]
        if float_input and x.dtype.kind not in "fc":
            x = oc.xp.asarray(x, dtype=np.float32)
        outs[0][...] = fn(oc.xp, x)
    return fwd


for _name, (_fn, _aliases) in _UNARY.items():
    register(OpDef(_name, forward=_unary_forward(_fn, _name), aliases=_aliases,
                   inplace=((0, 0),), doc="Element-wise %s." % _name,
                   output_names=("loss",) if _name == "make_loss" else None))


def _hard_sigmoid_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    xp.clip(ins[0] * p.alpha + p.beta, 0, 1, out=outs[0], casting="unsafe")


register(OpDef("hard_sigmoid", params=[Param("alpha", Float(), 0.2), Param("beta", Float(), 0.5)],
               forward=_hard_sigmoid_forward, inplace=((0, 0),),
               doc="clip(alpha * x + beta, 0, 1)."))


def _smooth_l1_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp, x = oc.xp, ins[0]
    s2 = p.scalar * p.scalar
    ax = xp.abs(x)
    outs[0][...] = xp.where(ax < 1.0 / s2, 0.5 * s2 * x * x, ax - 0.5 / s2)


register(OpDef("smooth_l1", params=[Param("scalar", Float(), REQUIRED, "sigma")],
               forward=_smooth_l1_forward, doc="Smooth L1: 0.5(sx)^2 if |x| < 1/s^2 else |x| - 0.5/s^2."))


def _clip_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    x = ins[0]
    lo, hi = x.dtype.type(p.a_min), x.dtype.type(p.a_max)
    oc.xp.minimum(oc.xp.maximum(x, lo), hi, out=outs[0])


register(OpDef("clip", params=[Param("a_min", Float(), REQUIRED, "lower bound"),
                               Param("a_max", Float(), REQUIRED, "upper bound")],
               forward=_clip_forward, inplace=((0, 0),),
               doc="Clip values to [a_min, a_max]."))


# --------------------------------------------------------------------------- Cast
def _cast_type(p: Any, dtypes: list):
    return dtypes, [p.dtype]


def _bf16_bits(xp: Any, x: Any) -> Any:
    """float -> bfloat16 bit patterns, rounding to nearest even (NaN stays NaN)."""
    u = xp.asarray(x, dtype=np.float32).view(np.uint32)
    rounded = (u + (0x7FFF + ((u >> 16) & 1))) >> 16
    return xp.where(xp.isnan(xp.asarray(x, dtype=np.float32)), 0x7FC0, rounded).astype(np.uint16)


def _bf16_values(xp: Any, bits: Any) -> Any:
    return (bits.astype(np.uint32) << 16).view(np.float32)


def _cast_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    x, o = ins[0], outs[0]
    # without ml_dtypes, bfloat16 is MXNet's structured uint16 container: convert bits
    if o.dtype.names is not None:
        src = _bf16_values(oc.xp, x.view(np.uint16)) if x.dtype.names is not None else x
        o.view(np.uint16)[...] = _bf16_bits(oc.xp, src)
    elif x.dtype.names is not None:
        o[...] = _bf16_values(oc.xp, x.view(np.uint16))
    elif o.dtype.kind in "iu" and x.dtype.kind == "f":
        # float -> int truncates toward zero; out-of-range and NaN values are undefined in
        # MXNet, here they saturate quietly instead of warning
        with np.errstate(all="ignore"):
            o[...] = oc.xp.trunc(x)
    else:
        o[...] = x


register(OpDef("Cast", aliases=("cast",),
               params=[Param("dtype", DType(choices=("bfloat16", "bool", "float16", "float32",
                                                      "float64", "int32", "int64", "int8",
                                                      "uint8")), REQUIRED, "target dtype")],
               forward=_cast_forward, infer_type=_cast_type,
               doc="Convert to ``dtype``; float to integer truncates toward zero."))
