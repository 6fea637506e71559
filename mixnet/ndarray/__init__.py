"""``mx.nd``: imperative n-dimensional arrays and every registered operator as a function."""
from .. import operator as _operator  # noqa: F401 - registers the ops
from . import ndarray
from .ndarray import NDArray, array, empty, from_numpy, waitall
from . import contrib, random, sparse
from .sparse import cast_storage
from .creation import *  # noqa: F401,F403 - hand-written wrappers win over generated ones
from .serialize import load, load_frombuffer, save
from .register import attach_fluent_methods, populate

populate(globals())
attach_fluent_methods(NDArray, globals())
del populate, attach_fluent_methods
