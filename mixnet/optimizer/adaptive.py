"""Optimizers with per-coordinate accumulated statistics: AdaGrad, AdaDelta, RMSProp and
FTRL.

MXNet 1.9.1 conventions kept:

* AdaGrad (dense) and AdaDelta are NDArray arithmetic: the gradient is rescaled and
  clipped first and ``wd*weight`` is added to the step afterwards, outside the
  accumulated statistics. Their states are float32 whatever the weight's dtype.
* AdaDelta rescales the caller's gradient array in place (``grad *= rescale_grad``), as
  MXNet does, and ignores the learning rate.
* RMSProp calls ``rmsprop_update`` (state ``(n,)``) or, centered, ``rmspropalex_update``
  (state ``(n, g, delta)``); these add ``wd*weight`` before clipping.
* FTRL passes its own ``learning_rate`` (default 0.1) as the fixed rate but, like MXNet,
  does not hand it to the base class, so it does not override a scheduler's ``base_lr``.
* ``clip_gradient`` reaches the operators only when it is truthy; the arithmetic
  optimizers clip whenever it is not ``None``.
"""
from __future__ import annotations

from ..ndarray import ftrl_update, rmsprop_update, rmspropalex_update, sqrt, square, zeros
from ..ndarray import sparse as _sparse
from .optimizer import Optimizer, per_index, register

__all__ = ["AdaGrad", "AdaDelta", "RMSProp", "Ftrl"]


def _float32_zeros(weight, n):
    """``n`` float32 zero arrays shaped (and stored) like ``weight``."""
    return tuple(zeros(weight.shape, weight.context, stype=weight.stype) for _ in range(n))


@register
class AdaGrad(Optimizer):
    """``AdaGrad(eps=1e-7, **kwargs)``: ``g = clip(rescale_grad*grad)``; ``h += g*g``;
    ``w -= lr*(g/sqrt(h + eps) + wd*w)``. Row-sparse gradients go through
    ``nd.sparse.adagrad_update``. State: the float32 history ``h``.
    """

    def __init__(self, eps=1e-7, **kwargs):
        super(AdaGrad, self).__init__(**kwargs)
        self.float_stable_eps = eps

    def create_state(self, index, weight):
        return _float32_zeros(weight, 1)[0]

    @per_index
    def update(self, index, weight, grad, state):
        lr, wd = self._begin_update(index)
        history = state
        if grad.stype == "row_sparse":
            _sparse.adagrad_update(weight, grad, history, out=weight, lr=lr, wd=wd,
                                   **self._fused_kwargs(epsilon=self.float_stable_eps))
            return
        grad = self._clip(grad * self.rescale_grad)
        history[:] += square(grad)
        div = grad / sqrt(history + self.float_stable_eps)
        weight[:] += (div + weight * wd) * -lr


@register
class AdaDelta(Optimizer):
    """``AdaDelta(rho=0.90, epsilon=1e-5, **kwargs)``: ``g = clip(rescale_grad*grad)``;
    ``acc_g = rho*acc_g + (1-rho)*g*g``; ``d = sqrt(acc_delta + eps)/sqrt(acc_g + eps)*g``;
    ``acc_delta = rho*acc_delta + (1-rho)*d*d``; ``w -= d + wd*w``. No learning rate.
    State ``(acc_g, acc_delta)`` in float32.
    """

    def __init__(self, rho=0.90, epsilon=1e-5, **kwargs):
        super(AdaDelta, self).__init__(**kwargs)
        self.rho = rho
        self.epsilon = epsilon

    def create_state(self, index, weight):
        return (zeros(weight.shape, weight.context), zeros(weight.shape, weight.context))

    @per_index
    def update(self, index, weight, grad, state):
        wd = self._get_wd(index)
        self._update_count(index)
        grad *= self.rescale_grad  # in place, as MXNet's AdaDelta does
        grad = self._clip(grad)
        acc_g, acc_delta = state
        acc_g[:] *= self.rho
        acc_g[:] += (1. - self.rho) * grad * grad
        current_delta = sqrt(acc_delta + self.epsilon) / sqrt(acc_g + self.epsilon) * grad
        acc_delta[:] *= self.rho
        acc_delta[:] += (1. - self.rho) * current_delta * current_delta
        weight[:] -= current_delta + wd * weight


@register
class RMSProp(Optimizer):
    """``RMSProp(learning_rate=0.001, gamma1=0.9, gamma2=0.9, epsilon=1e-8, centered=False,
    clip_weights=None, **kwargs)``: Tieleman & Hinton's RMSProp through
    ``rmsprop_update``, or Graves' centered variant through ``rmspropalex_update`` when
    ``centered``; ``clip_weights`` clips the new weight. States are float32.
    """

    def __init__(self, learning_rate=0.001, gamma1=0.9, gamma2=0.9, epsilon=1e-8,
                 centered=False, clip_weights=None, **kwargs):
        super(RMSProp, self).__init__(learning_rate=learning_rate, **kwargs)
        self.gamma1 = gamma1
        self.gamma2 = gamma2
        self.centered = centered
        self.epsilon = epsilon
        self.clip_weights = clip_weights

    def create_state(self, index, weight):
        return _float32_zeros(weight, 3 if self.centered else 1)

    @per_index
    def update(self, index, weight, grad, state):
        lr, wd = self._begin_update(index)
        kwargs = self._fused_kwargs(gamma1=self.gamma1, epsilon=self.epsilon)
        if self.centered:
            kwargs["gamma2"] = self.gamma2
        if self.clip_weights:
            kwargs["clip_weights"] = self.clip_weights
        if not self.centered:
            (n,) = state
            rmsprop_update(weight, grad, n, out=weight, lr=lr, wd=wd, **kwargs)
        else:
            n, g, delta = state
            rmspropalex_update(weight, grad, n, g, delta, out=weight, lr=lr, wd=wd, **kwargs)


@register
class Ftrl(Optimizer):
    """``Ftrl(lamda1=0.01, learning_rate=0.1, beta=1, **kwargs)``: FTRL-proximal through
    ``ftrl_update`` (state ``(z, n)`` in float32): ``z += g - (sqrt(n + g*g) -
    sqrt(n))*w/lr``; ``n += g*g``; ``w = (sign(z)*lamda1 - z) / ((beta + sqrt(n))/lr +
    wd)`` where ``|z| > lamda1``, else 0.
    """

    def __init__(self, lamda1=0.01, learning_rate=0.1, beta=1, **kwargs):
        super(Ftrl, self).__init__(**kwargs)
        self.lamda1 = lamda1
        self.beta = beta
        self.lr = learning_rate

    def create_state(self, index, weight):
        return _float32_zeros(weight, 2)

    @per_index
    def update(self, index, weight, grad, state):
        lr, wd = self._begin_update(index)
        z, n = state
        ftrl_update(weight, grad, z, n, out=weight, lr=lr, wd=wd,
                    **self._fused_kwargs(lamda1=self.lamda1, beta=self.beta))
