"""``mx.nd.random``: random samplers with MXNet's Python signatures.

Numbers as distribution parameters call the ``_random_<dist>`` op (scalar parameters,
``shape`` samples on ``ctx``); NDArrays call ``_sample_<dist>``, which draws ``shape``
samples for every element of the parameter arrays (output shape ``params.shape +
shape``). Without ``shape`` and ``out`` a scalar-parameter call returns one sample of
shape ``(1,)``, as in MXNet. The ops not wrapped here (``gamma_like``, ...) are added to
this module from the registry by ``mx.nd``.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

from ..base import MXNetError, numeric_types
from ..context import Context
from ..operator import registry as _reg
from .dispatch import as_context, invoke
from .ndarray import NDArray

__all__ = ["uniform", "normal", "randn", "randint", "exponential", "gamma", "poisson",
           "negative_binomial", "generalized_negative_binomial", "multinomial", "shuffle",
           "uniform_like", "normal_like"]


class _NullType:
    """MXNet's ``_Null``: "argument not given", distinct from ``None``."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "_Null"

    def __bool__(self) -> bool:
        return False


_Null = _NullType()


def _call(opname: str, inputs: Sequence[NDArray], kwargs: dict, out: Any = None,
          ctx: Optional[Context] = None) -> Any:
    kwargs = {k: v for k, v in kwargs.items() if v is not _Null}
    kwargs.pop("name", None)
    op = _reg.get(opname)
    return invoke(op, list(inputs), op.parse_params(kwargs), out=out, ctx=ctx)


def _random_helper(dist: str, params: Sequence[Any], shape: Any, dtype: Any, ctx: Any,
                   out: Any, kwargs: dict) -> Any:
    """Dispatch a sampler on the type of its distribution parameters (all numbers or all
    NDArrays), filling MXNet's defaults: one sample when neither ``shape`` nor ``out`` is
    given, and the shape and dtype of ``out`` when it is."""
    names = [n for n, _ in params]
    values = [v for _, v in params]
    if isinstance(values[0], NDArray):
        if not all(isinstance(v, NDArray) for v in values):
            raise MXNetError("Distribution parameters must all have the same type, but got "
                             "both %s and %s" % tuple(sorted({type(v).__name__
                                                              for v in values})[:2]))
        if _reg.find("_sample_" + dist) is None:
            raise MXNetError("%s does not accept NDArray parameters" % dist)
        kwargs.update(shape=shape, dtype=dtype)
        return _call("_sample_" + dist, values, kwargs, out=out)
    if isinstance(values[0], numeric_types):
        if not all(isinstance(v, numeric_types) for v in values):
            raise MXNetError("Distribution parameters must all have the same type, but got "
                             "%s" % ", ".join(type(v).__name__ for v in values))
        if out is not None:
            # the op's shape/dtype defaults are inferred from out in MXNet
            if shape is _Null:
                shape = out.shape
            if dtype is _Null or dtype is None:
                dtype = out.dtype
            dev = out.context
        else:
            if shape is _Null:
                shape = 1
            dev = as_context(ctx)
        kwargs.update(zip(names, values))
        kwargs.update(shape=shape, dtype=dtype, ctx=str(dev))
        return _call("_random_" + dist, (), kwargs, out=out, ctx=dev)
    raise MXNetError("Distribution parameters must be either NDArray or numbers, but got %s"
                     % type(values[0]).__name__)


def uniform(low: Any = 0, high: Any = 1, shape: Any = _Null, dtype: Any = _Null,
            ctx: Any = None, out: Optional[NDArray] = None, **kwargs: Any) -> NDArray:
    """``mx.nd.random.uniform(low=0, high=1, shape=_Null, dtype=_Null, ctx=None,
    out=None)``: samples from U[low, high). Number parameters give ``shape`` samples
    (one if omitted); NDArray parameters give ``shape`` samples per element."""
    return _random_helper("uniform", [("low", low), ("high", high)], shape, dtype, ctx,
                          out, kwargs)


def normal(loc: Any = 0, scale: Any = 1, shape: Any = _Null, dtype: Any = _Null,
           ctx: Any = None, out: Optional[NDArray] = None, **kwargs: Any) -> NDArray:
    """``mx.nd.random.normal(loc=0, scale=1, shape=_Null, dtype=_Null, ctx=None,
    out=None)``: samples from N(loc, scale**2) (``scale`` is the standard deviation)."""
    return _random_helper("normal", [("loc", loc), ("scale", scale)], shape, dtype, ctx,
                          out, kwargs)


def randn(*shape: Any, **kwargs: Any) -> NDArray:
    """``mx.nd.random.randn(*shape, loc=0, scale=1, dtype=_Null, ctx=None, out=None)``:
    normal samples of shape ``shape`` given as separate ints (``randn(2, 3)``); no shape
    gives one sample."""
    loc = kwargs.pop("loc", 0)
    scale = kwargs.pop("scale", 1)
    dtype = kwargs.pop("dtype", _Null)
    ctx = kwargs.pop("ctx", None)
    out = kwargs.pop("out", None)
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return _random_helper("normal", [("loc", loc), ("scale", scale)],
                          tuple(shape) if shape else _Null, dtype, ctx, out, kwargs)


def randint(low: int, high: int, shape: Any = _Null, dtype: Any = _Null, ctx: Any = None,
            out: Optional[NDArray] = None, **kwargs: Any) -> NDArray:
    """``mx.nd.random.randint(low, high, shape=_Null, dtype=_Null, ctx=None, out=None)``:
    uniform integers in [low, high), int32 unless ``dtype='int64'``. Bounds must be
    numbers."""
    if isinstance(low, NDArray) or isinstance(high, NDArray):
        raise MXNetError("randint does not accept NDArray bounds")
    return _random_helper("randint", [("low", low), ("high", high)], shape, dtype, ctx,
                          out, kwargs)


def exponential(scale: Any = 1, shape: Any = _Null, dtype: Any = _Null, ctx: Any = None,
                out: Optional[NDArray] = None, **kwargs: Any) -> NDArray:
    """``mx.nd.random.exponential(scale=1, shape=_Null, dtype=_Null, ctx=None,
    out=None)``: exponential samples with mean ``scale`` (the op's rate is
    ``lam = 1/scale``)."""
    if isinstance(scale, numeric_types) and scale == 0:
        raise MXNetError("exponential needs scale > 0, got 0")
    return _random_helper("exponential", [("lam", 1.0 / scale)], shape, dtype, ctx, out,
                          kwargs)


def gamma(alpha: Any = 1, beta: Any = 1, shape: Any = _Null, dtype: Any = _Null,
          ctx: Any = None, out: Optional[NDArray] = None, **kwargs: Any) -> NDArray:
    """``mx.nd.random.gamma(alpha=1, beta=1, shape=_Null, dtype=_Null, ctx=None,
    out=None)``: gamma samples with shape ``alpha`` and scale ``beta``."""
    return _random_helper("gamma", [("alpha", alpha), ("beta", beta)], shape, dtype, ctx,
                          out, kwargs)


def poisson(lam: Any = 1, shape: Any = _Null, dtype: Any = _Null, ctx: Any = None,
            out: Optional[NDArray] = None, **kwargs: Any) -> NDArray:
    """``mx.nd.random.poisson(lam=1, shape=_Null, dtype=_Null, ctx=None, out=None)``:
    Poisson samples with rate ``lam``, stored as floats."""
    return _random_helper("poisson", [("lam", lam)], shape, dtype, ctx, out, kwargs)


def negative_binomial(k: Any = 1, p: Any = 1, shape: Any = _Null, dtype: Any = _Null,
                      ctx: Any = None, out: Optional[NDArray] = None,
                      **kwargs: Any) -> NDArray:
    """``mx.nd.random.negative_binomial(k=1, p=1, shape=_Null, dtype=_Null, ctx=None,
    out=None)``: the number of failures before ``k`` successes of trials that succeed
    with probability ``p``."""
    return _random_helper("negative_binomial", [("k", k), ("p", p)], shape, dtype, ctx, out,
                          kwargs)


def generalized_negative_binomial(mu: Any = 1, alpha: Any = 1, shape: Any = _Null,
                                  dtype: Any = _Null, ctx: Any = None,
                                  out: Optional[NDArray] = None, **kwargs: Any) -> NDArray:
    """``mx.nd.random.generalized_negative_binomial(mu=1, alpha=1, shape=_Null,
    dtype=_Null, ctx=None, out=None)``: counts with mean ``mu`` and variance
    ``mu + alpha * mu**2``."""
    return _random_helper("generalized_negative_binomial", [("mu", mu), ("alpha", alpha)],
                          shape, dtype, ctx, out, kwargs)


def multinomial(data: NDArray, shape: Any = _Null, get_prob: bool = False,
                out: Any = None, dtype: Any = "int32", **kwargs: Any) -> Any:
    """``mx.nd.random.multinomial(data, shape=_Null, get_prob=False, out=None,
    dtype='int32')``: class indices drawn from the distributions on the last axis of
    ``data`` (probabilities summing to 1). The result has shape ``data.shape[:-1] +
    shape``; with ``get_prob`` the call returns ``[samples, log_probabilities]``."""
    kwargs.update(shape=shape, get_prob=get_prob, dtype=dtype)
    res = _call("_sample_multinomial", (data,), kwargs, out=out)
    # the op's output count depends on get_prob; one output is a single array
    if isinstance(res, (list, tuple)) and len(res) == 1:
        return res[0]
    return res


def shuffle(data: NDArray, **kwargs: Any) -> NDArray:
    """``mx.nd.random.shuffle(data)``: a copy of ``data`` with its slices along the first
    axis in random order."""
    out = kwargs.pop("out", None)
    return _call("_shuffle", (data,), kwargs, out=out)


def uniform_like(data: NDArray, low: float = 0, high: float = 1,
                 out: Optional[NDArray] = None, **kwargs: Any) -> NDArray:
    """``mx.nd.random.uniform_like(data, low=0, high=1, out=None)``: U[low, high) samples
    with the shape and dtype of ``data``."""
    kwargs.update(low=low, high=high)
    return _call("_random_uniform_like", (data,), kwargs, out=out)


def normal_like(data: NDArray, loc: float = 0, scale: float = 1,
                out: Optional[NDArray] = None, **kwargs: Any) -> NDArray:
    """``mx.nd.random.normal_like(data, loc=0, scale=1, out=None)``: N(loc, scale**2)
    samples with the shape and dtype of ``data``."""
    kwargs.update(loc=loc, scale=scale)
    return _call("_random_normal_like", (data,), kwargs, out=out)
