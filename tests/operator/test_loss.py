"""Output layers: SoftmaxOutput, the regression outputs, MakeLoss, softmax_cross_entropy
and CTCLoss. Forwards against NumPy references; the loss layers' prescribed backward
formulas (not derivatives of their forward) written out here and compared under autograd;
true derivatives (softmax_cross_entropy, CTCLoss) by the numeric gradient check."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import mixnet as mx
from mixnet.base import MXNetError
from mixnet.operator import registry
from mixnet.test_utils import assert_almost_equal, check_op


def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _backward(op, inputs, params, head, dtype=None):
    """Run ``mx.nd.<op>`` under autograd with head gradient ``head`` and return the
    gradients of every input (labels included: they must come back zero)."""
    nds = [mx.nd.array(a, dtype=dtype or a.dtype) for a in inputs]
    for x in nds:
        x.attach_grad()
    with mx.autograd.record():
        out = getattr(mx.nd, op)(*nds, **params)
    out.backward(mx.nd.array(head, dtype=out.dtype))
    return [x.grad.asnumpy() for x in nds]


# ============================================================ SoftmaxOutput
def _so_forward(data, label, multi_output=False, preserve_shape=False, **_):
    x = data.astype(np.float64)
    if multi_output:
        y = _softmax(x.reshape(x.shape[0], x.shape[1], -1), 1)
    elif preserve_shape:
        y = _softmax(x.reshape(-1, x.shape[-1]), 1)
    else:
        y = _softmax(x.reshape(x.shape[0], -1), 1)
    return y.reshape(data.shape).astype(data.dtype)


SO_FORWARD_CASES = [
    ((4, 5), (4,), {}),
    ((3, 2, 4), (3, 2), {"preserve_shape": True}),
    ((2, 3, 2, 2), (2, 4), {"multi_output": True}),
    ((2, 3, 2, 2), (2, 2, 2), {"multi_output": True}),
    ((2, 3, 2, 2), (2, 1, 2, 2), {"multi_output": True}),
    ((4, 5), (4, 5), {}),  # probability targets
    ((2, 3, 4), (2, 3), {}),  # rank 3 without preserve_shape: softmax over 12 values
]


@pytest.mark.parametrize("dshape,lshape,params", SO_FORWARD_CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_softmax_output_forward(dshape, lshape, params, dtype):
    rng = np.random.default_rng(1)
    data = rng.standard_normal(dshape).astype(dtype)
    label = rng.integers(0, 3, size=lshape).astype(dtype)
    bad = [([data], params),
           ([data, np.zeros((7,), dtype)], params),
           ([data, label.astype(np.int32 if dtype != np.int32 else np.float32)], params),
           ([data, label], dict(params, normalization="mean"))]
    check_op("SoftmaxOutput", [data, label], params, reference=_so_forward, grad=False,
             bad_inputs=bad)


def test_softmax_alias_and_label_inference():
    op = registry.get("Softmax")
    assert op is registry.get("SoftmaxOutput")
    p = op.parse_params({})
    assert op.infer_shape(p, [(4, 5), None]) == ([(4, 5), (4,)], [(4, 5)])
    assert op.infer_shape(p, [(2, 3, 4), None])[0][1] == (2, 3)
    pm = op.parse_params({"multi_output": True})
    assert op.infer_shape(pm, [(2, 3, 4, 5), None])[0][1] == (2, 20)
    with pytest.raises(MXNetError, match="SoftmaxOutput"):
        op.infer(pm, [(2, 3, 4, 5), (2, 3)], [np.float32, np.float32])
    with pytest.raises(MXNetError, match="SoftmaxOutput"):
        op.infer(p, [(4,), (4,)], [np.float32, np.float32])


def _so_grad_2d(y2, lab_all, rows, p):
    """MXNet's formula for the non-multi_output case on the 2-D view ``y2``."""
    k = y2.shape[1]
    lab = lab_all[:rows].astype(np.int64)
    alpha = p.get("smooth_alpha", 0.0)
    target = np.zeros_like(y2)
    for r in range(rows):
        for c in range(k):
            if c == lab[r]:
                target[r, c] = 1.0 - alpha
            else:
                target[r, c] = alpha / (k - 1) if alpha else 0.0
    g = y2 - target
    ign = p.get("ignore_label", -1.0)
    if p.get("use_ignore"):
        g[lab == int(ign)] = 0.0
    norm = p.get("normalization", "null")
    if norm == "batch":
        g /= lab_all.size
    elif norm == "valid":
        g /= max(int(np.sum(lab_all.astype(np.int64) != int(ign))), 1)
    return g * p.get("grad_scale", 1.0)


def _so_grad_multi(y, label, p):
    n, k = y.shape[:2]
    y3 = y.reshape(n, k, -1)
    r = y3.shape[2]
    lab = label.reshape(n, r).astype(np.int64)
    g = y3.copy()
    for i in range(n):
        for j in range(r):
            if 0 <= lab[i, j] < k:
                g[i, lab[i, j], j] -= 1.0
    ign = p.get("ignore_label", -1.0)
    if p.get("use_ignore"):
        g *= (lab != int(ign))[:, None, :]
    norm = p.get("normalization", "null")
    cnt = {"null": 1, "batch": n,
           "valid": max(int(np.sum(lab != int(ign))), 1)}[norm]
    spatial = 1 if norm == "valid" else r
    return (g * p.get("grad_scale", 1.0) / spatial / cnt).reshape(y.shape)


SO_GRAD_PARAMS = [
    {},
    {"grad_scale": 0.5},
    {"normalization": "batch"},
    {"normalization": "valid", "ignore_label": 2},
    {"use_ignore": True, "ignore_label": 2},
    {"use_ignore": True, "ignore_label": 2, "normalization": "valid", "grad_scale": 3.0},
    {"use_ignore": True, "ignore_label": 1, "normalization": "batch"},
    {"smooth_alpha": 0.2},
    {"smooth_alpha": 0.1, "use_ignore": True, "ignore_label": 0, "normalization": "valid"},
]


@pytest.mark.parametrize("params", SO_GRAD_PARAMS)
def test_softmax_output_gradient_formula(params):
    rng = np.random.default_rng(2)
    data = rng.standard_normal((6, 4))
    label = np.array([0, 1, 2, 2, 3, 1], dtype=np.float64)
    head = rng.standard_normal((6, 4))  # ignored: the layer owns its gradient
    y = _softmax(data, 1)
    gd, gl = _backward("SoftmaxOutput", [data, label], params, head)
    assert_almost_equal(gd, _so_grad_2d(y, label, 6, params), rtol=1e-10, atol=1e-12)
    assert not gl.any()
    # preserve_shape: the same formula over (rows, last axis), rows = label count
    data3 = rng.standard_normal((2, 3, 4))
    label3 = label.reshape(2, 3)
    p3 = dict(params, preserve_shape=True)
    gd, _ = _backward("SoftmaxOutput", [data3, label3], p3, np.ones((2, 3, 4)))
    want = _so_grad_2d(_softmax(data3.reshape(6, 4), 1), label3.reshape(-1), 6, p3)
    assert_almost_equal(gd, want.reshape(2, 3, 4), rtol=1e-10, atol=1e-12)


def test_softmax_output_rank3_reads_one_label_per_row():
    # without preserve_shape a (2, 3, 4) input is 2 rows of 12; MXNet reads labels 0..1
    rng = np.random.default_rng(3)
    data = rng.standard_normal((2, 3, 4))
    label = np.array([[5, 11, 0], [1, 2, 3]], dtype=np.float64)
    gd, _ = _backward("SoftmaxOutput", [data, label], {"normalization": "batch"},
                      np.ones(data.shape))
    y2 = _softmax(data.reshape(2, 12), 1)
    want = _so_grad_2d(y2, label.reshape(-1), 2, {"normalization": "batch"})
    assert_almost_equal(gd, want.reshape(data.shape), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("lshape", [(2, 6), (2, 2, 3), (2, 1, 2, 3)])
@pytest.mark.parametrize("params", [
    {}, {"normalization": "batch", "grad_scale": 2.0},
    {"normalization": "valid", "use_ignore": True, "ignore_label": 0},
    {"use_ignore": True, "ignore_label": 1}])
def test_softmax_output_multi_output_gradient(lshape, params):
    rng = np.random.default_rng(4)
    data = rng.standard_normal((2, 3, 2, 3))
    label = rng.integers(0, 3, size=lshape).astype(np.float64)
    p = dict(params, multi_output=True)
    gd, gl = _backward("SoftmaxOutput", [data, label], p, rng.standard_normal(data.shape))
    want = _so_grad_multi(_softmax(data.reshape(2, 3, 6), 1).reshape(data.shape), label, p)
    assert_almost_equal(gd, want, rtol=1e-10, atol=1e-12)
    assert not gl.any()


def test_softmax_output_probability_targets_and_out_grad():
    rng = np.random.default_rng(5)
    data = rng.standard_normal((3, 4))
    target = _softmax(rng.standard_normal((3, 4)), 1)
    head = rng.standard_normal((3, 4))
    y = _softmax(data, 1)
    # probability targets: grad_scale * (p - target), no normalisation, head ignored
    gd, _ = _backward("SoftmaxOutput", [data, target],
                      {"grad_scale": 2.0, "normalization": "batch"}, head)
    assert_almost_equal(gd, 2.0 * (y - target), rtol=1e-10, atol=1e-12)
    gd, _ = _backward("SoftmaxOutput", [data, target], {"out_grad": True}, head)
    assert_almost_equal(gd, (y - target) * head, rtol=1e-10, atol=1e-12)
    # out_grad multiplies the normalised index-label gradient by the head gradient
    label = np.array([1, 0, 3], dtype=np.float64)
    p = {"out_grad": True, "normalization": "batch", "grad_scale": 0.5}
    gd, _ = _backward("SoftmaxOutput", [data, label], p, head)
    assert_almost_equal(gd, _so_grad_2d(y, label, 3, p) * head, rtol=1e-10, atol=1e-12)


# ============================================================ regression outputs
def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


REGRESSIONS = {
    "LinearRegressionOutput": (lambda x: x, lambda y, t: y - t),
    "LogisticRegressionOutput": (_sigmoid, lambda y, t: y - t),
    "MAERegressionOutput": (lambda x: x, lambda y, t: np.sign(y - t)),
}


@pytest.mark.parametrize("op", sorted(REGRESSIONS))
@pytest.mark.parametrize("dshape,lshape", [((4, 3), (4, 3)), ((5, 1), (5,)),
                                           ((2, 2, 3), (2, 6)), ((3,), (3,))])
def test_regression_outputs(op, dshape, lshape):
    fwd, term = REGRESSIONS[op]
    rng = np.random.default_rng(6)
    data = rng.standard_normal(dshape)
    label = rng.standard_normal(lshape)
    for dtype in (np.float32, np.float64, np.float16):
        check_op(op, [data.astype(dtype), label.astype(dtype)], {"grad_scale": 2.0},
                 reference=lambda d, l, grad_scale: fwd(d.astype(np.float64)).astype(d.dtype),
                 grad=False,
                 bad_inputs=[([data.astype(dtype), np.zeros((7,), dtype)], {}),
                             ([data.astype(dtype)], {}),
                             ([data.astype(dtype), label.astype(np.float16 if dtype != np.float16
                                                               else np.float32)], {})])
    k = label.size // label.shape[0]
    for scale in (1.0, 2.5):
        gd, gl = _backward(op, [data, label], {"grad_scale": scale}, rng.standard_normal(dshape))
        want = scale * term(fwd(data), label.reshape(dshape)) / k
        assert_almost_equal(gd, want, rtol=1e-10, atol=1e-12)
        assert not gl.any()


def test_regression_label_inference():
    op = registry.get("LinearRegressionOutput")
    p = op.parse_params({})
    assert op.infer_shape(p, [(5, 1), None])[0][1] == (5,)
    assert op.infer_shape(p, [(5, 2), None])[0][1] == (5, 2)
    with pytest.raises(MXNetError, match="LinearRegressionOutput"):
        op.infer(p, [(5, 2), (2, 5)], [np.float32, np.float32])


# ============================================================ MakeLoss
@pytest.mark.parametrize("params", [
    {}, {"grad_scale": 3.0}, {"normalization": "batch", "grad_scale": 2.0},
    {"normalization": "valid"}, {"normalization": "valid", "valid_thresh": 0.5},
    {"normalization": "valid", "valid_thresh": 100.0}])
def test_make_loss(params):
    rng = np.random.default_rng(7)
    data = rng.standard_normal((4, 3))
    check_op("MakeLoss", [data.astype(np.float32)], params, reference=lambda d, **_: d,
             grad=False, bad_inputs=[([data, data], {}),
                                     ([data], {"normalization": "sum"})])
    gd, = _backward("MakeLoss", [data], params, rng.standard_normal(data.shape))
    scale = params.get("grad_scale", 1.0)
    norm = params.get("normalization", "null")
    if norm == "batch":
        scale /= data.shape[0]
    elif norm == "valid":
        scale /= max(int(np.sum(data > params.get("valid_thresh", 0.0))), 1)
    assert_almost_equal(gd, np.full(data.shape, scale), rtol=1e-12, atol=0)
    # the lowercase make_loss stays a separate op
    assert registry.get("make_loss") is not registry.get("MakeLoss")


# ============================================================ softmax_cross_entropy
def _sce_ref(data, label):
    x = data.astype(np.float64)
    logp = x - x.max(1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(1, keepdims=True))
    return np.array([-logp[np.arange(len(label)), label.astype(int)].sum()], dtype=data.dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_softmax_cross_entropy(dtype):
    rng = np.random.default_rng(8)
    data = rng.standard_normal((5, 4)).astype(dtype)
    label = np.array([0, 3, 1, 1, 2], dtype=dtype)
    bad = [([data], {}), ([data, np.zeros((4,), dtype)], {}),
           ([data.reshape(5, 2, 2), label], {}), ([data, label.reshape(5, 1)], {})]
    # the numeric gradient check runs in float64, and labels must share the data dtype
    check_op("softmax_cross_entropy", [data, label], {}, reference=_sce_ref,
             grad=[0] if dtype == np.float64 else False, bad_inputs=bad)
    # the gradient is (softmax - onehot) times the (1,)-shaped head gradient
    gd, gl = _backward("softmax_cross_entropy", [data.astype(np.float64),
                                                 label.astype(np.float64)], {},
                       np.array([1.5]))
    want = _softmax(data.astype(np.float64), 1)
    want[np.arange(5), label.astype(int)] -= 1
    assert_almost_equal(gd, 1.5 * want, rtol=1e-6, atol=1e-8)
    assert not gl.any()


# ============================================================ CTCLoss
def _ctc_brute(data, label, *lengths, use_data_lengths=False, use_label_lengths=False,
               blank_label="first"):
    """-log p(label | data) by summing every path of length T_n that collapses to it;
    0 when none does (MXNet's convention for impossible alignments)."""
    t_max, n, a = data.shape
    blank = 0 if blank_label == "first" else a - 1
    pad = 0 if blank_label == "first" else -1
    lengths = list(lengths)
    dl = lengths.pop(0) if use_data_lengths else np.full(n, t_max)
    ll = lengths.pop(0) if use_label_lengths else None
    out = np.zeros(n)
    for b in range(n):
        tn = int(dl[b])
        lab = [int(v) for v in label[b]]
        lab = lab[:int(ll[b])] if ll is not None else (lab[:lab.index(pad)] if pad in lab else lab)
        p = _softmax(data[:tn, b].astype(np.float64), 1)
        total = 0.0
        for path in itertools.product(range(a), repeat=tn):
            col = [k for i, k in enumerate(path) if i == 0 or k != path[i - 1]]
            if [k for k in col if k != blank] == lab:
                total += np.prod(p[np.arange(tn), path])
        out[b] = -np.log(total) if total > 0 else 0.0
    return out.astype(data.dtype)


CTC_CASES = [
    ("CTCLoss", [[1, 2, 0], [3, 3, 0], [1, 0, 0], [2, 1, 3]], [], {}),
    ("ctc_loss", [[0, 1, -1], [2, 2, -1], [0, -1, -1], [1, 0, 2]], [], {"blank_label": "last"}),
    ("_contrib_CTCLoss", [[1, 2, 3], [3, 3, 1], [1, 2, 2], [2, 1, 3]],
     [[5, 3, 2, 4], [2, 2, 1, 3]], {"use_data_lengths": True, "use_label_lengths": True}),
    # sample 1 cannot align [3, 3] in 2 steps: loss 0, gradient 0
    ("_contrib_ctc_loss", [[1, 2, 0], [3, 3, 0], [1, 0, 0], [2, 1, 3]],
     [[5, 2, 2, 4]], {"use_data_lengths": True}),
    ("CTCLoss", [[1, 2, 0], [3, 3, 0], [1, 0, 0], [2, 1, 3]],
     [[2, 2, 1, 0]], {"use_label_lengths": True}),
]


@pytest.mark.parametrize("name,label,lengths,params", CTC_CASES)
def test_ctc_loss(name, label, lengths, params):
    rng = np.random.default_rng(9)
    data = rng.standard_normal((5, 4, 4))
    inputs = [data, np.array(label, dtype=np.float32)] + \
        [np.array(v, dtype=np.float32) for v in lengths]
    bad = [([data], params),
           ([data[:, :3]] + inputs[1:], params),
           ([data[:2]] + inputs[1:], params),
           ([data.reshape(20, 4)] + inputs[1:], params),
           ([data.astype(np.int32)] + inputs[1:], params),
           (inputs, dict(params, blank_label="middle"))]
    check_op(name, inputs, params, reference=_ctc_brute, grad=[0], bad_inputs=bad,
             rtol=1e-10, atol=1e-10)
    check_op(name, [data.astype(np.float32)] + inputs[1:], params,
             reference=lambda d, *r, **k: _ctc_brute(d, *r, **k), grad=False,
             rtol=1e-4, atol=1e-5)


def test_ctc_gradient_is_hidden_and_masked():
    rng = np.random.default_rng(10)
    data = rng.standard_normal((5, 2, 3))
    label = np.array([[1, 2], [2, 0]], dtype=np.float32)
    lengths = np.array([5, 3], dtype=np.float32)
    out = mx.nd.CTCLoss(mx.nd.array(data, dtype=np.float64), mx.nd.array(label),
                        mx.nd.array(lengths), use_data_lengths=True)
    assert isinstance(out, mx.nd.NDArray) and out.shape == (2,)
    gd, gl, gn = _backward("CTCLoss", [data, label, lengths], {"use_data_lengths": True},
                           np.array([1.0, 2.0]))
    assert not gd[3:, 1].any()  # steps past the sequence end get no gradient
    # per time step the gradient w.r.t. activations sums to zero (softmax minus posteriors)
    assert_almost_equal(gd.sum(axis=2), np.zeros((5, 2)), atol=1e-10)
    assert not gl.any() and not gn.any()
