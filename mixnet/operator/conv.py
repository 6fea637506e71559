"""Dense and convolution layers: ``FullyConnected``, ``Convolution``, ``Deconvolution``.

MXNet 1.9.1 conventions kept:

* ``FullyConnected``: ``y = x W^T + b``; with ``flatten=True`` (default) ``data`` is viewed as
  ``(N, prod(rest))``, otherwise the op applies to the last axis. ``weight`` is
  ``(num_hidden, K)``, ``bias`` ``(num_hidden,)`` unless ``no_bias``.
* ``Convolution`` is a cross-correlation, 1-D/2-D/3-D by ``len(kernel)``; ``stride`` and
  ``dilate`` default to 1 and ``pad`` to 0 per spatial dim; ``weight`` is
  ``(num_filter, C/num_group, *kernel)`` (channel-first layouts) or
  ``(num_filter, *kernel, C/num_group)`` (channel-last); output size
  ``floor((x + 2p - (d(k-1)+1)) / s) + 1``.
* ``Deconvolution`` is the transpose (the data gradient) of that convolution: ``weight``
  is ``(C, num_filter/num_group, *kernel)``, ``no_bias`` defaults to True, output size
  ``s(x-1) + d(k-1) + 1 - 2p + adj``; a ``target_shape`` derives ``pad``/``adj``.
* ``workspace``, ``cudnn_tune`` and ``cudnn_off`` are accepted and ignored, as on MXNet's
  CPU. Channel-last layouts (NWC is not a Convolution layout in MXNet) are supported here
  by folding the transposes into the im2col copies, so they cost nothing extra.
* Unknown dims (0, MXNet 1.x's partial-shape marker) in ``weight``/``bias`` shapes are
  completed from ``data`` and the parameters, as the symbolic layer needs.

Kernels: im2col (one strided copy per kernel tap into a ``(C, *kernel, N, *out)`` buffer)
and one GEMM per group; the data gradient is a GEMM followed by col2im (one strided add
per kernel tap). Deconvolution runs the same two primitives the other way round. float16
is computed in float32 (NumPy has no half-precision BLAS); results take the data dtype.
"""
from __future__ import annotations

from math import prod as _prod
import itertools
from typing import Any, Optional

import numpy as np

from ..base import MXNetError, dtype_name
from .params import REQUIRED, Bool, Int, Optional_, Param, Shape, Str
from .registry import OpDef, register, shape_str

__all__ = []

_CF_LAYOUTS = {1: "NCW", 2: "NCHW", 3: "NCDHW"}
_CL_LAYOUTS = {1: "NWC", 2: "NHWC", 3: "NDHWC"}


# ----------------------------------------------------------------------------- helpers


def _compute_dtype(dt: Any) -> Any:
    """float16 is computed in float32; other float types in themselves."""
    return np.dtype(np.float32) if np.dtype(dt) == np.float16 else np.dtype(dt)


def _complete(name: str, given: Optional[tuple], expected: tuple) -> tuple:
    """Merge a given input shape with the one the op requires: 0 (MXNet 1.x's unknown
    dim) on either side takes the other side's value; anything else must agree."""
    if given is None:
        return tuple(expected)
    given = tuple(given)
    if len(given) != len(expected) or any(g != e and g != 0 and e != 0
                                          for g, e in zip(given, expected)):
        raise MXNetError("%s has shape %s, expected %s" % (name, shape_str(given),
                                                            shape_str(expected)))
    return tuple(e if e != 0 else g for g, e in zip(given, expected))


def _float_types(opname: str, names: list, dtypes: list) -> tuple:
    """All inputs share one floating-point dtype (MXNet's NN layers take no integers)."""
    known = None
    for n, d in zip(names, dtypes):
        if d is None:
            continue
        d = np.dtype(d)
        if d.kind != "f":
            raise MXNetError("%s has dtype %s; %s only supports float16, float32 and float64"
                             % (n, dtype_name(d), opname))
        if known is None:
            known = d
        elif d != known:
            raise MXNetError("all inputs must have the same dtype, got %s"
                             % ", ".join("%s=%s" % (m, "?" if e is None else dtype_name(e))
                                         for m, e in zip(names, dtypes)))
    return known


def _to_cn(a: Any, channel_last: bool) -> Any:
    """View an (N, C, *S) or (N, *S, C) array as (C, N, *S)."""
    nd = a.ndim
    if channel_last:
        return a.transpose((nd - 1, 0) + tuple(range(1, nd - 1)))
    return a.transpose((1, 0) + tuple(range(2, nd)))


def _from_cn(a: Any, channel_last: bool) -> Any:
    """Inverse of :func:`_to_cn`: a (C, N, *S) array as (N, C, *S) or (N, *S, C)."""
    nd = a.ndim
    if channel_last:
        return a.transpose(tuple(range(1, nd)) + (0,))
    return a.transpose((1, 0) + tuple(range(2, nd)))


def _weight_cf(w: Any, channel_last: bool) -> Any:
    """Channel-last weights (F, *k, C) as channel-first (F, C, *k)."""
    if not channel_last:
        return w
    nd = w.ndim
    return w.transpose((0, nd - 1) + tuple(range(1, nd - 1)))


def _weight_back(w: Any, channel_last: bool) -> Any:
    """Inverse of :func:`_weight_cf`."""
    if not channel_last:
        return w
    nd = w.ndim
    return w.transpose((0,) + tuple(range(2, nd)) + (1,))


def _padded_cn(xp: Any, x_cn: Any, pad: tuple, dtype: Any) -> Any:
    """A zero-padded contiguous (C, N, *(S + 2 pad)) copy of the (C, N, *S) view ``x_cn``
    in ``dtype``: the layout the per-tap im2col copies read row by row."""
    if not any(pad):
        return xp.ascontiguousarray(x_cn, dtype=dtype)
    spatial = x_cn.shape[2:]
    buf = xp.zeros(x_cn.shape[:2] + tuple(s + 2 * q for s, q in zip(spatial, pad)), dtype)
    buf[(slice(None), slice(None)) + tuple(slice(q, q + s) for q, s in zip(pad, spatial))] = x_cn
    return buf


def _taps(kernel: tuple, stride: tuple, dilate: tuple, out: tuple):
    """Per kernel tap: its index tuple and the strided slices of the padded input it
    reads for every output position."""
    for tap in itertools.product(*[range(k) for k in kernel]):
        yield tap, tuple(slice(t * d, t * d + s * (o - 1) + 1, s)
                         for t, d, s, o in zip(tap, dilate, stride, out))


def _im2col(xp: Any, xpad: Any, kernel: tuple, stride: tuple, dilate: tuple,
            out: tuple) -> Any:
    """(C, N, *P) padded input -> columns (C, *kernel, N, *out): one strided copy per
    kernel tap (no loop over pixels or batch)."""
    c, n = xpad.shape[:2]
    cols = xp.empty((c,) + tuple(kernel) + (n,) + tuple(out), xpad.dtype)
    if 0 in cols.shape:
        return cols
    lead = (slice(None), slice(None))
    for tap, sl in _taps(kernel, stride, dilate, out):
        cols[(slice(None),) + tap] = xpad[lead + sl]
    return cols


def _col2im(xp: Any, cols: Any, padded: tuple, kernel: tuple, stride: tuple,
            dilate: tuple, out: tuple) -> Any:
    """Columns (C, *kernel, N, *out) -> (C, N, *padded), summing overlapping taps: one
    strided add per kernel tap (the adjoint of :func:`_im2col`)."""
    c = cols.shape[0]
    n = cols.shape[1 + len(kernel)]
    res = xp.zeros((c, n) + tuple(padded), cols.dtype)
    if 0 in cols.shape:
        return res
    lead = (slice(None), slice(None))
    for tap, sl in _taps(kernel, stride, dilate, out):
        res[lead + sl] += cols[(slice(None),) + tap]
    return res


def _crop(a: Any, pad: tuple, size: tuple) -> Any:
    """The (C, N, *size) window of a (C, N, *padded) array starting at ``pad``."""
    return a[(slice(None), slice(None)) + tuple(slice(q, q + s) for q, s in zip(pad, size))]


def _gemm(xp: Any, a: Any, b: Any) -> Any:
    """Grouped matrix product (G, m, k) x (G, k, n); one plain 2-D BLAS call when G == 1
    so the whole product is a single multi-threaded GEMM."""
    if a.shape[0] == 1:
        return xp.matmul(a[0], b[0])[None]
    return xp.matmul(a, b)


def _write(out: Any, value: Any) -> None:
    out[...] = value


def _inputs(p: Any) -> list:
    """Inputs of the weighted layers: data, weight and (unless ``no_bias``) bias."""
    return ["data", "weight"] if p.no_bias else ["data", "weight", "bias"]


def _write_grads(outs: list, p: Any, dx: Any, dw: Any, db: Any) -> None:
    """Store (d data, d weight[, d bias]) into a backward op's outputs (``None``: an
    output the executor does not need, see ``OpDef.skip_unused_outputs``)."""
    for out, value in zip(outs, (dx, dw, db)):
        if out is not None:
            out[...] = value


def _backward_type(p: Any, dtypes: list):
    """Backward ops: data and weight share a float dtype that the gradients take; the
    output gradient only has to be a float (it is cast to the compute dtype)."""
    _float_types("backward", ["ograd"], dtypes[:1])
    dt = _float_types("backward", ["data", "weight"], dtypes[1:])
    return [dtypes[0] or dt, dt, dt], [dt] * (2 if p.no_bias else 3)


def _register_layer(name: str, params: list, forward: Any, infer_shape: Any, cost: Any,
                    doc: str, backward: Any, backward_cost: Any, units: str) -> None:
    """Register the weighted layer ``name`` (data, weight[, bias] of ``p.<units>``
    elements, all one float dtype) and its fused ``_backward_<name>`` (ograd, data, weight
    -> d data, d weight[, d bias])."""
    bname = "_backward_" + name

    def infer_type(p: Any, dtypes: list):
        dt = _float_types(name, _inputs(p), dtypes)
        return [dt] * len(dtypes), [dt]

    def gradient(F: Any, p: Any, ins: list, outs: list, ograds: list) -> list:
        return list(F.call(bname, [ograds[0], ins[0], ins[1]], p))

    def backward_shape(p: Any, shapes: list):
        _, data, weight = shapes
        return shapes, [data, weight] + ([] if p.no_bias else [(getattr(p, units),)])

    register(OpDef(
        name, inputs=_inputs, params=list(params), forward=forward, infer_shape=infer_shape,
        infer_type=infer_type, cost=cost, gradient=gradient, keep_inputs=(0, 1),
        keep_outputs=False, doc=doc))
    bop = OpDef(
        bname, inputs=("ograd", "data", "weight"), params=list(params), forward=backward,
        infer_shape=backward_shape, infer_type=_backward_type, cost=backward_cost,
        num_outputs=lambda p: 2 if p.no_bias else 3,
        doc="Gradients of %s: (d data, d weight[, d bias]) from the output gradient, data "
            "and weight." % name)
    bop.skip_unused_outputs = True  # no d data for a first layer: a GEMM (and col2im) less
    register(bop)


# ----------------------------------------------------------------------- FullyConnected
def _fc_k(p: Any, dshape: tuple) -> int:
    return _prod(dshape[1:]) if p.flatten else int(dshape[-1])


def _fc_rows(p: Any, dshape: tuple) -> int:
    """Rows of the 2-D view of data (explicit, so that K == 0 still reshapes)."""
    return int(dshape[0]) if p.flatten else _prod(dshape[:-1])


def _fc_out_shape(p: Any, dshape: tuple) -> tuple:
    if p.flatten:
        return (dshape[0], p.num_hidden)
    return tuple(dshape[:-1]) + (p.num_hidden,)


def _fc_shape(p: Any, shapes: list):
    shapes = list(shapes)
    data = shapes[0]
    if not p.no_bias:
        shapes[2] = _complete("bias", shapes[2], (p.num_hidden,))
    if data is None:
        return shapes, [None]
    data = tuple(data)
    if len(data) == 0:
        raise MXNetError("data must have at least one dimension")
    shapes[1] = _complete("weight", shapes[1], (p.num_hidden, _fc_k(p, data)))
    return shapes, [_fc_out_shape(p, data)]


def _fc_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    data, weight = ins[0], ins[1]
    out = outs[0]
    k = weight.shape[1]
    cdt = _compute_dtype(out.dtype)
    x2 = data.reshape(_fc_rows(p, data.shape), k)
    w = weight if weight.dtype == cdt else weight.astype(cdt)
    if x2.dtype != cdt:
        x2 = x2.astype(cdt)
    if cdt == out.dtype and out.flags.c_contiguous:
        y = out.reshape(x2.shape[0], p.num_hidden)
        xp.matmul(x2, w.T, out=y)
        if not p.no_bias:
            y += ins[2]
        return
    y = xp.matmul(x2, w.T)
    if not p.no_bias:
        y += ins[2].astype(cdt)
    out[...] = y.reshape(out.shape)


def _fc_cost(p: Any, in_shapes: list, out_shapes: list) -> int:
    return 2 * _prod(out_shapes[0]) * int(in_shapes[1][1])


_FC_PARAMS = [
    Param("num_hidden", Int(lo=1), REQUIRED, "number of hidden units (output features)"),
    Param("no_bias", Bool(), False, "whether to leave out the bias"),
    Param("flatten", Bool(), True, "whether to flatten all non-batch axes of data first"),
]

def _bfc_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    og, data, weight = ins
    cdt = _compute_dtype(data.dtype)
    k = weight.shape[1]
    rows = _fc_rows(p, data.shape)
    g2 = og.reshape(rows, p.num_hidden).astype(cdt, copy=False)
    x2 = data.reshape(rows, k).astype(cdt, copy=False)
    w = weight.astype(cdt, copy=False)
    if outs[0] is not None:
        _write(outs[0], xp.matmul(g2, w).reshape(data.shape))
    if outs[1] is not None:
        _write(outs[1], xp.matmul(g2.T, x2))
    if not p.no_bias and outs[2] is not None:
        _write(outs[2], g2.sum(axis=0))


def _bfc_cost(p: Any, in_shapes: list, out_shapes: list) -> int:
    return 4 * _prod(in_shapes[0]) * int(in_shapes[2][1])


_register_layer(
    "FullyConnected", _FC_PARAMS, _fc_forward, _fc_shape, _fc_cost,
    "Fully connected layer: y = x W^T + b; with flatten=True data is viewed as "
    "(N, prod(other axes)), otherwise the product runs over the last axis.",
    _bfc_forward, _bfc_cost, "num_hidden")


# --------------------------------------------------------------- convolution geometry
def _conv_layout(p: Any, nsp: int) -> bool:
    """Whether the layout is channel-last; validates it against the kernel rank."""
    layout = p.layout or _CF_LAYOUTS[nsp]
    if layout == _CF_LAYOUTS[nsp]:
        return False
    if layout == _CL_LAYOUTS[nsp]:
        return True
    raise MXNetError("layout %s does not fit a %d-D kernel %s (expected %s or %s)"
                     % (layout, nsp, shape_str(p.kernel), _CF_LAYOUTS[nsp], _CL_LAYOUTS[nsp]))


def _spatial(p: Any, extra: tuple = ()) -> tuple:
    """(kernel, stride, dilate, pad[, extra...]) with MXNet's per-dim defaults filled and
    every length checked against ``len(kernel)``."""
    k = tuple(p.kernel)
    nsp = len(k)
    if not 1 <= nsp <= 3:
        raise MXNetError("kernel must have 1, 2 or 3 dimensions, got %s" % shape_str(k))
    if any(v <= 0 for v in k):
        raise MXNetError("kernel dims must be positive, got %s" % shape_str(k))
    res = [k]
    for name, default in (("stride", 1), ("dilate", 1), ("pad", 0)) + tuple(extra):
        v = tuple(getattr(p, name))
        if not v:
            v = (default,) * nsp
        if len(v) != nsp:
            raise MXNetError("%s %s must have %d dimension%s like kernel %s"
                             % (name, shape_str(v), nsp, "" if nsp == 1 else "s",
                                shape_str(k)))
        lo = 1 if default == 1 else 0
        if any(e < lo for e in v):
            raise MXNetError("%s must be %s, got %s" % (name, "positive" if lo else
                                                        "non-negative", shape_str(v)))
        res.append(v)
    return tuple(res)


def _check_data(p: Any, data: tuple, nsp: int, channel_last: bool) -> int:
    """The number of input channels of ``data``; checks its rank and groups."""
    if len(data) != nsp + 2:
        raise MXNetError("data must be %d-D (%s) for a %d-D kernel %s, got %s"
                         % (nsp + 2, (_CL_LAYOUTS if channel_last else _CF_LAYOUTS)[nsp], nsp,
                            shape_str(p.kernel), shape_str(data)))
    c = int(data[-1] if channel_last else data[1])
    if c % p.num_group:
        raise MXNetError("num_group=%d does not divide the %d input channels of data %s"
                         % (p.num_group, c, shape_str(data)))
    return c


def _wshape(lead: int, per_group: int, kernel: tuple, channel_last: bool) -> tuple:
    if channel_last:
        return (lead,) + tuple(kernel) + (per_group,)
    return (lead, per_group) + tuple(kernel)


def _conv_out(x: int, k: int, s: int, d: int, q: int) -> int:
    if x == 0:  # unknown (or empty) input dim stays unknown
        return 0
    ext = d * (k - 1) + 1
    if ext > x + 2 * q:
        raise MXNetError("kernel size %d (dilated %d) exceeds the padded input size %d "
                         "(input %d + 2 * pad %d)" % (k, ext, x + 2 * q, x, q))
    return (x + 2 * q - ext) // s + 1


def _conv_geometry(p: Any, dshape: tuple):
    """(channel_last, kernel, stride, dilate, pad, C, out spatial) of a Convolution."""
    kernel, stride, dilate, pad = _spatial(p)
    nsp = len(kernel)
    cl = _conv_layout(p, nsp)
    c = _check_data(p, dshape, nsp, cl)
    sp = dshape[1:-1] if cl else dshape[2:]
    out = tuple(_conv_out(int(x), k, s, d, q) for x, k, s, d, q in
                zip(sp, kernel, stride, dilate, pad))
    return cl, kernel, stride, dilate, pad, c, out


def _with_channels(n: int, f: int, spatial: tuple, channel_last: bool) -> tuple:
    return (n,) + tuple(spatial) + (f,) if channel_last else (n, f) + tuple(spatial)


def _filter_shape(p: Any, shapes: list, extra: tuple, geometry: Any, weight_dims: Any):
    """Shape rule of Convolution and Deconvolution. ``extra`` are the op's additional
    spatial parameters (see :func:`_spatial`); ``geometry(p, data)`` gives (channel_last,
    kernel, ..., C at index 5, ..., out spatial last); ``weight_dims(p, C)`` the weight's
    two leading (channel-first) dims."""
    shapes = list(shapes)
    if p.num_filter % p.num_group:
        raise MXNetError("num_filter=%d is not divisible by num_group=%d"
                         % (p.num_filter, p.num_group))
    _conv_layout(p, len(_spatial(p, extra)[0]))
    if not p.no_bias:
        shapes[2] = _complete("bias", shapes[2], (p.num_filter,))
    data = shapes[0]
    if data is None:
        return shapes, [None]
    data = tuple(data)
    geo = geometry(p, data)
    cl, kernel, c, out = geo[0], geo[1], geo[5], geo[-1]
    shapes[1] = _complete("weight", shapes[1], _wshape(*weight_dims(p, c), kernel, cl))
    return shapes, [_with_channels(data[0], p.num_filter, out, cl)]


_CUDNN_TUNE = Optional_(Str(("fastest", "limited_workspace", "off")))


def _filter_params(op: str, pad_doc: str, extra: list, workspace: int, no_bias: bool,
                   no_bias_doc: str) -> list:
    """The parameters of Convolution (no ``extra``) and Deconvolution, in MXNet's order."""
    return [
        Param("kernel", Shape(), REQUIRED, "%s kernel size: (w,), (h, w) or (d, h, w)" % op),
        Param("stride", Shape(), (), "stride per spatial dim (default 1)"),
        Param("dilate", Shape(), (), "dilation per spatial dim (default 1)"),
        Param("pad", Shape(), (), pad_doc),
    ] + list(extra) + [
        Param("num_filter", Int(lo=1), REQUIRED, "number of output channels"),
        Param("num_group", Int(lo=1), 1, "number of groups the channels are split into"),
        Param("workspace", Int(lo=0), workspace, "workspace limit in MB (ignored)"),
        Param("no_bias", Bool(), no_bias, no_bias_doc),
        Param("cudnn_tune", _CUDNN_TUNE, None, "cuDNN algorithm choice (ignored)"),
        Param("cudnn_off", Bool(), False, "turn off cuDNN (ignored)"),
        Param("layout", Optional_(Str(("NCDHW", "NCHW", "NCW", "NDHWC", "NHWC"))), None,
              "data layout (default NCW/NCHW/NCDHW by kernel rank)"),
    ]


# ----------------------------------------------------------------------- Convolution
def _conv_shape(p: Any, shapes: list):
    return _filter_shape(p, shapes, (), _conv_geometry,
                         lambda p, c: (p.num_filter, c // p.num_group))


def _conv_cost(p: Any, in_shapes: list, out_shapes: list) -> int:
    w = in_shapes[1]
    return 2 * _prod(out_shapes[0]) * _prod(w[1:])


def _conv_forward_core(xp: Any, data: Any, weight: Any, bias: Any, p: Any) -> tuple:
    """The convolution in (F, N, *out) layout and whether the data is channel-last."""
    cl, kernel, stride, dilate, pad, c, out = _conv_geometry(p, data.shape)
    cdt = _compute_dtype(data.dtype)
    g, f, n = p.num_group, p.num_filter, data.shape[0]
    xpad = _padded_cn(xp, _to_cn(data, cl), pad, cdt)
    cols = _im2col(xp, xpad, kernel, stride, dilate, out)
    m = n * _prod(out)
    ck = c // g * _prod(kernel)
    w = _weight_cf(weight, cl).astype(cdt, copy=False).reshape(g, f // g, ck)
    y = _gemm(xp, w, cols.reshape(g, ck, m)).reshape((f, n) + out)
    if bias is not None:
        y += bias.astype(cdt, copy=False).reshape((f,) + (1,) * (len(out) + 1))
    return y, cl


def _conv_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    y, cl = _conv_forward_core(oc.xp, ins[0], ins[1], None if p.no_bias else ins[2], p)
    outs[0][...] = _from_cn(y, cl)


def _conv_backward_core(xp: Any, og: Any, data: Any, weight: Any, p: Any,
                        need_dx: bool = True) -> tuple:
    """(d data, d weight, d bias) of a Convolution, in the input layouts and the compute
    dtype: dW = dY cols^T and d cols = W^T dY (GEMMs), then col2im for d data."""
    cl, kernel, stride, dilate, pad, c, out = _conv_geometry(p, data.shape)
    cdt = _compute_dtype(data.dtype)
    g, f, n = p.num_group, p.num_filter, data.shape[0]
    m = n * _prod(out)
    ck = c // g * _prod(kernel)
    dy = xp.ascontiguousarray(_to_cn(og, cl), dtype=cdt).reshape(g, f // g, m)
    xpad = _padded_cn(xp, _to_cn(data, cl), pad, cdt)
    cols = _im2col(xp, xpad, kernel, stride, dilate, out).reshape(g, ck, m)
    w = _weight_cf(weight, cl).astype(cdt, copy=False).reshape(g, f // g, ck)
    dw = _gemm(xp, dy, cols.transpose(0, 2, 1))
    del cols
    dx = None
    if need_dx:
        dcols = _gemm(xp, w.transpose(0, 2, 1), dy).reshape((c,) + kernel + (n,) + out)
        dxpad = _col2im(xp, dcols, xpad.shape[2:], kernel, stride, dilate, out)
        dx = _from_cn(_crop(dxpad, pad, data.shape[1:-1] if cl else data.shape[2:]), cl)
    dw = _weight_back(dw.reshape((f, c // g) + kernel), cl)
    db = dy.reshape(f, m).sum(axis=1)
    return dx, dw, db


_CONV_PARAMS = _filter_params(
    "convolution", "zero padding on both sides per spatial dim (default 0)", [],
    1024, False, "whether to leave out the bias")

def _bconv_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    _write_grads(outs, p, *_conv_backward_core(oc.xp, ins[0], ins[1], ins[2], p,
                                               need_dx=outs[0] is not None))


def _bconv_cost(p: Any, in_shapes: list, out_shapes: list) -> int:
    return 4 * _prod(in_shapes[0]) * _prod(in_shapes[2][1:])


_register_layer(
    "Convolution", _CONV_PARAMS, _conv_forward, _conv_shape, _conv_cost,
    "1-D/2-D/3-D convolution (cross-correlation) with stride, dilation, padding and "
    "groups; weight (num_filter, C/num_group, *kernel), bias (num_filter,).",
    _bconv_forward, _bconv_cost, "num_filter")


# --------------------------------------------------------------------- Deconvolution
_DECONV_EXTRA = (("adj", 0), ("target_shape", 0))


def _deconv_geometry(p: Any, dshape: tuple):
    """(channel_last, kernel, stride, dilate, pad, C, in spatial, out spatial) of a
    Deconvolution; ``pad`` is the effective one (derived when target_shape is set)."""
    kernel, stride, dilate, pad, adj, target = _spatial(p, _DECONV_EXTRA)
    nsp = len(kernel)
    cl = _conv_layout(p, nsp)
    c = _check_data(p, dshape, nsp, cl)
    sp = tuple(int(x) for x in (dshape[1:-1] if cl else dshape[2:]))
    use_target = any(target)
    pads, outs = [], []
    for i, (x, k, s, d) in enumerate(zip(sp, kernel, stride, dilate)):
        full = s * (x - 1) + d * (k - 1) + 1
        if use_target and target[i] > 0:
            total = full - target[i]
            if total < 0:
                raise MXNetError("target_shape %s is larger than the largest output %d the "
                                 "input %s, kernel %s and stride %s can give"
                                 % (shape_str(target), full, shape_str(dshape),
                                    shape_str(kernel), shape_str(stride)))
            q, a = (total + 1) // 2, total % 2
        else:
            q, a = pad[i], adj[i]
            if a >= max(s, d):
                raise MXNetError("adj %s must be smaller than stride %s or dilate %s"
                                 % (shape_str(adj), shape_str(stride), shape_str(dilate)))
        o = full - 2 * q + a if x else 0
        if x and o <= 0:
            raise MXNetError("output size %d is not positive (input %d, kernel %d, stride %d, "
                             "pad %d)" % (o, x, k, s, q))
        pads.append(q)
        outs.append(o)
    return cl, kernel, stride, dilate, tuple(pads), c, sp, tuple(outs)


def _deconv_shape(p: Any, shapes: list):
    return _filter_shape(p, shapes, _DECONV_EXTRA, _deconv_geometry,
                         lambda p, c: (c, p.num_filter // p.num_group))


def _deconv_cost(p: Any, in_shapes: list, out_shapes: list) -> int:
    return 2 * _prod(in_shapes[0]) * _prod(in_shapes[1][1:])


def _deconv_forward_core(xp: Any, data: Any, weight: Any, bias: Any, p: Any,
                         num_group: int, num_filter: int) -> tuple:
    """Deconvolution in (F, N, *out) layout: d cols = W^T x (GEMM), then col2im over the
    padded output and a crop (the data gradient of the matching convolution)."""
    cl, kernel, stride, dilate, pad, c, sp, out = _deconv_geometry(p, data.shape)
    cdt = _compute_dtype(data.dtype)
    g, f, n = num_group, num_filter, data.shape[0]
    m = n * _prod(sp)
    fk = f // g * _prod(kernel)
    x = xp.ascontiguousarray(_to_cn(data, cl), dtype=cdt).reshape(g, c // g, m)
    w = _weight_cf(weight, cl).astype(cdt, copy=False).reshape(g, c // g, fk)
    dcols = _gemm(xp, w.transpose(0, 2, 1), x).reshape((f,) + kernel + (n,) + sp)
    padded = tuple(o + 2 * q for o, q in zip(out, pad))
    y = _crop(_col2im(xp, dcols, padded, kernel, stride, dilate, sp), pad, out)
    if bias is not None:
        y = y + bias.astype(cdt, copy=False).reshape((f,) + (1,) * (len(out) + 1))
    return y, cl


def _deconv_backward_core(xp: Any, og: Any, data: Any, weight: Any, p: Any,
                          num_group: int, num_filter: int, need_dx: bool = True) -> tuple:
    """(d data, d weight, d bias) of a Deconvolution: im2col of the padded output
    gradient, then d x = W cols and d W = x cols^T (GEMMs)."""
    cl, kernel, stride, dilate, pad, c, sp, out = _deconv_geometry(p, data.shape)
    cdt = _compute_dtype(data.dtype)
    g, f, n = num_group, num_filter, data.shape[0]
    m = n * _prod(sp)
    fk = f // g * _prod(kernel)
    gpad = _padded_cn(xp, _to_cn(og, cl), pad, cdt)
    cols = _im2col(xp, gpad, kernel, stride, dilate, sp).reshape(g, fk, m)
    x = xp.ascontiguousarray(_to_cn(data, cl), dtype=cdt).reshape(g, c // g, m)
    w = _weight_cf(weight, cl).astype(cdt, copy=False).reshape(g, c // g, fk)
    dx = _from_cn(_gemm(xp, w, cols).reshape((c, n) + sp), cl) if need_dx else None
    dw = _weight_back(_gemm(xp, x, cols.transpose(0, 2, 1)).reshape((c, f // g) + kernel), cl)
    caxis = og.ndim - 1 if cl else 1
    db = og.sum(axis=tuple(i for i in range(og.ndim) if i != caxis), dtype=cdt)
    return dx, dw, db


def _deconv_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    y, cl = _deconv_forward_core(oc.xp, ins[0], ins[1], None if p.no_bias else ins[2], p,
                                 p.num_group, p.num_filter)
    outs[0][...] = _from_cn(y, cl)


_DECONV_PARAMS = _filter_params(
    "deconvolution", "padding removed from both sides of the output (default 0)", [
        Param("adj", Shape(), (), "extra size added at the end of the output (default 0)"),
        Param("target_shape", Shape(), (),
              "output spatial shape; derives pad and adj when set"),
    ], 512, True, "whether to leave out the bias (default True)")

def _bdeconv_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    _write_grads(outs, p, *_deconv_backward_core(oc.xp, ins[0], ins[1], ins[2], p,
                                                 p.num_group, p.num_filter,
                                                 need_dx=outs[0] is not None))


_register_layer(
    "Deconvolution", _DECONV_PARAMS, _deconv_forward, _deconv_shape, _deconv_cost,
    "Transposed convolution (the gradient of Convolution with respect to its data); "
    "weight (C, num_filter/num_group, *kernel); no_bias defaults to True.",
    _bdeconv_forward, lambda p, i, o: 2 * _deconv_cost(p, i[1:], o), "num_filter")
