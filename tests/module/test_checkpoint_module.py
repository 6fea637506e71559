"""The MXNet 1.9.1 checkpoints through the Module path MXNet users take:
``Module.load`` / ``load_checkpoint`` + ``set_params``, bind with ``DataDesc`` layouts
(the LM's ``TN`` inputs are time-major), forward, ``get_outputs``."""
import json
import os

import numpy as np
import pytest

import mixnet as mx

ROOT = os.path.join(os.path.dirname(__file__), "..", "fixtures", "mxnet-1.9.1")
CASES = json.load(open(os.path.join(ROOT, "checkpoints", "manifest.json")))["checkpoints"]


def _descs(shapes, layouts):
    return [mx.io.DataDesc(n, tuple(s), layout=layouts.get(n, "NCHW"))
            for n, s in shapes.items()]


def _batch(case, exp):
    data = [mx.nd.array(exp[case["data_keys"][n]]) for n in case["data_names"]]
    label = [mx.nd.array(exp[case["label_keys"][n]]) for n in case["label_names"]]
    return mx.io.DataBatch(data=data, label=label)


@pytest.mark.parametrize("how", ["set_params", "Module.load"])
@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_module_inference_matches_mxnet(case, how):
    prefix = os.path.join(ROOT, case["prefix"])
    exp = np.load(os.path.join(ROOT, case["expected"]))
    if how == "set_params":
        sym, arg, aux = mx.model.load_checkpoint(prefix, case["epoch"])
        mod = mx.mod.Module(sym, data_names=case["data_names"],
                            label_names=case["label_names"], context=mx.cpu())
    else:
        mod = mx.mod.Module.load(prefix, case["epoch"], data_names=case["data_names"],
                                 label_names=case["label_names"], context=mx.cpu())
    mod.bind(data_shapes=_descs(case["data_shapes"], case["layouts"]),
             label_shapes=_descs(case["label_shapes"], case["layouts"]), for_training=False)
    if how == "set_params":
        mod.set_params(arg, aux)
    mod.forward(_batch(case, exp), is_train=False)
    outs = mod.get_outputs()
    assert mod.output_names == case["output_names"]
    for o in case["outputs"]:
        got = outs[o["index"]].asnumpy()
        assert got.shape == tuple(o["shape"]) and str(got.dtype) == o["dtype"]
        np.testing.assert_allclose(got, exp[o["key"]], rtol=case["rtol"], atol=case["atol"])
