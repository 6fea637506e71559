"""Element-wise fusion: chains (trees) of element-wise ops become one ``_FusedElemwise``
node whose kernel runs the original kernels one after another into the node's output
buffer, so the intermediate values never get buffers of their own in the memory plan.

What qualifies (decided from the registry, see :func:`is_fusable`): single-output,
deterministic, non-mutating ops that map each element to one element with the output of
every input's shape and dtype -- the unary math ops, the same-shape ``elemwise_*``
binaries, the scalar ops, comparisons and logical ops, ``clip``, ``hard_sigmoid``,
``smooth_l1``, ``add_n``, ``Activation``, ``LeakyReLU`` (leaky/elu/selu/gelu). When the
caller passes inferred ``shapes``, ``broadcast_*`` ops whose inputs all have the output
shape qualify too; when it passes ``dtypes``, the fused backward kernels
(``_backward_relu``, ``_backward_Activation`` ...) qualify where every operand has one
dtype.

A value may disappear into a fused node only if exactly one node reads it, it is not a
graph head and it is not ``protected`` (entries someone else reads by identity: the
values the backward pass keeps, monitored outputs). So every fused group is a tree whose
root is the only value that stays visible.

The program is a JSON string attribute (``program``): a list of steps
``[op name, {param: string}, [operand], buffer, node name]``; an operand is ``"i<k>"``
(input ``k`` of the fused node) or ``"s<j>"`` (the value of step ``j``); buffer 0 is the
node's output, ``1..`` scratch arrays. Buffers are assigned at fuse time: a step writes
over one of its operands where its op declares that in-place pair, and otherwise takes a
scratch array no live value holds, so a chain needs no scratch at all and a tree needs one
per concurrently live side branch. Because every step runs the op's own kernel the results
are bitwise those of the unfused graph.

The gradient rule replays the steps' own gradient rules in reverse, recomputing (through
``F``) only the intermediate values those rules read; the fused output itself is kept.
"""
from __future__ import annotations

import json
import threading
from typing import Any, Optional, Sequence

from ..base import MXNetError
from ..operator import elemwise as _ew
from ..operator import registry as _reg
from ..operator.params import Int, Param, Str
from ..symbol.graph import Entry, Node, param_attrs, post_order, rewired

__all__ = ["fuse", "is_fusable", "FUSED_OP"]

FUSED_OP = "_FusedElemwise"

# ----------------------------------------------------------------------- qualifying ops
# Element-wise ops whose output has the shape and dtype of every input (their inference
# enforces it), so a whole fused group shares one shape and one dtype.
_SKIP_UNARY = {"make_loss", "zeros_like", "ones_like"}  # loss head / value-free fills
_SAME: set = {n for n in _ew._UNARY if n not in _SKIP_UNARY}
_SAME |= {"erf", "erfinv", "gamma", "gammaln", "clip", "hard_sigmoid", "smooth_l1",
          "add_n", "_grad_add", "Activation"}
_BROADCAST: set = set()
for _key, _row in _ew._BINARY.items():
    _SAME.add(_row[1])  # elemwise_add, _mod, _maximum, _equal ...
    _SAME.add(_row[3])  # _plus_scalar ...
    if _row[5]:
        _SAME.add(_row[5])  # _rminus_scalar ...
    _BROADCAST.add("broadcast_" + _key)
_LRELU_TYPES = ("leaky", "elu", "selu", "gelu")  # prelu reads gamma, rrelu draws randoms
# fused backward kernels: element-wise, but their dtype follows the head gradient, so
# they join a group only when the caller's dtypes show every operand agrees
_BACKWARD: set = {"_backward_" + n for n in _ew._UNARY_DERIV}
_BACKWARD |= {"_backward2_" + n for n, (_d, d2, _u) in _ew._UNARY_DERIV.items()
              if d2 is not _ew._ZERO}
_BACKWARD |= {"_backward" + n for n in _ew._SCALAR_DERIV}
_BACKWARD |= {"_backward_Activation", "_backward_clip", "_backward_smooth_l1",
              "_backward_hard_sigmoid"}


def _canon(name: str) -> str:
    op = _reg.find(name)
    return op.name if op is not None else name


_SAME = {_canon(n) for n in _SAME}
_BACKWARD = {_canon(n) for n in _BACKWARD if _reg.find(n) is not None}


def _key(e: Any) -> tuple:
    return e if isinstance(e, tuple) else (id(e.node), e.index)


def is_fusable(node: Node, shapes: Optional[dict] = None,
               dtypes: Optional[dict] = None) -> bool:
    """Whether ``node`` is an element-wise map that may join a fused group.

    ``shapes``/``dtypes`` (``{(id(node), index): value}`` from
    :func:`mixnet.executor.infer.infer_graph`) widen the set: broadcast ops whose inputs
    all have the output shape, and backward kernels whose operands share one dtype.
    """
    op = node.op
    if op is None or node.control_deps:
        return False
    name = op.name
    if name == "LeakyReLU":
        if node.params.act_type not in _LRELU_TYPES:
            return False
    elif name in _BROADCAST:
        if shapes is None:
            return False
        out = shapes.get((id(node), 0))
        if out is None or any(shapes.get(_key(e)) != out for e in node.inputs):
            return False
    elif name in _BACKWARD:
        if dtypes is None or shapes is None:
            return False
        keys = [(id(node), 0)] + [_key(e) for e in node.inputs]
        if len({str(dtypes.get(k)) for k in keys}) != 1 or dtypes.get(keys[0]) is None:
            return False
        if len({shapes.get(k) for k in keys}) != 1 or shapes.get(keys[0]) is None:
            return False
    elif name not in _SAME:
        return False
    p = node.params
    return node.num_outputs() == 1 and not op.uses_random(p) and not op.mutate_indices(p)


# ----------------------------------------------------------------------- the fused op
class _Program:
    """A parsed program: per step (op, parsed params, operand refs, output buffer)."""

    __slots__ = ("steps", "kernel_steps", "nscratch", "in0_safe", "nin")

    def __init__(self, text: str):
        try:
            raw = json.loads(text)
        except ValueError as e:
            raise MXNetError("%s: malformed program %r: %s" % (FUSED_OP, text, e)) from None
        steps = []
        self.nin = 0
        for j, st in enumerate(raw):
            opname, attrs, refs, buf = st[0], st[1], st[2], int(st[3])
            op = _reg.get(opname)
            p = op.parse_params(attrs)
            crefs = []
            for r in refs:
                k = int(r[1:])
                if r[0] == "i":
                    crefs.append((True, k))
                    self.nin = max(self.nin, k + 1)
                elif r[0] == "s" and k < j:
                    crefs.append((False, k))
                else:
                    raise MXNetError("%s: bad operand %r in step %d" % (FUSED_OP, r, j))
            steps.append((op, p, crefs, buf))
        if not steps or steps[-1][3] != 0:
            raise MXNetError("%s: the last step must write the output" % FUSED_OP)
        self.steps = steps
        # for the kernel: internal operands resolved to the buffer their step wrote
        self.kernel_steps = [(op, p, [(isin, k if isin else steps[k][3]) for isin, k in refs],
                              buf) for op, p, refs, buf in steps]
        self.nscratch = max(s[3] for s in steps)
        # input 0 may alias the output when it is read once, by the step that first
        # writes buffer 0, in a slot that op lets overwrite (see _plan_buffers)
        self.in0_safe = False
        uses = [(j, slot) for j, s in enumerate(steps) for slot, (isin, k) in
                enumerate(s[2]) if isin and k == 0]
        first0 = next(j for j, s in enumerate(steps) if s[3] == 0)
        if len(uses) == 1 and uses[0][0] == first0:
            self.in0_safe = (uses[0][1], 0) in steps[first0][0].inplace


_programs: dict = {}
_programs_lock = threading.Lock()


def _program(text: str) -> _Program:
    prog = _programs.get(text)
    if prog is None:
        prog = _Program(text)
        with _programs_lock:
            if len(_programs) > 4096:
                _programs.clear()
            _programs[text] = prog
    return prog


def _fused_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    prog = _program(p.program)
    xp = oc.xp
    out = outs[0]
    if not prog.in0_safe and ins and xp.may_share_memory(ins[0], out):
        ins = [ins[0].copy()] + list(ins[1:])  # the planner aliased an input read late
    bufs = [out] + [xp.empty_like(out) for _ in range(prog.nscratch)]
    for op, sp, refs, b in prog.kernel_steps:
        op.forward(oc, [ins[k] if isin else bufs[k] for isin, k in refs], [bufs[b]], sp)


def _simulate(prog: _Program, ins: list, rule: str) -> Any:
    """Run the steps' own shape or dtype rules; returns the root's value."""
    vals: list = []
    for j, (op, sp, refs, _b) in enumerate(prog.steps):
        args = [ins[k] if isin else vals[k] for isin, k in refs]
        fn = op.infer_shape if rule == "shape" else op.infer_type
        try:
            _, o = fn(sp, args)
        except MXNetError as e:
            raise MXNetError("%s step %d (%s): %s" % (FUSED_OP, j, op.name, e)) from None
        vals.append(o[0])
    return vals[-1]


def _fused_shape(p: Any, shapes: list):
    prog = _program(p.program)
    out = _simulate(prog, shapes, "shape")
    if out is None:
        known = [s for s in shapes if s is not None]
        out = known[0] if known else None
    # every operand of an element-wise group has the output's shape
    return [out if s is None else s for s in shapes], [out]


def _fused_type(p: Any, dtypes: list):
    prog = _program(p.program)
    out = _simulate(prog, dtypes, "type")
    return [out if d is None else d for d in dtypes], [out]


def _fused_grad(F: Any, p: Any, ins: list, outs: list, ograds: list) -> list:
    """Backward by the steps' own rules, last step first; intermediate values are
    recomputed through ``F`` only where a rule reads them."""
    from ..operator.gradient import needed_inputs, needed_outputs
    prog = _program(p.program)
    steps = prog.steps
    root = len(steps) - 1
    memo: dict = {root: outs[0]}

    def value(j: int) -> Any:
        if j not in memo:
            op, sp, refs, _b = steps[j]
            memo[j] = F.call(op.name, [ins[k] if isin else value(k) for isin, k in refs], sp)
        return memo[j]

    in_grads: list = [[] for _ in ins]
    grads: dict = {root: ograds[0]}
    for j in range(root, -1, -1):
        g = grads.pop(j, None)
        if g is None:
            continue
        op, sp, refs, _b = steps[j]
        if op.gradient is None:
            raise MXNetError("%s: step %d (%s) is not differentiable" % (FUSED_OP, j, op.name))
        keep_in = needed_inputs(op, len(refs))
        keep_out = needed_outputs(op, 1)
        args = [(ins[k] if isin else value(k)) if keep else None
                for keep, (isin, k) in zip(keep_in, refs)]
        res = op.gradient(F, sp, args, [value(j) if keep_out[0] else None], [g])
        for gi, (isin, k) in zip(res, refs):
            if gi is None:
                continue
            if isin:
                in_grads[k].append(gi)
            else:
                grads[k] = gi  # each internal value has exactly one reader
    out = []
    for gl in in_grads:
        if not gl:
            out.append(None)
        elif len(gl) == 1:
            out.append(gl[0])
        else:
            out.append(F.call("add_n", gl, num_args=len(gl)))
    return out


if _reg.find(FUSED_OP) is None:
    _reg.register(_reg.OpDef(
        FUSED_OP, inputs=lambda p: ["arg%d" % i for i in range(p.num_args)],
        params=[Param("num_args", Int(lo=1), doc="number of inputs"),
                Param("program", Str(), doc="JSON list of steps "
                      "[op, {param: string}, [operand 'i<k>'/'s<j>'], buffer, name]")],
        forward=_fused_forward, infer_shape=_fused_shape, infer_type=_fused_type,
        varargs="num_args", inplace=((0, 0),), gradient=_fused_grad,
        keep_inputs=True, keep_outputs=(0,),
        doc="A chain of element-wise ops evaluated by one kernel into one output buffer "
            "(built by the executor's fusion pass)."))


def expose(opdef: _reg.OpDef) -> None:
    """Give an op registered after ``mx.nd``/``mx.sym`` were populated its
    ``mx.nd.op``/``mx.nd._internal`` and ``mx.sym.op``/``mx.sym._internal`` functions,
    as every registered op has."""
    from .. import ndarray as _nd
    from .. import symbol as _sym
    from ..ndarray import register as _ndreg
    from ..symbol import register as _symreg
    for mod, maker in ((_nd, _ndreg.make_function), (_sym, _symreg.make_function)):
        fn = maker(opdef, opdef.name)
        for space in ("op", "_internal"):
            ns = getattr(mod, space, None)
            if ns is not None and not hasattr(ns, opdef.name):
                setattr(ns, opdef.name, fn)


expose(_reg.get(FUSED_OP))


# ----------------------------------------------------------------------- the pass
def _plan_buffers(steps: list) -> list:
    """Output buffer per step (0 = the fused output). ``steps``: (op, parsed params,
    operands) with operands ``("i", k)``/``("s", j)``, in evaluation order."""
    m = len(steps)
    root = m - 1
    chain = [None] * m
    chain_start: list = []
    chain_end: list = []
    chain[root] = 0
    chain_start.append(root)
    chain_end.append(m)  # the output lives to the end
    for j in range(root, -1, -1):
        op, _p, refs = steps[j]
        inplace_slot = None
        for slot, (kind, k) in enumerate(refs):
            if kind == "s" and (slot, 0) in op.inplace:
                inplace_slot = slot
                break
        for slot, (kind, k) in enumerate(refs):
            if kind != "s":
                continue
            if slot == inplace_slot:
                chain[k] = chain[j]  # the step overwrites this operand in place
            else:
                chain[k] = len(chain_start)
                chain_start.append(k)
                chain_end.append(j)  # read by step j, then free
            c = chain[k]
            chain_start[c] = min(chain_start[c], k)
    # scratch arrays for the side chains, reused once a chain's reader has run (strictly
    # earlier: a step never writes the array it reads without an in-place declaration)
    order = sorted(range(1, len(chain_start)), key=lambda c: chain_start[c])
    buf_of = {0: 0}
    busy_until: list = []
    for c in order:
        for b, end in enumerate(busy_until):
            if end < chain_start[c]:
                busy_until[b] = chain_end[c]
                buf_of[c] = b + 1
                break
        else:
            busy_until.append(chain_end[c])
            buf_of[c] = len(busy_until)
    return [buf_of[chain[j]] for j in range(m)]


def fuse(nodes: Optional[Sequence[Node]], heads: Sequence[Entry], protected: Any = (),
         shapes: Optional[dict] = None, dtypes: Optional[dict] = None,
         mapping: Optional[dict] = None) -> list:
    """Fuse chains of element-wise ops reachable from ``heads`` into ``_FusedElemwise``
    nodes; return the new heads (same order and meaning).

    ``nodes``: the graph's nodes (readers among them that ``heads`` do not reach still
    count, so a value read elsewhere is never fused away); ``None`` = ``post_order(heads)``.
    ``protected``: entries (``Entry`` or ``(id(node), index)`` keys) that must remain
    visible -- graph outputs, the forward values the backward pass reads, monitored
    outputs. ``shapes``/``dtypes``: optional inference results keyed by entry, which let
    broadcast ops with equal shapes and backward kernels join (see :func:`is_fusable`).
    ``mapping``: if a dict, filled with ``old (id(node), index) -> new Entry`` for every
    entry that survives, for callers that hold references into the old graph.

    The input graph is not modified: nodes whose inputs change are copied (same op, name,
    attributes); untouched nodes, variables included, are shared with the old graph.
    """
    heads = list(heads)
    order = post_order(heads)
    protect = {_key(e) for e in protected}
    protect.update(_key(h) for h in heads)
    readers: dict = {}
    ctrl_targets: set = set()
    seen: set = set()
    for n in list(nodes or ()) + order:
        if id(n) in seen:
            continue
        seen.add(id(n))
        for e in n.inputs:
            k = _key(e)
            readers[k] = readers.get(k, 0) + 1
        for d in n.control_deps:
            ctrl_targets.add(id(d))
    fusable: dict = {}

    def can_fuse(n: Node) -> bool:
        r = fusable.get(id(n))
        if r is None:
            r = fusable[id(n)] = id(n) not in ctrl_targets and is_fusable(n, shapes, dtypes)
        return r

    def absorbable(e: Entry, consumer: Node) -> bool:
        k = _key(e)
        return (k not in protect and readers.get(k) == 1 and can_fuse(e.node)
                and e.node.attrs.get("__ctx_group__") == consumer.attrs.get("__ctx_group__"))

    assigned: set = set()
    groups: dict = {}  # id(root) -> member nodes in evaluation order
    for n in reversed(order):
        if id(n) in assigned or not can_fuse(n):
            continue
        members: list = []
        stack = [(n, 0)]
        assigned.add(id(n))
        while stack:  # post-order over the absorbable producers
            node, i = stack[-1]
            if i < len(node.inputs):
                stack[-1] = (node, i + 1)
                e = node.inputs[i]
                if id(e.node) not in assigned and absorbable(e, node):
                    assigned.add(id(e.node))
                    stack.append((e.node, 0))
            else:
                stack.pop()
                members.append(node)
        if len(members) > 1:
            groups[id(n)] = members

    memo: dict = {}  # id(old node) -> new node

    def remap(e: Entry) -> Entry:
        new = memo.get(id(e.node), e.node)
        return e if new is e.node else Entry(new, e.index, e.version)

    for n in order:
        members = groups.get(id(n))
        if members is not None:
            memo[id(n)] = _build_fused(n, members, remap)
            continue
        if n.op is None:
            continue
        ins = [remap(e) for e in n.inputs]
        deps = [memo.get(id(d), d) for d in n.control_deps]
        copy = rewired(n, ins, deps)
        if copy is not None:
            memo[id(n)] = copy
    if mapping is not None:
        gone = {id(m) for ms in groups.values() for m in ms[:-1]}
        for n in order:
            if id(n) in gone:
                continue
            new = memo.get(id(n), n)
            for i in range(n.num_outputs()):
                mapping[(id(n), i)] = Entry(new, i)
    return [remap(h) for h in heads]


def _build_fused(root: Node, members: list, remap: Any) -> Node:
    index = {id(m): j for j, m in enumerate(members)}
    inputs: list = []
    in_index: dict = {}
    steps = []
    for m in members:
        refs = []
        for e in m.inputs:
            j = index.get(id(e.node))
            if j is not None:
                refs.append(("s", j))
            else:
                k = _key(e)
                if k not in in_index:
                    in_index[k] = len(inputs)
                    inputs.append(e)
                refs.append(("i", in_index[k]))
        steps.append((m.op, m.params, refs))
    bufs = _plan_buffers(steps)
    # put first an input that may safely share the output's buffer (see _Program)
    first0 = bufs.index(0)
    uses = [(j, slot, k) for j, (_o, _p, refs) in enumerate(steps)
            for slot, (kind, k) in enumerate(refs) if kind == "i"]
    count: dict = {}
    for _j, _s, k in uses:
        count[k] = count.get(k, 0) + 1
    best = None
    for j, slot, k in uses:
        if j == first0 and count[k] == 1 and (slot, 0) in steps[j][0].inplace:
            best = k
            break
    perm = list(range(len(inputs)))
    if best is not None and best != 0:
        perm.remove(best)
        perm.insert(0, best)
    new_pos = {old: new for new, old in enumerate(perm)}
    program = []
    for m, (op, _p, refs), b in zip(members, steps, bufs):
        program.append([op.name, param_attrs(op, m.attrs),
                        ["%s%d" % (kind, new_pos[k] if kind == "i" else k)
                         for kind, k in refs], b, m.name])
    attrs = {k: v for k, v in root.attrs.items() if k.startswith("__") and k.endswith("__")}
    attrs["num_args"] = str(len(inputs))
    attrs["program"] = json.dumps(program, separators=(",", ":"))
    op = _reg.get(FUSED_OP)
    node = Node(op, root.name, attrs, [remap(inputs[i]) for i in perm])
    return node
