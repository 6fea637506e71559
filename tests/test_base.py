"""base, context and backend: dtype flags, contexts, the array module per device."""
import numpy as np
import pytest

import mixnet as mx
from mixnet import backend
from mixnet.base import (BFLOAT16, dtype_flag, dtype_from_flag, dtype_name, getenv_int,
                         normalize_dtype)


def test_dtype_flags_match_mxnet():
    table = {"float32": 0, "float64": 1, "float16": 2, "uint8": 3, "int32": 4, "int8": 5,
             "int64": 6, "bool": 7, "bfloat16": 12}
    for name, flag in table.items():
        assert dtype_flag(name) == flag
        assert dtype_name(dtype_from_flag(flag)) == name
    assert normalize_dtype(None) == np.float32 and normalize_dtype(np.float64) == np.float64
    assert normalize_dtype("bfloat16") == BFLOAT16
    for bad in ("int16", "complex64", "uint32"):
        with pytest.raises(mx.MXNetError, match="not supported"):
            normalize_dtype(bad)
    with pytest.raises(mx.MXNetError, match="type flag 9"):
        dtype_from_flag(9)


def test_getenv_int_reads_at_call_time(monkeypatch):
    monkeypatch.setenv("MIXNET_TEST_KNOB", "7")
    assert getenv_int("MIXNET_TEST_KNOB", 1) == 7
    monkeypatch.setenv("MIXNET_TEST_KNOB", "x")
    with pytest.raises(mx.MXNetError, match="MIXNET_TEST_KNOB"):
        getenv_int("MIXNET_TEST_KNOB", 1)


def test_context_values_and_scope():
    assert mx.cpu() == mx.Context("cpu", 0) == mx.Context(mx.cpu())
    assert mx.cpu(1) != mx.cpu(0) and mx.gpu(0) != mx.cpu(0)
    assert {mx.cpu(0): 1}[mx.Context("cpu")] == 1
    assert str(mx.cpu_pinned(1)) == "cpu_pinned(1)" and mx.gpu(3).device_typeid == 2
    assert mx.current_context() == mx.cpu(0)
    with mx.gpu(1):
        assert mx.current_context() == mx.gpu(1)
        with mx.cpu(2):
            assert mx.current_context() == mx.cpu(2)
        assert mx.current_context() == mx.gpu(1)
    assert mx.current_context() == mx.cpu(0)
    with pytest.raises(mx.MXNetError, match="unknown device type"):
        mx.Context("tpu")


def test_backend_array_module():
    assert backend.array_module(mx.cpu(3)) is np
    assert backend.array_module(mx.cpu_pinned()) is np
    if mx.context.num_gpus() == 0:
        with pytest.raises(mx.MXNetError, match=r"mixnet\[gpu\]|GPU"):
            backend.array_module(mx.gpu(0))


@pytest.mark.gpu
def test_gpu_arrays_round_trip(ctx):
    x = mx.nd.array([[1, 2], [3, 4]], ctx=ctx)
    assert x.context == ctx
    np.testing.assert_array_equal((x + 1).asnumpy(), [[2, 3], [4, 5]])
    assert x.as_in_context(mx.cpu()).asnumpy().tolist() == [[1, 2], [3, 4]]


def test_top_level_aliases():
    assert mx.nd is mx.ndarray and mx.rnd is mx.random
    assert mx.__version__ == "1.9.1"
    assert issubclass(mx.MXNetError, Exception)
