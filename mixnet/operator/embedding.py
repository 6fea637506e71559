"""``Embedding``: look up rows of a weight matrix by index, with a fused
``_backward_Embedding`` that scatter-adds the head gradient into the weight rows.

MXNet 1.9 conventions kept: ``data`` holds indices as any numeric dtype (usually float32);
they are truncated toward zero and clipped to ``[0, input_dim - 1]`` (NaN maps to 0), so
out-of-range indices never fail. ``weight`` has shape ``(input_dim, output_dim)``; ``dtype``
(default float32) types an unknown weight, a known weight keeps its own dtype, and the
output is ``data.shape + (output_dim,)`` in the weight dtype (accepting a weight of
another dtype keeps a Gluon block cast to float64, whose attributes still say float32,
working).
Shape inference completes an unknown weight shape from the parameters. ``data`` gets no
gradient. ``sparse_grad=True`` asks MXNet for a row_sparse weight gradient; here the
gradient is always dense (the same values, zero rows included), which every consumer of a
row_sparse gradient also accepts.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..base import MXNetError, dtype_name
from .params import Bool, DType, Int, Param
from .registry import OpDef, register, shape_str

_PARAMS = [
    Param("input_dim", Int(lo=1), doc="vocabulary size: rows of weight (required)"),
    Param("output_dim", Int(lo=1), doc="embedding size: columns of weight (required)"),
    Param("dtype", DType(choices=("float16", "float32", "float64", "uint8", "int8", "int32",
                                  "int64")), np.dtype(np.float32),
          "dtype of weight and output"),
    Param("sparse_grad", Bool(), False, "row_sparse gradient in MXNet; dense here"),
]


def _shape(p: Any, shapes: list):
    shapes = list(shapes)
    d, w = shapes
    want = (p.input_dim, p.output_dim)
    if w is None:
        shapes[1] = want
    elif tuple(w) != want:
        raise MXNetError("weight has shape %s, expected (input_dim, output_dim) = %s"
                         % (shape_str(w), shape_str(want)))
    if d is None:
        return shapes, [None]
    return shapes, [tuple(d) + (p.output_dim,)]


def _type(p: Any, dtypes: list):
    d, w = dtypes
    if d is not None and np.dtype(d).kind not in "fiu":
        raise MXNetError("data (indices) must be numeric, got %s" % dtype_name(d))
    if w is not None and np.dtype(w).kind not in "fiu":
        raise MXNetError("weight must be numeric, got %s" % dtype_name(w))
    # ``dtype`` types an unknown weight; a known weight keeps its own dtype (a Gluon block
    # cast to float64 keeps dtype='float32' in its attributes)
    wt = p.dtype if w is None else w
    return [d if d is not None else wt, wt], [wt]


def _indices(xp: Any, data: Any, input_dim: int) -> Any:
    """Truncated, clipped int64 row indices (NaN -> 0)."""
    if data.dtype.kind == "f":
        if data.dtype.itemsize < 4:  # float16 cannot hold large bounds
            data = data.astype(xp.float32)
        idx = xp.clip(data, 0, input_dim - 1).astype(xp.int64)
        # NaN survives the float clip and casts to an arbitrary integer: clip again
        return xp.clip(idx, 0, input_dim - 1)
    return xp.clip(data.astype(xp.int64), 0, input_dim - 1)


def _forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    data, weight = ins
    idx = _indices(xp, data, p.input_dim)
    outs[0][...] = weight[idx]


def _backward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    g, data = ins
    dw = outs[0]
    idx = _indices(xp, data, p.input_dim).reshape(-1)
    dw.fill(0)
    # unbuffered scatter-add: repeated indices accumulate
    xp.add.at(dw, idx, g.reshape(-1, p.output_dim))


def _grad(F: Any, p: Any, ins: list, outs: list, ograds: list) -> list:
    return [None, F.call("_backward_Embedding", [ograds[0], ins[0]], p)]


def _back_shape(p: Any, shapes: list):
    return shapes, [(p.input_dim, p.output_dim)]


def _back_type(p: Any, dtypes: list):
    return dtypes, [dtypes[0]]


def _cost(p: Any, in_shapes: list, out_shapes: list) -> int:
    n = 1
    for s in out_shapes[0]:
        n *= s
    return 2 * n


register(OpDef(
    "Embedding", inputs=("data", "weight"), params=_PARAMS, forward=_forward,
    infer_shape=_shape, infer_type=_type, gradient=_grad, keep_inputs=(0,),
    keep_outputs=False, cost=_cost,
    doc="Maps integer indices to rows of weight: out = weight[clip(int(data))], of shape "
        "data.shape + (output_dim,). The weight gradient is always dense."))
register(OpDef(
    "_backward_Embedding", inputs=("ograd", "data"), params=_PARAMS, forward=_backward,
    infer_shape=_back_shape, infer_type=_back_type,
    doc="Embedding weight gradient: the head gradient rows scatter-added by index."))
