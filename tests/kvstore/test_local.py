"""``mx.kv`` local/device stores (``mixnet/kvstore``): MXNet's init/push/pull semantics
(sum over devices, sum replaces the value unless an updater runs), the calling
conventions (int/str keys, per-device lists, lists of keys), optimizer updates and state
files, 2-bit compression on ``device``, and the errors for misuse."""
import pickle

import numpy as np
import pytest

import mixnet as mx
from mixnet import kvstore as kv
from mixnet.base import MXNetError

SHAPE = (2, 3)


def nd(x, ctx=None, dtype="float32"):
    return mx.nd.array(np.asarray(x, dtype=dtype), ctx=ctx or mx.cpu(), dtype=dtype)


def full(v, ctx=None, shape=SHAPE):
    return nd(np.full(shape, v), ctx)


def pulled(store, key, shape=SHAPE, ctx=None):
    out = mx.nd.zeros(shape, ctx=ctx or mx.cpu())
    store.pull(key, out=out)
    return out.asnumpy()


# ----------------------------------------------------------------------------- create
@pytest.mark.parametrize("name", ["local", "device", "nccl", "Local", "horovod"])
def test_create_single_process_types(name):
    store = kv.create(name)
    assert isinstance(store, kv.KVStoreBase)
    assert store.type == name.lower()
    assert store.rank == 0 and store.num_workers == 1
    assert store.is_capable(kv.KVStoreBase.OPTIMIZER) and store.is_capable("OPTIMIZER")
    with pytest.raises(ValueError, match="Unknown capability: sparse"):
        store.is_capable("sparse")
    store._barrier()  # a no-op with one worker


@pytest.mark.parametrize("name", ["dist_sync", "dist_async", "dist_device_sync", "dist"])
def test_create_dist_not_available(name):
    with pytest.raises(MXNetError, match="'%s'.*distributed kvstore is not available" % name):
        kv.create(name)


def test_create_bad_names():
    with pytest.raises(TypeError, match="name must be a string"):
        kv.create(3)
    with pytest.raises(MXNetError, match="empty"):
        kv.create("")


def test_register_and_create_custom_store():
    @kv.KVStoreBase.register
    class MyPluginStore(kv.KVStoreBase):
        @property
        def type(self):
            return "mine"

    try:
        store = kv.create("MyPluginStore")
        assert isinstance(store, MyPluginStore) and store.type == "mine"
        with pytest.warns(UserWarning, match="overrides the registered kvstore"):
            kv.KVStoreBase.register(type("MyPluginStore", (kv.KVStoreBase,), {}))
    finally:
        kv.KVStoreBase.kv_registry.pop("mypluginstore", None)
    with pytest.raises(MXNetError, match="expects a class"):
        kv.KVStoreBase.register(lambda: None)


def test_teststore_registered_like_mxnet():
    store = kv.create("teststore")
    assert store.type == "teststore" and store.is_capable("optimizer") is False
    a, b, out = full(1), full(2, mx.cpu(1)), mx.nd.zeros(SHAPE)
    store.pushpull(0, [a, b], out=out)
    np.testing.assert_array_equal(out.asnumpy(), np.full(SHAPE, 3))
    store.broadcast(0, full(7), out=[out])
    np.testing.assert_array_equal(out.asnumpy(), np.full(SHAPE, 7))


# ----------------------------------------------------------------------------- basics
@pytest.mark.parametrize("name", ["local", "device"])
def test_init_push_pull_sum_replaces(name):
    store = kv.create(name)
    init = nd(np.arange(6).reshape(SHAPE))
    store.init(3, init)
    init += 100  # the store keeps its own copy
    np.testing.assert_array_equal(pulled(store, 3), np.arange(6).reshape(SHAPE))
    store.push(3, full(8))
    np.testing.assert_array_equal(pulled(store, 3), np.full(SHAPE, 8))  # replaced, not added
    g = [nd(np.random.randn(*SHAPE), mx.cpu(i)) for i in range(4)]
    store.push(3, g)
    expect = sum(x.asnumpy() for x in g)
    np.testing.assert_allclose(pulled(store, 3), expect, rtol=1e-6)
    outs = [mx.nd.zeros(SHAPE, ctx=mx.cpu(i)) for i in range(3)]
    store.pull(3, out=outs)
    for o, i in zip(outs, range(3)):
        assert o.context == mx.cpu(i)
        np.testing.assert_allclose(o.asnumpy(), expect, rtol=1e-6)


def test_list_of_keys_with_lists_of_values():
    store = kv.create("local")
    keys = [5, 7, 9]
    store.init(keys, [full(k) for k in keys])
    np.testing.assert_array_equal(pulled(store, 7), np.full(SHAPE, 7))
    vals = [[full(k * 10 + d, mx.cpu(d)) for d in range(2)] for k in keys]
    store.push(keys, vals)
    outs = [[mx.nd.zeros(SHAPE, ctx=mx.cpu(d)) for d in range(2)] for _ in keys]
    store.pull(keys, out=outs)
    for k, row in zip(keys, outs):
        for o in row:
            np.testing.assert_array_equal(o.asnumpy(), np.full(SHAPE, 2 * k * 10 + 1))
    # single arrays per key inside a key list
    store.push(keys, [full(1), full(2), full(3)])
    flat = [mx.nd.zeros(SHAPE) for _ in keys]
    store.pull(keys, out=flat)
    assert [float(o.asnumpy()[0, 0]) for o in flat] == [1, 2, 3]
    # a key repeated in one call: its values are summed together, as MXNet groups them
    store.push([5, 5], [full(1), full(4)])
    np.testing.assert_array_equal(pulled(store, 5), np.full(SHAPE, 5))


def test_str_keys_and_no_mixing():
    store = kv.create("local")
    store.init(["w", "b"], [full(1), full(2)])
    store.push("b", [full(3), full(4)])
    np.testing.assert_array_equal(pulled(store, "b"), np.full(SHAPE, 7))
    with pytest.raises(MXNetError, match="str keys.*mixing str and int keys"):
        store.init(3, full(0))
    with pytest.raises(MXNetError, match="str keys.*mixing"):
        store.pull(3, out=mx.nd.zeros(SHAPE))
    other = kv.create("local")
    with pytest.raises(MXNetError, match="inconsistent types of keys"):
        other.init([1, "a"], [full(0), full(0)])


def test_dtypes_and_numpy_int_keys():
    store = kv.create("local")
    store.init(np.int64(4), nd(np.ones(5), dtype="float64"))
    store.push(4, [nd(np.full(5, 0.25), dtype="float64")] * 2)
    out = mx.nd.zeros((5,), dtype="float64")
    store.pull(4, out=out)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out.asnumpy(), np.full(5, 0.5))


def test_pushpull_and_broadcast():
    store = kv.create("local")
    store.init("k", full(0))
    a, b, out = full(1), full(2, mx.cpu(1)), mx.nd.zeros(SHAPE)
    store.pushpull("k", [a, b], out=out)
    np.testing.assert_array_equal(out.asnumpy(), np.full(SHAPE, 3))
    store.pushpull("k", [a, b])  # no out: the result goes back into the values
    np.testing.assert_array_equal(a.asnumpy(), np.full(SHAPE, 3))
    np.testing.assert_array_equal(b.asnumpy(), np.full(SHAPE, 3))
    assert b.context == mx.cpu(1)

    outs = [mx.nd.zeros(SHAPE, ctx=mx.cpu(i)) for i in range(2)]
    store.broadcast("w", full(2) * 2, out=outs)
    for o in outs:
        np.testing.assert_array_equal(o.asnumpy(), np.full(SHAPE, 4))
    np.testing.assert_array_equal(pulled(store, "w"), np.full(SHAPE, 4))
    store.broadcast(["x", "y"], [full(5), full(6)], out=[mx.nd.zeros(SHAPE), outs])
    np.testing.assert_array_equal(outs[1].asnumpy(), np.full(SHAPE, 6))
    with pytest.raises(MXNetError, match="duplicate init of key 'w'"):
        store.broadcast("w", full(1), out=outs)


# ----------------------------------------------------------------------------- updaters
@pytest.mark.parametrize("name,expect_ctx", [("local", mx.cpu(0)), ("device", mx.cpu(1))])
def test_python_updater(name, expect_ctx):
    store = kv.create(name)
    store.init(3, full(2, mx.cpu(1)))
    seen = []

    def update(key, inp, stored):
        seen.append((key, inp.context, stored.context))
        stored += inp * 2

    store._set_updater(update)
    store.push(3, [full(1, mx.cpu(1)), full(0.5, mx.cpu(2))])
    np.testing.assert_array_equal(pulled(store, 3), np.full(SHAPE, 2 + 2 * 1.5))
    store.push(3, full(1, mx.cpu(1)))
    np.testing.assert_array_equal(pulled(store, 3), np.full(SHAPE, 5 + 2))
    # local stores reduce on cpu(0); device stores on the initial value's context
    assert seen == [(3, expect_ctx, expect_ctx)] * 2
    store.set_updater(None)  # back to "sum replaces"
    store.push(3, full(1))
    np.testing.assert_array_equal(pulled(store, 3), np.full(SHAPE, 1))


def test_updater_receives_str_keys():
    store = kv.create("local")
    store.init(["a", "b"], [full(0), full(0)])
    keys = []
    store._set_updater(lambda k, g, w: keys.append(k))
    store.push(["b", "a"], [full(1), full(1)])
    assert keys == ["b", "a"]
    with pytest.raises(MXNetError, match="must be callable"):
        store._set_updater(42)


def test_push_pull_stay_asynchronous(monkeypatch):
    """No host round trip on the push/pull path: reading any array to the host fails."""
    store = kv.create("local")
    store.init(0, full(1))
    store._set_updater(lambda k, g, w: w.__isub__(g * 0.5))
    grads = [full(1), full(3, mx.cpu(1))]
    out = mx.nd.zeros(SHAPE)
    mx.nd.waitall()

    def boom(self, *a, **k):
        raise AssertionError("host synchronisation on the kvstore hot path")

    monkeypatch.setattr(mx.nd.NDArray, "asnumpy", boom)
    monkeypatch.setattr(mx.nd.NDArray, "wait_to_read", boom)
    for _ in range(3):
        store.push(0, grads)
        store.pull(0, out=out)
    monkeypatch.undo()
    np.testing.assert_array_equal(out.asnumpy(), np.full(SHAPE, 1 - 3 * 0.5 * 4))


def _sgd(**kw):
    from mixnet import optimizer as opt
    return opt.create("sgd", **kw)


def test_set_optimizer_sgd():
    store = kv.create("local")
    w0 = np.random.randn(*SHAPE).astype(np.float32)
    store.init(3, nd(w0))
    store.set_optimizer(_sgd(learning_rate=0.1, wd=0.01, rescale_grad=0.5))
    g = [np.random.randn(*SHAPE).astype(np.float32) for _ in range(2)]
    store.push(3, [nd(g[0]), nd(g[1], mx.cpu(1))])
    expect = w0 - 0.1 * (0.5 * (g[0] + g[1]) + 0.01 * w0)
    np.testing.assert_allclose(pulled(store, 3), expect, rtol=1e-5, atol=1e-6)


def test_optimizer_states_round_trip(tmp_path):
    w0 = np.random.randn(*SHAPE).astype(np.float32)
    grads = [np.random.randn(*SHAPE).astype(np.float32) for _ in range(3)]

    def run(store, gs):
        for g in gs:
            store.push("w", nd(g))
        return pulled(store, "w")

    a = kv.create("local")
    a.init("w", nd(w0))
    a.set_optimizer(_sgd(learning_rate=0.1, momentum=0.9))
    mid = run(a, grads[:2])
    fname = tmp_path / "kv.states"
    a.save_optimizer_states(str(fname))
    end_a = run(a, grads[2:])

    b = kv.create("local")
    b.init("w", nd(mid))
    b.set_optimizer(_sgd(learning_rate=0.1, momentum=0.9))
    b.load_optimizer_states(str(fname))
    np.testing.assert_allclose(run(b, grads[2:]), end_a, rtol=1e-6)
    # a fresh momentum gives a different step: the states really were restored
    c = kv.create("local")
    c.init("w", nd(mid))
    c.set_optimizer(_sgd(learning_rate=0.1, momentum=0.9))
    assert not np.allclose(run(c, grads[2:]), end_a)
    # momentum SGD states: a pickled dict of per-key NDArrays (MXNet's .states format)
    states = pickle.loads(fname.read_bytes())
    assert list(states) == ["w"] and isinstance(states["w"], mx.nd.NDArray)


class _StatefulUpdater:
    """A minimal Updater: callable plus get_states/set_states, counting calls per key."""

    def __init__(self):
        self.counts = {}
        self.dumped = []

    def __call__(self, key, grad, weight):
        self.counts[key] = self.counts.get(key, 0) + 1
        weight -= grad

    def get_states(self, dump_optimizer=False):
        self.dumped.append(dump_optimizer)
        return pickle.dumps(self.counts)

    def set_states(self, states):
        self.counts = pickle.loads(states)


def test_save_load_states_plumbing(tmp_path):
    store = kv.create("local")
    store.init([1, 2], [full(0), full(0)])
    up = _StatefulUpdater()
    store._set_updater(up)
    store.push([1, 2, 1], [full(1), full(1), full(1)])
    store.push(1, full(1))
    fname = str(tmp_path / "s.states")
    store.save_optimizer_states(fname, dump_optimizer=True)
    assert up.dumped == [True]
    store.save_optimizer_states(fname)  # overwrites the file
    up.counts = {}
    store.load_optimizer_states(fname)
    assert up.counts == {1: 2, 2: 1}
    assert [p.name for p in tmp_path.iterdir()] == ["s.states"]  # no temp files left


def test_states_errors(tmp_path):
    store = kv.create("local")
    with pytest.raises(MXNetError, match="no optimizer is set"):
        store.save_optimizer_states(str(tmp_path / "x"))
    with pytest.raises(MXNetError, match="no optimizer is set"):
        store.load_optimizer_states(str(tmp_path / "x"))
    store._set_updater(lambda k, g, w: None)
    with pytest.raises(MXNetError, match="no states to save"):
        store.save_optimizer_states(str(tmp_path / "x"))
    assert not (tmp_path / "x").exists()


# ----------------------------------------------------------------------------- sparse
def test_row_sparse_pull_dense_fallback():
    store = kv.create("local")
    w = np.arange(12, dtype=np.float32).reshape(4, 3)
    store.init("e", nd(w))
    out = full(-1, shape=(4, 3))
    store.row_sparse_pull("e", out=out, row_ids=nd([2, 0, 2]))
    expect = np.zeros_like(w)
    expect[[0, 2]] = w[[0, 2]]
    np.testing.assert_array_equal(out.asnumpy(), expect)
    # one row_ids for several outputs; a list of row_ids, one per output
    outs = [mx.nd.zeros((4, 3), ctx=mx.cpu(i)) for i in range(2)]
    store.row_sparse_pull("e", out=outs, row_ids=nd([3]))
    for o in outs:
        np.testing.assert_array_equal(o.asnumpy()[3], w[3])
        assert not o.asnumpy()[:3].any()
    store.row_sparse_pull("e", out=outs, row_ids=[nd([1]), nd([], dtype="int64")])
    np.testing.assert_array_equal(outs[0].asnumpy()[1], w[1])
    assert not outs[1].asnumpy().any()


def test_row_sparse_pull_into_row_sparse_and_sparse_values():
    store = kv.create("local")
    w = np.arange(12, dtype=np.float32).reshape(4, 3)
    store.init(0, mx.nd.sparse.row_sparse_array(w))  # stored densely
    rsp = mx.nd.sparse.row_sparse_array((np.zeros((0, 3)), np.zeros(0)), shape=(4, 3),
                                       dtype="float32")
    store.row_sparse_pull(0, out=rsp, row_ids=nd([3, 1, 3]))
    assert rsp.indices.asnumpy().tolist() == [1, 3]
    np.testing.assert_array_equal(rsp.data.asnumpy(), w[[1, 3]])
    # pull skips row-sparse outputs unless ignore_sparse=False
    rsp2 = mx.nd.sparse.row_sparse_array((np.zeros((0, 3)), np.zeros(0)), shape=(4, 3),
                                        dtype="float32")
    store.pull(0, out=rsp2)
    assert rsp2.indices.shape == (0,)
    store.pull(0, out=rsp2, ignore_sparse=False)
    np.testing.assert_array_equal(rsp2.asnumpy(), w)
    # pushing a sparse value works like its dense form
    store.push(0, mx.nd.sparse.row_sparse_array(w * 2))
    np.testing.assert_array_equal(pulled(store, 0, shape=(4, 3)), w * 2)
    with pytest.raises(MXNetError, match="row id 4 out of range for 4 rows"):
        store.row_sparse_pull(0, out=mx.nd.zeros((4, 3)), row_ids=nd([4]))
    with pytest.raises(MXNetError, match="row_ids is required"):
        store.row_sparse_pull(0, out=mx.nd.zeros((4, 3)))
    with pytest.raises(MXNetError, match=r"number of row_ids \(2\).*outputs \(3\)"):
        store.row_sparse_pull(0, out=[mx.nd.zeros((4, 3))] * 3, row_ids=[nd([0]), nd([1])])


# ----------------------------------------------------------------------------- compression
def test_two_bit_gradient_compression_on_device():
    store = kv.create("device")
    store.set_gradient_compression({"type": "2bit", "threshold": 0.5})
    store.init(0, mx.nd.zeros((4,)))
    a = nd([1, .2, -.7, 0])
    b = nd([2, .4, -1.4, 0], mx.cpu(1))
    store.push(0, [a, b])  # the verified MXNet result: [1, 0, -1, 0]
    np.testing.assert_allclose(pulled(store, 0, (4,)), [1, 0, -1, 0])
    # the residuals carry over: [.5,.2,-.2,0] and [1.5,.4,-.9,0]
    store.push(0, [mx.nd.zeros((4,)), mx.nd.zeros((4,), ctx=mx.cpu(1))])
    np.testing.assert_allclose(pulled(store, 0, (4,)), [1, 0, -.5, 0])
    store.set_gradient_compression({"type": "none"})
    store.push(0, [a, b])
    np.testing.assert_allclose(pulled(store, 0, (4,)), [3, .6, -2.1, 0], rtol=1e-6)


def test_gradient_compression_errors():
    with pytest.raises(MXNetError, match="not supported for this type of kvstore"):
        kv.create("local").set_gradient_compression({"type": "2bit"})
    store = kv.create("device")
    for params, msg in [({"type": "1bit"}, "unknown compression type '1bit'"),
                        ({"type": "2bit", "threshold": 0}, "greater than 0"),
                        ({"type": "2bit", "threshold": "x"}, "must be a number"),
                        ({"type": "2bit", "foo": 1}, r"unknown parameters \['foo'\]"),
                        ({"threshold": 1}, "with a 'type' key")]:
        with pytest.raises(MXNetError, match=msg):
            store.set_gradient_compression(params)


# ----------------------------------------------------------------------------- errors
def test_errors_name_key_and_shapes():
    store = kv.create("local")
    store.init(3, full(0))
    with pytest.raises(MXNetError, match="duplicate init of key 3"):
        store.init(3, full(0))
    with pytest.raises(MXNetError, match="duplicate init of key 4"):
        store.init([4, 4], [full(0), full(0)])
    with pytest.raises(MXNetError, match="push: key 9 has not been initialized"):
        store.push(9, full(0))
    with pytest.raises(MXNetError, match="pull: key 9 has not been initialized"):
        store.pull(9, out=mx.nd.zeros(SHAPE))
    with pytest.raises(MXNetError, match=r"push: key 3: pushed value shape \(3, 2\) does "
                                         r"not match the stored shape \(2, 3\)"):
        store.push(3, [full(1), mx.nd.ones((3, 2))])
    with pytest.raises(MXNetError, match=r"pull: key 3: out shape \(6,\) does not match"):
        store.pull(3, out=mx.nd.zeros((6,)))
    with pytest.raises(MXNetError, match="key 3: pushed value dtype float64 does not match "
                                         "the stored dtype float32"):
        store.push(3, nd(np.ones(SHAPE), dtype="float64"))
    with pytest.raises(MXNetError, match="pull: out is required"):
        store.pull(3)
    with pytest.raises(MXNetError, match="2 keys but 1 values"):
        store.push([3, 4], [full(0)])
    with pytest.raises(MXNetError, match="must be an NDArray or a list of NDArrays, got ndarray"):
        store.push(3, np.ones(SHAPE))
    with pytest.raises(MXNetError, match="a key must be an int or a str, got 1.5"):
        store.push(1.5, full(0))
    with pytest.raises(MXNetError, match="empty list"):
        store.push(3, [])
    np.testing.assert_array_equal(pulled(store, 3), np.zeros(SHAPE))  # nothing changed
    # a bad entry in a key list leaves the good ones untouched
    store.init(5, full(0))
    with pytest.raises(MXNetError, match="key 9 has not been initialized"):
        store.push([5, 9], [full(1), full(1)])
    np.testing.assert_array_equal(pulled(store, 5), np.zeros(SHAPE))
