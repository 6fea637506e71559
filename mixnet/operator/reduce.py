"""Reductions: ``sum`` (``sum_axis``), ``mean``, ``prod``, ``nansum``, ``nanprod``, ``max``
(``max_axis``), ``min`` (``min_axis``), ``norm``, ``argmax``, ``argmin``, ``argmax_channel``
and ``moments``.

MXNet 1.x conventions kept here:

* ``axis=None`` and ``axis=()`` both reduce over every axis (MXNet documents ``axis=()`` as
  the default that "computes over all elements"); with an empty tuple ``exclude`` has no
  effect either.
* Negative axes count from the end; an axis outside ``[-ndim, ndim)`` or a repeated axis is
  an error. ``exclude=True`` reduces the axes NOT listed.
* There are no 0-d arrays: reducing everything without ``keepdims`` gives shape ``(1,)``.
* The output dtype is the input dtype (integer ``mean`` truncates toward zero, as MXNet's
  integer division does); ``argmax``/``argmin`` return indices in the input dtype, so the
  usual float32 input gives float32 indices.
* ``max``/``min`` of an empty array and ``argmax``/``argmin`` along an empty axis are
  errors; ``sum``/``nansum`` of nothing is 0, ``prod``/``nanprod`` 1, ``mean`` NaN.

Gradients go through fused ``_backward_<op>(ograd, data[, output])`` kernels that take the
forward op's own parameters, so ``axis``/``keepdims``/``exclude`` are honoured without the
rule knowing any shape. ``max``/``min`` give the full head gradient to EVERY position equal
to the extremum (MXNet's equality mask, ties not split); ``nansum``/``nanprod`` give 0 at
NaN positions; ``prod`` differentiates exactly at zeros (the product of the other
elements) where MXNet's ``out / in`` gives NaN; the L2 ``norm`` gives 0 where the norm is
0. ``argmax``/``argmin``/``argmax_channel`` have zero gradient.
"""
from __future__ import annotations

from math import prod as _size
from typing import Any, Callable, Optional, Sequence

import numpy as np

from ..base import MXNetError
from .gradient import zero_grad
from .params import Axes, Bool, DType, Int, Optional_, Param, Shape
from .registry import OpDef, get, infer_one, register, shape_str


# --------------------------------------------------------------------------- shapes
def reduce_axes(ishape: Sequence[int], axis: Optional[tuple], exclude: bool = False) -> tuple:
    """The sorted, non-negative axes of ``ishape`` that a reduction with MXNet's ``axis``
    and ``exclude`` parameters collapses; ``MXNetError`` for an out-of-range or repeated
    axis."""
    ndim = len(ishape)
    if axis is None or len(axis) == 0:
        return tuple(range(ndim))
    norm = []
    for a in axis:
        if not -ndim <= a < ndim:
            raise MXNetError("reduction axis %d is out of range for input of shape %s "
                             "(ndim %d)" % (a, shape_str(tuple(ishape)), ndim))
        norm.append(a + ndim if a < 0 else a)
    if len(set(norm)) != len(norm):
        raise MXNetError("reduction axes %s have duplicates" % (tuple(axis),))
    if exclude:
        return tuple(i for i in range(ndim) if i not in norm)
    return tuple(sorted(norm))


def reduced_shape(ishape: Sequence[int], axes: tuple, keepdims: bool) -> tuple:
    """Output shape of reducing ``axes`` of ``ishape``: reduced dims become 1 with
    ``keepdims``, otherwise they disappear, and an empty result becomes ``(1,)``."""
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(ishape))
    out = tuple(d for i, d in enumerate(ishape) if i not in axes)
    return out if out else (1,)


def _keep_shape(ishape: Sequence[int], axes: tuple) -> tuple:
    return tuple(1 if i in axes else d for i, d in enumerate(ishape))




def _make_reduce_shape(nonempty: bool = False) -> Callable:
    def rule(p: Any, s: tuple) -> tuple:
        axes = reduce_axes(s, p.axis, p.exclude)
        if nonempty and _size(s) == 0:
            raise MXNetError("cannot reduce an empty array of shape %s: the reduction has no "
                             "identity" % shape_str(s))
        return reduced_shape(s, axes, p.keepdims)

    def infer(p: Any, shapes: list):
        return infer_one(p, shapes, rule)
    return infer


# --------------------------------------------------------------------------- kernels
def _acc_dtype(dtype: Any) -> Any:
    """Accumulation dtype: float16 sums in float32 (MXNet's own float16 reductions are
    less precise; the wider sum stays within float16 tolerance of either)."""
    return np.dtype(np.float32) if dtype == np.float16 else None


def _write(xp: Any, fn: Callable, x: Any, axes: tuple, out: Any, **kw: Any) -> None:
    """Run reduction ``fn`` over ``axes`` of ``x`` straight into ``out`` when ``out`` can be
    viewed with the kept dims (always, for the C-contiguous buffers the engine allocates);
    a non-contiguous ``out=`` target gets the result copied in."""
    kshape = _keep_shape(x.shape, axes)
    if out.flags.c_contiguous:
        fn(x, axis=axes, keepdims=True, out=out.reshape(kshape), **kw)
    else:
        out[...] = fn(x, axis=axes, keepdims=True, **kw).reshape(out.shape)


def _sum_like(name: str, nan_name: Optional[str] = None) -> Callable:
    def forward(oc: Any, ins: list, outs: list, p: Any) -> None:
        xp, x, out = oc.xp, ins[0], outs[0]
        axes = reduce_axes(x.shape, p.axis, p.exclude)
        # NaN-skipping only matters for floats; integer arrays take the plain reduction
        fname = nan_name if nan_name and x.dtype.kind in "fc" else name
        fn = getattr(xp, fname)
        acc = _acc_dtype(x.dtype)
        if acc is not None:
            kw = {"dtype": acc}
        elif x.dtype.kind in "iu":
            # match MXNet's wrap-around in the input integer type, not NumPy's int64 result
            kw = {"dtype": x.dtype}
        else:
            kw = {}
        _write(xp, fn, x, axes, out, **kw)
    return forward


def _trunc_div(xp: Any, s: Any, n: int) -> Any:
    """Integer ``s / n`` rounded toward zero (C semantics, what MXNet's integer mean does)."""
    q = xp.floor_divide(s, n)
    return q + ((q < 0) & (q * n != s))


def _mean_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp, x, out = oc.xp, ins[0], outs[0]
    axes = reduce_axes(x.shape, p.axis, p.exclude)
    count = _size([x.shape[a] for a in axes])
    kshape = _keep_shape(x.shape, axes)
    if x.dtype.kind in "iub":
        s = xp.sum(x, axis=axes, keepdims=True, dtype=np.int64)
        res = _trunc_div(xp, s, count) if count else xp.zeros_like(s)
        out[...] = res.reshape(out.shape)
        return
    acc = _acc_dtype(x.dtype)
    with np.errstate(invalid="ignore", divide="ignore"):
        if acc is None and out.flags.c_contiguous:
            target = out.reshape(kshape)
            xp.sum(x, axis=axes, keepdims=True, out=target)
            # an empty reduction divides 0 by 0: NaN, as NumPy's mean gives
            xp.true_divide(target, count, out=target)
        else:
            s = xp.sum(x, axis=axes, keepdims=True, dtype=acc)
            s /= count
            out[...] = s.reshape(out.shape)


def _minmax(name: str) -> Callable:
    def forward(oc: Any, ins: list, outs: list, p: Any) -> None:
        x = ins[0]
        axes = reduce_axes(x.shape, p.axis, p.exclude)
        _write(oc.xp, getattr(oc.xp, name), x, axes, outs[0])
    return forward


_REDUCE_PARAMS = [
    Param("axis", Axes(), None, "axis or axes to reduce; None or () reduces all axes"),
    Param("keepdims", Bool(), False, "keep reduced axes as dims of size 1"),
    Param("exclude", Bool(), False, "reduce the axes NOT listed in axis"),
]


def _register_reduce(name: str, forward: Callable, doc: str, aliases: tuple = (),
                     nonempty: bool = False) -> None:
    register(OpDef(name, aliases=aliases, params=list(_REDUCE_PARAMS), forward=forward,
                   infer_shape=_make_reduce_shape(nonempty), doc=doc))


_register_reduce("sum", _sum_like("sum"), "Sum of ``data`` over ``axis``.", ("sum_axis",))
_register_reduce("mean", _mean_forward, "Mean of ``data`` over ``axis`` (integer input "
                 "truncates toward zero).")
_register_reduce("prod", _sum_like("prod"), "Product of ``data`` over ``axis``.")
_register_reduce("nansum", _sum_like("sum", "nansum"),
                 "Sum over ``axis`` treating NaN as 0.")
_register_reduce("nanprod", _sum_like("prod", "nanprod"),
                 "Product over ``axis`` treating NaN as 1.")
_register_reduce("max", _minmax("max"), "Maximum of ``data`` over ``axis``.", ("max_axis",),
                 nonempty=True)
_register_reduce("min", _minmax("min"), "Minimum of ``data`` over ``axis``.", ("min_axis",),
                 nonempty=True)


# --------------------------------------------------------------------------- norm
_NORM_DTYPES = ("float16", "float32", "float64", "int32", "int64", "int8")


def _norm_shape(p: Any, shapes: list):
    if p.ord not in (1, 2):
        raise MXNetError("norm only supports ord=1 and ord=2, got ord=%d" % p.ord)
    return infer_one(p, shapes, lambda p, s: reduced_shape(s, reduce_axes(s, p.axis),
                                                           p.keepdims))


def _norm_type(p: Any, dtypes: list):
    (d,) = dtypes
    if p.out_dtype is not None:
        return dtypes, [p.out_dtype]
    return dtypes, [d]


def _norm_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp, x, out = oc.xp, ins[0], outs[0]
    axes = reduce_axes(x.shape, p.axis)
    # float16 sums in float32; integer input, or a float64 side, computes in float64
    if x.dtype == np.float32 or x.dtype == np.float16:
        wide = np.dtype(np.float64 if out.dtype == np.float64 else np.float32)
    else:
        wide = np.dtype(np.float64)
    if p.ord == 1:
        res = xp.sum(xp.abs(x), axis=axes, keepdims=True, dtype=wide)
    else:
        xw = x if x.dtype == wide else x.astype(wide)
        res = xp.sqrt(xp.sum(xp.square(xw), axis=axes, keepdims=True))
    out[...] = res.reshape(out.shape)


register(OpDef(
    "norm",
    params=[Param("ord", Int(), 2, "order of the norm: 1 or 2"),
            Param("axis", Axes(), None, "axes to reduce; None or () flattens everything"),
            Param("out_dtype", DType(allow_none=True, choices=_NORM_DTYPES), None,
                  "dtype of the output (default: the input dtype)"),
            Param("keepdims", Bool(), False, "keep reduced axes as dims of size 1")],
    forward=_norm_forward, infer_shape=_norm_shape, infer_type=_norm_type,
    doc="L1 or L2 norm of ``data`` over ``axis`` (element-wise over all listed axes)."))


# --------------------------------------------------------------------------- argmax/argmin
def _search_axis(ishape: Sequence[int], axis: Optional[int]) -> Optional[int]:
    ndim = len(ishape)
    if axis is None:
        if _size(ishape) == 0:
            raise MXNetError("cannot search an empty array of shape %s" % shape_str(ishape))
        return None
    if not -ndim <= axis < ndim:
        raise MXNetError("axis %d is out of range for input of shape %s (ndim %d)"
                         % (axis, shape_str(tuple(ishape)), ndim))
    axis = axis + ndim if axis < 0 else axis
    if ishape[axis] == 0:
        raise MXNetError("cannot search along axis %d of size 0 (input %s)"
                         % (axis, shape_str(ishape)))
    return axis


def _arg_rule(p: Any, s: tuple) -> tuple:
    axis = _search_axis(s, p.axis)
    axes = tuple(range(len(s))) if axis is None else (axis,)
    return reduced_shape(s, axes, p.keepdims)


def _arg_forward(name: str) -> Callable:
    def forward(oc: Any, ins: list, outs: list, p: Any) -> None:
        x, out = ins[0], outs[0]
        idx = getattr(oc.xp, name)(x, axis=_search_axis(x.shape, p.axis))
        # indices are stored in the output (= input) dtype, as MXNet does
        out[...] = idx.reshape(out.shape)
    return forward


_ARG_PARAMS = [
    Param("axis", Optional_(Int()), None, "axis to search; None searches the flattened array"),
    Param("keepdims", Bool(), False, "keep the searched axis as a dim of size 1"),
]

register(OpDef("argmax", params=list(_ARG_PARAMS), forward=_arg_forward("argmax"),
               infer_shape=lambda p, sh: infer_one(p, sh, _arg_rule),
               doc="Indices of the maxima along ``axis`` (first occurrence), in the input "
                   "dtype."))
register(OpDef("argmin", params=list(_ARG_PARAMS), forward=_arg_forward("argmin"),
               infer_shape=lambda p, sh: infer_one(p, sh, _arg_rule),
               doc="Indices of the minima along ``axis`` (first occurrence), in the input "
                   "dtype."))


def _argmax_channel_rule(p: Any, s: tuple) -> tuple:
    if len(s) < 2:
        raise MXNetError("argmax_channel needs an input of at least 2 dims, got %s"
                         % shape_str(s))
    _search_axis(s, 1)
    return reduced_shape(s, (1,), False)


def _argmax_channel_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    # MXNet fixes the axis at 1, which is the last axis of the usual (batch, channel) input
    outs[0][...] = oc.xp.argmax(ins[0], axis=1).reshape(outs[0].shape)


register(OpDef("argmax_channel", forward=_argmax_channel_forward,
               infer_shape=lambda p, sh: infer_one(p, sh, _argmax_channel_rule),
               doc="Argmax over axis 1 (the channels of a (batch, channel) array), in the "
                   "input dtype."))


# --------------------------------------------------------------------------- moments
def _moments_shape(p: Any, shapes: list):
    (s,) = shapes
    if s is None:
        return shapes, [None, None]
    o = reduced_shape(s, reduce_axes(s, p.axes), p.keepdims)
    return [s], [o, o]


def _moments_type(p: Any, dtypes: list):
    (d,) = dtypes
    return dtypes, [d, d]


def _moments_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp, x = oc.xp, ins[0]
    axes = reduce_axes(x.shape, p.axes)
    if _size(x.shape) == 0:
        # nothing to average: NaN statistics (MXNet has no empty arrays to compare with)
        for o in outs:
            o[...] = np.nan if o.dtype.kind == "f" else 0
        return
    wide = np.result_type(x.dtype, np.float32)
    mean = xp.mean(x, axis=axes, keepdims=True, dtype=wide)
    var = xp.mean(xp.square(x.astype(wide) - mean), axis=axes, keepdims=True)
    outs[0][...] = mean.reshape(outs[0].shape)
    outs[1][...] = var.reshape(outs[1].shape)


register(OpDef(
    "moments",
    params=[Param("axes", Optional_(Shape()), None, "axes to reduce; None reduces all"),
            Param("keepdims", Bool(), False, "keep reduced axes as dims of size 1")],
    forward=_moments_forward, infer_shape=_moments_shape, infer_type=_moments_type,
    num_outputs=2,
    doc="Mean and biased variance of ``data`` over ``axes`` (two outputs)."))


# --------------------------------------------------------------------------- gradients
def _bwd_shape(p: Any, shapes: list):
    # every reduction backward returns a gradient of the data's shape (input 1)
    return shapes, [shapes[1]]


def _bwd_type(p: Any, dtypes: list):
    return dtypes, [dtypes[1] or dtypes[0]]


def _wide(xp: Any, v: Any) -> Any:
    """Backward kernels compute float16 (and integer) values in float32."""
    if v.dtype == np.float16 or v.dtype.kind not in "fc":
        return xp.asarray(v, dtype=np.float32)
    return v


def _head(xp: Any, g: Any, x: Any, axes: tuple) -> Any:
    """The head gradient reshaped with the reduced axes as size-1 dims, ready to broadcast
    against ``x``."""
    return _wide(xp, g).reshape(_keep_shape(x.shape, axes))


def _axes_of(p: Any, x: Any) -> tuple:
    return reduce_axes(x.shape, p.axis, getattr(p, "exclude", False))


def _sum_backward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp, (g, x) = oc.xp, ins
    outs[0][...] = xp.broadcast_to(_head(xp, g, x, _axes_of(p, x)), x.shape)


def _mean_backward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp, (g, x) = oc.xp, ins
    axes = _axes_of(p, x)
    count = _size([x.shape[a] for a in axes])
    outs[0][...] = xp.broadcast_to(_head(xp, g, x, axes) / max(count, 1), x.shape)


def _nansum_backward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp, (g, x) = oc.xp, ins
    outs[0][...] = xp.where(xp.isnan(x), 0, _head(xp, g, x, _axes_of(p, x)))


def _prod_backward_of(nan: bool) -> Callable:
    def forward(oc: Any, ins: list, outs: list, p: Any) -> None:
        # d prod / d x_i = product of the other elements, computed without dividing by a
        # zero: with no zero in the slice it is prod / x_i; with exactly one zero only that
        # position gets the product of the nonzeros; with more, everything is 0
        xp, (g, x) = oc.xp, ins
        axes = _axes_of(p, x)
        xw = _wide(xp, x)
        if nan:
            isnan = xp.isnan(xw)
            xw = xp.where(isnan, 1, xw)
        zero = xw == 0
        nz = xp.sum(zero, axis=axes, keepdims=True)
        rest = xp.prod(xp.where(zero, 1, xw), axis=axes, keepdims=True)
        safe = xp.where(zero, 1, xw)
        d = xp.where(nz == 0, rest / safe, xp.where((nz == 1) & zero, rest, 0))
        if nan:
            d = xp.where(isnan, 0, d)
        xp.multiply(_head(xp, g, x, axes), d, out=outs[0], casting="unsafe")
    return forward


def _extremum_backward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp, (g, x, y) = oc.xp, ins
    axes = _axes_of(p, x)
    mask = x == y.reshape(_keep_shape(x.shape, axes))
    xp.multiply(_head(xp, g, x, axes), mask, out=outs[0], casting="unsafe")


def _linear_back_rule(fname: str) -> Callable:
    """Gradient of the backward kernel of a reduction linear in its input (sum, mean):
    w.r.t. the head it is the forward reduction again (second-order gradients); the data
    input is read for its shape only and gets none."""
    def rule(F, p, ins, outs, ograds):
        return [F.call(fname, [ograds[0]], p), None]
    return rule


def _register_backward(fname: str, kernel: Callable, with_output: bool, doc: str,
                       back_rule: Any = None) -> Callable:
    bname = "_backward_" + fname
    fop = get(fname)
    register(OpDef(bname, inputs=("ograd", "data", "output") if with_output else
                   ("ograd", "data"), params=list(fop.params), forward=kernel,
                   infer_shape=_bwd_shape, infer_type=_bwd_type, gradient=back_rule,
                   keep_inputs=False, keep_outputs=False, doc=doc))
    if with_output:
        def rule(F, p, ins, outs, ograds):
            return [F.call(bname, [ograds[0], ins[0], outs[0]], p)]
    else:
        def rule(F, p, ins, outs, ograds):
            return [F.call(bname, [ograds[0], ins[0]], p)]
    rule.__name__ = "grad_via_" + bname
    fop.gradient = rule
    fop.keep_inputs = True
    fop.keep_outputs = with_output
    return rule


_register_backward("sum", _sum_backward, False,
                   "Backward of sum: the head gradient broadcast back over the reduced axes.",
                   _linear_back_rule("sum"))
_register_backward("mean", _mean_backward, False,
                   "Backward of mean: the head gradient broadcast back, divided by the count.",
                   _linear_back_rule("mean"))
_register_backward("nansum", _nansum_backward, False,
                   "Backward of nansum: the head gradient broadcast back, 0 at NaN inputs.")
_register_backward("prod", _prod_backward_of(False), False,
                   "Backward of prod: head gradient times the product of the other elements.")
_register_backward("nanprod", _prod_backward_of(True), False,
                   "Backward of nanprod: as prod with NaN treated as 1; 0 at NaN inputs.")
_register_backward("max", _extremum_backward, True,
                   "Backward of max: the head gradient at every position equal to the max.")
_register_backward("min", _extremum_backward, True,
                   "Backward of min: the head gradient at every position equal to the min.")


def _norm_backward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp, (g, x, y) = oc.xp, ins
    axes = reduce_axes(x.shape, p.axis)
    kshape = _keep_shape(x.shape, axes)
    xw = _wide(xp, x)
    gk = _head(xp, g, x, axes)
    if p.ord == 1:
        d = xp.sign(xw)
    else:
        yk = _wide(xp, y).reshape(kshape)
        d = xp.where(yk == 0, 0, xw / xp.where(yk == 0, 1, yk))
    xp.multiply(gk, d, out=outs[0], casting="unsafe")


def _norm_rule(F: Any, p: Any, ins: list, outs: list, ograds: list) -> list:
    return [F.call("_backward_norm", [ograds[0], ins[0], outs[0]], p)]


register(OpDef("_backward_norm", inputs=("ograd", "data", "output"),
               params=list(get("norm").params), forward=_norm_backward,
               infer_shape=_bwd_shape, infer_type=_bwd_type,
               doc="Backward of norm: sign(x) (ord=1) or x / norm (ord=2, 0 where the norm "
                   "is 0), times the head gradient, in the data dtype."))
get("norm").gradient = _norm_rule
get("norm").keep_inputs, get("norm").keep_outputs = True, True


def _moments_backward(oc: Any, ins: list, outs: list, p: Any) -> None:
    # d mean / dx = 1/N; d var / dx = 2 (x - mean) / N
    xp, (gm, gv, x, mean) = oc.xp, ins
    axes = reduce_axes(x.shape, p.axes)
    kshape = _keep_shape(x.shape, axes)
    n = max(_size([x.shape[a] for a in axes]), 1)
    d = _wide(xp, gm).reshape(kshape) + 2 * _wide(xp, gv).reshape(kshape) * (
        _wide(xp, x) - _wide(xp, mean).reshape(kshape))
    xp.divide(d, n, out=outs[0], casting="unsafe")


def _moments_rule(F: Any, p: Any, ins: list, outs: list, ograds: list) -> list:
    return [F.call("_backward_moments", [ograds[0], ograds[1], ins[0], outs[0]], p)]


register(OpDef("_backward_moments", inputs=("ograd_mean", "ograd_var", "data", "mean"),
               params=list(get("moments").params), forward=_moments_backward,
               infer_shape=lambda p, sh: (sh, [sh[2]]),
               infer_type=lambda p, dt: (dt, [dt[2] or dt[0]]),
               doc="Backward of moments: (g_mean + 2 g_var (x - mean)) / N."))
get("moments").gradient = _moments_rule
get("moments").keep_inputs, get("moments").keep_outputs = True, (0,)

for _name in ("argmax", "argmin", "argmax_channel"):
    get(_name).gradient = zero_grad
    get(_name).keep_inputs = get(_name).keep_outputs = False
