"""``mx.autograd``: record imperative NDArray operations and differentiate them.

While :func:`record` is active every op dispatched on an array that carries autograd
history (a variable from :meth:`NDArray.attach_grad` or the result of a recorded op) adds a
node to the tape. :func:`backward` walks the nodes reachable from the heads in reverse
recording order and applies each op's gradient rule (see :mod:`mixnet.operator.gradient`):
the rule runs registered ops on NDArrays, so backward goes through the engine like any
other work, and with ``create_graph=True`` the backward ops are themselves recorded, which
gives higher-order gradients. The executor's gradient pass uses the same rules.
"""
from __future__ import annotations

import itertools
import threading
from typing import Any, Callable, Optional, Sequence

from .base import MXNetError
from .operator import registry as _reg
from .operator.gradient import GradBuilder, needed_inputs, needed_outputs
from .ndarray import dispatch as _dispatch
from .ndarray.ndarray import NDArray

__all__ = ["record", "pause", "train_mode", "predict_mode", "is_recording", "is_training",
           "set_recording", "set_training", "mark_variables", "backward", "grad",
           "Function", "get_symbol"]

_GRAD_REQS = ("write", "add", "null")
_seq = itertools.count()


# ------------------------------------------------------------------------ tape records
class Leaf:
    """Autograd state of a marked variable: its gradient buffer and ``grad_req``."""

    __slots__ = ("grad", "grad_req")

    def __init__(self, grad: Optional[NDArray], grad_req: str):
        self.grad = grad
        self.grad_req = grad_req


class Node:
    """One recorded op application: the op (or a Python rule), its parameters, where its
    inputs came from, the forward values its rule needs, and its outputs' metadata."""

    __slots__ = ("seq", "name", "op", "p", "rule", "sources", "ins", "outs", "nvis",
                 "out_meta", "freed", "__weakref__")

    def __init__(self, name: str, op: Any, p: Any, rule: Callable, sources: list,
                 ins: list, outs: list, nvis: int, out_meta: list):
        self.seq = next(_seq)
        self.name = name
        self.op = op
        self.p = p
        self.rule = rule
        self.sources = sources  # per input: Leaf, Entry or None (a constant)
        self.ins = ins          # per input: saved NDArray alias or None
        self.outs = outs        # per output: saved NDArray alias or None
        self.nvis = nvis
        self.out_meta = out_meta  # per output: (shape, dtype, ctx)
        self.freed = False

    def free(self) -> None:
        self.ins = self.outs = None
        self.freed = True


class Entry:
    """Autograd state of an array produced by a recorded op: output ``index`` of ``node``."""

    __slots__ = ("node", "index")

    def __init__(self, node: Node, index: int):
        self.node = node
        self.index = index


def _alias(x: NDArray, ag: Any) -> NDArray:
    a = NDArray(x._chunk, x._ctx, x._data)
    a._ag = ag
    return a


def _record(op: Any, p: Any, inputs: Sequence[NDArray], outputs: Sequence[NDArray]) -> None:
    """The dispatcher's hook: add a node for ``op`` when an input carries history."""
    sources = [x._ag for x in inputs]
    for s in sources:
        if s is not None:
            break
    else:
        return
    rule = op.gradient
    keep_in = needed_inputs(op, len(inputs))
    keep_out = needed_outputs(op, len(outputs))
    ins = [_alias(x, s) if k else None for x, s, k in zip(inputs, sources, keep_in)]
    nvis = op.num_visible_outputs(p)
    node = Node(op.name, op, p, rule, sources, ins, [], nvis,
                [(o.shape, o._data.dtype, o._ctx) for o in outputs])
    outs = []
    for i, (o, k) in enumerate(zip(outputs, keep_out)):
        e = Entry(node, i)
        o._ag = e
        outs.append(_alias(o, e) if k else None)
    node.outs = outs


def record_function(name: str, inputs: Sequence[NDArray], outputs: Sequence[NDArray],
                    rule: Callable) -> None:
    """Record a node whose gradient is the Python callable ``rule(ograds) -> input grads``
    (NDArrays or ``None``): :class:`Function` and indexing use it. Nothing is recorded
    unless recording is on and an input carries history."""
    if not is_recording():
        return
    sources = [x._ag for x in inputs]
    if all(s is None for s in sources):
        return

    def graph_rule(F, p, ins, outs, ograds):
        return rule(ograds)
    node = Node(name, None, None, graph_rule, sources, [None] * len(inputs), [None] * len(outputs),
                len(outputs), [(o.shape, o._data.dtype, o._ctx) for o in outputs])
    for i, o in enumerate(outputs):
        o._ag = Entry(node, i)


# ------------------------------------------------------------------------ scopes
def is_recording() -> bool:
    """Whether operations on this thread are being recorded."""
    return _reg.is_recording()


def is_training() -> bool:
    """Whether ops on this thread run in training mode (Dropout, BatchNorm)."""
    return _reg.is_training()


def set_recording(is_recording: bool) -> bool:  # noqa: F811 - MXNet's parameter name
    """Turn recording on or off for this thread; returns the previous state."""
    return _reg.set_recording(is_recording)


def set_training(train_mode: bool) -> bool:
    """Turn training mode on or off for this thread; returns the previous state."""
    return _reg.set_training(train_mode)


class _Scope:
    """Sets the recording and/or training flags of this thread for a ``with`` block and
    restores them after."""

    def __init__(self, recording: Optional[bool], training: Optional[bool]):
        self._rec, self._train = recording, training
        self._prev: list = []

    def __enter__(self) -> "_Scope":
        rec = None if self._rec is None else _reg.set_recording(self._rec)
        train = None if self._train is None else _reg.set_training(self._train)
        self._prev.append((rec, train))
        return self

    def __exit__(self, *exc: Any) -> None:
        rec, train = self._prev.pop()
        if rec is not None:
            _reg.set_recording(rec)
        if train is not None:
            _reg.set_training(train)


def record(train_mode: bool = True) -> _Scope:
    """``with autograd.record(train_mode=True):`` records operations for differentiation,
    in training mode unless ``train_mode=False``."""
    return _Scope(True, train_mode)


def pause(train_mode: bool = False) -> _Scope:
    """``with autograd.pause(train_mode=False):`` stops recording inside a record block."""
    return _Scope(False, train_mode)


def train_mode() -> _Scope:
    """``with autograd.train_mode():`` runs ops in training mode without recording."""
    return _Scope(None, True)


def predict_mode() -> _Scope:
    """``with autograd.predict_mode():`` runs ops in inference mode."""
    return _Scope(None, False)


# ------------------------------------------------------------------------ variables
def mark_variables(variables: Any, gradients: Any, grad_reqs: Any = "write") -> None:
    """``mark_variables(variables, gradients, grad_reqs='write')``: make arrays variables
    whose gradients backward writes (``'write'``), accumulates (``'add'``) or skips
    (``'null'``) into the matching ``gradients`` buffers."""
    if isinstance(variables, NDArray):
        variables, gradients = [variables], [gradients]
    variables, gradients = list(variables), list(gradients)
    if len(variables) != len(gradients):
        raise MXNetError("mark_variables: %d variables but %d gradient buffers"
                         % (len(variables), len(gradients)))
    reqs = [grad_reqs] * len(variables) if isinstance(grad_reqs, str) else list(grad_reqs)
    if len(reqs) != len(variables):
        raise MXNetError("mark_variables: %d variables but %d grad_reqs"
                         % (len(variables), len(reqs)))
    for v, g, r in zip(variables, gradients, reqs):
        if r not in _GRAD_REQS:
            raise MXNetError("mark_variables: grad_req must be one of %s, got %r"
                             % ("/".join(_GRAD_REQS), r))
        if g is not None and g.shape != v.shape:
            raise MXNetError("mark_variables: gradient buffer of shape %s for a variable of "
                             "shape %s" % (g.shape, v.shape))
        v._ag = Leaf(g, r)


def _attach_grad(self: NDArray, grad_req: str = "write", stype: Optional[str] = None) -> None:
    """``x.attach_grad(grad_req='write', stype=None)``: allocate a zero gradient buffer and
    make ``x`` a variable; after ``backward`` the gradient is ``x.grad``."""
    if stype not in (None, "default"):
        raise MXNetError("attach_grad: only dense gradients are supported, got stype=%r"
                         % (stype,))
    from .ndarray.creation import zeros
    mark_variables([self], [zeros(self.shape, ctx=self._ctx, dtype=self._data.dtype)],
                   grad_req)


def _nd_backward(self: NDArray, out_grad: Optional[NDArray] = None,
                 retain_graph: bool = False, train_mode: bool = True) -> None:
    """``y.backward(out_grad=None, retain_graph=False, train_mode=True)``: backpropagate
    from ``y`` (head gradient ``out_grad``, default ones)."""
    backward([self], None if out_grad is None else [out_grad], retain_graph, train_mode)


NDArray.attach_grad = _attach_grad
NDArray.backward = _nd_backward


# ------------------------------------------------------------------------ backward
class _NDBuilder(GradBuilder):
    """Runs gradient rules on NDArrays through the ordinary dispatcher."""

    def apply(self, op: Any, inputs: Sequence[Any], p: Any) -> list:
        res = _dispatch.invoke(op, inputs, p)
        return res if isinstance(res, list) else [res]


_BUILDER = _NDBuilder()


def _sum(grads: list) -> NDArray:
    if len(grads) == 1:
        return grads[0]
    op = _reg.get("add_n")
    return _dispatch.invoke(op, grads, op.parse_params({"num_args": len(grads)}))


def _zeros(meta: tuple) -> NDArray:
    from .ndarray.creation import zeros
    shape, dtype, ctx = meta
    return zeros(shape, ctx=ctx, dtype=dtype)


def _as_list(x: Any) -> list:
    return [x] if isinstance(x, NDArray) else list(x)


def _head_grads(heads: list, head_grads: Any) -> list:
    from .ndarray.creation import ones
    if head_grads is None:
        return [ones(h.shape, ctx=h._ctx, dtype=h._data.dtype) for h in heads]
    hg = _as_list(head_grads)
    if len(hg) != len(heads):
        raise MXNetError("backward: %d heads but %d head gradients" % (len(heads), len(hg)))
    out = []
    for h, g in zip(heads, hg):
        if g is None:
            out.append(ones(h.shape, ctx=h._ctx, dtype=h._data.dtype))
            continue
        if not isinstance(g, NDArray):
            raise MXNetError("backward: head gradients must be NDArrays, got %s"
                             % type(g).__name__)
        if g.shape != h.shape:
            raise MXNetError("backward: head gradient of shape %s for a head of shape %s"
                             % (g.shape, h.shape))
        out.append(g)
    return out


def _collect(heads: list) -> list:
    """The nodes reachable from the heads, latest first (a reverse topological order,
    since a node's inputs were recorded before it)."""
    seen: dict = {}
    stack = [h._ag.node for h in heads if isinstance(h._ag, Entry)]
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        if n.freed:
            raise MXNetError(
                "backward: the graph through operator %s has already been freed by an "
                "earlier backward; pass retain_graph=True to the first backward to "
                "differentiate the same graph twice" % n.name)
        seen[id(n)] = n
        stack.extend(s.node for s in n.sources if isinstance(s, Entry))
    return sorted(seen.values(), key=lambda n: n.seq, reverse=True)


def _run(heads: list, head_grads: Any, variables: Optional[list], retain_graph: bool,
         create_graph: bool, train_mode: bool) -> Optional[list]:
    for i, h in enumerate(heads):
        if not isinstance(h, NDArray):
            raise MXNetError("backward: heads must be NDArrays, got %s" % type(h).__name__)
        if h._ag is None:
            raise MXNetError(
                "backward: head %d (shape %s) is not part of a recorded computation; "
                "compute it inside autograd.record() from arrays with attach_grad()"
                % (i, h.shape))
    hgrads = _head_grads(heads, head_grads)
    wanted = None
    if variables is not None:
        wanted = {}
        for k, v in enumerate(variables):
            if not isinstance(v, NDArray) or v._ag is None:
                raise MXNetError("grad: variable %d is not part of the recorded computation "
                                 "(call attach_grad() before recording)" % k)
            wanted.setdefault(id(v._ag) if isinstance(v._ag, Leaf) else
                              (id(v._ag.node), v._ag.index), []).append(k)
    nodes = _collect(heads)
    pending: dict = {}  # (id(node), index) or id(leaf) -> list of gradient contributions
    leaves: dict = {}

    def add(src: Any, g: NDArray) -> None:
        if isinstance(src, Leaf):
            key = id(src)
            leaves[key] = src
        else:
            key = (id(src.node), src.index)
        pending.setdefault(key, []).append(g)

    for h, g in zip(heads, hgrads):
        add(h._ag, g)
    results: dict = {}
    prev_rec = _reg.set_recording(create_graph)
    prev_train = _reg.set_training(train_mode)
    try:
        for n in nodes:
            keys = [(id(n), i) for i in range(len(n.out_meta))]
            got = [pending.pop(k, None) for k in keys]
            if all(g is None for g in got):
                continue
            if wanted is not None:
                for k, g in zip(keys, got):
                    if k in wanted and g is not None:
                        results[k] = _sum(g)
            if n.rule is None:
                raise MXNetError("backward: operator %s is not differentiable" % n.name)
            ograds = []
            for i, g in enumerate(got):
                if i >= n.nvis:
                    ograds.append(None)
                elif g is None:
                    ograds.append(_zeros(n.out_meta[i]))
                else:
                    r = results.get(keys[i])
                    ograds.append(_sum(g) if r is None else r)
            try:
                igrads = n.rule(_BUILDER, n.p, n.ins, n.outs, ograds)
            except MXNetError as e:
                raise MXNetError("backward of operator %s: %s" % (n.name, e)) from None
            if len(igrads) != len(n.sources):
                raise MXNetError("gradient rule of %s returned %d gradients for %d inputs"
                                 % (n.name, len(igrads), len(n.sources)))
            for src, g in zip(n.sources, igrads):
                if src is None or g is None:
                    continue
                if isinstance(src, Leaf) and src.grad_req == "null" and wanted is None:
                    continue
                add(src, g)
            if not retain_graph:
                n.free()
        if wanted is not None:
            out: list = [None] * len(variables)
            for key, idxs in wanted.items():
                g = results.get(key)
                if g is None and key in pending:
                    g = _sum(pending[key])
                for k in idxs:
                    v = variables[k]
                    out[k] = g if g is not None else _zeros((v.shape, v._data.dtype, v._ctx))
            return out
        for key, leaf in leaves.items():
            if leaf.grad_req == "null" or leaf.grad is None or key not in pending:
                continue
            g = _sum(pending[key])
            if g.shape != leaf.grad.shape:
                raise MXNetError("backward: gradient of shape %s for a variable of shape %s"
                                 % (g.shape, leaf.grad.shape))
            if leaf.grad_req == "write":
                g.copyto(leaf.grad)
            else:
                leaf.grad += g
        return None
    finally:
        _reg.set_recording(prev_rec)
        _reg.set_training(prev_train)


def backward(heads: Any, head_grads: Any = None, retain_graph: bool = False,
             train_mode: bool = True) -> None:
    """``backward(heads, head_grads=None, retain_graph=False, train_mode=True)``: compute
    the gradients of ``heads`` (weighted by ``head_grads``, default ones) with respect to
    the marked variables and store them in their gradient buffers per ``grad_req``. The
    graph is freed afterwards unless ``retain_graph``."""
    heads = _as_list(heads)
    _run(heads, head_grads, None, retain_graph, False, train_mode)


def grad(heads: Any, variables: Any, head_grads: Any = None, retain_graph: Optional[bool] = None,
         create_graph: bool = False, train_mode: bool = True) -> list:
    """``grad(heads, variables, head_grads=None, retain_graph=None, create_graph=False,
    train_mode=True)``: the gradients of ``heads`` with respect to ``variables``, returned
    as new arrays (gradient buffers are left alone). With ``create_graph`` the backward
    computation is recorded, so the results can be differentiated again."""
    if retain_graph is None:
        retain_graph = create_graph
    return _run(_as_list(heads), head_grads, _as_list(variables), retain_graph, create_graph,
                train_mode)


def get_symbol(x: NDArray) -> Any:
    """``get_symbol(x)``: the recorded computation of ``x`` as a Symbol. Variables become
    ``var<i>``, arrays used without history ``const<i>``; ops keep their parameters.
    Python-level nodes (``Function``, indexing) have no symbolic form and raise."""
    from .symbol.graph import Entry as GEntry, Node as GNode
    from .symbol.symbol import Symbol
    if not isinstance(x._ag, Entry):
        raise MXNetError("get_symbol: the array is not the result of a recorded operation")
    made: dict = {}
    counts = {"var": 0, "const": 0}

    def leaf(kind: str, key: Any) -> GNode:
        if key not in made:
            made[key] = GNode(None, "%s%d" % (kind, counts[kind]))
            counts[kind] += 1
        return made[key]
    order = sorted(_reachable(x._ag.node), key=lambda n: n.seq)
    names: dict = {}
    for n in order:
        if n.op is None:
            raise MXNetError("get_symbol: %s was recorded from Python (autograd.Function "
                             "or indexing) and has no symbolic form" % n.name)
        inputs = []
        for k, s in enumerate(n.sources):
            if isinstance(s, Entry):
                inputs.append(GEntry(made[id(s.node)], s.index))
            elif isinstance(s, Leaf):
                inputs.append(GEntry(leaf("var", id(s))))
            else:
                inputs.append(GEntry(leaf("const", (id(n), k))))
        hint = n.op.name.lower()
        names[hint] = names.get(hint, -1) + 1
        node = GNode(n.op, "%s%d" % (hint, names[hint]), n.op.param_strings(n.p), inputs)
        node._p = n.p
        made[id(n)] = node
    return Symbol([GEntry(made[id(x._ag.node)], x._ag.index)])


def _reachable(node: Node) -> list:
    seen: dict = {}
    stack = [node]
    while stack:
        n = stack.pop()
        if id(n) not in seen:
            seen[id(n)] = n
            stack.extend(s.node for s in n.sources if isinstance(s, Entry))
    return list(seen.values())


# ------------------------------------------------------------------------ Function
class Function:
    """``autograd.Function``: an operation with a hand-written gradient. Subclass it,
    implement ``forward(self, *inputs)`` and ``backward(self, *output_grads)`` on
    NDArrays (both run without recording), use ``save_for_backward``/``saved_tensors`` to
    pass values between them, and call an instance on NDArrays."""

    def __init__(self):
        self._used = False
        self.saved_tensors: tuple = ()

    def save_for_backward(self, *args: Any) -> None:
        self.saved_tensors = args

    def forward(self, *inputs: NDArray) -> Any:
        raise NotImplementedError

    def backward(self, *output_grads: NDArray) -> Any:
        raise NotImplementedError

    def __call__(self, *inputs: NDArray) -> Any:
        if self._used:
            raise MXNetError("each autograd.Function instance can be called only once; "
                             "create a new instance per call")
        self._used = True
        with pause(is_training()):
            outputs = self.forward(*inputs)
        outs = _as_list(outputs)
        for o in outs:
            if not isinstance(o, NDArray):
                raise MXNetError("%s.forward must return NDArrays, got %s"
                                 % (type(self).__name__, type(o).__name__))
        # outputs may alias inputs; give them their own identity for the tape
        outs = [_alias(o, None) if any(o is x for x in inputs) else o for o in outs]

        def rule(ograds):
            with pause(is_training()):
                res = self.backward(*ograds)
            res = _as_list(res) if res is not None else []
            if len(res) != len(inputs):
                raise MXNetError("%s.backward returned %d gradients for %d inputs"
                                 % (type(self).__name__, len(res), len(inputs)))
            for k, (g, x) in enumerate(zip(res, inputs)):
                if g is not None and g.shape != x.shape:
                    raise MXNetError("%s.backward: gradient %d has shape %s, input %s"
                                     % (type(self).__name__, k, g.shape, x.shape))
            return res
        record_function(type(self).__name__, list(inputs), outs, rule)
        return outs[0] if isinstance(outputs, NDArray) else outs


_dispatch.set_record_hook(_record)
_dispatch.set_function_hook(record_function)
