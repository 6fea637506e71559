"""Module: training against a NumPy re-implementation, data parallelism, checkpoints,
reshape, inference helpers and errors."""
import logging
import os

import numpy as np
import pytest

import mixnet as mx
from mixnet.base import MXNetError


def _mlp(hidden=8, classes=3):
    x = mx.sym.Variable("data")
    h = mx.sym.FullyConnected(x, num_hidden=hidden, name="fc1")
    h = mx.sym.Activation(h, act_type="tanh", name="tanh1")
    o = mx.sym.FullyConnected(h, num_hidden=classes, name="fc2")
    return mx.sym.SoftmaxOutput(o, name="softmax")


def _init(rng, n_in=6, hidden=8, classes=3):
    return {"fc1_weight": rng.randn(hidden, n_in).astype(np.float32) * 0.5,
            "fc1_bias": rng.randn(hidden).astype(np.float32) * 0.1,
            "fc2_weight": rng.randn(classes, hidden).astype(np.float32) * 0.5,
            "fc2_bias": rng.randn(classes).astype(np.float32) * 0.1}


def _numpy_sgd_trajectory(params, batches, lr, momentum, wd):
    """SGD with momentum on the MLP above, written out in NumPy: SoftmaxOutput's
    gradient p - onehot(y) (not averaged), rescale_grad = 1/batch, wd only on weights."""
    p = {k: v.astype(np.float64) for k, v in params.items()}
    mom = {k: np.zeros_like(v) for k, v in p.items()}
    for x, y in batches:
        x = x.astype(np.float64)
        h = np.tanh(x @ p["fc1_weight"].T + p["fc1_bias"])
        z = h @ p["fc2_weight"].T + p["fc2_bias"]
        e = np.exp(z - z.max(axis=1, keepdims=True))
        prob = e / e.sum(axis=1, keepdims=True)
        d = prob.copy()
        d[np.arange(len(y)), y.astype(int)] -= 1
        grads = {"fc2_weight": d.T @ h, "fc2_bias": d.sum(0)}
        dh = (d @ p["fc2_weight"]) * (1 - h ** 2)
        grads.update({"fc1_weight": dh.T @ x, "fc1_bias": dh.sum(0)})
        scale = 1.0 / len(x)
        for k in p:
            k_wd = wd if k.endswith("_weight") else 0.0
            mom[k] = momentum * mom[k] - lr * k_wd * p[k] - lr * scale * grads[k]
            p[k] = p[k] + mom[k]
    return p


def _batches(rng, n=3, bs=8, n_in=6, classes=3):
    return [(rng.rand(bs, n_in).astype(np.float32),
             rng.randint(0, classes, bs).astype(np.float32)) for _ in range(n)]


def _train(context, params, batches, **opt):
    mod = mx.mod.Module(_mlp(), context=context)
    bs, n_in = batches[0][0].shape
    mod.bind(data_shapes=[("data", (bs, n_in))], label_shapes=[("softmax_label", (bs,))])
    mod.init_params(arg_params={k: mx.nd.array(v) for k, v in params.items()})
    mod.init_optimizer(optimizer="sgd", optimizer_params=opt)
    for x, y in batches:
        mod.forward_backward(mx.io.DataBatch([mx.nd.array(x)], [mx.nd.array(y)]))
        mod.update()
    return mod


def test_sgd_trajectory_matches_numpy():
    rng = np.random.RandomState(0)
    params, batches = _init(rng), _batches(rng)
    mod = _train(mx.cpu(), params, batches, learning_rate=0.5, momentum=0.9, wd=0.01)
    want = _numpy_sgd_trajectory(params, batches, 0.5, 0.9, 0.01)
    arg, aux = mod.get_params()
    assert aux == {}
    assert sorted(arg) == sorted(want)
    for k in want:
        np.testing.assert_allclose(arg[k].asnumpy(), want[k], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kvstore", ["local", "device"])
def test_two_contexts_equal_one(kvstore):
    rng = np.random.RandomState(1)
    params, batches = _init(rng), _batches(rng, n=4)
    one = _train(mx.cpu(0), params, batches, learning_rate=0.3, momentum=0.9, wd=0.001)
    mod = mx.mod.Module(_mlp(), context=[mx.cpu(0), mx.cpu(1)])
    mod.bind(data_shapes=[("data", (8, 6))], label_shapes=[("softmax_label", (8,))])
    mod.init_params(arg_params={k: mx.nd.array(v) for k, v in params.items()})
    mod.init_optimizer(kvstore=kvstore, optimizer="sgd",
                       optimizer_params={"learning_rate": 0.3, "momentum": 0.9, "wd": 0.001})
    assert mod._kvstore is not None and mod._update_on_kvstore
    for x, y in batches:
        mod.forward_backward(mx.io.DataBatch([mx.nd.array(x)], [mx.nd.array(y)]))
        mod.update()
    a1, _ = one.get_params()
    a2, _ = mod.get_params()
    for k in a1:
        np.testing.assert_allclose(a2[k].asnumpy(), a1[k].asnumpy(), rtol=1e-5, atol=1e-6)
    # the merged outputs are the full batch, in order
    mod.forward(mx.io.DataBatch([mx.nd.array(batches[0][0])], [mx.nd.array(batches[0][1])]),
                is_train=False)
    one.forward(mx.io.DataBatch([mx.nd.array(batches[0][0])], [mx.nd.array(batches[0][1])]),
                is_train=False)
    np.testing.assert_allclose(mod.get_outputs()[0].asnumpy(), one.get_outputs()[0].asnumpy(),
                               rtol=1e-5, atol=1e-6)
    assert len(mod.get_outputs(merge_multi_context=False)[0]) == 2


def test_two_contexts_updating_on_devices(monkeypatch):
    """MXNET_UPDATE_ON_KVSTORE=0: gradients are summed by the store and every device
    runs the optimizer itself; the result is the same."""
    monkeypatch.setenv("MXNET_UPDATE_ON_KVSTORE", "0")
    rng = np.random.RandomState(2)
    params, batches = _init(rng), _batches(rng)
    one = _train(mx.cpu(0), params, batches, learning_rate=0.3, momentum=0.9)
    two = _train([mx.cpu(0), mx.cpu(1)], params, batches, learning_rate=0.3, momentum=0.9)
    assert two._kvstore is not None and not two._update_on_kvstore
    for k, v in one.get_params()[0].items():
        np.testing.assert_allclose(two.get_params()[0][k].asnumpy(), v.asnumpy(),
                                   rtol=1e-5, atol=1e-6)


def test_work_load_list_split():
    mod = mx.mod.Module(_mlp(), context=[mx.cpu(0), mx.cpu(1)], work_load_list=[3, 1])
    mod.bind(data_shapes=[("data", (8, 6))], label_shapes=[("softmax_label", (8,))])
    shapes = [e.arg_dict["data"].shape for e in mod._exec_group.execs]
    assert shapes == [(6, 6), (2, 6)]


def test_checkpoint_with_optimizer_states_continues_identically(tmp_path):
    rng = np.random.RandomState(3)
    params, batches = _init(rng), _batches(rng, n=4)
    opt = {"learning_rate": 0.2, "momentum": 0.9}
    full = _train(mx.cpu(), params, batches, **opt)
    half = _train(mx.cpu(), params, batches[:2], **opt)
    prefix = str(tmp_path / "mlp")
    half.save_checkpoint(prefix, 2, save_optimizer_states=True)
    for suffix in ("-symbol.json", "-0002.params", "-0002.states"):
        assert os.path.exists(prefix + suffix)
    mod = mx.mod.Module.load(prefix, 2, load_optimizer_states=True)
    mod.bind(data_shapes=[("data", (8, 6))], label_shapes=[("softmax_label", (8,))])
    mod.init_optimizer(optimizer="sgd", optimizer_params=opt)
    for x, y in batches[2:]:
        mod.forward_backward(mx.io.DataBatch([mx.nd.array(x)], [mx.nd.array(y)]))
        mod.update()
    for k, v in full.get_params()[0].items():
        np.testing.assert_allclose(mod.get_params()[0][k].asnumpy(), v.asnumpy(),
                                   rtol=1e-6, atol=1e-7)


def test_checkpoint_params_not_matching_symbol(tmp_path):
    rng = np.random.RandomState(4)
    params = _init(rng)
    mod = mx.mod.Module(_mlp())
    mod.bind(data_shapes=[("data", (8, 6))], label_shapes=[("softmax_label", (8,))])
    missing = {k: mx.nd.array(v) for k, v in params.items() if k != "fc2_bias"}
    with pytest.raises(MXNetError, match="fc2_bias"):
        mod.set_params(missing, {})
    wrong = {k: mx.nd.array(v) for k, v in params.items()}
    wrong["fc1_weight"] = mx.nd.zeros((8, 7))
    with pytest.raises(MXNetError, match=r"fc1_weight.*\(8, 7\).*\(8, 6\)"):
        mod.set_params(wrong, {})
    extra = {k: mx.nd.array(v) for k, v in params.items()}
    extra["fc9_weight"] = mx.nd.zeros((2, 2))
    with pytest.raises(MXNetError, match="fc9_weight"):
        mod.set_params(extra, {})
    mod.set_params(extra, {}, allow_extra=True)
    # a checkpoint of another network
    other = mx.sym.SoftmaxOutput(mx.sym.FullyConnected(mx.sym.Variable("data"),
                                                       num_hidden=3, name="fc9"),
                                 name="softmax")
    mx.model.save_checkpoint(str(tmp_path / "o"), 1, other,
                             {"fc9_weight": mx.nd.zeros((3, 6)), "fc9_bias": mx.nd.zeros(3)}, {})
    _, arg, aux = mx.model.load_checkpoint(str(tmp_path / "o"), 1)
    with pytest.raises(MXNetError, match="not in the given parameters"):
        mod.set_params(arg, aux)


def test_batch_shape_disagreeing_with_bound_shapes():
    mod = mx.mod.Module(_mlp())
    mod.bind(data_shapes=[("data", (8, 6))], label_shapes=[("softmax_label", (8,))])
    mod.init_params()
    bad = mx.io.DataBatch([mx.nd.ones((8, 5))], [mx.nd.ones((8,))])
    with pytest.raises(MXNetError, match=r"data.*\(8, 5\)"):
        mod.forward(bad)
    lying = mx.io.DataBatch([mx.nd.ones((4, 6))], [mx.nd.ones((4,))],
                            provide_data=[mx.io.DataDesc("data", (8, 6))])
    with pytest.raises(MXNetError, match="provide_data"):
        mod.forward(lying)
    with pytest.raises(MXNetError, match="2 data"):
        mod.forward(mx.io.DataBatch([mx.nd.ones((8, 6)), mx.nd.ones((8, 6))],
                                    [mx.nd.ones((8,))]))
    with pytest.raises(MXNetError, match="names"):
        mod2 = mx.mod.Module(_mlp())
        mod2.bind(data_shapes=[("x", (8, 6))])


def test_smaller_batch_reshapes_and_back():
    rng = np.random.RandomState(5)
    params = _init(rng)
    mod = mx.mod.Module(_mlp())
    mod.bind(data_shapes=[("data", (8, 6))], label_shapes=[("softmax_label", (8,))],
             for_training=False)
    mod.set_params({k: mx.nd.array(v) for k, v in params.items()}, {})
    x = rng.rand(8, 6).astype(np.float32)
    mod.forward(mx.io.DataBatch([mx.nd.array(x)], [mx.nd.zeros(8)]))
    full = mod.get_outputs()[0].asnumpy()
    mod.forward(mx.io.DataBatch([mx.nd.array(x[:3])], [mx.nd.zeros(3)]))
    np.testing.assert_allclose(mod.get_outputs()[0].asnumpy(), full[:3], rtol=1e-6)
    mod.forward(mx.io.DataBatch([mx.nd.array(x)], [mx.nd.zeros(8)]))
    np.testing.assert_allclose(mod.get_outputs()[0].asnumpy(), full, rtol=1e-6)
    mod.reshape(data_shapes=[("data", (2, 6))], label_shapes=[("softmax_label", (2,))])
    assert mod.data_shapes[0].shape == (2, 6)
    assert mod.output_shapes == [("softmax_output", (2, 3))]


def _iters(rng, n=40, bs=8):
    x = rng.rand(n, 6).astype(np.float32)
    y = (x[:, 0] > 0.5).astype(np.float32) + (x[:, 1] > 0.5)
    return x, y, mx.io.NDArrayIter(x, y, batch_size=bs)


def test_fit_logs_and_callbacks_and_score_predict(caplog):
    rng = np.random.RandomState(6)
    x, y, it = _iters(rng)
    mx.random.seed(0)
    mod = mx.mod.Module(_mlp())
    seen = []
    epochs = []
    with caplog.at_level(logging.INFO):
        mod.fit(it, eval_data=mx.io.NDArrayIter(x, y, batch_size=8), num_epoch=3,
                optimizer_params={"learning_rate": 0.5, "momentum": 0.9},
                initializer=mx.init.Xavier(),
                batch_end_callback=lambda p: seen.append((p.epoch, p.nbatch)),
                epoch_end_callback=lambda e, s, a, x_: epochs.append((e, sorted(a))))
    assert seen == [(e, b) for e in range(3) for b in range(5)]
    assert epochs == [(e, ["fc1_bias", "fc1_weight", "fc2_bias", "fc2_weight"])
                      for e in range(3)]
    text = caplog.text
    for e in range(3):
        assert "Epoch[%d] Train-accuracy=" % e in text
        assert "Epoch[%d] Time cost=" % e in text
        assert "Epoch[%d] Validation-accuracy=" % e in text
    (name, acc), = mod.score(mx.io.NDArrayIter(x, y, batch_size=8), "acc")
    assert name == "accuracy"
    probs = mod.predict(mx.io.NDArrayIter(x, y, batch_size=16))
    assert probs.shape == (40, 3)   # 40 = 3 batches of 16, the last padded by 8 rows
    assert acc == pytest.approx(float((probs.asnumpy().argmax(1) == y).mean()))
    direct = mod.predict(mx.nd.array(x[:5]))
    np.testing.assert_allclose(direct.asnumpy(), probs.asnumpy()[:5], rtol=1e-5)
    outs = list(mod.iter_predict(mx.io.NDArrayIter(x, y, batch_size=16)))
    assert [o[0][0].shape[0] for o in outs] == [16, 16, 8]
    with pytest.raises(MXNetError, match="num_epoch"):
        mod.fit(it)


def test_fit_unknown_metric_and_optimizer():
    rng = np.random.RandomState(7)
    _, _, it = _iters(rng)
    with pytest.raises(MXNetError, match="nope"):
        mx.mod.Module(_mlp()).fit(it, num_epoch=1, eval_metric="nope")
    with pytest.raises(MXNetError, match="sgdd"):
        mx.mod.Module(_mlp()).fit(it, num_epoch=1, optimizer="sgdd")


def test_inputs_need_grad_and_fixed_params():
    rng = np.random.RandomState(8)
    params = _init(rng)
    mod = mx.mod.Module(_mlp(), fixed_param_names=["fc1_weight"])
    mod.bind(data_shapes=[("data", (8, 6))], label_shapes=[("softmax_label", (8,))],
             inputs_need_grad=True)
    mod.init_params(arg_params={k: mx.nd.array(v) for k, v in params.items()})
    mod.init_optimizer(optimizer_params={"learning_rate": 1.0})
    x = rng.rand(8, 6).astype(np.float32)
    y = rng.randint(0, 3, 8).astype(np.float32)
    mod.forward_backward(mx.io.DataBatch([mx.nd.array(x)], [mx.nd.array(y)]))
    g = mod.get_input_grads()[0].asnumpy()
    # numeric reference: d/dx of sum over samples of -log p[y]
    w1, b1, w2, b2 = (params[k].astype(np.float64) for k in
                      ("fc1_weight", "fc1_bias", "fc2_weight", "fc2_bias"))
    h = np.tanh(x @ w1.T + b1)
    z = h @ w2.T + b2
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    d = p.copy()
    d[np.arange(8), y.astype(int)] -= 1
    want = ((d @ w2) * (1 - h ** 2)) @ w1
    np.testing.assert_allclose(g, want, rtol=1e-4, atol=1e-6)
    mod.update()
    arg, _ = mod.get_params()
    np.testing.assert_array_equal(arg["fc1_weight"].asnumpy(), params["fc1_weight"])
    assert not np.allclose(arg["fc2_weight"].asnumpy(), params["fc2_weight"])


def test_lr_mult_attribute_reaches_the_optimizer():
    x = mx.sym.Variable("data")
    w = mx.sym.Variable("fc_weight", lr_mult=0.0)
    net = mx.sym.SoftmaxOutput(mx.sym.FullyConnected(x, weight=w, num_hidden=2, name="fc"),
                               name="softmax")
    mod = mx.mod.Module(net)
    mod.bind(data_shapes=[("data", (4, 3))], label_shapes=[("softmax_label", (4,))])
    mod.init_params(mx.init.Normal(1.0))
    before = mod.get_params()[0]["fc_weight"].asnumpy().copy()
    mod.init_optimizer(optimizer_params={"learning_rate": 1.0})
    mod.forward_backward(mx.io.DataBatch([mx.nd.ones((4, 3))], [mx.nd.zeros(4)]))
    mod.update()
    np.testing.assert_array_equal(mod.get_params()[0]["fc_weight"].asnumpy(), before)


def test_lifecycle_errors():
    mod = mx.mod.Module(_mlp())
    with pytest.raises(MXNetError, match="bind"):
        mod.init_params()
    with pytest.raises(ValueError, match="nodata"):
        mx.mod.Module(_mlp(), data_names=["nodata"])
    mod.bind(data_shapes=[("data", (8, 6))], label_shapes=[("softmax_label", (8,))],
             for_training=False)
    with pytest.raises(MXNetError, match="init_params"):
        mod.forward(mx.io.DataBatch([mx.nd.ones((8, 6))], [mx.nd.ones(8)]))
    mod.init_params()
    with pytest.raises(MXNetError, match="for_training"):
        mod.backward()


def test_save_params_load_params_round_trip(tmp_path):
    rng = np.random.RandomState(9)
    params = _init(rng)
    mod = mx.mod.Module(_mlp())
    mod.bind(data_shapes=[("data", (8, 6))], label_shapes=[("softmax_label", (8,))])
    mod.init_params(arg_params={k: mx.nd.array(v) for k, v in params.items()})
    fname = str(tmp_path / "p.params")
    mod.save_params(fname)
    other = mx.mod.Module(_mlp())
    other.bind(data_shapes=[("data", (8, 6))], label_shapes=[("softmax_label", (8,))])
    other.init_params()
    other.load_params(fname)
    for k, v in params.items():
        np.testing.assert_array_equal(other.get_params()[0][k].asnumpy(), v)
