"""Optimizer update ops: several in-place steps against the update formulas written out in
NumPy (float64), with weight decay, clipping and rescaling; multi-precision variants on
float16 weights; the fused multi-weight ops; bad inputs; MXNet 1.9.1 goldens (forward and
mutated states)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import mixnet as mx
from mixnet.test_utils import check_op, load_op_fixtures

ROOT = Path(__file__).resolve().parent.parent / "fixtures" / "mxnet-1.9.1"
SHAPE = (3, 4)


def _fn(op):
    """``mx.nd.<op>``; prefixed internal names through ``mx.nd.op``."""
    return getattr(mx.nd, op, None) or getattr(mx.nd.op, op)


def _clip(x, c):
    return np.clip(x, -c, c) if c >= 0 else x


def _sign(x):
    return (x > 0).astype(np.float64) - (x < 0)


def _g(s, p):
    """clip(rescale_grad * grad) — the gradient most kernels start from."""
    return _clip(p.get("rescale_grad", 1.0) * s["grad"], p.get("clip_gradient", -1.0))


# --------------------------------------------------------------- reference updates
# Each takes the state dict s (float64 copies, mutated in place like the op's states),
# the params p and the 1-based step t, and returns the new weight.
def ref_sgd(s, p, t):
    return (1 - p["lr"] * p.get("wd", 0)) * s["weight"] - p["lr"] * _g(s, p)


def ref_sgd_mom(s, p, t, w="weight"):
    s["mom"] = p.get("momentum", 0) * s["mom"] - p["lr"] * p.get("wd", 0) * s[w] \
        - p["lr"] * _g(s, p)
    return s[w] + s["mom"]


def ref_mp_sgd(s, p, t):
    s["weight32"] = (1 - p["lr"] * p.get("wd", 0)) * s["weight32"] - p["lr"] * _g(s, p)
    return s["weight32"]


def ref_mp_sgd_mom(s, p, t):
    s["weight32"] = ref_sgd_mom(s, p, t, "weight32")
    return s["weight32"]


def ref_nag(s, p, t, w="weight", decay_new=False):
    """NAG; with ``decay_new`` the momentum's weight decay reads the weight just written
    (MXNet 1.9.1 when the op updates the weight in place, and always for mp)."""
    mu, wd = p.get("momentum", 0), p.get("wd", 0)
    m = mu * s["mom"]
    new = s[w] - m + (1 + mu) * (m - p["lr"] * (_g(s, p) + wd * s[w]))
    s["mom"] = m - p["lr"] * (_g(s, p) + wd * (new if decay_new else s[w]))
    return new


def ref_nag_in_place(s, p, t):
    return ref_nag(s, p, t, decay_new=True)


def ref_mp_nag(s, p, t):
    s["weight32"] = ref_nag(s, p, t, "weight32", decay_new=True)
    return s["weight32"]


def ref_adam(s, p, t):
    b1, b2 = p.get("beta1", 0.9), p.get("beta2", 0.999)
    gp = _clip(p.get("rescale_grad", 1) * s["grad"] + p.get("wd", 0) * s["weight"],
               p.get("clip_gradient", -1))
    s["mean"] = b1 * s["mean"] + (1 - b1) * gp
    s["var"] = b2 * s["var"] + (1 - b2) * gp ** 2
    return s["weight"] - p["lr"] * s["mean"] / (np.sqrt(s["var"]) + p.get("epsilon", 1e-8))


def ref_rmsprop(s, p, t):
    g1 = p.get("gamma1", 0.95)
    gp = _clip(p.get("rescale_grad", 1) * s["grad"] + p.get("wd", 0) * s["weight"],
               p.get("clip_gradient", -1))
    s["n"] = (1 - g1) * gp ** 2 + g1 * s["n"]
    w = s["weight"] - p["lr"] * gp / np.sqrt(s["n"] + p.get("epsilon", 1e-8))
    return _clip(w, p.get("clip_weights", -1))


def ref_rmspropalex(s, p, t):
    g1, g2 = p.get("gamma1", 0.95), p.get("gamma2", 0.9)
    gp = _clip(p.get("rescale_grad", 1) * s["grad"] + p.get("wd", 0) * s["weight"],
               p.get("clip_gradient", -1))
    s["n"] = (1 - g1) * gp ** 2 + g1 * s["n"]
    s["g"] = (1 - g1) * gp + g1 * s["g"]
    s["delta"] = g2 * s["delta"] - p["lr"] * gp / np.sqrt(s["n"] - s["g"] ** 2
                                                          + p.get("epsilon", 1e-8))
    return _clip(s["weight"] + s["delta"], p.get("clip_weights", -1))


def ref_ftrl(s, p, t):
    lr, l1, beta, wd = p["lr"], p.get("lamda1", 0.01), p.get("beta", 1.0), p.get("wd", 0)
    g = _g(s, p)
    s["z"] = s["z"] + g - (np.sqrt(s["n"] + g * g) - np.sqrt(s["n"])) * s["weight"] / lr
    s["n"] = s["n"] + g * g
    z = s["z"]
    return np.where(np.abs(z) > l1,
                    (np.sign(z) * l1 - z) / ((beta + np.sqrt(s["n"])) / lr + wd), 0.0)


def ref_ftml(s, p, t):
    b1, b2, eps, lr = p.get("beta1", 0.6), p.get("beta2", 0.999), p.get("epsilon", 1e-8), p["lr"]
    t = p["t"]
    gp = _clip(p.get("rescale_grad", 1) * s["grad"] + p.get("wd", 0) * s["weight"],
               p.get("clip_grad", -1))
    s["v"] = b2 * s["v"] + (1 - b2) * gp ** 2
    d_t = (1 - b1 ** t) / lr * (np.sqrt(s["v"] / (1 - b2 ** t)) + eps)
    s["z"] = b1 * s["z"] + (1 - b1) * gp - (d_t - b1 * s["d"]) * s["weight"]
    s["d"] = d_t
    return -s["z"] / d_t


def ref_signsgd(s, p, t):
    return (1 - p["lr"] * p.get("wd", 0)) * s["weight"] - p["lr"] * _sign(s["grad"])


def ref_signum(s, p, t):
    mu, wd = p.get("momentum", 0), p.get("wd", 0)
    s["mom"] = mu * s["mom"] - (1 - mu) * wd * s["weight"] - (1 - mu) * _g(s, p)
    return (1 - p["lr"] * p.get("wd_lh", 0)) * s["weight"] + p["lr"] * _sign(s["mom"])


def ref_adagrad(s, p, t):
    g = _g(s, p)
    s["history"] = s["history"] + g * g
    return s["weight"] - p["lr"] * g / np.sqrt(s["history"] + p.get("epsilon", 1e-7))


def _adamw_core(s, p, w):
    b1, b2 = p.get("beta1", 0.9), p.get("beta2", 0.999)
    g = _clip(s["rescale_grad"][0] * s["grad"], p.get("clip_gradient", -1))
    s["mean"] = b1 * s["mean"] + (1 - b1) * g
    s["var"] = b2 * s["var"] + (1 - b2) * g * g
    return s[w] - p["eta"] * (p["lr"] * s["mean"] / (np.sqrt(s["var"]) + p.get("epsilon", 1e-8))
                              + p.get("wd", 0) * s[w])


def ref_adamw(s, p, t):
    return _adamw_core(s, p, "weight")


def ref_mp_adamw(s, p, t):
    s["weight32"] = _adamw_core(s, p, "weight32")
    return s["weight32"]


# --------------------------------------------------------------- the cases
def _zeros(rng, shape):
    return np.zeros(shape)


def _pos(rng, shape):
    return rng.uniform(0.1, 1.0, shape)


def _normal(rng, shape):
    return rng.standard_normal(shape) * 0.5


# op: (inputs after weight/grad with their initialisers, mp, reference, param sets)
CASES = {
    "sgd_update": ([], False, ref_sgd, [
        dict(lr=0.1),
        dict(lr=0.1, wd=0.05, rescale_grad=0.5, clip_gradient=0.3),
        dict(lr=0.2, wd=0.01, clip_gradient=0.0),  # clip to zero: only the decay acts
    ]),
    "sgd_mom_update": ([("mom", _normal)], False, ref_sgd_mom, [
        dict(lr=0.1, momentum=0.9),
        dict(lr=0.05, momentum=0.5, wd=0.1, rescale_grad=2.0, clip_gradient=0.5,
             lazy_update=False),
    ]),
    "mp_sgd_update": ([("weight32", None)], True, ref_mp_sgd, [
        dict(lr=0.1, wd=0.01),
        dict(lr=0.1, wd=0.05, rescale_grad=0.5, clip_gradient=0.3),
    ]),
    "mp_sgd_mom_update": ([("mom", _normal), ("weight32", None)], True, ref_mp_sgd_mom, [
        dict(lr=0.1, momentum=0.9, wd=0.001),
        dict(lr=0.1, momentum=0.5, wd=0.1, rescale_grad=2.0, clip_gradient=0.5),
    ]),
    "nag_mom_update": ([("mom", _normal)], False, ref_nag, [
        dict(lr=0.1, momentum=0.9),
        dict(lr=0.05, momentum=0.7, wd=0.1, rescale_grad=0.5, clip_gradient=0.2),
    ]),
    "mp_nag_mom_update": ([("mom", _normal), ("weight32", None)], True, ref_mp_nag, [
        dict(lr=0.1, momentum=0.9, wd=0.01, clip_gradient=0.4),
    ]),
    "adam_update": ([("mean", _normal), ("var", _pos)], False, ref_adam, [
        dict(lr=0.01),
        dict(lr=0.1, beta1=0.8, beta2=0.99, epsilon=1e-6, wd=0.1, rescale_grad=0.5,
             clip_gradient=0.3),
    ]),
    "rmsprop_update": ([("n", _pos)], False, ref_rmsprop, [
        dict(lr=0.01),
        dict(lr=0.05, gamma1=0.9, epsilon=1e-6, wd=0.01, rescale_grad=2.0, clip_gradient=0.5,
             clip_weights=0.3),
    ]),
    "rmspropalex_update": ([("n", _pos), ("g", _zeros), ("delta", _normal)], False,
                           ref_rmspropalex, [
        dict(lr=0.01),
        dict(lr=0.05, gamma1=0.9, gamma2=0.8, wd=0.01, rescale_grad=0.5, clip_gradient=0.5,
             clip_weights=0.4),
    ]),
    "ftrl_update": ([("z", _normal), ("n", _pos)], False, ref_ftrl, [
        dict(lr=0.1),
        dict(lr=0.1, lamda1=0.2, beta=0.5, wd=0.1, rescale_grad=2.0, clip_gradient=0.5),
    ]),
    "ftml_update": ([("d", _pos), ("v", _pos), ("z", _normal)], False, ref_ftml, [
        dict(lr=0.1, t=3),
        dict(lr=0.05, beta1=0.5, beta2=0.99, epsilon=1e-6, t=1, wd=0.1, rescale_grad=0.5,
             clip_grad=0.3),
    ]),
    "signsgd_update": ([], False, ref_signsgd, [
        dict(lr=0.01),
        dict(lr=0.1, wd=0.1, rescale_grad=3.0, clip_gradient=0.01),  # no effect on the sign
    ]),
    "signum_update": ([("mom", _normal)], False, ref_signum, [
        dict(lr=0.01, momentum=0.9),
        dict(lr=0.1, momentum=0.5, wd=0.1, wd_lh=0.2, rescale_grad=0.5, clip_gradient=0.2),
    ]),
    "_sparse_adagrad_update": ([("history", _pos)], False, ref_adagrad, [
        dict(lr=0.1),
        dict(lr=0.1, epsilon=1e-5, rescale_grad=2.0, clip_gradient=0.5),
    ]),
}


def _case_ids():
    return [(op, k) for op, (_, _, _, psets) in CASES.items() for k in range(len(psets))]


def _initial(op, rng, wdtype):
    extra, mp, _, _ = CASES[op]
    names = ["weight", "grad"] + [n for n, _ in extra]
    w = rng.standard_normal(SHAPE).astype(wdtype)
    s = {"weight": w.astype(np.float64)}
    arrays = {"weight": w}
    for n, init in extra:
        if n == "weight32":
            arrays[n] = w.astype(np.float32)  # the master copy starts as the weight
        else:
            arrays[n] = init(rng, SHAPE).astype(np.float32 if mp else wdtype)
        s[n] = arrays[n].astype(np.float64)
    return names, arrays, s


# ops whose result differs when they write the weight in place
IN_PLACE_REFS = {"nag_mom_update": ref_nag_in_place}


@pytest.mark.parametrize("op,k", _case_ids())
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_steps_in_place(op, k, dtype):
    """Three steps with out=weight; weight (and weight32/states) follow the formula."""
    extra, mp, ref, psets = CASES[op]
    ref = IN_PLACE_REFS.get(op, ref)
    if mp and dtype == np.float64:
        pytest.skip("multi-precision ops pair a low-precision weight with float32 states")
    p = psets[k]
    rng = np.random.default_rng(k)
    names, arrays, s = _initial(op, rng, dtype)
    nds = {n: mx.nd.array(a, dtype=a.dtype) for n, a in arrays.items()}
    low = dtype == np.float16
    # float16 keeps ~3 decimal digits; float16 states round every step in non-mp ops
    rtol, atol = ((1e-2, 1e-2) if low and not mp else (1e-3, 2e-3) if low
                  else (1e-5, 1e-6) if dtype == np.float32 else (1e-10, 1e-12))
    for t in range(1, 4):
        grad = (rng.standard_normal(SHAPE) * 2).astype(dtype)
        s["grad"] = grad.astype(np.float64)
        want = ref(s, p, t)
        nds["grad"] = mx.nd.array(grad, dtype=dtype)
        w_nd = nds["weight"]
        ret = _fn(op)(*[nds[n] for n in names], out=w_nd, **p)
        assert ret is w_nd
        got = w_nd.asnumpy()
        assert got.dtype == np.dtype(dtype)
        np.testing.assert_allclose(got.astype(np.float64), want, rtol=rtol, atol=atol,
                                   err_msg="%s %r step %d weight" % (op, p, t))
        for n, _ in extra:
            sd = nds[n].asnumpy()
            np.testing.assert_allclose(sd.astype(np.float64), s[n], rtol=rtol,
                                       atol=atol, err_msg="%s step %d state %s" % (op, t, n))
            s[n] = sd.astype(np.float64)  # continue from what the op stored (its rounding)
        s["weight"] = got.astype(np.float64)
        if mp:
            # the fp16 weight is the rounded master copy
            np.testing.assert_array_equal(got, nds["weight32"].asnumpy().astype(dtype))


@pytest.mark.parametrize("op", list(CASES))
def test_out_of_place_and_check_op(op):
    """Without out= the weight is untouched and a new array returned; forward via check_op
    against the formula, with the bad-input cases."""
    extra, mp, ref, psets = CASES[op]
    rng = np.random.default_rng(7)
    dtype = np.float16 if mp else np.float32
    names, arrays, s = _initial(op, rng, dtype)
    arrays["grad"] = rng.standard_normal(SHAPE).astype(dtype)
    inputs = [arrays[n] for n in names]
    p = psets[-1]

    def reference(*xs, **params):
        st = {n: x.astype(np.float64) for n, x in zip(names, xs)}
        return ref(st, params, 1).astype(dtype)

    bad_grad = np.zeros((4, 3), dtype)
    bad = [
        ([arrays["weight"], bad_grad] + inputs[2:], p),                      # grad shape
        (inputs[:-1], p) if len(inputs) > 2 else ([arrays["weight"]], p),   # input count
        (inputs, {k: v for k, v in p.items() if k != "lr"}),               # lr missing
        (inputs, dict(p, no_such_param=1)),
        ([x.astype(np.int32) for x in inputs], p),                          # int dtype
    ]
    if len(inputs) > 2:
        bad.append((inputs[:2] + [np.zeros((2, 2), x.dtype) for x in inputs[2:]], p))
    if mp:  # the master copy must be float32
        bad.append((inputs[:-1] + [inputs[-1].astype(np.float16)], p))
    check_op(op, inputs, p, reference=reference, grad=False, bad_inputs=bad,
             rtol=1e-2 if mp else 1e-5, atol=1e-2 if mp else 1e-6)

    nds = [mx.nd.array(a, dtype=a.dtype) for a in inputs]
    before = nds[0].asnumpy().copy()
    out = _fn(op)(*nds, **p)
    assert out is not nds[0]
    np.testing.assert_array_equal(nds[0].asnumpy(), before)


def test_not_differentiable():
    w, g = mx.nd.ones((2,)), mx.nd.ones((2,))
    w.attach_grad()
    with mx.autograd.record():
        y = mx.nd.sgd_update(w, g, lr=0.1)
    with pytest.raises(mx.MXNetError, match="sgd_update.*not differentiable"):
        y.backward()


def test_bad_params():
    w = mx.nd.ones((2, 2))
    with pytest.raises(mx.MXNetError, match="ftml_update.*beta1"):
        mx.nd.ftml_update(w, w, w, w, w, lr=0.1, t=1, beta1=1.5)
    with pytest.raises(mx.MXNetError, match="ftml_update.*t"):
        mx.nd.ftml_update(w, w, w, w, w, lr=0.1)
    with pytest.raises(mx.MXNetError, match="_sparse_adagrad_update.*wd"):
        mx.nd.sparse.adagrad_update(w, w, w, lr=0.1, wd=0.1)
    with pytest.raises(mx.MXNetError, match="lamb_update_phase1.*wd"):
        mx.nd.lamb_update_phase1(w, w, w, w, t=1)
    with pytest.raises(mx.MXNetError, match="sgd_update.*lr"):
        mx.nd.sgd_update(w, w, lr="fast")


# --------------------------------------------------------------- AdamW
@pytest.mark.parametrize("mp", [False, True])
def test_adamw_steps_and_skip(mp):
    rng = np.random.default_rng(3)
    dtype = np.float16 if mp else np.float32
    w = rng.standard_normal(SHAPE).astype(dtype)
    state = {"weight": w.astype(np.float64), "mean": np.zeros(SHAPE), "var": np.zeros(SHAPE),
             "weight32": w.astype(np.float64)}
    nw, nm, nv = mx.nd.array(w, dtype=dtype), mx.nd.zeros(SHAPE), mx.nd.zeros(SHAPE)
    nw32 = mx.nd.array(w.astype(np.float32))
    p = dict(lr=0.01, eta=0.5, wd=0.1, beta1=0.8, beta2=0.95, clip_gradient=0.7)
    op = mx.nd.contrib.mp_adamw_update if mp else mx.nd.contrib.adamw_update
    for scale in (0.5, 2.0, 1.0):
        g = rng.standard_normal(SHAPE).astype(dtype)
        state["grad"] = g.astype(np.float64)
        state["rescale_grad"] = np.array([scale])
        want = (ref_mp_adamw if mp else ref_adamw)(state, p, 1)
        rs = mx.nd.array([scale])
        args = [nw, mx.nd.array(g, dtype=dtype), nm, nv] + ([nw32] if mp else []) + [rs]
        op(*args, out=nw, **p)
        tol = 2e-3 if mp else 1e-5
        np.testing.assert_allclose(nw.asnumpy().astype(np.float64), want, rtol=tol, atol=tol)
        np.testing.assert_allclose(nm.asnumpy(), state["mean"], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(nv.asnumpy(), state["var"], rtol=1e-5, atol=1e-6)
        state["weight"] = nw.asnumpy().astype(np.float64)
        if mp:
            np.testing.assert_allclose(nw32.asnumpy(), state["weight32"], rtol=1e-5, atol=1e-6)
    # a non-finite or zero loss scale skips the step entirely
    snapshot = [a.asnumpy().copy() for a in (nw, nm, nv, nw32)]
    for bad in (np.inf, np.nan, 0.0):
        args = [nw, mx.nd.ones(SHAPE, dtype=dtype), nm, nv] + ([nw32] if mp else [])
        op(*(args + [mx.nd.array([bad])]), out=nw, **p)
        fresh = op(*(args + [mx.nd.array([bad])]), **p)  # out of place: the weight itself
        np.testing.assert_array_equal(fresh.asnumpy(), snapshot[0])
        for a, b in zip((nw, nm, nv, nw32), snapshot):
            np.testing.assert_array_equal(a.asnumpy(), b)
    with pytest.raises(mx.MXNetError, match="adamw_update.*rescale_grad"):
        op(*(args + [mx.nd.ones((2,))]), **p)
    with pytest.raises(mx.MXNetError, match="adamw_update.*eta"):
        op(*(args + [mx.nd.ones((1,))]), lr=0.1)


# --------------------------------------------------------------- LAMB
@pytest.mark.parametrize("bias_correction", [True, False])
@pytest.mark.parametrize("bounds", [(-1.0, -1.0), (0.5, 1.0)])
def test_lamb_steps(bias_correction, bounds):
    rng = np.random.default_rng(5)
    w = rng.standard_normal(SHAPE).astype(np.float32)
    m, v = np.zeros(SHAPE), np.zeros(SHAPE)
    nw, nm, nv = mx.nd.array(w), mx.nd.zeros(SHAPE), mx.nd.zeros(SHAPE)
    wd, lr, b1, b2, eps = 0.01, 0.05, 0.9, 0.99, 1e-6
    w64 = w.astype(np.float64)
    for t in range(1, 4):
        g = (rng.standard_normal(SHAPE) * 2).astype(np.float32)
        gc = np.clip(0.5 * g.astype(np.float64), -0.8, 0.8)
        m = b1 * m + (1 - b1) * gc
        v = b2 * v + (1 - b2) * gc * gc
        mh, vh = (m / (1 - b1 ** t), v / (1 - b2 ** t)) if bias_correction else (m, v)
        direction = mh / (np.sqrt(vh) + eps) + wd * w64
        d = mx.nd.lamb_update_phase1(nw, mx.nd.array(g), nm, nv, beta1=b1, beta2=b2,
                                     epsilon=eps, t=t, bias_correction=bias_correction, wd=wd,
                                     rescale_grad=0.5, clip_gradient=0.8)
        np.testing.assert_allclose(d.asnumpy(), direction, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(nm.asnumpy(), m, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(nv.asnumpy(), v, rtol=1e-5, atol=1e-6)
        r1, r2 = np.linalg.norm(w64), np.linalg.norm(d.asnumpy().astype(np.float64))
        lo, hi = bounds
        r1b = min(max(r1, lo) if lo >= 0 else r1, hi) if hi >= 0 else (max(r1, lo) if lo >= 0
                                                                     else r1)
        w64 = w64 - lr * r1b / r2 * d.asnumpy().astype(np.float64)
        mx.nd.lamb_update_phase2(nw, d, mx.nd.array([r1]), mx.nd.array([r2]), lr=lr,
                                 lower_bound=lo, upper_bound=hi, out=nw)
        np.testing.assert_allclose(nw.asnumpy(), w64, rtol=1e-5, atol=1e-6)
        w64 = nw.asnumpy().astype(np.float64)


def test_lamb_phase2_zero_norms_and_shapes():
    w, g = mx.nd.ones((2, 3)), mx.nd.ones((2, 3)) * 2
    out = mx.nd.lamb_update_phase2(w, g, mx.nd.zeros((1,)), mx.nd.array([3.0]), lr=0.1)
    np.testing.assert_allclose(out.asnumpy(), 1 - 0.1 * 2)  # r1 == 0: plain lr
    out = mx.nd.lamb_update_phase2(w, g, mx.nd.array([3.0]), mx.nd.zeros((1,)), lr=0.1)
    np.testing.assert_allclose(out.asnumpy(), 1 - 0.1 * 2)  # r2 == 0: plain lr
    with pytest.raises(mx.MXNetError, match="lamb_update_phase2.*r1"):
        mx.nd.lamb_update_phase2(w, g, mx.nd.ones((2,)), mx.nd.ones((1,)), lr=0.1)
    with pytest.raises(mx.MXNetError, match="lamb_update_phase2.*shape"):
        mx.nd.lamb_update_phase2(w, mx.nd.ones((3, 2)), mx.nd.ones((1,)), mx.nd.ones((1,)),
                                 lr=0.1)


def test_mp_lamb():
    rng = np.random.default_rng(6)
    w = rng.standard_normal(SHAPE).astype(np.float16)
    w32 = w.astype(np.float32)
    g = rng.standard_normal(SHAPE).astype(np.float16)
    nw, nw32 = mx.nd.array(w, dtype=np.float16), mx.nd.array(w32)
    nm, nv = mx.nd.zeros(SHAPE), mx.nd.zeros(SHAPE)
    d = mx.nd.mp_lamb_update_phase1(nw, mx.nd.array(g, dtype=np.float16), nm, nv, nw32, t=1,
                                    wd=0.1)
    assert d.dtype == np.float32
    gf = g.astype(np.float64)
    m, v = 0.1 * gf, 0.001 * gf * gf
    want = (m / 0.1) / (np.sqrt(v / 0.001) + 1e-6) + 0.1 * w32.astype(np.float64)
    np.testing.assert_allclose(d.asnumpy(), want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(nm.asnumpy(), m, rtol=1e-5)
    r1, r2 = mx.nd.array([2.0]), mx.nd.array([4.0])
    mx.nd.mp_lamb_update_phase2(nw, d, r1, r2, nw32, lr=0.1, out=nw)
    want_w = w32.astype(np.float64) - 0.1 * 0.5 * d.asnumpy()
    np.testing.assert_allclose(nw.asnumpy().astype(np.float64), want_w, rtol=1e-3, atol=1e-3)
    # MXNet 1.9.1's kernel leaves the master copy as it was
    np.testing.assert_array_equal(nw32.asnumpy(), w32)
    with pytest.raises(mx.MXNetError, match="mp_lamb_update_phase1.*float16"):
        mx.nd.mp_lamb_update_phase1(nw32, nw32, nm, nv, nw32, t=1, wd=0.1)
    with pytest.raises(mx.MXNetError, match="mp_lamb_update_phase2.*float32"):
        mx.nd.mp_lamb_update_phase2(nw, nw, r1, r2, nw32, lr=0.1)


# --------------------------------------------------------------- multi-weight ops
SHAPES = [(3, 4), (5,), (2, 2, 2)]


@pytest.mark.parametrize("op,slots,single", [
    ("multi_sgd_update", ("weight", "grad"), "sgd_update"),
    ("multi_sgd_mom_update", ("weight", "grad", "mom"), "sgd_mom_update"),
    ("multi_mp_sgd_update", ("weight", "grad", "weight32"), "mp_sgd_update"),
    ("multi_mp_sgd_mom_update", ("weight", "grad", "mom", "weight32"), "mp_sgd_mom_update"),
])
def test_multi_sgd_matches_single(op, slots, single):
    """The fused op equals one single-weight update per weight (and so the formulas)."""
    rng = np.random.default_rng(11)
    mp = "weight32" in slots
    wdt = np.float16 if mp else np.float32
    lrs, wds = (0.1, 0.2, 0.05), (0.0, 0.01, 0.1)
    common = dict(rescale_grad=0.5, clip_gradient=0.6)
    if "mom" in slots:
        common["momentum"] = 0.9
    fused, alone = [], []
    for sh in SHAPES:
        vals = {"weight": rng.standard_normal(sh).astype(wdt),
                "grad": (rng.standard_normal(sh) * 2).astype(wdt),
                "mom": (rng.standard_normal(sh) * 0.1).astype(np.float32 if mp else wdt)}
        vals["weight32"] = vals["weight"].astype(np.float32)
        fused.append([mx.nd.array(vals[s], dtype=vals[s].dtype) for s in slots])
        alone.append([mx.nd.array(vals[s], dtype=vals[s].dtype) for s in slots])
    for _ in range(2):
        outs = getattr(mx.nd, op)(*[a for grp in fused for a in grp], lrs=lrs, wds=wds,
                                  num_weights=3, out=[grp[0] for grp in fused], **common)
        assert len(outs) == 3
        for i, grp in enumerate(alone):
            getattr(mx.nd, single)(*grp, lr=lrs[i], wd=wds[i], out=grp[0], **common)
        for a, b in zip(fused, alone):
            for x, y, s in zip(a, b, slots):
                np.testing.assert_allclose(x.asnumpy(), y.asnumpy(), rtol=1e-6, atol=1e-7,
                                           err_msg="%s %s" % (op, s))
    # the first weight against the formula of momentum-free SGD on the first step
    if op == "multi_sgd_update":
        w = rng.standard_normal((2, 3)).astype(np.float32)
        g = rng.standard_normal((2, 3)).astype(np.float32)
        out = mx.nd.multi_sgd_update(mx.nd.array(w), mx.nd.array(g), lrs=(0.1,), wds=(0.2,))
        np.testing.assert_allclose(out.asnumpy(), (1 - 0.02) * w - 0.1 * g, rtol=1e-6)


def test_multi_sgd_bad_inputs():
    a, b = mx.nd.ones((2, 3)), mx.nd.ones((3, 2))
    with pytest.raises(mx.MXNetError, match="multi_sgd_update.*lrs has 1 values"):
        mx.nd.multi_sgd_update(a, a, a, a, lrs=(0.1,), wds=(0.0, 0.0), num_weights=2)
    with pytest.raises(mx.MXNetError, match="multi_sgd_update.*shapes"):
        mx.nd.multi_sgd_update(a, b, lrs=(0.1,), wds=(0.0,))
    with pytest.raises(mx.MXNetError, match="multi_sgd_update.*expects 4 inputs"):
        mx.nd.multi_sgd_update(a, a, a, lrs=(0.1, 0.1), wds=(0.0, 0.0), num_weights=2)
    with pytest.raises(mx.MXNetError, match="multi_mp_sgd_update.*float32"):
        mx.nd.multi_mp_sgd_update(a, a, a.astype(np.float16), lrs=(0.1,), wds=(0.0,))
    with pytest.raises(mx.MXNetError, match="multi_sgd_update.*lrs"):
        mx.nd.multi_sgd_update(a, a, wds=(0.0,))


def test_multi_sum_sq_and_all_finite():
    rng = np.random.default_rng(2)
    xs = [rng.standard_normal(s).astype(np.float32) for s in SHAPES]
    xs.append((rng.standard_normal((4,)) * 300).astype(np.float16))  # squares > 65504
    check_op("multi_sum_sq", xs, {"num_arrays": len(xs)}, grad=False,
             reference=lambda *a, **k: np.array([np.sum(x.astype(np.float64) ** 2) for x in a],
                                                np.float32),
             bad_inputs=[([x.astype(np.int32) for x in xs], {"num_arrays": len(xs)})])
    out = mx.nd.multi_sum_sq(*[mx.nd.array(x, dtype=x.dtype) for x in xs])  # num_arrays filled
    assert out.shape == (len(xs),) and out.dtype == np.float32

    fin = [mx.nd.array(x, dtype=x.dtype) for x in xs]
    assert mx.nd.all_finite(fin[0]).asnumpy().tolist() == [1.0]
    assert mx.nd.multi_all_finite(*fin, num_arrays=len(fin)).asnumpy().tolist() == [1.0]
    for bad in (np.inf, -np.inf, np.nan):
        x = xs[1].copy()
        x[2] = bad
        nb = mx.nd.array(x)
        assert mx.nd.all_finite(nb).asnumpy().tolist() == [0.0]
        r = mx.nd.multi_all_finite(fin[0], nb, fin[2], num_arrays=3)
        assert r.dtype == np.float32 and r.asnumpy().tolist() == [0.0]
    # init_output=False accumulates into out=: a finite check leaves a previous 0 alone
    acc = mx.nd.ones((1,))
    mx.nd.multi_all_finite(*fin[:2], num_arrays=2, init_output=False, out=acc)
    assert acc.asnumpy().tolist() == [1.0]
    mx.nd.all_finite(nb, init_output=False, out=acc)
    assert acc.asnumpy().tolist() == [0.0]
    mx.nd.all_finite(fin[0], init_output=False, out=acc)
    assert acc.asnumpy().tolist() == [0.0]


# --------------------------------------------------------------- MXNet 1.9.1 goldens
FIXTURE_OPS = ("sgd_update", "sgd_mom_update", "mp_sgd_mom_update", "adam_update",
               "rmsprop_update", "ftrl_update", "signsgd_update")
FIXTURES = load_op_fixtures(ROOT / "ops" / "manifest.json", FIXTURE_OPS)


def test_fixture_coverage():
    assert {e["op"] for e in FIXTURES} == set(FIXTURE_OPS)


@pytest.mark.parametrize("entry", FIXTURES, ids=[e["id"] for e in FIXTURES])
@pytest.mark.parametrize("in_place", [False, True])
def test_mxnet_golden(entry, in_place):
    with np.load(ROOT / entry["file"]) as z:
        data = {k: z[k] for k in z.files}
    names = [i["name"] for i in entry["inputs"]]
    nds = [mx.nd.array(data[i["key"]], dtype=data[i["key"]].dtype) for i in entry["inputs"]]
    kw = {"out": nds[0]} if in_place else {}
    out = getattr(mx.nd, entry["op"])(*nds, **entry["params_json"], **kw)
    if in_place:
        assert out is nds[0]
    want = data[entry["outputs"][0]["key"]]
    got = out.asnumpy()
    assert got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=entry["rtol"], atol=entry["atol"])
    for m in entry["mutated"]:
        np.testing.assert_allclose(nds[names.index(m["input"])].asnumpy(), data[m["key"]],
                                   rtol=entry["rtol"], atol=entry["atol"],
                                   err_msg="mutated " + m["input"])
