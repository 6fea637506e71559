"""Operators written in Python: ``mx.operator.CustomOp``, ``CustomOpProp`` and
``register``, run as ``mx.nd.Custom(*inputs, op_type=name, **kwargs)`` (and ``mx.sym.Custom``).

A registered ``CustomOpProp`` subclass describes the op (argument, output and auxiliary
names, shape and type inference, backward dependencies) and creates the ``CustomOp`` that
computes it. As in MXNet, extra keyword arguments of ``Custom`` reach the prop's
constructor as strings. The op's ``forward``/``backward`` see NDArrays over the engine
task's buffers and run their own NDArray operations synchronously on the task's thread
(:class:`mixnet.engine.synchronous`), so Python code inside a task never waits for a worker
that may be the one running it. One ``CustomOp`` instance serves each distinct
(op type, arguments, device, input shapes, dtypes), so state an op keeps between its
``forward`` and ``backward`` survives, as with a bound MXNet executor.
"""
from __future__ import annotations

import collections
import threading
from typing import Any, Optional, Sequence

import numpy as np

from .. import engine as _engine
from ..base import MXNetError
from .params import Param, Str
from .registry import OpDef, register as _register_op, set_recording

__all__ = ["CustomOp", "CustomOpProp", "register", "get_prop"]

_PROPS: dict = {}
_lock = threading.Lock()


class CustomOp:
    """Base class of Python operators: implement ``forward`` and ``backward``."""

    def forward(self, is_train: bool, req: list, in_data: list, out_data: list,
                aux: list) -> None:
        """Compute ``out_data`` from ``in_data`` (write with :meth:`assign`)."""
        raise NotImplementedError

    def backward(self, req: list, out_grad: list, in_data: list, out_data: list,
                 in_grad: list, aux: list) -> None:
        """Compute ``in_grad`` from ``out_grad`` and the forward values."""
        raise NotImplementedError

    def assign(self, dst: Any, req: str, src: Any) -> None:
        """Write ``src`` into ``dst`` as ``req`` says: ``'null'`` nothing, ``'write'`` or
        ``'inplace'`` overwrite, ``'add'`` accumulate."""
        if req == "null":
            return
        if req in ("write", "inplace"):
            dst[:] = src
        elif req == "add":
            dst[:] = dst + src
        else:
            raise MXNetError("CustomOp.assign: unknown req %r" % (req,))


class CustomOpProp:
    """Base class describing a Python operator. ``need_top_grad``: whether backward uses
    the output gradient (``False`` for loss layers)."""

    def __init__(self, need_top_grad: bool = True):
        self.need_top_grad_ = need_top_grad

    def list_arguments(self) -> list:
        return ["data"]

    def list_outputs(self) -> list:
        return ["output"]

    def list_auxiliary_states(self) -> list:
        return []

    def infer_shape(self, in_shape: list) -> tuple:
        """``(arg_shapes, out_shapes, aux_shapes)``; default: outputs like input 0."""
        return in_shape, [in_shape[0]] * len(self.list_outputs()), []

    def infer_type(self, in_type: list) -> tuple:
        """``(arg_types, out_types, aux_types)``; default: everything like input 0."""
        t = in_type[0]
        return ([t] * len(self.list_arguments()), [t] * len(self.list_outputs()),
                [t] * len(self.list_auxiliary_states()))

    def infer_storage_type(self, in_stype: list) -> tuple:
        return (["default"] * len(self.list_arguments()),
                ["default"] * len(self.list_outputs()),
                ["default"] * len(self.list_auxiliary_states()))

    def declare_backward_dependency(self, out_grad: list, in_data: list,
                                    out_data: list) -> list:
        deps = list(in_data) + list(out_data)
        return (list(out_grad) if self.need_top_grad_ else []) + deps

    def create_operator(self, ctx: Any, in_shapes: list, in_dtypes: list) -> CustomOp:
        raise NotImplementedError


def register(reg_name: str):
    """``@mx.operator.register(name)``: register a ``CustomOpProp`` subclass as op type
    ``name``."""
    def deco(prop_cls: type) -> type:
        if not (isinstance(prop_cls, type) and issubclass(prop_cls, CustomOpProp)):
            raise MXNetError("mx.operator.register(%r) needs a CustomOpProp subclass, got %r"
                             % (reg_name, prop_cls))
        with _lock:
            _PROPS[reg_name] = prop_cls
            _instances.clear()
            _ops.clear()
        return prop_cls
    return deco


# ------------------------------------------------------------------ the Custom record
CustomParams = collections.namedtuple("Custom_params", ["op_type", "kwargs"])
_instances: dict = {}   # CustomParams -> prop instance
_ops: dict = {}         # (params, ctx, shapes, dtypes) -> CustomOp


def get_prop(p: CustomParams) -> CustomOpProp:
    """The prop instance for parsed ``Custom`` parameters (created once)."""
    prop = _instances.get(p)
    if prop is None:
        cls = _PROPS.get(p.op_type)
        if cls is None:
            raise MXNetError("Custom: op_type %r is not registered (registered: %s)"
                             % (p.op_type, ", ".join(sorted(_PROPS)) or "none"))
        try:
            prop = cls(**dict(p.kwargs))
        except TypeError as e:
            raise MXNetError("Custom: cannot create %s(%s): %s"
                             % (cls.__name__, ", ".join("%s=%r" % kv for kv in p.kwargs), e)) \
                from None
        _instances[p] = prop
    return prop


class _CustomDef(OpDef):
    """``Custom``: parameters are ``op_type`` plus any keyword, kept as strings."""

    def _parse(self, kwargs: dict, positional: Sequence[Any]) -> Any:
        if positional:
            raise MXNetError("Custom takes its parameters by keyword")
        kw = dict(kwargs)
        op_type = kw.pop("op_type", None)
        if op_type is None:
            raise MXNetError("Custom: required parameter op_type missing")
        return CustomParams(str(op_type), tuple(sorted((str(k), _attr_str(v))
                                                       for k, v in kw.items())))

    def param_strings(self, p: Any, only_given: Optional[Sequence[str]] = None) -> dict:
        out = {"op_type": p.op_type}
        out.update(dict(p.kwargs))
        return out

    def mutate_indices(self, p: Any) -> list:
        prop = get_prop(p)
        n = len(prop.list_arguments())
        return list(range(n, n + len(prop.list_auxiliary_states())))


def _attr_str(v: Any) -> str:
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, (tuple, list)):
        return "(" + ", ".join(str(e) for e in v) + ")"
    return str(v)


def _inputs(p: Any) -> list:
    prop = get_prop(p)
    return list(prop.list_arguments()) + list(prop.list_auxiliary_states())


def _infer_shape(p: Any, shapes: list):
    prop = get_prop(p)
    nout = len(prop.list_outputs())
    nargs = len(prop.list_arguments())
    if any(s is None for s in shapes[:nargs]):  # the prop sees argument shapes only
        return shapes, [None] * nout
    res = prop.infer_shape([list(s) for s in shapes[:nargs]])
    args, outs = res[0], res[1]
    aux = res[2] if len(res) > 2 else []
    done = [tuple(s) for s in list(args) + list(aux)]
    if len(done) != len(shapes) or len(outs) != nout:
        raise MXNetError("%s.infer_shape returned %d input and %d output shapes, expected "
                         "%d and %d" % (type(prop).__name__, len(done), len(outs),
                                        len(shapes), nout))
    for name, given, got in zip(_inputs(p), shapes, done):
        if given is not None and tuple(given) != got:
            raise MXNetError("%s.infer_shape: input %s has shape %s but infer_shape says %s"
                             % (type(prop).__name__, name, tuple(given), got))
    return done, [tuple(s) for s in outs]


def _infer_type(p: Any, dtypes: list):
    prop = get_prop(p)
    nout = len(prop.list_outputs())
    if any(d is None for d in dtypes):
        known = [d for d in dtypes if d is not None]
        if not known:
            return dtypes, [None] * nout
        dtypes = [known[0] if d is None else d for d in dtypes]
    nargs = len(prop.list_arguments())
    res = prop.infer_type([np.dtype(d).type for d in dtypes[:nargs]])
    args, outs = res[0], res[1]
    aux = res[2] if len(res) > 2 else []
    return ([np.dtype(d) for d in list(args) + list(aux)], [np.dtype(d) for d in outs])


def _operator(p: Any, ctx: Any, ins: list) -> CustomOp:
    key = (p, ctx, tuple(a.shape for a in ins), tuple(a.dtype for a in ins))
    op = _ops.get(key)
    if op is None:
        prop = get_prop(p)
        op = prop.create_operator(ctx, [list(a.shape) for a in ins],
                                  [a.dtype.type for a in ins])
        _ops[key] = op
    return op


def _wrap(arrays: Sequence[Any], ctx: Any) -> list:
    from ..ndarray.chunk import Chunk
    from ..ndarray.ndarray import NDArray
    return [NDArray(Chunk(a), ctx) for a in arrays]


def _forward(opctx: Any, ins: list, outs: list, p: Any) -> None:
    prop = get_prop(p)
    nargs = len(prop.list_arguments())
    op = _operator(p, opctx.ctx, ins)
    with _engine.synchronous():
        in_nd, aux_nd = _wrap(ins[:nargs], opctx.ctx), _wrap(ins[nargs:], opctx.ctx)
        out_nd = _wrap(outs, opctx.ctx)
        prev = set_recording(False)
        try:
            op.forward(opctx.is_train, ["write"] * len(outs), in_nd, out_nd, aux_nd)
        finally:
            set_recording(prev)
        for o in out_nd:
            o.wait_to_read()


def _backward(opctx: Any, ins: list, outs: list, p: Any) -> None:
    prop = get_prop(p)
    nargs = len(prop.list_arguments())
    naux = len(prop.list_auxiliary_states())
    nout = len(prop.list_outputs())
    ograds = ins[:nout]
    data = ins[nout:nout + nargs + naux]
    fwd_out = ins[nout + nargs + naux:]
    op = _operator(p, opctx.ctx, data)
    with _engine.synchronous():
        og = _wrap(ograds, opctx.ctx)
        in_nd, aux_nd = _wrap(data[:nargs], opctx.ctx), _wrap(data[nargs:], opctx.ctx)
        out_nd = _wrap(fwd_out, opctx.ctx)
        grads = _wrap(outs, opctx.ctx)
        prev = set_recording(False)
        try:
            op.backward(["write"] * nargs, og, in_nd, out_nd, grads, aux_nd)
        finally:
            set_recording(prev)
        for g in grads:
            g.wait_to_read()


def _gradient(F: Any, p: Any, ins: list, outs: list, ograds: list) -> list:
    prop = get_prop(p)
    nargs = len(prop.list_arguments())
    grads = F.call("_backward_Custom", list(ograds) + list(ins) + list(outs), p)
    grads = grads if isinstance(grads, list) else [grads]
    return grads + [None] * (len(ins) - nargs)


def _backward_inputs(p: Any) -> list:
    prop = get_prop(p)
    return (["out_grad_%s" % n for n in prop.list_outputs()] + _inputs(p) +
            list(prop.list_outputs()))


def _backward_shape(p: Any, shapes: list):
    prop = get_prop(p)
    nout = len(prop.list_outputs())
    nargs = len(prop.list_arguments())
    return shapes, list(shapes[nout:nout + nargs])


def _backward_type(p: Any, dtypes: list):
    prop = get_prop(p)
    nout = len(prop.list_outputs())
    nargs = len(prop.list_arguments())
    return dtypes, list(dtypes[nout:nout + nargs])


_PARAMS = [Param("op_type", Str(), doc="name the CustomOpProp was registered under")]

_register_op(_CustomDef(
    "Custom", inputs=_inputs, params=_PARAMS, forward=_forward,
    infer_shape=_infer_shape, infer_type=_infer_type,
    num_outputs=lambda p: len(get_prop(p).list_outputs()),
    output_names=lambda p: list(get_prop(p).list_outputs()),
    gradient=_gradient, cost=lambda p, i, o: 1 << 40,
    doc="Apply a Python operator registered with mx.operator.register; keyword arguments "
        "other than op_type are passed to its CustomOpProp as strings."))

_register_op(_CustomDef(
    "_backward_Custom", inputs=_backward_inputs, params=_PARAMS, forward=_backward,
    infer_shape=_backward_shape, infer_type=_backward_type,
    num_outputs=lambda p: len(get_prop(p).list_arguments()),
    cost=lambda p, i, o: 1 << 40,
    doc="Backward of a Custom operator: calls its CustomOp.backward."))
