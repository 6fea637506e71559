"""The gradient-rule plumbing (``mixnet/operator/gradient.py``): the shared
``_reduce_sum_like`` op, the stock rules, what ops declare they keep for backward, and the
builder that applies ops inside a rule."""
import numpy as np
import pytest

import mixnet as mx
from mixnet.operator import gradient as G
from mixnet.operator import registry as R
from mixnet.test_utils import check_op


@pytest.mark.parametrize("gshape,like", [((2, 3, 4), (3, 1)), ((2, 3), (2, 3)),
                                         ((4, 5), (1, 5)), ((3, 2), (1,))])
def test_reduce_sum_like(gshape, like):
    rng = np.random.default_rng(1)
    g = rng.standard_normal(gshape)
    lk = np.zeros(like)

    def ref(a, b):
        lead = a.ndim - b.ndim
        s = a.sum(axis=tuple(range(lead))) if lead else a
        axes = tuple(i for i, d in enumerate(b.shape) if d == 1 and s.shape[i] != 1)
        return s.sum(axis=axes, keepdims=True).reshape(b.shape)
    check_op("_reduce_sum_like", [g, lk], reference=ref, grad=[0],
             bad_inputs=[([np.zeros((2, 3)), np.zeros((4,))], {}),
                         ([np.zeros((3,)), np.zeros((2, 3))], {})])


def test_sum_to_shape_rejects_a_larger_target():
    with pytest.raises(mx.MXNetError, match="cannot reduce shape"):
        G.sum_to_shape(np, np.zeros((3,)), (2, 3), np.zeros((2, 3)))


def test_stock_rules():
    assert G.zero_grad(None, None, [1, 2], [3], ["g"]) == [None, None]
    assert G.identity_grad(None, None, [1, 2], [3], ["g"]) == ["g", None]
    rule = G.unary_grad("_backward_sin")
    assert rule.keeps == (True, False)
    assert G.unary_grad("_backward_exp", use="output").keeps == (False, True)
    with pytest.raises(ValueError):
        G.unary_grad("_backward_sin", use="both")


def test_declared_keeps_reach_the_tape():
    exp = R.get("exp")
    assert G.needed_inputs(exp, 1) == [False] and G.needed_outputs(exp, 1) == [True]
    assert G.needed_inputs(R.get("_reduce_sum_like"), 2) == [True, False]


class _Recorder(G.GradBuilder):
    def __init__(self):
        self.calls = []

    def apply(self, op, inputs, p):
        self.calls.append((op.name, list(inputs), p))
        return ["out%d" % i for i in range(op.num_visible_outputs(p))]


def test_builder_parses_params_and_passes_parsed_tuples():
    F = _Recorder()
    assert F.broadcast_like("a", "b") == "out0"
    assert F.call("sum", ["x"], axis=(1,), keepdims=True) == "out0"
    name, _, p = F.calls[-1]
    assert name == "sum" and p.axis == (1,) and p.keepdims is True
    p0 = R.get("sum").parse_params({"axis": (0,)})
    F.call("sum", ["x"], p0, keepdims=True)
    assert F.calls[-1][2] == p0._replace(keepdims=True)
    assert isinstance(F.call("split", ["x"], num_outputs=3), list)
    with pytest.raises(mx.MXNetError, match="unknown operator"):
        F.no_such_op("x")
