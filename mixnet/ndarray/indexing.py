"""``NDArray.__getitem__`` / ``__setitem__`` with MXNet 1.x semantics.

Basic indexing (ints, slices, ``None``, ``Ellipsis``) returns a view sharing the chunk when
the selected region is contiguous, else a copy; an int on a 1-D array gives shape (1,),
never a 0-d array. Index arrays (NDArray, list, NumPy) gather into a new array. Writes are
engine tasks on the chunk, so they order with every reader of the parent and its views.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from .. import engine as _engine
from ..base import MXNetError, numeric_types
from . import dispatch as _dispatch
from .chunk import Chunk
from .ndarray import NDArray, array

_BASIC = (int, np.integer, slice, type(None), type(Ellipsis))


def _normalize(key: Any) -> tuple:
    if not isinstance(key, tuple):
        key = (key,)
    out = []
    for k in key:
        if isinstance(k, (bool, np.bool_)):
            raise MXNetError("boolean indices are not supported by NDArray indexing")
        if isinstance(k, NDArray):
            k = k.asnumpy()
        if isinstance(k, (list, np.ndarray)):
            k = np.asarray(k)
            if k.dtype.kind == "b":
                raise MXNetError("boolean mask indexing is not supported; use "
                                 "mx.nd.contrib.boolean_mask")
            if k.dtype.kind == "f":
                k = k.astype(np.int64)
            elif k.dtype.kind not in "iu":
                raise MXNetError("index arrays must be numeric, got %s" % k.dtype)
        elif not isinstance(k, _BASIC):
            raise MXNetError("NDArray does not support indexing with %s" % type(k).__name__)
        out.append(k)
    return tuple(out)


def _is_basic(key: tuple) -> bool:
    return all(isinstance(k, _BASIC) for k in key)


def _check_bounds(shape: tuple, key: tuple) -> None:
    """Raise ``IndexError`` naming the shape for out-of-range ints (NumPy's message lacks
    the array shape)."""
    axis = 0
    n_real = sum(1 for k in key if k is not None and k is not Ellipsis)
    for k in key:
        if k is Ellipsis:
            axis += len(shape) - n_real
            continue
        if k is None:
            continue
        if axis >= len(shape):
            raise IndexError("too many indices (%d) for an array of shape %s" % (n_real, shape))
        if isinstance(k, (int, np.integer)) and not -shape[axis] <= k < shape[axis]:
            raise IndexError("index %d is out of bounds for axis %d with size %d (shape %s)"
                             % (k, axis, shape[axis], shape))
        if isinstance(k, np.ndarray) and k.size and \
                (k.max() >= shape[axis] or k.min() < -shape[axis]):
            raise IndexError("index array has values out of bounds for axis %d with size %d"
                             % (axis, shape[axis]))
        axis += 1


def getitem(x: NDArray, key: Any) -> NDArray:
    """``x[key]``: a view for contiguous basic indexing, otherwise a copy. Under
    ``autograd.record`` the result's gradient is scattered back into ``x``'s shape."""
    key = _normalize(key)
    _check_bounds(x.shape, key)
    res = _getitem(x, key)
    if x._ag is not None:
        _record_getitem(x, key, res)
    return res


def _record_getitem(x: NDArray, key: tuple, res: NDArray) -> None:
    from .creation import zeros
    region = _region(x.shape, key)

    def rule(ograds):
        g = zeros(x.shape, ctx=x._ctx, dtype=x._data.dtype)
        gd, od = g._data, ograds[0]._data
        xp = backend.array_module(x._ctx)

        def run():
            # add.at: repeated indices in an index array accumulate, as they must
            xp.add.at(gd, key, od.reshape(region))
        _engine.get().push(run, x._ctx, (ograds[0]._chunk,), (g._chunk,), 0,
                           "_backward_getitem", gd.size)
        return [g]
    _dispatch.record_function("_getitem", [x], [res], rule)


def _region(shape: tuple, key: tuple) -> tuple:
    """The shape NumPy gives ``a[key]`` for an array of ``shape`` (computed without data)."""
    probe = np.lib.stride_tricks.as_strided(np.zeros(1, np.int8), shape=shape,
                                            strides=(0,) * len(shape))
    return probe[key].shape


def _getitem(x: NDArray, key: tuple) -> NDArray:
    if _is_basic(key):
        # MXNet 1.x has no 0-d results: ints become length-1 slices, squeezed after.
        if x.ndim == 1 and len(key) == 1 and isinstance(key[0], (int, np.integer)):
            i = int(key[0]) % x.shape[0]
            return x._view(x._data[i:i + 1])
        view = x._data[key]
        if view.ndim == 0:
            view = view.reshape(1)
        if view.flags.c_contiguous and (view.size == 0 or
                                        np.shares_memory(view, x._data)):
            return x._view(view)
        src = x._data
        return _gather(x, lambda: src[key], view.shape)
    shape = _region(x.shape, key) or (1,)
    src = x._data
    return _gather(x, lambda: src[key], shape)


def _gather(x: NDArray, take: Any, shape: tuple) -> NDArray:
    out = np.empty(shape, x._data.dtype) if x._ctx.device_typeid != 2 else None
    if out is None:
        from .. import backend
        out = backend.empty(shape, x._data.dtype, x._ctx)
    res = NDArray(Chunk(out), x._ctx)

    def run():
        out[...] = take().reshape(shape)
    _engine.get().push(run, x._ctx, (x._chunk,), (res._chunk,), 0, "_getitem", out.size)
    return res


def setitem(x: NDArray, key: Any, value: Any) -> None:
    """``x[key] = value`` with a number, NDArray, NumPy array or list (broadcast to the
    selected region); raises ``MXNetError`` naming both shapes when they do not fit."""
    key = _normalize(key)
    _check_bounds(x.shape, key)
    region = _region(x.shape, key)
    dst = x._data
    const: tuple = ()
    if isinstance(value, NDArray):
        vshape = value.shape
        src = value._data
        if value._ctx != x._ctx:
            value = value.as_in_context(x._ctx)
            src = value._data
        const = (value._chunk,)
    elif isinstance(value, numeric_types) and not isinstance(value, np.ndarray):
        src = value
        vshape = ()
    else:
        try:
            src = np.array(value, dtype=dst.dtype)
        except (TypeError, ValueError) as e:
            raise MXNetError("cannot assign %s to an NDArray: %s" % (type(value).__name__, e)) \
                from None
        vshape = src.shape
        if x._ctx.device_typeid == 2:
            src = array(src, ctx=x._ctx, dtype=dst.dtype)._data
    try:
        np.broadcast_shapes(vshape, region)
    except ValueError:
        raise MXNetError("__setitem__: value of shape %s cannot be broadcast to the indexed "
                         "region of shape %s (array shape %s)" % (vshape, region, x.shape)) \
            from None
    if len(vshape) > len(region):
        # MXNet accepts leading 1s in the value (e.g. (1, 3) into a (3,) row)
        src_shape = vshape[len(vshape) - len(region):]
    else:
        src_shape = None

    def run():
        v = src.reshape(src_shape) if src_shape is not None else src
        dst[key] = v
    _engine.get().push(run, x._ctx, const, (x._chunk,), 0, "_setitem",
                       int(np.prod(region)) if region else 1)
