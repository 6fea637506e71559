"""Mirroring pass: same gradients, fewer forward values kept for backward, attributes
honoured."""
from __future__ import annotations

import numpy as np

import mixnet as mx
from mixnet.executor import mirror
from mixnet.executor.gradient import build_backward
from mixnet.operator.registry import OpCtx
from mixnet.symbol.graph import post_order


def run_graph(heads, feed, is_train=False):
    """Reference interpreter: each node's kernel on NumPy arrays, hidden outputs (BN's
    saved statistics) included."""
    vals = {}
    oc = OpCtx.get(mx.cpu(), is_train)
    for n in post_order(heads):
        if n.op is None:
            vals[(id(n), 0)] = np.array(feed[n.name])  # a copy: aux states get written
            continue
        ins = [vals[(id(e.node), e.index)] for e in n.inputs]
        shapes, dtypes = n.op.infer(n.params, [a.shape for a in ins], [a.dtype for a in ins])
        outs = [np.empty(s, d) for s, d in zip(shapes, dtypes)]
        n.op.forward(oc, ins, outs, n.params)
        for i, o in enumerate(outs):
            vals[(id(n), i)] = o
    return [vals[(id(h.node), h.index)] for h in heads]


def deep_net(blocks=4, attrs=None):
    x = mx.sym.Variable("data")
    h = x
    for i in range(blocks):
        h = mx.sym.Convolution(h, kernel=(3, 3), pad=(1, 1), num_filter=3, name="conv%d" % i)
        h = mx.sym.BatchNorm(h, fix_gamma=False, name="bn%d" % i)
        h = mx.sym.Activation(h, act_type="relu", name="relu%d" % i)
        if attrs and i in attrs:
            h._set_attr(**attrs[i])
    h = mx.sym.Flatten(h)
    out = mx.sym.FullyConnected(h, num_hidden=2, name="fc")
    return out


def setup(sym, shape=(2, 3, 5, 5), seed=0):
    heads = sym.outputs
    fwd = post_order(heads)
    args = {n.name: n for n in fwd if n.op is None}
    wrt = [n for name, n in args.items() if "moving" not in name]
    hg = mx.sym.Variable("head_grad")
    grads = build_backward(heads, hg.outputs, wrt)
    arg_shapes, _, aux_shapes = sym.infer_shape(data=shape)
    rng = np.random.RandomState(seed)
    feed = {}
    for name, s in zip(sym.list_arguments(), arg_shapes):
        feed[name] = rng.uniform(-1, 1, s)
    for name, s in zip(sym.list_auxiliary_states(), aux_shapes):
        feed[name] = np.ones(s) if "var" in name else np.zeros(s)
    out_shape = sym.infer_shape(data=shape)[1][0]
    feed["head_grad"] = rng.uniform(-1, 1, out_shape)
    return heads, fwd, grads, feed


def saved_activations(fwd, grads):
    """Forward values that are not variables and outlive forward for backward."""
    ids = {id(n): n for n in fwd}
    return {k for k in mirror.saved_entries(fwd, grads) if ids[k[0]].op is not None}


def test_mirroring_keeps_gradients_and_shrinks_saved_entries():
    heads, fwd, grads, feed = setup(deep_net(4))
    mgrads = mirror.mirror_graph(fwd, grads, do_mirror=True)
    base = saved_activations(fwd, grads)
    mirrored = saved_activations(fwd, mgrads)
    names = lambda keys: sorted({n.name for n in fwd if any(k[0] == id(n) for k in keys)})
    assert "relu1" in names(base) and "relu1" not in names(mirrored)
    assert len(mirrored) < len(base)
    # per block the relu output is no longer kept (BN's output and relu are recomputed
    # from the convolution output and the saved statistics); nor is the flatten's
    assert (len(base), len(mirrored)) == (17, 12)
    mnodes = {n.name: n for n in post_order(mgrads) if n.name.endswith("_mirror")}
    flat = [n.name for n in fwd if n.op is not None and n.op.name == "Flatten"][0]
    assert sorted(mnodes) == sorted(["relu%d_mirror" % i for i in range(4)] +
                                    ["bn%d_mirror" % i for i in range(4)] + [flat + "_mirror"])
    for i in range(4):
        bn = mnodes["bn%d_mirror" % i]
        assert mnodes["relu%d_mirror" % i].inputs[0].node is bn
        assert bn.op.name == "_mirror_BatchNorm"
        assert bn.inputs[0].node.name == "conv%d" % i and bn.inputs[3].node.name == "bn%d" % i
    # the forward graph is untouched and gradients are identical (float64, bitwise)
    ref = run_graph(heads + grads, feed)
    got = run_graph(heads + mgrads, feed)
    for r, g in zip(ref, got):
        assert np.array_equal(r, g)


def test_mirroring_off_changes_nothing(monkeypatch):
    monkeypatch.delenv("MXNET_BACKWARD_DO_MIRROR", raising=False)
    heads, fwd, grads, feed = setup(deep_net(2))
    new = mirror.mirror_graph(fwd, grads)
    assert all(a is b for a, b in zip(new, grads))
    monkeypatch.setenv("MXNET_BACKWARD_DO_MIRROR", "1")
    new = mirror.mirror_graph(fwd, grads)
    assert any(n.name.endswith("_mirror") for n in post_order(new))


def test_attributes_decide_per_node():
    net = deep_net(3, attrs={0: {"force_mirroring": "False"}, 1: {"mirror_stage": "True"}})
    heads, fwd, grads, feed = setup(net)
    new = mirror.mirror_graph(fwd, grads, do_mirror=True)
    mnames = {n.name for n in post_order(new) if n.name.endswith("_mirror")}
    assert {m for m in mnames if "flatten" not in m} == {"relu2_mirror", "bn2_mirror"}
    # forcing works without the global switch, even for a convolution
    conv = [n for n in fwd if n.name == "conv1"][0]
    conv.attrs["__force_mirroring__"] = "True"
    try:
        new = mirror.mirror_graph(fwd, grads, do_mirror=False)
        mnames = {n.name for n in post_order(new) if n.name.endswith("_mirror")}
        assert mnames == {"conv1_mirror"}
        for r, g in zip(run_graph(grads, feed), run_graph(new, feed)):
            assert np.array_equal(r, g)
    finally:
        del conv.attrs["__force_mirroring__"]


def test_mirrored_gradients_in_training_mode():
    heads, fwd, grads, feed = setup(deep_net(2))
    new = mirror.mirror_graph(fwd, grads, do_mirror=True)
    ref = run_graph(heads + grads, feed, is_train=True)
    got = run_graph(heads + new, feed, is_train=True)
    for r, g in zip(ref, got):
        assert np.array_equal(r, g)


def test_should_mirror_policy():
    x = mx.sym.Variable("x")
    relu = mx.sym.relu(x).outputs[0].node
    drop = mx.sym.Dropout(x, p=0.5).outputs[0].node
    bn = mx.sym.BatchNorm(x).outputs[0].node
    fc = mx.sym.FullyConnected(x, num_hidden=2).outputs[0].node
    assert mirror.should_mirror(relu, True) and not mirror.should_mirror(relu, False)
    assert not mirror.should_mirror(fc, True) and not mirror.should_mirror(drop, True)
    assert not mirror.should_mirror(x.outputs[0].node, True)
    # BatchNorm is recomputed statelessly from its saved statistics
    assert mirror.should_mirror(bn, True) and not mirror.should_mirror(bn, False)
    drop.attrs["__force_mirroring__"] = "True"
    assert not mirror.should_mirror(drop, True)   # random: never recomputed
    bn.attrs["__force_mirroring__"] = "False"
    assert not mirror.should_mirror(bn, True)
    relu.attrs["__mirror_stage__"] = "True"
    assert not mirror.should_mirror(relu, True)


def test_chains_recompute_from_nearest_kept_ancestor_and_match_autograd():
    x = mx.sym.Variable("x")
    w = mx.sym.Variable("w")
    h = mx.sym.FullyConnected(x, weight=w, no_bias=True, num_hidden=4, name="fc")
    a = mx.sym.tanh(h, name="t")
    b = mx.sym.sigmoid(a * 2.0, name="s")
    out = mx.sym.exp(b, name="e")
    heads = out.outputs
    fwd = post_order(heads)
    v = {n.name: n for n in fwd if n.op is None}
    grads = build_backward(heads, mx.sym.Variable("hg").outputs, [v["x"], v["w"]])
    new = mirror.mirror_graph(fwd, grads, do_mirror=True, keep=heads)
    mnodes = {n.name: n for n in post_order(new) if n.name.endswith("_mirror")}
    # exp's output is a graph output (kept anyway): read directly, not recomputed
    assert "e_mirror" not in mnodes and {"t_mirror", "s_mirror"} <= set(mnodes)
    assert mnodes["t_mirror"].inputs[0].node.name == "fc"      # nearest kept ancestor
    saved = {k for k in mirror.saved_entries(fwd, new)}
    kept_names = {n.name for n in fwd if any(k[0] == id(n) for k in saved)}
    assert kept_names == {"x", "w", "fc", "e"}
    rng = np.random.RandomState(3)
    feed = {"x": rng.rand(2, 3), "w": rng.rand(4, 3) - 0.5, "hg": rng.rand(2, 4)}
    gx, gw = run_graph(new, feed)
    xa, wa = mx.nd.array(feed["x"], dtype=np.float64), mx.nd.array(feed["w"], dtype=np.float64)
    xa.attach_grad()
    wa.attach_grad()
    with mx.autograd.record():
        y = mx.nd.exp(mx.nd.sigmoid(mx.nd.tanh(mx.nd.FullyConnected(
            xa, wa, no_bias=True, num_hidden=4)) * 2.0))
    y.backward(mx.nd.array(feed["hg"], dtype=np.float64))
    np.testing.assert_allclose(gx, xa.grad.asnumpy(), rtol=1e-12)
    np.testing.assert_allclose(gw, wa.grad.asnumpy(), rtol=1e-12)


def test_forward_graph_is_not_modified():
    heads, fwd, grads, feed = setup(deep_net(2))
    snapshot = [(n, list(n.inputs), dict(n.attrs)) for n in post_order(heads + grads)]
    mirror.mirror_graph(fwd, grads, do_mirror=True)
    for n, ins, attrs in snapshot:
        assert all(a is b for a, b in zip(n.inputs, ins)) and n.attrs == attrs
