"""Variable-length sequence ops: ``SequenceMask``, ``SequenceLast`` and ``SequenceReverse``.

MXNet 1.9 conventions kept here:

* ``data`` has the sequence on ``axis`` (0: ``(T, N, ...)``, 1: ``(N, T, ...)``; rank >= 2)
  and the batch on the other of the first two axes. ``SequenceReverse`` supports only
  ``axis=0``, as MXNet does.
* The ``sequence_length`` input exists only when ``use_sequence_length=True``; it has shape
  ``(N,)`` and any numeric dtype, its values truncated to int. Without it every sequence
  has the full length ``T``.
* ``SequenceMask`` writes ``value`` at steps ``t >= length[n]``; ``SequenceLast`` picks step
  ``length[n] - 1`` (the output drops the sequence axis); ``SequenceReverse`` reverses the
  first ``length[n]`` steps and leaves the rest in place. Lengths are clipped into
  ``[0, T]`` (``SequenceLast``: the picked step into ``[0, T-1]``), where MXNet reads out of
  bounds.
* Gradients flow to ``data`` only: masked steps get zero, ``SequenceLast`` scatters the head
  gradient back to the picked step, ``SequenceReverse`` reverses the head gradient the same
  way. ``sequence_length`` gets none.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..base import MXNetError, dtype_name
from .params import Bool, Float, Int, Param
from .registry import OpDef, register, shape_str


def _inputs(p: Any) -> list:
    return ["data", "sequence_length"] if p.use_sequence_length else ["data"]


def _check(p: Any, shapes: list, axes_allowed: tuple) -> tuple:
    """Validate data/sequence_length shapes; returns the completed input shapes (data may
    be unknown)."""
    if p.axis not in axes_allowed:
        raise MXNetError("axis must be %s, got %d"
                         % (" or ".join(str(a) for a in axes_allowed), p.axis))
    d = shapes[0]
    if d is None:
        return shapes
    d = tuple(d)
    if len(d) < 2:
        raise MXNetError("data must have at least 2 dimensions (sequence and batch), got %s"
                         % shape_str(d))
    shapes = [d] + list(shapes[1:])
    if p.use_sequence_length:
        batch = d[1 - p.axis]
        s = shapes[1]
        if s is None:
            shapes[1] = (batch,)
        elif tuple(s) != (batch,):
            raise MXNetError("sequence_length must have shape (%d,) (the batch size of data "
                             "%s with axis=%d), got %s" % (batch, shape_str(d), p.axis,
                                                          shape_str(s)))
    return shapes


def _types(p: Any, dtypes: list):
    d = dtypes[0]
    rest = [t if t is not None else d for t in dtypes[1:]]
    for t in rest:
        if t is not None and np.dtype(t).kind not in "biuf":
            raise MXNetError("sequence_length must be numeric, got %s" % dtype_name(t))
    return [d] + rest, [d]


def _lengths(xp: Any, ins: list, p: Any, t_max: int, n: int) -> Any:
    """Per-sample lengths as int64, clipped into [0, T]."""
    if not p.use_sequence_length:
        return xp.full((n,), t_max, dtype=np.int64)
    return xp.clip(ins[1].astype(np.int64), 0, t_max)


def _time_major(x: Any, axis: int) -> Any:
    """A (T, N, ...) view of the data."""
    return x if axis == 0 else x.swapaxes(0, 1)


def _seq_params(with_value: bool, axis_doc: str) -> list:
    ps = [Param("use_sequence_length", Bool(), False,
                "take per-sample lengths from the sequence_length input")]
    if with_value:
        ps.append(Param("value", Float(), 0.0, "the value written at masked steps"))
    ps.append(Param("axis", Int(), 0, axis_doc))
    return ps


# ------------------------------------------------------------------ SequenceMask
def _mask_shape(p: Any, shapes: list):
    shapes = _check(p, shapes, (0, 1))
    return shapes, [shapes[0]]


def _mask_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    x = _time_major(ins[0], p.axis)
    t_max, n = x.shape[0], x.shape[1]
    out = _time_major(outs[0], p.axis)
    if not p.use_sequence_length:
        out[...] = x
        return
    keep = xp.arange(t_max)[:, None] < _lengths(xp, ins, p, t_max, n)[None, :]
    keep = keep.reshape(keep.shape + (1,) * (x.ndim - 2))
    out[...] = xp.where(keep, x, xp.asarray(p.value, dtype=x.dtype))


def _mask_grad(F: Any, p: Any, ins: list, outs: list, ograds: list) -> list:
    if not p.use_sequence_length:
        return [ograds[0]]
    # the masked steps are constants: the same mask with value 0 is the gradient
    return [F.call("SequenceMask", [ograds[0], ins[1]], p._replace(value=0.0)), None]


register(OpDef(
    "SequenceMask", inputs=_inputs, params=_seq_params(True, "the sequence axis: 0 or 1"),
    forward=_mask_forward, infer_shape=_mask_shape, infer_type=_types,
    gradient=_mask_grad, keep_inputs=(1,), keep_outputs=False,
    doc="Sets the steps t >= sequence_length[n] of each sequence to value (identity "
        "without use_sequence_length)."))


# ------------------------------------------------------------------ SequenceLast
def _last_shape(p: Any, shapes: list):
    shapes = _check(p, shapes, (0, 1))
    d = shapes[0]
    if d is None:
        return shapes, [None]
    return shapes, [tuple(d[:p.axis]) + tuple(d[p.axis + 1:])]


def _last_index(xp: Any, ins: list, p: Any, t_max: int, n: int) -> Any:
    return xp.clip(_lengths(xp, ins, p, t_max, n) - 1, 0, max(t_max - 1, 0))


def _last_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    x = _time_major(ins[0], p.axis)
    t_max, n = x.shape[0], x.shape[1]
    if t_max == 0 or n == 0:
        return
    outs[0][...] = x[_last_index(xp, ins, p, t_max, n), xp.arange(n)]


def _last_backward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    ograd = ins[0]
    g = outs[0]
    g[...] = 0
    gt = _time_major(g, p.axis)
    t_max, n = gt.shape[0], gt.shape[1]
    if t_max == 0 or n == 0:
        return
    # ins[1:] are (data, [sequence_length]): shift so _lengths finds sequence_length at 1
    gt[_last_index(xp, ins[1:], p, t_max, n), xp.arange(n)] = ograd


def _last_backward_shape(p: Any, shapes: list):
    return shapes, [shapes[1]]


def _last_grad(F: Any, p: Any, ins: list, outs: list, ograds: list) -> list:
    g = F.call("_backward_SequenceLast", [ograds[0]] + list(ins), p)
    return [g] + [None] * (len(ins) - 1)


register(OpDef(
    "SequenceLast", inputs=_inputs, params=_seq_params(False, "the sequence axis: 0 or 1"),
    forward=_last_forward, infer_shape=_last_shape, infer_type=_types,
    gradient=_last_grad, keep_inputs=True, keep_outputs=False,
    doc="The last valid step of each sequence (step sequence_length[n]-1, or the last "
        "step); the output drops the sequence axis."))


def _last_backward_inputs(p: Any) -> list:
    return ["ograd"] + _inputs(p)


register(OpDef(
    "_backward_SequenceLast", inputs=_last_backward_inputs,
    params=_seq_params(False, "the sequence axis: 0 or 1"), forward=_last_backward,
    infer_shape=_last_backward_shape,
    infer_type=lambda p, dt: (dt, [dt[0]]),
    doc="Scatter SequenceLast's head gradient to the picked steps of data's shape."))


# ------------------------------------------------------------------ SequenceReverse
def _reverse_shape(p: Any, shapes: list):
    shapes = _check(p, shapes, (0,))
    return shapes, [shapes[0]]


def _reverse_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    x = ins[0]
    t_max, n = x.shape[0], x.shape[1]
    if not p.use_sequence_length:
        outs[0][...] = x[::-1]
        return
    lens = _lengths(xp, ins, p, t_max, n)
    t = xp.arange(t_max)[:, None]
    src = xp.where(t < lens[None, :], lens[None, :] - 1 - t, t)  # (T, N) source steps
    outs[0][...] = x[src, xp.arange(n)[None, :]]


def _reverse_grad(F: Any, p: Any, ins: list, outs: list, ograds: list) -> list:
    # the reversal is its own inverse permutation
    g = F.call("SequenceReverse", [ograds[0]] + list(ins[1:]), p)
    return [g] + [None] * (len(ins) - 1)


register(OpDef(
    "SequenceReverse", inputs=_inputs,
    params=_seq_params(False, "the sequence axis: only 0 is supported"),
    forward=_reverse_forward, infer_shape=_reverse_shape, infer_type=_types,
    gradient=_reverse_grad, keep_inputs=lambda n: range(1, n), keep_outputs=False,
    doc="Reverses the first sequence_length[n] steps of each sequence (all steps without "
        "use_sequence_length); later steps stay in place."))
