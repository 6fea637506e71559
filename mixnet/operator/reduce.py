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
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

import numpy as np

from ..base import MXNetError
from .params import Axes, Bool, DType, Int, Optional_, Param, Shape
from .registry import OpDef, infer_one, register, shape_str


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


def _size(shape: Sequence[int]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


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
