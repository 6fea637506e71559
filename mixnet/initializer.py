"""``mx.init`` / ``mx.initializer``: weight initializers (MXNet 1.9 semantics).

MXNet conventions kept here:

* An initializer is called as ``init(desc, arr)`` and writes into ``arr`` in place. ``desc``
  is an :class:`InitDesc` (a ``str`` carrying ``attrs`` and ``global_init``). A JSON (or
  instance) in ``desc.attrs['__init__']`` wins and fills the array through that
  initializer's weight rule; otherwise the name's suffix decides: ``weight`` -> the weight
  rule, ``bias``/``beta``/``min`` -> 0, ``gamma``/``max`` -> 1; any other name is an error.
  Module relies on the ``__init__`` attrs its ops attach (BatchNorm's moving stats).
* A plain ``str`` name takes MXNet's deprecated path, which also knows ``moving_mean`` &
  co., ``upsampling*`` (bilinear) and the spatial transformer's ``stn_loc`` parameters.
* ``dumps()`` is MXNet's JSON: ``["<lower-case class name>", {constructor kwargs}]``;
  :func:`create` turns that JSON, a registered name or an instance back into an
  initializer (``Symbol.Variable(init=...)`` stores the JSON in the ``__init__`` attr).
* Random rules draw from mixnet's generator (``mx.random.seed`` makes them reproducible),
  writing straight into ``arr`` with ``mx.nd.random.*(out=arr)``; NumPy's global RNG is
  never touched.
"""
from __future__ import annotations

import json
import logging
import math
import re
import warnings
from typing import Any, Callable, Optional

import numpy as np

from .base import MXNetError, string_types
from .ndarray import NDArray
from . import ndarray as _nd
from . import registry as _registry

__all__ = ["InitDesc", "Initializer", "register", "alias", "create", "Load", "Mixed",
           "Zero", "One", "Constant", "Uniform", "Normal", "Orthogonal", "Xavier",
           "MSRAPrelu", "Bilinear", "LSTMBias", "FusedRNN"]


class InitError(MXNetError, ValueError):
    """Bad initializer input. A ``ValueError`` as in MXNet, and an ``MXNetError`` so the
    framework's own error type catches it too."""


# ------------------------------------------------------------------------ base class
class InitDesc(str):
    """``mx.init.InitDesc(name, attrs=None, global_init=None)``: the parameter name (a
    ``str``) with its symbol attributes (``attrs``, e.g. ``{'__init__': '["zero", {}]'}``)
    and the initializer that governs the whole model (``global_init``, used by composite
    initializers such as :class:`FusedRNN` for their pieces)."""

    def __new__(cls, name: str, attrs: Optional[dict] = None,
                global_init: Optional["Initializer"] = None) -> "InitDesc":
        ret = super().__new__(cls, name)
        ret.attrs = attrs or {}
        ret.global_init = global_init
        return ret


def _default_stat(x: NDArray) -> str:
    """Root-mean-square of an array, the number MXNet's verbose initializer logs."""
    size = max(int(x.size), 1)
    return str((_nd.norm(x) / math.sqrt(size)).asscalar())


class Initializer:
    """``mx.init.Initializer(**kwargs)``: base of all initializers. ``init(desc, arr)``
    fills ``arr`` in place, dispatching on ``desc.attrs['__init__']`` or the name's suffix
    (see the module docstring); ``dumps()`` gives MXNet's ``["name", {kwargs}]`` JSON of
    the constructor arguments; ``set_verbosity`` logs a statistic of every filled array.
    Subclasses implement ``_init_weight(name, arr)``."""

    def __init__(self, **kwargs: Any) -> None:
        self._kwargs = kwargs
        self._verbose = False
        self._print_func: Optional[Callable[[NDArray], str]] = None

    def set_verbosity(self, verbose: bool = False,
                      print_func: Optional[Callable[[NDArray], str]] = None) -> "Initializer":
        """``set_verbosity(verbose=False, print_func=None)``: when ``verbose``, log
        ``Initialized <name> as <rule>: <print_func(arr)>`` after each fill; the default
        statistic is the array's root-mean-square. Returns ``self``."""
        self._verbose = verbose
        self._print_func = print_func if print_func is not None else _default_stat
        return self

    def _verbose_print(self, desc: str, rule: Any, arr: NDArray) -> None:
        if self._verbose and self._print_func is not None:
            logging.info("Initialized %s as %s: %s", desc, rule, self._print_func(arr))

    def dumps(self) -> str:
        """``dumps()``: MXNet's JSON description, ``'["<class name lower>", {kwargs}]'``,
        which :func:`create` (and the ``__init__`` symbol attr) turns back into this
        initializer."""
        return json.dumps([self.__class__.__name__.lower(), self._kwargs])

    def __repr__(self) -> str:
        return "%s(%s)" % (self.__class__.__name__,
                           ", ".join("%s=%r" % kv for kv in self._kwargs.items()))

    def __call__(self, desc: Any, arr: NDArray) -> None:
        if not isinstance(desc, InitDesc):
            self._legacy_init(desc, arr)
            return
        if desc.global_init is None:
            desc.global_init = self
        spec = desc.attrs.get("__init__", "")
        if spec:
            # the variable's own initializer: its weight rule fills the array, whatever
            # the name (this is how aux states get their zeros/ones)
            create(spec)._init_weight(desc, arr)
            self._verbose_print(desc, spec, arr)
            return
        for suffix, rule in self._SUFFIX_RULES:
            if desc.endswith(suffix):
                getattr(self, rule)(desc, arr)
                self._verbose_print(desc, suffix, arr)
                return
        self._init_default(desc, arr)

    # MXNet's order; the quantized suffixes come last but are still reachable because
    # 'x_weight_quantize' does not end in 'weight'
    _SUFFIX_RULES = (("weight", "_init_weight"), ("bias", "_init_bias"),
                     ("gamma", "_init_gamma"), ("beta", "_init_beta"),
                     ("min", "_init_zero"), ("max", "_init_one"),
                     ("weight_quantize", "_init_quantized_weight"),
                     ("bias_quantize", "_init_quantized_bias"))

    def _legacy_init(self, name: Any, arr: Any) -> None:
        """The deprecated ``init(str, NDArray)`` form: dispatch on the bare name."""
        warnings.warn("Calling initializer with init(str, NDArray) has been deprecated; "
                      "use init(mx.init.InitDesc(...), NDArray) instead.",
                      DeprecationWarning, stacklevel=3)
        if not isinstance(name, string_types):
            raise TypeError("initializer: name must be a string, got %s"
                            % type(name).__name__)
        if not isinstance(arr, NDArray):
            raise TypeError("initializer: arr must be an NDArray, got %s"
                            % type(arr).__name__)
        if name.startswith("upsampling"):
            self._init_bilinear(name, arr)
        elif name.startswith("stn_loc") and name.endswith("weight"):
            self._init_zero(name, arr)
        elif name.startswith("stn_loc") and name.endswith("bias"):
            self._init_loc_bias(name, arr)
        elif name.endswith("bias"):
            self._init_bias(name, arr)
        elif name.endswith("gamma"):
            self._init_gamma(name, arr)
        elif name.endswith("beta"):
            self._init_beta(name, arr)
        elif name.endswith("weight"):
            self._init_weight(name, arr)
        elif name.endswith("moving_mean") or name.endswith("moving_inv_var") \
                or name.endswith("moving_avg") or name.endswith("min"):
            self._init_zero(name, arr)
        elif name.endswith("moving_var") or name.endswith("max"):
            self._init_one(name, arr)
        else:
            self._init_default(name, arr)

    # the fixed rules every initializer shares
    def _init_bilinear(self, _: Any, arr: NDArray) -> None:
        arr[:] = _bilinear_kernel(arr.shape, "bilinear initializer")

    def _init_loc_bias(self, name: Any, arr: NDArray) -> None:
        # the identity affine transform of a spatial transformer's localisation net
        if arr.shape[0] != 6:
            raise InitError("%s: stn_loc bias must have 6 elements (an affine transform), "
                            "got shape %s" % (name, arr.shape))
        arr[:] = np.array([1.0, 0, 0, 0, 1.0, 0], dtype=np.float32)

    def _init_zero(self, _: Any, arr: NDArray) -> None:
        arr[:] = 0.0

    def _init_one(self, _: Any, arr: NDArray) -> None:
        arr[:] = 1.0

    def _init_bias(self, _: Any, arr: NDArray) -> None:
        arr[:] = 0.0

    def _init_gamma(self, _: Any, arr: NDArray) -> None:
        arr[:] = 1.0

    def _init_beta(self, _: Any, arr: NDArray) -> None:
        arr[:] = 0.0

    def _init_quantized_bias(self, _: Any, arr: NDArray) -> None:
        arr[:] = 0

    def _init_quantized_weight(self, _: Any, arr: NDArray) -> None:
        draw = _nd.random.randint(-127, 127, shape=arr.shape, dtype="int32",
                                  ctx=arr.context).asnumpy()
        arr[:] = draw.astype(np.int8)

    def _init_weight(self, name: Any, arr: NDArray) -> None:
        raise NotImplementedError("%s must override _init_weight (called for %s)"
                                  % (self.__class__.__name__, name))

    def _init_default(self, name: Any, arr: NDArray) -> None:
        raise InitError(
            "Unknown initialization pattern for %s (shape %s): default initialization is "
            "limited to names ending in 'weight', 'bias', 'gamma' (1.0), 'beta' (0.0), "
            "'min' (0.0) and 'max' (1.0); use mx.sym.Variable(init=mx.init.*) to set one"
            % (name, getattr(arr, "shape", None)))


# ------------------------------------------------------------------------- registry
# mx.init.register / alias / create come from the shared registry (mixnet/registry.py),
# so initializer names and their dumps() JSON resolve by the same rules as metric and
# optimizer names; its failures are InitErrors
_REGISTRY = _registry.registry_for(Initializer, "initializer", InitError)
register = _REGISTRY.register
alias = _REGISTRY.alias
create = _REGISTRY.create


def _bilinear_kernel(shape: tuple, what: str) -> np.ndarray:
    """MXNet's bilinear-upsampling kernel for a 4-D weight: both factors use the width
    (``shape[3]``), as MXNet does, so non-square kernels keep MXNet's values."""
    if len(shape) != 4:
        raise InitError("%s needs a 4-D weight (out, in, h, w), got shape %s" % (what, shape))
    f = math.ceil(shape[3] / 2.0)
    c = (2 * f - 1 - f % 2) / (2.0 * f)
    x = np.arange(shape[3], dtype=np.float64)
    y = np.arange(shape[2], dtype=np.float64)
    kernel = np.outer(1 - np.abs(y / f - c), 1 - np.abs(x / f - c)).astype(np.float32)
    return np.broadcast_to(kernel, shape)


# --------------------------------------------------------------- composite (not registered)
class Load:
    """``mx.init.Load(param, default_init=None, verbose=False)``: fill parameters from a
    dict of NDArrays or a file saved by ``mx.nd.save`` (``arg:``/``aux:`` prefixes are
    stripped); names not found go to ``default_init``. Called as ``init(name, arr)``."""

    def __init__(self, param: Any, default_init: Any = None, verbose: bool = False) -> None:
        if isinstance(param, string_types):
            param = _nd.load(param)
        if not isinstance(param, dict):
            raise InitError("Load needs a dict of name -> NDArray or a file holding one, "
                            "got %s" % type(param).__name__)
        self.param = {}
        for name, value in param.items():
            if name.startswith("arg:") or name.startswith("aux:"):
                name = name[4:]
            self.param[name] = value
        self.default_init = default_init
        self.verbose = verbose

    def __call__(self, name: Any, arr: NDArray) -> None:
        if name in self.param:
            src = self.param[name]
            if tuple(arr.shape) != tuple(src.shape):
                raise InitError("Parameter %s cannot be initialized from loading: shape "
                                "mismatch, target %s vs loaded %s"
                                % (name, tuple(arr.shape), tuple(src.shape)))
            arr[:] = src
            if self.verbose:
                logging.info("Initialized %s by loading", name)
            return
        if self.default_init is None:
            raise InitError("Cannot initialize %s: not found in the loaded parameters and "
                            "no default initializer given" % name)
        self.default_init(name, arr)
        if self.verbose:
            logging.info("Initialized %s by default", name)


class Mixed:
    """``mx.init.Mixed(patterns, initializers)``: the first regular expression in
    ``patterns`` that matches the name (``re.match``) picks the initializer; a name that
    matches none is an error (end with a ``'.*'`` pattern for a default)."""

    def __init__(self, patterns: list, initializers: list) -> None:
        if len(patterns) != len(initializers):
            raise InitError("Mixed: %d patterns but %d initializers"
                            % (len(patterns), len(initializers)))
        self.map = [(re.compile(p), init) for p, init in zip(patterns, initializers)]

    def __call__(self, name: Any, arr: NDArray) -> None:
        for prog, init in self.map:
            if prog.match(name):
                init(name, arr)
                return
        raise InitError("Parameter name %s did not match any pattern (%s); consider adding "
                        "a '.*' pattern at the end with a default initializer"
                        % (name, ", ".join(p.pattern for p, _ in self.map)))


# ----------------------------------------------------------------------- fill rules
@register
@alias("zeros")
class Zero(Initializer):
    """``mx.init.Zero()`` (names ``zero``, ``zeros``): fills with 0."""

    def __init__(self) -> None:
        super().__init__()

    def _init_weight(self, _: Any, arr: NDArray) -> None:
        arr[:] = 0


@register
@alias("ones")
class One(Initializer):
    """``mx.init.One()`` (names ``one``, ``ones``): fills with 1."""

    def __init__(self) -> None:
        super().__init__()

    def _init_weight(self, _: Any, arr: NDArray) -> None:
        arr[:] = 1


@register
class Constant(Initializer):
    """``mx.init.Constant(value)``: fills with ``value``, a number or an array (NumPy,
    NDArray or nested list) broadcastable to the parameter's shape."""

    def __init__(self, value: Any) -> None:
        super().__init__(value=value)
        self.value = value

    def _init_weight(self, _: Any, arr: NDArray) -> None:
        value = self.value
        if isinstance(value, list):
            value = np.asarray(value)
        arr[:] = value

    def dumps(self) -> str:
        value = self._kwargs["value"]
        if isinstance(value, NDArray):
            value = value.asnumpy().tolist()
        elif isinstance(value, (np.ndarray, np.generic)):
            value = value.tolist()
        return json.dumps([self.__class__.__name__.lower(), dict(self._kwargs, value=value)])


@register
class Uniform(Initializer):
    """``mx.init.Uniform(scale=0.07)``: weights drawn from U(-scale, scale)."""

    def __init__(self, scale: float = 0.07) -> None:
        super().__init__(scale=scale)
        self.scale = scale

    def _init_weight(self, _: Any, arr: NDArray) -> None:
        _nd.random.uniform(-float(self.scale), float(self.scale), out=arr)


@register
class Normal(Initializer):
    """``mx.init.Normal(sigma=0.01)``: weights drawn from N(0, sigma**2)."""

    def __init__(self, sigma: float = 0.01) -> None:
        super().__init__(sigma=sigma)
        self.sigma = sigma

    def _init_weight(self, _: Any, arr: NDArray) -> None:
        _nd.random.normal(0.0, float(self.sigma), out=arr)


@register
class Orthogonal(Initializer):
    """``mx.init.Orthogonal(scale=1.414, rand_type='uniform')``: ``scale`` times an
    orthonormal matrix of shape (shape[0], prod(shape[1:])) taken from the SVD of a random
    matrix (``rand_type`` ``'uniform'`` U(-1, 1) or ``'normal'`` N(0, 1))."""

    def __init__(self, scale: float = 1.414, rand_type: str = "uniform") -> None:
        super().__init__(scale=scale, rand_type=rand_type)
        self.scale = scale
        self.rand_type = rand_type

    def _init_weight(self, name: Any, arr: NDArray) -> None:
        if len(arr.shape) < 1:
            raise InitError("Orthogonal initializer cannot be applied to %s of shape %s"
                            % (name, arr.shape))
        nout = arr.shape[0]
        nin = int(np.prod(arr.shape[1:]))
        if self.rand_type == "uniform":
            tmp = _nd.random.uniform(-1.0, 1.0, shape=(nout, nin), ctx=arr.context)
        elif self.rand_type == "normal":
            tmp = _nd.random.normal(0.0, 1.0, shape=(nout, nin), ctx=arr.context)
        else:
            raise InitError("Orthogonal: unknown rand_type %r for %s (known: normal, "
                            "uniform)" % (self.rand_type, name))
        mat = tmp.asnumpy().astype(np.float64)
        u, _, v = np.linalg.svd(mat, full_matrices=False)
        # u is (nout, k) and v (k, nin) with k = min(nout, nin): exactly one of them has
        # the weight's 2-D shape (both when square; u then, as MXNet)
        res = u if u.shape == mat.shape else v
        arr[:] = (self.scale * res).reshape(arr.shape)


@register
class Xavier(Initializer):
    """``mx.init.Xavier(rnd_type='uniform', factor_type='avg', magnitude=3)``: with
    fan_in = shape[1]*prod(shape[2:]) and fan_out = shape[0]*prod(shape[2:]), factor is
    their mean (``'avg'``), fan_in (``'in'``) or fan_out (``'out'``); s =
    sqrt(magnitude/factor); weights from U(-s, s) (``'uniform'``) or N(0, s**2)
    (``'gaussian'``). Weights need at least 2 dimensions."""

    def __init__(self, rnd_type: str = "uniform", factor_type: str = "avg",
                 magnitude: float = 3) -> None:
        super().__init__(rnd_type=rnd_type, factor_type=factor_type, magnitude=magnitude)
        self.rnd_type = rnd_type
        self.factor_type = factor_type
        self.magnitude = float(magnitude)

    def _scale(self, name: Any, shape: tuple) -> float:
        if len(shape) < 2:
            raise InitError("Xavier initializer cannot be applied to vector %s (shape %s): "
                            "it requires at least 2D" % (name, tuple(shape)))
        receptive = float(np.prod(shape[2:])) if len(shape) > 2 else 1.0
        fan_in, fan_out = shape[1] * receptive, shape[0] * receptive
        if self.factor_type == "avg":
            factor = (fan_in + fan_out) / 2.0
        elif self.factor_type == "in":
            factor = fan_in
        elif self.factor_type == "out":
            factor = fan_out
        else:
            raise InitError("Xavier: incorrect factor_type %r for %s (known: avg, in, out)"
                            % (self.factor_type, name))
        if factor <= 0:
            raise InitError("Xavier: %s has shape %s with a zero fan" % (name, tuple(shape)))
        return math.sqrt(self.magnitude / factor)

    def _init_weight(self, name: Any, arr: NDArray) -> None:
        scale = self._scale(name, arr.shape)
        if self.rnd_type == "uniform":
            _nd.random.uniform(-scale, scale, out=arr)
        elif self.rnd_type == "gaussian":
            _nd.random.normal(0.0, scale, out=arr)
        else:
            raise InitError("Xavier: unknown rnd_type %r for %s (known: gaussian, uniform)"
                            % (self.rnd_type, name))


@register
class MSRAPrelu(Xavier):
    """``mx.init.MSRAPrelu(factor_type='avg', slope=0.25)``: He/Kaiming initialization
    for PReLU nets, i.e. Xavier gaussian with magnitude 2/(1+slope**2)."""

    def __init__(self, factor_type: str = "avg", slope: float = 0.25) -> None:
        super().__init__("gaussian", factor_type, 2.0 / (1 + slope ** 2))
        self._kwargs = {"factor_type": factor_type, "slope": slope}


@register
class Bilinear(Initializer):
    """``mx.init.Bilinear()``: the bilinear-interpolation kernel for a 4-D deconvolution
    weight used as an upsampler (same kernel for every (out, in) pair)."""

    def __init__(self) -> None:
        super().__init__()

    def _init_weight(self, _: Any, arr: NDArray) -> None:
        arr[:] = _bilinear_kernel(arr.shape, "Bilinear initializer")


@register
class LSTMBias(Initializer):
    """``mx.init.LSTMBias(forget_bias=1.0)``: zeros, except ``forget_bias`` on the
    forget gate, the second of the four gate blocks (i, f, c, o) of an LSTM bias."""

    def __init__(self, forget_bias: float = 1.0) -> None:
        super().__init__(forget_bias=forget_bias)
        self.forget_bias = forget_bias

    def _init_weight(self, name: Any, arr: NDArray) -> None:
        hidden = int(arr.shape[0] / 4)
        arr[:] = 0.0
        arr[hidden:2 * hidden] = self.forget_bias


_RNN_GATES = {"rnn_relu": ("",), "rnn_tanh": ("",), "lstm": ("_i", "_f", "_c", "_o"),
              "gru": ("_r", "_z", "_o")}


@register
class FusedRNN(Initializer):
    """``mx.init.FusedRNN(init, num_hidden, num_layers, mode, bidirectional=False,
    forget_bias=1.0)``: fills the flat ``parameters`` vector of the fused ``RNN`` op one
    gate matrix at a time, as MXNet's ``FusedRNNCell`` unpacks it (names
    ``l0_i2h_f_weight``, ``r1_h2h_o_bias``, ...): weights with ``init`` (or the global
    initializer when ``init`` is None), biases 0, and for LSTM the forget-gate biases
    (``*_f_bias``, both i2h and h2h) ``forget_bias``. Layout: all weights, then all
    biases; per layer, per direction, i2h then h2h; gate blocks of ``num_hidden`` rows."""

    def __init__(self, init: Any, num_hidden: int, num_layers: int, mode: str,
                 bidirectional: bool = False, forget_bias: float = 1.0) -> None:
        if init is not None and not isinstance(init, Initializer):
            init = create(init)
        if mode not in _RNN_GATES:
            raise InitError("FusedRNN: unknown mode %r (known: %s)"
                            % (mode, ", ".join(sorted(_RNN_GATES))))
        super().__init__(init=init.dumps() if init is not None else None,
                         num_hidden=num_hidden, num_layers=num_layers, mode=mode,
                         bidirectional=bidirectional, forget_bias=forget_bias)
        self._init = init
        self._num_hidden = int(num_hidden)
        self._num_layers = int(num_layers)
        self._mode = mode
        self._bidirectional = bool(bidirectional)
        self._forget_bias = forget_bias

    def _pieces(self, name: Any, size: int) -> list:
        """(name, offset, shape) of every gate matrix and bias, in the vector's order."""
        dirs = ("l", "r") if self._bidirectional else ("l",)
        gates = _RNN_GATES[self._mode]
        d, g, h, layers = len(dirs), len(gates), self._num_hidden, self._num_layers
        # size = d*g*h*(I + h + 2) + (layers-1)*d*g*h*(d*h + h + 2): solve for I
        per = d * g * h
        rest = size - (layers - 1) * per * (d * h + h + 2) - per * (h + 2)
        if per <= 0 or rest <= 0 or rest % per:
            raise InitError("FusedRNN: %s has %d elements, which is no %s vector with "
                            "num_hidden=%d, num_layers=%d, bidirectional=%s"
                            % (name, size, self._mode, h, layers, self._bidirectional))
        num_input = rest // per
        pieces, off = [], 0
        for kind in ("weight", "bias"):
            for layer in range(layers):
                in_size = num_input if layer == 0 else d * h
                for direction in dirs:
                    for conn, cols in (("i2h", in_size), ("h2h", h)):
                        for gate in gates:
                            shape = (h, cols) if kind == "weight" else (h,)
                            pieces.append(("%s%d_%s%s_%s" % (direction, layer, conn, gate,
                                                              kind), off, shape))
                            off += int(np.prod(shape))
        return pieces

    def _init_weight(self, desc: Any, arr: NDArray) -> None:
        if len(arr.shape) != 1:
            raise InitError("FusedRNN: %s must be the flat 1-D parameter vector, got shape "
                            "%s" % (desc, arr.shape))
        global_init = getattr(desc, "global_init", None)
        inner = self._init
        if inner is None:
            if global_init is None or isinstance(global_init, FusedRNN):
                raise InitError("FusedRNN(init=None) for %s needs a global initializer "
                                "(InitDesc.global_init) to fill the gate matrices" % desc)
            inner = global_init
        # each gate matrix is filled through its own view, so a fan-based rule sees the
        # (num_hidden, cols) shape of MXNet's unpacked cell, not the whole vector
        for name, off, shape in self._pieces(desc, int(arr.size)):
            view = arr[off:off + int(np.prod(shape))].reshape(shape)
            if self._mode == "lstm" and name.endswith("_f_bias"):
                view[:] = self._forget_bias
            else:
                inner(InitDesc(name, global_init=global_init), view)
