"""Replay the training-stack goldens written by real MXNet 1.9.1 through ``mixnet``.

The fixtures live in ``tests/fixtures/mxnet-1.9.1/training/`` (made by
``tools/mxnet_fixtures/make_training_fixtures.py``; schema in ``tests/fixtures/README.md``).
Each test runs the same MXNet-API calls the generator made -- ``mx.optimizer.create`` +
``get_updater``, ``mx.lr_scheduler.*``, ``mx.metric.create``, ``mx.init.*``,
``mx.mod.Module`` and ``mx.io.NDArrayIter`` -- and compares with the recorded values using
the fixture tolerances (``np.isclose`` with the case's rtol/atol, equal shape and dtype).

``mixnet`` is imported inside each test, not at module level, so this file collects while
the training modules are still being written; a sub-package the package ``__init__`` does
not expose yet is imported directly (``mixnet.optimizer`` for ``mx.optimizer``, ...).
"""
from __future__ import annotations

import functools
import importlib
import json
import math
from pathlib import Path

import numpy as np
import pytest

FIXDIR = Path(__file__).parent / "fixtures" / "mxnet-1.9.1" / "training"
MANIFEST = json.loads((FIXDIR / "manifest.json").read_text())

# attribute of ``mx`` -> the mixnet module that provides it
_API_MODULES = {"optimizer": "mixnet.optimizer", "lr_scheduler": "mixnet.lr_scheduler",
                "metric": "mixnet.metric", "init": "mixnet.initializer",
                "io": "mixnet.io", "mod": "mixnet.module"}


def _api(name):
    """``mx.<name>``, or the module that will be wired there once the package exposes it."""
    import mixnet as mx
    got = getattr(mx, name, None)
    return got if got is not None else importlib.import_module(_API_MODULES[name])


@functools.lru_cache(maxsize=None)
def _npz(fname):
    with np.load(FIXDIR / fname) as f:
        return {k: f[k] for k in f.files}


def _assert_close(got, expected, rtol, atol, what):
    got = got.asnumpy() if hasattr(got, "asnumpy") else np.asarray(got)
    assert got.shape == expected.shape, "%s: shape %s, expected %s" % (what, got.shape,
                                                                       expected.shape)
    assert got.dtype == expected.dtype, "%s: dtype %s, expected %s" % (what, got.dtype,
                                                                       expected.dtype)
    g = got.astype(np.float64)
    e = expected.astype(np.float64)
    ok = np.isclose(g, e, rtol=rtol, atol=atol, equal_nan=True)
    if not ok.all():
        err = np.abs(g - e)[~ok]
        raise AssertionError("%s: %d/%d elements differ (max abs err %.3g; rtol %g atol %g)"
                             % (what, (~ok).sum(), ok.size, err.max(), rtol, atol))


def _ids(cases):
    return [c["id"] for c in cases]


# ----------------------------------------------------------------------------- optimizers

@pytest.mark.parametrize("case", MANIFEST["optimizers"], ids=_ids(MANIFEST["optimizers"]))
def test_optimizer_trajectory(case):
    import mixnet as mx
    optimizer, lr_scheduler = _api("optimizer"), _api("lr_scheduler")
    arrays = _npz(MANIFEST["files"]["optimizers"])
    dtype = case["dtype"]
    kwargs = dict(case["kwargs"])
    if case["lr_scheduler"] is not None:
        spec = case["lr_scheduler"]
        kwargs["lr_scheduler"] = getattr(lr_scheduler, spec["class"])(**spec["kwargs"])
    idx2name = {int(k): v for k, v in case["idx2name"].items()}
    if case["lr_scheduler"] is not None and "learning_rate" in kwargs:
        # MXNet warns that learning_rate replaces the scheduler's base_lr
        with pytest.warns(UserWarning, match="overwritten"):
            opt = optimizer.create(case["name"], param_idx2name=idx2name, **kwargs)
    else:
        opt = optimizer.create(case["name"], param_idx2name=idx2name, **kwargs)
    if case["lr_mult"]:
        opt.set_lr_mult(case["lr_mult"])
    updater = optimizer.get_updater(opt)
    keys = case["keys"]
    weights = [mx.nd.array(arrays[k], dtype=dtype) for k in keys["init"]]
    for t in range(case["steps"]):
        for i, w in enumerate(weights):
            updater(i, mx.nd.array(arrays[keys["grads"][t][i]], dtype=dtype), w)
        for i, w in enumerate(weights):
            if case["runs_only"]:
                # SGLD adds Gaussian noise: MXNet's draws cannot be reproduced, so only
                # check that it ran, kept shape/dtype and moved the weight
                got = w.asnumpy()
                init = arrays[keys["init"][i]]
                assert got.shape == init.shape and got.dtype == init.dtype
                assert np.isfinite(got).all() and not np.array_equal(got, init)
            else:
                _assert_close(w, arrays[keys["weights"][t][i]], case["rtol"], case["atol"],
                              "%s step %d %s" % (case["id"], t, idx2name[i]))


# --------------------------------------------------------------------------- lr_scheduler

@pytest.mark.parametrize("case", MANIFEST["lr_scheduler"], ids=_ids(MANIFEST["lr_scheduler"]))
def test_lr_scheduler(case):
    lr_scheduler = _api("lr_scheduler")
    sched = getattr(lr_scheduler, case["class"])(**case["kwargs"])
    tol = MANIFEST["default_tolerances"]["float64"]
    got = [float(sched(n)) for n in case["num_update"]]
    bad = [(n, g, e) for n, g, e in zip(case["num_update"], got, case["lr"])
           if not math.isclose(g, e, rel_tol=tol["rtol"], abs_tol=tol["atol"])]
    assert not bad, "%s: (num_update, got, expected) %s" % (case["id"], bad[:5])


# -------------------------------------------------------------------------------- metrics

def _check_name_value(got, expected, case, what):
    name, value = got
    assert name == expected[0], "%s %s: name %r, expected %r" % (case["id"], what, name,
                                                                 expected[0])
    assert math.isclose(float(value), expected[1], rel_tol=case["rtol"], abs_tol=case["atol"]), \
        "%s %s: %r, expected %r" % (case["id"], what, value, expected[1])


@pytest.mark.parametrize("case", MANIFEST["metrics"], ids=_ids(MANIFEST["metrics"]))
def test_metric(case):
    import mixnet as mx
    metric_mod = _api("metric")
    arrays = _npz(MANIFEST["files"]["metrics"])
    metric = metric_mod.create(case["name"], **case["kwargs"])

    def feed(b):
        keys = case["batches"][b]
        metric.update([mx.nd.array(arrays[keys["label"]])], [mx.nd.array(arrays[keys["pred"]])])

    for b in range(2):
        feed(b)
        _check_name_value(metric.get(), case["get"][b], case, "get() after batch %d" % b)
    metric.reset_local()
    feed(2)
    _check_name_value(metric.get(), case["get"][2], case, "get() after reset_local + batch 2")
    _check_name_value(metric.get_global(), case["get_global"], case, "get_global()")


# --------------------------------------------------------------------------- initializers

def _initializer_from_dumps(init_mod, text):
    """Rebuild an initializer from MXNet's ``dumps()`` JSON (class looked up by lower-cased name)."""
    name, kwargs = json.loads(text)
    classes = {n.lower(): getattr(init_mod, n) for n in dir(init_mod)
               if isinstance(getattr(init_mod, n), type)}
    return classes[name](**kwargs)


_INIT = MANIFEST["initializers"]


@pytest.mark.parametrize("case", _INIT["calls"], ids=_ids(_INIT["calls"]))
def test_initializer_call(case):
    import mixnet as mx
    init_mod = _api("init")
    if case.get("mixed"):
        spec = case["mixed"]
        parts = [_initializer_from_dumps(init_mod, s) for s in spec["initializers"]]
        init = init_mod.Mixed(spec["patterns"], parts)
    else:
        init = _initializer_from_dumps(init_mod, case["initializer"])
    arr = mx.nd.full(tuple(case["shape"]), 7.0)
    desc = init_mod.InitDesc(case["name"], attrs=case["attrs"])
    if case["raises"]:
        # MXNet raises ValueError for an unknown name; mixnet may use its MXNetError
        with pytest.raises((ValueError, mx.MXNetError)):
            init(desc, arr)
        return
    init(desc, arr)
    tol = MANIFEST["default_tolerances"]["float32"]
    _assert_close(arr, _npz(MANIFEST["files"]["initializers"])[case["expected"]],
                  tol["rtol"], tol["atol"], case["id"])


@pytest.mark.parametrize("case", _INIT["dumps"], ids=_ids(_INIT["dumps"]))
def test_initializer_dumps(case):
    init_mod = _api("init")
    kwargs = dict(case["kwargs"])
    for k in case["initializer_kwargs"]:
        kwargs[k] = _initializer_from_dumps(init_mod, kwargs[k])
    obj = getattr(init_mod, case["class"])(**kwargs)
    # the exact string matters: it is stored in symbol JSON ``__init__`` attributes
    assert obj.dumps() == case["dumps"]


# --------------------------------------------------------------------------------- module

_MODULE_RUNS = [(net, run) for net in MANIFEST["module"] for run in net["runs"]]


def _context(mx, names):
    ctxs = [mx.cpu(int(n[len("cpu("):-1])) for n in names]
    return ctxs[0] if len(ctxs) == 1 else ctxs


@pytest.mark.parametrize("net,run", _MODULE_RUNS,
                         ids=["%s-%s" % (n["id"], r["id"]) for n, r in _MODULE_RUNS])
def test_module_trajectory(net, run):
    import mixnet as mx
    mod_api, io = _api("mod"), _api("io")
    arrays = _npz(net["expected"])
    rtol, atol = net["rtol"], net["atol"]
    sym = mx.sym.load(str(FIXDIR / net["symbol_file"]))
    data, label = arrays[net["data_key"]], arrays[net["label_key"]]
    bs = net["batch_size"]

    mod = mod_api.Module(sym, data_names=net["data_names"], label_names=net["label_names"],
                         context=_context(mx, run["context"]))
    mod.bind(data_shapes=[(net["data_names"][0], tuple(net["data_shape"]))],
             label_shapes=[(net["label_names"][0], tuple(net["label_shape"]))])
    mod.init_params(arg_params={k: mx.nd.array(arrays[v]) for k, v in net["init_params"].items()},
                    aux_params={})
    mod.init_optimizer(kvstore=net["kvstore"], optimizer=net["optimizer"],
                       optimizer_params=dict(net["optimizer_params"]))
    for b in range(net["num_batches"]):
        rows = slice(b * bs, (b + 1) * bs)
        batch = io.DataBatch(data=[mx.nd.array(data[rows])], label=[mx.nd.array(label[rows])])
        mod.forward_backward(batch)
        if b == 0:
            outs = mod.get_outputs()
            assert len(outs) == len(run["first_outputs"])
            for i, key in enumerate(run["first_outputs"]):
                _assert_close(outs[i], arrays[key], rtol, atol, "first forward output %d" % i)
        mod.update()
        args, _ = mod.get_params()
        assert sorted(args) == sorted(run["params"][b])
        for name, key in run["params"][b].items():
            _assert_close(args[name], arrays[key], rtol, atol, "%s after step %d" % (name, b))

    score = mod.score(io.NDArrayIter(data, label, batch_size=bs, shuffle=False), "acc")
    assert [n for n, _ in score] == [n for n, _ in run["score"]]
    for (_, got), (_, expected) in zip(score, run["score"]):
        assert math.isclose(float(got), expected, rel_tol=rtol, abs_tol=atol)
    pred = mod.predict(io.NDArrayIter(data[:bs], batch_size=bs, shuffle=False))
    _assert_close(pred, arrays[run["predict"]], rtol, atol, "predict")


def test_module_symbols_match_mx_sym_construction():
    """The recorded JSON describes the nets the fixtures name (arguments in MXNet's order)."""
    import mixnet as mx
    for net in MANIFEST["module"]:
        sym = mx.sym.load(str(FIXDIR / net["symbol_file"]))
        args = sym.list_arguments()
        assert args[0] == "data" and args[-1] == "softmax_label"
        assert sorted(a for a in args if a not in ("data", "softmax_label")) == \
            net["param_names"]
        assert sym.list_outputs() == ["softmax_output"]


# ---------------------------------------------------------------------------- ndarrayiter

@pytest.mark.parametrize("case", MANIFEST["ndarrayiter"], ids=_ids(MANIFEST["ndarrayiter"]))
def test_ndarrayiter(case):
    io = _api("io")
    it = io.NDArrayIter(np.array(case["data"], dtype=np.float32),
                        np.array(case["label"], dtype=np.float32),
                        batch_size=case["batch_size"], shuffle=case["shuffle"],
                        last_batch_handle=case["last_batch_handle"])
    assert [[d.name, list(d.shape)] for d in it.provide_data] == case["provide"]["data"]
    assert [[d.name, list(d.shape)] for d in it.provide_label] == case["provide"]["label"]
    for e, expected in enumerate(case["epochs"]):
        got = [{"data": b.data[0].asnumpy().tolist(), "label": b.label[0].asnumpy().tolist(),
                "pad": b.pad} for b in it]
        assert got == expected, "%s epoch %d" % (case["id"], e)
        it.reset()
