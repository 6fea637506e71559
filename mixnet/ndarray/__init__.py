"""``mx.nd``: imperative n-dimensional arrays and every registered operator as a function."""
from .. import operator as _operator  # noqa: F401 - registers the ops
from . import ndarray
from .ndarray import NDArray, array, empty, from_numpy, waitall
from .register import attach_fluent_methods, populate

populate(globals())
attach_fluent_methods(NDArray, globals())
del populate, attach_fluent_methods
