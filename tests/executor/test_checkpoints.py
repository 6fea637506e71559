"""Real MXNet 1.9.1 checkpoints (``tests/fixtures/mxnet-1.9.1/checkpoints``): load the
symbol and parameters, bind, and reproduce MXNet's inference outputs, training outputs and
argument gradients; the loaded symbol writes back the file's exact JSON text."""
import importlib.util
import json
import os

import numpy as np
import pytest

import mixnet as mx

ROOT = os.path.join(os.path.dirname(__file__), "..", "fixtures", "mxnet-1.9.1")
MANIFEST = json.load(open(os.path.join(ROOT, "checkpoints", "manifest.json")))
CASES = MANIFEST["checkpoints"]


def _load(case):
    sym = mx.sym.load(os.path.join(ROOT, case["symbol_file"]))
    params = mx.nd.load(os.path.join(ROOT, case["params_file"]))
    arg = {k[4:]: v for k, v in params.items() if k.startswith("arg:")}
    aux = {k[4:]: v for k, v in params.items() if k.startswith("aux:")}
    exp = np.load(os.path.join(ROOT, case["expected"]))
    inputs = {n: exp[k] for n, k in list(case["data_keys"].items())
              + list(case["label_keys"].items())}
    return sym, arg, aux, exp, inputs


def _close(got, want, rtol, atol):
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_allclose(got.astype("f8"), want.astype("f8"), rtol=rtol, atol=atol)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_checkpoint_inference(case):
    sym, arg, aux, exp, inputs = _load(case)
    assert sym.list_outputs() == case["output_names"]
    for name, key in case["arg_params"].items():
        np.testing.assert_array_equal(arg[name].asnumpy(), exp[key])
    # bind with explicit arrays: the parameters as loaded, the data and labels
    args = dict(arg)
    args.update({n: mx.nd.array(v, dtype=v.dtype) for n, v in inputs.items()})
    exe = sym.bind(mx.cpu(), args, grad_req="null", aux_states=aux)
    outs = exe.forward(is_train=False)
    for o in case["outputs"]:
        _close(outs[o["index"]].asnumpy(), exp[o["key"]], case["rtol"], case["atol"])
    # and through simple_bind + copy_params_from, with the shapes of the manifest
    shapes = dict(case["data_shapes"])
    shapes.update(case["label_shapes"])
    exe2 = sym.simple_bind(mx.cpu(), grad_req="null", **shapes)
    exe2.copy_params_from(arg, aux)
    outs2 = exe2.forward(is_train=False, **{n: mx.nd.array(v) for n, v in inputs.items()})
    for o in case["outputs"]:
        _close(outs2[o["index"]].asnumpy(), exp[o["key"]], case["rtol"], case["atol"])


@pytest.mark.parametrize("case", [c for c in CASES if c.get("grads")],
                         ids=[c["id"] for c in CASES if c.get("grads")])
def test_checkpoint_gradients(case):
    sym, arg, aux, exp, inputs = _load(case)
    shapes = dict(case["data_shapes"])
    shapes.update(case["label_shapes"])
    exe = sym.simple_bind(mx.cpu(), grad_req="write", **shapes)
    exe.copy_params_from(arg, aux)
    for n, v in inputs.items():
        exe.arg_dict[n][:] = v
    exe.forward(is_train=True)
    exe.backward()  # SoftmaxOutput: no head gradient needed
    for name, key in case["grads"].items():
        _close(exe.grad_dict[name].asnumpy(), exp[key], case["grad_rtol"], case["grad_atol"])
    if case.get("train_output_key"):
        _close(exe.outputs[0].asnumpy(), exp[case["train_output_key"]], case["rtol"],
               case["atol"])


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_checkpoint_json_roundtrip(case):
    if importlib.util.find_spec("mixnet.symbol.json_io") is None:
        pytest.skip("mixnet.symbol.json_io is not there yet")
    sym = mx.sym.load(os.path.join(ROOT, case["symbol_file"]))
    with open(os.path.join(ROOT, case["symbol_file"])) as f:
        assert sym.tojson() == f.read()
