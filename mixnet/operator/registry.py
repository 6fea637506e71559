"""The operator registry: every operator is one :class:`OpDef` record, read by ``mx.nd``,
``mx.sym``, autograd and the executor alike.

A record holds the input names (hidden weights and aux states included), the typed
parameter schema, shape and dtype inference (which may complete unknown input shapes),
the forward kernel written once against ``xp``, in-place options, resources (RNG) and the
gradient-rule slot.
"""
from __future__ import annotations

import collections
import threading
from typing import Any, Callable, Optional, Sequence


from .. import backend
from ..base import MXNetError, dtype_name
from .params import REQUIRED, Param, ParamError

__all__ = ["OpDef", "OpCtx", "register", "get", "find", "list_ops", "infer_same_shape",
           "infer_one", "unify",
           "infer_same_type", "shape_str", "is_training", "set_training", "is_recording",
           "set_recording"]

Shape = tuple
_REGISTRY: dict = {}
_CACHE_LIMIT = 4096


def shape_str(s: Any) -> str:
    """Shapes as MXNet prints them: ``(2, 3)``; unknown as ``?``."""
    if s is None:
        return "?"
    return "(" + ", ".join(str(d) for d in s) + ("," if len(s) == 1 else "") + ")"


class OpDef:
    """One operator.

    ``inputs``: input names, or a function ``params -> names`` when they depend on
    parameters (``no_bias``, ``num_args``). ``aux``: names of auxiliary-state inputs
    (mutated in place, never differentiated). ``mutate``: extra input names written in place
    (optimizer states). ``infer_shape(p, in_shapes) -> (in_shapes, out_shapes)`` and
    ``infer_type(p, in_dtypes) -> (in_dtypes, out_dtypes)`` receive ``None`` for unknown
    entries and return completed lists or raise :class:`MXNetError` saying what is
    inconsistent. ``forward(opctx, ins, outs, p)`` writes ``outs`` (preallocated arrays of
    the inferred shapes) from ``ins``. ``inplace``: ``(in_index, out_index)`` pairs whose
    buffers may alias. ``resources``: e.g. ``("random",)``, or a function ``params ->
    names`` for ops that draw only in some modes (``LeakyReLU`` rrelu, ``RNN`` with dropout). ``gradient``: the gradient
    rule ``rule(F, p, ins, outs, ograds) -> input grads`` (contract in
    :mod:`mixnet.operator.gradient`); ``None`` means the op is not differentiable and
    backward through it is an error. ``keep_inputs``/``keep_outputs``: which forward values
    the rule reads (``True``, ``False`` or a tuple of indices); the rest are passed to it as
    ``None`` and may be freed before backward. ``varargs``: name of the count parameter of variadic ops
    (``num_args``). ``cost(p, in_shapes, out_shapes)``: work estimate in element
    operations (default: elements of all inputs and outputs).

    ``skip_unused_outputs`` (set after construction): the kernel accepts ``None`` in
    ``outs`` for an output nobody reads, and then skips computing it. The executor passes
    ``None`` where its graph has no reader (e.g. the data gradient of a network's first
    layer, whose input needs no gradient)."""

    #: see the class docstring
    skip_unused_outputs = False

    def __init__(self, name: str, inputs: Any = ("data",), params: Sequence[Param] = (),
                 forward: Optional[Callable] = None, infer_shape: Optional[Callable] = None,
                 infer_type: Optional[Callable] = None, num_outputs: Any = 1,
                 output_names: Any = None, aux: Sequence[str] = (), mutate: Sequence[str] = (),
                 inplace: Sequence[tuple] = (), resources: Any = (),
                 varargs: Optional[str] = None, aliases: Sequence[str] = (), doc: str = "",
                 gradient: Optional[Callable] = None, cost: Optional[Callable] = None,
                 visible_outputs: Any = None, keep_inputs: Any = None,
                 keep_outputs: Any = None):
        self.name = name
        self.aliases = tuple(aliases)
        self._inputs = inputs
        self.params = list(params)
        self.param_index = {p.name: i for i, p in enumerate(self.params)}
        self.forward = forward
        self.infer_shape = infer_shape or infer_same_shape
        self.infer_type = infer_type or infer_same_type
        self._num_outputs = num_outputs
        self._output_names = output_names
        self._visible_outputs = visible_outputs
        self.aux = tuple(aux)
        self.mutate = tuple(mutate)
        self.inplace = tuple(inplace)
        self.resources = resources if callable(resources) else tuple(resources)
        self.varargs = varargs
        self.doc = doc
        self.gradient = gradient
        self._keep = (keep_inputs, keep_outputs)
        self.cost = cost
        self.Params = collections.namedtuple("%s_params" % name.strip("_") or "params",
                                             [p.name for p in self.params])
        self._defaults = {p.name: p.default for p in self.params}
        self._cache: dict = {}
        self._cache_lock = threading.Lock()
        if isinstance(inputs, (tuple, list)):
            self.all_inputs = tuple(inputs)
            self._fixed_inputs: Optional[tuple] = tuple(inputs)
        else:
            self.all_inputs = ()
            self._fixed_inputs = None
        self.fixed_num_outputs = num_outputs if isinstance(num_outputs, int) else None

    def __repr__(self):
        return "<OpDef %s>" % self.name

    # rules may be attached after registration, so what they keep is looked up lazily
    @property
    def keep_inputs(self) -> Any:
        """Which inputs the gradient rule reads (declared, or what the rule declares)."""
        k = self._keep[0]
        return getattr(self.gradient, "keeps", (True, True))[0] if k is None else k

    @keep_inputs.setter
    def keep_inputs(self, value: Any) -> None:
        self._keep = (value, self._keep[1])

    @property
    def keep_outputs(self) -> Any:
        """Which outputs the gradient rule reads."""
        k = self._keep[1]
        return getattr(self.gradient, "keeps", (True, True))[1] if k is None else k

    @keep_outputs.setter
    def keep_outputs(self, value: Any) -> None:
        self._keep = (self._keep[0], value)

    # ----------------------------------------------------------------- structure
    def input_names(self, p: Any) -> list:
        """Names of the inputs for parameters ``p`` (aux states included, last)."""
        if self._fixed_inputs is not None:
            return list(self._fixed_inputs)
        return list(self._inputs(p))

    def num_outputs(self, p: Any) -> int:
        """Number of outputs for parameters ``p`` (hidden outputs included)."""
        n = self._num_outputs
        return n if isinstance(n, int) else int(n(p))

    def num_visible_outputs(self, p: Any) -> int:
        """Outputs shown to the user (some ops keep extra outputs for backward)."""
        v = self._visible_outputs
        if v is None:
            return self.num_outputs(p)
        return v if isinstance(v, int) else int(v(p))

    def output_names(self, p: Any) -> list:
        """Output names (``['output']``, ``['output0', 'output1']`` or op-specific)."""
        names = self._output_names
        if names is not None:
            return list(names if isinstance(names, (tuple, list)) else names(p))
        n = self.num_outputs(p)
        return ["output"] if n == 1 else ["output%d" % i for i in range(n)]

    def uses_random(self, p: Any) -> bool:
        """Whether an application with parameters ``p`` draws from the device generator."""
        res = self.resources
        return "random" in (res(p) if callable(res) else res)

    def mutate_indices(self, p: Any) -> list:
        """Indices of inputs the op writes in place (aux states and ``mutate`` inputs)."""
        names = self.input_names(p)
        written = set(self.aux) | set(self.mutate)
        return [i for i, n in enumerate(names) if n in written]

    # ----------------------------------------------------------------- parameters
    def parse_params(self, kwargs: dict, positional: Sequence[Any] = ()) -> Any:
        """Parse parameters given as Python values or MXNet strings into the op's
        ``Params`` tuple; positional values fill parameters in registration order.
        Results are cached per distinct call signature."""
        try:
            key = (tuple(positional), tuple(kwargs.items()))
            hit = self._cache.get(key)
        except TypeError:  # unhashable values (lists): parse without caching
            key, hit = None, None
        if hit is not None:
            return hit
        p = self._parse(kwargs, positional)
        if key is not None:
            with self._cache_lock:
                if len(self._cache) >= _CACHE_LIMIT:
                    self._cache.clear()
                self._cache[key] = p
        return p

    def _parse(self, kwargs: dict, positional: Sequence[Any]) -> Any:
        if len(positional) > len(self.params):
            raise MXNetError("Operator %s takes at most %d positional parameters (%s), got %d"
                             % (self.name, len(self.params),
                                ", ".join(p.name for p in self.params), len(positional)))
        values = dict(self._defaults)
        given = {}
        for prm, v in zip(self.params, positional):
            given[prm.name] = v
        for k, v in kwargs.items():
            if k not in self.param_index:
                raise MXNetError("Operator %s got an unknown parameter %r; its parameters are: %s"
                                 % (self.name, k, ", ".join(p.name for p in self.params) or
                                    "(none)"))
            if k in given:
                raise MXNetError("Operator %s got parameter %r both positionally and by keyword"
                                 % (self.name, k))
            given[k] = v
        for k, v in given.items():
            prm = self.params[self.param_index[k]]
            try:
                values[k] = prm.ptype.parse(v)
            except (ParamError, TypeError, ValueError) as e:
                raise MXNetError("Operator %s: invalid value %r for parameter %s (%s): %s"
                                 % (self.name, v, k, prm.ptype.name, e)) from None
        missing = [k for k, v in values.items() if v is REQUIRED]
        if missing:
            raise MXNetError("Operator %s: required parameter%s %s missing"
                             % (self.name, "s" if len(missing) > 1 else "",
                                ", ".join(missing)))
        return self.Params(**values)

    def param_strings(self, p: Any, only_given: Optional[Sequence[str]] = None) -> dict:
        """MXNet's string attribute form of ``p`` (what symbol JSON stores)."""
        out = {}
        for prm, v in zip(self.params, p):
            if only_given is not None and prm.name not in only_given:
                continue
            out[prm.name] = prm.ptype.to_str(v)
        return out

    # ----------------------------------------------------------------- inference
    def infer(self, p: Any, in_shapes: list, in_dtypes: list, names: Optional[list] = None):
        """Run shape and dtype inference, turning any failure into an ``MXNetError`` that
        names the op and every input with its shape and dtype."""
        try:
            _, oshapes = self.infer_shape(p, in_shapes)
            _, odtypes = self.infer_type(p, in_dtypes)
        except Exception as e:  # noqa: BLE001 - rewrapped with the op and its inputs
            names = names or self.input_names(p)
            desc = ", ".join("%s=%s %s" % (n, shape_str(s), "?" if d is None else dtype_name(d))
                             for n, s, d in zip(names, in_shapes, in_dtypes))
            raise MXNetError("Operator %s: %s (inputs: %s)" % (self.name, e, desc or "none")) \
                from (None if isinstance(e, MXNetError) else e)
        return oshapes, odtypes


# --------------------------------------------------------------------- default rules
def unify(values: list, what: str, fmt: Callable[[Any], str] = shape_str) -> Any:
    """The one known value among ``values`` (``None`` = unknown); unequal ones raise
    ``MXNetError`` saying ``<what> must be equal`` and listing them all."""
    known = None
    for v in values:
        if v is not None:
            if known is None:
                known = v
            elif v != known:
                raise MXNetError("%s must be equal, got %s" % (what, " vs ".join(
                    "?" if x is None else fmt(x) for x in values)))
    return known


def infer_one(p: Any, shapes: list, rule: Callable[[Any, tuple], tuple]):
    """Shape inference of a single-input, single-output op from ``rule(p, in_shape) ->
    out_shape``: an unknown input gives an unknown output."""
    (s,) = shapes
    if s is None:
        return shapes, [None]
    return shapes, [tuple(rule(p, tuple(s)))]


def infer_same_shape(p: Any, shapes: list):
    """Element-wise rule: all inputs and the output share one shape; a known shape fills
    unknown inputs."""
    if len(shapes) == 2 and shapes[0] == shapes[1]:  # the common case, without a loop
        return shapes, [shapes[0]]
    known = unify(shapes, "shapes")
    return [known] * len(shapes), [known]


def infer_same_type(p: Any, dtypes: list):
    """All inputs and outputs share one dtype; a known dtype fills unknown inputs."""
    if len(dtypes) == 1 or (len(dtypes) == 2 and dtypes[0] == dtypes[1]):
        return dtypes, [dtypes[0]]
    known = unify(dtypes, "dtypes", dtype_name)
    return [known] * len(dtypes), [known]


# --------------------------------------------------------------------- kernel context
class _ThreadState(threading.local):
    # class-level defaults: a missing per-thread attribute would make every lookup on the
    # hot path raise and catch an AttributeError inside getattr
    train = False
    record = False


_state = _ThreadState()


def is_training() -> bool:
    """Whether ops run in training mode on this thread (Dropout, BatchNorm)."""
    return _state.train


def is_recording() -> bool:
    """Whether imperative ops are being recorded for autograd on this thread."""
    return _state.record


def set_recording(flag: bool) -> bool:
    """Set the recording flag of this thread; returns the previous value."""
    prev = _state.record
    _state.record = bool(flag)
    return prev


def set_training(flag: bool) -> bool:
    """Set the training flag of this thread; returns the previous value."""
    prev = _state.train
    _state.train = bool(flag)
    return prev


class OpCtx:
    """What a kernel sees besides its arrays: ``xp`` (NumPy or CuPy), the device ``ctx``,
    ``is_train`` and, for ops declaring the ``random`` resource, ``rng``."""

    __slots__ = ("xp", "ctx", "is_train")
    _cache: dict = {}

    def __init__(self, xp: Any, ctx: Any, is_train: bool):
        self.xp = xp
        self.ctx = ctx
        self.is_train = is_train

    @property
    def rng(self) -> Any:
        return backend.generator(self.ctx)

    @classmethod
    def get(cls, ctx: Any, is_train: bool) -> "OpCtx":
        key = (ctx, is_train)
        oc = cls._cache.get(key)
        if oc is None:
            oc = cls._cache[key] = OpCtx(backend.array_module(ctx), ctx, is_train)
        return oc


# --------------------------------------------------------------------- registry
def register(opdef: OpDef) -> OpDef:
    """Add an op (and its aliases) to the registry; names must be new."""
    for n in (opdef.name,) + opdef.aliases:
        if n in _REGISTRY:
            raise MXNetError("operator %s is already registered" % n)
        _REGISTRY[n] = opdef
    return opdef


def get(name: str) -> OpDef:
    """The record of an op by name or alias; ``MXNetError`` if unknown."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise MXNetError("unknown operator %r" % (name,)) from None


def find(name: str) -> Optional[OpDef]:
    """The record of an op, or ``None``."""
    return _REGISTRY.get(name)


def list_ops() -> list:
    """All registered names (aliases included), sorted."""
    return sorted(_REGISTRY)
