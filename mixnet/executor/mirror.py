"""Mirroring: backward recomputes cheap forward values instead of keeping them.

MXNet's ``MXNET_BACKWARD_DO_MIRROR=1`` (and the per-node ``__force_mirroring__`` /
``__mirror_stage__`` attributes, set with ``AttrScope(force_mirroring='True')`` or
``sym._set_attr(mirror_stage='True')``) trade compute for memory: a forward value that
backward reads, produced by a cheap op, is not kept from forward to backward; backward
reads a copy of the node (named ``<name>_mirror``) that runs again during backward from
the nearest ancestors that are not mirrored. Those ancestors stay alive instead -- for the
usual conv -> BN -> relu block the relu output dies right after forward and the BN output
it is recomputed from is kept anyway, so one activation per block is saved.

``BatchNorm`` is the one op recomputed differently: its mirror is not a second
``BatchNorm`` (that would update the moving statistics again) but ``_mirror_BatchNorm``,
the affine map ``(x - mean) * invstd * gamma + beta`` evaluated exactly as the forward
kernel does, from the data and the batch mean / inverse std the forward saved (which
BatchNorm's own backward keeps anyway). So a conv -> BN -> relu block keeps only the
convolution's output (plus two per-channel vectors): the BN and relu outputs die after
forward.

The pass is a pure graph rewrite: forward nodes are never modified, backward nodes that
read a mirrored value are copied with the new inputs (same op, name, attributes).
"""
from __future__ import annotations

import os
from typing import Any, Optional, Sequence

from ..operator import norm as _norm
from ..operator import registry as _reg
from ..symbol.graph import Entry, Node, param_attrs, post_order, rewired
from .fusion import expose as _expose

__all__ = ["mirror_graph", "should_mirror", "saved_entries", "NEVER_MIRROR",
           "NOT_MIRRORED_BY_DEFAULT"]

# Expensive ops whose outputs are worth keeping (recomputing them costs a matmul or a
# convolution) and ops with batch-global results: what MXNet's default policy excludes.
NOT_MIRRORED_BY_DEFAULT = frozenset({
    "Convolution", "Deconvolution", "FullyConnected", "Concat", "SoftmaxOutput",
    "_contrib_SyncBatchNorm", "CuDNNBatchNorm", "RNN", "dot", "batch_dot",
    "Embedding", "Custom"})
# (MXNet's list also has BatchNorm, whose recompute reran the statistics; here it is the
# cheap affine ``_mirror_BatchNorm`` below, so BatchNorm is mirrored by default.)
# Ops that are never recomputed, whatever the attributes say: a second run would draw
# new random numbers (Dropout's mask would differ from the one forward used).
NEVER_MIRROR = frozenset({"Dropout"})

_TRUE = ("true", "1")


def _flag(node: Node, key: str) -> Optional[bool]:
    v = node.attrs.get("__%s__" % key)
    if v is None:
        return None
    return v.strip().lower() in _TRUE


def _env_do_mirror() -> bool:
    try:
        return int(os.environ.get("MXNET_BACKWARD_DO_MIRROR", "0")) != 0
    except ValueError:
        return False


def should_mirror(node: Node, do_mirror: Optional[bool] = None) -> bool:
    """Whether backward should recompute ``node``'s outputs rather than keep them.

    The policy, in order:

    1. variables are inputs, never recomputed;
    2. ops that draw random numbers (``Dropout``, ``rrelu``, samplers) or write their
       inputs in place (optimizer updates) are never recomputed: a second run would
       change results or state. ``BatchNorm`` is the exception: its mirror is the
       stateless ``_mirror_BatchNorm`` from the saved statistics;
    3. ``__mirror_stage__ = "True"`` marks a stage boundary whose value is kept;
    4. ``__force_mirroring__ = "True"``/``"False"`` decides for the node (this is how
       memonger-style plans choose node by node);
    5. otherwise, when mirroring is on (``do_mirror``, default: the environment variable
       ``MXNET_BACKWARD_DO_MIRROR``), every op is recomputed except the expensive or
       batch-global ones in :data:`NOT_MIRRORED_BY_DEFAULT` (Convolution,
       FullyConnected, Concat, SoftmaxOutput, ...).
    """
    op = node.op
    if op is None or op.name in NEVER_MIRROR:
        return False
    p = node.params
    if op.name != "BatchNorm" and (op.uses_random(p) or op.mutate_indices(p)):
        return False
    if _flag(node, "mirror_stage"):
        return False
    forced = _flag(node, "force_mirroring")
    if forced is not None:
        return forced
    if do_mirror is None:
        do_mirror = _env_do_mirror()
    return bool(do_mirror) and op.name not in NOT_MIRRORED_BY_DEFAULT


def _key(e: Any) -> tuple:
    return e if isinstance(e, tuple) else (id(e.node), e.index)


def mirror_graph(forward_nodes: Sequence[Node], backward_heads: Sequence[Entry],
                 do_mirror: Optional[bool] = None, keep: Any = (),
                 policy: Optional[Any] = None) -> list:
    """Rewrite the backward graph so that it reads recomputed copies of mirrored forward
    values; return the new backward heads (same order).

    ``forward_nodes``: the nodes of the forward pass (whatever else ``backward_heads``
    reach is backward). ``keep``: forward entries (``Entry`` or ``(id(node), index)``)
    that stay alive anyway -- the graph outputs -- which backward keeps reading directly.
    ``do_mirror``: the default policy switch (``None``: ``MXNET_BACKWARD_DO_MIRROR``).
    ``policy``: a replacement for :func:`should_mirror` (``node -> bool``).
    """
    fwd = {id(n) for n in forward_nodes}
    keep_keys = {_key(e) for e in keep}
    decided: dict = {}

    def mirrored(n: Node) -> bool:
        r = decided.get(id(n))
        if r is None:
            r = decided[id(n)] = id(n) in fwd and (
                policy(n) if policy is not None else should_mirror(n, do_mirror))
        return r

    def recompute(e: Entry) -> bool:
        if _key(e) in keep_keys or not mirrored(e.node):
            return False
        # BatchNorm: only the output is recomputed; its saved statistics are kept
        return e.index == 0 or e.node.op.name != "BatchNorm"

    def sources(n: Node) -> list:
        return n.inputs[:1] if n.op.name == "BatchNorm" else n.inputs

    bwd_order = [n for n in post_order(list(backward_heads)) if id(n) not in fwd]
    # the forward nodes to copy: those backward reads, and their mirrored ancestors
    need: dict = {}
    work = [e.node for n in bwd_order for e in n.inputs if recompute(e)]
    while work:
        n = work.pop()
        if id(n) in need:
            continue
        need[id(n)] = n
        work.extend(e.node for e in sources(n) if recompute(e))
    copies: dict = {}
    if need:
        roots = [Entry(n, 0) for n in need.values()]
        for n in post_order(roots):  # inputs first
            if id(n) not in need:
                continue
            ins = [Entry(copies[id(e.node)], e.index, e.version)
                   if id(e.node) in copies and recompute(e) else e for e in n.inputs]
            if n.op.name == "BatchNorm":
                copies[id(n)] = _bn_mirror(n, ins)
                continue
            m = Node(n.op, n.name + "_mirror", n.attrs, ins)
            m._p = n._p
            copies[id(n)] = m
    new_bwd: dict = {}

    def remap(e: Entry) -> Entry:
        n = e.node
        if id(n) in fwd:
            if id(n) in copies and recompute(e):
                return Entry(copies[id(n)], e.index, e.version)
            return e
        new = new_bwd.get(id(n))
        return e if new is None else Entry(new, e.index, e.version)

    for n in bwd_order:
        if n.op is None:
            continue
        ins = [remap(e) for e in n.inputs]
        deps = [new_bwd.get(id(d), d) for d in n.control_deps]
        copy = rewired(n, ins, deps)
        if copy is not None:
            new_bwd[id(n)] = copy
    return [remap(h) for h in backward_heads]


def _bn_mirror(bn: Node, ins: list) -> Node:
    """``_mirror_BatchNorm(data, gamma, beta, mean, invstd)`` for BatchNorm node ``bn``."""
    attrs = param_attrs(bn.op, bn.attrs)
    attrs.update((k, v) for k, v in bn.attrs.items() if k.startswith("__") and k.endswith("__"))
    m = Node(_reg.get(_BN_MIRROR), bn.name + "_mirror", attrs,
             ins[:3] + [Entry(bn, 1), Entry(bn, 2)])
    m._p = bn.params
    return m


_BN_MIRROR = "_mirror_BatchNorm"


def _bn_mirror_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    # the same arithmetic, in the same order, as BatchNorm's forward after its
    # statistics are known, so the recomputed output is bitwise the forward one
    x, gamma, beta, mean, inv = ins
    ax = p.axis % x.ndim
    bs = _norm._bshape(x.ndim, ax, x.shape[ax])
    cdt = _norm._cdt(x.dtype)
    xc = x.astype(cdt, copy=False)
    mean = mean.astype(cdt, copy=False)
    inv = inv.astype(cdt, copy=False)
    scale = inv if p.fix_gamma else gamma.astype(cdt, copy=False) * inv
    shift = beta.astype(cdt, copy=False) - mean * scale
    outs[0][...] = xc * scale.reshape(bs) + shift.reshape(bs)


def _bn_mirror_shape(p: Any, shapes: list):
    return shapes, [shapes[0]]


def _bn_mirror_type(p: Any, dtypes: list):
    return dtypes, [dtypes[0]]


if _reg.find(_BN_MIRROR) is None:
    _reg.register(_reg.OpDef(
        _BN_MIRROR, inputs=("data", "gamma", "beta", "mean", "invstd"),
        params=_reg.get("BatchNorm").params, forward=_bn_mirror_forward,
        infer_shape=_bn_mirror_shape, infer_type=_bn_mirror_type,
        doc="BatchNorm's output recomputed in backward from the saved batch mean and "
            "inverse std (no statistics, no moving-average update): the mirror of a "
            "BatchNorm node."))
_expose(_reg.get(_BN_MIRROR))


def saved_entries(forward_nodes: Sequence[Node], backward_heads: Sequence[Entry]) -> set:
    """Keys ``(id(node), index)`` of the forward entries that the backward part (mirror
    copies included) reads: the values that must outlive forward. What mirroring shrinks."""
    fwd = {id(n) for n in forward_nodes}
    out = set()
    for n in post_order(list(backward_heads)):
        if id(n) in fwd:
            continue
        for e in n.inputs:
            if id(e.node) in fwd:
                out.add(_key(e))
    return out
