"""Stochastic-gradient-descent optimizers: SGD (and its deprecated alias ccSGD), NAG, LARS,
Signum/signSGD, DCASGD and SGLD.

MXNet 1.9.1 conventions kept:

* SGD, NAG, LARS and Signum call the fused update operators; SGD and LARS aggregate up to
  ``MXNET_OPTIMIZER_AGGREGATION_SIZE`` (default 4) dense weights per call into the
  ``multi_*sgd*`` operators.
* Weight decay is applied outside the gradient clip by these operators:
  ``w <- (1 - lr*wd)*w - lr*clip(rescale_grad*g)`` (see ``sgd_update``).
* ``clip_gradient`` reaches the operators only when it is truthy (``None`` and ``0`` both
  mean no clipping, as ``if self.clip_gradient:`` does in MXNet).
* Multi-precision states of SGD, NAG and LARS are ``(momentum_or_None, weight32)``.
* DCASGD and SGLD are written with NDArray arithmetic, as in MXNet.
"""
from __future__ import annotations

import math
import os
import warnings

import numpy

from ..ndarray import (NDArray, mp_nag_mom_update, mp_sgd_mom_update, mp_sgd_update,
                       multi_mp_sgd_mom_update, multi_mp_sgd_update, multi_sgd_mom_update,
                       multi_sgd_update, multi_sum_sq, nag_mom_update, norm, sgd_mom_update,
                       sgd_update, signsgd_update, signum_update, zeros)
from ..ndarray import random as _random
from .optimizer import Optimizer, _flatten_list, per_index, register

__all__ = ["SGD", "ccSGD", "NAG", "LARS", "Signum", "DCASGD", "SGLD"]


def _aggregation_size(default: str = "4") -> int:
    return int(os.getenv("MXNET_OPTIMIZER_AGGREGATION_SIZE", default))


def _as_lists(indices, weights, grads, states):
    if isinstance(indices, (tuple, list)):
        return list(indices), list(weights), list(grads), list(states)
    return [indices], [weights], [grads], [states]


def _is_dense(weights, grads):
    return all(w.stype == "default" and g.stype == "default" for w, g in zip(weights, grads))


def _warn_fp16_accumulation():
    warnings.warn("Accumulating with float16 in optimizer can lead to poor accuracy or slow "
                  "convergence. Consider using multi_precision=True option of the SGD "
                  "optimizer")


class _MomentumStateMixin(object):
    """Momentum state (or ``None`` without momentum); multi-precision state
    ``(momentum, weight32)`` -- the layout SGD, NAG and LARS share."""

    def create_state_multi_precision(self, index, weight):
        if self.multi_precision and weight.dtype == numpy.float16:
            master = weight.astype(numpy.float32)
            return (self.create_state(index, master), master)
        if weight.dtype == numpy.float16 and not self.multi_precision:
            _warn_fp16_accumulation()
        return self.create_state(index, weight)

    def create_state(self, index, weight):
        if self.momentum == 0.0:
            return None
        stype = weight.stype if getattr(self, "lazy_update", True) else "default"
        return zeros(weight.shape, weight.context, dtype=weight.dtype, stype=stype)

    def _op_kwargs(self, momentum):
        kwargs = self._fused_kwargs()
        if self.momentum > 0:
            kwargs["momentum"] = momentum
        return kwargs

    def _update_each(self, weights, grads, states, lrs, wds, kwargs, multi_precision,
                     lazy=True):
        """One fused single-weight operator call per weight."""
        for weight, grad, state, lr, wd in zip(weights, grads, states, lrs, wds):
            if not multi_precision:
                if state is not None:
                    sgd_mom_update(weight, grad, state, out=weight, lazy_update=lazy,
                                   lr=lr, wd=wd, **kwargs)
                else:
                    sgd_update(weight, grad, out=weight, lazy_update=lazy, lr=lr, wd=wd,
                               **kwargs)
            elif state[0] is not None:
                mp_sgd_mom_update(weight, grad, state[0], state[1], out=weight, lr=lr, wd=wd,
                                  **kwargs)
            else:
                mp_sgd_update(weight, grad, state[1], out=weight, lr=lr, wd=wd, **kwargs)

    def _update_fused(self, weights, grads, states, lrs, wds, kwargs, multi_precision):
        """One ``multi_*sgd*`` call for the whole group."""
        n = len(weights)
        if n == 1:
            # same kernel arithmetic; the single-weight operator dispatches faster
            self._update_each(weights, grads, states, lrs, wds, kwargs, multi_precision)
            return
        common = dict(out=weights, num_weights=n, lrs=tuple(lrs), wds=tuple(wds), **kwargs)
        if not multi_precision:
            if self.momentum > 0:
                multi_sgd_mom_update(*_flatten_list(zip(weights, grads, states)), **common)
            else:
                multi_sgd_update(*_flatten_list(zip(weights, grads)), **common)
        elif self.momentum > 0:
            moms, masters = zip(*states)
            multi_mp_sgd_mom_update(*_flatten_list(zip(weights, grads, moms, masters)),
                                    **common)
        else:
            masters = [s[1] for s in states]
            multi_mp_sgd_update(*_flatten_list(zip(weights, grads, masters)), **common)

    def update_multi_precision(self, index, weight, grad, state):
        first = weight[0] if isinstance(index, (tuple, list)) else weight
        self._update_impl(index, weight, grad, state,
                          multi_precision=self.multi_precision and first.dtype == numpy.float16)

    def update(self, index, weight, grad, state):
        self._update_impl(index, weight, grad, state, multi_precision=False)


@register
class SGD(_MomentumStateMixin, Optimizer):
    """``SGD(momentum=0.0, lazy_update=True, **kwargs)``: stochastic gradient descent with
    momentum and weight decay, through ``sgd_update``/``sgd_mom_update`` (``mp_*`` for
    float16 weights under ``multi_precision``); ``state = momentum*state -
    lr*(clip(rescale_grad*grad) + wd*weight); weight += state``. Dense weights passed as
    lists go through the fused ``multi_*sgd*`` operators. ``lazy_update`` only matters for
    row-sparse gradients.
    """

    def __init__(self, momentum=0.0, lazy_update=True, **kwargs):
        super(SGD, self).__init__(**kwargs)
        self.momentum = momentum
        self.lazy_update = lazy_update
        self.aggregate_num = _aggregation_size()

    def _update_impl(self, indices, weights, grads, states, multi_precision=False):
        indices, weights, grads, states = _as_lists(indices, weights, grads, states)
        for w, g in zip(weights, grads):
            if not isinstance(w, NDArray) or not isinstance(g, NDArray):
                raise TypeError("SGD.update expects NDArray weight and grad, got %s and %s"
                                % (type(w).__name__, type(g).__name__))
        self._update_count(indices)
        lrs = self._get_lrs(indices)
        wds = self._get_wds(indices)
        kwargs = self._op_kwargs(self.momentum)
        if _is_dense(weights, grads):
            self._update_fused(weights, grads, states, lrs, wds, kwargs, multi_precision)
        else:
            self._update_each(weights, grads, states, lrs, wds, kwargs, multi_precision,
                              self.lazy_update)


@register
class ccSGD(SGD):  # noqa: N801 -- MXNet's registered name
    """``ccSGD(**kwargs)``: deprecated alias of ``SGD``, kept for old scripts."""


@register
class NAG(_MomentumStateMixin, Optimizer):
    """``NAG(momentum=0.0, **kwargs)``: Nesterov accelerated gradient through
    ``nag_mom_update`` (``mp_nag_mom_update`` for float16 weights under
    ``multi_precision``); without momentum it is plain ``sgd_update``.
    """

    def __init__(self, momentum=0.0, **kwargs):
        super(NAG, self).__init__(**kwargs)
        self.momentum = momentum

    def create_state(self, index, weight):
        if self.momentum == 0.0:
            return None
        return zeros(weight.shape, weight.context, dtype=weight.dtype)

    @per_index
    def _update_impl(self, index, weight, grad, state, multi_precision=False):
        lr, wd = self._begin_update(index)
        kwargs = self._op_kwargs(self.momentum)
        if not multi_precision:
            if state is not None:
                nag_mom_update(weight, grad, state, out=weight, lr=lr, wd=wd, **kwargs)
            else:
                sgd_update(weight, grad, out=weight, lr=lr, wd=wd, **kwargs)
        elif state[0] is not None:
            mp_nag_mom_update(weight, grad, state[0], state[1], out=weight, lr=lr, wd=wd,
                              **kwargs)
        else:
            mp_sgd_update(weight, grad, state[1], out=weight, lr=lr, wd=wd, **kwargs)

    @per_index
    def update_multi_precision(self, index, weight, grad, state):
        use_mp = (self.multi_precision and weight.dtype == numpy.float16
                  and isinstance(state, (tuple, list)))
        self._update_impl(index, weight, grad, state, multi_precision=use_mp)


def _lars_exempt(name: str) -> bool:
    # LARS leaves batch-norm parameters and biases at the plain learning rate
    return name.endswith("gamma") or name.endswith("beta") or name.endswith("bias")


@register
class LARS(_MomentumStateMixin, Optimizer):
    """``LARS(momentum=0.0, lazy_update=True, eta=0.001, eps=0, momentum_correction=True,
    **kwargs)``: SGD with layer-wise adaptive rate scaling. Each parameter whose name does
    not end in ``gamma``/``beta``/``bias`` gets ``lr * eta*|w| / (|rescale_grad*g| +
    wd*|w| + eps)`` when both norms are positive; with ``momentum_correction`` the
    momentum is scaled by ``lr_now/lr_before`` when a scheduler changes the rate. Only
    names ending in ``_weight`` get weight decay by default.
    """

    def __init__(self, momentum=0.0, lazy_update=True, eta=0.001, eps=0,
                 momentum_correction=True, **kwargs):
        super(LARS, self).__init__(**kwargs)
        self.momentum = momentum
        self.momentum_correction = momentum_correction
        self.lazy_update = lazy_update
        self.aggregate_num = _aggregation_size()
        self.eta = eta
        self.eps = eps
        self.skip = 0
        self.last_lr = None
        self.cur_lr = None

    def _get_lrs(self, indices):
        # remember the previous global rate for the momentum correction
        if self.cur_lr is not None:
            self.last_lr = self.cur_lr
        lr = self.lr_scheduler(self.num_update) if self.lr_scheduler is not None else self.lr
        if self.cur_lr is None:
            self.last_lr = lr
        self.cur_lr = lr
        return [lr * self._mult(index, self.lr_mult, "lr_mult") for index in indices]

    # unlike the other optimizers, only ``_weight`` names keep weight decay by default
    _wd_suffixes = ("_weight",)

    def _name(self, index):
        return self.idx2name[index] if index in self.idx2name else str(index)

    def _l2norm(self, v, rescale=False):
        v = v.astype("float32")
        if rescale:
            v *= self.rescale_grad
        return norm(v).asnumpy()[0]

    def _get_lars(self, index, weight, grad, lr, wd):
        """The layer-wise learning rate of one parameter (norms read back to the host)."""
        if _lars_exempt(self._name(index)):
            return lr
        w_norm = self._l2norm(weight)
        g_norm = self._l2norm(grad, rescale=True)
        if w_norm > 0.0 and g_norm > 0.0:
            return lr * (self.eta * w_norm / (g_norm + wd * w_norm + self.eps))
        return lr

    def _fused_lars(self, weights, grads, lrs, wds):
        """Layer-wise rates of a whole group from two ``multi_sum_sq`` calls, in float32
        like MXNet's ``multi_lars`` kernel."""
        f32 = numpy.float32
        w_sq = multi_sum_sq(*weights, num_arrays=len(weights)).asnumpy()
        g_sq = multi_sum_sq(*grads, num_arrays=len(grads)).asnumpy()
        out = []
        for lr, wd, ws, gs in zip(lrs, wds, w_sq, g_sq):
            w_norm = numpy.sqrt(f32(ws))
            if w_norm > 0 and gs > 0:
                denom = numpy.sqrt(f32(gs)) * f32(self.rescale_grad) + f32(wd) * w_norm \
                    + f32(self.eps)
                out.append(float(f32(lr) * f32(self.eta) * w_norm / denom))
            else:
                out.append(float(f32(lr)))
        return out

    def _update_impl(self, indices, weights, grads, states, multi_precision=False):
        indices, weights, grads, states = _as_lists(indices, weights, grads, states)
        self._update_count(indices)
        lrs = self._get_lrs(indices)
        wds = self._get_wds(indices)
        momentum = self.momentum
        if self.momentum_correction and self.last_lr != 0:
            momentum = self.momentum * (self.cur_lr / self.last_lr)
        kwargs = self._op_kwargs(momentum)
        if not _is_dense(weights, grads):
            lrs = [self._get_lars(i, w, g, lr, wd)
                   for i, w, g, lr, wd in zip(indices, weights, grads, lrs, wds)]
            self._update_each(weights, grads, states, lrs, wds, kwargs, multi_precision,
                              self.lazy_update)
            return
        # MXNet's aggregated path orders the scaled parameters first
        scaled = [k for k, i in enumerate(indices) if not _lars_exempt(self._name(i))]
        plain = [k for k, i in enumerate(indices) if _lars_exempt(self._name(i))]
        order = scaled + plain
        new_lrs = [float(numpy.float32(lrs[k])) for k in order]
        if scaled:
            new_lrs[:len(scaled)] = self._fused_lars([weights[k] for k in scaled],
                                                     [grads[k] for k in scaled],
                                                     [lrs[k] for k in scaled],
                                                     [wds[k] for k in scaled])
        new_wds = [float(numpy.float32(wds[k])) for k in order]
        ws = [weights[k] for k in order]
        gs = [grads[k] for k in order]
        ss = [states[k] for k in order]
        step = max(self.aggregate_num, 1)
        for s in range(0, len(ws), step):
            e = s + step
            self._update_fused(ws[s:e], gs[s:e], ss[s:e], new_lrs[s:e], new_wds[s:e],
                               kwargs, multi_precision)


@register
class Signum(Optimizer):
    """``Signum(learning_rate=0.01, momentum=0.9, wd_lh=0.0, **kwargs)``: the sign of the
    momentum (``signum_update``), or of the gradient when ``momentum=0``
    (``signsgd_update``); ``wd_lh`` is decoupled weight decay (``signum_update`` only).
    """

    def __init__(self, learning_rate=0.01, momentum=0.9, wd_lh=0.0, **kwargs):
        super(Signum, self).__init__(learning_rate=learning_rate, **kwargs)
        self.momentum = momentum
        self.wd_lh = wd_lh

    def create_state(self, index, weight):
        if self.momentum == 0.0:
            return None
        return zeros(weight.shape, weight.context, dtype=weight.dtype, stype=weight.stype)

    @per_index
    def update(self, index, weight, grad, state):
        lr, wd = self._begin_update(index)
        kwargs = self._fused_kwargs()
        if self.momentum > 0:
            kwargs["momentum"] = self.momentum
        if self.wd_lh:
            kwargs["wd_lh"] = self.wd_lh
        if state is not None:
            signum_update(weight, grad, state, out=weight, lr=lr, wd=wd, **kwargs)
        else:
            signsgd_update(weight, grad, out=weight, lr=lr, wd=wd, **kwargs)


@register
class DCASGD(Optimizer):
    """``DCASGD(momentum=0.0, lamda=0.04, **kwargs)``: delay-compensated asynchronous SGD.
    With ``g = clip(rescale_grad*grad)`` and the weight of the previous step ``w_prev``:
    ``step = -lr*(g + wd*w + lamda*g*g*(w - w_prev))``; with momentum the step accumulates
    (``mom = momentum*mom + step``); ``w_prev <- w; w += step``. State ``(mom or None,
    w_prev)``.
    """

    def __init__(self, momentum=0.0, lamda=0.04, **kwargs):
        super(DCASGD, self).__init__(**kwargs)
        self.momentum = momentum
        self.weight_previous: dict = {}
        self.lamda = lamda

    def create_state(self, index, weight):
        if self.momentum == 0.0:
            return (None, weight.copy())
        return (zeros(weight.shape, weight.context, dtype=weight.dtype), weight.copy())

    @per_index
    def update(self, index, weight, grad, state):
        lr, wd = self._begin_update(index)
        grad = self._clip(grad * self.rescale_grad)
        mom, previous_weight = state
        step = -lr * (grad + wd * weight + self.lamda * grad * grad * (weight - previous_weight))
        # MXNet tests `if mom:` (ambiguous for arrays); the intent is "momentum state exists"
        if mom is not None:
            mom[:] *= self.momentum
            mom[:] += step
        else:
            mom = step
        previous_weight[:] = weight
        weight[:] += mom


@register
class SGLD(Optimizer):
    """``SGLD(**kwargs)``: stochastic gradient Langevin dynamics: ``w += -lr/2 *
    (clip(rescale_grad*grad) + wd*w) + N(0, sqrt(lr))`` (noise from ``mx.random``)."""

    @per_index
    def update(self, index, weight, grad, state):
        lr, wd = self._begin_update(index)
        grad = self._clip(grad * self.rescale_grad)
        weight[:] += -lr / 2 * (grad + wd * weight)
        weight[:] += _random.normal(0, math.sqrt(lr), shape=weight.shape, dtype=weight.dtype,
                                    ctx=weight.context)
