"""Imperative demo: fit a linear model with NDArray ops, checkpoint it, reload it.

Runs on the bundled engine and operators only (autograd and Module arrive later, when this
becomes MNIST training). Gradients are written out by hand:  for y_hat = X w + b and the
mean squared error L, dL/dw = 2/N X^T (y_hat - y), dL/db = 2/N sum(y_hat - y).
"""
import os
import tempfile
import time

import numpy as np

import mixnet as mx


def main() -> None:
    mx.random.seed(42)
    n, d = 512, 8
    true_w = mx.nd.arange(1, d + 1).reshape((d, 1)) / d
    X = mx.nd.random.normal(0, 1, shape=(n, d))
    y = mx.nd.dot(X, true_w) + 0.5 + mx.nd.random.normal(0, 0.01, shape=(n, 1))

    w = mx.nd.zeros((d, 1))
    b = mx.nd.zeros((1,))
    lr = 0.1
    start = time.time()
    for epoch in range(1, 61):
        err = mx.nd.dot(X, w) + b - y
        w -= lr * 2.0 / n * mx.nd.dot(X, err, transpose_a=True)
        b -= lr * 2.0 / n * err.sum()
        if epoch % 10 == 0:
            mse = (err ** 2).mean().asscalar()
            print("epoch %2d  mse %.6f" % (epoch, mse))
    print("trained in %.2fs on %s with %s" % (time.time() - start, mx.cpu(),
                                              mx.engine.engine_type()))

    path = os.path.join(tempfile.mkdtemp(), "linear-0001.params")
    mx.nd.save(path, {"arg:w": w, "arg:b": b})
    loaded = mx.nd.load(path)
    assert np.array_equal(loaded["arg:w"].asnumpy(), w.asnumpy())
    pred = mx.nd.dot(X[:4], loaded["arg:w"]) + loaded["arg:b"]
    print("saved %s (%d bytes), reloaded; predictions %s vs targets %s"
          % (os.path.basename(path), os.path.getsize(path),
             np.round(pred.asnumpy().ravel(), 3), np.round(y[:4].asnumpy().ravel(), 3)))
    print("max |w - true_w| = %.4f" % mx.nd.abs(loaded["arg:w"] - true_w).max().asscalar())


if __name__ == "__main__":
    main()
