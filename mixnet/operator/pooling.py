"""Pooling layers: ``Pooling``, ``UpSampling``, ``ROIPooling``.

MXNet 1.9.1 conventions kept:

* ``Pooling``: max/avg/sum/lp over 1-D/2-D/3-D windows (rank from ``len(kernel)``, or from
  the data with ``global_pool``); the op's default stride is 1 per dim and pad 0. Output
  size per dim: ``valid`` ``floor((x + 2p - k)/s) + 1``, ``full`` ``ceil((x + 2p - k)/s) + 1``;
  ``same`` (1-D only) ``ceil(x/s)`` with the padding split as evenly as possible (more at
  the end) and ``pad`` ignored. ``global_pool`` pools each whole feature map (spatial
  dims 1). Max pooling never picks padding and sends the gradient to the FIRST maximum of
  each window (row-major order); average pooling divides by the window clipped to the
  padded input (``count_include_pad`` None or True) or by the number of real elements
  (False); windows the ``full`` convention adds past the padded edge count only their
  covered part. ``lp`` computes ``(sum x^p)^(1/p)`` (``p_value`` required; x^p keeps the
  sign for odd p, as MXNet). Channel-last layouts are handled by transposing.
* ``UpSampling``: ``nearest`` repeats each of the inputs by an integer factor so all reach
  ``scale`` times the first input's size, then concatenates them on the channel axis or
  sums them (``multi_input_mode``); ``bilinear`` takes ``data`` and a ``weight`` of shape
  ``(C, 1, 2s - s%2, 2s - s%2)`` and applies it as a depthwise Deconvolution with stride
  ``s`` and pad ``ceil((s-1)/2)``; ``num_filter`` must equal C.
* ``ROIPooling``: rois ``(R, 5)`` = ``[batch_index, x1, y1, x2, y2]`` in image coordinates,
  scaled by ``spatial_scale`` and rounded (half away from zero); each ROI (at least 1x1)
  is split into ``pooled_size`` bins with floor/ceil edges, clipped to the map; the
  output is the max of each bin (0 for empty bins). A hidden second output keeps the
  flat arg-max position for backward, which sends each gradient there.

Kernels loop only over the kernel taps (strided slices of the padded input), never over
pixels, windows or batch elements; ROIPooling loops over the taps of the largest bin.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..base import MXNetError
from .conv import (_complete, _compute_dtype, _deconv_backward_core, _deconv_forward_core,
                   _float_types, _prod, _taps)
from .params import REQUIRED, Bool, Float, Int, Optional_, Param, Shape, Str
from .registry import OpDef, register, shape_str

__all__ = []

_CF = {1: "NCW", 2: "NCHW", 3: "NCDHW"}
_CL = {1: "NWC", 2: "NHWC", 3: "NDHWC"}


# ------------------------------------------------------------------------ geometry
class _Geom:
    """Window geometry of one Pooling call (channel-first view of the data).

    ``before``/``after``: padding on each side that counts as "padded input";
    ``buf``: the spatial size of the padded buffer (it may extend past ``before + x +
    after`` for windows the ``full`` convention adds at the end)."""

    __slots__ = ("channel_last", "global_pool", "kernel", "stride", "before", "after",
                 "spatial", "out", "buf")


def _pool_geometry(p: Any, dshape: tuple) -> _Geom:
    nd = len(dshape)
    g = _Geom()
    if p.global_pool:
        nsp = nd - 2
        if not 1 <= nsp <= 3:
            raise MXNetError("data must be 3-D, 4-D or 5-D for global pooling, got %s"
                             % shape_str(dshape))
    else:
        nsp = len(p.kernel)
        if nsp == 0:
            raise MXNetError("kernel must be given unless global_pool=True")
        if nsp > 3:
            raise MXNetError("kernel must have 1, 2 or 3 dimensions, got %s"
                             % shape_str(p.kernel))
        if nd != nsp + 2:
            raise MXNetError("data must be %d-D for a %d-D kernel %s, got %s"
                             % (nsp + 2, nsp, shape_str(p.kernel), shape_str(dshape)))
    layout = p.layout or _CF[nsp]
    if layout not in (_CF[nsp], _CL[nsp]):
        raise MXNetError("layout %s does not fit %d-D pooling of data %s (expected %s or %s)"
                         % (layout, nsp, shape_str(dshape), _CF[nsp], _CL[nsp]))
    g.channel_last = layout == _CL[nsp]
    g.global_pool = p.global_pool
    sp = tuple(int(x) for x in (dshape[1:-1] if g.channel_last else dshape[2:]))
    g.spatial = sp
    if p.global_pool:
        g.kernel, g.stride = sp, (1,) * nsp
        g.before = g.after = (0,) * nsp
        g.out = (1,) * nsp
        g.buf = sp
        return g
    kernel = tuple(p.kernel)
    if any(k <= 0 for k in kernel):
        raise MXNetError("kernel dims must be positive, got %s" % shape_str(kernel))
    vals = []
    for name, default in (("stride", 1), ("pad", 0)):
        v = tuple(getattr(p, name)) or (default,) * nsp
        if len(v) != nsp:
            raise MXNetError("%s %s must have %d dimension%s like kernel %s"
                             % (name, shape_str(v), nsp, "" if nsp == 1 else "s",
                                shape_str(kernel)))
        if any(e < default for e in v):
            raise MXNetError("%s must be %s, got %s"
                             % (name, "positive" if default else "non-negative", shape_str(v)))
        vals.append(v)
    stride, pad = vals
    conv = p.pooling_convention
    if conv == "same" and nsp != 1:
        raise MXNetError("pooling_convention='same' is only supported for 1-D pooling, "
                         "got kernel %s" % shape_str(kernel))
    before, after, out, buf = [], [], [], []
    for x, k, s, q in zip(sp, kernel, stride, pad):
        if conv == "same":
            o = -(-x // s)
            total = max((o - 1) * s + k - x, 0)
            b, a = total // 2, total - total // 2
        else:
            b = a = q
            if k > x + 2 * q:
                raise MXNetError("kernel size %d exceeds the padded input size %d (input %d "
                                 "+ 2 * pad %d)" % (k, x + 2 * q, x, q))
            if conv == "valid":
                o = (x + 2 * q - k) // s + 1
            else:
                o = -(-(x + 2 * q - k) // s) + 1
        before.append(b)
        after.append(a)
        out.append(o)
        buf.append(max(b + x + a, (o - 1) * s + k))
    g.kernel, g.stride = kernel, stride
    g.before, g.after, g.out, g.buf = tuple(before), tuple(after), tuple(out), tuple(buf)
    return g


def _pool_out_shape(g: _Geom, dshape: tuple) -> tuple:
    if g.channel_last:
        return (dshape[0],) + g.out + (dshape[-1],)
    return tuple(dshape[:2]) + g.out


def _cf(a: Any, channel_last: bool) -> Any:
    """(N, *S, C) as an (N, C, *S) view; channel-first arrays unchanged."""
    if not channel_last:
        return a
    return a.transpose((0, a.ndim - 1) + tuple(range(1, a.ndim - 1)))


def _cl(a: Any, channel_last: bool) -> Any:
    """Inverse of :func:`_cf`."""
    if not channel_last:
        return a
    return a.transpose((0,) + tuple(range(2, a.ndim)) + (1,))


def _padded(xp: Any, x: Any, g: _Geom, fill: float, dtype: Any) -> Any:
    """(N, C, *buf) copy of the (N, C, *S) data with ``fill`` around it (``x`` itself when
    no padding is needed and the dtype already matches)."""
    if g.buf == g.spatial and not any(g.before):
        return x.astype(dtype, copy=False)
    res = xp.full(x.shape[:2] + g.buf, fill, dtype)
    res[_interior(g)] = x
    return res


def _interior(g: _Geom) -> tuple:
    return (slice(None), slice(None)) + tuple(slice(b, b + x) for b, x in zip(g.before,
                                                                                 g.spatial))


def _window_count(xp: Any, g: _Geom, include_pad: bool, dtype: Any) -> Any:
    """The divisor of average pooling per output position, broadcastable to (N, C, *out):
    the product over dims of each window's length clipped to the padded input (or to the
    real input without ``include_pad``)."""
    total = None
    nsp = len(g.out)
    for i, (o, k, s, b, a, x) in enumerate(zip(g.out, g.kernel, g.stride, g.before,
                                               g.after, g.spatial)):
        start = np.arange(o) * s
        if include_pad:
            cnt = np.minimum(start + k, b + x + a) - start
        else:
            cnt = np.minimum(start + k, b + x) - np.maximum(start, b)
        cnt = np.maximum(cnt, 0).reshape((o,) + (1,) * (nsp - 1 - i))
        total = cnt if total is None else total * cnt
    return xp.asarray(total.astype(dtype))


def _lp_pow(v: Any, pv: int) -> Any:
    if pv == 1:
        return v
    if pv == 2:
        return v * v
    if pv == 3:
        return v * v * v
    return v ** pv


def _lp_root(xp: Any, v: Any, pv: int) -> Any:
    if pv == 1:
        return v
    if pv == 2:
        return xp.sqrt(v)
    if pv == 3:
        return xp.cbrt(v)
    return v ** (1.0 / pv)


def _include_pad(p: Any) -> bool:
    return True if p.count_include_pad is None else p.count_include_pad


def _pool_forward_cf(xp: Any, x: Any, g: _Geom, p: Any, cdt: Any) -> Any:
    """Pooling of (N, C, *S) data in the compute dtype, giving (N, C, *out)."""
    kind = p.pool_type
    axes = tuple(range(2, x.ndim))
    if g.global_pool:
        xc = x.astype(cdt, copy=False)
        if kind == "max":
            return xc.max(axis=axes, keepdims=True)
        if kind == "avg":
            return xc.mean(axis=axes, keepdims=True)
        if kind == "sum":
            return xc.sum(axis=axes, keepdims=True)
        return _lp_root(xp, _lp_pow(xc, p.p_value).sum(axis=axes, keepdims=True), p.p_value)
    xpad = _padded(xp, x, g, -np.inf if kind == "max" else 0.0, cdt)
    lead = (slice(None), slice(None))
    acc = None
    for _, sl in _taps(g.kernel, g.stride, (1,) * len(g.kernel), g.out):
        v = xpad[lead + sl]
        if kind == "lp":
            v = _lp_pow(v, p.p_value)
        if acc is None:
            acc = v.copy()
        elif kind == "max":
            xp.maximum(acc, v, out=acc)
        else:
            acc += v
    if kind == "avg":
        acc /= _window_count(xp, g, _include_pad(p), cdt)
    elif kind == "lp":
        acc = _lp_root(xp, acc, p.p_value)
    return acc


def _pool_backward_cf(xp: Any, dy: Any, x: Any, y: Any, g: _Geom, p: Any, cdt: Any) -> Any:
    """The data gradient of pooling, all arrays channel-first, in the compute dtype."""
    kind = p.pool_type
    dy = dy.astype(cdt, copy=False)
    if g.global_pool:
        xc = x.astype(cdt, copy=False)
        n, c = x.shape[:2]
        if kind == "max":
            flat = xc.reshape(n, c, -1)
            first = xp.argmax(flat, axis=2)[..., None]  # argmax returns the first maximum
            hit = xp.arange(flat.shape[2]).reshape(1, 1, -1) == first
            return (hit * dy.reshape(n, c, 1)).reshape(x.shape)
        if kind == "avg":
            return xp.broadcast_to(dy / _prod(g.spatial), x.shape).copy()
        if kind == "sum":
            return xp.broadcast_to(dy, x.shape).copy()
        return dy * _lp_pow(xc / y.astype(cdt, copy=False), p.p_value - 1)
    xpad = _padded(xp, x, g, -np.inf if kind == "max" else 0.0, cdt)
    dpad = xp.zeros(x.shape[:2] + g.buf, cdt)
    lead = (slice(None), slice(None))
    taps = _taps(g.kernel, g.stride, (1,) * len(g.kernel), g.out)
    if kind == "max":
        yc = y.astype(cdt, copy=False)
        done = xp.zeros(y.shape, dtype=bool)
        zero = xp.zeros((), cdt)
        for _, sl in taps:  # row-major tap order: the first maximum of each window wins
            hit = (xpad[lead + sl] == yc) & ~done
            dpad[lead + sl] += xp.where(hit, dy, zero)
            done |= hit
    elif kind in ("avg", "sum"):
        share = dy / _window_count(xp, g, _include_pad(p), cdt) if kind == "avg" else dy
        for _, sl in taps:
            dpad[lead + sl] += share
    else:
        yc = y.astype(cdt, copy=False)
        for _, sl in taps:
            dpad[lead + sl] += dy * _lp_pow(xpad[lead + sl] / yc, p.p_value - 1)
    return dpad[_interior(g)]


# --------------------------------------------------------------------------- Pooling
def _check_pool_params(p: Any) -> None:
    if p.pool_type == "lp":
        if p.p_value is None:
            raise MXNetError("p_value is required for pool_type='lp'")
        if p.p_value < 1:
            raise MXNetError("p_value must be a positive integer, got %d" % p.p_value)


def _pool_shape(p: Any, shapes: list):
    _check_pool_params(p)
    (data,) = shapes
    if data is None:
        return shapes, [None]
    data = tuple(data)
    return [data], [_pool_out_shape(_pool_geometry(p, data), data)]


def _pool_type(p: Any, dtypes: list):
    dt = _float_types("Pooling", ["data"], dtypes)
    return [dt], [dt]


def _pool_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    x = ins[0]
    g = _pool_geometry(p, x.shape)
    y = _pool_forward_cf(oc.xp, _cf(x, g.channel_last), g, p, _compute_dtype(x.dtype))
    outs[0][...] = _cl(y, g.channel_last)


def _pool_cost(p: Any, in_shapes: list, out_shapes: list) -> int:
    return _prod(out_shapes[0]) * max(_prod(p.kernel), 1) + _prod(in_shapes[0])


def _pool_grad(F: Any, p: Any, ins: list, outs: list, ograds: list) -> list:
    return [F.call("_backward_Pooling", [ograds[0], ins[0], outs[0]], p)]


_POOL_PARAMS = [
    Param("kernel", Shape(), (), "pooling window: (w,), (h, w) or (d, h, w)"),
    Param("pool_type", Str(("avg", "lp", "max", "sum")), "max", "pooling type"),
    Param("global_pool", Bool(), False, "pool each whole feature map (kernel/stride/pad "
                                        "ignored)"),
    Param("cudnn_off", Bool(), False, "turn off cuDNN (ignored)"),
    Param("pooling_convention", Str(("full", "same", "valid")), "valid",
          "output size rule: valid (floor), full (ceil), same (1-D: ceil(x/stride))"),
    Param("stride", Shape(), (), "stride per spatial dim (default 1)"),
    Param("pad", Shape(), (), "padding on both sides per spatial dim (default 0)"),
    Param("p_value", Optional_(Int()), None, "p of Lp pooling (required for pool_type='lp')"),
    Param("count_include_pad", Optional_(Bool()), None,
          "average pooling: count padding in the divisor (None means True)"),
    Param("layout", Optional_(Str(("NCDHW", "NCHW", "NCW", "NDHWC", "NHWC", "NWC"))), None,
          "data layout (default NCW/NCHW/NCDHW by rank)"),
]

register(OpDef(
    "Pooling", inputs=("data",), params=list(_POOL_PARAMS), forward=_pool_forward,
    infer_shape=_pool_shape, infer_type=_pool_type, cost=_pool_cost, gradient=_pool_grad,
    keep_inputs=True, keep_outputs=True,
    doc="Max, average, sum or Lp pooling over 1-D/2-D/3-D windows (default stride 1), or "
        "over each whole feature map with global_pool."))


def _bpool_shape(p: Any, shapes: list):
    return shapes, [shapes[1]]


def _bpool_type(p: Any, dtypes: list):
    _float_types("_backward_Pooling", ["ograd"], dtypes[:1])
    dt = _float_types("_backward_Pooling", ["data", "output"], dtypes[1:])
    return [dtypes[0] or dt, dt, dt], [dt]


def _bpool_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    og, x, y = ins
    g = _pool_geometry(p, x.shape)
    cl = g.channel_last
    dx = _pool_backward_cf(oc.xp, _cf(og, cl), _cf(x, cl), _cf(y, cl), g, p,
                           _compute_dtype(x.dtype))
    outs[0][...] = _cl(dx, cl)


register(OpDef(
    "_backward_Pooling", inputs=("ograd", "data", "output"), params=list(_POOL_PARAMS),
    forward=_bpool_forward, infer_shape=_bpool_shape, infer_type=_bpool_type,
    cost=lambda p, i, o: 2 * _pool_cost(p, i[1:], i[2:]),
    doc="Data gradient of Pooling from the output gradient, the data and the output."))


# ------------------------------------------------------------------------ UpSampling
def _up_inputs(p: Any) -> list:
    if p.sample_type == "bilinear":
        return ["data", "weight"]
    return ["arg%d" % i for i in range(p.num_args)]


def _bilinear_kernel(scale: int) -> int:
    return 2 * scale - scale % 2


class _DeconvView:
    """The Deconvolution parameters UpSampling's bilinear mode stands for."""

    __slots__ = ("kernel", "stride", "dilate", "pad", "adj", "target_shape", "num_filter",
                 "num_group", "no_bias", "layout")

    def __init__(self, scale: int, channels: int):
        k = _bilinear_kernel(scale)
        self.kernel, self.stride, self.dilate = (k, k), (scale, scale), (1, 1)
        self.pad = ((scale - 1 + 1) // 2,) * 2
        self.adj, self.target_shape = (), ()
        self.num_filter = self.num_group = channels
        self.no_bias = True
        self.layout = None


def _up_shape(p: Any, shapes: list):
    shapes = list(shapes)
    if p.sample_type == "bilinear":
        if p.num_args != 2:
            raise MXNetError("bilinear UpSampling takes data and weight (num_args=2), got "
                             "num_args=%d" % p.num_args)
        data = shapes[0]
        if data is None:
            return shapes, [None]
        data = tuple(data)
        if len(data) != 4:
            raise MXNetError("data must be 4-D (NCHW), got %s" % shape_str(data))
        if p.num_filter != data[1]:
            raise MXNetError("num_filter=%d must equal the %d channels of data %s for "
                             "bilinear UpSampling" % (p.num_filter, data[1], shape_str(data)))
        k = _bilinear_kernel(p.scale)
        shapes[1] = _complete("weight", shapes[1], (data[1], 1, k, k))
        return shapes, [(data[0], data[1], data[2] * p.scale, data[3] * p.scale)]
    if any(s is None for s in shapes):
        return shapes, [None]
    first = tuple(shapes[0])
    for i, s in enumerate(shapes):
        if len(s) != 4:
            raise MXNetError("input %d must be 4-D (NCHW), got %s" % (i, shape_str(s)))
    oh, ow = first[2] * p.scale, first[3] * p.scale
    channels = 0
    for i, s in enumerate(shapes):
        if s[0] != first[0]:
            raise MXNetError("all inputs must have the same batch size, got %s"
                             % " vs ".join(shape_str(t) for t in shapes))
        if s[2] == 0 or s[3] == 0 or oh % s[2] or ow % s[3] or oh // s[2] != ow // s[3]:
            raise MXNetError("input %d of shape %s cannot be scaled by an integer to the "
                             "output size (%d, %d)" % (i, shape_str(s), oh, ow))
        if p.multi_input_mode == "sum":
            if s[1] != first[1]:
                raise MXNetError("multi_input_mode='sum' needs equal channels, got %s"
                                 % " vs ".join(shape_str(t) for t in shapes))
            channels = first[1]
        else:
            channels += s[1]
    return shapes, [(first[0], channels, oh, ow)]


def _up_type(p: Any, dtypes: list):
    dt = _float_types("UpSampling", _up_inputs(p), dtypes)
    return [dt] * len(dtypes), [dt]


def _up_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    out = outs[0]
    if p.sample_type == "bilinear":
        data, weight = ins
        y, _ = _deconv_forward_core(xp, data, weight, None, _DeconvView(p.scale, data.shape[1]),
                                    data.shape[1], data.shape[1])
        out[...] = y.transpose(1, 0, 2, 3)
        return
    n, _, oh, ow = out.shape
    c0 = 0
    for i, x in enumerate(ins):
        c, h, w = x.shape[1:]
        s = oh // h
        up = xp.broadcast_to(x[:, :, :, None, :, None], (n, c, h, s, w, s)).reshape(n, c, oh, ow)
        if p.multi_input_mode == "sum":
            if i == 0:
                out[...] = up
            else:
                out += up
        else:
            out[:, c0:c0 + c] = up
            c0 += c


def _up_cost(p: Any, in_shapes: list, out_shapes: list) -> int:
    if p.sample_type == "bilinear":
        return 2 * _prod(out_shapes[0]) * _bilinear_kernel(p.scale) ** 2
    return _prod(out_shapes[0]) * len(in_shapes)


def _up_grad(F: Any, p: Any, ins: list, outs: list, ograds: list) -> list:
    res = F.call("_backward_UpSampling", [ograds[0]] + list(ins), p)
    return list(res) if isinstance(res, (list, tuple)) else [res]


_UP_PARAMS = [
    Param("scale", Int(lo=1), REQUIRED, "up-sampling factor"),
    Param("num_filter", Int(lo=0), 0, "bilinear: number of channels of data"),
    Param("sample_type", Str(("bilinear", "nearest")), REQUIRED, "up-sampling method"),
    Param("multi_input_mode", Str(("concat", "sum")), "concat",
          "nearest with several inputs: concatenate channels or sum"),
    Param("num_args", Int(lo=1), REQUIRED,
          "number of inputs (filled automatically; 2 for bilinear: data and weight)"),
    Param("workspace", Int(lo=0), 512, "workspace limit in MB (ignored)"),
]

register(OpDef(
    "UpSampling", inputs=_up_inputs, varargs="num_args", params=list(_UP_PARAMS),
    forward=_up_forward, infer_shape=_up_shape, infer_type=_up_type, cost=_up_cost,
    gradient=_up_grad, keep_inputs=True, keep_outputs=False,
    doc="Nearest-neighbour up-sampling of one or several inputs (concatenated or summed), "
        "or bilinear up-sampling of data with a weight, as a depthwise Deconvolution."))

def _bup_shape(p: Any, shapes: list):
    return shapes, list(shapes[1:])


def _bup_type(p: Any, dtypes: list):
    _float_types("_backward_UpSampling", ["ograd"], dtypes[:1])
    dt = _float_types("_backward_UpSampling", _up_inputs(p), dtypes[1:])
    return [dtypes[0] or dt] + [dt] * (len(dtypes) - 1), [dt] * (len(dtypes) - 1)


def _bup_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    og = ins[0]
    if p.sample_type == "bilinear":
        data, weight = ins[1:]
        c = data.shape[1]
        dx, dw, _ = _deconv_backward_core(xp, og, data, weight, _DeconvView(p.scale, c), c, c)
        outs[0][...] = dx
        outs[1][...] = dw
        return
    cdt = _compute_dtype(og.dtype)
    n, _, oh, ow = og.shape
    c0 = 0
    for x, o in zip(ins[1:], outs):
        c, h, w = x.shape[1:]
        s = oh // h
        part = og if p.multi_input_mode == "sum" else og[:, c0:c0 + c]
        o[...] = part.reshape(n, c, h, s, w, s).sum(axis=(3, 5), dtype=cdt)
        c0 += c


register(OpDef(
    "_backward_UpSampling", inputs=lambda p: ["ograd"] + _up_inputs(p),
    params=list(_UP_PARAMS),
    forward=_bup_forward, infer_shape=_bup_shape, infer_type=_bup_type,
    num_outputs=lambda p: p.num_args,
    doc="Gradients of UpSampling with respect to each of its inputs."))


# ------------------------------------------------------------------------ ROIPooling
def _roi_shape(p: Any, shapes: list):
    if len(p.pooled_size) != 2 or any(v <= 0 for v in p.pooled_size):
        raise MXNetError("pooled_size must be two positive ints (h, w), got %s"
                         % shape_str(p.pooled_size))
    if p.spatial_scale <= 0:
        raise MXNetError("spatial_scale must be positive, got %g" % p.spatial_scale)
    data, rois = shapes
    if data is not None and len(data) != 4:
        raise MXNetError("data must be 4-D (NCHW), got %s" % shape_str(data))
    if rois is not None and (len(rois) != 2 or rois[1] != 5):
        raise MXNetError("rois must have shape (num_rois, 5), got %s" % shape_str(rois))
    if data is None or rois is None:
        return shapes, [None, None]
    out = (rois[0], data[1]) + tuple(p.pooled_size)
    return shapes, [out, out]


def _roi_type(p: Any, dtypes: list):
    # rois only locate windows, so any real dtype will do (MXNet passes float32 boxes)
    dt = _float_types("ROIPooling", ["data"], dtypes[:1])
    if dtypes[1] is not None and np.dtype(dtypes[1]).kind not in "fiu":
        raise MXNetError("rois must have a real dtype, got %s" % np.dtype(dtypes[1]))
    return [dt, dtypes[1] or dt], [dt, np.dtype(np.int32)]


def _round_half_away(xp: Any, v: Any) -> Any:
    return xp.sign(v) * xp.floor(xp.abs(v) + 0.5)


def _roi_bins(xp: Any, rois: Any, p: Any, h: int, w: int, n: int, cdt: Any):
    """Per ROI: batch index and the clipped [start, end) rows and columns of every bin."""
    r = rois.astype(cdt, copy=False)
    batch = r[:, 0].astype(np.int64)
    if batch.size and (int(batch.min()) < 0 or int(batch.max()) >= n):
        raise MXNetError("Operator ROIPooling: roi batch index out of range [0, %d): %s"
                         % (n, batch))
    scale = cdt.type(p.spatial_scale)
    x1, y1, x2, y2 = (_round_half_away(xp, r[:, i] * scale) for i in (1, 2, 3, 4))
    ph, pw = p.pooled_size

    def edges(lo, hi, pooled, limit):
        size = xp.maximum(hi - lo + 1, 1)
        bin_size = (size / cdt.type(pooled))[:, None]
        idx = xp.arange(pooled, dtype=cdt)[None, :]
        start = xp.floor(idx * bin_size) + lo[:, None]
        end = xp.ceil((idx + 1) * bin_size) + lo[:, None]
        start = xp.clip(start, 0, limit).astype(np.int64)
        end = xp.clip(end, 0, limit).astype(np.int64)
        return start, end

    hs, he = edges(y1, y2, ph, h)
    ws, we = edges(x1, x2, pw, w)
    return batch, hs, he, ws, we


def _roi_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    data, rois = ins
    n, c, h, w = data.shape
    cdt = _compute_dtype(data.dtype)
    batch, hs, he, ws, we = _roi_bins(xp, rois, p, h, w, n, cdt)
    ph, pw = p.pooled_size
    nr = rois.shape[0]
    best = xp.full((nr, ph, pw, c), -np.inf, cdt)
    arg = xp.full((nr, ph, pw, c), -1, np.int64)
    if nr and c:
        # channel-last copy so each gathered (roi, bin) reads one contiguous row of C values
        dt = xp.ascontiguousarray(data.transpose(0, 2, 3, 1), dtype=cdt)
        bh = int((he - hs).max())
        bw = int((we - ws).max())
        b3 = batch[:, None, None]
        for th in range(bh):  # taps of the largest bin, row-major: the first max wins
            hh = hs + th
            vh = hh < he
            hh = xp.minimum(hh, h - 1)
            for tw in range(bw):
                ww = ws + tw
                vw = ww < we
                ww = xp.minimum(ww, w - 1)
                vals = dt[b3, hh[:, :, None], ww[:, None, :]]
                better = (vh[:, :, None] & vw[:, None, :])[..., None] & (vals > best)
                best = xp.where(better, vals, best)
                arg = xp.where(better, (hh[:, :, None] * w + ww[:, None, :])[..., None], arg)
    best = xp.where(arg < 0, xp.zeros((), cdt), best)
    outs[0][...] = best.transpose(0, 3, 1, 2)
    outs[1][...] = arg.transpose(0, 3, 1, 2)


def _roi_cost(p: Any, in_shapes: list, out_shapes: list) -> int:
    return _prod(out_shapes[0]) * 16 + _prod(in_shapes[0])


def _roi_grad(F: Any, p: Any, ins: list, outs: list, ograds: list) -> list:
    return [F.call("_backward_ROIPooling", [ograds[0], ins[0], ins[1], outs[1]], p), None]


_ROI_PARAMS = [
    Param("pooled_size", Shape(), REQUIRED, "output size (h, w) of each ROI"),
    Param("spatial_scale", Float(), REQUIRED,
          "ratio of the feature map size to the image size the ROIs are given in"),
]

register(OpDef(
    "ROIPooling", inputs=("data", "rois"), params=list(_ROI_PARAMS), forward=_roi_forward,
    infer_shape=_roi_shape, infer_type=_roi_type, cost=_roi_cost, gradient=_roi_grad,
    num_outputs=2, visible_outputs=1, output_names=("output", "maxidx"),
    keep_inputs=(0, 1), keep_outputs=(1,),
    doc="Region-of-interest max pooling: each ROI [batch, x1, y1, x2, y2] (image "
        "coordinates times spatial_scale) is max-pooled to pooled_size bins."))


def _broi_shape(p: Any, shapes: list):
    return shapes, [shapes[1]]


def _broi_type(p: Any, dtypes: list):
    return dtypes, [_float_types("_backward_ROIPooling", ["data"], dtypes[1:2])]


def _broi_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    og, data, rois, arg = ins
    n, c, h, w = data.shape
    cdt = _compute_dtype(data.dtype)
    nr = rois.shape[0]
    batch = rois[:, 0].astype(np.int64)
    valid = arg >= 0
    chan = xp.arange(c).reshape(1, c, 1, 1)
    flat = (batch.reshape(nr, 1, 1, 1) * c + chan) * (h * w) + xp.where(valid, arg, 0)
    weights = xp.where(valid, og.astype(cdt, copy=False), xp.zeros((), cdt))
    # bincount sums the duplicates (overlapping ROIs hitting one position) in one pass
    total = xp.bincount(flat.reshape(-1), weights=weights.reshape(-1).astype(np.float64),
                        minlength=n * c * h * w)
    outs[0][...] = total.reshape(n, c, h, w)


register(OpDef(
    "_backward_ROIPooling", inputs=("ograd", "data", "rois", "maxidx"),
    params=list(_ROI_PARAMS), forward=_broi_forward, infer_shape=_broi_shape,
    infer_type=_broi_type,
    doc="Data gradient of ROIPooling: each output gradient goes to its arg-max position."))
