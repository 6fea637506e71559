"""Random samplers (``_random_*``, ``_random_*_like``, ``_sample_*``, ``_random_randint``,
``_sample_multinomial``, ``_shuffle``), the ``mx.nd.random`` wrappers and
``mx.random.seed``.

MXNet's bit streams cannot be reproduced (another generator), so the tests check shapes,
dtypes, supports and moments of the distributions. Moment bounds are wide: means within 6
standard errors and variances within 10% on 40,000 draws, which holds for every seed the
suite picks (conftest seeds ``mx.random`` per test from ``MXNET_TEST_SEED``).

Gradients as in MXNet: zero for every sampler's inputs, the log-probability output of
``_sample_multinomial`` differentiable (1/p at each draw), ``_shuffle`` not differentiable.
"""
from __future__ import annotations

import numpy as np
import pytest

import mixnet as mx
from mixnet.operator import registry

N = 40000


def moments_ok(x, mean: float, var: float, n: int = N) -> None:
    """Assert the sample mean and variance of ``x`` match ``mean``/``var``."""
    x = np.asarray(x, np.float64).ravel()
    assert x.size == n
    assert abs(x.mean() - mean) <= 6 * np.sqrt(var / n) + 1e-12, (x.mean(), mean)
    assert abs(x.var() - var) <= 0.1 * var + 1e-12, (x.var(), var)


# ------------------------------------------------------------------ scalar samplers
@pytest.mark.parametrize("sampler, params, mean, var", [
    ("uniform", {"low": -1.0, "high": 3.0}, 1.0, 16 / 12),
    ("normal", {"loc": 2.0, "scale": 0.5}, 2.0, 0.25),
    ("gamma", {"alpha": 2.0, "beta": 3.0}, 6.0, 18.0),
    ("exponential", {"scale": 2.0}, 2.0, 4.0),
    ("poisson", {"lam": 4.0}, 4.0, 4.0),
    ("negative_binomial", {"k": 3, "p": 0.4}, 3 * 0.6 / 0.4, 3 * 0.6 / 0.16),
    ("generalized_negative_binomial", {"mu": 2.0, "alpha": 0.5}, 2.0, 2.0 + 0.5 * 4.0),
    ("generalized_negative_binomial", {"mu": 3.0, "alpha": 0.0}, 3.0, 3.0),
])
def test_scalar_sampler_distribution(ctx, sampler, params, mean, var):
    x = getattr(mx.nd.random, sampler)(shape=(200, N // 200), ctx=ctx, **params)
    assert x.shape == (200, N // 200)
    assert x.dtype == np.float32  # MXNet's default for every float sampler
    assert x.context == ctx
    moments_ok(x.asnumpy(), mean, var)


@pytest.mark.parametrize("sampler", ["uniform", "normal", "gamma", "exponential", "poisson",
                                     "negative_binomial", "generalized_negative_binomial"])
@pytest.mark.parametrize("dtype", ["float16", "float64"])
def test_scalar_sampler_dtypes_and_default_shape(sampler, dtype):
    fn = getattr(mx.nd.random, sampler)
    x = fn(shape=7, dtype=dtype)
    assert x.shape == (7,) and x.dtype == np.dtype(dtype)
    assert np.isfinite(x.asnumpy()).all()
    # without shape and out: one sample, shape (1,) (no 0-d arrays in MXNet 1.x)
    one = fn()
    assert one.shape == (1,) and one.dtype == np.float32


def test_uniform_support_is_half_open():
    for dtype in ("float16", "float32", "float64"):
        x = mx.nd.random.uniform(2.0, 3.0, shape=N, dtype=dtype).asnumpy()
        assert x.min() >= 2.0 and x.max() < 3.0, dtype
    np.testing.assert_array_equal(mx.nd.random.uniform(1.5, 1.5, shape=3).asnumpy(), 1.5)


def test_discrete_samplers_give_whole_numbers():
    for x in (mx.nd.random.poisson(3.0, shape=500), mx.nd.random.negative_binomial(2, 0.3,
                                                                                   shape=500),
              mx.nd.random.generalized_negative_binomial(2.0, 0.7, shape=500)):
        v = x.asnumpy()
        assert x.dtype == np.float32 and (v >= 0).all() and (v == np.round(v)).all()
    # p = 1: every trial succeeds, no failures
    np.testing.assert_array_equal(mx.nd.random.negative_binomial(3, 1.0, shape=5).asnumpy(), 0)
    np.testing.assert_array_equal(mx.nd.random.poisson(0.0, shape=5).asnumpy(), 0)


def test_randn():
    x = mx.nd.random.randn(2, 3, loc=1.0, scale=2.0, dtype="float64")
    assert x.shape == (2, 3) and x.dtype == np.float64
    assert mx.nd.random.randn().shape == (1,)
    moments_ok(mx.nd.random.randn(N).asnumpy(), 0.0, 1.0)


def test_out_gives_shape_and_dtype():
    out = mx.nd.zeros((3, 4), dtype="float64")
    res = mx.nd.random.uniform(5.0, 6.0, out=out)
    assert res is out
    v = out.asnumpy()
    assert ((v >= 5) & (v < 6)).all()
    with pytest.raises(mx.MXNetError):
        mx.nd.random.normal(out=mx.nd.zeros((2,), dtype="int32"))


def test_generated_op_functions_and_aliases():
    for name in ("uniform", "random_uniform", "normal", "random_normal", "random_gamma",
                 "random_exponential", "random_poisson", "random_negative_binomial",
                 "random_generalized_negative_binomial", "random_randint", "sample_uniform",
                 "sample_normal", "sample_gamma", "sample_exponential", "sample_poisson",
                 "sample_multinomial", "shuffle"):
        assert callable(getattr(mx.nd, name)), name
    x = mx.nd.uniform(low=0, high=1, shape=(2, 2))
    assert x.shape == (2, 2)
    y = mx.nd.random_normal(0, 1, (3,))  # params positionally, in MXNet's order
    assert y.shape == (3,)
    # ops without a hand-written wrapper come from the registry
    z = mx.nd.random.gamma_like(mx.nd.zeros((2, 5)), alpha=2.0)
    assert z.shape == (2, 5) and (z.asnumpy() > 0).all()


@pytest.mark.parametrize("sampler, params", [
    ("uniform", {"low": 2, "high": 1}),      # MXNet checks low <= high
    ("normal", {"scale": 0}),                # MXNet checks scale > 0
    ("normal", {"scale": -1}),
    ("gamma", {"alpha": 0}),
    ("gamma", {"beta": -1}),
    ("exponential", {"scale": 0}),
    ("exponential", {"scale": -2}),
    ("poisson", {"lam": -1}),
    ("negative_binomial", {"k": -1}),
    ("negative_binomial", {"p": 0}),
    ("negative_binomial", {"p": 1.5}),
    ("negative_binomial", {"k": 2.5}),       # k is an int in MXNet
    ("generalized_negative_binomial", {"mu": -1}),
    ("generalized_negative_binomial", {"alpha": -0.1}),
    ("uniform", {"dtype": "int32"}),
    ("uniform", {"shape": (2, -3)}),
    ("uniform", {"foo": 1}),
])
def test_bad_scalar_params_raise(sampler, params):
    with pytest.raises(mx.MXNetError):
        getattr(mx.nd.random, sampler)(**params)


def test_parameter_types_must_agree():
    with pytest.raises(mx.MXNetError):
        mx.nd.random.uniform(mx.nd.zeros((2,)), 1.0)
    with pytest.raises(mx.MXNetError):
        mx.nd.random.normal("0", 1.0)
    with pytest.raises(mx.MXNetError):
        mx.nd.random.randint(mx.nd.zeros((2,)), 3)


def test_op_level_shape_is_required():
    # the ops themselves need a shape (MXNet fails inference too); the wrappers add (1,)
    with pytest.raises(mx.MXNetError, match="unknown"):
        mx.nd.uniform()


# ------------------------------------------------------------------ randint
def test_randint_bounds_and_dtypes():
    x = mx.nd.random.randint(-3, 4, shape=(100, 50))
    assert x.dtype == np.int32 and x.shape == (100, 50)
    v = x.asnumpy()
    assert v.min() == -3 and v.max() == 3
    counts = np.bincount(v.ravel() + 3)
    assert counts.min() > 0.8 * v.size / 7
    y = mx.nd.random.randint(0, 2 ** 40, shape=(10,), dtype="int64")
    assert y.dtype == np.int64 and (y.asnumpy() >= 0).all()
    assert mx.nd.random.randint(5, 6).asnumpy().tolist() == [5]


@pytest.mark.parametrize("params", [{"low": 3, "high": 3}, {"low": 4, "high": 3},
                                    {"low": 0, "high": 2 ** 40},  # does not fit int32
                                    {"low": 0, "high": 3, "dtype": "float32"},
                                    {"low": 0.5, "high": 3}])
def test_randint_bad_input(params):
    with pytest.raises(mx.MXNetError):
        mx.nd.random.randint(shape=(2,), **params)


# ------------------------------------------------------------------ *_like
def test_like_samplers_take_shape_and_dtype():
    data = mx.nd.zeros((4, 5), dtype="float64")
    u = mx.nd.random.uniform_like(data, low=1.0, high=2.0)
    assert u.shape == (4, 5) and u.dtype == np.float64
    assert ((u.asnumpy() >= 1) & (u.asnumpy() < 2)).all()
    n = mx.nd.random.normal_like(mx.nd.zeros((200, N // 200)), loc=-1.0, scale=3.0)
    assert n.dtype == np.float32
    moments_ok(n.asnumpy(), -1.0, 9.0)
    with pytest.raises(mx.MXNetError):
        mx.nd.random.uniform_like(mx.nd.zeros((2,), dtype="int32"))
    with pytest.raises(mx.MXNetError):
        mx.nd.random.normal_like(data, scale=-1.0)


# ------------------------------------------------------------------ _sample_* (array params)
def test_sample_normal_per_element(ctx):
    mu = mx.nd.array([0.0, 10.0], ctx=ctx)
    sigma = mx.nd.array([1.0, 0.1], ctx=ctx)
    x = mx.nd.random.normal(mu, sigma, shape=(N // 2,))
    assert x.shape == (2, N // 2) and x.dtype == np.float32 and x.context == ctx
    v = x.asnumpy()
    moments_ok(v[0], 0.0, 1.0, N // 2)
    moments_ok(v[1], 10.0, 0.01, N // 2)


@pytest.mark.parametrize("sampler, params, mean, var", [
    ("uniform", ([0.0, 5.0], [1.0, 9.0]), [0.5, 7.0], [1 / 12, 16 / 12]),
    ("gamma", ([1.0, 4.0], [2.0, 0.5]), [2.0, 2.0], [4.0, 1.0]),
    ("exponential", ([0.5, 4.0],), [0.5, 4.0], [0.25, 16.0]),   # wrapper takes the scale
    ("poisson", ([1.0, 8.0],), [1.0, 8.0], [1.0, 8.0]),
    ("negative_binomial", ([2.0, 5.0], [0.5, 0.8]), [2.0, 1.25], [4.0, 1.5625]),
    ("generalized_negative_binomial", ([3.0, 1.0], [0.0, 2.0]), [3.0, 1.0], [3.0, 3.0]),
])
def test_sample_ops_per_element(sampler, params, mean, var):
    arrays = [mx.nd.array(p) for p in params]
    x = getattr(mx.nd.random, sampler)(*arrays, shape=N // 2)
    assert x.shape == (2, N // 2) and x.dtype == np.float32
    v = x.asnumpy()
    for i in range(2):
        moments_ok(v[i], mean[i], var[i], N // 2)


def test_sample_shapes_and_dtypes():
    low = mx.nd.zeros((2, 3), dtype="float64")
    high = mx.nd.ones((2, 3), dtype="float64")
    x = mx.nd.random.uniform(low, high, shape=(4, 5))
    assert x.shape == (2, 3, 4, 5)
    # MXNet's output dtype is float32 unless given, whatever the parameter dtype
    assert x.dtype == np.float32
    assert mx.nd.random.uniform(low, high).shape == (2, 3)
    assert mx.nd.random.uniform(low, high, dtype="float16").dtype == np.float16
    lam = mx.nd.array([1, 2], dtype="int32")  # integer parameter arrays are accepted
    assert mx.nd.random.poisson(lam, shape=3).shape == (2, 3)
    with pytest.raises(mx.MXNetError):
        mx.nd.random.uniform(low, mx.nd.ones((3, 2)))
    with pytest.raises(mx.MXNetError):
        mx.nd.random.uniform(low, mx.nd.ones((2, 3), dtype="float32"))


def test_sample_invalid_elements_give_nan_and_keep_the_generator_usable():
    alpha = mx.nd.array([-1.0, 2.0])
    x = mx.nd.random.gamma(alpha, mx.nd.array([1.0, 1.0]), shape=5).asnumpy()
    assert np.isnan(x[0]).all() and (x[1] > 0).all()
    p = mx.nd.random.poisson(mx.nd.array([-1.0, 3.0]), shape=5).asnumpy()
    assert np.isnan(p[0]).all() and np.isfinite(p[1]).all()
    # a failed kernel would have poisoned the device's generator var for later samplers
    assert mx.nd.random.uniform(shape=3).shape == (3,)


# ------------------------------------------------------------------ multinomial
def test_multinomial_frequencies():
    probs = np.array([[0.1, 0.2, 0.7], [0.5, 0.5, 0.0]], np.float32)
    x = mx.nd.random.multinomial(mx.nd.array(probs), shape=N // 2)
    assert x.shape == (2, N // 2) and x.dtype == np.int32
    v = x.asnumpy()
    for row, p in zip(v, probs):
        freq = np.bincount(row, minlength=3) / row.size
        np.testing.assert_allclose(freq, p, atol=0.02)
    assert (v[1] != 2).all()  # a zero-probability class is never drawn


def test_multinomial_shapes_and_get_prob():
    p1 = mx.nd.array([0.25, 0.25, 0.5])
    one = mx.nd.random.multinomial(p1)
    assert isinstance(one, mx.nd.NDArray) and one.shape == (1,)
    assert mx.nd.random.multinomial(p1, shape=(2, 3)).shape == (2, 3)
    data = mx.nd.array(np.full((4, 2, 5), 0.2))
    assert mx.nd.random.multinomial(data).shape == (4, 2)
    assert mx.nd.random.multinomial(data, shape=3, dtype="float32").dtype == np.float32
    s, logp = mx.nd.random.multinomial(p1, shape=100, get_prob=True)
    assert s.shape == logp.shape == (100,) and logp.dtype == np.float32
    np.testing.assert_allclose(logp.asnumpy(), np.log(p1.asnumpy()[s.asnumpy()]), rtol=1e-6)
    with pytest.raises(mx.MXNetError):
        mx.nd.random.multinomial(mx.nd.array([1, 2], dtype="int32"))


# ------------------------------------------------------------------ shuffle
def test_shuffle_permutes_first_axis(ctx):
    data = np.arange(200 * 3, dtype=np.float32).reshape(200, 3)
    x = mx.nd.random.shuffle(mx.nd.array(data, ctx=ctx))
    assert x.shape == data.shape and x.dtype == np.float32 and x.context == ctx
    v = x.asnumpy()
    # rows move whole, each exactly once, and the order changes
    np.testing.assert_array_equal(np.sort(v[:, 0]), data[:, 0])
    np.testing.assert_array_equal(v[:, 1:] - v[:, :1], data[:, 1:] - data[:, :1])
    assert not np.array_equal(v, data)
    ints = mx.nd.shuffle(mx.nd.array(np.arange(50), dtype="int64"))
    assert ints.dtype == np.int64
    assert sorted(ints.asnumpy().tolist()) == list(range(50))


# ------------------------------------------------------------------ seeding
def _draws():
    return [mx.nd.random.uniform(shape=5).asnumpy(), mx.nd.random.normal(shape=(2, 2)).asnumpy(),
            mx.nd.random.randint(0, 1000, shape=4).asnumpy(),
            mx.nd.random.shuffle(mx.nd.array(np.arange(10))).asnumpy(),
            mx.nd.random.poisson(mx.nd.array([2.0, 5.0]), shape=3).asnumpy()]


def test_seed_reproduces_draws():
    mx.random.seed(123)
    a = _draws()
    mx.random.seed(123)
    b = _draws()
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    mx.random.seed(124)
    c = _draws()
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))


def test_seed_orders_after_pending_work():
    # draws pushed before the seed use the old state even if not yet run
    mx.random.seed(7)
    first = mx.nd.random.uniform(shape=1000)
    mx.random.seed(7)
    second = mx.nd.random.uniform(shape=1000)
    np.testing.assert_array_equal(first.asnumpy(), second.asnumpy())


def test_seed_one_context():
    mx.random.seed(5, ctx=mx.cpu(1))
    a = mx.nd.random.uniform(shape=4, ctx=mx.cpu(1)).asnumpy()
    mx.random.seed(5, ctx="cpu(1)")
    b = mx.nd.random.uniform(shape=4, ctx=mx.cpu(1)).asnumpy()
    np.testing.assert_array_equal(a, b)
    # devices have separate generators
    mx.random.seed(5)
    c0 = mx.nd.random.uniform(shape=4, ctx=mx.cpu(0)).asnumpy()
    c1 = mx.nd.random.uniform(shape=4, ctx=mx.cpu(1)).asnumpy()
    assert not np.array_equal(c0, c1)


def test_seed_bad_input():
    with pytest.raises(mx.MXNetError):
        mx.random.seed(1.5)
    with pytest.raises(mx.MXNetError):
        mx.random.seed(1, ctx="tpu(0)")


def test_mx_random_reexports_samplers():
    for name in ("uniform", "normal", "randn", "randint", "exponential", "gamma", "poisson",
                 "negative_binomial", "generalized_negative_binomial", "multinomial",
                 "shuffle"):
        assert getattr(mx.random, name) is getattr(mx.nd.random, name)


def test_random_ops_declare_the_resource():
    dists = ("uniform", "normal", "gamma", "exponential", "poisson", "negative_binomial",
             "generalized_negative_binomial")
    names = ["_random_randint", "_sample_multinomial", "_shuffle"]
    for d in dists:
        names += ["_random_" + d, "_random_%s_like" % d, "_sample_" + d]
    for name in names:
        assert registry.get(name).resources == ("random",), name


# ------------------------------------------------------------------ gradients
def _grads(fn, inputs):
    """Gradients of sum(fn(*inputs)) w.r.t. every input (float64 NDArrays)."""
    xs = [mx.nd.array(a, dtype=np.float64) for a in inputs]
    for x in xs:
        x.attach_grad()
    with mx.autograd.record():
        y = fn(*xs)
    y.backward()
    return [x.grad.asnumpy() for x in xs]


@pytest.mark.parametrize("name", ["uniform", "normal", "gamma", "exponential", "poisson",
                                  "negative_binomial", "generalized_negative_binomial"])
def test_like_samplers_have_zero_gradient(name):
    """The input only lends shape and dtype: a product x * sample(x) gets exactly the
    sample as gradient, nothing through the sampler."""
    x = np.full((3, 2), 0.5)
    xs = mx.nd.array(x, dtype=np.float64)
    xs.attach_grad()
    with mx.autograd.record():
        s = getattr(mx.nd.op, "_random_%s_like" % name)(xs)
        y = s * xs
    y.backward()
    np.testing.assert_array_equal(xs.grad.asnumpy(), s.asnumpy())


@pytest.mark.parametrize("name, inputs", [
    ("_sample_uniform", [np.zeros(3), np.ones(3)]),
    ("_sample_normal", [np.zeros(3), np.ones(3)]),
    ("_sample_gamma", [np.ones(3), np.ones(3)]),
    ("_sample_exponential", [np.ones(3)]),
    ("_sample_poisson", [np.ones(3)]),
    ("_sample_negative_binomial", [np.ones(3), np.full(3, 0.5)]),
    ("_sample_generalized_negative_binomial", [np.ones(3), np.ones(3)]),
])
def test_per_element_samplers_have_zero_gradient(name, inputs):
    """MXNet gives the distribution parameters zero gradient (no reparameterisation)."""
    for g in _grads(lambda *xs: getattr(mx.nd.op, name)(*xs, shape=(2,)), inputs):
        np.testing.assert_array_equal(g, np.zeros(3))


def test_shuffle_is_not_differentiable():
    x = mx.nd.array(np.arange(6.0).reshape(3, 2))
    x.attach_grad()
    with mx.autograd.record():
        y = mx.nd.shuffle(x)
    with pytest.raises(mx.MXNetError, match="_shuffle"):
        y.backward()


def test_multinomial_without_get_prob_passes_no_gradient():
    p = mx.nd.array([[0.5, 0.5]], dtype=np.float64)
    p.attach_grad()
    with mx.autograd.record():
        draws = mx.nd.random.multinomial(p, shape=(3,), dtype="float32")
    draws.backward()
    np.testing.assert_array_equal(p.grad.asnumpy(), np.zeros((1, 2)))


def test_sample_multinomial_log_prob_gradient():
    """d log p_j / d p_j = 1 / p_j at every draw j, repeated draws adding up; the drawn
    indices themselves carry no gradient."""
    probs = np.array([[0.2, 0.3, 0.5], [0.6, 0.4, 0.0]])
    p = mx.nd.array(probs, dtype=np.float64)
    p.attach_grad()
    with mx.autograd.record():
        draws, logp = mx.nd.random.multinomial(p, shape=(6,), get_prob=True)
    head = np.random.default_rng(5).standard_normal((2, 6))
    logp.backward(mx.nd.array(head, dtype=np.float64))
    idx = draws.asnumpy().astype(int)
    want = np.zeros_like(probs)
    for r in range(2):
        np.add.at(want[r], idx[r], head[r] / probs[r, idx[r]])
    np.testing.assert_allclose(p.grad.asnumpy(), want, rtol=1e-12)
    np.testing.assert_allclose(logp.asnumpy(), np.log(probs[np.arange(2)[:, None], idx]))
