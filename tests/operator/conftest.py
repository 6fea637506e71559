"""Fixtures shared by the operator tests: exact array comparison, shape inference through
an op's record, the device check, and the gradient checks of linear ops (autograd's input
gradients against J^T h built column by column from a NumPy reference, and second-order
gradients through fused backward kernels).

Each fixture returns a plain function (test modules are imported with
``--import-mode=importlib`` and cannot import one another)."""
from __future__ import annotations

import numpy as np
import pytest

import mixnet as mx
from mixnet.test_utils import check_op


def _rand(shape, dtype=np.float32, rng=None):
    rng = rng or np.random.default_rng(0)
    if np.dtype(dtype).kind == "i":
        return rng.integers(-50, 50, size=shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def _to_nd(x, ctx=None):
    x = np.asarray(x)
    return mx.nd.array(x, dtype=x.dtype, ctx=ctx)


def _same(got, want, what=""):
    """Exact comparison of shape, dtype and values (NaNs equal)."""
    g = got.asnumpy() if isinstance(got, mx.nd.NDArray) else got
    want = np.asarray(want)
    assert g.shape == want.shape, "%s: shape %s != %s" % (what, g.shape, want.shape)
    assert g.dtype == want.dtype, "%s: dtype %s != %s" % (what, g.dtype, want.dtype)
    assert np.array_equal(g, want, equal_nan=True), "%s:\n got %s\nwant %s" % (what, g, want)


def _infer(name, params, shapes):
    op = mx.operator.get(name)
    return op.infer_shape(op.parse_params(params), list(shapes))


def _on_ctx_like_cpu(cases, ctx):
    for name, ins, params in cases:
        want = getattr(mx.nd, name)(*[_to_nd(a) for a in ins], **params)
        got = getattr(mx.nd, name)(*[_to_nd(a, ctx) for a in ins], **params)
        assert got.context == ctx
        _same(got, want.asnumpy(), name)


def _vjp(op, inputs, params, heads, wrt=(0,)):
    """Autograd's gradients of ``mx.nd.op.<op>(*inputs, **params)`` w.r.t. ``wrt`` for
    head gradients ``heads`` (one per visible output; None: no head for that output)."""
    xs = [_to_nd(a) for a in inputs]
    for i in wrt:
        xs[i].attach_grad()
    with mx.autograd.record():
        out = getattr(mx.nd.op, op)(*xs, **params)
    outs = out if isinstance(out, list) else [out]
    pairs = [(o, _to_nd(np.asarray(h, o.dtype))) for o, h in zip(outs, heads) if h is not None]
    mx.autograd.backward([o for o, _ in pairs], head_grads=[h for _, h in pairs])
    return [xs[i].grad.asnumpy() for i in wrt]


def _linear_vjp(f, inputs, heads, wrt):
    """J^T h of a NumPy function affine in ``inputs[wrt]``: f(e_j) - f(0) for each unit
    vector e_j, dotted with the heads (None heads are skipped). Independent of any
    gradient code."""
    x = inputs[wrt]

    def at(v):
        args = list(inputs)
        args[wrt] = v
        outs = f(*args)
        outs = outs if isinstance(outs, list) else [outs]
        return sum(float(np.sum(np.asarray(o, np.float64) * h))
                   for o, h in zip(outs, heads) if h is not None)

    base = at(np.zeros_like(x))  # other inputs may contribute a constant
    g = np.zeros(x.size)
    for j in range(x.size):
        e = np.zeros(x.size, x.dtype)
        e[j] = 1
        g[j] = at(e.reshape(x.shape)) - base
    return g.reshape(x.shape)


def _exact_vjp(name, inputs, params, ref, heads, wrt):
    """Autograd's input gradients equal J^T h of the NumPy reference ``ref``, in the
    inputs' dtypes."""
    got = _vjp(name, inputs, params, heads, wrt)
    for g, i in zip(got, wrt):
        want = _linear_vjp(ref, inputs, heads, i)
        assert g.dtype == inputs[i].dtype
        np.testing.assert_allclose(g, want, rtol=1e-12, atol=1e-12, err_msg="input %d" % i)


def _linear_op(name, inputs, params, ref, wrt):
    """:func:`_exact_vjp` for random heads on every output of ``ref``, then check_op's
    forward and directional-derivative checks."""
    rng = np.random.default_rng(1)
    outs = ref(*inputs)
    outs = outs if isinstance(outs, list) else [outs]
    heads = [rng.standard_normal(np.shape(o)) for o in outs]
    _exact_vjp(name, inputs, params, ref, heads, wrt)
    check_op(name, inputs, params, reference=lambda *a, **k: ref(*a), grad=wrt)


def _second_order(name, params, shape, rng):
    """The fused backward kernel of the linear op ``name`` is differentiable: with
    create_graph the gradient of <J^T h, w> with respect to h is J w."""
    x = _to_nd(rng.standard_normal(shape))
    x.attach_grad()
    fn = getattr(mx.nd.op, name)
    out = fn(x, **params)
    outs = out if isinstance(out, list) else [out]
    hs = [_to_nd(rng.standard_normal(o.shape)) for o in outs]
    for h in hs:
        h.attach_grad()
    w = rng.standard_normal(shape)
    with mx.autograd.record():
        out = fn(x, **params)
        outs = out if isinstance(out, list) else [out]
        (gx,) = mx.autograd.grad(outs, [x], head_grads=hs, create_graph=True)
        z = (gx * _to_nd(w)).sum()
    z.backward()
    jw = fn(_to_nd(w), **params)
    jws = jw if isinstance(jw, list) else [jw]
    if name == "pad":  # J of the affine pad has no constant term
        jws = [mx.nd.pad(_to_nd(w), **dict(params, constant_value=0.0))]
    for h, j in zip(hs, jws):
        np.testing.assert_allclose(h.grad.asnumpy(), j.asnumpy(), rtol=1e-12, err_msg=name)


def pytest_make_parametrize_id(config, val, argname):
    """Gradient cases ``(op, inputs, params, reference, wrt)`` parametrized as ``case``
    are named ``op-key=value-...`` by their parameters."""
    if (argname == "case" and isinstance(val, tuple) and len(val) == 5
            and isinstance(val[0], str) and isinstance(val[2], dict)):
        return "%s-%s" % (val[0], "-".join("%s=%s" % kv for kv in sorted(val[2].items())))
    return None


@pytest.fixture
def rand():
    """``rand(shape, dtype=float32, rng=None)``: standard normal values, or integers in
    [-50, 50) for integer dtypes (seeded 0 unless ``rng`` is given)."""
    return _rand


@pytest.fixture
def to_nd():
    """``to_nd(x, ctx=None)``: ``x`` as an NDArray of its own dtype."""
    return _to_nd


@pytest.fixture
def same():
    """``same(got, want, what="")``: assert equal shape, dtype and values."""
    return _same


@pytest.fixture
def infer():
    """``infer(name, params, shapes)``: the op's ``infer_shape`` on parsed params."""
    return _infer


@pytest.fixture
def on_ctx_like_cpu():
    """``on_ctx_like_cpu(cases, ctx)``: each ``(name, inputs, params)`` called through
    ``mx.nd`` on ``ctx`` gives an array there equal to the CPU result."""
    return _on_ctx_like_cpu


@pytest.fixture
def vjp():
    """``vjp(op, inputs, params, heads, wrt=(0,))``: autograd's input gradients."""
    return _vjp


@pytest.fixture
def linear_vjp():
    """``linear_vjp(f, inputs, heads, wrt)``: J^T h of an affine NumPy function."""
    return _linear_vjp


@pytest.fixture
def exact_vjp():
    """``exact_vjp(name, inputs, params, ref, heads, wrt)``: assert autograd's gradients
    equal J^T h of the NumPy reference."""
    return _exact_vjp


@pytest.fixture
def linear_op():
    """``linear_op(name, inputs, params, ref, wrt)``: the exact J^T h check for random
    heads plus check_op's checks."""
    return _linear_op


@pytest.fixture
def second_order():
    """``second_order(name, params, shape, rng)``: second-order gradients through the
    op's fused backward kernel."""
    return _second_order
