"""``Pooling``, ``UpSampling``, ``ROIPooling``: forward against slow loop references,
numeric gradients, MXNet 1.9.1 goldens (outputs and input gradients), the first-arg-max
gradient rule, layouts and the errors bad inputs raise."""
from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest

import mixnet as mx
from mixnet.test_utils import check_op_fixture, check_op, load_op_fixtures


ROOT = Path(__file__).resolve().parent.parent / "fixtures" / "mxnet-1.9.1"
OPS = ("Pooling", "UpSampling", "ROIPooling")
CASES = load_op_fixtures(ROOT / "ops" / "manifest.json", OPS)


def _rand(*shape, dtype=np.float32):
    return np.random.uniform(-1, 1, size=shape).astype(dtype)


def _distinct(*shape, dtype=np.float32):
    """Values 0.1 apart in random order: no ties, so finite differences never move a max."""
    n = int(np.prod(shape))
    return (np.random.permutation(n).reshape(shape) * 0.1 - n * 0.05).astype(dtype)


# ------------------------------------------------------------------------ references
def pool_ref(x, kernel=(), pool_type="max", global_pool=False, cudnn_off=False,
             pooling_convention="valid", stride=(), pad=(), p_value=None,
             count_include_pad=None, layout=None):
    """Pooling by a loop over every output position, windows clipped by hand."""
    nsp = x.ndim - 2
    x64 = x.astype(np.float64)
    if global_pool:
        kernel, stride, pad = x.shape[2:], (1,) * nsp, (0,) * nsp
    stride = tuple(stride) or (1,) * nsp
    pad = tuple(pad) or (0,) * nsp
    starts, ends, outs = [], [], []
    for xs, k, s, q in zip(x.shape[2:], kernel, stride, pad):
        if global_pool:
            o, lo, hi = 1, 0, xs
        elif pooling_convention == "same":
            o = math.ceil(xs / s)
            total = max((o - 1) * s + k - xs, 0)
            lo, hi = total // 2, total - total // 2
        else:
            span = (xs + 2 * q - k) / s
            o = (math.floor(span) if pooling_convention == "valid" else math.ceil(span)) + 1
            lo = hi = q
        outs.append(o)
        # window of output i in input coordinates and the padded extent it may count
        starts.append([i * s - lo for i in range(o)])
        ends.append((lo, hi))
    y = np.zeros(x.shape[:2] + tuple(outs))
    include = True if count_include_pad is None else count_include_pad
    for o in itertools.product(*[range(v) for v in outs]):
        region, padded_count = [], 1
        for d, i in enumerate(o):
            st = starts[d][i]
            k = kernel[d]
            lo, hi = ends[d]
            size = x.shape[2 + d]
            padded_count *= min(st + k, size + hi) - st
            region.append(slice(max(st, 0), min(st + k, size)))
        win = x64[(slice(None), slice(None)) + tuple(region)].reshape(x.shape[:2] + (-1,))
        if pool_type == "max":
            v = win.max(axis=-1)
        elif pool_type == "sum":
            v = win.sum(axis=-1)
        elif pool_type == "avg":
            v = win.sum(axis=-1) / (padded_count if include else win.shape[-1])
        else:
            v = np.sum(win ** p_value, axis=-1)
            v = np.cbrt(v) if p_value == 3 else v ** (1.0 / p_value)
        y[(slice(None), slice(None)) + o] = v
    return y.astype(x.dtype)


def upsample_nearest_ref(*xs, scale=1, sample_type="nearest", multi_input_mode="concat",
                         num_filter=0, workspace=512):
    oh = xs[0].shape[2] * scale
    parts = []
    for x in xs:
        s = oh // x.shape[2]
        up = np.zeros(x.shape[:2] + (x.shape[2] * s, x.shape[3] * s), np.float64)
        for i, j in itertools.product(range(up.shape[2]), range(up.shape[3])):
            up[:, :, i, j] = x[:, :, i // s, j // s]
        parts.append(up)
    y = sum(parts) if multi_input_mode == "sum" else np.concatenate(parts, axis=1)
    return y.astype(xs[0].dtype)


def upsample_bilinear_ref(x, w, scale=1, num_filter=0, sample_type="bilinear", **ignored):
    """Each channel scattered through its own kernel (stride scale), then cropped."""
    k = 2 * scale - scale % 2
    q = math.ceil((scale - 1) / 2)
    n, c, h, wd = x.shape
    buf = np.zeros((n, c, scale * (h - 1) + k, scale * (wd - 1) + k))
    for i, j in itertools.product(range(h), range(wd)):
        buf[:, :, i * scale:i * scale + k, j * scale:j * scale + k] += \
            x[:, :, i, j][:, :, None, None] * w[None, :, 0]
    return buf[:, :, q:q + scale * h, q:q + scale * wd].astype(x.dtype)


def roi_ref(data, rois, pooled_size=(), spatial_scale=1.0):
    """ROI max pooling, one ROI and one bin at a time (float32 bin arithmetic)."""
    n, c, h, w = data.shape
    ph, pw = pooled_size
    out = np.zeros((rois.shape[0], c, ph, pw), data.dtype)
    f = np.float32

    def rnd(v):
        return math.floor(v + 0.5) if v >= 0 else -math.floor(-v + 0.5)

    for r, roi in enumerate(rois):
        b = int(roi[0])
        x1, y1, x2, y2 = (rnd(f(v) * f(spatial_scale)) for v in roi[1:])
        rh, rw = max(y2 - y1 + 1, 1), max(x2 - x1 + 1, 1)
        bh, bw = f(rh) / f(ph), f(rw) / f(pw)
        for i, j in itertools.product(range(ph), range(pw)):
            hs = min(max(math.floor(f(i) * bh) + y1, 0), h)
            he = min(max(math.ceil(f(i + 1) * bh) + y1, 0), h)
            ws = min(max(math.floor(f(j) * bw) + x1, 0), w)
            we = min(max(math.ceil(f(j + 1) * bw) + x1, 0), w)
            if he > hs and we > ws:
                out[r, :, i, j] = data[b, :, hs:he, ws:we].reshape(c, -1).max(axis=1)
    return out


# ------------------------------------------------------------------------ Pooling
POOL_CASES = [
    ((2, 3, 6, 6), dict(kernel=(2, 2), stride=(2, 2), pool_type="max")),
    ((1, 2, 7, 7), dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1), pool_type="max")),
    ((1, 2, 7, 7), dict(kernel=(2, 2), stride=(2, 2), pool_type="max",
                        pooling_convention="full")),
    ((1, 2, 6, 5), dict(kernel=(3, 2), pool_type="max")),  # default stride 1
    ((1, 2, 7, 7), dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1), pool_type="avg")),
    ((1, 2, 7, 7), dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1), pool_type="avg",
                        count_include_pad=False)),
    ((1, 2, 8, 8), dict(kernel=(3, 3), stride=(2, 2), pool_type="avg",
                        pooling_convention="full")),
    ((1, 2, 10, 10), dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1), pool_type="avg",
                          pooling_convention="full", count_include_pad=True)),
    ((1, 2, 5, 5), dict(kernel=(2, 2), pool_type="sum")),
    ((1, 2, 7, 6), dict(kernel=(3, 2), stride=(2, 2), pad=(1, 0), pool_type="sum",
                        pooling_convention="full")),
    ((1, 2, 4, 4), dict(kernel=(2, 2), stride=(2, 2), pool_type="lp", p_value=2)),
    ((1, 2, 5, 5), dict(kernel=(2, 2), stride=(1, 2), pool_type="lp", p_value=1)),
    ((2, 3, 9), dict(kernel=(3,), stride=(2,), pool_type="max")),
    ((2, 3, 9), dict(kernel=(4,), stride=(2,), pad=(1,), pool_type="avg")),
    ((2, 2, 9), dict(kernel=(3,), stride=(2,), pool_type="max", pooling_convention="same")),
    ((2, 2, 8), dict(kernel=(4,), stride=(3,), pool_type="avg", pooling_convention="same")),
    ((1, 2, 4, 5, 4), dict(kernel=(2, 2, 2), stride=(2, 2, 2), pool_type="max")),
    ((1, 2, 4, 5, 4), dict(kernel=(3, 2, 2), pad=(1, 1, 0), pool_type="avg",
                           count_include_pad=False)),
    ((2, 3, 4, 5), dict(kernel=(1, 1), global_pool=True, pool_type="max")),
    ((2, 3, 4, 5), dict(global_pool=True, pool_type="avg")),
    ((2, 3, 4, 5), dict(global_pool=True, pool_type="sum")),
    ((2, 3, 7), dict(global_pool=True, pool_type="lp", p_value=2)),
    ((1, 2, 3, 4, 2), dict(kernel=(9, 9, 9), global_pool=True, pool_type="max")),
]


@pytest.mark.parametrize("shape,params", POOL_CASES)
def test_pooling(shape, params):
    x = _distinct(*shape)
    if params.get("pool_type") == "lp":
        x = np.abs(x) + 0.5  # keep the root away from 0, where it is not differentiable
    check_op("Pooling", [x], params, reference=pool_ref)


def test_pooling_lp3_keeps_sign():
    x = np.random.uniform(0.5, 1.5, size=(1, 2, 4, 4)).astype(np.float32)
    x[0, 0, :2, :2] *= -1  # an all-negative window gives a negative result
    out = check_op("Pooling", [x], dict(kernel=(2, 2), stride=(2, 2), pool_type="lp",
                                        p_value=3), reference=pool_ref)
    assert out[0][0, 0, 0, 0] < 0


@pytest.mark.parametrize("dtype", [np.float16, np.float64])
@pytest.mark.parametrize("pool_type", ["max", "avg"])
def test_pooling_dtypes(dtype, pool_type):
    x = _distinct(1, 2, 6, 6, dtype=dtype) / 10
    out = check_op("Pooling", [x], dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1),
                                        pool_type=pool_type), reference=pool_ref)
    assert out[0].dtype == dtype


@pytest.mark.parametrize("params", [
    dict(kernel=(2, 2), stride=(2, 2)),
    dict(kernel=(3, 3), stride=(1, 1), pad=(1, 1)),
    dict(kernel=(2, 2), stride=(2, 2), pooling_convention="full"),
    dict(global_pool=True),
])
def test_max_pooling_gradient_goes_to_first_argmax(params):
    """With ties every window sends its gradient to its first maximum (row-major), once."""
    x = np.ones((1, 1, 5, 5), np.float32)
    x[0, 0, 4, :] = 0.0
    xa = mx.nd.array(x)
    xa.attach_grad()
    with mx.autograd.record():
        y = mx.nd.Pooling(xa, pool_type="max", **params)
    head = np.random.uniform(1, 2, size=y.shape).astype(np.float32)
    y.backward(mx.nd.array(head))
    # the expectation, window by window
    want = np.zeros_like(x)
    ref = pool_ref(x, pool_type="max", **params)
    nsp = 2
    if params.get("global_pool"):
        k, s, q = (5, 5), (1, 1), (0, 0)
    else:
        k, s, q = params["kernel"], params["stride"], params.get("pad", (0,) * nsp)
    for o in itertools.product(*[range(v) for v in ref.shape[2:]]):
        found = False
        for t in itertools.product(*[range(kk) for kk in k]):
            pos = tuple(oo * ss + tt - qq for oo, ss, tt, qq in zip(o, s, t, q))
            if all(0 <= pp < 5 for pp in pos) and x[(0, 0) + pos] == ref[(0, 0) + o]:
                want[(0, 0) + pos] += head[(0, 0) + o]
                found = True
                break
        assert found
    np.testing.assert_allclose(xa.grad.asnumpy(), want, rtol=1e-6)


@pytest.mark.parametrize("layout,shape,kernel", [("NWC", (2, 9, 3), (3,)),
                                                 ("NHWC", (2, 7, 6, 3), (3, 2)),
                                                 ("NDHWC", (1, 4, 5, 4, 2), (2, 3, 2))])
@pytest.mark.parametrize("pool_type", ["max", "avg"])
def test_pooling_channel_last(layout, shape, kernel, pool_type):
    x = _distinct(*shape)
    nsp = len(kernel)
    to_first = (0, nsp + 1) + tuple(range(1, nsp + 1))
    to_last = (0,) + tuple(range(2, nsp + 2)) + (1,)
    params = dict(kernel=kernel, stride=(2,) * nsp, pad=(1,) * nsp, pool_type=pool_type)

    def ref(a, **p):
        p = dict(p)
        p.pop("layout")
        return pool_ref(a.transpose(to_first), **p).transpose(to_last)

    check_op("Pooling", [x], dict(params, layout=layout), reference=ref)


def test_pooling_bad_inputs():
    x = _rand(1, 2, 5, 5)
    p = dict(kernel=(2, 2), pool_type="max")
    bad = [
        ([_rand(1, 2, 2, 2)], dict(p, kernel=(3, 3))),         # kernel > input
        ([_rand(1, 2, 2, 2)], dict(p, kernel=(5, 5), pad=(1, 1))),
        ([_rand(2, 5, 5)], p),                                 # data ndim vs kernel
        ([x], dict(p, pool_type="median")),                    # unknown pool type
        ([x], dict(p, pooling_convention="round")),
        ([x], dict(p, pooling_convention="same")),             # same: 1-D only
        ([x], dict(pool_type="max")),                          # kernel missing
        ([x], dict(p, stride=(1, 1, 1))),
        ([x], dict(p, stride=(0, 1))),
        ([x], dict(p, pool_type="lp")),                        # p_value missing
        ([x], dict(p, layout="NCW")),
        ([_rand(5, 5)], dict(global_pool=True)),
        ([x.astype(np.int32)], p),
        ([x, x], p),                                           # one input too many
        ([x], dict(p, kernel=(2, 2, 2, 2))),
    ]
    check_op("Pooling", [x], p, reference=pool_ref, bad_inputs=bad, grad=False)


# ------------------------------------------------------------------------ UpSampling
@pytest.mark.parametrize("scale", [1, 2, 3])
def test_upsampling_nearest(scale):
    x = _rand(2, 3, 3, 4)
    check_op("UpSampling", [x], dict(scale=scale, sample_type="nearest"),
             reference=upsample_nearest_ref)


@pytest.mark.parametrize("mode", ["concat", "sum"])
def test_upsampling_nearest_several_inputs(mode):
    a, b = _rand(2, 2, 2, 3), _rand(2, 3 if mode == "concat" else 2, 4, 6)
    out = check_op("UpSampling", [a, b], dict(scale=4, sample_type="nearest",
                                              multi_input_mode=mode),
                   reference=upsample_nearest_ref)
    assert out[0].shape == (2, 5 if mode == "concat" else 2, 8, 12)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_upsampling_bilinear(scale):
    k = 2 * scale - scale % 2
    x, w = _rand(1, 2, 3, 4), _rand(2, 1, k, k)
    out = check_op("UpSampling", [x, w], dict(scale=scale, sample_type="bilinear",
                                              num_filter=2),
                   reference=upsample_bilinear_ref)
    assert out[0].shape == (1, 2, 3 * scale, 4 * scale)


def test_upsampling_bilinear_equals_depthwise_deconvolution():
    x, w = _rand(1, 3, 4, 4), _rand(3, 1, 4, 4)
    up = mx.nd.UpSampling(mx.nd.array(x), mx.nd.array(w), scale=2, sample_type="bilinear",
                          num_filter=3)
    dec = mx.nd.Deconvolution(mx.nd.array(x), mx.nd.array(w), kernel=(4, 4), stride=(2, 2),
                              pad=(1, 1), num_filter=3, num_group=3)
    np.testing.assert_allclose(up.asnumpy(), dec.asnumpy(), rtol=1e-6, atol=1e-6)


def test_upsampling_bad_inputs():
    x = _rand(1, 2, 3, 3)
    bad = [
        ([x, _rand(1, 2, 2, 2)], dict(scale=2, sample_type="nearest")),    # 6 % 2 ok, 6/2=3
        ([x, _rand(2, 2, 3, 3)], dict(scale=2, sample_type="nearest")),    # batch
        ([x, _rand(1, 3, 3, 3)], dict(scale=2, sample_type="nearest",
                                      multi_input_mode="sum")),            # channels
        ([x, _rand(1, 2, 4, 4)], dict(scale=2, sample_type="nearest")),    # 6 % 4
        ([_rand(2, 3, 3)], dict(scale=2, sample_type="nearest")),          # ndim
        ([x, _rand(2, 1, 4, 4)], dict(scale=2, sample_type="bilinear", num_filter=3)),
        ([x, _rand(2, 1, 3, 3)], dict(scale=2, sample_type="bilinear", num_filter=2)),
        ([x], dict(scale=2, sample_type="bilinear", num_filter=2)),        # weight missing
        ([x], dict(scale=2, sample_type="cubic")),
        ([x], dict(scale=0, sample_type="nearest")),
    ]
    # the first case is legal (factor 3 for the second input): check it separately
    out = mx.nd.UpSampling(*[mx.nd.array(a) for a in bad[0][0]], **bad[0][1])
    assert out.shape == (1, 4, 6, 6)
    check_op("UpSampling", [x], dict(scale=2, sample_type="nearest"),
             reference=upsample_nearest_ref, bad_inputs=bad[1:], grad=False)


# ------------------------------------------------------------------------ ROIPooling
def test_roi_pooling():
    data = _distinct(2, 3, 8, 9)
    rois = np.array([[0, 0, 0, 7, 7], [1, 2, 1, 8, 6], [0, 3.4, 2.6, 5.5, 5.5],
                     [1, 6, 6, 30, 30], [0, -4, -4, 1, 1], [1, 8, 7, 8, 7]], np.float32)
    check_op("ROIPooling", [data, rois], dict(pooled_size=(3, 2), spatial_scale=1.0),
             reference=roi_ref, grad=[0])
    scaled = rois * np.array([1, 2, 2, 2, 2], np.float32)
    check_op("ROIPooling", [data, scaled], dict(pooled_size=(2, 3), spatial_scale=0.5),
             reference=roi_ref, grad=[0])


def test_roi_pooling_gradient_sums_overlapping_rois_and_skips_empty_bins():
    data = np.zeros((1, 1, 4, 4), np.float32)
    data[0, 0, 1, 2] = 5.0
    rois = np.array([[0, 0, 0, 3, 3], [0, 1, 1, 2, 2], [0, 10, 10, 12, 12]], np.float32)
    xa = mx.nd.array(data)
    xa.attach_grad()
    with mx.autograd.record():
        y = mx.nd.ROIPooling(xa, mx.nd.array(rois), pooled_size=(1, 1), spatial_scale=1.0)
    assert y.shape == (3, 1, 1, 1)
    np.testing.assert_array_equal(y.asnumpy().ravel(), [5, 5, 0])
    y.backward(mx.nd.array(np.array([1, 2, 4], np.float32).reshape(3, 1, 1, 1)))
    want = np.zeros_like(data)
    want[0, 0, 1, 2] = 3.0  # the empty third ROI sends nothing
    np.testing.assert_array_equal(xa.grad.asnumpy(), want)


def test_roi_pooling_bad_inputs():
    data, rois = _rand(1, 2, 6, 6), np.array([[0, 0, 0, 3, 3]], np.float32)
    p = dict(pooled_size=(2, 2), spatial_scale=1.0)
    bad = [
        ([data, rois[:, :4]], p),
        ([data[0], rois], p),
        ([data, rois], dict(p, pooled_size=(2,))),
        ([data, rois], dict(p, spatial_scale=0.0)),
        ([data], p),
        ([data, rois], dict(pooled_size=(2, 2))),
    ]
    check_op("ROIPooling", [data, rois], p, reference=roi_ref, bad_inputs=bad, grad=False)


# ------------------------------------------------------------------------ MXNet goldens
def test_fixture_cases_present():
    assert sorted({e["op"] for e in CASES}) == sorted(OPS)


@pytest.mark.parametrize("entry", CASES, ids=[e["id"] for e in CASES])
def test_mxnet_golden(entry):
    """Forward outputs and every input gradient equal MXNet 1.9.1's."""
    check_op_fixture(entry, ROOT)


@pytest.mark.parametrize("shape", [(2, 3, 8, 6), (2, 3, 9, 7), (1, 2, 8)])
def test_max_pool_tiled_backward_first_maximum(shape):
    """Windows that tile the input (stride == kernel): with ties in a window the
    gradient goes to the first maximum only, and rows/columns left over by the floor
    convention get none."""
    from mixnet import autograd
    nsp = len(shape) - 2
    rng = np.random.RandomState(0)
    x = rng.randint(0, 3, shape).astype(np.float32)  # many ties
    k = (2,) * nsp
    for data in (x, rng.rand(*shape).astype(np.float32)):
        a = mx.nd.array(data)
        a.attach_grad()
        with autograd.record():
            y = mx.nd.Pooling(a, kernel=k, stride=k, pool_type="max")
        dy = rng.rand(*y.shape).astype(np.float32)
        y.backward(mx.nd.array(dy))
        want = np.zeros_like(data)
        out = y.shape[2:]
        for idx in np.ndindex(*y.shape):
            n, c, pos = idx[0], idx[1], idx[2:]
            win = data[(n, c) + tuple(slice(2 * q, 2 * q + 2) for q in pos)]
            first = np.unravel_index(np.argmax(win), win.shape)
            want[(n, c) + tuple(2 * q + f for q, f in zip(pos, first))] += dy[idx]
        assert y.shape[2:] == tuple(s // 2 for s in shape[2:]) == out
        np.testing.assert_array_equal(a.grad.asnumpy(), want)
