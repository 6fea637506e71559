"""Moment-based optimizers: Adam, Adamax, Nadam, FTML and LAMB.

MXNet 1.9.1 conventions kept:

* ``t`` is the update count of the parameter being updated (not the global
  ``num_update``).
* Adam folds its bias correction into the learning rate, ``lr * sqrt(1 - beta2**t) /
  (1 - beta1**t)``, and calls ``adam_update``, which adds ``wd*weight`` to the rescaled
  gradient *before* clipping.
* Adamax and Nadam are NDArray arithmetic (``g = clip(rescale_grad*grad + wd*weight)``);
  Nadam's momentum schedule product ``m_schedule`` is one number shared by all
  parameters, as in MXNet.
* FTML and LAMB call ``ftml_update`` and ``lamb_update_phase1/2`` (``mp_lamb_*`` for
  float16 weights under ``multi_precision``, with the state ``(weight32, (mean, var))``).
* ``clip_gradient`` reaches the operators only when it is truthy.
"""
from __future__ import annotations

import math

import numpy

from ..ndarray import (abs as nd_abs, adam_update, ftml_update, lamb_update_phase1,
                       lamb_update_phase2, maximum, mp_lamb_update_phase1,
                       mp_lamb_update_phase2, sqrt, zeros)
from .optimizer import Optimizer, per_index, register

__all__ = ["Adam", "Adamax", "Nadam", "FTML", "LAMB"]


def _moments(weight, stype=None):
    """Zero first and second moments in the weight's dtype (and storage ``stype``; dense
    when ``None``)."""
    return (zeros(weight.shape, weight.context, dtype=weight.dtype, stype=stype),
            zeros(weight.shape, weight.context, dtype=weight.dtype, stype=stype))


@register
class Adam(Optimizer):
    """``Adam(learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8, lazy_update=True,
    **kwargs)``: ``adam_update`` with ``lr * sqrt(1-beta2**t)/(1-beta1**t)``, where ``t`` is
    the parameter's own update count; state ``(mean, var)`` in the weight's dtype.
    """

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8,
                 lazy_update=True, **kwargs):
        super(Adam, self).__init__(learning_rate=learning_rate, **kwargs)
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.lazy_update = lazy_update

    def create_state(self, index, weight):
        return _moments(weight, weight.stype if self.lazy_update else "default")

    @per_index
    def update(self, index, weight, grad, state):
        lr, wd = self._begin_update(index)
        t = self._index_update_count[index]
        lr *= math.sqrt(1. - self.beta2 ** t) / (1. - self.beta1 ** t)
        kwargs = self._fused_kwargs(beta1=self.beta1, beta2=self.beta2, epsilon=self.epsilon)
        mean, var = state
        adam_update(weight, grad, mean, var, out=weight, lazy_update=self.lazy_update,
                    lr=lr, wd=wd, **kwargs)


@register
class Adamax(Optimizer):
    """``Adamax(learning_rate=0.002, beta1=0.9, beta2=0.999, **kwargs)``: Adam with the
    infinity norm: ``g = clip(rescale_grad*grad + wd*w)``; ``m = beta1*m + (1-beta1)*g``;
    ``u = max(beta2*u, |g|)``; ``w -= lr/(1-beta1**t) * m/u``.
    """

    def __init__(self, learning_rate=0.002, beta1=0.9, beta2=0.999, **kwargs):
        super(Adamax, self).__init__(learning_rate=learning_rate, **kwargs)
        self.beta1 = beta1
        self.beta2 = beta2

    def create_state(self, index, weight):
        return _moments(weight)

    @per_index
    def update(self, index, weight, grad, state):
        lr, wd = self._begin_update(index)
        t = self._index_update_count[index]
        lr /= (1. - self.beta1 ** t)
        grad = self._clip(grad * self.rescale_grad + wd * weight)
        m_t, u_t = state
        m_t[:] *= self.beta1
        m_t[:] += (1. - self.beta1) * grad
        u_t[:] = maximum(self.beta2 * u_t, nd_abs(grad))
        weight[:] -= lr * m_t / u_t


@register
class Nadam(Optimizer):
    """``Nadam(learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8,
    schedule_decay=0.004, **kwargs)``: Adam with Nesterov momentum and the warming
    momentum schedule ``mu_t = beta1*(1 - 0.5*0.96**(t*schedule_decay))``.
    """

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8,
                 schedule_decay=0.004, **kwargs):
        super(Nadam, self).__init__(learning_rate=learning_rate, **kwargs)
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.schedule_decay = schedule_decay
        self.m_schedule = 1.

    def create_state(self, index, weight):
        return _moments(weight)

    @per_index
    def update(self, index, weight, grad, state):
        lr, wd = self._begin_update(index)
        t = self._index_update_count[index]
        grad = self._clip(grad * self.rescale_grad + wd * weight)
        momentum_t = self.beta1 * (1. - 0.5 * (pow(0.96, t * self.schedule_decay)))
        momentum_t_1 = self.beta1 * (1. - 0.5 * (pow(0.96, (t + 1) * self.schedule_decay)))
        self.m_schedule = self.m_schedule * momentum_t
        m_schedule_next = self.m_schedule * momentum_t_1
        m_t, v_t = state
        m_t[:] *= self.beta1
        m_t[:] += (1. - self.beta1) * grad
        v_t[:] *= self.beta2
        v_t[:] += (1. - self.beta2) * grad * grad
        grad_prime = grad / (1. - self.m_schedule)
        m_t_prime = m_t / (1. - m_schedule_next)
        v_t_prime = v_t / (1. - pow(self.beta2, t))
        m_t_bar = (1. - momentum_t) * grad_prime + momentum_t_1 * m_t_prime
        weight[:] -= lr * m_t_bar / (sqrt(v_t_prime) + self.epsilon)


@register
class FTML(Optimizer):
    """``FTML(beta1=0.6, beta2=0.999, epsilon=1e-8, **kwargs)``: Follow the Moving Leader
    through ``ftml_update`` (state ``(d, v, z)`` in the weight's dtype; ``t`` the
    parameter's update count; the clip threshold goes in as ``clip_grad``).
    """

    def __init__(self, beta1=0.6, beta2=0.999, epsilon=1e-8, **kwargs):
        super(FTML, self).__init__(**kwargs)
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon

    def create_state(self, index, weight):
        return tuple(zeros(weight.shape, weight.context, dtype=weight.dtype) for _ in range(3))

    @per_index
    def update(self, index, weight, grad, state):
        lr, wd = self._begin_update(index)
        t = self._index_update_count[index]
        kwargs = self._fused_kwargs("clip_grad", beta1=self.beta1, beta2=self.beta2,
                                    epsilon=self.epsilon, t=t)
        prev_d, prev_v, prev_z = state
        ftml_update(weight, grad, prev_d, prev_v, prev_z, out=weight, lr=lr, wd=wd, **kwargs)


@register
class LAMB(Optimizer):
    """``LAMB(learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-6, lower_bound=None,
    upper_bound=None, bias_correction=True, **kwargs)``: layer-wise adaptive moments:
    ``g = lamb_update_phase1(...)`` (bias-corrected Adam direction plus ``wd*w``), then
    ``w -= lr * (|w|/|g|) * g`` with ``|w|`` clipped to ``[lower_bound, upper_bound]``
    (``lamb_update_phase2``). State ``(mean, var)``; ``(weight32, (mean, var))`` for
    float16 weights under ``multi_precision``.
    """

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-6,
                 lower_bound=None, upper_bound=None, bias_correction=True, **kwargs):
        super(LAMB, self).__init__(learning_rate=learning_rate, **kwargs)
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.lower_bound = lower_bound
        self.upper_bound = upper_bound
        self.bias_correction = bias_correction

    def create_state(self, index, weight):
        return _moments(weight, weight.stype)

    @per_index
    def _update_impl(self, index, weight, grad, state, multi_precision=False):
        lr, wd = self._begin_update(index)
        t = self._index_update_count[index]
        kwargs = self._fused_kwargs(beta1=self.beta1, beta2=self.beta2, epsilon=self.epsilon,
                                    bias_correction=self.bias_correction, t=t)
        bounds = {}
        if self.lower_bound:
            bounds["lower_bound"] = self.lower_bound
        if self.upper_bound:
            bounds["upper_bound"] = self.upper_bound
        if multi_precision:
            weight32, (mean, var) = state
            g = mp_lamb_update_phase1(weight, grad, mean, var, weight32, wd=wd, **kwargs)
            r_1 = weight32.norm()
            r_2 = g.norm()
            mp_lamb_update_phase2(weight, g, r_1, r_2, weight32, lr=lr, out=weight, **bounds)
        else:
            mean, var = state
            g = lamb_update_phase1(weight, grad, mean, var, wd=wd, **kwargs)
            r_1 = weight.norm()
            r_2 = g.norm()
            lamb_update_phase2(weight, g, r_1, r_2, lr=lr, out=weight, **bounds)

    def update(self, index, weight, grad, state):
        self._update_impl(index, weight, grad, state, multi_precision=False)

    def update_multi_precision(self, index, weight, grad, state):
        first = weight[0] if isinstance(index, (tuple, list)) else weight
        self._update_impl(index, weight, grad, state,
                          multi_precision=self.multi_precision and first.dtype == numpy.float16)
