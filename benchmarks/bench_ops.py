"""Per-op forward+backward timings next to the machine's SGEMM ceiling.

Cases (float32, through ``mx.autograd`` so backward runs the ops' gradient rules):

* Convolution: ResNet-style 3x3, 64 -> 64 channels, 32x32, pad 1, batch 32
* FullyConnected: batch 128, 784 -> 512
* LSTM (fused ``RNN`` op): 2 layers, 200 hidden, input 200, seq 35, batch 20

For each: median milliseconds per forward+backward, the FLOPs that work needs (forward
GEMM FLOPs x 3: forward, data gradient, weight gradient), the achieved GFLOP/s and its
fraction of NumPy's own SGEMM rate on this machine (a 1024^3 float32 matmul), which is
the ceiling any NumPy-based kernel can reach.

    python benchmarks/bench_ops.py [--repeat 5]
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import mixnet as mx


def sgemm_gflops(n: int = 1024, repeat: int = 5) -> float:
    """NumPy float32 matmul rate in GFLOP/s (median of ``repeat``)."""
    a = np.random.rand(n, n).astype(np.float32)
    b = np.random.rand(n, n).astype(np.float32)
    a @ b
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t)
    return 2 * n ** 3 / statistics.median(times) / 1e9


def _time_fwd_bwd(fn, inputs, repeat: int) -> float:
    """Median seconds of one recorded forward + backward of ``fn(*inputs)``."""
    for x in inputs:
        x.attach_grad()

    def once():
        with mx.autograd.record():
            out = fn(*inputs)
        out.backward()
        for x in inputs:
            x.grad.wait_to_read()
    once()  # warm-up: parameter parsing, allocator
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        once()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _rand(*shape):
    return mx.nd.array(np.random.uniform(-0.1, 0.1, shape).astype(np.float32))


def case_conv():
    n, c, h, w, f, k = 32, 64, 32, 32, 64, 3
    flops = 3 * 2 * n * f * h * w * c * k * k
    fn = lambda x, wt, b: mx.nd.Convolution(x, wt, b, kernel=(k, k), pad=(1, 1),  # noqa
                                             num_filter=f)
    return "Convolution 3x3 64->64, 32x32, batch 32", fn, \
        [_rand(n, c, h, w), _rand(f, c, k, k), _rand(f)], flops


def case_fc():
    n, i, o = 128, 784, 512
    flops = 3 * 2 * n * i * o
    fn = lambda x, wt, b: mx.nd.FullyConnected(x, wt, b, num_hidden=o)  # noqa: E731
    return "FullyConnected 784->512, batch 128", fn, [_rand(n, i), _rand(o, i), _rand(o)], flops


def case_lstm():
    t, n, i, h, layers = 35, 20, 200, 200, 2
    nparam = 0
    for layer in range(layers):
        nin = i if layer == 0 else h
        nparam += 4 * h * (nin + h) + 8 * h
    flops = 3 * sum(2 * t * n * 4 * h * ((i if layer == 0 else h) + h) for layer in range(layers))
    fn = lambda x, p, s, c: mx.nd.RNN(x, p, s, c, state_size=h, num_layers=layers,  # noqa
                                      mode="lstm")
    return "LSTM 2x200, seq 35, batch 20", fn, \
        [_rand(t, n, i), _rand(nparam), _rand(layers, n, h), _rand(layers, n, h)], flops


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    ceiling = sgemm_gflops()
    print("SGEMM ceiling (NumPy float32 1024^3 matmul): %.1f GFLOP/s" % ceiling)
    print("%-42s %10s %9s %10s %9s" % ("op (forward+backward)", "ms", "GFLOP", "GFLOP/s",
                                       "ceiling"))
    for make in (case_conv, case_fc, case_lstm):
        name, fn, inputs, flops = make()
        sec = _time_fwd_bwd(fn, inputs, args.repeat)
        rate = flops / sec / 1e9
        print("%-42s %10.2f %9.3f %10.1f %8.0f%%" % (name, sec * 1e3, flops / 1e9, rate,
                                                   100 * rate / ceiling))


if __name__ == "__main__":
    main()
