"""``Embedding``: lookup against NumPy, index truncation/clipping, the scatter-add weight
gradient, shape/dtype inference and bad inputs."""
from __future__ import annotations

import numpy as np
import pytest

import mixnet as mx
from mixnet import autograd
from mixnet.operator import get
from mixnet.test_utils import check_op


def _emb_ref(data, weight, input_dim, output_dim, dtype="float32", sparse_grad=False):
    idx = np.clip(np.trunc(data), 0, input_dim - 1).astype(np.int64)
    return weight[idx]


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("sparse_grad", [False, True])
def test_embedding(dtype, sparse_grad):
    data = np.array([[3, 6, 5, 4.7], [0, 2, 2, 6]], np.float32)
    weight = np.random.standard_normal((7, 3)).astype(dtype)
    params = {"input_dim": 7, "output_dim": 3, "dtype": dtype, "sparse_grad": sparse_grad}
    check_op("Embedding", [data, weight], params, reference=_emb_ref, grad=[1],
             bad_inputs=[([data, weight[:6]], params),
                         ([data, weight], dict(params, output_dim=4)),
                         ([data.astype(bool), weight], params),
                         ([data], params), ([data, weight], {"input_dim": 7})])


def test_embedding_indices_truncated_and_clipped():
    weight = np.arange(12, dtype=np.float32).reshape(4, 3)
    data = np.array([-3.0, -0.5, 0.9, 1.99, 3.0, 3.5, 100.0, np.nan], np.float32)
    got = mx.nd.Embedding(mx.nd.array(data), mx.nd.array(weight), input_dim=4,
                          output_dim=3).asnumpy()
    np.testing.assert_array_equal(got, weight[[0, 0, 0, 1, 3, 3, 3, 0]])
    ints = np.array([[2, 9], [-1, 1]], np.int32)
    got = mx.nd.Embedding(mx.nd.array(ints, dtype=np.int32), mx.nd.array(weight), input_dim=4,
                          output_dim=3)
    assert got.shape == (2, 2, 3)
    np.testing.assert_array_equal(got.asnumpy(), weight[[[2, 3], [0, 1]]])


def test_embedding_gradient_scatter_adds_rows():
    weight = mx.nd.array(np.random.standard_normal((5, 2)))
    weight.attach_grad()
    data = mx.nd.array([[1, 3, 1], [4, 1, 7]])  # 7 clips to row 4
    head = np.random.standard_normal((2, 3, 2)).astype(np.float32)
    with autograd.record():
        out = mx.nd.Embedding(data, weight, input_dim=5, output_dim=2, sparse_grad=True)
    out.backward(mx.nd.array(head))
    want = np.zeros((5, 2), np.float32)
    for (i, j), r in np.ndenumerate(np.array([[1, 3, 1], [4, 1, 4]])):
        want[r] += head[i, j]
    np.testing.assert_allclose(weight.grad.asnumpy(), want, rtol=1e-6)


def test_embedding_inference():
    op = get("Embedding")
    p = op.parse_params({"input_dim": "10", "output_dim": "4", "dtype": "float16"})
    ins, outs = op.infer_shape(p, [(2, 3), None])
    assert ins[1] == (10, 4) and outs == [(2, 3, 4)]
    itypes, otypes = op.infer_type(p, [None, None])
    assert np.dtype(itypes[1]) == np.float16 and np.dtype(otypes[0]) == np.float16
    assert op.parse_params({"input_dim": 3, "output_dim": 2}).dtype == np.float32
