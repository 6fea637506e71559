"""The graph that symbols describe: nodes (an op application or a variable) and entries
(one output of a node).

A node keeps its attributes exactly as MXNet stores them: a ``str -> str`` dict holding the
op parameters that were given (``"num_hidden": "4"``), reserved ``__x__`` keys
(``__shape__``, ``__init__``, ``__lr_mult__`` ...) and user attributes. The parsed
parameter tuple is derived from it on demand, so a graph loaded from JSON writes back the
very same strings.
"""
from __future__ import annotations

from typing import Any, Iterator, Optional

from ..base import MXNetError
from ..operator import registry as _reg

__all__ = ["Node", "Entry", "post_order", "is_hidden_key"]


def is_hidden_key(key: str) -> bool:
    """``__x__`` attribute keys (reserved and user hidden attrs), never op parameters."""
    return key.startswith("__") and key.endswith("__") and len(key) > 4


class Entry:
    """Output ``index`` of ``node``; ``version`` is MXNet's variable version counter (kept
    only so JSON round-trips byte for byte)."""

    __slots__ = ("node", "index", "version")

    def __init__(self, node: "Node", index: int = 0, version: int = 0):
        self.node = node
        self.index = index
        self.version = version

    def key(self) -> tuple:
        return (id(self.node), self.index)

    def __repr__(self) -> str:
        return "Entry(%s, %d)" % (self.node.name, self.index)


class Node:
    """An op application (``op`` is the :class:`OpDef`) or a variable (``op is None``)."""

    __slots__ = ("op", "name", "attrs", "inputs", "control_deps", "_p", "__weakref__")

    def __init__(self, op: Optional[_reg.OpDef], name: str, attrs: Optional[dict] = None,
                 inputs: Optional[list] = None, control_deps: Optional[list] = None):
        self.op = op
        self.name = name
        self.attrs = dict(attrs or {})
        self.inputs = list(inputs or [])
        self.control_deps = list(control_deps or [])
        self._p = None

    @property
    def is_variable(self) -> bool:
        return self.op is None

    @property
    def params(self) -> Any:
        """The op's parsed parameters (from the string attributes; cached)."""
        if self._p is None:
            if self.op is None:
                raise MXNetError("variable %s has no operator parameters" % self.name)
            try:
                self._p = self.op.parse_params(param_attrs(self.op, self.attrs))
            except MXNetError as e:
                raise MXNetError("node %s: %s" % (self.name, e)) from None
        return self._p

    def invalidate(self) -> None:
        """Forget the parsed parameters after ``attrs`` changed."""
        self._p = None

    def num_outputs(self) -> int:
        """All outputs, hidden ones included (variables have one)."""
        return 1 if self.op is None else self.op.num_outputs(self.params)

    def num_visible_outputs(self) -> int:
        return 1 if self.op is None else self.op.num_visible_outputs(self.params)

    def output_names(self) -> list:
        """Names of the visible outputs as ``list_outputs`` shows them."""
        if self.op is None:
            return [self.name]
        names = self.op.output_names(self.params)[:self.num_visible_outputs()]
        return ["%s_%s" % (self.name, n) for n in names]

    def input_names(self) -> list:
        return [] if self.op is None else self.op.input_names(self.params)

    def mutate_indices(self) -> list:
        return [] if self.op is None else self.op.mutate_indices(self.params)

    def __repr__(self) -> str:
        return "<Node %s %s>" % ("null" if self.op is None else self.op.name, self.name)


def param_attrs(op: _reg.OpDef, attrs: dict) -> dict:
    """The attributes of a node that are parameters of ``op`` (what ``parse_params``
    gets): for ``Custom`` every non-hidden key, else the op's declared parameters."""
    if op.name in ("Custom", "_backward_Custom"):
        return {k: v for k, v in attrs.items() if not is_hidden_key(k)}
    index = op.param_index
    return {k: v for k, v in attrs.items() if k in index}


def post_order(heads: list) -> list:
    """Every node reachable from ``heads`` (entries), each after its inputs and control
    dependencies: MXNet's iterative post-order DFS, heads in order, children in input
    order then control deps (this order decides JSON node indices and list_arguments)."""
    order: list = []
    seen: set = set()
    for h in heads:
        root = h.node
        if id(root) in seen:
            continue
        stack = [(root, 0)]
        seen.add(id(root))
        while stack:
            node, i = stack[-1]
            children = node.inputs
            nchild = len(children) + len(node.control_deps)
            if i < nchild:
                stack[-1] = (node, i + 1)
                child = children[i].node if i < len(children) else \
                    node.control_deps[i - len(children)]
                if id(child) not in seen:
                    seen.add(id(child))
                    stack.append((child, 0))
            else:
                stack.pop()
                order.append(node)
    return order


def iter_entries(nodes: list) -> Iterator[Entry]:
    """Every output entry of ``nodes`` (hidden outputs included), in order."""
    for n in nodes:
        for i in range(n.num_outputs()):
            yield Entry(n, i)


# attributes MXNet's input-variable hooks give implicitly created inputs (FSetInputVarAttrOnCompose)
_INPUT_VAR_ATTRS = {
    ("BatchNorm", "moving_mean"): {"__init__": '["zero", {}]'},
    ("BatchNorm", "moving_var"): {"__init__": '["one", {}]'},
    ("_contrib_SyncBatchNorm", "moving_mean"): {"__init__": '["zero", {}]'},
    ("_contrib_SyncBatchNorm", "moving_var"): {"__init__": '["one", {}]'},
}


def input_var_attrs(op: _reg.OpDef, argname: str) -> dict:
    """Attributes an op's input hook puts on a variable feeding input ``argname``."""
    return dict(_INPUT_VAR_ATTRS.get((op.name, argname), {}))


def implicit_variable(node: Node, argname: str) -> Node:
    """The variable MXNet creates for an input the user did not pass: named
    ``<node>_<argname>``, carrying a copy of the op node's attributes (a verified MXNet
    quirk) plus the op's input hook attributes."""
    attrs = dict(node.attrs)
    attrs.update(input_var_attrs(node.op, argname))
    return Node(None, "%s_%s" % (node.name, argname), attrs)


def rewired(node: Node, inputs: list, control_deps: list) -> Optional[Node]:
    """A copy of ``node`` over new ``inputs``/``control_deps`` (same op, name, attributes
    and parsed parameters), or ``None`` when nothing changed, so graph rewrites share the
    untouched part of a graph."""
    if all(a is b for a, b in zip(inputs, node.inputs)) and \
            all(a is b for a, b in zip(control_deps, node.control_deps)):
        return None
    copy = Node(node.op, node.name, node.attrs, inputs, control_deps)
    copy._p = node._p
    return copy
