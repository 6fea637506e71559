"""Training throughput of PyTorch (CPU) on the same models as ``mxnet_train.py``.

Runs under the torch venv (see ``benchmarks/peers/README.md``), never the main one::

    /work/venvs/torch/bin/python benchmarks/peers/torch_train.py [--models mlp lenet]

Models, as in the issue: ``mlp`` 784-512-512-10 with ReLU, batch 128; ``lenet`` the classic
tanh LeNet (conv 5x5x20, tanh, max-pool 2, conv 5x5x50, tanh, max-pool 2, FC 500, tanh,
FC 10) on 1x28x28, batch 64. ``nn.Module`` + ``nn.CrossEntropyLoss`` (mean over the batch,
the same update as MXNet's SoftmaxOutput with Module's rescale_grad = 1/batch) +
``torch.optim.SGD(lr=0.1, momentum=0.9)``; per batch ``zero_grad``, forward, loss,
``backward``, ``step``, on random data from a fixed seed.

Timing: warm-up, then ``--windows`` (5) timed windows of a fixed step count chosen from the
warm-up so each lasts at least ``--min-window-s`` (2 s); CPU PyTorch is synchronous, so the
wall clock around the steps is the cost. One JSON line per model on stdout, e.g.
``{"framework": "torch", "model": "mlp", "samples_per_s": <median>, ...}``. The intra-op
thread count is left at PyTorch's default (``torch.get_num_threads()``, reported).
NumPy is not needed (torch may warn that it is missing; harmless).
"""
import argparse
import json
import math
import os
import statistics
import time

import torch
from torch import nn

NUM_CLASSES = 10


def mlp():
    return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                         nn.Linear(512, NUM_CLASSES))


def lenet():
    return nn.Sequential(nn.Conv2d(1, 20, 5), nn.Tanh(), nn.MaxPool2d(2),
                         nn.Conv2d(20, 50, 5), nn.Tanh(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(50 * 4 * 4, 500), nn.Tanh(), nn.Linear(500, NUM_CLASSES))


MODELS = {"mlp": (mlp, (784,), 128), "lenet": (lenet, (1, 28, 28), 64)}


def bench(model, windows, min_window_s, warmup_s, seed=0):
    build, feat_shape, batch_size = MODELS[model]
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    net = build()
    net.train()
    loss_fn = nn.CrossEntropyLoss()
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    batches = [(torch.randn((batch_size,) + feat_shape, generator=gen),
                torch.randint(0, NUM_CLASSES, (batch_size,), generator=gen))
               for _ in range(4)]

    def run(steps, start):
        for k in range(steps):
            x, y = batches[(start + k) % len(batches)]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(x), y)
            loss.backward()
            opt.step()

    run(3, 0)
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
    return {"framework": "torch", "framework_version": torch.__version__, "model": model,
            "batch_size": batch_size, "samples_per_s": round(statistics.median(rates), 1),
            "window_samples_per_s": [round(r, 1) for r in rates],
            "window_s": [round(t, 3) for t in times], "steps_per_window": n,
            "torch_num_threads": torch.get_num_threads(),
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS", "default"),
            "cpu_count": os.cpu_count()}


def main(argv=None):
    parser = argparse.ArgumentParser(description="PyTorch CPU training throughput")
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
