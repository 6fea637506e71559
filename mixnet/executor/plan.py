"""Compiling a symbol for execution: the indexed graph, the step list and the memory plan.

:func:`compile_graph` turns a symbol's outputs (plus, for training, the gradient graph
built by :func:`mixnet.executor.gradient.build_backward`) into a :class:`Graph`: the
forward nodes, the backward nodes (everything the gradients need that the forward heads
do not), optional mirroring and fusion rewrites, and the inferred shape and dtype of every
entry. :func:`make_steps` lists what running it means: one step per op node in execution
order plus the steps that move results to where the caller wants them (output arrays,
gradient arrays with ``write``/``add``). :func:`plan_memory` then gives every *internal*
entry a storage block:

* **in-place**: an output may take the block of an input when the op declares that
  ``(input, output)`` pair in its ``inplace`` option, the sizes and dtypes agree and this
  step is the last reader of every entry living in that block;
* **co-sharing**: a block whose entries have all been read for the last time returns to a
  free pool keyed by size; later entries take the best fit (MXNet's rule: the smallest
  free block at least as large, within a factor of 16, else the largest smaller one within
  that factor, which grows).

Arguments, auxiliary states, head gradients, argument gradients and graph outputs live in
arrays the caller owns and are never planned. :func:`memory_usage` runs all of this
without allocating anything.
"""
from __future__ import annotations

import bisect
from typing import Any, Optional, Sequence

import numpy as np

from ..base import MXNetError, getenv_str
from ..operator.registry import shape_str
from ..symbol.graph import Entry, Node, post_order
from .gradient import build_backward
from .infer import infer_graph

__all__ = ["Graph", "Step", "MemPlan", "compile_graph", "make_steps", "plan_memory",
           "memory_usage", "GRAD_REQS"]

GRAD_REQS = ("write", "add", "null")
_MATCH_RANGE = 16  # MXNet's GraphAllocator match range


# loss layers: their gradient rule does not depend on the head gradient (api-map §2.8)
_LOSS_OPS = frozenset(("SoftmaxOutput", "LinearRegressionOutput", "LogisticRegressionOutput",
                       "MAERegressionOutput", "SVMOutput", "MakeLoss", "make_loss"))


def ignores_head_grad(node: Node) -> bool:
    """Whether ``node``'s op is a loss layer that ignores its head gradient
    (``SoftmaxOutput`` reads it only with ``out_grad=True``)."""
    op = node.op
    if op is None or op.name not in _LOSS_OPS:
        return False
    return not (op.name == "SoftmaxOutput" and node.params.out_grad)


def _key(e: Entry) -> tuple:
    return (id(e.node), e.index)


# ----------------------------------------------------------------------------- graph
class Graph:
    """A compiled graph. ``heads``: forward outputs; ``wrt``: the variable nodes gradients
    are taken for; ``grads``: one entry (or ``None``) per ``wrt`` node; ``head_grads``:
    the variable nodes standing for the caller's head gradients; ``needs_ograd[i]``:
    whether the caller must give head ``i``'s gradient (loss heads ignore it);
    ``fwd_nodes``/``bwd_nodes``: op nodes in execution order; ``shapes``/``dtypes``: per
    entry key ``(id(node), index)``."""

    def __init__(self):
        self.heads: list = []
        self.wrt: list = []
        self.grads: list = []
        self.head_grads: list = []
        self.needs_ograd: list = []
        self.nodes: list = []
        self.fwd_nodes: list = []
        self.bwd_nodes: list = []
        self.variables: list = []
        self.shapes: dict = {}
        self.dtypes: dict = {}

    def nbytes(self, key: tuple) -> int:
        return int(np.prod(self.shapes[key], dtype=np.int64)) * self.dtypes[key].itemsize

    def entry_name(self, key: tuple) -> str:
        """A readable name of an entry: ``node`` for variables and single outputs,
        ``node:i`` otherwise."""
        node = self._by_id[key[0]]
        if node.op is None or node.num_outputs() == 1:
            return node.name
        return "%s:%d" % (node.name, key[1])

    def index(self) -> None:
        self._by_id = {id(n): n for n in self.nodes}


def _apply_mirror(fwd_nodes: list, heads: list, grads: list, mirror: Optional[bool]) -> list:
    """Run the mirroring pass (``mirror.py``; skipped when that module is absent).
    ``mirror``: ``True``/``False`` forces the default policy on or off, ``None`` leaves
    it to ``MXNET_BACKWARD_DO_MIRROR``; per-node ``__mirror_stage__`` /
    ``__force_mirroring__`` attributes are honoured by the pass either way."""
    live = [g for g in grads if g is not None]
    if not live:
        return grads
    try:
        from .mirror import mirror_graph
    except ImportError:
        return grads
    new = list(mirror_graph(fwd_nodes, live, do_mirror=mirror, keep=heads))
    if len(new) != len(live):
        raise MXNetError("mirror pass returned %d heads for %d" % (len(new), len(live)))
    it = iter(new)
    return [None if g is None else next(it) for g in grads]


def _fusion_on(fusion: Optional[bool]) -> bool:
    if fusion is None:
        return getenv_str("MXNET_EXEC_ENABLE_FUSION", "1").strip() != "0"
    return bool(fusion)


def _apply_fusion(g: "Graph", live: list) -> Optional[list]:
    """Run the element-wise fusion pass (``fusion.py``) over the inferred graph; returns
    the new ``heads + live`` or ``None`` when nothing changed (or the module is absent).
    Entries the forward/backward split depends on are protected: the forward heads and
    every forward entry a backward node reads."""
    try:
        from .fusion import fuse
    except ImportError:
        return None
    all_heads = list(g.heads) + live
    fwd = {id(n) for n in g.fwd_nodes}
    protected = {_key(h) for h in g.heads}
    for n in g.bwd_nodes:
        for e in n.inputs:
            if id(e.node) in fwd:
                protected.add(_key(e))
    new = list(fuse(g.nodes, all_heads, protected, shapes=g.shapes, dtypes=g.dtypes))
    if len(new) != len(all_heads):
        raise MXNetError("fusion pass returned %d heads for %d" % (len(new), len(all_heads)))
    if all(a.node is b.node and a.index == b.index for a, b in zip(new, all_heads)):
        return None
    return new


def _split(g: "Graph", live: list) -> None:
    g.nodes = post_order(g.heads + live)
    fwd = post_order(g.heads)
    fwd_ids = {id(n) for n in fwd}
    g.fwd_nodes = [n for n in fwd if n.op is not None]
    g.bwd_nodes = [n for n in g.nodes if n.op is not None and id(n) not in fwd_ids]
    g.variables = [n for n in g.nodes if n.op is None]


def compile_graph(heads: Sequence[Entry], wrt: Sequence[Node], shapes: dict,
                  dtypes: Optional[dict] = None, mirror: Optional[bool] = None,
                  fusion: Optional[bool] = None) -> Graph:
    """Build the executable graph of ``heads``: with ``wrt`` (variable nodes) non-empty,
    the gradient graph too (head gradients are variables; a loss head's stays a zero
    array nobody fills). ``shapes``/``dtypes``: variable name -> value. ``mirror``: see
    :func:`_apply_mirror`; ``fusion``: ``None`` = unless ``MXNET_EXEC_ENABLE_FUSION=0``.
    Every entry's shape and dtype must be inferable; otherwise an ``MXNetError`` names
    the node."""
    g = Graph()
    g.heads = list(heads)
    g.wrt = list(wrt)
    fwd0 = post_order(g.heads)
    shapes = dict(shapes)
    dtypes = dict(dtypes or {})
    if g.wrt:
        # head shapes first: the head-gradient variables take them
        fs, ft = infer_graph(fwd0, shapes, dtypes)
        for i, h in enumerate(g.heads):
            name = "__head_grad_%d__" % i
            v = Node(None, name)
            g.head_grads.append(v)
            k = _key(h)
            if k in fs:
                shapes[name] = fs[k]
            if k in ft:
                dtypes[name] = ft[k]
        grads = build_backward(g.heads, [Entry(v) for v in g.head_grads], g.wrt)
        grads = _apply_mirror(fwd0, g.heads, grads, mirror)
    else:
        grads = []
    live = [e for e in grads if e is not None]
    orig_heads = list(g.heads)
    _split(g, live)
    g.shapes, g.dtypes = infer_graph(g.nodes, shapes, dtypes)
    if _fusion_on(fusion):
        new = _apply_fusion(g, live)
        if new is not None:
            nh = len(g.heads)
            g.heads, live = new[:nh], new[nh:]
            it = iter(live)
            grads = [None if e is None else next(it) for e in grads]
            _split(g, live)
            g.shapes, g.dtypes = infer_graph(g.nodes, shapes, dtypes)
    g.grads = grads
    used = {id(n) for n in post_order(live)} if live else set()
    # a loss head's gradient variable may still be an input of its backward kernel; it
    # stays a zero array the caller never has to fill
    g.needs_ograd = [id(v) in used and not ignores_head_grad(h.node)
                     for v, h in zip(g.head_grads, orig_heads)]
    g.index()
    for n in g.nodes:
        for i in range(n.num_outputs()):
            k = (id(n), i)
            if k not in g.shapes:
                if n.op is None:
                    raise MXNetError("cannot infer the shape of input %s: give its shape"
                                     % n.name)
                ins = ", ".join("%s=%s" % (nm, shape_str(g.shapes.get(_key(e))))
                                for nm, e in zip(n.input_names(), n.inputs))
                raise MXNetError("cannot infer the shape of output %d of node %s (%s); its "
                                 "inputs are %s" % (i, n.name, n.op.name, ins or "none"))
            if k not in g.dtypes:
                raise MXNetError("cannot infer the dtype of output %d of node %s"
                                 % (i, n.name))
    return g


# ----------------------------------------------------------------------------- steps
class Step:
    """One thing the executor does. ``kind``: ``'op'`` (run ``node``'s kernel),
    ``'copy'`` (``writes[0] = reads[0]``), ``'add'`` (``writes[0] += reads[0]``) or
    ``'zero'``. ``reads``/``writes`` are entry keys, or destination keys ``('out', i)`` /
    ``('grad', j)`` for arrays the caller owns. ``inplace``: the op's ``(input, output)``
    pairs; ``mutates``: input positions written in place (aux states)."""

    __slots__ = ("kind", "node", "reads", "writes", "inplace", "mutates")

    def __init__(self, kind: str, node: Optional[Node], reads: list, writes: list,
                 inplace: Sequence[tuple] = (), mutates: Sequence[int] = ()):
        self.kind = kind
        self.node = node
        self.reads = reads
        self.writes = writes
        self.inplace = tuple(inplace)
        self.mutates = tuple(mutates)

    @property
    def name(self) -> str:
        return self.node.name if self.node is not None else self.kind

    def __repr__(self) -> str:
        return "<Step %s %s>" % (self.kind, self.name)


def _op_step(n: Node) -> Step:
    return Step("op", n, [_key(e) for e in n.inputs],
                [(id(n), i) for i in range(n.num_outputs())],
                n.op.inplace, n.mutate_indices())


def make_steps(g: Graph, grad_reqs: Sequence[str]) -> tuple:
    """``(fwd_steps, bwd_steps, bound)`` for graph ``g`` with one ``grad_req`` per ``wrt``
    node. ``bound`` maps an entry key to the destination key whose array holds it (a graph
    output, or a ``write`` gradient computed straight into the caller's array); other
    results reach their destination through copy/add steps."""
    bound: dict = {}
    fwd = [_op_step(n) for n in g.fwd_nodes]
    for i, h in enumerate(g.heads):
        k = _key(h)
        if h.node.op is not None and k not in bound:
            bound[k] = ("out", i)
        else:  # a variable or a repeated head: its own array, filled by a copy
            fwd.append(Step("copy", None, [k], [("out", i)]))
    bwd = [_op_step(n) for n in g.bwd_nodes]
    bwd_ids = {id(n) for n in g.bwd_nodes}
    for j, (e, req) in enumerate(zip(g.grads, grad_reqs)):
        if req == "null":
            continue
        dest = ("grad", j)
        if e is None:
            if req == "write":
                bwd.append(Step("zero", None, [], [dest]))
            continue
        k = _key(e)
        if req == "write" and id(e.node) in bwd_ids and k not in bound:
            bound[k] = dest
        else:
            bwd.append(Step("add" if req == "add" else "copy", None, [k], [dest]))
    return fwd, bwd, bound


# ----------------------------------------------------------------------------- planner
class MemPlan:
    """The result of :func:`plan_memory`. ``storage``: entry key -> block id; ``sizes``:
    bytes per block; ``inplace``: output key -> the input key whose block it took;
    ``lifetimes``: entry key -> ``(write step, last read step)``; byte counts of the plan
    and of one buffer per entry (``naive_bytes``)."""

    def __init__(self):
        self.storage: dict = {}
        self.sizes: list = []
        self.inplace: dict = {}
        self.lifetimes: dict = {}
        self.naive_bytes = 0
        self.num_shared = 0

    @property
    def internal_bytes(self) -> int:
        return int(sum(self.sizes))

    @property
    def num_entries(self) -> int:
        return len(self.storage)


class _Pool:
    """Free blocks sorted by size; ``request`` follows MXNet's best-fit rule."""

    def __init__(self):
        self.free: list = []  # sorted (bytes, sid)

    def release(self, nbytes: int, sid: int) -> None:
        bisect.insort(self.free, (nbytes, sid))

    def request(self, nbytes: int) -> Optional[int]:
        free = self.free
        if not free:
            return None
        i = bisect.bisect_left(free, (nbytes, -1))
        if i < len(free) and free[i][0] < nbytes * _MATCH_RANGE:
            return free.pop(i)[1]
        if i > 0 and free[i - 1][0] * _MATCH_RANGE > nbytes:
            return free.pop(i - 1)[1]  # the caller grows it
        return None


def plan_memory(steps: Sequence[Step], nbytes: Any, dtypes: dict, external: Any,
                inplace: bool = True, coshare: bool = True) -> MemPlan:
    """Assign storage blocks to the entries ``steps`` write, in step order. ``nbytes``:
    ``key -> bytes``; ``dtypes``: ``key -> dtype``; ``external``: a container of keys
    with caller-owned storage (never planned, never taken in place)."""
    plan = MemPlan()
    refs: dict = {}
    for s in steps:
        for k in s.reads:
            refs[k] = refs.get(k, 0) + 1
    storage = plan.storage
    sizes = plan.sizes
    left: list = []  # reads still to come of the entries living in each block
    pool = _Pool()
    ever_shared: set = set()

    def release(sid: int) -> None:
        if coshare:
            pool.release(sizes[sid], sid)

    for t, s in enumerate(steps):
        taken = set()
        assigned = {}
        if inplace and s.kind == "op":
            for i, o in s.inplace:
                if i >= len(s.reads) or o >= len(s.writes):
                    continue
                ik, ok = s.reads[i], s.writes[o]
                if ok in external or ok in assigned or ik in external:
                    continue
                sid = storage.get(ik)
                if sid is None or sid in taken or left[sid] != 1:
                    continue
                if nbytes(ik) != nbytes(ok) or dtypes[ik] != dtypes[ok]:
                    continue
                if s.mutates and i in s.mutates:
                    continue
                assigned[ok] = sid
                taken.add(sid)
                plan.inplace[ok] = ik
        for ok in s.writes:
            if ok in external:
                continue
            nb = nbytes(ok)
            plan.naive_bytes += nb
            sid = assigned.get(ok)
            if sid is None:
                sid = pool.request(nb) if coshare else None
                if sid is None:
                    sid = len(sizes)
                    sizes.append(nb)
                    left.append(0)
                else:
                    ever_shared.add(sid)
                    if sizes[sid] < nb:
                        sizes[sid] = nb
            storage[ok] = sid
            left[sid] += refs.get(ok, 0)
            plan.lifetimes[ok] = (t, t)
        freed = set()
        for k in s.reads:
            sid = storage.get(k)
            if sid is None or k in external:
                continue
            plan.lifetimes[k] = (plan.lifetimes[k][0], t)
            left[sid] -= 1
            if left[sid] == 0:
                freed.add(sid)
        for ok in s.writes:  # written but never read (hidden outputs): free at once
            sid = storage.get(ok)
            if sid is not None and ok not in external and left[sid] == 0:
                freed.add(sid)
        for sid in sorted(freed):
            release(sid)
    plan.num_shared = len(ever_shared)
    return plan


# ----------------------------------------------------------------------------- usage
def _external_keys(g: Graph, bound: dict, steps: list) -> set:
    """Keys with caller-owned storage: variables, bound entries, destinations."""
    ext = {(id(v), 0) for v in g.variables}
    ext.update(bound)
    for s in steps:
        ext.update(k for k in s.writes if isinstance(k[0], str))
    return ext


def memory_usage(symbol: Any, shapes: dict, for_training: bool, inplace: bool = True,
                 coshare: bool = True, mirror: bool = False,
                 dtypes: Optional[dict] = None) -> dict:
    """Plan ``symbol``'s memory without allocating anything.

    ``shapes``: input name -> shape (data and labels; parameters are inferred). With
    ``for_training`` gradients are taken, as ``Module`` does, for every argument not named
    in ``shapes``. Returns ``internal_bytes`` (planned bytes of internal entries, i.e.
    excluding arguments, auxiliary states, inputs, outputs and argument gradients),
    ``naive_bytes`` (one buffer per internal entry), ``num_entries``, ``num_storage``
    (blocks), ``num_inplace``, ``num_shared`` (blocks reused by co-sharing),
    ``num_steps`` and ``external_bytes`` (what the caller's arrays hold)."""
    heads = list(symbol.outputs)
    fwd = post_order(heads)
    arg_names = set(symbol.list_arguments())
    wrt = []
    if for_training:
        wrt = [n for n in fwd if n.op is None and n.name in arg_names and n.name not in shapes]
    g = compile_graph(heads, wrt, {k: tuple(v) for k, v in shapes.items()}, dtypes,
                      mirror=bool(mirror))
    fs, bs, bound = make_steps(g, ["write"] * len(wrt))
    steps = fs + bs if for_training else fs
    ext = _external_keys(g, bound, steps)
    plan = plan_memory(steps, g.nbytes, g.dtypes, ext, inplace=inplace, coshare=coshare)
    ext_bytes = sum(g.nbytes(k) for k in ext if k in g.shapes)
    return {"internal_bytes": plan.internal_bytes, "naive_bytes": plan.naive_bytes,
            "num_entries": plan.num_entries, "num_storage": len(plan.sizes),
            "num_inplace": len(plan.inplace), "num_shared": plan.num_shared,
            "num_steps": len(steps), "external_bytes": int(ext_bytes)}
