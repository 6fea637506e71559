"""Indexing and ordering ops: take, pick, batch_take, one_hot, where, gather_nd,
scatter_nd, topk, sort and argsort.

Index inputs follow MXNet 1.x: they are usually float arrays whose values are truncated
toward zero, and out-of-range indices are clipped or wrapped (``mode``) rather than
rejected, except where MXNet checks them. Sorts are stable, so equal keys keep their
input order in both directions. Kernels use ``oc.xp`` only, so they run on NumPy and CuPy.

Gradients: index inputs never receive one. Gathers scatter the head gradient back into
zeros of the data's shape (``take``/``gather_nd`` add up repeated indices with one
``bincount``; ``pick``/``batch_take``/``topk``/``sort`` hit each position at most once);
``where`` routes it to x or y by the condition; ``one_hot``, ``argsort`` and the
``indices``/``mask`` forms of ``topk`` have zero gradient. ``topk`` and ``sort`` recompute
their (stable, hence identical) order from the input in the fused backward instead of
keeping a hidden index output.
"""
from __future__ import annotations

from math import prod as _prod
from typing import Any

import numpy as np

from ..base import MXNetError
from .params import REQUIRED, Bool, DType, Float, Int, Optional_, Param, Shape, Str
from .gradient import zero_grad
from .registry import OpDef, infer_one, register, shape_str
from .shape import norm_axis

_INDEX_DTYPES = ("float16", "float32", "float64", "int32", "int64", "uint8")
_ALL_DTYPES = ("float32", "float64", "float16", "uint8", "int8", "int32", "int64", "bool")


def _as_index(xp: Any, a: Any) -> Any:
    """``a`` as int64 indices, floats truncated toward zero as MXNet's casts do."""
    return a.astype(xp.int64, copy=False)




def _first_type(p: Any, dtypes: list):
    """The output takes the data input's dtype; index inputs keep their own."""
    return list(dtypes), [dtypes[0]]


def _data_shape(p: Any, shapes: list):
    """Shape rule of fused backward ops whose last input is the forward data: the
    gradient has its shape."""
    d = shapes[-1]
    return shapes, [None if d is None else tuple(d)]


def _scatter_add(xp: Any, lin: Any, vals: Any, size: int, out: Any) -> None:
    """``out`` (of ``size`` elements) = zeros with ``vals`` added at the flat positions
    ``lin`` (repeats accumulate): one ``bincount``, which sums in float64."""
    acc = xp.bincount(lin.reshape(-1), weights=vals.reshape(-1).astype(xp.float64),
                      minlength=size)
    out[...] = acc[:size].reshape(out.shape).astype(out.dtype)


def _index_grad(backward: str):
    """The rule ``[backward(ograd, indices, data), None]`` of gathers."""
    def rule(F, p, ins, outs, ograds):
        return [F.call(backward, [ograds[0], ins[1], ins[0]], p), None]
    rule.__name__ = "grad_via_" + backward
    return rule


def _gather_again(forward: str):
    """Higher-order rule of a fused scatter ``(ograd, indices, data)``: linear in
    ``ograd``, whose adjoint is the forward gather again."""
    def rule(F, p, ins, outs, ograds):
        return [F.call(forward, [ograds[0], ins[1]], p), None, None]
    rule.__name__ = "grad_via_" + forward
    return rule


# ----------------------------------------------------------------------------------------- take
def _take_shape(p: Any, shapes: list):
    a, ind = shapes
    if a is None or ind is None:
        return shapes, [None]
    a, ind = tuple(a), tuple(ind)
    if not a:
        raise MXNetError("take needs data with at least one dimension")
    axis = norm_axis(p.axis, len(a))
    if a[axis] == 0 and _prod(ind) > 0:
        raise MXNetError("take from axis %d of size 0" % axis)
    return [a, ind], [a[:axis] + ind + a[axis + 1:]]


def _take_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    a, ind = ins
    axis = norm_axis(p.axis, a.ndim)
    n = a.shape[axis]
    if p.mode == "raise":
        # MXNet compares the raw (possibly fractional) values against [0, n-1]
        if ind.size and bool(xp.any((ind < 0) | (ind > n - 1))):
            raise MXNetError("take operator contains indices out of bound: axis %d has size %d"
                             % (axis, n))
    idx = _as_index(xp, ind)
    if p.mode == "wrap":
        idx = idx % n
    else:
        idx = xp.clip(idx, 0, n - 1)
    outs[0][...] = xp.take(a, idx, axis=axis)


register(OpDef(
    "take", inputs=("a", "indices"),
    params=[Param("axis", Int(), 0, "the axis to gather along"),
            Param("mode", Str(("clip", "wrap", "raise")), "clip",
                  "out-of-range indices: clip to the ends, wrap around, or raise")],
    forward=_take_forward, infer_shape=_take_shape, infer_type=_first_type,
    gradient=_index_grad("_backward_take"), keep_inputs=True, keep_outputs=False,
    doc="Gather slices of ``a`` along ``axis`` at ``indices`` (float indices truncated)."))


def _backward_take_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    g, ind, a = ins
    out = outs[0]
    axis = norm_axis(p.axis, a.ndim)
    n = a.shape[axis]
    idx = _as_index(xp, ind).reshape(-1)
    # the gradient goes where the forward read: wrapped, or clipped (raise mode only
    # ever saw in-range indices)
    idx = idx % n if p.mode == "wrap" else xp.clip(idx, 0, n - 1)
    lead, tail = _prod(a.shape[:axis]), _prod(a.shape[axis + 1:])
    m = idx.shape[0]
    # flat position in the (lead, n, tail) layout of every element of g's (lead, m, tail)
    lin = ((xp.arange(lead, dtype=xp.int64)[:, None, None] * n + idx[None, :, None]) * tail
           + xp.arange(tail, dtype=xp.int64)[None, None, :])
    _scatter_add(xp, lin, g.reshape(lead, m, tail), a.size, out)


register(OpDef(
    "_backward_take", inputs=("ograd", "indices", "a"),
    params=[Param("axis", Int(), 0, "the gathered axis"),
            Param("mode", Str(("clip", "wrap", "raise")), "clip", "index mode")],
    forward=_backward_take_forward, infer_shape=_data_shape, infer_type=_first_type,
    gradient=_gather_again("take"), keep_inputs=(1,), keep_outputs=False,
    doc="Gradient of ``take``: the head gradient scatter-added into zeros of ``a``'s "
        "shape at the (clipped or wrapped) indices."))


# ---------------------------------------------------------------------------- pick / batch_take
def _pick_shapes(p: Any, s: tuple) -> tuple:
    if p.axis is None:
        raise MXNetError("pick needs an axis (axis=None is not supported)")
    axis = norm_axis(p.axis, len(s))
    reduced = (s[:axis] + s[axis + 1:]) or (1,)
    kept = s[:axis] + (1,) + s[axis + 1:]
    return axis, reduced, kept


def _pick_shape(p: Any, shapes: list):
    s, idx = shapes
    if s is None:
        return shapes, [None]
    s = tuple(s)
    _, reduced, kept = _pick_shapes(p, s)
    if idx is None:
        idx = reduced
    elif tuple(idx) not in (reduced, kept):
        raise MXNetError("index shape %s must be the data shape without axis %d, i.e. %s"
                         % (shape_str(idx), p.axis, shape_str(reduced)))
    return [s, tuple(idx)], [kept if p.keepdims else reduced]


def _pick_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    data, index = ins
    axis, _, kept = _pick_shapes(p, data.shape)
    n = data.shape[axis]
    idx = _as_index(xp, index)
    idx = idx % n if p.mode == "wrap" else xp.clip(idx, 0, n - 1)
    got = xp.take_along_axis(data, idx.reshape(kept), axis)
    outs[0][...] = got.reshape(outs[0].shape)


register(OpDef(
    "pick", aliases=("choose_element_0index",), inputs=("data", "index"),
    params=[Param("axis", Optional_(Int()), -1, "the axis to pick along"),
            Param("keepdims", Bool(), False, "keep the picked axis with size 1"),
            Param("mode", Str(("clip", "wrap")), "clip", "out-of-range indices: clip or wrap")],
    forward=_pick_forward, infer_shape=_pick_shape, infer_type=_first_type,
    gradient=_index_grad("_backward_pick"), keep_inputs=True, keep_outputs=False,
    doc="One element per position along ``axis``: out[i] = data[i, index[i]] for 2-D data."))


def _scatter_last(xp: Any, data_shape: tuple, axis: int, idx: Any, g: Any, out: Any) -> None:
    """``out`` = zeros of ``data_shape`` with the rows (all axes but ``axis``, in order)
    holding ``g`` at position ``idx`` along ``axis``; one position per row."""
    n = data_shape[axis]
    rest = data_shape[:axis] + data_shape[axis + 1:]
    rows = _prod(rest)
    buf = xp.zeros((rows, n), dtype=out.dtype)
    buf[xp.arange(rows), idx.reshape(-1)] = g.reshape(-1)
    out[...] = xp.moveaxis(buf.reshape(rest + (n,)), -1, axis)


def _backward_pick_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    g, index, data = ins
    axis, _, _ = _pick_shapes(p, data.shape)
    n = data.shape[axis]
    idx = _as_index(xp, index)
    idx = idx % n if p.mode == "wrap" else xp.clip(idx, 0, n - 1)
    _scatter_last(xp, data.shape, axis, idx, g, outs[0])


register(OpDef(
    "_backward_pick", inputs=("ograd", "index", "data"),
    params=[Param("axis", Optional_(Int()), -1, "the picked axis"),
            Param("keepdims", Bool(), False, "whether the picked axis was kept"),
            Param("mode", Str(("clip", "wrap")), "clip", "index mode")],
    forward=_backward_pick_forward, infer_shape=_data_shape, infer_type=_first_type,
    gradient=_gather_again("pick"), keep_inputs=(1,), keep_outputs=False,
    doc="Gradient of ``pick``: the head gradient placed at the picked positions of zeros "
        "of ``data``'s shape."))


def _batch_take_shape(p: Any, shapes: list):
    a, ind = shapes
    if a is None or ind is None:
        return shapes, [None if ind is None else tuple(ind)]
    a, ind = tuple(a), tuple(ind)
    if len(a) < 2:
        raise MXNetError("batch_take needs data with at least 2 dimensions")
    if _prod(a[:-1]) != _prod(ind):
        raise MXNetError("batch_take needs one index per row of data: %d rows, %d indices"
                         % (_prod(a[:-1]), _prod(ind)))
    return [a, ind], [ind]


def _batch_take_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    a, ind = ins
    rows = a.reshape(-1, a.shape[-1])
    idx = xp.clip(_as_index(xp, ind).reshape(-1), 0, a.shape[-1] - 1)
    got = rows[xp.arange(rows.shape[0]), idx]
    outs[0][...] = got.reshape(outs[0].shape)


register(OpDef(
    "batch_take", inputs=("a", "indices"),
    forward=_batch_take_forward, infer_shape=_batch_take_shape, infer_type=_first_type,
    gradient=_index_grad("_backward_batch_take"), keep_inputs=True, keep_outputs=False,
    doc="out[i] = a[i, indices[i]] for each row of ``a`` (indices clipped)."))


def _backward_batch_take_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    g, ind, a = ins
    idx = xp.clip(_as_index(xp, ind), 0, a.shape[-1] - 1)
    _scatter_last(xp, a.shape, a.ndim - 1, idx, g, outs[0])


register(OpDef(
    "_backward_batch_take", inputs=("ograd", "indices", "a"),
    forward=_backward_batch_take_forward, infer_shape=_data_shape, infer_type=_first_type,
    gradient=_gather_again("batch_take"), keep_inputs=(1,), keep_outputs=False,
    doc="Gradient of ``batch_take``: the head gradient placed at the taken positions."))


# -------------------------------------------------------------------------------------- one_hot
def _one_hot_shape(p: Any, shapes: list):
    if p.depth < 0:
        raise MXNetError("one_hot depth must be non-negative, got %d" % p.depth)
    return infer_one(p, shapes, lambda p, s: s + (p.depth,))


def _one_hot_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    out = outs[0]
    j = _as_index(xp, ins[0])
    # an index outside [0, depth) matches no column, leaving an all-off row
    hit = j[..., None] == xp.arange(p.depth)
    on = xp.asarray(p.on_value).astype(out.dtype)
    off = xp.asarray(p.off_value).astype(out.dtype)
    out[...] = xp.where(hit, on, off)


register(OpDef(
    "one_hot", inputs=("indices",),
    params=[Param("depth", Int(), REQUIRED, "size of the one-hot axis"),
            Param("on_value", Float(), 1.0, "value at the indexed position"),
            Param("off_value", Float(), 0.0, "value elsewhere"),
            Param("dtype", DType(choices=_ALL_DTYPES), np.dtype(np.float32), "output dtype")],
    forward=_one_hot_forward, infer_shape=_one_hot_shape,
    infer_type=lambda p, d: (list(d), [p.dtype]),
    gradient=zero_grad, keep_inputs=False, keep_outputs=False,
    doc="One-hot encode ``indices`` into a new last axis of size ``depth``."))


# ---------------------------------------------------------------------------------------- where
def _where_shape(p: Any, shapes: list):
    cond, x, y = shapes
    if x is not None and y is not None and tuple(x) != tuple(y):
        raise MXNetError("x %s and y %s must have the same shape" % (shape_str(x), shape_str(y)))
    t = None if x is None and y is None else tuple(x if x is not None else y)
    if t is None:
        return shapes, [None]
    if cond is not None:
        c = tuple(cond)
        if c != t and not (len(c) == 1 and len(t) >= 1 and c[0] == t[0]):
            raise MXNetError("condition %s must have the shape of x %s or be 1-D of length "
                             "x.shape[0]" % (shape_str(c), shape_str(t)))
    return [cond, t, t], [t]


def _where_type(p: Any, dtypes: list):
    c, x, y = dtypes
    if x is not None and y is not None and x != y:
        raise MXNetError("x and y must have the same dtype, got %s and %s" % (x, y))
    t = x if x is not None else y
    return [c, t, t], [t]


def _where_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    cond, x, y = ins
    mask = cond != 0
    if cond.shape != x.shape:
        # 1-D condition selects whole rows
        mask = mask.reshape((cond.shape[0],) + (1,) * (x.ndim - 1))
    outs[0][...] = xp.where(mask, x, y)


def _where_grad(F: Any, p: Any, ins: list, outs: list, ograds: list) -> list:
    gx, gy = F.call("_backward_where", [ograds[0], ins[0]])
    return [None, gx, gy]


register(OpDef(
    "where", inputs=("condition", "x", "y"),
    forward=_where_forward, infer_shape=_where_shape, infer_type=_where_type,
    gradient=_where_grad, keep_inputs=(0,), keep_outputs=False,
    doc="Elements of ``x`` where ``condition`` is non-zero, else of ``y``; a 1-D condition "
        "selects rows."))


def _backward_where_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    g, cond = ins
    mask = cond != 0
    if cond.shape != g.shape:
        mask = mask.reshape((cond.shape[0],) + (1,) * (g.ndim - 1))
    zero = xp.zeros((), dtype=g.dtype)
    outs[0][...] = xp.where(mask, g, zero)
    outs[1][...] = xp.where(mask, zero, g)


def _backward_where_shape(p: Any, shapes: list):
    g, c = shapes
    if g is not None and c is not None:
        _where_shape(p, [c, g, g])
    return shapes, [g, g]


register(OpDef(
    "_backward_where", inputs=("ograd", "condition"), num_outputs=2,
    forward=_backward_where_forward, infer_shape=_backward_where_shape,
    infer_type=lambda p, d: (list(d), [d[0], d[0]]),
    gradient=lambda F, p, ins, outs, og: [F.where(ins[1], og[0], og[1]), None],
    keep_inputs=(1,), keep_outputs=False,
    doc="Gradient of ``where``: the head gradient split into its x part (condition "
        "true) and y part (condition false)."))


# ----------------------------------------------------------------------- gather_nd / scatter_nd
def _nd_index_check(ishape: tuple, target: tuple, name: str) -> int:
    if len(ishape) < 2:
        raise MXNetError("%s needs an index array of at least 2 dimensions, got %s"
                         % (name, shape_str(ishape)))
    m = ishape[0]
    if m > len(target):
        raise MXNetError("%s: %d index rows exceed the %d dimensions of %s"
                         % (name, m, len(target), shape_str(target)))
    return m


def _gather_nd_shape(p: Any, shapes: list):
    d, ind = shapes
    if d is None or ind is None:
        return shapes, [None]
    d, ind = tuple(d), tuple(ind)
    m = _nd_index_check(ind, d, "gather_nd")
    return [d, ind], [ind[1:] + d[m:]]


def _nd_indices(xp: Any, ind: Any, dims: tuple, name: str) -> tuple:
    """One integer index array per leading axis, negative entries wrapped once; entries
    outside [-dim, dim) raise at kernel time instead of reading out of bounds."""
    out = []
    # widen first so that small index dtypes (uint8, float16) neither overflow nor round
    wide = ind.astype(xp.float64 if ind.dtype.kind == "f" else xp.int64)
    for j, dim in enumerate(dims):
        v = wide[j]
        if v.size and bool(xp.any((v < -dim) | (v > dim - 1))):
            raise MXNetError("%s: index out of bounds for axis %d with size %d" % (name, j, dim))
        # MXNet adds the dim before truncating, so -0.5 maps to dim-1 like -1 does
        out.append(_as_index(xp, v + dim) % dim)
    return tuple(out)


def _gather_nd_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    data, ind = ins
    idx = _nd_indices(oc.xp, ind, data.shape[:ind.shape[0]], "gather_nd")
    outs[0][...] = data[idx]


register(OpDef(
    "gather_nd", inputs=("data", "indices"),
    forward=_gather_nd_forward, infer_shape=_gather_nd_shape, infer_type=_first_type,
    gradient=lambda F, p, ins, outs, og: [
        F.call("_backward_gather_nd", [og[0], ins[1], ins[0]]), None],
    keep_inputs=True, keep_outputs=False,
    doc="Gather from ``data`` with index rows: out[i...] = data[indices[0, i...], "
        "indices[1, i...], ...]."))


def _scattered_data_check(d: tuple, ind: tuple, out: tuple, name: str,
                          prefix: str = "") -> None:
    """Check that ``data`` of shape ``d`` fits writing into ``out`` at index rows ``ind``
    (the shape ``gather_nd`` would give); ``prefix`` leads the error message."""
    m = _nd_index_check(ind, out, name)
    want = ind[1:] + out[m:]
    if d != want:
        raise MXNetError("%sdata %s must have shape %s for indices %s and output %s"
                         % (prefix, shape_str(d), shape_str(want), shape_str(ind),
                            shape_str(out)))


def _scatter_nd_shape(p: Any, shapes: list):
    d, ind = shapes
    out = tuple(p.shape)
    if d is None or ind is None:
        return shapes, [out]
    d, ind = tuple(d), tuple(ind)
    _scattered_data_check(d, ind, out, "scatter_nd", "scatter_nd: ")
    return [d, ind], [out]


def _scatter_nd_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    data, ind = ins
    out = outs[0]
    out[...] = 0
    idx = _nd_indices(oc.xp, ind, out.shape[:ind.shape[0]], "scatter_nd")
    out[idx] = data


register(OpDef(
    "scatter_nd", inputs=("data", "indices"),
    params=[Param("shape", Shape(), REQUIRED, "shape of the output")],
    forward=_scatter_nd_forward, infer_shape=_scatter_nd_shape, infer_type=_first_type,
    gradient=lambda F, p, ins, outs, og: [F.gather_nd(og[0], ins[1]), None],
    keep_inputs=(1,), keep_outputs=False,
    doc="Inverse of gather_nd: write ``data`` into zeros of ``shape`` at ``indices``."))


def _bgnd_inputs(p: Any) -> list:
    # MXNet's form takes the output shape as a parameter; gradient rules, which may not
    # read shapes, pass the gathered-from array as a third input instead
    return ["data", "indices"] if p.shape else ["data", "indices", "like"]


def _bgnd_target(p: Any, shapes: list) -> Any:
    if p.shape:
        return tuple(p.shape)
    return None if shapes[2] is None else tuple(shapes[2])


def _bgnd_shape(p: Any, shapes: list):
    d, ind = shapes[0], shapes[1]
    out = _bgnd_target(p, shapes)
    if out is None or d is None or ind is None:
        return shapes, [out]
    _scattered_data_check(tuple(d), tuple(ind), out, "_backward_gather_nd")
    return shapes, [out]


def _bgnd_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    data, ind = ins[0], ins[1]
    out = outs[0]
    m = ind.shape[0]
    lead = out.shape[:m]
    idx = _nd_indices(xp, ind, lead, "_backward_gather_nd")
    tail = _prod(out.shape[m:])
    flat = xp.ravel_multi_index(idx, lead) if m else xp.zeros(ind.shape[1:], xp.int64)
    lin = flat.reshape(-1, 1).astype(xp.int64) * tail + xp.arange(tail, dtype=xp.int64)
    _scatter_add(xp, lin, data, out.size, out)


register(OpDef(
    "_backward_gather_nd", inputs=_bgnd_inputs,
    params=[Param("shape", Shape(), (), "shape of the output; empty: that of input 'like'")],
    forward=_bgnd_forward, infer_shape=_bgnd_shape, infer_type=_first_type,
    gradient=lambda F, p, ins, outs, og: [F.gather_nd(og[0], ins[1])] + [None] * (len(ins) - 1),
    keep_inputs=(1,), keep_outputs=False,
    doc="Gradient of ``gather_nd``: like ``scatter_nd`` but values at repeated indices are "
        "added up."))


# -------------------------------------------------------------------------------------- sorting
def _argsort_last(xp: Any, a: Any, ascending: bool) -> Any:
    """Stable argsort along the last axis; equal keys keep input order either way."""
    def stable(v: Any) -> Any:
        if xp is np:
            return np.argsort(v, axis=-1, kind="stable")
        return xp.argsort(v, axis=-1)  # CuPy's sort is a stable radix/merge sort
    if ascending:
        return stable(a)
    # sort the reversed array ascending and read it backwards: descending order with
    # ties still in ascending index order, for every dtype (no negation needed)
    n = a.shape[-1]
    return (n - 1) - stable(a[..., ::-1])[..., ::-1]


def _sort_axis(axis: Any, s: tuple):
    """(axis or None, element count along it) for sort-family ops."""
    if axis is None:
        return None, _prod(s)
    a = norm_axis(axis, len(s))
    return a, s[a]


def _to_last(xp: Any, x: Any, axis: Any) -> Any:
    return x.reshape(1, -1) if axis is None else xp.moveaxis(x, axis, -1)


def _from_last(xp: Any, y: Any, axis: Any, shape: tuple) -> Any:
    return y.reshape(shape) if axis is None else xp.moveaxis(y, -1, axis)


def _topk_geom(p: Any, s: tuple):
    axis, n = _sort_axis(p.axis, s)
    k = p.k if p.k > 0 else n
    if not 1 <= k <= n:
        raise MXNetError("topk k must be in [1, %d] (the elements along the axis), got %d"
                         % (n, p.k))
    if p.ret_typ == "mask":
        shape = s
    elif axis is None:
        shape = (k,)
    else:
        shape = s[:axis] + (k,) + s[axis + 1:]
    return axis, k, shape


def _topk_nout(p: Any) -> int:
    return 2 if p.ret_typ == "both" else 1


def _topk_shape(p: Any, shapes: list):
    (s,) = shapes
    n_out = _topk_nout(p)
    if s is None:
        return shapes, [None] * n_out
    _, _, shape = _topk_geom(p, tuple(s))
    return shapes, [shape] * n_out


def _topk_type(p: Any, dtypes: list):
    d = dtypes[0]
    return list(dtypes), {"both": [d, p.dtype], "indices": [p.dtype],
                          "value": [d], "mask": [d]}[p.ret_typ]


def _topk_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    x = ins[0]
    axis, k, _ = _topk_geom(p, x.shape)
    xa = _to_last(xp, x, axis)
    order = _argsort_last(xp, xa, p.is_ascend)[..., :k]
    if p.ret_typ == "mask":
        mask = xp.zeros(xa.shape, x.dtype)
        rows = mask.reshape(-1, xa.shape[-1])
        rows[xp.arange(rows.shape[0])[:, None], order.reshape(rows.shape[0], k)] = 1
        outs[0][...] = _from_last(xp, mask, axis, x.shape)
        return
    res = {}
    if p.ret_typ in ("value", "both"):
        res["value"] = _from_last(xp, xp.take_along_axis(xa, order, -1), axis, (k,))
    if p.ret_typ in ("indices", "both"):
        res["indices"] = _from_last(xp, order, axis, (k,))
    names = ["value", "indices"] if p.ret_typ == "both" else [p.ret_typ]
    for o, name in zip(outs, names):
        o[...] = res[name]


register(OpDef(
    "topk",
    params=[Param("axis", Optional_(Int()), -1, "the axis; None uses the flattened array"),
            Param("k", Int(), 1, "how many elements; k < 1 selects all"),
            Param("ret_typ", Str(("value", "indices", "mask", "both")), "indices",
                  "return values, indices, a 0/1 mask, or [values, indices]"),
            Param("is_ascend", Bool(), False, "pick the k smallest instead of the largest"),
            Param("dtype", DType(choices=_INDEX_DTYPES), np.dtype(np.float32),
                  "dtype of returned indices")],
    # visible_outputs given so single-output forms return an NDArray, not a list
    num_outputs=_topk_nout, visible_outputs=_topk_nout,
    forward=_topk_forward, infer_shape=_topk_shape, infer_type=_topk_type,
    gradient=lambda F, p, ins, outs, og: (
        [F.call("_backward_topk", [og[0], ins[0]], p)]
        if p.ret_typ in ("value", "both") else [None]),
    keep_inputs=True, keep_outputs=False,
    doc="The k largest (or smallest) elements along ``axis``: their indices (default), "
        "values, both, or a mask."))


def _scatter_order(xp: Any, g: Any, order: Any, xa_shape: tuple) -> Any:
    """Zeros of ``xa_shape`` (sort axis last) with ``g`` (k per row) written at the
    positions ``order`` (k distinct per row)."""
    n = xa_shape[-1]
    rows = _prod(xa_shape[:-1])
    k = order.shape[-1]
    buf = xp.zeros((rows, n), dtype=g.dtype)
    buf[xp.arange(rows)[:, None], order.reshape(rows, k)] = g.reshape(rows, k)
    return buf.reshape(xa_shape)


def _backward_topk_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    g, x = ins
    axis, k, _ = _topk_geom(p, x.shape)
    xa = _to_last(xp, x, axis)
    order = _argsort_last(xp, xa, p.is_ascend)[..., :k]
    buf = _scatter_order(xp, _to_last(xp, g, axis), order, xa.shape)
    outs[0][...] = _from_last(xp, buf, axis, x.shape)


register(OpDef(
    "_backward_topk", inputs=("ograd", "data"),
    params=[Param("axis", Optional_(Int()), -1, "the axis; None: the flattened array"),
            Param("k", Int(), 1, "how many elements"),
            Param("ret_typ", Str(("value", "indices", "mask", "both")), "indices",
                  "the forward's return type"),
            Param("is_ascend", Bool(), False, "whether the k smallest were taken"),
            Param("dtype", DType(choices=_INDEX_DTYPES), np.dtype(np.float32),
                  "dtype of the forward's indices")],
    forward=_backward_topk_forward, infer_shape=_data_shape, infer_type=_first_type,
    keep_inputs=True, keep_outputs=False,
    doc="Gradient of ``topk`` values: the head gradient placed at the selected positions "
        "(the order is recomputed from ``data``)."))


def _sort_rule(p: Any, s: tuple) -> tuple:
    axis, n = _sort_axis(p.axis, s)
    return (n,) if axis is None else s


def _sort_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    x = ins[0]
    axis, n = _sort_axis(p.axis, x.shape)
    xa = _to_last(xp, x, axis)
    y = xp.sort(xa, axis=-1)
    if not p.is_ascend:
        y = y[..., ::-1]
    outs[0][...] = _from_last(xp, y, axis, (n,))


def _argsort_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    x = ins[0]
    axis, n = _sort_axis(p.axis, x.shape)
    order = _argsort_last(xp, _to_last(xp, x, axis), p.is_ascend)
    outs[0][...] = _from_last(xp, order, axis, (n,))


register(OpDef(
    "sort",
    params=[Param("axis", Optional_(Int()), -1, "the axis; None sorts the flattened array"),
            Param("is_ascend", Bool(), True, "ascending (True) or descending order")],
    forward=_sort_forward, infer_shape=lambda p, sh: infer_one(p, sh, _sort_rule),
    gradient=lambda F, p, ins, outs, og: [F.call("_backward_sort", [og[0], ins[0]], p)],
    keep_inputs=True, keep_outputs=False,
    doc="Sorted copy of ``data`` along ``axis``."))


def _backward_sort_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    g, x = ins
    axis, n = _sort_axis(p.axis, x.shape)
    xa = _to_last(xp, x, axis)
    order = _argsort_last(xp, xa, p.is_ascend)
    buf = _scatter_order(xp, _to_last(xp, g, axis), order, xa.shape)
    outs[0][...] = _from_last(xp, buf, axis, x.shape)


register(OpDef(
    "_backward_sort", inputs=("ograd", "data"),
    params=[Param("axis", Optional_(Int()), -1, "the axis; None: the flattened array"),
            Param("is_ascend", Bool(), True, "the forward's order")],
    forward=_backward_sort_forward, infer_shape=_data_shape, infer_type=_first_type,
    keep_inputs=True, keep_outputs=False,
    doc="Gradient of ``sort``: the head gradient moved back through the sorting "
        "permutation (recomputed from ``data``)."))

register(OpDef(
    "argsort",
    params=[Param("axis", Optional_(Int()), -1, "the axis; None sorts the flattened array"),
            Param("is_ascend", Bool(), True, "ascending (True) or descending order"),
            Param("dtype", DType(choices=_INDEX_DTYPES), np.dtype(np.float32),
                  "dtype of the returned indices")],
    forward=_argsort_forward, infer_shape=lambda p, sh: infer_one(p, sh, _sort_rule),
    infer_type=lambda p, d: (list(d), [p.dtype]),
    gradient=zero_grad, keep_inputs=False, keep_outputs=False,
    doc="Indices that sort ``data`` along ``axis`` (stable; float32 by default)."))
