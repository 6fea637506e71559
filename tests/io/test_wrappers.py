"""``PrefetchingIter`` (same batches as the wrapped iterators, merging, renaming, reset,
exception propagation, thread shutdown) and ``ResizeIter`` (epoch sizes)."""
from __future__ import annotations

import gc
import threading

import numpy as np
import pytest

import mixnet as mx
from mixnet.io import DataBatch, DataDesc, DataIter, NDArrayIter, PrefetchingIter, ResizeIter


def _labels(batches):
    return [b.label[0].asnumpy().tolist() for b in batches]


def _prefetch_threads():
    return [t for t in threading.enumerate() if t.name.startswith("PrefetchingIter")]


def _nd_iter(n=10, bs=3, **kw):
    data = np.arange(2 * n, dtype=np.float32).reshape(n, 2)
    return NDArrayIter(data, np.arange(n, dtype=np.float32), batch_size=bs, **kw)


def test_prefetching_matches_inner_iterator_across_resets():
    ref = _labels(list(_nd_iter()))
    it = PrefetchingIter(_nd_iter())
    try:
        assert it.provide_data == _nd_iter().provide_data and it.batch_size == 3
        for _ in range(3):
            got = list(it)
            assert _labels(got) == ref
            assert [b.pad for b in got] == [0, 0, 0, 2]
            np.testing.assert_array_equal(got[1].data[0].asnumpy(),
                                          np.arange(6, 12).reshape(3, 2))
            assert next(iter(it), None) is None      # stays exhausted until reset
            it.reset()
        it.next()                                     # a reset mid-epoch starts over
        it.reset()
        assert _labels(list(it)) == ref
    finally:
        it.close()


def test_prefetching_roll_over_sequence_unchanged():
    inner = _nd_iter(10, 4, last_batch_handle="roll_over")
    ref = []
    for _ in range(3):
        ref.append(_labels(list(inner)))
        inner.reset()
    it = PrefetchingIter(_nd_iter(10, 4, last_batch_handle="roll_over"))
    got = []
    for _ in range(3):
        got.append(_labels(list(it)))
        it.reset()
    it.close()
    assert got == ref and ref[1][0] == [8, 9, 0, 1]


def test_prefetching_merges_two_iterators_with_renames():
    a = NDArrayIter(np.arange(8.0).reshape(4, 2), np.arange(4.0), batch_size=2)
    b = NDArrayIter(np.arange(12.0).reshape(4, 3) * -1, np.arange(4.0) + 10, batch_size=2)
    it = PrefetchingIter([a, b], rename_data=[{"data": "left"}, {"data": "right"}],
                         rename_label=[{"softmax_label": "l1"}, {"softmax_label": "l2"}])
    try:
        assert [(d.name, d.shape) for d in it.provide_data] == [("left", (2, 2)),
                                                                ("right", (2, 3))]
        assert [d.name for d in it.provide_label] == ["l1", "l2"]
        for epoch in range(2):
            batches = list(it)
            assert len(batches) == 2
            second = batches[1]
            np.testing.assert_array_equal(second.data[0].asnumpy(), [[4, 5], [6, 7]])
            np.testing.assert_array_equal(second.data[1].asnumpy(),
                                          -np.arange(6, 12).reshape(2, 3))
            np.testing.assert_array_equal(second.label[1].asnumpy(), [12, 13])
            assert second.provide_data[1].name == "right"
            it.reset()
    finally:
        it.close()


class _Failing(DataIter):
    """Two good batches, then an error; after reset it works again."""

    def __init__(self):
        super().__init__(2)
        self.i = 0
        self.provide_data = [DataDesc("data", (2,))]
        self.provide_label = []

    def next(self):
        self.i += 1
        if self.i == 3:
            raise ValueError("broken sample at batch 3")
        if self.i > 4:
            raise StopIteration
        return DataBatch([mx.nd.array([self.i, self.i])], [], pad=0)

    def reset(self):
        self.i = 0


def test_producer_exception_is_raised_in_consumer():
    it = PrefetchingIter(_Failing())
    try:
        assert it.next().data[0].asnumpy()[0] == 1
        assert it.next().data[0].asnumpy()[0] == 2
        with pytest.raises(ValueError, match="broken sample at batch 3"):
            it.next()
        assert it.next().data[0].asnumpy()[0] == 4    # the producer keeps going
        with pytest.raises(StopIteration):
            it.next()
        it.reset()
        assert it.next().data[0].asnumpy()[0] == 1
    finally:
        it.close()


def test_threads_stop_on_close_and_garbage_collection():
    before = len(_prefetch_threads())
    it = PrefetchingIter([_nd_iter(), _nd_iter()])
    assert len(_prefetch_threads()) == before + 2
    it.next()
    it.close()
    it.close()                                         # idempotent
    assert len(_prefetch_threads()) == before
    with pytest.raises(mx.MXNetError, match="after close"):
        it.next()
    it = PrefetchingIter(_nd_iter())
    it.next()
    del it
    gc.collect()
    assert len(_prefetch_threads()) == before


def test_prefetching_bad_input():
    with pytest.raises(mx.MXNetError, match="empty"):
        PrefetchingIter([])
    with pytest.raises(mx.MXNetError, match="one dict per iterator"):
        PrefetchingIter([_nd_iter()], rename_data=[{}, {}])
    short = NDArrayIter(np.zeros((6, 1)), batch_size=3)
    it = PrefetchingIter([_nd_iter(12, 3), short])
    try:
        it.next()
        it.next()
        with pytest.raises(mx.MXNetError, match="different numbers of batches"):
            it.next()
    finally:
        it.close()


# ------------------------------------------------------------------------ ResizeIter
def test_resize_longer_and_shorter_than_inner():
    longer = ResizeIter(_nd_iter(10, 3), 6)           # inner has 4 batches per epoch
    assert longer.provide_data[0].shape == (3, 2) and longer.batch_size == 3
    got = _labels(list(longer))
    assert len(got) == 6
    assert got[4] == [0, 1, 2] and got[5] == [3, 4, 5]  # the inner iterator restarted
    longer.reset()
    assert _labels([longer.next()]) == [[0, 1, 2]]     # reset_internal resets the inner one

    shorter = ResizeIter(_nd_iter(10, 3), 2, reset_internal=False)
    assert _labels(list(shorter)) == [[0, 1, 2], [3, 4, 5]]
    shorter.reset()
    second = list(shorter)
    assert _labels(second) == [[6, 7, 8], [9, 0, 1]]   # continues where it stopped
    assert [b.pad for b in second] == [0, 2]
    assert list(ResizeIter(_nd_iter(), 0)) == []
    with pytest.raises(mx.MXNetError, match="size must be a non-negative integer"):
        ResizeIter(_nd_iter(), -1)


def test_resize_of_an_empty_iterator_fails_clearly():
    empty = NDArrayIter(np.zeros((2, 1)), batch_size=3, last_batch_handle="discard")
    with pytest.raises(mx.MXNetError, match="yields no batch even right after reset"):
        ResizeIter(empty, 2).next()
    import mixnet.io.io as legacy          # MXNet's module path mxnet.io.io
    assert legacy.ResizeIter is ResizeIter and legacy.DataBatch is DataBatch
