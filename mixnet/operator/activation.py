"""Activations and softmax-like ops: ``Activation``, ``LeakyReLU``, ``softmax``,
``log_softmax``, ``softmin``, ``SoftmaxActivation`` and ``Dropout``, each with a fused
``_backward_<Op>`` kernel.

MXNet 1.9 conventions kept:

* ``Activation`` act_type relu, sigmoid, tanh, softrelu (``log(1 + exp(x))``) and softsign
  (``x / (1 + |x|)``); every derivative is computed from the output alone (softrelu:
  ``1 - exp(-y)``, softsign: ``(1 - |y|)^2``), so backward keeps only the output.
* ``LeakyReLU``: leaky (``slope * x`` for x < 0), elu (``slope * (exp(x) - 1)``), selu
  (lambda 1.0507009873554805, alpha 1.6732632423543772), gelu in the exact erf form
  ``0.5 x (1 + erf(x / sqrt 2))``, prelu (a learnable ``gamma`` input of shape (C,) on axis
  1, or (1,), which exists only for prelu) and rrelu: a slope drawn per element from
  U(lower_bound, upper_bound) in training, ``(lower + upper) / 2`` otherwise. rrelu has a
  second visible output ``mask`` holding the training slopes (MXNet 1.9.1 returns two
  outputs). In inference MXNet leaves the mask unwritten and its backward scales the
  negative side by what it finds there, which the 1.9.1 fixture shows to be the output
  values; the mask holds the output in inference for parity.
* A second MXNet 1.9.1 gradient quirk is kept because its fixture shows it: selu's
  negative side is ``lambda * (alpha + y)`` (y the output) rather than the derivative
  ``y + lambda * alpha``. Apart from these two, every gradient is the true derivative.
* NumPy has no ``erf``, so gelu uses a rational Chebyshev approximation of erfc with
  relative error below 1.2e-7 (exact to float32 precision).
* ``softmax``/``log_softmax``/``softmin`` along ``axis`` (-1), logits divided by
  ``temperature``; ``dtype`` sets the output (and accumulation) dtype; ``use_length`` adds
  a ``length`` input (data's shape without ``axis``) and positions at or beyond the length
  output 0. float16 is computed in float32.
* ``SoftmaxActivation`` (legacy): mode instance = softmax over the flattened non-batch
  axes, channel = softmax over axis 1.
* ``Dropout``: inverted dropout, keep with probability 1 - p and scale by 1/(1 - p);
  active only in training (``mode='training'``) or always (``mode='always'``); ``axes``
  shares one mask draw along those axes; p = 0 or inactive is the identity. A hidden
  second output holds the scaled mask, which backward multiplies into the head gradient.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..base import MXNetError, dtype_name
from .params import Bool, DType, Float, Int, Optional_, Param, Shape, Str
from .registry import OpDef, register, shape_str

_F16 = np.dtype(np.float16)
_F32 = np.dtype(np.float32)
_SELU_LAMBDA = 1.0507009873554805
_SELU_ALPHA = 1.6732632423543772
_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _require_float(dt: Any, name: str) -> None:
    if dt is not None and np.dtype(dt).kind != "f":
        raise MXNetError("%s must be a floating point array, got %s" % (name, dtype_name(dt)))


def _float_same_type(p: Any, dtypes: list):
    """All inputs and outputs share one floating point dtype."""
    known = None
    for i, d in enumerate(dtypes):
        if d is not None:
            _require_float(d, "input %d" % i)
            if known is None:
                known = d
            elif np.dtype(d) != np.dtype(known):
                raise MXNetError("dtypes must be equal, got %s"
                                 % " vs ".join("?" if t is None else dtype_name(t) for t in dtypes))
    return [known] * len(dtypes), None if known is None else known


def _one_float_type(p: Any, dtypes: list):
    ins, d = _float_same_type(p, dtypes)
    return ins, [d]


def _same_shape_first(p: Any, shapes: list):
    """Backward ops: the gradient has the shape of the head gradient (input 0)."""
    s = shapes[0] if shapes[0] is not None else shapes[1]
    return shapes, [s]


def _type_first(p: Any, dtypes: list):
    return dtypes, [dtypes[0]]


# ====================================================================== Activation
def _erfc(xp: Any, x: Any) -> Any:
    """erfc(x) by the rational Chebyshev fit of Numerical Recipes (``erfcc``), relative
    error < 1.2e-7 for all x; evaluated in the dtype of ``x``."""
    z = xp.abs(x)
    t = 1.0 / (1.0 + 0.5 * z)
    # Horner's rule in place on one scratch array (this runs on whole activations)
    poly = t * x.dtype.type(0.17087277)
    for c in (-0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806, 0.09678418,
              0.37409196, 1.00002368):
        poly += x.dtype.type(c)
        poly *= t
    poly -= x.dtype.type(1.26551223)
    z *= z
    poly -= z
    ans = xp.exp(poly, out=poly)
    ans *= t
    return xp.where(x >= 0, ans, 2.0 - ans)


def _gauss_cdf(xp: Any, x: Any) -> Any:
    """Phi(x) = 0.5 * (1 + erf(x / sqrt 2)) = 0.5 * erfc(-x / sqrt 2)."""
    return 0.5 * _erfc(xp, -x * _INV_SQRT2)


def _act_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    x, out = ins[0], outs[0]
    a = p.act_type
    if a == "relu":
        xp.maximum(x, 0, out=out)
    elif a == "sigmoid":
        out[...] = 1.0 / (1.0 + xp.exp(-x))
    elif a == "tanh":
        xp.tanh(x, out=out)
    elif a == "softrelu":
        xp.logaddexp(x.dtype.type(0), x, out=out)
    else:  # softsign
        out[...] = x / (1.0 + xp.abs(x))


def _act_backward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    g, y = ins
    out = outs[0]
    a = p.act_type
    if a == "relu":
        out[...] = g * (y > 0)
    elif a == "sigmoid":
        out[...] = g * y * (1.0 - y)
    elif a == "tanh":
        out[...] = g * (1.0 - y * y)
    elif a == "softrelu":
        # y = log(1 + e^x) gives sigmoid(x) = 1 - e^-y; expm1 keeps precision for tiny y
        out[...] = g * -xp.expm1(-y)
    else:  # softsign: 1 / (1 + |x|) = 1 - |y|
        d = 1.0 - xp.abs(y)
        out[...] = g * d * d


def _act_grad(F: Any, p: Any, ins: list, outs: list, ograds: list) -> list:
    return [F.call("_backward_Activation", [ograds[0], outs[0]], p)]


def _register_backward(name: str, saved: str, params: list, forward: Any, doc: str) -> None:
    """Register the fused backward op ``name(ograd, saved)``; its result has the head
    gradient's shape and dtype."""
    register(OpDef(
        name, inputs=("ograd", saved), params=params, forward=forward,
        infer_shape=_same_shape_first, infer_type=_type_first, doc=doc))


_ACT_PARAMS = [Param("act_type", Str(("relu", "sigmoid", "softrelu", "softsign", "tanh")),
                     doc="the activation function (required)")]

register(OpDef(
    "Activation", inputs=("data",), params=_ACT_PARAMS, forward=_act_forward,
    infer_type=_one_float_type, gradient=_act_grad, keep_inputs=False, keep_outputs=(0,),
    inplace=((0, 0),),
    doc="Element-wise activation: relu, sigmoid, tanh, softrelu (log(1+exp(x))) or softsign "
        "(x/(1+|x|))."))
_register_backward("_backward_Activation", "output", _ACT_PARAMS, _act_backward,
                   "Fused Activation gradient computed from the forward output.")


# ======================================================================= LeakyReLU
_LRELU_PARAMS = [
    Param("act_type", Str(("elu", "gelu", "leaky", "prelu", "rrelu", "selu")), "leaky",
          "the activation function"),
    Param("slope", Float(), 0.25, "negative slope of leaky, alpha of elu"),
    Param("lower_bound", Float(), 0.125, "lower bound of the rrelu slope"),
    Param("upper_bound", Float(), 0.334, "upper bound of the rrelu slope"),
]


def _lrelu_inputs(p: Any) -> tuple:
    return ("data", "gamma") if p.act_type == "prelu" else ("data",)


def _lrelu_nout(p: Any) -> int:
    return 2 if p.act_type == "rrelu" else 1


def _lrelu_out_names(p: Any) -> tuple:
    return ("output", "mask") if p.act_type == "rrelu" else ("output",)


def _prelu_gamma_shape(d: tuple) -> tuple:
    return (d[1],) if len(d) >= 2 else (1,)


def _lrelu_shape(p: Any, shapes: list):
    shapes = list(shapes)
    d = shapes[0]
    if p.act_type == "prelu":
        g = shapes[1]
        if d is None:
            return shapes, [None]
        if len(d) == 0:
            raise MXNetError("data must have at least one dimension")
        want = _prelu_gamma_shape(tuple(d))
        if g is None:
            shapes[1] = want
        elif tuple(g) not in (want, (1,)):
            raise MXNetError("prelu gamma has shape %s; it must be %s (one slope per channel "
                             "of axis 1) or (1,) for data %s"
                             % (shape_str(g), shape_str(want), shape_str(d)))
        return shapes, [tuple(d)]
    if p.act_type == "rrelu":
        if p.lower_bound > p.upper_bound:
            raise MXNetError("rrelu needs lower_bound <= upper_bound, got %r > %r"
                             % (p.lower_bound, p.upper_bound))
        return shapes, [d, d]
    return shapes, [d]


def _lrelu_type(p: Any, dtypes: list):
    ins, d = _float_same_type(p, dtypes)
    return ins, [d] * _lrelu_nout(p)


def _prelu_gamma_view(gamma: Any, ndim: int) -> Any:
    if ndim >= 2:
        s = [1] * ndim
        s[1] = gamma.shape[0]
        return gamma.reshape(s)
    return gamma


def _lrelu_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    x = ins[0]
    out = outs[0]
    a = p.act_type
    if a == "leaky":
        out[...] = xp.where(x > 0, x, x * x.dtype.type(p.slope))
    elif a == "elu":
        out[...] = xp.where(x > 0, x, p.slope * xp.expm1(x))
    elif a == "selu":
        out[...] = _SELU_LAMBDA * xp.where(x > 0, x, _SELU_ALPHA * xp.expm1(x))
    elif a == "gelu":
        xc = x.astype(_F32) if x.dtype == _F16 else x
        out[...] = xc * _gauss_cdf(xp, xc)
    elif a == "prelu":
        g = _prelu_gamma_view(ins[1], x.ndim)
        out[...] = xp.where(x > 0, x, x * g)
    else:  # rrelu
        mask = outs[1]
        if oc.is_train:
            mask[...] = p.lower_bound + (p.upper_bound - p.lower_bound) * oc.rng.random(x.shape)
            out[...] = xp.where(x > 0, x, x * mask)
        else:
            out[...] = xp.where(x > 0, x, x * x.dtype.type(0.5 * (p.lower_bound + p.upper_bound)))
            # MXNet 1.9.1 leaves the mask unwritten in inference, and its backward then
            # scales negative-side gradients by the output values found there (fixture
            # LeakyReLU_rrelu_eval): the mask holds the output for parity
            mask[...] = out


def _lrelu_backward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    g, x = ins[0], ins[1]
    dx = outs[0]
    a = p.act_type
    pos = x > 0
    if a == "leaky":
        dx[...] = xp.where(pos, g, g * g.dtype.type(p.slope))
    elif a == "elu":
        dx[...] = xp.where(pos, g, g * (p.slope * xp.exp(x)))
    elif a == "selu":
        # MXNet 1.9.1 evaluates lambda * (alpha + y) at the output y for y <= 0 (the true
        # derivative is y + lambda * alpha); its fixtures show it, so it is kept for parity
        y = _SELU_LAMBDA * _SELU_ALPHA * xp.expm1(x)
        dx[...] = g * (_SELU_LAMBDA * xp.where(pos, 1.0, _SELU_ALPHA + y))
    elif a == "gelu":
        xc = x.astype(_F32) if x.dtype == _F16 else x
        dx[...] = g * (_gauss_cdf(xp, xc) + xc * _INV_SQRT2PI * xp.exp(-0.5 * xc * xc))
    elif a == "prelu":
        gamma = ins[2]
        dx[...] = xp.where(pos, g, g * _prelu_gamma_view(gamma, x.ndim))
        contrib = xp.where(pos, 0, g * x)
        if gamma.shape[0] == 1 or x.ndim < 2:
            outs[1][...] = xp.sum(contrib).reshape(1)
        else:
            outs[1][...] = xp.sum(contrib, axis=(0,) + tuple(range(2, x.ndim)))
    else:  # rrelu: the slopes the forward used are in the mask
        dx[...] = xp.where(pos, g, g * ins[2])


def _lrelu_grad(F: Any, p: Any, ins: list, outs: list, ograds: list) -> list:
    if p.act_type == "prelu":
        dx, dg = F.call("_backward_LeakyReLU", [ograds[0], ins[0], ins[1]], p)
        return [dx, dg]
    if p.act_type == "rrelu":
        return [F.call("_backward_LeakyReLU", [ograds[0], ins[0], outs[1]], p)]
    return [F.call("_backward_LeakyReLU", [ograds[0], ins[0]], p)]


def _lrelu_back_inputs(p: Any) -> tuple:
    if p.act_type == "prelu":
        return ("ograd", "data", "gamma")
    if p.act_type == "rrelu":
        return ("ograd", "data", "mask")
    return ("ograd", "data")


def _lrelu_back_shape(p: Any, shapes: list):
    d = shapes[1] if shapes[1] is not None else shapes[0]
    if p.act_type == "prelu":
        return shapes, [d, shapes[2]]
    return shapes, [d]


def _lrelu_back_type(p: Any, dtypes: list):
    return dtypes, [dtypes[1]] * (2 if p.act_type == "prelu" else 1)


register(OpDef(
    "LeakyReLU", inputs=_lrelu_inputs, params=_LRELU_PARAMS, forward=_lrelu_forward,
    infer_shape=_lrelu_shape, infer_type=_lrelu_type, num_outputs=_lrelu_nout,
    output_names=_lrelu_out_names, gradient=_lrelu_grad,
    resources=lambda p: ("random",) if p.act_type == "rrelu" else (),
    keep_inputs=True, keep_outputs=(1,),
    doc="Leaky rectifiers: leaky, elu, selu, gelu, prelu (learnable gamma) and rrelu "
        "(random slope in training, returned as a second output)."))
register(OpDef(
    "_backward_LeakyReLU", inputs=_lrelu_back_inputs, params=_LRELU_PARAMS,
    forward=_lrelu_backward, infer_shape=_lrelu_back_shape, infer_type=_lrelu_back_type,
    num_outputs=lambda p: 2 if p.act_type == "prelu" else 1,
    doc="Fused LeakyReLU gradient (data, plus gamma for prelu)."))


# ========================================================================= softmax
_SOFTMAX_PARAMS = [
    Param("axis", Int(), -1, "the axis to normalise along"),
    Param("temperature", Optional_(Float()), None, "logits are divided by it (None = 1)"),
    Param("dtype", DType(allow_none=True, choices=("float16", "float32", "float64")), None,
          "output dtype (None: the data dtype)"),
    Param("use_length", Optional_(Bool()), False, "mask positions beyond a length input"),
]


def _sm_inputs(p: Any) -> tuple:
    return ("data", "length") if p.use_length else ("data",)


def _sm_shape(p: Any, shapes: list):
    shapes = list(shapes)
    d = shapes[0]
    if d is None:
        return shapes, [None]
    if len(d) == 0:
        raise MXNetError("data must have at least one dimension")
    ax = p.axis
    if not -len(d) <= ax < len(d):
        raise MXNetError("axis %d is out of range for data %s" % (ax, shape_str(d)))
    if p.use_length:
        ax %= len(d)
        want = tuple(d[:ax]) + tuple(d[ax + 1:])
        want = want or (1,)
        if shapes[1] is None:
            shapes[1] = want
        elif tuple(shapes[1]) != want:
            raise MXNetError("length has shape %s; for data %s and axis %d it must be %s"
                             % (shape_str(shapes[1]), shape_str(d), p.axis, shape_str(want)))
    return shapes, [tuple(d)]


def _sm_type(p: Any, dtypes: list):
    d = dtypes[0]
    _require_float(d, "data")
    if p.use_length and dtypes[1] is not None and np.dtype(dtypes[1]).kind not in "fiu":
        raise MXNetError("length must be numeric, got %s" % dtype_name(dtypes[1]))
    out = p.dtype if p.dtype is not None else d
    return list(dtypes), [out]


def _sm_compute_dtype(*dts: Any) -> Any:
    wide = np.result_type(*dts)
    return _F32 if wide == _F16 else wide


def _length_mask(xp: Any, length: Any, shape: tuple, ax: int) -> Any:
    """Boolean mask, True where the position along ``ax`` is below the length."""
    n = shape[ax]
    pos = xp.arange(n).reshape((n,) + (1,) * (len(shape) - ax - 1))
    ln = length.reshape(tuple(shape[:ax]) + (1,) + tuple(shape[ax + 1:])) \
        if len(shape) > 1 else length.reshape(1)
    return pos < ln.astype(xp.int64)


def _softmax_kind(kind: str):
    def forward(oc: Any, ins: list, outs: list, p: Any) -> None:
        xp = oc.xp
        x, out = ins[0], outs[0]
        ax = p.axis % x.ndim
        cdt = _sm_compute_dtype(x.dtype, out.dtype)
        xc = x.astype(cdt, copy=False)
        t = 1.0 if p.temperature is None else p.temperature
        z = xc * cdt.type(-1.0 / t) if kind == "softmin" else \
            (xc if t == 1.0 else xc / cdt.type(t))
        mask = _length_mask(xp, ins[1], x.shape, ax) if p.use_length else None
        if mask is not None:
            z = xp.where(mask, z, -xp.inf)
        m = xp.max(z, axis=ax, keepdims=True) if z.size else z
        m = xp.where(xp.isfinite(m), m, 0)  # rows of length 0 (all masked)
        e = xp.exp(z - m)
        s = xp.sum(e, axis=ax, keepdims=True)
        if kind == "log_softmax":
            r = z - m - xp.log(s)
        else:
            r = e / s
        if mask is not None:
            r = xp.where(mask, r, 0)
        out[...] = r

    def backward(oc: Any, ins: list, outs: list, p: Any) -> None:
        xp = oc.xp
        g, y = ins[0], ins[1]
        dx = outs[0]
        ax = p.axis % y.ndim
        cdt = _sm_compute_dtype(g.dtype, y.dtype, dx.dtype)
        gc, yc = g.astype(cdt, copy=False), y.astype(cdt, copy=False)
        t = 1.0 if p.temperature is None else p.temperature
        mask = _length_mask(xp, ins[2], y.shape, ax) if p.use_length else None
        if kind == "log_softmax":
            if mask is not None:
                gc = xp.where(mask, gc, 0)
            r = gc - xp.exp(yc) * xp.sum(gc, axis=ax, keepdims=True)
            if mask is not None:
                r = xp.where(mask, r, 0)
        else:
            # masked positions have y = 0 and so get no gradient
            r = yc * (gc - xp.sum(gc * yc, axis=ax, keepdims=True))
            if kind == "softmin":
                r = -r
        dx[...] = r / cdt.type(t) if t != 1.0 else r

    return forward, backward


def _sm_grad(name: str):
    def rule(F: Any, p: Any, ins: list, outs: list, ograds: list) -> list:
        # data rides along for its dtype only (the gradient takes the data dtype when
        # ``dtype`` overrides the output dtype)
        args = [ograds[0], outs[0]] + ([ins[1]] if p.use_length else []) + [ins[0]]
        gx = F.call(name, args, p)
        return [gx, None] if p.use_length else [gx]
    rule.__name__ = "grad_via_" + name
    return rule


def _sm_back_inputs(p: Any) -> tuple:
    return ("ograd", "output", "length", "data") if p.use_length else ("ograd", "output", "data")


def _sm_back_shape(p: Any, shapes: list):
    return shapes, [shapes[-1] if shapes[-1] is not None else shapes[0]]


def _sm_back_type(p: Any, dtypes: list):
    return dtypes, [dtypes[-1]]


for _kind, _doc in (("softmax", "Softmax along ``axis``: exp(x/T) / sum(exp(x/T))."),
                    ("log_softmax", "Log of the softmax along ``axis``, computed stably."),
                    ("softmin", "Softmin along ``axis``: softmax(-x/T).")):
    _fwd, _bwd = _softmax_kind(_kind)
    register(OpDef(
        _kind, inputs=_sm_inputs, params=_SOFTMAX_PARAMS, forward=_fwd, infer_shape=_sm_shape,
        infer_type=_sm_type, gradient=_sm_grad("_backward_" + _kind), keep_inputs=True,
        keep_outputs=(0,), doc=_doc))
    register(OpDef(
        "_backward_" + _kind, inputs=_sm_back_inputs, params=_SOFTMAX_PARAMS, forward=_bwd,
        infer_shape=_sm_back_shape, infer_type=_sm_back_type,
        doc="Fused %s gradient from the forward output (data only gives the dtype)." % _kind))


# =============================================================== SoftmaxActivation
_SMA_PARAMS = [Param("mode", Str(("channel", "instance")), "instance",
                     "instance: over the flattened non-batch axes; channel: over axis 1")]


def _sma_view(x: Any, mode: str) -> tuple:
    """(view, axis) on which the softmax runs."""
    if mode == "instance":
        return x.reshape(x.shape[0], -1), 1
    return x, 1


def _sma_shape(p: Any, shapes: list):
    (d,) = shapes
    if d is not None and len(d) < 2:
        raise MXNetError("data must have at least 2 dimensions, got %s" % shape_str(d))
    return shapes, [d]


def _sma_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    x = ins[0]
    cdt = _sm_compute_dtype(x.dtype)
    v, ax = _sma_view(x.astype(cdt, copy=False), p.mode)
    e = xp.exp(v - xp.max(v, axis=ax, keepdims=True))
    outs[0][...] = (e / xp.sum(e, axis=ax, keepdims=True)).reshape(x.shape)


def _sma_backward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    g, y = ins
    cdt = _sm_compute_dtype(y.dtype)
    gv, ax = _sma_view(g.astype(cdt, copy=False), p.mode)
    yv, _ = _sma_view(y.astype(cdt, copy=False), p.mode)
    outs[0][...] = (yv * (gv - xp.sum(gv * yv, axis=ax, keepdims=True))).reshape(y.shape)


def _sma_grad(F: Any, p: Any, ins: list, outs: list, ograds: list) -> list:
    return [F.call("_backward_SoftmaxActivation", [ograds[0], outs[0]], p)]


register(OpDef(
    "SoftmaxActivation", inputs=("data",), params=_SMA_PARAMS, forward=_sma_forward,
    infer_shape=_sma_shape, infer_type=_one_float_type, gradient=_sma_grad,
    keep_inputs=False, keep_outputs=(0,),
    doc="Legacy softmax: over the flattened non-batch axes (instance) or axis 1 (channel)."))
_register_backward("_backward_SoftmaxActivation", "output", _SMA_PARAMS, _sma_backward,
                   "Fused SoftmaxActivation gradient from the forward output.")


# ========================================================================= Dropout
_DROPOUT_PARAMS = [
    Param("p", Float(), 0.5, "fraction of the input dropped"),
    Param("mode", Str(("always", "training")), "training",
          "training: active only in training mode; always: active always"),
    Param("axes", Shape(), (), "axes along which one mask value is shared"),
    Param("cudnn_off", Optional_(Bool()), False, "accepted for compatibility; no effect"),
]


def _dropout_shape(p: Any, shapes: list):
    if not 0.0 <= p.p <= 1.0:
        raise MXNetError("p must be in [0, 1], got %r" % p.p)
    (d,) = shapes
    if d is None:
        return shapes, [None, None]
    for a in p.axes:
        if not -len(d) <= a < len(d):
            raise MXNetError("axes %s out of range for data %s" % (p.axes, shape_str(d)))
    return shapes, [tuple(d), tuple(d)]


def _dropout_type(p: Any, dtypes: list):
    ins, d = _float_same_type(p, dtypes)
    return ins, [d, d]


def _dropout_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    x = ins[0]
    out, mask = outs
    if p.p == 0.0 or not (p.mode == "always" or oc.is_train):
        out[...] = x
        mask.fill(1)
        return
    keep = 1.0 - p.p
    mshape = list(x.shape)
    for a in p.axes:
        mshape[a % x.ndim] = 1
    if keep <= 0.0:
        m = xp.zeros(tuple(mshape), x.dtype)
    else:
        m = (oc.rng.random(tuple(mshape)) < keep).astype(x.dtype) * x.dtype.type(1.0 / keep)
    mask[...] = m
    xp.multiply(x, m, out=out)


def _dropout_backward(oc: Any, ins: list, outs: list, p: Any) -> None:
    g, mask = ins
    oc.xp.multiply(g, mask, out=outs[0])


def _dropout_grad(F: Any, p: Any, ins: list, outs: list, ograds: list) -> list:
    return [F.call("_backward_Dropout", [ograds[0], outs[1]], p)]


register(OpDef(
    "Dropout", inputs=("data",), params=_DROPOUT_PARAMS, forward=_dropout_forward,
    infer_shape=_dropout_shape, infer_type=_dropout_type, num_outputs=2, visible_outputs=1,
    output_names=("output", "mask"), resources=("random",), gradient=_dropout_grad,
    keep_inputs=False, keep_outputs=(1,),
    doc="Inverted dropout: zero each element with probability p and scale the rest by "
        "1/(1-p); the identity outside training unless mode='always'."))
_register_backward("_backward_Dropout", "mask", _DROPOUT_PARAMS, _dropout_backward,
                   "Dropout gradient: the head gradient times the saved scaled mask.")
