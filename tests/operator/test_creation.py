"""Creation ops (``_zeros``, ``_ones``, ``_full``, ``_arange``, ``_eye``, ``_linspace``):
values, shapes, dtypes, devices and bad input, called through ``mx.nd.op`` and the
registry, as ``mx.nd.zeros`` etc. and Symbol JSON do.

Expected values are NumPy's, and for ``_arange``/``_eye`` those MXNet 1.9.1 wrote into the
shared fixtures (``ops/arange.npz``: start=1, stop=4, step=0.5; ``ops/eye.npz``: N=3, M=4,
k=1), spelled out here.
"""
from __future__ import annotations

import numpy as np
import pytest

import mixnet as mx
from mixnet.ndarray.dispatch import invoke
from mixnet.operator import registry

op = mx.nd.op


def run(name: str, **params):
    """Invoke a creation op by name with parameters in Python or MXNet string form."""
    opdef = registry.get(name)
    return invoke(opdef, (), opdef.parse_params(params))


# ------------------------------------------------------------------ zeros / ones / full
@pytest.mark.parametrize("name, value", [("_zeros", 0), ("_ones", 1)])
def test_zeros_ones_default_float32(name, value):
    x = run(name, shape=(2, 3))
    assert x.shape == (2, 3)
    assert x.dtype == np.float32
    np.testing.assert_array_equal(x.asnumpy(), np.full((2, 3), value, np.float32))


@pytest.mark.parametrize("dtype", ["float16", "float64", "uint8", "int8", "int32", "int64",
                                   "bool"])
def test_zeros_ones_dtypes(dtype):
    z = run("_zeros", shape=4, dtype=dtype)
    o = run("_ones", shape=(4,), dtype=dtype)
    assert z.dtype == np.dtype(dtype) and o.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(z.asnumpy(), np.zeros(4, dtype))
    np.testing.assert_array_equal(o.asnumpy(), np.ones(4, dtype))


def test_string_params_as_in_symbol_json():
    x = run("_ones", shape="(2, 2)", dtype="int32", ctx="cpu(0)")
    np.testing.assert_array_equal(x.asnumpy(), np.ones((2, 2), np.int32))
    y = run("_arange", start="1", stop="4", step="0.5")
    np.testing.assert_allclose(y.asnumpy(), [1, 1.5, 2, 2.5, 3, 3.5])


def test_generated_functions_take_ctx():
    x = op._zeros(shape=(2,), ctx="cpu(1)")
    assert x.context == mx.cpu(1)
    y = op._ones(shape=(3,), ctx=mx.cpu(2), dtype="float64")
    assert y.context == mx.cpu(2) and y.dtype == np.float64
    with mx.cpu(3):
        assert op._zeros(shape=(1,)).context == mx.cpu(3)


def test_zero_size_dims_allowed():
    assert run("_zeros", shape=(0, 3)).shape == (0, 3)


def test_full_values_and_casting():
    x = run("_full", shape=(2, 2), value=2.5)
    assert x.dtype == np.float32
    np.testing.assert_array_equal(x.asnumpy(), np.full((2, 2), 2.5, np.float32))
    # integer dtypes truncate like a C cast
    np.testing.assert_array_equal(run("_full", shape=3, value=2.7, dtype="int32").asnumpy(),
                                  [2, 2, 2])
    assert np.isnan(run("_full", shape=2, value=float("nan")).asnumpy()).all()


@pytest.mark.parametrize("params", [
    {"shape": (2, -1)},                  # negative dim
    {"shape": ()},                       # unknown shape: no 0-d arrays in MXNet 1.x
    {"shape": (2,), "foo": 1},           # unknown parameter
    {"shape": (2,), "dtype": "complex64"},
])
def test_zeros_bad_input(params):
    with pytest.raises(mx.MXNetError):
        run("_zeros", **params)


def test_full_bad_input():
    with pytest.raises(mx.MXNetError, match="required"):
        run("_full", shape=(2,))
    with pytest.raises(mx.MXNetError, match="cannot be represented"):
        run("_full", shape=(2,), value=float("nan"), dtype="int32")
    with pytest.raises(mx.MXNetError, match="cannot be represented"):
        run("_full", shape=(2,), value=300, dtype="uint8")


# ------------------------------------------------------------------ arange
def test_arange_fixture_values():
    x = run("_arange", start=1.0, stop=4.0, step=0.5)
    assert x.dtype == np.float32 and x.shape == (6,)
    np.testing.assert_array_equal(x.asnumpy(), np.float32([1.0, 1.5, 2.0, 2.5, 3.0, 3.5]))


@pytest.mark.parametrize("start, stop, step", [(0, 5, 1), (2, 11, 3), (5, 0, -1),
                                               (0, 1, 0.1), (-3.5, 2.25, 0.75),
                                               (10, -10, -2.5)])
def test_arange_matches_numpy(start, stop, step):
    x = run("_arange", start=start, stop=stop, step=step, dtype="float64")
    np.testing.assert_allclose(x.asnumpy(), np.arange(start, stop, step), rtol=0, atol=1e-12)


def test_arange_stop_none_counts_from_zero():
    np.testing.assert_array_equal(run("_arange", start=4).asnumpy(), [0, 1, 2, 3])


def test_arange_repeat_repeats_each_value():
    x = run("_arange", start=0, stop=3, repeat=2)
    np.testing.assert_array_equal(x.asnumpy(), [0, 0, 1, 1, 2, 2])
    x = run("_arange", start=1, stop=2, step=0.25, repeat=3)
    np.testing.assert_array_equal(x.asnumpy(), np.repeat(np.arange(1, 2, 0.25), 3))


def test_arange_integer_dtype_truncates_start_and_step():
    x = run("_arange", start=0, stop=10, step=2, dtype="int32")
    assert x.dtype == np.int32
    np.testing.assert_array_equal(x.asnumpy(), [0, 2, 4, 6, 8])
    # the length comes from the float range, the values from the truncated step (as
    # MXNet and NumPy both do)
    np.testing.assert_array_equal(run("_arange", start=0, stop=5, step=1.5,
                                      dtype="int64").asnumpy(),
                                  np.arange(0, 5, 1.5, dtype=np.int64))


@pytest.mark.parametrize("params", [
    {"start": 0},                                 # empty range
    {"start": 5, "stop": 0},                      # wrong direction
    {"start": 0, "stop": 5, "step": 0},
    {"start": 0, "stop": 5, "repeat": 0},
    {"start": 0, "stop": float("inf")},
    {"start": 0, "infer_range": True},            # needs a Symbol context to infer stop
])
def test_arange_bad_input(params):
    with pytest.raises(mx.MXNetError):
        run("_arange", **params)


# ------------------------------------------------------------------ eye
def test_eye_fixture_values():
    x = run("_eye", N=3, M=4, k=1)
    assert x.dtype == np.float32
    np.testing.assert_array_equal(x.asnumpy(), np.float32([[0, 1, 0, 0], [0, 0, 1, 0],
                                                           [0, 0, 0, 1]]))


@pytest.mark.parametrize("N, M, k", [(3, 0, 0), (2, 5, -1), (4, 2, -2), (3, 3, 5)])
def test_eye_matches_numpy(N, M, k):
    x = run("_eye", N=N, M=M, k=k, dtype="int32")
    assert x.dtype == np.int32
    np.testing.assert_array_equal(x.asnumpy(), np.eye(N, M or N, k, dtype=np.int32))


def test_eye_bad_input():
    with pytest.raises(mx.MXNetError):
        run("_eye", N=-1)
    with pytest.raises(mx.MXNetError, match="required"):
        run("_eye")


# ------------------------------------------------------------------ linspace
@pytest.mark.parametrize("start, stop, num, endpoint", [(0, 1, 5, True), (0, 1, 5, False),
                                                        (-2, 3, 11, True), (3, 1, 4, True),
                                                        (1, 2, 1, True), (1, 2, 1, False)])
def test_linspace_matches_numpy(start, stop, num, endpoint):
    x = run("_linspace", start=start, stop=stop, num=num, endpoint=endpoint)
    assert x.dtype == np.float32 and x.shape == (num,)
    np.testing.assert_allclose(x.asnumpy(), np.linspace(start, stop, num, endpoint=endpoint),
                               rtol=1e-6, atol=1e-7)


def test_linspace_integer_dtype_truncates():
    x = run("_linspace", start=0, stop=1, num=5, dtype="int32")
    np.testing.assert_array_equal(x.asnumpy(), [0, 0, 0, 0, 1])


def test_linspace_bad_input():
    with pytest.raises(mx.MXNetError):
        run("_linspace", start=0, stop=1, num=-1)
    with pytest.raises(mx.MXNetError, match="required"):
        run("_linspace", start=0, stop=1)


def test_out_must_match():
    opdef = registry.get("_zeros")
    out = mx.nd.array(np.ones((2, 2), np.float32))
    invoke(opdef, (), opdef.parse_params({"shape": (2, 2)}), out=out)
    np.testing.assert_array_equal(out.asnumpy(), np.zeros((2, 2)))
    with pytest.raises(mx.MXNetError):
        invoke(opdef, (), opdef.parse_params({"shape": (3,)}), out=out)


# ------------------------------------------------------------------ gradients
@pytest.mark.parametrize("name", ["_zeros", "_ones", "_full", "_arange", "_eye", "_linspace"])
def test_creation_ops_have_an_empty_zero_gradient(name):
    """No inputs, nothing to differentiate: the rule exists (a graph holding the op
    backpropagates) and returns no input gradients."""
    from mixnet.operator.gradient import zero_grad
    opdef = registry.get(name)
    assert opdef.gradient is zero_grad
    assert opdef.gradient(None, None, [], [None], [None]) == []


def test_created_constants_in_a_recorded_graph():
    x = mx.nd.array([1.0, 2.0, 3.0])
    x.attach_grad()
    with mx.autograd.record():
        y = x * op._arange(start=0, stop=3) + op._full(shape=(3,), value=2.0)
    y.backward()
    np.testing.assert_array_equal(x.grad.asnumpy(), [0.0, 1.0, 2.0])
