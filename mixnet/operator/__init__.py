"""The operator registry, the op families registered in it, and ``mx.operator``'s Python
operator API (``CustomOp``, ``CustomOpProp``, ``register``).

Importing this package registers every op; ``mx.nd`` and ``mx.sym`` generate their
functions from the records. ``register`` here is MXNet's decorator for Python operators;
op records are added with ``registry.register``.
"""
import warnings

from . import params, registry
from .registry import OpCtx, OpDef, get, list_ops

# op families: importing a module registers its ops
from . import (elemwise, reshape, reduce, dot, shape, slicing, index, creation,  # noqa: E402,F401
               random)
from . import (conv, pooling, norm, activation, embedding, loss, sequence,  # noqa: E402,F401
               sampler, rnn, optimizer_op, linalg, image)
from . import gradient  # noqa: E402,F401
from .custom import CustomOp, CustomOpProp, register  # noqa: E402

# MXNet computes x/0, inf-inf, overflow ... silently; NumPy's RuntimeWarnings raised from
# kernels (which all live in this package) would be noise, and an errstate scope per call
# would cost more than a small kernel itself.
warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"mixnet\.operator(\.|$)")

__all__ = ["OpDef", "OpCtx", "CustomOp", "CustomOpProp", "register", "get", "list_ops",
           "params", "registry",
           "get_all_registered_operators"]


def get_all_registered_operators() -> list:
    """``mx.operator.get_all_registered_operators()``: every op name, aliases included."""
    return list_ops()
