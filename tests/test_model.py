"""``mx.model`` checkpoints (``mixnet/model.py``): MXNet 1.9.1 checkpoints load with the
right keys, values and outputs, and what we save loads back identically (symbol bytes
included)."""
import json
from pathlib import Path

import numpy as np
import pytest

import mixnet as mx

ROOT = Path(__file__).resolve().parent / "fixtures" / "mxnet-1.9.1"
CASES = json.loads((ROOT / "checkpoints" / "manifest.json").read_text())["checkpoints"]


@pytest.mark.parametrize("entry", CASES, ids=[e["id"] for e in CASES])
def test_load_mxnet_checkpoint(entry):
    sym, arg, aux = mx.model.load_checkpoint(str(ROOT / entry["prefix"]), entry["epoch"])
    assert sorted(arg) == sorted(entry["arg_params"]) and sorted(aux) == sorted(entry["aux_params"])
    with np.load(ROOT / entry["expected"]) as z:
        for k, key in list(entry["arg_params"].items()) + list(entry["aux_params"].items()):
            got = (arg.get(k) if k in arg else aux[k]).asnumpy()
            assert got.dtype == z[key].dtype and np.array_equal(got, z[key]), k
    assert sym.list_outputs() == entry["output_names"]


def test_save_then_load_roundtrip(tmp_path):
    entry = CASES[0]
    sym, arg, aux = mx.model.load_checkpoint(str(ROOT / entry["prefix"]), entry["epoch"])
    prefix = str(tmp_path / "m")
    mx.model.save_checkpoint(prefix, 7, sym, arg, aux)
    assert (tmp_path / "m-symbol.json").read_bytes() == \
        (ROOT / entry["symbol_file"]).read_bytes()
    sym2, arg2, aux2 = mx.model.load_checkpoint(prefix, 7)
    assert sym2.tojson() == sym.tojson() and sorted(arg2) == sorted(arg)
    for k in arg:
        assert np.array_equal(arg2[k].asnumpy(), arg[k].asnumpy())


def test_bad_checkpoint_files(tmp_path):
    mx.nd.save(str(tmp_path / "x-0001.params"), {"weird": mx.nd.ones((1,))})
    with pytest.raises(mx.MXNetError, match="neither arg"):
        mx.model.load_params(str(tmp_path / "x"), 1)
    with pytest.raises(mx.MXNetError, match="cannot read symbol file"):
        mx.model.load_checkpoint(str(tmp_path / "missing"), 1)
    with pytest.raises(mx.MXNetError, match="not an NDArray"):
        mx.model.save_checkpoint(str(tmp_path / "y"), 1, None, {"w": np.ones(2)}, {})
