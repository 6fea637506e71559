"""Imperative dispatch: run one registered op on NDArrays through the engine, and build
the ``mx.nd.<op>`` functions from the registry records (plain closures, no ``exec``)."""
from __future__ import annotations

import functools
import inspect
from typing import Any, Optional, Sequence

import numpy as np

from .. import engine as _engine
from ..base import MXNetError, dtype_name
from ..context import Context, current_context
from ..operator.registry import OpCtx, OpDef, _state, shape_str
from .chunk import Chunk

__all__ = ["invoke", "record", "record_function", "set_function_hook", "make_function", "rng_var", "rng_vars", "set_record_hook", "as_context"]

_rng_vars: dict = {}
_hook: list = [None]
_fn_hook: list = [None]
_opctx = OpCtx._cache
_NDArray: list = [None]  # set by ndarray.py (which imports this module)


def set_record_hook(fn: Optional[Any]) -> Optional[Any]:
    """Install autograd's recorder: ``fn(op, p, inputs, outputs)`` is called after each op
    dispatched while recording is on. Returns the previous hook."""
    prev, _hook[0] = _hook[0], fn
    return prev


def record(op: OpDef, p: Any, inputs: Sequence[Any], outputs: Sequence[Any]) -> None:
    """Report an op application that did not go through :func:`invoke` (views made by
    ``reshape``) to autograd while recording is on."""
    hook = _hook[0]
    if hook is not None and _state.record:
        hook(op, p, inputs, outputs)


def set_function_hook(fn: Optional[Any]) -> Optional[Any]:
    """Install autograd's recorder of Python-rule nodes: ``fn(name, inputs, outputs,
    rule)``, where ``rule(ograds) -> input grads``. Returns the previous hook."""
    prev, _fn_hook[0] = _fn_hook[0], fn
    return prev


def record_function(name: str, inputs: Sequence[Any], outputs: Sequence[Any],
                    rule: Any) -> None:
    """Report a result computed in Python (indexing) with its gradient ``rule`` to
    autograd while recording is on; the NDArray layer needs no import of autograd."""
    hook = _fn_hook[0]
    if hook is not None and _state.record:
        hook(name, inputs, outputs, rule)


def rng_var(ctx: Context) -> Any:
    """The engine var guarding the random generator of ``ctx``; random ops write it, so
    their draws happen in push order and ``mx.random.seed`` makes them reproducible."""
    v = _rng_vars.get(ctx)
    if v is None:
        v = _rng_vars.setdefault(ctx, _engine.ResourceVar("rng:%s" % ctx))
    return v


def rng_vars() -> list:
    """The generator vars of every context used so far (a snapshot)."""
    return list(_rng_vars.values())


def _check_out(op: OpDef, out: Any, oshapes: list, odtypes: list, ctx: Context) -> list:
    outs = list(out) if isinstance(out, (list, tuple)) else [out]
    if len(outs) != len(oshapes):
        raise MXNetError("Operator %s: out= has %d arrays, the op has %d outputs"
                         % (op.name, len(outs), len(oshapes)))
    NDArray = _NDArray[0]
    for i, (o, s, d) in enumerate(zip(outs, oshapes, odtypes)):
        if not isinstance(o, NDArray):
            raise MXNetError("Operator %s: out= must be NDArray, got %s" % (op.name, type(o).__name__))
        if o._data.shape != tuple(s) or o._data.dtype != d:
            raise MXNetError("Operator %s: out[%d] has shape %s %s, the result is %s %s"
                             % (op.name, i, shape_str(o.shape), dtype_name(o._data.dtype),
                                shape_str(s), dtype_name(d)))
        if o._ctx != ctx:
            raise MXNetError("Operator %s: out[%d] is on %s, the inputs on %s" % (op.name, i, o._ctx, ctx))
    return outs


def _aliased_forward(forward, opctx, ins, outs, p):
    """Run a kernel whose output shares memory with an input it may not overwrite early:
    compute into fresh buffers, then copy."""
    xp = opctx.xp
    tmp = [xp.empty(o.shape, o.dtype) for o in outs]
    forward(opctx, ins, tmp, p)
    for o, t in zip(outs, tmp):
        o[...] = t


def invoke(op: OpDef, inputs: Sequence[Any], p: Any, out: Any = None,
           ctx: Optional[Context] = None) -> Any:
    """Run ``op`` with parameters ``p`` (its ``Params`` tuple) on NDArray ``inputs``:
    infer shapes and dtypes on the caller's thread (errors raise here, naming the op),
    allocate or check the outputs, and push the kernel to the engine. Returns the output
    NDArray, or a list when the op has several visible outputs."""
    # This is the imperative hot path (every ``a + b``): keep it free of imports, string
    # lookups and generator expressions.
    if inputs:
        ctx = inputs[0]._ctx
        ins = [x._data for x in inputs]
        for x in inputs:
            if x._ctx is not ctx and x._ctx != ctx:
                raise MXNetError("Operator %s: inputs are on different devices (%s)"
                                 % (op.name, ", ".join(str(y._ctx) for y in inputs)))
        shapes = [a.shape for a in ins]
        oshapes, odtypes = op.infer(p, shapes, [a.dtype for a in ins])
    else:
        if ctx is None:
            pctx = getattr(p, "ctx", None)  # creation ops keep MXNet's ``ctx`` attribute
            ctx = _parse_ctx(pctx) if pctx else current_context()
        ins = shapes = []
        oshapes, odtypes = op.infer(p, [], [])
    if out is None:
        NDArray = _NDArray[0]
        if ctx.device_typeid != 2:
            odata = [np.empty(s, d) for s, d in zip(oshapes, odtypes)]
        else:
            from .. import backend
            odata = [backend.empty(s, d, ctx) for s, d in zip(oshapes, odtypes)]
        mut = [Chunk(a) for a in odata]
        outs = [NDArray(c, ctx) for c in mut]
        forward = op.forward
    else:
        outs = _check_out(op, out, oshapes, odtypes, ctx)
        odata = [o._data for o in outs]
        mut = [o._chunk for o in outs]
        forward = op.forward
        if not op.inplace:
            ichunks = {x._chunk for x in inputs}
            if any(c in ichunks for c in mut):
                forward = functools.partial(_aliased_forward, forward)
    const = [x._chunk for x in inputs]
    if op.mutate or op.aux:
        for i in op.mutate_indices(p):
            mut.append(const[i])
    if op.resources and op.uses_random(p):
        mut.append(rng_var(ctx))
    train = _state.train
    opctx = _opctx.get((ctx, train)) or OpCtx.get(ctx, train)
    if op.cost is None:
        cost = odata[0].size * (len(ins) + len(odata)) if odata else 0
    else:
        cost = op.cost(p, shapes, oshapes)
    _engine.get().push(functools.partial(forward, opctx, ins, odata, p), ctx, const, mut,
                       0, op.name, cost)
    hook = _hook[0]
    if hook is not None and _state.record:
        hook(op, p, inputs, outs)
    nvis = op.fixed_num_outputs if op._visible_outputs is None else None
    if nvis is None:
        nvis = op.num_visible_outputs(p)
    return outs[0] if nvis == 1 else outs[:nvis]


# ------------------------------------------------------------------ nd.<op> functions
_SPECIAL_KW = ("out", "name", "ctx")


def _split_args(op: OpDef, args: tuple, kwargs: dict):
    """Separate NDArray inputs from parameters: leading NDArray (or None) arguments fill the
    input slots, the rest fill parameters in registration order; keyword arguments named
    after inputs are inputs."""
    NDArray = _NDArray[0]
    if op.varargs:
        n = 0
        while n < len(args) and isinstance(args[n], NDArray):
            n += 1
        inputs = list(args[:n])
        if len(args) == 1 and isinstance(args[0], (list, tuple)) and \
                all(isinstance(a, NDArray) for a in args[0]):
            inputs, n = list(args[0]), 1
        positional = args[n:]
        kw = {}
        for k, v in kwargs.items():
            if isinstance(v, NDArray):
                inputs.append(v)
            else:
                kw[k] = v
        if op.varargs not in kw:
            kw[op.varargs] = len(inputs)
        return inputs, positional, kw
    slots = op.all_inputs
    n = 0
    limit = len(slots) if slots else len(args)
    while n < len(args) and n < limit and (args[n] is None or isinstance(args[n], NDArray)):
        n += 1
    given = list(args[:n])
    positional = args[n:]
    kw = {}
    named = {}
    for k, v in kwargs.items():
        if isinstance(v, NDArray) or (k in slots and v is None):
            named[k] = v
        else:
            kw[k] = v
    if not named:
        return [a for a in given if a is not None], positional, kw
    if slots:
        names = list(slots)
    else:  # inputs depend on parameters (no_bias, use_sequence_length ...)
        names = op.input_names(op.parse_params(kw, positional))
        unknown = [k for k in named if k not in names]
        if unknown:
            raise MXNetError("Operator %s has no input %s with these parameters (inputs: %s)"
                             % (op.name, ", ".join(map(repr, unknown)), ", ".join(names)))
    filled = dict(zip(names, given))
    for k, v in named.items():
        if k in filled and filled[k] is not None:
            raise MXNetError("Operator %s: input %r given twice" % (op.name, k))
        filled[k] = v
    return [filled[k] for k in names if filled.get(k) is not None], positional, kw


def _call(op: OpDef, args: tuple, kwargs: dict) -> Any:
    out = kwargs.pop("out", None)
    kwargs.pop("name", None)
    ctx = kwargs.pop("ctx", None)
    inputs, positional, kw = _split_args(op, args, kwargs)
    NDArray = _NDArray[0]
    extra = sum(1 for a in positional if isinstance(a, NDArray))
    if extra:
        raise MXNetError("Operator %s expects at most %d input%s (%s), got %d"
                         % (op.name, len(op.all_inputs), "" if len(op.all_inputs) == 1 else "s",
                            ", ".join(op.all_inputs), len(inputs) + extra))
    p = op.parse_params(kw, positional)
    want = op.input_names(p)
    if len(inputs) != len(want):
        raise MXNetError("Operator %s expects %d input%s (%s), got %d"
                         % (op.name, len(want), "" if len(want) == 1 else "s",
                            ", ".join(want), len(inputs)))
    if ctx is not None and not isinstance(ctx, Context):
        ctx = _parse_ctx(ctx)
    return invoke(op, inputs, p, out, ctx)


def as_context(ctx: Any) -> Context:
    """``ctx`` as a Context: ``None`` is the current context, strings use MXNet's
    attribute form (``'cpu(0)'``, ``'gpu(1)'``)."""
    if ctx is None:
        return current_context()
    if isinstance(ctx, Context):
        return ctx
    return _parse_ctx(ctx)


def _parse_ctx(s: Any) -> Context:
    """Contexts given as MXNet's string attribute (``'cpu(0)'``, ``'gpu(1)'``)."""
    text = str(s).strip()
    try:
        kind, rest = text.split("(", 1)
        return Context(kind, int(rest.rstrip(")")))
    except (ValueError, MXNetError):
        raise MXNetError("cannot parse context %r" % (s,)) from None


def _docstring(op: OpDef) -> str:
    lines = [op.doc.strip() or "The %s operator." % op.name, "", "Parameters", "----------"]
    if isinstance(op._inputs, (tuple, list)):
        for n in op._inputs:
            lines.append("%s : NDArray" % n)
    else:
        lines.append("*inputs : NDArray")
    for prm in op.params:
        lines.append("%s : %s%s" % (prm.name, prm.ptype.name,
                                    ", required" if prm.required else
                                    ", optional, default=%r" % (prm.default,)))
        if prm.doc:
            lines.append("    " + prm.doc)
    lines += ["out : NDArray, optional", "    The output array.", "", "Returns", "-------",
              "NDArray or list of NDArray"]
    return "\n".join(lines)


def _signature(op: OpDef) -> inspect.Signature:
    P = inspect.Parameter
    ps = []
    if op.varargs:
        ps.append(P("data", P.VAR_POSITIONAL))
    else:
        for n in op.all_inputs:
            ps.append(P(n, P.POSITIONAL_OR_KEYWORD, default=None))
    kind = P.KEYWORD_ONLY if op.varargs else P.POSITIONAL_OR_KEYWORD
    for prm in op.params:
        if op.varargs and prm.name == op.varargs:
            continue
        ps.append(P(prm.name, kind, default=P.empty if prm.required and kind is P.KEYWORD_ONLY
                    else (None if prm.required else prm.default)))
    ps.append(P("out", P.KEYWORD_ONLY, default=None))
    ps.append(P("name", P.KEYWORD_ONLY, default=None))
    return inspect.Signature(ps)


def make_function(op: OpDef, public_name: Optional[str] = None):
    """Build ``mx.nd.<name>`` for an op record: ``fn(*inputs, *params, out=None,
    name=None, **params)``."""
    def fn(*args, **kwargs):
        return _call(op, args, kwargs)
    fn.__name__ = public_name or op.name
    fn.__qualname__ = fn.__name__
    fn.__doc__ = _docstring(op)
    try:
        fn.__signature__ = _signature(op)
    except ValueError:  # a parameter name clashing with an input name: keep *args
        pass
    fn.__module__ = "mixnet.ndarray"
    fn.opdef = op
    return fn
