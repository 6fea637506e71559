"""``FullyConnected``, ``Convolution``, ``Deconvolution``: forward against slow loop
references, numeric gradients, MXNet 1.9.1 goldens (outputs and input gradients), shape
completion, channel-last layouts and the errors bad inputs raise."""
from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

import mixnet as mx
from mixnet.test_utils import check_op_fixture, check_op, load_op_fixtures


ROOT = Path(__file__).resolve().parent.parent / "fixtures" / "mxnet-1.9.1"
OPS = ("FullyConnected", "Convolution", "Deconvolution")
CASES = load_op_fixtures(ROOT / "ops" / "manifest.json", OPS)


def _rand(*shape, dtype=np.float32):
    return np.random.uniform(-1, 1, size=shape).astype(dtype)


def _defaults(kernel, stride, dilate, pad):
    n = len(kernel)
    return (tuple(stride) or (1,) * n, tuple(dilate) or (1,) * n, tuple(pad) or (0,) * n)


# ------------------------------------------------------------------------ references
def fc_ref(x, w, b=None, num_hidden=None, no_bias=False, flatten=True):
    x64 = x.astype(np.float64)
    x2 = x64.reshape(x.shape[0], -1) if flatten else x64.reshape(-1, x.shape[-1])
    y = x2 @ w.astype(np.float64).T
    if not no_bias:
        y = y + b
    shape = (x.shape[0], num_hidden) if flatten else x.shape[:-1] + (num_hidden,)
    return y.reshape(shape).astype(x.dtype)


def conv_ref(x, w, b=None, kernel=(), stride=(), dilate=(), pad=(), num_filter=None,
             num_group=1, no_bias=False, layout=None, **ignored):
    """Direct cross-correlation: a loop over every output position and kernel tap."""
    stride, dilate, pad = _defaults(kernel, stride, dilate, pad)
    x64 = np.pad(x.astype(np.float64), [(0, 0), (0, 0)] + [(q, q) for q in pad])
    n, c = x.shape[:2]
    f = num_filter
    cg, fg = c // num_group, f // num_group
    out_sp = [(xs + 2 * q - d * (k - 1) - 1) // s + 1
              for xs, k, s, d, q in zip(x.shape[2:], kernel, stride, dilate, pad)]
    y = np.zeros((n, f) + tuple(out_sp))
    for i, j in itertools.product(range(n), range(f)):
        grp = j // fg
        for o in itertools.product(*[range(v) for v in out_sp]):
            acc = 0.0
            for t in itertools.product(*[range(k) for k in kernel]):
                pos = tuple(oo * s + tt * d for oo, tt, s, d in zip(o, t, stride, dilate))
                acc += np.dot(x64[(i, slice(grp * cg, (grp + 1) * cg)) + pos],
                              w[(j, slice(None)) + t])
            y[(i, j) + o] = acc
    if not no_bias:
        y += np.asarray(b, np.float64).reshape((1, f) + (1,) * len(kernel))
    return y.astype(x.dtype)


def deconv_ref(x, w, b=None, kernel=(), stride=(), dilate=(), pad=(), adj=(), target_shape=(),
               num_filter=None, num_group=1, no_bias=True, layout=None, **ignored):
    """Transposed convolution by scattering every input value through every kernel tap
    into a padded output, then cropping the padding."""
    stride, dilate, pad = _defaults(kernel, stride, dilate, pad)
    adj = tuple(adj) or (0,) * len(kernel)
    n, c = x.shape[:2]
    pads, adjs, outs = [], [], []
    for i, (xs, k, s, d) in enumerate(zip(x.shape[2:], kernel, stride, dilate)):
        span = s * (xs - 1) + d * (k - 1) + 1
        if target_shape:
            total = span - target_shape[i]
            q, a = -(-total // 2), total % 2
        else:
            q, a = pad[i], adj[i]
        pads.append(q)
        adjs.append(a)
        outs.append(span - 2 * q + a)
    cg, fg = c // num_group, num_filter // num_group
    buf = np.zeros((n, num_filter) + tuple(o + 2 * q for o, q in zip(outs, pads)))
    for i, ch in itertools.product(range(n), range(c)):
        grp = ch // cg
        for pos in itertools.product(*[range(v) for v in x.shape[2:]]):
            for t in itertools.product(*[range(k) for k in kernel]):
                at = tuple(pp * s + tt * d for pp, tt, s, d in zip(pos, t, stride, dilate))
                buf[(i, slice(grp * fg, (grp + 1) * fg)) + at] += \
                    x[(i, ch) + pos] * w[(ch, slice(None)) + t]
    y = buf[(slice(None), slice(None)) + tuple(slice(q, q + o) for q, o in zip(pads, outs))]
    if not no_bias:
        y = y + np.asarray(b, np.float64).reshape((1, num_filter) + (1,) * len(kernel))
    return y.astype(x.dtype)


def test_references_agree_with_each_other():
    """The deconvolution reference is the adjoint of the convolution reference:
    <conv(x, w), y> == <x, deconv(y, w)>, a check of the oracles themselves."""
    # float64 throughout: the two inner products may nearly cancel
    x, w = _rand(1, 4, 7, 6).astype(np.float64), _rand(6, 2, 3, 2).astype(np.float64)
    prm = dict(kernel=(3, 2), stride=(2, 1), dilate=(1, 2), pad=(1, 1), num_group=2)
    cy = conv_ref(x, w, num_filter=6, no_bias=True, **prm).astype(np.float64)
    y = _rand(*cy.shape).astype(np.float64)
    dy = deconv_ref(y, w, num_filter=4, target_shape=x.shape[2:], **prm)
    np.testing.assert_allclose(np.sum(cy * y), np.sum(x * dy), rtol=1e-9)


# ------------------------------------------------------------------------ FullyConnected
@pytest.mark.parametrize("flatten,shape", [(True, (4, 10)), (True, (3, 2, 5)),
                                           (False, (3, 2, 5)), (False, (6, 4))])
def test_fully_connected(flatten, shape):
    k = int(np.prod(shape[1:])) if flatten else shape[-1]
    x, w, b = _rand(*shape), _rand(5, k), _rand(5)
    bad = [
        ([x, _rand(4, k), b], dict(num_hidden=5, flatten=flatten)),      # weight rows
        ([x, _rand(5, k + 1), b], dict(num_hidden=5, flatten=flatten)),  # weight cols
        ([x, w, _rand(4)], dict(num_hidden=5, flatten=flatten)),         # bias
        ([x, w], dict(num_hidden=5, flatten=flatten)),                   # bias missing
        ([x.astype(np.int32), w.astype(np.int32), b.astype(np.int32)], dict(num_hidden=5)),
        ([x, w.astype(np.float64), b], dict(num_hidden=5, flatten=flatten)),
        ([x, w, b], dict(num_hidden=0, flatten=flatten)),
    ]
    check_op("FullyConnected", [x, w, b], dict(num_hidden=5, flatten=flatten),
             reference=fc_ref, bad_inputs=bad)
    check_op("FullyConnected", [x, w], dict(num_hidden=5, flatten=flatten, no_bias=True),
             reference=fc_ref)


@pytest.mark.parametrize("dtype", [np.float16, np.float64])
def test_fully_connected_dtypes(dtype):
    x, w, b = _rand(3, 7, dtype=dtype), _rand(4, 7, dtype=dtype), _rand(4, dtype=dtype)
    out = check_op("FullyConnected", [x, w, b], dict(num_hidden=4), reference=fc_ref)
    assert out[0].dtype == dtype


# ------------------------------------------------------------------------ Convolution
CONV_CASES = [
    # (data shape, weight shape, params)
    ((2, 3, 7, 7), (4, 3, 3, 3), dict(kernel=(3, 3), num_filter=4)),
    ((2, 3, 9, 8), (4, 3, 3, 3), dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1), num_filter=4)),
    ((1, 2, 9, 9), (3, 2, 3, 2), dict(kernel=(3, 2), dilate=(2, 3), pad=(1, 0), num_filter=3)),
    ((2, 4, 6, 6), (6, 2, 3, 3), dict(kernel=(3, 3), num_filter=6, num_group=2, pad=(1, 1))),
    ((1, 4, 6, 6), (4, 1, 3, 3), dict(kernel=(3, 3), stride=(2, 2), num_filter=4, num_group=4)),
    ((1, 3, 5, 5), (6, 1, 2, 2), dict(kernel=(2, 2), num_filter=6, num_group=3)),  # mult 2
    ((2, 3, 5, 5), (2, 3, 1, 1), dict(kernel=(1, 1), num_filter=2)),
    ((2, 3, 12), (4, 3, 3), dict(kernel=(3,), stride=(2,), pad=(1,), num_filter=4)),
    ((2, 2, 10), (2, 1, 3), dict(kernel=(3,), dilate=(2,), num_filter=2, num_group=2)),
    ((1, 2, 4, 5, 4), (3, 2, 2, 2, 2), dict(kernel=(2, 2, 2), pad=(1, 1, 1), num_filter=3)),
    ((1, 2, 5, 4, 6), (2, 2, 3, 1, 2), dict(kernel=(3, 1, 2), stride=(2, 1, 2), num_filter=2)),
]


@pytest.mark.parametrize("dshape,wshape,params", CONV_CASES)
def test_convolution(dshape, wshape, params):
    x, w, b = _rand(*dshape), _rand(*wshape), _rand(params["num_filter"])
    check_op("Convolution", [x, w, b], params, reference=conv_ref)
    check_op("Convolution", [x, w], dict(params, no_bias=True), reference=conv_ref)


def test_convolution_ignored_params_and_strings():
    x, w, b = _rand(1, 2, 5, 5), _rand(3, 2, 3, 3), _rand(3)
    params = dict(kernel="(3, 3)", num_filter="3", workspace="2048", cudnn_tune="fastest",
                  cudnn_off="True", layout="NCHW")
    got = mx.nd.Convolution(mx.nd.array(x), mx.nd.array(w), mx.nd.array(b), **params)
    want = conv_ref(x, w, b, kernel=(3, 3), num_filter=3)
    np.testing.assert_allclose(got.asnumpy(), want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float16, np.float64])
def test_convolution_dtypes(dtype):
    x, w, b = _rand(2, 3, 6, 6, dtype=dtype), _rand(4, 3, 3, 3, dtype=dtype), _rand(4, dtype=dtype)
    out = check_op("Convolution", [x, w, b], dict(kernel=(3, 3), pad=(1, 1), num_filter=4),
                   reference=conv_ref)
    assert out[0].dtype == dtype


@pytest.mark.parametrize("op", ["Convolution", "Deconvolution"])
def test_nwc_is_not_a_convolution_layout(op):
    with pytest.raises(mx.MXNetError, match=op + ".*layout"):
        getattr(mx.nd, op)(mx.nd.zeros((1, 5, 2)), mx.nd.zeros((2, 3, 2)), kernel=(3,),
                           num_filter=2, no_bias=True, layout="NWC")


@pytest.mark.parametrize("layout,nd", [("NHWC", 2), ("NDHWC", 3)])
@pytest.mark.parametrize("op", ["Convolution", "Deconvolution"])
def test_channel_last_layouts(op, layout, nd):
    """A channel-last call equals the channel-first call on transposed data and weight."""
    kernel = (3, 2, 2)[:nd]
    sp = (5, 6, 4)[:nd]
    c, f, g = 4, 6, 2
    x = _rand(2, c, *sp)
    w = _rand(f, c // g, *kernel) if op == "Convolution" else _rand(c, f // g, *kernel)
    b = _rand(f)
    prm = dict(kernel=kernel, stride=(2,) * nd, pad=(1,) * nd, num_filter=f, num_group=g,
               no_bias=False)
    fn = getattr(mx.nd, op)
    want = fn(mx.nd.array(x), mx.nd.array(w), mx.nd.array(b), **prm).asnumpy()
    to_last = (0,) + tuple(range(2, nd + 2)) + (1,)
    xl, wl = x.transpose(to_last), w.transpose(to_last)
    xa, wa, ba = mx.nd.array(xl), mx.nd.array(wl), mx.nd.array(b)
    for a in (xa, wa, ba):
        a.attach_grad()
    with mx.autograd.record():
        got = fn(xa, wa, ba, layout=layout, **prm)
    np.testing.assert_allclose(got.asnumpy(), want.transpose(to_last), rtol=1e-4, atol=1e-4)
    head = _rand(*want.shape)
    got.backward(mx.nd.array(head.transpose(to_last)))
    xc, wc, bc = mx.nd.array(x), mx.nd.array(w), mx.nd.array(b)
    for a in (xc, wc, bc):
        a.attach_grad()
    with mx.autograd.record():
        ref = fn(xc, wc, bc, **prm)
    ref.backward(mx.nd.array(head))
    np.testing.assert_allclose(xa.grad.asnumpy(), xc.grad.asnumpy().transpose(to_last),
                               rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(wa.grad.asnumpy(), wc.grad.asnumpy().transpose(to_last),
                               rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(ba.grad.asnumpy(), bc.grad.asnumpy(), rtol=1e-4, atol=1e-4)


def test_convolution_bad_inputs():
    x, w, b = _rand(1, 3, 5, 5), _rand(4, 3, 3, 3), _rand(4)
    p = dict(kernel=(3, 3), num_filter=4)
    bad = [
        ([_rand(1, 3, 2, 2), w, b], p),                                  # kernel > input
        ([_rand(1, 3, 2, 2), w, b], dict(p, dilate=(2, 2), pad=(1, 1))),  # dilated kernel
        ([x, _rand(5, 3, 3, 3), b], p),                                  # num_filter vs weight
        ([x, _rand(4, 2, 3, 3), b], p),                                  # channels vs weight
        ([x, w, _rand(5)], p),                                           # bias
        ([_rand(3, 5, 5), w, b], p),                                     # data ndim
        ([x, w, b], dict(p, num_group=2)),                               # group vs channels
        ([_rand(1, 4, 5, 5), _rand(3, 2, 3, 3), _rand(3)],
         dict(kernel=(3, 3), num_filter=3, num_group=2)),                # group vs filters
        ([x, w, b], dict(p, stride=(1, 1, 1))),                          # stride length
        ([x, w, b], dict(p, stride=(0, 1))),
        ([x, w, b], dict(p, kernel=(3, 3, 3, 3))),
        ([x, w, b], dict(p, layout="NCW")),
        ([x, w], p),                                                     # bias missing
        ([x, w, b], dict(p, no_bias=True)),                              # one input too many
        ([x.astype(np.int32), w.astype(np.int32), b.astype(np.int32)], p),
        ([x, w.astype(np.float64), b], p),
        ([x, w, b], dict(num_filter=4)),                                 # kernel missing
        ([x, w, b], dict(p, cudnn_tune="slowest")),
    ]
    check_op("Convolution", [x, w, b], p, reference=conv_ref, bad_inputs=bad, grad=False)


def test_shape_completion():
    conv = mx.operator.get("Convolution")
    p = conv.parse_params(dict(kernel=(3, 3), num_filter=8, num_group=2, stride=(2, 2),
                               pad=(1, 1), dilate=(2, 2)))
    ins, outs = conv.infer_shape(p, [(2, 4, 11, 11), None, None])
    assert ins == [(2, 4, 11, 11), (8, 2, 3, 3), (8,)] and outs == [(2, 8, 5, 5)]
    ins, outs = conv.infer_shape(p, [(2, 4, 11, 11), (8, 0, 3, 3), (0,)])
    assert ins[1:] == [(8, 2, 3, 3), (8,)]
    ins, outs = conv.infer_shape(p, [None, None, None])
    assert ins[2] == (8,) and outs == [None]
    pl = conv.parse_params(dict(kernel=(3, 3), num_filter=8, num_group=2, layout="NHWC"))
    ins, outs = conv.infer_shape(pl, [(2, 11, 11, 4), None, None])
    assert ins[1] == (8, 3, 3, 2) and outs == [(2, 9, 9, 8)]

    dec = mx.operator.get("Deconvolution")
    p = dec.parse_params(dict(kernel=(4, 4), num_filter=8, num_group=2, stride=(2, 2),
                              pad=(1, 1), adj=(1, 1), no_bias=False))
    ins, outs = dec.infer_shape(p, [(2, 4, 5, 5), None, None])
    assert ins[1:] == [(4, 4, 4, 4), (8,)] and outs == [(2, 8, 11, 11)]
    p = dec.parse_params(dict(kernel=(3, 3), num_filter=2, stride=(2, 2), target_shape=(9, 10)))
    ins, outs = dec.infer_shape(p, [(1, 3, 5, 5), None])
    assert ins[1] == (3, 2, 3, 3) and outs == [(1, 2, 9, 10)]

    fc = mx.operator.get("FullyConnected")
    p = fc.parse_params(dict(num_hidden=6))
    ins, outs = fc.infer_shape(p, [(4, 2, 5), (6, 0), None])
    assert ins == [(4, 2, 5), (6, 10), (6,)] and outs == [(4, 6)]
    p = fc.parse_params(dict(num_hidden=6, flatten=False, no_bias=True))
    ins, outs = fc.infer_shape(p, [(4, 2, 5), None])
    assert ins == [(4, 2, 5), (6, 5)] and outs == [(4, 2, 6)]


def test_cost_is_flops():
    conv = mx.operator.get("Convolution")
    p = conv.parse_params(dict(kernel=(3, 3), num_filter=64, pad=(1, 1)))
    assert conv.cost(p, [(32, 64, 32, 32), (64, 64, 3, 3), (64,)], [(32, 64, 32, 32)]) == \
        2 * 32 * 64 * 32 * 32 * 64 * 9
    fc = mx.operator.get("FullyConnected")
    p = fc.parse_params(dict(num_hidden=512))
    assert fc.cost(p, [(128, 784), (512, 784), (512,)], [(128, 512)]) == 2 * 128 * 784 * 512


# ------------------------------------------------------------------------ Deconvolution
DECONV_CASES = [
    ((2, 3, 4, 4), (3, 2, 3, 3), dict(kernel=(3, 3), num_filter=2)),
    ((1, 2, 4, 4), (2, 3, 3, 3), dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1), adj=(1, 1),
                                      num_filter=3)),
    ((1, 2, 3, 4), (2, 3, 3, 3), dict(kernel=(3, 3), stride=(2, 2), target_shape=(6, 8),
                                      num_filter=3)),
    ((1, 4, 3, 3), (4, 3, 2, 3), dict(kernel=(2, 3), stride=(2, 1), dilate=(1, 2),
                                      num_filter=6, num_group=2)),
    ((1, 3, 3, 3), (3, 1, 4, 4), dict(kernel=(4, 4), stride=(2, 2), pad=(1, 1),
                                      num_filter=3, num_group=3)),
    ((2, 3, 5), (3, 2, 3), dict(kernel=(3,), stride=(2,), num_filter=2)),
    ((1, 2, 2, 3, 2), (2, 2, 2, 2, 2), dict(kernel=(2, 2, 2), stride=(2, 1, 2), pad=(0, 1, 0),
                                            num_filter=2)),
]


@pytest.mark.parametrize("dshape,wshape,params", DECONV_CASES)
def test_deconvolution(dshape, wshape, params):
    x, w, b = _rand(*dshape), _rand(*wshape), _rand(params["num_filter"])
    check_op("Deconvolution", [x, w], params, reference=deconv_ref)
    check_op("Deconvolution", [x, w, b], dict(params, no_bias=False), reference=deconv_ref)


@pytest.mark.parametrize("dtype", [np.float16, np.float64])
def test_deconvolution_dtypes(dtype):
    x, w = _rand(1, 2, 3, 3, dtype=dtype), _rand(2, 3, 3, 3, dtype=dtype)
    out = check_op("Deconvolution", [x, w], dict(kernel=(3, 3), stride=(2, 2), num_filter=3),
                   reference=deconv_ref)
    assert out[0].dtype == dtype


def test_deconvolution_bad_inputs():
    x, w = _rand(1, 2, 4, 4), _rand(2, 3, 3, 3)
    p = dict(kernel=(3, 3), num_filter=3)
    bad = [
        ([x, _rand(2, 4, 3, 3)], p),                       # num_filter vs weight
        ([x, _rand(3, 3, 3, 3)], p),                       # channels vs weight
        ([_rand(2, 4, 4), w], p),                          # data ndim
        ([x, w], dict(p, num_group=2)),                    # num_filter % num_group
        ([_rand(1, 3, 4, 4), _rand(3, 1, 3, 3)], dict(kernel=(3, 3), num_filter=2,
                                                     num_group=2)),  # channels % group
        ([x, w], dict(p, stride=(2, 2), adj=(2, 2))),      # adj >= stride
        ([x, w], dict(p, target_shape=(20, 20))),          # target too large
        ([x, w], dict(p, pad=(3, 3))),                     # output not positive
        ([x, w, _rand(3)], p),                             # no_bias defaults to True
        ([x, w], dict(p, no_bias=False)),
        ([x, w], dict(p, layout="NCDHW")),
    ]
    check_op("Deconvolution", [x, w], p, reference=deconv_ref, bad_inputs=bad, grad=False)


# ------------------------------------------------------------------------ MXNet goldens
def test_fixture_cases_present():
    assert sorted({e["op"] for e in CASES}) == sorted(OPS)


@pytest.mark.parametrize("entry", CASES, ids=[e["id"] for e in CASES])
def test_mxnet_golden(entry):
    """Forward outputs and every input gradient equal MXNet 1.9.1's."""
    check_op_fixture(entry, ROOT)
