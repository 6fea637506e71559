"""The gradient pass: build the backward part of a graph from the ops' gradient rules.

The rules are the ones autograd runs (:mod:`mixnet.operator.gradient`); here their handles
are graph entries and ``F.<op>(...)`` adds a node, so the backward graph is ordinary
nodes that shape inference, pruning, memory planning and fusion treat like the forward
ones. Several contributions to one entry are summed with ``add_n``; inputs whose rule
returns ``None`` (labels, indices, ``BlockGrad``) get no gradient.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

from ..base import MXNetError
from ..operator import registry as _reg
from ..operator.gradient import GradBuilder
from ..symbol.graph import Entry, Node, post_order

__all__ = ["build_backward"]


class _GraphBuilder(GradBuilder):
    """Applies ops to entries by adding nodes named after the forward node."""

    def __init__(self):
        self.prefix = ""
        self.count = 0

    def apply(self, op: Any, inputs: Sequence[Any], p: Any) -> list:
        for x in inputs:
            if not isinstance(x, Entry):
                raise MXNetError("gradient rule of %s passed a %s where a graph entry was "
                                 "expected" % (self.prefix, type(x).__name__))
        node = Node(op, "%s%d" % (self.prefix, self.count),
                    op.param_strings(p), list(inputs))
        node._p = p
        self.count += 1
        return [Entry(node, i) for i in range(op.num_visible_outputs(p))]


def _sum(F: _GraphBuilder, grads: list) -> Entry:
    if len(grads) == 1:
        return grads[0]
    return F.call("add_n", grads, num_args=len(grads))


def build_backward(heads: Sequence[Entry], head_grads: Sequence[Optional[Entry]],
                   wrt: Sequence[Node]) -> list:
    """Gradient entries of ``heads`` (weighted by ``head_grads``; ``None`` for a head
    whose op ignores its head gradient, i.e. loss layers) with respect to the variables
    ``wrt``. Returns one entry per variable, or ``None`` where no gradient reaches it."""
    F = _GraphBuilder()
    pending: dict = {}
    for h, g in zip(heads, head_grads):
        if g is None:  # loss heads: the rule does not read it, zeros keep the graph whole
            g = F.call("zeros_like", [h])
        pending.setdefault((id(h.node), h.index), []).append(g)
    wanted = {id(v) for v in wrt}
    nodes = post_order(list(heads))
    for n in reversed(nodes):
        if n.op is None:
            continue
        nout = n.num_outputs()
        got = [pending.pop((id(n), i), None) for i in range(nout)]
        if all(g is None for g in got):
            continue
        if n.op.gradient is None:
            raise MXNetError("operator %s (%s) is not differentiable, but a gradient "
                             "reaches it" % (n.name, n.op.name))
        nvis = n.num_visible_outputs()
        ograds = []
        for i, g in enumerate(got):
            if i >= nvis:
                ograds.append(None)
            elif g is None:
                ograds.append(F.call("zeros_like", [Entry(n, i)]))
            else:
                ograds.append(_sum(F, g))
        F.prefix, F.count = "_backward_%s_" % n.name, 0
        igrads = n.op.gradient(F, n.params, list(n.inputs),
                               [Entry(n, i) for i in range(nout)], ograds)
        if len(igrads) != len(n.inputs):
            raise MXNetError("gradient rule of %s returned %d gradients for %d inputs"
                             % (n.op.name, len(igrads), len(n.inputs)))
        mutated = set(n.mutate_indices())
        for k, (src, g) in enumerate(zip(n.inputs, igrads)):
            if g is None or k in mutated:
                continue
            if src.node.op is None and id(src.node) not in wanted:
                continue
            pending.setdefault((id(src.node), src.index), []).append(g)
    out = []
    for v in wrt:
        g = pending.get((id(v), 0))
        out.append(None if g is None else _sum(F, g))
    return out
