"""The operator registry and the op families registered in it (``mx.operator``).

Importing this package registers every op; ``mx.nd`` and (later) ``mx.sym`` generate their
functions from the records.
"""
import warnings

from . import params, registry
from .registry import OpCtx, OpDef, get, list_ops, register

# op families: importing a module registers its ops
from . import elemwise, reshape, reduce, dot, shape, index, creation, random  # noqa: E402,F401

# MXNet computes x/0, inf-inf, overflow ... silently; NumPy's RuntimeWarnings raised from
# kernels (which all live in this package) would be noise, and an errstate scope per call
# would cost more than a small kernel itself.
warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"mixnet\.operator(\.|$)")

__all__ = ["OpDef", "OpCtx", "register", "get", "list_ops", "params", "registry",
           "get_all_registered_operators"]


def get_all_registered_operators() -> list:
    """``mx.operator.get_all_registered_operators()``: every op name, aliases included."""
    return list_ops()
