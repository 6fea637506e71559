"""Indexing and ordering ops (take, pick, batch_take, one_hot, where, gather_nd,
scatter_nd, topk, sort, argsort): forward against NumPy references and MXNet 1.9.1
goldens, index modes, tie-breaking, shape/dtype inference and error reporting, and
gradients: exact against J^T h of the NumPy reference (each op is linear in its data for
fixed indices and, for topk/sort, a fixed order), check_op's directional check, zero
gradients of the discrete ops and second-order gradients through the fused scatters."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import mixnet as mx
from mixnet.test_utils import check_op

INDEX_OPS = {"take", "pick", "one_hot", "where", "gather_nd", "topk", "sort", "argsort"}
DTYPES = [np.float32, np.float64, np.int32]


# -------------------------------------------------------------------------------------- helpers
def _rand(shape, dtype=np.float32, rng=None):
    rng = rng or np.random.default_rng(0)
    if np.dtype(dtype).kind == "i":
        return rng.permutation(np.prod(shape, dtype=int)).reshape(shape).astype(dtype) - 7
    return rng.standard_normal(shape).astype(dtype)


def _clip_or_wrap(idx, n, mode):
    i = np.trunc(np.asarray(idx, np.float64)).astype(np.int64)
    return np.mod(i, n) if mode == "wrap" else np.clip(i, 0, n - 1)


# ----------------------------------------------------------------------------------------- take
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", ["clip", "wrap"])
def test_take(dtype, mode, same, to_nd):
    a = _rand((4, 3, 2), dtype)
    ind = np.array([[0.0, 3.9, -0.7], [5.0, -1.0, -6.2]], np.float32)
    for axis in range(-3, 3):
        n = a.shape[axis]
        want = np.take(a, _clip_or_wrap(ind, n, mode), axis=axis)
        same(mx.nd.take(to_nd(a), to_nd(ind), axis=axis, mode=mode), want,
             "axis %d %s" % (axis, mode))
    # integer index arrays work the same
    same(mx.nd.take(to_nd(a), to_nd(np.array([3, 7, -2], np.int32)), mode=mode),
         np.take(a, _clip_or_wrap([3, 7, -2], 4, mode), axis=0), "int32 indices")


def test_take_call_forms(same, to_nd, infer):
    a = _rand((5, 4))
    i = np.array([4.0, 1.0, 0.5], np.float32)
    want = a[[4, 1, 0]]
    same(mx.nd.take(to_nd(a), to_nd(i)), want, "defaults axis=0 clip")
    same(to_nd(a).take(to_nd(i)), want, "fluent")
    same(mx.nd.take(to_nd(a), to_nd(i), 1, "wrap"), a[:, [0, 1, 0]], "positional")
    same(mx.nd.take(a=to_nd(a), indices=to_nd(i), axis="1"), a[:, [3, 1, 0]], "keywords")
    out = to_nd(np.zeros((3, 4), np.float32))
    mx.nd.take(to_nd(a), to_nd(i), out=out)
    same(out, want, "out=")
    # 2-D indices: result shape a.shape[:axis] + indices.shape + a.shape[axis+1:]
    assert infer("take", {"axis": 1}, [(2, 3, 4), (5, 6)])[1] == [(2, 5, 6, 4)]
    assert infer("take", {}, [(2, 3), None])[1] == [None]


def test_take_mode_raise_in_range(same, to_nd):
    a = _rand((3, 4))
    same(mx.nd.take(to_nd(a), to_nd(np.array([0, 2, 1], np.float32)), mode="raise"),
         a[[0, 2, 1]], "raise mode with valid indices")


@pytest.mark.leaves_engine_errors
def test_take_mode_raise_out_of_range(to_nd):
    a = to_nd(_rand((3, 4)))
    bad = mx.nd.take(a, to_nd(np.array([0, 3], np.float32)), mode="raise")
    with pytest.raises(mx.MXNetError, match="take.*out of bound"):
        bad.asnumpy()
    neg = mx.nd.take(a, to_nd(np.array([-1], np.float32)), mode="raise")
    with pytest.raises(mx.MXNetError, match="take"):
        neg.asnumpy()


def test_take_errors(to_nd):
    with pytest.raises(mx.MXNetError, match=r"take.*out of range.*\(3, 4\)"):
        mx.nd.take(to_nd(_rand((3, 4))), to_nd(np.zeros(2, np.float32)), axis=2)
    with pytest.raises(mx.MXNetError, match="mode"):
        mx.nd.take(to_nd(_rand((3, 4))), to_nd(np.zeros(2, np.float32)), mode="nearest")


# ---------------------------------------------------------------------------- pick / batch_take
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", ["clip", "wrap"])
@pytest.mark.parametrize("keepdims", [False, True])
def test_pick(dtype, mode, keepdims, same, to_nd):
    rng = np.random.default_rng(0)
    data = _rand((3, 4, 5), dtype)
    for axis in range(-3, 3):
        ax = axis % 3
        rshape = tuple(d for i, d in enumerate(data.shape) if i != ax)
        idx = rng.integers(-3, data.shape[ax] + 3, size=rshape).astype(np.float32)
        want = np.take_along_axis(
            data, np.expand_dims(_clip_or_wrap(idx, data.shape[ax], mode), ax), ax)
        if not keepdims:
            want = want.squeeze(ax)
        got = mx.nd.pick(to_nd(data), to_nd(idx), axis=axis, keepdims=keepdims, mode=mode)
        same(got, want, "axis %d" % axis)


def test_pick_call_forms(same, infer, to_nd):
    data = _rand((4, 3))
    idx = np.array([0, 2, 1, 1], np.float32)
    want = data[np.arange(4), [0, 2, 1, 1]]
    same(mx.nd.pick(to_nd(data), to_nd(idx)), want, "default axis=-1")
    same(mx.nd.choose_element_0index(to_nd(data), to_nd(idx)), want, "alias")
    same(to_nd(data).pick(to_nd(idx), axis=1), want, "fluent")
    same(mx.nd.pick(to_nd(data), to_nd(idx), 1, True), want[:, None], "positional keepdims")
    # index already shaped with the kept axis is accepted too
    same(mx.nd.pick(to_nd(data), to_nd(idx[:, None]), axis=-1), want, "keepdims-shaped index")
    v = _rand((5,))
    same(mx.nd.pick(to_nd(v), to_nd(np.array([3.0], np.float32)), axis=0), v[[3]], "1-D data")
    ins, outs = infer("pick", {"axis": 0}, [(4, 3), None])
    assert ins[1] == (3,) and outs == [(3,)]
    with pytest.raises(mx.MXNetError, match=r"pick.*index shape.*\(4, 3\)"):
        mx.nd.pick(to_nd(data), to_nd(np.zeros(3, np.float32)), axis=1)
    with pytest.raises(mx.MXNetError, match="axis"):
        mx.nd.pick(to_nd(data), to_nd(idx), axis=None)


def test_batch_take(same, to_nd):
    a = _rand((4, 3))
    idx = np.array([0, 2, 5, -1], np.int32)
    same(mx.nd.batch_take(to_nd(a), to_nd(idx)), a[np.arange(4), [0, 2, 2, 0]])
    same(mx.nd.batch_take(to_nd(a), to_nd(idx.astype(np.float32))), a[np.arange(4), [0, 2, 2, 0]])
    with pytest.raises(mx.MXNetError, match="batch_take"):
        mx.nd.batch_take(to_nd(a), to_nd(np.zeros(3, np.int32)))


# -------------------------------------------------------------------------------------- one_hot
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64", "uint8", "float16"])
def test_one_hot(dtype, same, to_nd):
    ind = np.array([[0, 2.7, -1], [3, 1, 4]], np.float32)
    want = np.zeros((2, 3, 4), dtype)
    for i, j in itertools.product(range(2), range(3)):
        k = int(np.trunc(ind[i, j]))
        if 0 <= k < 4:
            want[i, j, k] = 1
    same(mx.nd.one_hot(to_nd(ind), depth=4, dtype=dtype), want, "one_hot %s" % dtype)


def test_one_hot_values_and_forms(same, to_nd):
    ind = np.array([1, 0, 5, -2], np.float32)
    want = np.full((4, 3), -1.0, np.float32)
    want[0, 1] = want[1, 0] = 2.5
    same(mx.nd.one_hot(to_nd(ind), 3, 2.5, -1.0), want, "positional on/off")
    same(to_nd(ind).one_hot(depth=3, on_value=2.5, off_value=-1), want, "fluent")
    default = mx.nd.one_hot(to_nd(ind), depth=3)
    assert default.dtype == np.float32
    same(mx.nd.one_hot(to_nd(ind.astype(np.int32)), "3", dtype="int32"),
         (want > 0).astype(np.int32), "int indices, string depth")
    op = mx.operator.get("one_hot")
    p = op.parse_params({"depth": 5, "dtype": "int64"})
    assert op.infer_shape(p, [(2, 3)])[1] == [(2, 3, 5)]
    assert op.infer_type(p, [np.dtype(np.float32)])[1] == [np.int64]
    with pytest.raises(mx.MXNetError, match="required"):
        mx.nd.one_hot(to_nd(ind))


# ---------------------------------------------------------------------------------------- where
@pytest.mark.parametrize("dtype", DTYPES)
def test_where(dtype, same, to_nd):
    rng = np.random.default_rng(0)
    x, y = _rand((3, 4), dtype, rng), _rand((3, 4), dtype, rng)
    cond = rng.integers(0, 2, size=(3, 4)).astype(np.float32) * rng.choice([-2.5, 1.0], (3, 4))
    same(mx.nd.where(to_nd(cond), to_nd(x), to_nd(y)), np.where(cond != 0, x, y), "same shape")
    row = np.array([0, 3, 0], np.float32)
    same(mx.nd.where(to_nd(row), to_nd(x), to_nd(y)), np.where(row[:, None] != 0, x, y), "rows")
    same(mx.nd.where(condition=to_nd(cond.astype(np.int32)), x=to_nd(x), y=to_nd(y)),
         np.where(cond != 0, x, y), "int condition, keywords")
    v = _rand((4,), dtype)
    same(mx.nd.where(to_nd(cond[0]), to_nd(v), to_nd(v * 2)), np.where(cond[0] != 0, v, v * 2),
         "1-D")


def test_where_inference_and_errors(infer, to_nd):
    ins, outs = infer("where", {}, [None, (2, 3), None])
    assert ins[1:] == [(2, 3), (2, 3)] and outs == [(2, 3)]
    assert infer("where", {}, [(2, 3), None, None])[1] == [None]
    x = to_nd(_rand((3, 4)))
    with pytest.raises(mx.MXNetError, match=r"where.*condition.*\(3, 4\)"):
        mx.nd.where(to_nd(np.ones((4,), np.float32)), x, x)
    with pytest.raises(mx.MXNetError, match="same shape"):
        mx.nd.where(to_nd(np.ones((3, 4), np.float32)), x, to_nd(_rand((4, 3))))
    with pytest.raises(mx.MXNetError, match="dtype"):
        mx.nd.where(to_nd(np.ones((3, 4), np.float32)), x, to_nd(_rand((3, 4), np.float64)))


# ----------------------------------------------------------------------- gather_nd / scatter_nd
@pytest.mark.parametrize("dtype", DTYPES)
def test_gather_nd(dtype, same, to_nd, infer):
    data = _rand((3, 4, 2), dtype)
    ind = np.array([[0, 2, -1, 1], [3, -4, 1, 0]], np.float32)
    want = np.stack([data[int(i) % 3, int(j) % 4] for i, j in ind.T])
    same(mx.nd.gather_nd(to_nd(data), to_nd(ind)), want, "M=2")
    ind1 = np.array([[2, 0], [1, -3]], np.int32).reshape(1, 2, 2)
    same(mx.nd.gather_nd(to_nd(data), to_nd(ind1)), data[ind1[0] % 3], "M=1, 2-D index grid")
    ind3 = np.array([[1], [3], [1]], np.float32)
    same(mx.nd.gather_nd(to_nd(data), to_nd(ind3)), data[1, 3, 1].reshape(1), "M=ndim")
    assert infer("gather_nd", {}, [(3, 4, 2), (2, 5, 6)])[1] == [(5, 6, 2)]


@pytest.mark.leaves_engine_errors
def test_gather_nd_errors(to_nd):
    data = to_nd(_rand((3, 4)))
    with pytest.raises(mx.MXNetError, match=r"gather_nd.*exceed.*\(3, 4\)"):
        mx.nd.gather_nd(data, to_nd(np.zeros((3, 2), np.float32)))
    with pytest.raises(mx.MXNetError, match="at least 2"):
        mx.nd.gather_nd(data, to_nd(np.zeros((2,), np.float32)))
    bad = mx.nd.gather_nd(data, to_nd(np.array([[3], [0]], np.float32)))
    with pytest.raises(mx.MXNetError, match="gather_nd.*out of bounds"):
        bad.asnumpy()


@pytest.mark.parametrize("dtype", DTYPES)
def test_scatter_nd(dtype, same, to_nd):
    data = _rand((3, 2), dtype)
    ind = np.array([[0, 2, -1], [1, 0, 3]], np.float32)
    want = np.zeros((3, 4, 2), dtype)
    for k, (i, j) in enumerate(ind.T.astype(int)):
        want[i, j] = data[k]
    got = mx.nd.scatter_nd(to_nd(data), to_nd(ind), shape=(3, 4, 2))
    same(got, want, "scatter_nd")
    # gather_nd inverts it on the written positions
    same(mx.nd.gather_nd(got, to_nd(ind)), data, "round trip")
    with pytest.raises(mx.MXNetError, match="scatter_nd"):
        mx.nd.scatter_nd(to_nd(data), to_nd(ind), shape=(3, 4, 3))


# ----------------------------------------------------------------------------------------- topk
def _topk_ref(x, axis, k, is_ascend):
    """Stable order along ``axis``: ties keep ascending index order in both directions."""
    xa = np.moveaxis(x, axis, -1)
    n = xa.shape[-1]
    order = np.empty(xa.shape, np.int64)
    for pos in np.ndindex(xa.shape[:-1]):
        row = list(xa[pos])
        idx = sorted(range(n), key=lambda j: (row[j] if is_ascend else -row[j], j))
        order[pos] = idx
    order = order[..., :k]
    vals = np.take_along_axis(xa, order, -1)
    return np.moveaxis(vals, -1, axis), np.moveaxis(order, -1, axis)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("is_ascend", [False, True])
def test_topk(dtype, is_ascend, same, to_nd):
    rng = np.random.default_rng(0)
    # few distinct values: plenty of ties to check the tie-breaking order
    x = rng.integers(-2, 3, size=(3, 4, 5)).astype(dtype)
    for axis, k in itertools.product(range(-3, 3), (1, 2, 3)):
        vals, order = _topk_ref(x, axis, k, is_ascend)
        v, i = mx.nd.topk(to_nd(x), axis=axis, k=k, ret_typ="both", is_ascend=is_ascend)
        same(v, vals, "values axis %d k %d" % (axis, k))
        same(i, order.astype(np.float32), "indices axis %d k %d" % (axis, k))
        same(mx.nd.topk(to_nd(x), axis=axis, k=k, is_ascend=is_ascend),
             order.astype(np.float32), "default ret_typ indices")
        same(mx.nd.topk(to_nd(x), axis=axis, k=k, ret_typ="value", is_ascend=is_ascend),
             vals, "value")
        mask = np.zeros(x.shape, dtype)
        np.put_along_axis(mask, order, 1, axis)
        same(mx.nd.topk(to_nd(x), axis=axis, k=k, ret_typ="mask", is_ascend=is_ascend),
             mask, "mask")


def test_topk_forms(same, to_nd):
    x = _rand((3, 5))
    flat = x.reshape(-1)
    order = np.argsort(-flat, kind="stable")
    same(mx.nd.topk(to_nd(x), axis=None, k=3, ret_typ="value"), flat[order[:3]], "axis None")
    same(mx.nd.topk(to_nd(x), axis="None", k=2), order[:2].astype(np.float32), "string None")
    full = np.argsort(-x, axis=-1, kind="stable").astype(np.float32)
    same(mx.nd.topk(to_nd(x), k=0), full, "k < 1 sorts everything")
    same(mx.nd.topk(to_nd(x), -1, 2, "indices", False, "int32"), full[:, :2].astype(np.int32),
         "positional, int32 indices")
    same(to_nd(x).topk(k=2, dtype="int64"), full[:, :2].astype(np.int64), "fluent")
    single = mx.nd.topk(to_nd(x), k=1, ret_typ="value")
    assert isinstance(single, mx.nd.NDArray)
    outs = [to_nd(np.zeros((3, 2), np.float32)), to_nd(np.zeros((3, 2), np.float64))]
    res = mx.nd.topk(to_nd(x), k=2, ret_typ="both", dtype="float64", out=outs)
    assert isinstance(res, list) and len(res) == 2
    same(outs[0], np.take_along_axis(x, full[:, :2].astype(int), 1), "out= values")
    same(outs[1], full[:, :2].astype(np.float64), "out= indices")
    op = mx.operator.get("topk")
    p = op.parse_params({"ret_typ": "both", "k": 2, "axis": 0, "dtype": "int32"})
    assert op.infer_shape(p, [(4, 3)])[1] == [(2, 3), (2, 3)]
    assert op.infer_type(p, [np.dtype(np.float64)])[1] == [np.float64, np.int32]
    with pytest.raises(mx.MXNetError, match=r"topk.*k must be.*\(3, 5\)"):
        mx.nd.topk(to_nd(x), k=6)


# ------------------------------------------------------------------------------- sort / argsort
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("is_ascend", [True, False])
def test_sort_and_argsort(dtype, is_ascend, same, to_nd):
    rng = np.random.default_rng(0)
    x = rng.integers(-3, 4, size=(2, 3, 6)).astype(dtype)
    for axis in list(range(-3, 3)) + [None]:
        if axis is None:
            vals, order = _topk_ref(x.reshape(-1), 0, x.size, is_ascend)
        else:
            vals, order = _topk_ref(x, axis, x.shape[axis], is_ascend)
        same(mx.nd.sort(to_nd(x), axis=axis, is_ascend=is_ascend), vals, "sort %s" % axis)
        same(mx.nd.argsort(to_nd(x), axis=axis, is_ascend=is_ascend),
             order.astype(np.float32), "argsort %s (stable ties)" % axis)


def test_sort_forms(same, to_nd, infer):
    x = _rand((3, 4))
    same(mx.nd.sort(to_nd(x)), np.sort(x, axis=-1), "defaults")
    same(to_nd(x).sort(axis=0, is_ascend=False), np.sort(x, axis=0)[::-1], "fluent")
    same(mx.nd.sort(to_nd(x), 0, "False"), np.sort(x, axis=0)[::-1], "positional string")
    order = np.argsort(x, axis=0, kind="stable")
    same(mx.nd.argsort(to_nd(x), axis=0, dtype="int32"), order.astype(np.int32), "int32")
    same(to_nd(x).argsort(), np.argsort(x, axis=-1).astype(np.float32), "fluent argsort")
    out = to_nd(np.zeros((3, 4), np.float32))
    mx.nd.sort(to_nd(x), out=out)
    same(out, np.sort(x, axis=-1), "out=")
    assert infer("argsort", {"axis": None}, [(3, 4)])[1] == [(12,)]
    with pytest.raises(mx.MXNetError, match=r"sort.*out of range.*\(3, 4\)"):
        mx.nd.sort(to_nd(x), axis=2)


def test_every_op_runs_on_ctx(ctx, on_ctx_like_cpu):
    """One representative call per op on the device under test (CPU, and GPU when
    present), compared with the CPU result."""
    rng = np.random.default_rng(0)
    x = rng.integers(-3, 4, size=(3, 5)).astype(np.float32)
    i = np.array([0, 4, -1], np.float32)
    cases = [
        ("take", [x, i], {"axis": 1, "mode": "wrap"}),
        ("pick", [x, i], {"axis": 1}),
        ("batch_take", [x, i], {}),
        ("one_hot", [i], {"depth": 5, "dtype": "int32"}),
        ("where", [i, x, -x], {}),
        ("gather_nd", [x, np.array([[1, 2], [0, -1]], np.float32)], {}),
        ("scatter_nd", [x[0, :2], np.array([[1, 2], [0, 4]], np.float32)], {"shape": (3, 5)}),
        ("topk", [x], {"k": 3, "ret_typ": "mask"}),
        ("topk", [x], {"k": 2, "axis": 0, "ret_typ": "indices"}),
        ("sort", [x], {"is_ascend": False}),
        ("argsort", [x], {"axis": None, "is_ascend": False}),
    ]
    on_ctx_like_cpu(cases, ctx)



# ------------------------------------------------------------------------------------ gradients
def _ordered(x, axis, k, ascend):
    """f(v) = v gathered at the (fixed) top-k order of ``x``: linear in v."""
    if axis is None:
        _, order = _topk_ref(x.reshape(-1), 0, k, ascend)
        return lambda v: v.reshape(-1)[order]
    _, order = _topk_ref(x, axis, k, ascend)
    return lambda v: np.take_along_axis(v, order, axis)


_A = np.arange(20, dtype=np.float64).reshape(5, 4) / 3 - 2
# repeated and out-of-range indices on purpose: repeats must add up, clip/wrap must send
# the gradient where the forward read
_IDX = np.array([[1, 7, 1], [-3, 1.9, 0]], dtype=np.float64)
_GI = np.array([[0, 4, 0, -1], [1, 2, 1, 3]], dtype=np.float64)
_S = np.array([[2.0, -1.0, 0.5, 3.0, -2.5], [0.1, 0.7, -0.3, 1.5, -1.1],
               [4.0, 2.2, 3.3, 1.2, 0.05]])  # no ties: sorting is smooth here
GRAD_CASES = [
    ("take", [_A, _IDX], {"axis": 0, "mode": "clip"},
     lambda a, i: np.take(a, _clip_or_wrap(i, 5, "clip"), 0), [0]),
    ("take", [_A, _IDX], {"axis": 0, "mode": "wrap"},
     lambda a, i: np.take(a, _clip_or_wrap(i, 5, "wrap"), 0), [0]),
    ("take", [_A, _IDX], {"axis": -1, "mode": "wrap"},
     lambda a, i: np.take(a, _clip_or_wrap(i, 4, "wrap"), 1), [0]),
    ("take", [_A, np.array([3.0, 0.0, 3.0])], {"axis": 1, "mode": "raise"},
     lambda a, i: a[:, [3, 0, 3]], [0]),
    ("take", [_A.reshape(5, 2, 2), np.array([1.0, 1.0])], {"axis": 1},
     lambda a, i: a[:, [1, 1]], [0]),
    ("pick", [_A, np.array([0.0, 9.0, -1.0, 2.0])], {"axis": 0, "keepdims": True},
     lambda a, i: a[_clip_or_wrap(i, 5, "clip"), np.arange(4)][None], [0]),
    ("pick", [_A, np.array([0.0, 9.0, -1.0, 2.0, 5.0])], {"axis": -1, "mode": "wrap"},
     lambda a, i: a[np.arange(5), _clip_or_wrap(i, 4, "wrap")], [0]),
    ("batch_take", [_A, np.array([0.0, 3.0, 3.0, 1.0, 2.0])], {},
     lambda a, i: a[np.arange(5), i.astype(int)], [0]),
    ("gather_nd", [_A, _GI], {}, lambda a, i: a[i[0].astype(int), i[1].astype(int)], [0]),
    ("gather_nd", [_A.reshape(5, 2, 2), _GI[:1]], {},
     lambda a, i: a.reshape(5, 2, 2)[i[0].astype(int)], [0]),
    ("scatter_nd", [_A[0], np.array([[0, 2, 1, 0], [1, 0, 1, 2]], np.float64)],
     {"shape": (3, 3)},
     lambda d, i: _scatter(d, i.astype(int), (3, 3)), [0]),
    ("_backward_gather_nd", [_A[0], _GI[:, :4]], {"shape": (5, 4)},
     lambda d, i: _scatter_add(d, i.astype(int) % np.array([[5], [4]]), (5, 4)), [0]),
    ("where", [np.array([[1.0, 0.0, 2.0, 0.0]] * 5), _A, -_A * 2], {},
     lambda c, x, y: np.where(c != 0, x, y), [1, 2]),
    ("where", [np.array([0.0, 1.0, 0.0, 3.0, 0.0]), _A, _A + 1], {},
     lambda c, x, y: np.where(c[:, None] != 0, x, y), [1, 2]),
    ("topk", [_S], {"k": 2, "ret_typ": "value"}, _ordered(_S, -1, 2, False), [0]),
    ("topk", [_S], {"k": 3, "axis": 0, "ret_typ": "both", "is_ascend": True},
     lambda v: [_ordered(_S, 0, 3, True)(v), np.zeros((3, 5))], [0]),
    ("topk", [_S], {"k": 4, "axis": None, "ret_typ": "value"},
     _ordered(_S, None, 4, False), [0]),
    ("sort", [_S], {"axis": 0, "is_ascend": False}, _ordered(_S, 0, 3, False), [0]),
    ("sort", [_S], {}, _ordered(_S, -1, 5, True), [0]),
    ("sort", [_S], {"axis": None, "is_ascend": False}, _ordered(_S, None, 15, False), [0]),
]


def _scatter(d, i, shape):
    out = np.zeros(shape)
    out[tuple(i)] = d
    return out


def _scatter_add(d, i, shape):
    out = np.zeros(shape)
    np.add.at(out, tuple(i), d)
    return out


@pytest.mark.parametrize("case", GRAD_CASES)  # ids: conftest.py
def test_gradient_is_exact(case, exact_vjp, to_nd):
    name, inputs, params, ref, wrt = case
    rng = np.random.default_rng(2)
    outs = getattr(mx.nd.op, name)(*[to_nd(a) for a in inputs], **params)
    outs = outs if isinstance(outs, list) else [outs]
    # no head on the indices output of topk 'both': it is not differentiable
    heads = [rng.standard_normal(o.shape) if k == 0 or name != "topk" else None
             for k, o in enumerate(outs)]
    exact_vjp(name, inputs, params, ref, heads, wrt)
    if name == "topk" and params["ret_typ"] == "both":
        # the indices output would need a NumPy reference of its own; the values are
        # covered by test_topk
        return
    check_op(name, inputs, params, reference=lambda *a, **k: ref(*a), grad=wrt)


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_take_gradient_accumulates_in_the_input_dtype(dtype, vjp):
    """Repeated indices add up (in float64, then cast), for low precision too."""
    a = np.zeros((3, 2), dtype)
    idx = np.array([2.0, 2.0, 2.0, 0.0] * 25)
    (g,) = vjp("take", [a, idx], {}, [np.full((100, 2), 0.1)], [0])
    assert g.dtype == dtype
    np.testing.assert_allclose(g, np.array([[2.5, 2.5], [0, 0], [7.5, 7.5]]), rtol=1e-3)


def test_index_inputs_get_zero_gradient(vjp, to_nd):
    a = _rand((4, 3)).astype(np.float64)
    i = np.array([1.0, 3.0])
    for name, ins, params in [("take", [a, i], {}), ("pick", [a, i[:1].repeat(4)], {}),
                              ("batch_take", [a, np.arange(4.0) % 3], {}),
                              ("gather_nd", [a, i.reshape(1, 2)], {}),
                              ("where", [a, a, a], {})]:
        out = getattr(mx.nd.op, name)(*[to_nd(x) for x in ins], **params)
        g = vjp(name, ins, params, [np.ones(out.shape)], [1 if name != "where" else 0])[0]
        np.testing.assert_array_equal(g, np.zeros_like(g), err_msg=name)


@pytest.mark.parametrize("name,inputs,params", [
    ("one_hot", [np.array([0.0, 2.0, 1.0])], {"depth": 3}),
    ("argsort", [_S], {"axis": 0}),
    ("topk", [_S], {"k": 2}),
    ("topk", [_S], {"k": 2, "ret_typ": "mask"}),
])
def test_discrete_ops_have_zero_gradient(name, inputs, params, vjp, to_nd):
    out = getattr(mx.nd.op, name)(*[to_nd(a) for a in inputs], **params)
    (g,) = vjp(name, inputs, params, [np.ones(out.shape)], [0])
    np.testing.assert_array_equal(g, np.zeros_like(inputs[0]))


def test_second_order_through_fused_scatters(to_nd):
    """With create_graph, d<J^T h, w>/dh = J w: the scatter kernels differentiate back
    into the gathers (take, pick, batch_take, gather_nd, where)."""
    rng = np.random.default_rng(4)
    a = rng.standard_normal((5, 4))
    cases = [("take", [np.array([1.0, 1.0, 4.0])], {"axis": 0}),
             ("pick", [np.array([0.0, 3.0, 3.0, 1.0, 2.0])], {"axis": 1}),
             ("batch_take", [np.array([0.0, 3.0, 3.0, 1.0, 2.0])], {}),
             ("gather_nd", [_GI], {})]
    for name, extra, params in cases:
        x = to_nd(a)
        x.attach_grad()
        fn = getattr(mx.nd.op, name)
        h = to_nd(rng.standard_normal(fn(x, *[to_nd(e) for e in extra], **params).shape))
        h.attach_grad()
        w = rng.standard_normal(a.shape)
        with mx.autograd.record():
            y = fn(x, *[to_nd(e) for e in extra], **params)
            (gx,) = mx.autograd.grad([y], [x], head_grads=[h], create_graph=True)
            z = (gx * to_nd(w)).sum()
        z.backward()
        jw = fn(to_nd(w), *[to_nd(e) for e in extra], **params)
        np.testing.assert_allclose(h.grad.asnumpy(), jw.asnumpy(), rtol=1e-12, err_msg=name)
    # where: the x and y parts of the head gradient recombine by the condition
    c = to_nd(np.array([1.0, 0.0, 1.0, 0.0, 1.0]))
    x, y = to_nd(a), to_nd(-a)
    x.attach_grad()
    y.attach_grad()
    h = to_nd(rng.standard_normal(a.shape))
    h.attach_grad()
    w1, w2 = rng.standard_normal(a.shape), rng.standard_normal(a.shape)
    with mx.autograd.record():
        out = mx.nd.where(c, x, y)
        gx, gy = mx.autograd.grad([out], [x, y], head_grads=[h], create_graph=True)
        z = (gx * to_nd(w1) + gy * to_nd(w2)).sum()
    z.backward()
    want = np.where(np.array([1, 0, 1, 0, 1])[:, None] != 0, w1, w2)
    np.testing.assert_allclose(h.grad.asnumpy(), want, rtol=1e-12)


def test_backward_gather_nd_forms_and_errors(same, to_nd):
    d = np.array([1.0, 2.0, 3.0])
    i = np.array([[1, 1, 0]], np.float64)
    got = mx.nd.op._backward_gather_nd(to_nd(d), to_nd(i), shape=(2,))
    same(got, np.array([3.0, 3.0]), "shape parameter")
    got = mx.nd.op._backward_gather_nd(to_nd(d[:, None]), to_nd(i), shape=(2, 1))
    same(got, np.array([[3.0], [3.0]]), "shape parameter, trailing axis")
    got = mx.nd.op._backward_gather_nd(to_nd(d), to_nd(i), to_nd(np.zeros((3,))))
    same(got, np.array([3.0, 3.0, 0.0]), "like input")
    with pytest.raises(mx.MXNetError, match="_backward_gather_nd"):
        mx.nd.op._backward_gather_nd(to_nd(d), to_nd(i), shape=(2, 2)).wait_to_read()
