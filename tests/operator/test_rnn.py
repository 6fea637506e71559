"""Fused ``RNN`` (rnn_relu, rnn_tanh, lstm, lstmp, gru), ``_backward_RNN`` and
``_rnn_param_concat``: forward against an independent step-by-step NumPy reference,
gradients by finite differences (through the fused backward kernel now, and through
autograd once it exists), MXNet 1.9.1 goldens (outputs and gradients), and errors."""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest

import mixnet as mx
from mixnet.operator import rnn as rnn_mod
from mixnet.operator.registry import OpCtx, get
from mixnet.test_utils import (check_numeric_gradient, check_op, check_op_fixture,
                               load_op_fixtures)

ROOT = Path(__file__).resolve().parent.parent / "fixtures" / "mxnet-1.9.1"
FIXTURES = load_op_fixtures(ROOT / "ops" / "manifest.json", ["RNN"])
GATES = {"rnn_relu": 1, "rnn_tanh": 1, "lstm": 4, "gru": 3}


# ------------------------------------------------------------------ NumPy reference
def _sig(x):
    return 1.0 / (1.0 + np.exp(-x))


def _unpack(flat, mode, I, H, L, D, P=None):
    """Per (layer, direction) dicts of weight matrices from MXNet's flat layout, written
    from the documented order: every W_i2h, W_h2h (, W_h2r), then every b_i2h, b_h2h."""
    G = GATES[mode]
    R = P or H
    pos = [0]

    def take(*shape):
        n = int(np.prod(shape))
        out = flat[pos[0]:pos[0] + n].reshape(shape)
        pos[0] += n
        return out

    cells = []
    for layer in range(L):
        il = I if layer == 0 else D * R
        for _ in range(D):
            c = {"Wi": take(G * H, il), "Wh": take(G * H, R)}
            if P:
                c["Wr"] = take(P, H)
            cells.append(c)
    for c in cells:
        c["bi"] = take(G * H)
        c["bh"] = take(G * H)
    assert pos[0] == flat.size, (pos[0], flat.size)
    return cells


def _cell_step(mode, c, x, h, cell, clip):
    """One time step of one cell in float64: returns (h_new, c_new)."""
    H = c["bh"].size // GATES[mode]
    if mode == "lstm":
        a = x @ c["Wi"].T + c["bi"] + h @ c["Wh"].T + c["bh"]
        i, f = _sig(a[:, :H]), _sig(a[:, H:2 * H])
        g, o = np.tanh(a[:, 2 * H:3 * H]), _sig(a[:, 3 * H:])
        cn = f * cell + i * g
        if clip is not None:
            cn = np.clip(cn, clip[0], clip[1])
        hn = o * np.tanh(cn)
        if "Wr" in c:
            hn = hn @ c["Wr"].T
        return hn, cn
    if mode == "gru":
        gx = x @ c["Wi"].T + c["bi"]
        gh = h @ c["Wh"].T + c["bh"]
        r = _sig(gx[:, :H] + gh[:, :H])
        z = _sig(gx[:, H:2 * H] + gh[:, H:2 * H])
        n = np.tanh(gx[:, 2 * H:] + r * gh[:, 2 * H:])
        return (1 - z) * n + z * h, None
    a = x @ c["Wi"].T + c["bi"] + h @ c["Wh"].T + c["bh"]
    return (np.maximum(a, 0) if mode == "rnn_relu" else np.tanh(a)), None


def rnn_ref(data, parameters, state, *rest, state_size, num_layers, mode,
            bidirectional=False, state_outputs=False, projection_size=None,
            use_sequence_length=False, lstm_state_clip_min=None, lstm_state_clip_max=None,
            p=0.0):
    """Step-by-step reference of MXNet's fused RNN (TNC, cuDNN-style GRU and padding)."""
    rest = list(rest)
    cell0 = rest.pop(0) if mode == "lstm" else None
    seq = rest.pop(0) if use_sequence_length else None
    T, N, I = data.shape
    H, L, D = state_size, num_layers, 2 if bidirectional else 1
    clip = None
    if lstm_state_clip_min is not None:
        clip = (lstm_state_clip_min, lstm_state_clip_max)
    cells = _unpack(parameters.astype(np.float64), mode, I, H, L, D, projection_size)
    x = data.astype(np.float64)
    hy, cy = [], []
    for layer in range(L):
        outs = []
        for d in range(D):
            k = layer * D + d
            h = state[k].astype(np.float64)
            c = None if cell0 is None else cell0[k].astype(np.float64)
            ys = np.zeros((T, N, h.shape[1]))
            for t in (range(T) if d == 0 else range(T - 1, -1, -1)):
                hn, cn = _cell_step(mode, cells[k], x[t], h, c, clip)
                valid = np.ones((N, 1), bool) if seq is None else (t < seq)[:, None]
                h = np.where(valid, hn, h)
                if c is not None:
                    c = np.where(valid, cn, c)
                ys[t] = np.where(valid, hn, 0)
            outs.append(ys)
            hy.append(h)
            cy.append(c)
        x = np.concatenate(outs, axis=2)
    dt = data.dtype
    res = [x.astype(dt)]
    if state_outputs:
        res.append(np.stack(hy).astype(dt))
        if mode == "lstm":
            res.append(np.stack(cy).astype(dt))
    return res


def psize(mode, I, H, L, D, P=None):
    G, R = GATES[mode], P or H
    n = 0
    for layer in range(L):
        il = I if layer == 0 else D * R
        n += D * (G * H * il + G * H * R + (P * H if P else 0) + 2 * G * H)
    return n


def make_inputs(mode, T, N, I, H, L, bidir, dtype=np.float64, P=None, seed=0, scale=0.5):
    rng = np.random.default_rng(seed)
    D = 2 if bidir else 1
    R = P or H
    ins = [rng.uniform(-1, 1, (T, N, I)),
           rng.uniform(-scale, scale, psize(mode, I, H, L, D, P)),
           rng.uniform(-1, 1, (L * D, N, R))]
    if mode == "lstm":
        ins.append(rng.uniform(-1, 1, (L * D, N, H)))
    return [a.astype(dtype) for a in ins]


# ------------------------------------------------------------------ kernel-level VJP
def _run(name, params, inputs, is_train=True):
    op = get(name)
    p = op.parse_params(params)
    oshapes, odtypes = op.infer(p, [a.shape for a in inputs], [a.dtype for a in inputs])
    outs = [np.empty(s, d) for s, d in zip(oshapes, odtypes)]
    op.forward(OpCtx(np, mx.cpu(), is_train), list(inputs), outs, p)
    return outs


def kernel_vjp(params):
    """VJP through RNN's forward kernel and the fused ``_backward_RNN`` kernel (no
    autograd): ``vjp(heads, *inputs)`` -> gradients of every input."""
    def vjp(heads, *inputs):
        outs = _run("RNN", params, inputs)
        nvis = len(outs) - 1
        args = [h.astype(inputs[0].dtype) for h in heads[:nvis]] + [inputs[0], inputs[1]]
        if params.get("use_sequence_length"):
            args.append(inputs[-1])
        args.append(outs[-1])
        grads = _run("_backward_RNN", params, args)
        return grads + [None] * (len(inputs) - len(grads))
    return vjp


# ------------------------------------------------------------------ forward vs reference
CONFIGS = [  # (mode, layers, bidirectional, state_outputs)
    ("rnn_relu", 1, False, True), ("rnn_tanh", 2, True, True), ("rnn_relu", 2, True, False),
    ("lstm", 1, False, True), ("lstm", 2, True, True), ("lstm", 2, False, False),
    ("gru", 1, True, True), ("gru", 2, False, True), ("gru", 2, True, False),
]


@pytest.mark.parametrize("mode,L,bidir,so", CONFIGS)
def test_forward_and_gradient_vs_reference(mode, L, bidir, so):
    params = dict(state_size=2, num_layers=L, mode=mode, bidirectional=bidir,
                  state_outputs=so)
    ins = make_inputs(mode, 3, 2, 3, 2, L, bidir)
    check_op("RNN", ins, params, reference=functools.partial(rnn_ref, **params),
             rtol=1e-10, atol=1e-12)
    # backward kernel against finite differences of the independent reference
    check_numeric_gradient(functools.partial(rnn_ref, **params), ins,
                           vjp=kernel_vjp(params), dtype=np.float64, numeric_eps=1e-5,
                           rtol=1e-5)


@pytest.mark.parametrize("dtype,tol", [(np.float32, 1e-5), (np.float16, 3e-3)])
def test_float32_float16(dtype, tol):
    params = dict(state_size=4, num_layers=2, mode="lstm", bidirectional=True,
                  state_outputs=True)
    ins = make_inputs("lstm", 4, 3, 5, 4, 2, True, dtype=dtype)
    out = check_op("RNN", ins, params, reference=functools.partial(rnn_ref, **params),
                   rtol=tol, atol=tol, grad=False)
    assert all(o.dtype == dtype for o in out)
    grads = kernel_vjp(params)([np.ones(o.shape) for o in out], *ins)
    assert [g.dtype for g in grads] == [dtype] * 4
    g64 = kernel_vjp(params)([np.ones(o.shape) for o in out],
                             *[a.astype(np.float64) for a in ins])
    for g, w in zip(grads, g64):
        np.testing.assert_allclose(g.astype(np.float64), w, rtol=10 * tol, atol=10 * tol)


@pytest.mark.parametrize("mode", ["lstm", "gru", "rnn_tanh"])
def test_sequence_length(mode):
    params = dict(state_size=2, num_layers=2, mode=mode, bidirectional=True,
                  state_outputs=True, use_sequence_length=True)
    ins = make_inputs(mode, 4, 3, 3, 2, 2, True) + [np.array([4, 1, 2], np.int32)]
    out = check_op("RNN", ins, params, reference=functools.partial(rnn_ref, **params),
                   rtol=1e-10, atol=1e-12)
    assert np.all(out[0][1:, 1] == 0) and np.all(out[0][2:, 2] == 0)
    check_numeric_gradient(functools.partial(rnn_ref, **params), ins,
                           vjp=kernel_vjp(params), dtype=np.float64, numeric_eps=1e-5,
                           rtol=1e-5)
    # padded steps get no data gradient; full lengths equal the plain op
    g = kernel_vjp(params)([np.ones(o.shape) for o in out], *ins)
    assert np.all(g[0][1:, 1] == 0) and np.all(g[0][2:, 2] == 0)
    full = dict(params, use_sequence_length=False)
    ins_full = ins[:-1] + [np.array([4, 4, 4], np.int32)]
    np.testing.assert_allclose(check_op("RNN", ins_full, params, grad=False,
                                        reference=functools.partial(rnn_ref, **params))[0],
                               rnn_ref(*ins[:-1], **full)[0], rtol=1e-12)


def test_lstm_projection():
    params = dict(state_size=3, num_layers=2, mode="lstm", bidirectional=True,
                  state_outputs=True, projection_size=2)
    ins = make_inputs("lstm", 3, 2, 3, 3, 2, True, P=2)
    assert ins[2].shape == (4, 2, 2) and ins[3].shape == (4, 2, 3)
    out = check_op("RNN", ins, params, reference=functools.partial(rnn_ref, **params),
                   rtol=1e-10, atol=1e-12)
    assert out[0].shape == (3, 2, 4) and out[1].shape == (4, 2, 2) and out[2].shape == (4, 2, 3)
    check_numeric_gradient(functools.partial(rnn_ref, **params), ins,
                           vjp=kernel_vjp(params), dtype=np.float64, numeric_eps=1e-5,
                           rtol=1e-5)


def test_lstm_state_clip():
    params = dict(state_size=2, num_layers=1, mode="lstm", state_outputs=True,
                  lstm_state_clip_min=-0.3, lstm_state_clip_max=0.3)
    ins = make_inputs("lstm", 4, 2, 3, 2, 1, False, scale=2.0)
    out = check_op("RNN", ins, params, reference=functools.partial(rnn_ref, **params),
                   rtol=1e-10, atol=1e-12)
    assert np.abs(out[2]).max() <= 0.3 + 1e-12
    check_numeric_gradient(functools.partial(rnn_ref, **params), ins,
                           vjp=kernel_vjp(params), dtype=np.float64, numeric_eps=1e-6,
                           rtol=1e-4)
    # clip_nan: a NaN cell is clipped to the minimum instead of propagating
    bad = [a.copy() for a in ins]
    bad[3][0, 0, 0] = np.nan
    nan_out = mx.nd.RNN(*[mx.nd.array(a, dtype=a.dtype) for a in bad],
                        lstm_state_clip_nan=True, **params)
    assert np.isfinite(nan_out[0].asnumpy()).all()
    assert np.isnan(mx.nd.RNN(*[mx.nd.array(a, dtype=a.dtype) for a in bad],
                              **params)[0].asnumpy()).any()


def test_dropout_between_layers():
    params = dict(state_size=3, num_layers=2, mode="gru", p=0.5)
    ins = make_inputs("gru", 6, 4, 3, 3, 2, False)
    nd = [mx.nd.array(a, dtype=a.dtype) for a in ins]
    plain = rnn_ref(*ins, state_size=3, num_layers=2, mode="gru")[0]
    # inference: no dropout
    with mx.autograd.predict_mode():
        np.testing.assert_allclose(mx.nd.RNN(*nd, **params).asnumpy(), plain, rtol=1e-12)
    with mx.autograd.train_mode():
        assert not np.allclose(mx.nd.RNN(*nd, **params).asnumpy(), plain)
    # training: layer 2 sees the layer-1 output masked and scaled by 1/(1-p)
    outs = _run("RNN", params, ins, is_train=True)
    assert not np.allclose(outs[0], plain)
    # the keep mask sits in the reserve (layout internal to the kernel module)
    dm = rnn_mod._dims(get("RNN").parse_params(params), 6, 4, 3)
    _, layers, _ = rnn_mod._reserve_layout(dm, True)
    keep = rnn_mod._view(outs[-1], layers[1]["mask"])
    assert set(np.unique(keep)) <= {0.0, 2.0} and 0 < np.mean(keep == 0) < 1

    # the backward kernel uses the same mask: finite differences with the mask frozen
    def layer_flat(c):
        return np.concatenate([c["Wi"].ravel(), c["Wh"].ravel(), c["bi"], c["bh"]])

    def masked_ref(data, prm, state):
        cells = _unpack(prm, "gru", 3, 3, 2, 1)
        y1 = rnn_ref(data, layer_flat(cells[0]), state[:1], state_size=3, num_layers=1,
                     mode="gru")[0]
        return rnn_ref(y1 * keep, layer_flat(cells[1]), state[1:], state_size=3,
                       num_layers=1, mode="gru")

    np.testing.assert_allclose(outs[0], masked_ref(*ins)[0], rtol=1e-12)
    heads = [np.random.standard_normal(outs[0].shape)]
    args = [heads[0], ins[0], ins[1], outs[-1]]
    g = _run("_backward_RNN", params, args)
    eps = 1e-6
    for i in range(3):
        v = np.random.standard_normal(ins[i].shape)
        up = [a + eps * v if j == i else a for j, a in enumerate(ins)]
        dn = [a - eps * v if j == i else a for j, a in enumerate(ins)]
        num = np.sum((masked_ref(*up)[0] - masked_ref(*dn)[0]) * heads[0]) / (2 * eps)
        np.testing.assert_allclose(np.sum(g[i] * v), num, rtol=1e-5, atol=1e-8)


# ------------------------------------------------------------------ MXNet 1.9.1 goldens
def _fixture(entry):
    with np.load(ROOT / entry["file"]) as z:
        return {k: z[k] for k in z.files}


@pytest.mark.parametrize("entry", FIXTURES, ids=[e["id"] for e in FIXTURES])
def test_fixture_forward_and_kernel_grads(entry):
    check_op_fixture(entry, ROOT)
    data = _fixture(entry)
    params = {k: (tuple(v) if isinstance(v, list) else v)
              for k, v in entry["params_json"].items()}
    ins = [data[i["key"]] for i in entry["inputs"]]
    heads = [data[h["key"]] for h in entry["head_grads"]]
    grads = kernel_vjp(params)(heads, *ins)
    names = [i["name"] for i in entry["inputs"]]
    for g in entry["grads"]:
        got = grads[names.index(g["input"])]
        np.testing.assert_allclose(got, data[g["key"]], rtol=entry["rtol"],
                                   atol=entry["atol"], err_msg=g["input"])


def _autograd():
    try:
        import mixnet.autograd as ag
    except ModuleNotFoundError:
        return None
    return ag if hasattr(ag, "record") else None


@pytest.mark.parametrize("entry", FIXTURES, ids=[e["id"] for e in FIXTURES])
def test_fixture_autograd_grads(entry):
    ag = _autograd()
    if ag is None:
        pytest.skip("mixnet.autograd does not exist yet")
    data = _fixture(entry)
    params = {k: (tuple(v) if isinstance(v, list) else v)
              for k, v in entry["params_json"].items()}
    xs = [mx.nd.array(data[i["key"]], dtype=data[i["key"]].dtype) for i in entry["inputs"]]
    for x, i in zip(xs, entry["inputs"]):
        if i["requires_grad"]:
            x.attach_grad()
    with ag.record(train_mode=entry["train_mode"]):
        res = mx.nd.RNN(*xs, **params)
    outs = res if isinstance(res, (list, tuple)) else [res]
    ag.backward([outs[h["output_index"]] for h in entry["head_grads"]],
                [mx.nd.array(data[h["key"]]) for h in entry["head_grads"]])
    names = [i["name"] for i in entry["inputs"]]
    for g in entry["grads"]:
        np.testing.assert_allclose(xs[names.index(g["input"])].grad.asnumpy(), data[g["key"]],
                                   rtol=entry["rtol"], atol=entry["atol"], err_msg=g["input"])


def test_fixture_cases_are_present():
    assert {e["params_json"]["mode"] for e in FIXTURES} >= {"lstm", "gru", "rnn_tanh"}


# ------------------------------------------------------------------ shapes and errors
def test_infer_shape_completes_parameters_and_states():
    op = get("RNN")
    p = op.parse_params(dict(state_size=5, num_layers=2, mode="lstm", bidirectional=True,
                             state_outputs=True))
    ins, outs = op.infer_shape(p, [(7, 4, 3), None, None, None])
    assert ins == [(7, 4, 3), (1080,), (4, 4, 5), (4, 4, 5)]
    assert outs[:3] == [(7, 4, 10), (4, 4, 5), (4, 4, 5)]
    assert op.output_names(p)[:3] == ["output", "state_output", "statecell_output"]
    assert op.num_visible_outputs(p) == 3 and op.num_outputs(p) == 4
    for mode, n in (("gru", 150), ("rnn_tanh", 50)):
        q = op.parse_params(dict(state_size=5, num_layers=1, mode=mode))
        ins, outs = op.infer_shape(q, [(2, 1, 3), None, None])
        assert ins[1] == (n,) and len(outs) == 2
    q = op.parse_params(dict(state_size=5, num_layers=1, mode="gru", use_sequence_length=True))
    assert op.input_names(q) == ["data", "parameters", "state", "sequence_length"]
    assert op.infer_shape(q, [(2, 6, 3), None, None, None])[0][3] == (6,)
    assert op.infer_shape(q, [None] * 4)[1] == [None, None]


def test_bad_inputs():
    params = dict(state_size=2, num_layers=1, mode="lstm")
    ins = make_inputs("lstm", 3, 2, 3, 2, 1, False, dtype=np.float32)
    data, prm, h, c = ins
    check_op("RNN", ins, params, reference=functools.partial(rnn_ref, **params), grad=False,
             bad_inputs=[
                 ([data, prm[:-1], h, c], params),                        # parameter size
                 ([data, prm, h[:, :1], c], params),                      # state batch
                 ([data, prm, h, c[:, :, :1]], params),                   # state_cell size
                 ([data, prm, h], params),                                # missing state_cell
                 ([data[0], prm, h, c], params),                          # 2-D data
                 (ins, dict(params, mode="blstm")),                       # unknown mode
                 (ins, dict(params, p=1.0)),                              # dropout range
                 (ins[:3], dict(params, mode="gru", projection_size=1)),  # LSTMP only
                 ([data, prm.astype(np.float64), h, c], params),          # dtype mismatch
                 ([a.astype(np.int32) for a in ins], params),             # integer data
                 (ins, dict(params, lstm_state_clip_min=1.0, lstm_state_clip_max=0.0)),
                 (ins, dict(state_size=2, mode="lstm")),                  # num_layers missing
             ])
    with pytest.raises(mx.MXNetError, match=r"RNN.*parameters must have shape \(56,\)"):
        mx.nd.RNN(*[mx.nd.array(a) for a in [data, prm[:-1], h, c]], **params)


# ------------------------------------------------------------------ _rnn_param_concat
def test_rnn_param_concat():
    rng = np.random.default_rng(0)
    parts = [rng.standard_normal(n) for n in (6, 4, 3)]
    check_op("_rnn_param_concat", parts, dict(dim=0),
             reference=lambda *a, dim: np.concatenate(a, axis=dim),
             bad_inputs=[([parts[0], np.zeros((2, 2))], dict(dim=0))])
    mats = [rng.standard_normal((2, n)) for n in (1, 3)]
    check_op("_rnn_param_concat", mats, {}, reference=lambda *a: np.concatenate(a, axis=1))
    g = _run("_backward_rnn_param_concat", dict(num_args=2, dim=1),
             [np.arange(8.0).reshape(2, 4)] + mats)
    np.testing.assert_array_equal(g[0], [[0], [4]])
    np.testing.assert_array_equal(g[1], [[1, 2, 3], [5, 6, 7]])


def test_rnn_param_concat_back_fills_unknown_input():
    op = get("_rnn_param_concat")
    p = op.parse_params(dict(num_args=3, dim=0))
    ins, outs = op.infer_shape(p, [(6,), (0,), (3,)], [(20,)])
    assert ins == [(6,), (11,), (3,)] and outs == [(20,)]
    ins, outs = op.infer_shape(p, [(6,), None, (3,)], [(20,)])
    assert ins[1] == (11,)
    assert op.infer_shape(p, [(6,), None, (3,)])[1] == [None]
    with pytest.raises(mx.MXNetError, match="exceed"):
        op.infer_shape(p, [(6,), (0,), (30,)], [(20,)])


def test_cost_counts_gemm_work():
    op = get("RNN")
    p = op.parse_params(dict(state_size=200, num_layers=2, mode="lstm"))
    c = op.cost(p, [(35, 20, 200), (0,), (0,), (0,)], [])
    assert c >= 35 * 20 * 2 * 800 * 400


@pytest.mark.parametrize("mode", ["lstm", "gru", "rnn_relu"])
@pytest.mark.parametrize("T,N", [(0, 2), (3, 0)])
def test_empty_sequence_or_batch(mode, T, N):
    """No steps: the final states are the initial ones and their gradient passes through;
    no batch: empty outputs. Neither may fail in forward or backward."""
    params = dict(state_size=2, num_layers=2, mode=mode, bidirectional=True,
                  state_outputs=True)
    ins = make_inputs(mode, T, N, 3, 2, 2, True)
    outs = check_op("RNN", ins, params, reference=functools.partial(rnn_ref, **params),
                    grad=False)
    np.testing.assert_array_equal(outs[1], ins[2])
    heads = [np.ones(o.shape) for o in outs]
    grads = kernel_vjp(params)(heads, *ins)
    assert [g.shape for g in grads] == [a.shape for a in ins]
    np.testing.assert_array_equal(grads[2], heads[1])
    assert not grads[1].any()
