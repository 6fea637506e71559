"""Random samplers: ``_random_<dist>`` (scalar parameters), ``_random_<dist>_like``
(shape and dtype of an input), ``_sample_<dist>`` (one distribution per element of the
parameter arrays), ``_random_randint``, ``_sample_multinomial`` and ``_shuffle``.

Every op declares the ``random`` resource: it draws from the generator of its context
(``oc.rng``), and the dispatcher orders all such ops on one engine var per device, so the
draws after ``mx.random.seed(s)`` are reproducible. The streams are not MXNet's (another
generator), only the distributions are.

Draws are made in float64 and cast to the output dtype. Scalar parameters are checked on
the caller's thread (shape inference) and raise ``MXNetError``; kernels never raise, since
a failed task would poison the device's generator var: invalid per-element parameters of
``_sample_*`` give NaN instead. Kernels use only the generator methods NumPy and CuPy
share (``random``, ``standard_normal``, ``standard_exponential``, ``standard_gamma``,
``poisson``, ``integers``) with Python-float or array arguments.

Gradients, as in MXNet: samplers without inputs, the ``_like`` samplers (whose input only
lends its shape) and the per-element ``_sample_<dist>`` ops have zero gradient (no
reparameterisation); ``_sample_multinomial``'s log-probability output is differentiable
w.r.t. the probabilities (d log p_j / d p_j = 1 / p_j at each drawn j). ``_shuffle`` has
no gradient rule, as in MXNet: backward through it raises.
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

import numpy as np

from ..base import MXNetError, dtype_name
from .creation import CtxAttr, check_shape, quiet
from .gradient import zero_grad
from .params import Bool, DType, Float, Int, Param, Shape
from .registry import OpDef, register, shape_str

_FLOATS = ("float16", "float32", "float64")


# ------------------------------------------------------------------ distributions
class _Dist:
    """One distribution: its parameters ``(name, default)``, the names of the parameter
    inputs of its ``_sample_`` op, a scalar check (raising ``MXNetError``), a per-element
    validity predicate ``valid(*params)`` (its docstring is the error text), and
    ``draw(xp, rng, shape, *params) -> float64 array`` where params are Python floats or
    float64 arrays broadcastable to ``shape``."""

    def __init__(self, name: str, params: Sequence[tuple], sample_inputs: Sequence[str],
                 draw: Callable, valid: Optional[Callable], doc: str,
                 aliases: Sequence[str] = (), sample_aliases: Sequence[str] = ()):
        self.name = name
        self.params = tuple(params)
        self.sample_inputs = tuple(sample_inputs)
        self.draw = draw
        self.valid = valid
        self.doc = doc
        self.aliases = tuple(aliases)
        self.sample_aliases = tuple(sample_aliases)

    def check(self, values: Sequence[float]) -> None:
        """Raise ``MXNetError`` naming the parameters when scalar values are invalid."""
        if self.valid is not None and not bool(self.valid(*values)):
            desc = ", ".join("%s=%r" % (n, v) for (n, _), v in zip(self.params, values))
            raise MXNetError("invalid parameters for the %s distribution: %s (%s)"
                             % (self.name, desc, self.valid.__doc__))


def _draw_uniform(xp: Any, rng: Any, shape: tuple, low: Any, high: Any) -> Any:
    return low + (high - low) * rng.random(shape)


def _draw_normal(xp: Any, rng: Any, shape: tuple, loc: Any, scale: Any) -> Any:
    return loc + scale * rng.standard_normal(shape)


def _draw_gamma(xp: Any, rng: Any, shape: tuple, alpha: Any, beta: Any) -> Any:
    return rng.standard_gamma(alpha, shape) * beta


def _draw_exponential(xp: Any, rng: Any, shape: tuple, lam: Any) -> Any:
    return rng.standard_exponential(shape) / lam


def _draw_poisson(xp: Any, rng: Any, shape: tuple, lam: Any) -> Any:
    return rng.poisson(lam, shape).astype(xp.float64)


def _draw_negative_binomial(xp: Any, rng: Any, shape: tuple, k: Any, p: Any) -> Any:
    # failures before the k-th success: a Poisson whose rate is Gamma(k, (1-p)/p), which
    # also covers non-integer k as MXNet does
    rate = rng.standard_gamma(k, shape) * ((1.0 - p) / p)
    return rng.poisson(rate, shape).astype(xp.float64)


def _draw_generalized_negative_binomial(xp: Any, rng: Any, shape: tuple, mu: Any,
                                        alpha: Any) -> Any:
    # mean mu, variance mu + alpha*mu^2: Poisson(Gamma(1/alpha, alpha*mu)); alpha=0 is
    # the Poisson limit
    if isinstance(alpha, float):
        if alpha == 0.0:
            return rng.poisson(mu, shape).astype(xp.float64)
        rate = rng.standard_gamma(1.0 / alpha, shape) * (alpha * mu)
    else:
        pos = alpha > 0
        a = xp.where(pos, alpha, 1.0)
        rate = xp.where(pos, rng.standard_gamma(1.0 / a, shape) * (a * mu), mu)
    return rng.poisson(rate, shape).astype(xp.float64)


def _positive_scale(loc: Any, scale: Any) -> Any:
    """scale must be > 0"""
    return scale > 0


def _low_le_high(low: Any, high: Any) -> Any:
    """low must be <= high"""
    return low <= high


def _gamma_ok(alpha: Any, beta: Any) -> Any:
    """alpha and beta must be > 0"""
    return (alpha > 0) & (beta > 0)


def _rate_ok(lam: Any) -> Any:
    """lam must be > 0"""
    return lam > 0


def _poisson_ok(lam: Any) -> Any:
    """lam must be >= 0"""
    return lam >= 0


def _nb_ok(k: Any, p: Any) -> Any:
    """k must be >= 0 and 0 < p <= 1"""
    # MXNet only checks p >= 0; p = 0 or p > 1 give no finite count, so refuse them
    return (k >= 0) & (p > 0) & (p <= 1)


def _gnb_ok(mu: Any, alpha: Any) -> Any:
    """mu and alpha must be >= 0"""
    return (mu >= 0) & (alpha >= 0)


_DISTS = [
    _Dist("uniform", [("low", 0.0), ("high", 1.0)], ("low", "high"), _draw_uniform,
          _low_le_high, "Uniform samples in [low, high).",
          aliases=("random_uniform", "uniform"), sample_aliases=("sample_uniform",)),
    _Dist("normal", [("loc", 0.0), ("scale", 1.0)], ("mu", "sigma"), _draw_normal,
          _positive_scale, "Normal (Gaussian) samples with mean loc and std scale.",
          aliases=("normal", "random_normal"), sample_aliases=("sample_normal",)),
    _Dist("gamma", [("alpha", 1.0), ("beta", 1.0)], ("alpha", "beta"), _draw_gamma,
          _gamma_ok, "Gamma samples with shape alpha and scale beta.",
          aliases=("random_gamma",), sample_aliases=("sample_gamma",)),
    _Dist("exponential", [("lam", 1.0)], ("lam",), _draw_exponential, _rate_ok,
          "Exponential samples with rate lam (mean 1/lam).",
          aliases=("random_exponential",), sample_aliases=("sample_exponential",)),
    _Dist("poisson", [("lam", 1.0)], ("lam",), _draw_poisson, _poisson_ok,
          "Poisson samples with rate lam (as floats).",
          aliases=("random_poisson",), sample_aliases=("sample_poisson",)),
    _Dist("negative_binomial", [("k", 1), ("p", 1.0)], ("k", "p"),
          _draw_negative_binomial, _nb_ok,
          "Negative binomial samples: failures before the k-th success of trials with "
          "success probability p.",
          aliases=("random_negative_binomial",),
          sample_aliases=("sample_negative_binomial",)),
    _Dist("generalized_negative_binomial", [("mu", 1.0), ("alpha", 1.0)], ("mu", "alpha"),
          _draw_generalized_negative_binomial, _gnb_ok,
          "Generalized negative binomial samples with mean mu and dispersion alpha "
          "(variance mu + alpha*mu^2).",
          aliases=("random_generalized_negative_binomial",),
          sample_aliases=("sample_generalized_negative_binomial",)),
]


def _write(xp: Any, dist: _Dist, out: Any, vals: Any, params: Sequence[Any]) -> None:
    """Cast float64 draws into ``out``; uniform draws that round up to ``high`` in a
    narrower dtype are moved back below it so the interval stays half-open."""
    with quiet(xp):
        res = vals.astype(out.dtype)
        if dist.name == "uniform" and out.dtype != np.float64:
            low = xp.asarray(params[0]).astype(out.dtype)
            high = xp.asarray(params[1]).astype(out.dtype)
            bad = (res >= high) & (high > low)
            res = xp.where(bad, xp.nextafter(high, low), res)
        out[...] = res


# ------------------------------------------------------------------ _random_<dist>
def _random_shape(dist: _Dist):
    def infer_shape(p: Any, in_shapes: list):
        dist.check([getattr(p, n) for n, _ in dist.params])
        return in_shapes, [check_shape(p.shape)]
    return infer_shape


def _dtype_rule(p: Any, in_dtypes: list):
    return in_dtypes, [np.dtype(np.float32) if p.dtype is None else p.dtype]


def _random_forward(dist: _Dist):
    def forward(oc: Any, ins: list, outs: list, p: Any) -> None:
        xp = oc.xp
        params = [float(getattr(p, n)) for n, _ in dist.params]
        out = outs[0]
        _write(xp, dist, out, dist.draw(xp, oc.rng, out.shape, *params), params)
    return forward


def _dist_params(dist: _Dist) -> list:
    # MXNet declares the negative binomial's k as an int, every other parameter a float
    return [Param(n, Int() if isinstance(d, int) else Float(), d, "distribution parameter")
            for n, d in dist.params]


for _d in _DISTS:
    register(OpDef(
        "_random_" + _d.name, inputs=(), aliases=_d.aliases,
        params=_dist_params(_d) + [
            Param("shape", Shape(), (), "shape of the result"),
            Param("ctx", CtxAttr(), "", "device of the result (MXNet string form)"),
            Param("dtype", DType(allow_none=True, choices=_FLOATS), None,
                  "float16/32/64; None means float32")],
        forward=_random_forward(_d), infer_shape=_random_shape(_d), infer_type=_dtype_rule,
        resources=("random",), gradient=zero_grad, doc=_d.doc))


# ------------------------------------------------------------------ _random_<dist>_like
def _like_shape(dist: _Dist):
    def infer_shape(p: Any, in_shapes: list):
        dist.check([getattr(p, n) for n, _ in dist.params])
        return in_shapes, [in_shapes[0]]
    return infer_shape


def _float_input_type(p: Any, in_dtypes: list):
    for d in in_dtypes:
        if d is not None and dtype_name(d) not in _FLOATS:
            raise MXNetError("random samplers need float16/32/64 inputs, got %s"
                             % dtype_name(d))
    return in_dtypes, [in_dtypes[0]]


for _d in _DISTS:
    register(OpDef(
        "_random_%s_like" % _d.name, inputs=("data",), params=_dist_params(_d),
        forward=_random_forward(_d), infer_shape=_like_shape(_d),
        infer_type=_float_input_type, resources=("random",),
        gradient=zero_grad, keep_inputs=False, keep_outputs=False,
        doc=_d.doc + " Shape and dtype are those of ``data``."))


# ------------------------------------------------------------------ _sample_<dist>
def _sample_shape(p: Any, in_shapes: list):
    known = [s for s in in_shapes if s is not None]
    if not known:
        return in_shapes, [None]
    for s in known[1:]:
        if s != known[0]:
            raise MXNetError("distribution parameter arrays must have the same shape, got %s"
                             % " vs ".join(shape_str(x) for x in in_shapes))
    if any(d < 0 for d in p.shape):
        raise MXNetError("shape=%s has a negative dimension" % shape_str(p.shape))
    base = known[0]
    return [base] * len(in_shapes), [tuple(base) + tuple(p.shape)]


def _sample_type(p: Any, in_dtypes: list):
    known = None
    for d in in_dtypes:
        if d is None:
            continue
        if np.dtype(d).kind not in "fiu":
            raise MXNetError("distribution parameters must be numeric arrays, got %s"
                             % dtype_name(d))
        if known is not None and d != known:
            raise MXNetError("distribution parameters must share one dtype, got %s"
                             % " vs ".join("?" if x is None else dtype_name(x)
                                           for x in in_dtypes))
        known = d
    # MXNet's documented default: float32 unless dtype is given (not the input dtype)
    out = np.dtype(np.float32) if p.dtype is None else p.dtype
    return [known] * len(in_dtypes), [out]


def _sample_forward(dist: _Dist):
    def forward(oc: Any, ins: list, outs: list, p: Any) -> None:
        xp = oc.xp
        out = outs[0]
        # each parameter element governs a block of prod(shape) draws: align its dims
        # with the leading dims of the output
        tail = (1,) * len(p.shape)
        params = [x.astype(xp.float64).reshape(x.shape + tail) for x in ins]
        safe = params
        valid = None
        # MXNet's per-element uniform and normal take any values (low > high flips the
        # interval, a negative sigma mirrors); the others have no meaning off their domain
        if dist.valid is not None and dist.name not in ("uniform", "normal"):
            valid = dist.valid(*params)
            # draw with harmless stand-ins where a parameter is invalid, then write NaN
            safe = [xp.where(valid, x, float(d)) for x, (_, d) in zip(params, dist.params)]
        vals = dist.draw(xp, oc.rng, out.shape, *safe)
        if valid is not None:
            vals = xp.where(valid, vals, xp.nan)
        _write(xp, dist, out, vals, params)
    return forward


for _d in _DISTS:
    register(OpDef(
        "_sample_" + _d.name, inputs=_d.sample_inputs, aliases=_d.sample_aliases,
        params=[Param("shape", Shape(), (), "samples drawn per parameter element"),
                Param("dtype", DType(allow_none=True, choices=_FLOATS), None,
                      "float16/32/64; None means float32")],
        forward=_sample_forward(_d), infer_shape=_sample_shape, infer_type=_sample_type,
        resources=("random",), gradient=zero_grad, keep_inputs=False, keep_outputs=False,
        doc=_d.doc + " One distribution per element of the parameter arrays; the output "
                     "shape is their shape + ``shape``."))


# ------------------------------------------------------------------ randint
def _randint_shape(p: Any, in_shapes: list):
    if p.low >= p.high:
        raise MXNetError("randint needs low < high, got low=%d, high=%d" % (p.low, p.high))
    dt = np.dtype(np.int32) if p.dtype is None else p.dtype
    info = np.iinfo(dt)
    if p.low < info.min or p.high - 1 > info.max:
        raise MXNetError("randint range [%d, %d) does not fit %s"
                         % (p.low, p.high, dtype_name(dt)))
    return in_shapes, [check_shape(p.shape)]


def _randint_type(p: Any, in_dtypes: list):
    return in_dtypes, [np.dtype(np.int32) if p.dtype is None else p.dtype]


def _randint_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    out = outs[0]
    out[...] = oc.rng.integers(p.low, p.high, out.shape, dtype=oc.xp.int64).astype(out.dtype)


register(OpDef(
    "_random_randint", inputs=(), aliases=("random_randint",),
    params=[Param("low", Int(), doc="lowest value (inclusive)"),
            Param("high", Int(), doc="upper bound (exclusive)"),
            Param("shape", Shape(), (), "shape of the result"),
            Param("ctx", CtxAttr(), "", "device of the result (MXNet string form)"),
            Param("dtype", DType(allow_none=True, choices=("int32", "int64")), None,
                  "int32 or int64; None means int32")],
    forward=_randint_forward, infer_shape=_randint_shape, infer_type=_randint_type,
    resources=("random",), gradient=zero_grad,
    doc="Uniform random integers in [low, high)."))


# ------------------------------------------------------------------ multinomial
def _multinomial_shape(p: Any, in_shapes: list):
    (s,) = in_shapes
    if s is None:
        return in_shapes, [None] * (2 if p.get_prob else 1)
    if len(s) == 0 or s[-1] == 0:
        raise MXNetError("multinomial needs probabilities on a non-empty last axis, got %s"
                         % shape_str(s))
    if any(d < 0 for d in p.shape):
        raise MXNetError("shape=%s has a negative dimension" % shape_str(p.shape))
    if len(s) == 1:
        out = tuple(p.shape) if p.shape else (1,)
    else:
        out = tuple(s[:-1]) + tuple(p.shape)
    return in_shapes, [out] * (2 if p.get_prob else 1)


def _multinomial_type(p: Any, in_dtypes: list):
    (d,) = in_dtypes
    if d is not None and dtype_name(d) not in _FLOATS:
        raise MXNetError("multinomial needs float16/32/64 probabilities, got %s"
                         % dtype_name(d))
    outs = [p.dtype]
    if p.get_prob:
        outs.append(d)
    return in_dtypes, outs


def _multinomial_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    data = ins[0]
    k = data.shape[-1]
    probs = data.astype(xp.float64).reshape(-1, k)
    rows = probs.shape[0]
    per_row = 1
    for d in p.shape:
        per_row *= d
    cdf = xp.cumsum(probs, axis=1)
    u = oc.rng.random((rows, per_row))
    # one sorted search for all rows: shift row i by i*(largest total + 1) so the rows'
    # CDFs occupy disjoint increasing ranges
    with quiet(xp):
        span = float(xp.max(cdf[:, -1])) + 1.0 if rows else 1.0
        if not np.isfinite(span):
            span = 1.0
        offset = xp.arange(rows, dtype=xp.float64)[:, None] * span
        pos = xp.searchsorted((cdf + offset).ravel(), (u + offset).ravel(), side="right")
        idx = pos.reshape(rows, per_row) - xp.arange(rows)[:, None] * k
        # u beyond the row's total (probabilities summing below 1) takes the last class
        idx = xp.clip(idx, 0, k - 1)
        outs[0][...] = idx.reshape(outs[0].shape).astype(outs[0].dtype)
        if p.get_prob:
            chosen = xp.take_along_axis(probs, idx, axis=1)
            outs[1][...] = xp.log(chosen).reshape(outs[1].shape).astype(outs[1].dtype)


def _multinomial_grad(F: Any, p: Any, ins: list, outs: list, ograds: list) -> list:
    # the draws are discrete; only the log-probability output carries a gradient
    if not p.get_prob:
        return [None]
    return [F.call("_backward_sample_multinomial", [ograds[1], ins[0], outs[0]], p)]


_MULTINOMIAL_PARAMS = [
    Param("shape", Shape(), (), "samples drawn per distribution"),
    Param("get_prob", Bool(), False, "also return the log-probability of each draw"),
    Param("dtype", DType(choices=("float16", "float32", "float64", "int32", "uint8")),
          "int32", "dtype of the sampled indices")]

register(OpDef(
    "_sample_multinomial", inputs=("data",), aliases=("sample_multinomial",),
    params=list(_MULTINOMIAL_PARAMS),
    num_outputs=lambda p: 2 if p.get_prob else 1,
    forward=_multinomial_forward, infer_shape=_multinomial_shape,
    infer_type=_multinomial_type, resources=("random",),
    gradient=_multinomial_grad, keep_inputs=True, keep_outputs=(0,),
    doc="Indices drawn from the categorical distributions on the last axis of ``data`` "
        "(probabilities); with ``get_prob`` also their log-probabilities."))


def _backward_multinomial_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    g, data, sample = ins
    out = outs[0]
    k = data.shape[-1]
    probs = data.astype(xp.float64).reshape(-1, k)
    rows = probs.shape[0]
    idx = sample.reshape(rows, -1).astype(xp.int64)
    with quiet(xp):
        w = g.astype(xp.float64).reshape(rows, -1) / xp.take_along_axis(probs, idx, axis=1)
    # several draws of one class add up: one bincount over the flat (row, class) slots
    lin = (xp.arange(rows, dtype=xp.int64)[:, None] * k + idx).reshape(-1)
    acc = xp.bincount(lin, weights=w.reshape(-1), minlength=rows * k)
    out[...] = acc.reshape(out.shape).astype(out.dtype)


def _backward_multinomial_shape(p: Any, shapes: list):
    d = shapes[1]
    return shapes, [None if d is None else tuple(d)]


register(OpDef(
    "_backward_sample_multinomial", inputs=("ograd", "data", "sample"),
    params=list(_MULTINOMIAL_PARAMS),
    forward=_backward_multinomial_forward, infer_shape=_backward_multinomial_shape,
    infer_type=lambda p, d: (list(d), [d[1]]),
    doc="Gradient of ``_sample_multinomial``'s log-probability output: ograd / p added at "
        "each drawn class."))


# ------------------------------------------------------------------ shuffle
def _shuffle_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    data = ins[0]
    n = data.shape[0] if data.ndim else 1
    # a permutation from sorting uniform keys: the same code on NumPy and CuPy
    perm = xp.argsort(oc.rng.random((n,)))
    outs[0][...] = data[perm] if data.ndim else data


register(OpDef(
    "_shuffle", inputs=("data",), aliases=("shuffle",),
    forward=_shuffle_forward, resources=("random",),
    doc="A copy of ``data`` with its elements along the first axis randomly permuted."))
