"""Training throughput with ``mx.mod.Module`` (issue 5), against MXNet 1.9.1 and PyTorch.

Models (same shapes as the peers' scripts in ``benchmarks/peers/``):
- MLP 784-512-512-10 (relu), batch 128, SGD lr 0.1 momentum 0.9;
- the classic tanh LeNet (conv5x5x20, pool, conv5x5x50, pool, fc500, fc10), batch 64.

One step is ``forward_backward`` + ``update`` on a random batch (no metric). After a
warm-up, ``--windows`` timed windows of at least ``--window-s`` seconds each; the median
window's samples/s is reported, as one JSON line per model. With ``--peers`` the peer
scripts run in their virtualenvs (see benchmarks/peers/README.md) one after the other
in this same run, and the ratios mixnet/peer are printed.

    python benchmarks/bench_train.py [--models mlp,lenet] [--windows 5] [--window-s 2]
                                     [--peers /work/venvs]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time

import numpy as np

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(_HERE))  # mixnet from this checkout

import mixnet as mx  # noqa: E402

TARGETS = {"mlp": 20300.0, "lenet": 2790.0}  # MXNet 1.9.1 Module, from the issue


def mlp():
    x = mx.sym.Variable("data")
    for i, n in enumerate((512, 512), 1):
        x = mx.sym.Activation(mx.sym.FullyConnected(x, num_hidden=n, name="fc%d" % i),
                              act_type="relu", name="relu%d" % i)
    x = mx.sym.FullyConnected(x, num_hidden=10, name="fc3")
    return mx.sym.SoftmaxOutput(x, name="softmax"), (128, 784)


def lenet():
    x = mx.sym.Variable("data")
    x = mx.sym.Convolution(x, kernel=(5, 5), num_filter=20, name="conv1")
    x = mx.sym.Pooling(mx.sym.Activation(x, act_type="tanh"), pool_type="max",
                       kernel=(2, 2), stride=(2, 2))
    x = mx.sym.Convolution(x, kernel=(5, 5), num_filter=50, name="conv2")
    x = mx.sym.Pooling(mx.sym.Activation(x, act_type="tanh"), pool_type="max",
                       kernel=(2, 2), stride=(2, 2))
    x = mx.sym.FullyConnected(mx.sym.Flatten(x), num_hidden=500, name="fc1")
    x = mx.sym.FullyConnected(mx.sym.Activation(x, act_type="tanh"), num_hidden=10,
                              name="fc2")
    return mx.sym.SoftmaxOutput(x, name="softmax"), (64, 1, 28, 28)


def measure(name: str, windows: int, window_s: float, warmup_s: float = 2.0) -> dict:
    sym, shape = {"mlp": mlp, "lenet": lenet}[name]()
    batch = shape[0]
    rng = np.random.RandomState(0)
    # four distinct batches, cycled, as the peers' scripts do
    batches = [mx.io.DataBatch(
        [mx.nd.array(rng.normal(0, 1, shape).astype(np.float32))],
        [mx.nd.array(rng.randint(0, 10, batch).astype(np.float32))]) for _ in range(4)]
    mod = mx.mod.Module(sym, context=mx.cpu())
    mod.bind(data_shapes=[("data", shape)], label_shapes=[("softmax_label", (batch,))])
    mx.random.seed(0)
    mod.init_params(mx.init.Xavier())
    mod.init_optimizer(optimizer="sgd",
                       optimizer_params={"learning_rate": 0.1, "momentum": 0.9})

    def run(steps: int) -> None:
        for k in range(steps):
            mod.forward_backward(batches[k % len(batches)])
            mod.update()
        mx.nd.waitall()

    run(3)
    steps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < warmup_s:
        run(5)
        steps += 5
    n = max(5, int(math.ceil(window_s / ((time.perf_counter() - t0) / steps))))
    rates = []
    for _ in range(windows):
        t0 = time.perf_counter()
        run(n)
        rates.append(n * batch / (time.perf_counter() - t0))
    return {"framework": "mixnet", "model": name, "batch_size": batch,
            "samples_per_s": statistics.median(rates),
            "window_samples_per_s": [round(r, 1) for r in rates], "steps_per_window": n}


def run_peer(python: str, script: str, models: list, windows: int, window_s: float) -> list:
    cmd = [python, script, "--models", *models, "--windows", str(windows),
           "--min-window-s", str(window_s)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="mlp,lenet")
    ap.add_argument("--windows", type=int, default=5)
    ap.add_argument("--window-s", type=float, default=2.0)
    ap.add_argument("--peers", default=None,
                    help="folder holding the 'mxnet' and 'torch' virtualenvs")
    args = ap.parse_args()
    models = args.models.split(",")
    ours = {}
    for m in models:
        r = measure(m, args.windows, args.window_s)
        ours[m] = r["samples_per_s"]
        print(json.dumps(r))
    print("threads: numpy BLAS default; engine %s"
          % os.environ.get("MXNET_ENGINE_TYPE", "ThreadedEnginePerDevice"))
    for m in models:
        print("%-6s mixnet %8.0f samples/s  = %.2fx MXNet's figure in the issue (%.0f)"
              % (m, ours[m], ours[m] / TARGETS[m], TARGETS[m]))
    if args.peers:
        peers_dir = os.path.join(_HERE, "peers")
        for fw, script in (("mxnet", "mxnet_train.py"), ("torch", "torch_train.py")):
            py = os.path.join(args.peers, fw, "bin", "python")
            if not os.path.exists(py):
                print("%s: no virtualenv at %s, skipped" % (fw, py))
                continue
            for r in run_peer(py, os.path.join(peers_dir, script), models, args.windows,
                              args.window_s):
                m = r["model"]
                print(json.dumps(r))
                print("%-6s mixnet/%s = %.2f (%0.f vs %.0f samples/s)"
                      % (m, fw, ours[m] / r["samples_per_s"], ours[m], r["samples_per_s"]))


if __name__ == "__main__":
    main()
