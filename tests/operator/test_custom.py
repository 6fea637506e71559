"""Python operators (``mixnet/operator/custom.py``): ``mx.operator.CustomOp``,
``CustomOpProp`` and ``register`` used through ``mx.nd.Custom``: forward and backward under
autograd, extra keyword arguments reaching the prop as strings, aux states, errors in user
code reaching the caller with the op's name, and ops that use NDArrays (and wait on them)
inside the engine task without deadlocking."""
from __future__ import annotations

import numpy as np
import pytest

import mixnet as mx
from mixnet import autograd as ag
from mixnet.test_utils import assert_almost_equal


def _var(values):
    x = mx.nd.array(np.asarray(values, dtype=np.float64), dtype=np.float64)
    x.attach_grad()
    return x


class _ScaleOp(mx.operator.CustomOp):
    def __init__(self, scale):
        self.scale = scale

    def forward(self, is_train, req, in_data, out_data, aux):
        self.assign(out_data[0], req[0], in_data[0] * self.scale + in_data[1])

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        self.assign(in_grad[0], req[0], out_grad[0] * self.scale)
        self.assign(in_grad[1], req[1], out_grad[0])


@mx.operator.register("_test_scale")
class _ScaleProp(mx.operator.CustomOpProp):
    def __init__(self, scale="1"):
        super().__init__(need_top_grad=True)
        self.scale = float(scale)

    def list_arguments(self):
        return ["data", "bias"]

    def infer_shape(self, in_shape):
        return in_shape, [in_shape[0]], []

    def create_operator(self, ctx, shapes, dtypes):
        return _ScaleOp(self.scale)


def test_custom_op_forward_backward():
    x = _var([1.0, 2.0])
    b = _var([0.5, 0.5])
    with ag.record():
        y = mx.nd.Custom(x, b, op_type="_test_scale", scale=3)
        z = y * y
    z.backward()
    assert_almost_equal(y, [3.5, 6.5])
    assert_almost_equal(x.grad, 2 * y.asnumpy() * 3)
    assert_almost_equal(b.grad, 2 * y.asnumpy())


def test_custom_op_errors():
    with pytest.raises(mx.MXNetError, match="op_type 'nope' is not registered"):
        mx.nd.Custom(mx.nd.ones((2,)), op_type="nope")
    with pytest.raises(mx.MXNetError, match="Custom expects 2 inputs"):
        mx.nd.Custom(mx.nd.ones((2,)), op_type="_test_scale")
    with pytest.raises(mx.MXNetError, match="CustomOpProp subclass"):
        mx.operator.register("_test_bad")(object)


def test_custom_op_user_error_reaches_the_caller():
    class Boom(mx.operator.CustomOp):
        def forward(self, is_train, req, in_data, out_data, aux):
            raise ValueError("boom inside forward")

    @mx.operator.register("_test_boom")
    class BoomProp(mx.operator.CustomOpProp):
        def create_operator(self, ctx, shapes, dtypes):
            return Boom()

    y = mx.nd.Custom(mx.nd.ones((2,)), op_type="_test_boom")
    with pytest.raises(mx.MXNetError, match="Custom.*boom inside forward"):
        y.asnumpy()


class _NumpySquare(mx.operator.CustomOp):
    """Reads its input through asnumpy (a wait inside the engine task) and keeps a running
    count in an aux state."""

    def forward(self, is_train, req, in_data, out_data, aux):
        x = in_data[0].asnumpy()
        self.assign(out_data[0], req[0], mx.nd.array(x * x, dtype=x.dtype))
        aux[0][:] = aux[0] + 1

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        self.assign(in_grad[0], req[0], 2 * in_data[0] * out_grad[0])


@mx.operator.register("_test_npsquare")
class _NumpySquareProp(mx.operator.CustomOpProp):
    def list_auxiliary_states(self):
        return ["count"]

    def infer_shape(self, in_shape):
        return in_shape, [in_shape[0]], [(1,)]

    def create_operator(self, ctx, shapes, dtypes):
        return _NumpySquare()


def test_custom_op_waits_inside_the_task_and_updates_aux():
    x = _var(np.arange(1.0, 301.0))  # big enough to run on an engine worker
    count = mx.nd.zeros((1,), dtype=np.float64)
    with ag.record():
        y = mx.nd.Custom(x, count, op_type="_test_npsquare")
    y.backward()
    for _ in range(3):
        mx.nd.Custom(x, count, op_type="_test_npsquare")
    assert_almost_equal(y, x.asnumpy() ** 2)
    assert_almost_equal(x.grad, 2 * x.asnumpy())
    assert_almost_equal(count, [4.0])


def test_custom_op_kwargs_reach_the_prop_as_strings():
    seen = []

    @mx.operator.register("_test_kwargs")
    class Prop(_NumpySquareProp):
        def __init__(self, **kw):
            super().__init__()
            seen.append(kw)

        def create_operator(self, ctx, shapes, dtypes):
            return _NumpySquare()

    y = mx.nd.Custom(mx.nd.ones((2,)), mx.nd.zeros((1,)), op_type="_test_kwargs", k=3,
                     flag=True, shape=(2, 3))
    assert_almost_equal(y, [1.0, 1.0])
    assert seen[-1] == {"k": "3", "flag": "True", "shape": "(2, 3)"}


def test_custom_symbol_lists_the_prop_names():
    s = mx.sym.Custom(mx.sym.Variable("x"), op_type="_test_npsquare", name="sq")
    assert s.list_arguments() == ["x"]
    assert s.list_auxiliary_states() == ["sq_count"]
    assert s.infer_shape(x=(3, 2)) == ([(3, 2)], [(3, 2)], [(1,)])
    assert s.attr("op_type") == "_test_npsquare"
