"""NDArray: properties, copies, reshape, indexing, arithmetic semantics, views and the
engine's ordering of writes through views."""
import pickle
import threading

import numpy as np
import pytest

import mixnet as mx


def test_properties_and_float32_default():
    x = mx.nd.array(np.arange(6, dtype=np.int64).reshape(2, 3))
    assert x.shape == (2, 3) and x.size == 6 and x.ndim == 2
    assert x.dtype == np.float32  # MXNet: non-NDArray sources default to float32
    assert x.context == mx.cpu() and x.ctx == mx.cpu(0) and x.stype == "default"
    assert mx.nd.array(x).dtype == np.float32
    assert mx.nd.array([1, 2], dtype="int32").dtype == np.int32
    assert mx.nd.array(5).shape == (1,)  # no 0-d arrays
    assert x.T.shape == (3, 2)
    v = mx.nd.array([1, 2, 3])
    assert v.T is v


def test_asnumpy_asscalar_bool_len_iter():
    x = mx.nd.array([[1, 2], [3, 4]])
    np.testing.assert_array_equal(x.asnumpy(), [[1, 2], [3, 4]])
    assert mx.nd.array([7]).asscalar() == 7 and isinstance(mx.nd.array([7]).asscalar(), np.float32)
    with pytest.raises(mx.MXNetError, match="size 1"):
        x.asscalar()
    assert bool(mx.nd.array([1])) and not bool(mx.nd.array([0]))
    with pytest.raises(ValueError):
        bool(x)
    assert len(x) == 2
    assert [r.asnumpy().tolist() for r in x] == [[1, 2], [3, 4]]
    assert "<NDArray 2x2 @cpu(0)>" in repr(x)


def test_copy_copyto_as_in_context_astype():
    x = mx.nd.array([1.5, -2.5])
    y = x.copy()
    y[:] = 0
    assert x.asnumpy().tolist() == [1.5, -2.5]
    z = mx.nd.zeros((2,))
    assert x.copyto(z) is z and z.asnumpy().tolist() == [1.5, -2.5]
    assert x.copyto(mx.cpu(1)).context == mx.cpu(1)
    assert x.as_in_context(mx.cpu()) is x
    with pytest.raises(mx.MXNetError, match="shape"):
        x.copyto(mx.nd.zeros((3,)))
    i = x.astype("int32")
    assert i.dtype == np.int32 and i.asnumpy().tolist() == [1, -2]  # truncation toward 0
    assert x.astype(np.float32, copy=False) is x
    assert x.astype(np.float64, copy=False) is not x


def test_reshape_codes_and_views_share_memory():
    x = mx.nd.array(np.arange(24).reshape(2, 3, 4))
    assert x.reshape((4, 0, 2)).shape == (4, 3, 2)
    assert x.reshape(6, -1).shape == (6, 4)
    assert x.reshape((-4, 1, 2, -2)).shape == (1, 2, 3, 4)
    assert x.reshape((-3, 4)).shape == (6, 4)
    assert mx.nd.zeros((10, 5, 4)).reshape((-1, 0), reverse=True).shape == (50, 4)
    r = x.reshape(-1)
    r[0] = 100  # a view: the write shows through the parent
    assert x.asnumpy()[0, 0, 0] == 100
    with pytest.raises(mx.MXNetError, match="reshape"):
        x.reshape(5, 5)


def test_basic_indexing_views_and_no_0d():
    x = mx.nd.array(np.arange(24).reshape(2, 3, 4))
    assert x[1].shape == (3, 4) and x[1, 2].shape == (4,) and x[1, 2, 3].shape == (1,)
    assert mx.nd.array([4, 5, 6])[1].shape == (1,)
    assert x[:, 1].shape == (2, 4) and x[..., 1].shape == (2, 3)
    assert x[None].shape == (1, 2, 3, 4)
    row = x[1]
    row[:] = -1  # contiguous basic index: a view
    assert (x.asnumpy()[1] == -1).all()
    col = x[:, 1]  # not contiguous: a copy, like MXNet
    col[:] = 5
    assert not (x.asnumpy()[:, 1] == 5).all()
    np.testing.assert_array_equal(x[:, 1:3, ::2].asnumpy(), x.asnumpy()[:, 1:3, ::2])
    with pytest.raises(IndexError, match="out of bounds"):
        x[2]


def test_advanced_indexing_gathers():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    x = mx.nd.array(a)
    np.testing.assert_array_equal(x[[2, 0]].asnumpy(), a[[2, 0]])
    np.testing.assert_array_equal(x[mx.nd.array([1, 1]), 2].asnumpy(), a[[1, 1], 2])
    np.testing.assert_array_equal(x[:, np.array([3, 0])].asnumpy(), a[:, [3, 0]])
    with pytest.raises(mx.MXNetError, match="boolean"):
        x[np.array([True, False, True])]


def test_setitem_forms():
    x = mx.nd.zeros((3, 4))
    x[:] = 1
    x[0] = mx.nd.array([1, 2, 3, 4])
    x[1, 1:3] = np.array([7, 8])
    x[2] = [9, 9, 9, 9]
    x[:, 0] = 5
    x[[1, 2], 3] = -1
    np.testing.assert_array_equal(x.asnumpy(), [[5, 2, 3, 4], [5, 7, 8, -1], [5, 9, 9, -1]])
    with pytest.raises(mx.MXNetError, match=r"\(2,\).*\(3, 4\)|\(2,\).*broadcast"):
        x[:] = mx.nd.array([1, 2])


def test_arithmetic_semantics():
    a = mx.nd.array([[1, 2, 3], [4, 5, 6]])
    b = mx.nd.array([10, 20, 30])
    np.testing.assert_array_equal((a + b).asnumpy(), a.asnumpy() + b.asnumpy())  # broadcast
    np.testing.assert_array_equal((2 - a).asnumpy(), 2 - a.asnumpy())
    np.testing.assert_array_equal((1 / a).asnumpy(), 1 / a.asnumpy())
    np.testing.assert_allclose((a ** 2).asnumpy(), a.asnumpy() ** 2)
    np.testing.assert_allclose((2 ** a).asnumpy(), 2 ** a.asnumpy())
    np.testing.assert_array_equal((-a).asnumpy(), -a.asnumpy())
    np.testing.assert_array_equal(abs(-a).asnumpy(), a.asnumpy())
    cmp = a > 3
    assert cmp.dtype == np.float32 and cmp.asnumpy().tolist() == [[0, 0, 0], [1, 1, 1]]
    assert (a == a).asnumpy().all()
    assert (mx.nd.array([-7, 7], dtype="int32") % 3).asnumpy().tolist() == [2, 1]
    np.testing.assert_array_equal((a * np.float32(2)).asnumpy(), a.asnumpy() * 2)
    with pytest.raises(mx.MXNetError, match="broadcast_add.*\\(2, 3\\).*\\(2,\\)"):
        a + mx.nd.array([1, 2])
    with pytest.raises(mx.MXNetError, match="dtype"):
        a + mx.nd.array([1, 2, 3], dtype="float64")


def test_inplace_operators_keep_identity_and_views():
    x = mx.nd.array([[1, 2], [3, 4]])
    v = x[1]
    ident = id(x)
    x += 1
    x *= mx.nd.array([2, 3])
    x -= 1
    x /= 2
    assert id(x) == ident
    np.testing.assert_allclose(x.asnumpy(), ((np.array([[1, 2], [3, 4]]) + 1) * [2, 3] - 1) / 2)
    np.testing.assert_allclose(v.asnumpy(), x.asnumpy()[1])
    with pytest.raises(mx.MXNetError):
        y = mx.nd.array([1, 2])
        y += mx.nd.ones((2, 2)) if hasattr(mx.nd, "ones") else mx.nd.array(np.ones((2, 2)))


def test_view_write_orders_with_parent_readers():
    """Writes through a view are engine tasks on the parent's chunk: a later read of the
    parent sees them even when a slow write on the parent is still pending."""
    x = mx.nd.array(np.zeros((64, 64)))
    gate = threading.Event()
    chunk = x._chunk
    if mx.engine.engine_type() == "NaiveEngine":
        gate.set()  # synchronous engine: the "slow" write runs inside push
    mx.engine.push(lambda: gate.wait(5), mx.cpu(), (), (chunk,), name="slow", cost=1 << 30)
    v = x[3]
    v[:] = 2.0
    w = x.reshape(-1)
    w[0] = 1.0
    gate.set()
    got = x.asnumpy()
    assert got[3].sum() == 128 and got[0, 0] == 1


def _failing_op(name, exc):
    """A test-only op whose kernel raises ``exc`` at run time (registered once)."""
    from mixnet.ndarray.dispatch import make_function
    from mixnet.operator.registry import OpDef, find, register

    op = find(name)
    if op is None:
        def fwd(oc, ins, outs, p):
            raise exc
        op = register(OpDef(name, forward=fwd))
    return make_function(op)


def test_errors_surface_at_read_with_op_name():
    x = mx.nd.array([1, 2])
    y = _failing_op("_test_fail_at_runtime", ArithmeticError("bad value inside kernel"))(x)
    z = y + 1  # depends on the failed array: fails the same way
    with pytest.raises(mx.MXNetError, match="_test_fail_at_runtime.*bad value"):
        y.asnumpy()
    with pytest.raises(mx.MXNetError, match="_test_fail_at_runtime"):
        z.wait_to_read()
    mx.nd.waitall()  # already reported


def test_waitall_raises_pending_error():
    _failing_op("_test_fail_at_runtime2", ValueError("pending"))(mx.nd.array([1]))
    with pytest.raises(mx.MXNetError, match="_test_fail_at_runtime2"):
        mx.nd.waitall()


def test_pickle_roundtrip_and_format():
    x = mx.nd.array([1, 2])
    state = x.__getstate__()
    assert bytes(state["handle"]).hex() == ("c9fa93f9000000000100000002000000000000000100"
                                            "000000000000000000000000803f00000040")
    y = pickle.loads(pickle.dumps(x))
    assert y.asnumpy().tolist() == [1, 2] and y.dtype == np.float32


def test_context_scope_and_gpu_without_cupy():
    with mx.cpu(1):
        assert mx.current_context() == mx.cpu(1)
        assert mx.nd.array([1]).context == mx.cpu(1)
    assert mx.current_context() == mx.cpu(0)
    assert str(mx.gpu(2)) == "gpu(2)" and mx.gpu(0) != mx.cpu(0)
    assert hash(mx.cpu(0)) == hash(mx.Context("cpu", 0))
    if mx.context.num_gpus() == 0:
        with pytest.raises(mx.MXNetError, match="gpu"):
            mx.nd.array([1], ctx=mx.gpu(0))


def test_from_numpy_zero_copy():
    a = np.arange(4, dtype=np.float32)
    x = mx.nd.from_numpy(a)
    a[0] = 9
    assert x.asnumpy()[0] == 9


def test_failed_random_op_does_not_poison_the_generator():
    bad = _failing_op("_test_fail_at_runtime3", ValueError("upstream failure"))(
        mx.nd.array([1.0, 2.0]))
    draws = mx.nd.random.normal(bad, mx.nd.array([1.0, 1.0]))  # depends on the failure
    with pytest.raises(mx.MXNetError, match="upstream failure"):
        draws.asnumpy()
    mx.random.seed(3)
    assert mx.nd.random.uniform(shape=(4,)).shape == (4,)
    assert np.isfinite(mx.nd.random.uniform(shape=(4,)).asnumpy()).all()
    mx.nd.waitall()


def test_multi_output_op_with_computed_count_returns_single_array_for_one():
    x = mx.nd.array(np.arange(6).reshape(2, 3))
    assert isinstance(mx.nd.split(x, num_outputs=1, axis=0), mx.nd.NDArray)
    parts = mx.nd.split(x, num_outputs=2, axis=0)
    assert isinstance(parts, list) and len(parts) == 2
