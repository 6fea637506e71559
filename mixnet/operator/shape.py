"""Shape-manipulation ops: transpose, axis insertion/removal, slicing, joining and
splitting, tiling, flipping, broadcasting to a shape, padding, pixel shuffles, diagonals,
``cast_storage`` and the shape/size queries, with their gradient rules.

Every kernel is written against ``oc.xp`` so it runs unchanged on NumPy and CuPy; shape
rules follow MXNet 1.9.1 (``(1,)`` instead of 0-d results, MXNet's slice clamping, the
legacy ``Pad`` restrictions).

Gradients follow MXNet: pure data movement moves the head gradient back (reshapes via
``reshape_like``, inverse transposes, ``split`` <-> ``concat``/``stack``,
``depth_to_space`` <-> ``space_to_depth``); ops that drop or duplicate elements have fused
``_backward_<op>`` kernels that take the forward input only for its shape (slices scatter
into zeros, ``tile``/``repeat``/``Pad`` sum the copies, broadcasts use
``_reduce_sum_like``). ``shape_array``/``size_array`` have zero gradient. The fused
backward ops are themselves differentiable (they are linear in the head gradient), so
higher-order gradients work.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from ..base import MXNetError
from .params import REQUIRED, Axes, Bool, Float, Int, Optional_, Param, Shape, Str
from .gradient import zero_grad
from .registry import OpDef, infer_one, register, shape_str, unify

__all__ = ["norm_axis", "slice_ranges", "slice_shape"]


# -------------------------------------------------------------------------------------- helpers
def norm_axis(axis: int, ndim: int, what: str = "axis") -> int:
    """Return ``axis`` made non-negative for an array of ``ndim`` dimensions; raise
    :class:`MXNetError` if it lies outside ``[-ndim, ndim)``."""
    a = axis + ndim if axis < 0 else axis
    if not 0 <= a < ndim:
        raise MXNetError("%s %d is out of range for an array of %d dimension%s"
                         % (what, axis, ndim, "" if ndim == 1 else "s"))
    return a


def _prod(dims: Sequence[int]) -> int:
    n = 1
    for d in dims:
        n *= int(d)
    return n


def slice_ranges(shape: tuple, begin: tuple, end: tuple, step: tuple) -> tuple:
    """Python ``slice`` objects for MXNet's ``slice(begin, end, step)`` on ``shape``:
    checks the tuple lengths and zero steps; the clamping MXNet applies to out-of-range
    begin/end equals Python's slice rules, so the result can index any array."""
    nd = len(shape)
    if nd == 0:
        raise MXNetError("slice needs an input with at least one dimension")
    if len(begin) > nd or len(end) > nd:
        raise MXNetError("slice begin %s / end %s have more entries than the input has "
                         "dimensions (%d)" % (begin, end, nd))
    if len(begin) != len(end):
        raise MXNetError("slice begin %s and end %s must have the same length" % (begin, end))
    if step and len(step) != len(begin):
        raise MXNetError("slice step %s must have as many entries as begin %s" % (step, begin))
    out = []
    for i in range(len(begin)):
        s = step[i] if step and step[i] is not None else 1
        if s == 0:
            raise MXNetError("slice step[%d] cannot be 0" % i)
        out.append(slice(begin[i], end[i], s))
    return tuple(out)


def slice_shape(shape: tuple, slices: tuple) -> tuple:
    """The shape that indexing ``shape`` with ``slices`` (leading axes) gives."""
    dims = list(shape)
    for i, sl in enumerate(slices):
        dims[i] = len(range(*sl.indices(shape[i])))
    return tuple(dims)


def _first_type(p: Any, dtypes: list):
    """The output takes the first input's dtype. The second input only lends its shape,
    so a different dtype there is accepted; an unknown one is assumed equal to the first
    (what MXNet's same-type rule would infer for it)."""
    d = dtypes[0]
    return [d] + [d if x is None else x for x in dtypes[1:]], [d]


def _copy_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    """Same data, new shape: a reshape copy (outputs may alias the input in place)."""
    outs[0][...] = ins[0].reshape(outs[0].shape)


def _along(axis: int, sl: Any) -> tuple:
    """An index selecting ``sl`` on ``axis`` and everything on the axes before it."""
    return (slice(None),) * axis + (sl,)


def _acc(xp: Any, a: Any) -> Any:
    """``a`` in a dtype safe to sum in: float16 gradients are summed in float32."""
    return a.astype(xp.float32) if a.dtype == np.float16 else a


def _like_data_shape(p: Any, shapes: list, check: Any = None):
    """Shape rule of fused backward ops ``(ograd, data) -> grad of data``: the result has
    the data's shape; ``check(p, data_shape) -> expected ograd shape`` validates the head
    gradient when both are known."""
    g, d = shapes[0], shapes[-1]
    if d is None:
        return shapes, [None]
    d = tuple(d)
    if check is not None:
        want = tuple(check(p, d))
        if g is not None and tuple(g) != want:
            raise MXNetError("head gradient of shape %s does not match the forward output "
                             "shape %s" % (shape_str(g), shape_str(want)))
        shapes = [want] + list(shapes[1:])
    return shapes, [d]


def _ograd_type(p: Any, dtypes: list):
    """Fused backward ops give the head gradient's dtype; the forward input only lends
    its shape."""
    return list(dtypes), [dtypes[0]]


def _reshape_back_grad(F: Any, p: Any, ins: list, outs: list, ograds: list) -> list:
    """Gradient of ops that only change the shape (``Reshape``, ``Flatten``,
    ``expand_dims``, ``squeeze``, ``reshape_like``): the head gradient reshaped to the
    first input; other inputs get none."""
    return [F.reshape_like(ograds[0], ins[0])] + [None] * (len(ins) - 1)


def _same_op_grad(name: str):
    """The rule ``[name(ograd, **p)]`` for self-inverse permutations (``SwapAxis``,
    ``reverse``): the op with the same parameters undoes itself."""
    def rule(F, p, ins, outs, ograds):
        return [F.call(name, [ograds[0]], p)]
    rule.__name__ = "grad_via_" + name
    return rule


def _fused_grad(backward: str):
    """The rule ``[backward(ograd, data), None...]`` of ops whose gradient has a fused
    kernel reading the first input's shape."""
    def rule(F, p, ins, outs, ograds):
        return [F.call(backward, [ograds[0], ins[0]], p)] + [None] * (len(ins) - 1)
    rule.__name__ = "grad_via_" + backward
    return rule


# ------------------------------------------------------------------------- transpose / swapaxes
def _transpose_axes(p: Any, nd: int) -> tuple:
    if not p.axes:
        return tuple(range(nd - 1, -1, -1))
    if len(p.axes) != nd:
        raise MXNetError("transpose axes %s must have one entry per input dimension (%d)"
                         % (shape_str(p.axes), nd))
    axes = tuple(norm_axis(a, nd) for a in p.axes)
    if sorted(axes) != list(range(nd)):
        raise MXNetError("transpose axes %s are not a permutation of the %d input axes"
                         % (shape_str(p.axes), nd))
    return axes


def _transpose_shape(p: Any, shapes: list):
    return infer_one(p, shapes, lambda p, s: tuple(s[a] for a in _transpose_axes(p, len(s))))


def _transpose_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    x = ins[0]
    outs[0][...] = oc.xp.transpose(x, _transpose_axes(p, x.ndim))


def _transpose_grad(F: Any, p: Any, ins: list, outs: list, ograds: list) -> list:
    # the inverse permutation; axes=() (reverse all) is its own inverse
    if not p.axes:
        return [F.call("transpose", [ograds[0]], p)]
    nd = len(p.axes)
    inv = [0] * nd
    for i, a in enumerate(p.axes):
        inv[a + nd if a < 0 else a] = i
    return [F.call("transpose", [ograds[0]], p, axes=tuple(inv))]


register(OpDef(
    "transpose",
    params=[Param("axes", Shape(), (), "target axis order; empty reverses all axes")],
    forward=_transpose_forward, infer_shape=_transpose_shape,
    gradient=_transpose_grad, keep_inputs=False, keep_outputs=False,
    doc="Permute the axes of ``data`` (``axes=()`` reverses them)."))


def _swap_dims(p: Any, nd: int) -> tuple:
    return norm_axis(p.dim1, nd, "dim1"), norm_axis(p.dim2, nd, "dim2")


def _swap_shape(p: Any, shapes: list):
    def rule(p, s):
        a, b = _swap_dims(p, len(s))
        d = list(s)
        d[a], d[b] = d[b], d[a]
        return d
    return infer_one(p, shapes, rule)


def _swap_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    a, b = _swap_dims(p, ins[0].ndim)
    outs[0][...] = oc.xp.swapaxes(ins[0], a, b)


register(OpDef(
    "SwapAxis", aliases=("swapaxes",),
    params=[Param("dim1", Int(), 0, "the first axis to swap"),
            Param("dim2", Int(), 0, "the second axis to swap")],
    forward=_swap_forward, infer_shape=_swap_shape,
    gradient=_same_op_grad("SwapAxis"), keep_inputs=False, keep_outputs=False,
    doc="Swap two axes of ``data``."))


# -------------------------------------------------------------- expand_dims / squeeze / Flatten
def _expand_shape(p: Any, shapes: list):
    def rule(p, s):
        nd = len(s)
        a = p.axis + nd + 1 if p.axis < 0 else p.axis
        if not 0 <= a <= nd:
            raise MXNetError("expand_dims axis %d is out of range [%d, %d] for an input of "
                             "%d dimensions" % (p.axis, -nd - 1, nd, nd))
        return s[:a] + (1,) + s[a:]
    return infer_one(p, shapes, rule)


register(OpDef(
    "expand_dims",
    params=[Param("axis", Int(), REQUIRED, "where to insert the new axis, in [-ndim-1, ndim]")],
    forward=_copy_forward, infer_shape=_expand_shape, inplace=((0, 0),),
    gradient=_reshape_back_grad, keep_inputs=(0,), keep_outputs=False,
    doc="Insert a size-1 axis at ``axis``."))


def _squeeze_rule(p: Any, s: tuple) -> tuple:
    nd = len(s)
    if p.axis is None:
        keep = [d for d in s if d != 1]
    else:
        drop = set()
        for a in p.axis:
            b = norm_axis(a, nd)
            if s[b] != 1:
                raise MXNetError("cannot squeeze axis %d of size %d (only size-1 axes)"
                                 % (a, s[b]))
            if b in drop:
                raise MXNetError("squeeze axis %s lists axis %d twice" % (p.axis, b))
            drop.add(b)
        keep = [d for i, d in enumerate(s) if i not in drop]
    # MXNet 1.x has no 0-d arrays: squeezing every axis leaves (1,)
    return tuple(keep) or (1,)


register(OpDef(
    "squeeze",
    params=[Param("axis", Axes(), None, "size-1 axes to remove; None removes all")],
    forward=_copy_forward, infer_shape=lambda p, sh: infer_one(p, sh, _squeeze_rule),
    inplace=((0, 0),), gradient=_reshape_back_grad, keep_inputs=(0,), keep_outputs=False,
    doc="Remove size-1 axes (all of them, or those in ``axis``); an all-ones shape gives (1,)."))


def _flatten_rule(p: Any, s: tuple) -> tuple:
    if len(s) == 0:
        raise MXNetError("Flatten needs an input with at least one dimension")
    return (s[0], _prod(s[1:]))


register(OpDef(
    "Flatten", aliases=("flatten",),
    forward=_copy_forward, infer_shape=lambda p, sh: infer_one(p, sh, _flatten_rule),
    inplace=((0, 0),), gradient=_reshape_back_grad, keep_inputs=(0,), keep_outputs=False,
    doc="Collapse all axes after the first: (N, d1, d2, ...) -> (N, d1*d2*...)."))


# --------------------------------------------------------------------------------- slice family
_SLICE_PARAMS = [
    Param("begin", Shape(allow_none=True), REQUIRED, "start indices; None means from the start"),
    Param("end", Shape(allow_none=True), REQUIRED,
          "stop indices (exclusive); None means to the end"),
    Param("step", Shape(allow_none=True), (), "steps (may be negative); empty means 1"),
]


def _slice_shape(p: Any, shapes: list):
    return infer_one(p, shapes,
                lambda p, s: slice_shape(s, slice_ranges(s, p.begin, p.end, p.step)))


def _slice_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    x = ins[0]
    outs[0][...] = x[slice_ranges(x.shape, p.begin, p.end, p.step)]


register(OpDef(
    "slice", aliases=("crop",), params=list(_SLICE_PARAMS),
    forward=_slice_forward, infer_shape=_slice_shape,
    gradient=_fused_grad("_backward_slice"), keep_inputs=(0,), keep_outputs=False,
    doc="Slice ``data`` with per-axis begin/end/step; entries may be None or negative."))


def _backward_slice_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    g, x = ins
    out = outs[0]
    out[...] = 0
    out[slice_ranges(x.shape, p.begin, p.end, p.step)] = g


def _backward_slice_grad(F: Any, p: Any, ins: list, outs: list, ograds: list) -> list:
    return [F.call("slice", [ograds[0]], p), None]


register(OpDef(
    "_backward_slice", inputs=("ograd", "data"), params=list(_SLICE_PARAMS),
    forward=_backward_slice_forward, infer_type=_ograd_type,
    infer_shape=lambda p, sh: _like_data_shape(
        p, sh, lambda p, s: slice_shape(s, slice_ranges(s, p.begin, p.end, p.step))),
    gradient=_backward_slice_grad, keep_inputs=False, keep_outputs=False,
    doc="Gradient of ``slice``: ``ograd`` written into zeros of ``data``'s shape at the "
        "sliced region."))


def _slice_axis_range(p: Any, s: tuple) -> tuple:
    axis = norm_axis(p.axis, len(s))
    size = s[axis]
    begin = p.begin + size if p.begin < 0 else p.begin
    if size > 0:
        end = size if p.end is None else (p.end + size if p.end < 0 else p.end)
        if end > size:
            raise MXNetError("slice_axis end %d exceeds the axis size %d" % (end, size))
        if not begin < end:
            raise MXNetError("slice_axis needs begin < end, got begin=%d, end=%s on an axis "
                             "of size %d" % (p.begin, p.end, size))
    else:
        begin = end = 0
    if begin < 0:
        raise MXNetError("slice_axis begin %d is out of range for an axis of size %d"
                         % (p.begin, size))
    return axis, begin, end


def _slice_axis_shape(p: Any, shapes: list):
    def rule(p, s):
        axis, b, e = _slice_axis_range(p, s)
        return s[:axis] + (e - b,) + s[axis + 1:]
    return infer_one(p, shapes, rule)


def _slice_axis_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    x = ins[0]
    axis, b, e = _slice_axis_range(p, x.shape)
    outs[0][...] = x[(slice(None),) * axis + (slice(b, e),)]


register(OpDef(
    "slice_axis",
    params=[Param("axis", Int(), REQUIRED, "the axis to slice (negative counts from the end)"),
            Param("begin", Int(), REQUIRED, "start index (negative counts from the end)"),
            Param("end", Optional_(Int()), REQUIRED, "stop index; None means to the end")],
    forward=_slice_axis_forward, infer_shape=_slice_axis_shape,
    gradient=_fused_grad("_backward_slice_axis"), keep_inputs=(0,), keep_outputs=False,
    doc="Slice ``data`` along one axis from ``begin`` to ``end``."))


def _backward_slice_axis_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    g, x = ins
    out = outs[0]
    axis, b, e = _slice_axis_range(p, x.shape)
    out[...] = 0
    out[_along(axis, slice(b, e))] = g


register(OpDef(
    "_backward_slice_axis", inputs=("ograd", "data"),
    params=[Param("axis", Int(), REQUIRED, "the sliced axis"),
            Param("begin", Int(), REQUIRED, "start index"),
            Param("end", Optional_(Int()), REQUIRED, "stop index; None means to the end")],
    forward=_backward_slice_axis_forward, infer_type=_ograd_type,
    infer_shape=lambda p, sh: _like_data_shape(
        p, sh, lambda p, s: _slice_axis_shape(p, [s])[1][0]),
    gradient=lambda F, p, ins, outs, og: [F.call("slice_axis", [og[0]], p), None],
    keep_inputs=False, keep_outputs=False,
    doc="Gradient of ``slice_axis``: ``ograd`` written into zeros of ``data``'s shape."))


def _slice_like_ranges(p: Any, s: tuple, like: tuple) -> tuple:
    if not p.axes:
        if len(s) != len(like):
            raise MXNetError("slice_like without axes needs inputs of equal rank, got %s and %s"
                             % (shape_str(s), shape_str(like)))
        axes = range(len(s))
    else:
        axes = []
        for a in p.axes:
            b = norm_axis(a, len(s))
            if b >= len(like):
                raise MXNetError("slice_like axis %d exceeds the rank of shape_like %s"
                                 % (a, shape_str(like)))
            axes.append(b)
    sl = [slice(None)] * len(s)
    for a in axes:
        if like[a] > s[a]:
            raise MXNetError("slice_like: axis %d of shape_like (%d) exceeds the input's (%d)"
                             % (a, like[a], s[a]))
        sl[a] = slice(0, like[a])
    return tuple(sl)


def _slice_like_shape(p: Any, shapes: list):
    s, like = shapes
    if s is None or like is None:
        return shapes, [None]
    return shapes, [slice_shape(tuple(s), _slice_like_ranges(p, tuple(s), tuple(like)))]


def _slice_like_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    x, like = ins
    outs[0][...] = x[_slice_like_ranges(p, x.shape, like.shape)]


register(OpDef(
    "slice_like", inputs=("data", "shape_like"),
    params=[Param("axes", Shape(), (), "axes to crop to shape_like's size; empty means all")],
    forward=_slice_like_forward, infer_shape=_slice_like_shape, infer_type=_first_type,
    gradient=_fused_grad("_backward_slice_like"), keep_inputs=(0,), keep_outputs=False,
    doc="Crop ``data`` to the shape of ``shape_like`` (from index 0) on ``axes``."))


def _backward_slice_like_shape(p: Any, shapes: list):
    g, d = shapes
    if g is None or d is None:
        return _like_data_shape(p, shapes)
    # the head gradient has shape_like's extent on the cropped axes
    slice_shape(tuple(d), _slice_like_ranges(p, tuple(d), tuple(g)))
    return _like_data_shape(p, shapes)


def _backward_slice_like_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    g, x = ins
    out = outs[0]
    out[...] = 0
    out[_slice_like_ranges(p, x.shape, g.shape)] = g


register(OpDef(
    "_backward_slice_like", inputs=("ograd", "data"),
    params=[Param("axes", Shape(), (), "the cropped axes; empty means all")],
    forward=_backward_slice_like_forward, infer_shape=_backward_slice_like_shape,
    infer_type=_ograd_type,
    gradient=lambda F, p, ins, outs, og: [F.call("slice_like", [og[0], ins[0]], p), None],
    keep_inputs=(0,), keep_outputs=False,
    doc="Gradient of ``slice_like``: ``ograd`` written into zeros of ``data``'s shape."))


def _slice_assign_shape(p: Any, shapes: list):
    lhs, rhs = shapes
    if lhs is None:
        return shapes, [None]
    lhs = tuple(lhs)
    want = slice_shape(lhs, slice_ranges(lhs, p.begin, p.end, p.step))
    if rhs is not None and tuple(rhs) != want:
        raise MXNetError("the value shape %s does not match the sliced region %s"
                         % (shape_str(rhs), shape_str(want)))
    return [lhs, want], [lhs]


def _slice_assign_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    lhs, rhs = ins
    out = outs[0]
    # when run in place ``out`` is lhs's buffer; a rhs viewing it must be read first
    if oc.xp.may_share_memory(out, rhs):
        rhs = rhs.copy()
    out[...] = lhs
    out[slice_ranges(lhs.shape, p.begin, p.end, p.step)] = rhs


register(OpDef(
    "_slice_assign", aliases=("_crop_assign",), inputs=("lhs", "rhs"),
    params=list(_SLICE_PARAMS),
    forward=_slice_assign_forward, infer_shape=_slice_assign_shape, inplace=((0, 0),),
    gradient=lambda F, p, ins, outs, og: [
        F.call("_slice_assign_scalar", [og[0]], None, scalar=0.0, begin=p.begin, end=p.end,
               step=p.step),
        F.call("slice", [og[0]], None, begin=p.begin, end=p.end, step=p.step)],
    keep_inputs=False, keep_outputs=False,
    doc="``lhs`` with the region ``[begin:end:step]`` replaced by ``rhs``."))


def _same_after_slice_check(p: Any, s: tuple) -> tuple:
    """The shape is unchanged; the slice parameters are still validated against it."""
    slice_ranges(s, p.begin, p.end, p.step)
    return s


def _slice_assign_scalar_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    x = ins[0]
    out = outs[0]
    out[...] = x
    out[slice_ranges(x.shape, p.begin, p.end, p.step)] = p.scalar


register(OpDef(
    "_slice_assign_scalar", aliases=("_crop_assign_scalar",),
    params=[Param("scalar", Float(), 0.0, "the value written into the region")]
    + list(_SLICE_PARAMS),
    forward=_slice_assign_scalar_forward, inplace=((0, 0),),
    infer_shape=lambda p, sh: infer_one(p, sh, _same_after_slice_check),
    # the overwritten region receives nothing: the same op writing 0 there
    gradient=lambda F, p, ins, outs, og: [
        F.call("_slice_assign_scalar", [og[0]], p, scalar=0.0)],
    keep_inputs=False, keep_outputs=False,
    doc="``data`` with the region ``[begin:end:step]`` filled with ``scalar``."))


# ----------------------------------------------------------------------- Concat / stack / split
def _concat_shape(p: Any, shapes: list):
    if any(s is None for s in shapes):
        return shapes, [None]
    first = tuple(shapes[0])
    nd = len(first)
    if nd == 0:
        raise MXNetError("Concat needs inputs with at least one dimension")
    dim = norm_axis(p.dim, nd, "dim")
    total = 0
    for s in shapes:
        s = tuple(s)
        if len(s) != nd or s[:dim] != first[:dim] or s[dim + 1:] != first[dim + 1:]:
            raise MXNetError("all input shapes must match except on dim %d, got %s"
                             % (dim, " vs ".join(shape_str(x) for x in shapes)))
        total += s[dim]
    return shapes, [first[:dim] + (total,) + first[dim + 1:]]


def _concat_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    out = outs[0]
    dim = norm_axis(p.dim, out.ndim, "dim")
    lead = (slice(None),) * dim
    pos = 0
    for x in ins:
        n = x.shape[dim]
        out[lead + (slice(pos, pos + n),)] = x
        pos += n


register(OpDef(
    "Concat", aliases=("concat",), varargs="num_args",
    inputs=lambda p: ["arg%d" % i for i in range(p.num_args)],
    params=[Param("num_args", Int(lo=1), REQUIRED, "number of inputs (filled automatically)"),
            Param("dim", Int(), 1, "the axis to join along")],
    forward=_concat_forward, infer_shape=_concat_shape,
    gradient=lambda F, p, ins, outs, og: _as_list(
        F.call("_backward_Concat", [og[0]] + list(ins), p)),
    keep_inputs=True, keep_outputs=False,
    doc="Join arrays along ``dim`` (default 1); other dimensions must match."))


def _as_list(h: Any) -> list:
    """A gradient op's result as a list (ops with one visible output return a handle)."""
    return list(h) if isinstance(h, (list, tuple)) else [h]


def _backward_concat_shape(p: Any, shapes: list):
    parts = list(shapes[1:])
    if shapes[0] is not None and all(s is not None for s in parts):
        _, (want,) = _concat_shape(p, parts)
        if tuple(shapes[0]) != want:
            raise MXNetError("head gradient of shape %s does not match the concatenated "
                             "shape %s" % (shape_str(shapes[0]), shape_str(want)))
    return shapes, parts


def _backward_concat_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    g = ins[0]
    dim = norm_axis(p.dim, g.ndim, "dim")
    pos = 0
    for o in outs:
        n = o.shape[dim]
        o[...] = g[_along(dim, slice(pos, pos + n))]
        pos += n


register(OpDef(
    "_backward_Concat", varargs="num_args",
    inputs=lambda p: ["ograd"] + ["arg%d" % i for i in range(p.num_args)],
    params=[Param("num_args", Int(lo=1), REQUIRED, "number of concatenated inputs"),
            Param("dim", Int(), 1, "the axis they were joined along")],
    num_outputs=lambda p: p.num_args, visible_outputs=lambda p: p.num_args,
    forward=_backward_concat_forward, infer_shape=_backward_concat_shape,
    infer_type=lambda p, d: (list(d), [d[0]] * p.num_args),
    gradient=lambda F, p, ins, outs, og: [F.call("Concat", og, p)] + [None] * p.num_args,
    keep_inputs=False, keep_outputs=False,
    doc="Gradient of ``Concat``: ``ograd`` cut back into pieces of the inputs' shapes."))


def _stack_shape(p: Any, shapes: list):
    known = unify([None if s is None else tuple(s) for s in shapes], "input shapes")
    if known is None:
        return shapes, [None]
    axis = norm_axis(p.axis, len(known) + 1)
    return [known] * len(shapes), [known[:axis] + (len(shapes),) + known[axis:]]


def _stack_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    out = outs[0]
    axis = norm_axis(p.axis, out.ndim)
    lead = (slice(None),) * axis
    for i, x in enumerate(ins):
        out[lead + (i,)] = x


register(OpDef(
    "stack", varargs="num_args",
    inputs=lambda p: ["arg%d" % i for i in range(p.num_args)],
    params=[Param("axis", Int(), 0, "position of the new axis in the result"),
            Param("num_args", Int(lo=1), REQUIRED, "number of inputs (filled automatically)")],
    forward=_stack_forward, infer_shape=_stack_shape,
    # unstack: split the new axis into size-1 parts and drop it
    gradient=lambda F, p, ins, outs, og: _as_list(F.call(
        "SliceChannel", [og[0]], None, num_outputs=p.num_args, axis=p.axis,
        squeeze_axis=True)),
    keep_inputs=False, keep_outputs=False,
    doc="Join same-shaped arrays along a new axis ``axis``."))


def _split_shape(p: Any, shapes: list):
    (s,) = shapes
    n = p.num_outputs
    if s is None:
        return shapes, [None] * n
    s = tuple(s)
    axis = norm_axis(p.axis, len(s))
    if s[axis] % n:
        raise MXNetError("cannot split axis %d of size %d into %d equal parts"
                         % (axis, s[axis], n))
    if p.squeeze_axis and s[axis] != n:
        raise MXNetError("squeeze_axis=True needs the split axis size (%d) to equal "
                         "num_outputs (%d)" % (s[axis], n))
    part = s[:axis] + (s[axis] // n,) + s[axis + 1:]
    if p.squeeze_axis:
        part = s[:axis] + s[axis + 1:]
    return shapes, [part] * n


def _split_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    x = ins[0]
    axis = norm_axis(p.axis, x.ndim)
    step = x.shape[axis] // p.num_outputs
    lead = (slice(None),) * axis
    for i, o in enumerate(outs):
        o[...] = x[lead + (slice(i * step, (i + 1) * step),)].reshape(o.shape)


def _split_grad(F: Any, p: Any, ins: list, outs: list, ograds: list) -> list:
    # the parts joined back: concat, or stack when the split axis was squeezed away
    if p.squeeze_axis:
        return [F.call("stack", ograds, None, axis=p.axis, num_args=p.num_outputs)]
    return [F.call("Concat", ograds, None, dim=p.axis, num_args=p.num_outputs)]


register(OpDef(
    "SliceChannel", aliases=("split",),
    params=[Param("num_outputs", Int(lo=1), REQUIRED, "number of equal parts"),
            Param("axis", Int(), 1, "the axis to split"),
            Param("squeeze_axis", Bool(), False, "drop the split axis (parts must be size 1)")],
    # visible_outputs set explicitly so that num_outputs=1 returns one NDArray, not a list
    num_outputs=lambda p: p.num_outputs, visible_outputs=lambda p: p.num_outputs,
    forward=_split_forward, infer_shape=_split_shape,
    infer_type=lambda p, d: (list(d), [d[0]] * p.num_outputs),
    gradient=_split_grad, keep_inputs=False, keep_outputs=False,
    doc="Split ``data`` into ``num_outputs`` equal parts along ``axis`` (default 1)."))


# -------------------------------------------------------------------------------- _split_v2
def _split_v2_count(p: Any) -> int:
    return p.sections if p.sections > 0 else len(p.indices)


def _split_v2_ranges(p: Any, s: tuple) -> tuple:
    """(axis, [(start, end) per output]) of ``_split_v2`` on shape ``s``: ``sections``
    equal parts, or parts starting at each entry of ``indices`` (the last runs to the
    end of the axis)."""
    axis = norm_axis(p.axis, len(s))
    size = s[axis]
    if p.sections < 0:
        raise MXNetError("_split_v2 sections must be non-negative, got %d" % p.sections)
    if p.sections > 0:
        if size % p.sections:
            raise MXNetError("_split_v2: axis %d of size %d does not divide into %d equal "
                             "sections" % (axis, size, p.sections))
        step = size // p.sections
        ranges = [(i * step, (i + 1) * step) for i in range(p.sections)]
    else:
        if not p.indices:
            raise MXNetError("_split_v2 needs indices or sections > 0")
        starts = [i + size if i < 0 else i for i in p.indices]
        ends = starts[1:] + [size]
        ranges = list(zip(starts, ends))
        for k, (b, e) in enumerate(ranges):
            if not 0 <= b <= e <= size:
                raise MXNetError("_split_v2: part %d would run from %d to %d on an axis of "
                                 "size %d; indices %s must be increasing and within the axis"
                                 % (k, b, e, size, shape_str(p.indices)))
    if p.squeeze_axis:
        for k, (b, e) in enumerate(ranges):
            if e - b != 1:
                raise MXNetError("_split_v2: squeeze_axis=True needs parts of size 1, part %d "
                                 "has size %d" % (k, e - b))
    return axis, ranges


def _split_v2_part_shape(p: Any, s: tuple, axis: int, b: int, e: int) -> tuple:
    if p.squeeze_axis:
        return s[:axis] + s[axis + 1:]
    return s[:axis] + (e - b,) + s[axis + 1:]


def _split_v2_shape(p: Any, shapes: list):
    (s,) = shapes
    n = _split_v2_count(p)
    if s is None:
        return shapes, [None] * n
    s = tuple(s)
    axis, ranges = _split_v2_ranges(p, s)
    return shapes, [_split_v2_part_shape(p, s, axis, b, e) for b, e in ranges]


def _split_v2_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    x = ins[0]
    axis, ranges = _split_v2_ranges(p, x.shape)
    for o, (b, e) in zip(outs, ranges):
        o[...] = x[_along(axis, slice(b, e))].reshape(o.shape)


_SPLIT_V2_PARAMS = [
    Param("indices", Shape(), REQUIRED,
          "start index of each part (nd.split_v2 passes (0,) + its split points)"),
    Param("axis", Int(), 1, "the axis to split"),
    Param("squeeze_axis", Bool(), False, "drop the split axis (parts must be size 1)"),
    Param("sections", Int(), 0, "if > 0: split into this many equal parts, ignoring indices"),
]

register(OpDef(
    "_split_v2", params=list(_SPLIT_V2_PARAMS),
    num_outputs=_split_v2_count, visible_outputs=_split_v2_count,
    forward=_split_v2_forward, infer_shape=_split_v2_shape,
    infer_type=lambda p, d: (list(d), [d[0]] * _split_v2_count(p)),
    gradient=lambda F, p, ins, outs, og: [F.call("_split_v2_backward", list(og) + [ins[0]], p)],
    keep_inputs=True, keep_outputs=False,
    doc="NumPy-style split behind ``nd.split_v2``: ``sections`` equal parts, or parts "
        "starting at each entry of ``indices`` along ``axis``."))


def _split_v2_backward_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    x = ins[-1]
    out = outs[0]
    axis, ranges = _split_v2_ranges(p, x.shape)
    out[...] = 0  # elements before the first start belong to no part
    for g, (b, e) in zip(ins[:-1], ranges):
        region = out[_along(axis, slice(b, e))]
        region[...] = g.reshape(region.shape)


def _split_v2_backward_shape(p: Any, shapes: list):
    d = shapes[-1]
    if d is None:
        return shapes, [None]
    _, want = _split_v2_shape(p, [d])
    for k, (g, w) in enumerate(zip(shapes[:-1], want)):
        if g is not None and tuple(g) != tuple(w):
            raise MXNetError("head gradient %d of shape %s does not match the part shape %s"
                             % (k, shape_str(g), shape_str(w)))
    return list(want) + [tuple(d)], [tuple(d)]


register(OpDef(
    "_split_v2_backward", params=list(_SPLIT_V2_PARAMS),
    inputs=lambda p: ["ograd%d" % i for i in range(_split_v2_count(p))] + ["data"],
    forward=_split_v2_backward_forward, infer_shape=_split_v2_backward_shape,
    infer_type=lambda p, d: (list(d), [d[0]]),
    gradient=lambda F, p, ins, outs, og: _as_list(F.call("_split_v2", [og[0]], p)) + [None],
    keep_inputs=False, keep_outputs=False,
    doc="Gradient of ``_split_v2``: the parts' gradients written back into zeros of "
        "``data``'s shape."))


# ---------------------------------------------------------------------- tile / repeat / reverse
def _tile_rule(p: Any, s: tuple) -> tuple:
    reps = p.reps
    if any(r < 0 for r in reps):
        raise MXNetError("tile reps %s must be non-negative" % (shape_str(reps),))
    if not reps:
        return s
    n = max(len(s), len(reps))
    s2 = (1,) * (n - len(s)) + s
    r2 = (1,) * (n - len(reps)) + tuple(reps)
    return tuple(a * b for a, b in zip(s2, r2))


def _tile_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    if outs[0].size:
        outs[0][...] = oc.xp.tile(ins[0], p.reps) if p.reps else ins[0]


register(OpDef(
    "tile",
    params=[Param("reps", Shape(), REQUIRED, "repetitions per axis (NumPy tile rules)")],
    forward=_tile_forward, infer_shape=lambda p, sh: infer_one(p, sh, _tile_rule),
    gradient=_fused_grad("_backward_tile"), keep_inputs=(0,), keep_outputs=False,
    doc="Repeat the whole array ``reps`` times per axis (NumPy ``tile``)."))


def _backward_tile_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    g, x = ins
    out = outs[0]
    s, reps = x.shape, tuple(p.reps)
    n = max(len(s), len(reps))
    s2 = (1,) * (n - len(s)) + s
    r2 = (1,) * (n - len(reps)) + reps
    # the tiled axis d*r splits into (r, d) with the copy index outermost: sum the copies
    inter = tuple(v for pair in zip(r2, s2) for v in pair)
    acc = _acc(oc.xp, g).reshape(inter)
    out[...] = acc.sum(axis=tuple(range(0, 2 * n, 2))).reshape(s)


register(OpDef(
    "_backward_tile", inputs=("ograd", "data"),
    params=[Param("reps", Shape(), REQUIRED, "repetitions per axis")],
    forward=_backward_tile_forward, infer_type=_ograd_type,
    infer_shape=lambda p, sh: _like_data_shape(p, sh, _tile_rule),
    gradient=lambda F, p, ins, outs, og: [F.call("tile", [og[0]], p), None],
    keep_inputs=False, keep_outputs=False,
    doc="Gradient of ``tile``: the sum of the head gradient over all copies."))


def _repeat_rule(p: Any, s: tuple) -> tuple:
    if p.repeats < 0:
        raise MXNetError("repeats must be non-negative, got %d" % p.repeats)
    axis = None if p.axis is None else norm_axis(p.axis, len(s))
    if p.repeats == 0:
        # MXNet returns an empty 1-D array whatever the axis
        return (0,)
    if axis is None:
        return (_prod(s) * p.repeats,)
    return s[:axis] + (s[axis] * p.repeats,) + s[axis + 1:]


def _repeat_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    if p.repeats == 0 or outs[0].size == 0:
        return
    x = ins[0]
    axis = None if p.axis is None else norm_axis(p.axis, x.ndim)
    outs[0][...] = oc.xp.repeat(x, p.repeats, axis=axis).reshape(outs[0].shape)


register(OpDef(
    "repeat",
    params=[Param("repeats", Int(), REQUIRED, "repetitions of each element"),
            Param("axis", Optional_(Int()), None, "the axis; None flattens the input first")],
    forward=_repeat_forward, infer_shape=lambda p, sh: infer_one(p, sh, _repeat_rule),
    gradient=_fused_grad("_backward_repeat"), keep_inputs=(0,), keep_outputs=False,
    doc="Repeat each element ``repeats`` times (NumPy ``repeat``)."))


def _backward_repeat_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    g, x = ins
    out = outs[0]
    if p.repeats == 0 or x.size == 0:
        out[...] = 0
        return
    s = x.shape
    acc = _acc(oc.xp, g)
    if p.axis is None:
        # the flattened input repeated element-wise: consecutive runs of `repeats`
        out[...] = acc.reshape(-1, p.repeats).sum(axis=1).reshape(s)
        return
    a = norm_axis(p.axis, len(s))
    out[...] = acc.reshape(s[:a] + (s[a], p.repeats) + s[a + 1:]).sum(axis=a + 1)


register(OpDef(
    "_backward_repeat", inputs=("ograd", "data"),
    params=[Param("repeats", Int(), REQUIRED, "repetitions of each element"),
            Param("axis", Optional_(Int()), None, "the axis; None: the flattened input")],
    forward=_backward_repeat_forward, infer_type=_ograd_type,
    infer_shape=lambda p, sh: _like_data_shape(p, sh, _repeat_rule),
    gradient=lambda F, p, ins, outs, og: [F.call("repeat", [og[0]], p), None],
    keep_inputs=False, keep_outputs=False,
    doc="Gradient of ``repeat``: the sum of the head gradient over the repeats."))


def _reverse_axes(p: Any, nd: int) -> tuple:
    return tuple(sorted({norm_axis(a, nd) for a in p.axis}))


def _reverse_rule(p: Any, s: tuple) -> tuple:
    _reverse_axes(p, len(s))
    return s


def _reverse_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    x = ins[0]
    sl = [slice(None)] * x.ndim
    for a in _reverse_axes(p, x.ndim):
        sl[a] = slice(None, None, -1)
    outs[0][...] = x[tuple(sl)]


register(OpDef(
    "reverse", aliases=("flip",),
    params=[Param("axis", Shape(), REQUIRED, "axes to reverse")],
    forward=_reverse_forward, infer_shape=lambda p, sh: infer_one(p, sh, _reverse_rule),
    gradient=_same_op_grad("reverse"), keep_inputs=False, keep_outputs=False,
    doc="Reverse the order of elements along each axis in ``axis``."))


# ------------------------------------------------------------------- broadcast_to / axis / like
def _broadcast_to_rule(p: Any, s: tuple) -> tuple:
    if len(p.shape) != len(s):
        raise MXNetError("cannot broadcast %s to %s: the ranks differ"
                         % (shape_str(s), shape_str(p.shape)))
    out = []
    for d, t in zip(s, p.shape):
        if t == 0:
            out.append(d)
        elif d == t or d == 1:
            out.append(t)
        else:
            raise MXNetError("cannot broadcast %s to %s: only size-1 axes can grow"
                             % (shape_str(s), shape_str(p.shape)))
    return tuple(out)


def _broadcast_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    # assignment broadcasts size-1 axes; both shapes have the same rank here
    outs[0][...] = ins[0]


def _sum_back_grad(F: Any, p: Any, ins: list, outs: list, ograds: list) -> list:
    """Gradient of the broadcasts: the head gradient summed back over the axes that grew
    (all three keep the input's rank, so size-1 axes are exactly the grown ones)."""
    return [F.call("_reduce_sum_like", [ograds[0], ins[0]])] + [None] * (len(ins) - 1)


register(OpDef(
    "broadcast_to",
    params=[Param("shape", Shape(), (), "target shape; 0 keeps the input's size")],
    forward=_broadcast_forward, infer_shape=lambda p, sh: infer_one(p, sh, _broadcast_to_rule),
    gradient=_sum_back_grad, keep_inputs=(0,), keep_outputs=False,
    doc="Broadcast size-1 axes of ``data`` to ``shape``."))


def _broadcast_axis_rule(p: Any, s: tuple) -> tuple:
    if len(p.axis) != len(p.size):
        raise MXNetError("broadcast_axis axis %s and size %s must have the same length"
                         % (shape_str(p.axis), shape_str(p.size)))
    out = list(s)
    for a, n in zip(p.axis, p.size):
        b = norm_axis(a, len(s))
        if s[b] != 1 and s[b] != n:
            raise MXNetError("cannot broadcast axis %d of size %d to %d (it must have size 1)"
                             % (a, s[b], n))
        out[b] = n
    return tuple(out)


register(OpDef(
    "broadcast_axis", aliases=("broadcast_axes",),
    params=[Param("axis", Shape(), (), "size-1 axes to broadcast"),
            Param("size", Shape(), (), "the target size of each axis")],
    forward=_broadcast_forward, infer_shape=lambda p, sh: infer_one(p, sh, _broadcast_axis_rule),
    gradient=_sum_back_grad, keep_inputs=(0,), keep_outputs=False,
    doc="Broadcast the size-1 axes ``axis`` of ``data`` to ``size``."))


def _broadcast_like_shape(p: Any, shapes: list):
    lhs, rhs = shapes
    if lhs is None or rhs is None:
        return shapes, [None]
    lhs, rhs = tuple(lhs), tuple(rhs)
    if p.lhs_axes is None and p.rhs_axes is None:
        if len(lhs) != len(rhs):
            raise MXNetError("cannot broadcast %s like %s: the ranks differ"
                             % (shape_str(lhs), shape_str(rhs)))
        for d, t in zip(lhs, rhs):
            if d != t and d != 1:
                raise MXNetError("cannot broadcast %s like %s: only size-1 axes can grow"
                                 % (shape_str(lhs), shape_str(rhs)))
        return [lhs, rhs], [rhs]
    la, ra = p.lhs_axes or (), p.rhs_axes or ()
    if len(la) != len(ra) or not la:
        raise MXNetError("lhs_axes %s and rhs_axes %s must be non-empty and of equal length"
                         % (p.lhs_axes, p.rhs_axes))
    out = list(lhs)
    for a, b in zip(la, ra):
        i = norm_axis(a, len(lhs), "lhs_axes entry")
        j = norm_axis(b, len(rhs), "rhs_axes entry")
        if lhs[i] != 1 and lhs[i] != rhs[j]:
            raise MXNetError("lhs axis %d of size %d cannot be broadcast to %d"
                             % (a, lhs[i], rhs[j]))
        out[i] = rhs[j]
    return [lhs, rhs], [tuple(out)]


def _broadcast_like_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    outs[0][...] = ins[0]


register(OpDef(
    "broadcast_like", inputs=("lhs", "rhs"),
    params=[Param("lhs_axes", Axes(), None, "axes of lhs to broadcast; None means all"),
            Param("rhs_axes", Axes(), None, "axes of rhs giving the target sizes")],
    forward=_broadcast_like_forward, infer_shape=_broadcast_like_shape,
    infer_type=_first_type, gradient=_sum_back_grad, keep_inputs=(0,), keep_outputs=False,
    doc="Broadcast ``lhs`` to the shape of ``rhs`` (optionally only on given axes)."))


def _range_of(b: Optional[int], e: Optional[int], nd: int, what: str) -> tuple:
    b = 0 if b is None else (b + nd if b < 0 else b)
    e = nd if e is None else (e + nd if e < 0 else e)
    if not 0 <= b <= e <= nd:
        raise MXNetError("invalid %s axis range [%d, %d) for %d dimensions" % (what, b, e, nd))
    return b, e


def _reshape_like_shape(p: Any, shapes: list):
    lhs, rhs = shapes
    if lhs is None or rhs is None:
        return shapes, [None]
    lhs, rhs = tuple(lhs), tuple(rhs)
    lb, le = _range_of(p.lhs_begin, p.lhs_end, len(lhs), "lhs")
    rb, re_ = _range_of(p.rhs_begin, p.rhs_end, len(rhs), "rhs")
    out = lhs[:lb] + rhs[rb:re_] + lhs[le:]
    if _prod(out) != _prod(lhs):
        raise MXNetError("cannot reshape %s into %s: the sizes differ"
                         % (shape_str(lhs), shape_str(out)))
    return [lhs, rhs], [out]


register(OpDef(
    "reshape_like", inputs=("lhs", "rhs"),
    params=[Param("lhs_begin", Optional_(Int()), None, "first lhs axis replaced"),
            Param("lhs_end", Optional_(Int()), None, "end of the replaced lhs axes"),
            Param("rhs_begin", Optional_(Int()), None, "first rhs axis copied"),
            Param("rhs_end", Optional_(Int()), None, "end of the copied rhs axes")],
    forward=_copy_forward, infer_shape=_reshape_like_shape, infer_type=_first_type,
    gradient=_reshape_back_grad, keep_inputs=(0,), keep_outputs=False,
    doc="Reshape ``lhs`` to the shape of ``rhs`` (or splice a range of rhs's axes in)."))


# ------------------------------------------------------------------------------------------ Pad
def _pad_pairs(p: Any, s: tuple) -> list:
    nd = len(s)
    pw = p.pad_width
    if len(pw) != 2 * nd:
        raise MXNetError("pad_width %s must have 2*ndim = %d entries"
                         % (shape_str(pw), 2 * nd))
    if nd not in (4, 5) or any(pw[:4]):
        raise MXNetError("Pad supports only 4-D or 5-D input with zero padding on the first "
                         "two axes, got input %s and pad_width %s" % (shape_str(s), shape_str(pw)))
    if any(w < 0 for w in pw):
        raise MXNetError("pad_width %s must be non-negative" % (shape_str(pw),))
    pairs = [(pw[2 * i], pw[2 * i + 1]) for i in range(nd)]
    if p.mode == "reflect":
        for i, (a, b) in enumerate(pairs):
            if max(a, b) >= s[i] and max(a, b) > 0:
                raise MXNetError("reflect padding %d on axis %d needs the axis (size %d) to "
                                 "be larger than the padding" % (max(a, b), i, s[i]))
    return pairs


def _pad_rule(p: Any, s: tuple) -> tuple:
    return tuple(d + a + b for d, (a, b) in zip(s, _pad_pairs(p, s)))


def _pad_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    x = ins[0]
    pairs = _pad_pairs(p, x.shape)
    xp = oc.xp
    if p.mode == "constant":
        outs[0][...] = xp.pad(x, pairs, mode="constant", constant_values=p.constant_value)
    else:
        outs[0][...] = xp.pad(x, pairs, mode=p.mode)


register(OpDef(
    "Pad", aliases=("pad",),
    params=[Param("mode", Str(("constant", "edge", "reflect")), REQUIRED, "padding mode"),
            Param("pad_width", Shape(), REQUIRED, "(before, after) per axis, 2*ndim entries"),
            Param("constant_value", Float(), 0.0, "fill value of constant mode")],
    forward=_pad_forward, infer_shape=lambda p, sh: infer_one(p, sh, _pad_rule),
    gradient=_fused_grad("_backward_Pad"), keep_inputs=(0,), keep_outputs=False,
    doc="Pad a 4-D/5-D array on its spatial axes (constant, edge or reflect)."))


def _backward_pad_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    g, x = ins
    pairs = _pad_pairs(p, x.shape)
    acc = _acc(oc.xp, g)
    # padding is separable: undo it one axis at a time (the per-axis adjoints commute).
    # Each border element is a copy of one input element, whose gradient collects it.
    for axis, (a, b) in enumerate(pairs):
        if a == 0 and b == 0:
            continue
        n = x.shape[axis]
        inner = acc[_along(axis, slice(a, a + n))].copy()
        before = acc[_along(axis, slice(0, a))]
        after = acc[_along(axis, slice(a + n, a + n + b))]
        if p.mode == "edge":
            inner[_along(axis, slice(0, 1))] += before.sum(axis=axis, keepdims=True)
            inner[_along(axis, slice(n - 1, n))] += after.sum(axis=axis, keepdims=True)
        elif p.mode == "reflect":
            # padded position a-1-t mirrors input t+1; position a+n+t mirrors n-2-t
            rev = _along(axis, slice(None, None, -1))
            inner[_along(axis, slice(1, a + 1))] += before[rev]
            inner[_along(axis, slice(n - 1 - b, n - 1))] += after[rev]
        acc = inner
    outs[0][...] = acc


def _backward_pad_grad(F: Any, p: Any, ins: list, outs: list, ograds: list) -> list:
    # linear in the head gradient; its adjoint is the padding itself without the constant
    return [F.call("Pad", [ograds[0]], p, constant_value=0.0), None]


register(OpDef(
    "_backward_Pad", inputs=("ograd", "data"),
    params=[Param("mode", Str(("constant", "edge", "reflect")), REQUIRED, "padding mode"),
            Param("pad_width", Shape(), REQUIRED, "(before, after) per axis"),
            Param("constant_value", Float(), 0.0, "fill value of constant mode (unused)")],
    forward=_backward_pad_forward, infer_type=_ograd_type,
    infer_shape=lambda p, sh: _like_data_shape(p, sh, _pad_rule),
    gradient=_backward_pad_grad, keep_inputs=False, keep_outputs=False,
    doc="Gradient of ``Pad``: the interior of the head gradient plus, for edge and "
        "reflect modes, the border entries added to the input elements they copy."))


# -------------------------------------------------------------- depth_to_space / space_to_depth
def _block_check(p: Any, s: tuple, name: str) -> int:
    if len(s) != 4:
        raise MXNetError("%s needs a 4-D input, got %s" % (name, shape_str(s)))
    b = p.block_size
    if b <= 0:
        raise MXNetError("block_size must be positive, got %d" % b)
    if 0 in s:
        raise MXNetError("%s needs non-empty dimensions, got %s" % (name, shape_str(s)))
    return b


def _d2s_rule(p: Any, s: tuple) -> tuple:
    b = _block_check(p, s, "depth_to_space")
    if s[1] % (b * b):
        raise MXNetError("depth_to_space: channels %d are not a multiple of block_size^2 = %d"
                         % (s[1], b * b))
    return (s[0], s[1] // (b * b), s[2] * b, s[3] * b)


def _d2s_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    x = ins[0]
    n, c, h, w = x.shape
    b = p.block_size
    # depth is read as (b, b, C') blocks (DCR order) and interleaved into H and W
    y = x.reshape(n, b, b, c // (b * b), h, w).transpose(0, 3, 4, 1, 5, 2)
    outs[0][...] = y.reshape(outs[0].shape)


def _s2d_rule(p: Any, s: tuple) -> tuple:
    b = _block_check(p, s, "space_to_depth")
    if s[2] % b or s[3] % b:
        raise MXNetError("space_to_depth: height %d and width %d must be multiples of "
                         "block_size %d" % (s[2], s[3], b))
    return (s[0], s[1] * b * b, s[2] // b, s[3] // b)


def _s2d_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    x = ins[0]
    n, c, h, w = x.shape
    b = p.block_size
    y = x.reshape(n, c, h // b, b, w // b, b).transpose(0, 3, 5, 1, 2, 4)
    outs[0][...] = y.reshape(outs[0].shape)


register(OpDef(
    "depth_to_space",
    params=[Param("block_size", Int(), REQUIRED, "edge of the moved blocks")],
    forward=_d2s_forward, infer_shape=lambda p, sh: infer_one(p, sh, _d2s_rule),
    gradient=lambda F, p, ins, outs, og: [F.call("space_to_depth", [og[0]], p)],
    keep_inputs=False, keep_outputs=False,
    doc="Move (block_size x block_size) blocks of channels into space: NCHW -> "
        "(N, C/b^2, H*b, W*b)."))

register(OpDef(
    "space_to_depth",
    params=[Param("block_size", Int(), REQUIRED, "edge of the moved blocks")],
    forward=_s2d_forward, infer_shape=lambda p, sh: infer_one(p, sh, _s2d_rule),
    gradient=lambda F, p, ins, outs, og: [F.call("depth_to_space", [og[0]], p)],
    keep_inputs=False, keep_outputs=False,
    doc="Inverse of depth_to_space: NCHW -> (N, C*b^2, H/b, W/b)."))


# ----------------------------------------------------------------------------------------- diag
def _diag_rule(p: Any, s: tuple) -> tuple:
    nd = len(s)
    if nd == 0:
        raise MXNetError("diag needs an input with at least one dimension")
    if nd == 1:
        n = s[0] + abs(p.k)
        return (n, n)
    a1 = norm_axis(p.axis1, nd, "axis1")
    a2 = norm_axis(p.axis2, nd, "axis2")
    if a1 == a2:
        raise MXNetError("diag axis1 and axis2 must differ, both are %d" % a1)
    n1, n2 = s[a1], s[a2]
    length = min(n1, n2 - p.k) if p.k >= 0 else min(n1 + p.k, n2)
    rest = tuple(d for i, d in enumerate(s) if i not in (a1, a2))
    return rest + (max(0, length),)


def _diag_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    x = ins[0]
    xp = oc.xp
    if x.ndim == 1:
        outs[0][...] = xp.diag(x, p.k)
    else:
        a1 = norm_axis(p.axis1, x.ndim)
        a2 = norm_axis(p.axis2, x.ndim)
        outs[0][...] = xp.diagonal(x, p.k, a1, a2)


register(OpDef(
    "diag",
    params=[Param("k", Int(), 0, "diagonal offset (positive: above the main diagonal)"),
            Param("axis1", Int(), 0, "first axis of the 2-D sub-arrays (N-D input)"),
            Param("axis2", Int(), 1, "second axis of the 2-D sub-arrays (N-D input)")],
    forward=_diag_forward, infer_shape=lambda p, sh: infer_one(p, sh, _diag_rule),
    gradient=_fused_grad("_backward_diag"), keep_inputs=(0,), keep_outputs=False,
    doc="1-D input: a square matrix with it on diagonal ``k``; N-D input: the ``k``-th "
        "diagonal of the (axis1, axis2) planes, appended as the last axis."))


def _backward_diag_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    g, x = ins
    out = outs[0]
    if x.ndim == 1:
        # the input was placed on diagonal k: read it back
        out[...] = xp.diagonal(g, p.k)
        return
    a1 = norm_axis(p.axis1, x.ndim)
    a2 = norm_axis(p.axis2, x.ndim)
    out[...] = 0
    n = g.shape[-1]
    rows = xp.arange(n) + max(0, -p.k)
    cols = xp.arange(n) + max(0, p.k)
    # a view with the two planes' axes last; writing it writes ``out``
    planes = xp.moveaxis(out, (a1, a2), (-2, -1))
    planes[..., rows, cols] = g


register(OpDef(
    "_backward_diag", inputs=("ograd", "data"),
    params=[Param("k", Int(), 0, "diagonal offset"),
            Param("axis1", Int(), 0, "first axis of the 2-D sub-arrays"),
            Param("axis2", Int(), 1, "second axis of the 2-D sub-arrays")],
    forward=_backward_diag_forward, infer_type=_ograd_type,
    infer_shape=lambda p, sh: _like_data_shape(p, sh, _diag_rule),
    gradient=lambda F, p, ins, outs, og: [F.call("diag", [og[0]], p), None],
    keep_inputs=False, keep_outputs=False,
    doc="Gradient of ``diag``: the diagonal of the head gradient (1-D input) or the head "
        "gradient placed on the diagonal of zeros of the input's shape."))


# --------------------------------------------------------------------- shape_array / size_array
def _int64_type(p: Any, dtypes: list):
    return list(dtypes), [np.dtype(np.int64)]


def _shape_array_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    outs[0][...] = oc.xp.asarray(ins[0].shape, dtype=outs[0].dtype)


def _size_array_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    outs[0][...] = ins[0].size


register(OpDef(
    "shape_array", forward=_shape_array_forward, infer_type=_int64_type,
    gradient=zero_grad, keep_inputs=False, keep_outputs=False,
    infer_shape=lambda p, sh: infer_one(p, sh, lambda p, s: (len(s),)),
    doc="The shape of ``data`` as a 1-D int64 array."))

register(OpDef(
    "size_array", forward=_size_array_forward, infer_type=_int64_type,
    gradient=zero_grad, keep_inputs=False, keep_outputs=False,
    infer_shape=lambda p, sh: infer_one(p, sh, lambda p, s: (1,)),
    doc="The number of elements of ``data`` as a (1,) int64 array."))


# ---------------------------------------------------------------------------------- cast_storage
_STYPES = ("default", "row_sparse", "csr")


def _cast_storage_rule(p: Any, s: tuple) -> tuple:
    if p.stype == "csr" and len(s) != 2:
        raise MXNetError("csr storage needs a 2-D array, got %s" % shape_str(s))
    if p.stype == "row_sparse" and len(s) == 0:
        raise MXNetError("row_sparse storage needs at least one dimension")
    return s


register(OpDef(
    "cast_storage",
    params=[Param("stype", Str(_STYPES), REQUIRED, "target storage type")],
    forward=_copy_forward, infer_shape=lambda p, sh: infer_one(p, sh, _cast_storage_rule),
    gradient=lambda F, p, ins, outs, og: [og[0]], keep_inputs=False, keep_outputs=False,
    doc="Change the storage type. Op records hold dense arrays, so this op (what graphs "
        "and the dense path run) copies the values and checks that ``stype`` can hold "
        "them; ``mx.nd.cast_storage`` returns real sparse containers "
        "(mixnet.ndarray.sparse.cast_storage)."))
