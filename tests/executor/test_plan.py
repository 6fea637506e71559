"""Memory planning (``mixnet/executor/plan.py``): in-place reuse and co-sharing reduce
bytes, shared blocks never hold two live entries, caller-owned entries are never planned,
and ``memory_usage`` reports the plan without allocating."""
import os

import numpy as np
import pytest

import mixnet as mx
import mixnet.executor  # noqa: F401
from mixnet.executor import memory_usage
from mixnet.executor.plan import Step, _Pool, plan_memory

FIX = os.path.join(os.path.dirname(__file__), "..", "fixtures", "mxnet-1.9.1", "checkpoints")


@pytest.fixture(autouse=True)
def _no_fusion(monkeypatch):
    """These tests look at the planner itself: element-wise fusion would remove the very
    entries they plan (one test turns it back on)."""
    monkeypatch.setenv("MXNET_EXEC_ENABLE_FUSION", "0")


def _chain(n=8):
    x = mx.sym.Variable("data")
    acts = ["relu", "sigmoid", "tanh", "softrelu"]
    for i in range(n):
        x = mx.sym.Activation(x, act_type=acts[i % 4], name="a%d" % i)
    return mx.sym.MakeLoss(x, name="loss")


def _check_lifetimes(plan):
    """Entries sharing a block never overlap: each starts after the previous one's last
    read, or at that very step when it took the previous one's block in place."""
    spans = {}
    for k, (t0, t1) in plan.lifetimes.items():
        spans.setdefault(plan.storage[k], []).append((t0, t1, k))
    for sid, items in spans.items():
        items.sort(key=lambda x: (x[0], x[1]))
        for (a0, a1, ka), (b0, b1, kb) in zip(items, items[1:]):
            assert b0 > a1 or (b0 == a1 and plan.inplace.get(kb) == ka), (sid, ka, kb)


def _sym(name):
    return mx.sym.load(os.path.join(FIX, "%s-symbol.json" % name))


def test_inplace_and_coshare_reduce_bytes_on_a_chain():
    sym = _chain(8)
    shapes = {"data": (16, 32)}
    nb = 16 * 32 * 4
    none = memory_usage(sym, shapes, False, inplace=False, coshare=False)
    inpl = memory_usage(sym, shapes, False, inplace=True, coshare=False)
    cosh = memory_usage(sym, shapes, False, inplace=False, coshare=True)
    both = memory_usage(sym, shapes, False)
    # 8 activations; the MakeLoss output is the graph output, the first reads data
    assert none["naive_bytes"] == none["internal_bytes"] == 8 * nb
    assert inpl["internal_bytes"] == nb and inpl["num_inplace"] == 7
    assert cosh["internal_bytes"] == 2 * nb  # ping-pong between two blocks
    assert both["internal_bytes"] == nb
    assert both["naive_bytes"] == none["naive_bytes"]
    assert both["num_entries"] == 8


def test_fusion_removes_chain_entries(monkeypatch):
    monkeypatch.setenv("MXNET_EXEC_ENABLE_FUSION", "1")
    sym = _chain(8)
    u = memory_usage(sym, {"data": (16, 32)}, False)
    # one fused kernel writing the entry MakeLoss reads
    assert u["num_entries"] == 1 and u["internal_bytes"] == 16 * 32 * 4
    exe = sym.simple_bind(mx.cpu(), grad_req="null", data=(16, 32))
    assert exe.num_steps == (2, 0)
    x = np.random.randn(16, 32).astype("f")
    monkeypatch.setenv("MXNET_EXEC_ENABLE_FUSION", "0")
    ref = sym.simple_bind(mx.cpu(), grad_req="null", data=(16, 32))
    np.testing.assert_array_equal(exe.forward(data=x)[0].asnumpy(),
                                  ref.forward(data=x)[0].asnumpy())


def test_training_plan_keeps_what_backward_reads():
    sym = _chain(6)
    u = memory_usage(sym, {"data": (4, 5)}, True)
    assert 0 < u["internal_bytes"] < u["naive_bytes"]
    exe = sym.simple_bind(mx.cpu(), data=(4, 5))
    _check_lifetimes(exe._plan)
    x = np.random.randn(4, 5).astype("f")
    exe.forward(is_train=True, data=x)
    exe.backward()
    xs = mx.nd.array(x)
    xs.attach_grad()
    with mx.autograd.record():
        h = xs
        for i, a in enumerate(["relu", "sigmoid", "tanh", "softrelu"] * 2):
            if i == 6:
                break
            h = mx.nd.Activation(h, act_type=a)
        y = mx.nd.MakeLoss(h)
    y.backward()
    np.testing.assert_array_equal(exe.outputs[0].asnumpy(), y.asnumpy())
    np.testing.assert_array_equal(exe.grad_dict["data"].asnumpy(), xs.grad.asnumpy())


def test_inplace_needs_the_last_reader():
    x = mx.sym.Variable("x")
    a = mx.sym.sigmoid(x, name="a")
    b = mx.sym.relu(a, name="b")  # a is read again below: b may not overwrite it
    c = mx.sym.elemwise_add(b, a, name="c")
    d = mx.sym.exp(c, name="d")   # c's last reader: in place
    e = mx.sym.MakeLoss(d, name="e")
    exe = e.simple_bind(mx.cpu(), grad_req="null", x=(3, 3))
    plan = exe._plan
    keys = {n.name: (id(n), 0) for n in exe._graph.fwd_nodes}
    assert keys["b"] not in plan.inplace
    assert plan.inplace.get(keys["c"]) in (keys["b"], keys["a"])
    assert plan.inplace.get(keys["d"]) == keys["c"]
    assert keys["a"] not in plan.inplace  # its input is an argument
    _check_lifetimes(plan)
    xv = np.random.randn(3, 3).astype("f")
    s = 1 / (1 + np.exp(-xv))
    out = exe.forward(x=xv)[0].asnumpy()
    np.testing.assert_allclose(out, np.exp(np.maximum(s, 0) + s), rtol=1e-5)


def test_ops_without_inplace_never_alias():
    data = mx.sym.Variable("data")
    h = mx.sym.FullyConnected(data, num_hidden=4, no_bias=True, name="fc1")
    h = mx.sym.FullyConnected(h, num_hidden=4, no_bias=True, name="fc2")
    h = mx.sym.FullyConnected(h, num_hidden=4, no_bias=True, name="fc3")
    exe = mx.sym.MakeLoss(h).simple_bind(mx.cpu(), grad_req="null", data=(4, 4))
    plan = exe._plan
    assert not plan.inplace
    # fc1 and fc3 may share (fc1 is dead when fc3 runs); fc2 sits between them
    k = {n.name: (id(n), 0) for n in exe._graph.fwd_nodes}
    assert plan.storage[k["fc1"]] != plan.storage[k["fc2"]]
    assert plan.storage[k["fc2"]] != plan.storage[k["fc3"]]
    assert plan.storage[k["fc1"]] == plan.storage[k["fc3"]]


def test_caller_owned_entries_are_never_planned():
    sym = _sym("resnet")
    exe = sym.simple_bind(mx.cpu(), data=(2, 3, 16, 16), softmax_label=(2,))
    plan = exe._plan
    g = exe._graph
    owned = {(id(v), 0) for v in g.variables}
    owned |= {(id(h.node), h.index) for h in g.heads}
    assert not owned & set(plan.storage)
    _check_lifetimes(plan)


@pytest.mark.parametrize("name,shapes", [
    ("lenet", {"data": (4, 1, 28, 28), "softmax_label": (4,)}),
    ("resnet", {"data": (4, 3, 16, 16), "softmax_label": (4,)}),
    ("lstm_lm", {"data": (6, 3), "rnn_init_h": (2, 3, 12), "rnn_init_c": (2, 3, 12),
                 "softmax_label": (6, 3)}),
])
def test_checkpoint_plans(name, shapes):
    sym = _sym(name)
    for training in (False, True):
        none = memory_usage(sym, shapes, training, inplace=False, coshare=False)
        both = memory_usage(sym, shapes, training)
        assert both["internal_bytes"] < none["internal_bytes"] == none["naive_bytes"]
        assert memory_usage(sym, shapes, training, inplace=False)["internal_bytes"] \
            <= none["internal_bytes"]
    exe = sym.simple_bind(mx.cpu(), **shapes)
    _check_lifetimes(exe._plan)


def test_pool_best_fit():
    p = _Pool()
    assert p.request(10) is None
    for sid, nb in enumerate([100, 400, 1000]):
        p.release(nb, sid)
    assert p.request(300) == 1        # the smallest block that is large enough
    assert p.request(50) == 0         # 100 < 50 * 16
    assert p.request(100000) is None  # nothing within the match range
    assert p.request(2000) == 2       # the largest smaller block, which grows
    assert p.request(1) is None


def test_plan_memory_on_steps():
    # a: written step 0, read by 1 and 2; b: in place over a is refused (a read later)
    nb = {"a": 8, "b": 8, "c": 16, "d": 8}
    dt = {k: np.dtype("f4") for k in nb}
    steps = [Step("op", None, ["x"], ["a"]),
             Step("op", None, ["a"], ["b"], inplace=[(0, 0)]),
             Step("op", None, ["a", "b"], ["c"]),
             Step("op", None, ["c"], ["d"], inplace=[(0, 0)]),
             Step("op", None, ["d"], ["y"])]
    plan = plan_memory(steps, nb.__getitem__, dt, {"x", "y"})
    assert "b" not in plan.inplace
    assert "d" not in plan.inplace  # sizes differ (16 vs 8)
    assert plan.storage["d"] in (plan.storage["a"], plan.storage["b"])  # co-shared
    assert plan.naive_bytes == 40
    assert plan.internal_bytes == 32
    assert set(plan.storage) == {"a", "b", "c", "d"}
    _check_lifetimes(plan)
    off = plan_memory(steps, nb.__getitem__, dt, {"x", "y"}, inplace=False, coshare=False)
    assert off.internal_bytes == off.naive_bytes == 40


def test_memory_usage_allocates_nothing(monkeypatch):
    import mixnet.backend as backend
    monkeypatch.setattr(backend, "empty", lambda *a, **k: pytest.fail("allocated"))
    u = memory_usage(_sym("lenet"), {"data": (64, 1, 28, 28), "softmax_label": (64,)}, True)
    assert u["internal_bytes"] > 0

