"""Helpers shared by the iterators: wrapping fresh host buffers as NDArrays, gathering
rows of host CSR components, and parsing the string-or-value keyword arguments that
MXNet's backend iterators accept."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .. import backend
from ..base import MXNetError
from ..context import Context, current_context
from ..ndarray.chunk import Chunk
from ..ndarray.ndarray import NDArray


def wrap_fresh(buf: np.ndarray, ctx: Optional[Context] = None) -> NDArray:
    """An NDArray on ``ctx`` holding ``buf``, a host array nobody else references (so on
    the CPU it is adopted without another copy)."""
    ctx = ctx or current_context()
    if ctx.device_typeid == 2 or not buf.flags.c_contiguous:
        buf = backend.from_host(buf, ctx)
    return NDArray(Chunk(buf), ctx)


def take_rows(host: np.ndarray, rows: Any) -> np.ndarray:
    """A fresh array of ``host``'s rows ``rows`` (a ``slice`` or an index array; index -1
    gives a zero row, the filler of padded batches)."""
    if isinstance(rows, slice):
        return np.array(host[rows], order="C", copy=True)
    if rows.size and rows.min() < 0:
        out = np.take(host, np.maximum(rows, 0), axis=0)
        out[rows < 0] = 0
        return out
    return np.take(host, rows, axis=0)


def gather_csr(data: np.ndarray, indices: np.ndarray, indptr: np.ndarray,
               rows: Any) -> tuple:
    """The CSR components of rows ``rows`` (slice or index array; -1 = an empty row) of
    the CSR matrix ``(data, indices, indptr)``, vectorised (no loop over rows)."""
    if isinstance(rows, slice):
        start, stop, _ = rows.indices(len(indptr) - 1)
        rows = np.arange(start, stop)
    rows = np.asarray(rows, dtype=np.int64)
    valid = rows >= 0
    safe = np.where(valid, rows, 0)
    starts = indptr[safe]
    lens = np.where(valid, indptr[safe + 1] - starts, 0)
    new_ptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(lens, out=new_ptr[1:])
    total = int(new_ptr[-1])
    # element j of output row r sits at starts[r] + j in the source
    pos = np.arange(total, dtype=np.int64) + np.repeat(starts - new_ptr[:-1], lens)
    return data[pos], indices[pos], new_ptr


# ----------------------------------------------------------------- keyword parsing
def parse_bool(name: str, value: Any, where: str) -> bool:
    """A boolean keyword given as a bool, an int or a string ('1', 'true', 'False')."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("0", "1", "true", "false"):
        return value.strip().lower() in ("1", "true")
    raise MXNetError("%s: invalid value %r for boolean argument '%s'" % (where, value, name))


def parse_int(name: str, value: Any, where: str, low: Optional[int] = None) -> int:
    """An integer keyword given as an int or a string, checked against ``low``."""
    try:
        if not isinstance(value, (int, np.integer, str)) or isinstance(value, bool):
            raise ValueError
        out = int(value)
    except (TypeError, ValueError):
        raise MXNetError("%s: invalid value %r for integer argument '%s'"
                         % (where, value, name)) from None
    if low is not None and out < low:
        raise MXNetError("%s: argument '%s' must be >= %d, got %d" % (where, name, low, out))
    return out


def parse_shape(name: str, value: Any, where: str) -> tuple:
    """A shape keyword given as a tuple/list, an int or a string like ``'(3, 28, 28)'``."""
    try:
        if isinstance(value, str):
            text = value.strip().strip("()[]")
            shape = tuple(int(t) for t in text.split(",") if t.strip())
        elif isinstance(value, (int, np.integer)):
            shape = (int(value),)
        else:
            shape = tuple(int(d) for d in value)
    except (TypeError, ValueError):
        raise MXNetError("%s: invalid shape %r for argument '%s'" % (where, value, name)) from None
    if not shape or any(d <= 0 for d in shape):
        raise MXNetError("%s: argument '%s' must be a non-empty shape of positive sizes, got %r"
                         % (where, name, value))
    return shape
