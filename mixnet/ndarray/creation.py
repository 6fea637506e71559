"""Hand-written ``mx.nd`` functions with MXNet's Python signatures: array creation
(``zeros``, ``ones``, ``full``, ``arange``, ``linspace``, ``eye``), ``concatenate``,
``moveaxis`` and the arithmetic/comparison wrappers (``add``, ``greater``, ...).

Creation functions call the ``_zeros``/``_arange``/... ops with the device given by
``ctx``. The arithmetic wrappers follow MXNet's dispatch: two numbers give a plain Python
result, an array and a number use the ``_<op>_scalar`` op (a number on the left uses the
reflected op, ``_rminus_scalar``, or flips a comparison: ``3 > x`` is
``_lesser_scalar(x, 3)``), and two arrays use the broadcasting ``broadcast_<op>`` op.
"""
from __future__ import annotations

import math
import operator
import warnings
from typing import Any, Callable, Optional, Sequence

import numpy as np

from ..base import MXNetError, dtype_name, numeric_types
from ..operator import registry as _reg
from .dispatch import as_context, invoke
from .ndarray import NDArray

__all__ = ["zeros", "ones", "full", "arange", "linspace", "eye", "concatenate", "moveaxis",
           "split_v2",
           "add", "subtract", "multiply", "divide", "true_divide", "modulo", "power",
           "maximum", "minimum", "hypot", "equal", "not_equal", "greater", "greater_equal",
           "lesser", "lesser_equal", "logical_and", "logical_or", "logical_xor"]


def _shape(shape: Any) -> Any:
    # an int is a 1-D shape; anything else is left to the op's Shape parameter
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        return (int(shape),)
    return shape


def _create(opname: str, ctx: Any, out: Optional[NDArray], kwargs: dict) -> NDArray:
    """Run creation op ``opname`` on ``ctx`` (or on ``out``'s device when given)."""
    op = _reg.get(opname)
    kwargs.pop("name", None)
    if out is not None:
        dev = out.context
    else:
        dev = as_context(ctx)
    kwargs["ctx"] = str(dev)
    return invoke(op, (), op.parse_params(kwargs), out=out, ctx=dev)


# ------------------------------------------------------------------ creation
def zeros(shape: Any, ctx: Any = None, dtype: Any = None, stype: Optional[str] = None,
          **kwargs: Any) -> Any:
    """``mx.nd.zeros(shape, ctx=None, dtype=None, stype=None, **kwargs)``: an array of
    zeros. ``shape`` is an int or a tuple, ``dtype`` defaults to float32, ``ctx`` to the
    current context; ``stype`` other than ``'default'`` asks ``mx.nd.sparse.zeros``."""
    if stype not in (None, "default"):
        from . import sparse
        sparse_zeros = getattr(sparse, "zeros", None)
        if sparse_zeros is None:
            raise MXNetError("zeros: storage type %r is not supported" % (stype,))
        return sparse_zeros(stype, shape, ctx=ctx, dtype=dtype, **kwargs)
    out = kwargs.pop("out", None)
    kwargs.update(shape=_shape(shape), dtype="float32" if dtype is None else dtype)
    return _create("_zeros", ctx, out, kwargs)


def ones(shape: Any, ctx: Any = None, dtype: Any = None, **kwargs: Any) -> NDArray:
    """``mx.nd.ones(shape, ctx=None, dtype=None, **kwargs)``: an array of ones; ``shape``
    is an int or a tuple, ``dtype`` defaults to float32."""
    out = kwargs.pop("out", None)
    kwargs.update(shape=_shape(shape), dtype="float32" if dtype is None else dtype)
    return _create("_ones", ctx, out, kwargs)


def full(shape: Any, val: Any, ctx: Any = None, dtype: Any = np.float32,
         out: Optional[NDArray] = None) -> NDArray:
    """``mx.nd.full(shape, val, ctx=None, dtype=float32, out=None)``: an array filled
    with ``val``. With ``out``, that array is filled instead (its shape and dtype win, as
    in MXNet, which fills ``out[:]``)."""
    if isinstance(val, NDArray):
        res = out if out is not None else zeros(shape, ctx, dtype)
        res[:] = val
        return res
    if out is not None:
        shape, dtype = out.shape, out.dtype
    return _create("_full", ctx, out, {"shape": _shape(shape), "dtype": dtype,
                                       "value": float(val)})


def arange(start: float, stop: Optional[float] = None, step: float = 1.0, repeat: int = 1,
           infer_range: Any = None, ctx: Any = None, dtype: Any = np.float32) -> NDArray:
    """``mx.nd.arange(start, stop=None, step=1.0, repeat=1, infer_range=None, ctx=None,
    dtype=float32)``: values ``start, start+step, ...`` below ``stop``, each repeated
    ``repeat`` times; ``stop=None`` gives ``range(0, start)``. ``infer_range`` is
    deprecated in MXNet 1.9 and ignored (with a ``DeprecationWarning``)."""
    if infer_range is not None:
        warnings.warn("`infer_range` argument has been deprecated", DeprecationWarning,
                      stacklevel=2)
    return _create("_arange", ctx, None, {"start": start, "stop": stop, "step": step,
                                          "repeat": repeat, "infer_range": False,
                                          "dtype": dtype})


def linspace(start: float, stop: float, num: int, endpoint: bool = True, ctx: Any = None,
             dtype: Any = np.float32) -> NDArray:
    """``mx.nd.linspace(start, stop, num, endpoint=True, ctx=None, dtype=float32)``:
    ``num`` evenly spaced values from ``start`` to ``stop`` (included when
    ``endpoint``)."""
    return _create("_linspace", ctx, None, {"start": start, "stop": stop, "num": num,
                                            "endpoint": endpoint, "dtype": dtype})


def eye(N: int, M: int = 0, k: int = 0, ctx: Any = None, dtype: Any = np.float32,
        **kwargs: Any) -> NDArray:
    """``mx.nd.eye(N, M=0, k=0, ctx=None, dtype=float32)``: an ``N x M`` array (``M=0``
    means ``N``) with ones on diagonal ``k`` and zeros elsewhere."""
    out = kwargs.pop("out", None)
    kwargs.update(N=N, M=M, k=k, dtype=dtype)
    return _create("_eye", ctx, out, kwargs)


# ------------------------------------------------------------------ joining and axes
def concatenate(arrays: Sequence[NDArray], axis: int = 0,
                always_copy: bool = True) -> NDArray:
    """``mx.nd.concatenate(arrays, axis=0, always_copy=True)``: join a list of arrays
    along an existing ``axis``. All arrays need the same dtype and the same shape off
    ``axis``; the result lives on the first array's device. With ``always_copy=False`` a
    single array is returned as is."""
    arrays = list(arrays) if isinstance(arrays, (list, tuple)) else None
    if not arrays or not all(isinstance(a, NDArray) for a in arrays):
        raise MXNetError("concatenate needs a non-empty list of NDArrays")
    if not always_copy and len(arrays) == 1:
        return arrays[0]
    first = arrays[0]
    ndim = first.ndim
    if not -ndim <= axis < ndim:
        raise MXNetError("concatenate: axis %d is out of range for %d-D arrays" % (axis, ndim))
    axis %= ndim
    for i, a in enumerate(arrays[1:], 1):
        if a.ndim != ndim or a.shape[:axis] != first.shape[:axis] or \
                a.shape[axis + 1:] != first.shape[axis + 1:]:
            raise MXNetError("concatenate: array %d has shape %s, incompatible with %s on "
                             "axis %d" % (i, a.shape, first.shape, axis))
        if a.dtype != first.dtype:
            raise MXNetError("concatenate: array %d has dtype %s, the first %s"
                             % (i, dtype_name(a.dtype), dtype_name(first.dtype)))
    ctx = first.context
    parts = [a if a.context == ctx else a.as_in_context(ctx) for a in arrays]
    op = _reg.get("Concat")
    return invoke(op, parts, op.parse_params({"dim": axis, "num_args": len(parts)}))


def split_v2(ary: NDArray, indices_or_sections: Any, axis: int = 0,
             squeeze_axis: bool = False) -> Any:
    """``mx.nd.split_v2(ary, indices_or_sections, axis=0, squeeze_axis=False)``: split
    into ``indices_or_sections`` equal parts (an int) or at the given indices (a tuple), as
    ``numpy.split`` does; returns a list of arrays (one array for a single part)."""
    op = _reg.get("_split_v2")
    if isinstance(indices_or_sections, (int, np.integer)):
        kw = {"indices": (), "sections": int(indices_or_sections)}
    elif isinstance(indices_or_sections, (tuple, list)):
        kw = {"indices": (0,) + tuple(int(i) for i in indices_or_sections), "sections": 0}
    else:
        raise MXNetError("split_v2: indices_or_sections must be an int or a tuple of ints, "
                         "got %s" % type(indices_or_sections).__name__)
    kw.update(axis=axis, squeeze_axis=squeeze_axis)
    return invoke(op, [ary], op.parse_params(kw))


def moveaxis(tensor: NDArray, source: Any, destination: Any) -> NDArray:
    """``mx.nd.moveaxis(tensor, source, destination)``: move the axes ``source`` (an int
    or a sequence) to the positions ``destination``; the other axes keep their order.
    A copy, through the ``transpose`` op."""
    ndim = tensor.ndim
    src = _axis_tuple(source, ndim, "source")
    dst = _axis_tuple(destination, ndim, "destination")
    if len(src) != len(dst):
        raise MXNetError("moveaxis: `source` and `destination` arguments must have the "
                         "same number of elements")
    order = [a for a in range(ndim) if a not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    op = _reg.get("transpose")
    return invoke(op, (tensor,), op.parse_params({"axes": tuple(order)}))


def _axis_tuple(axes: Any, ndim: int, what: str) -> tuple:
    if isinstance(axes, (int, np.integer)):
        axes = (axes,)
    out = []
    for a in axes:
        a = int(a)
        if not -ndim <= a < ndim:
            raise MXNetError("moveaxis: %s axis %d is out of range for %d-D input"
                             % (what, a, ndim))
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise MXNetError("moveaxis: repeated axis in %s %s" % (what, tuple(axes)))
    return tuple(out)


# ------------------------------------------------------------------ arithmetic wrappers
def _ufunc(lhs: Any, rhs: Any, array_op: str, number_fn: Callable, scalar_op: str,
           rscalar_op: Optional[str] = None) -> Any:
    """MXNet's dispatch for the binary wrappers. ``rscalar_op`` runs ``number op array``
    (``None``: the op is symmetric and ``scalar_op`` serves both sides)."""
    lnum = isinstance(lhs, numeric_types)
    rnum = isinstance(rhs, numeric_types)
    if lnum and rnum:
        return number_fn(lhs, rhs)
    if lnum and isinstance(rhs, NDArray):
        return _scalar(rscalar_op or scalar_op, rhs, lhs)
    if isinstance(lhs, NDArray):
        if rnum:
            return _scalar(scalar_op, lhs, rhs)
        if isinstance(rhs, NDArray):
            op = _reg.get(array_op)
            return invoke(op, (lhs, rhs), op.parse_params({}))
    raise TypeError("type %s and %s not supported: operands must be NDArrays or numbers"
                    % (type(lhs).__name__, type(rhs).__name__))


def _scalar(opname: str, x: NDArray, s: Any) -> NDArray:
    op = _reg.get(opname)
    return invoke(op, (x,), op.parse_params({"scalar": float(s)}))


def _flag(test: Callable[[Any, Any], Any]) -> Callable[[Any, Any], int]:
    # comparisons of two numbers give 1/0 like the array versions, not True/False
    return lambda x, y: 1 if test(x, y) else 0


def add(lhs: Any, rhs: Any) -> Any:
    """``mx.nd.add(lhs, rhs)``: ``lhs + rhs`` with broadcasting (``broadcast_add`` /
    ``_plus_scalar``)."""
    return _ufunc(lhs, rhs, "broadcast_add", operator.add, "_plus_scalar")


def subtract(lhs: Any, rhs: Any) -> Any:
    """``mx.nd.subtract(lhs, rhs)``: ``lhs - rhs`` with broadcasting (``broadcast_sub`` /
    ``_minus_scalar`` / ``_rminus_scalar``)."""
    return _ufunc(lhs, rhs, "broadcast_sub", operator.sub, "_minus_scalar", "_rminus_scalar")


def multiply(lhs: Any, rhs: Any) -> Any:
    """``mx.nd.multiply(lhs, rhs)``: ``lhs * rhs`` with broadcasting (``broadcast_mul`` /
    ``_mul_scalar``)."""
    return _ufunc(lhs, rhs, "broadcast_mul", operator.mul, "_mul_scalar")


def divide(lhs: Any, rhs: Any) -> Any:
    """``mx.nd.divide(lhs, rhs)``: ``lhs / rhs`` with broadcasting (``broadcast_div`` /
    ``_div_scalar`` / ``_rdiv_scalar``)."""
    return _ufunc(lhs, rhs, "broadcast_div", operator.truediv, "_div_scalar", "_rdiv_scalar")


def true_divide(lhs: Any, rhs: Any) -> Any:
    """``mx.nd.true_divide(lhs, rhs)``: the same as :func:`divide`."""
    return divide(lhs, rhs)


def modulo(lhs: Any, rhs: Any) -> Any:
    """``mx.nd.modulo(lhs, rhs)``: ``lhs % rhs`` with broadcasting (``broadcast_mod`` /
    ``_mod_scalar`` / ``_rmod_scalar``)."""
    return _ufunc(lhs, rhs, "broadcast_mod", operator.mod, "_mod_scalar", "_rmod_scalar")


def power(base: Any, exp: Any) -> Any:
    """``mx.nd.power(base, exp)``: ``base ** exp`` with broadcasting (``broadcast_power``
    / ``_power_scalar`` / ``_rpower_scalar``)."""
    return _ufunc(base, exp, "broadcast_power", operator.pow, "_power_scalar",
                  "_rpower_scalar")


def maximum(lhs: Any, rhs: Any) -> Any:
    """``mx.nd.maximum(lhs, rhs)``: element-wise maximum with broadcasting
    (``broadcast_maximum`` / ``_maximum_scalar``)."""
    return _ufunc(lhs, rhs, "broadcast_maximum", lambda x, y: x if x > y else y,
                  "_maximum_scalar")


def minimum(lhs: Any, rhs: Any) -> Any:
    """``mx.nd.minimum(lhs, rhs)``: element-wise minimum with broadcasting
    (``broadcast_minimum`` / ``_minimum_scalar``)."""
    return _ufunc(lhs, rhs, "broadcast_minimum", lambda x, y: x if x < y else y,
                  "_minimum_scalar")


def hypot(lhs: Any, rhs: Any) -> Any:
    """``mx.nd.hypot(lhs, rhs)``: ``sqrt(lhs**2 + rhs**2)`` with broadcasting
    (``broadcast_hypot`` / ``_hypot_scalar``)."""
    return _ufunc(lhs, rhs, "broadcast_hypot", math.hypot, "_hypot_scalar")


def equal(lhs: Any, rhs: Any) -> Any:
    """``mx.nd.equal(lhs, rhs)``: 1 where ``lhs == rhs``, else 0, in the input dtype
    (``broadcast_equal`` / ``_equal_scalar``)."""
    return _ufunc(lhs, rhs, "broadcast_equal", _flag(operator.eq), "_equal_scalar")


def not_equal(lhs: Any, rhs: Any) -> Any:
    """``mx.nd.not_equal(lhs, rhs)``: 1 where ``lhs != rhs``, else 0
    (``broadcast_not_equal`` / ``_not_equal_scalar``)."""
    return _ufunc(lhs, rhs, "broadcast_not_equal", _flag(operator.ne), "_not_equal_scalar")


def greater(lhs: Any, rhs: Any) -> Any:
    """``mx.nd.greater(lhs, rhs)``: 1 where ``lhs > rhs``, else 0 (``broadcast_greater``
    / ``_greater_scalar``; a number on the left uses ``_lesser_scalar``)."""
    return _ufunc(lhs, rhs, "broadcast_greater", _flag(operator.gt), "_greater_scalar",
                  "_lesser_scalar")


def greater_equal(lhs: Any, rhs: Any) -> Any:
    """``mx.nd.greater_equal(lhs, rhs)``: 1 where ``lhs >= rhs``, else 0
    (``broadcast_greater_equal`` / ``_greater_equal_scalar`` / ``_lesser_equal_scalar``)."""
    return _ufunc(lhs, rhs, "broadcast_greater_equal", _flag(operator.ge),
                  "_greater_equal_scalar", "_lesser_equal_scalar")


def lesser(lhs: Any, rhs: Any) -> Any:
    """``mx.nd.lesser(lhs, rhs)``: 1 where ``lhs < rhs``, else 0 (``broadcast_lesser`` /
    ``_lesser_scalar``; a number on the left uses ``_greater_scalar``)."""
    return _ufunc(lhs, rhs, "broadcast_lesser", _flag(operator.lt), "_lesser_scalar",
                  "_greater_scalar")


def lesser_equal(lhs: Any, rhs: Any) -> Any:
    """``mx.nd.lesser_equal(lhs, rhs)``: 1 where ``lhs <= rhs``, else 0
    (``broadcast_lesser_equal`` / ``_lesser_equal_scalar`` / ``_greater_equal_scalar``)."""
    return _ufunc(lhs, rhs, "broadcast_lesser_equal", _flag(operator.le),
                  "_lesser_equal_scalar", "_greater_equal_scalar")


def logical_and(lhs: Any, rhs: Any) -> Any:
    """``mx.nd.logical_and(lhs, rhs)``: 1 where both are non-zero, else 0
    (``broadcast_logical_and`` / ``_logical_and_scalar``)."""
    return _ufunc(lhs, rhs, "broadcast_logical_and", _flag(lambda x, y: x and y),
                  "_logical_and_scalar")


def logical_or(lhs: Any, rhs: Any) -> Any:
    """``mx.nd.logical_or(lhs, rhs)``: 1 where either is non-zero, else 0
    (``broadcast_logical_or`` / ``_logical_or_scalar``)."""
    return _ufunc(lhs, rhs, "broadcast_logical_or", _flag(lambda x, y: x or y),
                  "_logical_or_scalar")


def logical_xor(lhs: Any, rhs: Any) -> Any:
    """``mx.nd.logical_xor(lhs, rhs)``: 1 where exactly one is non-zero, else 0
    (``broadcast_logical_xor`` / ``_logical_xor_scalar``)."""
    return _ufunc(lhs, rhs, "broadcast_logical_xor", _flag(lambda x, y: bool(x) ^ bool(y)),
                  "_logical_xor_scalar")
