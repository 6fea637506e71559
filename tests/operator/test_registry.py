"""The operator registry: parameter schema and parsing, generated nd functions, inference
errors, and the record contract every op family relies on."""
import inspect
import math

import numpy as np
import pytest

import mixnet as mx
from mixnet.operator import params as P
from mixnet.operator.registry import OpDef, get, list_ops


@pytest.mark.parametrize("ptype,value,expected", [
    (P.Int(), "3", 3), (P.Int(), 3.0, 3), (P.Int(), np.int64(4), 4),
    (P.Float(), "0.9", 0.9), (P.Float(), "1e-3", 1e-3), (P.Float(), 2, 2.0),
    (P.Float(), "inf", math.inf), (P.Float(), "-inf", -math.inf),
    (P.Bool(), "True", True), (P.Bool(), "false", False), (P.Bool(), "1", True), (P.Bool(), 0, False),
    (P.Str(["relu", "tanh"]), "relu", "relu"),
    (P.Shape(), "(3, 3)", (3, 3)), (P.Shape(), "[2,2]", (2, 2)), (P.Shape(), 5, (5,)),
    (P.Shape(), "()", ()), (P.Shape(allow_none=True), "(0, None)", (0, None)),
    (P.Axes(), "None", None), (P.Axes(), "(0, -1)", (0, -1)), (P.Axes(), 1, (1,)),
    (P.FloatTuple(), "(0.5, 1)", (0.5, 1.0)),
    (P.DType(), "float16", np.dtype(np.float16)), (P.DType(allow_none=True), "None", None),
    (P.Optional_(P.Int()), "None", None), (P.Optional_(P.Int()), "7", 7),
])
def test_param_types_parse_python_and_string_forms(ptype, value, expected):
    assert ptype.parse(value) == expected


@pytest.mark.parametrize("ptype,value", [
    (P.Int(), "3.5"), (P.Int(), "x"), (P.Int(), True), (P.Int(lo=1), 0),
    (P.Float(), "abc"), (P.Float(), None), (P.Bool(), "yes"), (P.Bool(), 2),
    (P.Str(["relu", "tanh"]), "gelu"), (P.Str(), 3), (P.Shape(), "(3, x)"),
    (P.Shape(), (1.5, 2)), (P.Shape(), "(None, 2)"), (P.DType(), "complex64"),
    (P.DType(), None), (P.Float(), "__import__('os')"),
])
def test_param_types_reject_malformed_values(ptype, value):
    with pytest.raises(P.ParamError):
        ptype.parse(value)


def test_to_str_round_trips_through_parse():
    cases = [(P.Shape(), (3, 3)), (P.Shape(), (4,)), (P.Bool(), True), (P.Float(), 0.25),
             (P.Axes(), None), (P.Shape(allow_none=True), (None, 2)),
             (P.DType(), np.dtype(np.int32)), (P.Optional_(P.Int()), None)]
    for ptype, v in cases:
        assert ptype.parse(ptype.to_str(v)) == v
    assert P.Shape().to_str((3, 3)) == "(3, 3)" and P.Shape().to_str((4,)) == "(4,)"


def test_parse_params_defaults_positional_keyword_and_cache():
    op = get("slice_axis")
    p = op.parse_params({"axis": 1, "begin": 0, "end": None})
    assert (p.axis, p.begin, p.end) == (1, 0, None)
    assert op.parse_params({}, (1, 0, None)) == p
    assert op.parse_params({"axis": "1", "begin": "0", "end": "None"}) == p
    assert op.parse_params({"axis": 1, "begin": 0, "end": None}) is p  # cached
    # unhashable values parse without the cache
    assert get("transpose").parse_params({"axes": [1, 0]}).axes == (1, 0)


def test_parse_params_errors_name_op_and_parameter():
    op = get("Reshape")
    with pytest.raises(mx.MXNetError, match=r"Reshape got an unknown parameter 'shapes'.*shape"):
        op.parse_params({"shapes": (2,)})
    with pytest.raises(mx.MXNetError, match=r"Reshape: invalid value '\(2, x\)' for parameter shape"):
        op.parse_params({"shape": "(2, x)"})
    with pytest.raises(mx.MXNetError, match=r"clip: required parameters a_min, a_max missing"):
        get("clip").parse_params({})
    with pytest.raises(mx.MXNetError, match="both positionally and by keyword"):
        get("clip").parse_params({"a_min": 0}, (0,))
    with pytest.raises(mx.MXNetError, match="at most 2 positional"):
        get("clip").parse_params({}, (0, 1, 2))


def test_generated_functions_accept_inputs_params_and_out():
    x = mx.nd.array([[1, 2], [3, 4]])
    assert mx.nd.sum(x, 1).asnumpy().tolist() == [3, 7]  # param positionally
    assert mx.nd.sum(x, axis=1, keepdims=True).shape == (2, 1)
    assert mx.nd.sum(data=x, axis=0).asnumpy().tolist() == [4, 6]  # input by keyword
    assert mx.nd.clip(x, 2, 3).asnumpy().tolist() == [[2, 2], [3, 3]]
    out = mx.nd.zeros((2, 2))
    assert mx.nd.clip(x, a_min=0, a_max=2, out=out) is out
    assert out.asnumpy().tolist() == [[1, 2], [2, 2]]
    assert mx.nd.concat(x, x, dim=0).shape == (4, 2)  # varargs fill num_args
    assert mx.nd.add_n(x, x, x).asnumpy().tolist() == [[3, 6], [9, 12]]


def test_generated_function_errors():
    x = mx.nd.array([1, 2])
    with pytest.raises(mx.MXNetError, match=r"broadcast_add expects 2 inputs \(lhs, rhs\), got 1"):
        mx.nd.broadcast_add(x)
    with pytest.raises(mx.MXNetError, match="unknown parameter 'axes'"):
        mx.nd.sum(x, axes=0)
    with pytest.raises(mx.MXNetError, match=r"exp: out\[0\] has shape \(3,\) float32, the result is \(2,\)"):
        mx.nd.exp(x, out=mx.nd.zeros((3,)))
    with pytest.raises(mx.MXNetError, match="different devices"):
        mx.nd.broadcast_add(x, mx.nd.array([1, 2], ctx=mx.cpu(1)))


def test_inference_errors_name_op_inputs_shapes_and_dtypes():
    a, b = mx.nd.zeros((2, 3)), mx.nd.zeros((4, 3))
    with pytest.raises(mx.MXNetError) as info:
        mx.nd.elemwise_add(a, b)
    msg = str(info.value)
    assert "elemwise_add" in msg and "lhs=(2, 3) float32" in msg and "rhs=(4, 3) float32" in msg
    with pytest.raises(mx.MXNetError, match=r"dtypes must be equal.*float32 vs int32"):
        mx.nd.elemwise_add(a, mx.nd.zeros((2, 3), dtype="int32"))


def test_infer_shape_fills_unknown_inputs():
    op = get("elemwise_add")
    ins, outs = op.infer_shape(op.parse_params({}), [None, (2, 3)])
    assert ins == [(2, 3), (2, 3)] and outs == [(2, 3)]
    ins, outs = op.infer_type(op.parse_params({}), [np.dtype("float16"), None])
    assert outs == [np.dtype("float16")]


def test_every_record_is_complete_and_documented():
    names = [n for n in list_ops() if not n.startswith("_test_")]  # ops other tests add
    assert len(names) > 250
    for name in names:
        op = get(name)
        assert callable(op.forward), name
        assert callable(op.infer_shape) and callable(op.infer_type), name
        assert op.gradient is None or callable(op.gradient), name
        fn = getattr(mx.nd.op, name)
        assert fn.__doc__ and op.name in (fn.__doc__ + op.name)
        inspect.signature(fn)  # a real signature, generated without exec
        assert fn.__code__.co_filename.endswith("dispatch.py")


def test_namespaces_follow_mxnet_prefix_rules():
    assert mx.nd.random.uniform is not None and hasattr(mx.nd.op, "_random_uniform")
    assert mx.nd._internal._plus_scalar is mx.nd.op._plus_scalar
    assert mx.nd.reshape.opdef is get("Reshape") and mx.nd.Reshape.opdef is get("Reshape")
    assert mx.nd.flip.opdef is get("reverse")


def test_register_refuses_duplicates():
    with pytest.raises(mx.MXNetError, match="already registered"):
        mx.operator.registry.register(OpDef("exp", forward=lambda *a: None))
    with pytest.raises(mx.MXNetError, match="unknown operator"):
        get("NoSuchOp")


def _distinct_ops():
    seen = {}
    for n in list_ops():
        op = get(n)
        if not n.startswith("_test_") and op.name not in seen:
            seen[op.name] = op
    return list(seen.values())


def test_every_op_rejects_unknown_parameters():
    """A sweep over the whole registry: a misspelt parameter is an MXNetError naming the
    op and the parameter, never a TypeError from deep inside."""
    for op in _distinct_ops():
        fn = getattr(mx.nd.op, op.name)
        with pytest.raises(mx.MXNetError) as info:
            mx.nd.waitall()
            fn(mx.nd.ones((2, 2)), bogus_param=1)
        msg = str(info.value)
        if op.name in ("Custom", "_backward_Custom"):  # op_type is checked first
            assert "Custom: required parameter op_type missing" in msg
        else:
            assert "Operator %s" % op.name in msg and "bogus_param" in msg, (op.name, msg)


def test_every_fixed_input_op_rejects_an_extra_input():
    for op in _distinct_ops():
        if op.varargs or not op.all_inputs:
            continue
        fn = getattr(mx.nd.op, op.name)
        with pytest.raises(mx.MXNetError, match="Operator %s expects" % op.name):
            fn(*[mx.nd.ones((2, 2))] * (len(op.all_inputs) + 1))
