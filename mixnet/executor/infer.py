"""Shape and dtype inference over a graph.

Each op's ``infer_shape``/``infer_type`` sees its inputs' known values (``None`` for
unknown) and returns completed inputs and outputs, so information flows forward (outputs
from inputs) and backward (a FullyConnected weight's shape from the data and
``num_hidden``). The pass sweeps the nodes until nothing changes. A contradiction is an
``MXNetError`` naming the node, its op, and the provided and inferred values.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..base import FLAG_TO_DTYPE, MXNetError, dtype_name
from ..operator.registry import shape_str
from ..symbol.graph import Node

__all__ = ["infer_graph", "variable_shape", "variable_dtype"]


def variable_shape(node: Node) -> Optional[tuple]:
    """A variable's ``__shape__`` attribute as a tuple; ``None`` when absent or when it
    has unknown (0 or -1) dims."""
    text = node.attrs.get("__shape__")
    if not text:
        return None
    try:
        dims = tuple(int(d) for d in text.strip("()[] ").split(",") if d.strip())
    except ValueError:
        raise MXNetError("variable %s: malformed __shape__ %r" % (node.name, text)) from None
    return None if any(d <= 0 for d in dims) else dims


def variable_dtype(node: Node) -> Optional[np.dtype]:
    """A variable's ``__dtype__`` attribute (a type flag) as a NumPy dtype, or ``None``."""
    text = node.attrs.get("__dtype__")
    if text is None:
        return None
    try:
        return np.dtype(FLAG_TO_DTYPE[int(text)])
    except (ValueError, KeyError):
        raise MXNetError("variable %s: unknown __dtype__ %r" % (node.name, text)) from None


def _fmt(kind: str, v: Any) -> str:
    if v is None:
        return "?"
    return shape_str(v) if kind == "shape" else dtype_name(v)


def _sweep(nodes: list, values: dict, kind: str) -> bool:
    """One pass over the nodes; returns whether anything new was learned."""
    changed = False
    for n in nodes:
        if n.op is None:
            continue
        keys = [(id(e.node), e.index) for e in n.inputs]
        ins = [values.get(k) for k in keys]
        nout = n.num_outputs()
        okeys = [(id(n), i) for i in range(nout)]
        if all(v is not None for v in ins) and all(k in values for k in okeys):
            continue
        p = n.params
        fn = n.op.infer_shape if kind == "shape" else n.op.infer_type
        try:
            new_ins, outs = fn(p, list(ins))
        except MXNetError as e:  # a contradiction, whatever else is still unknown
            raise _error(n, kind, ins, e) from None
        except Exception as e:  # noqa: BLE001 - a rule that cannot handle unknowns yet
            if any(v is None for v in ins):
                continue  # a later sweep may know more
            raise _error(n, kind, ins, e) from e
        names = n.input_names()
        pairs = [(k, new, "input %s" % names[i]) for i, (k, new) in enumerate(zip(keys, new_ins))]
        pairs += [(k, new, "output %d" % k[1]) for k, new in zip(okeys, outs)]
        for k, new, what in pairs:
            if new is None:
                continue
            new = tuple(new) if kind == "shape" else np.dtype(new)
            old = values.get(k)
            if old is None:
                values[k] = new
                changed = True
            elif old != new:
                raise _error(n, kind, ins, MXNetError(
                    "%s is %s elsewhere in the graph but the operator gives %s"
                    % (what, _fmt(kind, old), _fmt(kind, new))))
    return changed


def _error(n: Node, kind: str, ins: list, e: Exception) -> MXNetError:
    names = n.input_names()
    desc = ", ".join("%s=%s" % (nm, _fmt(kind, v)) for nm, v in zip(names, ins))
    return MXNetError("Error in operator %s (%s): %s inference failed: %s (input %ss: %s)"
                      % (n.name, n.op.name, kind, e, kind, desc or "none"))


def infer_graph(nodes: list, shapes: Optional[dict] = None, dtypes: Optional[dict] = None,
                shapes_needed: bool = True, default_dtype: Any = np.float32) -> tuple:
    """Infer every entry of ``nodes`` (a post-order node list). ``shapes``/``dtypes`` map
    variable names to known values (they win over ``__shape__``/``__dtype__``
    attributes). Returns ``(shapes, dtypes)`` dicts keyed by ``(id(node), index)``;
    unknown entries are absent. Variables whose dtype nothing decides get
    ``default_dtype`` (float32), as in MXNet."""
    shapes = dict(shapes or {})
    dtypes = dict(dtypes or {})
    svals: dict = {}
    tvals: dict = {}
    for n in nodes:
        if n.op is None:
            s = shapes.get(n.name) or variable_shape(n)
            if s is not None:
                svals[(id(n), 0)] = tuple(s)
            d = dtypes.get(n.name)
            d = np.dtype(d) if d is not None else variable_dtype(n)
            if d is not None:
                tvals[(id(n), 0)] = d
    if shapes_needed:
        for _ in range(len(nodes) + 1):
            if not _sweep(nodes, svals, "shape"):
                break
    for _ in range(len(nodes) + 1):
        if not _sweep(nodes, tvals, "type"):
            break
    # like MXNet, variables no op constrains default to float32, then propagate again
    missing = [n for n in nodes if n.op is None and (id(n), 0) not in tvals]
    if missing:
        for n in missing:
            tvals[(id(n), 0)] = np.dtype(default_dtype)
        for _ in range(len(nodes) + 1):
            if not _sweep(nodes, tvals, "type"):
                break
    return svals, tvals
