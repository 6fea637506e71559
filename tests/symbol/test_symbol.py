"""``mx.sym`` composition and inspection (``mixnet/symbol/symbol.py``): implicit input
variables and their attributes, automatic names and scopes, list_* in MXNet's order,
internals and children, indexing, attributes, arithmetic, composition and inference."""
import warnings

import numpy as np
import pytest

import mixnet as mx


def _mlp():
    data = mx.sym.Variable("data")
    fc1 = mx.sym.FullyConnected(data, num_hidden=4, name="fc1")
    bn = mx.sym.BatchNorm(fc1, name="bn1")
    act = mx.sym.Activation(bn, act_type="relu", name="relu1")
    return mx.sym.SoftmaxOutput(act, name="softmax")


def test_implicit_variables_and_lists():
    out = _mlp()
    assert out.list_arguments() == ["data", "fc1_weight", "fc1_bias", "bn1_gamma",
                                    "bn1_beta", "softmax_label"]
    assert out.list_auxiliary_states() == ["bn1_moving_mean", "bn1_moving_var"]
    assert out.list_inputs() == ["data", "fc1_weight", "fc1_bias", "bn1_gamma", "bn1_beta",
                                 "bn1_moving_mean", "bn1_moving_var", "softmax_label"]
    assert out.list_outputs() == ["softmax_output"]
    attrs = out.attr_dict()
    assert attrs["fc1_weight"] == {"num_hidden": "4"}  # MXNet copies the op's attrs
    assert attrs["bn1_moving_mean"] == {"__init__": '["zero", {}]'}
    assert attrs["bn1_moving_var"] == {"__init__": '["one", {}]'}


def test_automatic_names_prefix_and_attr_scope():
    with mx.name.NameManager():
        a = mx.sym.Variable("a")
        c1 = mx.sym.FullyConnected(a, num_hidden=2)
        c2 = mx.sym.FullyConnected(c1, num_hidden=2)
        s = a * 2
        assert (c1.name, c2.name, s.name) == ("fullyconnected0", "fullyconnected1",
                                              "_mulscalar0")
    with mx.name.Prefix("net_"):
        with mx.AttrScope(ctx_group="dev1"):
            fc = mx.sym.FullyConnected(mx.sym.Variable("x"), num_hidden=3, name="fc")
    assert fc.name == "net_fc"
    assert fc.attr("__ctx_group__") == "dev1" and fc.attr("num_hidden") == "3"
    assert "net_fc_weight" in fc.list_arguments()


def test_variable_attributes():
    v = mx.sym.Variable("w", shape=(3, 2), lr_mult=2, wd_mult=0, dtype="float16",
                        init='["zero", {}]', stype="row_sparse", __myattr__="x")
    assert v.list_attr() == {"__shape__": "(3, 2)", "__lr_mult__": "2.0",
                             "__wd_mult__": "0.0", "__dtype__": "2", "__init__": '["zero", {}]',
                             "__storage_type__": "1", "__myattr__": "x"}
    with pytest.raises(mx.MXNetError, match="double underscores"):
        mx.sym.Variable("w", foo=1)


def test_internals_children_indexing():
    out = _mlp()
    internals = out.get_internals()
    fc = internals["fc1_output"]
    assert fc.list_outputs() == ["fc1_output"]
    assert fc.get_children().list_outputs() == ["data", "fc1_weight", "fc1_bias"]
    assert mx.sym.Variable("v").get_children() is None
    parts = mx.sym.split(mx.sym.Variable("x"), num_outputs=3, name="sp")
    assert parts.list_outputs() == ["sp_output0", "sp_output1", "sp_output2"]
    assert parts[1].list_outputs() == ["sp_output1"] and len(list(parts)) == 3
    g = mx.sym.Group([parts[2], out])
    assert g.list_outputs() == ["sp_output2", "softmax_output"] and g.name is None
    with pytest.raises(mx.MXNetError, match="no output named"):
        out["nope"]


def test_symbol_arithmetic_is_same_shape():
    a, b = mx.sym.Variable("a"), mx.sym.Variable("b")
    for expr, op in ((a + b, "elemwise_add"), (a - b, "elemwise_sub"), (a * b, "elemwise_mul"),
                     (a / b, "elemwise_div"), (a + 1, "_plus_scalar"), (1 - a, "_rminus_scalar"),
                     (2 / a, "_rdiv_scalar"), (a ** 2, "_power_scalar"), (-a, "_mul_scalar")):
        assert expr.outputs[0].node.op.name == op
    with pytest.raises(mx.MXNetError, match="shapes must be equal"):
        (a + b).infer_shape(a=(2, 3), b=(1, 3))


def test_compose_and_call():
    x = mx.sym.Variable("x")
    net = mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=2, name="fc")
    composed = net(data=mx.sym.Activation(x, act_type="relu", name="act"))
    assert composed.list_arguments() == ["x", "fc_weight", "fc_bias"]
    assert net.list_arguments() == ["data", "fc_weight", "fc_bias"]  # unchanged
    with pytest.raises(mx.MXNetError, match="no argument 'nope'"):
        net(nope=x)


def test_infer_shape_and_type():
    out = _mlp()
    args, outs, aux = out.infer_shape(data=(5, 3))
    assert args == [(5, 3), (4, 3), (4,), (4,), (4,), (5,)]
    assert outs == [(5, 4)] and aux == [(4,), (4,)]
    assert out.infer_shape((5, 3))[1] == [(5, 4)]
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        assert out.infer_shape() == (None, None, None)
        assert w
    _, outs, _ = out.infer_shape_partial()
    assert outs == [()]
    a, o, x = out.infer_type(data=np.float64)
    assert o == [np.float64] and a[1] == np.float64 and x == [np.float64, np.float64]


def test_inconsistent_shapes_name_the_node():
    data = mx.sym.Variable("data")
    fc = mx.sym.FullyConnected(data, num_hidden=4, name="fc1")
    with pytest.raises(mx.MXNetError, match="fc1.*FullyConnected"):
        fc.infer_shape(data=(2, 3), fc1_weight=(5, 3))


def test_composition_errors():
    x = mx.sym.Variable("x")
    with pytest.raises(mx.MXNetError, match="unknown parameter"):
        mx.sym.FullyConnected(x, num_hidden=2, bogus=1)
    with pytest.raises(mx.MXNetError, match="has no input 'nope'"):
        mx.sym.FullyConnected(x, num_hidden=2, nope=x)
    with pytest.raises(mx.MXNetError, match="takes 3 inputs"):
        mx.sym.FullyConnected(x, x, x, x, num_hidden=2)
    with pytest.raises(mx.MXNetError, match="single-output"):
        mx.sym.relu(mx.sym.split(x, num_outputs=2))


def test_lr_mult_attrs_move_to_variables():
    fc = mx.sym.FullyConnected(mx.sym.Variable("x"), num_hidden=2, name="fc",
                               weight_lr_mult=0.5, lr_mult=2)
    d = fc.attr_dict()
    assert d["fc_weight"]["__lr_mult__"] == "0.5" and "weight_lr_mult" not in d["fc"]
    assert d["fc"]["__lr_mult__"] == "2"


def test_custom_symbol_and_fluent_methods():
    s = mx.sym.Variable("x").reshape(shape=(2, -1)).sum(axis=1)
    assert s.infer_shape(x=(2, 3, 4))[1] == [(2,)]
