"""Linear algebra ops (``mx.nd.linalg.*``, flat names ``linalg_*``): ``gemm``, ``gemm2``,
``potrf``, ``potri``, ``trsm``, ``trmm``, ``syrk``, ``sumlogdiag``, ``extractdiag``,
``makediag``, ``inverse``, ``det`` and ``slogdet``.

MXNet 1.9.1 conventions kept:

* Every op works on the last two axes and is batched over the leading ones; ``gemm`` and
  ``gemm2`` take ``axis``, the axis holding the matrix rows (default -2; the columns are
  always the last axis, every other axis is a batch axis).
* Only float32 and float64 are supported (MXNet: "This operation only supports 32-bit and
  64-bit floating point"); float16 input raises ``MXNetError``.
* Triangular inputs use only their triangle (``lower=True``: the lower one, with the
  diagonal); ``potrf`` reads only the lower (``lower=False``: upper) triangle of its
  symmetric input and returns the factor with zeros in the other triangle.
* ``potri(A)`` is ``(A A^T)^-1`` for a lower factor and ``(A^T A)^-1`` for an upper one;
  ``trsm`` is ``alpha*op(A)^-1*B`` (or ``alpha*B*op(A)^-1`` with ``rightside``), ``trmm``
  ``alpha*op(A)*B`` (or ``alpha*B*op(A)``), ``syrk`` ``alpha*A*A^T`` (``A^T*A`` with
  ``transpose``).
* Reductions to one value per matrix (``sumlogdiag``, ``det``, ``slogdet``) give shape
  ``(1,)`` for a single matrix, else the batch shape. ``slogdet`` returns ``(sign,
  log|det|)``.
* ``extractdiag``/``makediag`` take ``offset`` (> 0 above the main diagonal).
* The gradient of ``potrf`` is MXNet's symmetric one, ``0.5*(S + S^T)`` with
  ``S = L^-T Phi(L^T dL) L^-1`` (``Phi``: lower triangle, halved diagonal): the gradient
  for a symmetric input. The gradients of ``potri``, ``trsm`` and ``trmm`` with respect to
  the triangular matrix are restricted to its triangle (the other entries are not read).

No SciPy: triangular solves and inverses go through ``xp.linalg.solve``/``xp.linalg.inv``
on the masked triangular matrix (an LU solve, O(n^3) where a triangular solve is O(n^2);
batched, and the same code runs on CuPy). Cholesky, ``inv``, ``det`` and ``slogdet`` are
``xp.linalg``'s. Kernels that meet a matrix that is not positive definite (``potrf``) or
singular (``inverse``) raise ``MXNetError`` at the wait, as MXNet does.

``gemm``/``gemm2``/``inverse``/``extractdiag``/``makediag`` get gradients composed of these
same ops (so they are differentiable again); the others use one fused
``_backward_linalg_<op>`` kernel.
"""
from __future__ import annotations

from math import prod as _size
from typing import Any, Callable, Sequence

import numpy as np

from ..base import MXNetError, dtype_name
from .params import Bool, Float, Int, Param
from .registry import OpDef, register, shape_str, unify

__all__: list = []

_LA_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


# ------------------------------------------------------------------------ helpers
def _T(x: Any) -> Any:
    """Transpose of the trailing matrices (a view)."""
    return x.swapaxes(-1, -2)




def _la_type(n_out: int = 1) -> Callable:
    """dtype rule: all inputs share one dtype, float32 or float64; ``n_out`` outputs of it."""
    def infer(p: Any, dtypes: list):
        known = unify(dtypes, "dtypes", dtype_name)
        if known is not None and np.dtype(known) not in _LA_DTYPES:
            raise MXNetError("linalg operators only support float32 and float64, got %s"
                             % dtype_name(known))
        return [known] * len(dtypes), [known] * n_out
    return infer


def _matrices(s: Any, name: str, square: bool = False) -> None:
    if len(s) < 2:
        raise MXNetError("%s must be a tensor of matrices (ndim >= 2), got shape %s"
                         % (name, shape_str(s)))
    if square and s[-1] != s[-2]:
        raise MXNetError("%s must be a tensor of square matrices, got shape %s"
                         % (name, shape_str(s)))


def _per_matrix_shape(s: Sequence[int]) -> tuple:
    """Shape of one value per matrix: ``(1,)`` for a single matrix (MXNet has no 0-d
    arrays), else the batch shape."""
    return (1,) if len(s) == 2 else tuple(s[:-2])


def _tri(xp: Any, a: Any, lower: bool) -> Any:
    """The triangle of ``a`` an op reads (with the diagonal), zeros elsewhere."""
    return xp.tril(a) if lower else xp.triu(a)


def _eye_like(xp: Any, a: Any) -> Any:
    n = a.shape[-1]
    return xp.broadcast_to(xp.eye(n, dtype=a.dtype), a.shape)


def _tri_inv(xp: Any, t: Any) -> Any:
    """Inverse of (masked) triangular matrices by a batched solve against the identity."""
    return xp.linalg.solve(t, _eye_like(xp, t))


def _linalg_call(what: str, fn: Callable, *args: Any) -> Any:
    """Run an ``xp.linalg`` routine, turning its failure into an ``MXNetError``."""
    try:
        return fn(*args)
    except MXNetError:
        raise
    except Exception as e:  # noqa: BLE001 - numpy/cupy LinAlgError and friends
        raise MXNetError("%s failed: %s" % (what, e)) from None


def _cube_cost(p: Any, in_shapes: list, out_shapes: list) -> int:
    """About n^3 per matrix: input elements times the matrix size."""
    s = in_shapes[0]
    return sum(_size(x) for x in in_shapes) * max(1, int(s[-1]) if len(s) else 1)


def _alias_names(name: str) -> tuple:
    return (name[1:],)  # _linalg_gemm -> linalg_gemm


# ------------------------------------------------------------------------ gemm / gemm2
_TA = Param("transpose_a", Bool(), False, "multiply with the transpose of A")
_TB = Param("transpose_b", Bool(), False, "multiply with the transpose of B")
_ALPHA = Param("alpha", Float(), 1.0, "scalar factor of the product")
_AXIS = Param("axis", Int(), -2, "axis holding the matrix rows (columns: the last axis)")
_GEMM_PARAMS = [_TA, _TB, _ALPHA, Param("beta", Float(), 1.0, "scalar factor of C"), _AXIS]
_GEMM2_PARAMS = [_TA, _TB, _ALPHA, _AXIS]


def _row_axis(p: Any, ndim: int) -> int:
    ax = p.axis + ndim if p.axis < 0 else p.axis
    if not 0 <= ax < ndim - 1:
        raise MXNetError("invalid row axis %d for %d-d inputs (it must not be the last axis)"
                         % (p.axis, ndim))
    return ax


def _gemm_out_shape(p: Any, a: Sequence[int], b: Sequence[int]) -> tuple:
    if len(a) < 2 or len(a) != len(b):
        raise MXNetError("A and B must have the same number of dimensions (>= 2), got %s and "
                         "%s" % (shape_str(a), shape_str(b)))
    nd = len(a)
    ax = _row_axis(p, nd)
    for i in range(nd - 1):
        if i != ax and a[i] != b[i]:
            raise MXNetError("shapes of A %s and B %s must be equal except on the row axis %d "
                             "and the last axis" % (shape_str(a), shape_str(b), ax))
    k_a = a[ax] if p.transpose_a else a[-1]
    k_b = b[-1] if p.transpose_b else b[ax]
    if k_a != k_b:
        raise MXNetError("incompatible matrix dimensions for multiplication: A %s%s times B "
                         "%s%s (inner sizes %d != %d)"
                         % (shape_str(a), "^T" if p.transpose_a else "", shape_str(b),
                            "^T" if p.transpose_b else "", k_a, k_b))
    out = list(a[:-1]) + [0]
    out[ax] = a[-1] if p.transpose_a else a[ax]
    out[-1] = b[ax] if p.transpose_b else b[-1]
    return tuple(out)


def _gemm2_shape(p: Any, shapes: list):
    a, b = shapes
    if a is None or b is None:
        return shapes, [None]
    return shapes, [_gemm_out_shape(p, a, b)]


def _gemm_shape(p: Any, shapes: list):
    a, b, c = shapes
    if a is None or b is None:
        return shapes, [c]
    out = _gemm_out_shape(p, a, b)
    if c is not None and tuple(c) != out:
        raise MXNetError("C must have the shape of op(A)*op(B) %s, got %s"
                         % (shape_str(out), shape_str(c)))
    return [a, b, out], [out]


def _as_matrices(x: Any, ax: int) -> Any:
    """View with the row axis moved to -2 (a no-op for the default axis)."""
    return x if ax == x.ndim - 2 else _moveaxis(x, ax)


def _moveaxis(x: Any, ax: int) -> Any:
    """Transpose view putting axis ``ax`` just before the last one, others in order."""
    order = [i for i in range(x.ndim - 1) if i != ax] + [ax, x.ndim - 1]
    return x.transpose(order)


def _product(xp: Any, a: Any, b: Any, p: Any) -> tuple:
    """``alpha * op(A) @ op(B)`` on row-axis-moved views, and the row axis."""
    ax = _row_axis(p, a.ndim)
    am, bm = _as_matrices(a, ax), _as_matrices(b, ax)
    r = xp.matmul(_T(am) if p.transpose_a else am, _T(bm) if p.transpose_b else bm)
    if p.alpha != 1.0:
        r *= p.alpha
    return r, ax


def _gemm2_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    r, ax = _product(oc.xp, ins[0], ins[1], p)
    _as_matrices(outs[0], ax)[...] = r


def _gemm_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    r, ax = _product(oc.xp, ins[0], ins[1], p)
    c = _as_matrices(ins[2], ax)
    r += c if p.beta == 1.0 else p.beta * c
    _as_matrices(outs[0], ax)[...] = r


def _gemm_cost(p: Any, in_shapes: list, out_shapes: list) -> int:
    a = in_shapes[0]
    k = a[_row_axis(p, len(a))] if p.transpose_a else a[-1]
    return _size(out_shapes[0]) * max(1, int(k))


def _product_grads(F: Any, p: Any, a: Any, b: Any, g: Any) -> list:
    """Gradients of ``alpha*op(A)*op(B)`` for A and B as gemm2 products (differentiable)."""
    kw = dict(alpha=p.alpha, axis=p.axis)
    ta, tb = p.transpose_a, p.transpose_b
    if ta:  # dA = alpha * op(B) G^T
        da = F.call("_linalg_gemm2", [b, g], transpose_a=tb, transpose_b=True, **kw)
    else:   # dA = alpha * G op(B)^T
        da = F.call("_linalg_gemm2", [g, b], transpose_a=False, transpose_b=not tb, **kw)
    if tb:  # dB = alpha * G^T op(A)
        db = F.call("_linalg_gemm2", [g, a], transpose_a=True, transpose_b=ta, **kw)
    else:   # dB = alpha * op(A)^T G
        db = F.call("_linalg_gemm2", [a, g], transpose_a=not ta, transpose_b=False, **kw)
    return [da, db]


def _gemm2_grad(F: Any, p: Any, ins: list, outs: list, ograds: list) -> list:
    return _product_grads(F, p, ins[0], ins[1], ograds[0])


def _gemm_grad(F: Any, p: Any, ins: list, outs: list, ograds: list) -> list:
    g = ograds[0]
    dc = g if p.beta == 1.0 else F.call("_mul_scalar", [g], scalar=p.beta, is_int=False)
    return _product_grads(F, p, ins[0], ins[1], g) + [dc]


register(OpDef(
    "_linalg_gemm", inputs=("A", "B", "C"), params=list(_GEMM_PARAMS), forward=_gemm_forward,
    infer_shape=_gemm_shape, infer_type=_la_type(), cost=_gemm_cost, gradient=_gemm_grad,
    keep_inputs=(0, 1), keep_outputs=False, aliases=_alias_names("_linalg_gemm"),
    doc="alpha*op(A)*op(B) + beta*C on the trailing matrices (batched; axis = row axis)."))

register(OpDef(
    "_linalg_gemm2", inputs=("A", "B"), params=list(_GEMM2_PARAMS), forward=_gemm2_forward,
    infer_shape=_gemm2_shape, infer_type=_la_type(), cost=_gemm_cost, gradient=_gemm2_grad,
    keep_inputs=True, keep_outputs=False, aliases=_alias_names("_linalg_gemm2"),
    doc="alpha*op(A)*op(B) on the trailing matrices (batched; axis = row axis)."))


# ------------------------------------------------------------------------ potrf / potri
_LOWER = Param("lower", Bool(), True, "the triangular matrix is lower (else upper) triangular")


def _square_shape(p: Any, shapes: list):
    (s,) = shapes[:1]
    if s is None:
        return shapes, [None]
    _matrices(s, "A", square=True)
    return shapes, [tuple(s)]


def _potrf_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    a = ins[0]
    # the symmetric matrix spelled by the triangle MXNet reads (LAPACK reads only that one)
    tri = xp.tril(a) if p.lower else xp.triu(a)
    sym = tri + _T(xp.tril(a, -1) if p.lower else xp.triu(a, 1))
    low = _linalg_call("potrf (Cholesky factorization; the matrix must be symmetric "
                       "positive definite)", xp.linalg.cholesky, sym)
    outs[0][...] = low if p.lower else _T(low)


def _potrf_backward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    dout, fac = ins
    # lower form: L with A = L L^T; the other triangle of dout never reaches the output
    low = fac if p.lower else _T(fac)
    dlow = xp.tril(dout if p.lower else _T(dout))
    phi = xp.tril(xp.matmul(_T(low), dlow))
    d = xp.diagonal(phi, axis1=-2, axis2=-1)
    phi[..., xp.arange(d.shape[-1]), xp.arange(d.shape[-1])] = 0.5 * d
    linv = _linalg_call("potrf backward", _tri_inv, xp, low)
    s = xp.matmul(xp.matmul(_T(linv), phi), linv)
    outs[0][...] = 0.5 * (s + _T(s))


def _potrf_grad(F: Any, p: Any, ins: list, outs: list, ograds: list) -> list:
    return [F.call("_backward_linalg_potrf", [ograds[0], outs[0]], p)]


def _backward_one_shape(p: Any, shapes: list):
    """Fused backward ops whose single output has the shape of their second input."""
    return shapes, [shapes[1]]


register(OpDef(
    "_linalg_potrf", inputs=("A",), params=[_LOWER], forward=_potrf_forward,
    infer_shape=_square_shape, infer_type=_la_type(), cost=_cube_cost, gradient=_potrf_grad,
    keep_inputs=False, keep_outputs=True, aliases=_alias_names("_linalg_potrf"),
    doc="Cholesky factor of symmetric positive definite matrices: lower L with A = L*L^T "
        "(lower=False: upper U with A = U^T*U)."))
register(OpDef(
    "_backward_linalg_potrf", inputs=("dout", "L"), params=[_LOWER],
    forward=_potrf_backward, infer_shape=_backward_one_shape, infer_type=_la_type(),
    cost=_cube_cost, doc="Gradient of potrf (symmetric) from the factor and its gradient."))


def _potri_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    inv = _linalg_call("potri (the triangular factor must be nonsingular)", _tri_inv, xp,
                       _tri(xp, ins[0], p.lower))
    outs[0][...] = xp.matmul(_T(inv), inv) if p.lower else xp.matmul(inv, _T(inv))


def _potri_backward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    dout, a, x = ins
    w = xp.matmul(xp.matmul(x, dout + _T(dout)), x)  # X (dX + dX^T) X
    t = _tri(xp, a, p.lower)
    g = xp.matmul(w, t) if p.lower else xp.matmul(t, w)
    outs[0][...] = -_tri(xp, g, p.lower)


def _potri_grad(F: Any, p: Any, ins: list, outs: list, ograds: list) -> list:
    return [F.call("_backward_linalg_potri", [ograds[0], ins[0], outs[0]], p)]


register(OpDef(
    "_linalg_potri", inputs=("A",), params=[_LOWER], forward=_potri_forward,
    infer_shape=_square_shape, infer_type=_la_type(), cost=_cube_cost, gradient=_potri_grad,
    keep_inputs=True, keep_outputs=True, aliases=_alias_names("_linalg_potri"),
    doc="Inverse from a Cholesky factor: (A*A^T)^-1 for lower A, (A^T*A)^-1 for upper A."))
register(OpDef(
    "_backward_linalg_potri", inputs=("dout", "A", "out"), params=[_LOWER],
    forward=_potri_backward, infer_shape=_backward_one_shape, infer_type=_la_type(),
    cost=_cube_cost, doc="Gradient of potri with respect to the triangular factor."))


# ------------------------------------------------------------------------ trsm / trmm
_TRIANG_PARAMS = [Param("transpose", Bool(), False, "use the transpose of the triangular A"),
                  Param("rightside", Bool(), False, "multiply/solve from the right"),
                  _LOWER, Param("alpha", Float(), 1.0, "scalar factor of the result")]


def _triang_shape(p: Any, shapes: list):
    a, b = shapes
    if a is None or b is None:
        return shapes, [None]
    _matrices(a, "A", square=True)
    if len(b) != len(a):
        raise MXNetError("A %s and B %s must have the same number of dimensions"
                         % (shape_str(a), shape_str(b)))
    if tuple(a[:-2]) != tuple(b[:-2]):
        raise MXNetError("shapes of A %s and B %s must be equal except on the last two axes"
                         % (shape_str(a), shape_str(b)))
    n = a[-1]
    side = b[-1] if p.rightside else b[-2]
    if side != n:
        raise MXNetError("incompatible matrix dimensions: A %s, B %s (rightside=%s)"
                         % (shape_str(a), shape_str(b), p.rightside))
    return shapes, [tuple(b)]


def _op_tri(xp: Any, a: Any, p: Any) -> Any:
    t = _tri(xp, a, p.lower)
    return _T(t) if p.transpose else t


def _trsm_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    t = _op_tri(xp, ins[0], p)
    b = ins[1]
    what = "trsm (the triangular matrix must be nonsingular)"
    if p.rightside:  # X = B T^-1  <=>  X^T = T^-T B^T
        x = _T(_linalg_call(what, xp.linalg.solve, _T(t), _T(b)))
    else:
        x = _linalg_call(what, xp.linalg.solve, t, b)
    outs[0][...] = x if p.alpha == 1.0 else p.alpha * x


def _masked_dA(xp: Any, dt_op: Any, p: Any) -> Any:
    """Gradient for A from the gradient of op(A), restricted to A's triangle."""
    return _tri(xp, _T(dt_op) if p.transpose else dt_op, p.lower)


def _trsm_backward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    dx, a, x = ins
    t = _op_tri(xp, a, p)
    if p.rightside:  # Y = dX T^-T; dB = alpha Y; dT = -X^T Y
        y = _T(_linalg_call("trsm backward", xp.linalg.solve, t, _T(dx)))
        dt_op = -xp.matmul(_T(x), y)
    else:            # Y = T^-T dX; dB = alpha Y; dT = -Y X^T
        y = _linalg_call("trsm backward", xp.linalg.solve, _T(t), dx)
        dt_op = -xp.matmul(y, _T(x))
    outs[0][...] = _masked_dA(xp, dt_op, p)
    outs[1][...] = y if p.alpha == 1.0 else p.alpha * y


def _trsm_grad(F: Any, p: Any, ins: list, outs: list, ograds: list) -> list:
    return F.call("_backward_linalg_trsm", [ograds[0], ins[0], outs[0]], p)


def _backward_two_shape(p: Any, shapes: list):
    """(dA, dB) of trsm/trmm: the shapes of A and of B (= the output's)."""
    return shapes, [shapes[1], shapes[2]]


register(OpDef(
    "_linalg_trsm", inputs=("A", "B"), params=list(_TRIANG_PARAMS), forward=_trsm_forward,
    infer_shape=_triang_shape, infer_type=_la_type(), cost=_cube_cost, gradient=_trsm_grad,
    keep_inputs=(0,), keep_outputs=True, aliases=_alias_names("_linalg_trsm"),
    doc="Triangular solve: alpha*op(A)^-1*B (rightside: alpha*B*op(A)^-1), A lower or "
        "upper triangular, op = transpose when transpose=True."))
register(OpDef(
    "_backward_linalg_trsm", inputs=("dout", "A", "out"), params=list(_TRIANG_PARAMS),
    forward=_trsm_backward, infer_shape=_backward_two_shape, infer_type=_la_type(2),
    num_outputs=2, cost=_cube_cost, doc="Gradients of trsm for A (its triangle) and B."))


def _trmm_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    t = _op_tri(xp, ins[0], p)
    b = ins[1]
    x = xp.matmul(b, t) if p.rightside else xp.matmul(t, b)
    outs[0][...] = x if p.alpha == 1.0 else p.alpha * x


def _trmm_backward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    dx, a, b = ins
    t = _op_tri(xp, a, p)
    if p.rightside:  # X = alpha B T: dB = alpha dX T^T; dT = alpha B^T dX
        db, dt_op = xp.matmul(dx, _T(t)), xp.matmul(_T(b), dx)
    else:            # X = alpha T B: dB = alpha T^T dX; dT = alpha dX B^T
        db, dt_op = xp.matmul(_T(t), dx), xp.matmul(dx, _T(b))
    if p.alpha != 1.0:
        db *= p.alpha
        dt_op *= p.alpha
    outs[0][...] = _masked_dA(xp, dt_op, p)
    outs[1][...] = db


def _trmm_grad(F: Any, p: Any, ins: list, outs: list, ograds: list) -> list:
    return F.call("_backward_linalg_trmm", [ograds[0], ins[0], ins[1]], p)


register(OpDef(
    "_linalg_trmm", inputs=("A", "B"), params=list(_TRIANG_PARAMS), forward=_trmm_forward,
    infer_shape=_triang_shape, infer_type=_la_type(), cost=_cube_cost, gradient=_trmm_grad,
    keep_inputs=True, keep_outputs=False, aliases=_alias_names("_linalg_trmm"),
    doc="Triangular multiply: alpha*op(A)*B (rightside: alpha*B*op(A)), A lower or upper "
        "triangular."))
register(OpDef(
    "_backward_linalg_trmm", inputs=("dout", "A", "B"), params=list(_TRIANG_PARAMS),
    forward=_trmm_backward, infer_shape=_backward_two_shape, infer_type=_la_type(2),
    num_outputs=2, cost=_cube_cost, doc="Gradients of trmm for A (its triangle) and B."))


# ------------------------------------------------------------------------ syrk
_SYRK_PARAMS = [Param("transpose", Bool(), False, "compute alpha*A^T*A instead of alpha*A*A^T"),
                Param("alpha", Float(), 1.0, "scalar factor of the result")]


def _syrk_shape(p: Any, shapes: list):
    (s,) = shapes
    if s is None:
        return shapes, [None]
    _matrices(s, "A")
    n = s[-1] if p.transpose else s[-2]
    return shapes, [tuple(s[:-2]) + (n, n)]


def _syrk_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    a = ins[0]
    x = xp.matmul(_T(a), a) if p.transpose else xp.matmul(a, _T(a))
    outs[0][...] = x if p.alpha == 1.0 else p.alpha * x


def _syrk_backward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    dx, a = ins
    s = dx + _T(dx)
    g = xp.matmul(a, s) if p.transpose else xp.matmul(s, a)
    outs[0][...] = g if p.alpha == 1.0 else p.alpha * g


def _syrk_grad(F: Any, p: Any, ins: list, outs: list, ograds: list) -> list:
    return [F.call("_backward_linalg_syrk", [ograds[0], ins[0]], p)]


def _syrk_backward_shape(p: Any, shapes: list):
    return shapes, [shapes[1]]


register(OpDef(
    "_linalg_syrk", inputs=("A",), params=list(_SYRK_PARAMS), forward=_syrk_forward,
    infer_shape=_syrk_shape, infer_type=_la_type(), cost=_cube_cost, gradient=_syrk_grad,
    keep_inputs=True, keep_outputs=False, aliases=_alias_names("_linalg_syrk"),
    doc="alpha*A*A^T (transpose: alpha*A^T*A) on the trailing matrices."))
register(OpDef(
    "_backward_linalg_syrk", inputs=("dout", "A"), params=list(_SYRK_PARAMS),
    forward=_syrk_backward, infer_shape=_syrk_backward_shape, infer_type=_la_type(),
    cost=_cube_cost, doc="Gradient of syrk: alpha*(dX + dX^T)*A (transpose: A*(dX + dX^T))."))


# ------------------------------------------------------------------------ diagonals
def _reduce_square_shape(p: Any, shapes: list):
    shapes, (s,) = _square_shape(p, shapes)
    return shapes, [None if s is None else _per_matrix_shape(s)]


def _sumlogdiag_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    d = xp.diagonal(ins[0], axis1=-2, axis2=-1)
    outs[0][...] = xp.sum(xp.log(d), axis=-1).reshape(outs[0].shape)


def _sumlogdiag_backward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    dout, a = ins
    n = a.shape[-1]
    d = xp.diagonal(a, axis1=-2, axis2=-1)
    out = outs[0]
    out[...] = 0
    idx = xp.arange(n)
    out[..., idx, idx] = dout.reshape(a.shape[:-2] + (1,)) / d


def _sumlogdiag_grad(F: Any, p: Any, ins: list, outs: list, ograds: list) -> list:
    return [F.call("_backward_linalg_sumlogdiag", [ograds[0], ins[0]], p)]


register(OpDef(
    "_linalg_sumlogdiag", inputs=("A",), params=[], forward=_sumlogdiag_forward,
    infer_shape=_reduce_square_shape, infer_type=_la_type(), gradient=_sumlogdiag_grad,
    keep_inputs=True, keep_outputs=False, aliases=_alias_names("_linalg_sumlogdiag"),
    doc="Sum of the logarithms of the diagonal of each square matrix."))
register(OpDef(
    "_backward_linalg_sumlogdiag", inputs=("dout", "A"), params=[],
    forward=_sumlogdiag_backward, infer_shape=_backward_one_shape, infer_type=_la_type(),
    doc="Gradient of sumlogdiag: dout/diag(A) on the diagonal, zero elsewhere."))

_OFFSET = Param("offset", Int(), 0, "diagonal offset: > 0 above, < 0 below the main one")


def _extractdiag_shape(p: Any, shapes: list):
    (s,) = shapes
    if s is None:
        return shapes, [None]
    _matrices(s, "A", square=True)
    n = s[-1] - abs(p.offset)
    if n <= 0:
        raise MXNetError("illegal offset %d for diagonal extraction of %dx%d matrices"
                         % (p.offset, s[-2], s[-1]))
    return shapes, [tuple(s[:-2]) + (n,)]


def _extractdiag_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    outs[0][...] = oc.xp.diagonal(ins[0], offset=p.offset, axis1=-2, axis2=-1)


def _makediag_shape(p: Any, shapes: list):
    (s,) = shapes
    if s is None:
        return shapes, [None]
    if len(s) < 1:
        raise MXNetError("A must have at least one dimension")
    m = s[-1] + abs(p.offset)
    return shapes, [tuple(s[:-1]) + (m, m)]


def _makediag_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    a, out = ins[0], outs[0]
    idx = xp.arange(a.shape[-1])
    out[...] = 0
    out[..., idx + max(0, -p.offset), idx + max(0, p.offset)] = a


def _extractdiag_grad(F: Any, p: Any, ins: list, outs: list, ograds: list) -> list:
    return [F.call("_linalg_makediag", [ograds[0]], offset=p.offset)]


def _makediag_grad(F: Any, p: Any, ins: list, outs: list, ograds: list) -> list:
    return [F.call("_linalg_extractdiag", [ograds[0]], offset=p.offset)]


register(OpDef(
    "_linalg_extractdiag", inputs=("A",), params=[_OFFSET], forward=_extractdiag_forward,
    infer_shape=_extractdiag_shape, infer_type=_la_type(), gradient=_extractdiag_grad,
    keep_inputs=False, keep_outputs=False, aliases=_alias_names("_linalg_extractdiag"),
    doc="The diagonal (offset > 0: above, < 0: below the main one) of each square matrix."))
register(OpDef(
    "_linalg_makediag", inputs=("A",), params=[_OFFSET], forward=_makediag_forward,
    infer_shape=_makediag_shape, infer_type=_la_type(), gradient=_makediag_grad,
    keep_inputs=False, keep_outputs=False, aliases=_alias_names("_linalg_makediag"),
    doc="Square matrices with the vectors of the last axis on their offset diagonal."))


# ------------------------------------------------------------------------ inverse / det
def _inverse_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    outs[0][...] = _linalg_call("inverse (the matrix must be nonsingular)",
                                oc.xp.linalg.inv, ins[0])


def _inverse_grad(F: Any, p: Any, ins: list, outs: list, ograds: list) -> list:
    x = outs[0]  # dA = -X^T dX X^T
    t = F.call("_linalg_gemm2", [x, ograds[0]], transpose_a=True)
    return [F.call("_linalg_gemm2", [t, x], transpose_b=True, alpha=-1.0)]


register(OpDef(
    "_linalg_inverse", inputs=("A",), params=[], forward=_inverse_forward,
    infer_shape=_square_shape, infer_type=_la_type(), cost=_cube_cost, gradient=_inverse_grad,
    keep_inputs=False, keep_outputs=True, aliases=_alias_names("_linalg_inverse"),
    doc="Inverse of each square matrix."))


def _det_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    outs[0][...] = oc.xp.linalg.det(ins[0]).reshape(outs[0].shape)


def _inv_T(xp: Any, a: Any) -> Any:
    return _T(_linalg_call("det/slogdet backward (the matrix must be nonsingular)",
                           xp.linalg.inv, a))


def _det_backward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    dout, a, det = ins
    scale = (dout * det).reshape(a.shape[:-2] + (1, 1))
    outs[0][...] = scale * _inv_T(xp, a)


def _det_grad(F: Any, p: Any, ins: list, outs: list, ograds: list) -> list:
    return [F.call("_backward_linalg_det", [ograds[0], ins[0], outs[0]], p)]


register(OpDef(
    "_linalg_det", inputs=("A",), params=[], forward=_det_forward,
    infer_shape=_reduce_square_shape, infer_type=_la_type(), cost=_cube_cost,
    gradient=_det_grad, keep_inputs=True, keep_outputs=True,
    aliases=_alias_names("_linalg_det"), doc="Determinant of each square matrix."))
register(OpDef(
    "_backward_linalg_det", inputs=("dout", "A", "det"), params=[], forward=_det_backward,
    infer_shape=_backward_one_shape, infer_type=_la_type(), cost=_cube_cost,
    doc="Gradient of det: dout*det*A^-T."))


def _slogdet_shape(p: Any, shapes: list):
    _, outs = _reduce_square_shape(p, shapes)
    return shapes, [outs[0], outs[0]]


def _slogdet_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    sign, logabs = oc.xp.linalg.slogdet(ins[0])
    outs[0][...] = sign.reshape(outs[0].shape)
    outs[1][...] = logabs.reshape(outs[1].shape)


def _slogdet_backward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    dlog, a = ins
    outs[0][...] = dlog.reshape(a.shape[:-2] + (1, 1)) * _inv_T(xp, a)


def _slogdet_grad(F: Any, p: Any, ins: list, outs: list, ograds: list) -> list:
    # the sign is piecewise constant: only log|det| carries a gradient
    return [F.call("_backward_linalg_slogdet", [ograds[1], ins[0]], p)]


register(OpDef(
    "_linalg_slogdet", inputs=("A",), params=[], forward=_slogdet_forward,
    infer_shape=_slogdet_shape, infer_type=_la_type(2), num_outputs=2,
    output_names=("sign", "logdet"), cost=_cube_cost, gradient=_slogdet_grad,
    keep_inputs=True, keep_outputs=False, aliases=_alias_names("_linalg_slogdet"),
    doc="Sign and natural log of the absolute determinant of each square matrix."))
register(OpDef(
    "_backward_linalg_slogdet", inputs=("dlogdet", "A"), params=[],
    forward=_slogdet_backward, infer_shape=_backward_one_shape, infer_type=_la_type(),
    cost=_cube_cost, doc="Gradient of slogdet's log|det|: dlogdet*A^-T."))
