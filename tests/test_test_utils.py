"""Tests for mixnet.test_utils (the comparison, random-data and oracle helpers) and for the
suite-wide fixtures in tests/conftest.py (seeding, ``ctx``, the engine-error check)."""
from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import mixnet as mx
import mixnet.test_utils as tu
from mixnet.base import MXNetError
from mixnet.ndarray import dispatch
from mixnet.ndarray.ndarray import NDArray
from mixnet.operator import registry

REPO = Path(__file__).resolve().parent.parent


# ----------------------------------------------------------------- contexts and dtypes
def test_default_context_and_dtype():
    assert tu.default_context() == mx.current_context() == mx.cpu(0)
    tu.set_default_context(mx.cpu(3))
    try:
        assert tu.default_context() == mx.cpu(3)
        assert tu.rand_ndarray((2,)).context == mx.cpu(3)
    finally:
        tu.set_default_context(None)
    assert tu.default_context() == mx.cpu(0)
    assert tu.default_dtype() == np.float32
    with pytest.raises(MXNetError, match="Context"):
        tu.set_default_context("gpu")


def test_list_gpus():
    assert tu.list_gpus() == range(mx.context.num_gpus())


# ----------------------------------------------------------------- tolerances
@pytest.mark.parametrize("dtype, rtol, atol", [
    (np.float16, 1e-2, 1e-2), (np.float32, 1e-4, 1e-5), (np.float64, 1e-6, 1e-8),
    ("bfloat16", 2e-2, 2e-2), (np.int32, 0.0, 0.0), (np.uint8, 0.0, 0.0), (np.bool_, 0.0, 0.0),
])
def test_default_tolerances(dtype, rtol, atol):
    assert tu.get_tolerance(dtype) == (rtol, atol)
    assert tu.get_rtol(None, dtype) == rtol and tu.get_atol(None, dtype) == atol
    assert tu.get_rtol(0.5, dtype) == 0.5 and tu.get_atol(0.25, dtype) == 0.25
    if dtype != "bfloat16":
        assert tu.default_rtols()[np.dtype(dtype)] == rtol
        assert tu.default_atols()[np.dtype(dtype)] == atol


def test_tolerance_follows_the_less_precise_side():
    x64 = np.ones(3)
    assert tu.get_tols(x64, x64) == (1e-6, 1e-8)
    assert tu.get_tols(x64.astype(np.float16), x64) == (1e-2, 1e-2)
    assert tu.get_tols(mx.nd.array(x64), x64) == (1e-4, 1e-5)  # NDArray default float32
    assert tu.get_tols(x64, x64, rtol=3.0) == (3.0, 1e-8)


def test_defaults_depend_on_dtype():
    b = np.array([1.0, 2.0, 3.0])
    a = b * (1 + 5e-5)  # within float32's rtol, far outside float64's
    tu.assert_almost_equal(a.astype(np.float32), b.astype(np.float32))
    assert not tu.almost_equal(a, b)
    with pytest.raises(AssertionError):
        tu.assert_almost_equal(a, b)
    tu.assert_almost_equal(a, b, rtol=1e-4)
    assert tu.almost_equal((b * 1.005).astype(np.float16), b.astype(np.float16))


# ----------------------------------------------------------------- assert_almost_equal
def test_assert_almost_equal_accepts_ndarrays_numpy_and_numbers():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    tu.assert_almost_equal(mx.nd.array(x), x)
    tu.assert_almost_equal(x, mx.nd.array(x))
    tu.assert_almost_equal(mx.nd.array([2.5]), 2.5)  # a number broadcasts
    tu.assert_almost_equal(np.float32(4), 4)
    tu.assert_almost_equal([[0, 1, 2], [3, 4, 5]], x)
    assert tu.assert_allclose is tu.assert_almost_equal


def test_assert_almost_equal_message():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = a.copy()
    b[1, 2] = 7.5
    with pytest.raises(AssertionError) as info:
        tu.assert_almost_equal(a, b, names=("got", "want"))
    msg = str(info.value)
    assert "got and want are not almost equal" in msg
    assert "rtol=0.0001" in msg and "atol=1e-05" in msg  # float32 defaults
    assert "got (2, 3) float32" in msg and "want (2, 3) float32" in msg
    assert "mismatched elements: 1 of 6" in msg
    assert "index (1, 2) (got=5, want=7.5)" in msg
    assert "max abs error 2.5 at index (1, 2)" in msg
    assert "max rel error 0.333333333 at index (1, 2)" in msg
    assert "|got-want| = 2.5 > atol + rtol*|want| = 0.00076" in msg


def test_assert_almost_equal_explicit_tolerances_in_message():
    with pytest.raises(AssertionError, match=r"rtol=0\.5, atol=0\.125"):
        tu.assert_almost_equal([1.0, 10.0], [1.0, 30.0], rtol=0.5, atol=0.125)
    tu.assert_almost_equal([1.0, 10.0], [1.0, 15.0], rtol=0.5, atol=0.125)


def test_assert_almost_equal_shape_mismatch():
    with pytest.raises(AssertionError, match=r"different shapes: \(2, 3\) float32 vs \(3, 2\)"):
        tu.assert_almost_equal(np.zeros((2, 3), np.float32), np.zeros((3, 2), np.float32))
    assert not tu.almost_equal(np.zeros((2, 3)), np.zeros((3, 2)))
    assert not tu.almost_equal(np.zeros((1, 3)), np.zeros(3))  # no silent broadcasting


def test_assert_almost_equal_nan_and_inf():
    a = np.array([1.0, np.nan, np.inf, -np.inf])
    tu.assert_almost_equal(a, a.copy(), equal_nan=True)
    assert not tu.almost_equal(a, a.copy())
    with pytest.raises(AssertionError, match=r"index \(1,\) \(a=nan, b=nan\)"):
        tu.assert_almost_equal(a, a.copy())
    with pytest.raises(AssertionError, match=r"max abs error inf at index \(1,\)"):
        tu.assert_almost_equal(np.array([1.0, np.inf]), np.array([1.0, 5.0]))


def test_integers_compare_exactly():
    big = np.array([2 ** 60, 3], dtype=np.int64)
    tu.assert_almost_equal(big, big.copy())
    with pytest.raises(AssertionError, match="rtol=0, atol=0"):
        tu.assert_almost_equal(big, big + np.array([1, 0]))  # lost in float64, caught here
    with pytest.raises(AssertionError):
        tu.assert_almost_equal(np.array([True, False]), np.array([True, True]))


def test_find_max_violation():
    idx, ratio = tu.find_max_violation(np.array([[1.0, 2.0], [3.0, 4.0]]),
                                       np.array([[1.0, 2.0], [3.5, 4.0]]), rtol=0.0, atol=0.1)
    assert idx == (1, 0) and ratio == pytest.approx(5.0)
    assert tu.find_max_violation([1.0], [1.0])[1] == 0.0


def test_same():
    x = np.arange(6, dtype=np.float32)
    assert tu.same(x, x.copy()) and tu.same(mx.nd.array(x), x)
    assert not tu.same(x, x.reshape(2, 3))
    assert not tu.same(x, x + 1e-7 * (x == 5))
    assert tu.same(1.0, 1)
    assert not tu.same(np.array([np.nan]), np.array([np.nan]))


def test_bfloat16_compares_by_value():
    bf = tu.rand_ndarray((5,), dtype="bfloat16")
    values = tu._numeric(bf.asnumpy())
    assert values.dtype == np.float32
    tu.assert_almost_equal(bf, values)
    tu.assert_almost_equal(bf, values * 1.01)  # bfloat16 tolerance applies


# ----------------------------------------------------------------- assert_exception
def test_assert_exception():
    def fails(x, scale=1):
        raise ValueError("bad %d" % (x * scale))

    err = tu.assert_exception(fails, ValueError, 2, scale=3)
    assert str(err) == "bad 6"
    with pytest.raises(AssertionError, match="did not raise ValueError"):
        tu.assert_exception(lambda: None, ValueError)
    with pytest.raises(KeyError):  # other exception types are not swallowed
        tu.assert_exception(lambda: {}["k"], ValueError)


def test_assert_exception_waits_for_asynchronous_errors():
    y = mx.nd.array([1.0, 2.0])

    def boom():
        raise ValueError("kernel failed")

    def pushes_failing_write():
        mx.engine.push(boom, mx.cpu(), (), (y._chunk,), name="planted")
        return y  # the call itself returns at once; the error is raised on the wait

    err = tu.assert_exception(pushes_failing_write, MXNetError)
    assert "planted" in str(err) and "kernel failed" in str(err)


# ----------------------------------------------------------------- random data
def test_rand_shapes_stay_in_bounds():
    seen = set()
    for _ in range(200):
        s = tu.rand_shape_nd(4, dim=3)
        assert len(s) == 4 and all(isinstance(d, int) and 1 <= d <= 3 for d in s)
        seen.update(s)
    assert seen == {1, 2, 3}
    assert all(0 <= d <= 2 for d in tu.rand_shape_nd(50, dim=2, allow_zero_size=True))
    s2, s3 = tu.rand_shape_2d(2, 5), tu.rand_shape_3d(1, 1, 4)
    assert len(s2) == 2 and 1 <= s2[0] <= 2 and 1 <= s2[1] <= 5
    assert s3[:2] == (1, 1) and 1 <= s3[2] <= 4


def test_rand_shapes_follow_the_numpy_seed():
    np.random.seed(7)
    first = [tu.rand_shape_nd(3) for _ in range(5)]
    np.random.seed(7)
    assert [tu.rand_shape_nd(3) for _ in range(5)] == first


@pytest.mark.parametrize("dtype", [None, np.float16, np.float64, np.int32, np.uint8, np.bool_])
def test_rand_ndarray(ctx, dtype):
    arr = tu.rand_ndarray((3, 4), dtype=dtype, ctx=ctx)
    assert isinstance(arr, NDArray) and arr.shape == (3, 4) and arr.context == ctx
    assert arr.stype == "default"
    assert arr.dtype == (np.float32 if dtype is None else dtype)
    values = arr.asnumpy()
    if dtype == np.uint8:
        assert values.max() <= 10
    elif dtype == np.int32:
        assert -10 <= values.min() and values.max() <= 10


def test_rand_ndarray_options():
    assert tu.rand_ndarray(5).shape == (5,)
    doubled = tu.rand_ndarray((4,), modifier_func=lambda v: np.abs(v) + 2)
    assert (doubled.asnumpy() >= 2).all()
    for stype in ("row_sparse", "csr"):
        with pytest.raises(MXNetError, match="sparse random arrays come"):
            tu.rand_ndarray((2, 2), stype=stype, density=0.5)
    with pytest.raises(MXNetError, match="unknown stype"):
        tu.rand_ndarray((2, 2), stype="dense")


def test_random_arrays():
    one = tu.random_arrays((2, 3))
    assert isinstance(one, np.ndarray) and one.shape == (2, 3) and one.dtype == np.float32
    many = tu.random_arrays((1,), (4, 2), ())
    assert [a.shape for a in many] == [(1,), (4, 2), ()]
    assert all(a.dtype == np.float32 for a in many)


# ----------------------------------------------------------------- environment
def test_environment_sets_and_restores():
    os.environ["MIXNET_TU_A"] = "old"
    os.environ.pop("MIXNET_TU_B", None)
    try:
        with tu.environment("MIXNET_TU_A", "new"):
            assert os.environ["MIXNET_TU_A"] == "new"
        assert os.environ["MIXNET_TU_A"] == "old"
        with tu.environment({"MIXNET_TU_A": None, "MIXNET_TU_B": 5}):
            assert "MIXNET_TU_A" not in os.environ and os.environ["MIXNET_TU_B"] == "5"
        assert os.environ["MIXNET_TU_A"] == "old" and "MIXNET_TU_B" not in os.environ
        with pytest.raises(RuntimeError):
            with tu.environment("MIXNET_TU_B", "x"):
                raise RuntimeError
        assert "MIXNET_TU_B" not in os.environ
    finally:
        os.environ.pop("MIXNET_TU_A", None)


# ----------------------------------------------------------------- check_op
def _reshape_ref(x, shape):
    return x.reshape(shape)


def test_check_op_reshape(ctx):
    x = tu.random_arrays((2, 3, 4))
    out = tu.check_op("reshape", [x], {"shape": (4, -1)}, reference=_reshape_ref, ctx=ctx,
                      bad_inputs=[([x], {"shape": (5, 5)}), ([x, x], {"shape": (24,)})])
    assert len(out) == 1 and out[0].shape == (4, 6)
    # the registered name, float64 inputs keep their dtype
    x64 = x.astype(np.float64)
    tu.check_op("Reshape", [x64], {"shape": (0, -3)}, reference=lambda x, shape: x.reshape(2, 12),
                ctx=ctx)


def test_check_op_with_fixture():
    x = np.arange(6, dtype=np.float32)
    fixture = {"outputs": [x.reshape(3, 2) + 1e-3], "rtol": 0.0, "atol": 2e-3}
    tu.check_op("reshape", [x], {"shape": (3, 2)}, fixture=fixture)
    with pytest.raises(AssertionError, match="vs fixture"):
        tu.check_op("reshape", [x], {"shape": (3, 2)}, fixture=fixture, atol=1e-4)
    with pytest.raises(ValueError, match="'outputs'"):
        tu.check_op("reshape", [x], {"shape": (3, 2)}, fixture={"output": x})


def test_check_op_catches_wrong_shape_dtype_and_values():
    x = tu.random_arrays((2, 3))
    p = {"shape": (3, 2)}
    with pytest.raises(AssertionError, match=r"output 0 has shape \(3, 2\), expected \(6,\)"):
        tu.check_op("reshape", [x], p, reference=lambda x, shape: x.reshape(-1))
    def as_float64(x, shape):
        return x.reshape(shape).astype(np.float64)

    with pytest.raises(AssertionError, match="output 0 has dtype float32, expected float64"):
        tu.check_op("reshape", [x], p, reference=as_float64)
    tu.check_op("reshape", [x], p, reference=as_float64, check_dtype=False)
    with pytest.raises(AssertionError, match="vs reference: output0 and expected0 are not"):
        tu.check_op("reshape", [x], p, reference=lambda x, shape: 2 * x.reshape(shape) + 1)
    with pytest.raises(AssertionError, match="returned 1 output"):
        tu.check_op("reshape", [x], p, reference=lambda x, shape: [x.reshape(shape)] * 2)
    with pytest.raises(ValueError, match="oracle"):
        tu.check_op("reshape", [x], p)
    with pytest.raises(MXNetError, match="unknown operator"):
        tu.check_op("no_such_op", [x], p, reference=_reshape_ref)


def test_check_op_fails_when_a_bad_input_does_not_raise():
    x = tu.random_arrays((2, 3))
    with pytest.raises(AssertionError, match=r"bad input case 1 .* did not raise MXNetError"):
        tu.check_op("reshape", [x], {"shape": (6,)}, reference=_reshape_ref,
                    bad_inputs=[([x], {"shape": (7,)}), ([x], {"shape": (3, 2)})])


def test_check_op_bad_input_error_must_name_the_op():
    def identity(*xs, **kw):
        if kw:
            raise MXNetError("something went wrong")  # says nothing about the op
        return xs[0]

    x = np.ones(2, np.float32)
    with pytest.raises(AssertionError, match="without naming the op"):
        tu.check_op(identity, [x], reference=lambda d: d, bad_inputs=[([x], {"bad": 1})])


def test_check_op_bad_input_must_raise_mxneterror():
    x = np.ones(2, np.float32)

    def wrong_type(*xs, **kw):
        if kw:
            raise TypeError("identity: not an MXNetError")
        return xs[0]

    wrong_type.__name__ = "identity"
    with pytest.raises(AssertionError, match="raised TypeError instead of MXNetError"):
        tu.check_op(wrong_type, [x], reference=lambda d: d, bad_inputs=[([x], {"k": 1})])


def test_check_op_elementwise_when_registered(ctx):
    if not hasattr(mx.nd, "exp") or not hasattr(mx.nd, "broadcast_add"):
        pytest.skip("mx.nd.exp / mx.nd.broadcast_add are not registered yet")
    x, y = tu.random_arrays((2, 3), (1, 3))
    tu.check_op("exp", [x], reference=np.exp, ctx=ctx)
    tu.check_op("broadcast_add", [x, y], reference=np.add, ctx=ctx,
                bad_inputs=[([x, np.ones((4, 3), np.float32)], None)])


# ----------------------------------------------------------------- gradients
def _f(x, y):
    return np.sin(x) * y


def _f_vjp(heads, x, y):
    (h,) = heads
    return [h * np.cos(x) * y, h * np.sin(x)]


def test_check_numeric_gradient_with_known_gradient():
    x, y = tu.random_arrays((3, 4), (3, 4))
    analytic, numeric = tu.check_numeric_gradient(_f, [x, y], vjp=_f_vjp)
    assert analytic == pytest.approx(numeric, rel=1e-2, abs=1e-3)
    tu.check_numeric_gradient(_f, [x.astype(np.float64), y], dtype=np.float64, rtol=1e-5,
                              vjp=_f_vjp)
    tu.check_numeric_gradient(_f, [x, y], grad_nodes=[1],
                              vjp=lambda h, x, y: [None, h[0] * np.sin(x)])


def test_check_numeric_gradient_catches_a_wrong_gradient():
    x, y = tu.random_arrays((3, 4), (3, 4))

    def wrong_vjp(heads, x, y):
        (h,) = heads
        return [h * np.cos(x) * y, 2 * h * np.sin(x)]  # input 1 is off by a factor 2

    with pytest.raises(AssertionError) as info:
        tu.check_numeric_gradient(_f, [x, y], vjp=wrong_vjp)
    lines = str(info.value).splitlines()
    assert "check_numeric_gradient(_f)" in lines[0]
    assert "wrong" not in lines[1] and lines[2].rstrip().endswith("<-- wrong")
    with pytest.raises(AssertionError, match=r"gradient of input 0 has shape \(4,\)"):
        tu.check_numeric_gradient(_f, [x, y], vjp=lambda h, x, y: [np.ones(4), x])


def test_check_numeric_gradient_argument_errors(monkeypatch):
    x = tu.random_arrays((2,))
    with pytest.raises(MXNetError, match="expected a callable.*Symbol"):
        tu.check_numeric_gradient("not a function", [x])
    with pytest.raises(MXNetError, match="aux_states"):
        tu.check_numeric_gradient(np.sin, [x], aux_states=[x], vjp=_f_vjp)
    with pytest.raises(MXNetError, match="grad_nodes"):
        tu.check_numeric_gradient(np.sin, [x], grad_nodes=[3], vjp=_f_vjp)
    monkeypatch.setattr(mx, "autograd", object(), raising=False)  # autograd "absent"
    with pytest.raises(MXNetError, match="mixnet.autograd"):
        tu.check_numeric_gradient(mx.nd.exp if hasattr(mx.nd, "exp") else np.exp, [x])


def test_numeric_grad():
    x = np.array([[1.0, -2.0], [0.5, 3.0]], np.float32)
    idx = np.array([0, 1])
    (g, g_idx) = tu.numeric_grad(lambda x, i: x ** 3 + i[0], [x, idx])
    tu.assert_almost_equal(g, 3 * x.astype(np.float64) ** 2, rtol=1e-6, atol=1e-6)
    assert g_idx is None
    heads = [np.full((2, 2), 2.0)]
    (g2,) = tu.numeric_grad(lambda x: np.exp(x), [x], heads=heads)
    tu.assert_almost_equal(g2, 2 * np.exp(x.astype(np.float64)), rtol=1e-6)


class _TapeAutograd:
    """Just enough of mixnet.autograd for check_op's gradient path on Reshape, built on the
    dispatch record hook: a tape of ops and a backward that reshapes head gradients back.
    ``scale`` plants a wrong gradient."""

    def __init__(self, scale: float = 1.0):
        self.scale = scale
        self.tape: list = []
        self.variables: list = []

    @contextlib.contextmanager
    def record(self, train_mode=True):
        prev_hook = dispatch.set_record_hook(
            lambda op, p, ins, outs: self.tape.append((op, ins, outs)))
        prev = registry.set_recording(True)
        try:
            yield
        finally:
            registry.set_recording(prev)
            dispatch.set_record_hook(prev_hook)

    def backward(self, heads, head_grads=None, retain_graph=False, train_mode=True):
        grads = {id(h): g.asnumpy() for h, g in zip(heads, head_grads)}
        for op, ins, outs in reversed(self.tape):
            assert op.name == "Reshape", "the fake only differentiates Reshape"
            if id(outs[0]) in grads:
                x = ins[0]
                back = self.scale * grads[id(outs[0])].reshape(x.shape)
                grads[id(x)] = grads.get(id(x), 0) + back
        for v in self.variables:
            self.grads[id(v)] = mx.nd.array(grads[id(v)], ctx=v.context, dtype=v.dtype)
        self.tape.clear()
        self.variables.clear()

    def install(self, monkeypatch):
        # gradients live in the fake, not in NDArray internals that autograd will own
        self.grads: dict = {}

        def attach_grad(arr, grad_req="write", stype=None):
            self.variables.append(arr)
        monkeypatch.setattr(mx, "autograd", self, raising=False)
        monkeypatch.setattr(NDArray, "attach_grad", attach_grad, raising=False)
        monkeypatch.setattr(NDArray, "grad", property(lambda arr: self.grads.get(id(arr))))


def test_check_op_gradient_path(monkeypatch):
    _TapeAutograd().install(monkeypatch)
    x = tu.random_arrays((2, 3))
    tu.check_op("reshape", [x], {"shape": (3, 2)}, reference=_reshape_ref)
    tu.check_op("reshape", [x.astype(np.float64)], {"shape": (6,)}, reference=_reshape_ref)


def test_check_op_gradient_catches_a_wrong_gradient(monkeypatch):
    _TapeAutograd(scale=2.0).install(monkeypatch)
    x = tu.random_arrays((2, 3))
    with pytest.raises(AssertionError, match=r"(?s)check_op\(reshape\) gradient: .*<-- wrong"):
        tu.check_op("reshape", [x], {"shape": (3, 2)}, reference=_reshape_ref)
    tu.check_op("reshape", [x], {"shape": (3, 2)}, reference=_reshape_ref, grad=False)


def test_check_op_skips_gradients_without_autograd(monkeypatch):
    monkeypatch.setattr(mx, "autograd", object(), raising=False)  # no record/backward
    x = tu.random_arrays((2, 3))
    tu.check_op("reshape", [x], {"shape": (3, 2)}, reference=_reshape_ref, grad=True)


def test_importing_test_utils_does_not_import_pytest():
    code = "import sys, mixnet.test_utils; assert 'pytest' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO,
                   env=dict(os.environ, PYTHONPATH=str(REPO)))


# ----------------------------------------------------------------- conftest fixtures
_INNER_TESTS = """
import numpy as np
import pytest
import mixnet as mx


def _boom():
    raise ValueError("planted engine error")


def test_seed_comes_from_env():
    assert np.random.randint(2 ** 30) == np.random.RandomState(1234).randint(2 ** 30)


def test_fails():
    assert False, "planted failure"


def test_leaks_engine_error():
    mx.engine.push(_boom, mx.cpu())


@pytest.mark.leaves_engine_errors
def test_leaves_engine_error_on_purpose():
    mx.engine.push(_boom, mx.cpu())


def test_next_test_starts_clean():
    mx.nd.waitall()


def test_ctx(ctx):
    assert ctx in (mx.cpu(), mx.gpu(0))
"""


def test_conftest_fixtures(tmp_path):
    (tmp_path / "conftest.py").write_text((REPO / "tests" / "conftest.py").read_text())
    (tmp_path / "test_inner.py").write_text(textwrap.dedent(_INNER_TESTS))
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    gpu: needs a GPU\n")
    env = dict(os.environ, PYTHONPATH=str(REPO), MXNET_TEST_SEED="1234")
    env.pop("PYTEST_ADDOPTS", None)
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs",
                          "-q", str(tmp_path)], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=120)
    out = run.stdout + run.stderr
    counts = {k: int(n) for n, k in re.findall(r"(\d+) (passed|failed|skipped|errors?)", out)}
    gpu = mx.context.num_gpus() > 0
    assert counts.get("failed") == 1, out
    assert counts.get("error") == 1, out  # the leak, reported at teardown
    assert counts.get("passed") == (6 if gpu else 5), out
    assert counts.get("skipped", 0) == (0 if gpu else 1), out
    assert "Test failed with MXNET_TEST_SEED=1234" in out
    assert "left an asynchronous engine error pending" in out
    assert "planted engine error" in out
    assert "no GPU visible" in out or gpu


# ----------------------------------------------------------------- symbolic helpers
# check_symbolic_forward / check_symbolic_backward / check_numeric_gradient in MXNet's
# Symbol form, run through the executor. Each helper is shown to pass on a correct symbol
# and to raise AssertionError on a wrong expectation.
def _fc_case(batch=3, nin=4, nout=5):
    data, weight, bias = tu.random_arrays((batch, nin), (nout, nin), (nout,))
    sym = mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=nout, name="fc")
    return sym, data, weight, bias


def test_check_symbolic_forward_fully_connected():
    sym, x, w, b = _fc_case()
    want = x @ w.T + b
    outs = tu.check_symbolic_forward(sym, [x, w, b], [want])
    assert isinstance(outs[0], NDArray) and outs[0].shape == (3, 5)
    tu.check_symbolic_forward(sym, {"fc_bias": b, "data": x, "fc_weight": w},
                              {"fc_output": want})
    x64, w64, b64 = (a.astype(np.float64) for a in (x, w, b))
    tu.check_symbolic_forward(sym, [x64, w64, b64], [x64 @ w64.T + b64], dtype=np.float64,
                              rtol=1e-10, atol=1e-12)
    with pytest.raises(AssertionError, match="EXPECTED_fc_output.*FORWARD_fc_output"):
        tu.check_symbolic_forward(sym, [x, w, b], [want + 0.1])
    with pytest.raises(AssertionError, match="different shapes"):
        tu.check_symbolic_forward(sym, [x, w, b], [want[:, :4]])


def test_check_symbolic_forward_batchnorm_uses_aux_states():
    x = tu.random_arrays((4, 3, 2, 2))
    gamma, beta = np.array([1.5, 0.5, 2.0], np.float32), np.array([0.1, -0.2, 0.3], np.float32)
    mean, var = np.array([0.2, -0.1, 0.0], np.float32), np.array([1.0, 4.0, 0.25], np.float32)
    sym = mx.sym.BatchNorm(mx.sym.Variable("data"), fix_gamma=False, eps=1e-3, name="bn")
    assert sym.list_auxiliary_states() == ["bn_moving_mean", "bn_moving_var"]
    c = (slice(None), slice(None), None, None)
    want = (x - mean[None][c]) / np.sqrt(var[None][c] + 1e-3) * gamma[None][c] + beta[None][c]
    tu.check_symbolic_forward(sym, [x, gamma, beta], [want], aux_states=[mean, var], atol=1e-5)
    tu.check_symbolic_forward(sym, [x, gamma, beta], [want], atol=1e-5,
                              aux_states={"bn_moving_var": var, "bn_moving_mean": mean})
    with pytest.raises(AssertionError, match="EXPECTED_bn_output"):
        # the batch statistics are not what inference uses
        tu.check_symbolic_forward(sym, [x, gamma, beta], [want], aux_states=[mean * 0, var])


def test_check_symbolic_backward_fully_connected_write_add_null():
    sym, x, w, b = _fc_case()
    h = tu.random_arrays((3, 5))
    grads = {"data": h @ w, "fc_weight": h.T @ x, "fc_bias": h.sum(0)}
    out = tu.check_symbolic_backward(sym, [x, w, b], [h], grads, rtol=1e-4, atol=1e-5)
    assert set(out) == {"data", "fc_weight", "fc_bias"} and isinstance(out["data"], NDArray)
    tu.check_symbolic_backward(sym, [x, w, b], [h], [grads["data"], grads["fc_weight"],
                                                      grads["fc_bias"]], rtol=1e-4, atol=1e-5)
    tu.check_symbolic_backward(sym, [x, w, b], {"fc_output": h}, grads, rtol=1e-4, atol=1e-5,
                               grad_req="add")
    tu.check_symbolic_backward(sym, [x, w, b], [h], grads, rtol=1e-4, atol=1e-5,
                               grad_req={"data": "null", "fc_weight": "add",
                                         "fc_bias": "write"})
    tu.check_symbolic_backward(sym, [x, w, b], [h], {"fc_weight": grads["fc_weight"]},
                               rtol=1e-4, atol=1e-5)  # only the gradients asked for
    tu.check_symbolic_backward(sym, [x, w, b], [h], grads, rtol=1e-4, atol=1e-5,
                               grad_req=["write", "add", "write"])
    wrong = dict(grads, fc_weight=2 * grads["fc_weight"])
    for req in ("write", "add"):
        with pytest.raises(AssertionError, match="EXPECTED_fc_weight.*BACKWARD_fc_weight"):
            tu.check_symbolic_backward(sym, [x, w, b], [h], wrong, rtol=1e-4, atol=1e-5,
                                       grad_req=req)


def test_check_symbolic_backward_null_checks_the_buffer_is_untouched():
    sym, x, w, b = _fc_case()
    h = tu.random_arrays((3, 5))
    # With grad_req 'null' the expectation is ignored and the buffer must keep its values
    tu.check_symbolic_backward(sym, [x, w, b], [h], {"data": np.zeros((3, 4))},
                               grad_req={"data": "null", "fc_weight": "write",
                                         "fc_bias": "write"})


def test_check_symbolic_backward_loss_output_without_out_grads():
    x = tu.random_arrays((4, 3))
    label = np.array([0, 2, 1, 2], np.float32)
    sym = mx.sym.SoftmaxOutput(mx.sym.Variable("data"), name="softmax")
    e = np.exp(x - x.max(1, keepdims=True))
    p = e / e.sum(1, keepdims=True)
    want = p - np.eye(3, dtype=np.float32)[label.astype(int)]
    tu.check_symbolic_forward(sym, {"data": x, "softmax_label": label}, [p])
    tu.check_symbolic_backward(sym, [x, label], None, {"data": want}, rtol=1e-4, atol=1e-6)
    with pytest.raises(AssertionError, match="EXPECTED_data"):
        tu.check_symbolic_backward(sym, [x, label], None, {"data": p}, rtol=1e-4, atol=1e-6)


def test_check_numeric_gradient_symbol_fully_connected():
    sym, x, w, b = _fc_case()
    analytic, numeric = tu.check_numeric_gradient(sym, [x, w, b])
    assert set(analytic) == set(numeric) == {"data", "fc_weight", "fc_bias"}
    tu.check_numeric_gradient(sym, {"data": x, "fc_weight": w, "fc_bias": b},
                              grad_nodes=["fc_weight"])
    tu.check_numeric_gradient(sym, [x, w, b], grad_nodes={"data": "add", "fc_weight": "write",
                                                          "fc_bias": "null"})
    tu.check_numeric_gradient(sym, [x, w, b], dtype=np.float64, rtol=1e-5, numeric_eps=1e-5)


def test_check_numeric_gradient_symbol_convolution():
    data, weight, bias = tu.random_arrays((1, 2, 4, 4), (3, 2, 3, 3), (3,))
    sym = mx.sym.Convolution(mx.sym.Variable("data"), kernel=(3, 3), pad=(1, 1), stride=(2, 1),
                             num_filter=3, name="conv")
    # linear in each argument, so a wide step has no truncation error and keeps float32
    # rounding (|out| * 2**-24 / eps) well under atol
    tu.check_numeric_gradient(sym, [data, weight, bias], numeric_eps=1e-2)


def test_check_numeric_gradient_symbol_batchnorm_with_aux():
    x = tu.random_arrays((4, 2, 2, 2))
    gamma = np.array([1.5, 0.7], np.float32)
    beta = np.array([0.1, -0.3], np.float32)
    aux = [np.array([0.2, -0.1], np.float32), np.array([1.0, 2.0], np.float32)]
    sym = mx.sym.BatchNorm(mx.sym.Variable("data"), fix_gamma=False, name="bn")
    # training mode: batch statistics, so the gradient flows through mean and variance
    tu.check_numeric_gradient(sym, [x, gamma, beta], aux_states=aux, numeric_eps=1e-2,
                              rtol=5e-2, atol=5e-3)
    # inference mode for the numeric side (the analytic side is always a training
    # forward, as in MXNet): beta's gradient is the same in both modes
    tu.check_numeric_gradient(sym, [x, gamma, beta], aux_states=aux, numeric_eps=1e-2,
                              rtol=5e-2, atol=5e-3, use_forward_train=False,
                              grad_nodes=["bn_beta"])


def test_check_numeric_gradient_symbol_mlp():
    data = mx.sym.Variable("data")
    net = mx.sym.FullyConnected(data, num_hidden=6, name="fc1")
    net = mx.sym.Activation(net, act_type="tanh", name="act1")
    net = mx.sym.FullyConnected(net, num_hidden=5, name="fc2")
    net = mx.sym.Activation(net, act_type="relu", name="relu2")
    net = mx.sym.FullyConnected(net, num_hidden=3, name="fc3")
    shapes = dict(zip(net.list_arguments(), net.infer_shape(data=(2, 4))[0]))
    loc = {k: np.random.uniform(-1, 1, s) for k, s in shapes.items()}
    # float64 and a tiny step: a ReLU input this close to its kink is practically impossible
    tu.check_numeric_gradient(net, loc, dtype=np.float64, numeric_eps=1e-6, rtol=1e-4,
                              atol=1e-6)
    tu.check_numeric_gradient(net, loc, grad_nodes=["fc1_weight", "fc3_bias"],
                              dtype=np.float64, numeric_eps=1e-6, rtol=1e-4, atol=1e-6)


def test_check_numeric_gradient_symbol_catches_a_wrong_gradient():
    x = tu.random_arrays((3, 4))
    data = mx.sym.Variable("data")
    # BlockGrad is the identity forward with a zero gradient: finite differences see 2,
    # the executor's backward 0, so the check must fail and name the argument
    sym = mx.sym.BlockGrad(data) * 2 + mx.sym.sin(data)
    with pytest.raises(AssertionError, match="NUMERICAL_data.*BACKWARD_data"):
        tu.check_numeric_gradient(sym, [x])
    with pytest.raises(AssertionError, match="NUMERICAL_data"):
        tu.check_numeric_gradient(sym, [x], grad_nodes={"data": "add"})
    tu.check_numeric_gradient(mx.sym.sin(data) * 2, [x])


def test_symbolic_helpers_argument_errors():
    sym, x, w, b = _fc_case()
    with pytest.raises(MXNetError, match="missing \\['fc_bias'\\]"):
        tu.check_symbolic_forward(sym, {"data": x, "fc_weight": w}, [x])
    with pytest.raises(MXNetError, match="2 array\\(s\\).*3 argument"):
        tu.check_symbolic_forward(sym, [x, w], [x])
    with pytest.raises(MXNetError, match="auxiliary"):
        tu.check_symbolic_forward(sym, [x, w, b], [x], aux_states=[x])
    with pytest.raises(MXNetError, match="grad_req 'sum' for argument data"):
        tu.check_symbolic_backward(sym, [x, w, b], [x], [x], grad_req="sum")
    with pytest.raises(MXNetError, match="nope.*not arguments"):
        tu.check_symbolic_backward(sym, [x, w, b], [x], {"nope": x})
    with pytest.raises(MXNetError, match="grad_nodes \\['nope'\\]"):
        tu.check_numeric_gradient(sym, [x, w, b], grad_nodes=["nope"])
    with pytest.raises(MXNetError, match="storage type 'row_sparse'"):
        tu.check_numeric_gradient(sym, [x, w, b], grad_stype_dict={"fc_weight": "row_sparse"})
    with pytest.raises(MXNetError, match="vjp"):
        tu.check_numeric_gradient(sym, [x, w, b], vjp=_f_vjp)
