"""``NDArrayIter``: batches sliced from in-memory arrays.

MXNet 1.9.1 conventions kept:

* inputs may be one array, a list (one array is named ``data_name``; several are named
  ``_0_<data_name>``, ``_1_<data_name>``, ...) or a dict (sources ordered by sorted key);
  NumPy and other non-NDArray inputs become float32, NDArrays keep their dtype;
* shuffling draws from NumPy's *global* generator (``np.random.shuffle``) at construction
  and on every ``reset()``, composing each new permutation with the previous order, so a
  given ``np.random.seed`` reproduces MXNet's batch order;
* ``last_batch_handle``: ``'pad'`` fills the last batch from the start of the data and
  reports the number of fillers in ``DataBatch.pad``; ``'discard'`` drops the incomplete
  last batch; ``'roll_over'`` carries it into the first batch of the next epoch, whose
  ``pad`` then reports how many samples were carried (as MXNet does).

Batches hold fresh arrays (callers may keep or modify them): a contiguous range is one
slice copy, a shuffled or wrapped batch one ``np.take`` gather.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Optional

import numpy as np

from ..base import MXNetError
from ..context import current_context
from ..ndarray.ndarray import NDArray
from ..ndarray.sparse import BaseSparseNDArray, CSRNDArray, csr_matrix
from ._util import gather_csr, take_rows, wrap_fresh
from .base import DataBatch, DataDesc, DataIter

__all__ = ["NDArrayIter"]

_LAST_BATCH_MODES = ("pad", "discard", "roll_over")


class _Source:
    """One named input held on the host: a dense array, or the components of a CSR matrix
    (``data``, ``indices``, ``indptr``); batches go back to ``ctx``."""

    __slots__ = ("name", "host", "csr", "shape", "dtype", "ctx")

    def __init__(self, name: str, value: Any):
        self.name = name
        self.csr = None
        if isinstance(value, CSRNDArray):
            self.csr = (value.data.asnumpy(), value.indices.asnumpy().astype(np.int64),
                        value.indptr.asnumpy().astype(np.int64))
            self.host = None
            self.shape = tuple(value.shape)
            self.dtype = value.dtype
            self.ctx = value.context
            return
        if isinstance(value, BaseSparseNDArray):
            raise MXNetError("NDArrayIter: input '%s' has storage type '%s'; only dense and "
                             "csr inputs are supported" % (name, value.stype))
        if isinstance(value, NDArray):
            host = value.asnumpy()
            self.ctx = value.context
        else:
            try:
                host = np.asarray(value, dtype=np.float32)
            except (TypeError, ValueError) as e:
                raise TypeError("NDArrayIter: invalid type '%s' for input '%s'; it should be "
                                "an NDArray, a numpy.ndarray, or a list or dict of them (%s)"
                                % (type(value).__name__, name, e)) from None
            self.ctx = current_context()
        if host.ndim == 0:
            raise MXNetError("NDArrayIter: input '%s' must have a batch axis, got a scalar"
                             % name)
        self.host = np.ascontiguousarray(host)
        self.shape = self.host.shape
        self.dtype = value.dtype if isinstance(value, NDArray) else np.float32

    def batch(self, rows: Any) -> Any:
        """The rows ``rows`` (slice or original-row index array) as a fresh array."""
        if self.csr is None:
            return wrap_fresh(take_rows(self.host, rows), self.ctx)
        d, i, p = gather_csr(*self.csr, rows)
        return csr_matrix((d, i, p), shape=(len(p) - 1,) + self.shape[1:], ctx=self.ctx,
                          dtype=self.csr[0].dtype)

    def full(self, order: Optional[np.ndarray]) -> Any:
        """All rows in the order ``order`` (identity when ``None``), as a fresh array."""
        return self.batch(slice(0, self.shape[0]) if order is None else order)


def _init_sources(data: Any, allow_empty: bool, default_name: str, what: str) -> list:
    """Named sources from an array, a list or a dict (MXNet's naming; dicts sorted)."""
    if data is None:
        if not allow_empty:
            raise MXNetError("NDArrayIter: %s is required, got None" % what)
        data = []
    if isinstance(data, (np.ndarray, NDArray, BaseSparseNDArray)):
        data = [data]
    if isinstance(data, (list, tuple)):
        if not data and not allow_empty:
            raise MXNetError("NDArrayIter: %s is an empty list" % what)
        if len(data) == 1:
            data = OrderedDict([(default_name, data[0])])
        else:
            data = OrderedDict(("_%d_%s" % (i, default_name), d) for i, d in enumerate(data))
    if not isinstance(data, dict):
        raise TypeError("NDArrayIter: %s must be an NDArray, a numpy.ndarray, or a list or "
                        "dict of them, got %s" % (what, type(data).__name__))
    if not data and not allow_empty:
        raise MXNetError("NDArrayIter: %s is an empty dict" % what)
    return [_Source(str(k), v) for k, v in sorted(data.items())]


class NDArrayIter(DataIter):
    """``mx.io.NDArrayIter(data, label=None, batch_size=1, shuffle=False,
    last_batch_handle='pad', data_name='data', label_name='softmax_label')``: iterate over
    in-memory arrays in batches of ``batch_size`` samples along axis 0.

    ``data``/``label`` are NDArrays, NumPy arrays, lists or dicts of them (CSR NDArrays
    too, with ``last_batch_handle='discard'`` only, as in MXNet). ``shuffle`` reorders the
    samples with NumPy's global generator at construction and on each ``reset()``; data
    and labels stay aligned. ``last_batch_handle`` is ``'pad'``, ``'discard'`` or
    ``'roll_over'`` (see the module docstring). ``layout`` (a mixnet extension, default
    ``'NCHW'``) is the layout written into ``provide_data``/``provide_label``.
    ``hard_reset()`` starts over without the rolled-over samples."""

    def __init__(self, data: Any, label: Any = None, batch_size: int = 1,
                 shuffle: bool = False, last_batch_handle: str = "pad",
                 data_name: str = "data", label_name: str = "softmax_label",
                 layout: str = "NCHW"):
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size < 1:
            raise MXNetError("NDArrayIter: batch_size must be a positive integer, got %r"
                             % (batch_size,))
        if last_batch_handle not in _LAST_BATCH_MODES:
            raise MXNetError("NDArrayIter: unknown last_batch_handle %r (expected one of %s)"
                             % (last_batch_handle, ", ".join(_LAST_BATCH_MODES)))
        super().__init__(int(batch_size))
        self._data = _init_sources(data, False, data_name, "data")
        self._label = _init_sources(label, True, label_name, "label")
        if any(s.csr is not None for s in self._data + self._label) \
                and last_batch_handle != "discard":
            raise NotImplementedError("NDArrayIter only supports CSRNDArray inputs with "
                                      "last_batch_handle='discard'")
        lengths = {s.name: s.shape for s in self._data + self._label}
        if len({shape[0] for shape in lengths.values()}) != 1:
            raise MXNetError("NDArrayIter: data and label must have the same number of "
                             "samples (axis 0), got shapes %s"
                             % ", ".join("%s=%s" % kv for kv in lengths.items()))
        self.num_data = self._data[0].shape[0]
        if self.num_data == 0:
            raise MXNetError("NDArrayIter: data has no samples (shape %s)"
                             % (self._data[0].shape,))
        self.idx = np.arange(self.num_data)
        self.shuffle = bool(shuffle)
        self.last_batch_handle = last_batch_handle
        self.layout = layout
        self.cursor = -self.batch_size
        self.num_source = len(self._data) + len(self._label)
        # composite sample order (None = identity) and the rolled-over original rows
        self._order: Optional[np.ndarray] = None
        self._carry: Optional[np.ndarray] = None
        self.reset()

    # ------------------------------------------------------------------ description
    def _descs(self, sources: list) -> list:
        return [DataDesc(s.name, (self.batch_size,) + tuple(s.shape[1:]), s.dtype, self.layout)
                for s in sources]

    @property
    def provide_data(self) -> list:
        """``DataDesc``s of the data: ``(batch_size,) + sample shape`` with the dtype."""
        return self._descs(self._data)

    @property
    def provide_label(self) -> list:
        """``DataDesc``s of the labels (empty without labels)."""
        return self._descs(self._label)

    @property
    def data(self) -> list:
        """``[(name, array)]``: the data in the current (shuffled) order, as copies."""
        return [(s.name, s.full(self._order)) for s in self._data]

    @property
    def label(self) -> list:
        """``[(name, array)]``: the labels in the current order, as copies."""
        return [(s.name, s.full(self._order)) for s in self._label]

    # ------------------------------------------------------------------ epochs
    def _shuffle_data(self) -> None:
        # MXNet reshuffles its running permutation in place and re-indexes the already
        # shuffled data with it, so the orders compose; doing the same keeps batch order
        # identical to MXNet for a given np.random.seed.
        np.random.shuffle(self.idx)
        self._order = self.idx.copy() if self._order is None else self._order[self.idx]

    def hard_reset(self) -> None:
        """Start the next epoch from the beginning, dropping any rolled-over samples."""
        if self.shuffle:
            self._shuffle_data()
        self.cursor = -self.batch_size
        self._carry = None

    def reset(self) -> None:
        """Start the next epoch (reshuffling when ``shuffle``); with ``'roll_over'`` the
        incomplete last batch of this epoch opens the next one."""
        if self.shuffle:
            self._shuffle_data()
        n, bs = self.num_data, self.batch_size
        if self.last_batch_handle == "roll_over" and n - bs < self.cursor < n:
            self.cursor = self.cursor - n - bs
        else:
            self.cursor = -bs

    def iter_next(self) -> bool:
        """Advance by one batch; ``False`` once the cursor passes the data."""
        self.cursor += self.batch_size
        n = self.num_data
        if 0 <= self.cursor < n < self.cursor + self.batch_size \
                and self.last_batch_handle != "pad":
            # the incomplete last batch: remembered so 'roll_over' can carry it
            self._carry = self._positions(self.cursor, n)
        return self.cursor < n

    def next(self) -> DataBatch:
        """The next batch; ``StopIteration`` at the end of the epoch (before an incomplete
        last batch with ``'discard'``/``'roll_over'``)."""
        if not self.iter_next():
            raise StopIteration
        rows = self._rows()
        count = (rows.stop - rows.start) if isinstance(rows, slice) else len(rows)
        if count != self.batch_size:
            raise StopIteration
        return DataBatch(data=[s.batch(rows) for s in self._data],
                         label=[s.batch(rows) for s in self._label],
                         pad=self.getpad(), index=None)

    # ------------------------------------------------------------------ batch parts
    def _positions(self, start: int, stop: int) -> np.ndarray:
        pos = np.arange(start, stop)
        return pos if self._order is None else self._order[pos]

    def _rows(self) -> Any:
        """The original rows of the current batch: a slice when they are contiguous,
        otherwise an index array."""
        c, bs, n = self.cursor, self.batch_size, self.num_data
        if c >= n:
            raise MXNetError("NDArrayIter: the epoch is over; call reset() before reading "
                             "another batch")
        if self.last_batch_handle == "roll_over" and -bs < c < 0:
            if self._carry is None:
                raise MXNetError("NDArrayIter: no rolled-over samples to start the epoch "
                                 "with (the cursor was moved without reading the last batch)")
            return np.concatenate([self._carry, self._positions(0, min(c + bs, n))])
        if self.last_batch_handle == "pad" and c + bs > n:
            pos = np.arange(c, c + bs) % n  # wraps as often as needed when bs > n
            return pos if self._order is None else self._order[pos]
        end = min(c + bs, n)
        if self._order is None:
            return slice(c, end)
        return self._order[c:end]

    def getdata(self) -> list:
        """The data arrays of the current batch (fresh copies)."""
        rows = self._rows()
        return [s.batch(rows) for s in self._data]

    def getlabel(self) -> list:
        """The label arrays of the current batch (fresh copies)."""
        rows = self._rows()
        return [s.batch(rows) for s in self._label]

    def getpad(self) -> int:
        """Fillers in the current batch: with ``'pad'`` the wrapped samples of the last
        batch; with ``'roll_over'`` the carried samples of the first batch (MXNet's
        convention); otherwise 0."""
        c, bs, n = self.cursor, self.batch_size, self.num_data
        if self.last_batch_handle == "pad" and c + bs > n:
            return c + bs - n
        if self.last_batch_handle == "roll_over" and -bs < c < 0:
            return -c
        return 0
