"""Shape ops that keep every element (transpose, swapaxes, expand_dims, squeeze, Flatten,
reverse, broadcast_to/axis/like, reshape_like, depth_to_space, space_to_depth, diag,
shape_array, size_array, cast_storage): forward against NumPy references and MXNet 1.9.1
goldens, shape inference and error reporting, and gradients: every shape op is linear, so
its gradient is checked exactly against J^T h built column by column from the NumPy
reference, besides check_op's directional check and the MXNet goldens. The shared helpers
are fixtures of tests/operator/conftest.py; the slicing, joining, tiling and padding ops
are tested in test_slicing.py."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import mixnet as mx

SHAPE_OPS = {"transpose", "swapaxes", "expand_dims", "squeeze", "Flatten", "flip",
             "broadcast_to", "broadcast_axis", "broadcast_like", "depth_to_space",
             "space_to_depth", "diag"}
DTYPES = [np.float32, np.float64, np.int32]


# ------------------------------------------------------------------------- transpose / swapaxes
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(4,), (2, 3), (2, 3, 4), (2, 1, 3, 2)])
def test_transpose_all_permutations(shape, dtype, rand, to_nd, same):
    x = rand(shape, dtype)
    a = to_nd(x)
    same(mx.nd.transpose(a), x.T, "default reverses")
    for perm in itertools.permutations(range(len(shape))):
        same(mx.nd.transpose(a, axes=perm), np.transpose(x, perm), str(perm))
    neg = tuple(p - len(shape) for p in reversed(range(len(shape))))
    same(mx.nd.transpose(a, axes=neg), np.transpose(x, [p % len(shape) for p in neg]))


def test_transpose_call_forms(rand, to_nd, same):
    x = rand((2, 3, 4))
    a = to_nd(x)
    want = np.transpose(x, (1, 0, 2))
    same(mx.nd.transpose(a, (1, 0, 2)), want, "positional")
    same(mx.nd.transpose(a, axes="(1, 0, 2)"), want, "string")
    same(a.transpose(axes=(1, 0, 2)), want, "fluent")
    same(a.T, x.T, ".T")
    out = mx.nd.array(np.zeros((3, 2, 4), np.float32))
    r = mx.nd.transpose(a, axes=(1, 0, 2), out=out)
    assert r is out
    same(out, want, "out=")


def test_transpose_errors(to_nd, rand):
    a = to_nd(rand((2, 3)))
    with pytest.raises(mx.MXNetError, match=r"transpose.*\(2, 3\)"):
        mx.nd.transpose(a, axes=(0, 1, 2))
    with pytest.raises(mx.MXNetError, match="permutation"):
        mx.nd.transpose(a, axes=(0, 0))


@pytest.mark.parametrize("dtype", DTYPES)
def test_swapaxes(dtype, rand, to_nd, same):
    x = rand((2, 3, 4), dtype)
    a = to_nd(x)
    for d1, d2 in itertools.product(range(-3, 3), repeat=2):
        same(mx.nd.swapaxes(a, dim1=d1, dim2=d2), np.swapaxes(x, d1, d2), "%d %d" % (d1, d2))
    same(mx.nd.SwapAxis(a, 0, 2), np.swapaxes(x, 0, 2), "positional")
    same(a.swapaxes(dim1=1, dim2=2), np.swapaxes(x, 1, 2), "fluent")
    same(mx.nd.swapaxes(a), x, "defaults swap 0 with 0")
    with pytest.raises(mx.MXNetError, match="SwapAxis"):
        mx.nd.swapaxes(a, dim1=3)


# -------------------------------------------------------------- expand_dims / squeeze / Flatten
@pytest.mark.parametrize("shape", [(3,), (2, 3), (2, 3, 4)])
def test_expand_dims_full_axis_range(shape, rand, to_nd, same):
    x = rand(shape)
    a = to_nd(x)
    nd = len(shape)
    for axis in range(-nd - 1, nd + 1):
        same(mx.nd.expand_dims(a, axis=axis), np.expand_dims(x, axis), "axis %d" % axis)
    same(a.expand_dims(0), x[None], "fluent positional")
    for bad in (nd + 1, -nd - 2):
        with pytest.raises(mx.MXNetError, match=r"expand_dims.*out of range.*data=\(%s"
                           % ", ".join(map(str, shape))):
            mx.nd.expand_dims(a, axis=bad)
    with pytest.raises(mx.MXNetError, match="required"):
        mx.nd.expand_dims(a)


@pytest.mark.parametrize("dtype", DTYPES)
def test_squeeze(dtype, rand, to_nd, same):
    x = rand((2, 1, 3, 1), dtype)
    a = to_nd(x)
    same(mx.nd.squeeze(a), x.reshape(2, 3), "all")
    same(mx.nd.squeeze(a, axis=1), x.reshape(2, 3, 1), "axis 1")
    same(mx.nd.squeeze(a, axis=-1), x.reshape(2, 1, 3), "axis -1")
    same(mx.nd.squeeze(a, axis=(1, 3)), x.reshape(2, 3), "tuple")
    same(mx.nd.squeeze(a, axis="(1, -1)"), x.reshape(2, 3), "string")
    same(mx.nd.squeeze(a, axis="None"), x.reshape(2, 3), "string None")
    same(a.squeeze(), x.reshape(2, 3), "fluent")
    ones = rand((1, 1, 1), dtype)
    same(mx.nd.squeeze(to_nd(ones)), ones.reshape(1), "all-ones shape gives (1,)")
    same(mx.nd.squeeze(to_nd(ones), axis=(0, 1, 2)), ones.reshape(1), "all axes named")
    with pytest.raises(mx.MXNetError, match=r"squeeze.*size 3.*\(2, 1, 3, 1\)"):
        mx.nd.squeeze(a, axis=2)
    with pytest.raises(mx.MXNetError, match="twice"):
        mx.nd.squeeze(a, axis=(1, -3))


@pytest.mark.parametrize("shape", [(5,), (2, 3), (2, 3, 4), (2, 0, 3), (3, 1, 2, 2)])
def test_flatten(shape, rand, same, to_nd):
    x = rand(shape)
    want = x.reshape(shape[0], -1) if len(shape) > 1 else x.reshape(-1, 1)
    same(mx.nd.Flatten(to_nd(x)), want)
    same(mx.nd.flatten(to_nd(x)), want, "alias")
    same(to_nd(x).flatten(), want, "fluent")


# ------------------------------------------------------------------------------------ reverse
@pytest.mark.parametrize("dtype", DTYPES)
def test_reverse(dtype, rand, to_nd, same):
    x = rand((2, 3, 4), dtype)
    a = to_nd(x)
    for axes in [(0,), (1,), (2,), (-1,), (0, 2), (1, -1), (0, 1, 2), 1]:
        want = np.flip(x, axis=axes)
        same(mx.nd.reverse(a, axis=axes), want, str(axes))
        same(mx.nd.flip(a, axis=axes), want, "flip alias")
    same(a.flip(axis="(0, 1)"), np.flip(x, (0, 1)), "fluent string")
    with pytest.raises(mx.MXNetError, match="reverse"):
        mx.nd.flip(a, axis=3)


# --------------------------------------------------------------------------------- broadcasting
@pytest.mark.parametrize("dtype", DTYPES)
def test_broadcast_to(dtype, rand, to_nd, same):
    x = rand((1, 3, 1), dtype)
    a = to_nd(x)
    same(mx.nd.broadcast_to(a, shape=(2, 3, 4)), np.broadcast_to(x, (2, 3, 4)))
    same(mx.nd.broadcast_to(a, shape=(2, 0, 4)), np.broadcast_to(x, (2, 3, 4)), "0 keeps")
    same(mx.nd.broadcast_to(a, (0, 0, 5)), np.broadcast_to(x, (1, 3, 5)), "positional")
    same(a.broadcast_to(shape="(3, 3, 1)"), np.broadcast_to(x, (3, 3, 1)), "fluent string")
    with pytest.raises(mx.MXNetError, match=r"broadcast_to.*\(1, 3, 1\).*\(2, 4, 4\)"):
        mx.nd.broadcast_to(a, shape=(2, 4, 4))
    with pytest.raises(mx.MXNetError, match="ranks"):
        mx.nd.broadcast_to(a, shape=(3, 4))


@pytest.mark.parametrize("dtype", DTYPES)
def test_broadcast_axis(dtype, rand, to_nd, same):
    x = rand((1, 3, 1), dtype)
    a = to_nd(x)
    want = np.broadcast_to(x, (2, 3, 4))
    same(mx.nd.broadcast_axis(a, axis=(0, 2), size=(2, 4)), want)
    same(mx.nd.broadcast_axes(a, axis=(0, -1), size=(2, 4)), want, "alias, negative")
    same(a.broadcast_axes(axis=2, size=5), np.broadcast_to(x, (1, 3, 5)), "fluent, ints")
    same(mx.nd.broadcast_axis(a, axis="(0,)", size="(3,)"), np.broadcast_to(x, (3, 3, 1)))
    with pytest.raises(mx.MXNetError, match="size 1"):
        mx.nd.broadcast_axis(a, axis=1, size=4)
    with pytest.raises(mx.MXNetError, match="same length"):
        mx.nd.broadcast_axis(a, axis=(0, 2), size=(2,))


def test_broadcast_like(rand, to_nd, same):
    x = rand((1, 3))
    a = to_nd(x)
    b = to_nd(rand((2, 3), np.float64))
    same(mx.nd.broadcast_like(a, b), np.broadcast_to(x, (2, 3)))
    same(a.broadcast_like(b), np.broadcast_to(x, (2, 3)), "fluent")
    y = rand((1, 4, 1))
    c = to_nd(rand((5, 2, 7)))
    same(mx.nd.broadcast_like(to_nd(y), c, lhs_axes=(0, 2), rhs_axes=(0, -1)),
         np.broadcast_to(y, (5, 4, 7)), "axes")
    same(mx.nd.broadcast_like(to_nd(y), c, lhs_axes="(0,)", rhs_axes="(1,)"),
         np.broadcast_to(y, (2, 4, 1)), "string axes")
    with pytest.raises(mx.MXNetError, match=r"broadcast_like.*\(1, 3\).*\(2, 4\)"):
        mx.nd.broadcast_like(a, to_nd(rand((2, 4))))
    with pytest.raises(mx.MXNetError, match="equal length"):
        mx.nd.broadcast_like(to_nd(y), c, lhs_axes=(0, 2), rhs_axes=(0,))
    # rhs only lends its shape: any dtype is accepted, an unknown one takes lhs's
    op = mx.operator.get("broadcast_like")
    f16 = np.dtype(np.float16)
    assert op.infer_type(op.parse_params({}), [f16, None]) == ([f16, f16], [f16])


def test_reshape_like(rand, to_nd, same):
    x = rand((2, 3, 4))
    a = to_nd(x)
    same(mx.nd.reshape_like(a, to_nd(rand((6, 4)))), x.reshape(6, 4))
    # splice rhs axes [1, 3) of (9, 4, 2, 5) in place of lhs axes [1, 3)
    rhs = to_nd(rand((9, 4, 3, 5)))
    same(mx.nd.reshape_like(a, rhs, lhs_begin=1, lhs_end=3, rhs_begin=1, rhs_end=3),
         x.reshape(2, 4, 3), "ranges")
    same(mx.nd.reshape_like(a, to_nd(rand((12,))), lhs_begin=-2, lhs_end=None),
         x.reshape(2, 12), "negative begin, None end")
    with pytest.raises(mx.MXNetError, match=r"reshape_like.*sizes differ"):
        mx.nd.reshape_like(a, to_nd(rand((5, 5))))


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
def test_depth_to_space_and_back(b, dtype, rand, same, to_nd):
    x = rand((2, 2 * b * b, 2, 3), dtype)
    want = _d2s_loop(x, b)
    got = mx.nd.depth_to_space(to_nd(x), block_size=b)
    same(got, want, "depth_to_space")
    same(mx.nd.space_to_depth(got, b), x, "space_to_depth inverts it")
    same(to_nd(want).space_to_depth(block_size=b), x, "fluent")


def test_depth_space_errors(to_nd, rand):
    with pytest.raises(mx.MXNetError, match=r"depth_to_space.*multiple.*\(1, 3, 2, 2\)"):
        mx.nd.depth_to_space(to_nd(rand((1, 3, 2, 2))), block_size=2)
    with pytest.raises(mx.MXNetError, match="space_to_depth"):
        mx.nd.space_to_depth(to_nd(rand((1, 3, 3, 2))), block_size=2)
    with pytest.raises(mx.MXNetError, match="4-D"):
        mx.nd.depth_to_space(to_nd(rand((4, 2, 2))), block_size=2)


# ----------------------------------------------------------------------------------------- diag
@pytest.mark.parametrize("dtype", DTYPES)
def test_diag(dtype, rand, same, to_nd):
    v = rand((3,), dtype)
    for k in (-2, -1, 0, 1, 3):
        same(mx.nd.diag(to_nd(v), k=k), np.diag(v, k), "1-D k=%d" % k)
    m = rand((3, 4), dtype)
    for k in range(-4, 6):
        same(mx.nd.diag(to_nd(m), k), np.diagonal(m, k).copy(), "2-D k=%d" % k)
    t = rand((2, 3, 4), dtype)
    for a1, a2, k in [(0, 1, 0), (1, 2, 1), (2, 0, -1), (-1, -3, 0), (0, 2, 2)]:
        same(mx.nd.diag(to_nd(t), k=k, axis1=a1, axis2=a2), np.diagonal(t, k, a1, a2).copy(),
             "3-D %d %d %d" % (a1, a2, k))
    same(to_nd(m).diag(k=1), np.diagonal(m, 1).copy(), "fluent")
    with pytest.raises(mx.MXNetError, match="differ"):
        mx.nd.diag(to_nd(t), axis1=1, axis2=-2)


# --------------------------------------------------------------------- shape_array / size_array
def test_shape_and_size_array(to_nd, same, rand):
    for shape in [(3,), (2, 3, 4), (2, 0)]:
        for dtype in DTYPES:
            a = to_nd(rand(shape, dtype))
            same(mx.nd.shape_array(a), np.array(shape, np.int64), "shape_array")
            same(a.size_array(), np.array([int(np.prod(shape))], np.int64), "size_array")
    op = mx.operator.get("shape_array")
    assert op.infer_type(op.parse_params({}), [np.dtype(np.float32)])[1] == [np.int64]


# ------------------------------------------------------------------------------ shape inference
def test_inference_of_unknown_inputs(infer):
    assert infer("transpose", {}, [None])[1] == [None]
    assert infer("transpose", {"axes": (1, 0, 2)}, [(2, 3, 4)])[1] == [(3, 2, 4)]
    assert infer("expand_dims", {"axis": -1}, [(2, 3)])[1] == [(2, 3, 1)]
    assert infer("Flatten", {}, [(5,)])[1] == [(5, 1)]
    assert infer("squeeze", {}, [(1, 1)])[1] == [(1,)]
    assert infer("broadcast_like", {}, [(1, 3), None])[1] == [None]
    assert infer("reshape_like", {}, [None, (2, 3)])[1] == [None]
    assert infer("diag", {"k": -1}, [(4,)])[1] == [(5, 5)]
    assert infer("shape_array", {}, [(2, 3, 4)])[1] == [(3,)]
    assert infer("size_array", {}, [(2, 3, 4)])[1] == [(1,)]


def test_every_op_runs_on_ctx(ctx, rand, on_ctx_like_cpu):
    """One representative call per op on the device under test (CPU, and GPU when
    present), compared with the CPU result."""
    x = rand((2, 4, 2, 2))
    on_ctx_like_cpu([
        ("transpose", [x], {"axes": (1, 0, 3, 2)}),
        ("swapaxes", [x], {"dim1": 0, "dim2": -1}),
        ("expand_dims", [x], {"axis": 2}),
        ("squeeze", [x[:, :1]], {}),
        ("Flatten", [x], {}),
        ("flip", [x], {"axis": (0, 3)}),
        ("broadcast_to", [x[:, :1]], {"shape": (0, 3, 0, 0)}),
        ("broadcast_axis", [x[:1]], {"axis": 0, "size": 3}),
        ("broadcast_like", [x[:1], x], {}),
        ("reshape_like", [x, x.reshape(4, 8)], {}),
        ("depth_to_space", [x], {"block_size": 2}),
        ("space_to_depth", [x], {"block_size": 2}),
        ("diag", [x], {"k": 1, "axis1": 1, "axis2": 2}),
        ("shape_array", [x], {}),
        ("size_array", [x], {}),
    ], ctx)


# ------------------------------------------------------------------------------------ gradients
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
    ("flip", [_X], {"axis": (0, 2)}, lambda x: x[::-1, :, ::-1], [0]),
    ("broadcast_to", [_X[:, :1, :1]], {"shape": (0, 3, 2)},
     lambda x: np.broadcast_to(x, (2, 3, 2)), [0]),
    ("broadcast_axis", [_X[:1, :, :1]], {"axis": (0, 2), "size": (3, 2)},
     lambda x: np.broadcast_to(x, (3, 3, 2)), [0]),
    ("broadcast_like", [_X[:1, :1], np.zeros((2, 3, 4))], {},
     lambda x, y: np.broadcast_to(x, (2, 3, 4)), [0]),
    ("broadcast_like", [_X[:1, :1], np.zeros((5, 2))], {"lhs_axes": (0,), "rhs_axes": (1,)},
     lambda x, y: np.broadcast_to(x, (2, 1, 4)), [0]),
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


@pytest.mark.parametrize("case", GRAD_CASES)  # ids: conftest.py
def test_gradient_is_exact_transpose_of_the_op(case, linear_op):
    """Autograd's input gradients equal J^T h computed from the NumPy reference, and
    check_op's forward and directional-derivative checks pass."""
    linear_op(*case)


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_broadcast_gradient_keeps_the_dtype(dtype, vjp, to_nd):
    """The gradient of broadcast_to adds the copies up and comes back in the input's
    dtype (float16 summed in float32)."""
    x = np.ones((1, 3), dtype)
    params = {"shape": (6, 3)}
    out = mx.nd.op.broadcast_to(to_nd(x), **params)
    (g,) = vjp("broadcast_to", [x], params, [np.ones(out.shape)])
    assert g.dtype == dtype
    np.testing.assert_array_equal(g, np.full((1, 3), out.size // x.size, dtype))


@pytest.mark.parametrize("name", ["shape_array", "size_array"])
def test_shape_queries_have_zero_gradient(name, vjp, rand):
    x = rand((2, 3)).astype(np.float64)
    (g,) = vjp(name, [x], {}, [np.ones(2 if name == "shape_array" else 1)])
    np.testing.assert_array_equal(g, np.zeros_like(x))


def test_second_order_through_fused_backward_ops(second_order):
    """The fused backward kernel of diag is differentiable: with create_graph the
    gradient of <J^T h, w> with respect to h is J w."""
    second_order("diag", {"k": 1}, (3, 4), np.random.default_rng(3))


# ---------------------------------------------------------------------------------- cast_storage
def test_cast_storage_op_dense_path(rand, same, to_nd):
    x = rand((2, 3))
    for stype in ("default", "csr", "row_sparse"):
        same(mx.nd.op.cast_storage(to_nd(x), stype=stype), x, "cast_storage " + stype)
    with pytest.raises(mx.base.MXNetError, match="cast_storage.*2-D"):
        mx.nd.op.cast_storage(to_nd(rand((2, 2, 2))), stype="csr")
    with pytest.raises(mx.base.MXNetError, match="cast_storage"):
        mx.nd.op.cast_storage(to_nd(x), stype="dense")
