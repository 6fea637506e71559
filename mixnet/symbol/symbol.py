"""``mx.sym.Symbol``: a handle on one or more outputs of a graph, composed from variables
and registered ops, with MXNet's naming, attributes and inspection API.

Composition follows MXNet exactly: inputs the user does not pass become variables named
``<op name>_<input>`` carrying a copy of the op's attributes, unnamed ops get
``<lower-cased op><n>`` from the current :class:`mx.name.NameManager`, parameters are kept
as the strings MXNet stores, and arithmetic between symbols uses the same-shape
``elemwise`` ops (no broadcasting), as MXNet's symbols do.
"""
from __future__ import annotations

import copy as _copy
import warnings
import weakref
from typing import Any, Iterator, Optional, Sequence

import numpy as np

from .. import attribute as _attribute
from .. import name as _name
from ..base import DTYPE_TO_FLAG, MXNetError, normalize_dtype, numeric_types
from ..operator import registry as _reg
from .graph import Entry, Node, implicit_variable, is_hidden_key, post_order

__all__ = ["Symbol", "Variable", "var", "Group", "load", "load_json", "compose",
           "attr_string"]

# legacy attribute names MXNet turns into their ``__x__`` form
_LEGACY_KEYS = ("lr_mult", "wd_mult", "ctx_group", "force_mirroring", "mirror_stage")
_STYPES = {"default": 0, "row_sparse": 1, "csr": 2}
_versions: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def attr_string(value: Any) -> str:
    """A parameter value as the string MXNet's Python front end stores (``str(v)``, with
    dtypes by name)."""
    if isinstance(value, str):
        return value
    if isinstance(value, type) and issubclass(value, np.generic) or isinstance(value, np.dtype):
        return np.dtype(value).name
    if isinstance(value, list):
        value = tuple(value)
    return str(value)


def _hidden_attrs(attrs: dict) -> dict:
    out = {}
    for k, v in attrs.items():
        if k in _LEGACY_KEYS:
            k = "__%s__" % k
        out[k] = v if isinstance(v, str) else attr_string(v)
    return out


class Symbol:
    """One or more graph outputs (``mx.sym.Symbol``)."""

    __slots__ = ("_outputs", "__weakref__")

    def __init__(self, outputs: Sequence[Entry]):
        self._outputs = list(outputs)

    # ------------------------------------------------------------------ structure
    @property
    def outputs(self) -> list:
        """The output entries (internal)."""
        return self._outputs

    def _nodes(self) -> list:
        return post_order(self._outputs)

    @property
    def name(self) -> Optional[str]:
        """The name of a single-output symbol's node (``None`` for a group)."""
        if len(self._outputs) != 1:
            return None
        return self._outputs[0].node.name

    def _aux_ids(self, nodes: list) -> set:
        aux = set()
        for n in nodes:
            if n.op is not None and (n.op.aux or n.op.mutate or n.op.name == "Custom"):
                for i in n.mutate_indices():
                    if i < len(n.inputs) and n.inputs[i].node.op is None:
                        aux.add(id(n.inputs[i].node))
        return aux

    def list_arguments(self) -> list:
        """Names of the argument variables (inputs that are not auxiliary states), in
        depth-first order."""
        nodes = self._nodes()
        aux = self._aux_ids(nodes)
        return [n.name for n in nodes if n.op is None and id(n) not in aux]

    def list_auxiliary_states(self) -> list:
        """Names of the auxiliary-state variables (e.g. BatchNorm moving statistics)."""
        nodes = self._nodes()
        aux = self._aux_ids(nodes)
        return [n.name for n in nodes if n.op is None and id(n) in aux]

    def list_inputs(self) -> list:
        """Names of every variable (arguments and auxiliary states), in order."""
        return [n.name for n in self._nodes() if n.op is None]

    def list_outputs(self) -> list:
        """Output names: ``<name>_output`` (``<name>_output<i>`` for several outputs, or
        the op's own output names); a variable's output is its name."""
        out = []
        for e in self._outputs:
            n = e.node
            if n.op is None:
                out.append(n.name)
            else:
                out.append("%s_%s" % (n.name, n.op.output_names(n.params)[e.index]))
        return out

    def get_internals(self) -> "Symbol":
        """Every visible output of every node of the graph, as one grouped symbol."""
        entries = []
        for n in self._nodes():
            entries.extend(Entry(n, i) for i in range(n.num_visible_outputs()))
        return Symbol(entries)

    def get_children(self) -> Optional["Symbol"]:
        """The inputs of this symbol's (single) node as a group; ``None`` for a
        variable."""
        node = self._single("get_children").node
        if node.op is None or not node.inputs:
            return None
        return Symbol([Entry(e.node, e.index, e.version) for e in node.inputs])

    def _single(self, what: str) -> Entry:
        if len(self._outputs) != 1:
            raise MXNetError("%s needs a single-output symbol, this one has %d outputs (%s)"
                             % (what, len(self._outputs), ", ".join(self.list_outputs())))
        return self._outputs[0]

    def __len__(self) -> int:
        return len(self._outputs)

    def __iter__(self) -> Iterator["Symbol"]:
        return (Symbol([e]) for e in self._outputs)

    def __getitem__(self, index: Any) -> "Symbol":
        if isinstance(index, str):
            names = self.list_outputs()
            matches = [i for i, n in enumerate(names) if n == index]
            if not matches:
                raise MXNetError("symbol has no output named %r (outputs: %s)"
                                 % (index, ", ".join(names)))
            if len(matches) > 1:
                raise MXNetError("output name %r is ambiguous" % index)
            index = matches[0]
        if isinstance(index, slice):
            return Symbol(self._outputs[index])
        if not isinstance(index, (int, np.integer)):
            raise TypeError("symbol index must be an int, a slice or an output name")
        n = len(self._outputs)
        if not -n <= index < n:
            raise IndexError("symbol output index %d out of range (%d outputs)" % (index, n))
        return Symbol([self._outputs[index]])

    # ------------------------------------------------------------------ attributes
    def attr(self, key: str) -> Optional[str]:
        """The string attribute ``key`` of this symbol's node, or ``None``."""
        node = self._single("attr").node
        return node.attrs.get(key)

    def list_attr(self, recursive: bool = False) -> dict:
        """This node's attributes (``recursive``: every node's, keyed ``<node>$<key>``)."""
        if recursive:
            return {"%s$%s" % (n.name, k): v for n in self._nodes() for k, v in n.attrs.items()}
        return dict(self._single("list_attr").node.attrs)

    def attr_dict(self) -> dict:
        """``{node name: {key: value}}`` for every node with attributes."""
        return {n.name: dict(n.attrs) for n in self._nodes() if n.attrs}

    def _set_attr(self, **kwargs: Any) -> None:
        """Set string attributes on this symbol's node."""
        node = self._single("_set_attr").node
        for k, v in _hidden_attrs(kwargs).items():
            node.attrs[k] = v
        node.invalidate()

    # ------------------------------------------------------------------ copying
    def __copy__(self) -> "Symbol":
        return self._clone()

    def __deepcopy__(self, memo: Any) -> "Symbol":
        return self._clone()

    def _clone(self) -> "Symbol":
        """A copy of the whole graph (new nodes), so composing it leaves ``self`` alone."""
        mapping: dict = {}
        for n in self._nodes():
            new = Node(n.op, n.name, n.attrs,
                       [Entry(mapping[id(e.node)], e.index, e.version) for e in n.inputs],
                       [mapping[id(c)] for c in n.control_deps])
            mapping[id(n)] = new
        return Symbol([Entry(mapping[id(e.node)], e.index, e.version) for e in self._outputs])

    def __call__(self, *args: "Symbol", **kwargs: Any) -> "Symbol":
        """A copy of this symbol with argument variables replaced: positionally in
        ``list_arguments`` order or by name."""
        s = self._clone()
        s._compose(*args, **kwargs)
        return s

    def _compose(self, *args: "Symbol", name: Optional[str] = None, **kwargs: "Symbol") -> None:
        """Replace argument variables of this graph in place (MXNet's ``_compose``)."""
        if args and kwargs:
            raise MXNetError("compose takes symbols positionally or by name, not both")
        nodes = self._nodes()
        variables = {n.name: n for n in nodes if n.op is None}
        if args:
            names = self.list_arguments()
            if len(args) > len(names):
                raise MXNetError("compose: %d symbols for %d arguments" % (len(args), len(names)))
            kwargs = dict(zip(names, args))
        for k in kwargs:
            if k not in variables:
                raise MXNetError("compose: symbol has no argument %r (arguments: %s)"
                                 % (k, ", ".join(self.list_arguments())))
        repl = {id(variables[k]): s._single("compose input %s" % k) for k, s in kwargs.items()}
        for n in nodes:
            n.inputs = [Entry(repl[id(e.node)].node, repl[id(e.node)].index, e.version)
                        if id(e.node) in repl else e for e in n.inputs]
        self._outputs = [Entry(repl[id(e.node)].node, repl[id(e.node)].index)
                         if id(e.node) in repl else e for e in self._outputs]
        if name is not None and len(self._outputs) == 1:
            self._outputs[0].node.name = name

    # ------------------------------------------------------------------ inference
    def _input_values(self, what: str, args: tuple, kwargs: dict) -> dict:
        if args and kwargs:
            raise MXNetError("%s takes values positionally or by name, not both" % what)
        if args:
            names = self.list_arguments()
            if len(args) > len(names):
                raise MXNetError("%s: %d values for %d arguments" % (what, len(args), len(names)))
            return {n: v for n, v in zip(names, args) if v is not None}
        inputs = set(self.list_inputs())
        for k in kwargs:
            if k not in inputs:
                raise MXNetError("%s: symbol has no input %r (inputs: %s)"
                                 % (what, k, ", ".join(sorted(inputs))))
        return {k: v for k, v in kwargs.items() if v is not None}

    def _infer(self, kind: str, args: tuple, kwargs: dict, partial: bool):
        from ..executor.infer import infer_graph
        given = self._input_values("infer_" + kind, args, kwargs)
        nodes = self._nodes()
        if kind == "shape":
            given = {k: tuple(int(d) for d in v) for k, v in given.items()}
            res = infer_graph(nodes, shapes=given)[0]
        else:
            given = {k: normalize_dtype(v) for k, v in given.items()}
            res = infer_graph(nodes, dtypes=given, shapes_needed=False)[1]
        args_l = self.list_arguments()
        aux_l = self.list_auxiliary_states()
        by_name = {n.name: n for n in nodes if n.op is None}

        def get(entry: Entry) -> Any:
            return res.get((id(entry.node), entry.index))
        arg_v = [get(Entry(by_name[n])) for n in args_l]
        out_v = [get(e) for e in self._outputs]
        aux_v = [get(Entry(by_name[n])) for n in aux_l]
        if any(v is None for v in arg_v + out_v + aux_v):
            if not partial:
                unknown = [n for n, v in zip(args_l + aux_l, arg_v + aux_v) if v is None]
                warnings.warn("Cannot decide %s of %s: not enough information"
                              % (kind, ", ".join(unknown) or "the outputs"), stacklevel=3)
                return None, None, None
            blank = () if kind == "shape" else None
            arg_v, out_v, aux_v = ([blank if v is None else v for v in vs]
                                   for vs in (arg_v, out_v, aux_v))
        if kind == "type":
            arg_v, out_v, aux_v = ([None if v is None else v.type for v in vs]
                                   for vs in (arg_v, out_v, aux_v))
        return arg_v, out_v, aux_v

    def infer_shape(self, *args: Any, **kwargs: Any):
        """``(arg_shapes, out_shapes, aux_shapes)`` from input shapes given positionally
        (``list_arguments`` order) or by name; ``(None, None, None)`` with a warning when
        they do not determine everything. Inconsistent shapes raise ``MXNetError`` naming
        the node."""
        return self._infer("shape", args, kwargs, False)

    def infer_shape_partial(self, *args: Any, **kwargs: Any):
        """Like :meth:`infer_shape` but returns what is known (``()`` for unknown)."""
        return self._infer("shape", args, kwargs, True)

    def infer_type(self, *args: Any, **kwargs: Any):
        """``(arg_types, out_types, aux_types)`` (NumPy types) from input dtypes."""
        return self._infer("type", args, kwargs, False)

    def infer_type_partial(self, *args: Any, **kwargs: Any):
        return self._infer("type", args, kwargs, True)

    # ------------------------------------------------------------------ files
    def tojson(self) -> str:
        """The graph as MXNet 1.9.1's JSON text (byte for byte)."""
        from .. import util
        from .json_io import to_json
        return to_json(self._outputs, util.is_np_shape())

    def save(self, fname: str, remove_amp_cast: bool = True) -> None:
        """Write :meth:`tojson` to ``fname`` (atomically)."""
        from ..fileutil import atomic_write
        atomic_write(fname, self.tojson().encode("utf-8"))

    def __getstate__(self) -> dict:
        return {"handle": self.tojson()}

    def __setstate__(self, state: dict) -> None:
        self._outputs = load_json(state["handle"])._outputs

    # ------------------------------------------------------------------ execution
    def simple_bind(self, ctx: Any, grad_req: Any = "write", type_dict: Optional[dict] = None,
                    stype_dict: Optional[dict] = None, group2ctx: Optional[dict] = None,
                    shared_arg_names: Optional[list] = None, shared_exec: Any = None,
                    shared_buffer: Optional[dict] = None, **kwargs: Any):
        """Allocate arguments, gradients and auxiliary states from inferred shapes and
        bind them (``Symbol.simple_bind``)."""
        from ..executor import simple_bind
        return simple_bind(self, ctx, grad_req=grad_req, type_dict=type_dict,
                           stype_dict=stype_dict, group2ctx=group2ctx,
                           shared_arg_names=shared_arg_names, shared_exec=shared_exec,
                           shared_buffer=shared_buffer, **kwargs)

    def bind(self, ctx: Any, args: Any, args_grad: Any = None, grad_req: Any = "write",
             aux_states: Any = None, group2ctx: Optional[dict] = None, shared_exec: Any = None):
        """Bind to the given argument arrays (list in ``list_arguments`` order, or dict)."""
        from ..executor import bind
        return bind(self, ctx, args, args_grad=args_grad, grad_req=grad_req,
                    aux_states=aux_states, group2ctx=group2ctx, shared_exec=shared_exec)

    def eval(self, ctx: Any = None, **kwargs: Any) -> list:
        """Bind the given arrays, run forward once and return the outputs."""
        from ..context import current_context
        exe = self.bind(ctx or current_context(), kwargs, grad_req="null")
        return exe.forward()

    # ------------------------------------------------------------------ arithmetic
    def _arith(self, other: Any, op_name: str, scalar_name: str) -> "Symbol":
        if isinstance(other, Symbol):
            return _apply(op_name, [self, other], {})
        if isinstance(other, numeric_types):
            return _apply(scalar_name, [self], {"scalar": other})
        return NotImplemented

    def __add__(self, o):
        return self._arith(o, "_Plus", "_PlusScalar")

    __radd__ = __add__

    def __sub__(self, o):
        return self._arith(o, "_Minus", "_MinusScalar")

    def __rsub__(self, o):
        return self._arith(o, "_Minus", "_RMinusScalar") if not isinstance(o, Symbol) \
            else o.__sub__(self)

    def __mul__(self, o):
        return self._arith(o, "_Mul", "_MulScalar")

    __rmul__ = __mul__

    def __truediv__(self, o):
        return self._arith(o, "_Div", "_DivScalar")

    def __rtruediv__(self, o):
        return self._arith(o, "_Div", "_RDivScalar")

    __div__, __rdiv__ = __truediv__, __rtruediv__

    def __mod__(self, o):
        return self._arith(o, "_Mod", "_ModScalar")

    def __rmod__(self, o):
        return self._arith(o, "_Mod", "_RModScalar")

    def __pow__(self, o):
        return self._arith(o, "_Power", "_PowerScalar")

    def __rpow__(self, o):
        return self._arith(o, "_Power", "_RPowerScalar")

    def __neg__(self):
        return self.__mul__(-1.0)

    def __eq__(self, o):  # type: ignore[override]
        return self._arith(o, "_Equal", "_EqualScalar")

    def __ne__(self, o):  # type: ignore[override]
        return self._arith(o, "_not_equal", "_NotEqualScalar")

    def __gt__(self, o):
        return self._arith(o, "_Greater", "_GreaterScalar")

    def __ge__(self, o):
        return self._arith(o, "_greater_equal", "_GreaterEqualScalar")

    def __lt__(self, o):
        return self._arith(o, "_Lesser", "_LesserScalar")

    def __le__(self, o):
        return self._arith(o, "_lesser_equal", "_LesserEqualScalar")

    __hash__ = object.__hash__

    def __bool__(self) -> bool:
        raise NotImplementedError("the truth value of a Symbol is not defined")

    def __repr__(self) -> str:
        if len(self._outputs) == 1:
            return "<Symbol %s>" % self.name
        return "<Symbol group [%s]>" % ", ".join(self.list_outputs())

    def debug_str(self) -> str:
        """One line per node: op, name, inputs and attributes."""
        lines = []
        for n in self._nodes():
            if n.op is None:
                lines.append("Variable:%s" % n.name)
                continue
            lines.append("Op:%s, Name=%s" % (n.op.name, n.name))
            lines.append("Inputs:")
            for i, e in enumerate(n.inputs):
                lines.append("\targ[%d]=%s(%d)" % (i, e.node.name, e.index))
            if n.attrs:
                lines.append("Attrs:")
                for k, v in sorted(n.attrs.items()):
                    lines.append("\t%s=%s" % (k, v))
        return "\n".join(lines)


# --------------------------------------------------------------------------- creation
def Variable(name: str, attr: Optional[dict] = None, shape: Any = None, lr_mult: Any = None,
             wd_mult: Any = None, dtype: Any = None, init: Any = None, stype: Optional[str] = None,
             **kwargs: Any) -> Symbol:
    """``mx.sym.Variable(name, attr=None, shape=None, lr_mult=None, wd_mult=None,
    dtype=None, init=None, stype=None, **kwargs)``: a placeholder; the keyword values are
    stored as MXNet's reserved string attributes (``__shape__``, ``__dtype__`` ...).
    Extra keyword attributes must be ``__x__``-style names."""
    if not isinstance(name, str) or not name:
        raise MXNetError("Variable name must be a non-empty string, got %r" % (name,))
    attrs = _hidden_attrs(_attribute.current().get(attr))
    if shape is not None:
        attrs["__shape__"] = str(tuple(int(d) for d in shape))
    if lr_mult is not None:
        attrs["__lr_mult__"] = str(float(lr_mult))
    if wd_mult is not None:
        attrs["__wd_mult__"] = str(float(wd_mult))
    if dtype is not None:
        attrs["__dtype__"] = str(DTYPE_TO_FLAG[normalize_dtype(dtype)])
    if init is not None:
        attrs["__init__"] = init if isinstance(init, str) else init.dumps()
    if stype is not None:
        if stype not in _STYPES:
            raise MXNetError("Variable %s: unknown stype %r" % (name, stype))
        attrs["__storage_type__"] = str(_STYPES[stype])
    for k, v in kwargs.items():
        if not is_hidden_key(k):
            raise MXNetError("Variable %s: attribute %s is not supported; extra attributes "
                             "must start and end with double underscores" % (name, k))
        attrs[k] = attr_string(v)
    return Symbol([Entry(Node(None, name, attrs))])


var = Variable


def Group(symbols: Sequence[Symbol]) -> Symbol:
    """``mx.sym.Group(symbols)``: one symbol whose outputs are all of theirs, in order."""
    symbols = list(symbols)
    if not symbols or not all(isinstance(s, Symbol) for s in symbols):
        raise MXNetError("Group needs a non-empty list of Symbols")
    return Symbol([e for s in symbols for e in s._outputs])


def load_json(json_str: str) -> Symbol:
    """``mx.sym.load_json(text)``: a symbol from MXNet's JSON (any MXNet 1.x version)."""
    from .json_io import from_json
    return Symbol(from_json(json_str))


def load(fname: str) -> Symbol:
    """``mx.sym.load(fname)``: a symbol from a ``-symbol.json`` file."""
    try:
        with open(fname, "r") as f:
            text = f.read()
    except OSError as e:
        raise MXNetError("cannot read symbol file %s: %s" % (fname, e)) from None
    return load_json(text)


# --------------------------------------------------------------------------- composition
def _apply(op_name: str, inputs: list, params: dict) -> Symbol:
    return compose(_reg.get(op_name), op_name, tuple(inputs), params)


def compose(op: _reg.OpDef, called_as: str, args: tuple, kwargs: dict) -> Symbol:
    """``mx.sym.<op>(*inputs, name=None, attr=None, **params)``: a new node applying
    ``op``; inputs are Symbols given positionally (in the op's input order) or by input
    name, missing ones become variables ``<name>_<input>``; ``called_as`` (the public name
    used) gives the automatic name hint."""
    kwargs = dict(kwargs)
    name = kwargs.pop("name", None)
    attr = kwargs.pop("attr", None)
    positional_syms = []
    i = 0
    while i < len(args) and isinstance(args[i], Symbol):
        positional_syms.append(args[i])
        i += 1
    if len(args) == 1 and isinstance(args[0], (list, tuple)) and op.varargs and \
            all(isinstance(a, Symbol) for a in args[0]):
        positional_syms, i = list(args[0]), 1
    positional_params = args[i:]
    for a in positional_params:
        if isinstance(a, Symbol):
            raise MXNetError("Operator %s: symbol inputs must come before parameters"
                             % op.name)
    named_syms = {k: v for k, v in kwargs.items() if isinstance(v, Symbol)}
    raw = {k: v for k, v in kwargs.items() if not isinstance(v, Symbol)}
    hidden = {k: v for k, v in raw.items()
              if is_hidden_key(k) or k in _LEGACY_KEYS or k.endswith("_lr_mult")
              or k.endswith("_wd_mult")}
    given = {k: v for k, v in raw.items() if k not in hidden}
    if op.varargs:
        if named_syms:
            positional_syms = positional_syms + list(named_syms.values())
            named_syms = {}
        given.setdefault(op.varargs, len(positional_syms))
    p = op.parse_params(given, positional_params)
    given_names = list(given) + [prm.name for prm in op.params[:len(positional_params)]]
    if op.name in ("Custom",):
        params_attrs = {k: attr_string(v) for k, v in given.items()}
    else:
        values = dict(zip([prm.name for prm in op.params], positional_params))
        values.update(given)
        params_attrs = {k: attr_string(values[k]) for k in given_names}
    mgr = _name.current()
    node_name = mgr.get(name, called_as.lower())
    attrs = _hidden_attrs(_attribute.current().get(attr))
    attrs.update(_hidden_attrs(hidden))
    attrs.update(params_attrs)
    node = Node(op, node_name, attrs)
    node._p = p
    names = op.input_names(p)
    if len(positional_syms) > len(names):
        raise MXNetError("Operator %s (%s) takes %d inputs (%s), got %d"
                         % (node_name, op.name, len(names), ", ".join(names), len(positional_syms)))
    slots: dict = dict(zip(names, positional_syms))
    for k, s in named_syms.items():
        if k not in names:
            raise MXNetError("Operator %s (%s) has no input %r (inputs: %s)"
                             % (node_name, op.name, k, ", ".join(names)))
        if k in slots:
            raise MXNetError("Operator %s (%s): input %r given twice" % (node_name, op.name, k))
        slots[k] = s
    mutated = set(op.mutate_indices(p))
    inputs = []
    for idx, argname in enumerate(names):
        s = slots.get(argname)
        if s is None:
            entry = Entry(implicit_variable(node, argname))
        else:
            if len(s._outputs) != 1:
                raise MXNetError("Operator %s (%s): input %s must be a single-output symbol, "
                                 "got one with %d outputs" % (node_name, op.name, argname,
                                                              len(s._outputs)))
            e = s._outputs[0]
            entry = Entry(e.node, e.index, e.version)
        if idx in mutated and entry.node.op is None:
            v = _versions.get(entry.node, 0) + 1
            _versions[entry.node] = v
            entry.version = v
        inputs.append(entry)
    node.inputs = inputs
    _move_arg_attrs(node)
    return Symbol([Entry(node, i) for i in range(op.num_visible_outputs(p))])


def _move_arg_attrs(node: Node) -> None:
    """``<arg>_lr_mult``/``<arg>_wd_mult`` on an op move to that input variable as
    ``__lr_mult__``/``__wd_mult__`` (MXNet's legacy convention)."""
    names = node.input_names()
    for key in [k for k in node.attrs if k.endswith("_lr_mult") or k.endswith("_wd_mult")]:
        if is_hidden_key(key):
            continue
        arg, kind = key[:-len("_lr_mult")], key[-len("lr_mult"):]
        if arg in names:
            target = node.inputs[names.index(arg)].node
            if target.op is None:
                target.attrs["__%s__" % kind] = node.attrs.pop(key)
