"""Train a small MLP with the legacy ``mx.model.FeedForward`` API on NumPy arrays (the
bundled MNIST subset), then save, reload and score it.

    python examples/mlp_feedforward.py
"""
import gzip
import logging
import os
import tempfile

import numpy as np

import mixnet as mx

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "data", "mnist")


def read_idx(name):
    """Read one gzip-compressed IDX file into a NumPy array."""
    with gzip.open(os.path.join(DATA, name), "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = np.frombuffer(raw, dtype=">u4", count=ndim, offset=4)
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(tuple(dims))


def main():
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    np.random.seed(0)
    mx.random.seed(0)
    x_train = read_idx("train-images-idx3-ubyte.gz").reshape(-1, 784).astype(np.float32) / 255
    y_train = read_idx("train-labels-idx1-ubyte.gz").astype(np.float32)
    x_val = read_idx("t10k-images-idx3-ubyte.gz").reshape(-1, 784).astype(np.float32) / 255
    y_val = read_idx("t10k-labels-idx1-ubyte.gz").astype(np.float32)

    data = mx.sym.Variable("data")
    net = mx.sym.FullyConnected(data, num_hidden=128, name="fc1")
    net = mx.sym.Activation(net, act_type="relu", name="relu1")
    net = mx.sym.FullyConnected(net, num_hidden=64, name="fc2")
    net = mx.sym.Activation(net, act_type="relu", name="relu2")
    net = mx.sym.FullyConnected(net, num_hidden=10, name="fc3")
    net = mx.sym.SoftmaxOutput(net, name="softmax")

    model = mx.model.FeedForward.create(
        net, X=x_train, y=y_train, eval_data=(x_val, y_val), num_epoch=10,
        numpy_batch_size=100, learning_rate=0.1, momentum=0.9, wd=1e-4,
        initializer=mx.init.Xavier(),
        batch_end_callback=mx.callback.Speedometer(100, 20))
    with tempfile.TemporaryDirectory() as tmp:
        prefix = os.path.join(tmp, "mlp")
        model.save(prefix)
        loaded = mx.model.FeedForward.load(prefix, 10)
        acc = loaded.score(mx.io.NDArrayIter(x_val, y_val, batch_size=100))
        pred = loaded.predict(x_val)
    print("reloaded MLP: validation accuracy %.4f (predict agrees on %.4f)"
          % (acc, float((pred.argmax(axis=1) == y_val).mean())))


if __name__ == "__main__":
    main()
