"""Iterators over text files: ``CSVIter`` (dense rows) and ``LibSVMIter`` (sparse rows,
batched as CSR NDArrays).

MXNet conventions kept (see ``mxdataiter`` for the shared ones): CSV rows are reshaped to
``data_shape`` and a missing ``label_csv`` gives all-zero labels; LibSVM indices are
zero-based, ``data_shape``/``label_shape`` are 1-D, the labels come from the first column
of ``data_libsvm`` (dense, shape ``(batch_size,)``) unless ``label_libsvm`` is given (then
they are CSR rows of ``label_shape`` and ``label_shape`` must not be ``(1,)``), and
``num_parts``/``part_index`` split the data file by bytes at line boundaries the way dmlc's
input splits do (a line belongs to the part whose start offset lies before the line's
first byte), so parts are not always even. A label file has at least as many rows as the
data; extra rows are ignored. Unlike MXNet, which splits a label file by its own bytes,
mixnet takes the label rows by line number, so data and labels stay aligned.
"""
from __future__ import annotations

import io
import os
from typing import Any, Optional

import numpy as np

from ..base import MXNetError, normalize_dtype
from ..context import Context
from ..ndarray.sparse import csr_matrix
from ._util import gather_csr, parse_bool, parse_int, parse_shape, take_rows, wrap_fresh
from .mxdataiter import BatchLoader, MXDataIter, read_file_bytes, warn_unknown

__all__ = ["CSVIter", "LibSVMIter"]

_CPU = Context("cpu", 0)


def _is_null(path: Any) -> bool:
    return path is None or (isinstance(path, str) and path in ("", "NULL"))


def _label_out_shape(batch_size: int, label_shape: tuple) -> tuple:
    # MXNet's C API hands a label of one value per sample out as a 1-D array
    if label_shape == (1,):
        return (batch_size,)
    return (batch_size,) + label_shape


def _index_of(rows: np.ndarray) -> np.ndarray:
    return np.maximum(rows, 0).astype(np.uint64)


def _check_label_rows(where: str, label_arg: str, label_path: Any, have: int, need: int,
                      data_arg: str, data_path: Any) -> None:
    """A label file needs a row for each data row it is aligned with (extras are
    ignored)."""
    if have < need:
        raise MXNetError("%s: %s=%r has %d rows, fewer than the %d rows of %s=%r"
                         % (where, label_arg, os.fspath(label_path), have, need, data_arg,
                            os.fspath(data_path)))


class _RowFileIter(MXDataIter):
    """A text-file iterator: this ``__init__`` checks the arguments both formats take
    (setting ``_data_shape``, ``_label_shape``, ``batch_size``, ``round_batch``); the
    subclass's then sets ``self._loader`` (a ``BatchLoader`` over the file's rows) and
    builds a batch from the loader's rows in ``_rows_batch(rows, pad)`` -> ``(data,
    label, pad, index)``."""

    def __init__(self, where: str, kwargs: dict, data_name: str, label_name: str,
                 data_shape: Any, label_shape: Any, batch_size: Any, round_batch: Any):
        warn_unknown(where, kwargs)
        super().__init__(data_name, label_name)
        if data_shape is None:
            raise MXNetError("%s: argument 'data_shape' is required" % where)
        self._data_shape = parse_shape("data_shape", data_shape, where)
        self._label_shape = parse_shape("label_shape", label_shape, where)
        self.batch_size = parse_int("batch_size", batch_size, where, low=1)
        self.round_batch = parse_bool("round_batch", round_batch, where)

    def _before_first(self) -> None:
        self._loader.before_first()

    def _fetch(self) -> Optional[tuple]:
        got = self._loader.next()
        return None if got is None else self._rows_batch(*got)

    def _rows_batch(self, rows: np.ndarray, pad: int) -> tuple:
        raise NotImplementedError


# ------------------------------------------------------------------------------- CSV
def _load_csv(path: Any, width: int, dtype: np.dtype, where: str, arg: str,
              shape: tuple) -> np.ndarray:
    raw = read_file_bytes(path, where, arg)
    text = raw.decode("utf-8", errors="replace")
    try:
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an empty file warns; it is reported below
            table = np.loadtxt(io.StringIO(text), delimiter=",", dtype=np.float64, ndmin=2)
    except ValueError as e:
        raise MXNetError("%s: cannot parse %s=%r as CSV: %s" % (where, arg, os.fspath(path), e)) \
            from None
    if table.shape[0] and table.shape[1] != width:
        raise MXNetError("%s: rows of %s=%r have %d values, but %s=%s needs %d"
                         % (where, arg, os.fspath(path), table.shape[1],
                            arg.replace("_csv", "_shape"), shape, width))
    return table.astype(dtype)


class CSVIter(_RowFileIter):
    """``mx.io.CSVIter(data_csv, data_shape, label_csv='NULL', label_shape=(1,),
    batch_size, round_batch=True, prefetch_buffer=4, ctx='gpu', dtype=None)`` (keyword
    arguments only): batches of the rows of ``data_csv`` (comma-separated numbers, one
    sample per row, reshaped to ``data_shape``) and of ``label_csv`` (reshaped to
    ``label_shape``; all zeros without one). ``dtype`` is ``'float32'`` (default),
    ``'int32'`` or ``'int64'``. ``round_batch`` as described in ``mixnet.io.mxdataiter``;
    mixnet defaults ``batch_size`` to 1 where MXNet requires it."""

    def __init__(self, *, data_csv: Any = None, data_shape: Any = None,
                 label_csv: Any = "NULL", label_shape: Any = (1,), batch_size: Any = 1,
                 round_batch: Any = True, prefetch_buffer: Any = 4, ctx: Any = "gpu",
                 dtype: Any = None, data_name: str = "data",
                 label_name: str = "softmax_label", **kwargs: Any):
        where = "CSVIter"
        super().__init__(where, kwargs, data_name, label_name, data_shape, label_shape,
                         batch_size, round_batch)
        bs = self.batch_size
        self._dtype = normalize_dtype(dtype)
        if self._dtype.name not in ("float32", "int32", "int64"):
            raise MXNetError("%s: dtype must be None, 'float32', 'int32' or 'int64', got %r"
                             % (where, dtype))
        dwidth = int(np.prod(self._data_shape))
        self._data = _load_csv(data_csv, dwidth, self._dtype, where, "data_csv",
                               self._data_shape)
        n = self._data.shape[0]
        if n == 0:
            raise MXNetError("%s: data_csv=%r has no rows" % (where, os.fspath(data_csv)))
        lwidth = int(np.prod(self._label_shape))
        if _is_null(label_csv):
            self._label = np.zeros((n, lwidth), self._dtype)
        else:
            label = _load_csv(label_csv, lwidth, self._dtype, where, "label_csv",
                              self._label_shape)
            _check_label_rows(where, "label_csv", label_csv, label.shape[0], n, "data_csv",
                              data_csv)
            self._label = np.ascontiguousarray(label[:n])
        self._data = self._data.reshape((n,) + self._data_shape)
        self._label = self._label.reshape((n,) + _label_out_shape(1, self._label_shape)[1:])
        self._loader = BatchLoader(n, bs, self.round_batch, where)
        self._describe((bs,) + self._data_shape, self._dtype.type,
                       _label_out_shape(bs, self._label_shape), self._dtype.type)

    def _rows_batch(self, rows: np.ndarray, pad: int) -> tuple:
        if pad == 0:
            rows_sel: Any = slice(int(rows[0]), int(rows[0]) + len(rows))
        else:
            rows_sel = rows
        return (wrap_fresh(take_rows(self._data, rows_sel), _CPU),
                wrap_fresh(take_rows(self._label, rows_sel), _CPU), pad, _index_of(rows))


# ---------------------------------------------------------------------------- LibSVM
def _read_lines(path: Any, where: str, arg: str) -> bytes:
    """The bytes of a file, or of all files of a directory (sorted, newline-joined)."""
    if path is not None and os.path.isdir(os.fspath(path)):
        names = sorted(n for n in os.listdir(path) if os.path.isfile(os.path.join(path, n)))
        if not names:
            raise MXNetError("%s: %s=%r is a directory without files" % (where, arg, path))
        parts = [read_file_bytes(os.path.join(path, n), where, arg) for n in names]
        return b"\n".join(parts)  # blank lines between files are skipped by the parser
    return read_file_bytes(path, where, arg)


def _line_spans(raw: bytes, num_parts: int, part_index: int) -> tuple:
    """``(lines, first)``: the non-blank lines of part ``part_index`` and the number of
    non-blank lines before them. ``raw`` is split into ``num_parts`` byte ranges; a line
    belongs to the part whose start offset lies before its first byte (line 0: part 0)."""
    lines = raw.split(b"\n")
    keep = np.array([bool(l.strip()) for l in lines], dtype=bool)
    if num_parts == 1:
        return [l for l, k in zip(lines, keep) if k], 0
    starts = np.zeros(len(lines), dtype=np.int64)
    np.cumsum([len(l) + 1 for l in lines[:-1]], out=starts[1:])
    bounds = np.array([len(raw) * p // num_parts for p in range(num_parts)], dtype=np.int64)
    owner = np.maximum(np.searchsorted(bounds, starts, side="left") - 1, 0)
    first = int(np.count_nonzero(keep & (owner < part_index)))
    return [l for l, o, k in zip(lines, owner, keep) if k and o == part_index], first


def _parse_libsvm(lines: list, width: int, where: str, arg: str, path: Any) -> tuple:
    """``(labels float32 (n,), data, indices, indptr)`` of LibSVM lines."""
    labels = []
    counts = np.zeros(len(lines), dtype=np.int64)
    tokens: list = []
    for i, line in enumerate(lines):
        parts = line.decode("utf-8", errors="replace").split()
        labels.append(parts[0].split(":")[0])
        feats = [t for t in parts[1:] if not t.startswith("qid:")]
        counts[i] = len(feats)
        tokens.extend(feats)
    try:
        y = np.array(labels, dtype=np.float32)
        pairs = " ".join(tokens).replace(":", " ").split()
        if len(pairs) != 2 * len(tokens):
            raise ValueError("a feature is not of the form index:value")
        flat = np.array(pairs, dtype=np.float64).reshape(-1, 2) if pairs else np.zeros((0, 2))
    except ValueError as e:
        raise MXNetError("%s: cannot parse %s=%r as LibSVM (label idx:value ...): %s"
                         % (where, arg, os.fspath(path), e)) from None
    idx = flat[:, 0]
    if idx.size and (idx.min() < 0 or idx.max() >= width or np.any(idx != np.floor(idx))):
        bad = idx[(idx < 0) | (idx >= width) | (idx != np.floor(idx))][0]
        raise MXNetError("%s: %s=%r has feature index %g outside [0, %d) (indices are "
                         "zero-based; the shape argument gives %d features)"
                         % (where, arg, os.fspath(path), bad, width, width))
    indptr = np.zeros(len(lines) + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    return y, flat[:, 1].astype(np.float32), idx.astype(np.int64), indptr


class LibSVMIter(_RowFileIter):
    """``mx.io.LibSVMIter(data_libsvm, data_shape, label_libsvm='NULL', label_shape=(1,),
    num_parts=1, part_index=0, batch_size, round_batch=True, prefetch_buffer=4,
    ctx='gpu', dtype=None)`` (keyword arguments only): batches of a LibSVM file
    (``label idx:value ...`` per line, zero-based indices; a directory reads all its
    files) as ``CSRNDArray`` data of shape ``(batch_size,) + data_shape``. Labels: the
    first column, dense ``(batch_size,)``; or, with ``label_libsvm``, CSR rows of
    ``label_shape``. Mixnet defaults ``batch_size`` to 1 where MXNet requires it."""

    def __init__(self, *, data_libsvm: Any = None, data_shape: Any = None,
                 label_libsvm: Any = "NULL", label_shape: Any = (1,), batch_size: Any = 1,
                 round_batch: Any = True, num_parts: Any = 1, part_index: Any = 0,
                 prefetch_buffer: Any = 4, ctx: Any = "gpu", dtype: Any = None,
                 data_name: str = "data", label_name: str = "softmax_label", **kwargs: Any):
        where = "LibSVMIter"
        super().__init__(where, kwargs, data_name, label_name, data_shape, label_shape,
                         batch_size, round_batch)
        bs = self.batch_size
        if len(self._data_shape) != 1:
            raise MXNetError("%s: data_shape must be 1-D, got %s" % (where, self._data_shape))
        if len(self._label_shape) != 1:
            raise MXNetError("%s: label_shape must be 1-D, got %s" % (where, self._label_shape))
        nparts = parse_int("num_parts", num_parts, where, low=1)
        pidx = parse_int("part_index", part_index, where, low=0)
        if pidx >= nparts:
            raise MXNetError("%s: part_index=%d must be < num_parts=%d" % (where, pidx, nparts))
        has_label_file = not _is_null(label_libsvm)
        if has_label_file and self._label_shape == (1,):
            raise MXNetError("%s: label_shape must not be (1,) when label_libsvm is set"
                             % where)
        if not has_label_file and self._label_shape != (1,):
            raise MXNetError("%s: label_shape must be (1,) without label_libsvm, got %s"
                             % (where, self._label_shape))
        lines, first = _line_spans(_read_lines(data_libsvm, where, "data_libsvm"), nparts,
                                   pidx)
        if not lines:
            raise MXNetError("%s: data_libsvm=%r has no rows%s" % (
                where, os.fspath(data_libsvm),
                "" if nparts == 1 else " in part %d of %d" % (pidx, nparts)))
        y, *self._csr = _parse_libsvm(lines, self._data_shape[0], where, "data_libsvm",
                                      data_libsvm)
        n = len(lines)
        self._label_csr = None
        if has_label_file:
            # rows are taken by line number, so data and labels stay aligned in every part
            all_label, _ = _line_spans(_read_lines(label_libsvm, where, "label_libsvm"), 1, 0)
            _check_label_rows(where, "label_libsvm", label_libsvm, len(all_label), first + n,
                              "data_libsvm", data_libsvm)
            _, *self._label_csr = _parse_libsvm(all_label[first:first + n],
                                                self._label_shape[0], where, "label_libsvm",
                                                label_libsvm)
        else:
            self._label = y
        self._loader = BatchLoader(n, bs, self.round_batch, where)
        self._describe((bs,) + self._data_shape, np.float32,
                       _label_out_shape(bs, self._label_shape), np.float32)

    def _rows_batch(self, rows: np.ndarray, pad: int) -> tuple:
        d, i, p = gather_csr(*self._csr, rows)
        data = csr_matrix((d, i, p), shape=(len(rows),) + self._data_shape, ctx=_CPU,
                          dtype=np.float32)
        if self._label_csr is not None:
            d, i, p = gather_csr(*self._label_csr, rows)
            label = csr_matrix((d, i, p), shape=(len(rows),) + self._label_shape, ctx=_CPU,
                               dtype=np.float32)
        else:
            label = wrap_fresh(take_rows(self._label, rows), _CPU)
        return data, label, pad, _index_of(rows)
