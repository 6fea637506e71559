"""``mx.io`` protocol classes and ``NDArrayIter``: batch contents against slices of the
input for every ``last_batch_handle`` over several epochs, shuffling, naming, dtypes and
bad input. The expected batches come from small reference models of MXNet 1.9.1's
semantics written here."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

import mixnet as mx
from mixnet.io import DataBatch, DataDesc, DataIter, NDArrayIter


def _dataset(n, width=2):
    data = np.arange(n * width, dtype=np.float32).reshape(n, width) * 10
    label = np.arange(n, dtype=np.float32)   # the label is the sample's original row
    return data, label


def _expected_epochs(n, bs, mode, epochs, orders=None):
    """[(rows, pad)] per epoch; ``orders[e]`` is epoch e's sample order (identity if None)."""
    out, carry = [], []
    for e in range(epochs):
        order = list(range(n)) if orders is None else list(orders[e])
        batches = []
        if mode == "pad":
            for c in range(0, n, bs):
                rows = [order[(c + j) % n] for j in range(bs)]
                batches.append((rows, max(0, c + bs - n)))
        elif mode == "discard":
            for c in range(0, n - bs + 1, bs):
                batches.append((order[c:c + bs], 0))
        else:  # roll_over: the remainder of an epoch opens the next one
            seq = carry + order
            full = len(seq) // bs
            for b in range(full):
                pad = len(carry) if (b == 0 and carry) else 0
                batches.append((seq[b * bs:(b + 1) * bs], pad))
            carry = seq[full * bs:]
        out.append(batches)
    return out


def _run_epochs(it, epochs):
    got = []
    for _ in range(epochs):
        got.append([(b.label[0].asnumpy().astype(int).tolist(), b.pad, b.data[0].asnumpy())
                    for b in it])
        it.reset()
    return got


@pytest.mark.parametrize("mode", ["pad", "discard", "roll_over"])
@pytest.mark.parametrize("n,bs", [(10, 3), (10, 4), (12, 4), (7, 5)])
def test_last_batch_modes_over_epochs(mode, n, bs):
    data, label = _dataset(n)
    it = NDArrayIter(data, label, batch_size=bs, last_batch_handle=mode)
    got = _run_epochs(it, 4)
    want = _expected_epochs(n, bs, mode, 4)
    for e, (g, w) in enumerate(zip(got, want)):
        assert [(rows, pad) for rows, pad, _ in g] == w, "epoch %d" % e
        for rows, _, d in g:
            np.testing.assert_array_equal(d, data[rows])


def test_pad_wraps_several_times_when_batch_exceeds_data():
    data, label = _dataset(3)
    it = NDArrayIter(data, label, batch_size=8, last_batch_handle="pad")
    batches = list(it)
    assert len(batches) == 1 and batches[0].pad == 5
    np.testing.assert_array_equal(batches[0].label[0].asnumpy(), [0, 1, 2, 0, 1, 2, 0, 1])
    np.testing.assert_array_equal(batches[0].data[0].asnumpy(), data[[0, 1, 2, 0, 1, 2, 0, 1]])


def test_roll_over_pad_reports_carried_samples_and_hard_reset_drops_them():
    data, label = _dataset(10)
    it = NDArrayIter(data, label, batch_size=4, last_batch_handle="roll_over")
    assert [b.pad for b in it] == [0, 0]
    it.reset()
    first = it.next()
    # MXNet reports the two rolled-over samples as the first batch's pad
    assert first.pad == 2
    np.testing.assert_array_equal(first.label[0].asnumpy(), [8, 9, 0, 1])
    it.hard_reset()
    np.testing.assert_array_equal(it.next().label[0].asnumpy(), [0, 1, 2, 3])


@pytest.mark.parametrize("mode", ["pad", "discard", "roll_over"])
def test_shuffle_keeps_alignment_and_follows_numpy_global_rng(mode):
    n, bs, epochs = 11, 4, 3
    data, label = _dataset(n)
    np.random.seed(1234)
    it = NDArrayIter(data, label, batch_size=bs, shuffle=True, last_batch_handle=mode)
    got = _run_epochs(it, epochs)
    # MXNet: the running permutation is reshuffled in place and composed with the
    # current order, once at construction and once per reset
    np.random.seed(1234)
    idx, order, orders = np.arange(n), np.arange(n), []
    for _ in range(epochs):
        np.random.shuffle(idx)
        order = order[idx]
        orders.append(order.copy())
    want = _expected_epochs(n, bs, mode, epochs, orders)
    for g, w in zip(got, want):
        assert [(rows, pad) for rows, pad, _ in g] == w
        for rows, _, d in g:
            np.testing.assert_array_equal(d, data[rows])   # data follows its label
    # reproducible, and actually shuffled
    np.random.seed(1234)
    again = _run_epochs(NDArrayIter(data, label, batch_size=bs, shuffle=True,
                                    last_batch_handle=mode), epochs)
    assert [[r for r, _, _ in e] for e in again] == [[r for r, _, _ in e] for e in got]
    assert got[0][0][0] != list(range(bs)) or got[1][0][0] != list(range(bs))


def test_shuffled_epoch_is_a_permutation():
    data, label = _dataset(20)
    it = NDArrayIter(data, label, batch_size=5, shuffle=True)
    for _ in range(3):
        seen = sorted(sum((b.label[0].asnumpy().astype(int).tolist() for b in it), []))
        assert seen == list(range(20))
        it.reset()


def test_list_and_dict_inputs_names_and_provide():
    a = np.ones((6, 2, 3), np.float32)
    b = np.zeros((6, 4), np.int64)
    it = NDArrayIter([a, b], [np.arange(6), np.arange(6) * 2], batch_size=4)
    assert [d.name for d in it.provide_data] == ["_0_data", "_1_data"]
    assert [d.name for d in it.provide_label] == ["_0_softmax_label", "_1_softmax_label"]
    assert [d.shape for d in it.provide_data] == [(4, 2, 3), (4, 4)]
    assert all(d.dtype == np.float32 for d in it.provide_data)  # NumPy -> float32
    batch = it.next()
    assert [x.shape for x in batch.data] == [(4, 2, 3), (4, 4)]
    np.testing.assert_array_equal(batch.label[1].asnumpy(), [0, 2, 4, 6])

    it = NDArrayIter({"zeta": np.arange(5.0), "alpha": np.arange(5.0) * -1},
                     {"lbl": np.arange(5.0)}, batch_size=2, data_name="ignored")
    assert [d.name for d in it.provide_data] == ["alpha", "zeta"]   # sorted keys
    batch = it.next()
    np.testing.assert_array_equal(batch.data[0].asnumpy(), [0, -1])
    np.testing.assert_array_equal(batch.data[1].asnumpy(), [0, 1])
    assert it.provide_label[0].name == "lbl"

    single = NDArrayIter(np.zeros((4, 3)), batch_size=2, data_name="x", label_name="y")
    assert single.provide_data[0].name == "x" and single.provide_label == []
    assert single.next().label == []


def test_ndarray_input_keeps_dtype_and_layout():
    x = mx.nd.array(np.arange(12).reshape(6, 2), dtype=np.float64)
    it = NDArrayIter(x, mx.nd.array(np.arange(6), dtype=np.int32), batch_size=3,
                     layout="NTC")
    assert it.provide_data[0].dtype == np.float64 and it.provide_label[0].dtype == np.int32
    assert it.provide_data[0].layout == "NTC"
    batch = it.next()
    assert batch.data[0].dtype == np.float64 and batch.label[0].dtype == np.int32
    np.testing.assert_array_equal(batch.data[0].asnumpy(), np.arange(6).reshape(3, 2))
    assert it.num_data == 6 and it.batch_size == 3


def test_batches_are_fresh_arrays():
    data, label = _dataset(4)
    it = NDArrayIter(data, label, batch_size=2)
    kept = it.next()
    kept.data[0][:] = -1
    it.reset()
    np.testing.assert_array_equal(it.next().data[0].asnumpy(), data[:2])
    second = it.next()
    assert kept.data[0].asnumpy().min() == -1           # the kept batch is untouched
    np.testing.assert_array_equal(second.data[0].asnumpy(), data[2:])
    np.testing.assert_array_equal(data, _dataset(4)[0])  # the caller's array too


def test_iter_next_getdata_protocol_and_data_property():
    data, label = _dataset(5)
    it = NDArrayIter(data, label, batch_size=2, last_batch_handle="pad")
    pads = []
    while it.iter_next():
        np.testing.assert_array_equal(it.getdata()[0].asnumpy()[:, 0],
                                      data[it.getlabel()[0].asnumpy().astype(int), 0])
        pads.append(it.getpad())
    assert pads == [0, 0, 1] and it.getindex() is None
    np.random.seed(3)
    it = NDArrayIter(data, label, batch_size=2, shuffle=True)
    (name, arr), = it.data
    order = it.label[0][1].asnumpy().astype(int)
    assert name == "data" and sorted(order) == list(range(5))
    np.testing.assert_array_equal(arr.asnumpy(), data[order])
    np.testing.assert_array_equal(it.next().label[0].asnumpy(), order[:2])


def test_csr_input_with_discard():
    dense = np.array([[0, 1, 0], [2, 0, 0], [0, 0, 0], [3, 0, 4], [5, 6, 0]], np.float32)
    csr = mx.nd.sparse.csr_matrix(dense)
    it = NDArrayIter(csr, np.arange(5), batch_size=2, last_batch_handle="discard")
    batches = list(it)
    assert len(batches) == 2
    assert batches[1].data[0].stype == "csr"
    np.testing.assert_array_equal(batches[1].data[0].asnumpy(), dense[2:4])
    np.random.seed(0)
    it = NDArrayIter(csr, np.arange(5), batch_size=2, shuffle=True, last_batch_handle="discard")
    for b in it:
        np.testing.assert_array_equal(b.data[0].asnumpy(),
                                      dense[b.label[0].asnumpy().astype(int)])
    with pytest.raises(NotImplementedError, match="discard"):
        NDArrayIter(csr, batch_size=2)


def test_bad_input():
    with pytest.raises(mx.MXNetError, match=r"same number of samples.*data=\(5, 2\).*"
                                            r"softmax_label=\(4,\)"):
        NDArrayIter(np.zeros((5, 2)), np.zeros(4), batch_size=2)
    with pytest.raises(mx.MXNetError, match="batch_size must be a positive integer, got 0"):
        NDArrayIter(np.zeros((5, 2)), batch_size=0)
    with pytest.raises(mx.MXNetError, match="batch_size"):
        NDArrayIter(np.zeros((5, 2)), batch_size=2.5)
    with pytest.raises(mx.MXNetError, match="unknown last_batch_handle 'keep'"):
        NDArrayIter(np.zeros((5, 2)), last_batch_handle="keep")
    with pytest.raises(mx.MXNetError, match="data is required"):
        NDArrayIter(None)
    with pytest.raises(TypeError, match="must be an NDArray"):
        NDArrayIter("not an array")
    with pytest.raises(mx.MXNetError, match="no samples"):
        NDArrayIter(np.zeros((0, 3)))
    it = NDArrayIter(np.zeros((4, 2)), batch_size=2)
    list(it)
    with pytest.raises(mx.MXNetError, match="reset"):
        it.getdata()


# ----------------------------------------------------------------- protocol classes
def test_data_desc():
    d = DataDesc("data", (2, 3, 4, 5))
    name, shape = d
    assert (name, shape) == ("data", (2, 3, 4, 5)) and d == ("data", (2, 3, 4, 5))
    assert d.dtype == np.float32 and d.layout == "NCHW"
    assert repr(d) == "DataDesc[data,(2, 3, 4, 5),<class 'numpy.float32'>,NCHW]"
    assert DataDesc.get_batch_axis("TNC") == 1 and DataDesc.get_batch_axis(None) == 0
    assert DataDesc.get_batch_axis("CHW") == -1
    lst = DataDesc.get_list([("a", (1, 2)), ("b", (3,))], [("b", np.int32), ("a", np.float16)])
    assert [(x.name, x.shape, x.dtype) for x in lst] == [("a", (1, 2), np.float16),
                                                         ("b", (3,), np.int32)]
    assert all(x.dtype == np.float32 for x in DataDesc.get_list([("a", (1,))], None))
    with pytest.raises(mx.MXNetError, match="no dtype"):
        DataDesc.get_list([("a", (1,))], [("b", np.int32)])
    back = pickle.loads(pickle.dumps(DataDesc("x", (4,), np.int64, "NT")))
    assert (back.name, back.shape, back.dtype, back.layout) == ("x", (4,), np.int64, "NT")


def test_data_batch_str_and_checks():
    b = DataBatch([mx.nd.zeros((2, 3))], [mx.nd.zeros((2,))], pad=1)
    assert str(b) == "DataBatch: data shapes: [(2, 3)] label shapes: [(2,)]"
    assert repr(DataBatch([mx.nd.zeros((1,))])) == \
        "DataBatch: data shapes: [(1,)] label shapes: None"
    assert b.pad == 1 and b.index is None and b.bucket_key is None
    with pytest.raises(TypeError, match="list of NDArrays"):
        DataBatch(mx.nd.zeros((2,)))


def test_data_iter_base_protocol():
    class Counter(DataIter):
        def __init__(self):
            super().__init__(batch_size=2)
            self.i = 0
            self.provide_data = [DataDesc("data", (2,))]   # plain attribute, as in MXNet

        def iter_next(self):
            self.i += 1
            return self.i <= 3

        def getdata(self):
            return [mx.nd.array([self.i, self.i])]

        def getlabel(self):
            return None

        def getpad(self):
            return 0

        def reset(self):
            self.i = 0

    it = Counter()
    assert iter(it) is it and it.provide_data[0].name == "data"
    assert [b.data[0].asnumpy()[0] for b in it] == [1, 2, 3]
    it.reset()
    assert next(it).data[0].asnumpy()[0] == 1
    assert not hasattr(it, "provide_label")
    with pytest.raises(NotImplementedError):
        DataIter().next()
