"""``mx.nd.contrib``: hand-written wrappers; the generated ``_contrib_*`` op functions are
added to this module when ``mx.nd`` is populated."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..operator import registry as _reg
from .dispatch import _call
from .ndarray import NDArray, array

__all__ = ["adamw_update", "mp_adamw_update"]


def _rescale(rescale_grad: Any, like: NDArray) -> NDArray:
    if isinstance(rescale_grad, NDArray):
        return rescale_grad
    return array([float(rescale_grad)], ctx=like.context, dtype=np.float32)


def _params(lr, eta, beta1, beta2, epsilon, wd, clip_gradient, out, kwargs) -> dict:
    # lr and eta left out stay missing, so the op reports them as required parameters
    p = dict(beta1=beta1, beta2=beta2, epsilon=epsilon, wd=wd, clip_gradient=clip_gradient,
             out=out, **kwargs)
    p.update({k: v for k, v in (("lr", lr), ("eta", eta)) if v is not None})
    return p


def adamw_update(weight: NDArray, grad: NDArray, mean: NDArray, var: NDArray,
                 rescale_grad: Any, lr: Any = None, eta: Any = None, beta1: float = 0.9,
                 beta2: float = 0.999, epsilon: float = 1e-8, wd: float = 0,
                 clip_gradient: float = -1, out: Any = None, name: Any = None,
                 **kwargs: Any) -> NDArray:
    """``nd.contrib.adamw_update(weight, grad, mean, var, rescale_grad, lr, eta, beta1=0.9,
    beta2=0.999, epsilon=1e-8, wd=0, clip_gradient=-1, out=None)``: the AdamW step;
    ``rescale_grad`` may be a number or a one-element NDArray (the update is skipped when
    it is not finite or zero)."""
    return _call(_reg.get("_adamw_update"),
                 (weight, grad, mean, var, _rescale(rescale_grad, weight)),
                 _params(lr, eta, beta1, beta2, epsilon, wd, clip_gradient, out, kwargs))


def mp_adamw_update(weight: NDArray, grad: NDArray, mean: NDArray, var: NDArray,
                    weight32: NDArray, rescale_grad: Any, lr: Any = None, eta: Any = None,
                    beta1: float = 0.9, beta2: float = 0.999, epsilon: float = 1e-8,
                    wd: float = 0, clip_gradient: float = -1, out: Any = None,
                    name: Any = None, **kwargs: Any) -> NDArray:
    """``nd.contrib.mp_adamw_update(weight, grad, mean, var, weight32, rescale_grad, lr,
    eta, ...)``: :func:`adamw_update` with a float32 master copy ``weight32``."""
    return _call(_reg.get("_mp_adamw_update"),
                 (weight, grad, mean, var, weight32, _rescale(rescale_grad, weight)),
                 _params(lr, eta, beta1, beta2, epsilon, wd, clip_gradient, out, kwargs))
