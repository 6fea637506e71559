"""Normalisation layers: ``BatchNorm``, ``LayerNorm``, ``InstanceNorm``, ``GroupNorm``,
``L2Normalization`` and ``LRN``, each with a fused ``_backward_<Op>`` kernel.

MXNet 1.9 conventions kept:

* ``BatchNorm`` op defaults are ``eps=1e-3``, ``fix_gamma=True`` (gamma is treated as 1 and
  gets a zero gradient), ``momentum=0.9``, ``axis=1``. In training (``is_train`` and not
  ``use_global_stats``) it normalises with the batch mean and the *biased* batch variance
  over every axis but ``axis`` and updates the aux states ``moving_mean``/``moving_var`` as
  ``moving = moving * momentum + batch * (1 - momentum)`` (biased variance, as MXNet's
  fixtures show). The update happens in the forward kernel, like MXNet's GPU build (the
  reference CPU build does it in backward; after forward + backward both agree). Otherwise
  it uses the moving statistics. Hidden outputs ``mean`` and ``var`` hold the statistics
  used and the inverse standard deviation ``1/sqrt(var + eps)`` (visible with
  ``output_mean_var``), so backward need not recompute them. Backward uses the batch-stat
  formula when it runs in training mode and ``use_global_stats`` is off, whatever mode the
  forward ran in: this is what MXNet does (``autograd.backward`` defaults to
  ``train_mode=True``), so an inference-mode forward followed by backward differentiates
  "through" the moving statistics as if they were batch statistics. For float16 data the
  parameters, aux states and statistics are float32.
* ``LayerNorm`` (``axis=-1``, ``eps=1e-5``) outputs mean and *std* ``sqrt(var + eps)``
  (shape of data with ``axis`` set to 1) when ``output_mean_var``.
* ``InstanceNorm`` (``eps=1e-3``) normalises each (n, c) over the spatial axes of
  (N, C, spatial...) data; gamma/beta are (C,).
* ``GroupNorm`` (``num_groups=1``, ``eps=1e-5``): in 1.x gamma/beta have shape
  ``(num_groups,)`` (one scale per group, not per channel); mean/std are (N, num_groups).
* ``L2Normalization``: ``x / sqrt(sum(x^2) + eps)`` over all non-batch axes (``instance``),
  axis 1 (``channel``) or axes >= 2 (``spatial``); ``eps=1e-10``.
* ``LRN`` (4-D data): ``x * (knorm + alpha/nsize * sum_{window} x^2) ** -beta`` with the
  channel window ``[c - nsize//2, c + nsize//2]`` clipped at the edges.

All statistics are computed in float32 for float16 data (float64 stays float64).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..base import MXNetError, dtype_name
from .params import Bool, Float, Int, Optional_, Param, Str
from .registry import OpDef, register, shape_str

_F16 = np.dtype(np.float16)
_F32 = np.dtype(np.float32)


# --------------------------------------------------------------------------- helpers
def _cdt(dtype: Any) -> Any:
    """Compute dtype: float16 work runs in float32."""
    return _F32 if np.dtype(dtype) == _F16 else np.dtype(dtype)


def _norm_axis(axis: int, ndim: int, what: str = "axis") -> int:
    if not -ndim <= axis < ndim:
        raise MXNetError("%s %d is out of range for data with %d dimensions" % (what, axis, ndim))
    return axis % ndim


def _complete(shapes: list, idx: int, want: tuple, name: str) -> None:
    """Fill ``shapes[idx]`` with ``want`` or check that the given shape equals it."""
    s = shapes[idx]
    if s is None:
        shapes[idx] = want
    elif tuple(s) != tuple(want):
        raise MXNetError("%s has shape %s, expected %s" % (name, shape_str(s), shape_str(want)))


def _require_float(dt: Any, name: str) -> None:
    if dt is not None and np.dtype(dt).kind != "f":
        raise MXNetError("%s must be a floating point array, got %s" % (name, dtype_name(dt)))


def _same_float_type(names: tuple, nout: int):
    """Type rule: every input shares the (float) data dtype; ``nout`` outputs of that dtype."""
    def infer_type(p: Any, dtypes: list):
        known = None
        for n, d in zip(names, dtypes):
            if d is not None:
                _require_float(d, n)
                if known is None:
                    known = d
                elif np.dtype(d) != np.dtype(known):
                    raise MXNetError("%s has dtype %s, expected %s (all inputs share the data "
                                     "dtype)" % (n, dtype_name(d), dtype_name(known)))
        return [known] * len(dtypes), [known] * nout
    return infer_type


def _bshape(ndim: int, axis: int, size: int) -> tuple:
    s = [1] * ndim
    s[axis] = size
    return tuple(s)


def _identity(a: Any) -> Any:
    """The normalisation view of ops that normalise the data in its own layout."""
    return a


def _moments(xp: Any, x: Any, axes: tuple) -> tuple:
    """Mean, deviation ``x - mean`` and biased variance over ``axes`` (keepdims), two-pass
    for accuracy."""
    mean = xp.mean(x, axis=axes, keepdims=True)
    d = x - mean
    return mean, d, xp.mean(xp.square(d), axis=axes, keepdims=True)


def _affine_forward(xp: Any, ins: list, outs: list, eps: float, gax: int, red: tuple,
                    view: Any = _identity) -> None:
    """Shared forward of LayerNorm, InstanceNorm and GroupNorm: ``out = (x - mean) / std *
    gamma + beta`` with mean and ``std = sqrt(var + eps)`` (biased variance) over the axes
    ``red`` of ``view(x)`` (the layout normalised: GroupNorm's grouped view, else ``x``
    itself), gamma/beta broadcast along axis ``gax`` of that view. Writes the output and the
    mean/std outputs. In-place steps on one scratch array: every large temporary costs an
    allocation and a pass over memory."""
    x, gamma, beta = ins
    out, mean_o, std_o = outs
    cdt = _cdt(x.dtype)
    xv = view(x.astype(cdt, copy=False))
    bs = _bshape(xv.ndim, gax, xv.shape[gax])
    mean, d, var = _moments(xp, xv, red)
    std = xp.sqrt(var + cdt.type(eps))
    d *= 1.0 / std
    d *= gamma.astype(cdt, copy=False).reshape(bs)
    d += beta.astype(cdt, copy=False).reshape(bs)
    out[...] = d.reshape(out.shape)
    mean_o[...] = mean.reshape(mean_o.shape)
    std_o[...] = std.reshape(std_o.shape)


def _affine_backward(xp: Any, ins: list, outs: list, gax: int, red: tuple, view: Any = _identity,
                     saved_inv: bool = False, fix_gamma: bool = False,
                     batch_stats: bool = True) -> None:
    """Shared fused gradient (data, gamma, beta) of ``y = (x - mean) * inv * gamma + beta``.

    ``ins`` is (ograd, data, gamma, mean, std), or (..., mean, inv) with ``saved_inv``, the
    statistics as forward saved them; ``view``, ``gax`` and ``red`` are as in
    :func:`_affine_forward`. dgamma/dbeta sum over every axis of the view but ``gax`` (dgamma
    is 0 with ``fix_gamma``, where gamma counts as 1). With ``batch_stats`` the statistics
    are those of x over ``red`` and dx differentiates through them,
    ``inv * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))`` with ``dxhat = g * gamma``;
    otherwise they are constants and ``dx = g * gamma * inv``."""
    g, x, gamma, mean, saved = ins
    dx, dgamma, dbeta = outs
    cdt = _cdt(x.dtype)
    gv = view(g.astype(cdt, copy=False))
    xv = view(x.astype(cdt, copy=False))
    bs = _bshape(xv.ndim, gax, xv.shape[gax])
    st = tuple(1 if i in red else s for i, s in enumerate(xv.shape))
    pc = tuple(i for i in range(xv.ndim) if i != gax)
    saved = saved.astype(cdt, copy=False).reshape(st)
    inv = saved if saved_inv else 1.0 / saved
    xhat = xv - mean.astype(cdt, copy=False).reshape(st)
    xhat *= inv
    sum_g = xp.sum(gv, axis=pc)
    sum_gx = xp.sum(gv * xhat, axis=pc)
    gam = 1.0 if fix_gamma else gamma.astype(cdt, copy=False).reshape(bs)
    if not batch_stats:
        grad = gv * (gam * inv)
    elif red == pc:
        # statistics over the very axes dgamma/dbeta sum over (BatchNorm): reuse those sums
        # for mean(dxhat) and mean(dxhat * xhat) instead of two more passes
        m = max(xv.size // max(xv.shape[gax], 1), 1)
        grad = (gv - (sum_g / m).reshape(bs) - xhat * (sum_gx / m).reshape(bs)) * (gam * inv)
    else:
        grad = gv * gam
        m1 = xp.mean(grad, axis=red, keepdims=True)
        m2 = xp.mean(grad * xhat, axis=red, keepdims=True)
        grad -= m1
        grad -= xhat * m2
        grad *= inv
    dx[...] = grad.reshape(dx.shape)
    if fix_gamma:
        dgamma[...] = 0
    else:
        dgamma[...] = sum_gx
    dbeta[...] = sum_g


def _affine_grad(name: str, num_aux: int = 0):
    """Gradient rule: the fused ``name`` kernel from (ograd, data, gamma, mean, std-or-inv);
    the ``num_aux`` trailing aux inputs get no gradient."""
    def rule(F: Any, p: Any, ins: list, outs: list, ograds: list) -> list:
        dx, dg, db = F.call(name, [ograds[0], ins[0], ins[1], outs[1], outs[2]], p)
        return [dx, dg, db] + [None] * num_aux
    rule.__name__ = "grad_via_" + name
    return rule


def _affine_backward_type(p: Any, dtypes: list):
    return dtypes, [dtypes[1], dtypes[2], dtypes[2]]


def _affine_backward_shape(p: Any, shapes: list):
    g, x, gamma = shapes[:3]
    return shapes, [x if x is not None else g, gamma, gamma]


def _visible3(p: Any) -> int:
    return 3 if p.output_mean_var else 1


def _register_affine(name: str, params: list, layout: Any, infer_shape: Any,
                     visible_outputs: Any, doc: str) -> None:
    """Register ``name`` (data, gamma, beta -> output, mean, std) and its fused
    ``_backward_<name>``; ``layout(p, ndim)`` gives the ``(gax, red, view)`` of
    :func:`_affine_forward` for data of ``ndim`` dimensions."""
    def forward(oc: Any, ins: list, outs: list, p: Any) -> None:
        _affine_forward(oc.xp, ins, outs, p.eps, *layout(p, ins[0].ndim))

    def backward(oc: Any, ins: list, outs: list, p: Any) -> None:
        _affine_backward(oc.xp, ins, outs, *layout(p, ins[1].ndim))

    register(OpDef(
        name, inputs=("data", "gamma", "beta"), params=params, forward=forward,
        infer_shape=infer_shape, infer_type=_same_float_type(("data", "gamma", "beta"), 3),
        num_outputs=3, visible_outputs=visible_outputs, output_names=("output", "mean", "std"),
        gradient=_affine_grad("_backward_" + name), keep_inputs=(0, 1), keep_outputs=(1, 2),
        doc=doc))
    register(OpDef(
        "_backward_" + name, inputs=("ograd", "data", "gamma", "mean", "std"), params=params,
        forward=backward, infer_shape=_affine_backward_shape, infer_type=_affine_backward_type,
        num_outputs=3, doc="Fused %s gradient for data, gamma and beta." % name))


# =========================================================================== BatchNorm
_BN_PARAMS = [
    Param("eps", Float(), 1e-3, "epsilon added to the variance"),
    Param("momentum", Float(), 0.9, "momentum of the moving-average update"),
    Param("fix_gamma", Bool(), True, "treat gamma as 1 (its gradient is 0)"),
    Param("use_global_stats", Bool(), False, "always use the moving statistics"),
    Param("output_mean_var", Bool(), False, "also output the mean and inverse std"),
    Param("axis", Int(), 1, "the channel axis"),
    Param("cudnn_off", Bool(), False, "accepted for compatibility; no effect"),
    Param("min_calib_range", Optional_(Float()), None, "quantization only; no effect"),
    Param("max_calib_range", Optional_(Float()), None, "quantization only; no effect"),
]
_BN_INPUTS = ("data", "gamma", "beta", "moving_mean", "moving_var")


def _bn_shape(p: Any, shapes: list):
    shapes = list(shapes)
    d = shapes[0]
    if d is None:
        c = next((s for s in shapes[1:] if s is not None), None)
        return shapes, [None, c, c]
    if len(d) == 0:
        raise MXNetError("data must have at least one dimension")
    ax = _norm_axis(p.axis, len(d))
    c = (d[ax],)
    for i in range(1, 5):
        _complete(shapes, i, c, _BN_INPUTS[i])
    return shapes, [tuple(d), c, c]


def _bn_type(p: Any, dtypes: list):
    d = dtypes[0]
    _require_float(d, "data")
    if d is None:
        return dtypes, [None, None, None]
    pd = _cdt(d)
    out = [d]
    for n, t in zip(_BN_INPUTS[1:], dtypes[1:]):
        if t is not None and np.dtype(t) != pd:
            raise MXNetError("%s has dtype %s; for %s data it must be %s"
                             % (n, dtype_name(t), dtype_name(d), dtype_name(pd)))
        out.append(pd)
    return out, [d, pd, pd]


def _bn_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    x, gamma, beta, mmean, mvar = ins
    out, mean_o, inv_o = outs
    ax = p.axis % x.ndim
    red = tuple(i for i in range(x.ndim) if i != ax)
    bs = _bshape(x.ndim, ax, x.shape[ax])
    cdt = _cdt(x.dtype)
    xc = x.astype(cdt, copy=False)
    if oc.is_train and not p.use_global_stats:
        mean, _, var = _moments(xp, xc, red)
        mean, var = mean.reshape(-1), var.reshape(-1)
        # running statistics use the biased batch variance (MXNet 1.9.1 fixtures)
        mmean[...] = mmean * p.momentum + mean * (1.0 - p.momentum)
        mvar[...] = mvar * p.momentum + var * (1.0 - p.momentum)
    else:
        mean = mmean.astype(cdt, copy=False)
        var = mvar.astype(cdt, copy=False)
    inv = 1.0 / xp.sqrt(var + cdt.type(p.eps))
    scale = inv if p.fix_gamma else gamma.astype(cdt, copy=False) * inv
    shift = beta.astype(cdt, copy=False) - mean * scale
    out[...] = xc * scale.reshape(bs) + shift.reshape(bs)
    mean_o[...] = mean
    inv_o[...] = inv


def _bn_backward(oc: Any, ins: list, outs: list, p: Any) -> None:
    x = ins[1]
    ax = p.axis % x.ndim
    _affine_backward(oc.xp, ins, outs, ax, tuple(i for i in range(x.ndim) if i != ax),
                     saved_inv=True, fix_gamma=p.fix_gamma,
                     batch_stats=oc.is_train and not p.use_global_stats)


def _bn_backward_shape(p: Any, shapes: list):
    g, x, gamma, mean, inv = shapes
    d = x if x is not None else g
    c = gamma if gamma is not None else (mean if mean is not None else inv)
    return shapes, [d, c, c]


register(OpDef(
    "BatchNorm", inputs=_BN_INPUTS, params=_BN_PARAMS, forward=_bn_forward,
    infer_shape=_bn_shape, infer_type=_bn_type, num_outputs=3, visible_outputs=_visible3,
    output_names=("output", "mean", "var"), aux=("moving_mean", "moving_var"),
    gradient=_affine_grad("_backward_BatchNorm", num_aux=2), keep_inputs=(0, 1),
    keep_outputs=(1, 2),
    doc="Batch normalization over every axis but ``axis``: batch statistics in training "
        "(updating the moving statistics), moving statistics otherwise."))
register(OpDef(
    "_backward_BatchNorm", inputs=("ograd", "data", "gamma", "mean", "invstd"),
    params=_BN_PARAMS, forward=_bn_backward, infer_shape=_bn_backward_shape,
    infer_type=_affine_backward_type, num_outputs=3,
    doc="Fused BatchNorm gradient for data, gamma and beta from the saved mean/inv-std."))


# =========================================================================== LayerNorm
_LN_PARAMS = [
    Param("axis", Int(), -1, "the axis to normalise over"),
    Param("eps", Float(), 1e-5, "epsilon added to the variance"),
    Param("output_mean_var", Bool(), False, "also output the mean and std"),
]


def _ln_shape(p: Any, shapes: list):
    shapes = list(shapes)
    d = shapes[0]
    if d is None:
        return shapes, [None, None, None]
    if len(d) == 0:
        raise MXNetError("data must have at least one dimension")
    ax = _norm_axis(p.axis, len(d))
    for i, n in ((1, "gamma"), (2, "beta")):
        _complete(shapes, i, (d[ax],), n)
    stat = tuple(1 if i == ax else s for i, s in enumerate(d))
    return shapes, [tuple(d), stat, stat]


def _ln_layout(p: Any, ndim: int) -> tuple:
    ax = p.axis % ndim
    return ax, (ax,), _identity


_register_affine(
    "LayerNorm", _LN_PARAMS, _ln_layout, _ln_shape, _visible3,
    "Layer normalization over ``axis`` with per-element scale gamma and shift beta of "
    "shape (data.shape[axis],).")


# ======================================================================== InstanceNorm
_IN_PARAMS = [Param("eps", Float(), 1e-3, "epsilon added to the variance")]


def _in_shape(p: Any, shapes: list):
    shapes = list(shapes)
    d = shapes[0]
    if d is None:
        return shapes, [None, None, None]
    if len(d) < 3:
        raise MXNetError("data must have at least 3 dimensions (N, C, spatial...), got %s"
                         % shape_str(d))
    for i, n in ((1, "gamma"), (2, "beta")):
        _complete(shapes, i, (d[1],), n)
    stat = tuple(d[:2]) + (1,) * (len(d) - 2)
    return shapes, [tuple(d), stat, stat]


def _in_layout(p: Any, ndim: int) -> tuple:
    return 1, tuple(range(2, ndim)), _identity


_register_affine(
    "InstanceNorm", _IN_PARAMS, _in_layout, _in_shape, 1,
    "Instance normalization: each (n, c) slice normalised over the spatial axes, then "
    "scaled by gamma[c] and shifted by beta[c].")


# =========================================================================== GroupNorm
_GN_PARAMS = [
    Param("num_groups", Int(lo=1), 1, "number of channel groups"),
    Param("eps", Float(), 1e-5, "epsilon added to the variance"),
    Param("output_mean_var", Bool(), False, "also output the mean and std"),
]


def _gn_shape(p: Any, shapes: list):
    shapes = list(shapes)
    d = shapes[0]
    for i, n in ((1, "gamma"), (2, "beta")):
        _complete(shapes, i, (p.num_groups,), n)
    if d is None:
        return shapes, [None, None, None]
    if len(d) < 3:
        raise MXNetError("data must have at least 3 dimensions (N, C, spatial...), got %s"
                         % shape_str(d))
    if d[1] % p.num_groups:
        raise MXNetError("the number of channels %d of data %s is not divisible by "
                         "num_groups=%d" % (d[1], shape_str(d), p.num_groups))
    stat = (d[0], p.num_groups)
    return shapes, [tuple(d), stat, stat]


def _gn_layout(p: Any, ndim: int) -> tuple:
    """Statistics over each (n, group) of the grouped view (N, G, C // G, spatial...)."""
    groups = p.num_groups

    def view(x: Any) -> Any:
        n, c = x.shape[:2]
        return x.reshape((n, groups, c // groups) + tuple(x.shape[2:]))
    return 1, tuple(range(2, ndim + 1)), view


_register_affine(
    "GroupNorm", _GN_PARAMS, _gn_layout, _gn_shape, _visible3,
    "Group normalization: channels split into num_groups groups, each (n, group) "
    "normalised; gamma/beta have shape (num_groups,) as in MXNet 1.x.")


# ===================================================================== L2Normalization
_L2_PARAMS = [
    Param("eps", Float(), 1e-10, "epsilon added to the sum of squares"),
    Param("mode", Str(("channel", "instance", "spatial")), "instance",
          "instance: all non-batch axes; channel: axis 1; spatial: axes >= 2"),
]


def _l2_axes(mode: str, ndim: int) -> tuple:
    if mode == "instance":
        return tuple(range(1, ndim))
    if mode == "channel":
        return (1,)
    return tuple(range(2, ndim))


def _l2_shape(p: Any, shapes: list):
    (d,) = shapes
    if d is None:
        return shapes, [None, None]
    if len(d) < 2:
        raise MXNetError("data must have at least 2 dimensions (batch first), got %s"
                         % shape_str(d))
    axes = _l2_axes(p.mode, len(d))
    norm = tuple(1 if i in axes else s for i, s in enumerate(d))
    return shapes, [tuple(d), norm]


def _l2_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    (x,) = ins
    out, norm_o = outs
    cdt = _cdt(x.dtype)
    xc = x.astype(cdt, copy=False)
    norm = xp.sqrt(xp.sum(xc * xc, axis=_l2_axes(p.mode, x.ndim), keepdims=True) + cdt.type(p.eps))
    out[...] = xc / norm
    norm_o[...] = norm


def _l2_backward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    g, y, norm = ins
    cdt = _cdt(y.dtype)
    gc, yc = g.astype(cdt, copy=False), y.astype(cdt, copy=False)
    dot = xp.sum(gc * yc, axis=_l2_axes(p.mode, y.ndim), keepdims=True)
    outs[0][...] = (gc - yc * dot) / norm.astype(cdt, copy=False)


def _l2_grad(F: Any, p: Any, ins: list, outs: list, ograds: list) -> list:
    return [F.call("_backward_L2Normalization", [ograds[0], outs[0], outs[1]], p)]


def _first_shape(p: Any, shapes: list):
    return shapes, [shapes[1] if shapes[1] is not None else shapes[0]]


def _first_type(p: Any, dtypes: list):
    return dtypes, [dtypes[1] if dtypes[1] is not None else dtypes[0]]


register(OpDef(
    "L2Normalization", inputs=("data",), params=_L2_PARAMS, forward=_l2_forward,
    infer_shape=_l2_shape, infer_type=_same_float_type(("data",), 2), num_outputs=2,
    visible_outputs=1, output_names=("output", "norm"), gradient=_l2_grad,
    keep_inputs=False, keep_outputs=(0, 1),
    doc="x / sqrt(sum(x^2) + eps) over the axes chosen by ``mode``."))
register(OpDef(
    "_backward_L2Normalization", inputs=("ograd", "output", "norm"), params=_L2_PARAMS,
    forward=_l2_backward, infer_shape=_first_shape, infer_type=_first_type,
    doc="Fused L2Normalization gradient from the output and the saved norms."))


# ================================================================================= LRN
_LRN_PARAMS = [
    Param("alpha", Float(), 1e-4, "scale of the sum of squares"),
    Param("beta", Float(), 0.75, "exponent"),
    Param("knorm", Float(), 2.0, "additive constant"),
    Param("nsize", Int(lo=1), doc="window size across channels (required)"),
]


def _lrn_shape(p: Any, shapes: list):
    (d,) = shapes
    if d is None:
        return shapes, [None, None]
    if len(d) != 4:
        raise MXNetError("LRN only accepts 4-D data (N, C, H, W), got %s" % shape_str(d))
    return shapes, [tuple(d), tuple(d)]


def _channel_window_sum(xp: Any, a: Any, half: int) -> Any:
    """``s[:, c] = sum(a[:, c-half : c+half+1])`` with zero padding (a loop over the
    ``2*half+1`` window taps, each a whole-array add)."""
    c = a.shape[1]
    pad = xp.zeros((a.shape[0], c + 2 * half) + tuple(a.shape[2:]), a.dtype)
    pad[:, half:half + c] = a
    s = pad[:, 0:c].copy()
    for k in range(1, 2 * half + 1):
        s += pad[:, k:k + c]
    return s


def _lrn_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    (x,) = ins
    out, norm_o = outs
    cdt = _cdt(x.dtype)
    xc = x.astype(cdt, copy=False)
    s = p.knorm + (p.alpha / p.nsize) * _channel_window_sum(xp, xc * xc, p.nsize // 2)
    out[...] = xc * s ** (-p.beta)
    norm_o[...] = s


def _lrn_backward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    g, x, s = ins
    cdt = _cdt(x.dtype)
    gc, xc, sc = g.astype(cdt, copy=False), x.astype(cdt, copy=False), s.astype(cdt, copy=False)
    sp = sc ** (-p.beta)
    # the window is symmetric, so the channels whose window holds c are c's own window
    t = _channel_window_sum(xp, gc * xc * sp / sc, p.nsize // 2)
    outs[0][...] = gc * sp - (2.0 * p.alpha * p.beta / p.nsize) * xc * t


def _lrn_grad(F: Any, p: Any, ins: list, outs: list, ograds: list) -> list:
    return [F.call("_backward_LRN", [ograds[0], ins[0], outs[1]], p)]


def _lrn_cost(p: Any, in_shapes: list, out_shapes: list) -> int:
    n = 1
    for d in in_shapes[0]:
        n *= d
    return n * (2 * (p.nsize // 2) + 4)


register(OpDef(
    "LRN", inputs=("data",), params=_LRN_PARAMS, forward=_lrn_forward, infer_shape=_lrn_shape,
    infer_type=_same_float_type(("data",), 2), num_outputs=2, visible_outputs=1,
    output_names=("output", "tmp_norm"), gradient=_lrn_grad, keep_inputs=(0,),
    keep_outputs=(1,), cost=_lrn_cost,
    doc="Local response normalization across channels: x * (knorm + alpha/nsize * "
        "sum over the channel window of x^2) ** -beta."))
register(OpDef(
    "_backward_LRN", inputs=("ograd", "data", "tmp_norm"), params=_LRN_PARAMS,
    forward=_lrn_backward, infer_shape=_first_shape, infer_type=_first_type, cost=_lrn_cost,
    doc="Fused LRN gradient from the data and the saved normaliser."))
