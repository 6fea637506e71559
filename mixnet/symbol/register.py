"""Build ``mx.sym.<op>`` functions (and the ``sym.random``/``linalg``/``contrib``/...
namespaces) from the op registry, as ``mx.nd`` does for NDArrays."""
from __future__ import annotations

import sys
import types
from typing import Any

from ..ndarray.register import FLUENT, public_names
from ..operator import registry as _reg
from .symbol import Symbol, compose


def make_function(op: _reg.OpDef, public_name: str):
    """``mx.sym.<name>(*inputs, name=None, attr=None, **params)`` for an op record."""
    def fn(*args: Any, **kwargs: Any) -> Symbol:
        return compose(op, public_name, args, kwargs)
    fn.__name__ = fn.__qualname__ = public_name
    fn.__doc__ = ("Symbolic %s: inputs are Symbols (missing ones become variables named "
                  "<name>_<input>), then the op's parameters, ``name`` and ``attr``.\n\n%s"
                  % (op.name, op.doc))
    fn.__module__ = "mixnet.symbol"
    fn.opdef = op
    return fn


def _namespace(parent: dict, name: str) -> types.ModuleType:
    mod = parent.get(name)
    if isinstance(mod, types.ModuleType):
        return mod
    full = "%s.%s" % (parent["__name__"], name)
    mod = sys.modules.get(full) or types.ModuleType(full, "Symbolic operators (%s)." % name)
    sys.modules[full] = mod
    parent[name] = mod
    return mod


def populate(ns: dict) -> None:
    """Fill the ``mx.sym`` module dict with a function per registered name; names already
    there (hand-written helpers) win."""
    op_ns = _namespace(ns, "op")
    for opname in _reg.list_ops():
        fn = make_function(_reg.get(opname), opname)
        setattr(op_ns, opname, fn)
        sub, public = public_names(opname)
        target = ns if sub is None else vars(_namespace(ns, sub))
        if public not in target:
            target[public] = make_function(_reg.get(opname), public) if sub else fn
        if sub is not None and sub != "_internal":
            vars(_namespace(ns, "_internal")).setdefault(opname, fn)


def attach_fluent_methods(ns: dict) -> None:
    """``s.<op>(...)`` methods on Symbol, as on NDArray."""
    for name in FLUENT + ("reshape", "astype", "slice_assign"):
        fn = ns.get(name)
        if fn is None or name in Symbol.__dict__:
            continue

        def method(self, *args, _fn=fn, **kwargs):
            return _fn(self, *args, **kwargs)
        method.__name__ = name
        method.__qualname__ = "Symbol." + name
        method.__doc__ = "Fluent form of :func:`mx.sym.%s`." % name
        setattr(Symbol, name, method)
