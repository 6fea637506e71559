"""Build the ``mx.nd`` namespaces and NDArray's fluent methods from the op registry.

Every registered name becomes a plain Python function (see :func:`dispatch.make_function`).
Prefixed names go to sub-namespaces without their prefix, as in MXNet: ``_random_uniform``
-> ``nd.random.uniform``, ``_linalg_gemm2`` -> ``nd.linalg.gemm2``, ``_contrib_X`` ->
``nd.contrib.X``; other ``_`` names live in ``nd._internal``. ``nd.op`` holds them all.
"""
from __future__ import annotations

import sys
import types
from typing import Any

from ..operator import registry as _reg
from .dispatch import make_function

_PREFIXES = (("_random_", "random"), ("_sample_", "random"), ("_linalg_", "linalg"),
             ("_contrib_", "contrib"), ("_image_", "image"), ("_sparse_", "sparse"))

# methods that call the op of the same name with the array as first input
FLUENT = (
    "sum", "mean", "max", "min", "prod", "nansum", "nanprod", "norm", "argmax", "argmin",
    "argmax_channel", "exp", "expm1", "log", "log10", "log2", "log1p", "sqrt", "rsqrt",
    "cbrt", "rcbrt", "square", "reciprocal", "relu", "sigmoid", "softmax", "log_softmax",
    "softmin", "abs", "sign", "round", "rint", "fix", "floor", "ceil", "trunc", "sin",
    "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "arcsinh",
    "arccosh", "arctanh", "degrees", "radians", "transpose", "flatten", "expand_dims",
    "squeeze", "clip", "one_hot", "pick", "topk", "sort", "argsort", "tile", "repeat",
    "split", "slice", "slice_axis", "slice_like", "take", "flip", "zeros_like",
    "ones_like", "broadcast_to", "broadcast_axes", "broadcast_like", "swapaxes", "pad",
    "diag", "depth_to_space", "space_to_depth", "shape_array", "size_array", "nanprod",
    "softsign", "erf", "erfinv", "gamma", "gammaln", "logical_not", "square",
)


def _namespace(parent: dict, name: str) -> types.ModuleType:
    mod = parent.get(name)
    if isinstance(mod, types.ModuleType):
        return mod
    full = "%s.%s" % (parent["__name__"], name)
    mod = sys.modules.get(full)
    if mod is None:
        mod = types.ModuleType(full, "Operators of the %s namespace." % name)
        sys.modules[full] = mod
    parent[name] = mod
    return mod


def public_names(opname: str) -> tuple:
    """(namespace or None, name in it) for a registered name."""
    for prefix, ns in _PREFIXES:
        if opname.startswith(prefix):
            return ns, opname[len(prefix):]
    if opname.startswith("_"):
        return "_internal", opname
    return None, opname


def populate(ns: dict) -> None:
    """Fill the ``mx.nd`` module dict ``ns`` with a function per registered name; names
    already defined there by hand-written wrappers are left alone."""
    op_ns = _namespace(ns, "op")
    for opname in _reg.list_ops():
        opdef = _reg.get(opname)
        fn = make_function(opdef, opname)
        setattr(op_ns, opname, fn)
        sub, public = public_names(opname)
        target = ns if sub is None else vars(_namespace(ns, sub))
        if public not in target:
            target[public] = fn
        if sub is not None and sub != "_internal":
            internal = vars(_namespace(ns, "_internal"))
            internal.setdefault(opname, fn)


def attach_fluent_methods(cls: type, ns: dict) -> None:
    """Add ``x.<op>(...)`` methods for the ops in :data:`FLUENT` that exist in ``ns``."""
    for name in FLUENT:
        fn = ns.get(name)
        if fn is None or name in cls.__dict__:
            continue
        setattr(cls, name, _fluent(fn, name))


def _fluent(fn: Any, name: str):
    def method(self, *args, **kwargs):
        return fn(self, *args, **kwargs)
    method.__name__ = name
    method.__qualname__ = "NDArray." + name
    method.__doc__ = "Fluent form of :func:`mx.nd.%s` with this array as the first input." % name
    return method
