"""BilinearSampler, GridGenerator and SpatialTransformer: forwards against per-pixel NumPy
loops, numeric gradients for data and grid/loc, bad inputs."""
from __future__ import annotations

import numpy as np
import pytest

from mixnet.operator import registry
from mixnet.test_utils import check_op


def _bilinear_ref(data, grid, **_):
    """Per output pixel: bilinear interpolation at ((x+1)(W-1)/2, (y+1)(H-1)/2) with
    neighbours outside the image read as zero."""
    n, c, h, w = data.shape
    ho, wo = grid.shape[2:]
    out = np.zeros((n, c, ho, wo), dtype=np.float64)

    def at(b, yy, xx):
        if 0 <= yy < h and 0 <= xx < w:
            return data[b, :, yy, xx].astype(np.float64)
        return np.zeros(c)

    for b in range(n):
        for i in range(ho):
            for j in range(wo):
                x = (grid[b, 0, i, j] + 1) * (w - 1) / 2
                y = (grid[b, 1, i, j] + 1) * (h - 1) / 2
                x0, y0 = int(np.floor(x)), int(np.floor(y))
                dx, dy = x - x0, y - y0
                out[b, :, i, j] = (at(b, y0, x0) * (1 - dx) * (1 - dy) +
                                   at(b, y0, x0 + 1) * dx * (1 - dy) +
                                   at(b, y0 + 1, x0) * (1 - dx) * dy +
                                   at(b, y0 + 1, x0 + 1) * dx * dy)
    return out.astype(data.dtype)


def _affine_ref(theta, target_shape):
    h, w = target_shape
    n = theta.shape[0]
    out = np.zeros((n, 2, h, w))
    for b in range(n):
        t = theta[b].astype(np.float64).reshape(2, 3)
        for i in range(h):
            for j in range(w):
                src = t @ np.array([-1 + 2 * j / (w - 1), -1 + 2 * i / (h - 1), 1.0])
                out[b, :, i, j] = src
    return out.astype(theta.dtype)


def _warp_ref(flow):
    n, _, h, w = flow.shape
    out = np.zeros(flow.shape)
    for i in range(h):
        for j in range(w):
            out[:, 0, i, j] = (flow[:, 0, i, j] + j) / ((w - 1) / 2) - 1
            out[:, 1, i, j] = (flow[:, 1, i, j] + i) / ((h - 1) / 2) - 1
    return out.astype(flow.dtype)


def _grid_away_from_pixels(rng, n, h, w, ho, wo, lo=-1.3, hi=1.3):
    """Normalised coordinates, some outside [-1, 1], whose pixel positions keep a
    fractional part in [0.15, 0.85] so finite differences stay off the kinks."""
    px = rng.uniform(lo, hi, size=(n, ho, wo))
    py = rng.uniform(lo, hi, size=(n, ho, wo))
    x = (px + 1) * (w - 1) / 2
    y = (py + 1) * (h - 1) / 2
    x = np.floor(x) + 0.15 + 0.7 * rng.uniform(size=x.shape)
    y = np.floor(y) + 0.15 + 0.7 * rng.uniform(size=y.shape)
    return np.stack([x / ((w - 1) / 2) - 1, y / ((h - 1) / 2) - 1], axis=1)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
def test_bilinear_sampler(dtype):
    rng = np.random.default_rng(0)
    data = rng.standard_normal((2, 3, 4, 5)).astype(dtype)
    grid = _grid_away_from_pixels(rng, 2, 4, 5, 3, 4).astype(dtype)
    tol = {np.float16: (2e-2, 2e-2)}.get(dtype, (None, None))
    bad = [([data], {}), ([data, grid[:1]], {}), ([data, grid[:, :1]], {}),
           ([data[0], grid], {}), ([data, grid.astype(np.float16 if dtype != np.float16
                                                     else np.float32)], {})]
    check_op("BilinearSampler", [data, grid], {}, reference=_bilinear_ref,
             rtol=tol[0], atol=tol[1], grad=dtype == np.float64, bad_inputs=bad)
    check_op("BilinearSampler", [data, grid], {"cudnn_off": True}, reference=_bilinear_ref,
             rtol=tol[0], atol=tol[1], grad=False)


def test_bilinear_sampler_out_of_range_is_zero():
    data = np.ones((1, 1, 3, 3))
    grid = np.array([[[[-3.0, 0.0, 1.5, 2.5]], [[0.0, 0.0, 0.0, 0.0]]]])
    out = check_op("BilinearSampler", [data, grid], {}, reference=_bilinear_ref)[0]
    # far left: 0; centre: 1; x_pix = 2.5 reads column 2 (inside) and 3 (outside, zero)
    # with weight 1/2 each; x_pix = 3.5 reads columns 3 and 4, both outside
    np.testing.assert_allclose(out.ravel(), [0.0, 1.0, 0.5, 0.0])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_grid_generator_affine(dtype):
    rng = np.random.default_rng(1)
    theta = (np.array([1, 0, 0, 0, 1, 0]) + 0.3 * rng.standard_normal((3, 6))).astype(dtype)
    params = {"transform_type": "affine", "target_shape": (3, 4)}
    check_op("GridGenerator", [theta], params,
             reference=lambda t, **_: _affine_ref(t, (3, 4)), grad=dtype == np.float64,
             bad_inputs=[([theta], {"transform_type": "affine"}),
                         ([theta[:, :4]], params),
                         ([theta], {"transform_type": "shear", "target_shape": (3, 4)})])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_grid_generator_warp(dtype):
    rng = np.random.default_rng(2)
    flow = rng.standard_normal((2, 2, 3, 4)).astype(dtype)
    check_op("GridGenerator", [flow], {"transform_type": "warp"},
             reference=lambda f, **_: _warp_ref(f), grad=dtype == np.float64,
             bad_inputs=[([flow[:, :1]], {"transform_type": "warp"}),
                         ([flow[0]], {"transform_type": "warp"})])


def _st_ref(data, loc, target_shape, **_):
    grid = _affine_ref(loc.astype(np.float64), target_shape)
    return _bilinear_ref(data.astype(np.float64), grid).astype(data.dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_spatial_transformer(dtype):
    rng = np.random.default_rng(3)
    data = rng.standard_normal((2, 2, 5, 5)).astype(dtype)
    # a mild zoom-and-shift whose sample points stay off integer pixel positions
    loc = np.array([[0.83, 0.05, 0.11, -0.04, 0.77, 0.07],
                    [1.17, -0.1, -0.13, 0.08, 0.91, 0.21]], dtype=dtype)
    params = {"target_shape": (3, 4), "transform_type": "affine",
              "sampler_type": "bilinear"}
    check_op("SpatialTransformer", [data, loc], params, reference=_st_ref,
             grad=dtype == np.float64,
             bad_inputs=[([data, loc[:, :4]], params),
                         ([data, loc[:1]], params),
                         ([data, loc], dict(params, target_shape=(0, 0))),
                         ([data, loc], dict(params, sampler_type="nearest")),
                         ([data, loc], {"target_shape": (3, 4)})])


def test_shape_inference():
    op = registry.get("SpatialTransformer")
    p = op.parse_params({"target_shape": (6, 7), "transform_type": "affine",
                         "sampler_type": "bilinear"})
    assert op.infer_shape(p, [(2, 3, 8, 8), None]) == ([(2, 3, 8, 8), (2, 6)], [(2, 3, 6, 7)])
    op = registry.get("BilinearSampler")
    assert op.infer_shape(op.parse_params({}), [(2, 3, 8, 8), (2, 2, 4, 5)])[1] == \
        [(2, 3, 4, 5)]
