"""``mx.nd.cast_storage`` / ``mx.nd.sparse.cast_storage``: dense <-> csr <-> row_sparse
with the containers of ``mixnet.ndarray.sparse``, the dense path through the registered
``cast_storage`` op (autograd records it with an identity gradient), and bad input."""
from __future__ import annotations

import numpy as np
import pytest

import mixnet as mx
from mixnet.ndarray.sparse import CSRNDArray, RowSparseNDArray

DENSE = np.array([[0.0, 1.5, 0.0, 0.0],
                  [0.0, 0.0, 0.0, 0.0],
                  [2.0, 0.0, -3.0, 0.0]], dtype=np.float32)


def test_dense_to_csr_components():
    c = mx.nd.cast_storage(mx.nd.array(DENSE), "csr")
    assert isinstance(c, CSRNDArray) and c.stype == "csr"
    assert c.shape == (3, 4) and c.dtype == np.float32
    np.testing.assert_array_equal(c.data.asnumpy(), [1.5, 2.0, -3.0])
    np.testing.assert_array_equal(c.indices.asnumpy(), [1, 0, 2])
    np.testing.assert_array_equal(c.indptr.asnumpy(), [0, 1, 1, 3])
    np.testing.assert_array_equal(c.asnumpy(), DENSE)


def test_dense_to_row_sparse_components():
    x = np.zeros((4, 2, 2), np.float64)
    x[1, 0, 1] = 5.0
    x[3] = 1.0
    r = mx.nd.cast_storage(mx.nd.array(x, dtype=np.float64), stype="row_sparse")
    assert isinstance(r, RowSparseNDArray) and r.dtype == np.float64
    np.testing.assert_array_equal(r.indices.asnumpy(), [1, 3])
    np.testing.assert_array_equal(r.data.asnumpy(), x[[1, 3]])
    np.testing.assert_array_equal(r.asnumpy(), x)


@pytest.mark.parametrize("src", ["default", "csr", "row_sparse"])
@pytest.mark.parametrize("dst", ["default", "csr", "row_sparse"])
def test_every_conversion_round_trips(src, dst):
    a = mx.nd.cast_storage(mx.nd.array(DENSE), src)
    b = mx.nd.cast_storage(a, dst)
    assert b.stype == dst
    assert b is not a  # always a new array, also for an unchanged stype
    np.testing.assert_array_equal(b.asnumpy(), DENSE)
    if src == dst and src != "default":
        # a copy: changing the result leaves the source alone
        b.data[:] = 7
        np.testing.assert_array_equal(a.asnumpy(), DENSE)


def test_same_function_in_nd_and_nd_sparse():
    assert mx.nd.cast_storage is mx.nd.sparse.cast_storage


def test_dense_path_is_differentiable_and_takes_out():
    x = mx.nd.array(DENSE)
    x.attach_grad()
    with mx.autograd.record():
        y = mx.nd.cast_storage(x, "default") * 3
    y.backward()
    np.testing.assert_array_equal(x.grad.asnumpy(), np.full(DENSE.shape, 3.0))
    out = mx.nd.zeros(DENSE.shape)
    assert mx.nd.cast_storage(x, "default", out=out) is out
    np.testing.assert_array_equal(out.asnumpy(), DENSE)
    c = mx.nd.cast_storage(x, "csr")
    assert mx.nd.cast_storage(c, "default", out=out) is out


def test_bad_input():
    with pytest.raises(mx.MXNetError, match="cast_storage.*stype"):
        mx.nd.cast_storage(mx.nd.array(DENSE), "dense")
    with pytest.raises(mx.MXNetError, match="cast_storage.*2-D"):
        mx.nd.cast_storage(mx.nd.ones((2, 2, 2)), "csr")
    r = mx.nd.cast_storage(mx.nd.ones((2, 2, 2)), "row_sparse")
    with pytest.raises(mx.MXNetError, match="cast_storage.*2-D"):
        mx.nd.cast_storage(r, "csr")
    with pytest.raises(mx.MXNetError, match="cast_storage.*dense results"):
        mx.nd.cast_storage(mx.nd.array(DENSE), "csr", out=mx.nd.zeros(DENSE.shape))
    with pytest.raises(mx.MXNetError, match="cast_storage expects"):
        mx.nd.cast_storage(DENSE, "csr")
