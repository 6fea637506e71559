"""Image operators (``mixnet/operator/image.py``, ``mx.nd.image.*``) against NumPy
references written here: to_tensor, normalize, resize (nearest, bilinear, area, bicubic,
Lanczos), crop, the flips and the random colour ops, with gradients where MXNet has them."""
from __future__ import annotations

import colorsys

import numpy as np
import pytest

import mixnet as mx
from mixnet import autograd
from mixnet.test_utils import check_op

RNG = np.random.default_rng(21)


def _img(shape, dtype=np.float64):
    if np.dtype(dtype) == np.uint8:
        return RNG.integers(0, 256, shape).astype(np.uint8)
    return RNG.uniform(0, 1, shape).astype(dtype)


def _nd(x):
    return mx.nd.array(x, dtype=x.dtype)


def test_namespace():
    for name in ("to_tensor", "normalize", "resize", "crop", "flip_left_right",
                 "random_flip_left_right", "flip_top_bottom", "random_flip_top_bottom",
                 "random_brightness", "random_contrast", "random_saturation", "random_hue",
                 "random_color_jitter", "random_lighting", "adjust_lighting"):
        assert callable(getattr(mx.nd.image, name)), name


# ----------------------------------------------------------------------------- to_tensor
@pytest.mark.parametrize("shape", [(4, 5, 3), (2, 4, 5, 1)])
def test_to_tensor(shape):
    perm = (2, 0, 1) if len(shape) == 3 else (0, 3, 1, 2)
    ref = lambda x: (x.astype(np.float64).transpose(perm) / 255).astype(np.float32)  # noqa
    check_op("_image_to_tensor", [_img(shape, np.uint8)], reference=ref, rtol=1e-6,
             atol=1e-7)
    # float input: float32 output, and a gradient (the transpose back, / 255)
    check_op("_image_to_tensor", [_img(shape, np.float32)], reference=ref, rtol=1e-6,
             atol=1e-7)
    check_op("_image_to_tensor", [_img(shape)], reference=ref, check_dtype=False,
             rtol=1e-6, atol=1e-7)


def test_to_tensor_errors():
    check_op("_image_to_tensor", [_img((2, 3, 3))], reference=lambda x: x.transpose(2, 0, 1) / 255,
             check_dtype=False, grad=False, rtol=1e-6,
             bad_inputs=[([_img((4, 5))], {}), ([_img((1, 2, 3, 4, 5))], {}),
                         ([_img((2, 2, 3)), _img((2, 2, 3))], {})])


# ----------------------------------------------------------------------------- normalize
@pytest.mark.parametrize("shape,mean,std", [((3, 4, 5), (0.1, 0.2, 0.3), (0.5, 0.6, 0.7)),
                                            ((2, 3, 2, 2), (0.5,), (0.25,)),
                                            ((1, 3, 3), (0.2, 0.0, 0.0, 0.0), (2.0,))])
def test_normalize(shape, mean, std):
    c = shape[0] if len(shape) == 3 else shape[1]

    def ref(x, mean, std):
        m = np.resize(np.asarray(mean), c) if len(mean) == 1 else np.asarray(mean[:c])
        s = np.resize(np.asarray(std), c) if len(std) == 1 else np.asarray(std[:c])
        return (x - m.reshape(c, 1, 1)) / s.reshape(c, 1, 1)
    check_op("_image_normalize", [_img(shape)], {"mean": mean, "std": std}, reference=ref,
             rtol=1e-12, atol=1e-12)


def test_normalize_errors():
    x = _img((3, 2, 2))
    check_op("_image_normalize", [x], {}, reference=lambda a: a, grad=False,
             bad_inputs=[([_img((3, 2, 2), np.uint8)], {}),
                         ([x], {"mean": (0.1, 0.2)}),
                         ([x], {"std": (0.0,)}),
                         ([_img((2, 2))], {})])


# ----------------------------------------------------------------------------- resize
def _ref_resize(x, oh, ow, interp):
    """Independent per-pixel loop (tiny images) following OpenCV's definitions."""
    h, w = x.shape[:2]
    sy, sx = h / oh, w / ow

    def coords(d, s, n):
        if interp == 0:
            return [(min(int(np.floor(d * s)), n - 1), 1.0)]
        src = (d + 0.5) * s - 0.5
        i = int(np.floor(src))
        f = src - i
        if interp == 1:
            if i < 0:
                i, f = 0, 0.0
            if i >= n - 1:
                i, f = n - 1, 0.0
            return [(i, 1 - f), (min(i + 1, n - 1), f)]
        a = -0.75
        taps = []
        for k in range(-1, 3):
            t = abs(f - k)
            wgt = ((a + 2) * t - (a + 3)) * t * t + 1 if t <= 1 else \
                (((t - 5) * t + 8) * t - 4) * a if t < 2 else 0.0
            taps.append((min(max(i + k, 0), n - 1), wgt))
        total = sum(wt for _, wt in taps)
        return [(j, wt / total) for j, wt in taps]
    out = np.zeros((oh, ow) + x.shape[2:])
    for r in range(oh):
        for c in range(ow):
            for (yi, wy) in coords(r, sy, h):
                for (xi, wx) in coords(c, sx, w):
                    out[r, c] += wy * wx * x[yi, xi]
    return out


@pytest.mark.parametrize("interp", [0, 1, 3])
@pytest.mark.parametrize("size", [(7, 5), (3, 2), (4, 6)])
def test_resize_matches_opencv_definitions(interp, size):
    x = _img((4, 5, 2))
    ow, oh = size
    want = _ref_resize(x, oh, ow, interp)
    got = mx.nd.image.resize(_nd(x), size=size, interp=interp).asnumpy()
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    # NHWC: every image resized alike
    batch = np.stack([x, x[::-1]])
    got = mx.nd.image.resize(_nd(batch), size=size, interp=interp).asnumpy()
    np.testing.assert_allclose(got[1], _ref_resize(x[::-1], oh, ow, interp), rtol=1e-12,
                               atol=1e-12)


def test_resize_area_lanczos_uint8_and_shapes():
    x = _img((4, 6, 3))
    got = mx.nd.image.resize(_nd(x), size=(3, 2), interp=2).asnumpy()
    np.testing.assert_allclose(got, x.reshape(2, 2, 3, 2, 3).mean(axis=(1, 3)), rtol=1e-12)
    const = np.full((5, 4, 3), 0.7)
    for interp in (2, 3, 4):
        for size in ((9, 7), (2, 3)):
            np.testing.assert_allclose(
                mx.nd.image.resize(_nd(const), size=size, interp=interp).asnumpy(), 0.7,
                rtol=1e-12)
    u8 = _img((4, 5, 3), np.uint8)
    got = mx.nd.image.resize(_nd(u8), size=(7, 6))
    assert got.dtype == np.uint8
    want = np.clip(np.rint(_ref_resize(u8.astype(np.float64), 6, 7, 1)), 0, 255)
    assert np.abs(got.asnumpy().astype(int) - want).max() <= 1
    x = _img((4, 6, 3))
    assert mx.nd.image.resize(_nd(x), size=3).shape == (3, 3, 3)
    assert mx.nd.image.resize(_nd(x), size=3, keep_ratio=True).shape == (3, 4, 3)
    assert mx.nd.image.resize(_nd(_img((2, 6, 4, 3))), 2, True).shape == (2, 3, 2, 3)
    np.testing.assert_allclose(mx.nd.image.resize(_nd(x), size=(6, 4)).asnumpy(), x)


def test_resize_errors():
    x = _img((4, 6, 3))
    check_op("_image_resize", [x], {"size": (6, 4)}, reference=lambda a, size: a, grad=False,
             bad_inputs=[([x], {"size": (1, 2, 3)}), ([x], {"size": (0, 2)}),
                         ([x], {"size": (2, 2), "interp": 7}), ([_img((4, 6))], {"size": 2})])


# ----------------------------------------------------------------------------- crop, flips
@pytest.mark.parametrize("shape", [(5, 6, 3), (2, 5, 6, 1)])
def test_crop_and_flips(shape):
    x = _img(shape)
    lead = (slice(None),) if len(shape) == 4 else ()
    h_ax, w_ax = (0, 1) if len(shape) == 3 else (1, 2)
    check_op("_image_crop", [x], {"x": 1, "y": 2, "width": 4, "height": 3},
             reference=lambda a, x, y, width, height: a[lead + (slice(y, y + height),
                                                                slice(x, x + width))])
    check_op("_image_flip_left_right", [x], reference=lambda a: np.flip(a, w_ax))
    check_op("_image_flip_top_bottom", [x], reference=lambda a: np.flip(a, h_ax))


def test_crop_errors():
    x = _img((5, 6, 3))
    check_op("_image_crop", [x], {"x": 0, "y": 0, "width": 6, "height": 5},
             reference=lambda a, **k: a, grad=False,
             bad_inputs=[([x], {"x": 1, "y": 0, "width": 6, "height": 5}),
                         ([x], {"x": 0, "y": 0, "width": 0, "height": 5}),
                         ([x], {"x": -1, "y": 0, "width": 2, "height": 2}),
                         ([_img((5, 6))], {"x": 0, "y": 0, "width": 1, "height": 1}),
                         ([x], {"x": 0, "y": 0, "width": 1})])


@pytest.mark.parametrize("side,axis", [("left_right", -2), ("top_bottom", -3)])
def test_random_flips_and_their_gradient(side, axis):
    fn = getattr(mx.nd.image, "random_flip_" + side)
    x = _img((8, 3, 4, 2))
    seen = set()
    for _ in range(4):
        a = _nd(x)
        a.attach_grad()
        head = _img(x.shape)
        with autograd.record():
            y = fn(a)
        y.backward(_nd(head))
        out, grad = y.asnumpy(), a.grad.asnumpy()
        for i in range(x.shape[0]):  # each image independently flipped or not
            flipped = np.array_equal(out[i], np.flip(x[i], axis))
            assert flipped or np.array_equal(out[i], x[i])
            np.testing.assert_array_equal(grad[i], np.flip(head[i], axis) if flipped
                                          else head[i])
            seen.add(flipped)
    assert seen == {True, False}
    assert fn(_nd(_img((3, 4, 2)))).shape == (3, 4, 2)


# ----------------------------------------------------------------------------- colour
GRAY = np.array([0.299, 0.587, 0.114])


def _fixed(name, x, f):
    return getattr(mx.nd.image, name)(_nd(x), min_factor=f, max_factor=f).asnumpy()


def test_brightness_contrast_saturation_with_fixed_factors():
    x = _img((2, 3, 4, 3))
    np.testing.assert_allclose(_fixed("random_brightness", x, 1.3), x * 1.3, rtol=1e-12)
    mean = (x @ GRAY).mean(axis=(1, 2)).reshape(2, 1, 1, 1)
    np.testing.assert_allclose(_fixed("random_contrast", x, 0.6), x * 0.6 + mean * 0.4,
                               rtol=1e-12)
    gray = (x @ GRAY)[..., None]
    np.testing.assert_allclose(_fixed("random_saturation", x, 1.4), x * 1.4 - gray * 0.4,
                               rtol=1e-12)
    u8 = _img((3, 4, 3), np.uint8)
    got = _fixed("random_brightness", u8, 1.5)
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got, np.clip(np.rint(u8 * 1.5), 0, 255))


def test_hue_rotation():
    x = _img((3, 4, 3))
    np.testing.assert_allclose(_fixed("random_hue", x, 0.0), x, rtol=1e-12)
    # a third of a turn permutes the channels: red becomes green
    np.testing.assert_allclose(_fixed("random_hue", x, 1 / 3), x[..., [2, 0, 1]], atol=1e-12)
    want = np.array([[colorsys.hsv_to_rgb((h + 0.15) % 1, s, v) for h, s, v in
                      (colorsys.rgb_to_hsv(*px) for px in row)] for row in x])
    np.testing.assert_allclose(_fixed("random_hue", x, 0.15), want, atol=1e-12)


def test_random_factors_stay_in_range():
    x = _img((16, 2, 2, 3)) + 0.1
    ratio = mx.nd.image.random_brightness(_nd(x), 0.5, 0.8).asnumpy() / x
    per_image = ratio.reshape(16, -1)
    np.testing.assert_allclose(per_image, per_image[:, :1] * np.ones((1, 12)), rtol=1e-12)
    assert ((per_image >= 0.5) & (per_image <= 0.8)).all()
    assert np.unique(per_image[:, 0]).size > 1  # one draw per image
    jit = mx.nd.image.random_color_jitter(_nd(x), 0.3, 0, 0, 0).asnumpy() / x
    assert ((jit >= 0.7 - 1e-12) & (jit <= 1.3 + 1e-12)).all()
    np.testing.assert_allclose(mx.nd.image.random_color_jitter(_nd(x), 0, 0, 0, 0).asnumpy(), x)


def test_lighting():
    x = _img((2, 3, 4, 3))
    eigval = np.array([55.46, 4.794, 1.148])
    eigvec = np.array([[-0.5675, 0.7192, 0.4009], [-0.5808, -0.0045, -0.8140],
                       [-0.5836, -0.6948, 0.4203]])
    alpha = (0.01, -0.02, 0.03)
    check_op("_image_adjust_lighting", [x], {"alpha": alpha},
             reference=lambda a, alpha: a + eigvec @ (np.asarray(alpha) * eigval),
             rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(mx.nd.image.random_lighting(_nd(x), alpha_std=0.0).asnumpy(), x)
    off = mx.nd.image.random_lighting(_nd(x), alpha_std=0.1).asnumpy() - x
    assert np.allclose(off, off[:, :1, :1, :]) and not np.allclose(off[0], off[1])


def test_colour_op_errors():
    x = _img((3, 4, 3))
    check_op("_image_random_brightness", [x], {"min_factor": 1.0, "max_factor": 1.0},
             reference=lambda a, **k: a, grad=False,
             bad_inputs=[([x], {"min_factor": 2.0, "max_factor": 1.0}),
                         ([_img((3, 4))], {"min_factor": 1.0, "max_factor": 1.0}),
                         ([x], {"min_factor": 1.0})])
    with pytest.raises(mx.MXNetError, match="random_hue"):
        mx.nd.image.random_hue(_nd(_img((3, 4, 2))), 0.1, 0.2).wait_to_read()
    with pytest.raises(mx.MXNetError, match="adjust_lighting"):
        mx.nd.image.adjust_lighting(_nd(_img((3, 4, 1))), alpha=(0.1, 0.1, 0.1))
    with pytest.raises(mx.MXNetError, match="random_color_jitter"):
        mx.nd.image.random_color_jitter(_nd(x), -0.1, 0, 0, 0)
