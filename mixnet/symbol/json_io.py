"""MXNet's symbol JSON (``Symbol.tojson()``, ``*-symbol.json``), written byte for byte as
MXNet 1.9.1 writes it and read with MXNet's strictness, legacy variants and upgrade passes.

Layout (``docs/mxnet-formats.md`` §2): a top-level object ``nodes`` (post-order DFS of the
heads), ``arg_nodes`` (indices of the variables), ``node_row_ptr`` (prefix sums of output
counts), ``heads`` (entries ``[node, output, version]``) and ``attrs`` (typed graph
attributes, ``mxnet_version`` always). Whitespace follows the dmlc JSON writer: members
and items are joined by ``", "`` followed, in a multi-line scope, by a newline and two
spaces per open scope; objects are multi-line when they have more than one member, arrays
of numbers or entries when they have more than ten items, arrays of nodes always.
"""
from __future__ import annotations

import json
import warnings
from typing import Any, Optional

from ..base import MXNetError
from ..operator import registry as _reg
from .graph import Entry, Node, implicit_variable, input_var_attrs, param_attrs, post_order

__all__ = ["to_json", "from_json", "mxnet_num_outputs", "MXNET_VERSION", "version_string"]

MXNET_VERSION = 10901  # major * 10000 + minor * 100 + patch

# attribute names older files used for what is now ``__name__`` (the ``<arg>_name`` form on
# an op node addresses the variable feeding input ``arg``)
_LEGACY_HIDDEN = ("ctx_group", "lr_mult", "wd_mult", "force_mirroring", "mirror_stage")

_TOP_KEYS = ("nodes", "arg_nodes", "node_row_ptr", "heads", "attrs")
_NODE_KEYS = ("op", "name", "inputs", "attrs", "attr", "param", "control_deps", "subgraphs",
              "backward_source_id")
_ESCAPES = str.maketrans({"\r": "\\r", "\n": "\\n", "\\": "\\\\", "\t": "\\t", '"': '\\"'})


def version_string(v: int) -> str:
    """``10901`` -> ``"1.9.1"``."""
    return "%d.%d.%d" % (v // 10000, v // 100 % 100, v % 100)


# =============================================================================== writer
def mxnet_num_outputs(node: Node) -> int:
    """The output count MXNet 1.9.1 (oneDNN build, as the reference files were written)
    declares for ``node``, which ``node_row_ptr`` records. It differs from the registry's
    count where mixnet keeps other hidden outputs: oneDNN max pooling has a hidden
    workspace output, and RNN keeps no hidden output in MXNet."""
    op = node.op
    if op is None:
        return 1
    if op.name == "Pooling":
        p = node.params
        onednn = (p.pool_type == "max" and 1 <= len(p.kernel or ()) <= 3
                  and p.layout in (None, "NCW", "NCHW", "NCDHW"))
        return 2 if onednn else 1
    if op.name == "RNN":
        return node.num_visible_outputs()
    return node.num_outputs()


class _Writer:
    """The dmlc JSON writer's layout: each open scope remembers whether it is multi-line
    and how many members it has written so far."""

    __slots__ = ("out", "scopes")

    def __init__(self):
        self.out: list = []
        self.scopes: list = []  # [multi_line, count]

    def _newline(self) -> None:
        if not self.scopes or self.scopes[-1][0]:
            self.out.append("\n" + "  " * len(self.scopes))

    def begin(self, bracket: str, multi_line: bool) -> None:
        self.out.append(bracket)
        self.scopes.append([multi_line, 0])

    def end(self, bracket: str) -> None:
        multi_line, count = self.scopes.pop()
        if multi_line and count:
            self._newline()  # at the parent's indent (and only if the parent is multi-line)
        self.out.append(bracket)

    def item(self) -> None:
        scope = self.scopes[-1]
        if scope[1]:
            self.out.append(", ")
        scope[1] += 1
        self._newline()

    def key(self, k: str) -> None:
        self.item()
        self.out.append('"%s": ' % k)  # dmlc writes keys unescaped

    def string(self, s: str) -> None:
        self.out.append('"%s"' % s.translate(_ESCAPES))

    def ints(self, values: list) -> None:
        self.begin("[", len(values) > 10)
        for v in values:
            self.item()
            self.out.append(str(v))
        self.end("]")

    def entries(self, rows: list) -> None:
        self.begin("[", len(rows) > 10)
        for r in rows:
            self.item()
            self.out.append("[%d, %d, %d]" % r)
        self.end("]")

    def text(self) -> str:
        return "".join(self.out)


def to_json(heads: list, np_shape: bool = False) -> str:
    """The JSON text MXNet 1.9.1 writes for the graph whose outputs are ``heads``
    (entries); ``np_shape`` adds ``is_np_shape`` as saving in NumPy-shape mode does."""
    nodes = post_order(heads)
    index = {id(n): i for i, n in enumerate(nodes)}
    w = _Writer()
    w.begin("{", True)
    w.key("nodes")
    w.begin("[", True)
    for n in nodes:
        w.item()
        w.begin("{", True)
        w.key("op")
        w.string("null" if n.op is None else n.op.name)
        w.key("name")
        w.string(n.name)
        if n.attrs:
            w.key("attrs")
            w.begin("{", len(n.attrs) > 1)
            for k in sorted(n.attrs):
                v = n.attrs[k]
                if not isinstance(v, str):
                    raise MXNetError("attribute %r of node %s is not a string: %r"
                                     % (k, n.name, v))
                w.key(k)
                w.string(v)
            w.end("}")
        w.key("inputs")
        w.entries([(index[id(e.node)], e.index, e.version) for e in n.inputs])
        if n.control_deps:
            w.key("control_deps")
            w.ints([index[id(c)] for c in n.control_deps])
        w.end("}")
    w.end("]")
    w.key("arg_nodes")
    w.ints([i for i, n in enumerate(nodes) if n.op is None])
    w.key("node_row_ptr")
    ptr = [0]
    for n in nodes:
        ptr.append(ptr[-1] + mxnet_num_outputs(n))
    w.ints(ptr)
    w.key("heads")
    w.entries([(index[id(h.node)], h.index, h.version) for h in heads])
    w.key("attrs")
    w.begin("{", np_shape)  # one member unless np_shape
    if np_shape:
        w.key("is_np_shape")
        w.out.append('["int", 1]')
    w.key("mxnet_version")
    w.out.append('["int", %d]' % MXNET_VERSION)
    w.end("}")
    w.end("}")
    return w.text()


# =============================================================================== reader
def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _reject_constant(name: str) -> Any:
    raise ValueError("invalid JSON literal %s" % name)


# typed graph attribute values ``["<type>", value]``: the registered type tags
_ANY_TYPES = {
    "int": _is_int,
    "str": lambda v: isinstance(v, str),
    "list_int": lambda v: isinstance(v, list) and all(_is_int(x) for x in v),
    "list_str": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
    "list_shape": lambda v: isinstance(v, list) and all(
        isinstance(s, list) and all(_is_int(x) for x in s) for s in v),
}


def _graph_attrs(value: Any) -> dict:
    if not isinstance(value, dict):
        raise MXNetError("symbol JSON: graph 'attrs' must be an object, got %s"
                         % type(value).__name__)
    out = {}
    for k, v in value.items():
        if not (isinstance(v, list) and len(v) == 2 and isinstance(v[0], str)):
            raise MXNetError("symbol JSON: graph attribute %r must be a [type, value] pair, "
                             "got %s" % (k, json.dumps(v)))
        check = _ANY_TYPES.get(v[0])
        if check is None:
            raise MXNetError("symbol JSON: graph attribute %r has unregistered type %r "
                             "(known: %s)" % (k, v[0], ", ".join(sorted(_ANY_TYPES))))
        if not check(v[1]):
            raise MXNetError("symbol JSON: graph attribute %r is not a valid %s: %s"
                             % (k, v[0], json.dumps(v[1])))
        out[k] = v[1]
    return out


def _int_list(value: Any, what: str) -> list:
    if not isinstance(value, list) or not all(_is_int(x) and x >= 0 for x in value):
        raise MXNetError("symbol JSON: %s must be an array of non-negative integers, got %s"
                         % (what, json.dumps(value)))
    return value


def _str_dict(value: Any, what: str) -> dict:
    if not isinstance(value, dict):
        raise MXNetError("symbol JSON: %s must be an object of strings, got %s"
                         % (what, json.dumps(value)))
    for k, v in value.items():
        if not isinstance(v, str):
            raise MXNetError("symbol JSON: %s: value of %r must be a string, got %s"
                             % (what, k, json.dumps(v)))
    return value


def _entry(value: Any, nodes: list, total: int, what: str) -> Entry:
    """An ``[node, output(, version)]`` entry referring to one of the ``nodes`` loaded so
    far (of ``total`` in the file)."""
    if not (isinstance(value, list) and len(value) in (2, 3)
            and all(_is_int(x) and x >= 0 for x in value)):
        raise MXNetError("symbol JSON: %s: an entry must be [node, output] or "
                         "[node, output, version] of non-negative integers, got %s"
                         % (what, json.dumps(value)))
    nid, idx = value[0], value[1]
    ver = value[2] if len(value) == 3 else 0
    if nid >= len(nodes):
        raise MXNetError("symbol JSON: %s: entry %s refers to node %d, %s"
                         % (what, json.dumps(value), nid,
                            "which does not exist (%d nodes)" % total
                            if nid >= total else
                            "which is not an earlier node (forward reference)"))
    src = nodes[nid]
    nout = src.num_outputs()
    if idx >= nout:
        raise MXNetError("symbol JSON: %s: entry %s asks for output %d of node %d (%s), "
                         "which has %d output%s" % (what, json.dumps(value), idx, nid,
                                                    src.name, nout, "" if nout == 1 else "s"))
    return Entry(src, idx, ver)


def _load_node(i: int, jn: Any, nodes: list, total: int) -> Node:
    if not isinstance(jn, dict):
        raise MXNetError("symbol JSON: node %d must be an object, got %s"
                         % (i, type(jn).__name__))
    for k in jn:
        if k not in _NODE_KEYS:
            raise MXNetError("symbol JSON: node %d has unknown key %r (allowed: %s)"
                             % (i, k, ", ".join(_NODE_KEYS)))
    for k in ("op", "name", "inputs"):
        if k not in jn:
            raise MXNetError("symbol JSON: node %d lacks the required key %r" % (i, k))
    opname, name = jn["op"], jn["name"]
    if not isinstance(opname, str) or not isinstance(name, str):
        raise MXNetError("symbol JSON: node %d: 'op' and 'name' must be strings" % i)
    where = "node %d (%r, op %s)" % (i, name, opname)
    attrs: dict = {}
    for k, v in jn.items():  # attrs (current), attr (nnvm era), param (<= 0.8), file order
        if k in ("attrs", "attr", "param"):
            attrs.update(_str_dict(v, "%s '%s'" % (where, k)))
    if "backward_source_id" in jn and not _is_int(jn["backward_source_id"]):
        raise MXNetError("symbol JSON: %s: 'backward_source_id' must be an integer" % where)
    subgraphs = jn.get("subgraphs", [])
    if not isinstance(subgraphs, list):
        raise MXNetError("symbol JSON: %s: 'subgraphs' must be an array" % where)
    if subgraphs:
        raise MXNetError("symbol JSON: %s: nodes with subgraphs (control-flow or fused "
                         "ops) are not supported" % where)
    if not isinstance(jn["inputs"], list):
        raise MXNetError("symbol JSON: %s: 'inputs' must be an array" % where)
    inputs = [_entry(e, nodes, total, where) for e in jn["inputs"]]
    deps = []
    for d in _int_list(jn.get("control_deps", []), "%s 'control_deps'" % where):
        if d >= i:
            raise MXNetError("symbol JSON: %s: control dependency on node %d, which is not "
                             "an earlier node" % (where, d))
        deps.append(nodes[d])
    if opname == "null":
        if inputs:
            raise MXNetError("symbol JSON: %s: a variable cannot have inputs" % where)
        return Node(None, name, attrs, [], deps)
    op = _reg.find(opname)
    if op is None:
        raise MXNetError("symbol JSON: %s: unknown operator %r" % (where, opname))
    try:  # validate the parameters now, naming the node
        op.parse_params(param_attrs(op, attrs))
    except MXNetError as e:
        raise MXNetError("symbol JSON: failed loading %s: %s" % (where, e)) from None
    return Node(op, name, attrs, inputs, deps)


def _parse(text: Any) -> dict:
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as e:
            raise MXNetError("symbol JSON is not valid UTF-8: %s" % e) from None
    if not isinstance(text, str):
        raise MXNetError("symbol JSON must be a string, got %s" % type(text).__name__)
    try:
        # strict=False: control characters stand raw inside strings, as the writer leaves them
        doc = json.loads(text, parse_constant=_reject_constant, strict=False)
    except ValueError as e:
        raise MXNetError("malformed symbol JSON: %s" % e) from None
    if not isinstance(doc, dict):
        raise MXNetError("symbol JSON must be an object, got %s" % type(doc).__name__)
    for k in doc:
        if k not in _TOP_KEYS:
            raise MXNetError("symbol JSON: unknown top-level key %r (allowed: %s)"
                             % (k, ", ".join(_TOP_KEYS)))
    for k in ("nodes", "arg_nodes", "heads"):
        if k not in doc:
            raise MXNetError("symbol JSON lacks the required key %r" % k)
    return doc


def from_json(text: str, np_shape: Optional[bool] = None) -> list:
    """The head entries of the graph in MXNet symbol JSON ``text`` (any MXNet version:
    legacy variants are upgraded). ``np_shape`` (default: the current NumPy-shape mode)
    converts legacy ``__shape__`` attributes as MXNet does when loading in that mode."""
    doc = _parse(text)
    gattrs = _graph_attrs(doc.get("attrs", {}))
    version = gattrs.get("mxnet_version", 800)
    if not _is_int(version):
        raise MXNetError("symbol JSON: graph attribute mxnet_version must be an int")
    if not isinstance(doc["nodes"], list):
        raise MXNetError("symbol JSON: 'nodes' must be an array")
    _int_list(doc["arg_nodes"], "'arg_nodes'")
    if "node_row_ptr" in doc:
        _int_list(doc["node_row_ptr"], "'node_row_ptr'")
    nodes: list = []
    for i, jn in enumerate(doc["nodes"]):
        nodes.append(_load_node(i, jn, nodes, len(doc["nodes"])))
    if not isinstance(doc["heads"], list):
        raise MXNetError("symbol JSON: 'heads' must be an array")
    heads = [_entry(e, nodes, len(nodes), "heads") for e in doc["heads"]]
    if version > MXNET_VERSION:
        warnings.warn("loading a symbol saved by MXNet %s with MXNet-compatible %s; it may "
                      "use features this version does not know"
                      % (version_string(version), version_string(MXNET_VERSION)),
                      stacklevel=2)
    _upgrade(heads, version)
    if np_shape is None:
        from .. import util
        np_shape = util.is_np_shape()
    if np_shape and not gattrs.get("is_np_shape", 0):
        _shapes_to_numpy(heads)
    return heads


# =============================================================================== upgrades
def _upgrade(heads: list, version: int) -> None:
    """MXNet's legacy passes, each applied when the file is older than its threshold."""
    if version >= MXNET_VERSION:
        return
    order = post_order(heads)
    for n in order:
        _fix_legacy_hidden_keys(n)
    for n in order:  # re-validate what the moves changed
        if n.op is not None:
            _checked_params(n)
    if version < 900:  # 0.8 files did not store auxiliary-state (and other hidden) inputs
        for n in order:
            if n.op is None:
                continue
            names = n.input_names()
            for argname in names[len(n.inputs):]:
                n.inputs.append(Entry(implicit_variable(n, argname), 0, 0))
    if version < 904:  # the ops' input-variable hooks (BatchNorm moving-stat initialisers)
        for n in post_order(heads):
            if n.op is None:
                continue
            names = n.input_names()
            for e, argname in zip(n.inputs, names):
                if e.node.op is None:
                    for k, v in input_var_attrs(n.op, argname).items():
                        e.node.attrs.setdefault(k, v)
    if version < 905:  # argmax/argmin axis -1 used to mean "all axes"
        for n in post_order(heads):
            if n.op is not None and n.op.name in ("argmax", "argmin") \
                    and n.attrs.get("axis") == "-1":
                del n.attrs["axis"]
                n.invalidate()


def _fix_legacy_hidden_keys(n: Node) -> None:
    """``lr_mult`` -> ``__lr_mult__`` (and the other legacy hidden keys); on an op node
    ``<arg>_lr_mult`` moves to the node feeding input ``<arg>`` as ``__lr_mult__``."""
    changed = False
    for k in sorted(n.attrs):
        for hk in _LEGACY_HIDDEN:
            if k == hk:
                n.attrs["__%s__" % hk] = n.attrs.pop(k)
                changed = True
                break
            pos = k.rfind(hk)
            if pos > 1 and pos == len(k) - len(hk):
                if n.op is None:
                    break
                arg = k[:pos - 1]
                names = n.input_names()
                for i in range(min(len(n.inputs), len(names))):
                    if names[i] == arg:
                        src = n.inputs[i].node
                        src.attrs["__%s__" % hk] = n.attrs.pop(k)
                        src.invalidate()
                        changed = True
                        break
                break
    if changed:
        n.invalidate()


def _checked_params(n: Node) -> Any:
    try:
        return n.op.parse_params(param_attrs(n.op, n.attrs))
    except MXNetError as e:
        raise MXNetError("symbol JSON: failed loading node %r (op %s): %s"
                         % (n.name, n.op.name, e)) from None


def _shapes_to_numpy(heads: list) -> None:
    """Loading a legacy-shape graph in NumPy-shape mode: variables' ``__shape__`` get
    unknown dimensions as -1 (an empty shape becomes unknown), written as MXNet prints
    shapes."""
    for n in post_order(heads):
        s = n.attrs.get("__shape__") if n.op is None else None
        if s is None:
            continue
        body = s.strip()
        if len(body) < 2 or body[0] + body[-1] not in ("()", "[]"):
            continue
        try:
            dims = [int(x) for x in body[1:-1].replace(" ", "").split(",") if x != ""]
        except ValueError:
            continue
        if not dims:
            n.attrs["__shape__"] = "None"
        else:
            n.attrs["__shape__"] = "[%s]" % ",".join(str(-1 if d == 0 else d) for d in dims)
