"""Slicing, joining, tiling and padding ops (the slice family and slice assignment,
Concat, stack, split, _split_v2, tile, repeat, Pad): forward against NumPy references and
MXNet 1.9.1 goldens, shape inference and error reporting, and gradients: every op here is
linear, so its gradient is checked exactly against J^T h built column by column from the
NumPy reference, besides check_op's directional check and the MXNet goldens. The shared
helpers are fixtures of tests/operator/conftest.py."""
from __future__ import annotations

import numpy as np
import pytest

import mixnet as mx

SLICING_OPS = {"slice", "slice_axis", "concat", "stack", "split", "tile", "repeat", "pad"}
DTYPES = [np.float32, np.float64, np.int32]


# -------------------------------------------------------------------------------------- helpers
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
def test_slice_matches_mxnet_index_rules(begin, end, step, rand, to_nd, same, infer):
    x = rand((4, 5, 3))
    a = to_nd(x)
    want = _mx_slice_ref(x, begin, end, step)
    got = mx.nd.slice(a, begin=begin, end=end, step=step)
    same(got, want, "slice %s %s %s" % (begin, end, step))
    (_, (s,)) = infer("slice", {"begin": begin, "end": end, "step": step}, [x.shape])
    assert s == want.shape


def test_slice_call_forms_and_dtypes(rand, to_nd, same):
    for dtype in DTYPES:
        x = rand((3, 6), dtype)
        a = to_nd(x)
        want = x[:, 1:-1]
        same(mx.nd.slice(a, begin="(None, 1)", end="(None, -1)"), want, "strings")
        same(mx.nd.slice(a, (None, 1), (None, -1)), want, "positional")
        same(mx.nd.crop(a, begin=(None, 1), end=(None, -1)), want, "crop alias")
        same(a.slice(begin=(None, 1), end=(None, -1)), want, "fluent")
        same(mx.nd.slice(a, begin=(0, 5), end=(3, 0), step=(1, -2)), x[0:3, 5:0:-2], "step")
        same(mx.nd.slice(a, begin=(0, 5), end=(3, 0), step="(None, -2)"), x[0:3, 5:0:-2])


def test_slice_errors(to_nd, rand):
    a = to_nd(rand((3, 4)))
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
def test_slice_axis(dtype, rand, to_nd, same):
    x = rand((3, 5, 2), dtype)
    a = to_nd(x)
    for axis in range(-3, 3):
        n = x.shape[axis]
        for b in range(-n, n):
            for e in list(range(-n, n + 1)) + [None]:
                bb = b + n if b < 0 else b
                ee = n if e is None else (e + n if e < 0 else e)
                if bb >= ee:
                    continue
                want = np.take(x, np.arange(bb, ee), axis=axis)
                same(mx.nd.slice_axis(a, axis=axis, begin=b, end=e), want,
                     "axis %d [%d, %s)" % (axis, b, e))
    same(mx.nd.slice_axis(a, 1, 1, 3), x[:, 1:3], "positional")
    same(mx.nd.slice_axis(a, axis=1, begin=1, end="None"), x[:, 1:], "string None")
    same(a.slice_axis(axis=-1, begin=0, end=1), x[..., :1], "fluent")


def test_slice_axis_errors(to_nd, rand):
    a = to_nd(rand((3, 5)))
    with pytest.raises(mx.MXNetError, match=r"slice_axis.*begin < end.*\(3, 5\)"):
        mx.nd.slice_axis(a, axis=1, begin=3, end=2)
    with pytest.raises(mx.MXNetError, match="exceeds"):
        mx.nd.slice_axis(a, axis=1, begin=0, end=6)
    with pytest.raises(mx.MXNetError, match="out of range"):
        mx.nd.slice_axis(a, axis=2, begin=0, end=1)
    with pytest.raises(mx.MXNetError, match="begin"):
        mx.nd.slice_axis(a, axis=0, begin=-5, end=2)


def test_slice_like(rand, to_nd, same, infer):
    x = rand((4, 5, 6))
    a = to_nd(x)
    like = to_nd(rand((2, 3, 4)))
    same(mx.nd.slice_like(a, like), x[:2, :3, :4], "all axes")
    same(mx.nd.slice_like(a, like, axes=(0, -1)), x[:2, :, :4], "some axes")
    same(mx.nd.slice_like(a, like, (1,)), x[:, :3], "positional")
    same(a.slice_like(like, axes="(2,)"), x[..., :4], "fluent string")
    # shape_like's dtype is irrelevant
    same(mx.nd.slice_like(a, to_nd(np.zeros((1, 1, 1), np.int32))), x[:1, :1, :1])
    with pytest.raises(mx.MXNetError, match="exceeds"):
        mx.nd.slice_like(like, a)
    with pytest.raises(mx.MXNetError, match="rank"):
        mx.nd.slice_like(a, to_nd(rand((2, 3))))
    assert infer("slice_like", {}, [None, (2, 3)])[1] == [None]


@pytest.mark.parametrize("dtype", DTYPES)
def test_slice_assign(dtype, rand, infer, same, to_nd):
    x = rand((4, 5), dtype)
    for begin, end, step in [((1, 0), (3, 4), ()), ((None, 4), (None, 0), (None, -2)),
                             ((-1,), (None,), ()), ((0, 1), (4, 5), (2, 3))]:
        want = x.copy()
        region = _mx_slice_ref(x, begin, end, step)
        v = rand(region.shape, dtype, np.random.default_rng(1))
        idx = tuple(slice(b, e, (step[i] if step and step[i] is not None else 1))
                    for i, (b, e) in enumerate(zip(begin, end)))
        want[idx] = v
        got = mx.nd.op._slice_assign(to_nd(x), to_nd(v), begin=begin, end=end, step=step)
        same(got, want, "assign %s %s %s" % (begin, end, step))
        got = mx.nd.op._crop_assign_scalar(to_nd(x), scalar=7, begin=begin, end=end, step=step)
        w2 = x.copy()
        w2[idx] = 7
        same(got, w2, "assign scalar")
    # the value shape is inferred from lhs and the slice
    (ins, outs) = infer("_slice_assign", {"begin": (1, None), "end": (3, None)},
                        [(4, 5), None])
    assert ins[1] == (2, 5) and outs == [(4, 5)]
    with pytest.raises(mx.MXNetError, match=r"_slice_assign.*\(3, 5\)"):
        mx.nd.op._slice_assign(to_nd(x), to_nd(rand((3, 5), dtype)), begin=(0,), end=(2,))


def test_slice_assign_in_place(rand, to_nd, same):
    x = rand((4, 5))
    a = to_nd(x)
    mx.nd.op._slice_assign_scalar(a, scalar=-1.5, begin=(1,), end=(3,), out=a)
    want = x.copy()
    want[1:3] = -1.5
    same(a, want)
    # the scalar is cast to the data dtype (truncation for integers)
    i = to_nd(np.zeros((2, 3), np.int32))
    same(mx.nd.op._slice_assign_scalar(i, scalar=2.7, begin=(0, 1), end=(1, 3)),
         np.array([[0, 2, 2], [0, 0, 0]], np.int32))


# ----------------------------------------------------------------------- Concat / stack / split
@pytest.mark.parametrize("dtype", DTYPES)
def test_concat(dtype, same, to_nd, rand):
    rng = np.random.default_rng(0)
    for dim in range(-3, 3):
        shapes = []
        for n in (1, 2, 3):
            s = [2, 3, 4]
            s[dim] = n
            shapes.append(tuple(s))
        xs = [rand(s, dtype, rng) for s in shapes]
        want = np.concatenate(xs, axis=dim)
        same(mx.nd.concat(*[to_nd(x) for x in xs], dim=dim), want, "dim %d" % dim)
        same(mx.nd.Concat(*[to_nd(x) for x in xs], dim=str(dim)), want, "string dim")
    xs = [rand((2, n), dtype, rng) for n in (1, 2)]
    same(mx.nd.concat(*[to_nd(x) for x in xs]), np.concatenate(xs, axis=1), "default dim=1")
    same(mx.nd.concat(to_nd(xs[0])), xs[0], "one input")
    out = to_nd(np.zeros((2, 3), dtype))
    mx.nd.concat(*[to_nd(x) for x in xs], out=out)
    same(out, np.concatenate(xs, axis=1), "out=")


def test_concat_inference_and_errors(to_nd, rand):
    op = mx.operator.get("Concat")
    p = op.parse_params({"num_args": 2, "dim": 0})
    assert op.infer_shape(p, [(2, 3), (4, 3)])[1] == [(6, 3)]
    assert op.infer_shape(p, [None, (2, 3)])[1] == [None]
    assert op.input_names(p) == ["arg0", "arg1"]
    a, b = to_nd(rand((2, 3))), to_nd(rand((3, 3)))
    with pytest.raises(mx.MXNetError, match=r"Concat.*match except on dim 1.*\(2, 3\).*\(3, 3\)"):
        mx.nd.concat(a, b)
    with pytest.raises(mx.MXNetError, match="Concat"):
        mx.nd.concat(a, to_nd(rand((2, 3, 1))), dim=0)
    with pytest.raises(mx.MXNetError, match="dtype"):
        mx.nd.concat(a, to_nd(rand((2, 3), np.float64)), dim=0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3,), (2, 3), (2, 3, 4)])
def test_stack(shape, dtype, same, rand, to_nd):
    rng = np.random.default_rng(0)
    xs = [rand(shape, dtype, rng) for _ in range(3)]
    for axis in range(-len(shape) - 1, len(shape) + 1):
        same(mx.nd.stack(*[to_nd(x) for x in xs], axis=axis), np.stack(xs, axis=axis),
             "axis %d" % axis)
    same(mx.nd.stack(*[to_nd(x) for x in xs]), np.stack(xs), "default axis 0")
    with pytest.raises(mx.MXNetError, match="stack"):
        mx.nd.stack(*[to_nd(x) for x in xs], axis=len(shape) + 1)


def test_stack_inference_fills_unknown_inputs(to_nd, rand):
    op = mx.operator.get("stack")
    p = op.parse_params({"num_args": 3, "axis": 1})
    ins, outs = op.infer_shape(p, [None, (2, 3), None])
    assert ins == [(2, 3)] * 3 and outs == [(2, 3, 3)]
    assert op.infer_shape(p, [None, None, None])[1] == [None]
    with pytest.raises(mx.MXNetError, match=r"stack.*\(2, 3\).*\(3, 2\)"):
        mx.nd.stack(to_nd(rand((2, 3))), to_nd(rand((3, 2))))


@pytest.mark.parametrize("dtype", DTYPES)
def test_split(dtype, rand, to_nd, same):
    x = rand((2, 6, 3), dtype)
    a = to_nd(x)
    parts = mx.nd.split(a, num_outputs=3)
    assert isinstance(parts, list) and len(parts) == 3
    for got, want in zip(parts, np.split(x, 3, axis=1)):
        same(got, want, "default axis=1")
    for axis, n in [(0, 2), (-1, 3), (2, 1), (1, 6)]:
        res = mx.nd.SliceChannel(a, num_outputs=n, axis=axis)
        res = res if isinstance(res, list) else [res]
        for got, want in zip(res, np.split(x, n, axis=axis)):
            same(got, want, "axis %d n %d" % (axis, n))
    single = mx.nd.split(a, num_outputs=1)
    assert isinstance(single, mx.nd.NDArray)
    same(single, x, "num_outputs=1 gives one NDArray")
    sq = mx.nd.split(a, 3, 2, True)
    for i, got in enumerate(sq):
        same(got, x[:, :, i], "squeeze_axis")
    same(a.split(num_outputs=2, axis=0)[1], x[1:], "fluent")
    outs = [to_nd(np.zeros((2, 2, 3), dtype)) for _ in range(3)]
    mx.nd.split(a, num_outputs=3, axis=1, out=outs)
    for o, want in zip(outs, np.split(x, 3, axis=1)):
        same(o, want, "out= list")


def test_split_errors(to_nd, rand):
    a = to_nd(rand((2, 6, 3)))
    with pytest.raises(mx.MXNetError, match=r"SliceChannel.*6 into 4.*\(2, 6, 3\)"):
        mx.nd.split(a, num_outputs=4)
    with pytest.raises(mx.MXNetError, match="squeeze_axis"):
        mx.nd.split(a, num_outputs=3, squeeze_axis=True)
    with pytest.raises(mx.MXNetError, match="required"):
        mx.nd.split(a)


# ------------------------------------------------------------------------------ tile / repeat
@pytest.mark.parametrize("dtype", DTYPES)
def test_tile(dtype, rand, to_nd, same):
    x = rand((3, 4), dtype)
    a = to_nd(x)
    for reps in [(2,), (2, 1), (1, 3), (2, 1, 2), (3, 2, 1, 1), (1,), (0, 2)]:
        same(mx.nd.tile(a, reps=reps), np.tile(x, reps), str(reps))
    same(mx.nd.tile(a, (2, 2)), np.tile(x, (2, 2)), "positional")
    same(a.tile(reps="(1, 2)"), np.tile(x, (1, 2)), "fluent string")
    with pytest.raises(mx.MXNetError, match="tile"):
        mx.nd.tile(a, reps=(-1, 2))


@pytest.mark.parametrize("dtype", DTYPES)
def test_repeat(dtype, rand, to_nd, same):
    x = rand((2, 3), dtype)
    a = to_nd(x)
    for axis in (None, 0, 1, -1, -2):
        for r in (1, 2, 3):
            same(mx.nd.repeat(a, repeats=r, axis=axis), np.repeat(x, r, axis=axis),
                 "axis %s r %d" % (axis, r))
    same(mx.nd.repeat(a, 2, 1), np.repeat(x, 2, axis=1), "positional")
    same(a.repeat(repeats=2, axis="None"), np.repeat(x, 2), "fluent, string None")
    # MXNet: zero repeats give an empty 1-D array whatever the axis
    assert mx.nd.repeat(a, repeats=0, axis=1).shape == (0,)
    with pytest.raises(mx.MXNetError, match="repeat"):
        mx.nd.repeat(a, repeats=-1)
    with pytest.raises(mx.MXNetError, match="out of range"):
        mx.nd.repeat(a, repeats=2, axis=2)

# ------------------------------------------------------------------------------------------ Pad
@pytest.mark.parametrize("mode", ["constant", "edge", "reflect"])
@pytest.mark.parametrize("shape", [(1, 2, 3, 4), (2, 1, 3, 3, 4)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_pad(mode, shape, dtype, rand, same, to_nd):
    x = rand(shape, dtype)
    widths = [(0, 0), (0, 0)] + [(i % 3, (i + 1) % 3) for i in range(len(shape) - 2)]
    flat = tuple(w for pair in widths for w in pair)
    if mode == "constant":
        got = mx.nd.Pad(to_nd(x), mode=mode, pad_width=flat, constant_value=2)
        want = np.pad(x, widths, mode="constant", constant_values=2)
    else:
        got = mx.nd.pad(to_nd(x), mode=mode, pad_width=flat)
        want = np.pad(x, widths, mode=mode)
    same(got, want, mode)


def test_pad_call_forms_and_errors(rand, same, to_nd):
    x = rand((1, 2, 3, 4))
    want = np.pad(x, [(0, 0), (0, 0), (1, 1), (2, 2)], mode="edge")
    same(mx.nd.pad(to_nd(x), "edge", (0, 0, 0, 0, 1, 1, 2, 2)), want, "positional")
    same(to_nd(x).pad(mode="edge", pad_width="(0, 0, 0, 0, 1, 1, 2, 2)"), want, "fluent")
    with pytest.raises(mx.MXNetError, match=r"Pad.*4-D or 5-D.*\(2, 3\)"):
        mx.nd.pad(to_nd(rand((2, 3))), mode="constant", pad_width=(1, 1, 1, 1))
    with pytest.raises(mx.MXNetError, match="first"):
        mx.nd.pad(to_nd(x), mode="constant", pad_width=(1, 0, 0, 0, 1, 1, 1, 1))
    with pytest.raises(mx.MXNetError, match="2\\*ndim"):
        mx.nd.pad(to_nd(x), mode="constant", pad_width=(0, 0, 0, 0, 1, 1))
    with pytest.raises(mx.MXNetError, match="reflect"):
        mx.nd.pad(to_nd(x), mode="reflect", pad_width=(0, 0, 0, 0, 3, 0, 0, 0))
    with pytest.raises(mx.MXNetError, match="mode"):
        mx.nd.pad(to_nd(x), mode="wrap", pad_width=(0, 0, 0, 0, 1, 1, 1, 1))



# ------------------------------------------------------------------------------ shape inference
def test_inference_of_unknown_inputs(infer):
    assert infer("SliceChannel", {"num_outputs": 2}, [None])[1] == [None, None]
    assert infer("SliceChannel", {"num_outputs": 2, "axis": 0}, [(4, 3)])[1] == [(2, 3)] * 2
    assert infer("tile", {"reps": (2, 1, 1)}, [(3, 4)])[1] == [(2, 3, 4)]
    assert infer("repeat", {"repeats": 3}, [(2, 3)])[1] == [(18,)]
    assert infer("Pad", {"mode": "edge", "pad_width": (0,) * 4 + (1, 2, 3, 4)},
                 [(1, 2, 3, 4)])[1] == [(1, 2, 6, 11)]


def test_every_op_runs_on_ctx(ctx, rand, on_ctx_like_cpu, same, to_nd):
    """One representative call per op on the device under test (CPU, and GPU when
    present), compared with the CPU result."""
    x = rand((2, 4, 2, 2))
    on_ctx_like_cpu([
        ("slice", [x], {"begin": (None, 3), "end": (None, 0), "step": (None, -2)}),
        ("slice_axis", [x], {"axis": 1, "begin": 1, "end": None}),
        ("slice_like", [x, x[:1, :2]], {"axes": (0, 1)}),
        ("concat", [x, x], {"dim": 2}),
        ("stack", [x, x], {"axis": 1}),
        ("tile", [x], {"reps": (2, 1)}),
        ("repeat", [x], {"repeats": 2, "axis": 1}),
        ("pad", [x], {"mode": "reflect", "pad_width": (0, 0, 0, 0, 1, 1, 1, 1)}),
    ], ctx)
    parts = mx.nd.split(to_nd(x, ctx), num_outputs=2, axis=1)
    for got, want in zip(parts, np.split(x, 2, axis=1)):
        same(got, want, "split")
    got = mx.nd.op._slice_assign(to_nd(x, ctx), to_nd(x[:1], ctx), begin=(1,), end=(2,))
    same(got, np.concatenate([x[:1], x[:1]]), "_slice_assign")



# ------------------------------------------------------------------------------------ gradients
def _pad_ref(mode, pw, value=0.0):
    pairs = [(pw[2 * i], pw[2 * i + 1]) for i in range(len(pw) // 2)]
    if mode == "constant":
        return lambda x: np.pad(x, pairs, mode="constant", constant_values=value)
    return lambda x: np.pad(x, pairs, mode=mode)


def _slice_assign_ref(lhs, rhs):
    out = lhs.copy()
    out[1:3, ::2] = rhs
    return out


_X = np.arange(24, dtype=np.float64).reshape(2, 3, 4) / 7 - 1
# (op, inputs, params, numpy reference, differentiable inputs)
GRAD_CASES = [
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
]


@pytest.mark.parametrize("case", GRAD_CASES)  # ids: conftest.py
def test_gradient_is_exact_transpose_of_the_op(case, linear_op):
    """Autograd's input gradients equal J^T h computed from the NumPy reference, and
    check_op's forward and directional-derivative checks pass."""
    linear_op(*case)


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
@pytest.mark.parametrize("name,params,shape", [
    ("tile", {"reps": (3, 2)}, (2, 3)),
    ("repeat", {"repeats": 4}, (2, 3)),
    ("pad", {"mode": "edge", "pad_width": (0, 0, 0, 0, 2, 2, 2, 2)}, (1, 1, 2, 2)),
])
def test_summing_gradients_keep_the_dtype(name, params, shape, dtype, vjp, to_nd):
    """Gradients that add copies up come back in the input's dtype (float16 summed in
    float32)."""
    x = np.ones(shape, dtype)
    out = getattr(mx.nd.op, name)(to_nd(x), **params)
    (g,) = vjp(name, [x], params, [np.ones(out.shape)])
    assert g.dtype == dtype
    copies = out.size // x.size
    if name == "pad":
        # corners of a 2x2 image padded by 2 with edge mode collect a 3x3 block each
        np.testing.assert_array_equal(g, np.full(shape, 9, dtype))
    else:
        np.testing.assert_array_equal(g, np.full(shape, copies, dtype))


def test_repeat_zero_and_tile_zero_give_zero_gradient(vjp, to_nd):
    x = np.ones((2, 3))
    for name, params in [("repeat", {"repeats": 0}), ("tile", {"reps": (0, 2)})]:
        out = getattr(mx.nd.op, name)(to_nd(x), **params)
        (g,) = vjp(name, [x], params, [np.ones(out.shape)])
        np.testing.assert_array_equal(g, np.zeros_like(x))



def test_second_order_through_fused_backward_ops(second_order):
    """The fused backward kernels are differentiable: with create_graph the gradient of
    <J^T h, w> with respect to h is J w (checked for slice, tile, Pad, repeat, concat,
    _split_v2)."""
    rng = np.random.default_rng(3)
    cases = [
        ("slice", {"begin": (1, None), "end": (None, None), "step": (None, 2)}, (3, 5)),
        ("tile", {"reps": (2, 2)}, (2, 3)),
        ("pad", {"mode": "reflect", "pad_width": (0, 0, 0, 0, 1, 2, 2, 1)}, (1, 1, 3, 4)),
        ("pad", {"mode": "constant", "pad_width": (0, 0, 0, 0, 1, 0, 0, 1),
                 "constant_value": 2.0}, (1, 1, 2, 2)),
        ("repeat", {"repeats": 2, "axis": 0}, (2, 3)),
        ("concat", {"dim": 0}, (2, 3)),
        ("_split_v2", {"indices": (1, 2), "axis": 0}, (3, 2)),
    ]
    for name, params, shape in cases:
        second_order(name, params, shape, rng)


# ------------------------------------------------------------------------------------ _split_v2
def test_split_v2_forward_and_errors(same, vjp, to_nd, rand, infer):
    x = rand((3, 7)).astype(np.float64)
    parts = mx.nd.op._split_v2(to_nd(x), indices=(0, 2, 5), axis=1)
    for got, want in zip(parts, np.split(x, [2, 5], axis=1)):
        same(got, want, "_split_v2 indices")
    parts = mx.nd.op._split_v2(to_nd(x), indices=(), sections=3, axis=0, squeeze_axis=True)
    for got, want in zip(parts, x):
        same(got, want, "_split_v2 sections squeeze")
    # parts begin at each index: elements before the first one belong to no part
    (got,) = [mx.nd.op._split_v2(to_nd(x), indices=(4,), axis=-1)]
    same(got, x[:, 4:], "_split_v2 single part")
    (g,) = vjp("_split_v2", [x], {"indices": (4,), "axis": -1}, [np.ones((3, 3))])
    same(g, np.concatenate([np.zeros((3, 4)), np.ones((3, 3))], 1), "_split_v2 grad")
    assert infer("_split_v2", {"indices": (0, 3), "axis": 0}, [(5, 2)])[1] == [(3, 2), (2, 2)]
    bad = [({"indices": (), "sections": 2, "axis": 1}, "equal"),
           ({"indices": (0, 4, 2), "axis": 1}, "increasing"),
           ({"indices": (0, 9), "axis": 1}, "within"),
           ({"indices": (0, 2), "axis": 1, "squeeze_axis": True}, "size 1"),
           ({"indices": ()}, "indices or sections"),
           ({"indices": (0,), "axis": 2}, "out of range")]
    for params, text in bad:
        with pytest.raises(mx.base.MXNetError, match=text) as e:
            mx.nd.op._split_v2(to_nd(x), **params)
        assert "_split_v2" in str(e.value)
