"""mx.nd.save / load / load_frombuffer against files written by MXNet 1.9.1."""
import json
import random
from pathlib import Path

import numpy as np
import pytest

import mixnet as mx

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "mxnet-1.9.1" / "ndarray"
MANIFEST = json.loads((FIX / "manifest.json").read_text())["ndarray"]


def _scope(entry):
    return mx.util.np_shape(True) if entry["np_shape"] else mx.util.np_shape(False)


@pytest.mark.parametrize("entry", MANIFEST, ids=[e["id"] for e in MANIFEST])
def test_fixture_loads_and_resaves_byte_for_byte(entry, tmp_path):
    src = FIX / Path(entry["file"]).name
    with np.load(FIX / Path(entry["expected"]).name) as z:
        expected = {k: z[k] for k in z.files}
    with _scope(entry):
        data = mx.nd.load(str(src))
    if entry["kind"] == "dict":
        assert isinstance(data, dict) and list(data) == [a["name"] for a in entry["arrays"]]
        arrays = [data[a["name"]] for a in entry["arrays"]]
    else:
        assert isinstance(data, list) and len(data) == len(entry["arrays"])
        arrays = data
    for spec, arr in zip(entry["arrays"], arrays):
        assert arr.stype == spec["stype"]
        dense = arr.tostype("default") if spec["stype"] != "default" else arr
        got = dense.asnumpy()
        want = expected[spec["key"]]
        assert got.shape == tuple(spec["shape"]) and str(got.dtype) == spec["dtype"]
        assert got.tobytes() == want.tobytes()  # bit-exact, NaN payloads included
        if spec["stype"] == "csr":
            assert arr.indptr.asnumpy().tolist() == expected[spec["key"] + ".__indptr"].tolist()
        if spec["stype"] != "default":
            assert arr.indices.asnumpy().tolist() == expected[spec["key"] + ".__indices"].tolist()
    out = tmp_path / "resave.nd"
    with _scope(entry):
        mx.nd.save(str(out), data)
    assert out.read_bytes() == src.read_bytes()


def test_save_forms_and_empty_containers(tmp_path):
    a = mx.nd.array([[1, 2, 3], [4, 5, 6]])
    f = tmp_path / "x.params"
    mx.nd.save(f, a)  # PathLike accepted; a bare array saves as a list of one
    (loaded,) = mx.nd.load(f)
    assert loaded.asnumpy().tolist() == a.asnumpy().tolist()
    mx.nd.save(str(f), {"w": a})
    assert f.read_bytes()[-9:] == b"\x01\x00\x00\x00\x00\x00\x00\x00w"
    mx.nd.save(str(f), {})
    assert f.read_bytes() == (b"\x12\x01" + b"\x00" * 6) + b"\x00" * 24
    assert mx.nd.load(str(f)) == []


def test_roundtrip_all_dtypes_and_contexts(tmp_path):
    f = str(tmp_path / "all.nd")
    arrays = {}
    for dt in ["float32", "float64", "float16", "uint8", "int32", "int8", "int64", "bool"]:
        arrays[dt] = mx.nd.array(np.arange(6).reshape(2, 3) % 2, dtype=dt)
    arrays["on_cpu3"] = mx.nd.array([1, 2], ctx=mx.cpu(3))
    mx.nd.save(f, arrays)
    back = mx.nd.load(f)
    for k, v in arrays.items():
        assert back[k].dtype == v.dtype and np.array_equal(back[k].asnumpy(), v.asnumpy())
        assert back[k].context == mx.cpu(0)  # MXNet loads every CPU kind onto cpu(0)
    raw = open(f, "rb").read()
    assert b"\x01\x00\x00\x00\x03\x00\x00\x00" in raw  # the array's own context is written


def test_load_frombuffer_matches_load():
    raw = (FIX / "list.nd").read_bytes()
    a = mx.nd.load_frombuffer(raw)
    b = mx.nd.load(str(FIX / "list.nd"))
    assert [x.shape for x in a] == [x.shape for x in b]


def test_bad_input_is_rejected_without_touching_the_file(tmp_path):
    f = tmp_path / "keep.params"
    mx.nd.save(str(f), [mx.nd.array([1])])
    before = f.read_bytes()
    with pytest.raises(mx.MXNetError, match="keys must be str"):
        mx.nd.save(str(f), {1: mx.nd.array([1])})
    with pytest.raises(mx.MXNetError, match="expected NDArray"):
        mx.nd.save(str(f), [mx.nd.array([1]), np.zeros(2)])
    with pytest.raises(mx.MXNetError, match="0-d"):
        mx.nd.save(str(f), [mx.nd.from_numpy(np.array(1.0, dtype=np.float32).reshape(()))])
    assert f.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.params"]


def test_corrupt_file_error_names_the_file(tmp_path):
    raw = (FIX / "dict.nd").read_bytes()
    f = tmp_path / "truncated.params"
    f.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(mx.MXNetError, match="truncated.params"):
        mx.nd.load(str(f))
    f.write_bytes(b"\x00" * 40)
    with pytest.raises(mx.MXNetError, match="truncated.params"):
        mx.nd.load(str(f))


def test_fuzz_mutated_params_only_raise_mxneterror(tmp_path):
    """1 000 mutated or truncated .params buffers through the public loader: each either
    loads or raises MXNetError, and nothing loaded is larger than its input."""
    rng = random.Random(20261122)
    seeds = [(FIX / n).read_bytes() for n in ("dict.nd", "list.nd", "single.nd")]
    f = tmp_path / "fuzz.params"
    for i in range(1000):
        buf = bytearray(rng.choice(seeds))
        kind = rng.randrange(4)
        if kind == 0:
            for _ in range(rng.randint(1, 8)):
                buf[rng.randrange(len(buf))] = rng.randrange(256)
        elif kind == 1:
            pos = rng.randrange(0, len(buf) - 8)
            buf[pos:pos + 8] = rng.choice([b"\xff" * 8, b"\x7f" + b"\xff" * 7, b"\x00" * 7 + b"\x80"])
        elif kind == 2:
            buf = buf[:rng.randrange(len(buf))]
        else:
            pos = rng.randrange(len(buf))
            buf[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        try:
            if i % 20 == 0:
                f.write_bytes(bytes(buf))
                data = mx.nd.load(str(f))
            else:
                data = mx.nd.load_frombuffer(bytes(buf))
        except mx.MXNetError:
            continue
        items = data.values() if isinstance(data, dict) else data
        for arr in items:
            if arr is not None:
                assert arr.size * np.dtype(arr.dtype).itemsize <= len(buf)
