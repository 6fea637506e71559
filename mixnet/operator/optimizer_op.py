"""Optimizer update ops: ``sgd_update``, ``adam_update`` and the rest of MXNet 1.9.1's fused
update kernels (``mx.optimizer`` calls them imperatively with ``out=weight``).

MXNet conventions kept:

* The states (momentum, mean/var, ``n``, ``z``, ``weight32`` ...) are inputs that the op
  mutates in place (``OpDef(mutate=...)``); the new weight is the op's output. Callers
  pass ``out=weight``: every op declares ``inplace`` so the dispatcher hands the weight's
  own buffer to the kernel, and every kernel reads all of its inputs before it writes the
  output, so the update is correct when the output is the weight.
* ``clip_gradient < 0`` means no clipping (``clip_gradient = 0`` clips to zero, as MXNet's
  ``>= 0`` test does). Where weight decay goes follows each kernel exactly: SGD, momentum
  SGD, NAG and Signum apply ``wd`` outside the clip (``(1 - lr*wd)*w - lr*clip(rescale*g)``
  or ``clip(rescale*g) + wd*w``), Adam, RMSProp, RMSPropAlex and FTML add ``wd*w`` to the
  rescaled gradient *before* clipping, LAMB adds it to the Adam direction, FTRL divides by
  it, AdamW decays decoupled (``eta*wd*w``).
* ``mp_*`` ops take float16 (or any float) weight/grad plus float32 states and the float32
  master copy ``weight32``: the update runs on ``weight32``, which is written back, and the
  output is its cast to the weight's dtype. Non-``mp`` ops on float16 arrays compute in
  float32 and round once into the float16 state/output.
* ``adam_update`` has no bias correction (Python Adam folds it into ``lr``);
  ``lamb_update_phase1`` does (``bias_correction=True``).
* ``_adamw_update``/``_mp_adamw_update`` take ``rescale_grad`` as a one-element float32
  array; when it is not finite or zero the update is skipped (states untouched, the output
  is the unchanged weight), as MXNet does for AMP loss scaling.
* ``mp_lamb_update_phase2`` writes ``weight32 - lr'*g`` into the output but, like MXNet
  1.9.1's kernel, does not write ``weight32`` back.
* ``signsgd_update`` uses the sign of the raw gradient (``rescale_grad`` and
  ``clip_gradient`` are accepted and have no effect, as in MXNet).
* ``_sparse_adagrad_update`` (``nd.sparse.adagrad_update``) is MXNet's row-sparse AdaGrad;
  on dense arrays every row is updated. Like MXNet it rejects ``wd != 0``.
* ``lazy_update`` is accepted; it only changes row-sparse updates, which dense arrays never
  take.
* Optimizer ops are not differentiable (``gradient=None``). All parameter and shape checks
  happen at the call (shape/type inference), so kernels never raise.
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

import numpy as np

from ..base import MXNetError, dtype_name
from .params import Bool, Float, FloatTuple, Int, Param, REQUIRED
from .registry import OpDef, register, shape_str, unify

__all__: list = []

_F16 = np.dtype(np.float16)
_F32 = np.dtype(np.float32)
_FLOAT_DTYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))
# MXNet's fused multi-weight kernels hold at most 60 weights per call (MultiSGDKernelParam).
_MAX_MULTI = 60


# ------------------------------------------------------------------------ parameters
def _lr() -> Param:
    return Param("lr", Float(), REQUIRED, "learning rate")


_WD = Param("wd", Float(), 0.0, "weight decay (L2 penalty coefficient)")
_EPSILON = Param("epsilon", Float(), 1e-8, "small constant for numerical stability")
_RESCALE = Param("rescale_grad", Float(), 1.0, "gradient is multiplied by this first")
_CLIP = Param("clip_gradient", Float(), -1.0,
              "clip the rescaled gradient to [-clip_gradient, clip_gradient]; negative: off")
_LAZY = Param("lazy_update", Bool(), True,
              "lazy update for row_sparse gradients (dense arrays update every row)")
_MOMENTUM = Param("momentum", Float(), 0.0, "decay rate of the momentum")
_CLIP_WEIGHTS = Param("clip_weights", Float(), -1.0,
                      "clip the new weight to [-clip_weights, clip_weights]; negative: off")

_SGD_PARAMS = [_lr(), _WD, _RESCALE, _CLIP, _LAZY]
_SGD_MOM_PARAMS = [_lr(), _MOMENTUM, _WD, _RESCALE, _CLIP, _LAZY]
_NAG_PARAMS = [_lr(), _MOMENTUM, _WD, _RESCALE, _CLIP]
_ADAM_PARAMS = [_lr(), Param("beta1", Float(), 0.9, "decay rate of the 1st moment"),
                Param("beta2", Float(), 0.999, "decay rate of the 2nd moment"),
                _EPSILON, _WD, _RESCALE, _CLIP, _LAZY]


# ------------------------------------------------------------------------ helpers
def _wide(a: Any) -> Any:
    """``a`` in the dtype the update is computed in: float16 goes through float32, as
    MXNet's half-precision arithmetic does."""
    return a.astype(np.float32) if a.dtype == _F16 else a


def _scaled(g: Any, rescale: float, clip: float, xp: Any) -> Any:
    """``clip(rescale * g)`` as a fresh array (computed in ``g``'s compute dtype)."""
    r = _wide(g) * rescale
    if clip >= 0:
        xp.clip(r, -clip, clip, out=r)
    return r


def _clip(x: Any, bound: float, xp: Any) -> Any:
    """MXNet's ``clip::Map`` when ``bound >= 0`` (a fresh array), else ``x`` unchanged."""
    return xp.clip(x, -bound, bound) if bound >= 0 else x


def _sign(x: Any, xp: Any) -> Any:
    """``(x > 0) - (x < 0)``: MXNet's sign, which maps NaN to 0."""
    return xp.subtract(x > 0, x < 0, dtype=np.float32 if x.dtype == _F16 else x.dtype)


def _store(state: Any, value: Any) -> Any:
    """Write ``value`` into ``state`` and return what the kernel reads back: the stored
    (rounded) value for float16 states, ``value`` itself otherwise."""
    state[...] = value
    return _wide(state) if state.dtype != value.dtype else value


def _check_float(names: Sequence[str], dtypes: Sequence[Any]) -> None:
    for n, d in zip(names, dtypes):
        if d is not None and np.dtype(d) not in _FLOAT_DTYPES:
            raise MXNetError("%s must be float16, float32 or float64, got %s"
                             % (n, dtype_name(d)))


def _type_rule(names: Sequence[str], n_same: int, out: str = "same") -> Callable:
    """dtype inference: the first ``n_same`` inputs share one float dtype (the weight's);
    the others are float32 (master weights and states of ``mp_*`` ops). The output takes
    the weight's dtype, or float32 with ``out='float32'``."""
    names = tuple(names)

    def infer(p: Any, dtypes: list):
        head = list(dtypes[:n_same])
        known = unify(head, "dtypes of %s" % ", ".join(names[:n_same]), dtype_name)
        _check_float(names[:n_same], [known])
        res = [known] * n_same
        for n, d in zip(names[n_same:], dtypes[n_same:]):
            if d is not None and np.dtype(d) != _F32:
                raise MXNetError("%s must be float32 (a master copy or state of a "
                                 "multi-precision update), got %s" % (n, dtype_name(d)))
            res.append(_F32)
        return res, [_F32 if out == "float32" else known]
    infer.__name__ = "infer_type_" + "_".join(names)
    return infer


def _shape_rule(names: Sequence[str], n_same: int, scalars: Sequence[str] = ()) -> Callable:
    """Shape inference: the first ``n_same`` inputs have the weight's shape (a known one
    completes unknown ones); inputs named in ``scalars`` hold one value (shape ``(1,)``)."""
    names = tuple(names)

    def infer(p: Any, shapes: list):
        known = unify(shapes[:n_same], "shapes of %s" % ", ".join(names[:n_same]))
        res = [known] * n_same
        for n, s in zip(names[n_same:], shapes[n_same:]):
            if n in scalars:
                if s is not None and int(np.prod(s)) != 1:
                    raise MXNetError("%s must hold a single value, got shape %s"
                                     % (n, shape_str(s)))
                res.append((1,) if s is None else s)
            else:
                if s is not None and known is not None and tuple(s) != tuple(known):
                    raise MXNetError("%s must have the weight's shape %s, got %s"
                                     % (n, shape_str(known), shape_str(s)))
                res.append(known if s is None else s)
        return res, [known]
    infer.__name__ = "infer_shape_" + "_".join(names)
    return infer


def _register(name: str, inputs: Sequence[str], params: list, forward: Callable,
              mutate: Sequence[str], doc: str, n_same: Optional[int] = None,
              out_type: str = "same", scalars: Sequence[str] = (),
              check: Optional[Callable] = None,
              aliases: Sequence[str] = ()) -> None:
    """Register one single-weight update op: inputs (weight first), params, kernel, the
    mutated state names; dtype rule per :func:`_type_rule` (``n_same`` defaults to all
    inputs), shapes per :func:`_shape_rule`; ``check(p)`` validates parameters."""
    n_same = len(inputs) if n_same is None else n_same
    shape_rule = _shape_rule(inputs, len(inputs) - len(scalars), scalars)
    if check is not None:
        base = shape_rule

        def shape_rule(p, shapes, _base=base):  # noqa: F811 - parameter check first
            check(p)
            return _base(p, shapes)
    register(OpDef(name, inputs=tuple(inputs), params=params, forward=forward,
                   infer_shape=shape_rule, infer_type=_type_rule(inputs, n_same, out_type),
                   mutate=tuple(mutate), inplace=((0, 0),), aliases=tuple(aliases),
                   gradient=None, doc=doc))


# ------------------------------------------------------------------------ SGD family
def _sgd_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    w, g = ins
    r = _scaled(g, p.rescale_grad, p.clip_gradient, oc.xp)
    outs[0][...] = (1.0 - p.lr * p.wd) * _wide(w) - p.lr * r


_register("sgd_update", ["weight", "grad"], list(_SGD_PARAMS), _sgd_forward, (),
          "SGD: weight = (1 - lr*wd)*weight - lr*clip(rescale_grad*grad); weight decay is "
          "applied outside the clip.")


def _sgd_mom_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    w, g, mom = ins
    wf = _wide(w)
    r = _scaled(g, p.rescale_grad, p.clip_gradient, oc.xp)
    m = _store(mom, p.momentum * _wide(mom) - (p.lr * p.wd) * wf - p.lr * r)
    outs[0][...] = wf + m


_register("sgd_mom_update", ["weight", "grad", "mom"], list(_SGD_MOM_PARAMS),
          _sgd_mom_forward, ("mom",),
          "Momentum SGD: mom = momentum*mom - lr*wd*weight - lr*clip(rescale_grad*grad); "
          "weight = weight + mom. Mutates mom.")


def _mp_sgd_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    _, g, w32 = ins
    r = _scaled(g.astype(np.float32), p.rescale_grad, p.clip_gradient, oc.xp)
    w32[...] = (1.0 - p.lr * p.wd) * w32 - p.lr * r
    outs[0][...] = w32


_register("mp_sgd_update", ["weight", "grad", "weight32"], list(_SGD_PARAMS),
          _mp_sgd_forward, ("weight32",),
          "Multi-precision SGD: the float32 master weight32 takes the sgd_update step and "
          "is cast into the output. Mutates weight32.", n_same=2)


def _mp_sgd_mom_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    _, g, mom, w32 = ins
    r = _scaled(g.astype(np.float32), p.rescale_grad, p.clip_gradient, oc.xp)
    mom[...] = p.momentum * mom - (p.lr * p.wd) * w32 - p.lr * r
    w32 += mom
    outs[0][...] = w32


_register("mp_sgd_mom_update", ["weight", "grad", "mom", "weight32"], list(_SGD_MOM_PARAMS),
          _mp_sgd_mom_forward, ("mom", "weight32"),
          "Multi-precision momentum SGD on the float32 master weight32 (float32 mom); the "
          "output is weight32 cast to the weight's dtype. Mutates mom and weight32.",
          n_same=2)


def _nag_step(w: Any, r: Any, mom: Any, p: Any, decay_new: bool, dtype: Any = None) -> Any:
    """One NAG step on ``w`` (compute dtype): writes ``mom`` and returns the new weight.

    MXNet 1.9.1 writes the weight before it updates the momentum, so when the weight is
    updated in place (``out=weight``, as the NAG optimizer calls it, and always for the
    float32 master of the multi-precision op) the momentum's weight decay reads the
    *new* weight, rounded to the weight's dtype. The real MXNet fixtures confirm it."""
    m = p.momentum * _wide(mom)
    new_w = w - m + (1.0 + p.momentum) * (m - p.lr * (r + p.wd * w))
    decay_w = w
    if decay_new:
        decay_w = new_w if dtype is None else new_w.astype(dtype).astype(new_w.dtype)
    mom[...] = m - p.lr * (r + p.wd * decay_w)
    return new_w


def _nag_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    w, g, mom = ins
    r = _scaled(g, p.rescale_grad, p.clip_gradient, oc.xp)
    in_place = bool(oc.xp.may_share_memory(outs[0], w))
    outs[0][...] = _nag_step(_wide(w), r, mom, p, in_place, w.dtype)


_register("nag_mom_update", ["weight", "grad", "mom"], list(_NAG_PARAMS), _nag_forward,
          ("mom",),
          "Nesterov momentum: g' = clip(rescale_grad*grad) + wd*weight; mom = momentum*mom; "
          "weight = weight - mom + (1+momentum)*(mom - lr*g'); mom = mom - lr*g', where "
          "g' uses the new weight when out is the weight itself (as in MXNet). "
          "Mutates mom.")


def _mp_nag_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    _, g, mom, w32 = ins
    r = _scaled(g.astype(np.float32), p.rescale_grad, p.clip_gradient, oc.xp)
    w32[...] = _nag_step(w32, r, mom, p, True)
    outs[0][...] = w32


_register("mp_nag_mom_update", ["weight", "grad", "mom", "weight32"], list(_NAG_PARAMS),
          _mp_nag_forward, ("mom", "weight32"),
          "Multi-precision nag_mom_update on the float32 master weight32. Mutates mom and "
          "weight32.", n_same=2)


# ------------------------------------------------------------------------ Adam family
def _decayed_grad(p: Any, g: Any, wf: Any, clip: float, xp: Any) -> Any:
    """``clip(rescale_grad*grad + wd*weight)`` in the wide dtype (``wf``: the widened
    weight): the gradient of optimizers that put the weight decay inside the clip."""
    return _clip(p.rescale_grad * _wide(g) + p.wd * wf, clip, xp)


def _adam_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    w, g, mean, var = ins
    wf = _wide(w)
    gp = _decayed_grad(p, g, wf, p.clip_gradient, xp)
    m = _store(mean, p.beta1 * _wide(mean) + (1.0 - p.beta1) * gp)
    v = _store(var, p.beta2 * _wide(var) + (1.0 - p.beta2) * (gp * gp))
    outs[0][...] = wf - p.lr * m / (xp.sqrt(v) + p.epsilon)


_register("adam_update", ["weight", "grad", "mean", "var"], list(_ADAM_PARAMS),
          _adam_forward, ("mean", "var"),
          "Adam without bias correction: g' = clip(rescale_grad*grad + wd*weight) (weight "
          "decay inside the clip); mean = beta1*mean + (1-beta1)*g'; var = beta2*var + "
          "(1-beta2)*g'^2; weight -= lr*mean/(sqrt(var) + epsilon). Mutates mean, var.")


_ADAMW_PARAMS = [_lr(), Param("beta1", Float(), 0.9, "decay rate of the 1st moment"),
                 Param("beta2", Float(), 0.999, "decay rate of the 2nd moment"),
                 _EPSILON, _WD,
                 Param("eta", Float(), REQUIRED, "learning rate schedule multiplier"),
                 _CLIP]


def _scale_value(xp: Any, a: Any) -> float:
    """The one value of the ``rescale_grad`` input (a host read, as MXNet's kernel does)."""
    return float(a.reshape(-1)[0])


def _adamw_step(xp: Any, w: Any, g: Any, mean: Any, var: Any, p: Any, scale: float) -> Any:
    r = _scaled(g, scale, p.clip_gradient, xp)
    m = _store(mean, p.beta1 * _wide(mean) + (1.0 - p.beta1) * r)
    v = _store(var, p.beta2 * _wide(var) + (1.0 - p.beta2) * (r * r))
    return w - p.eta * (p.lr * m / (xp.sqrt(v) + p.epsilon) + p.wd * w)


def _adamw_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    w, g, mean, var, rescale = ins
    scale = _scale_value(xp, rescale)
    if not np.isfinite(scale) or scale == 0.0:
        outs[0][...] = w  # skipped step (AMP overflow): weight and states unchanged
        return
    outs[0][...] = _adamw_step(xp, _wide(w), g, mean, var, p, scale)


_register("_adamw_update", ["weight", "grad", "mean", "var", "rescale_grad"],
          list(_ADAMW_PARAMS), _adamw_forward, ("mean", "var"),
          "AdamW: g' = clip(rescale_grad*grad) with rescale_grad a one-element float32 "
          "array; mean/var as Adam; weight -= eta*(lr*mean/(sqrt(var)+epsilon) + wd*weight). "
          "A non-finite or zero rescale_grad skips the step. Mutates mean, var.",
          n_same=4, scalars=("rescale_grad",), aliases=("_contrib_adamw_update",))


def _mp_adamw_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    w, g, mean, var, w32, rescale = ins
    scale = _scale_value(xp, rescale)
    if not np.isfinite(scale) or scale == 0.0:
        outs[0][...] = w
        return
    w32[...] = _adamw_step(xp, w32, g.astype(np.float32), mean, var, p, scale)
    outs[0][...] = w32


_register("_mp_adamw_update", ["weight", "grad", "mean", "var", "weight32", "rescale_grad"],
          list(_ADAMW_PARAMS), _mp_adamw_forward, ("mean", "var", "weight32"),
          "Multi-precision AdamW on the float32 master weight32 (float32 mean/var). "
          "Mutates mean, var and weight32.",
          n_same=2, scalars=("rescale_grad",), aliases=("_contrib_mp_adamw_update",))


# ------------------------------------------------------------------------ RMSProp
_RMSPROP_PARAMS = [_lr(), Param("gamma1", Float(), 0.95, "decay rate of the squared mean"),
                   _EPSILON, _WD, _RESCALE, _CLIP, _CLIP_WEIGHTS]


def _rmsprop_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    w, g, n = ins
    wf = _wide(w)
    gp = _decayed_grad(p, g, wf, p.clip_gradient, xp)
    nn = _store(n, (1.0 - p.gamma1) * (gp * gp) + p.gamma1 * _wide(n))
    outs[0][...] = _clip(wf - p.lr * (gp / xp.sqrt(nn + p.epsilon)), p.clip_weights, xp)


_register("rmsprop_update", ["weight", "grad", "n"], list(_RMSPROP_PARAMS), _rmsprop_forward,
          ("n",),
          "RMSProp (Tieleman & Hinton): g' = clip(rescale_grad*grad + wd*weight); "
          "n = (1-gamma1)*g'^2 + gamma1*n; weight -= lr*g'/sqrt(n + epsilon), then "
          "clip_weights. Mutates n.")

_RMSPROPALEX_PARAMS = [_lr(), Param("gamma1", Float(), 0.95, "decay rate"),
                       Param("gamma2", Float(), 0.9, "momentum of delta"),
                       _EPSILON, _WD, _RESCALE, _CLIP, _CLIP_WEIGHTS]


def _rmspropalex_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    w, g, n, gs, delta = ins
    wf = _wide(w)
    gp = _decayed_grad(p, g, wf, p.clip_gradient, xp)
    nn = _store(n, (1.0 - p.gamma1) * (gp * gp) + p.gamma1 * _wide(n))
    gg = _store(gs, (1.0 - p.gamma1) * gp + p.gamma1 * _wide(gs))
    d = _store(delta, p.gamma2 * _wide(delta) - p.lr * gp / xp.sqrt(nn - gg * gg + p.epsilon))
    outs[0][...] = _clip(wf + d, p.clip_weights, xp)


_register("rmspropalex_update", ["weight", "grad", "n", "g", "delta"],
          list(_RMSPROPALEX_PARAMS), _rmspropalex_forward, ("n", "g", "delta"),
          "Centered RMSProp (Graves 2013): g' = clip(rescale_grad*grad + wd*weight); "
          "n = (1-gamma1)*g'^2 + gamma1*n; g = (1-gamma1)*g' + gamma1*g; delta = "
          "gamma2*delta - lr*g'/sqrt(n - g^2 + epsilon); weight += delta, then clip_weights. "
          "Mutates n, g, delta.")


# ------------------------------------------------------------------------ FTRL / FTML
_FTRL_PARAMS = [_lr(), Param("lamda1", Float(), 0.01, "L1 regularization coefficient"),
                Param("beta", Float(), 1.0, "per-coordinate learning rate beta"),
                _WD, _RESCALE, _CLIP]


def _ftrl_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    w, g, z, n = ins
    wf, nf = _wide(w), _wide(n)
    r = _scaled(g, p.rescale_grad, p.clip_gradient, xp)
    r2 = r * r
    zz = _store(z, _wide(z) + r - (xp.sqrt(nf + r2) - xp.sqrt(nf)) * wf / p.lr)
    nn = _store(n, nf + r2)
    keep = xp.abs(zz) > p.lamda1
    outs[0][...] = (_sign(zz, xp) * p.lamda1 - zz) / ((p.beta + xp.sqrt(nn)) / p.lr + p.wd) \
        * keep


_register("ftrl_update", ["weight", "grad", "z", "n"], list(_FTRL_PARAMS), _ftrl_forward,
          ("z", "n"),
          "FTRL-proximal: g' = clip(rescale_grad*grad); z += g' - (sqrt(n + g'^2) - "
          "sqrt(n))*weight/lr; n += g'^2; weight = (sign(z)*lamda1 - z) / ((beta + sqrt(n))/lr "
          "+ wd) where |z| > lamda1, else 0. Mutates z, n.")


def _check_betas(p: Any) -> None:
    for name in ("beta1", "beta2"):
        v = getattr(p, name)
        if not 0.0 <= v <= 1.0:
            raise MXNetError("%s must be in [0, 1], got %r" % (name, v))


_FTML_PARAMS = [_lr(), Param("beta1", Float(), 0.6, "decay rate of the 1st moment"),
                Param("beta2", Float(), 0.999, "decay rate of the 2nd moment"),
                _EPSILON,
                Param("t", Int(), REQUIRED, "number of the update (1 for the first)"),
                _WD, _RESCALE,
                Param("clip_grad", Float(), -1.0,
                      "clip the gradient to [-clip_grad, clip_grad]; negative: off")]


def _ftml_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    w, g, d, v, z = ins
    wf = _wide(w)
    gp = _decayed_grad(p, g, wf, p.clip_grad, xp)
    vv = _store(v, p.beta2 * _wide(v) + (1.0 - p.beta2) * (gp * gp))
    d_t = (1.0 - p.beta1 ** p.t) / p.lr * (xp.sqrt(vv / (1.0 - p.beta2 ** p.t)) + p.epsilon)
    zz = _store(z, p.beta1 * _wide(z) + (1.0 - p.beta1) * gp - (d_t - p.beta1 * _wide(d)) * wf)
    dd = _store(d, d_t)
    outs[0][...] = -zz / dd


_register("ftml_update", ["weight", "grad", "d", "v", "z"], list(_FTML_PARAMS), _ftml_forward,
          ("d", "v", "z"),
          "FTML (Zheng & Kwok 2017): g' = clip(rescale_grad*grad + wd*weight, clip_grad); "
          "v = beta2*v + (1-beta2)*g'^2; d_t = (1-beta1^t)/lr*(sqrt(v/(1-beta2^t)) + epsilon); "
          "z = beta1*z + (1-beta1)*g' - (d_t - beta1*d)*weight; d = d_t; weight = -z/d_t. "
          "Mutates d, v, z.", check=_check_betas)


# ------------------------------------------------------------------------ signSGD / Signum
_SIGNSGD_PARAMS = [_lr(), _WD, _RESCALE, _CLIP]


def _signsgd_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    w, g = ins
    outs[0][...] = (1.0 - p.lr * p.wd) * _wide(w) - p.lr * _sign(g, oc.xp)


_register("signsgd_update", ["weight", "grad"], list(_SIGNSGD_PARAMS), _signsgd_forward, (),
          "signSGD: weight = (1 - lr*wd)*weight - lr*sign(grad); rescale_grad and "
          "clip_gradient have no effect.")

_SIGNUM_PARAMS = [_lr(), _MOMENTUM, _WD, _RESCALE, _CLIP,
                  Param("wd_lh", Float(), 0.0,
                        "decoupled weight decay (Loshchilov & Hutter) applied to the weight")]


def _signum_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    w, g, mom = ins
    wf = _wide(w)
    r = _scaled(g, p.rescale_grad, p.clip_gradient, xp)
    m = _store(mom, p.momentum * _wide(mom) - (1.0 - p.momentum) * p.wd * wf
               - (1.0 - p.momentum) * r)
    outs[0][...] = (1.0 - p.lr * p.wd_lh) * wf + p.lr * _sign(m, xp)


_register("signum_update", ["weight", "grad", "mom"], list(_SIGNUM_PARAMS), _signum_forward,
          ("mom",),
          "Signum: mom = momentum*mom - (1-momentum)*(wd*weight + clip(rescale_grad*grad)); "
          "weight = (1 - lr*wd_lh)*weight + lr*sign(mom). Mutates mom.")


# ------------------------------------------------------------------------ LAMB
_LAMB1_PARAMS = [Param("beta1", Float(), 0.9, "decay rate of the 1st moment"),
                 Param("beta2", Float(), 0.999, "decay rate of the 2nd moment"),
                 Param("epsilon", Float(), 1e-6, "small constant for numerical stability"),
                 Param("t", Int(), REQUIRED, "update count (1 for the first update)"),
                 Param("bias_correction", Bool(), True, "whether to bias-correct the moments"),
                 Param("wd", Float(), REQUIRED, "weight decay"), _RESCALE, _CLIP]
_LAMB2_PARAMS = [_lr(),
                 Param("lower_bound", Float(), -1.0, "lower limit of r1; negative: none"),
                 Param("upper_bound", Float(), -1.0, "upper limit of r1; negative: none")]


def _lamb1_direction(xp: Any, w: Any, g: Any, mean: Any, var: Any, p: Any) -> Any:
    r = _scaled(g, p.rescale_grad, p.clip_gradient, xp)
    m = _store(mean, p.beta1 * _wide(mean) + (1.0 - p.beta1) * r)
    v = _store(var, p.beta2 * _wide(var) + (1.0 - p.beta2) * (r * r))
    if p.bias_correction:
        m = m / (1.0 - p.beta1 ** p.t)
        v = v / (1.0 - p.beta2 ** p.t)
    return m / (xp.sqrt(v) + p.epsilon) + p.wd * w


def _lamb1_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    w, g, mean, var = ins
    outs[0][...] = _lamb1_direction(oc.xp, _wide(w), g, mean, var, p)


_register("lamb_update_phase1", ["weight", "grad", "mean", "var"], list(_LAMB1_PARAMS),
          _lamb1_forward, ("mean", "var"),
          "LAMB phase 1: g' = clip(rescale_grad*grad); mean/var as Adam; returns the "
          "direction mean^/(sqrt(var^) + epsilon) + wd*weight (^: bias-corrected with t when "
          "bias_correction). Mutates mean, var.")


def _lamb_scale(xp: Any, r1: Any, r2: Any, p: Any, dt: Any) -> Any:
    """``r1'/r2`` as a one-element array (``r1`` bounded), or 1 when either is zero."""
    a = r1.reshape(-1)[:1].astype(dt)
    b = r2.reshape(-1)[:1].astype(dt)
    if p.lower_bound >= 0:
        a = xp.maximum(a, p.lower_bound)
    if p.upper_bound >= 0:
        a = xp.minimum(a, p.upper_bound)
    ok = (a != 0) & (b != 0)
    return xp.where(ok, a / xp.where(ok, b, 1), 1).astype(dt)


def _lamb2_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    w, g, r1, r2 = ins
    wf = _wide(w)
    lr = p.lr * _lamb_scale(oc.xp, r1, r2, p, wf.dtype)
    outs[0][...] = wf - lr * _wide(g)


_register("lamb_update_phase2", ["weight", "g", "r1", "r2"], list(_LAMB2_PARAMS),
          _lamb2_forward, (),
          "LAMB phase 2: r1 (weight norm) is bounded by lower_bound/upper_bound; lr' = "
          "lr*r1/r2 (lr when either is 0); weight -= lr'*g. r1, r2 hold one value.",
          scalars=("r1", "r2"))


def _mp_lamb1_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    _, g, mean, var, w32 = ins
    outs[0][...] = _lamb1_direction(oc.xp, w32, g.astype(np.float32), mean, var, p)


def _mp_lamb_type(names: Sequence[str], out16: bool) -> Callable:
    """MXNet's mp_lamb typing: the leading inputs are float16, the rest float32; phase 1
    returns float32, phase 2 float16."""
    n16 = 2 if not out16 else 1

    def infer(p: Any, dtypes: list):
        for n, d in zip(names[:n16], dtypes[:n16]):
            if d is not None and np.dtype(d) != _F16:
                raise MXNetError("%s must be float16, got %s" % (n, dtype_name(d)))
        for n, d in zip(names[n16:], dtypes[n16:]):
            if d is not None and np.dtype(d) != _F32:
                raise MXNetError("%s must be float32, got %s" % (n, dtype_name(d)))
        return [_F16] * n16 + [_F32] * (len(names) - n16), [_F16 if out16 else _F32]
    return infer


_MP_LAMB1_INPUTS = ("weight", "grad", "mean", "var", "weight32")
register(OpDef(
    "mp_lamb_update_phase1", inputs=_MP_LAMB1_INPUTS, params=list(_LAMB1_PARAMS),
    forward=_mp_lamb1_forward, infer_shape=_shape_rule(_MP_LAMB1_INPUTS, 5),
    infer_type=_mp_lamb_type(_MP_LAMB1_INPUTS, False), mutate=("mean", "var"),
    gradient=None,
    doc="Multi-precision LAMB phase 1: float16 weight/grad, float32 mean/var/weight32; the "
        "float32 direction uses weight32 for the decay term. Mutates mean, var."))


def _mp_lamb2_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    _, g, r1, r2, w32 = ins
    lr = p.lr * _lamb_scale(oc.xp, r1, r2, p, _F32)
    outs[0][...] = w32 - lr * g


_MP_LAMB2_INPUTS = ("weight", "g", "r1", "r2", "weight32")


def _mp_lamb2_shape(p: Any, shapes: list):
    s = list(shapes)
    rule = _shape_rule(("weight", "g", "weight32", "r1", "r2"), 3, ("r1", "r2"))
    res, out = rule(p, [s[0], s[1], s[4], s[2], s[3]])
    return [res[0], res[1], res[3], res[4], res[2]], out


register(OpDef(
    "mp_lamb_update_phase2", inputs=_MP_LAMB2_INPUTS, params=list(_LAMB2_PARAMS),
    forward=_mp_lamb2_forward, infer_shape=_mp_lamb2_shape,
    infer_type=_mp_lamb_type(_MP_LAMB2_INPUTS, True), inplace=((0, 0),), gradient=None,
    doc="Multi-precision LAMB phase 2: output = weight32 - lr'*g cast to float16 (lr' as "
        "lamb_update_phase2). Like MXNet 1.9.1 it does not write weight32 back."))


# ------------------------------------------------------------------------ AdaGrad
_ADAGRAD_PARAMS = [_lr(), Param("epsilon", Float(), 1e-7, "small constant for stability"),
                   _WD, _RESCALE, _CLIP]


def _check_adagrad(p: Any) -> None:
    if p.wd != 0.0:
        raise MXNetError("sparse adagrad_update does not support wd (got wd=%r); apply weight "
                         "decay separately" % p.wd)


def _adagrad_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    w, g, hist = ins
    r = _scaled(g, p.rescale_grad, p.clip_gradient, xp)
    h = _store(hist, _wide(hist) + r * r)
    outs[0][...] = _wide(w) - p.lr * (r / xp.sqrt(h + p.epsilon))


_register("_sparse_adagrad_update", ["weight", "grad", "history"], list(_ADAGRAD_PARAMS),
          _adagrad_forward, ("history",),
          "AdaGrad (MXNet's row-sparse kernel; dense arrays update every row): g' = "
          "clip(rescale_grad*grad); history += g'^2; weight -= lr*g'/sqrt(history + "
          "epsilon). wd must be 0. Mutates history.", check=_check_adagrad)


# ------------------------------------------------------------------------ multi-weight SGD
_MULTI_SGD_PARAMS = [Param("lrs", FloatTuple(), REQUIRED, "learning rates, one per weight"),
                     Param("wds", FloatTuple(), REQUIRED, "weight decays, one per weight"),
                     _RESCALE, _CLIP,
                     Param("num_weights", Int(1, _MAX_MULTI), 1, "number of weights updated")]
_MULTI_SGD_MOM_PARAMS = _MULTI_SGD_PARAMS[:2] + [_MOMENTUM] + _MULTI_SGD_PARAMS[2:]


def _multi(name: str, slots: Sequence[str], params: list, momentum: bool, mp: bool,
           doc: str) -> None:
    """Register a fused update of ``num_weights`` weights whose inputs come interleaved
    (``slots`` per weight: weight, grad[, mom][, weight32]); output ``i`` is weight ``i``'s
    new value."""
    stride = len(slots)
    n_same = 2 if mp else stride
    state_slots = [s for s in slots if s in ("mom", "weight32")]
    mutate = tuple("%s_%d" % (s, i) for i in range(_MAX_MULTI) for s in state_slots)

    def inputs(p: Any) -> list:
        return ["%s_%d" % (s, i) for i in range(p.num_weights) for s in slots]

    def check(p: Any) -> None:
        for what in ("lrs", "wds"):
            got = len(getattr(p, what))
            if got != p.num_weights:
                raise MXNetError("%s has %d values, num_weights is %d (one per weight)"
                                 % (what, got, p.num_weights))

    def infer_shape(p: Any, shapes: list):
        check(p)
        res, outs = [], []
        for i in range(p.num_weights):
            group = shapes[i * stride:(i + 1) * stride]
            names = ["%s_%d" % (s, i) for s in slots]
            known = unify(group, "shapes of %s" % ", ".join(names))
            res += [known] * stride
            outs.append(known)
        return res, outs

    def infer_type(p: Any, dtypes: list):
        res, outs = [], []
        for i in range(p.num_weights):
            names = ["%s_%d" % (s, i) for s in slots]
            r, o = _type_rule(names, n_same)(p, dtypes[i * stride:(i + 1) * stride])
            res += r
            outs += o
        return res, outs

    def forward(oc: Any, ins: list, outs: list, p: Any) -> None:
        xp = oc.xp
        for i in range(p.num_weights):  # one vectorised update per weight
            group = ins[i * stride:(i + 1) * stride]
            w, g = group[0], group[1]
            lr, wd = p.lrs[i], p.wds[i]
            master = group[-1] if mp else None
            base = master if mp else _wide(w)
            r = _scaled(g.astype(np.float32) if mp else g, p.rescale_grad, p.clip_gradient, xp)
            if momentum:
                mom = group[2]
                new = base + _store(mom, p.momentum * _wide(mom) - (lr * wd) * base - lr * r)
            else:
                new = (1.0 - lr * wd) * base - lr * r
            if mp:
                master[...] = new
            outs[i][...] = new

    register(OpDef(
        name, inputs=inputs, params=params, forward=forward, infer_shape=infer_shape,
        infer_type=infer_type, num_outputs=lambda p: p.num_weights,
        mutate=mutate, inplace=tuple((i * stride, i) for i in range(_MAX_MULTI)),
        gradient=None, doc=doc))


_multi("multi_sgd_update", ("weight", "grad"), list(_MULTI_SGD_PARAMS), False, False,
       "Fused sgd_update of num_weights weights; inputs interleaved weight_i, grad_i; "
       "lrs/wds give one learning rate and weight decay per weight.")
_multi("multi_sgd_mom_update", ("weight", "grad", "mom"), list(_MULTI_SGD_MOM_PARAMS), True,
       False,
       "Fused sgd_mom_update of num_weights weights; inputs interleaved weight_i, grad_i, "
       "mom_i. Mutates every mom_i.")
_multi("multi_mp_sgd_update", ("weight", "grad", "weight32"), list(_MULTI_SGD_PARAMS), False,
       True,
       "Fused mp_sgd_update; inputs interleaved weight_i, grad_i, weight32_i (float32). "
       "Mutates every weight32_i.")
_multi("multi_mp_sgd_mom_update", ("weight", "grad", "mom", "weight32"),
       list(_MULTI_SGD_MOM_PARAMS), True, True,
       "Fused mp_sgd_mom_update; inputs interleaved weight_i, grad_i, mom_i, weight32_i "
       "(mom and weight32 float32). Mutates every mom_i and weight32_i.")


# ------------------------------------------------------------------------ norms and checks
def _array_inputs(p: Any) -> list:
    return ["array_%d" % i for i in range(p.num_arrays)]


def _multi_sum_sq_shape(p: Any, shapes: list):
    return shapes, [(p.num_arrays,)]


def _float_inputs_type(out_dtype: Any) -> Callable:
    """Every input is a float array (dtypes may differ); the output has ``out_dtype``."""
    def infer(p: Any, dtypes: list):
        _check_float(["array_%d" % i for i in range(len(dtypes))], dtypes)
        return list(dtypes), [out_dtype]
    return infer


def _sum_sq(xp: Any, a: Any) -> Any:
    flat = a.reshape(-1)
    if flat.dtype == _F16:
        flat = flat.astype(np.float32)  # float16 squares would overflow past 65504
    return xp.dot(flat, flat)  # BLAS dot: one pass, no squared temporary


def _multi_sum_sq_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    out = outs[0]
    for i, a in enumerate(ins):  # a handful of arrays per call
        out[i] = _sum_sq(oc.xp, a)


register(OpDef(
    "multi_sum_sq", inputs=_array_inputs,
    params=[Param("num_arrays", Int(1), REQUIRED, "number of input arrays")],
    forward=_multi_sum_sq_forward, infer_shape=_multi_sum_sq_shape,
    infer_type=_float_inputs_type(_F32), varargs="num_arrays", gradient=None,
    doc="Sum of squares of each input array, as one float32 vector of length num_arrays "
        "(LAMB/LARS norms, global gradient clipping)."))


def _finite_shape(p: Any, shapes: list):
    return shapes, [(1,)]


def _finite_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    ok = True
    for a in ins:
        ok = xp.logical_and(ok, xp.all(xp.isfinite(a)))
    if p.init_output:
        outs[0][...] = ok
    else:
        # accumulate into the caller's out=: only a non-finite input changes it (to 0)
        outs[0][...] = xp.where(ok, outs[0], 0)


_INIT_OUTPUT = Param("init_output", Bool(), True,
                     "write 1 first; False keeps the output's value unless an input is "
                     "not finite")

register(OpDef(
    "all_finite", inputs=("data",), params=[_INIT_OUTPUT], forward=_finite_forward,
    infer_shape=_finite_shape, infer_type=_float_inputs_type(_F32), gradient=None,
    doc="1.0 (float32, shape (1,)) when data holds no inf/nan, else 0.0 (AMP loss scaling)."))

register(OpDef(
    "multi_all_finite", inputs=_array_inputs,
    params=[Param("num_arrays", Int(1), 1, "number of input arrays"), _INIT_OUTPUT],
    forward=_finite_forward, infer_shape=_finite_shape,
    infer_type=_float_inputs_type(_F32), varargs="num_arrays", gradient=None,
    doc="1.0 (float32, shape (1,)) when no input holds inf/nan, else 0.0."))
