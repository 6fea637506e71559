"""Normalisation ops: BatchNorm, LayerNorm, InstanceNorm, GroupNorm, L2Normalization, LRN
against NumPy references, numeric gradients, train/predict behaviour and bad inputs."""
from __future__ import annotations

import numpy as np
import pytest

import mixnet as mx
from mixnet import autograd
from mixnet.operator import get
from mixnet.test_utils import check_numeric_gradient, check_op


def _randn(*shape, dtype=np.float64):
    # NumPy's global generator: the suite seeds it per test (MXNET_TEST_SEED reruns a case)
    return np.random.standard_normal(shape).astype(dtype)


def _bs(ndim, axis, c):
    s = [1] * ndim
    s[axis] = c
    return tuple(s)


# ------------------------------------------------------------------------- BatchNorm
def _bn_global_ref(x, gamma, beta, mm, mv, eps=1e-3, fix_gamma=True, axis=1, **_):
    ax = axis % x.ndim
    bs = _bs(x.ndim, ax, x.shape[ax])
    g = np.ones_like(gamma) if fix_gamma else gamma
    inv = 1.0 / np.sqrt(mv.astype(np.float64) + eps)
    y = (x.astype(np.float64) - mm.reshape(bs)) * (g * inv).reshape(bs) + beta.reshape(bs)
    return y.astype(x.dtype)


def _bn_inputs(shape, axis=1, dtype=np.float64, pdtype=None):
    c = shape[axis]
    pdtype = pdtype or dtype
    return [_randn(*shape, dtype=dtype), (1 + 0.5 * _randn(c)).astype(pdtype),
            _randn(c, dtype=pdtype), (0.3 * _randn(c)).astype(pdtype),
            (0.5 + np.random.uniform(size=c)).astype(pdtype)]


@pytest.mark.parametrize("shape,axis", [((4, 3, 2, 2), 1), ((5, 3), 1), ((2, 3, 4), -1),
                                        ((3, 2, 2), 0)])
@pytest.mark.parametrize("fix_gamma", [True, False])
def test_batchnorm_global_stats(shape, axis, fix_gamma):
    ins = _bn_inputs(shape, axis)
    params = dict(fix_gamma=fix_gamma, use_global_stats=True, axis=axis, eps=1e-3)
    check_op("BatchNorm", ins, params,
             reference=lambda *a, **p: _bn_global_ref(*a, **p), grad=[0, 1, 2],
             bad_inputs=[
                 (ins[:4], {}),  # missing moving_var
                 ([ins[0], ins[1][:-1]] + ins[2:], {}),  # gamma of the wrong length
                 (ins, {"axis": 7}),
                 ([ins[0].astype(np.int32)] + ins[1:], {}),
                 (ins, {"momentum": "fast"}),
             ])


def _bn_train_ref(x, gamma, beta, eps, fix_gamma, axis):
    ax = axis % x.ndim
    red = tuple(i for i in range(x.ndim) if i != ax)
    bs = _bs(x.ndim, ax, x.shape[ax])
    m = x.mean(axis=red)
    v = x.var(axis=red)
    g = np.ones_like(gamma) if fix_gamma else gamma
    y = (x - m.reshape(bs)) / np.sqrt(v.reshape(bs) + eps) * g.reshape(bs) + beta.reshape(bs)
    return y, m, v


@pytest.mark.parametrize("axis", [1, -1])
def test_batchnorm_train_updates_moving_stats(axis):
    x, gamma, beta, mm, mv = _bn_inputs((4, 3, 5), axis, dtype=np.float32)
    nds = [mx.nd.array(a) for a in (x, gamma, beta, mm, mv)]
    with autograd.train_mode():
        out, mean, inv = mx.nd.BatchNorm(*nds, fix_gamma=False, momentum=0.8, eps=1e-3,
                                         axis=axis, output_mean_var=True)
    y, m, v = _bn_train_ref(x.astype(np.float64), gamma, beta, 1e-3, False, axis)
    np.testing.assert_allclose(out.asnumpy(), y, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(mean.asnumpy(), m, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(inv.asnumpy(), 1 / np.sqrt(v + 1e-3), rtol=1e-4)
    # running statistics use the biased batch variance
    np.testing.assert_allclose(nds[3].asnumpy(), 0.8 * mm + 0.2 * m, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(nds[4].asnumpy(), 0.8 * mv + 0.2 * v, rtol=1e-5, atol=1e-6)
    # predict mode: moving statistics, no update
    before = nds[3].asnumpy().copy()
    out2 = mx.nd.BatchNorm(*nds, fix_gamma=False, axis=axis)
    np.testing.assert_allclose(out2.asnumpy(), _bn_global_ref(
        x, gamma, beta, nds[3].asnumpy(), nds[4].asnumpy(), fix_gamma=False, axis=axis),
        rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(nds[3].asnumpy(), before)


@pytest.mark.parametrize("fix_gamma", [True, False])
def test_batchnorm_train_gradient(fix_gamma):
    x, gamma, beta, mm, mv = _bn_inputs((4, 3, 2))

    def bn(x, gamma, beta):
        with autograd.train_mode():  # batch statistics in both the numeric and analytic pass
            return mx.nd.BatchNorm(x, gamma, beta, mx.nd.array(mm, dtype=mm.dtype),
                                   mx.nd.array(mv, dtype=mv.dtype), fix_gamma=fix_gamma)
    check_numeric_gradient(bn, [x, gamma, beta], dtype=np.float64, rtol=1e-3, atol=1e-6,
                           numeric_eps=1e-5)
    xs = [mx.nd.array(a, dtype=a.dtype) for a in (x, gamma, beta)]
    for a in xs:
        a.attach_grad()
    head = _randn(*x.shape)
    with autograd.record():
        y = mx.nd.BatchNorm(*xs, mx.nd.array(mm, dtype=mm.dtype),
                            mx.nd.array(mv, dtype=mv.dtype), fix_gamma=fix_gamma)
    y.backward(mx.nd.array(head, dtype=head.dtype))
    xh = _bn_train_ref(x, np.ones(3), np.zeros(3), 1e-3, True, 1)[0]
    np.testing.assert_allclose(xs[2].grad.asnumpy(), head.sum(axis=(0, 2)), rtol=1e-10)
    want_g = np.zeros(3) if fix_gamma else (head * xh).sum(axis=(0, 2))
    np.testing.assert_allclose(xs[1].grad.asnumpy(), want_g, rtol=1e-8, atol=1e-12)


def test_batchnorm_float16_uses_float32_params():
    x, gamma, beta, mm, mv = _bn_inputs((2, 3, 4), dtype=np.float16, pdtype=np.float32)
    out = mx.nd.BatchNorm(*[mx.nd.array(a, dtype=a.dtype) for a in (x, gamma, beta, mm, mv)],
                          fix_gamma=False)
    assert out.dtype == np.float16
    np.testing.assert_allclose(out.asnumpy().astype(np.float64),
                               _bn_global_ref(x.astype(np.float64), gamma, beta, mm, mv,
                                              fix_gamma=False), rtol=1e-2, atol=1e-2)
    with pytest.raises(mx.MXNetError, match="BatchNorm.*gamma"):
        mx.nd.BatchNorm(*[mx.nd.array(a, dtype=np.float16) for a in (x, gamma, beta, mm, mv)])


def test_batchnorm_shape_completion_and_outputs():
    op = get("BatchNorm")
    p = op.parse_params({"axis": -1})
    ins, outs = op.infer_shape(p, [(2, 5, 7), None, None, None, None])
    assert ins == [(2, 5, 7)] + [(7,)] * 4 and outs == [(2, 5, 7), (7,), (7,)]
    assert op.num_visible_outputs(p) == 1
    assert op.num_visible_outputs(op.parse_params({"output_mean_var": True})) == 3
    assert op.input_names(p) == ["data", "gamma", "beta", "moving_mean", "moving_var"]
    assert op.mutate_indices(p) == [3, 4]
    pd = op.parse_params({"eps": "0.001", "fix_gamma": "False", "cudnn_off": "True"})
    assert pd.eps == 1e-3 and pd.fix_gamma is False and pd.momentum == 0.9


# ------------------------------------------------------------------------- LayerNorm
def _ln_ref(x, gamma, beta, axis=-1, eps=1e-5, output_mean_var=False):
    ax = axis % x.ndim
    m = x.mean(axis=ax, keepdims=True)
    sd = np.sqrt(x.var(axis=ax, keepdims=True) + eps)
    bs = _bs(x.ndim, ax, x.shape[ax])
    y = (x - m) / sd * gamma.reshape(bs) + beta.reshape(bs)
    return [y, m, sd] if output_mean_var else y


@pytest.mark.parametrize("shape,axis", [((3, 5), -1), ((2, 3, 4), 1), ((2, 3, 4), 0)])
def test_layernorm(shape, axis):
    c = shape[axis]
    ins = [_randn(*shape), _randn(c), _randn(c)]
    check_op("LayerNorm", ins, {"axis": axis}, reference=_ln_ref,
             bad_inputs=[([ins[0], ins[1][:-1], ins[2]], {"axis": axis}),
                         (ins, {"axis": 5}), (ins[:2], {"axis": axis})])
    check_op("LayerNorm", ins, {"axis": axis, "output_mean_var": True, "eps": 1e-3},
             reference=_ln_ref, grad=False)


def test_layernorm_float16():
    ins = [_randn(3, 8, dtype=np.float16), _randn(8, dtype=np.float16),
           _randn(8, dtype=np.float16)]
    check_op("LayerNorm", ins, {}, reference=lambda x, g, b: _ln_ref(
        x.astype(np.float64), g.astype(np.float64), b.astype(np.float64)).astype(np.float16),
        grad=False)


# ---------------------------------------------------------------------- InstanceNorm
def _in_ref(x, gamma, beta, eps=1e-3):
    red = tuple(range(2, x.ndim))
    m = x.mean(axis=red, keepdims=True)
    v = x.var(axis=red, keepdims=True)
    bs = _bs(x.ndim, 1, x.shape[1])
    return (x - m) / np.sqrt(v + eps) * gamma.reshape(bs) + beta.reshape(bs)


@pytest.mark.parametrize("shape", [(2, 3, 4), (2, 2, 3, 2)])
def test_instancenorm(shape):
    ins = [_randn(*shape), _randn(shape[1]), _randn(shape[1])]
    check_op("InstanceNorm", ins, {"eps": 1e-3}, reference=_in_ref,
             bad_inputs=[([_randn(3, 4), _randn(4), _randn(4)], {}),
                         ([ins[0], _randn(shape[1] + 1), ins[2]], {})])


# ------------------------------------------------------------------------- GroupNorm
def _gn_ref(x, gamma, beta, num_groups=1, eps=1e-5, output_mean_var=False):
    n, c = x.shape[:2]
    xg = x.reshape((n, num_groups, -1))
    m = xg.mean(axis=2, keepdims=True)
    sd = np.sqrt(xg.var(axis=2, keepdims=True) + eps)
    y = ((xg - m) / sd).reshape((n, num_groups, c // num_groups) + x.shape[2:])
    bs = (1, num_groups) + (1,) * (y.ndim - 2)
    y = (y * gamma.reshape(bs) + beta.reshape(bs)).reshape(x.shape)
    return [y, m.reshape(n, num_groups), sd.reshape(n, num_groups)] if output_mean_var else y


@pytest.mark.parametrize("shape,groups", [((2, 4, 3), 2), ((2, 6, 2, 2), 3), ((3, 4, 2), 1)])
def test_groupnorm(shape, groups):
    ins = [_randn(*shape), _randn(groups), _randn(groups)]
    check_op("GroupNorm", ins, {"num_groups": groups}, reference=_gn_ref,
             bad_inputs=[([ins[0], _randn(shape[1] + 1), ins[2]], {"num_groups": groups}),
                         ([_randn(2, 5, 3), _randn(2), _randn(2)], {"num_groups": 2}),
                         ([_randn(3, 4), _randn(1), _randn(1)], {}),
                         (ins, {"num_groups": 0})])
    check_op("GroupNorm", ins, {"num_groups": groups, "output_mean_var": True},
             reference=_gn_ref, grad=False)
    op = get("GroupNorm")
    ishapes, _ = op.infer_shape(op.parse_params({"num_groups": groups}), [shape, None, None])
    assert ishapes[1] == ishapes[2] == (groups,)


# ------------------------------------------------------------------- L2Normalization
def _l2_ref(x, eps=1e-10, mode="instance"):
    axes = {"instance": tuple(range(1, x.ndim)), "channel": (1,),
            "spatial": tuple(range(2, x.ndim))}[mode]
    return x / np.sqrt((x * x).sum(axis=axes, keepdims=True) + eps)


@pytest.mark.parametrize("mode", ["instance", "channel", "spatial"])
@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 2, 2)])
def test_l2normalization(mode, shape):
    x = _randn(*shape)
    # eps keeps the degenerate 2-D spatial case (x / sqrt(x^2 + eps)) smooth at the scale
    # of the finite differences
    check_op("L2Normalization", [x], {"mode": mode, "eps": 0.1}, reference=_l2_ref,
             bad_inputs=[([_randn(4)], {"mode": mode}), ([x], {"mode": "batch"}),
                         ([x.astype(np.int32)], {})])


# ------------------------------------------------------------------------------- LRN
def _lrn_ref(x, alpha=1e-4, beta=0.75, knorm=2.0, nsize=None):
    h = nsize // 2
    c = x.shape[1]
    s = np.zeros_like(x)
    for i in range(c):  # the textbook per-channel window, clipped at the edges
        s[:, i] = (x[:, max(0, i - h):min(c, i + h + 1)] ** 2).sum(axis=1)
    return x * (knorm + alpha / nsize * s) ** (-beta)


@pytest.mark.parametrize("nsize", [1, 3, 5])
def test_lrn(nsize):
    x = 2 * _randn(2, 6, 2, 3)
    params = {"nsize": nsize, "alpha": 0.5, "beta": 0.75, "knorm": 1.5}
    check_op("LRN", [x], params, reference=_lrn_ref,
             bad_inputs=[([x[0]], params), ([x], {}), ([x], {"nsize": 0})])
