"""``mx.nd.save`` / ``mx.nd.load`` / ``load_frombuffer``: MXNet's binary array files,
byte-compatible with MXNet 1.9.1 (the byte layout lives in :mod:`.codec`)."""
from __future__ import annotations

import os
from typing import Any, Union

import numpy as np

from .. import backend
from ..base import MXNetError
from ..context import Context, cpu, num_gpus
from ..fileutil import atomic_write
from ..util import is_np_shape
from . import codec
from .chunk import Chunk
from .ndarray import NDArray

__all__ = ["save", "load", "load_frombuffer", "to_record_bytes", "from_record_bytes"]

_STYPES = {"default": codec.STYPE_DEFAULT, "row_sparse": codec.STYPE_ROW_SPARSE,
           "csr": codec.STYPE_CSR}


def _to_record(x: Any) -> codec.Record:
    from .sparse import BaseSparseNDArray
    if not isinstance(x, (NDArray, BaseSparseNDArray)):
        raise MXNetError("save: expected NDArray, got %s" % type(x).__name__)
    ctx = x.context
    if isinstance(x, BaseSparseNDArray):
        aux = [x.indices.asnumpy()] if x.stype == "row_sparse" else \
            [x.indptr.asnumpy(), x.indices.asnumpy()]
        return codec.Record(stype=_STYPES[x.stype], shape=tuple(x.shape),
                            dtype=np.dtype(x.data.dtype), data=x.data.asnumpy(), aux=aux,
                            dev_type=ctx.device_typeid, dev_id=ctx.device_id)
    return codec.Record(stype=codec.STYPE_DEFAULT, shape=tuple(x.shape),
                        dtype=x._data.dtype, data=x.asnumpy(), aux=[],
                        dev_type=ctx.device_typeid, dev_id=ctx.device_id)


def _restore_context(rec: codec.Record) -> Context:
    # MXNet restores GPU arrays onto their GPU when one exists, everything else to cpu(0)
    if rec.dev_type == 2 and rec.dev_id < num_gpus():
        return Context("gpu", rec.dev_id)
    return cpu(0)


def _from_record(rec: codec.Record) -> Any:
    if rec.shape is None:
        return None
    ctx = _restore_context(rec)
    if rec.stype == codec.STYPE_DEFAULT:
        return NDArray(Chunk(backend.from_host(rec.data, ctx)), ctx)
    from . import sparse
    if rec.stype == codec.STYPE_ROW_SPARSE:
        return sparse.row_sparse_array((rec.data, rec.aux[0]), shape=rec.shape, ctx=ctx,
                                       dtype=rec.dtype)
    return sparse.csr_matrix((rec.data, rec.aux[1], rec.aux[0]), shape=rec.shape, ctx=ctx,
                             dtype=rec.dtype)


def save(fname: Union[str, os.PathLike], data: Any) -> None:
    """``mx.nd.save(fname, data)``: write an NDArray, a list of NDArrays or a ``str ->
    NDArray`` dict in MXNet's format (V2 records; V3 under ``mx.util.np_shape(True)``).
    The file is written to a temporary name and renamed, so it is never half-written."""
    if isinstance(data, dict):
        names = list(data.keys())
        for k in names:
            if not isinstance(k, str):
                raise MXNetError("save: dict keys must be str, got %s" % type(k).__name__)
        arrays = [data[k] for k in names]
    elif isinstance(data, (list, tuple)):
        names, arrays = None, list(data)
    else:
        names, arrays = None, [data]
    records = [_to_record(a) for a in arrays]
    atomic_write(fname, codec.encode_list(records, names, np_shape=is_np_shape()))


def load_frombuffer(buf: Any) -> Any:
    """``mx.nd.load_frombuffer(buf)``: decode bytes in MXNet's format into a list, or a
    dict when the file holds names. A record of an array without storage loads as None."""
    return _decode(buf, "<buffer>")


def load(fname: Union[str, os.PathLike]) -> Any:
    """``mx.nd.load(fname)``: read a file written by ``mx.nd.save`` or MXNet (``.params``),
    returning a list or a ``str -> NDArray`` dict. Corrupt or truncated files raise
    ``MXNetError`` naming the file and what was wrong."""
    if not isinstance(fname, (str, os.PathLike)):
        raise MXNetError("load: fname must be a path, got %s" % type(fname).__name__)
    with open(fname, "rb") as f:
        buf = f.read()
    return _decode(buf, os.fspath(fname))


def _decode(buf: Any, source: str) -> Any:
    records, names = codec.decode_list(buf, source)
    arrays = [_from_record(r) for r in records]
    if names:
        return dict(zip(names, arrays))
    return arrays


def to_record_bytes(x: Any) -> bytes:
    """One array as a single V2 record (what ``NDArray.__getstate__`` holds)."""
    return codec.encode_record(_to_record(x), np_shape=x.ndim == 0)


def from_record_bytes(buf: bytes) -> Any:
    """Inverse of :func:`to_record_bytes`."""
    arr = _from_record(codec.decode_record(buf, "<pickle>"))
    if arr is None:
        raise MXNetError("cannot unpickle an NDArray without storage")
    return arr
