"""Shape ops (transpose, swapaxes, expand_dims, squeeze, Flatten, slice family, Concat,
stack, split, tile, repeat, reverse, broadcast_to/axis/like, reshape_like, slice assign,
Pad, depth_to_space, space_to_depth, diag, shape_array, size_array, _split_v2,
cast_storage): forward against NumPy references and MXNet 1.9.1 goldens, shape inference
and error reporting, and gradients: every shape op is linear, so its gradient is checked
exactly against J^T h built column by column from the NumPy reference, besides
check_op's directional check and the MXNet goldens."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import mixnet as mx
from mixnet.test_utils import check_op

SHAPE_OPS = {"transpose", "swapaxes", "expand_dims", "squeeze", "Flatten", "slice",
             "slice_axis", "concat", "stack", "split", "tile", "repeat", "flip",
             "broadcast_to", "broadcast_axis", "broadcast_like", "pad", "depth_to_space",
             "space_to_depth", "diag"}
DTYPES = [np.float32, np.float64, np.int32]


# -------------------------------------------------------------------------------------- helpers
def _rand(shape, dtype=np.float32, rng=None):
    rng = rng or np.random.default_rng(0)
    if np.dtype(dtype).kind == "i":
        return rng.integers(-50, 50, size=shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def _nd(x, ctx=None):
    return mx.nd.array(x, dtype=x.dtype, ctx=ctx)


def _same(got, want, what=""):
    """Exact comparison: shape ops only move data."""
    g = got.asnumpy() if isinstance(got, mx.nd.NDArray) else got
    want = np.asarray(want)
    assert g.shape == want.shape, "%s: shape %s != %s" % (what, g.shape, want.shape)
    assert g.dtype == want.dtype, "%s: dtype %s != %s" % (what, g.dtype, want.dtype)
    assert np.array_equal(g, want, equal_nan=True), "%s:\n got %s\nwant %s" % (what, g, want)


def _opdef(name):
    return mx.operator.get(name)


def _infer(name, params, shapes):
    op = _opdef(name)
    return op.infer_shape(op.parse_params(params), list(shapes))


def _mx_slice_ref(x, begin, end, step):
    """MXNet's slice index rules written out per axis (defaults, wrapping, clamping),
    independent of Python's slice objects."""
    idx = []
    for i in range(x.ndim):
        n = x.shape[i]
        if i >= len(begin):
            idx.append(np.arange(n))
            continue
        s = step[i] if step and step[i] is not None else 1
        b = begin[i] if begin[i] is not None else (n - 1 if s < 0 else 0)
        e = end[i] if end[i] is not None else (-1 if s < 0 else n)
        if begin[i] is not None and b < 0:
            b += n
        if end[i] is not None and e < 0:
            e += n
        b = 0 if (b < 0 and s > 0) else b
        b = n - 1 if (b > n - 1 and s < 0) else b
        b = -1 if (b < 0 or b > n - 1) else b
        e = max(e, -1)
        e = min(e, n)
        if b < 0 or b == e:
            idx.append(np.arange(0))
        elif s > 0:
            idx.append(np.arange(b, e, s) if e > b else np.arange(0))
        else:
            idx.append(np.arange(b, e, s) if e < b else np.arange(0))
    return x[np.ix_(*idx)]


# ------------------------------------------------------------------------- transpose / swapaxes
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(4,), (2, 3), (2, 3, 4), (2, 1, 3, 2)])
def test_transpose_all_permutations(shape, dtype):
    x = _rand(shape, dtype)
    a = _nd(x)
    _same(mx.nd.transpose(a), x.T, "default reverses")
    for perm in itertools.permutations(range(len(shape))):
        _same(mx.nd.transpose(a, axes=perm), np.transpose(x, perm), str(perm))
    neg = tuple(p - len(shape) for p in reversed(range(len(shape))))
    _same(mx.nd.transpose(a, axes=neg), np.transpose(x, [p % len(shape) for p in neg]))


def test_transpose_call_forms():
    x = _rand((2, 3, 4))
    a = _nd(x)
    want = np.transpose(x, (1, 0, 2))
    _same(mx.nd.transpose(a, (1, 0, 2)), want, "positional")
    _same(mx.nd.transpose(a, axes="(1, 0, 2)"), want, "string")
    _same(a.transpose(axes=(1, 0, 2)), want, "fluent")
    _same(a.T, x.T, ".T")
    out = mx.nd.array(np.zeros((3, 2, 4), np.float32))
    r = mx.nd.transpose(a, axes=(1, 0, 2), out=out)
    assert r is out
    _same(out, want, "out=")


def test_transpose_errors():
    a = _nd(_rand((2, 3)))
    with pytest.raises(mx.MXNetError, match=r"transpose.*\(2, 3\)"):
        mx.nd.transpose(a, axes=(0, 1, 2))
    with pytest.raises(mx.MXNetError, match="permutation"):
        mx.nd.transpose(a, axes=(0, 0))


@pytest.mark.parametrize("dtype", DTYPES)
def test_swapaxes(dtype):
    x = _rand((2, 3, 4), dtype)
    a = _nd(x)
    for d1, d2 in itertools.product(range(-3, 3), repeat=2):
        _same(mx.nd.swapaxes(a, dim1=d1, dim2=d2), np.swapaxes(x, d1, d2), "%d %d" % (d1, d2))
    _same(mx.nd.SwapAxis(a, 0, 2), np.swapaxes(x, 0, 2), "positional")
    _same(a.swapaxes(dim1=1, dim2=2), np.swapaxes(x, 1, 2), "fluent")
    _same(mx.nd.swapaxes(a), x, "defaults swap 0 with 0")
    with pytest.raises(mx.MXNetError, match="SwapAxis"):
        mx.nd.swapaxes(a, dim1=3)


# -------------------------------------------------------------- expand_dims / squeeze / Flatten
@pytest.mark.parametrize("shape", [(3,), (2, 3), (2, 3, 4)])
def test_expand_dims_full_axis_range(shape):
    x = _rand(shape)
    a = _nd(x)
    nd = len(shape)
    for axis in range(-nd - 1, nd + 1):
        _same(mx.nd.expand_dims(a, axis=axis), np.expand_dims(x, axis), "axis %d" % axis)
    _same(a.expand_dims(0), x[None], "fluent positional")
    for bad in (nd + 1, -nd - 2):
        with pytest.raises(mx.MXNetError, match=r"expand_dims.*out of range.*data=\(%s"
                           % ", ".join(map(str, shape))):
            mx.nd.expand_dims(a, axis=bad)
    with pytest.raises(mx.MXNetError, match="required"):
        mx.nd.expand_dims(a)


@pytest.mark.parametrize("dtype", DTYPES)
def test_squeeze(dtype):
    x = _rand((2, 1, 3, 1), dtype)
    a = _nd(x)
    _same(mx.nd.squeeze(a), x.reshape(2, 3), "all")
    _same(mx.nd.squeeze(a, axis=1), x.reshape(2, 3, 1), "axis 1")
    _same(mx.nd.squeeze(a, axis=-1), x.reshape(2, 1, 3), "axis -1")
    _same(mx.nd.squeeze(a, axis=(1, 3)), x.reshape(2, 3), "tuple")
    _same(mx.nd.squeeze(a, axis="(1, -1)"), x.reshape(2, 3), "string")
    _same(mx.nd.squeeze(a, axis="None"), x.reshape(2, 3), "string None")
    _same(a.squeeze(), x.reshape(2, 3), "fluent")
    ones = _rand((1, 1, 1), dtype)
    _same(mx.nd.squeeze(_nd(ones)), ones.reshape(1), "all-ones shape gives (1,)")
    _same(mx.nd.squeeze(_nd(ones), axis=(0, 1, 2)), ones.reshape(1), "all axes named")
    with pytest.raises(mx.MXNetError, match=r"squeeze.*size 3.*\(2, 1, 3, 1\)"):
        mx.nd.squeeze(a, axis=2)
    with pytest.raises(mx.MXNetError, match="twice"):
        mx.nd.squeeze(a, axis=(1, -3))


@pytest.mark.parametrize("shape", [(5,), (2, 3), (2, 3, 4), (2, 0, 3), (3, 1, 2, 2)])
def test_flatten(shape):
    x = _rand(shape)
    want = x.reshape(shape[0], -1) if len(shape) > 1 else x.reshape(-1, 1)
    _same(mx.nd.Flatten(_nd(x)), want)
    _same(mx.nd.flatten(_nd(x)), want, "alias")
    _same(_nd(x).flatten(), want, "fluent")


# --------------------------------------------------------------------------------- slice family
SLICE_CASES = [
    ((1, 0), (3, 4), ()),
    ((None, 1), (None, -1), ()),
    ((0,), (2,), ()),
    ((-3, None), (-1, None), ()),
    ((None, None), (None, None), (-1, -2)),
    ((3, 4), (0, 0), (-1, -2)),
    ((-1, 3), (None, 0), (-2, -1)),
    ((10, -10), (20, 10), ()),
    ((-10, 1), (10, 2), (1, None)),
    ((2, 1), (2, 3), ()),
    ((3, None), (1, None), ()),
    ((None, 4), (None, -10), (2, -3)),
    ((0, -100), (4, 100), (3, 2)),
    ((1, 2, 0), (None, None, 2), (None, -1, None)),
]


@pytest.mark.parametrize("begin,end,step", SLICE_CASES)
def test_slice_matches_mxnet_index_rules(begin, end, step):
    x = _rand((4, 5, 3))
    a = _nd(x)
    want = _mx_slice_ref(x, begin, end, step)
    got = mx.nd.slice(a, begin=begin, end=end, step=step)
    _same(got, want, "slice %s %s %s" % (begin, end, step))
    (_, (s,)) = _infer("slice", {"begin": begin, "end": end, "step": step}, [x.shape])
    assert s == want.shape


def test_slice_call_forms_and_dtypes():
    for dtype in DTYPES:
        x = _rand((3, 6), dtype)
        a = _nd(x)
        want = x[:, 1:-1]
        _same(mx.nd.slice(a, begin="(None, 1)", end="(None, -1)"), want, "strings")
        _same(mx.nd.slice(a, (None, 1), (None, -1)), want, "positional")
        _same(mx.nd.crop(a, begin=(None, 1), end=(None, -1)), want, "crop alias")
        _same(a.slice(begin=(None, 1), end=(None, -1)), want, "fluent")
        _same(mx.nd.slice(a, begin=(0, 5), end=(3, 0), step=(1, -2)), x[0:3, 5:0:-2], "step")
        _same(mx.nd.slice(a, begin=(0, 5), end=(3, 0), step="(None, -2)"), x[0:3, 5:0:-2])


def test_slice_errors():
    a = _nd(_rand((3, 4)))
    with pytest.raises(mx.MXNetError, match=r"slice.*cannot be 0.*\(3, 4\)"):
        mx.nd.slice(a, begin=(0, 0), end=(2, 2), step=(1, 0))
    with pytest.raises(mx.MXNetError, match="same length"):
        mx.nd.slice(a, begin=(0,), end=(2, 2))
    with pytest.raises(mx.MXNetError, match="more entries"):
        mx.nd.slice(a, begin=(0, 0, 0), end=(1, 1, 1))
    with pytest.raises(mx.MXNetError, match="step"):
        mx.nd.slice(a, begin=(0, 0), end=(1, 1), step=(1,))
    with pytest.raises(mx.MXNetError, match="required"):
        mx.nd.slice(a, begin=(0, 0))


@pytest.mark.parametrize("dtype", DTYPES)
def test_slice_axis(dtype):
    x = _rand((3, 5, 2), dtype)
    a = _nd(x)
    for axis in range(-3, 3):
        n = x.shape[axis]
        for b in range(-n, n):
            for e in list(range(-n, n + 1)) + [None]:
                bb = b + n if b < 0 else b
                ee = n if e is None else (e + n if e < 0 else e)
                if bb >= ee:
                    continue
                want = np.take(x, np.arange(bb, ee), axis=axis)
                _same(mx.nd.slice_axis(a, axis=axis, begin=b, end=e), want,
                      "axis %d [%d, %s)" % (axis, b, e))
    _same(mx.nd.slice_axis(a, 1, 1, 3), x[:, 1:3], "positional")
    _same(mx.nd.slice_axis(a, axis=1, begin=1, end="None"), x[:, 1:], "string None")
    _same(a.slice_axis(axis=-1, begin=0, end=1), x[..., :1], "fluent")


def test_slice_axis_errors():
    a = _nd(_rand((3, 5)))
    with pytest.raises(mx.MXNetError, match=r"slice_axis.*begin < end.*\(3, 5\)"):
        mx.nd.slice_axis(a, axis=1, begin=3, end=2)
    with pytest.raises(mx.MXNetError, match="exceeds"):
        mx.nd.slice_axis(a, axis=1, begin=0, end=6)
    with pytest.raises(mx.MXNetError, match="out of range"):
        mx.nd.slice_axis(a, axis=2, begin=0, end=1)
    with pytest.raises(mx.MXNetError, match="begin"):
        mx.nd.slice_axis(a, axis=0, begin=-5, end=2)


def test_slice_like():
    x = _rand((4, 5, 6))
    a = _nd(x)
    like = _nd(_rand((2, 3, 4)))
    _same(mx.nd.slice_like(a, like), x[:2, :3, :4], "all axes")
    _same(mx.nd.slice_like(a, like, axes=(0, -1)), x[:2, :, :4], "some axes")
    _same(mx.nd.slice_like(a, like, (1,)), x[:, :3], "positional")
    _same(a.slice_like(like, axes="(2,)"), x[..., :4], "fluent string")
    # shape_like's dtype is irrelevant
    _same(mx.nd.slice_like(a, _nd(np.zeros((1, 1, 1), np.int32))), x[:1, :1, :1])
    with pytest.raises(mx.MXNetError, match="exceeds"):
        mx.nd.slice_like(like, a)
    with pytest.raises(mx.MXNetError, match="rank"):
        mx.nd.slice_like(a, _nd(_rand((2, 3))))
    assert _infer("slice_like", {}, [None, (2, 3)])[1] == [None]


@pytest.mark.parametrize("dtype", DTYPES)
def test_slice_assign(dtype):
    x = _rand((4, 5), dtype)
    for begin, end, step in [((1, 0), (3, 4), ()), ((None, 4), (None, 0), (None, -2)),
                             ((-1,), (None,), ()), ((0, 1), (4, 5), (2, 3))]:
        want = x.copy()
        region = _mx_slice_ref(x, begin, end, step)
        v = _rand(region.shape, dtype, np.random.default_rng(1))
        idx = tuple(slice(b, e, (step[i] if step and step[i] is not None else 1))
                    for i, (b, e) in enumerate(zip(begin, end)))
        want[idx] = v
        got = mx.nd.op._slice_assign(_nd(x), _nd(v), begin=begin, end=end, step=step)
        _same(got, want, "assign %s %s %s" % (begin, end, step))
        got = mx.nd.op._crop_assign_scalar(_nd(x), scalar=7, begin=begin, end=end, step=step)
        w2 = x.copy()
        w2[idx] = 7
        _same(got, w2, "assign scalar")
    # the value shape is inferred from lhs and the slice
    (ins, outs) = _infer("_slice_assign", {"begin": (1, None), "end": (3, None)},
                         [(4, 5), None])
    assert ins[1] == (2, 5) and outs == [(4, 5)]
    with pytest.raises(mx.MXNetError, match=r"_slice_assign.*\(3, 5\)"):
        mx.nd.op._slice_assign(_nd(x), _nd(_rand((3, 5), dtype)), begin=(0,), end=(2,))


def test_slice_assign_in_place():
    x = _rand((4, 5))
    a = _nd(x)
    mx.nd.op._slice_assign_scalar(a, scalar=-1.5, begin=(1,), end=(3,), out=a)
    want = x.copy()
    want[1:3] = -1.5
    _same(a, want)
    # the scalar is cast to the data dtype (truncation for integers)
    i = _nd(np.zeros((2, 3), np.int32))
    _same(mx.nd.op._slice_assign_scalar(i, scalar=2.7, begin=(0, 1), end=(1, 3)),
          np.array([[0, 2, 2], [0, 0, 0]], np.int32))


# ----------------------------------------------------------------------- Concat / stack / split
@pytest.mark.parametrize("dtype", DTYPES)
def test_concat(dtype):
    rng = np.random.default_rng(0)
    for dim in range(-3, 3):
        shapes = []
        for n in (1, 2, 3):
            s = [2, 3, 4]
            s[dim] = n
            shapes.append(tuple(s))
        xs = [_rand(s, dtype, rng) for s in shapes]
        want = np.concatenate(xs, axis=dim)
        _same(mx.nd.concat(*[_nd(x) for x in xs], dim=dim), want, "dim %d" % dim)
        _same(mx.nd.Concat(*[_nd(x) for x in xs], dim=str(dim)), want, "string dim")
    xs = [_rand((2, n), dtype, rng) for n in (1, 2)]
    _same(mx.nd.concat(*[_nd(x) for x in xs]), np.concatenate(xs, axis=1), "default dim=1")
    _same(mx.nd.concat(_nd(xs[0])), xs[0], "one input")
    out = _nd(np.zeros((2, 3), dtype))
    mx.nd.concat(*[_nd(x) for x in xs], out=out)
    _same(out, np.concatenate(xs, axis=1), "out=")


def test_concat_inference_and_errors():
    op = _opdef("Concat")
    p = op.parse_params({"num_args": 2, "dim": 0})
    assert op.infer_shape(p, [(2, 3), (4, 3)])[1] == [(6, 3)]
    assert op.infer_shape(p, [None, (2, 3)])[1] == [None]
    assert op.input_names(p) == ["arg0", "arg1"]
    a, b = _nd(_rand((2, 3))), _nd(_rand((3, 3)))
    with pytest.raises(mx.MXNetError, match=r"Concat.*match except on dim 1.*\(2, 3\).*\(3, 3\)"):
        mx.nd.concat(a, b)
    with pytest.raises(mx.MXNetError, match="Concat"):
        mx.nd.concat(a, _nd(_rand((2, 3, 1))), dim=0)
    with pytest.raises(mx.MXNetError, match="dtype"):
        mx.nd.concat(a, _nd(_rand((2, 3), np.float64)), dim=0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3,), (2, 3), (2, 3, 4)])
def test_stack(shape, dtype):
    rng = np.random.default_rng(0)
    xs = [_rand(shape, dtype, rng) for _ in range(3)]
    for axis in range(-len(shape) - 1, len(shape) + 1):
        _same(mx.nd.stack(*[_nd(x) for x in xs], axis=axis), np.stack(xs, axis=axis),
              "axis %d" % axis)
    _same(mx.nd.stack(*[_nd(x) for x in xs]), np.stack(xs), "default axis 0")
    with pytest.raises(mx.MXNetError, match="stack"):
        mx.nd.stack(*[_nd(x) for x in xs], axis=len(shape) + 1)


def test_stack_inference_fills_unknown_inputs():
    op = _opdef("stack")
    p = op.parse_params({"num_args": 3, "axis": 1})
    ins, outs = op.infer_shape(p, [None, (2, 3), None])
    assert ins == [(2, 3)] * 3 and outs == [(2, 3, 3)]
    assert op.infer_shape(p, [None, None, None])[1] == [None]
    with pytest.raises(mx.MXNetError, match=r"stack.*\(2, 3\).*\(3, 2\)"):
        mx.nd.stack(_nd(_rand((2, 3))), _nd(_rand((3, 2))))


@pytest.mark.parametrize("dtype", DTYPES)
def test_split(dtype):
    x = _rand((2, 6, 3), dtype)
    a = _nd(x)
    parts = mx.nd.split(a, num_outputs=3)
    assert isinstance(parts, list) and len(parts) == 3
    for got, want in zip(parts, np.split(x, 3, axis=1)):
        _same(got, want, "default axis=1")
    for axis, n in [(0, 2), (-1, 3), (2, 1), (1, 6)]:
        res = mx.nd.SliceChannel(a, num_outputs=n, axis=axis)
        res = res if isinstance(res, list) else [res]
        for got, want in zip(res, np.split(x, n, axis=axis)):
            _same(got, want, "axis %d n %d" % (axis, n))
    single = mx.nd.split(a, num_outputs=1)
    assert isinstance(single, mx.nd.NDArray)
    _same(single, x, "num_outputs=1 gives one NDArray")
    sq = mx.nd.split(a, 3, 2, True)
    for i, got in enumerate(sq):
        _same(got, x[:, :, i], "squeeze_axis")
    _same(a.split(num_outputs=2, axis=0)[1], x[1:], "fluent")
    outs = [_nd(np.zeros((2, 2, 3), dtype)) for _ in range(3)]
    mx.nd.split(a, num_outputs=3, axis=1, out=outs)
    for o, want in zip(outs, np.split(x, 3, axis=1)):
        _same(o, want, "out= list")


def test_split_errors():
    a = _nd(_rand((2, 6, 3)))
    with pytest.raises(mx.MXNetError, match=r"SliceChannel.*6 into 4.*\(2, 6, 3\)"):
        mx.nd.split(a, num_outputs=4)
    with pytest.raises(mx.MXNetError, match="squeeze_axis"):
        mx.nd.split(a, num_outputs=3, squeeze_axis=True)
    with pytest.raises(mx.MXNetError, match="required"):
        mx.nd.split(a)


# ------------------------------------------------------------------------- tile / repeat / flip
@pytest.mark.parametrize("dtype", DTYPES)
def test_tile(dtype):
    x = _rand((3, 4), dtype)
    a = _nd(x)
    for reps in [(2,), (2, 1), (1, 3), (2, 1, 2), (3, 2, 1, 1), (1,), (0, 2)]:
        _same(mx.nd.tile(a, reps=reps), np.tile(x, reps), str(reps))
    _same(mx.nd.tile(a, (2, 2)), np.tile(x, (2, 2)), "positional")
    _same(a.tile(reps="(1, 2)"), np.tile(x, (1, 2)), "fluent string")
    with pytest.raises(mx.MXNetError, match="tile"):
        mx.nd.tile(a, reps=(-1, 2))


@pytest.mark.parametrize("dtype", DTYPES)
def test_repeat(dtype):
    x = _rand((2, 3), dtype)
    a = _nd(x)
    for axis in (None, 0, 1, -1, -2):
        for r in (1, 2, 3):
            _same(mx.nd.repeat(a, repeats=r, axis=axis), np.repeat(x, r, axis=axis),
                  "axis %s r %d" % (axis, r))
    _same(mx.nd.repeat(a, 2, 1), np.repeat(x, 2, axis=1), "positional")
    _same(a.repeat(repeats=2, axis="None"), np.repeat(x, 2), "fluent, string None")
    # MXNet: zero repeats give an empty 1-D array whatever the axis
    assert mx.nd.repeat(a, repeats=0, axis=1).shape == (0,)
    with pytest.raises(mx.MXNetError, match="repeat"):
        mx.nd.repeat(a, repeats=-1)
    with pytest.raises(mx.MXNetError, match="out of range"):
        mx.nd.repeat(a, repeats=2, axis=2)


@pytest.mark.parametrize("dtype", DTYPES)
def test_reverse(dtype):
    x = _rand((2, 3, 4), dtype)
    a = _nd(x)
    for axes in [(0,), (1,), (2,), (-1,), (0, 2), (1, -1), (0, 1, 2), 1]:
        want = np.flip(x, axis=axes)
        _same(mx.nd.reverse(a, axis=axes), want, str(axes))
        _same(mx.nd.flip(a, axis=axes), want, "flip alias")
    _same(a.flip(axis="(0, 1)"), np.flip(x, (0, 1)), "fluent string")
    with pytest.raises(mx.MXNetError, match="reverse"):
        mx.nd.flip(a, axis=3)


# --------------------------------------------------------------------------------- broadcasting
@pytest.mark.parametrize("dtype", DTYPES)
def test_broadcast_to(dtype):
    x = _rand((1, 3, 1), dtype)
    a = _nd(x)
    _same(mx.nd.broadcast_to(a, shape=(2, 3, 4)), np.broadcast_to(x, (2, 3, 4)))
    _same(mx.nd.broadcast_to(a, shape=(2, 0, 4)), np.broadcast_to(x, (2, 3, 4)), "0 keeps")
    _same(mx.nd.broadcast_to(a, (0, 0, 5)), np.broadcast_to(x, (1, 3, 5)), "positional")
    _same(a.broadcast_to(shape="(3, 3, 1)"), np.broadcast_to(x, (3, 3, 1)), "fluent string")
    with pytest.raises(mx.MXNetError, match=r"broadcast_to.*\(1, 3, 1\).*\(2, 4, 4\)"):
        mx.nd.broadcast_to(a, shape=(2, 4, 4))
    with pytest.raises(mx.MXNetError, match="ranks"):
        mx.nd.broadcast_to(a, shape=(3, 4))


@pytest.mark.parametrize("dtype", DTYPES)
def test_broadcast_axis(dtype):
    x = _rand((1, 3, 1), dtype)
    a = _nd(x)
    want = np.broadcast_to(x, (2, 3, 4))
    _same(mx.nd.broadcast_axis(a, axis=(0, 2), size=(2, 4)), want)
    _same(mx.nd.broadcast_axes(a, axis=(0, -1), size=(2, 4)), want, "alias, negative")
    _same(a.broadcast_axes(axis=2, size=5), np.broadcast_to(x, (1, 3, 5)), "fluent, ints")
    _same(mx.nd.broadcast_axis(a, axis="(0,)", size="(3,)"), np.broadcast_to(x, (3, 3, 1)))
    with pytest.raises(mx.MXNetError, match="size 1"):
        mx.nd.broadcast_axis(a, axis=1, size=4)
    with pytest.raises(mx.MXNetError, match="same length"):
        mx.nd.broadcast_axis(a, axis=(0, 2), size=(2,))


def test_broadcast_like():
    x = _rand((1, 3))
    a = _nd(x)
    b = _nd(_rand((2, 3), np.float64))
    _same(mx.nd.broadcast_like(a, b), np.broadcast_to(x, (2, 3)))
    _same(a.broadcast_like(b), np.broadcast_to(x, (2, 3)), "fluent")
    y = _rand((1, 4, 1))
    c = _nd(_rand((5, 2, 7)))
    _same(mx.nd.broadcast_like(_nd(y), c, lhs_axes=(0, 2), rhs_axes=(0, -1)),
          np.broadcast_to(y, (5, 4, 7)), "axes")
    _same(mx.nd.broadcast_like(_nd(y), c, lhs_axes="(0,)", rhs_axes="(1,)"),
          np.broadcast_to(y, (2, 4, 1)), "string axes")
    with pytest.raises(mx.MXNetError, match=r"broadcast_like.*\(1, 3\).*\(2, 4\)"):
        mx.nd.broadcast_like(a, _nd(_rand((2, 4))))
    with pytest.raises(mx.MXNetError, match="equal length"):
        mx.nd.broadcast_like(_nd(y), c, lhs_axes=(0, 2), rhs_axes=(0,))
    # rhs only lends its shape: any dtype is accepted, an unknown one takes lhs's
    op = _opdef("broadcast_like")
    f16 = np.dtype(np.float16)
    assert op.infer_type(op.parse_params({}), [f16, None]) == ([f16, f16], [f16])


def test_reshape_like():
    x = _rand((2, 3, 4))
    a = _nd(x)
    _same(mx.nd.reshape_like(a, _nd(_rand((6, 4)))), x.reshape(6, 4))
    # splice rhs axes [1, 3) of (9, 4, 2, 5) in place of lhs axes [1, 3)
    rhs = _nd(_rand((9, 4, 3, 5)))
    _same(mx.nd.reshape_like(a, rhs, lhs_begin=1, lhs_end=3, rhs_begin=1, rhs_end=3),
          x.reshape(2, 4, 3), "ranges")
    _same(mx.nd.reshape_like(a, _nd(_rand((12,))), lhs_begin=-2, lhs_end=None),
          x.reshape(2, 12), "negative begin, None end")
    with pytest.raises(mx.MXNetError, match=r"reshape_like.*sizes differ"):
        mx.nd.reshape_like(a, _nd(_rand((5, 5))))


# ------------------------------------------------------------------------------------------ Pad
@pytest.mark.parametrize("mode", ["constant", "edge", "reflect"])
@pytest.mark.parametrize("shape", [(1, 2, 3, 4), (2, 1, 3, 3, 4)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_pad(mode, shape, dtype):
    x = _rand(shape, dtype)
    widths = [(0, 0), (0, 0)] + [(i % 3, (i + 1) % 3) for i in range(len(shape) - 2)]
    flat = tuple(w for pair in widths for w in pair)
    if mode == "constant":
        got = mx.nd.Pad(_nd(x), mode=mode, pad_width=flat, constant_value=2)
        want = np.pad(x, widths, mode="constant", constant_values=2)
    else:
        got = mx.nd.pad(_nd(x), mode=mode, pad_width=flat)
        want = np.pad(x, widths, mode=mode)
    _same(got, want, mode)


def test_pad_call_forms_and_errors():
    x = _rand((1, 2, 3, 4))
    want = np.pad(x, [(0, 0), (0, 0), (1, 1), (2, 2)], mode="edge")
    _same(mx.nd.pad(_nd(x), "edge", (0, 0, 0, 0, 1, 1, 2, 2)), want, "positional")
    _same(_nd(x).pad(mode="edge", pad_width="(0, 0, 0, 0, 1, 1, 2, 2)"), want, "fluent")
    with pytest.raises(mx.MXNetError, match=r"Pad.*4-D or 5-D.*\(2, 3\)"):
        mx.nd.pad(_nd(_rand((2, 3))), mode="constant", pad_width=(1, 1, 1, 1))
    with pytest.raises(mx.MXNetError, match="first"):
        mx.nd.pad(_nd(x), mode="constant", pad_width=(1, 0, 0, 0, 1, 1, 1, 1))
    with pytest.raises(mx.MXNetError, match="2\\*ndim"):
        mx.nd.pad(_nd(x), mode="constant", pad_width=(0, 0, 0, 0, 1, 1))
    with pytest.raises(mx.MXNetError, match="reflect"):
        mx.nd.pad(_nd(x), mode="reflect", pad_width=(0, 0, 0, 0, 3, 0, 0, 0))
    with pytest.raises(mx.MXNetError, match="mode"):
        mx.nd.pad(_nd(x), mode="wrap", pad_width=(0, 0, 0, 0, 1, 1, 1, 1))


# -------------------------------------------------------------- depth_to_space / space_to_depth
def _d2s_loop(x, b):
    n, c, h, w = x.shape
    co = c // (b * b)
    out = np.empty((n, co, h * b, w * b), x.dtype)
    for i, k, y, z in itertools.product(range(n), range(co), range(h * b), range(w * b)):
        # channel block (y % b, z % b) holds the pixel at offset (y % b, z % b)
        out[i, k, y, z] = x[i, ((y % b) * b + (z % b)) * co + k, y // b, z // b]
    return out


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("b", [1, 2, 3])
def test_depth_to_space_and_back(b, dtype):
    x = _rand((2, 2 * b * b, 2, 3), dtype)
    want = _d2s_loop(x, b)
    got = mx.nd.depth_to_space(_nd(x), block_size=b)
    _same(got, want, "depth_to_space")
    _same(mx.nd.space_to_depth(got, b), x, "space_to_depth inverts it")
    _same(_nd(want).space_to_depth(block_size=b), x, "fluent")


def test_depth_space_errors():
    with pytest.raises(mx.MXNetError, match=r"depth_to_space.*multiple.*\(1, 3, 2, 2\)"):
        mx.nd.depth_to_space(_nd(_rand((1, 3, 2, 2))), block_size=2)
    with pytest.raises(mx.MXNetError, match="space_to_depth"):
        mx.nd.space_to_depth(_nd(_rand((1, 3, 3, 2))), block_size=2)
    with pytest.raises(mx.MXNetError, match="4-D"):
        mx.nd.depth_to_space(_nd(_rand((4, 2, 2))), block_size=2)


# ----------------------------------------------------------------------------------------- diag
@pytest.mark.parametrize("dtype", DTYPES)
def test_diag(dtype):
    v = _rand((3,), dtype)
    for k in (-2, -1, 0, 1, 3):
        _same(mx.nd.diag(_nd(v), k=k), np.diag(v, k), "1-D k=%d" % k)
    m = _rand((3, 4), dtype)
    for k in range(-4, 6):
        _same(mx.nd.diag(_nd(m), k), np.diagonal(m, k).copy(), "2-D k=%d" % k)
    t = _rand((2, 3, 4), dtype)
    for a1, a2, k in [(0, 1, 0), (1, 2, 1), (2, 0, -1), (-1, -3, 0), (0, 2, 2)]:
        _same(mx.nd.diag(_nd(t), k=k, axis1=a1, axis2=a2), np.diagonal(t, k, a1, a2).copy(),
              "3-D %d %d %d" % (a1, a2, k))
    _same(_nd(m).diag(k=1), np.diagonal(m, 1).copy(), "fluent")
    with pytest.raises(mx.MXNetError, match="differ"):
        mx.nd.diag(_nd(t), axis1=1, axis2=-2)


# --------------------------------------------------------------------- shape_array / size_array
def test_shape_and_size_array():
    for shape in [(3,), (2, 3, 4), (2, 0)]:
        for dtype in DTYPES:
            a = _nd(_rand(shape, dtype))
            _same(mx.nd.shape_array(a), np.array(shape, np.int64), "shape_array")
            _same(a.size_array(), np.array([int(np.prod(shape))], np.int64), "size_array")
    op = _opdef("shape_array")
    assert op.infer_type(op.parse_params({}), [np.dtype(np.float32)])[1] == [np.int64]


# ------------------------------------------------------------------------------ shape inference
def test_inference_of_unknown_inputs():
    assert _infer("transpose", {}, [None])[1] == [None]
    assert _infer("transpose", {"axes": (1, 0, 2)}, [(2, 3, 4)])[1] == [(3, 2, 4)]
    assert _infer("expand_dims", {"axis": -1}, [(2, 3)])[1] == [(2, 3, 1)]
    assert _infer("Flatten", {}, [(5,)])[1] == [(5, 1)]
    assert _infer("squeeze", {}, [(1, 1)])[1] == [(1,)]
    assert _infer("SliceChannel", {"num_outputs": 2}, [None])[1] == [None, None]
    assert _infer("SliceChannel", {"num_outputs": 2, "axis": 0}, [(4, 3)])[1] == [(2, 3)] * 2
    assert _infer("tile", {"reps": (2, 1, 1)}, [(3, 4)])[1] == [(2, 3, 4)]
    assert _infer("repeat", {"repeats": 3}, [(2, 3)])[1] == [(18,)]
    assert _infer("broadcast_like", {}, [(1, 3), None])[1] == [None]
    assert _infer("reshape_like", {}, [None, (2, 3)])[1] == [None]
    assert _infer("Pad", {"mode": "edge", "pad_width": (0,) * 4 + (1, 2, 3, 4)},
                  [(1, 2, 3, 4)])[1] == [(1, 2, 6, 11)]
    assert _infer("diag", {"k": -1}, [(4,)])[1] == [(5, 5)]
    assert _infer("shape_array", {}, [(2, 3, 4)])[1] == [(3,)]
    assert _infer("size_array", {}, [(2, 3, 4)])[1] == [(1,)]


def test_every_op_runs_on_ctx(ctx):
    """One representative call per op on the device under test (CPU, and GPU when
    present), compared with the CPU result."""
    x = _rand((2, 4, 2, 2))
    cases = [
        ("transpose", [x], {"axes": (1, 0, 3, 2)}),
        ("swapaxes", [x], {"dim1": 0, "dim2": -1}),
        ("expand_dims", [x], {"axis": 2}),
        ("squeeze", [x[:, :1]], {}),
        ("Flatten", [x], {}),
        ("slice", [x], {"begin": (None, 3), "end": (None, 0), "step": (None, -2)}),
        ("slice_axis", [x], {"axis": 1, "begin": 1, "end": None}),
        ("slice_like", [x, x[:1, :2]], {"axes": (0, 1)}),
        ("concat", [x, x], {"dim": 2}),
        ("stack", [x, x], {"axis": 1}),
        ("tile", [x], {"reps": (2, 1)}),
        ("repeat", [x], {"repeats": 2, "axis": 1}),
        ("flip", [x], {"axis": (0, 3)}),
        ("broadcast_to", [x[:, :1]], {"shape": (0, 3, 0, 0)}),
        ("broadcast_axis", [x[:1]], {"axis": 0, "size": 3}),
        ("broadcast_like", [x[:1], x], {}),
        ("reshape_like", [x, x.reshape(4, 8)], {}),
        ("pad", [x], {"mode": "reflect", "pad_width": (0, 0, 0, 0, 1, 1, 1, 1)}),
        ("depth_to_space", [x], {"block_size": 2}),
        ("space_to_depth", [x], {"block_size": 2}),
        ("diag", [x], {"k": 1, "axis1": 1, "axis2": 2}),
        ("shape_array", [x], {}),
        ("size_array", [x], {}),
    ]
    for name, ins, params in cases:
        want = getattr(mx.nd, name)(*[_nd(i) for i in ins], **params)
        got = getattr(mx.nd, name)(*[_nd(i, ctx) for i in ins], **params)
        assert got.context == ctx
        _same(got, want.asnumpy(), name)
    parts = mx.nd.split(_nd(x, ctx), num_outputs=2, axis=1)
    for got, want in zip(parts, np.split(x, 2, axis=1)):
        _same(got, want, "split")
    got = mx.nd.op._slice_assign(_nd(x, ctx), _nd(x[:1], ctx), begin=(1,), end=(2,))
    _same(got, np.concatenate([x[:1], x[:1]]), "_slice_assign")



# ------------------------------------------------------------------------------------ gradients
def _vjp(op, inputs, params, heads, wrt=(0,), create_graph=False):
    """Input gradients from mixnet.autograd of ``mx.nd.<op>(*inputs, **params)`` for the
    head gradients ``heads`` (one per visible output)."""
    xs = [_nd(a) for a in inputs]
    for i in wrt:
        xs[i].attach_grad()
    with mx.autograd.record():
        out = getattr(mx.nd.op, op)(*xs, **params)
    outs = out if isinstance(out, list) else [out]
    mx.autograd.backward(outs, head_grads=[_nd(np.asarray(h, a.dtype))
                                           for h, a in zip(heads, outs)])
    return [xs[i].grad.asnumpy() for i in wrt]


def _linear_vjp(f, inputs, heads, wrt):
    """J^T h of a NumPy function affine in ``inputs[wrt]``: f(e_j) - f(0) for each unit
    vector e_j, dotted with the heads. Independent of any gradient code."""
    x = inputs[wrt]

    def at(v):
        args = list(inputs)
        args[wrt] = v
        outs = f(*args)
        outs = outs if isinstance(outs, list) else [outs]
        return sum(float(np.sum(np.asarray(o, np.float64) * h)) for o, h in zip(outs, heads))

    base = at(np.zeros_like(x))
    g = np.zeros(x.size)
    for j in range(x.size):
        e = np.zeros(x.size, x.dtype)
        e[j] = 1
        g[j] = at(e.reshape(x.shape)) - base
    return g.reshape(x.shape)


def _pad_ref(mode, pw, value=0.0):
    pairs = [(pw[2 * i], pw[2 * i + 1]) for i in range(len(pw) // 2)]
    if mode == "constant":
        return lambda x: np.pad(x, pairs, mode="constant", constant_values=value)
    return lambda x: np.pad(x, pairs, mode=mode)


def _slice_assign_ref(lhs, rhs):
    out = lhs.copy()
    out[1:3, ::2] = rhs
    return out


def _diag_nd_ref(x):
    return np.diagonal(x, -1, 2, 0)


_X = np.arange(24, dtype=np.float64).reshape(2, 3, 4) / 7 - 1
# (op, inputs, params, numpy reference, differentiable inputs)
GRAD_CASES = [
    ("transpose", [_X], {"axes": (2, 0, 1)}, lambda x: x.transpose(2, 0, 1), [0]),
    ("transpose", [_X], {"axes": (-1, 0, -2)}, lambda x: x.transpose(2, 0, 1), [0]),
    ("transpose", [_X], {}, lambda x: x.T, [0]),
    ("swapaxes", [_X], {"dim1": 0, "dim2": -1}, lambda x: x.swapaxes(0, 2), [0]),
    ("expand_dims", [_X], {"axis": -2}, lambda x: x[:, :, None], [0]),
    ("squeeze", [_X[:, :1, :, None]], {}, lambda x: x.reshape(2, 4), [0]),
    ("squeeze", [_X[:1, :1, :1]], {}, lambda x: x.reshape(1), [0]),
    ("Flatten", [_X], {}, lambda x: x.reshape(2, 12), [0]),
    ("reshape", [_X], {"shape": (0, -1, 2)}, lambda x: x.reshape(2, 6, 2), [0]),
    ("reshape", [_X], {"shape": (-1, 0), "reverse": True}, lambda x: x.reshape(6, 4), [0]),
    ("reshape_like", [_X, np.zeros((4, 6))], {}, lambda x, y: x.reshape(4, 6), [0]),
    ("slice", [_X], {"begin": (None, 2), "end": (None, 0), "step": (None, -1)},
     lambda x: x[:, 2:0:-1], [0]),
    ("slice", [_X], {"begin": (1, -2, 3), "end": (2, None, None)}, lambda x: x[1:2, -2:, 3:],
     [0]),
    ("slice_axis", [_X], {"axis": -1, "begin": 1, "end": None}, lambda x: x[..., 1:], [0]),
    ("slice_like", [_X, np.zeros((1, 2, 9))], {"axes": (0, 1)}, lambda x, y: x[:1, :2], [0]),
    ("slice_like", [_X, np.zeros((1, 2, 3))], {}, lambda x, y: x[:1, :2, :3], [0]),
    ("_slice_assign", [_X[0], _X[1, 1:3, ::2] * 3], {"begin": (1, None), "end": (3, None),
                                                      "step": (1, 2)},
     _slice_assign_ref, [0, 1]),
    ("_slice_assign_scalar", [_X], {"scalar": 5.0, "begin": (None, 1), "end": (None, 2)},
     lambda x: np.concatenate([x[:, :1], np.full((2, 1, 4), 5.0), x[:, 2:]], 1), [0]),
    ("concat", [_X, _X[:, :1] * 2, _X[:, :2] + 1], {"dim": 1},
     lambda a, b, c: np.concatenate([a, b, c], 1), [0, 1, 2]),
    ("concat", [_X], {"dim": -1}, lambda a: a, [0]),
    ("stack", [_X, _X * 2], {"axis": -1}, lambda a, b: np.stack([a, b], -1), [0, 1]),
    ("stack", [_X], {"axis": 1}, lambda a: a[:, None], [0]),
    ("split", [_X], {"num_outputs": 2, "axis": -1}, lambda x: np.split(x, 2, -1), [0]),
    ("split", [_X], {"num_outputs": 2, "axis": 0, "squeeze_axis": True},
     lambda x: [x[0], x[1]], [0]),
    ("split", [_X], {"num_outputs": 1, "axis": 1}, lambda x: x, [0]),
    ("_split_v2", [_X], {"indices": (0, 1), "axis": 1}, lambda x: [x[:, :1], x[:, 1:]], [0]),
    ("_split_v2", [_X], {"indices": (1, 2), "axis": -1}, lambda x: [x[..., 1:2], x[..., 2:]],
     [0]),
    ("_split_v2", [_X], {"indices": (), "sections": 3, "axis": 1, "squeeze_axis": True},
     lambda x: [x[:, 0], x[:, 1], x[:, 2]], [0]),
    ("tile", [_X[0]], {"reps": (2, 1, 2)}, lambda x: np.tile(x, (2, 1, 2)), [0]),
    ("tile", [_X], {"reps": (2,)}, lambda x: np.tile(x, 2), [0]),
    ("tile", [_X[0]], {"reps": ()}, lambda x: x, [0]),
    ("repeat", [_X[0]], {"repeats": 3}, lambda x: np.repeat(x, 3), [0]),
    ("repeat", [_X], {"repeats": 2, "axis": -2}, lambda x: np.repeat(x, 2, -2), [0]),
    ("flip", [_X], {"axis": (0, 2)}, lambda x: x[::-1, :, ::-1], [0]),
    ("broadcast_to", [_X[:, :1, :1]], {"shape": (0, 3, 2)},
     lambda x: np.broadcast_to(x, (2, 3, 2)), [0]),
    ("broadcast_axis", [_X[:1, :, :1]], {"axis": (0, 2), "size": (3, 2)},
     lambda x: np.broadcast_to(x, (3, 3, 2)), [0]),
    ("broadcast_like", [_X[:1, :1], np.zeros((2, 3, 4))], {},
     lambda x, y: np.broadcast_to(x, (2, 3, 4)), [0]),
    ("broadcast_like", [_X[:1, :1], np.zeros((5, 2))], {"lhs_axes": (0,), "rhs_axes": (1,)},
     lambda x, y: np.broadcast_to(x, (2, 1, 4)), [0]),
    ("pad", [_X.reshape(1, 2, 3, 4)], {"mode": "constant", "pad_width": (0, 0, 0, 0, 2, 1, 0, 3),
                                      "constant_value": 1.5},
     _pad_ref("constant", (0, 0, 0, 0, 2, 1, 0, 3), 1.5), [0]),
    ("pad", [_X.reshape(1, 2, 3, 4)], {"mode": "edge", "pad_width": (0, 0, 0, 0, 3, 1, 2, 4)},
     _pad_ref("edge", (0, 0, 0, 0, 3, 1, 2, 4)), [0]),
    ("pad", [_X.reshape(1, 2, 3, 4)], {"mode": "reflect", "pad_width": (0, 0, 0, 0, 2, 1, 3, 2)},
     _pad_ref("reflect", (0, 0, 0, 0, 2, 1, 3, 2)), [0]),
    ("pad", [_X.reshape(1, 1, 2, 3, 4)], {"mode": "reflect",
                                         "pad_width": (0, 0, 0, 0, 1, 0, 0, 2, 3, 1)},
     _pad_ref("reflect", (0, 0, 0, 0, 1, 0, 0, 2, 3, 1)), [0]),
    ("pad", [_X.reshape(1, 1, 2, 3, 4)], {"mode": "edge",
                                         "pad_width": (0, 0, 0, 0, 2, 2, 1, 0, 0, 1)},
     _pad_ref("edge", (0, 0, 0, 0, 2, 2, 1, 0, 0, 1)), [0]),
    ("depth_to_space", [_X.reshape(1, 4, 2, 3)], {"block_size": 2},
     lambda x: x.reshape(1, 2, 2, 1, 2, 3).transpose(0, 3, 4, 1, 5, 2).reshape(1, 1, 4, 6),
     [0]),
    ("space_to_depth", [_X.reshape(1, 1, 4, 6)], {"block_size": 2},
     lambda x: x.reshape(1, 1, 2, 2, 3, 2).transpose(0, 3, 5, 1, 2, 4).reshape(1, 4, 2, 3),
     [0]),
    ("diag", [_X[0, 0]], {"k": -2}, lambda x: np.diag(x, -2), [0]),
    ("diag", [_X[0]], {"k": 1}, lambda x: np.diag(x, 1), [0]),
    ("diag", [_X[0].T], {"k": -1}, lambda x: np.diag(x, -1), [0]),
    ("diag", [_X], {"k": -1, "axis1": 2, "axis2": 0}, _diag_nd_ref, [0]),
    ("cast_storage", [_X], {"stype": "default"}, lambda x: x, [0]),
]


def _case_id(case):
    return "%s-%s" % (case[0], "-".join("%s=%s" % kv for kv in sorted(case[2].items())))


@pytest.mark.parametrize("case", GRAD_CASES, ids=[_case_id(c) for c in GRAD_CASES])
def test_gradient_is_exact_transpose_of_the_op(case):
    """Autograd's input gradients equal J^T h computed from the NumPy reference, and
    check_op's forward and directional-derivative checks pass."""
    name, inputs, params, ref, wrt = case
    rng = np.random.default_rng(1)
    outs = ref(*inputs)
    outs = outs if isinstance(outs, list) else [outs]
    heads = [rng.standard_normal(np.shape(o)) for o in outs]
    got = _vjp(name, inputs, params, heads, wrt)
    for g, i in zip(got, wrt):
        want = _linear_vjp(ref, inputs, heads, i)
        assert g.dtype == inputs[i].dtype
        np.testing.assert_allclose(g, want, rtol=1e-12, atol=1e-12, err_msg="input %d" % i)
    check_op(name, inputs, params, reference=lambda *a, **k: ref(*a), grad=wrt)


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
@pytest.mark.parametrize("name,params,shape", [
    ("tile", {"reps": (3, 2)}, (2, 3)),
    ("repeat", {"repeats": 4}, (2, 3)),
    ("pad", {"mode": "edge", "pad_width": (0, 0, 0, 0, 2, 2, 2, 2)}, (1, 1, 2, 2)),
    ("broadcast_to", {"shape": (6, 3)}, (1, 3)),
])
def test_summing_gradients_keep_the_dtype(name, params, shape, dtype):
    """Gradients that add copies up come back in the input's dtype (float16 summed in
    float32)."""
    x = np.ones(shape, dtype)
    out = getattr(mx.nd.op, name)(_nd(x), **params)
    (g,) = _vjp(name, [x], params, [np.ones(out.shape)])
    assert g.dtype == dtype
    copies = out.size // x.size
    if name == "pad":
        # corners of a 2x2 image padded by 2 with edge mode collect a 3x3 block each
        np.testing.assert_array_equal(g, np.full(shape, 9, dtype))
    else:
        np.testing.assert_array_equal(g, np.full(shape, copies, dtype))


def test_repeat_zero_and_tile_zero_give_zero_gradient():
    x = np.ones((2, 3))
    for name, params in [("repeat", {"repeats": 0}), ("tile", {"reps": (0, 2)})]:
        out = getattr(mx.nd.op, name)(_nd(x), **params)
        (g,) = _vjp(name, [x], params, [np.ones(out.shape)])
        np.testing.assert_array_equal(g, np.zeros_like(x))


@pytest.mark.parametrize("name", ["shape_array", "size_array"])
def test_shape_queries_have_zero_gradient(name):
    x = _rand((2, 3)).astype(np.float64)
    (g,) = _vjp(name, [x], {}, [np.ones(2 if name == "shape_array" else 1)])
    np.testing.assert_array_equal(g, np.zeros_like(x))


def test_second_order_through_fused_backward_ops():
    """The fused backward kernels are differentiable: with create_graph the gradient of
    <J^T h, w> with respect to h is J w (checked for slice, tile, Pad, diag, repeat)."""
    rng = np.random.default_rng(3)
    cases = [
        ("slice", {"begin": (1, None), "end": (None, None), "step": (None, 2)}, (3, 5)),
        ("tile", {"reps": (2, 2)}, (2, 3)),
        ("pad", {"mode": "reflect", "pad_width": (0, 0, 0, 0, 1, 2, 2, 1)}, (1, 1, 3, 4)),
        ("pad", {"mode": "constant", "pad_width": (0, 0, 0, 0, 1, 0, 0, 1),
                 "constant_value": 2.0}, (1, 1, 2, 2)),
        ("diag", {"k": 1}, (3, 4)),
        ("repeat", {"repeats": 2, "axis": 0}, (2, 3)),
        ("concat", {"dim": 0}, (2, 3)),
        ("_split_v2", {"indices": (1, 2), "axis": 0}, (3, 2)),
    ]
    for name, params, shape in cases:
        x = _nd(rng.standard_normal(shape))
        x.attach_grad()
        fn = getattr(mx.nd.op, name)
        out = fn(x, **params)
        outs = out if isinstance(out, list) else [out]
        hs = [_nd(rng.standard_normal(o.shape)) for o in outs]
        for h in hs:
            h.attach_grad()
        w = rng.standard_normal(shape)
        with mx.autograd.record():
            out = fn(x, **params)
            outs = out if isinstance(out, list) else [out]
            (gx,) = mx.autograd.grad(outs, [x], head_grads=hs, create_graph=True)
            z = (gx * _nd(w)).sum()
        z.backward()
        jw = fn(_nd(w), **params)
        jws = jw if isinstance(jw, list) else [jw]
        if name == "pad":  # J of the affine pad has no constant term
            jws = [mx.nd.pad(_nd(w), **dict(params, constant_value=0.0))]
        for h, j in zip(hs, jws):
            np.testing.assert_allclose(h.grad.asnumpy(), j.asnumpy(), rtol=1e-12,
                                       err_msg=name)


# ------------------------------------------------------------------------------------ _split_v2
def test_split_v2_forward_and_errors():
    x = _rand((3, 7)).astype(np.float64)
    parts = mx.nd.op._split_v2(_nd(x), indices=(0, 2, 5), axis=1)
    for got, want in zip(parts, np.split(x, [2, 5], axis=1)):
        _same(got, want, "_split_v2 indices")
    parts = mx.nd.op._split_v2(_nd(x), indices=(), sections=3, axis=0, squeeze_axis=True)
    for got, want in zip(parts, x):
        _same(got, want, "_split_v2 sections squeeze")
    # parts begin at each index: elements before the first one belong to no part
    (got,) = [mx.nd.op._split_v2(_nd(x), indices=(4,), axis=-1)]
    _same(got, x[:, 4:], "_split_v2 single part")
    (g,) = _vjp("_split_v2", [x], {"indices": (4,), "axis": -1}, [np.ones((3, 3))])
    _same(g, np.concatenate([np.zeros((3, 4)), np.ones((3, 3))], 1), "_split_v2 grad")
    assert _infer("_split_v2", {"indices": (0, 3), "axis": 0}, [(5, 2)])[1] == [(3, 2), (2, 2)]
    bad = [({"indices": (), "sections": 2, "axis": 1}, "equal"),
           ({"indices": (0, 4, 2), "axis": 1}, "increasing"),
           ({"indices": (0, 9), "axis": 1}, "within"),
           ({"indices": (0, 2), "axis": 1, "squeeze_axis": True}, "size 1"),
           ({"indices": ()}, "indices or sections"),
           ({"indices": (0,), "axis": 2}, "out of range")]
    for params, text in bad:
        with pytest.raises(mx.base.MXNetError, match=text) as e:
            mx.nd.op._split_v2(_nd(x), **params)
        assert "_split_v2" in str(e.value)


# ---------------------------------------------------------------------------------- cast_storage
def test_cast_storage_op_dense_path():
    x = _rand((2, 3))
    for stype in ("default", "csr", "row_sparse"):
        _same(mx.nd.op.cast_storage(_nd(x), stype=stype), x, "cast_storage " + stype)
    with pytest.raises(mx.base.MXNetError, match="cast_storage.*2-D"):
        mx.nd.op.cast_storage(_nd(_rand((2, 2, 2))), stype="csr")
    with pytest.raises(mx.base.MXNetError, match="cast_storage"):
        mx.nd.op.cast_storage(_nd(x), stype="dense")
