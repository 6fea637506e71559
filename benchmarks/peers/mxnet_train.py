"""Training throughput of real Apache MXNet 1.9.1 (the peer mixnet is measured against).

Runs under the MXNet venv (see ``benchmarks/peers/README.md``), never the main one::

    /work/venvs/mxnet/bin/python benchmarks/peers/mxnet_train.py [--models mlp lenet]

Models, as in the issue: ``mlp`` 784-512-512-10 with ReLU, batch 128; ``lenet`` the classic
tanh LeNet (conv 5x5x20, tanh, max-pool 2, conv 5x5x50, tanh, max-pool 2, FC 500, tanh,
FC 10) on 1x28x28, batch 64. Both end in ``SoftmaxOutput`` and train through
``mx.mod.Module`` (bind, Xavier init, SGD lr 0.1 momentum 0.9, kvstore 'local'; per batch
``forward_backward`` + ``update``, no metric) on random data from a fixed seed.

Timing: warm-up, then ``--windows`` (5) timed windows of a fixed step count chosen from the
warm-up so each lasts at least ``--min-window-s`` (2 s); MXNet runs asynchronously, so
each window ends with ``mx.nd.waitall()``. One JSON line per model on stdout, e.g.
``{"framework": "mxnet", "model": "mlp", "samples_per_s": <median>, ...}``. Thread counts
are left at the library defaults (OpenMP: all cores unless ``OMP_NUM_THREADS`` is set; the
pip build's oneDNN/MKLDNN kernels on unless ``MXNET_MKLDNN_ENABLED=0``); the line reports
what was in effect.
"""
import argparse
import json
import math
import os
import statistics
import time

import numpy as np
import mxnet as mx

NUM_CLASSES = 10


def mlp_symbol():
    """784-512-512-10 MLP with ReLU (MXNet example ``symbols/mlp.py`` names)."""
    data = mx.sym.Variable("data")
    body = mx.sym.FullyConnected(data, num_hidden=512, name="fc1")
    body = mx.sym.Activation(body, act_type="relu", name="relu1")
    body = mx.sym.FullyConnected(body, num_hidden=512, name="fc2")
    body = mx.sym.Activation(body, act_type="relu", name="relu2")
    body = mx.sym.FullyConnected(body, num_hidden=NUM_CLASSES, name="fc3")
    return mx.sym.SoftmaxOutput(body, name="softmax")


def lenet_symbol():
    """Classic tanh LeNet (MXNet example ``symbols/lenet.py`` layout)."""
    data = mx.sym.Variable("data")
    body = mx.sym.Convolution(data, kernel=(5, 5), num_filter=20, name="conv1")
    body = mx.sym.Activation(body, act_type="tanh", name="tanh1")
    body = mx.sym.Pooling(body, pool_type="max", kernel=(2, 2), stride=(2, 2), name="pool1")
    body = mx.sym.Convolution(body, kernel=(5, 5), num_filter=50, name="conv2")
    body = mx.sym.Activation(body, act_type="tanh", name="tanh2")
    body = mx.sym.Pooling(body, pool_type="max", kernel=(2, 2), stride=(2, 2), name="pool2")
    body = mx.sym.Flatten(body, name="flatten")
    body = mx.sym.FullyConnected(body, num_hidden=500, name="fc1")
    body = mx.sym.Activation(body, act_type="tanh", name="tanh3")
    body = mx.sym.FullyConnected(body, num_hidden=NUM_CLASSES, name="fc2")
    return mx.sym.SoftmaxOutput(body, name="softmax")


MODELS = {"mlp": (mlp_symbol, (784,), 128), "lenet": (lenet_symbol, (1, 28, 28), 64)}


def _mkldnn_on():
    try:
        feats = mx.runtime.Features()
        built = feats.is_enabled("MKLDNN")
    except Exception:  # older builds without the feature table
        built = False
    return built and os.environ.get("MXNET_MKLDNN_ENABLED", "1") != "0"


def bench(model, windows, min_window_s, warmup_s, seed=0):
    build, feat_shape, batch_size = MODELS[model]
    rng = np.random.RandomState(seed)
    # a few distinct batches, cycled: fresh data each step without measuring data making
    batches = [mx.io.DataBatch(
        data=[mx.nd.array(rng.normal(0, 1, (batch_size,) + feat_shape).astype(np.float32))],
        label=[mx.nd.array(rng.randint(0, NUM_CLASSES, batch_size).astype(np.float32))])
        for _ in range(4)]
    mod = mx.mod.Module(build(), data_names=("data",), label_names=("softmax_label",),
                        context=mx.cpu())
    mod.bind(data_shapes=[("data", (batch_size,) + feat_shape)],
             label_shapes=[("softmax_label", (batch_size,))])
    mx.random.seed(seed)
    mod.init_params(mx.init.Xavier())
    mod.init_optimizer(kvstore="local", optimizer="sgd",
                       optimizer_params={"learning_rate": 0.1, "momentum": 0.9})

    def run(steps, start):
        for k in range(steps):
            mod.forward_backward(batches[(start + k) % len(batches)])
            mod.update()
        mx.nd.waitall()

    run(3, 0)  # first steps allocate / pick kernels; keep them out of the calibration
    steps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < warmup_s:
        run(5, steps)
        steps += 5
    per_step = (time.perf_counter() - t0) / steps
    # 20 % headroom: the warm-up rate is a noisy estimate, and a window must
    # not come in under min_window_s
    n = max(5, int(math.ceil(1.2 * min_window_s / per_step)))
    times = []
    for _ in range(windows):
        t0 = time.perf_counter()
        run(n, 0)
        times.append(time.perf_counter() - t0)
    rates = [n * batch_size / t for t in times]
    return {"framework": "mxnet", "framework_version": mx.__version__, "model": model,
            "batch_size": batch_size, "samples_per_s": round(statistics.median(rates), 1),
            "window_samples_per_s": [round(r, 1) for r in rates],
            "window_s": [round(t, 3) for t in times], "steps_per_window": n,
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS", "default"),
            "cpu_count": os.cpu_count(), "mkldnn": _mkldnn_on()}


def main(argv=None):
    parser = argparse.ArgumentParser(description="MXNet 1.9.1 Module training throughput")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--windows", type=int, default=5)
    parser.add_argument("--min-window-s", type=float, default=2.0)
    parser.add_argument("--warmup-s", type=float, default=2.0)
    args = parser.parse_args(argv)
    for model in args.models:
        print(json.dumps(bench(model, args.windows, args.min_window_s, args.warmup_s)),
              flush=True)


if __name__ == "__main__":
    main()
