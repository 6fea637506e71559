"""``CSVIter`` and ``LibSVMIter`` on files written in ``tmp_path``: values, shapes,
MXNet's ``round_batch`` behaviour over epochs (the examples of MXNet's documentation),
partitions, and bad input."""
from __future__ import annotations

import numpy as np
import pytest

import mixnet as mx
from mixnet.io import CSVIter, LibSVMIter, MXDataIter

ROWS = np.array([[1, 2, 3], [2, 3, 4], [3, 4, 5], [4, 5, 6]], np.float32)


def _write(path, text):
    path.write_text(text)
    return str(path)


@pytest.fixture
def data_csv(tmp_path):
    return _write(tmp_path / "data.csv", "\n".join(",".join("%g" % v for v in r) for r in ROWS)
                  + "\n")


def _epoch(it):
    return [(b.data[0].asnumpy(), b.pad) for b in it]


def test_csv_round_batch_wraps_and_next_epoch_continues(data_csv):
    it = CSVIter(data_csv=data_csv, data_shape=(3,), batch_size=3)
    assert isinstance(it, MXDataIter)
    first = _epoch(it)
    assert [p for _, p in first] == [0, 2]
    np.testing.assert_array_equal(first[0][0], ROWS[[0, 1, 2]])
    np.testing.assert_array_equal(first[1][0], ROWS[[3, 0, 1]])
    it.reset()
    # the two samples used to complete the last batch are not repeated
    second = _epoch(it)
    assert [p for _, p in second] == [1]
    np.testing.assert_array_equal(second[0][0], ROWS[[2, 3, 0]])
    it.reset()
    third = _epoch(it)
    np.testing.assert_array_equal(third[0][0], ROWS[[1, 2, 3]])
    assert [p for _, p in third] == [0]
    it.reset()
    np.testing.assert_array_equal(_epoch(it)[0][0], ROWS[[0, 1, 2]])


def test_csv_even_split_and_labels_default_to_zero(data_csv):
    it = CSVIter(data_csv=data_csv, data_shape=(3,), batch_size=2)
    batches = list(it)
    assert len(batches) == 2 and all(b.pad == 0 for b in batches)
    np.testing.assert_array_equal(batches[1].data[0].asnumpy(), ROWS[2:])
    np.testing.assert_array_equal(batches[1].label[0].asnumpy(), [0, 0])
    assert batches[1].label[0].shape == (2,)
    np.testing.assert_array_equal(batches[1].index, [2, 3])
    assert it.provide_data[0].name == "data" and it.provide_data[0].shape == (2, 3)
    assert it.provide_label[0].name == "softmax_label" and it.provide_label[0].shape == (2,)
    it.reset()
    np.testing.assert_array_equal(it.next().data[0].asnumpy(), ROWS[:2])


def test_csv_without_round_batch_reports_pad_and_restarts(data_csv):
    it = CSVIter(data_csv=data_csv, data_shape=(3,), batch_size=3, round_batch=False)
    for _ in range(2):
        batches = _epoch(it)
        assert [p for _, p in batches] == [0, 2]
        np.testing.assert_array_equal(batches[1][0][0], ROWS[3])
        # the fillers are what the previous batch held there (MXNet's reused buffer)
        np.testing.assert_array_equal(batches[1][0][1:], ROWS[[1, 2]])
        it.reset()
    small = CSVIter(data_csv=data_csv, data_shape=(3,), batch_size=6, round_batch="0")
    (only,) = list(small)
    assert only.pad == 2
    np.testing.assert_array_equal(only.data[0].asnumpy(), np.vstack([ROWS, np.zeros((2, 3))]))


def test_csv_shapes_labels_and_dtype(tmp_path):
    data = np.arange(24, dtype=np.float32).reshape(6, 4) / 4
    labels = np.arange(12, dtype=np.float32).reshape(6, 2)
    dpath = _write(tmp_path / "d.csv", "\n".join(",".join(map(str, r)) for r in data))
    lpath = _write(tmp_path / "l.csv", "\n".join(",".join(map(str, r)) for r in labels))
    it = CSVIter(data_csv=dpath, data_shape="(2, 2)", label_csv=lpath, label_shape=(2,),
                 batch_size="3")
    batches = list(it)
    assert [b.data[0].shape for b in batches] == [(3, 2, 2)] * 2
    np.testing.assert_array_equal(batches[1].data[0].asnumpy(), data[3:].reshape(3, 2, 2))
    np.testing.assert_array_equal(batches[1].label[0].asnumpy(), labels[3:])
    assert it.provide_label[0].shape == (3, 2)
    ints = CSVIter(data_csv=dpath, data_shape=(4,), batch_size=2, dtype="int32")
    b = ints.next()
    assert b.data[0].dtype == np.int32 and ints.provide_data[0].dtype == np.int32
    np.testing.assert_array_equal(b.data[0].asnumpy(), data[:2].astype(np.int32))
    assert ints.getdata().shape == (2, 4)   # MXDataIter: a single array, not a list


def test_csv_bad_input(tmp_path, data_csv):
    with pytest.raises(mx.MXNetError, match=r"3 values.*data_shape=\(4,\) needs 4"):
        CSVIter(data_csv=data_csv, data_shape=(4,))
    with pytest.raises(mx.MXNetError, match="cannot read data_csv=.*missing.csv"):
        CSVIter(data_csv=str(tmp_path / "missing.csv"), data_shape=(3,))
    ragged = _write(tmp_path / "ragged.csv", "1,2,3\n4,5\n")
    with pytest.raises(mx.MXNetError, match="cannot parse data_csv=.*ragged.csv"):
        CSVIter(data_csv=ragged, data_shape=(3,))
    short = _write(tmp_path / "short.csv", "1\n2\n")
    with pytest.raises(mx.MXNetError, match="label_csv=.*short.csv.* 2 rows, fewer than the 4"):
        CSVIter(data_csv=data_csv, data_shape=(3,), label_csv=short)
    with pytest.raises(mx.MXNetError, match="'batch_size' must be >= 1"):
        CSVIter(data_csv=data_csv, data_shape=(3,), batch_size=0)
    with pytest.raises(mx.MXNetError, match="'data_shape' is required"):
        CSVIter(data_csv=data_csv)
    with pytest.raises(mx.MXNetError, match="dtype"):
        CSVIter(data_csv=data_csv, data_shape=(3,), dtype="float16")
    with pytest.raises(mx.MXNetError, match="round_batch"):
        CSVIter(data_csv=data_csv, data_shape=(3,), round_batch="maybe")
    with pytest.raises(mx.MXNetError, match="at least 3 samples"):
        CSVIter(data_csv=_write(tmp_path / "one.csv", "1,2,3\n"), data_shape=(3,),
                batch_size=4).next()
    with pytest.raises(TypeError):
        CSVIter(data_csv, (3,))   # keyword arguments only, as MXNet's backend iterators


# ---------------------------------------------------------------------------- LibSVM
LIBSVM = "1.0 0:0.5 2:1.2\n-2.0\n-3.0 0:0.6 1:2.4 2:1.2\n4 2:-1.2\n"
LIBSVM_DENSE = np.array([[0.5, 0, 1.2], [0, 0, 0], [0.6, 2.4, 1.2], [0, 0, -1.2]], np.float32)
LIBSVM_LABEL = np.array([1, -2, -3, 4], np.float32)


def test_libsvm_csr_batches_and_round_batch(tmp_path):
    path = _write(tmp_path / "data.t", LIBSVM)
    it = LibSVMIter(data_libsvm=path, data_shape=(3,), batch_size=3)
    b1, b2 = list(it)
    assert b1.data[0].stype == "csr" and b1.data[0].shape == (3, 3)
    np.testing.assert_allclose(b1.data[0].asnumpy(), LIBSVM_DENSE[:3])
    np.testing.assert_array_equal(b1.label[0].asnumpy(), LIBSVM_LABEL[:3])
    np.testing.assert_allclose(b2.data[0].asnumpy(), LIBSVM_DENSE[[3, 0, 1]])
    np.testing.assert_array_equal(b2.label[0].asnumpy(), LIBSVM_LABEL[[3, 0, 1]])
    assert (b1.pad, b2.pad) == (0, 2)
    # CSR components, not only the dense view
    np.testing.assert_array_equal(b1.data[0].indptr.asnumpy(), [0, 2, 2, 5])
    np.testing.assert_array_equal(b1.data[0].indices.asnumpy(), [0, 2, 0, 1, 2])
    it.reset()
    (b3,) = list(it)
    np.testing.assert_allclose(b3.data[0].asnumpy(), LIBSVM_DENSE[[2, 3, 0]])
    assert it.provide_data[0].shape == (3, 3) and it.provide_label[0].shape == (3,)


def test_libsvm_label_file_gives_csr_labels(tmp_path):
    path = _write(tmp_path / "data.t", LIBSVM)
    lpath = _write(tmp_path / "label.t", "1.0\n-2.0 0:0.125\n-3.0 2:1.2\n4 1:1.0 2:-1.2\n")
    it = LibSVMIter(data_libsvm=path, data_shape=(3,), label_libsvm=lpath, label_shape=(3,),
                    batch_size=3)
    b1, b2 = list(it)
    assert b1.label[0].stype == "csr" and it.provide_label[0].shape == (3, 3)
    np.testing.assert_allclose(b1.label[0].asnumpy(), [[0, 0, 0], [0.125, 0, 0], [0, 0, 1.2]])
    np.testing.assert_allclose(b2.label[0].asnumpy(), [[0, 1, -1.2], [0, 0, 0], [0.125, 0, 0]])
    with pytest.raises(mx.MXNetError, match=r"label_shape must not be \(1,\)"):
        LibSVMIter(data_libsvm=path, data_shape=(3,), label_libsvm=lpath)
    with pytest.raises(mx.MXNetError, match=r"label_shape must be \(1,\)"):
        LibSVMIter(data_libsvm=path, data_shape=(3,), label_shape=(2,))


def test_libsvm_parts_cover_the_file_once(tmp_path):
    rng = np.random.RandomState(0)
    lines, dense = [], np.zeros((40, 6), np.float32)
    for r in range(40):
        cols = np.sort(rng.choice(6, rng.randint(0, 4), replace=False))
        dense[r, cols] = rng.randint(1, 9, len(cols))
        lines.append(" ".join([str(r)] + ["%d:%g" % (c, dense[r, c]) for c in cols]))
    path = _write(tmp_path / "many.t", "\n".join(lines) + "\n")
    seen = []
    for part in range(3):
        it = LibSVMIter(data_libsvm=path, data_shape=(6,), batch_size=1, num_parts=3,
                        part_index=part)
        for b in it:
            row = int(b.label[0].asnumpy()[0])
            np.testing.assert_array_equal(b.data[0].asnumpy()[0], dense[row])
            seen.append(row)
    assert seen == list(range(40))
    with pytest.raises(mx.MXNetError, match="part_index=3 must be < num_parts=3"):
        LibSVMIter(data_libsvm=path, data_shape=(6,), num_parts=3, part_index=3)


def test_libsvm_directory_and_bad_input(tmp_path):
    folder = tmp_path / "parts"
    folder.mkdir()
    _write(folder / "a.t", "1 0:1\n")
    _write(folder / "b.t", "2 1:2\n3 2:3\n")
    it = LibSVMIter(data_libsvm=str(folder), data_shape=(3,), batch_size=3)
    np.testing.assert_array_equal(it.next().label[0].asnumpy(), [1, 2, 3])
    np.testing.assert_array_equal(it.getdata().asnumpy(), np.diag([1, 2, 3]))
    bad = _write(tmp_path / "bad.t", "1 0:1\n2 5:1\n")
    with pytest.raises(mx.MXNetError, match=r"bad.t.*feature index 5 outside \[0, 3\)"):
        LibSVMIter(data_libsvm=bad, data_shape=(3,))
    junk = _write(tmp_path / "junk.t", "1 0:1 7\n")
    with pytest.raises(mx.MXNetError, match="cannot parse data_libsvm=.*junk.t"):
        LibSVMIter(data_libsvm=junk, data_shape=(3,))
    with pytest.raises(mx.MXNetError, match="data_shape must be 1-D"):
        LibSVMIter(data_libsvm=bad, data_shape=(3, 2))
    with pytest.raises(mx.MXNetError, match="cannot read data_libsvm"):
        LibSVMIter(data_libsvm=str(tmp_path / "nope.t"), data_shape=(3,))
