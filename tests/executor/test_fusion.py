"""Element-wise fusion pass: results equal the unfused graph, node counts shrink,
protected entries survive, gradients through fused nodes equal autograd's."""
from __future__ import annotations

import json

import numpy as np
import pytest

import mixnet as mx
from mixnet.executor import fusion
from mixnet.executor.gradient import build_backward
from mixnet.executor.infer import infer_graph
from mixnet.ndarray.dispatch import invoke
from mixnet.operator import registry as reg
from mixnet.symbol.graph import post_order


def run_graph(heads, feed):
    """Reference interpreter: each node's kernel through the imperative op path."""
    vals = {}
    for n in post_order(heads):
        if n.op is None:
            vals[(id(n), 0)] = mx.nd.array(feed[n.name], dtype=feed[n.name].dtype)
            continue
        out = invoke(n.op, [vals[(id(e.node), e.index)] for e in n.inputs], n.params)
        outs = out if isinstance(out, list) else [out]
        for i, o in enumerate(outs):
            vals[(id(n), i)] = o
    return [vals[(id(h.node), h.index)].asnumpy() for h in heads]


def op_nodes(heads):
    return [n for n in post_order(heads) if n.op is not None]


def fused_nodes(heads):
    return [n for n in op_nodes(heads) if n.op.name == fusion.FUSED_OP]


def variables(heads):
    return {n.name: n for n in post_order(heads) if n.op is None}


def tree_symbol():
    x = mx.sym.Variable("x")
    y = mx.sym.Variable("y")
    t1 = mx.sym.sin(x) * y            # elemwise_mul
    t2 = mx.sym.cos(y) + x            # elemwise_add
    t3 = (t1 * t2) + 2.0              # a tree: one side needs a scratch array
    t4 = mx.sym.Activation(t3, act_type="tanh")
    out = mx.sym.clip(mx.sym.exp(t4) * 0.5, a_min=0.1, a_max=1.2)
    return x, y, t1, out


def feed(dtype, shape=(3, 4), seed=0):
    rng = np.random.RandomState(seed)
    return {"x": rng.uniform(-1, 1, shape).astype(dtype),
            "y": rng.uniform(-1, 1, shape).astype(dtype)}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fused_tree_matches_unfused(dtype):
    _, _, _, out = tree_symbol()
    heads = out.outputs
    before = op_nodes(heads)
    new = fusion.fuse(None, heads, set())
    after = op_nodes(new)
    assert len(after) == 1 and after[0].op.name == fusion.FUSED_OP
    assert len(before) == 10
    prog = json.loads(after[0].attrs["program"])
    assert len(prog) == 10 and max(s[3] for s in prog) == 1  # one scratch array
    assert after[0].name == heads[0].node.name
    f = feed(dtype)
    ref = run_graph(heads, f)[0]
    got = run_graph(new, f)[0]
    assert got.dtype == dtype
    if dtype == np.float64:
        assert np.array_equal(ref, got)
    else:
        np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-7)
    # the original graph was not touched
    assert op_nodes(heads) == before and heads[0].node.op.name == "clip"


def test_chain_needs_no_scratch_and_input0_aliasable():
    x = mx.sym.Variable("x")
    out = mx.sym.relu(mx.sym.sqrt(mx.sym.abs(x) + 1.0) * 3.0)
    new = fusion.fuse(None, out.outputs, set())
    (node,) = op_nodes(new)
    prog = fusion._program(node.attrs["program"])
    assert prog.nscratch == 0 and prog.in0_safe
    f = {"x": np.linspace(-2, 2, 12).reshape(3, 4)}
    assert np.array_equal(run_graph(new, f)[0], run_graph(out.outputs, f)[0])
    # the planner may give the output input 0's buffer: still the same answer
    a = f["x"].copy()
    oc = reg.OpCtx.get(mx.cpu(), False)
    node.op.forward(oc, [a], [a], node.params)
    assert np.array_equal(a, run_graph(out.outputs, f)[0])


def test_aliased_input_read_late_is_copied():
    x = mx.sym.Variable("x")
    y = mx.sym.Variable("y")
    out = mx.sym.exp(x) + x * y      # x is read twice: overwriting it early is unsafe
    new = fusion.fuse(None, out.outputs, set())
    (node,) = op_nodes(new)
    prog = fusion._program(node.attrs["program"])
    assert not prog.in0_safe and node.inputs[0].node.name == "x"
    f = {"x": np.arange(6.0).reshape(2, 3), "y": np.ones((2, 3)) * 0.5}
    ref = run_graph(out.outputs, f)[0]
    names = [e.node.name for e in node.inputs]
    ins = [f[n].copy() for n in names]
    out_buf = ins[0]  # force the output onto input 0's buffer
    node.op.forward(reg.OpCtx.get(mx.cpu(), False), ins, [out_buf], node.params)
    assert np.array_equal(out_buf, ref), prog.in0_safe


def test_protected_and_shared_entries_survive():
    x, y, t1, out = tree_symbol()
    heads = out.outputs
    t1_entry = t1.outputs[0]
    mapping = {}
    new = fusion.fuse(None, heads, {t1_entry.key()}, mapping=mapping)
    fused = fused_nodes(new)
    names = {n.name for n in op_nodes(new)}
    assert t1_entry.node.name in names            # still computed on its own
    assert t1_entry.key() in mapping
    kept = mapping[t1_entry.key()]
    # sin(x) * y is itself a fused chain whose visible value is t1
    assert kept.node.name == t1_entry.node.name and kept.node.op.name == fusion.FUSED_OP
    assert len(fused) == 2
    assert any(e.node is kept.node for n in fused for e in n.inputs)
    # protected given as Entry objects works the same
    new2 = fusion.fuse(None, heads, [t1_entry])
    assert t1_entry.node.name in {n.name for n in op_nodes(new2)}
    f = feed(np.float64)
    assert np.array_equal(run_graph(new, f)[0], run_graph(heads, f)[0])


def test_multiple_readers_block_absorption():
    x = mx.sym.Variable("x")
    a = mx.sym.exp(x)
    out = mx.sym.Group([mx.sym.sin(a * a), mx.sym.cos(a) + 1.0])
    heads = out.outputs
    new = fusion.fuse(None, heads, set())
    assert len(new) == 2
    ops = op_nodes(new)
    assert "exp" in [n.op.name for n in ops]     # read three times: kept
    assert len(ops) == 3                          # exp + two fused chains
    f = {"x": np.linspace(-1, 1, 6)}
    for r, g in zip(run_graph(heads, f), run_graph(new, f)):
        assert np.array_equal(r, g)
    # a reader outside the heads' reach still counts when the caller lists it
    b = mx.sym.sqrt(x + 3.0)
    other = mx.sym.log(b)
    new_b = fusion.fuse(post_order(other.outputs + b.outputs), (mx.sym.exp(b)).outputs, set())
    ops_b = op_nodes(new_b)
    assert [n.op.name for n in ops_b] == [fusion.FUSED_OP, "exp"]
    assert ops_b[0].name == b.outputs[0].node.name   # b stays visible for log
    # without listing the other reader, b would disappear into exp's group
    assert len(op_nodes(fusion.fuse(None, (mx.sym.exp(b)).outputs, set()))) == 1


def test_non_elementwise_ops_are_not_fused():
    x = mx.sym.Variable("x")
    w = mx.sym.Variable("w")
    h = mx.sym.FullyConnected(mx.sym.exp(x), weight=w, no_bias=True, num_hidden=3)
    out = mx.sym.softmax(mx.sym.relu(h) * 2.0)
    new = fusion.fuse(None, out.outputs, set())
    kinds = [n.op.name for n in op_nodes(new)]
    assert kinds == ["exp", "FullyConnected", fusion.FUSED_OP, "softmax"]
    f = {"x": np.random.rand(2, 4), "w": np.random.rand(3, 4)}
    assert np.array_equal(run_graph(new, f)[0], run_graph(out.outputs, f)[0])


def test_broadcast_ops_need_shapes():
    x = mx.sym.Variable("x")
    y = mx.sym.Variable("y")
    out = mx.sym.exp(mx.sym.broadcast_mul(x, y))
    heads = out.outputs
    assert len(op_nodes(fusion.fuse(None, heads, set()))) == 2
    sh, dt = infer_graph(post_order(heads), {"x": (2, 3), "y": (2, 3)})
    fused = fusion.fuse(None, heads, set(), shapes=sh, dtypes=dt)
    assert len(op_nodes(fused)) == 1
    sh2, dt2 = infer_graph(post_order(heads), {"x": (2, 3), "y": (1, 3)})
    assert len(op_nodes(fusion.fuse(None, heads, set(), shapes=sh2, dtypes=dt2))) == 2
    f = {"x": np.random.rand(2, 3), "y": np.random.rand(2, 3)}
    assert np.array_equal(run_graph(fused, f)[0], run_graph(heads, f)[0])


def test_fused_op_infers_shape_and_type():
    _, _, _, out = tree_symbol()
    new = fusion.fuse(None, out.outputs, set())
    sh, dt = infer_graph(post_order(new), {"x": (5, 2)}, {"x": np.float64})
    h = new[0]
    assert sh[h.key()] == (5, 2) and dt[h.key()] == np.float64
    with pytest.raises(mx.MXNetError):
        infer_graph(post_order(new), {"x": (5, 2), "y": (5, 3)})


def _autograd_tree(f, dtype):
    x = mx.nd.array(f["x"], dtype=dtype)
    y = mx.nd.array(f["y"], dtype=dtype)
    x.attach_grad()
    y.attach_grad()
    with mx.autograd.record():
        t1 = mx.nd.sin(x) * y
        t2 = mx.nd.cos(y) + x
        t3 = t1 * t2 + 2.0
        t4 = mx.nd.Activation(t3, act_type="tanh")
        out = mx.nd.clip(mx.nd.exp(t4) * 0.5, a_min=0.1, a_max=1.2)
    out.backward(mx.nd.ones_like(out) * 1.5)
    return x.grad.asnumpy(), y.grad.asnumpy()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gradient_through_fused_node_matches_autograd(dtype):
    _, _, _, out = tree_symbol()
    new = fusion.fuse(None, out.outputs, set())
    v = variables(new)
    head_grad = mx.sym.Variable("head_grad")
    grads = build_backward(new, head_grad.outputs, [v["x"], v["y"]])
    f = feed(dtype, shape=(4, 3), seed=1)
    f = {"x": f["x"] * 0.3, "y": f["y"] * 0.3}  # keep clip's active region
    f["head_grad"] = np.full((4, 3), 1.5, dtype)
    gx, gy = run_graph(grads, f)
    ax, ay = _autograd_tree(f, dtype)
    tol = dict(rtol=1e-12, atol=1e-14) if dtype == np.float64 else dict(rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gx, ax, **tol)
    np.testing.assert_allclose(gy, ay, **tol)
    # the fused rule replays only what the steps' rules read; and the whole
    # forward+backward graph fuses again (backward kernels join given dtypes)
    all_heads = new + grads
    sh, dt = infer_graph(post_order(all_heads), {k: a.shape for k, a in f.items()},
                         {k: a.dtype for k, a in f.items()})
    refused = fusion.fuse(None, all_heads, set(), shapes=sh, dtypes=dt)
    assert len(op_nodes(refused)) < len(op_nodes(all_heads))
    r = run_graph(refused, f)
    np.testing.assert_allclose(r[1], gx, **tol)
    np.testing.assert_allclose(r[2], gy, **tol)


def test_autograd_through_fused_op_imperatively():
    x = mx.sym.Variable("x")
    out = mx.sym.sigmoid(mx.sym.square(x) * x - 1.0)
    (node,) = op_nodes(fusion.fuse(None, out.outputs, set()))
    a = mx.nd.array(np.linspace(-1, 1, 6))
    b = mx.nd.array(np.linspace(-1, 1, 6))
    a.attach_grad()
    b.attach_grad()
    with mx.autograd.record():
        ya = invoke(node.op, [a], node.params)
        yb = mx.nd.sigmoid(mx.nd.square(b) * b - 1.0)
    ya.backward()
    yb.backward()
    assert np.array_equal(ya.asnumpy(), yb.asnumpy())
    np.testing.assert_allclose(a.grad.asnumpy(), b.grad.asnumpy(), rtol=1e-12)


def test_repeated_external_input_gradients_accumulate():
    x = mx.sym.Variable("x")
    out = mx.sym.exp(x) * x + mx.sym.LeakyReLU(x, act_type="leaky", slope=0.2)
    new = fusion.fuse(None, out.outputs, set())
    (node,) = op_nodes(new)
    assert len(node.inputs) == 1  # x once, used by three steps
    v = variables(new)
    (g,) = build_backward(new, [mx.sym.Variable("hg").outputs[0]], [v["x"]])
    xs = np.linspace(-1, 1, 5)
    (gx,) = run_graph([g], {"x": xs, "hg": np.ones(5)})
    expect = np.exp(xs) * xs + np.exp(xs) + np.where(xs > 0, 1.0, 0.2)
    np.testing.assert_allclose(gx, expect, rtol=1e-12)


def test_ctx_groups_are_not_mixed():
    x = mx.sym.Variable("x")
    with mx.AttrScope(ctx_group="a"):
        a = mx.sym.exp(x)
    with mx.AttrScope(ctx_group="b"):
        b = mx.sym.sin(a) * 2.0
    new = fusion.fuse(None, b.outputs, set())
    assert [n.op.name for n in op_nodes(new)] == ["exp", fusion.FUSED_OP]
    assert op_nodes(new)[1].attrs.get("__ctx_group__") == op_nodes(b.outputs)[-1].attrs.get(
        "__ctx_group__")
