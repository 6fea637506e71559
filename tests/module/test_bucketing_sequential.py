"""BucketingModule (shared parameters across buckets), SequentialModule (a chain equal
to one module) and the legacy FeedForward."""
import numpy as np
import pytest

import mixnet as mx
from mixnet.base import MXNetError


def _sym_gen(seq_len):
    """A bucket per sequence length: mean over time of a shared projection."""
    data = mx.sym.Variable("data")                       # (batch, seq_len, 4)
    flat = mx.sym.Reshape(data, shape=(-1, 4))
    proj = mx.sym.FullyConnected(flat, num_hidden=5, name="proj")
    proj = mx.sym.Reshape(proj, shape=(-1, seq_len, 5))
    pooled = mx.sym.mean(proj, axis=1)
    out = mx.sym.FullyConnected(pooled, num_hidden=3, name="cls")
    return mx.sym.SoftmaxOutput(out, name="softmax"), ("data",), ("softmax_label",)


def _batch(rng, seq_len, bs=4):
    x = rng.rand(bs, seq_len, 4).astype(np.float32)
    y = rng.randint(0, 3, bs).astype(np.float32)
    return mx.io.DataBatch([mx.nd.array(x)], [mx.nd.array(y)], bucket_key=seq_len,
                           provide_data=[mx.io.DataDesc("data", x.shape)],
                           provide_label=[mx.io.DataDesc("softmax_label", y.shape)])


def test_bucketing_shares_parameters_and_matches_per_bucket_modules():
    rng = np.random.RandomState(0)
    batches = [_batch(rng, L) for L in (6, 3, 6, 4, 3)]
    mod = mx.mod.BucketingModule(_sym_gen, default_bucket_key=6)
    mod.bind(data_shapes=[("data", (4, 6, 4))], label_shapes=[("softmax_label", (4,))])
    mx.random.seed(1)
    mod.init_params(mx.init.Xavier())
    start = {k: v.copy() for k, v in mod.get_params()[0].items()}
    mod.init_optimizer(optimizer_params={"learning_rate": 0.5, "momentum": 0.9})
    for b in batches:
        mod.forward_backward(b)
        mod.update()
    assert sorted(mod._buckets) == [3, 4, 6]
    got = mod.get_params()[0]

    # reference: one plain Module per step, parameters and momentum carried by hand
    params = start
    states = {}
    opt = mx.optimizer.create("sgd", learning_rate=0.5, momentum=0.9, rescale_grad=0.25,
                              param_idx2name=dict(enumerate(sorted(params))))
    upd = mx.optimizer.get_updater(opt)
    for b in batches:
        sym = _sym_gen(b.bucket_key)[0]
        ref = mx.mod.Module(sym)
        ref.bind(b.provide_data, b.provide_label)
        ref.set_params(params, {})
        ref.forward_backward(b)
        grads = ref._exec_group.execs[0].grad_dict
        params = {k: v.copy() for k, v in ref.get_params()[0].items()}
        for i, k in enumerate(sorted(params)):
            upd(i, grads[k], params[k])
    for k in got:
        np.testing.assert_allclose(got[k].asnumpy(), params[k].asnumpy(), rtol=1e-5, atol=1e-6)
    # every bucket's executor sees the same parameter arrays
    w = [m._exec_group.execs[0].arg_dict["proj_weight"] for m in mod._buckets.values()]
    assert all(x is w[0] for x in w)


def test_bucketing_checkpoint_round_trip(tmp_path):
    rng = np.random.RandomState(1)
    mod = mx.mod.BucketingModule(_sym_gen, default_bucket_key=5)
    mod.bind(data_shapes=[("data", (4, 5, 4))], label_shapes=[("softmax_label", (4,))])
    mod.init_params(mx.init.Normal(0.5))
    prefix = str(tmp_path / "bk")
    mod.save_checkpoint(prefix, 1)
    loaded = mx.mod.BucketingModule.load(prefix, 1, _sym_gen, 5)
    loaded.bind(data_shapes=[("data", (4, 5, 4))], label_shapes=[("softmax_label", (4,))],
                for_training=False)
    b = _batch(rng, 3)
    mod.forward(b, is_train=False)
    loaded.forward(b, is_train=False)
    np.testing.assert_allclose(loaded.get_outputs()[0].asnumpy(),
                               mod.get_outputs()[0].asnumpy(), rtol=1e-6)
    with pytest.raises(MXNetError, match="default_bucket_key"):
        mx.mod.BucketingModule(_sym_gen)


def test_sequential_module_equals_single_module():
    rng = np.random.RandomState(2)
    x = rng.rand(8, 6).astype(np.float32)
    y = rng.randint(0, 3, 8).astype(np.float32)
    params = {"fc1_weight": rng.randn(5, 6).astype(np.float32),
              "fc1_bias": rng.randn(5).astype(np.float32),
              "fc2_weight": rng.randn(3, 5).astype(np.float32),
              "fc2_bias": rng.randn(3).astype(np.float32)}
    nd_params = {k: mx.nd.array(v) for k, v in params.items()}

    d = mx.sym.Variable("data")
    first = mx.sym.Activation(mx.sym.FullyConnected(d, num_hidden=5, name="fc1"),
                              act_type="tanh", name="t1")
    second = mx.sym.SoftmaxOutput(mx.sym.FullyConnected(mx.sym.Variable("hidden"),
                                                        num_hidden=3, name="fc2"),
                                  name="softmax")
    seq = mx.mod.SequentialModule()
    seq.add(mx.mod.Module(first, label_names=None))
    seq.add(mx.mod.Module(second, data_names=["hidden"]), take_labels=True, auto_wiring=True)
    seq.bind(data_shapes=[("data", (8, 6))], label_shapes=[("softmax_label", (8,))])
    seq.init_params(arg_params=nd_params)
    seq.init_optimizer(optimizer_params={"learning_rate": 0.3})

    whole = mx.sym.SoftmaxOutput(mx.sym.FullyConnected(first, num_hidden=3, name="fc2"),
                                 name="softmax")
    single = mx.mod.Module(whole)
    single.bind(data_shapes=[("data", (8, 6))], label_shapes=[("softmax_label", (8,))])
    single.init_params(arg_params=nd_params)
    single.init_optimizer(optimizer_params={"learning_rate": 0.3})

    batch = mx.io.DataBatch([mx.nd.array(x)], [mx.nd.array(y)])
    for m in (seq, single):
        for _ in range(2):
            m.forward_backward(batch)
            m.update()
    a, b = seq.get_params()[0], single.get_params()[0]
    assert sorted(a) == sorted(b)
    for k in a:
        np.testing.assert_allclose(a[k].asnumpy(), b[k].asnumpy(), rtol=1e-5, atol=1e-6)
    metric = mx.metric.create("acc")
    seq.forward(batch, is_train=False)
    seq.update_metric(metric, batch.label)
    assert metric.num_inst == 8
    with pytest.raises(MXNetError, match="unknown options"):
        seq.add(mx.mod.Module(first), take_label=True)


def test_feedforward_fit_predict_save_load(tmp_path):
    rng = np.random.RandomState(3)
    x = rng.rand(60, 5).astype(np.float32)
    y = (x.sum(axis=1) > 2.5).astype(np.float32)
    net = mx.sym.SoftmaxOutput(
        mx.sym.FullyConnected(
            mx.sym.Activation(mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=16,
                                                    name="fc1"), act_type="relu"),
            num_hidden=2, name="fc2"), name="softmax")
    mx.random.seed(0)
    np.random.seed(0)
    model = mx.model.FeedForward.create(net, X=x, y=y, num_epoch=30, numpy_batch_size=20,
                                        learning_rate=0.5, momentum=0.9,
                                        initializer=mx.init.Xavier())
    pred = model.predict(x)
    assert pred.shape == (60, 2) and isinstance(pred, np.ndarray)
    acc = model.score(mx.io.NDArrayIter(x, y, batch_size=20))
    assert acc == pytest.approx(float((pred.argmax(1) == y).mean()))
    assert acc > 0.9
    prefix = str(tmp_path / "ff")
    model.save(prefix)
    loaded = mx.model.FeedForward.load(prefix, 30)
    np.testing.assert_allclose(loaded.predict(x), pred, rtol=1e-6)
    out, data, label = loaded.predict(mx.io.NDArrayIter(x, y, batch_size=25), return_data=True)
    np.testing.assert_array_equal(data, x)
    np.testing.assert_array_equal(label, y)
    with pytest.raises(ValueError, match="y must be given"):
        mx.model.FeedForward(net, num_epoch=1).fit(x)
    with pytest.raises(ValueError, match="60 samples but y has 59"):
        mx.model.FeedForward(net, num_epoch=1).fit(x, y[:59])
