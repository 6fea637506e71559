"""Ops that cut, join or copy arrays: ``slice``/``slice_axis``/``slice_like`` and the
slice assignments, ``Concat``/``stack``/``split``/``_split_v2``, ``tile``/``repeat`` and
``Pad``, with their gradient rules; and the helpers ``slice_ranges``/``slice_shape``
(MXNet's slice parameters as Python slices) and ``concat_into``/``split_into`` (join
arrays along an axis and cut them back out).

Every kernel is written against ``oc.xp`` so it runs unchanged on NumPy and CuPy; shape
rules follow MXNet 1.9.1 (MXNet's slice clamping, the legacy ``Pad`` restrictions).

Gradients follow MXNet: ``split`` <-> ``concat``/``stack`` move the head gradient back;
ops that drop or duplicate elements have fused ``_backward_<op>`` kernels that take the
forward input only for its shape (slices scatter into zeros, ``tile``/``repeat``/``Pad``
sum the copies). The fused backward ops are themselves differentiable (they are linear in
the head gradient), so higher-order gradients work.
"""
from __future__ import annotations

from typing import Any

from ..base import MXNetError
from .params import REQUIRED, Bool, Float, Int, Optional_, Param, Shape, Str
from .registry import OpDef, infer_one, register, shape_str, unify
from .shape import (_acc, _along, _first_type, _fused_grad, _like_data_shape, _ograd_type,
                    _prod, norm_axis)

__all__ = ["slice_ranges", "slice_shape", "concat_into", "split_into"]


# -------------------------------------------------------------------------------------- helpers
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


def concat_into(out: Any, parts: list, axis: int) -> None:
    """Write ``parts`` one after another along ``axis`` (non-negative) of ``out``."""
    pos = 0
    for x in parts:
        n = x.shape[axis]
        out[_along(axis, slice(pos, pos + n))] = x
        pos += n


def split_into(whole: Any, parts: list, axis: int) -> None:
    """Fill ``parts`` with consecutive pieces of ``whole`` along ``axis`` (non-negative),
    each as long as the part: the inverse of :func:`concat_into`."""
    pos = 0
    for o in parts:
        n = o.shape[axis]
        o[...] = whole[_along(axis, slice(pos, pos + n))]
        pos += n


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
    concat_into(outs[0], ins, norm_axis(p.dim, outs[0].ndim, "dim"))


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
    split_into(ins[0], outs, norm_axis(p.dim, ins[0].ndim, "dim"))


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


# ---------------------------------------------------------------------------- tile / repeat
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
