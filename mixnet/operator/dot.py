"""Matrix products: ``dot`` and ``batch_dot``.

``dot`` follows MXNet 1.x: two 1-D arrays give their inner product as shape ``(1,)``;
otherwise ``lhs`` is viewed as a 2-D matrix (all axes but the last against the last, or with
``transpose_a`` the first axis against the rest, then transposed) and likewise ``rhs`` (the
first axis against the rest, or with ``transpose_b`` all but the last against the last,
transposed). The output shape is the kept axes of ``lhs`` followed by the kept axes of
``rhs``; a 1-D operand contributes no axes. ``batch_dot`` multiplies the matrices held in the
last two axes of equal-rank (>= 3) arrays whose leading (batch) axes are equal, with the
transpose flags swapping those last two axes.

All work runs as one BLAS call (``matmul`` into the output buffer) on the 2-D or batched
views; float16 on the CPU is computed in float32 because NumPy has no float16 BLAS.

Gradients: one fused ``_backward_dot`` / ``_backward_batch_dot(ograd, lhs, rhs)`` op with the
forward's parameters returns both input gradients (two BLAS calls on the same 2-D or batched
views, so N-D operands, 1-D operands and every transpose combination are handled without the
rule knowing shapes). The backward ops are differentiable themselves (the product is
bilinear), so ``autograd.grad(create_graph=True)`` gives second-order gradients.
"""
from __future__ import annotations

from math import prod as _size
from typing import Any

import numpy as np

from ..base import MXNetError
from .params import Bool, Optional_, Param, Str
from .registry import OpDef, get, register, shape_str




def _dot_split(lshape: tuple, rshape: tuple, ta: bool, tb: bool):
    """``(lhs_kept, k_lhs, k_rhs, rhs_kept)``: the output axes each side keeps and the
    contracted sizes seen from each side (1-D operands keep nothing)."""
    if len(lshape) == 1:
        lkeep, kl = (), lshape[0]
    elif ta:
        lkeep, kl = lshape[1:], lshape[0]
    else:
        lkeep, kl = lshape[:-1], lshape[-1]
    if len(rshape) == 1:
        rkeep, kr = (), rshape[0]
    elif tb:
        rkeep, kr = rshape[:-1], rshape[-1]
    else:
        rkeep, kr = rshape[1:], rshape[0]
    return tuple(lkeep), kl, kr, tuple(rkeep)


def _flags(p: Any) -> str:
    return "transpose_a=%s, transpose_b=%s" % (p.transpose_a, p.transpose_b)


def _dot_shape(p: Any, shapes: list):
    ls, rs = shapes
    if ls is None or rs is None:
        return shapes, [None]
    if len(ls) == 0 or len(rs) == 0:
        raise MXNetError("dot does not take 0-d inputs: %s X %s" % (shape_str(ls), shape_str(rs)))
    if len(ls) == 1 and len(rs) == 1:
        if p.transpose_a or p.transpose_b:
            raise MXNetError("dot cannot transpose vectors: %s X %s"
                             % (shape_str(ls), shape_str(rs)))
        if ls[0] != rs[0]:
            raise MXNetError("dot shape error: %s X %s (inner sizes %d != %d)"
                             % (shape_str(ls), shape_str(rs), ls[0], rs[0]))
        return [ls, rs], [(1,)]
    lkeep, kl, kr, rkeep = _dot_split(ls, rs, p.transpose_a, p.transpose_b)
    if kl != kr:
        raise MXNetError("dot shape error: %s X %s with %s: contracted sizes %d != %d"
                         % (shape_str(ls), shape_str(rs), _flags(p), kl, kr))
    return [ls, rs], [lkeep + rkeep]


def _matmul_into(xp: Any, a: Any, b: Any, out: Any, oshape: tuple) -> None:
    """``out`` (viewed as ``oshape``) = ``a @ b``, written in place when ``out`` is
    C-contiguous; float16 on NumPy goes through float32 (no half-precision BLAS there)."""
    if out.dtype == np.float16 and xp is np:
        out[...] = xp.matmul(a.astype(np.float32), b.astype(np.float32)).reshape(out.shape)
    elif out.flags.c_contiguous:
        xp.matmul(a, b, out=out.reshape(oshape))
    else:
        out[...] = xp.matmul(a, b).reshape(out.shape)


def _dot_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    lhs, rhs = ins
    out = outs[0]
    lkeep, k, _, rkeep = _dot_split(lhs.shape, rhs.shape, p.transpose_a, p.transpose_b)
    m, n = _size(lkeep), _size(rkeep)
    # 2-D views: transposes are free strided views that BLAS consumes directly
    if lhs.ndim > 1 and p.transpose_a:
        a = lhs.reshape(k, m).T
    else:
        a = lhs.reshape(m, k)
    if rhs.ndim > 1 and p.transpose_b:
        b = rhs.reshape(n, k).T
    else:
        b = rhs.reshape(k, n)
    _matmul_into(xp, a, b, out, (m, n))


def _dot_cost(p: Any, in_shapes: list, out_shapes: list) -> int:
    ls, rs = in_shapes
    if len(ls) == 1 and len(rs) == 1:
        return int(ls[0])
    lkeep, k, _, rkeep = _dot_split(tuple(ls), tuple(rs), p.transpose_a, p.transpose_b)
    return _size(lkeep) * _size(rkeep) * int(k)


_DOT_PARAMS = [
    Param("transpose_a", Bool(), False, "transpose the 2-D view of lhs first"),
    Param("transpose_b", Bool(), False, "transpose the 2-D view of rhs first"),
    Param("forward_stype", Optional_(Str(("default", "csr", "row_sparse"))), None,
          "desired output storage type (dense arrays always give a dense result)"),
]

register(OpDef(
    "dot", inputs=("lhs", "rhs"), params=list(_DOT_PARAMS), forward=_dot_forward,
    infer_shape=_dot_shape, cost=_dot_cost,
    doc="Dot product: 1-D x 1-D gives shape (1,); N-D contracts the last axis of lhs with "
        "the first axis of rhs (after the transpose flags, which act on the 2-D views)."))


# --------------------------------------------------------------------------- batch_dot
def _batch_dims(p: Any, ls: tuple, rs: tuple):
    m = ls[-1] if p.transpose_a else ls[-2]
    kl = ls[-2] if p.transpose_a else ls[-1]
    n = rs[-2] if p.transpose_b else rs[-1]
    kr = rs[-1] if p.transpose_b else rs[-2]
    return m, kl, kr, n


def _batch_dot_shape(p: Any, shapes: list):
    ls, rs = shapes
    if ls is None or rs is None:
        return shapes, [None]
    if len(ls) < 3 or len(ls) != len(rs):
        raise MXNetError("batch_dot needs two arrays of the same rank >= 3, got %s X %s"
                         % (shape_str(ls), shape_str(rs)))
    if tuple(ls[:-2]) != tuple(rs[:-2]):
        raise MXNetError("batch_dot shape error: batch dimensions must be equal: %s X %s"
                         % (shape_str(ls), shape_str(rs)))
    m, kl, kr, n = _batch_dims(p, ls, rs)
    if kl != kr:
        raise MXNetError("batch_dot shape error: %s X %s with %s: contracted sizes %d != %d"
                         % (shape_str(ls), shape_str(rs), _flags(p), kl, kr))
    return [ls, rs], [tuple(ls[:-2]) + (m, n)]


def _batch_dot_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    lhs, rhs = ins
    a = lhs.swapaxes(-1, -2) if p.transpose_a else lhs
    b = rhs.swapaxes(-1, -2) if p.transpose_b else rhs
    _matmul_into(oc.xp, a, b, outs[0], outs[0].shape)


def _batch_dot_cost(p: Any, in_shapes: list, out_shapes: list) -> int:
    ls, rs = in_shapes
    m, k, _, n = _batch_dims(p, tuple(ls), tuple(rs))
    return _size(ls[:-2]) * int(m) * int(n) * int(k)


register(OpDef(
    "batch_dot", inputs=("lhs", "rhs"), params=list(_DOT_PARAMS), forward=_batch_dot_forward,
    infer_shape=_batch_dot_shape, cost=_batch_dot_cost,
    doc="Batched matrix product of the last two axes: (B..., M, K) x (B..., K, N) -> "
        "(B..., M, N); transpose flags swap the last two axes of an operand."))


# --------------------------------------------------------------------------- gradients
def _bwd_shape(p: Any, shapes: list):
    return shapes, [shapes[1], shapes[2]]


def _bwd_type(p: Any, dtypes: list):
    return dtypes, [dtypes[1] or dtypes[0], dtypes[2] or dtypes[0]]


def _product(xp: Any, a: Any, b: Any, out: Any, shape: tuple) -> None:
    """``out`` (viewed as ``shape``) = ``a @ b`` where ``a``/``b`` may be transposed views."""
    _matmul_into(xp, a, b, out, shape)


def _dot_backward(oc: Any, ins: list, outs: list, p: Any) -> None:
    # on the 2-D views C = A B (A: m x k, B: k x n): dA = G B^T, dB = A^T G; a transposed
    # operand's gradient is the transpose of that, computed directly in its own layout
    xp = oc.xp
    g, lhs, rhs = ins
    lkeep, k, _, rkeep = _dot_split(lhs.shape, rhs.shape, p.transpose_a, p.transpose_b)
    m, n = _size(lkeep), _size(rkeep)
    ta = p.transpose_a and lhs.ndim > 1
    tb = p.transpose_b and rhs.ndim > 1
    G = g.reshape(m, n)
    A = lhs.reshape(k, m).T if ta else lhs.reshape(m, k)
    B = rhs.reshape(n, k).T if tb else rhs.reshape(k, n)
    if ta:
        _product(xp, B, G.T, outs[0], (k, m))      # dA^T = B G^T
    else:
        _product(xp, G, B.T, outs[0], (m, k))      # dA = G B^T
    if tb:
        _product(xp, G.T, A, outs[1], (n, k))      # dB^T = G^T A
    else:
        _product(xp, A.T, G, outs[1], (k, n))      # dB = A^T G


def _batch_dot_backward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    g, lhs, rhs = ins
    A = lhs.swapaxes(-1, -2) if p.transpose_a else lhs
    B = rhs.swapaxes(-1, -2) if p.transpose_b else rhs
    gT = g.swapaxes(-1, -2)
    if p.transpose_a:
        _product(xp, B, gT, outs[0], outs[0].shape)
    else:
        _product(xp, g, B.swapaxes(-1, -2), outs[0], outs[0].shape)
    if p.transpose_b:
        _product(xp, gT, A, outs[1], outs[1].shape)
    else:
        _product(xp, A.swapaxes(-1, -2), g, outs[1], outs[1].shape)


def _grad_rule(bname: str) -> Any:
    def rule(F, p, ins, outs, ograds):
        return list(F.call(bname, [ograds[0], ins[0], ins[1]], p))
    rule.__name__ = "grad_via_" + bname
    return rule


def _second_order_rule(fname: str, bname: str) -> Any:
    """Gradient of ``bname(g, A, B) = (dA, dB)`` for heads ``(hA, hB)``. With C = f(A, B)
    bilinear, ``<hA, dA> + <hB, dB> = <g, f(hA, B) + f(A, hB)>``, so: d/dg = f(hA, B) +
    f(A, hB); d/dA = the lhs gradient of f(A, hB) for head g; d/dB = the rhs gradient of
    f(hA, B) for head g."""
    def rule(F, p, ins, outs, ograds):
        g, a, b = ins
        ha, hb = ograds
        dg = F.elemwise_add(F.call(fname, [ha, b], p), F.call(fname, [a, hb], p))
        da = F.call(bname, [g, a, hb], p)[0]
        db = F.call(bname, [g, ha, b], p)[1]
        return [dg, da, db]
    rule.__name__ = "second_order_" + fname
    return rule


def _bwd_cost(fcost: Any) -> Any:
    def cost(p: Any, in_shapes: list, out_shapes: list) -> int:
        return 2 * fcost(p, in_shapes[1:], in_shapes[:1])
    return cost


for _fname, _kernel, _fcost in (("dot", _dot_backward, _dot_cost),
                                ("batch_dot", _batch_dot_backward, _batch_dot_cost)):
    _bname = "_backward_" + _fname
    register(OpDef(_bname, inputs=("ograd", "lhs", "rhs"), params=list(_DOT_PARAMS),
                   forward=_kernel, infer_shape=_bwd_shape, infer_type=_bwd_type,
                   num_outputs=2, output_names=("lhs_grad", "rhs_grad"),
                   gradient=_second_order_rule(_fname, _bname), keep_inputs=True,
                   keep_outputs=False, cost=_bwd_cost(_fcost),
                   doc="Backward of %s: the gradients of lhs and rhs (same transpose "
                       "parameters as the forward)." % _fname))
    _op = get(_fname)
    _op.gradient = _grad_rule(_bname)
    _op.keep_inputs, _op.keep_outputs = True, False
