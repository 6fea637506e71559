"""``MNISTIter``: batches of the MNIST IDX files.

MXNet conventions kept: keyword arguments with MXNet's names and defaults (``shuffle``
defaults to ``True``), pixels scaled by 1/256 as MXNet does (so values lie in
[0, 255/256]), data of shape ``(batch_size, 1, 28, 28)`` or ``(batch_size, 784)`` with
``flat``, float32 labels of shape ``(batch_size,)``, the incomplete last batch dropped
(``pad`` is always 0), a single shuffle at construction seeded by ``seed`` (every epoch
then has the same order), and ``num_parts``/``part_index`` selecting the contiguous rows
``[count*part/num_parts, count*(part+1)/num_parts)``.

Differences: the shuffle uses NumPy's generator, so the order differs from MXNet's
``std::mt19937`` one (it is still a deterministic function of ``seed``); the files may be
gzip-compressed (detected by their first bytes); malformed, truncated or mismatched
files raise ``MXNetError`` naming the file instead of aborting.
"""
from __future__ import annotations

import logging
import os
from typing import Any, Optional

import numpy as np

from ..base import MXNetError, normalize_dtype
from ..context import Context
from ._util import parse_bool, parse_int, wrap_fresh
from .mxdataiter import MXDataIter, read_file_bytes, warn_unknown

__all__ = ["MNISTIter"]

_log = logging.getLogger(__name__)
_CPU = Context("cpu", 0)
_IMAGE_MAGIC = 2051   # 0x00000803: unsigned bytes, 3 dimensions
_LABEL_MAGIC = 2049   # 0x00000801: unsigned bytes, 1 dimension


def _part(count: int, num_parts: int, part_index: int) -> tuple:
    # MXNet computes the bounds in double precision and truncates
    return (int(count / num_parts * part_index), int(count / num_parts * (part_index + 1)))


def _read_idx(path: Any, arg: str, magic: int, ndim: int) -> np.ndarray:
    """The uint8 array of an IDX file with the given magic number and rank."""
    raw = read_file_bytes(path, "MNISTIter", arg)
    head = 4 * (1 + ndim)
    name = os.fspath(path)
    if len(raw) < head:
        raise MXNetError("MNISTIter: %s=%r is not an MNIST IDX file: %d bytes, shorter than "
                         "its %d-byte header" % (arg, name, len(raw), head))
    found, *dims = np.frombuffer(raw, dtype=">u4", count=1 + ndim).tolist()
    if found != magic:
        raise MXNetError("MNISTIter: %s=%r has magic number %d, expected %d (an MNIST %s "
                         "file)" % (arg, name, found, magic,
                                    "image" if ndim == 3 else "label"))
    need = int(np.prod(dims, dtype=np.int64))
    if len(raw) - head < need:
        raise MXNetError("MNISTIter: %s=%r is truncated: its header announces shape %s (%d "
                         "bytes) but only %d bytes follow"
                         % (arg, name, tuple(dims), need, len(raw) - head))
    return np.frombuffer(raw, dtype=np.uint8, count=need, offset=head).reshape(dims)


class MNISTIter(MXDataIter):
    """``mx.io.MNISTIter(image='./train-images-idx3-ubyte',
    label='./train-labels-idx1-ubyte', batch_size=128, shuffle=True, flat=False, seed=0,
    silent=False, num_parts=1, part_index=0, prefetch_buffer=4, ctx='gpu', dtype=None)``
    (keyword arguments only): batches of MNIST images (plain or gzip IDX files) scaled
    to [0, 1) and their labels. ``dtype`` casts the data (default float32)."""

    def __init__(self, *, image: Any = "./train-images-idx3-ubyte",
                 label: Any = "./train-labels-idx1-ubyte", batch_size: Any = 128,
                 shuffle: Any = True, flat: Any = False, seed: Any = 0, silent: Any = False,
                 num_parts: Any = 1, part_index: Any = 0, prefetch_buffer: Any = 4,
                 ctx: Any = "gpu", dtype: Any = None, data_name: str = "data",
                 label_name: str = "softmax_label", **kwargs: Any):
        where = "MNISTIter"
        warn_unknown(where, kwargs)
        super().__init__(data_name, label_name)
        bs = parse_int("batch_size", batch_size, where, low=1)
        self.shuffle = parse_bool("shuffle", shuffle, where)
        self.flat = parse_bool("flat", flat, where)
        seed = parse_int("seed", seed, where)
        silent = parse_bool("silent", silent, where)
        nparts = parse_int("num_parts", num_parts, where, low=1)
        pidx = parse_int("part_index", part_index, where, low=0)
        if pidx >= nparts:
            raise MXNetError("%s: part_index=%d must be < num_parts=%d" % (where, pidx, nparts))
        self._dtype = normalize_dtype(dtype)
        images = _read_idx(image, "image", _IMAGE_MAGIC, 3)
        labels = _read_idx(label, "label", _LABEL_MAGIC, 1)
        if images.shape[0] != labels.shape[0]:
            raise MXNetError("%s: image=%r holds %d images but label=%r holds %d labels"
                             % (where, os.fspath(image), images.shape[0], os.fspath(label),
                                labels.shape[0]))
        start, end = _part(images.shape[0], nparts, pidx)
        # raw bytes are kept; each batch is converted, a quarter of the float32 memory
        self._images = images[start:end]
        self._labels = labels[start:end].astype(np.float32)
        self._index = np.arange(start, end, dtype=np.uint64)
        if self.shuffle:
            perm = np.random.RandomState(seed).permutation(end - start)
            self._images, self._labels = self._images[perm], self._labels[perm]
            self._index = self._index[perm]
        self._images = np.ascontiguousarray(self._images)
        n, rows, cols = self._images.shape
        self._sample_shape = (rows * cols,) if self.flat else (1, rows, cols)
        self._loc = 0
        self._describe((bs,) + self._sample_shape, self._dtype.type, (bs,), np.float32)
        if not silent:
            _log.info("MNISTIter: load %d images, shuffle=%d, shape=%s", n,
                      int(self.shuffle), (bs,) + self._sample_shape)

    @property
    def num_data(self) -> int:
        """The number of images in this part of the file."""
        return self._images.shape[0]

    def _before_first(self) -> None:
        self._loc = 0

    def _fetch(self) -> Optional[tuple]:
        lo, hi = self._loc, self._loc + self.batch_size
        if hi > self._images.shape[0]:
            return None
        self._loc = hi
        data = self._images[lo:hi].astype(np.float32)
        data *= np.float32(1.0 / 256.0)  # exact: a power of two
        data = data.reshape((self.batch_size,) + self._sample_shape)
        if self._dtype != np.float32:
            data = data.astype(self._dtype)
        label = self._labels[lo:hi].copy()
        return wrap_fresh(data, _CPU), wrap_fresh(label, _CPU), 0, self._index[lo:hi].copy()
