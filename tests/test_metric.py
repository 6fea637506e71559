"""mx.metric: every metric against NumPy / hand-computed references, local vs global
statistics, composite metrics, create() and the error messages."""
from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import pytest

import mixnet as mx
from mixnet import metric as M

# two batches of a 3-class problem
P1 = np.array([[0.1, 0.7, 0.2], [0.6, 0.3, 0.1], [0.2, 0.3, 0.5], [0.4, 0.4, 0.2]],
              dtype=np.float32)
L1 = np.array([1, 0, 1, 1], dtype=np.float32)
P2 = np.array([[0.3, 0.3, 0.4], [0.8, 0.1, 0.1], [0.1, 0.2, 0.7]], dtype=np.float32)
L2 = np.array([2, 1, 2], dtype=np.float32)


def nd(*arrays):
    return [mx.nd.array(a, dtype=a.dtype) for a in arrays]


def run(metric, batches):
    for labels, preds in batches:
        metric.update(labels, preds)
    return metric.get()[1]


# ------------------------------------------------------------------------ base class
def test_nan_before_update_and_names():
    m = M.Accuracy()
    name, value = m.get()
    assert name == "accuracy" and math.isnan(value)
    assert math.isnan(m.get_global()[1])
    assert m.get_name_value()[0][0] == "accuracy"
    assert str(m).startswith("EvalMetric: {'accuracy': nan")


def test_accuracy_local_global_and_reset_local():
    m = M.Accuracy()
    m.update(nd(L1), nd(P1))      # argmax [1, 0, 2, 0] vs [1, 0, 1, 1]: 2/4
    assert m.get() == ("accuracy", 0.5)
    m.update(nd(L2), nd(P2))      # argmax [2, 0, 2] vs [2, 1, 2]: 2/3
    assert m.get()[1] == pytest.approx(4 / 7)
    assert (m.sum_metric, m.num_inst, m.global_sum_metric, m.global_num_inst) == (4, 7, 4, 7)
    m.reset_local()
    assert math.isnan(m.get()[1]) and m.get_global()[1] == pytest.approx(4 / 7)
    m.update(nd(L2), nd(P2))
    assert m.get()[1] == pytest.approx(2 / 3)
    assert m.get_global()[1] == pytest.approx(6 / 10)
    assert m.get_global_name_value() == [("accuracy", pytest.approx(0.6))]
    m.reset()
    assert math.isnan(m.get()[1]) and math.isnan(m.get_global()[1])


def test_accuracy_same_shape_casts_to_int_and_axis():
    m = M.Accuracy()
    # same shape: no argmax; predictions truncate to int32
    m.update([mx.nd.array([1, 2, 0])], [mx.nd.array([1.9, 1.2, 0.4])])
    assert m.get()[1] == pytest.approx(2 / 3)
    m = M.Accuracy(axis=0)
    m.update([mx.nd.array([0, 2])], [mx.nd.array(P2[:, :2])])   # argmax over axis 0: [1, 0]
    assert m.get()[1] == 0.0
    # NumPy arrays and a bare array (wrapped) are accepted
    m = M.Accuracy()
    m.update(L1, P1)
    assert m.get()[1] == 0.5


def test_accuracy_errors():
    m = M.Accuracy()
    with pytest.raises(ValueError, match=r"accuracy.*Number of labels 2 does not match.* 1"):
        m.update(nd(L1, L2), nd(P1))
    with pytest.raises(mx.MXNetError, match=r"'accuracy': 3 labels .*4 predicted classes"):
        m.update(nd(L2), nd(P1))


def test_update_dict_selects_by_names():
    m = M.Accuracy(output_names=["out"], label_names=["lab"])
    m.update_dict({"other": mx.nd.array([0, 0, 0, 0]), "lab": mx.nd.array(L1)},
                  {"out": mx.nd.array(P1), "junk": mx.nd.zeros((4, 3))})
    assert m.get()[1] == 0.5
    m = M.Accuracy()
    m.update_dict(OrderedDict(a=mx.nd.array(L2)), OrderedDict(b=mx.nd.array(P2)))
    assert m.get()[1] == pytest.approx(2 / 3)
    with pytest.raises(KeyError, match="output 'out' not found"):
        M.Accuracy(output_names=["out"]).update_dict({"l": mx.nd.array(L1)},
                                                     {"x": mx.nd.array(P1)})


# ---------------------------------------------------------------------- classification
@pytest.mark.parametrize("k", [2, 3, 5])
def test_top_k_accuracy(k):
    rng = np.random.RandomState(0)
    batches = []
    hits = count = 0
    for _ in range(3):
        pred = rng.rand(6, 4).astype(np.float32)
        label = rng.randint(0, 4, size=6).astype(np.float32)
        order = np.argsort(-pred, axis=1)[:, :min(k, 4)]
        hits += sum(int(label[i]) in order[i] for i in range(6))
        count += 6
        batches.append((nd(label), nd(pred)))
    m = M.TopKAccuracy(top_k=k)
    assert m.name == "top_k_accuracy_%d" % k
    assert run(m, batches) == pytest.approx(hits / count)
    assert m.get_config()["top_k"] == k


def test_top_k_errors():
    with pytest.raises(ValueError, match="use Accuracy"):
        M.TopKAccuracy()
    with pytest.raises(ValueError, match="no more than 2-D"):
        M.TopKAccuracy(top_k=2).update(nd(L1), [mx.nd.zeros((4, 3, 2))])


def _binary_counts(label, pred):
    tp = fp = fn = tn = 0
    for lab, row in zip(label, pred):
        p = int(np.argmax(row))
        tp += p == 1 and lab == 1
        fp += p == 1 and lab != 1
        fn += p != 1 and lab == 1
        tn += p != 1 and lab != 1
    return tp, fp, fn, tn


def _f1(tp, fp, fn, tn):
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    return 2 * prec * rec / (prec + rec) if prec + rec else 0.0


def _mcc(tp, fp, fn, tn):
    if tp + fp + fn + tn == 0:
        return 0.0
    terms = [tp + fp, tp + fn, tn + fp, tn + fn]
    denom = np.prod([t for t in terms if t]) if any(terms) else 1.0
    return (tp * tn - fp * fn) / math.sqrt(denom)


BIN = [
    (np.array([0, 1, 1, 0, 1]), np.array([[0.3, 0.7], [0.2, 0.8], [0.9, 0.1], [0.4, 0.6],
                                         [0.1, 0.9]], dtype=np.float32)),
    (np.array([1, 0, 0]), np.array([[0.6, 0.4], [0.7, 0.3], [0.2, 0.8]], dtype=np.float32)),
    (np.array([1, 1]), np.array([[0.1, 0.9], [0.4, 0.6]], dtype=np.float32)),
]


@pytest.mark.parametrize("cls, score", [(M.F1, _f1), (M.MCC, _mcc)])
def test_f1_mcc_macro_and_micro(cls, score):
    counts = [_binary_counts(lab, pred) for lab, pred in BIN]
    macro = cls()
    micro = cls(average="micro")
    for lab, pred in BIN:
        macro.update(nd(lab.astype(np.float32)), nd(pred))
        micro.update(nd(lab.astype(np.float32)), nd(pred))
    per_batch = [score(*c) for c in counts]
    pooled = tuple(np.sum(counts, axis=0))
    assert macro.get()[1] == pytest.approx(np.mean(per_batch))
    assert macro.get_global()[1] == pytest.approx(np.mean(per_batch))
    assert micro.get()[1] == pytest.approx(score(*pooled))
    assert micro.get_global()[1] == pytest.approx(score(*pooled))
    # after reset_local the local value restarts, the global one keeps everything
    macro.reset_local()
    micro.reset_local()
    lab, pred = BIN[0]
    macro.update(nd(lab.astype(np.float32)), nd(pred))
    micro.update(nd(lab.astype(np.float32)), nd(pred))
    assert macro.get()[1] == pytest.approx(per_batch[0])
    assert macro.get_global()[1] == pytest.approx(np.mean(per_batch + per_batch[:1]))
    assert micro.get()[1] == pytest.approx(score(*counts[0]))
    both = tuple(np.sum(counts + counts[:1], axis=0))
    assert micro.get_global()[1] == pytest.approx(score(*both))
    assert macro.get_config() == {"metric": cls.__name__, "name": macro.name,
                                  "output_names": None, "label_names": None}


def test_f1_hand_values():
    m = M.F1()
    m.update([mx.nd.array([0, 1, 1])], [mx.nd.array([[0.3, 0.7], [0, 1.0], [0.4, 0.6]])])
    assert m.get() == ("f1", pytest.approx(0.8))    # tp 2, fp 1, fn 0
    with pytest.raises(ValueError, match="binary"):
        m.update([mx.nd.array([0, 1, 2])], [mx.nd.zeros((3, 3))])
    with pytest.raises(ValueError, match="average"):
        M.F1(average="weighted")


def test_perplexity_with_ignore_label_and_axis():
    label = np.array([1, 0, 2, 1], dtype=np.float32)
    prob = np.array([[0.2, 0.5, 0.3], [0.6, 0.3, 0.1], [0.1, 0.1, 0.8], [0.3, 0.3, 0.4]],
                    dtype=np.float32)
    m = M.Perplexity(ignore_label=None)
    m.update(nd(label), nd(prob))
    expect = math.exp(-np.mean(np.log([0.5, 0.6, 0.8, 0.3])))
    assert m.get()[1] == pytest.approx(expect, rel=1e-6)
    m = M.Perplexity(ignore_label=1)
    m.update(nd(label), nd(prob))
    m.update(nd(label[:2]), nd(prob[:2]))
    expect = math.exp(-(np.log(0.6) + np.log(0.8) + np.log(0.6)) / 3)
    assert m.get()[1] == pytest.approx(expect, rel=1e-6)
    assert (m.num_inst, m.global_num_inst) == (3, 3)
    # classes on axis 0
    m = M.Perplexity(ignore_label=None, axis=0)
    m.update(nd(label), nd(np.ascontiguousarray(prob.T)))
    assert m.get()[1] == pytest.approx(math.exp(-np.mean(np.log([0.5, 0.6, 0.8, 0.3]))),
                                       rel=1e-6)
    assert m.get_config()["ignore_label"] is None
    with pytest.raises(ValueError, match="do not fit"):
        m.update(nd(label[:2]), nd(prob))


def test_perplexity_floors_at_1e10():
    m = M.Perplexity(ignore_label=None)
    m.update([mx.nd.array([0])], [mx.nd.array([[0.0, 1.0]])])
    assert m.get()[1] == pytest.approx(1e10, rel=1e-5)


# --------------------------------------------------------------------------- regression
@pytest.mark.parametrize("cls, fn", [
    (M.MAE, lambda d: np.abs(d).mean()),
    (M.MSE, lambda d: (d ** 2).mean()),
    (M.RMSE, lambda d: math.sqrt((d ** 2).mean())),
])
def test_regression_means_of_batch_means(cls, fn):
    a_l = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    a_p = np.array([[1.5], [2.0], [2.0]], dtype=np.float32)
    b_l = np.array([[0.0, 1.0]], dtype=np.float32)
    b_p = np.array([[2.0, 2.0]], dtype=np.float32)
    m = cls()
    m.update(nd(a_l), nd(a_p))        # 1-D label becomes a (3, 1) column
    m.update(nd(b_l), nd(b_p))
    v1 = fn(a_l.reshape(3, 1) - a_p)
    v2 = fn(b_l - b_p)
    assert m.get()[1] == pytest.approx((v1 + v2) / 2, rel=1e-6)
    assert m.num_inst == 2
    m.reset_local()
    m.update(nd(b_l), nd(b_p))
    assert m.get()[1] == pytest.approx(v2, rel=1e-6)
    assert m.get_global()[1] == pytest.approx((v1 + 2 * v2) / 3, rel=1e-6)
    with pytest.raises(ValueError, match="do not broadcast"):
        m.update([mx.nd.zeros((3, 2))], [mx.nd.zeros((4, 3))])


@pytest.mark.parametrize("cls, name", [(M.CrossEntropy, "cross-entropy"),
                                       (M.NegativeLogLikelihood, "nll-loss")])
def test_cross_entropy_and_nll(cls, name):
    m = cls()
    m.update(nd(L1, L2), nd(P1, P2))
    picked = [P1[i, int(L1[i])] for i in range(4)] + [P2[i, int(L2[i])] for i in range(3)]
    expect = np.mean(-np.log(np.array(picked, dtype=np.float64) + 1e-12))
    assert m.get() == (name, pytest.approx(expect, rel=1e-6))
    assert m.num_inst == 7
    assert m.get_config()["eps"] == 1e-12
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\)"):
        m.update([mx.nd.array([3])], [mx.nd.array(P1[:1])])
    with pytest.raises(ValueError, match="matching 3 labels"):
        m.update(nd(L2), nd(P1))


def test_pearson_macro_and_micro():
    rng = np.random.RandomState(3)
    batches = [(rng.rand(5, 2).astype(np.float32), rng.rand(5, 2).astype(np.float32))
               for _ in range(3)]
    macro = M.PearsonCorrelation()
    micro = M.PearsonCorrelation(average="micro")
    for lab, pred in batches:
        macro.update(nd(lab), nd(pred))
        micro.update(nd(lab), nd(pred))
    per = [np.corrcoef(p.ravel(), l.ravel())[0, 1] for l, p in batches]
    assert macro.get() == ("pearsonr", pytest.approx(np.mean(per)))
    allp = np.concatenate([p.ravel() for _, p in batches])
    alll = np.concatenate([l.ravel() for l, _ in batches])
    assert micro.get()[1] == pytest.approx(np.corrcoef(allp, alll)[0, 1], rel=1e-6)
    # MXNet 1.9.1 keeps no global sums for 'micro': its get_global() is 0.0
    assert micro.get_global() == ("pearsonr", 0.0)
    micro.reset()
    assert math.isnan(micro.get()[1])
    with pytest.raises(ValueError, match=r"Shape of labels \(5, 2\) does not match"):
        macro.update(nd(batches[0][0]), [mx.nd.zeros((5, 3))])


def _multiclass_mcc(label, pred, k):
    cm = np.zeros((k, k))
    for p, l in zip(pred, label):
        cm[p, l] += 1
    n = cm.sum()
    x, y = cm.sum(1), cm.sum(0)
    cov_xy = sum(cm[i, i] * n - x[i] * y[i] for i in range(k))
    cov_xx = sum(x[i] * (n - x[i]) for i in range(k))
    cov_yy = sum(y[i] * (n - y[i]) for i in range(k))
    return cov_xy / math.sqrt(cov_xx * cov_yy)


def test_pcc_grows_and_matches_multiclass_mcc():
    m = M.PCC()
    lab1 = np.array([0, 1, 1, 0], dtype=np.float32)
    pred1 = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]], dtype=np.float32)
    lab2 = np.array([2, 3, 1], dtype=np.float32)
    pred2 = np.array([2, 3, 0], dtype=np.float32)      # same shape: used as classes
    m.update(nd(lab1), nd(pred1))
    p1 = pred1.argmax(1)
    assert m.get()[1] == pytest.approx(_multiclass_mcc(lab1.astype(int), p1, 2))
    m.update(nd(lab2), nd(pred2))
    assert m.k == 4 and m.num_inst == 2
    all_l = np.concatenate([lab1, lab2]).astype(int)
    all_p = np.concatenate([p1, pred2.astype(int)])
    assert m.get()[1] == pytest.approx(_multiclass_mcc(all_l, all_p, 4))
    m.reset_local()
    m.update(nd(lab2), nd(pred2))
    assert m.get()[1] == pytest.approx(_multiclass_mcc(lab2.astype(int), pred2.astype(int),
                                                       4))
    assert m.get_global()[1] == pytest.approx(
        _multiclass_mcc(np.concatenate([all_l, lab2.astype(int)]),
                        np.concatenate([all_p, pred2.astype(int)]), 4))
    one_class = M.PCC()
    one_class.update([mx.nd.array([1, 1])], [mx.nd.array([1, 1])])
    assert math.isnan(one_class.get()[1])


@pytest.mark.parametrize("cls, name", [(M.Loss, "loss"), (M.Torch, "torch"),
                                       (M.Caffe, "caffe")])
def test_loss_family(cls, name):
    m = cls()
    m.update(None, [mx.nd.array([1.0, 2.0, 3.0]), mx.nd.array([[4.0], [6.0]])])
    m.update(None, mx.nd.array([0.5]))
    assert m.get() == (name, pytest.approx(16.5 / 6))
    assert m.num_inst == 6


# ------------------------------------------------------------------------------ custom
def test_custom_metric_value_and_tuple():
    def mae_pair(label, pred):
        assert isinstance(label, np.ndarray) and isinstance(pred, np.ndarray)
        return float(np.abs(label - pred).sum()), label.size

    m = M.CustomMetric(mae_pair)
    assert m.name == "mae_pair"
    m.update([mx.nd.array([1, 2]), mx.nd.array([0])], [mx.nd.array([2, 2]), np.array([3.0])])
    assert (m.sum_metric, m.num_inst) == (4.0, 3)
    lam = M.CustomMetric(lambda l, p: 0.25)
    assert lam.name == "custom(<lambda>)"
    lam.update(nd(L1, L2), nd(P1, P2))
    assert lam.get()[1] == 0.25 and lam.num_inst == 2
    with pytest.raises(NotImplementedError, match="serialized"):
        lam.get_config()


def test_custom_metric_extra_outputs():
    strict = M.CustomMetric(lambda l, p: 1.0, name="c")
    with pytest.raises(ValueError, match="Number of labels 1 does not match"):
        strict.update(nd(L1), nd(P1, P1))
    loose = M.CustomMetric(lambda l, p: 1.0, name="c", allow_extra_outputs=True)
    loose.update(nd(L1), nd(P1, P1))
    assert loose.num_inst == 1


def test_np_wrapper():
    def my_mean_diff(label, pred):
        return float(np.mean(pred - label))

    m = M.np(my_mean_diff)
    assert isinstance(m, M.CustomMetric) and m.name == "my_mean_diff"
    m.update([mx.nd.array([1.0, 1.0])], [mx.nd.array([2.0, 4.0])])
    assert m.get()[1] == 2.0
    assert M.np(my_mean_diff, name="d").name == "d"


# --------------------------------------------------------------------------- composite
def test_composite():
    c = M.CompositeEvalMetric([M.Accuracy(), "ce"])
    c.add(M.MSE())
    assert isinstance(c.get_metric(1), M.CrossEntropy)
    with pytest.raises(ValueError, match="index 5 is out of range"):
        c.get_metric(5)
    c.update(nd(L1), nd(P1))
    names, values = c.get()
    assert names == ["accuracy", "cross-entropy", "mse"]
    assert values[0] == 0.5
    c.reset_local()
    assert all(math.isnan(v) for v in c.get()[1])
    assert c.get_global()[1][0] == 0.5
    name, value = c.get_name_value()[0]
    assert name == "accuracy" and math.isnan(value)
    assert [n for n, _ in c.get_global_name_value()] == names
    c.reset()
    assert all(math.isnan(v) for v in c.get_global()[1])
    cfg = c.get_config()
    assert cfg["metric"] == "CompositeEvalMetric" and cfg["name"] == "composite"
    assert [m["metric"] for m in cfg["metrics"]] == ["Accuracy", "CrossEntropy", "MSE"]


def test_composite_update_dict_filters_names():
    c = M.CompositeEvalMetric([M.Accuracy()], label_names=["l"], output_names=["o"])
    c.update_dict({"l": mx.nd.array(L2), "x": mx.nd.array(L1)},
                  {"junk": mx.nd.array(P1), "o": mx.nd.array(P2)})
    assert c.get()[1] == [pytest.approx(2 / 3)]


def test_composite_nested_results_flatten():
    inner = M.CompositeEvalMetric(["acc", "mae"])
    outer = M.CompositeEvalMetric([inner, "mse"])
    outer.update(nd(L2), nd(P2))
    assert outer.get()[0] == ["accuracy", "mae", "mse"]


# ------------------------------------------------------------------------------ create
@pytest.mark.parametrize("name, cls", [
    ("acc", M.Accuracy), ("accuracy", M.Accuracy), ("Accuracy", M.Accuracy),
    ("ce", M.CrossEntropy), ("crossentropy", M.CrossEntropy),
    ("nll_loss", M.NegativeLogLikelihood), ("mse", M.MSE), ("rmse", M.RMSE),
    ("mae", M.MAE), ("f1", M.F1), ("mcc", M.MCC), ("pearsonr", M.PearsonCorrelation),
    ("pcc", M.PCC), ("loss", M.Loss), ("composite", M.CompositeEvalMetric),
    ("torch", M.Torch), ("caffe", M.Caffe),
])
def test_create_by_name(name, cls):
    assert type(M.create(name)) is cls


def test_create_forms():
    assert M.create("top_k_accuracy", top_k=3).name == "top_k_accuracy_3"
    assert M.create("top_k_acc", 4).top_k == 4
    assert M.create("perplexity", ignore_label=0).ignore_label == 0
    acc = M.Accuracy()
    assert M.create(acc) is acc
    custom = M.create(lambda l, p: 1.0)
    assert isinstance(custom, M.CustomMetric)
    comp = M.create(["acc", acc, M.F1()])
    assert isinstance(comp, M.CompositeEvalMetric) and len(comp.metrics) == 3
    assert comp.metrics[1] is acc
    again = M.create(M.Accuracy(axis=0, name="a0").get_config())
    assert type(again) is M.Accuracy and again.axis == 0 and again.name == "a0"
    again = M.create(**M.CrossEntropy(eps=1e-3).get_config())
    assert again.eps == 1e-3
    assert M.create('["mse", {"name": "m"}]').name == "m"


def test_create_unknown_name_lists_known():
    with pytest.raises(mx.MXNetError, match=r"unknown metric 'accc' \(known: .*acc, "):
        M.create("accc")
    with pytest.raises(mx.MXNetError, match="must be a name"):
        M.create(3)


def test_register_and_alias():
    @M.register
    @M.alias("always_one")
    class AlwaysOne(M.EvalMetric):
        def __init__(self, name="one"):
            super().__init__(name)

        def update(self, labels, preds):
            self.sum_metric += len(labels)
            self.num_inst += len(labels)

    m = M.create("always_one")
    assert isinstance(m, AlwaysOne) and isinstance(M.create("alwaysone"), AlwaysOne)
    m.update([1, 2], [3, 4])
    assert m.get() == ("one", 1.0)
    # no global statistics declared: get_global falls back to the local value
    assert m.get_global() == ("one", 1.0)
    with pytest.raises(ValueError, match="subclasses of EvalMetric"):
        M.register(dict)


def test_check_label_shapes():
    a, b = M.check_label_shapes(mx.nd.zeros((2,)), mx.nd.zeros((2, 3)), wrap=True)
    assert isinstance(a, list) and isinstance(b, list)
    with pytest.raises(ValueError, match=r"Shape of labels \(2,\) does not match shape of "
                                         r"predictions \(2, 3\)"):
        M.check_label_shapes(mx.nd.zeros((2,)), mx.nd.zeros((2, 3)), shape=True)
    with pytest.raises(ValueError, match="Number of labels 1"):
        M.check_label_shapes([1], [1, 2])


def test_update_uses_one_host_copy_per_array(monkeypatch):
    calls = []
    orig = mx.nd.NDArray.asnumpy

    def counting(self):
        calls.append(self.shape)
        return orig(self)

    monkeypatch.setattr(mx.nd.NDArray, "asnumpy", counting)
    for metric in (M.Accuracy(), M.CrossEntropy(), M.MSE(), M.F1(), M.Perplexity(None),
                   M.PCC(), M.TopKAccuracy(2), M.Loss()):
        calls.clear()
        label, pred = mx.nd.array([0, 1, 1]), mx.nd.array([[0.3, 0.7], [0, 1.0], [0.4, 0.6]])
        metric.update([label], [pred])
        assert len(calls) <= 2, (metric.name, calls)
