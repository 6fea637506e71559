"""Spatial sampling: ``BilinearSampler``, ``GridGenerator`` and ``SpatialTransformer``.

MXNet 1.9 conventions kept here:

* Layout NCHW. A sampling grid has shape ``(N, 2, H_out, W_out)``: channel 0 holds the
  source x (width) coordinate and channel 1 the source y (height) coordinate, both
  normalised to ``[-1, 1]``, mapped to pixels as ``x_pix = (x + 1) * (W - 1) / 2``.
* Bilinear sampling reads the four neighbouring pixels; a neighbour outside the image
  contributes zero (no clamping), so samples partly outside fade out. Gradients: ``data``
  receives the interpolation weights times the head gradient (scatter-add), ``grid`` the
  derivative of the interpolated value w.r.t. the coordinates, scaled by ``(W-1)/2`` and
  ``(H-1)/2``.
* ``GridGenerator`` ``affine``: ``data`` (N, 6) is a row-major 2x3 matrix applied to the
  target pixel coordinates ``x_t = -1 + 2j/(W-1)``, ``y_t = -1 + 2i/(H-1)`` (and 1), giving
  a grid of ``target_shape``; ``warp``: ``data`` (N, 2, H, W) is a flow in pixels added to
  each pixel's own coordinates and normalised, giving a grid of the same shape.
* ``SpatialTransformer`` (affine, bilinear) is ``BilinearSampler(data,
  GridGenerator(loc, 'affine', target_shape))``.
* ``cudnn_off`` is accepted and has no effect.

All kernels are vectorised over batch, channels and output pixels: gathers use fancy
indexing into the flattened image, the data gradient is one ``bincount`` scatter-add.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..base import MXNetError
from .params import Bool, Optional_, Param, Shape, Str
from .registry import OpDef, register, shape_str


def _work(x: Any) -> Any:
    """float16 is computed in float32."""
    return x.astype(np.float32) if x.dtype == np.float16 else x


# ------------------------------------------------------------------ the bilinear kernel
def _corners(xp: Any, grid: Any, h: int, w: int) -> tuple:
    """Per output pixel (flattened to P): the four neighbour flat indices (clipped into the
    image), their in-image masks, the fractional offsets dx, dy and the pixel coordinates'
    scale factors."""
    n = grid.shape[0]
    gx = grid[:, 0].reshape(n, -1)
    gy = grid[:, 1].reshape(n, -1)
    x = (gx + 1.0) * ((w - 1) / 2.0)
    y = (gy + 1.0) * ((h - 1) / 2.0)
    x0 = xp.floor(x)
    y0 = xp.floor(y)
    dx = x - x0
    dy = y - y0
    x0 = x0.astype(np.int64)
    y0 = y0.astype(np.int64)
    idx, ok = [], []
    for oy, ox in ((0, 0), (0, 1), (1, 0), (1, 1)):  # four taps: tl, tr, bl, br
        yy, xx = y0 + oy, x0 + ox
        inside = (xx >= 0) & (xx <= w - 1) & (yy >= 0) & (yy <= h - 1)
        idx.append(xp.clip(yy, 0, h - 1) * w + xp.clip(xx, 0, w - 1))
        ok.append(inside)
    return idx, ok, dx, dy


def _gather(xp: Any, flat: Any, idx: Any, ok: Any) -> Any:
    """``flat`` (N, C, H*W) at ``idx`` (N, P) -> (N, C, P), zero where not ``ok``."""
    n = flat.shape[0]
    v = flat[xp.arange(n)[:, None, None], xp.arange(flat.shape[1])[None, :, None],
             idx[:, None, :]]
    return v * ok[:, None, :]


def _sample(xp: Any, data: Any, grid: Any) -> tuple:
    n, c, h, w = data.shape
    flat = data.reshape(n, c, h * w)
    idx, ok, dx, dy = _corners(xp, grid, h, w)
    vals = [_gather(xp, flat, i, m) for i, m in zip(idx, ok)]
    return vals, idx, ok, dx, dy


def _bilinear_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    data, grid = _work(ins[0]), _work(ins[1])
    out = outs[0]
    if out.size == 0:
        return
    (tl, tr, bl, br), _, _, dx, dy = _sample(xp, data, grid)
    dx, dy = dx[:, None, :], dy[:, None, :]
    res = (tl * (1 - dx) + tr * dx) * (1 - dy) + (bl * (1 - dx) + br * dx) * dy
    out[...] = res.reshape(out.shape)


def _bilinear_backward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    ograd, data, grid = _work(ins[0]), _work(ins[1]), _work(ins[2])
    gdata, ggrid = outs
    n, c, h, w = data.shape
    if ograd.size == 0:
        gdata[...] = 0
        ggrid[...] = 0
        return
    (tl, tr, bl, br), idx, ok, dx, dy = _sample(xp, data, grid)
    g = ograd.reshape(n, c, -1)
    dx3, dy3 = dx[:, None, :], dy[:, None, :]
    # d out / d x_pix and d out / d y_pix, summed over channels
    gx = xp.sum(g * ((tr - tl) * (1 - dy3) + (br - bl) * dy3), axis=1)
    gy = xp.sum(g * ((bl - tl) * (1 - dx3) + (br - tr) * dx3), axis=1)
    ggrid[:, 0] = (gx * ((w - 1) / 2.0)).reshape(ggrid.shape[0], *ggrid.shape[2:])
    ggrid[:, 1] = (gy * ((h - 1) / 2.0)).reshape(ggrid.shape[0], *ggrid.shape[2:])
    # data: scatter-add of weight * head gradient to every in-image neighbour
    weights = ((1 - dx) * (1 - dy), dx * (1 - dy), (1 - dx) * dy, dx * dy)
    base = (xp.arange(n * c).reshape(n, c, 1)) * (h * w)
    flat_idx = xp.concatenate([(base + i[:, None, :]).reshape(-1) for i in idx])
    flat_w = xp.concatenate([(g * (wt * m)[:, None, :]).reshape(-1)
                             for wt, m in zip(weights, ok)])
    acc = xp.bincount(flat_idx, weights=flat_w, minlength=n * c * h * w)
    gdata[...] = acc.reshape(gdata.shape)


def _sampler_shape(p: Any, shapes: list):
    d, g = shapes
    if d is not None and len(d) != 4:
        raise MXNetError("data must be 4-D (N, C, H, W), got %s" % shape_str(d))
    if g is not None and (len(g) != 4 or g[1] != 2):
        raise MXNetError("grid must be 4-D (N, 2, H_out, W_out), got %s" % shape_str(g))
    if d is None or g is None:
        return shapes, [None]
    if d[0] != g[0]:
        raise MXNetError("data %s and grid %s have different batch sizes"
                         % (shape_str(d), shape_str(g)))
    return shapes, [(d[0], d[1], g[2], g[3])]


def _bilinear_grad(F: Any, p: Any, ins: list, outs: list, ograds: list) -> list:
    return list(F.call("_backward_BilinearSampler", [ograds[0], ins[0], ins[1]], p))


def _bilinear_cost(p: Any, in_shapes: list, out_shapes: list) -> int:
    n, c = in_shapes[0][:2]
    return 12 * int(n) * int(c) * int(in_shapes[1][2]) * int(in_shapes[1][3])


_CUDNN_OFF = Param("cudnn_off", Optional_(Bool()), None, "accepted for compatibility")

register(OpDef(
    "BilinearSampler", inputs=("data", "grid"), params=[_CUDNN_OFF],
    forward=_bilinear_forward, infer_shape=_sampler_shape, gradient=_bilinear_grad,
    keep_inputs=True, keep_outputs=False, cost=_bilinear_cost,
    doc="Bilinear sampling of data (N, C, H, W) at grid (N, 2, H_out, W_out) holding "
        "normalised (x, y) source coordinates in [-1, 1]; neighbours outside the image "
        "count as zero."))
register(OpDef(
    "_backward_BilinearSampler", inputs=("ograd", "data", "grid"), params=[_CUDNN_OFF],
    forward=_bilinear_backward, num_outputs=2,
    infer_shape=lambda p, s: (s, [s[1], s[2]]),
    infer_type=lambda p, dt: (dt, [dt[1], dt[2]]), cost=_bilinear_cost,
    doc="Gradients of BilinearSampler w.r.t. data and grid."))


# ------------------------------------------------------------------ GridGenerator
def _target_base(xp: Any, h: int, w: int, dtype: Any) -> Any:
    """(3, H*W): normalised target x, y and ones, row-major over (H, W)."""
    xs = xp.arange(w, dtype=np.float64) * (2.0 / (w - 1) if w > 1 else 0.0) - 1.0
    ys = xp.arange(h, dtype=np.float64) * (2.0 / (h - 1) if h > 1 else 0.0) - 1.0
    base = xp.stack([xp.tile(xs, h), xp.repeat(ys, w), xp.ones(h * w)])
    return base.astype(dtype)


def _grid_shape(p: Any, shapes: list):
    (d,) = shapes
    if p.transform_type == "affine":
        th, tw = _target(p)
        if d is not None and (len(d) != 2 or d[1] != 6):
            raise MXNetError("affine data must have shape (N, 6), got %s" % shape_str(d))
        return shapes, [None if d is None else (d[0], 2, th, tw)]
    if d is not None and (len(d) != 4 or d[1] != 2):
        raise MXNetError("warp data must have shape (N, 2, H, W), got %s" % shape_str(d))
    return shapes, [d]


def _target(p: Any) -> tuple:
    ts = tuple(p.target_shape)
    if len(ts) != 2 or ts[0] <= 0 or ts[1] <= 0:
        raise MXNetError("target_shape must be two positive sizes (H, W), got %s"
                         % (ts,))
    return ts


def _grid_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    x = _work(ins[0])
    out = outs[0]
    n = out.shape[0]
    h, w = out.shape[2], out.shape[3]
    if p.transform_type == "affine":
        base = _target_base(xp, h, w, x.dtype)
        res = xp.matmul(x.reshape(n, 2, 3), base)  # (N, 2, H*W)
        out[...] = res.reshape(out.shape)
        return
    xs = xp.arange(w, dtype=x.dtype).reshape(1, w)
    ys = xp.arange(h, dtype=x.dtype).reshape(h, 1)
    out[:, 0] = (x[:, 0] + xs) / ((w - 1) / 2.0) - 1.0
    out[:, 1] = (x[:, 1] + ys) / ((h - 1) / 2.0) - 1.0


def _grid_backward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    g = _work(ins[0])
    out = outs[0]
    n, _, h, w = g.shape
    if p.transform_type == "affine":
        base = _target_base(xp, h, w, g.dtype)
        res = xp.matmul(g.reshape(n, 2, h * w), base.T)  # (N, 2, 3)
        out[...] = res.reshape(out.shape)
        return
    out[:, 0] = g[:, 0] / ((w - 1) / 2.0)
    out[:, 1] = g[:, 1] / ((h - 1) / 2.0)


def _grid_backward_shape(p: Any, shapes: list):
    (g,) = shapes
    if g is None:
        return shapes, [None]
    if p.transform_type == "affine":
        return shapes, [(g[0], 6)]
    return shapes, [g]


def _grid_grad(F: Any, p: Any, ins: list, outs: list, ograds: list) -> list:
    return [F.call("_backward_GridGenerator", [ograds[0]], p)]


_GRID_PARAMS = [
    Param("transform_type", Str(("affine", "warp")), doc="affine matrix or pixel flow"),
    Param("target_shape", Shape(), (0, 0), "output (H, W) of the affine grid"),
]

register(OpDef(
    "GridGenerator", params=list(_GRID_PARAMS), forward=_grid_forward,
    infer_shape=_grid_shape, gradient=_grid_grad, keep_inputs=False, keep_outputs=False,
    doc="Sampling grid for BilinearSampler from an affine matrix (N, 6) and target_shape, "
        "or from a pixel flow (N, 2, H, W)."))
register(OpDef(
    "_backward_GridGenerator", inputs=("ograd",), params=list(_GRID_PARAMS),
    forward=_grid_backward, infer_shape=_grid_backward_shape,
    doc="GridGenerator's gradient w.r.t. its affine matrix or flow."))


# ------------------------------------------------------------------ SpatialTransformer
_ST_PARAMS = [
    Param("target_shape", Shape(), (0, 0), "output (H, W)"),
    Param("transform_type", Str(("affine",)), doc="the transformation (affine only)"),
    Param("sampler_type", Str(("bilinear",)), doc="the sampler (bilinear only)"),
    _CUDNN_OFF,
]


def _st_grid_params(p: Any) -> dict:
    return {"transform_type": "affine", "target_shape": tuple(p.target_shape)}


def _st_shape(p: Any, shapes: list):
    d, loc = shapes
    th, tw = _target(p)
    if d is not None and len(d) != 4:
        raise MXNetError("data must be 4-D (N, C, H, W), got %s" % shape_str(d))
    if loc is not None and (len(loc) != 2 or loc[1] != 6):
        raise MXNetError("loc must have shape (N, 6), got %s" % shape_str(loc))
    if d is None:
        return shapes, [None]
    if loc is None:
        loc = (d[0], 6)
    elif loc[0] != d[0]:
        raise MXNetError("data %s and loc %s have different batch sizes"
                         % (shape_str(d), shape_str(loc)))
    return [d, loc], [(d[0], d[1], th, tw)]


def _st_grid(xp: Any, loc: Any, th: int, tw: int) -> Any:
    n = loc.shape[0]
    base = _target_base(xp, th, tw, loc.dtype)
    return xp.matmul(loc.reshape(n, 2, 3), base).reshape(n, 2, th, tw)


def _st_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    data, loc = _work(ins[0]), _work(ins[1])
    th, tw = p.target_shape
    _bilinear_forward(oc, [data, _st_grid(xp, loc, th, tw)], outs, p)


def _st_grad(F: Any, p: Any, ins: list, outs: list, ograds: list) -> list:
    grid = F.call("GridGenerator", [ins[1]], **_st_grid_params(p))
    gdata, ggrid = F.call("_backward_BilinearSampler", [ograds[0], ins[0], grid])
    gloc = F.call("_backward_GridGenerator", [ggrid], **_st_grid_params(p))
    return [gdata, gloc]


def _st_cost(p: Any, in_shapes: list, out_shapes: list) -> int:
    n, c, h, w = out_shapes[0]
    return 14 * int(n) * int(c) * int(h) * int(w)


register(OpDef(
    "SpatialTransformer", inputs=("data", "loc"), params=list(_ST_PARAMS),
    forward=_st_forward, infer_shape=_st_shape, gradient=_st_grad, keep_inputs=True,
    keep_outputs=False, cost=_st_cost,
    doc="Spatial transformer: bilinear sampling of data at the affine grid given by loc "
        "(N, 6) over target_shape."))
