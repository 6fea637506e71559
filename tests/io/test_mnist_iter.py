"""``MNISTIter`` on the MNIST subset shipped in ``data/mnist`` (4 000 training and 1 000
test images, gzip IDX): counts, values against the raw bytes (scaled by 1/256 as MXNet),
labels, flat/plain/shuffle/partition variants, and corrupt files."""
from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

import mixnet as mx
from mixnet.io import MNISTIter

ROOT = Path(__file__).resolve().parents[2] / "data" / "mnist"
TRAIN_IMG = ROOT / "train-images-idx3-ubyte.gz"
TRAIN_LBL = ROOT / "train-labels-idx1-ubyte.gz"
TEST_IMG = ROOT / "t10k-images-idx3-ubyte.gz"
TEST_LBL = ROOT / "t10k-labels-idx1-ubyte.gz"


def _raw(path):
    """(pixels uint8 (n, 28, 28), labels uint8 (n,)) parsed with struct, independently."""
    blob = gzip.open(path).read()
    magic, n = struct.unpack(">II", blob[:8])
    if magic == 2051:
        rows, cols = struct.unpack(">II", blob[8:16])
        return np.frombuffer(blob[16:], np.uint8).reshape(n, rows, cols)
    return np.frombuffer(blob[8:], np.uint8)


def _it(**kw):
    kw.setdefault("image", str(TRAIN_IMG))
    kw.setdefault("label", str(TRAIN_LBL))
    kw.setdefault("silent", True)
    return MNISTIter(**kw)


def test_train_subset_counts_values_and_labels():
    pixels, labels = _raw(TRAIN_IMG), _raw(TRAIN_LBL)
    assert pixels.shape == (4000, 28, 28)
    it = _it(batch_size=300, shuffle=False)
    assert it.provide_data[0].shape == (300, 1, 28, 28) and it.provide_data[0].name == "data"
    assert it.provide_label[0].shape == (300,) and it.provide_label[0].name == "softmax_label"
    batches = list(it)
    assert len(batches) == 4000 // 300                  # the incomplete last batch is dropped
    assert all(b.pad == 0 for b in batches)
    data = np.concatenate([b.data[0].asnumpy() for b in batches])
    lab = np.concatenate([b.label[0].asnumpy() for b in batches])
    n = len(batches) * 300
    assert data.dtype == np.float32 and lab.dtype == np.float32
    np.testing.assert_array_equal(data[:, 0], pixels[:n].astype(np.float32) / 256)
    np.testing.assert_array_equal(lab, labels[:n])
    assert data.min() == 0 and data.max() == 255 / 256
    assert set(np.unique(lab)) == set(range(10))


def test_test_subset_flat_and_epochs():
    pixels = _raw(TEST_IMG)
    it = MNISTIter(image=str(TEST_IMG), label=str(TEST_LBL), batch_size=250, flat=True,
                   shuffle=False, silent=True)
    assert it.provide_data[0].shape == (250, 784)
    for _ in range(2):
        batches = list(it)
        assert len(batches) == 4
        np.testing.assert_array_equal(batches[3].data[0].asnumpy(),
                                      pixels[750:].reshape(250, 784) / np.float32(256))
        it.reset()


def test_plain_files_equal_gzip(tmp_path):
    img, lbl = tmp_path / "img-idx3-ubyte", tmp_path / "lbl-idx1-ubyte"
    img.write_bytes(gzip.open(TEST_IMG).read())
    lbl.write_bytes(gzip.open(TEST_LBL).read())
    plain = _it(image=str(img), label=str(lbl), batch_size=500, shuffle=False)
    zipped = _it(image=str(TEST_IMG), label=str(TEST_LBL), batch_size=500, shuffle=False)
    for a, b in zip(plain, zipped):
        np.testing.assert_array_equal(a.data[0].asnumpy(), b.data[0].asnumpy())
        np.testing.assert_array_equal(a.label[0].asnumpy(), b.label[0].asnumpy())


def test_shuffle_is_seeded_and_keeps_pairs():
    pixels, labels = _raw(TEST_IMG), _raw(TEST_LBL)
    a = _it(image=str(TEST_IMG), label=str(TEST_LBL), batch_size=100, seed=7)   # shuffle=True
    b = _it(image=str(TEST_IMG), label=str(TEST_LBL), batch_size=100, seed=7)
    c = _it(image=str(TEST_IMG), label=str(TEST_LBL), batch_size=100, seed=8)
    ba, bb, bc = a.next(), b.next(), c.next()
    np.testing.assert_array_equal(ba.label[0].asnumpy(), bb.label[0].asnumpy())
    assert not np.array_equal(ba.index, bc.index)
    assert not np.array_equal(ba.index, np.arange(100))
    rows = ba.index.astype(np.int64)
    np.testing.assert_array_equal(ba.data[0].asnumpy()[:, 0], pixels[rows] / np.float32(256))
    np.testing.assert_array_equal(ba.label[0].asnumpy(), labels[rows])
    seen = np.concatenate([ba.index] + [x.index for x in a])
    assert sorted(seen.tolist()) == list(range(1000))
    a.reset()   # one shuffle at construction: every epoch has the same order
    np.testing.assert_array_equal(a.next().index, ba.index)


def test_parts_split_contiguously():
    labels = _raw(TEST_LBL)
    parts = [_it(image=str(TEST_IMG), label=str(TEST_LBL), batch_size=1, shuffle=False,
                 num_parts=3, part_index=p) for p in range(3)]
    assert [p.num_data for p in parts] == [333, 333, 334]
    got = np.concatenate([np.concatenate([b.label[0].asnumpy() for b in p]) for p in parts])
    np.testing.assert_array_equal(got, labels)


def test_dtype_cast():
    it = _it(image=str(TEST_IMG), label=str(TEST_LBL), batch_size=10, shuffle=False,
             dtype="float16")
    b = it.next()
    assert b.data[0].dtype == np.float16 and it.provide_data[0].dtype == np.float16
    np.testing.assert_array_equal(b.data[0].asnumpy(),
                                  (_raw(TEST_IMG)[:10, None] / 256).astype(np.float16))


def test_corrupt_and_missing_files(tmp_path):
    blob = gzip.open(TEST_IMG).read()
    bad_magic = tmp_path / "magic"
    bad_magic.write_bytes(struct.pack(">I", 1234) + blob[4:])
    with pytest.raises(mx.MXNetError, match=r"image=.*magic.*magic number 1234, expected 2051"):
        _it(image=str(bad_magic), label=str(TEST_LBL))
    truncated = tmp_path / "truncated"
    truncated.write_bytes(blob[:16 + 28 * 28 * 5 + 3])
    with pytest.raises(mx.MXNetError, match=r"image=.*truncated.*is truncated.*\(1000, 28, 28\)"):
        _it(image=str(truncated), label=str(TEST_LBL))
    tiny = tmp_path / "tiny"
    tiny.write_bytes(blob[:6])
    with pytest.raises(mx.MXNetError, match="tiny.*shorter than its 16-byte header"):
        _it(image=str(tiny), label=str(TEST_LBL))
    cut_gzip = tmp_path / "cut.gz"
    cut_gzip.write_bytes(TEST_IMG.read_bytes()[:500])
    with pytest.raises(mx.MXNetError, match="cut.gz.*corrupt or truncated gzip"):
        _it(image=str(cut_gzip), label=str(TEST_LBL))
    with pytest.raises(mx.MXNetError, match=r"label=.*magic number 2051, expected 2049"):
        _it(image=str(TEST_IMG), label=str(TEST_IMG))
    with pytest.raises(mx.MXNetError, match="holds 1000 images but label=.* holds 4000 labels"):
        _it(image=str(TEST_IMG), label=str(TRAIN_LBL))
    with pytest.raises(mx.MXNetError, match="cannot read image=.*nowhere"):
        _it(image=str(tmp_path / "nowhere"))
    with pytest.raises(mx.MXNetError, match="part_index=2 must be < num_parts=2"):
        _it(num_parts=2, part_index=2)
