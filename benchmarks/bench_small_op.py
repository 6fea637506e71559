"""Small-op dispatch overhead: 10 000 x ``c = a + b`` on shape (10,), then ``waitall``.

Prints microseconds per op (median of 5 windows) for each engine, NumPy's own per-call
cost (the floor) and the ratios against the reference figures measured on this kind of
machine (2 cores): MXNet 1.9.1 12.3 us, PyTorch 2.13 2.25 us. Each engine runs in a fresh
subprocess because ``MXNET_ENGINE_TYPE`` is read when the engine starts.

    python benchmarks/bench_small_op.py [--n 10000] [--windows 5]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

MXNET_US = 12.3
TORCH_US = 2.25
ENGINES = ("ThreadedEnginePerDevice", "ThreadedEngine", "NaiveEngine")


def _window(fn, n: int) -> float:
    t = time.perf_counter()
    fn(n)
    return (time.perf_counter() - t) / n * 1e6


def measure_mixnet(n: int, windows: int) -> float:
    """Median µs per ``c = a + b`` (including the final ``waitall``) in this process."""
    import mixnet as mx
    a = mx.nd.array([1.0] * 10)
    b = mx.nd.array([2.0] * 10)

    def run(k):
        for _ in range(k):
            c = a + b  # noqa: F841 - the result is dropped, as in the reference loop
        mx.nd.waitall()

    run(1000)
    return statistics.median(_window(run, n) for _ in range(windows))


def measure_numpy(n: int, windows: int) -> float:
    """Median µs per ``np.add`` of two (10,) float32 arrays: the floor for mixnet."""
    import numpy as np
    a = np.ones(10, np.float32)
    b = np.ones(10, np.float32)

    def run(k):
        for _ in range(k):
            c = a + b  # noqa: F841

    run(1000)
    return statistics.median(_window(run, n) for _ in range(windows))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--windows", type=int, default=5)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps({"us": measure_mixnet(args.n, args.windows)}))
        return
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    floor = measure_numpy(args.n, args.windows)
    print("small-op overhead: %d x c = a + b on (10,), median of %d windows"
          % (args.n, args.windows))
    print("%-26s %10s %12s %12s %12s" % ("engine", "us/op", "vs MXNet", "vs PyTorch", "vs NumPy"))
    for name in ENGINES:
        env["MXNET_ENGINE_TYPE"] = name
        out = subprocess.run([sys.executable, __file__, "--child", "1", "--n", str(args.n),
                              "--windows", str(args.windows)], env=env, check=True,
                             capture_output=True, text=True).stdout
        us = json.loads(out.strip().splitlines()[-1])["us"]
        print("%-26s %10.2f %11.2fx %11.2fx %11.2fx" % (name, us, us / MXNET_US, us / TORCH_US,
                                                        us / floor))
    print("%-26s %10.2f %12s %12s %11.2fx" % ("numpy (floor)", floor, "", "", 1.0))
    print("reference: MXNet 1.9.1 %.2f us, PyTorch 2.13 %.2f us (ratios < 1 are faster)"
          % (MXNET_US, TORCH_US))


if __name__ == "__main__":
    main()
