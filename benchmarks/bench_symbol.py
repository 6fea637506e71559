"""Executor benchmark: memory planning and bound-graph speed (issue 4).

(a) Internal memory of VGG-16 and ResNet-50 (3x224x224) for training at batch 64 and
    inference at batch 1, under four plans: none (one buffer per internal entry),
    in-place only, co-share only, and both. "Internal" excludes parameters/arguments,
    auxiliary states, inputs, outputs and argument gradients. Targets: both >= 2x smaller
    than none for training, >= 4x for inference.
(b) Training memory of a deep CIFAR ResNet (batch 64, 3x32x32) with and without mirroring
    (``mirror=True``, the policy of ``MXNET_BACKWARD_DO_MIRROR=1``: backward recomputes
    cheap forward values).
(c) MLP 784-512-512-10, batch 128, SGD with momentum 0.9 (``mx.nd.sgd_mom_update`` on the
    gradients): samples/s through ``simple_bind`` + ``forward``/``backward`` against the
    same ops run imperatively under ``mx.autograd``.

(a) and (b) only plan (``mixnet.executor.memory_usage``); nothing is allocated.

    python benchmarks/bench_symbol.py [--steps 50] [--rounds 5] [--deep 164] [--skip-speed]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [_HERE, os.path.dirname(_HERE)]  # models.py, and mixnet from this checkout

import mixnet as mx  # noqa: E402
from mixnet.executor import memory_usage  # noqa: E402

import models  # noqa: E402

MB = 1024.0 * 1024.0
PLANS = [("none", False, False), ("in-place", True, False), ("co-share", False, True),
         ("both", True, True)]


def _shapes(batch: int, image=(3, 224, 224)) -> dict:
    return {"data": (batch,) + tuple(image), "softmax_label": (batch,)}


def memory_table() -> list:
    """Rows ``(network, mode, {plan: MB})`` for (a); also prints them."""
    rows = []
    print("(a) internal memory, MB (excluding params, aux, inputs, outputs, arg grads)")
    print("%-10s %-16s %10s %10s %10s %10s %9s %7s"
          % ("network", "mode", "none", "in-place", "co-share", "both", "none/both", "target"))
    for net_name, build in (("VGG-16", models.vgg16), ("ResNet-50", models.resnet50)):
        sym = build()
        for mode, batch, training, target in (("train b=64", 64, True, 2.0),
                                              ("infer b=1", 1, False, 4.0)):
            mb = {}
            for plan, inplace, coshare in PLANS:
                r = memory_usage(sym, _shapes(batch), for_training=training, inplace=inplace,
                                 coshare=coshare)
                mb[plan] = r["internal_bytes"] / MB
                mb.setdefault("naive", r["naive_bytes"] / MB)
            ratio = mb["none"] / mb["both"] if mb["both"] else float("inf")
            print("%-10s %-16s %10.1f %10.1f %10.1f %10.1f %8.2fx %6s"
                  % (net_name, mode, mb["none"], mb["in-place"], mb["co-share"], mb["both"],
                     ratio, "%s%g" % ("ok >=" if ratio >= target else "MISS ", target)))
            rows.append((net_name, mode, mb))
    return rows


def mirror_table(depth: int) -> None:
    """(b): training memory of a CIFAR ResNet-``depth`` at batch 64, plain vs mirrored."""
    sym = models.resnet(depth, 10, (3, 32, 32))
    shapes = _shapes(64, (3, 32, 32))
    print()
    print("(b) ResNet-%d (CIFAR, 3x32x32) training b=64, both plans, internal MB" % depth)
    plain = memory_usage(sym, shapes, for_training=True, inplace=True, coshare=True,
                         mirror=False)["internal_bytes"] / MB
    # mirror=True: the default policy of MXNET_BACKWARD_DO_MIRROR=1 (cheap ops recomputed)
    mirrored = memory_usage(sym, shapes, for_training=True, inplace=True, coshare=True,
                            mirror=True)["internal_bytes"] / MB
    print("  without mirroring %9.1f MB" % plain)
    print("  with mirroring    %9.1f MB   (%.2fx smaller)"
          % (mirrored, plain / mirrored if mirrored else float("inf")))


# --------------------------------------------------------------------------- MLP speed
BATCH, LR, MOM = 128, 0.1, 0.9
PARAMS = ["fc1_weight", "fc1_bias", "fc2_weight", "fc2_bias", "fc3_weight", "fc3_bias"]


def _init(rng: np.random.RandomState) -> dict:
    shapes = {"fc1_weight": (512, 784), "fc1_bias": (512,), "fc2_weight": (512, 512),
              "fc2_bias": (512,), "fc3_weight": (10, 512), "fc3_bias": (10,)}
    return {k: (rng.standard_normal(s) * (0.05 if k.endswith("weight") else 0.0))
            .astype(np.float32) for k, s in shapes.items()}


def _update(weights: dict, grads: dict, moms: dict) -> None:
    for k in PARAMS:
        mx.nd.sgd_mom_update(weights[k], grads[k], moms[k], out=weights[k], lr=LR,
                             momentum=MOM, wd=0.0, rescale_grad=1.0 / BATCH)


def _rate(step, steps: int) -> float:
    """Samples/s of ``steps`` steps; waits for the engine before stopping the clock so
    asynchronous work is counted."""
    mx.nd.waitall()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    mx.nd.waitall()
    return BATCH * steps / (time.perf_counter() - t)


def mlp_executor(data: np.ndarray, label: np.ndarray, init: dict) -> tuple:
    """A training step through ``simple_bind`` + ``forward``/``backward``, and a function
    returning the current output."""
    exe = models.mlp().simple_bind(mx.cpu(), grad_req="write", data=data.shape,
                                   softmax_label=label.shape)
    exe.arg_dict["data"][:] = data
    exe.arg_dict["softmax_label"][:] = label
    for k in PARAMS:
        exe.arg_dict[k][:] = init[k]
    moms = {k: mx.nd.zeros(init[k].shape) for k in PARAMS}

    def step():
        exe.forward(is_train=True)
        exe.backward()
        _update(exe.arg_dict, exe.grad_dict, moms)
    return step, lambda: exe.outputs[0].asnumpy()


def mlp_imperative(data: np.ndarray, label: np.ndarray, init: dict) -> tuple:
    """The same training step with the same ops on NDArrays under ``mx.autograd``."""
    x, y = mx.nd.array(data), mx.nd.array(label)
    w = {k: mx.nd.array(init[k]) for k in PARAMS}
    for v in w.values():
        v.attach_grad()
    moms = {k: mx.nd.zeros(init[k].shape) for k in PARAMS}
    out = [None]

    def step():
        with mx.autograd.record():
            h = mx.nd.Activation(mx.nd.FullyConnected(x, w["fc1_weight"], w["fc1_bias"],
                                                      num_hidden=512), act_type="relu")
            h = mx.nd.Activation(mx.nd.FullyConnected(h, w["fc2_weight"], w["fc2_bias"],
                                                      num_hidden=512), act_type="relu")
            h = mx.nd.FullyConnected(h, w["fc3_weight"], w["fc3_bias"], num_hidden=10)
            out[0] = mx.nd.SoftmaxOutput(h, y)
        out[0].backward()
        _update(w, {k: w[k].grad for k in PARAMS}, moms)
    return step, lambda: out[0].asnumpy()


def mlp_speed(steps: int, rounds: int = 5) -> tuple:
    """(c): best samples/s of each path over ``rounds`` alternating rounds of ``steps``
    steps (alternating, so machine load drifts hit both alike), after 3 warm-up steps
    each (parameter parsing, allocator, plan caches)."""
    rng = np.random.RandomState(0)
    data = rng.standard_normal((BATCH, 784)).astype(np.float32)
    label = rng.randint(0, 10, BATCH).astype(np.float32)
    init = _init(rng)
    print()
    print("(c) MLP 784-512-512-10, batch %d, SGD momentum %.1f, best of %d x %d steps"
          % (BATCH, MOM, rounds, steps))
    paths = {"executor": mlp_executor(data, label, init),
             "imperative": mlp_imperative(data, label, init)}
    best = {k: 0.0 for k in paths}
    for k, (step, _) in paths.items():
        for _ in range(3):
            step()
    for _ in range(rounds):
        for k, (step, _) in paths.items():
            best[k] = max(best[k], _rate(step, steps))
    # both ran the same number of identical steps from the same start
    same = np.allclose(paths["executor"][1](), paths["imperative"][1](), rtol=1e-3, atol=1e-5)
    print("  executor (bind + forward/backward) %10.0f samples/s" % best["executor"])
    print("  imperative (autograd)             %10.0f samples/s" % best["imperative"])
    print("  executor / imperative             %10.2fx   (same final outputs: %s)"
          % (best["executor"] / best["imperative"], same))
    return best["executor"], best["imperative"]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--deep", type=int, default=164, help="CIFAR ResNet depth for (b)")
    ap.add_argument("--skip-speed", action="store_true")
    args = ap.parse_args(argv)
    memory_table()
    mirror_table(args.deep)
    if not args.skip_speed:
        mlp_speed(args.steps, args.rounds)


if __name__ == "__main__":
    main()
