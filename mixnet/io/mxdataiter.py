"""``MXDataIter``: the common base of the file iterators (``CSVIter``, ``LibSVMIter``,
``MNISTIter``), MXNet's Python face of its C++ iterators.

MXNet conventions kept: the iterators take keyword arguments only (values may also be
strings, as MXNet forwards every value as a string), unknown keywords are tolerated (MXNet
ignores them; mixnet warns), ``getdata()``/``getlabel()`` return one NDArray each (not a
list), a label of one value per sample comes out as shape ``(batch_size,)``, and
``round_batch`` follows MXNet's batch loader: the last incomplete batch is completed with
samples from the start of the data (``pad`` says how many) and the next epoch then starts
after those samples; with ``round_batch=False`` the last batch is completed with the rows
the previous batch held at those positions (the stale contents of MXNet's reused buffer;
zeros when there was no previous batch) and ``pad`` counts them.

The files are read into memory when the iterator is built; batches are slices or gathers
of the loaded arrays, so the ``prefetch_buffer``/``ctx`` arguments have nothing to tune
and are accepted for compatibility only.
"""
from __future__ import annotations

import gzip
import logging
import os
from typing import Any, Optional

import numpy as np

from ..base import MXNetError
from .base import DataBatch, DataDesc, DataIter

__all__ = ["MXDataIter"]

_log = logging.getLogger(__name__)

def warn_unknown(where: str, kwargs: dict) -> None:
    """MXNet silently ignores keywords an iterator does not know; say so once instead."""
    if kwargs:
        _log.warning("%s: ignoring unknown argument(s) %s", where, ", ".join(sorted(kwargs)))


def read_file_bytes(path: Any, where: str, arg: str) -> bytes:
    """The bytes of ``path`` (gunzipped when it starts with the gzip magic), with errors
    that name the iterator, the argument and the file."""
    if path is None:
        raise MXNetError("%s: argument '%s' is required" % (where, arg))
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise MXNetError("%s: cannot read %s=%r: %s" % (where, arg, path, e.strerror or e)) \
            from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, ValueError) as e:
            raise MXNetError("%s: %s=%r is a corrupt or truncated gzip file: %s"
                             % (where, arg, path, e)) from None
    return raw


class BatchLoader:
    """Which rows form each batch, with the semantics of MXNet's batch loader.

    ``next()`` gives ``(rows, pad)`` (``rows`` an int64 array of ``batch_size`` row
    numbers, -1 for an all-zero filler row) or ``None`` at the end of the epoch."""

    def __init__(self, num_rows: int, batch_size: int, round_batch: bool, where: str):
        self.n = num_rows
        self.bs = batch_size
        self.round_batch = round_batch
        self.where = where
        self.pos = 0          # the next row the underlying reader hands out
        self.overflow = 0     # rows read past the end to complete the last batch
        self.last: Optional[np.ndarray] = None

    def before_first(self) -> None:
        if not self.round_batch or self.overflow == 0:
            self.pos = 0
        else:
            # the wrap-around already moved the reader to row `overflow`: the new epoch
            # continues from there instead of repeating those rows
            self.overflow = 0

    def next(self) -> Optional[tuple]:
        if self.overflow or self.pos >= self.n:
            return None
        take = min(self.bs, self.n - self.pos)
        rows = np.arange(self.pos, self.pos + take, dtype=np.int64)
        self.pos += take
        pad = 0
        if take < self.bs:
            need = self.bs - take
            if self.round_batch:
                if need > self.n:
                    raise MXNetError("%s: round_batch needs at least %d samples to complete "
                                     "the last batch of %d, but the data has %d"
                                     % (self.where, need, self.bs, self.n))
                rows = np.concatenate([rows, np.arange(need, dtype=np.int64)])
                self.pos = self.overflow = need
            else:
                filler = (self.last[take:] if self.last is not None
                          else np.full(need, -1, dtype=np.int64))
                rows = np.concatenate([rows, filler])
            pad = need
        self.last = rows
        return rows, pad


class MXDataIter(DataIter):
    """``mx.io.MXDataIter``: base of the backend file iterators (``CSVIter``,
    ``LibSVMIter``, ``MNISTIter``). ``getdata()``/``getlabel()`` return the current
    batch's single data / label array, ``getindex()`` its sample indices (uint64),
    ``getpad()`` its number of fillers; ``provide_data``/``provide_label`` use the names
    ``data_name``/``label_name`` (``'data'``/``'softmax_label'``).

    Subclasses implement ``_before_first()`` and ``_fetch()`` (``(data, label, pad,
    index)`` or ``None`` at the end of the epoch) and set ``provide_data``,
    ``provide_label`` and ``batch_size``."""

    def __init__(self, data_name: str = "data", label_name: str = "softmax_label"):
        super().__init__()
        self.data_name = data_name
        self.label_name = label_name
        self._current: Optional[tuple] = None

    def _describe(self, data_shape: tuple, data_dtype: Any, label_shape: tuple,
                  label_dtype: Any) -> None:
        self.batch_size = data_shape[0]
        self.provide_data = [DataDesc(self.data_name, data_shape, data_dtype)]
        self.provide_label = [DataDesc(self.label_name, label_shape, label_dtype)]

    def _before_first(self) -> None:
        raise NotImplementedError

    def _fetch(self) -> Optional[tuple]:
        raise NotImplementedError

    def reset(self) -> None:
        """Start the next epoch."""
        self._current = None
        self._before_first()

    def iter_next(self) -> bool:
        self._current = self._fetch()
        return self._current is not None

    def next(self) -> DataBatch:
        if not self.iter_next():
            raise StopIteration
        data, label, pad, index = self._current
        return DataBatch(data=[data], label=[label], pad=pad, index=index)

    def _require_batch(self) -> tuple:
        if self._current is None:
            raise MXNetError("%s: no current batch; call next() or iter_next() first"
                             % type(self).__name__)
        return self._current

    def getdata(self) -> Any:
        """The data array of the current batch."""
        return self._require_batch()[0]

    def getlabel(self) -> Any:
        """The label array of the current batch."""
        return self._require_batch()[1]

    def getpad(self) -> int:
        """The number of filler samples at the end of the current batch."""
        return self._require_batch()[2]

    def getindex(self) -> Any:
        """The sample indices (uint64) of the current batch."""
        return self._require_batch()[3]
