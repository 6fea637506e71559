"""Element-wise operators: unary math, same-shape binary (``elemwise_*``, what Symbol
arithmetic emits), broadcast binary (what NDArray arithmetic emits), scalar variants,
comparisons (0/1 in the input dtype), ``clip``, ``Cast`` and the identity-like ops.

Integer arrays follow MXNet's C semantics: scalars are cast to the array dtype first,
division truncates toward zero, and ``%`` takes the sign of the divisor.

``erf``, ``erfinv``, ``gamma`` and ``gammaln`` are computed in float64 from series,
continued fractions and Lanczos sums (NumPy has no special functions; SciPy is not used).

Gradients follow MXNet: rounding, sign, comparisons, logical ops, ``BlockGrad``,
``zeros_like``/``ones_like`` have zero gradient; ``make_loss`` emits ones (head ignored);
``maximum``/``minimum`` send ties to lhs; ``clip`` passes inside [a_min, a_max] (bounds
inclusive); ``Cast`` casts the gradient back to the input dtype; ``mod`` gives lhs 1 and
rhs -floor(a/b). Unary ops use fused ``_backward_<op>(ograd, x or y)`` kernels, themselves
differentiable through ``_backward2_<op>`` (second order); add/sub/mul compose
differentiable ops; div/power/hypot/maximum/minimum/mod use one fused
``_backward_broadcast_<op>`` kernel returning both gradients summed to the input shapes.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..base import MXNetError
from .gradient import GradBuilder, identity_grad, sum_to_shape, unary_grad, zero_grad
from .params import REQUIRED, Bool, DType, Float, Int, Param
from .registry import OpDef, get, register, shape_str

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


# =========================================================================== special
# functions (erf, erfinv, gamma, gammaln): NumPy has none and SciPy is not allowed, so they
# are computed in float64 from series / continued fractions / Lanczos sums with a fixed
# number of vectorised terms, accurate to ~1e-15 relative on the ranges that matter.
_SQRT_PI = 1.7724538509055160273
_LANCZOS = (0.99999999999980993, 676.5203681218851, -1259.1392167224028,
            771.32342877765313, -176.61502916214059, 12.507343278686905,
            -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7)


def _f64(xp: Any, x: Any) -> Any:
    return xp.asarray(x, dtype=np.float64)


def erf(xp: Any, x: Any) -> Any:
    """Error function in float64: for |x| < 2.5 the all-positive series
    ``2/sqrt(pi) exp(-x^2) sum (2x^2)^n x / (2n+1)!!`` (no cancellation), beyond it
    ``1 - erfc`` with erfc from its continued fraction (evaluated bottom-up)."""
    x = _f64(xp, x)
    a = xp.abs(x)
    small = a < 2.5
    s = xp.where(small, a, 0.0)
    z2 = 2.0 * s * s
    term = s.copy()
    acc = s.copy()
    for n in range(1, 64):
        term = term * z2 / (2 * n + 1)
        acc = acc + term
    series = (2.0 / _SQRT_PI) * xp.exp(-s * s) * acc
    b = xp.where(small, 2.5, a)
    f = b
    for k in range(60, 0, -1):
        f = b + (0.5 * k) / f
    tail = 1.0 - xp.exp(-b * b) / (_SQRT_PI * f)
    return xp.copysign(xp.where(small, series, tail), x)


def erfinv(xp: Any, y: Any) -> Any:
    """Inverse error function: Winitzki's closed-form estimate refined by three Halley steps
    on :func:`erf`; +-1 give +-inf and |y| > 1 NaN."""
    y = _f64(xp, y)
    w = xp.log((1.0 - y) * (1.0 + y))
    a = 0.147
    t = 2.0 / (np.pi * a) + 0.5 * w
    x = xp.copysign(xp.sqrt(xp.sqrt(t * t - w / a) - t), y)
    inside = xp.abs(y) < 1.0
    x = xp.where(inside, x, 0.0)
    for _ in range(3):
        u = (erf(xp, x) - y) / ((2.0 / _SQRT_PI) * xp.exp(-x * x))
        x = x - u / (1.0 + x * u)
    x = xp.where(xp.abs(y) == 1.0, xp.copysign(np.inf, y), x)
    return xp.where(inside | (xp.abs(y) == 1.0), x, np.nan)


def _sinpi_abs(xp: Any, x: Any) -> Any:
    # |sin(pi x)| from the exact fractional part, so large |x| keeps its precision
    return xp.sin(np.pi * (x - xp.floor(x)))


def gammaln(xp: Any, x: Any) -> Any:
    """``log|Gamma(x)|`` in float64 (Lanczos, g=7, for x >= 0.5; reflection below); +inf
    at the poles 0, -1, -2, ..."""
    x = _f64(xp, x)
    refl = x < 0.5
    z = xp.where(refl, 1.0 - x, x) - 1.0
    acc = xp.full(z.shape, _LANCZOS[0])
    for i in range(1, 9):
        acc = acc + _LANCZOS[i] / (z + i)
    t = z + 7.5
    lg = 0.5 * np.log(2 * np.pi) + (z + 0.5) * xp.log(t) - t + xp.log(acc)
    return xp.where(refl, np.log(np.pi) - xp.log(_sinpi_abs(xp, x)) - lg, lg)


def gamma(xp: Any, x: Any) -> Any:
    """``Gamma(x)`` in float64: ``exp(gammaln)`` with the sign of the interval (negative on
    (-1, 0), (-3, -2), ...); +-inf at +-0, NaN at the negative integers."""
    x = _f64(xp, x)
    mag = xp.exp(gammaln(xp, x))
    neg_odd = (x < 0) & (xp.mod(xp.floor(x), 2) != 0)
    r = xp.where(neg_odd, -mag, mag)
    r = xp.where((x < 0) & (x == xp.floor(x)), np.nan, r)
    return xp.where(x == 0, xp.copysign(np.inf, x), r)


def _reflect_and_recur(xp: Any, x: Any, term: Any) -> tuple:
    """The shared start of the polygamma series: ``x`` in float64, the mask of ``x < 0.5``
    (to be reflected), ``z`` (``1 - x`` there, else ``x``) raised past 10 in ten fixed
    masked unit steps, and the sum of ``term(z)`` over the steps taken."""
    x = _f64(xp, x)
    refl = x < 0.5
    z = xp.where(refl, 1.0 - x, x)
    acc = xp.zeros(z.shape)
    for _ in range(10):
        low = z < 10.0
        acc = acc + xp.where(low, term(z), 0.0)
        z = xp.where(low, z + 1.0, z)
    return x, refl, z, acc


def digamma(xp: Any, x: Any) -> Any:
    """``psi(x) = d/dx log Gamma(x)`` in float64: reflection below 0.5, the recurrence
    ``psi(x) = psi(x+1) - 1/x`` up to 10 (ten fixed masked steps), then the asymptotic
    series; poles give NaN or inf."""
    x, refl, z, acc = _reflect_and_recur(xp, x, lambda z: -1.0 / z)
    inv2 = 1.0 / (z * z)
    psi = xp.log(z) - 0.5 / z - inv2 * (1.0 / 12 - inv2 * (1.0 / 120 - inv2 * (
        1.0 / 252 - inv2 * (1.0 / 240 - inv2 / 132)))) + acc
    cot = 1.0 / xp.tan(np.pi * (x - xp.floor(x)))
    return xp.where(refl, psi - np.pi * cot, psi)


def trigamma(xp: Any, x: Any) -> Any:
    """``psi'(x)`` in float64: reflection ``psi'(1-x) + psi'(x) = pi^2 / sin^2(pi x)`` below
    0.5, the recurrence ``psi'(x) = psi'(x+1) + 1/x^2`` up to 10, then the asymptotic
    series."""
    x, refl, z, acc = _reflect_and_recur(xp, x, lambda z: 1.0 / (z * z))
    inv = 1.0 / z
    inv2 = inv * inv
    t = inv + 0.5 * inv2 + inv * inv2 * (1.0 / 6 - inv2 * (1.0 / 30 - inv2 * (
        1.0 / 42 - inv2 * (1.0 / 30 - inv2 * 5.0 / 66)))) + acc
    return xp.where(refl, (np.pi / _sinpi_abs(xp, x)) ** 2 - t, t)


for _name, _fn in (("erf", erf), ("erfinv", erfinv), ("gamma", gamma), ("gammaln", gammaln)):
    register(OpDef(_name, forward=_unary_forward(_fn, _name), inplace=((0, 0),),
                   doc="Element-wise %s (computed in float64, returned in the input dtype)."
                       % _name))


# =========================================================================== gradients
# Every unary op gets a fused ``_backward_<op>(ograd, x_or_y)`` kernel computing
# ``ograd * f'`` in one pass. Where f' is cheaper from the output (exp, sigmoid, tanh,
# sqrt ...) the kernel reads the output instead of the input, so the input may be freed.
# float16 is differentiated in float32; the result takes the head gradient's dtype.
_LN10 = np.log(10.0)
_LN2 = np.log(2.0)

# name: (f'(xp, v), d f'/dv (xp, v) or _ZERO, v is the op's "input" or "output"). The
# second column gives the backward kernels their own gradient (``_backward2_<op>``), so
# ``autograd.grad(create_graph=True)`` reaches second order through every unary op.
_ZERO = "zero"
_C_ERF = 2.0 / _SQRT_PI
_UNARY_DERIV: dict = {
    "abs": (lambda xp, x: xp.sign(x), _ZERO, "input"),
    "square": (lambda xp, x: 2 * x, lambda xp, x: 2 + 0 * x, "input"),
    "sqrt": (lambda xp, y: 0.5 / y, lambda xp, y: -0.5 / (y * y), "output"),
    "rsqrt": (lambda xp, y: -0.5 * y * y * y, lambda xp, y: -1.5 * y * y, "output"),
    "cbrt": (lambda xp, y: 1.0 / (3 * y * y), lambda xp, y: -2.0 / (3 * y * y * y), "output"),
    "rcbrt": (lambda xp, y: (-1.0 / 3) * xp.square(y * y), lambda xp, y: (-4.0 / 3) * y * y * y,
              "output"),
    "exp": (lambda xp, y: y, lambda xp, y: 1 + 0 * y, "output"),
    "expm1": (lambda xp, y: y + 1, lambda xp, y: 1 + 0 * y, "output"),
    "log": (lambda xp, x: 1.0 / x, lambda xp, x: -1.0 / (x * x), "input"),
    "log10": (lambda xp, x: 1.0 / (x * _LN10), lambda xp, x: -1.0 / (x * x * _LN10), "input"),
    "log2": (lambda xp, x: 1.0 / (x * _LN2), lambda xp, x: -1.0 / (x * x * _LN2), "input"),
    "log1p": (lambda xp, x: 1.0 / (1 + x), lambda xp, x: -1.0 / xp.square(1 + x), "input"),
    "reciprocal": (lambda xp, y: -(y * y), lambda xp, y: -2 * y, "output"),
    "sin": (lambda xp, x: xp.cos(x), lambda xp, x: -xp.sin(x), "input"),
    "cos": (lambda xp, x: -xp.sin(x), lambda xp, x: -xp.cos(x), "input"),
    "tan": (lambda xp, y: 1 + y * y, lambda xp, y: 2 * y, "output"),
    "arcsin": (lambda xp, x: 1.0 / xp.sqrt(1 - x * x), lambda xp, x: x * (1 - x * x) ** -1.5,
               "input"),
    "arccos": (lambda xp, x: -1.0 / xp.sqrt(1 - x * x), lambda xp, x: -x * (1 - x * x) ** -1.5,
               "input"),
    "arctan": (lambda xp, x: 1.0 / (1 + x * x), lambda xp, x: -2 * x / xp.square(1 + x * x),
               "input"),
    "sinh": (lambda xp, x: xp.cosh(x), lambda xp, x: xp.sinh(x), "input"),
    "cosh": (lambda xp, x: xp.sinh(x), lambda xp, x: xp.cosh(x), "input"),
    "tanh": (lambda xp, y: 1 - y * y, lambda xp, y: -2 * y, "output"),
    "arcsinh": (lambda xp, x: 1.0 / xp.sqrt(x * x + 1), lambda xp, x: -x * (x * x + 1) ** -1.5,
                "input"),
    "arccosh": (lambda xp, x: 1.0 / xp.sqrt(x * x - 1), lambda xp, x: -x * (x * x - 1) ** -1.5,
                "input"),
    "arctanh": (lambda xp, x: 1.0 / (1 - x * x), lambda xp, x: 2 * x / xp.square(1 - x * x),
                "input"),
    "relu": (lambda xp, y: y > 0, _ZERO, "output"),
    "sigmoid": (lambda xp, y: y * (1 - y), lambda xp, y: 1 - 2 * y, "output"),
    "softsign": (lambda xp, x: 1.0 / xp.square(1 + xp.abs(x)),
                 lambda xp, x: -2 * xp.sign(x) / (1 + xp.abs(x)) ** 3, "input"),
    "erf": (lambda xp, x: _C_ERF * xp.exp(-x * x), lambda xp, x: -2 * _C_ERF * x * xp.exp(-x * x),
            "input"),
    "erfinv": (lambda xp, y: (0.5 * _SQRT_PI) * xp.exp(y * y),
               lambda xp, y: _SQRT_PI * y * xp.exp(y * y), "output"),
    "gamma": (lambda xp, x: gamma(xp, x) * digamma(xp, x),
              lambda xp, x: gamma(xp, x) * (xp.square(digamma(xp, x)) + trigamma(xp, x)),
              "input"),
    "gammaln": (lambda xp, x: digamma(xp, x), lambda xp, x: trigamma(xp, x), "input"),
}
# MXNet gives these a zero gradient (piecewise constant or not meant to be differentiated)
_UNARY_ZERO = ("sign", "floor", "ceil", "round", "rint", "trunc", "fix", "logical_not",
               "BlockGrad", "zeros_like", "ones_like")


def _wide(xp: Any, v: Any) -> Any:
    """float16 (and integer) operands of a backward kernel are computed in float32."""
    if v.dtype == np.float16 or v.dtype.kind not in "fc":
        return xp.asarray(v, dtype=np.float32)
    return v


def _unary_backward_forward(deriv: Callable) -> Callable:
    def fwd(oc: Any, ins: list, outs: list, p: Any) -> None:
        xp = oc.xp
        g, v = ins
        xp.multiply(_wide(xp, g), deriv(xp, _wide(xp, v)), out=outs[0], casting="unsafe")
    return fwd


def _grad_pair_type(p: Any, dtypes: list):
    # the gradient takes the head gradient's dtype; the second operand may differ (a
    # float16 head with a float32 saved value is fine)
    return dtypes, [dtypes[0]]


def _unary_back_rule(name: str, zero_second: bool) -> Callable:
    """Gradient of ``_backward_<name>(g, v) = g * f'(v)``: ``f'(v)`` times the head for g,
    and ``head * g * f''(v)`` (through ``_backward2_<name>``) for v."""
    bname, b2name = "_backward_" + name, "_backward2_" + name

    def rule(F, p, ins, outs, ograds):
        g, v = ins
        h = ograds[0]
        dv = None if zero_second else F.call(b2name, [F.elemwise_mul(h, g), v])
        return [F.call(bname, [h, v]), dv]
    rule.__name__ = "second_order_" + name
    return rule


for _name, (_d, _d2, _use) in _UNARY_DERIV.items():
    _vname = "data" if _use == "input" else "output"
    _zero2 = _d2 is _ZERO
    register(OpDef("_backward_" + _name, inputs=("ograd", _vname),
                   forward=_unary_backward_forward(_d), infer_type=_grad_pair_type,
                   gradient=_unary_back_rule(_name, _zero2),
                   keep_inputs=(1,) if _zero2 else True, keep_outputs=False,
                   doc="Backward of %s: ograd * %s'(%s)." % (_name, _name,
                                                            "x" if _use == "input" else "y")))
    if not _zero2:
        register(OpDef("_backward2_" + _name, inputs=("ograd", _vname),
                       forward=_unary_backward_forward(_d2), infer_type=_grad_pair_type,
                       doc="Second derivative of %s: ograd * %s''(%s) (not differentiable "
                           "further)." % (_name, _name, "x" if _use == "input" else "y")))
    get(_name).gradient = unary_grad("_backward_" + _name, _use)
    get(_name).keep_inputs, get(_name).keep_outputs = _use == "input", _use == "output"


def _set_grad(name: str, rule: Callable, keep_inputs: Any = False, keep_outputs: Any = False) -> None:
    """Attach a gradient rule (and what it reads) to an op registered above."""
    op = get(name)
    op.gradient = rule
    op.keep_inputs = keep_inputs
    op.keep_outputs = keep_outputs


def _negate_rule(F: GradBuilder, p: Any, ins: list, outs: list, ograds: list) -> list:
    return [F.negative(ograds[0])]


def _scale_rule(factor: float) -> Callable:
    def rule(F, p, ins, outs, ograds):
        return [F.call("_mul_scalar", [ograds[0]], scalar=factor)]
    return rule


def _ones_rule(F: GradBuilder, p: Any, ins: list, outs: list, ograds: list) -> list:
    # make_loss is a loss head: its input gradient is ones whatever flows into it
    return [F.ones_like(ograds[0])]


for _name in _UNARY_ZERO:
    _set_grad(_name, zero_grad)
_set_grad("negative", _negate_rule)
_set_grad("degrees", _scale_rule(180.0 / np.pi))
_set_grad("radians", _scale_rule(np.pi / 180.0))
_set_grad("_copy", identity_grad)
_set_grad("make_loss", _ones_rule)


# --------------------------------------------------------------------------- binary
def _same_rule(key: str) -> Callable:
    """Rules of the same-shape ``elemwise_*`` ops: add/sub/mul compose differentiable ops
    (so they also give higher-order gradients); the others call the fused kernel."""
    if key == "add":
        return lambda F, p, ins, outs, og: [og[0], og[0]]
    if key == "sub":
        return lambda F, p, ins, outs, og: [og[0], F.negative(og[0])]
    if key == "mul":
        return lambda F, p, ins, outs, og: [F.elemwise_mul(og[0], ins[1]),
                                            F.elemwise_mul(og[0], ins[0])]
    return _fused_binary_rule(key)


def _bcast_rule(key: str) -> Callable:
    """Rules of the ``broadcast_*`` ops: each side's gradient is summed back to its shape
    (``_reduce_sum_like``) after the element-wise partial."""
    if key == "add":
        return lambda F, p, ins, outs, og: [F._reduce_sum_like(og[0], ins[0]),
                                            F._reduce_sum_like(og[0], ins[1])]
    if key == "sub":
        return lambda F, p, ins, outs, og: [F._reduce_sum_like(og[0], ins[0]),
                                            F.negative(F._reduce_sum_like(og[0], ins[1]))]
    if key == "mul":
        return lambda F, p, ins, outs, og: [
            F._reduce_sum_like(F.broadcast_mul(og[0], ins[1]), ins[0]),
            F._reduce_sum_like(F.broadcast_mul(og[0], ins[0]), ins[1])]
    return _fused_binary_rule(key)


def _fused_binary_rule(key: str) -> Callable:
    name = "_backward_broadcast_" + key

    def rule(F, p, ins, outs, ograds):
        return list(F.call(name, [ograds[0], ins[0], ins[1]]))
    rule.__name__ = "grad_via_" + name
    return rule


def _pow_lhs(xp: Any, a: Any, b: Any) -> Any:
    return b * xp.power(a, b - 1)


# key: partials (xp, g, a, b) -> (d lhs, d rhs), both of the broadcast shape
_BINARY_PARTIALS: dict = {
    "div": lambda xp, g, a, b: (g / b, -g * a / (b * b)),
    "power": lambda xp, g, a, b: (g * _pow_lhs(xp, a, b), g * xp.power(a, b) * xp.log(a)),
    "hypot": lambda xp, g, a, b: (lambda r: (g * a / r, g * b / r))(xp.hypot(a, b)),
    # ties send the gradient to lhs, as MXNet's ge / lt (le / gt) masks do
    "maximum": lambda xp, g, a, b: (g * (a >= b), g * (a < b)),
    "minimum": lambda xp, g, a, b: (g * (a <= b), g * (a > b)),
    "mod": lambda xp, g, a, b: (g * xp.ones_like(b), -g * xp.floor(a / b)),
}


def _bwd_binary_shape(p: Any, shapes: list):
    g, a, b = shapes
    if g is not None and a is not None and b is not None and broadcast_shape(a, b) != tuple(g):
        raise MXNetError("ograd of shape %s does not match the broadcast of lhs %s and rhs %s"
                         % (shape_str(g), shape_str(a), shape_str(b)))
    return shapes, [a, b]


def _bwd_binary_type(p: Any, dtypes: list):
    return dtypes, [dtypes[1] or dtypes[0], dtypes[2] or dtypes[0]]


def _bwd_binary_forward(partials: Callable) -> Callable:
    def fwd(oc: Any, ins: list, outs: list, p: Any) -> None:
        xp = oc.xp
        g, a, b = (_wide(xp, v) for v in ins)
        da, db = partials(xp, g, a, b)
        sum_to_shape(xp, xp.broadcast_to(da, g.shape), outs[0].shape, outs[0])
        sum_to_shape(xp, xp.broadcast_to(db, g.shape), outs[1].shape, outs[1])
    return fwd


for _key, _partials in _BINARY_PARTIALS.items():
    register(OpDef("_backward_broadcast_" + _key, inputs=("ograd", "lhs", "rhs"),
                   forward=_bwd_binary_forward(_partials), infer_shape=_bwd_binary_shape,
                   infer_type=_bwd_binary_type, num_outputs=2,
                   output_names=("lhs_grad", "rhs_grad"),
                   doc="Backward of %s (same-shape or broadcast): the gradients of lhs and "
                       "rhs, each summed back to its shape." % _key))

_ZERO_KEYS = ("equal", "not_equal", "greater", "greater_equal", "lesser", "lesser_equal",
              "logical_and", "logical_or", "logical_xor")
for _key, (_k, _ew, _ew_alias, _sc, _sc_alias, _rsc, _rsc_alias) in _BINARY.items():
    if _key in _ZERO_KEYS:
        for _n in (_ew, "broadcast_" + _key, _sc):
            _set_grad(_n, zero_grad)
        continue
    _linear = _key in ("add", "sub")
    _set_grad(_ew, _same_rule(_key), keep_inputs=not _linear)
    _set_grad("broadcast_" + _key, _bcast_rule(_key), keep_inputs=True)


# --------------------------------------------------------------------------- scalar
def _scalar_of(v: Any, s: float) -> Any:
    return v.dtype.type(s)


# name: (fused partial(xp, v, s) or None, v is "input"/"output"); None entries use rules
_SCALAR_DERIV: dict = {
    "_rdiv_scalar": (lambda xp, x, s: -s / (x * x), "input"),
    "_power_scalar": (lambda xp, x, s: s * xp.power(x, _scalar_of(x, s - 1)), "input"),
    "_rpower_scalar": (lambda xp, y, s: y * np.log(s), "output"),
    "_maximum_scalar": (lambda xp, x, s: x >= _scalar_of(x, s), "input"),
    "_minimum_scalar": (lambda xp, x, s: x <= _scalar_of(x, s), "input"),
    "_rmod_scalar": (lambda xp, x, s: -xp.floor(s / x), "input"),
    "_hypot_scalar": (lambda xp, x, s: x / xp.hypot(x, _scalar_of(x, s)), "input"),
}


def _scalar_backward_forward(deriv: Callable) -> Callable:
    def fwd(oc: Any, ins: list, outs: list, p: Any) -> None:
        xp = oc.xp
        g, v = ins
        xp.multiply(_wide(xp, g), deriv(xp, _wide(xp, v), p.scalar), out=outs[0],
                    casting="unsafe")
    return fwd


def _scalar_rule(bname: str, use: str) -> Callable:
    """``[bname(ograd, x or y)]`` called with the forward's parsed params (the scalar)."""
    if use == "input":
        def rule(F, p, ins, outs, ograds):
            return [F.call(bname, [ograds[0], ins[0]], p)]
    else:
        def rule(F, p, ins, outs, ograds):
            return [F.call(bname, [ograds[0], outs[0]], p)]
    rule.__name__ = "grad_via_" + bname
    return rule


for _name, (_d, _use) in _SCALAR_DERIV.items():
    register(OpDef("_backward" + _name, inputs=("ograd", "data" if _use == "input" else "output"),
                   params=_SCALAR_PARAMS, forward=_scalar_backward_forward(_d),
                   infer_type=_grad_pair_type, inplace=((0, 0),),
                   doc="Backward of %s (same scalar parameter)." % _name))
    _set_grad(_name, _scalar_rule("_backward" + _name, _use), keep_inputs=_use == "input",
              keep_outputs=_use == "output")


def _same_params_rule(name: str) -> Callable:
    def rule(F, p, ins, outs, ograds):
        return [F.call(name, [ograds[0]], p)]
    return rule


_set_grad("_plus_scalar", identity_grad)
_set_grad("_minus_scalar", identity_grad)
_set_grad("_mod_scalar", identity_grad)
_set_grad("_rminus_scalar", _negate_rule)
_set_grad("_mul_scalar", _same_params_rule("_mul_scalar"))
_set_grad("_div_scalar", _same_params_rule("_div_scalar"))


# --------------------------------------------------------------------------- the rest
def _add_n_grad(F: GradBuilder, p: Any, ins: list, outs: list, ograds: list) -> list:
    return [ograds[0]] * len(ins)


_set_grad("add_n", _add_n_grad)
_set_grad("_grad_add", lambda F, p, ins, outs, og: [og[0], og[0]])


def _params_backward(name: str, deriv: Callable, params: list, doc: str) -> Callable:
    """Register ``_backward_<name>(ograd, data)`` with the forward op's ``params`` computing
    ``ograd * deriv(xp, x, p)``; return the rule that calls it."""
    def fwd(oc: Any, ins: list, outs: list, p: Any) -> None:
        xp = oc.xp
        xp.multiply(_wide(xp, ins[0]), deriv(xp, _wide(xp, ins[1]), p), out=outs[0],
                    casting="unsafe")
    bname = "_backward_" + name
    register(OpDef(bname, inputs=("ograd", "data"), params=params, forward=fwd,
                   infer_type=_grad_pair_type, inplace=((0, 0),), doc=doc))

    def rule(F, p, ins, outs, ograds):
        return [F.call(bname, [ograds[0], ins[0]], p)]
    rule.__name__ = "grad_via_" + bname
    return rule


_set_grad("clip", _params_backward(
    "clip", lambda xp, x, p: (x >= p.a_min) & (x <= p.a_max), get("clip").params,
    "Backward of clip: ograd where a_min <= x <= a_max (bounds inclusive), else 0."),
    keep_inputs=True)
_set_grad("smooth_l1", _params_backward(
    "smooth_l1", lambda xp, x, p: xp.where(xp.abs(x) < 1.0 / (p.scalar * p.scalar),
                                           (p.scalar * p.scalar) * x, xp.sign(x)),
    get("smooth_l1").params, "Backward of smooth_l1: s^2 x inside |x| < 1/s^2, sign(x) "
                             "outside."), keep_inputs=True)
_set_grad("hard_sigmoid", _params_backward(
    "hard_sigmoid", lambda xp, x, p: xp.where(
        (x * p.alpha + p.beta > 0) & (x * p.alpha + p.beta < 1), p.alpha, 0.0),
    get("hard_sigmoid").params, "Backward of hard_sigmoid: alpha on the linear part."),
    keep_inputs=True)


def _cast_back_type(p: Any, dtypes: list):
    return dtypes, [dtypes[1]]


def _cast_back_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    _cast_forward(oc, [ins[0]], outs, p)


register(OpDef("_backward_Cast", inputs=("ograd", "data"), forward=_cast_back_forward,
               infer_type=_cast_back_type,
               doc="Backward of Cast: the head gradient converted back to the input dtype "
                   "(``data`` is read for its dtype only)."))
_set_grad("Cast", lambda F, p, ins, outs, og: [F._backward_Cast(og[0], ins[0])],
          keep_inputs=True)
