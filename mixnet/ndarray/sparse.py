"""``mx.nd.sparse`` basics: ``CSRNDArray`` and ``RowSparseNDArray`` containers.

They hold their components (``data``, ``indices``, ``indptr``) as dense NDArrays, convert
to and from dense storage, and save/load in MXNet's format. Sparse kernels (sparse
``dot``, ``retain``) come with the sparse issue; ``tostype('default')`` is always exact.

``cast_storage`` lives here rather than as a generated op function: op records write
preallocated dense buffers, so the dispatcher cannot hand back a sparse container. The
registered ``cast_storage`` op (the dense path: a checked copy, identity gradient) runs
for dense-to-dense casts, so those are recorded by autograd like any op.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..base import MXNetError, normalize_dtype
from ..context import Context, current_context
from .ndarray import NDArray, array

__all__ = ["BaseSparseNDArray", "CSRNDArray", "RowSparseNDArray", "csr_matrix",
           "row_sparse_array", "from_dense", "cast_storage"]


class BaseSparseNDArray:
    """Common part of the sparse containers: logical ``shape``, ``dtype``, ``context``."""

    stype = "undefined"

    def __init__(self, shape: tuple, data: NDArray, aux: dict):
        self._shape = tuple(int(d) for d in shape)
        self.data = data
        for k, v in aux.items():
            setattr(self, k, v)

    @property
    def shape(self) -> tuple:
        return self._shape

    @property
    def ndim(self) -> int:
        return len(self._shape)

    @property
    def size(self) -> int:
        return int(np.prod(self._shape))

    @property
    def dtype(self) -> Any:
        return self.data.dtype

    @property
    def context(self) -> Context:
        return self.data.context

    ctx = context

    def asnumpy(self) -> np.ndarray:
        """The dense contents as a NumPy array."""
        return self._dense_numpy()

    def tostype(self, stype: str) -> Any:
        """``'default'`` gives the dense NDArray; the own stype gives ``self``."""
        if stype == self.stype:
            return self
        dense = array(self._dense_numpy(), ctx=self.context, dtype=self.data._data.dtype)
        return dense if stype == "default" else from_dense(dense, stype)

    def wait_to_read(self) -> None:
        self.data.wait_to_read()

    def __repr__(self) -> str:
        return "\n<%s %s @%s>" % (type(self).__name__, "x".join(map(str, self.shape)),
                                  self.context)

    def _dense_numpy(self) -> np.ndarray:
        raise NotImplementedError


class CSRNDArray(BaseSparseNDArray):
    """A 2-D compressed-sparse-row array: ``data``, column ``indices`` and row ``indptr``."""

    stype = "csr"

    def _dense_numpy(self) -> np.ndarray:
        data, indices, indptr = self.data.asnumpy(), self.indices.asnumpy(), self.indptr.asnumpy()
        out = np.zeros(self.shape, dtype=data.dtype)
        rows = np.repeat(np.arange(self.shape[0]), np.diff(indptr).astype(np.int64))
        out[rows, indices.astype(np.int64)] = data
        return out


class RowSparseNDArray(BaseSparseNDArray):
    """Rows ``indices`` of a dense array stored as ``data`` (all other rows are zero)."""

    stype = "row_sparse"

    def _dense_numpy(self) -> np.ndarray:
        data, indices = self.data.asnumpy(), self.indices.asnumpy()
        out = np.zeros(self.shape, dtype=data.dtype)
        out[indices.astype(np.int64)] = data
        return out


def _nd(a: Any, ctx: Context, dtype: Any) -> NDArray:
    return a.as_in_context(ctx) if isinstance(a, NDArray) else array(a, ctx=ctx, dtype=dtype)


def csr_matrix(arg1: Any, shape: Optional[tuple] = None, ctx: Optional[Context] = None,
               dtype: Any = None) -> CSRNDArray:
    """``mx.nd.sparse.csr_matrix((data, indices, indptr), shape, ctx, dtype)`` or from a
    dense 2-D array."""
    ctx = ctx or current_context()
    if isinstance(arg1, tuple) and len(arg1) == 3:
        data, indices, indptr = arg1
        dt = normalize_dtype(dtype if dtype is not None else getattr(data, "dtype", None))
        if shape is None:
            raise MXNetError("csr_matrix: shape is required with (data, indices, indptr)")
        d = _nd(data, ctx, dt)
        ind = _nd(indices, ctx, getattr(indices, "dtype", np.int64))
        ptr = _nd(indptr, ctx, getattr(indptr, "dtype", np.int64))
        if len(shape) != 2 or ptr.shape[0] != shape[0] + 1 or ind.shape != d.shape:
            raise MXNetError("csr_matrix: inconsistent components: data %s, indices %s, "
                             "indptr %s for shape %s" % (d.shape, ind.shape, ptr.shape, shape))
        return CSRNDArray(shape, d, {"indices": ind, "indptr": ptr})
    dense = arg1.asnumpy() if isinstance(arg1, NDArray) else np.asarray(arg1)
    return from_dense(array(dense, ctx=ctx, dtype=dtype), "csr")


def row_sparse_array(arg1: Any, shape: Optional[tuple] = None, ctx: Optional[Context] = None,
                     dtype: Any = None) -> RowSparseNDArray:
    """``mx.nd.sparse.row_sparse_array((data, indices), shape, ctx, dtype)`` or from dense."""
    ctx = ctx or current_context()
    if isinstance(arg1, tuple) and len(arg1) == 2:
        data, indices = arg1
        dt = normalize_dtype(dtype if dtype is not None else getattr(data, "dtype", None))
        if shape is None:
            raise MXNetError("row_sparse_array: shape is required with (data, indices)")
        d = _nd(data, ctx, dt)
        ind = _nd(indices, ctx, getattr(indices, "dtype", np.int64))
        if d.shape[1:] != tuple(shape[1:]) or ind.shape != d.shape[:1]:
            raise MXNetError("row_sparse_array: inconsistent components: data %s, indices %s "
                             "for shape %s" % (d.shape, ind.shape, shape))
        return RowSparseNDArray(shape, d, {"indices": ind})
    dense = arg1.asnumpy() if isinstance(arg1, NDArray) else np.asarray(arg1)
    return from_dense(array(dense, ctx=ctx, dtype=dtype), "row_sparse")


def from_dense(x: NDArray, stype: str) -> Any:
    """Convert a dense NDArray to ``'csr'`` or ``'row_sparse'`` storage."""
    a = x.asnumpy()
    ctx, dt = x.context, a.dtype
    if stype == "csr":
        if a.ndim != 2:
            raise MXNetError("csr storage needs a 2-D array, got shape %s" % (a.shape,))
        rows, cols = np.nonzero(a)
        indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=a.shape[0]))])
        return CSRNDArray(a.shape, array(a[rows, cols], ctx=ctx, dtype=dt),
                          {"indices": array(cols, ctx=ctx, dtype=np.int64),
                           "indptr": array(indptr, ctx=ctx, dtype=np.int64)})
    if stype == "row_sparse":
        nz = np.nonzero(a.reshape(a.shape[0], -1).any(axis=1))[0] if a.ndim else np.array([])
        return RowSparseNDArray(a.shape, array(a[nz], ctx=ctx, dtype=dt),
                                {"indices": array(nz, ctx=ctx, dtype=np.int64)})
    if stype == "default":
        return x
    raise MXNetError("unknown storage type %r (expected default, csr or row_sparse)" % (stype,))


_AUX = {"csr": ("indices", "indptr"), "row_sparse": ("indices",)}


def _copy_sparse(x: BaseSparseNDArray) -> BaseSparseNDArray:
    return type(x)(x.shape, x.data.copy(), {k: getattr(x, k).copy() for k in _AUX[x.stype]})


def cast_storage(data: Any, stype: str, out: Any = None, name: Any = None) -> Any:
    """``mx.nd.cast_storage(data, stype)``: ``data`` (dense NDArray or sparse container) in
    storage ``stype`` ('default', 'row_sparse' or 'csr'; csr needs a 2-D array). The result
    is always a new array, as in MXNet, even when the storage type does not change;
    ``out=`` takes dense results only."""
    from ..operator import registry
    from .dispatch import invoke
    op = registry.get("cast_storage")
    p = op.parse_params({"stype": stype})  # validates stype, naming the op
    if isinstance(data, BaseSparseNDArray):
        op.infer(p, [data.shape], [data.dtype])  # csr needs 2-D: the op's check
        res = _copy_sparse(data) if stype == data.stype else data.tostype(stype)
    elif isinstance(data, NDArray):
        # dense input: the op checks that the shape fits stype, copies, and is recorded
        # by autograd (identity gradient)
        if stype == "default":
            return invoke(op, [data], p, out)
        res = from_dense(invoke(op, [data], p), stype)
    else:
        raise MXNetError("cast_storage expects an NDArray or a sparse array, got %s"
                         % type(data).__name__)
    if out is None:
        return res
    if not isinstance(res, NDArray):
        raise MXNetError("cast_storage: out= takes dense results only (stype='default')")
    res.copyto(out)
    return out
