"""Write the training-stack golden fixtures with real Apache MXNet 1.9.1.

How to run (never in the main environment: MXNet 1.9.1 needs NumPy 1.23.5)::

    python3 -m venv /work/venvs/mxnet
    /work/venvs/mxnet/bin/pip install mxnet==1.9.1 numpy==1.23.5
    /work/venvs/mxnet/bin/python tools/mxnet_fixtures/make_training_fixtures.py \
        [--out tests/fixtures/mxnet-1.9.1/training]

The script sets ``MXNET_MKLDNN_ENABLED=0`` before importing MXNet (the reference pip build
otherwise routes some CPU kernels through oneDNN, whose edge cases differ; see the API map
section 5 introduction), so run it exactly as above.

What it writes into ``--out`` (default: the repository's
``tests/fixtures/mxnet-1.9.1/training/``), every file atomically through
``mixnet/fileutil.py``'s ``atomic_write`` (loaded by path: importing the ``mixnet``
package would need a newer NumPy than this venv has):

* ``manifest.json``: one JSON object with the sections ``optimizers``, ``lr_scheduler``,
  ``metrics``, ``initializers``, ``module`` and ``ndarrayiter`` (schema in
  ``tests/fixtures/README.md``, section ``mxnet-1.9.1/training/``);
* ``optimizers.npz``, ``metrics.npz``, ``initializers.npz``, ``module_mlp.npz``,
  ``module_lenet.npz``: the arrays the manifest names (plain ``np.load``, no pickle);
* ``mlp-symbol.json``, ``lenet-symbol.json``: ``Symbol.tojson()`` of the two Module nets.

Fixed seeds: every array comes from ``numpy.random.RandomState(seed)`` with a seed written
in this file (``SEED_*`` below); ``mx.random.seed(SEED_MX)`` is set too although no
recorded value depends on MXNet's generator (SGLD, the only random optimizer, is recorded
as "runs" only). Re-running the script reproduces the same values (the ``.npz`` zip
headers carry timestamps, so their bytes may differ).
"""
from __future__ import annotations

import argparse
import importlib.util
import io
import json
import os
import sys

os.environ["MXNET_MKLDNN_ENABLED"] = "0"
os.environ.setdefault("MXNET_STORAGE_FALLBACK_LOG_VERBOSE", "0")

import numpy as np  # noqa: E402
import mxnet as mx  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_OUT = os.path.join(REPO, "tests", "fixtures", "mxnet-1.9.1", "training")

SEED_MX = 1234
SEED_OPT = 11
SEED_METRIC = 22
SEED_MODULE = 33

TOL = {"float16": {"rtol": 1e-2, "atol": 1e-2},
       "float32": {"rtol": 1e-4, "atol": 1e-5},
       "float64": {"rtol": 1e-6, "atol": 1e-8}}


def _load_atomic_write():
    """Import ``mixnet/fileutil.py`` by file path (the package itself needs NumPy >= 1.26)."""
    path = os.path.join(REPO, "mixnet", "fileutil.py")
    spec = importlib.util.spec_from_file_location("_mixnet_fileutil", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.atomic_write


atomic_write = _load_atomic_write()


class NpzBook:
    """Collects named arrays for one ``.npz`` file; keys must be unique."""

    def __init__(self, fname):
        self.fname = fname
        self.arrays = {}

    def put(self, key, value):
        if key in self.arrays:
            raise KeyError("duplicate npz key %r in %s" % (key, self.fname))
        arr = value.asnumpy() if isinstance(value, mx.nd.NDArray) else np.asarray(value)
        self.arrays[key] = np.array(arr, copy=True)
        return key

    def write(self, out_dir):
        buf = io.BytesIO()
        np.savez_compressed(buf, **self.arrays)
        atomic_write(os.path.join(out_dir, self.fname), buf.getvalue())


def _jsonable(value):
    """Turn MXNet/NumPy scalars and tuples into plain JSON values."""
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def _err_text(err):
    """One line for the manifest's "errors": MXNet's backend messages run to many lines."""
    first = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return "%s: %s" % (type(err).__name__, first[:200])


# --------------------------------------------------------------------------- optimizers

IDX2NAME = {0: "fc_weight", 1: "fc_bias"}
OPT_SHAPES = {0: (3, 4), 1: (4,)}
OPT_STEPS = 4

# (id, registry name, kwargs, extra) with extra keys: dtype, lr_mult, scheduler, runs_only
OPT_CASES = [
    ("sgd", "sgd", dict(learning_rate=0.1, momentum=0.0, lazy_update=False, wd=0.01), {}),
    ("sgd_clip_rescale", "sgd", dict(learning_rate=0.1, momentum=0.0, lazy_update=False,
                                     wd=0.01, clip_gradient=0.3, rescale_grad=0.5), {}),
    ("sgd_momentum", "sgd", dict(learning_rate=0.1, momentum=0.9, lazy_update=False,
                                 wd=1e-3), {}),
    ("sgd_momentum_clip", "sgd", dict(learning_rate=0.05, momentum=0.9, lazy_update=False,
                                      wd=0.02, clip_gradient=0.5, rescale_grad=0.25), {}),
    ("sgd_momentum_factor_sched", "sgd", dict(learning_rate=0.1, momentum=0.9,
                                              lazy_update=False, wd=1e-3),
     {"scheduler": ("FactorScheduler", dict(step=2, factor=0.5))}),
    ("sgd_momentum_lr_mult", "sgd", dict(learning_rate=0.1, momentum=0.9, lazy_update=False,
                                         wd=0.01), {"lr_mult": {"fc_weight": 2.0}}),
    ("sgd_mp_float16", "sgd", dict(learning_rate=0.1, momentum=0.9, lazy_update=False,
                                   wd=1e-3, multi_precision=True), {"dtype": "float16"}),
    ("nag", "nag", dict(learning_rate=0.1, momentum=0.9, wd=0.01, clip_gradient=0.8), {}),
    ("nag_no_momentum", "nag", dict(learning_rate=0.1, wd=0.01), {}),
    ("nag_mp_float16", "nag", dict(learning_rate=0.1, momentum=0.9, wd=1e-3,
                                   multi_precision=True), {"dtype": "float16"}),
    ("adam", "adam", dict(learning_rate=0.01), {}),
    ("adam_wd_clip_rescale", "adam", dict(learning_rate=0.01, wd=0.05, clip_gradient=0.4,
                                          rescale_grad=0.5, beta1=0.8, beta2=0.99,
                                          lazy_update=False), {}),
    ("adam_mp_float16", "adam", dict(learning_rate=0.01, wd=0.01, multi_precision=True),
     {"dtype": "float16"}),
    ("adagrad", "adagrad", dict(learning_rate=0.1, wd=0.01, clip_gradient=0.7), {}),
    ("adadelta", "adadelta", dict(rho=0.85, epsilon=1e-4, wd=0.01, rescale_grad=0.5), {}),
    ("rmsprop", "rmsprop", dict(learning_rate=0.01, wd=0.01, clip_gradient=0.6), {}),
    ("rmsprop_clip_weights", "rmsprop", dict(learning_rate=0.05, gamma1=0.8, wd=0.01,
                                             centered=False, clip_weights=0.25), {}),
    ("rmsprop_centered", "rmsprop", dict(learning_rate=0.01, gamma1=0.9, gamma2=0.85,
                                         centered=True, wd=0.01), {}),
    ("rmsprop_centered_clip_weights", "rmsprop", dict(learning_rate=0.05, centered=True,
                                                      clip_weights=0.25, clip_gradient=1.0,
                                                      rescale_grad=0.5), {}),
    ("ftrl", "ftrl", dict(learning_rate=0.1, lamda1=0.01, beta=1.0, wd=0.01), {}),
    ("adamax", "adamax", dict(learning_rate=0.002, wd=0.01, clip_gradient=0.9), {}),
    ("nadam", "nadam", dict(learning_rate=0.001, wd=0.01, schedule_decay=0.004), {}),
    ("signum_no_momentum", "signum", dict(learning_rate=0.01, momentum=0.0, wd=0.01,
                                          clip_gradient=0.5), {}),
    # MXNet 1.9.1 passes wd_lh on to signsgd_update, which rejects it: lands in "errors"
    ("signum_no_momentum_wd_lh", "signum", dict(learning_rate=0.01, momentum=0.0, wd=0.01,
                                                wd_lh=0.05), {}),
    ("signum_momentum", "signum", dict(learning_rate=0.01, momentum=0.9, wd=0.01,
                                       wd_lh=0.05, clip_gradient=0.5), {}),
    ("ftml", "ftml", dict(learning_rate=0.01, wd=0.01, clip_gradient=0.9), {}),
    ("lamb", "lamb", dict(learning_rate=0.01, wd=0.01), {}),
    ("lamb_bounds_no_bias_correction", "lamb", dict(learning_rate=0.01, wd=0.01,
                                                    lower_bound=0.1, upper_bound=2.0,
                                                    bias_correction=False), {}),
    ("lars", "lars", dict(learning_rate=0.1, momentum=0.9, wd=0.01, eta=0.01), {}),
    # MXNet 1.9.1's DCASGD tests its momentum NDArray for truth and fails: lands in "errors"
    ("dcasgd_momentum", "dcasgd", dict(learning_rate=0.1, momentum=0.9, lamda=0.04, wd=0.01),
     {}),
    ("dcasgd_no_momentum", "dcasgd", dict(learning_rate=0.1, lamda=0.1), {}),
    ("sgld", "sgld", dict(learning_rate=0.01, wd=0.01), {"runs_only": True}),
]


def make_optimizers(book, errors):
    rng = np.random.RandomState(SEED_OPT)
    cases = []
    for cid, name, kwargs, extra in OPT_CASES:
        dtype = extra.get("dtype", "float32")
        kw = dict(kwargs)
        sched_spec = extra.get("scheduler")
        if sched_spec is not None:
            kw["lr_scheduler"] = getattr(mx.lr_scheduler, sched_spec[0])(**sched_spec[1])
        init = {i: rng.uniform(-1, 1, OPT_SHAPES[i]).astype(dtype) for i in (0, 1)}
        grads = [{i: rng.normal(0, 1, OPT_SHAPES[i]).astype(dtype) for i in (0, 1)}
                 for _ in range(OPT_STEPS)]
        try:
            opt = mx.optimizer.create(name, param_idx2name=dict(IDX2NAME), **kw)
            if extra.get("lr_mult"):
                opt.set_lr_mult(extra["lr_mult"])
            upd = mx.optimizer.get_updater(opt)
            weights = {i: mx.nd.array(init[i], dtype=dtype) for i in (0, 1)}
            history = []
            for t in range(OPT_STEPS):
                for i in (0, 1):
                    upd(i, mx.nd.array(grads[t][i], dtype=dtype), weights[i])
                history.append({i: weights[i].asnumpy() for i in (0, 1)})
        except Exception as err:  # recorded, not fatal: the manifest says what MXNet did
            errors["optimizers/" + cid] = _err_text(err)
            continue
        prefix = "opt.%s." % cid
        keys = {"init": [book.put(prefix + "init.%d" % i, init[i]) for i in (0, 1)],
                "grads": [[book.put(prefix + "grad.%d.step%d" % (i, t), grads[t][i])
                           for i in (0, 1)] for t in range(OPT_STEPS)]}
        runs_only = bool(extra.get("runs_only"))
        if not runs_only:
            keys["weights"] = [[book.put(prefix + "weight.%d.step%d" % (i, t), history[t][i])
                                for i in (0, 1)] for t in range(OPT_STEPS)]
        cases.append({
            "id": cid, "name": name,
            "kwargs": _jsonable(kwargs),
            "lr_scheduler": (None if sched_spec is None else
                             {"class": sched_spec[0], "kwargs": _jsonable(sched_spec[1])}),
            "idx2name": {str(k): v for k, v in IDX2NAME.items()},
            "lr_mult": extra.get("lr_mult"),
            "dtype": dtype, "steps": OPT_STEPS,
            "shapes": {str(i): list(OPT_SHAPES[i]) for i in (0, 1)},
            "runs_only": runs_only,
            "keys": keys,
            "rtol": TOL[dtype]["rtol"], "atol": TOL[dtype]["atol"],
        })
    return cases


# ------------------------------------------------------------------------- lr_scheduler

SCHED_CASES = [
    ("factor", "FactorScheduler", dict(step=3, factor=0.5, stop_factor_lr=0.02, base_lr=1.0)),
    ("factor_warmup_linear", "FactorScheduler",
     dict(step=4, factor=0.7, base_lr=0.5, warmup_steps=5, warmup_begin_lr=0.05,
          warmup_mode="linear")),
    ("factor_warmup_constant", "FactorScheduler",
     dict(step=4, factor=0.7, base_lr=0.5, warmup_steps=5, warmup_begin_lr=0.05,
          warmup_mode="constant")),
    ("multifactor", "MultiFactorScheduler", dict(step=[5, 10, 16], factor=0.3, base_lr=0.5)),
    ("multifactor_warmup_linear", "MultiFactorScheduler",
     dict(step=[6, 12], factor=0.5, base_lr=0.2, warmup_steps=4, warmup_begin_lr=0.0,
          warmup_mode="linear")),
    ("multifactor_warmup_constant", "MultiFactorScheduler",
     dict(step=[6, 12], factor=0.5, base_lr=0.2, warmup_steps=4, warmup_begin_lr=0.01,
          warmup_mode="constant")),
    ("poly", "PolyScheduler", dict(max_update=20, base_lr=0.1, pwr=2, final_lr=0.001)),
    ("poly_warmup_linear", "PolyScheduler",
     dict(max_update=20, base_lr=0.1, pwr=3, final_lr=0.0, warmup_steps=5,
          warmup_begin_lr=0.01, warmup_mode="linear")),
    ("poly_warmup_constant", "PolyScheduler",
     dict(max_update=20, base_lr=0.1, pwr=1, final_lr=0.01, warmup_steps=5,
          warmup_begin_lr=0.01, warmup_mode="constant")),
    ("cosine", "CosineScheduler", dict(max_update=20, base_lr=0.1, final_lr=0.01)),
    ("cosine_warmup_linear", "CosineScheduler",
     dict(max_update=20, base_lr=0.1, final_lr=0.0, warmup_steps=6, warmup_begin_lr=0.02,
          warmup_mode="linear")),
    ("cosine_warmup_constant", "CosineScheduler",
     dict(max_update=20, base_lr=0.1, final_lr=0.005, warmup_steps=6, warmup_begin_lr=0.02,
          warmup_mode="constant")),
]


def make_lr_scheduler(errors):
    cases = []
    num_updates = list(range(0, 31))
    for cid, cls, kwargs in SCHED_CASES:
        try:
            sched = getattr(mx.lr_scheduler, cls)(**kwargs)
            lrs = [float(sched(n)) for n in num_updates]
        except Exception as err:
            errors["lr_scheduler/" + cid] = _err_text(err)
            continue
        cases.append({"id": cid, "class": cls, "kwargs": _jsonable(kwargs),
                      "num_update": num_updates, "lr": lrs,
                      "note": "called once per num_update, in order, on one instance"})
    return cases


# ------------------------------------------------------------------------------ metrics

def _softmax_rows(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _metric_batches(kind, rng):
    """Three (labels, preds) batches, each a pair of NumPy float32 arrays, by data kind."""
    out = []
    for b in range(3):
        n = 6 + b  # differing batch sizes exercise per-batch vs per-sample averaging
        if kind == "multiclass":
            label = rng.randint(0, 4, n).astype(np.float32)
            pred = _softmax_rows(rng.normal(0, 1.5, (n, 4))).astype(np.float32)
        elif kind == "binary":
            label = rng.randint(0, 2, n).astype(np.float32)
            pred = _softmax_rows(rng.normal(0, 1.5, (n, 2))).astype(np.float32)
        elif kind == "regression":
            label = rng.normal(0, 1, n).astype(np.float32)
            pred = (label + rng.normal(0, 0.5, n)).astype(np.float32)
        elif kind == "regression2d":
            label = rng.normal(0, 1, (n, 3)).astype(np.float32)
            pred = (label + rng.normal(0, 0.5, (n, 3))).astype(np.float32)
        elif kind == "loss":
            label = np.zeros(n, np.float32)
            pred = rng.uniform(0, 2, n).astype(np.float32)
        else:
            raise ValueError(kind)
        out.append((label, pred))
    return out


# (id, create name, kwargs, data kind)
METRIC_CASES = [
    ("acc", "acc", {}, "multiclass"),
    ("top_k_acc_2", "top_k_acc", {"top_k": 2}, "multiclass"),
    ("top_k_acc_3", "top_k_acc", {"top_k": 3}, "multiclass"),
    ("f1_macro", "f1", {"average": "macro"}, "binary"),
    ("f1_micro", "f1", {"average": "micro"}, "binary"),
    ("mcc", "mcc", {}, "binary"),
    ("mcc_micro", "mcc", {"average": "micro"}, "binary"),
    ("perplexity_ignore", "perplexity", {"ignore_label": 3}, "multiclass"),
    ("perplexity", "perplexity", {"ignore_label": None}, "multiclass"),
    ("mae", "mae", {}, "regression"),
    ("mse", "mse", {}, "regression"),
    ("rmse", "rmse", {}, "regression"),
    ("mse_2d", "mse", {}, "regression2d"),
    ("ce", "ce", {}, "multiclass"),
    ("nll_loss", "nll_loss", {}, "multiclass"),
    ("pearsonr", "pearsonr", {}, "regression"),
    ("pearsonr_micro", "pearsonr", {"average": "micro"}, "regression"),
    ("loss", "loss", {}, "loss"),
]


METRIC_QUIRKS = {
    "pearsonr_micro": "MXNet 1.9.1 never adds to global_sum_metric in micro mode but counts "
                      "global_num_inst, so get_global() is 0.0",
}


def make_metrics(book, errors):
    rng = np.random.RandomState(SEED_METRIC)
    cases = []
    for cid, name, kwargs, kind in METRIC_CASES:
        batches = _metric_batches(kind, rng)
        try:
            metric = mx.metric.create(name, **kwargs)
            gets = []
            for b in range(2):
                label, pred = batches[b]
                metric.update([mx.nd.array(label)], [mx.nd.array(pred)])
                gets.append(_jsonable(list(metric.get())))
            metric.reset_local()
            label, pred = batches[2]
            metric.update([mx.nd.array(label)], [mx.nd.array(pred)])
            gets.append(_jsonable(list(metric.get())))
            glob = _jsonable(list(metric.get_global()))
        except Exception as err:
            errors["metrics/" + cid] = _err_text(err)
            continue
        keys = [{"label": book.put("metric.%s.b%d.label" % (cid, b), batches[b][0]),
                 "pred": book.put("metric.%s.b%d.pred" % (cid, b), batches[b][1])}
                for b in range(3)]
        cases.append({"id": cid, "name": name, "kwargs": kwargs, "batches": keys,
                      "get": gets, "get_global": glob, "rtol": 1e-4, "atol": 1e-5,
                      "quirk": METRIC_QUIRKS.get(cid),
                      "note": "get[0], get[1] after batches 0 and 1; then reset_local(); "
                              "get[2] and get_global after batch 2"})
    return cases


# ------------------------------------------------------------------------- initializers

def _init_cases():
    """Deterministic initializer calls: (id, initializer, desc name, desc attrs, shape)."""
    lstm_attr = {"__init__": mx.init.LSTMBias(forget_bias=2.5).dumps()}
    mixed = mx.init.Mixed([".*up.*", ".*bias", ".*"],
                          [mx.init.Bilinear(), mx.init.Constant(0.25), mx.init.Constant(0.75)])
    return [
        ("constant_weight", mx.init.Constant(0.5), "fc_weight", None, (3, 4)),
        ("constant_on_bias_name", mx.init.Constant(0.5), "fc_bias", None, (4,)),
        ("zero_weight", mx.init.Zero(), "fc_weight", None, (3, 4)),
        ("one_weight", mx.init.One(), "fc_weight", None, (3, 4)),
        ("one_on_bias_name", mx.init.One(), "fc_bias", None, (4,)),
        ("uniform_on_bias_name", mx.init.Uniform(0.5), "fc_bias", None, (4,)),
        ("uniform_on_gamma_name", mx.init.Uniform(0.5), "bn_gamma", None, (4,)),
        ("uniform_on_beta_name", mx.init.Uniform(0.5), "bn_beta", None, (4,)),
        ("uniform_on_min_name", mx.init.Uniform(0.5), "q_min", None, (2,)),
        ("uniform_on_max_name", mx.init.Uniform(0.5), "q_max", None, (2,)),
        ("init_attr_zero", mx.init.Uniform(0.5), "bn_moving_mean",
         {"__init__": mx.init.Zero().dumps()}, (4,)),
        ("init_attr_one", mx.init.Uniform(0.5), "bn_moving_var",
         {"__init__": mx.init.One().dumps()}, (4,)),
        ("init_attr_constant_on_weight", mx.init.Uniform(0.5), "fc_weight",
         {"__init__": mx.init.Constant(-1.5).dumps()}, (2, 3)),
        ("bilinear_upsampling", mx.init.Bilinear(), "up_weight", None, (2, 1, 4, 4)),
        ("bilinear_odd", mx.init.Bilinear(), "up_weight", None, (1, 1, 3, 5)),
        ("lstmbias_weight_name", mx.init.LSTMBias(forget_bias=1.0), "lstm_i2h_weight", None,
         (16,)),
        ("lstmbias_bias_name", mx.init.LSTMBias(forget_bias=1.0), "lstm_i2h_bias", None,
         (16,)),
        ("lstmbias_init_attr", mx.init.Uniform(0.5), "lstm_i2h_bias", lstm_attr, (16,)),
        ("mixed_up", mixed, "deconv_up_weight", None, (1, 1, 4, 4)),
        ("mixed_bias", mixed, "fc_bias", None, (4,)),
        ("mixed_weight", mixed, "fc_weight", None, (3, 4)),
        ("mixed_gamma", mixed, "bn_gamma", None, (4,)),
        ("unknown_name", mx.init.Uniform(0.5), "foo_something", None, (2,)),
    ]


def _dumps_cases():
    xs = []
    for rnd in ("uniform", "gaussian"):
        for fac in ("avg", "in", "out"):
            xs.append(("xavier_%s_%s" % (rnd, fac), "Xavier",
                       dict(rnd_type=rnd, factor_type=fac, magnitude=2.34)))
    return xs + [
        ("xavier_default", "Xavier", {}),
        ("msraprelu", "MSRAPrelu", dict(factor_type="in", slope=0.1)),
        ("msraprelu_default", "MSRAPrelu", {}),
        ("orthogonal", "Orthogonal", dict(scale=1.1, rand_type="normal")),
        ("orthogonal_default", "Orthogonal", {}),
        ("uniform", "Uniform", dict(scale=0.2)),
        ("uniform_default", "Uniform", {}),
        ("normal", "Normal", dict(sigma=0.3)),
        ("normal_default", "Normal", {}),
        ("constant", "Constant", dict(value=0.5)),
        ("constant_int", "Constant", dict(value=3)),
        ("zero", "Zero", {}),
        ("one", "One", {}),
        ("bilinear", "Bilinear", {}),
        ("lstmbias", "LSTMBias", dict(forget_bias=2.0)),
        ("lstmbias_default", "LSTMBias", {}),
        ("fusedrnn", "FusedRNN", dict(init=None, num_hidden=4, num_layers=2, mode="lstm",
                                      bidirectional=True, forget_bias=1.5)),
        ("fusedrnn_xavier", "FusedRNN", dict(init=mx.init.Xavier(factor_type="in"),
                                             num_hidden=3, num_layers=1, mode="gru")),
        # MXNet 1.9.1 looks a JSON-string init up under the wrong registry key (KeyError):
        # lands in "errors"
        ("fusedrnn_init_json_string", "FusedRNN",
         dict(init=mx.init.Xavier(factor_type="in").dumps(), num_hidden=3, num_layers=1,
              mode="gru")),
    ]


def make_initializers(book, errors):
    cases = []
    for cid, init, name, attrs, shape in _init_cases():
        arr = mx.nd.full(shape, 7.0)  # a sentinel: every element must be overwritten
        desc = mx.init.InitDesc(name, attrs=attrs)
        # Mixed has no dumps() in MXNet 1.9.1; its parts are listed under "mixed" instead
        entry = {"id": cid, "name": name, "attrs": attrs,
                 "initializer": None if isinstance(init, mx.init.Mixed) else init.dumps(),
                 "shape": list(shape), "dtype": "float32"}
        if cid.startswith("mixed"):
            entry["mixed"] = {"patterns": [".*up.*", ".*bias", ".*"],
                              "initializers": [mx.init.Bilinear().dumps(),
                                               mx.init.Constant(0.25).dumps(),
                                               mx.init.Constant(0.75).dumps()]}
        try:
            init(desc, arr)
            entry["expected"] = book.put("init.%s" % cid, arr.asnumpy())
            entry["raises"] = None
        except Exception as err:
            entry["expected"] = None
            entry["raises"] = type(err).__name__
            entry["message"] = str(err)
        cases.append(entry)
    dumps = []
    for cid, cls, kwargs in _dumps_cases():
        kw = dict(kwargs)
        try:
            obj = getattr(mx.init, cls)(**kw)
            # an Initializer argument is recorded as its dumps() and flagged, since JSON
            # cannot hold the object: the reader rebuilds it from that string
            init_args = sorted(k for k, v in kwargs.items()
                               if isinstance(v, mx.init.Initializer))
            plain = {k: (v.dumps() if k in init_args else v) for k, v in kwargs.items()}
            dumps.append({"id": cid, "class": cls, "kwargs": _jsonable(plain),
                          "initializer_kwargs": init_args, "dumps": obj.dumps()})
        except Exception as err:
            errors["initializers/dumps/" + cid] = _err_text(err)
    return {"calls": cases, "dumps": dumps,
            "note": "calls: arr = full(shape, 7); init(InitDesc(name, attrs=attrs), arr)"}


# ------------------------------------------------------------------------------- module

MOD_BATCH = 8
MOD_NBATCH = 3
MOD_OPT = {"learning_rate": 0.1, "momentum": 0.9, "wd": 1e-4}


def _mlp_symbol():
    data = mx.sym.Variable("data")
    fc1 = mx.sym.FullyConnected(data, num_hidden=32, name="fc1")
    act1 = mx.sym.Activation(fc1, act_type="relu", name="relu1")
    fc2 = mx.sym.FullyConnected(act1, num_hidden=10, name="fc2")
    return mx.sym.SoftmaxOutput(fc2, name="softmax")


def _lenet_symbol():
    data = mx.sym.Variable("data")
    conv1 = mx.sym.Convolution(data, kernel=(5, 5), num_filter=4, name="conv1")
    act1 = mx.sym.Activation(conv1, act_type="tanh", name="tanh1")
    pool1 = mx.sym.Pooling(act1, pool_type="max", kernel=(2, 2), stride=(2, 2), name="pool1")
    flat = mx.sym.Flatten(pool1, name="flatten")
    fc1 = mx.sym.FullyConnected(flat, num_hidden=10, name="fc1")
    return mx.sym.SoftmaxOutput(fc1, name="softmax")


def _run_module(sym, arg_np, data_np, label_np, context):
    """Train MOD_NBATCH batches; returns per-step params, first outputs, score, predict."""
    data_shape = (MOD_BATCH,) + data_np.shape[1:]
    mod = mx.mod.Module(sym, data_names=("data",), label_names=("softmax_label",),
                        context=context)
    mod.bind(data_shapes=[("data", data_shape)],
             label_shapes=[("softmax_label", (MOD_BATCH,))])
    mod.init_params(arg_params={k: mx.nd.array(v) for k, v in arg_np.items()},
                    aux_params={})
    mod.init_optimizer(kvstore="local", optimizer="sgd", optimizer_params=dict(MOD_OPT))
    steps, first_outputs = [], None
    for b in range(MOD_NBATCH):
        sl = slice(b * MOD_BATCH, (b + 1) * MOD_BATCH)
        batch = mx.io.DataBatch(data=[mx.nd.array(data_np[sl])],
                                label=[mx.nd.array(label_np[sl])])
        mod.forward_backward(batch)
        if b == 0:
            first_outputs = [o.asnumpy() for o in mod.get_outputs()]
        mod.update()
        args, _ = mod.get_params()
        steps.append({k: v.asnumpy() for k, v in args.items()})
    score_iter = mx.io.NDArrayIter(data_np, label_np, batch_size=MOD_BATCH, shuffle=False)
    score = _jsonable([list(nv) for nv in mod.score(score_iter, "acc")])
    pred_iter = mx.io.NDArrayIter(data_np[:MOD_BATCH], batch_size=MOD_BATCH, shuffle=False)
    predict = mod.predict(pred_iter).asnumpy()
    return mod, steps, first_outputs, score, predict


def make_module(out_dir, errors):
    rng = np.random.RandomState(SEED_MODULE)
    nets = [("mlp", _mlp_symbol(), (784,)), ("lenet", _lenet_symbol(), (1, 28, 28))]
    entries = []
    for net_id, sym, feat_shape in nets:
        book = NpzBook("module_%s.npz" % net_id)
        n = MOD_BATCH * MOD_NBATCH
        data_np = rng.normal(0, 1, (n,) + feat_shape).astype(np.float32)
        label_np = rng.randint(0, 10, n).astype(np.float32)
        arg_shapes, _, _ = sym.infer_shape(data=(MOD_BATCH,) + feat_shape)
        arg_np = {}
        for name, shape in zip(sym.list_arguments(), arg_shapes):
            if name in ("data", "softmax_label"):
                continue
            fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else shape[0]
            scale = 1.0 / np.sqrt(fan_in)
            arg_np[name] = rng.uniform(-scale, scale, shape).astype(np.float32)
        sym_file = "%s-symbol.json" % net_id
        atomic_write(os.path.join(out_dir, sym_file), sym.tojson().encode("utf-8"))
        entry = {"id": net_id, "symbol_file": sym_file, "expected": book.fname,
                 "data_names": ["data"], "label_names": ["softmax_label"],
                 "batch_size": MOD_BATCH, "num_batches": MOD_NBATCH,
                 "data_shape": [MOD_BATCH] + list(feat_shape),
                 "label_shape": [MOD_BATCH],
                 "data_key": book.put("data", data_np),
                 "label_key": book.put("label", label_np),
                 "param_names": sorted(arg_np),
                 "init_params": {k: book.put("init." + k, v) for k, v in sorted(arg_np.items())},
                 "optimizer": "sgd", "optimizer_params": dict(MOD_OPT), "kvstore": "local",
                 "runs": [], "rtol": 1e-4, "atol": 1e-5,
                 "note": "batch b = rows [b*batch_size, (b+1)*batch_size) of data/label; "
                         "bind, init_params(arg_params=init, aux_params={}), "
                         "init_optimizer, then per batch forward_backward + update; "
                         "params recorded via get_params() after each update; "
                         "score on NDArrayIter(data, label, batch_size) with 'acc'; "
                         "predict on NDArrayIter(data[:batch_size])"}
        contexts = [("cpu", mx.cpu())]
        if net_id == "mlp":
            contexts.append(("cpu2", [mx.cpu(0), mx.cpu(1)]))
        for run_id, ctx in contexts:
            try:
                _, steps, first_out, score, predict = _run_module(sym, arg_np, data_np,
                                                                  label_np, ctx)
            except Exception as err:
                errors["module/%s/%s" % (net_id, run_id)] = _err_text(err)
                continue
            pre = "%s." % run_id
            entry["runs"].append({
                "id": run_id,
                "context": ["cpu(0)"] if run_id == "cpu" else ["cpu(0)", "cpu(1)"],
                "first_outputs": [book.put(pre + "first_output.%d" % i, o)
                                  for i, o in enumerate(first_out)],
                "params": [{k: book.put(pre + "step%d.%s" % (t, k), v)
                            for k, v in sorted(step.items())}
                           for t, step in enumerate(steps)],
                "score": score,
                "predict": book.put(pre + "predict", predict),
            })
        book.write(out_dir)
        entries.append(entry)
    return entries


# -------------------------------------------------------------------------- ndarrayiter

def make_ndarrayiter(errors):
    n, bs, epochs = 10, 4, 3
    data = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    label = np.arange(n, dtype=np.float32)
    cases = []
    for handle in ("pad", "discard", "roll_over"):
        try:
            it = mx.io.NDArrayIter(data, label, batch_size=bs, shuffle=False,
                                   last_batch_handle=handle)
            provide = {"data": [[d.name, list(d.shape)] for d in it.provide_data],
                       "label": [[d.name, list(d.shape)] for d in it.provide_label]}
            epochs_out = []
            for _ in range(epochs):
                batches = []
                for batch in it:
                    batches.append({"data": batch.data[0].asnumpy().tolist(),
                                    "label": batch.label[0].asnumpy().tolist(),
                                    "pad": batch.pad})
                epochs_out.append(batches)
                it.reset()
        except Exception as err:
            errors["ndarrayiter/" + handle] = _err_text(err)
            continue
        cases.append({"id": handle, "n": n, "batch_size": bs, "shuffle": False,
                      "last_batch_handle": handle,
                      "data": data.tolist(), "label": label.tolist(),
                      "provide": provide, "epochs": epochs_out,
                      "note": "for each epoch: iterate to StopIteration, then reset()"})
    return cases


# --------------------------------------------------------------------------------- main

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help="output folder")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    mx.random.seed(SEED_MX)
    np.random.seed(SEED_MX)
    errors = {}
    opt_book = NpzBook("optimizers.npz")
    metric_book = NpzBook("metrics.npz")
    init_book = NpzBook("initializers.npz")
    manifest = {
        "format": "mixnet-training-fixtures", "schema_version": 1,
        "mxnet_version": mx.__version__, "numpy_version": np.__version__,
        "env": {"MXNET_MKLDNN_ENABLED": "0"},
        "default_tolerances": TOL,
        "files": {"optimizers": opt_book.fname, "metrics": metric_book.fname,
                  "initializers": init_book.fname},
        "optimizers": make_optimizers(opt_book, errors),
        "lr_scheduler": make_lr_scheduler(errors),
        "metrics": make_metrics(metric_book, errors),
        "initializers": make_initializers(init_book, errors),
        "module": make_module(args.out, errors),
        "ndarrayiter": make_ndarrayiter(errors),
    }
    manifest["errors"] = errors
    for book in (opt_book, metric_book, init_book):
        book.write(args.out)
    text = json.dumps(manifest, indent=1, sort_keys=False, allow_nan=False) + "\n"
    atomic_write(os.path.join(args.out, "manifest.json"), text.encode("utf-8"))
    total = sum(os.path.getsize(os.path.join(args.out, f)) for f in os.listdir(args.out))
    print("wrote %s (%d bytes); errors: %s" % (args.out, total, json.dumps(errors, indent=1)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
