"""Image operators (``mx.nd.image.*``, ``F.image.*``), used by
``gluon.data.vision.transforms``.

MXNet conventions kept here:

* Images are HWC, or NHWC batches, in RGB order; ``to_tensor`` turns them into CHW / NCHW
  float32 in ``[0, 1]`` (divided by 255, whatever the input dtype) and ``normalize`` works
  on CHW / NCHW floats. Every other op keeps the input layout and dtype; integer images
  are rounded to nearest and saturated to the dtype's range.
* ``resize`` takes ``size=(width, height)``, or one int: both edges, or with
  ``keep_ratio`` the short edge (the long edge scaled in proportion and truncated).
  ``interp`` uses OpenCV's codes: 0 nearest (``floor(dst * scale)``), 1 bilinear and 3
  bicubic (A = -0.75) and 4 Lanczos-4 on half-pixel centres with replicated borders, 2 area
  (box averaging when shrinking, OpenCV's area weights when enlarging). Computed by
  separable resampling with a fixed number of taps (no OpenCV).
* The random ops draw their factors from the op's generator (``resources=("random",)``),
  one draw per image of a batch. Brightness scales; contrast blends with the image's mean
  gray level and saturation with each pixel's gray level (gray = 0.299 R + 0.587 G +
  0.114 B); hue rotates the hue angle by ``alpha * 360`` degrees, keeping each pixel's
  max and min channel; ``color_jitter`` applies brightness, contrast, saturation and hue
  (factors ``1 + U(-b, b)`` ..., hue ``U(-h, h)``) in that order, skipping zero amounts;
  lighting adds AlexNet's PCA noise ``eigvec @ (alpha * eigval)`` to the RGB channels.
* Gradients: ``to_tensor``, ``normalize``, ``crop``, the flips (the random flips keep
  which images they flipped in a hidden output) and ``adjust_lighting``; the random colour
  ops and ``resize`` are not differentiable.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..base import MXNetError
from .gradient import identity_grad
from .params import REQUIRED, Bool, Float, FloatTuple, Int, Param, Shape
from .registry import OpDef, infer_one, register, shape_str

_GRAY = (0.299, 0.587, 0.114)
_EIGVAL = (55.46, 4.794, 1.148)
_EIGVEC = ((-0.5675, 0.7192, 0.4009),
           (-0.5808, -0.0045, -0.8140),
           (-0.5836, -0.6948, 0.4203))


# --------------------------------------------------------------------------- helpers
def _check_image(s: tuple, what: str = "(H, W, C) or (N, H, W, C)") -> None:
    if len(s) not in (3, 4):
        raise MXNetError("expected an image of shape %s, got %s" % (what, shape_str(s)))


def _hwc_axes(ndim: int) -> tuple:
    """(height axis, width axis) of an HWC or NHWC array."""
    return (0, 1) if ndim == 3 else (1, 2)


def _store(xp: Any, value: Any, out: Any) -> None:
    """Write float ``value`` into ``out``: integer dtypes round to nearest and saturate."""
    if out.dtype.kind in "iu":
        info = np.iinfo(out.dtype)
        value = xp.clip(xp.rint(value), info.min, info.max)
    elif out.dtype.kind == "b":
        value = value != 0
    out[...] = value


def _float(xp: Any, x: Any) -> Any:
    return x if x.dtype in (np.float32, np.float64) else xp.asarray(x, dtype=np.float32)


def _per_image(x: Any, values: Any) -> Any:
    """Reshape one value per image (a single image: one value) to broadcast over HWC."""
    return values.reshape((-1,) + (1,) * 3) if x.ndim == 4 else values.reshape(1, 1, 1)


def _num_images(x: Any) -> int:
    return x.shape[0] if x.ndim == 4 else 1


def _uniform(oc: Any, x: Any, lo: float, hi: float) -> Any:
    return lo + (hi - lo) * oc.rng.random(_num_images(x))


def _image_shape(p: Any, shapes: list):
    def rule(p: Any, s: tuple) -> tuple:
        _check_image(s)
        return s
    return infer_one(p, shapes, rule)


# --------------------------------------------------------------------------- to_tensor
def _to_tensor_shape(p: Any, shapes: list):
    def rule(p: Any, s: tuple) -> tuple:
        _check_image(s)
        return (s[2], s[0], s[1]) if len(s) == 3 else (s[0], s[3], s[1], s[2])
    return infer_one(p, shapes, rule)


def _chw(ndim: int) -> tuple:
    return (2, 0, 1) if ndim == 3 else (0, 3, 1, 2)


def _to_tensor_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    x = ins[0]
    oc.xp.divide(x.transpose(_chw(x.ndim)), 255.0, out=outs[0], casting="unsafe")


def _to_tensor_back_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    g = ins[0]
    back = (1, 2, 0) if g.ndim == 3 else (0, 2, 3, 1)
    oc.xp.divide(g.transpose(back), 255.0, out=outs[0], casting="unsafe")


register(OpDef("_image_to_tensor", forward=_to_tensor_forward, infer_shape=_to_tensor_shape,
               infer_type=lambda p, dt: (dt, [np.dtype(np.float32)]),
               gradient=lambda F, p, ins, outs, og: [F._backward_image_to_tensor(og[0],
                                                                                ins[0])],
               keep_inputs=True, keep_outputs=False,
               doc="HWC (or NHWC) image to CHW (NCHW) float32 divided by 255."))
register(OpDef("_backward_image_to_tensor", inputs=("ograd", "data"),
               forward=_to_tensor_back_forward,
               infer_shape=lambda p, sh: (sh, [sh[1]]),
               infer_type=lambda p, dt: (dt, [dt[1]]),
               doc="Backward of to_tensor: the CHW gradient back to HWC, divided by 255 "
                   "(``data`` is read for its shape and dtype)."))


# --------------------------------------------------------------------------- normalize
def _channel_values(values: tuple, c: int, what: str) -> tuple:
    if len(values) == 1:
        return values * c
    if len(values) < c:
        raise MXNetError("%s has %d values but the input has %d channels"
                         % (what, len(values), c))
    return tuple(values[:c])


def _normalize_shape(p: Any, shapes: list):
    def rule(p: Any, s: tuple) -> tuple:
        _check_image(s, "(C, H, W) or (N, C, H, W)")
        c = s[0] if len(s) == 3 else s[1]
        _channel_values(p.mean, c, "mean")
        std = _channel_values(p.std, c, "std")
        if any(v == 0 for v in std):
            raise MXNetError("std must be nonzero, got %s" % (std,))
        return s
    return infer_one(p, shapes, rule)


def _normalize_type(p: Any, dtypes: list):
    (d,) = dtypes
    if d is not None and np.dtype(d).kind != "f":
        raise MXNetError("normalize needs a float input (use to_tensor first), got %s"
                         % np.dtype(d).name)
    return dtypes, [d]


def _channel_column(xp: Any, x: Any, values: tuple) -> Any:
    c = x.shape[0] if x.ndim == 3 else x.shape[1]
    col = xp.asarray(_channel_values(values, c, ""), dtype=x.dtype).reshape(c, 1, 1)
    return col


def _normalize_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp, x = oc.xp, ins[0]
    xp.divide(x - _channel_column(xp, x, p.mean), _channel_column(xp, x, p.std), out=outs[0])


def _normalize_back_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp, g = oc.xp, ins[0]
    xp.divide(g, _channel_column(xp, g, p.std), out=outs[0])


_NORMALIZE_PARAMS = [
    Param("mean", FloatTuple(), (0.0, 0.0, 0.0, 0.0), "per-channel means (one value: all)"),
    Param("std", FloatTuple(), (1.0, 1.0, 1.0, 1.0), "per-channel standard deviations"),
]
register(OpDef("_image_normalize", params=_NORMALIZE_PARAMS, forward=_normalize_forward,
               infer_shape=_normalize_shape, infer_type=_normalize_type,
               gradient=lambda F, p, ins, outs, og: [F.call("_backward_image_normalize",
                                                            [og[0]], p)],
               keep_inputs=False, keep_outputs=False,
               doc="(x - mean[c]) / std[c] per channel of a CHW or NCHW float tensor."))
register(OpDef("_backward_image_normalize", inputs=("ograd",), params=_NORMALIZE_PARAMS,
               forward=_normalize_back_forward,
               doc="Backward of normalize: ograd / std[c]."))


# --------------------------------------------------------------------------- resize
def _resize_size(p: Any, h: int, w: int) -> tuple:
    """(new height, new width) for MXNet's ``size``/``keep_ratio``."""
    size = p.size
    if len(size) == 1:
        s = size[0]
        if not p.keep_ratio:
            return s, s
        if h > w:
            return int(h * s / w), s
        return s, int(w * s / h)
    if len(size) == 2:
        return size[1], size[0]
    raise MXNetError("size must be (width, height) or one int, got %s" % (size,))


def _resize_shape(p: Any, shapes: list):
    def rule(p: Any, s: tuple) -> tuple:
        _check_image(s)
        if p.interp not in (0, 1, 2, 3, 4):
            raise MXNetError("interp must be 0 (nearest), 1 (bilinear), 2 (area), 3 "
                             "(bicubic) or 4 (lanczos), got %d" % p.interp)
        ha, wa = _hwc_axes(len(s))
        nh, nw = _resize_size(p, s[ha], s[wa])
        if nh <= 0 or nw <= 0 or s[ha] == 0 or s[wa] == 0:
            raise MXNetError("cannot resize an image of shape %s to height %d, width %d"
                             % (shape_str(s), nh, nw))
        out = list(s)
        out[ha], out[wa] = nh, nw
        return tuple(out)
    return infer_one(p, shapes, rule)


def _cubic(t: Any) -> Any:
    a = -0.75
    t = np.abs(t)
    return np.where(t <= 1, ((a + 2) * t - (a + 3)) * t * t + 1,
                    np.where(t < 2, ((t - 5) * t + 8) * t * a - 4 * a, 0.0))


def _lanczos4(t: Any) -> Any:
    with np.errstate(invalid="ignore", divide="ignore"):
        v = np.sinc(t) * np.sinc(t / 4.0)
    return np.where(np.abs(t) < 4, v, 0.0)


def _taps(n_in: int, n_out: int, interp: int) -> tuple:
    """Per output position along one axis: source indices and weights, arrays of shape
    (n_out, taps) computed on the host (they depend on sizes only)."""
    scale = n_in / n_out
    dst = np.arange(n_out, dtype=np.float64)
    if interp == 0:
        idx = np.minimum(np.floor(dst * scale).astype(np.int64), n_in - 1)
        return idx[:, None], np.ones((n_out, 1))
    if interp == 2 and scale <= 1:
        # OpenCV's area weights when enlarging: a sharpened linear blend
        i0 = np.floor(dst * scale)
        f = (dst + 1) - (i0 + 1) / scale
        f = np.where(f <= 0, 0.0, f - np.floor(f))
        i0 = i0.astype(np.int64)
        idx = np.stack([i0, np.minimum(i0 + 1, n_in - 1)], axis=1)
        return idx, np.stack([1 - f, f], axis=1)
    src = (dst + 0.5) * scale - 0.5
    i0 = np.floor(src)
    f = src - i0
    i0 = i0.astype(np.int64)
    if interp in (1, 2):  # bilinear (area when shrinking is handled by _box_matrix)
        low, high = i0 < 0, i0 >= n_in - 1
        f = np.where(low | high, 0.0, f)
        i0 = np.clip(i0, 0, n_in - 1)
        idx = np.stack([i0, np.minimum(i0 + 1, n_in - 1)], axis=1)
        return idx, np.stack([1 - f, f], axis=1)
    offsets = np.arange(-1, 3) if interp == 3 else np.arange(-3, 5)
    kernel = _cubic if interp == 3 else _lanczos4
    w = kernel(f[:, None] - offsets[None, :])
    w = w / w.sum(axis=1, keepdims=True)
    idx = np.clip(i0[:, None] + offsets[None, :], 0, n_in - 1)
    return idx, w


def _box_matrix(n_in: int, n_out: int) -> np.ndarray:
    """Area averaging when shrinking: weight of input cell i in output cell o is the
    overlap of [i, i+1) with [o*s, (o+1)*s), divided by s."""
    s = n_in / n_out
    lo = np.arange(n_out)[:, None] * s
    hi = lo + s
    i = np.arange(n_in)[None, :]
    overlap = np.clip(np.minimum(hi, i + 1) - np.maximum(lo, i), 0, None)
    return overlap / s


def _resample(xp: Any, x: Any, axis: int, n_out: int, interp: int) -> Any:
    n_in = x.shape[axis]
    if n_in == n_out and interp != 0:
        return x
    if interp == 2 and n_in > n_out:
        w = xp.asarray(_box_matrix(n_in, n_out), dtype=x.dtype)
        return xp.moveaxis(xp.tensordot(w, x, axes=([1], [axis])), 0, axis)
    idx, w = _taps(n_in, n_out, interp)
    bshape = [1] * x.ndim
    bshape[axis] = n_out
    acc = None
    for t in range(idx.shape[1]):  # a static number of taps (1 to 8)
        part = xp.take(x, xp.asarray(idx[:, t]), axis=axis)
        if idx.shape[1] > 1:
            part = part * xp.asarray(w[:, t].reshape(bshape), dtype=x.dtype)
        acc = part if acc is None else acc + part
    return acc


def _resize_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp, x, out = oc.xp, ins[0], outs[0]
    ha, wa = _hwc_axes(x.ndim)
    if p.interp == 0:
        y = _resample(xp, _resample(xp, x, ha, out.shape[ha], 0), wa, out.shape[wa], 0)
        out[...] = y
        return
    y = _resample(xp, _float(xp, x), ha, out.shape[ha], p.interp)
    y = _resample(xp, y, wa, out.shape[wa], p.interp)
    _store(xp, y, out)


register(OpDef("_image_resize",
               params=[Param("size", Shape(), (), "(width, height), or one int"),
                       Param("keep_ratio", Bool(), False,
                             "with one int: resize the short edge to it, keeping the ratio"),
                       Param("interp", Int(), 1, "OpenCV interpolation code 0-4")],
               forward=_resize_forward, infer_shape=_resize_shape,
               doc="Resize an HWC (NHWC) image to size=(width, height)."))


# --------------------------------------------------------------------------- crop
def _crop_shape(p: Any, shapes: list):
    def rule(p: Any, s: tuple) -> tuple:
        _check_image(s)
        ha, wa = _hwc_axes(len(s))
        if p.x < 0 or p.y < 0 or p.width <= 0 or p.height <= 0 or \
                p.x + p.width > s[wa] or p.y + p.height > s[ha]:
            raise MXNetError("crop x=%d, y=%d, width=%d, height=%d does not fit in an image "
                             "of shape %s" % (p.x, p.y, p.width, p.height, shape_str(s)))
        out = list(s)
        out[ha], out[wa] = p.height, p.width
        return tuple(out)
    return infer_one(p, shapes, rule)


def _crop_index(p: Any, ndim: int) -> tuple:
    rows, cols = slice(p.y, p.y + p.height), slice(p.x, p.x + p.width)
    return (rows, cols) if ndim == 3 else (slice(None), rows, cols)


def _crop_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    x = ins[0]
    outs[0][...] = x[_crop_index(p, x.ndim)]


def _crop_back_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    out = outs[0]
    out[...] = 0
    out[_crop_index(p, out.ndim)] = ins[0]


_CROP_PARAMS = [Param("x", Int(), REQUIRED, "left column"),
                Param("y", Int(), REQUIRED, "top row"),
                Param("width", Int(), REQUIRED, "width of the crop"),
                Param("height", Int(), REQUIRED, "height of the crop")]
register(OpDef("_image_crop", params=_CROP_PARAMS, forward=_crop_forward,
               infer_shape=_crop_shape,
               gradient=lambda F, p, ins, outs, og: [F.call("_backward_image_crop",
                                                            [og[0], ins[0]], p)],
               keep_inputs=True, keep_outputs=False,
               doc="Crop rows y..y+height and columns x..x+width of an HWC (NHWC) image."))
register(OpDef("_backward_image_crop", inputs=("ograd", "data"), params=_CROP_PARAMS,
               forward=_crop_back_forward, infer_shape=lambda p, sh: (sh, [sh[1]]),
               infer_type=lambda p, dt: (dt, [dt[0]]),
               doc="Backward of crop: the gradient placed in a zero image of data's shape."))


# --------------------------------------------------------------------------- flips
def _flip_axis(x: Any, vertical: bool) -> int:
    ha, wa = _hwc_axes(x.ndim)
    return ha if vertical else wa


def _flip_forward(vertical: bool) -> Callable:
    def fwd(oc: Any, ins: list, outs: list, p: Any) -> None:
        x = ins[0]
        outs[0][...] = oc.xp.flip(x, axis=_flip_axis(x, vertical))
    return fwd


def _random_flip_forward(vertical: bool) -> Callable:
    def fwd(oc: Any, ins: list, outs: list, p: Any) -> None:
        xp, x = oc.xp, ins[0]
        coin = oc.rng.random(_num_images(x)) < 0.5
        outs[0][...] = xp.where(_per_image(x, coin), xp.flip(x, axis=_flip_axis(x, vertical)),
                                x)
        outs[1][...] = coin
    return fwd


def _flip_if_forward(vertical: bool) -> Callable:
    def fwd(oc: Any, ins: list, outs: list, p: Any) -> None:
        xp, (g, flag) = oc.xp, ins
        outs[0][...] = xp.where(_per_image(g, flag != 0),
                                xp.flip(g, axis=_flip_axis(g, vertical)), g)
    return fwd


def _flag_shape(p: Any, shapes: list):
    (s,) = shapes
    if s is None:
        return shapes, [None, None]
    _check_image(s)
    return shapes, [s, (s[0] if len(s) == 4 else 1,)]


for _side, _vertical in (("left_right", False), ("top_bottom", True)):
    _fname = "_image_flip_" + _side
    register(OpDef(_fname, forward=_flip_forward(_vertical), infer_shape=_image_shape,
                   gradient=(lambda n: lambda F, p, ins, outs, og: [F.call(n, [og[0]])])(_fname),
                   keep_inputs=False, keep_outputs=False,
                   doc="Mirror an HWC (NHWC) image along its %s axis."
                       % ("height" if _vertical else "width")))
    _bname = "_backward_image_random_flip_" + _side
    register(OpDef(
        "_image_random_flip_" + _side, forward=_random_flip_forward(_vertical),
        infer_shape=_flag_shape, infer_type=lambda p, dt: (dt, [dt[0], np.dtype(np.float32)]),
        num_outputs=2, visible_outputs=1, output_names=("output", "flipped"),
        resources=("random",),
        gradient=(lambda n: lambda F, p, ins, outs, og: [F.call(n, [og[0], outs[1]])])(_bname),
        keep_inputs=False, keep_outputs=(1,),
        doc="Mirror each image along its %s axis with probability 0.5 (a hidden second "
            "output records which were flipped)." % ("height" if _vertical else "width")))
    register(OpDef(_bname, inputs=("ograd", "flipped"), forward=_flip_if_forward(_vertical),
                   infer_shape=lambda p, sh: (sh, [sh[0]]),
                   infer_type=lambda p, dt: (dt, [dt[0]]),
                   doc="Backward of random flip: flip the gradient of the images that were "
                       "flipped."))


# --------------------------------------------------------------------------- colour
def _gray(xp: Any, x: Any) -> Any:
    """Per-pixel luminance (keepdims over the channel axis) of an RGB (or gray) float
    image."""
    if x.shape[-1] == 1:
        return x
    return x[..., 0:1] * _GRAY[0] + x[..., 1:2] * _GRAY[1] + x[..., 2:3] * _GRAY[2]


def _check_rgb(x: Any, what: str) -> None:
    if x.shape[-1] not in (1, 3):
        raise MXNetError("%s needs an RGB (3-channel) or gray (1-channel) image, got %d "
                         "channels" % (what, x.shape[-1]))


def _brightness(xp: Any, x: Any, alpha: Any) -> Any:
    return x * _per_image(x, alpha)


def _contrast(xp: Any, x: Any, alpha: Any) -> Any:
    a = _per_image(x, alpha)
    ha, wa = _hwc_axes(x.ndim)
    mean = xp.mean(_gray(xp, x), axis=(ha, wa, x.ndim - 1), keepdims=True)
    return x * a + mean * (1 - a)


def _saturation(xp: Any, x: Any, alpha: Any) -> Any:
    a = _per_image(x, alpha)
    return x * a + _gray(xp, x) * (1 - a)


def _hue(xp: Any, x: Any, alpha: Any) -> Any:
    """Rotate the hue by ``alpha`` turns keeping max and min channel (HSV and HLS give the
    same result, and it does not depend on the value scale)."""
    if x.shape[-1] == 1:
        return x
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    hi = xp.maximum(xp.maximum(r, g), b)
    lo = xp.minimum(xp.minimum(r, g), b)
    c = hi - lo
    safe = xp.where(c == 0, 1, c)
    h = xp.where(hi == r, xp.mod((g - b) / safe, 6),
                 xp.where(hi == g, (b - r) / safe + 2, (r - g) / safe + 4))
    a = _per_image(x, alpha).reshape(_per_image(x, alpha).shape[:-1])
    h = xp.mod(h + 6 * a, 6)
    chans = []
    for n in (5, 3, 1):  # R, G, B from the closed-form HSV inverse
        k = xp.mod(n + h, 6)
        chans.append(hi - c * xp.clip(xp.minimum(k, 4 - k), 0, 1))
    return xp.stack(chans, axis=-1)


def _color_op(name: str, adjust: Callable, doc: str) -> None:
    def fwd(oc: Any, ins: list, outs: list, p: Any) -> None:
        xp, x = oc.xp, ins[0]
        _check_rgb(x, name)
        y = _float(xp, x)
        alpha = _uniform(oc, x, p.min_factor, p.max_factor).astype(y.dtype)
        _store(xp, adjust(xp, y, alpha), outs[0])

    def shape(p: Any, shapes: list):
        if p.min_factor > p.max_factor:
            raise MXNetError("min_factor %g > max_factor %g" % (p.min_factor, p.max_factor))
        return _image_shape(p, shapes)
    register(OpDef(name, params=[Param("min_factor", Float(), REQUIRED, "lower bound"),
                                 Param("max_factor", Float(), REQUIRED, "upper bound")],
                   forward=fwd, infer_shape=shape, resources=("random",), doc=doc))


_color_op("_image_random_brightness", _brightness,
          "Scale each image by a factor drawn from [min_factor, max_factor].")
_color_op("_image_random_contrast", _contrast,
          "Blend each image with its mean gray level: x * a + mean_gray * (1 - a), a drawn "
          "from [min_factor, max_factor].")
_color_op("_image_random_saturation", _saturation,
          "Blend each pixel with its gray level: x * a + gray * (1 - a), a drawn from "
          "[min_factor, max_factor].")
_color_op("_image_random_hue", _hue,
          "Rotate the hue of each image by a * 360 degrees, a drawn from "
          "[min_factor, max_factor].")


def _jitter_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp, x = oc.xp, ins[0]
    _check_rgb(x, "random_color_jitter")
    y = _float(xp, x)
    for amount, adjust, base in ((p.brightness, _brightness, 1.0),
                                 (p.contrast, _contrast, 1.0),
                                 (p.saturation, _saturation, 1.0), (p.hue, _hue, 0.0)):
        if amount > 0:
            y = adjust(xp, y, (base + _uniform(oc, x, -amount, amount)).astype(y.dtype))
    _store(xp, y, outs[0])


def _nonneg_shape(names: tuple) -> Callable:
    def shape(p: Any, shapes: list):
        for n in names:
            if getattr(p, n) < 0:
                raise MXNetError("%s must be >= 0, got %g" % (n, getattr(p, n)))
        return _image_shape(p, shapes)
    return shape


register(OpDef("_image_random_color_jitter",
               params=[Param("brightness", Float(), REQUIRED, "brightness jitter amount"),
                       Param("contrast", Float(), REQUIRED, "contrast jitter amount"),
                       Param("saturation", Float(), REQUIRED, "saturation jitter amount"),
                       Param("hue", Float(), REQUIRED, "hue jitter amount")],
               forward=_jitter_forward,
               infer_shape=_nonneg_shape(("brightness", "contrast", "saturation", "hue")),
               resources=("random",),
               doc="Random brightness, contrast, saturation and hue, in that order."))


def _lighting(xp: Any, x: Any, alpha: Any) -> Any:
    """Add ``eigvec @ (alpha * eigval)`` per image; ``alpha`` has shape (images, 3)."""
    rgb = xp.asarray(np.asarray(_EIGVEC) * np.asarray(_EIGVAL)[None, :], dtype=x.dtype)
    offset = xp.asarray(alpha, dtype=x.dtype) @ rgb.T
    return x + (offset.reshape(-1, 1, 1, 3) if x.ndim == 4 else offset.reshape(1, 1, 3))


def _lighting_shape(p: Any, shapes: list):
    def rule(p: Any, s: tuple) -> tuple:
        _check_image(s)
        if s[-1] != 3:
            raise MXNetError("lighting needs an RGB image (3 channels), got shape %s"
                             % shape_str(s))
        if hasattr(p, "alpha") and len(p.alpha) != 3:
            raise MXNetError("alpha must have 3 values, got %s" % (p.alpha,))
        return s
    return infer_one(p, shapes, rule)


def _adjust_lighting_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp, x = oc.xp, ins[0]
    alpha = np.tile(np.asarray(p.alpha, dtype=np.float64), (_num_images(x), 1))
    _store(xp, _lighting(xp, _float(xp, x), alpha), outs[0])


def _random_lighting_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp, x = oc.xp, ins[0]
    alpha = oc.rng.standard_normal((_num_images(x), 3)) * p.alpha_std
    _store(xp, _lighting(xp, _float(xp, x), alpha), outs[0])


register(OpDef("_image_adjust_lighting",
               params=[Param("alpha", FloatTuple(), REQUIRED, "PCA weights (3 values)")],
               forward=_adjust_lighting_forward, infer_shape=_lighting_shape,
               gradient=identity_grad, keep_inputs=False, keep_outputs=False,
               doc="Add AlexNet's PCA lighting offset eigvec @ (alpha * eigval) to the RGB "
                   "channels."))
register(OpDef("_image_random_lighting",
               params=[Param("alpha_std", Float(), 0.05, "std of the PCA weights")],
               forward=_random_lighting_forward, infer_shape=_lighting_shape,
               resources=("random",),
               doc="Add AlexNet's PCA lighting noise with weights ~ N(0, alpha_std)."))
