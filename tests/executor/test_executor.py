"""The executor (``mixnet/executor/executor.py``): binding, forward/backward against
autograd on the same ops, grad_req, loss heads, pruning, reshape, parameters, monitor,
debug_str, bulk segments, the fusion/mirror hooks and every binding error."""
import sys
import types

import numpy as np
import pytest

import mixnet as mx
import mixnet.executor  # noqa: F401 - mx.executor
from mixnet import autograd
from mixnet.base import MXNetError
from mixnet.ndarray.dispatch import invoke
from mixnet.symbol.graph import post_order


# ----------------------------------------------------------------------------- helpers
def _mlp(nh=6, nout=4, act="relu"):
    data = mx.sym.Variable("data")
    h = mx.sym.FullyConnected(data, num_hidden=nh, name="fc1")
    h = mx.sym.Activation(h, act_type=act, name="act1")
    h = mx.sym.FullyConnected(h, num_hidden=nout, name="fc2")
    return mx.sym.SoftmaxOutput(h, name="softmax")


def _fill(exe, seed=0, labels=4):
    rng = np.random.RandomState(seed)
    for k, a in exe.arg_dict.items():
        if k.endswith("label"):
            a[:] = rng.randint(0, labels, a.shape).astype(a.dtype)
        else:
            a[:] = (rng.randn(*a.shape) * 0.5).astype(a.dtype)
    for k, a in exe.aux_dict.items():
        a[:] = (rng.rand(*a.shape) + 0.5).astype(a.dtype)


def _imperative(sym, arrays, head_grads=None, train=True):
    """Run the symbol's ops one by one through mx.nd dispatch under autograd; returns
    (outputs, {name: grad}) for the arrays (copies of ``arrays``)."""
    xs = {k: v.copy() for k, v in arrays.items()}
    for v in xs.values():
        v.attach_grad()
    vals = {}
    with autograd.record(train_mode=train):
        for n in post_order(sym.outputs):
            if n.op is None:
                vals[(id(n), 0)] = xs[n.name]
                continue
            outs = invoke(n.op, [vals[(id(e.node), e.index)] for e in n.inputs], n.params)
            outs = outs if isinstance(outs, list) else [outs]
            for i, o in enumerate(outs):
                vals[(id(n), i)] = o
        heads = [vals[(id(e.node), e.index)] for e in sym.outputs]
    if train:
        autograd.backward(heads, head_grads)
    return heads, xs


def _same(a, b):
    np.testing.assert_array_equal(a.asnumpy() if hasattr(a, "asnumpy") else a,
                                  b.asnumpy() if hasattr(b, "asnumpy") else b)


# ----------------------------------------------------------------------------- runs
def test_mlp_forward_backward_matches_autograd():
    sym = _mlp()
    exe = sym.simple_bind(mx.cpu(), data=(5, 3))
    _fill(exe)
    outs = exe.forward(is_train=True)
    exe.backward()
    ref, xs = _imperative(sym, exe.arg_dict)
    _same(outs[0], ref[0])
    for k in sym.list_arguments():
        _same(exe.grad_dict[k], xs[k].grad)
    # inference gives the same probabilities
    _same(exe.forward(is_train=False)[0], ref[0])


def test_non_loss_heads_with_out_grads_match_autograd():
    x = mx.sym.Variable("x")
    w = mx.sym.Variable("w")
    a = mx.sym.tanh(x * w, name="t")
    b = mx.sym.sum(mx.sym.exp(a) + x, axis=1, name="s")
    sym = mx.sym.Group([a, b])
    exe = sym.simple_bind(mx.cpu(), x=(3, 4), w=(3, 4))
    _fill(exe)
    og = [mx.nd.array(np.random.randn(3, 4)), mx.nd.array(np.random.randn(3))]
    outs = exe.forward(is_train=True)
    exe.backward(og)
    ref, xs = _imperative(sym, exe.arg_dict, og)
    for o, r in zip(outs, ref):
        _same(o, r)
    for k in ("x", "w"):
        np.testing.assert_allclose(exe.grad_dict[k].asnumpy(), xs[k].grad.asnumpy(),
                                   rtol=1e-6, atol=1e-6)
    # a dict of head gradients by output name works too
    exe.forward(is_train=True)
    exe.backward(dict(zip(sym.list_outputs(), og)))
    np.testing.assert_allclose(exe.grad_dict["x"].asnumpy(), xs["x"].grad.asnumpy(),
                               rtol=1e-6, atol=1e-6)


def test_batchnorm_training_updates_aux_like_autograd():
    data = mx.sym.Variable("data")
    h = mx.sym.FullyConnected(data, num_hidden=5, name="fc")
    h = mx.sym.BatchNorm(h, fix_gamma=False, name="bn")
    sym = mx.sym.LinearRegressionOutput(h, name="lro")
    exe = sym.simple_bind(mx.cpu(), data=(6, 3))
    _fill(exe)
    aux0 = {k: v.copy() for k, v in exe.aux_dict.items()}
    arrays = dict(exe.arg_dict)
    arrays.update(aux0)
    exe.forward(is_train=True)
    exe.backward()
    ref, xs = _imperative(sym, arrays)
    _same(exe.outputs[0], ref[0])
    for k in sym.list_arguments():
        np.testing.assert_allclose(exe.grad_dict[k].asnumpy(), xs[k].grad.asnumpy(),
                                   rtol=1e-5, atol=1e-6)
    for k in sym.list_auxiliary_states():  # the moving statistics moved the same way
        _same(exe.aux_dict[k], xs[k])
        assert not np.allclose(exe.aux_dict[k].asnumpy(), aux0[k].asnumpy())


def test_loss_heads_need_no_out_grads():
    x = mx.sym.Variable("x")
    for head in (mx.sym.SoftmaxOutput(x, name="sm"),
                 mx.sym.LinearRegressionOutput(x, name="lin"),
                 mx.sym.LogisticRegressionOutput(x, name="log"),
                 mx.sym.MAERegressionOutput(x, name="mae"),
                 mx.sym.MakeLoss(mx.sym.square(x), name="ml"),
                 mx.sym.make_loss(mx.sym.square(x), name="ml2")):
        shapes = {"x": (3, 4)}
        exe = head.simple_bind(mx.cpu(), **shapes)
        _fill(exe)
        exe.forward(is_train=True)
        exe.backward()
        ref, xs = _imperative(head, exe.arg_dict)
        _same(exe.grad_dict["x"], xs["x"].grad)


def test_non_loss_head_without_out_grads_is_an_error():
    x = mx.sym.Variable("x")
    sym = mx.sym.Group([mx.sym.SoftmaxOutput(x, name="sm"), mx.sym.relu(x, name="r")])
    exe = sym.simple_bind(mx.cpu(), x=(2, 3))
    exe.forward(is_train=True)
    with pytest.raises(MXNetError, match="r_output"):
        exe.backward()
    with pytest.raises(MXNetError, match="r_output"):
        exe.backward([None, None])
    exe.backward([None, mx.nd.ones((2, 3))])  # the loss head's slot may stay empty
    with pytest.raises(MXNetError, match="shape"):
        exe.backward([None, mx.nd.ones((3, 3))])
    # SoftmaxOutput with out_grad=True reads its head gradient
    s2 = mx.sym.SoftmaxOutput(x, out_grad=True, name="sm2")
    e2 = s2.simple_bind(mx.cpu(), x=(2, 3))
    e2.forward(is_train=True)
    with pytest.raises(MXNetError, match="sm2_output"):
        e2.backward()


def test_grad_req_write_add_null():
    sym = _mlp()
    exe = sym.simple_bind(mx.cpu(), grad_req={"fc1_weight": "add", "fc2_weight": "write"},
                          data=(4, 3))
    assert exe.grad_dict["data"] is None and exe.grad_dict["fc1_bias"] is None
    assert exe.grad_arrays[0] is None
    _fill(exe)
    exe.forward(is_train=True)
    exe.backward()
    g1 = exe.grad_dict["fc1_weight"].asnumpy().copy()
    g2 = exe.grad_dict["fc2_weight"].asnumpy().copy()
    exe.forward(is_train=True)
    exe.backward()
    np.testing.assert_allclose(exe.grad_dict["fc1_weight"].asnumpy(), 2 * g1, rtol=1e-6)
    _same(exe.grad_dict["fc2_weight"], g2)
    # list form; 'null' everywhere means no backward steps at all
    reqs = ["null"] * len(sym.list_arguments())
    e0 = sym.simple_bind(mx.cpu(), grad_req=reqs, data=(4, 3))
    assert e0.num_steps[1] == 0 and all(g is None for g in e0.grad_arrays)
    e0.backward()  # nothing to do
    # 'add' accumulates into arrays the caller bound
    args = {k: v.copy() for k, v in exe.arg_dict.items()}
    grads = {"fc2_bias": mx.nd.ones((4,))}
    e3 = sym.bind(mx.cpu(), args, args_grad=grads, grad_req="add")
    e3.forward(is_train=True)
    e3.backward()
    ref, xs = _imperative(sym, args)
    np.testing.assert_allclose(grads["fc2_bias"].asnumpy(), 1 + xs["fc2_bias"].grad.asnumpy(),
                               rtol=1e-6)
    assert e3.grad_dict["fc1_weight"] is None  # no array given: null


def test_write_gradient_of_unreachable_argument_is_zero():
    x = mx.sym.Variable("x")
    y = mx.sym.Variable("y")
    sym = mx.sym.Group([mx.sym.MakeLoss(x * 2, name="l"), mx.sym.BlockGrad(y, name="b")])
    exe = sym.simple_bind(mx.cpu(), x=(2,), y=(2,))
    exe.grad_dict["y"][:] = 7
    exe.forward(is_train=True)
    exe.backward([None, mx.nd.ones((2,))])
    _same(exe.grad_dict["y"], np.zeros(2, "f"))
    _same(exe.grad_dict["x"], np.full(2, 2, "f"))


def test_variable_and_repeated_heads():
    x = mx.sym.Variable("x")
    r = mx.sym.relu(x, name="r")
    sym = mx.sym.Group([r, x, r])
    exe = sym.simple_bind(mx.cpu(), x=(2, 2))
    exe.arg_dict["x"][:] = np.array([[-1, 2], [3, -4]], "f")
    outs = exe.forward()
    _same(outs[1], exe.arg_dict["x"])
    _same(outs[0], outs[2])
    _same(outs[0], np.array([[0, 2], [3, 0]], "f"))
    exe.backward([mx.nd.ones((2, 2)), mx.nd.ones((2, 2)) * 10, mx.nd.ones((2, 2)) * 100])
    _same(exe.grad_dict["x"], np.array([[10, 111], [111, 10]], "f"))


def test_internal_output_runs_only_its_ancestors():
    sym = _mlp()
    fc1 = sym.get_internals()["fc1_output"]
    exe = fc1.simple_bind(mx.cpu(), grad_req="null", data=(2, 3))
    assert exe.num_steps == (1, 0)
    assert exe._plan.num_entries == 0  # the one entry is the output
    full = sym.simple_bind(mx.cpu(), grad_req="null", data=(2, 3))
    assert full.num_steps == (4, 0)  # inference: no backward
    train = sym.simple_bind(mx.cpu(), data=(2, 3))
    assert train.num_steps[1] > 0
    _fill(exe)
    out = exe.forward()[0].asnumpy()
    w, b, d = (exe.arg_dict[k].asnumpy() for k in ("fc1_weight", "fc1_bias", "data"))
    np.testing.assert_allclose(out, d @ w.T + b, rtol=1e-5)


def test_outputs_are_usable_immediately():
    x = mx.sym.Variable("x")
    sym = x * 3
    exe = sym.bind(mx.cpu(), {"x": mx.nd.ones((2, 3))}, grad_req="null")
    y = exe.forward()[0] + 1  # no wait: the engine orders it after the forward
    _same(y, np.full((2, 3), 4, "f"))
    z = exe.forward(x=mx.nd.ones((2, 3)) * 2)[0]
    _same(z, np.full((2, 3), 6, "f"))
    exe.forward(x=np.full((2, 3), 3, "f"))
    _same(exe.outputs[0], np.full((2, 3), 9, "f"))
    assert list(exe.output_dict) == sym.list_outputs()


def test_dropout_random_in_a_segment():
    x = mx.sym.Variable("x")
    sym = mx.sym.MakeLoss(mx.sym.Dropout(x, p=0.5, name="drop"), name="loss")
    exe = sym.simple_bind(mx.cpu(), x=(50, 40))
    exe.arg_dict["x"][:] = 1
    out = exe.forward(is_train=True)[0].asnumpy()
    exe.backward()
    kept = out != 0
    assert 0.3 < kept.mean() < 0.7
    np.testing.assert_allclose(out[kept], 2.0)
    np.testing.assert_allclose(exe.grad_dict["x"].asnumpy(), kept * 2.0)
    _same(exe.forward(is_train=False)[0], np.ones((50, 40), "f"))


def test_custom_op_in_executor():
    @mx.operator.register("exec_test_sqr")
    class SqrProp(mx.operator.CustomOpProp):
        def list_arguments(self):
            return ["data"]

        def infer_shape(self, in_shape):
            return in_shape, in_shape, []

        def create_operator(self, ctx, shapes, dtypes):
            return Sqr()

    class Sqr(mx.operator.CustomOp):
        def forward(self, is_train, req, in_data, out_data, aux):
            self.assign(out_data[0], req[0], in_data[0] * in_data[0])

        def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
            self.assign(in_grad[0], req[0], 2 * in_data[0] * out_grad[0])

    x = mx.sym.Variable("x")
    sym = mx.sym.Custom(mx.sym.relu(x) + 1, op_type="exec_test_sqr", name="c")
    exe = sym.simple_bind(mx.cpu(), x=(3, 2))
    xv = np.array([[-1, 0.5], [2, 3], [0.1, -2]], "f")
    exe.arg_dict["x"][:] = xv
    exe.forward(is_train=True)
    exe.backward(mx.nd.ones((3, 2)))
    r = np.maximum(xv, 0) + 1
    np.testing.assert_allclose(exe.outputs[0].asnumpy(), r * r, rtol=1e-6)
    np.testing.assert_allclose(exe.grad_dict["x"].asnumpy(), 2 * r * (xv > 0), rtol=1e-6)


def test_bulk_segments_follow_env(monkeypatch):
    sym = _mlp()
    monkeypatch.setenv("MXNET_EXEC_BULK_EXEC_MAX_NODE_TRAIN", "2")
    exe = sym.simple_bind(mx.cpu(), data=(3, 3))
    nf, nb = exe.num_steps
    assert len(exe._segments[0]) == (nf + 1) // 2 and len(exe._segments[1]) == (nb + 1) // 2
    monkeypatch.setenv("MXNET_EXEC_BULK_EXEC_MAX_NODE_TRAIN_BWD", "1")
    assert len(sym.simple_bind(mx.cpu(), data=(3, 3))._segments[1]) == nb
    monkeypatch.setenv("MXNET_EXEC_BULK_EXEC_TRAIN", "0")
    e1 = sym.simple_bind(mx.cpu(), data=(3, 3))
    assert len(e1._segments[0]) == nf
    inf = sym.simple_bind(mx.cpu(), grad_req="null", data=(3, 3))
    assert len(inf._segments[0]) == 1  # inference: the whole graph is one task
    monkeypatch.setenv("MXNET_EXEC_BULK_EXEC_INFERENCE", "0")
    assert len(sym.simple_bind(mx.cpu(), grad_req="null", data=(3, 3))._segments[0]) == 4
    # segmentation does not change results
    _fill(e1)
    ref = sym.simple_bind(mx.cpu(), data=(3, 3))
    ref.copy_params_from(e1.arg_dict)
    for e in (e1, ref):
        e.forward(is_train=True)
        e.backward()
    for k in sym.list_arguments():
        _same(e1.grad_dict[k], ref.grad_dict[k])


# ----------------------------------------------------------------------------- API
def test_bind_list_and_dict_and_arrays():
    sym = _mlp()
    names = sym.list_arguments()
    shapes, _, _ = sym.infer_shape(data=(2, 3))
    args = [mx.nd.array(np.random.randn(*s)) for s in shapes]
    grads = [mx.nd.zeros(s) for s in shapes]
    exe = sym.bind(mx.cpu(), args, args_grad=grads)
    assert exe.arg_arrays == args and exe.grad_arrays == grads  # bound, not copied
    assert list(exe.arg_dict) == names
    exe2 = sym.bind(mx.cpu(), dict(zip(names, args)), args_grad=dict(zip(names, grads)))
    _same(exe.forward()[0], exe2.forward()[0])
    assert exe.aux_arrays == [] and exe.aux_dict == {}


def test_simple_bind_dtypes_and_shared_arrays():
    sym = _mlp()
    exe = sym.simple_bind(mx.cpu(), type_dict={"data": "float64"}, data=(2, 3))
    assert exe.arg_dict["data"].dtype == np.float64
    assert exe.arg_dict["fc1_weight"].dtype == np.float64
    assert exe.outputs[0].dtype == np.float64
    params = [n for n in sym.list_arguments() if n.startswith("fc")]
    buf = {}
    e2 = sym.simple_bind(mx.cpu(), shared_arg_names=params, shared_exec=exe,
                         shared_buffer=buf, type_dict={"data": "float64"}, data=(2, 3))
    for n in params:
        assert e2.arg_dict[n] is exe.arg_dict[n]
        assert e2.grad_dict[n] is exe.grad_dict[n]
    assert buf["data"] is e2.arg_dict["data"]
    e3 = sym.simple_bind(mx.cpu(), shared_buffer=buf, type_dict={"data": "float64"},
                         data=(1, 3))
    assert e3.arg_dict["data"]._chunk is buf["data"]._chunk  # a view of the lent buffer


def test_reshape_shares_parameters_and_memory():
    sym = _mlp()
    exe = sym.simple_bind(mx.cpu(), data=(8, 3))
    _fill(exe)
    small = exe.reshape(data=(4, 3), softmax_label=(4,))
    for n in ("fc1_weight", "fc1_bias", "fc2_weight", "fc2_bias"):
        assert small.arg_dict[n] is exe.arg_dict[n]
        assert small.grad_dict[n] is exe.grad_dict[n]
    assert small.arg_dict["data"]._chunk is exe.arg_dict["data"]._chunk
    _same(small.arg_dict["data"], exe.arg_dict["data"].asnumpy()[:4])
    assert small._var is exe._var  # shares the internal blocks, so runs in order with it
    assert all(any(b is c for c in exe._blocks) for b in small._blocks)
    out_big = exe.forward()[0].asnumpy()
    _same(small.forward()[0], out_big[:4])
    with pytest.raises(MXNetError, match="allow_up_sizing"):
        exe.reshape(data=(16, 3), softmax_label=(16,))
    big = exe.reshape(allow_up_sizing=True, data=(16, 3), softmax_label=(16,))
    assert big.arg_dict["fc1_weight"] is exe.arg_dict["fc1_weight"]
    assert big.arg_dict["data"].shape == (16, 3)
    with pytest.raises(MXNetError, match="partial_shaping"):
        exe.reshape(data=(4, 3))  # the label's inferred shape changes too
    e4 = exe.reshape(partial_shaping=True, data=(4, 3))
    assert e4.arg_dict["softmax_label"].shape == (4,)


def test_copy_params_from():
    sym = _mlp()
    exe = sym.simple_bind(mx.cpu(), data=(2, 3))
    w = np.random.randn(6, 3)
    exe.copy_params_from({"fc1_weight": mx.nd.array(w, dtype="float64")})
    np.testing.assert_allclose(exe.arg_dict["fc1_weight"].asnumpy(), w.astype("f"))
    assert exe.arg_dict["fc1_weight"].dtype == np.float32
    with pytest.raises(ValueError, match="nope"):
        exe.copy_params_from({"nope": mx.nd.ones((1,))})
    exe.copy_params_from({"nope": mx.nd.ones((1,))}, {"nope2": mx.nd.ones((1,))},
                         allow_extra_params=True)
    with pytest.raises(ValueError, match="aux"):
        exe.copy_params_from({}, {"nope": mx.nd.ones((1,))})
    with pytest.raises(MXNetError, match="fc1_bias"):
        exe.copy_params_from({"fc1_bias": mx.nd.ones((5,))})


def test_monitor_callback():
    sym = _mlp()
    exe = sym.simple_bind(mx.cpu(), grad_req="null", data=(2, 3))
    _fill(exe)
    seen = {}
    exe.set_monitor_callback(lambda name, arr: seen.__setitem__(name, arr))
    exe.forward()
    assert list(seen) == ["fc1_output", "act1_output", "fc2_output", "softmax_output"]
    w, b, d = (exe.arg_dict[k].asnumpy() for k in ("fc1_weight", "fc1_bias", "data"))
    np.testing.assert_allclose(seen["fc1_output"].asnumpy(), d @ w.T + b, rtol=1e-5)
    # act1 runs in place over fc1's block: the snapshot still shows fc1's own value
    np.testing.assert_allclose(seen["act1_output"].asnumpy(),
                               np.maximum(d @ w.T + b, 0), rtol=1e-5)
    _same(seen["softmax_output"], exe.outputs[0])
    seen.clear()
    exe.set_monitor_callback(lambda name, arr: seen.__setitem__(name, arr), monitor_all=True)
    exe.forward()
    assert "fc1_data" in seen and "fc1_weight" in seen and "softmax_label" in seen
    exe.set_monitor_callback(None)
    seen.clear()
    exe.forward()
    assert not seen


def test_debug_str_reports_the_plan():
    sym = _mlp()
    exe = sym.simple_bind(mx.cpu(), data=(2, 3))
    text = exe.debug_str()
    assert "Op:FullyConnected, Name=fc1" in text
    assert "in-place of fc1" in text
    assert "MB allocated" in text and "MB naive" in text
    last = text.strip().splitlines()[-1]
    assert last.startswith("Total ")
    assert "%d bytes in" % exe._plan.internal_bytes in last


# ----------------------------------------------------------------------------- hooks
def test_fusion_and_mirror_hooks_are_called(monkeypatch):
    calls = {}

    def fuse(nodes, heads, protected, **kw):
        calls["fuse"] = (len(nodes), len(heads), set(protected))
        return heads

    def mirror_graph(forward_nodes, backward_heads, **kw):
        calls["mirror"] = (len(forward_nodes), len(backward_heads), kw)
        return backward_heads

    monkeypatch.setitem(sys.modules, "mixnet.executor.fusion", types.SimpleNamespace(fuse=fuse))
    monkeypatch.setitem(sys.modules, "mixnet.executor.mirror",
                        types.SimpleNamespace(mirror_graph=mirror_graph))
    sym = _mlp()
    monkeypatch.setenv("MXNET_BACKWARD_DO_MIRROR", "1")
    exe = sym.simple_bind(mx.cpu(), data=(2, 3))
    assert calls["mirror"][1] == len(sym.list_arguments()) - 1  # all but the label
    heads_n = 1 + calls["mirror"][1]
    assert calls["fuse"][1] == heads_n
    assert (id(sym.outputs[0].node), 0) in calls["fuse"][2]
    exe.forward(is_train=True)
    exe.backward()
    calls.clear()
    monkeypatch.setenv("MXNET_EXEC_ENABLE_FUSION", "0")
    monkeypatch.setenv("MXNET_BACKWARD_DO_MIRROR", "0")
    sym.simple_bind(mx.cpu(), data=(2, 3))
    assert "fuse" not in calls
    # the pass decides per node (attributes, env); memory_usage(mirror=) forces the policy
    assert calls["mirror"][2]["do_mirror"] is None
    assert calls["mirror"][2]["keep"][0] is sym.outputs[0]
    mx.executor.memory_usage(sym, {"data": (2, 3)}, True, mirror=True)
    assert calls["mirror"][2]["do_mirror"] is True


# ----------------------------------------------------------------------------- errors
def test_bind_errors_name_the_argument():
    sym = _mlp()
    shapes, _, _ = sym.infer_shape(data=(2, 3))
    names = sym.list_arguments()
    args = {n: mx.nd.zeros(s) for n, s in zip(names, shapes)}
    partial = dict(args)
    del partial["fc2_weight"]
    with pytest.raises(MXNetError, match="fc2_weight"):
        sym.bind(mx.cpu(), partial)
    with pytest.raises(MXNetError, match="6 names"):
        sym.bind(mx.cpu(), list(args.values())[:3])
    bad = dict(args, fc2_weight=mx.nd.zeros((4, 5)))
    with pytest.raises(MXNetError, match="fc2"):  # names the node and the shapes
        sym.bind(mx.cpu(), bad)
    with pytest.raises(MXNetError, match=r"\(4, 5\)"):
        sym.bind(mx.cpu(), bad)
    with pytest.raises(MXNetError, match="fc1"):
        sym.bind(mx.cpu(), dict(args, fc1_weight=mx.nd.zeros((6, 3), dtype="float64")))
    with pytest.raises(MXNetError, match="data"):
        sym.bind(mx.cpu(), dict(args, data=np.zeros((2, 3))))
    with pytest.raises(MXNetError, match="nope"):
        sym.bind(mx.cpu(), dict(args, nope=mx.nd.zeros((1,))))
    with pytest.raises(MXNetError, match="fc1_bias"):
        sym.bind(mx.cpu(), args, args_grad={"fc1_bias": mx.nd.zeros((7,))})
    with pytest.raises(MXNetError, match="grad_req"):
        sym.bind(mx.cpu(), args, grad_req="sometimes")
    with pytest.raises(MXNetError, match="grad_req"):
        sym.bind(mx.cpu(), args, grad_req=["write"])
    with pytest.raises(MXNetError, match="nope"):
        sym.simple_bind(mx.cpu(), grad_req={"nope": "write"}, data=(2, 3))
    bn = mx.sym.BatchNorm(mx.sym.Variable("x"), name="bn")
    with pytest.raises(MXNetError, match="bn_moving_mean"):
        bn.bind(mx.cpu(), {n: mx.nd.ones((2, 3)) if n == "x" else mx.nd.ones((3,))
                           for n in bn.list_arguments()})


def test_simple_bind_errors():
    sym = _mlp()
    with pytest.raises(MXNetError, match="data"):
        sym.simple_bind(mx.cpu())  # nothing to infer from
    x = mx.sym.Variable("x")
    y = mx.sym.Variable("y")
    with pytest.raises(MXNetError, match="y"):
        (x + y * 0 + mx.sym.sum(y)).simple_bind(mx.cpu(), x=(2,))  # y's shape unknown
    with pytest.raises(MXNetError, match="fc1"):
        sym.simple_bind(mx.cpu(), data=(2, 3), fc1_weight=(6, 4))
    exe = sym.simple_bind(mx.cpu(), data=(2, 3))
    with pytest.raises(MXNetError, match="unknown argument"):
        exe.forward(nope=mx.nd.ones((1,)))
    with pytest.raises(MXNetError, match="data"):
        exe.forward(data=mx.nd.ones((3, 3)))


def test_memory_usage_public():
    sym = _mlp()
    u = mx.executor.memory_usage(sym, {"data": (8, 3), "softmax_label": (8,)}, True)
    assert u["internal_bytes"] < u["naive_bytes"]
    assert set(u) >= {"internal_bytes", "naive_bytes", "num_entries"}
    exe = sym.simple_bind(mx.cpu(), grad_req={n: "write" for n in sym.list_arguments()
                                              if n.startswith("fc")}, data=(8, 3))
    assert exe._plan.internal_bytes == u["internal_bytes"]
    assert exe._plan.naive_bytes == u["naive_bytes"]


def test_second_backward_needs_a_forward_when_memory_is_reused():
    h = mx.sym.Variable("data")
    for i in range(3):
        h = mx.sym.FullyConnected(h, num_hidden=5, name="fc%d" % i)
        h = mx.sym.Activation(h, act_type="tanh", name="a%d" % i)
    sym = mx.sym.SoftmaxOutput(h, name="softmax")
    exe = sym.simple_bind(mx.cpu(), data=(4, 3))
    assert exe._bwd_clobbers  # backward reuses blocks of values it reads (MXNet's plan)
    _fill(exe)
    with pytest.raises(MXNetError, match="forward"):
        exe.backward()
    exe.forward(is_train=True)
    exe.backward()
    with pytest.raises(MXNetError, match="forward"):
        exe.backward()
    # a graph whose backward reuses nothing may run backward again
    x = mx.sym.Variable("x")
    w = mx.sym.Variable("w")
    e2 = mx.sym.MakeLoss(x * w, name="l").simple_bind(mx.cpu(), x=(3,), w=(3,))
    assert not e2._bwd_clobbers
    e2.arg_dict["w"][:] = np.array([1, 2, 3], "f")
    e2.forward(is_train=True)
    e2.backward()
    e2.backward()
    _same(e2.grad_dict["x"], np.array([1, 2, 3], "f"))


def test_unread_backward_outputs_are_skipped(monkeypatch):
    """With grad_req 'null' for the data, the fused conv/FC backward ops get no data
    gradient to write (OpDef.skip_unused_outputs): the col2im of the first layer is not
    run, and the weight gradients are those of a full backward."""
    from mixnet.operator import conv as conv_mod
    x = mx.sym.Variable("data")
    net = mx.sym.Convolution(x, kernel=(3, 3), num_filter=4, name="c1")
    net = mx.sym.FullyConnected(mx.sym.Activation(net, act_type="tanh"), num_hidden=3,
                                name="fc")
    net = mx.sym.SoftmaxOutput(net, name="softmax")
    rng = np.random.RandomState(0)
    vals = {"data": rng.rand(2, 1, 6, 6), "c1_weight": rng.rand(4, 1, 3, 3),
            "c1_bias": rng.rand(4), "fc_weight": rng.rand(3, 64), "fc_bias": rng.rand(3),
            "softmax_label": np.array([0, 2])}
    grads = {}
    calls = []
    real = conv_mod._col2im
    monkeypatch.setattr(conv_mod, "_col2im", lambda *a, **k: calls.append(1) or real(*a, **k))
    for req in ("write", "null"):
        reqs = {n: "write" for n in net.list_arguments()}
        reqs["data"] = req
        reqs["softmax_label"] = "null"
        exe = net.simple_bind(mx.cpu(), grad_req=reqs, data=(2, 1, 6, 6))
        for k, v in vals.items():
            exe.arg_dict[k][:] = v
        del calls[:]
        exe.forward(is_train=True)
        exe.backward()
        grads[req] = {k: v.asnumpy() for k, v in exe.grad_dict.items() if v is not None}
        assert len(calls) == (1 if req == "write" else 0)
    for k, v in grads["null"].items():
        np.testing.assert_allclose(v, grads["write"][k], rtol=1e-6)
    assert "data" not in grads["null"]
