"""Shape-manipulation ops that keep every element: transpose, axis swaps and reversal,
axis insertion/removal, broadcasting to a shape, ``reshape_like``, pixel shuffles,
diagonals, ``cast_storage`` and the shape/size queries, with their gradient rules; and
the helpers the shape op families share. Ops that cut, join or copy arrays (slices,
``Concat``/``stack``/``split``, ``tile``/``repeat``, ``Pad``) live in :mod:`.slicing`.

Every kernel is written against ``oc.xp`` so it runs unchanged on NumPy and CuPy; shape
rules follow MXNet 1.9.1 (``(1,)`` instead of 0-d results).

Gradients follow MXNet: pure data movement moves the head gradient back (reshapes via
``reshape_like``, inverse transposes, ``depth_to_space`` <-> ``space_to_depth``); ops
that drop or duplicate elements have fused ``_backward_<op>`` kernels that take the
forward input only for its shape (broadcasts use ``_reduce_sum_like``).
``shape_array``/``size_array`` have zero gradient. The fused backward ops are themselves
differentiable (they are linear in the head gradient), so higher-order gradients work.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from ..base import MXNetError
from .params import REQUIRED, Axes, Int, Optional_, Param, Shape, Str
from .gradient import zero_grad
from .registry import OpDef, infer_one, register, shape_str

__all__ = ["norm_axis"]


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


# ------------------------------------------------------------------------------------ reverse
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
