"""``mx.autograd``: recording scopes, variables and grad_req, backward and grad (with
higher order), the tape's errors, ``autograd.Function``, recording through views and
indexing."""
from __future__ import annotations

import threading

import numpy as np
import pytest

import mixnet as mx
from mixnet import autograd as ag
from mixnet.test_utils import assert_almost_equal


def _var(values, grad_req="write"):
    x = mx.nd.array(np.asarray(values, dtype=np.float64), dtype=np.float64)
    x.attach_grad(grad_req)
    return x


# ----------------------------------------------------------------------------- scopes
def test_scopes_set_and_restore_flags():
    assert not ag.is_recording() and not ag.is_training()
    with ag.record():
        assert ag.is_recording() and ag.is_training()
        with ag.pause():
            assert not ag.is_recording() and not ag.is_training()
        with ag.predict_mode():
            assert ag.is_recording() and not ag.is_training()
        assert ag.is_recording() and ag.is_training()
    with ag.record(train_mode=False):
        assert ag.is_recording() and not ag.is_training()
    with ag.train_mode():
        assert ag.is_training() and not ag.is_recording()
    assert not ag.is_recording() and not ag.is_training()
    assert ag.set_recording(True) is False
    assert ag.set_recording(False) is True
    assert ag.set_training(True) is False
    assert ag.set_training(False) is True


def test_scopes_are_per_thread():
    seen = []
    with ag.record():
        t = threading.Thread(target=lambda: seen.append(ag.is_recording()))
        t.start()
        t.join()
    assert seen == [False]


def test_scope_restores_after_exception():
    with pytest.raises(ValueError):
        with ag.record():
            raise ValueError
    assert not ag.is_recording() and not ag.is_training()


# ----------------------------------------------------------------------------- backward
def test_backward_polynomial():
    x = _var([1.0, 2.0, -3.0])
    with ag.record():
        y = x * x * x + 2 * x
    y.backward()
    assert_almost_equal(x.grad, 3 * x.asnumpy() ** 2 + 2)


def test_backward_with_head_grads_and_several_heads():
    x = _var([1.0, 2.0])
    w = _var([3.0, 4.0])
    with ag.record():
        a = x * w
        b = mx.nd.exp(x)
    h = mx.nd.array([0.5, -1.0], dtype=np.float64)
    ag.backward([a, b], [h, None])
    assert_almost_equal(x.grad, h.asnumpy() * w.asnumpy() + np.exp(x.asnumpy()))
    assert_almost_equal(w.grad, h.asnumpy() * x.asnumpy())


def test_shared_input_gradients_are_summed():
    x = _var([1.5, -2.0])
    with ag.record():
        y = mx.nd.sum(x * x + x)  # x used three times
    y.backward()
    assert_almost_equal(x.grad, 2 * x.asnumpy() + 1)


def test_grad_req_write_add_null():
    xw, xa, xn = _var([1.0, 2.0]), _var([1.0, 2.0], "add"), _var([1.0, 2.0], "null")
    for _ in range(2):
        with ag.record():
            y = xw * 3 + xa * 3 + xn * 3
        y.backward()
    assert_almost_equal(xw.grad, [3.0, 3.0])
    assert_almost_equal(xa.grad, [6.0, 6.0])
    assert_almost_equal(xn.grad, [0.0, 0.0])


def test_mark_variables_uses_given_buffers():
    x = mx.nd.array([1.0, 2.0])
    g = mx.nd.zeros((2,))
    ag.mark_variables([x], [g])
    with ag.record():
        y = x * x
    y.backward()
    assert_almost_equal(g, [2.0, 4.0])
    assert x.grad is g


def test_constants_and_unreached_variables():
    x, unused = _var([1.0, 2.0]), _var([5.0])
    c = mx.nd.array([10.0, 20.0], dtype=np.float64)  # no attach_grad: a constant
    with ag.record():
        y = x * c
    y.backward()
    assert_almost_equal(x.grad, [10.0, 20.0])
    assert_almost_equal(unused.grad, [0.0])


def test_detach_and_blockgrad_stop_gradients():
    x = _var([2.0, 3.0])
    with ag.record():
        y = x * x.detach() + x * mx.nd.BlockGrad(x)
    y.backward()
    assert_almost_equal(x.grad, 2 * x.asnumpy())


def test_train_mode_reaches_ops():
    x = _var(np.ones((50, 40)))
    with ag.record(train_mode=True):
        y = mx.nd.Dropout(x, p=0.5)
    assert (y.asnumpy() == 0).any()
    with ag.record(train_mode=False):
        z = mx.nd.Dropout(x, p=0.5)
    assert_almost_equal(z, x.asnumpy())


def test_reshape_and_indexing_are_recorded():
    x = _var(np.arange(6.0).reshape(2, 3))
    with ag.record():
        y = x.reshape((3, 2)) * 2
        z = mx.nd.sum(x[1]) * 3 + mx.nd.sum(x[:, 1:2].reshape((2,))) * 5
    ag.backward([y, z])
    want = np.full((2, 3), 2.0)
    want[1] += 3
    want[:, 1] += 5
    assert_almost_equal(x.grad, want)


def test_advanced_indexing_gradient_accumulates_repeats():
    x = _var([1.0, 2.0, 3.0])
    with ag.record():
        y = x[[0, 0, 2]]
    y.backward()
    assert_almost_equal(x.grad, [2.0, 0.0, 1.0])


# ----------------------------------------------------------------------------- grad()
def test_grad_returns_new_arrays_and_keeps_buffers():
    x = _var([1.0, 2.0])
    with ag.record():
        y = x * x
    (g,) = ag.grad(y, [x])
    assert_almost_equal(g, [2.0, 4.0])
    assert_almost_equal(x.grad, [0.0, 0.0])


def test_grad_of_intermediate_value():
    x = _var([1.0, 2.0])
    with ag.record():
        h = x * 3
        y = h * h
    gh, gx = ag.grad(y, [h, x])
    assert_almost_equal(gh, 2 * 3 * x.asnumpy())
    assert_almost_equal(gx, 18 * x.asnumpy())


def test_second_order_gradient():
    x = _var([0.5, -1.0, 2.0])
    with ag.record():
        y = x * x * x
        (g,) = ag.grad(y, [x], create_graph=True)
        z = mx.nd.sum(g)
    z.backward()
    assert_almost_equal(g, 3 * x.asnumpy() ** 2)
    assert_almost_equal(x.grad, 6 * x.asnumpy())


def test_second_order_through_unary_ops():
    x = _var([0.3, 1.2])
    with ag.record():
        y = mx.nd.sin(x)
        (g,) = ag.grad(y, [x], create_graph=True)
    g.backward()
    assert_almost_equal(x.grad, -np.sin(x.asnumpy()))


# ----------------------------------------------------------------------------- errors
def test_backward_of_unrecorded_array_is_an_error():
    x = _var([1.0])
    y = x * 2  # not recorded
    with pytest.raises(mx.MXNetError, match="not part of a recorded computation"):
        y.backward()


def test_second_backward_needs_retain_graph():
    x = _var([1.0, 2.0])
    with ag.record():
        y = x * x
    y.backward(retain_graph=True)
    y.backward()
    assert_almost_equal(x.grad, [2.0, 4.0])
    with pytest.raises(mx.MXNetError, match="retain_graph"):
        y.backward()


def test_head_grad_shape_mismatch_is_an_error():
    x = _var([1.0, 2.0])
    with ag.record():
        y = x * x
    with pytest.raises(mx.MXNetError, match=r"head gradient of shape \(3,\).*\(2,\)"):
        y.backward(mx.nd.ones((3,), dtype=np.float64))
    with pytest.raises(mx.MXNetError, match="2 heads but 1 head gradients"):
        ag.backward([y, y], [mx.nd.ones((2,))])


def test_bad_grad_req_and_buffer():
    x = mx.nd.array([1.0])
    with pytest.raises(mx.MXNetError, match="grad_req"):
        x.attach_grad("sometimes")
    with pytest.raises(mx.MXNetError, match="gradient buffer of shape"):
        ag.mark_variables([x], [mx.nd.zeros((2,))])


def test_backward_through_non_differentiable_op_is_an_error():
    w = _var([1.0, 2.0])
    g = mx.nd.array([0.1, 0.1], dtype=np.float64)
    with ag.record():
        y = mx.nd.sgd_update(w, g, lr=0.1)
    with pytest.raises(mx.MXNetError, match="sgd_update is not differentiable"):
        y.backward()


# ----------------------------------------------------------------------------- Function
class _Sigmoid(ag.Function):
    def forward(self, x):
        y = 1 / (1 + mx.nd.exp(-x))
        self.save_for_backward(y)
        return y

    def backward(self, dy):
        (y,) = self.saved_tensors
        return dy * y * (1 - y)


def test_function_custom_gradient():
    x = _var([0.0, 1.0, -2.0])
    with ag.record():
        y = _Sigmoid()(x) * 2
    y.backward()
    s = 1 / (1 + np.exp(-x.asnumpy()))
    assert_almost_equal(x.grad, 2 * s * (1 - s))


def test_function_errors():
    class Bad(ag.Function):
        def forward(self, x):
            return x * 1

        def backward(self, dy):
            return dy, dy

    x = _var([1.0])
    f = Bad()
    with ag.record():
        y = f(x)
    with pytest.raises(mx.MXNetError, match="returned 2 gradients for 1 inputs"):
        y.backward()
    with pytest.raises(mx.MXNetError, match="called only once"):
        f(x)


# ----------------------------------------------------------------------------- get_symbol
def test_get_symbol_of_recorded_graph():
    x = _var(np.ones((2, 3)))
    w = mx.nd.ones((4, 3), dtype=np.float64)
    with ag.record():
        z = mx.nd.relu(mx.nd.FullyConnected(x, w, no_bias=True, num_hidden=4)) * 2
    s = ag.get_symbol(z)
    assert s.list_arguments() == ["var0", "const0"]
    assert s.infer_shape(var0=(2, 3), const0=(4, 3))[1] == [(2, 4)]
    with pytest.raises(mx.MXNetError, match="not the result of a recorded operation"):
        ag.get_symbol(x)
    with ag.record():
        y = _Sigmoid()(x)
    with pytest.raises(mx.MXNetError, match="no symbolic form"):
        ag.get_symbol(y)
