"""Activations, softmax family and Dropout: forward against NumPy references, numeric
gradients, train/predict behaviour, random-op properties and bad inputs."""
from __future__ import annotations

import math

import numpy as np
import pytest

import mixnet as mx
from mixnet import autograd
from mixnet.operator import get
from mixnet.test_utils import check_op

SELU_L, SELU_A = 1.0507009873554805, 1.6732632423543772
_erf = np.vectorize(math.erf)


def _randn(*shape, dtype=np.float64):
    return np.random.standard_normal(shape).astype(dtype)


def _away_from_zero(*shape, dtype=np.float64):
    """Values with |x| >= 0.1 so finite differences never straddle a kink at 0."""
    x = np.random.standard_normal(shape)
    return (np.sign(x) * (0.1 + np.abs(x))).astype(dtype)


# ------------------------------------------------------------------------ Activation
_ACT_REFS = {
    "relu": lambda x: np.maximum(x, 0),
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "tanh": np.tanh,
    "softrelu": lambda x: np.log1p(np.exp(x)),
    "softsign": lambda x: x / (1 + np.abs(x)),
}


@pytest.mark.parametrize("act", sorted(_ACT_REFS))
def test_activation(act):
    x = 2 * _away_from_zero(3, 4)
    check_op("Activation", [x], {"act_type": act},
             reference=lambda x, act_type: _ACT_REFS[act_type](x),
             bad_inputs=[([x], {}), ([x], {"act_type": "swish"}),
                         ([x.astype(np.int32)], {"act_type": act}), ([x, x], {"act_type": act})])


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_activation_low_precision(dtype):
    x = (3 * _randn(2, 5)).astype(dtype)
    for act, ref in _ACT_REFS.items():
        got = mx.nd.Activation(mx.nd.array(x, dtype=dtype), act_type=act)
        assert got.dtype == dtype
        np.testing.assert_allclose(got.asnumpy().astype(np.float64),
                                   ref(x.astype(np.float64)), rtol=2e-3 if dtype == np.float16
                                   else 1e-5, atol=2e-3 if dtype == np.float16 else 1e-6)


def test_softrelu_extremes():
    x = np.array([-100.0, -30.0, 0.0, 30.0, 100.0], np.float32)
    got = mx.nd.Activation(mx.nd.array(x), act_type="softrelu").asnumpy()
    np.testing.assert_allclose(got, np.logaddexp(0, x.astype(np.float64)), rtol=1e-6, atol=1e-40)


# ------------------------------------------------------------------------- LeakyReLU
def _lrelu_ref(x, gamma=None, act_type="leaky", slope=0.25, lower_bound=0.125,
               upper_bound=0.334):
    if act_type == "leaky":
        return np.where(x > 0, x, slope * x)
    if act_type == "elu":
        return np.where(x > 0, x, slope * (np.exp(x) - 1))
    if act_type == "selu":
        return SELU_L * np.where(x > 0, x, SELU_A * (np.exp(x) - 1))
    if act_type == "gelu":
        return 0.5 * x * (1 + _erf(x / math.sqrt(2)))
    if act_type == "prelu":
        g = gamma.reshape((1, -1) + (1,) * (x.ndim - 2)) if x.ndim >= 2 else gamma
        return np.where(x > 0, x, g * x)
    slope = (lower_bound + upper_bound) / 2  # rrelu in inference
    y = np.where(x > 0, x, slope * x)
    return [y, y]  # the mask output holds what MXNet 1.9.1's backward reads (see op docs)


@pytest.mark.parametrize("act,params", [("leaky", {}), ("leaky", {"slope": 0.1}),
                                        ("elu", {"slope": 0.7}), ("gelu", {})])
def test_leaky_relu(act, params):
    x = 2 * _away_from_zero(3, 4, 2)
    check_op("LeakyReLU", [x], dict(params, act_type=act), reference=_lrelu_ref,
             bad_inputs=[([x], {"act_type": "swish"}), ([x, x], {"act_type": act}),
                         ([x.astype(np.int64)], {"act_type": act})])


def test_gelu_precision():
    x = np.linspace(-9, 9, 2001)
    got = mx.nd.LeakyReLU(mx.nd.array(x, dtype=np.float64), act_type="gelu").asnumpy()
    want = 0.5 * x * np.vectorize(math.erfc)(-x / math.sqrt(2))
    np.testing.assert_allclose(got, want, rtol=2e-7, atol=1e-300)


def test_selu_forward_and_mxnet_gradient():
    x = 2 * _away_from_zero(3, 5)
    check_op("LeakyReLU", [x], {"act_type": "selu"}, reference=_lrelu_ref, grad=False)
    # MXNet 1.9.1 differentiates selu as lambda * (alpha + y) on the negative side (fixture
    # LeakyReLU_selu); the analytic derivative would be y + lambda * alpha
    a = mx.nd.array(x, dtype=np.float64)
    a.attach_grad()
    head = _randn(*x.shape)
    with autograd.record():
        y = mx.nd.LeakyReLU(a, act_type="selu")
    y.backward(mx.nd.array(head, dtype=np.float64))
    yv = _lrelu_ref(x, act_type="selu")
    np.testing.assert_allclose(a.grad.asnumpy(),
                               head * SELU_L * np.where(x > 0, 1.0, SELU_A + yv), rtol=1e-12)


@pytest.mark.parametrize("shape,gshape", [((2, 3, 4), (3,)), ((4, 3), (1,)), ((5, 2), (2,))])
def test_prelu(shape, gshape):
    x = _away_from_zero(*shape)
    gamma = np.random.uniform(0.05, 0.5, size=gshape)
    check_op("LeakyReLU", [x, gamma], {"act_type": "prelu"}, reference=_lrelu_ref,
             bad_inputs=[([x], {"act_type": "prelu"}),
                         ([x, np.ones(shape[1] + 1)], {"act_type": "prelu"})])


def test_prelu_infers_gamma_shape():
    op = get("LeakyReLU")
    p = op.parse_params({"act_type": "prelu"})
    assert op.input_names(p) == ["data", "gamma"]
    assert op.infer_shape(p, [(2, 7, 3), None])[0][1] == (7,)
    assert op.input_names(op.parse_params({})) == ["data"]


def test_rrelu_inference_and_training():
    lo, hi = 0.1, 0.3
    x = _away_from_zero(40, 50)
    params = {"act_type": "rrelu", "lower_bound": lo, "upper_bound": hi}
    check_op("LeakyReLU", [x], params, reference=_lrelu_ref, grad=False,
             bad_inputs=[([x], {"act_type": "rrelu", "lower_bound": 0.5, "upper_bound": 0.1})])
    a = mx.nd.array(x, dtype=np.float64)
    a.attach_grad()
    head = _randn(*x.shape)
    with autograd.record():
        y, mask = mx.nd.LeakyReLU(a, **params)
    y.backward(mx.nd.array(head, dtype=np.float64))
    m = mask.asnumpy()
    assert m.min() >= lo and m.max() <= hi and m.std() > 0.03  # U(0.1, 0.3): std 0.058
    assert abs(m.mean() - 0.2) < 0.01
    np.testing.assert_allclose(y.asnumpy(), np.where(x > 0, x, m * x), rtol=1e-12)
    np.testing.assert_allclose(a.grad.asnumpy(), np.where(x > 0, head, m * head), rtol=1e-12)


# ------------------------------------------------------------------- softmax family
def _softmax_ref(x, length=None, axis=-1, temperature=None, dtype=None, use_length=False,
                 kind="softmax"):
    t = 1.0 if temperature is None else temperature
    z = x.astype(np.float64) / t
    if kind == "softmin":
        z = -z
    ax = axis % x.ndim
    mask = np.ones(x.shape, bool)
    if use_length:
        pos = np.arange(x.shape[ax]).reshape((-1,) + (1,) * (x.ndim - ax - 1))
        mask = pos < np.expand_dims(length.astype(np.int64), ax)
    zm = np.where(mask, z, -np.inf)
    mx_ = np.max(zm, axis=ax, keepdims=True)
    mx_ = np.where(np.isfinite(mx_), mx_, 0)
    e = np.where(mask, np.exp(zm - mx_), 0)
    s = e.sum(axis=ax, keepdims=True)
    with np.errstate(all="ignore"):  # rows of length 0 and masked entries: replaced below
        r = np.log(e / s) if kind == "log_softmax" else e / s
    r = np.where(mask, r, 0)
    return r.astype(dtype or x.dtype)


@pytest.mark.parametrize("kind", ["softmax", "log_softmax", "softmin"])
@pytest.mark.parametrize("params", [{}, {"axis": 0}, {"axis": 1, "temperature": 2.5}])
def test_softmax_family(kind, params):
    x = 2 * _randn(3, 4, 2)
    check_op(kind, [x], params, reference=lambda *a, **p: _softmax_ref(*a, kind=kind, **p),
             bad_inputs=[([x], {"axis": 3}), ([x.astype(np.int32)], {}),
                         ([x, x], {}), ([x], {"dtype": "int32"})])


@pytest.mark.parametrize("kind", ["softmax", "log_softmax", "softmin"])
def test_softmax_use_length(kind):
    x = _randn(3, 5)
    length = np.array([5, 2, 1], np.int32)
    params = {"use_length": True, "axis": -1}
    check_op(kind, [x, length], params, grad=[0],
             reference=lambda *a, **p: _softmax_ref(*a, kind=kind, **p),
             bad_inputs=[([x], params), ([x, np.ones(4, np.int32)], params)])
    x3 = _randn(2, 4, 3)
    len3 = np.array([[1, 4, 2], [3, 0, 4]], np.float32)  # along axis 1; a zero length
    check_op(kind, [x3, len3], {"use_length": True, "axis": 1}, grad=[0],
             reference=lambda *a, **p: _softmax_ref(*a, kind=kind, **p))


def test_softmax_dtype_and_float16():
    x = _randn(2, 6, dtype=np.float16)
    y = mx.nd.softmax(mx.nd.array(x, dtype=np.float16), dtype="float32")
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.asnumpy(), _softmax_ref(x.astype(np.float32)), rtol=1e-5)
    # the gradient takes the data dtype even when the output dtype differs
    a = mx.nd.array(x, dtype=np.float16)
    a.attach_grad()
    with autograd.record():
        out = mx.nd.softmax(a, dtype="float32")
    out.backward(mx.nd.array(np.ones((2, 6)) * np.arange(6), dtype=np.float32))
    assert a.grad.dtype == np.float16
    p = out.asnumpy().astype(np.float64)
    want = p * (np.arange(6) - (p * np.arange(6)).sum(-1, keepdims=True))
    np.testing.assert_allclose(a.grad.asnumpy(), want, rtol=1e-2, atol=1e-3)
    check_op("softmax", [x], {}, reference=lambda x: _softmax_ref(x))


# ----------------------------------------------------------------- SoftmaxActivation
def _sma_ref(x, mode="instance"):
    if mode == "instance":
        return _softmax_ref(x.reshape(x.shape[0], -1)).reshape(x.shape)
    return _softmax_ref(x, axis=1)


@pytest.mark.parametrize("mode", ["instance", "channel"])
def test_softmax_activation(mode):
    x = _randn(2, 3, 2)
    check_op("SoftmaxActivation", [x], {"mode": mode}, reference=_sma_ref,
             bad_inputs=[([x[0, 0]], {"mode": mode}), ([x], {"mode": "spatial"})])


# ------------------------------------------------------------------------- Dropout
def test_dropout_identity_outside_training():
    x = _randn(3, 4, 5)
    # check_op records its gradient pass in training mode, where the mask is random: the
    # gradient is checked against the mask in test_dropout_mask_and_gradient instead
    check_op("Dropout", [x], {"p": 0.3, "axes": (1,)}, reference=lambda x, **_: x, grad=False,
             bad_inputs=[([x], {"p": 1.5}), ([x], {"mode": "sometimes"}),
                         ([x], {"axes": (3,)}), ([x.astype(np.int32)], {})])
    with autograd.train_mode():  # p = 0 is the identity even in training
        np.testing.assert_array_equal(mx.nd.Dropout(mx.nd.array(x), p=0).asnumpy(),
                                      x.astype(np.float32))
    a = mx.nd.array(x)
    a.attach_grad()
    with autograd.record(train_mode=False):
        y = mx.nd.Dropout(a, p=0.5)
    y.backward(mx.nd.array(2 * np.ones(x.shape)))
    np.testing.assert_array_equal(y.asnumpy(), x.astype(np.float32))
    np.testing.assert_array_equal(a.grad.asnumpy(), 2 * np.ones(x.shape))


@pytest.mark.parametrize("mode,train", [("training", True), ("always", False)])
def test_dropout_mask_and_gradient(mode, train):
    p = 0.3
    x = _away_from_zero(60, 70)
    a = mx.nd.array(x, dtype=np.float64)
    a.attach_grad()
    head = _randn(*x.shape)
    with autograd.record(train_mode=train):
        y = mx.nd.Dropout(a, p=p, mode=mode)
    y.backward(mx.nd.array(head, dtype=np.float64))
    scale = y.asnumpy() / x
    kept = scale != 0
    np.testing.assert_allclose(scale[kept], 1 / (1 - p), rtol=1e-12)
    assert abs(kept.mean() - (1 - p)) < 0.03  # 4200 draws: std of the mean 0.007
    np.testing.assert_allclose(a.grad.asnumpy(), head * scale, rtol=1e-12)


def test_dropout_axes_share_mask():
    x = np.ones((50, 4, 30), np.float32)
    y = mx.nd.Dropout(mx.nd.array(x), p=0.5, axes=(0, 2), mode="always").asnumpy()
    # one draw per index of axis 1, shared along axes 0 and 2
    assert all(len(np.unique(y[:, c, :])) == 1 for c in range(4))
    assert set(np.unique(y)) <= {0.0, 2.0}
    y2 = mx.nd.Dropout(mx.nd.array(x), p=0.5, axes=(1,), mode="always").asnumpy()
    assert (y2 == y2[:, :1, :]).all() and 0.3 < (y2 != 0).mean() < 0.7


def test_dropout_p_one_and_outputs():
    x = np.ones((3, 4), np.float32)
    assert (mx.nd.Dropout(mx.nd.array(x), p=1.0, mode="always").asnumpy() == 0).all()
    op = get("Dropout")
    p = op.parse_params({"p": "0.2", "cudnn_off": "None"})
    assert op.num_outputs(p) == 2 and op.num_visible_outputs(p) == 1
    assert op.resources == ("random",)
