"""Creation ops: ``_zeros``, ``_ones``, ``_full``, ``_arange``, ``_eye``, ``_linspace``.

They take no inputs; shape and dtype come from the parameters, and the device from the
call (``mx.nd.zeros(..., ctx=)``). MXNet 1.x has no 0-d arrays, so an empty ``shape`` is
an error here, as it is in MXNet's imperative mode. Zero-size dims are accepted (MXNet
1.5+ rejects them in these ops because its legacy shapes read 0 as "unknown"; NumPy-style
empty arrays are the sensible reading and nothing that runs on MXNet breaks).

With no inputs there is nothing to differentiate: the ops carry ``zero_grad`` so that a
graph recorded through them backpropagates (they contribute nothing) instead of failing.
"""
from __future__ import annotations

import contextlib
import math
from typing import Any

import numpy as np

from ..base import MXNetError
from .gradient import zero_grad
from .params import Bool, DType, Float, Int, Optional_, Param, PType, Shape
from .registry import OpDef, register, shape_str

__all__ = ["CtxAttr", "check_shape", "creation_type", "quiet"]


class CtxAttr(PType):
    """The ``ctx`` attribute of MXNet's creation and sampling ops: a device in MXNet's
    string form (``'cpu(0)'``), or ``''`` for the current one. A :class:`Context` is
    stored as its string. Front ends place the result through the call's context, so the
    value is kept for fidelity of the parameter list (symbol JSON may carry it)."""

    name = "string"

    def parse(self, v: Any) -> str:
        if v is None:
            return ""
        if isinstance(v, str):
            return v.strip()
        if hasattr(v, "device_typeid"):
            return str(v)
        raise MXNetError("expected a context such as 'cpu(0)', got %r" % (v,))

    def to_str(self, v: str) -> str:
        return v


def check_shape(shape: tuple, what: str = "shape") -> tuple:
    """Validate an output shape of a creation op: at least one dim (no 0-d arrays in
    MXNet 1.x) and no negative dims."""
    if len(shape) == 0:
        raise MXNetError("%s=() is unknown: MXNet 1.x arrays need at least one dimension"
                         % what)
    if any(d < 0 for d in shape):
        raise MXNetError("%s=%s has a negative dimension" % (what, shape_str(shape)))
    return tuple(shape)


def creation_type(p: Any, in_dtypes: list):
    """dtype rule of ops without inputs: the ``dtype`` parameter."""
    return in_dtypes, [p.dtype]


def quiet(xp: Any):
    """Silence NumPy's floating-point warnings in a kernel: casts of NaN/inf and log(0)
    are well defined here, and pytest's ``error::RuntimeWarning`` (or a user filter)
    would otherwise turn them into a failed engine task."""
    return np.errstate(all="ignore") if xp is np else contextlib.nullcontext()


def _ctx_param() -> Param:
    return Param("ctx", CtxAttr(), "", "device of the result (MXNet string form)")


def _dtype_param(default: str = "float32") -> Param:
    return Param("dtype", DType(), default, "element type of the result")


# ------------------------------------------------------------------ zeros/ones/full
def _param_shape(p: Any, in_shapes: list):
    return in_shapes, [check_shape(p.shape)]


def _fill_forward(value: float):
    def forward(oc: Any, ins: list, outs: list, p: Any) -> None:
        outs[0].fill(value)
    return forward


def _full_shape(p: Any, in_shapes: list):
    dt = np.dtype(p.dtype)
    if dt.kind in "iu":
        info = np.iinfo(dt)
        # MXNet casts silently (undefined for NaN or out-of-range values): refuse instead
        if not math.isfinite(p.value) or not info.min <= int(p.value) <= info.max:
            raise MXNetError("value %r cannot be represented in %s" % (p.value, dt.name))
    return _param_shape(p, in_shapes)


def _full_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    outs[0].fill(p.value)


for _name, _value in (("_zeros", 0), ("_ones", 1)):
    register(OpDef(
        _name, inputs=(),
        params=[Param("shape", Shape(), (), "shape of the result"), _ctx_param(),
                _dtype_param()],
        forward=_fill_forward(_value), infer_shape=_param_shape, infer_type=creation_type,
        gradient=zero_grad,
        doc="An array of %s of ``shape`` and ``dtype`` (behind ``nd.%s``)."
            % ("zeros" if _value == 0 else "ones", _name[1:])))

register(OpDef(
    "_full", inputs=(),
    params=[Param("shape", Shape(), (), "shape of the result"), _ctx_param(),
            _dtype_param(), Param("value", Float(), doc="the fill value")],
    forward=_full_forward, infer_shape=_full_shape, infer_type=creation_type,
    gradient=zero_grad,
    doc="An array of ``shape`` filled with ``value`` (behind ``nd.full``)."))


# ------------------------------------------------------------------ arange
def _arange_bounds(p: Any) -> tuple:
    """``(start, stop)`` after MXNet's one-argument rule: ``stop=None`` means
    ``range(0, start)``."""
    if p.stop is None:
        return 0.0, p.start
    return p.start, p.stop


def _arange_shape(p: Any, in_shapes: list):
    if p.step == 0:
        raise MXNetError("arange does not support step=0")
    if p.repeat <= 0:
        raise MXNetError("arange needs repeat > 0, got %d" % p.repeat)
    if p.infer_range and p.stop is None:
        raise MXNetError("arange with infer_range=True needs stop when run imperatively")
    start, stop = _arange_bounds(p)
    if not all(math.isfinite(v) for v in (start, stop, p.step)):
        raise MXNetError("arange needs finite start, stop and step, got (%s, %s, %s)"
                         % (start, stop, p.step))
    # MXNet refuses empty ranges rather than returning a 0-size array
    if (p.step > 0 and not start < stop) or (p.step < 0 and not start > stop):
        raise MXNetError("invalid range (start, stop, step) = (%s, %s, %s)"
                         % (start, stop, p.step))
    n = int(math.ceil((stop - start) / p.step)) * p.repeat
    return in_shapes, [(n,)]


def _arange_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    out = outs[0]
    start, _ = _arange_bounds(p)
    idx = xp.arange(out.shape[0], dtype=xp.int64) // p.repeat
    if out.dtype.kind == "f" or out.dtype.kind == "V":
        out[...] = (start + idx.astype(xp.float64) * p.step).astype(out.dtype)
    else:
        # MXNet (like NumPy) evaluates start + i*step in the output type, so integer
        # ranges use start and step truncated to integers
        out[...] = (int(start) + idx * int(p.step)).astype(out.dtype)


register(OpDef(
    "_arange", inputs=(),
    params=[Param("start", Float(), doc="first value, or the end when stop is None"),
            Param("stop", Optional_(Float()), None, "end (exclusive); None: range(0, start)"),
            Param("step", Float(), 1.0, "spacing between values"),
            Param("repeat", Int(), 1, "times each value is repeated"),
            Param("infer_range", Bool(), False, "let a Symbol infer stop from its context"),
            _ctx_param(), _dtype_param()],
    forward=_arange_forward, infer_shape=_arange_shape, infer_type=creation_type,
    gradient=zero_grad,
    doc="Evenly spaced values in ``[start, stop)`` with ``step``, each repeated "
        "``repeat`` times (behind ``nd.arange``)."))


# ------------------------------------------------------------------ eye
def _eye_shape(p: Any, in_shapes: list):
    if p.N < 0 or p.M < 0:
        raise MXNetError("eye needs N >= 0 and M >= 0, got N=%d, M=%d" % (p.N, p.M))
    return in_shapes, [(p.N, p.M if p.M > 0 else p.N)]


def _eye_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    out = outs[0]
    out[...] = oc.xp.eye(out.shape[0], out.shape[1], p.k, dtype=out.dtype)


register(OpDef(
    "_eye", inputs=(),
    params=[Param("N", Int(), doc="number of rows"),
            Param("M", Int(), 0, "number of columns; 0 means N"),
            Param("k", Int(), 0, "diagonal: 0 main, > 0 upper, < 0 lower"),
            _ctx_param(), _dtype_param()],
    forward=_eye_forward, infer_shape=_eye_shape, infer_type=creation_type,
    gradient=zero_grad,
    doc="A 2-D array with ones on the k-th diagonal and zeros elsewhere (behind "
        "``nd.eye``)."))


# ------------------------------------------------------------------ linspace
def _linspace_shape(p: Any, in_shapes: list):
    if p.num < 0:
        raise MXNetError("linspace needs num >= 0, got %d" % p.num)
    return in_shapes, [(p.num,)]


def _linspace_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    out = outs[0]
    div = p.num - 1 if p.endpoint else p.num
    step = (p.stop - p.start) / div if div > 0 else 0.0
    # computed as start + i*step in double and cast, as MXNet does (so integer dtypes
    # truncate each value)
    vals = p.start + xp.arange(p.num, dtype=xp.float64) * step
    with quiet(xp):
        out[...] = vals.astype(out.dtype)


register(OpDef(
    "_linspace", inputs=(),
    params=[Param("start", Float(), doc="first value"),
            Param("stop", Float(), doc="last value (if endpoint) or the end"),
            Param("num", Int(), doc="number of values"),
            Param("endpoint", Bool(), True, "whether stop is the last value"),
            _ctx_param(), _dtype_param()],
    forward=_linspace_forward, infer_shape=_linspace_shape, infer_type=creation_type,
    gradient=zero_grad,
    doc="``num`` evenly spaced values from ``start`` to ``stop`` (behind "
        "``nd.linspace``)."))
