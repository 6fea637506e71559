"""Symbol JSON: byte-identical writing (MXNet 1.9.1 files and hand-built graphs), strict
reading, legacy variants and upgrade passes (docs/mxnet-formats.md §2)."""
import json
import os
import warnings

import pytest

import mixnet as mx
from mixnet.base import MXNetError
from mixnet.operator import registry as reg
from mixnet.symbol.graph import Entry, Node, implicit_variable, post_order
from mixnet.symbol.json_io import from_json, to_json

FIXTURES = os.path.join(os.path.dirname(__file__), os.pardir, "fixtures", "mxnet-1.9.1")
SYMBOL_FILES = ["checkpoints/mlp-symbol.json", "checkpoints/lenet-symbol.json",
                "checkpoints/resnet-symbol.json", "checkpoints/lstm_lm-symbol.json",
                "gluon/cnn_seq-symbol.json"]


def _read(rel):
    with open(os.path.join(FIXTURES, rel), "rb") as f:
        return f.read().decode("utf-8")


def _var(name, attrs=None):
    return Node(None, name, attrs)


def _op(opname, name, inputs, attrs=None, control_deps=None):
    return Node(reg.get(opname), name, attrs, inputs, control_deps)


def _node(text, name):
    return {n.name: n for n in post_order(from_json(text))}[name]


def L(*lines):
    """Join lines with newlines (the writer's ', ' before each newline is spelled out)."""
    return "\n".join(lines)


VERSION_ATTRS = '  "attrs": {"mxnet_version": ["int", 10901]}'


# ------------------------------------------------------------------- MXNet 1.9.1 files
@pytest.mark.parametrize("rel", SYMBOL_FILES)
def test_fixture_round_trip_is_byte_identical(rel):
    text = _read(rel)
    heads = from_json(text)
    assert to_json(heads) == text
    assert not text.endswith("\n")
    doc = json.loads(text)
    assert len(post_order(heads)) == len(doc["nodes"])


def test_fixture_versions_and_aux_entries_preserved():
    heads = from_json(_read("checkpoints/resnet-symbol.json"))
    bns = [n for n in post_order(heads) if n.op is not None and n.op.name == "BatchNorm"]
    assert bns
    for bn in bns:
        assert [e.version for e in bn.inputs] == [0, 0, 0, 1, 1]
        assert bn.inputs[3].node.attrs["__init__"] == '["zero", {}]'
        assert bn.mutate_indices() == [3, 4]


def _mlp():
    """The graph of checkpoints/mlp-symbol.json, built node by node."""
    x = _var("data")
    for name, hidden, act in (("fc1", "32", "relu1"), ("fc2", "16", "relu2"),
                              ("fc_out", "5", None)):
        fc = _op("FullyConnected", name, [Entry(x)], {"num_hidden": hidden})
        fc.inputs += [Entry(implicit_variable(fc, "weight")),
                      Entry(implicit_variable(fc, "bias"))]
        x = fc
        if act:
            x = _op("Activation", act, [Entry(fc)], {"act_type": "relu"})
    sm = _op("SoftmaxOutput", "softmax", [Entry(x)])
    sm.inputs.append(Entry(implicit_variable(sm, "label")))
    return [Entry(sm)]


def test_hand_built_mlp_matches_mxnet_file():
    assert to_json(_mlp()) == _read("checkpoints/mlp-symbol.json")


# ------------------------------------------------------------------- writer layout
def _doc_example():
    """docs §2.9: SoftmaxOutput(Activation(BatchNorm(FullyConnected(data))))."""
    data = _var("data")
    fc1 = _op("FullyConnected", "fc1", [Entry(data)], {"num_hidden": "4"})
    fc1.inputs += [Entry(implicit_variable(fc1, "weight")), Entry(implicit_variable(fc1, "bias"))]
    bn1 = _op("BatchNorm", "bn1", [Entry(fc1)])
    for arg, ver in (("gamma", 0), ("beta", 0), ("moving_mean", 1), ("moving_var", 1)):
        bn1.inputs.append(Entry(implicit_variable(bn1, arg), 0, ver))
    relu1 = _op("Activation", "relu1", [Entry(bn1)], {"act_type": "relu"})
    sm = _op("SoftmaxOutput", "softmax", [Entry(relu1)])
    sm.inputs.append(Entry(implicit_variable(sm, "label")))
    return [Entry(sm)]


def _var_lines(name, attrs_line=None, last=False):
    lines = ['    {', '      "op": "null", ', '      "name": "%s", ' % name]
    if attrs_line:
        lines.append('      "attrs": %s, ' % attrs_line)
    return lines + ['      "inputs": []', '    }' if last else '    }, ']


DOC_EXAMPLE = L(
    '{',
    '  "nodes": [',
    *_var_lines("data"),
    *_var_lines("fc1_weight", '{"num_hidden": "4"}'),
    *_var_lines("fc1_bias", '{"num_hidden": "4"}'),
    '    {',
    '      "op": "FullyConnected", ',
    '      "name": "fc1", ',
    '      "attrs": {"num_hidden": "4"}, ',
    '      "inputs": [[0, 0, 0], [1, 0, 0], [2, 0, 0]]',
    '    }, ',
    *_var_lines("bn1_gamma"),
    *_var_lines("bn1_beta"),
    *_var_lines("bn1_moving_mean", r'{"__init__": "[\"zero\", {}]"}'),
    *_var_lines("bn1_moving_var", r'{"__init__": "[\"one\", {}]"}'),
    '    {',
    '      "op": "BatchNorm", ',
    '      "name": "bn1", ',
    '      "inputs": [[3, 0, 0], [4, 0, 0], [5, 0, 0], [6, 0, 1], [7, 0, 1]]',
    '    }, ',
    '    {',
    '      "op": "Activation", ',
    '      "name": "relu1", ',
    '      "attrs": {"act_type": "relu"}, ',
    '      "inputs": [[8, 0, 0]]',
    '    }, ',
    *_var_lines("softmax_label"),
    '    {',
    '      "op": "SoftmaxOutput", ',
    '      "name": "softmax", ',
    '      "inputs": [[9, 0, 0], [10, 0, 0]]',
    '    }',
    '  ], ',
    '  "arg_nodes": [0, 1, 2, 4, 5, 6, 7, 10], ',
    '  "node_row_ptr": [',
    *['    %d, ' % i for i in (0, 1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 13)],
    '    14',
    '  ], ',
    '  "heads": [[11, 0, 0]], ',
    VERSION_ATTRS,
    '}')


def test_doc_example_bytes():
    text = to_json(_doc_example())
    assert text == DOC_EXAMPLE
    assert text.encode().startswith(bytes.fromhex(
        "7b0a2020226e6f646573223a205b0a202020207b0a20202020202022"
        "6f70223a20226e756c6c222c200a"))
    assert to_json(from_json(text)) == text


def test_np_shape_graph_attrs_are_multi_line():
    text = to_json(_doc_example(), np_shape=True)
    assert text.endswith(L(
        '  "heads": [[11, 0, 0]], ',
        '  "attrs": {',
        '    "is_np_shape": ["int", 1], ',
        '    "mxnet_version": ["int", 10901]',
        '  }',
        '}'))
    assert to_json(from_json(text)) == DOC_EXAMPLE


def test_split_group_multi_output_heads():
    data = _var("data")
    sp = _op("split", "sp", [Entry(data)], {"num_outputs": "2"})  # alias of SliceChannel
    text = to_json([Entry(sp, 1), Entry(sp, 0)])
    assert text == L(
        '{',
        '  "nodes": [',
        *_var_lines("data"),
        '    {',
        '      "op": "SliceChannel", ',
        '      "name": "sp", ',
        '      "attrs": {"num_outputs": "2"}, ',
        '      "inputs": [[0, 0, 0]]',
        '    }',
        '  ], ',
        '  "arg_nodes": [0], ',
        '  "node_row_ptr": [0, 1, 3], ',
        '  "heads": [[1, 1, 0], [1, 0, 0]], ',
        VERSION_ATTRS,
        '}')
    heads = from_json(text)
    assert [(h.node.name, h.index) for h in heads] == [("sp", 1), ("sp", 0)]
    assert heads[0].node is heads[1].node
    assert heads[0].node.op is reg.get("SliceChannel")


def test_concat_of_eleven_inputs_prints_one_entry_per_line():
    xs = [_var("x%d" % i) for i in range(11)]
    cat = _op("Concat", "cat", [Entry(x) for x in xs], {"dim": "1", "num_args": "11"})
    text = to_json([Entry(cat)])
    tail = L(
        '    {',
        '      "op": "Concat", ',
        '      "name": "cat", ',
        '      "attrs": {',
        '        "dim": "1", ',
        '        "num_args": "11"',
        '      }, ',
        '      "inputs": [',
        *['        [%d, 0, 0], ' % i for i in range(10)],
        '        [10, 0, 0]',
        '      ]',
        '    }',
        '  ], ',
        '  "arg_nodes": [',
        *['    %d, ' % i for i in range(10)],
        '    10',
        '  ], ',
        '  "node_row_ptr": [',
        *['    %d, ' % i for i in range(12)],
        '    12',
        '  ], ',
        '  "heads": [[11, 0, 0]], ',
        VERSION_ATTRS,
        '}')
    assert text.endswith("\n" + tail)
    assert to_json(from_json(text)) == text
    # ten items stay on one line
    cat10 = _op("Concat", "cat", [Entry(x) for x in xs[:10]], {"dim": "1", "num_args": "10"})
    text10 = to_json([Entry(cat10)])
    assert '"inputs": [%s]' % ", ".join("[%d, 0, 0]" % i for i in range(10)) in text10
    assert '"arg_nodes": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], ' in text10
    assert '"node_row_ptr": [\n    0, \n' in text10  # 12 items


def test_control_deps_written_and_read():
    a, b = _var("a"), _var("b")
    c = _op("_copy", "c", [Entry(a)], control_deps=[b])
    text = to_json([Entry(c)])
    assert text == L(
        '{',
        '  "nodes": [',
        *_var_lines("a"),
        *_var_lines("b"),
        '    {',
        '      "op": "_copy", ',
        '      "name": "c", ',
        '      "inputs": [[0, 0, 0]], ',
        '      "control_deps": [1]',
        '    }',
        '  ], ',
        '  "arg_nodes": [0, 1], ',
        '  "node_row_ptr": [0, 1, 2, 3], ',
        '  "heads": [[2, 0, 0]], ',
        VERSION_ATTRS,
        '}')
    (h,) = from_json(text)
    assert [d.name for d in h.node.control_deps] == ["b"]
    assert to_json([h]) == text


def test_string_escaping_and_raw_bytes():
    name = 'a"b\\c\nd\re\tf/\x01é漢'
    v = _var(name, {"k": "x\ty", "__shape__": "(3, 2)"})
    text = to_json([Entry(v)])
    assert '"name": "a\\"b\\\\c\\nd\\re\\tf/\x01é漢", ' in text
    assert '"__shape__": "(3, 2)", \n        "k": "x\\ty"\n' in text
    (h,) = from_json(text)
    assert h.node.name == name and h.node.attrs == {"k": "x\ty", "__shape__": "(3, 2)"}
    assert to_json([h]) == text
    assert to_json(from_json(text.encode("utf-8"))) == text


def test_writer_rejects_non_string_attribute():
    with pytest.raises(MXNetError, match="not a string"):
        to_json([Entry(_var("v", {"__lr_mult__": 1.0}))])


# ------------------------------------------------------------------- legacy variants
OLD_08 = json.dumps({
    "nodes": [
        {"op": "null", "param": {}, "name": "data", "inputs": [], "backward_source_id": -1},
        {"op": "null", "param": {}, "name": "bn_gamma", "inputs": [],
         "backward_source_id": -1},
        {"op": "null", "param": {}, "name": "bn_beta", "inputs": [], "backward_source_id": -1},
        {"op": "BatchNorm", "param": {"eps": "0.001", "fix_gamma": "True", "momentum": "0.9"},
         "name": "bn", "inputs": [[0, 0], [1, 0], [2, 0]], "backward_source_id": -1},
    ],
    "arg_nodes": [0, 1, 2],
    "heads": [[3, 0]]})

BN_ATTRS = ['"eps": "0.001", ', '"fix_gamma": "True", ', '"momentum": "0.9"']


def test_upgrade_08_appends_aux_inputs_and_writes_current_format():
    heads = from_json(OLD_08)
    bn = heads[0].node
    assert [e.node.name for e in bn.inputs] == ["data", "bn_gamma", "bn_beta",
                                               "bn_moving_mean", "bn_moving_var"]
    assert [e.version for e in bn.inputs] == [0] * 5
    ind = "        "
    assert to_json(heads) == L(
        '{',
        '  "nodes": [',
        *_var_lines("data"),
        *_var_lines("bn_gamma"),
        *_var_lines("bn_beta"),
        '    {',
        '      "op": "null", ',
        '      "name": "bn_moving_mean", ',
        '      "attrs": {',
        ind + r'"__init__": "[\"zero\", {}]", ',
        *[ind + a for a in BN_ATTRS],
        '      }, ',
        '      "inputs": []',
        '    }, ',
        '    {',
        '      "op": "null", ',
        '      "name": "bn_moving_var", ',
        '      "attrs": {',
        ind + r'"__init__": "[\"one\", {}]", ',
        *[ind + a for a in BN_ATTRS],
        '      }, ',
        '      "inputs": []',
        '    }, ',
        '    {',
        '      "op": "BatchNorm", ',
        '      "name": "bn", ',
        '      "attrs": {',
        *[ind + a for a in BN_ATTRS],
        '      }, ',
        '      "inputs": [[0, 0, 0], [1, 0, 0], [2, 0, 0], [3, 0, 0], [4, 0, 0]]',
        '    }',
        '  ], ',
        '  "arg_nodes": [0, 1, 2, 3, 4], ',
        '  "node_row_ptr": [0, 1, 2, 3, 4, 5, 8], ',
        '  "heads": [[5, 0, 0]], ',
        VERSION_ATTRS,
        '}')


def _graph(nodes, heads, version=None, **top):
    doc = {"nodes": nodes, "arg_nodes": [], "heads": heads}
    if version is not None:
        doc["attrs"] = {"mxnet_version": ["int", version]}
    doc.update(top)
    return json.dumps(doc)


def _bn_graph(version, mean_attrs=None):
    return _graph([
        {"op": "null", "name": "x", "inputs": []},
        {"op": "null", "name": "g", "inputs": []},
        {"op": "null", "name": "b", "inputs": []},
        {"op": "null", "name": "mm", "attrs": mean_attrs or {}, "inputs": []},
        {"op": "null", "name": "mv", "inputs": []},
        {"op": "BatchNorm", "name": "bn", "inputs": [[0, 0], [1, 0], [2, 0], [3, 0], [4, 0]]},
    ], [[5, 0]], version)


def test_upgrade_input_var_hook_before_094():
    bn = from_json(_bn_graph(903))[0].node
    assert bn.inputs[3].node.attrs == {"__init__": '["zero", {}]'}
    assert bn.inputs[4].node.attrs == {"__init__": '["one", {}]'}
    assert bn.inputs[1].node.attrs == {}
    kept = from_json(_bn_graph(903, {"__init__": '["constant", {"value": 2}]'}))[0].node
    assert kept.inputs[3].node.attrs == {"__init__": '["constant", {"value": 2}]'}
    newer = from_json(_bn_graph(904))[0].node
    assert newer.inputs[3].node.attrs == {} and newer.inputs[4].node.attrs == {}


@pytest.mark.parametrize("opname", ["argmax", "argmin"])
def test_upgrade_argmax_axis_minus_one_before_095(opname):
    def g(version, axis="-1"):
        return _graph([{"op": "null", "name": "x", "inputs": []},
                       {"op": opname, "name": "am", "attrs": {"axis": axis}, "inputs": [[0, 0]]}],
                      [[1, 0]], version)
    old = from_json(g(904))[0].node
    assert "axis" not in old.attrs and old.params.axis is None
    assert '"name": "am", \n      "inputs": [[0, 0, 0]]' in to_json(from_json(g(904)))
    assert from_json(g(905))[0].node.attrs == {"axis": "-1"}
    assert from_json(g(904, "1"))[0].node.attrs == {"axis": "1"}
    assert from_json(g(None))[0].node.attrs == {}  # no version: 0.8.0


def _fc_graph(version, fc_attrs, weight_attrs=None):
    return _graph([
        {"op": "null", "name": "data", "inputs": []},
        {"op": "null", "name": "w", "attrs": weight_attrs or {}, "inputs": []},
        {"op": "null", "name": "b", "inputs": []},
        {"op": "FullyConnected", "name": "fc", "attrs": fc_attrs,
         "inputs": [[0, 0, 0], [1, 0, 0], [2, 0, 0]]},
    ], [[3, 0, 0]], version)


def test_upgrade_legacy_hidden_keys():
    fc = from_json(_fc_graph(10900, {"num_hidden": "3", "lr_mult": "2", "wd_mult": "0.5",
                                     "ctx_group": "dev1", "weight_lr_mult": "0.1",
                                     "bias_wd_mult": "0", "gamma_lr_mult": "7"}))[0].node
    assert fc.attrs == {"num_hidden": "3", "__lr_mult__": "2", "__wd_mult__": "0.5",
                        "__ctx_group__": "dev1", "gamma_lr_mult": "7"}
    assert fc.inputs[1].node.attrs == {"__lr_mult__": "0.1"}
    assert fc.inputs[2].node.attrs == {"__wd_mult__": "0"}
    assert fc.params.num_hidden == 3
    # variables: plain legacy keys are renamed, <arg>_ keys stay
    var = from_json(_graph([{"op": "null", "name": "v", "attrs": {
        "lr_mult": "3", "force_mirroring": "1", "x_lr_mult": "4", "mirror_stage": "s"},
        "inputs": []}], [[0, 0]], 800))[0].node
    assert var.attrs == {"__lr_mult__": "3", "__force_mirroring__": "1", "x_lr_mult": "4",
                         "__mirror_stage__": "s"}
    # current files are left alone
    cur = from_json(_fc_graph(10901, {"num_hidden": "3", "weight_lr_mult": "0.1"}))[0].node
    assert cur.attrs == {"num_hidden": "3", "weight_lr_mult": "0.1"}
    assert cur.inputs[1].node.attrs == {}


def test_attr_attrs_param_are_merged_in_file_order():
    text = _graph([{"op": "null", "name": "x", "inputs": []},
                   {"op": "Activation", "name": "a", "attr": {"__ctx_group__": "g"},
                    "param": {"act_type": "tanh"}, "attrs": {"__ctx_group__": "h"},
                    "inputs": [[0, 0]]}], [[1, 0]], 10901)
    a = from_json(text)[0].node
    assert a.attrs == {"act_type": "tanh", "__ctx_group__": "h"}
    assert a.params.act_type == "tanh"


def test_newer_version_warns():
    text = _graph([{"op": "null", "name": "x", "inputs": []}], [[0, 0, 0]], 20000)
    with pytest.warns(UserWarning, match="2.0.0"):
        (h,) = from_json(text)
    assert h.node.name == "x"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from_json(_read("checkpoints/mlp-symbol.json"))


def test_np_shape_load_converts_legacy_shapes():
    text = _graph([{"op": "null", "name": "x", "attrs": {"__shape__": "(0, 3)"}, "inputs": []},
                   {"op": "null", "name": "y", "attrs": {"__shape__": "()"}, "inputs": []}],
                  [[0, 0], [1, 0]], 10901)
    x, y = (h.node for h in from_json(text, np_shape=True))
    assert x.attrs["__shape__"] == "[-1,3]" and y.attrs["__shape__"] == "None"
    assert from_json(text, np_shape=False)[0].node.attrs["__shape__"] == "(0, 3)"
    with mx.util.np_shape(True):
        assert from_json(text)[0].node.attrs["__shape__"] == "[-1,3]"
    tagged = json.loads(text)
    tagged["attrs"]["is_np_shape"] = ["int", 1]
    assert from_json(json.dumps(tagged), np_shape=True)[0].node.attrs["__shape__"] == "(0, 3)"


# ------------------------------------------------------------------- strictness
GOOD_NODE = {"op": "null", "name": "x", "inputs": []}


@pytest.mark.parametrize("text, match", [
    ("{", "malformed"),
    ("[]", "must be an object"),
    ('{"nodes": [], "arg_nodes": [], "heads": [], "x": 1}', "unknown top-level key 'x'"),
    ('{"nodes": [], "heads": []}', "'arg_nodes'"),
    ('{"nodes": [{"op": "null", "name": "x", "inputs": [], "shape": 1}], "arg_nodes": [0], '
     '"heads": [[0, 0]]}', "node 0 has unknown key 'shape'"),
    ('{"nodes": [{"op": "null", "name": "x"}], "arg_nodes": [0], "heads": [[0, 0]]}',
     "node 0 lacks the required key 'inputs'"),
    ('{"nodes": [{"op": "null", "name": "x", "attrs": {"__lr_mult__": 1}, "inputs": []}], '
     '"arg_nodes": [0], "heads": [[0, 0]]}', "'__lr_mult__' must be a string"),
    ('{"nodes": [{"op": "null", "name": "x", "param": {"a": ["1"]}, "inputs": []}], '
     '"arg_nodes": [0], "heads": [[0, 0]]}', "'a' must be a string"),
    ('{"nodes": [{"op": "null", "name": "x", "attrs": {"a": NaN}, "inputs": []}], '
     '"arg_nodes": [0], "heads": [[0, 0]]}', "malformed"),
    ('{"nodes": [], "arg_nodes": [], "heads": [], "attrs": {"v": ["float", 1.5]}}',
     "unregistered type 'float'"),
    ('{"nodes": [], "arg_nodes": [], "heads": [], "attrs": {"mxnet_version": 10901}}',
     "pair"),
    ('{"nodes": [], "arg_nodes": [], "heads": [], '
     '"attrs": {"mxnet_version": ["str", "1.9.1"]}}', "mxnet_version must be an int"),
    ('{"nodes": [], "arg_nodes": [-1], "heads": []}', "arg_nodes"),
])
def test_malformed_documents(text, match):
    with pytest.raises(MXNetError, match=match):
        from_json(text)


@pytest.mark.parametrize("entry, match", [
    ([5, 0, 0], "node 5, which does not exist"),
    ([1, 0, 0], "forward reference"),
    ([0, 1, 0], "output 1 of node 0"),
    ([0], r"\[node, output\]"),
    ([0, 0, 0, 0], r"\[node, output\]"),
    ([0, -1], r"\[node, output\]"),
    ([0, True], r"\[node, output\]"),
    ([0, 0.0], r"\[node, output\]"),
])
def test_bad_input_entries(entry, match):
    text = _graph([GOOD_NODE, {"op": "Activation", "name": "act", "attrs": {"act_type": "relu"},
                               "inputs": [entry]}], [[1, 0]])
    with pytest.raises(MXNetError, match=match) as e:
        from_json(text)
    assert "node 1 ('act', op Activation)" in str(e.value)


def test_bad_heads_and_control_deps():
    with pytest.raises(MXNetError, match="heads.*node 1, which does not exist"):
        from_json(_graph([GOOD_NODE], [[1, 0]]))
    with pytest.raises(MXNetError, match="heads.*output 2"):
        from_json(_graph([GOOD_NODE], [[0, 2]]))
    with pytest.raises(MXNetError, match="control dependency on node 1"):
        from_json(_graph([dict(GOOD_NODE, control_deps=[1]), dict(GOOD_NODE, name="y")],
                         [[0, 0]]))


def test_unknown_op_names_node():
    text = _graph([GOOD_NODE, {"op": "NoSuchOp", "name": "weird", "inputs": [[0, 0]]}],
                  [[1, 0]])
    with pytest.raises(MXNetError, match=r"node 1 \('weird', op NoSuchOp\).*unknown operator"):
        from_json(text)


def test_malformed_param_names_node():
    text = _fc_graph(10901, {"num_hidden": "many"})
    with pytest.raises(MXNetError, match=r"node 3 \('fc', op FullyConnected\).*num_hidden"):
        from_json(text)
    with pytest.raises(MXNetError, match="fc.*num_hidden"):  # required parameter missing
        from_json(_fc_graph(10901, {}))


def test_variable_with_inputs_and_subgraphs_rejected():
    with pytest.raises(MXNetError, match="variable cannot have inputs"):
        from_json(_graph([GOOD_NODE, {"op": "null", "name": "v", "inputs": [[0, 0]]}],
                         [[1, 0]]))
    with pytest.raises(MXNetError, match="subgraphs"):
        from_json(_graph([dict(GOOD_NODE, subgraphs=[{"nodes": []}])], [[0, 0]]))
    assert from_json(_graph([dict(GOOD_NODE, subgraphs=[])], [[0, 0]]))[0].node.name == "x"
