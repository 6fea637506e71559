"""Fused recurrent layers: ``RNN`` (multi-layer, optionally bidirectional vanilla RNN with
relu/tanh, LSTM with optional projection (LSTMP), GRU), its fused backward ``_backward_RNN``,
and ``_rnn_param_concat`` (the concat Gluon uses to pack the flat parameter vector).

MXNet 1.9 conventions kept:

* Layout TNC only: ``data`` is ``(T, N, I)``; ``state`` (and ``state_cell`` for LSTM) are
  ``(L*D, N, H)`` with the index ``layer * D + direction``; the output is ``(T, N, D*H)``
  with the forward direction in the first ``H`` channels. With ``state_outputs`` the op also
  returns the final hidden state ``hy`` (and ``cy`` for LSTM), named ``state_output`` and
  ``statecell_output``.
* The flat ``parameters`` vector holds all weights first (per layer, per direction:
  ``W_i2h`` (G*H, I_l), ``W_h2h`` (G*H, R), and for LSTMP ``W_h2r`` (P, H)), then all biases
  in the same order (``b_i2h``, ``b_h2h``, each G*H), rows grouped by gate: LSTM ``i, f, g,
  o``; GRU ``r, z, n``. ``I_0 = I`` and ``I_l = D*R`` above, ``R`` being the recurrent size
  (``projection_size`` for LSTMP, else ``state_size``).
* GRU follows cuDNN: ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``,
  ``h' = (1 - z) * n + z * h``. LSTM: ``c' = f*c + i*g``, ``h' = o * tanh(c')`` with the
  cell optionally clipped to ``[lstm_state_clip_min, lstm_state_clip_max]`` (NaN clipped to
  the minimum when ``lstm_state_clip_nan``).
* ``p`` is dropout on the inputs of layers above the first, in training mode only
  (inverted scaling ``1/(1-p)``).
* ``use_sequence_length`` follows cuDNN's padded layout: batch element ``n`` only runs its
  first ``sequence_length[n]`` steps (the reverse direction starts at its last valid step),
  outputs past the length are zero and ``hy``/``cy`` are the states at the last valid step.

Kernel: per layer and direction the input projection of every time step is one GEMM; the
recurrence then does one small GEMM per step into preallocated buffers. Everything the
backward pass needs (activated gates, the state sequence, cell states and their tanh, GRU's
``W_hn h + b_hn``, layer inputs and dropout masks) is written into a hidden ``reserve``
output, so ``_backward_RNN`` runs BPTT without recomputing the forward; its weight
gradients are again whole-sequence GEMMs. float16 is computed in float32 (the reserve is
float32 then).
"""
from __future__ import annotations

import collections
from typing import Any, Optional

import numpy as np

from ..base import MXNetError, dtype_name
from .params import REQUIRED, Bool, Float, Int, Optional_, Param, Str
from .registry import OpDef, register, shape_str, unify
from .slicing import concat_into, split_into

_GATES = {"rnn_relu": 1, "rnn_tanh": 1, "lstm": 4, "gru": 3}

_RNN_PARAMS = [
    Param("state_size", Int(lo=1), REQUIRED, "hidden size H of every layer"),
    Param("num_layers", Int(lo=1), REQUIRED, "number of stacked layers L"),
    Param("bidirectional", Bool(), False, "also run each layer backwards in time (D=2)"),
    Param("mode", Str(("rnn_relu", "rnn_tanh", "lstm", "gru")), REQUIRED,
          "the recurrent cell"),
    Param("p", Float(), 0.0, "dropout probability on the inputs of layers above the first "
                             "(training only)"),
    Param("state_outputs", Bool(), False, "also return the final states"),
    Param("projection_size", Optional_(Int(lo=1)), None,
          "LSTM only: project the hidden state to this size (LSTMP)"),
    Param("lstm_state_clip_min", Optional_(Float()), None, "lower bound of the LSTM cell"),
    Param("lstm_state_clip_max", Optional_(Float()), None, "upper bound of the LSTM cell"),
    Param("lstm_state_clip_nan", Bool(), False,
          "clip NaN cells to the minimum instead of propagating them"),
    Param("use_sequence_length", Bool(), False,
          "take a sequence_length input (N,) giving each batch element's valid steps"),
]

# T, N, I: data shape; L layers, D directions, H hidden, R recurrent (= P or H), G gates
_Dims = collections.namedtuple("_Dims", "T N I L D H R G mode proj")


def _dims(p: Any, T: int, N: int, I: int) -> _Dims:
    H = p.state_size
    proj = p.projection_size is not None
    R = p.projection_size if proj else H
    return _Dims(int(T), int(N), int(I), p.num_layers, 2 if p.bidirectional else 1, H, R,
                 _GATES[p.mode], p.mode, proj)


def _layer_input(dm: _Dims, layer: int) -> int:
    return dm.I if layer == 0 else dm.D * dm.R


def _param_layout(dm: _Dims):
    """``([per (layer, direction): {'wi', 'wh', 'wr', 'bi', 'bh'} -> (offset, shape)],
    total size)`` of the flat parameter vector (§3.5: all weights, then all biases)."""
    GH = dm.G * dm.H
    entries = []
    off = 0
    for layer in range(dm.L):
        il = _layer_input(dm, layer)
        for _ in range(dm.D):
            e = {"wi": (off, (GH, il))}
            off += GH * il
            e["wh"] = (off, (GH, dm.R))
            off += GH * dm.R
            if dm.proj:
                e["wr"] = (off, (dm.R, dm.H))
                off += dm.R * dm.H
            entries.append(e)
    for e in entries:
        e["bi"] = (off, (GH,))
        off += GH
        e["bh"] = (off, (GH,))
        off += GH
    return entries, off


def _param_size(dm: _Dims) -> int:
    return _param_layout(dm)[1]


def _reserve_layout(dm: _Dims, dropout: bool):
    """``(per (layer, direction) buffers, per layer buffers, total size)`` of the hidden
    reserve output. Per direction: ``g`` activated gates by time (T, N, G*H); ``h`` the
    recurrent state by step (T+1, N, R), ``h[0]`` the initial state; LSTM ``c`` cells by
    step (T+1, N, H) and ``tc`` their tanh by time (T, N, H); LSTMP ``hu`` the unprojected
    hidden state by time; GRU ``hn`` = ``W_hn h + b_hn`` by time. Per layer above the first:
    ``x`` its (dropped-out) input (T, N, D*R) and, with dropout, ``mask`` (scaled keep
    mask)."""
    T, N, H, R = dm.T, dm.N, dm.H, dm.R
    off = 0
    dirs, layers = [], []

    def take(shape):
        nonlocal off
        o = off
        off += int(np.prod(shape))
        return (o, shape)

    for layer in range(dm.L):
        lay = {}
        if layer > 0:
            lay["x"] = take((T, N, dm.D * R))
            if dropout:
                lay["mask"] = take((T, N, dm.D * R))
        layers.append(lay)
        for _ in range(dm.D):
            e = {"g": take((T, N, dm.G * H)), "h": take((T + 1, N, R))}
            if dm.mode == "lstm":
                e["c"] = take((T + 1, N, H))
                e["tc"] = take((T, N, H))
                if dm.proj:
                    e["hu"] = take((T, N, H))
            elif dm.mode == "gru":
                e["hn"] = take((T, N, H))
            dirs.append(e)
    return dirs, layers, off


def _view(flat: Any, spec: tuple) -> Any:
    off, shape = spec
    return flat[off:off + int(np.prod(shape))].reshape(shape)


def _compute_dtype(dt: Any) -> np.dtype:
    dt = np.dtype(dt)
    return np.dtype(np.float32) if dt == np.float16 else dt


def _num_visible(p: Any) -> int:
    if not p.state_outputs:
        return 1
    return 3 if p.mode == "lstm" else 2


def _input_names(p: Any) -> list:
    names = ["data", "parameters", "state"]
    if p.mode == "lstm":
        names.append("state_cell")
    if p.use_sequence_length:
        names.append("sequence_length")
    return names


def _output_names(p: Any) -> list:
    names = ["output"]
    if p.state_outputs:
        names.append("state_output")
        if p.mode == "lstm":
            names.append("statecell_output")
    return names + ["reserve"]


def _check_params(p: Any) -> None:
    if not 0.0 <= p.p < 1.0:
        raise MXNetError("dropout p must be in [0, 1), got %r" % p.p)
    if p.projection_size is not None and p.mode != "lstm":
        raise MXNetError("projection_size is only supported with mode='lstm', got mode=%r"
                         % p.mode)
    lo, hi = p.lstm_state_clip_min, p.lstm_state_clip_max
    if (lo is not None or hi is not None) and p.mode != "lstm":
        raise MXNetError("lstm_state_clip_min/max are only supported with mode='lstm'")
    if lo is not None and hi is not None and lo > hi:
        raise MXNetError("lstm_state_clip_min (%r) must not exceed lstm_state_clip_max (%r)"
                         % (lo, hi))


def _describe(p: Any) -> str:
    s = "state_size=%d, num_layers=%d, mode=%s, bidirectional=%s" % (
        p.state_size, p.num_layers, p.mode, p.bidirectional)
    if p.projection_size is not None:
        s += ", projection_size=%d" % p.projection_size
    return s


def _expected_inputs(p: Any, data: tuple):
    T, N, I = data
    dm = _dims(p, T, N, I)
    want = [tuple(data), (_param_size(dm),), (dm.L * dm.D, N, dm.R)]
    if p.mode == "lstm":
        want.append((dm.L * dm.D, N, dm.H))
    if p.use_sequence_length:
        want.append((N,))
    return dm, want


def _rnn_shape(p: Any, shapes: list):
    _check_params(p)
    names = _input_names(p)
    nout = len(_output_names(p))
    data = shapes[0]
    if data is None:
        return shapes, [None] * nout
    if len(data) != 3:
        raise MXNetError("data must be 3-D (sequence, batch, feature) in layout TNC, got %s"
                         % shape_str(data))
    dm, want = _expected_inputs(p, tuple(data))
    for name, got, exp in zip(names, shapes, want):
        if got is not None and tuple(got) != exp:
            raise MXNetError("%s must have shape %s for data %s with %s, got %s"
                             % (name, shape_str(exp), shape_str(data), _describe(p),
                                shape_str(got)))
    LD = dm.L * dm.D
    outs = [(dm.T, dm.N, dm.D * dm.R)]
    if p.state_outputs:
        outs.append((LD, dm.N, dm.R))
        if p.mode == "lstm":
            outs.append((LD, dm.N, dm.H))
    outs.append((_reserve_layout(dm, p.p > 0)[2],))
    return want, outs


def _float_type(name: str, dt: Any) -> None:
    if np.dtype(dt).kind != "f":
        raise MXNetError("%s must be a floating-point array (float16/32/64), got %s"
                         % (name, dtype_name(dt)))


def _rnn_type(p: Any, dtypes: list):
    nf = 4 if p.mode == "lstm" else 3
    nout = len(_output_names(p))
    known = unify(list(dtypes[:nf]), "dtypes of data, parameters and states", dtype_name)
    if known is None:
        return dtypes, [None] * nout
    _float_type("data", known)
    filled = [known] * nf
    if p.use_sequence_length:
        seq = dtypes[nf]
        if seq is not None and np.dtype(seq).kind not in "fiu":
            raise MXNetError("sequence_length must be numeric, got %s" % dtype_name(seq))
        filled.append(known if seq is None else seq)
    return filled, [known] * (nout - 1) + [_compute_dtype(known)]


def _flops(p: Any, data: tuple) -> int:
    """Multiply-adds of the forward GEMMs (input projections and recurrences)."""
    T, N, I = data
    dm = _dims(p, T, N, I)
    total = 0
    for layer in range(dm.L):
        per = dm.G * dm.H * (_layer_input(dm, layer) + dm.R)
        if dm.proj:
            per += dm.R * dm.H
        total += dm.D * per
    return int(T) * int(N) * total + int(T) * int(N) * dm.L * dm.D * dm.G * dm.H * 4


def _rnn_cost(p: Any, in_shapes: list, out_shapes: list) -> int:
    return _flops(p, tuple(in_shapes[0]))


# --------------------------------------------------------------------- forward kernels
def _sigmoid_scale(xp: Any, dm: _Dims, dt: Any):
    """Per-row scale ``s`` with ``act(x) = s * tanh(s * x) + (1 - s)``: 0.5 on sigmoid
    gates (``sigmoid(x) = tanh(x/2)/2 + 1/2``), 1 on tanh gates, so the gates of a step are
    activated by one ``tanh`` over the whole block (no overflow warnings either)."""
    H = dm.H
    s = np.full(dm.G * H, 0.5)
    if dm.mode == "lstm":
        s[2 * H:3 * H] = 1.0
    else:  # gru: r, z sigmoid; n handled separately (its tanh input needs r first)
        s[2 * H:] = 1.0
    s = xp.asarray(s.astype(dt))
    return s, 1.0 - s


def _lstm_forward(xp, dm, x2, w, b, buf, y, mask, reverse, clip):
    """One LSTM direction. ``x2`` (T*N, I_l) input; ``w`` {'wi', 'wh', 'wr'}; ``b`` the
    summed bias; ``buf`` the reserve views; ``y`` (T, N, R) output view."""
    T, N, H = dm.T, dm.N, dm.H
    G, Hs, Cs, TC = buf["g"], buf["h"], buf["c"], buf["tc"]
    s, s1 = _sigmoid_scale(xp, dm, G.dtype)
    G2 = G.reshape(T * N, 4 * H)
    xp.matmul(x2, w["wi"].T, out=G2)
    G2 += b
    G2 *= s
    whs_t = (w["wh"] * s[:, None]).T  # pre-scaled so the step GEMM lands in tanh's domain
    tmp = xp.empty((N, 4 * H), G.dtype)
    tmp_h = xp.empty((N, H), G.dtype)
    lo, hi, clip_nan = clip
    for step in range(T):
        t = T - 1 - step if reverse else step
        g = G[t]
        xp.matmul(Hs[step], whs_t, out=tmp)
        g += tmp
        xp.tanh(g, out=g)
        g *= s
        g += s1
        c = Cs[step + 1]
        xp.multiply(g[:, H:2 * H], Cs[step], out=c)
        xp.multiply(g[:, :H], g[:, 2 * H:3 * H], out=tmp_h)
        c += tmp_h
        if lo is not None:
            (xp.fmax if clip_nan else xp.maximum)(c, lo, out=c)
        if hi is not None:
            (xp.fmin if clip_nan else xp.minimum)(c, hi, out=c)
        tc = TC[t]
        xp.tanh(c, out=tc)
        if dm.proj:
            hu = buf["hu"][t]
            xp.multiply(g[:, 3 * H:], tc, out=hu)
            xp.matmul(hu, w["wr"].T, out=Hs[step + 1])
        else:
            xp.multiply(g[:, 3 * H:], tc, out=Hs[step + 1])
        _step_output(xp, Hs, Cs, y, mask, step, t)


def _step_output(xp, Hs, Cs, y, mask, step, t):
    """Write the step's output; with sequence lengths, rows past their length keep the
    previous state and output zeros."""
    if mask is None:
        y[t] = Hs[step + 1]
        return
    m = mask[t]
    Hs[step + 1] = xp.where(m, Hs[step + 1], Hs[step])
    if Cs is not None:
        Cs[step + 1] = xp.where(m, Cs[step + 1], Cs[step])
    y[t] = xp.where(m, Hs[step + 1], 0)


def _gru_forward(xp, dm, x2, w, bi, bh, buf, y, mask, reverse):
    T, N, H = dm.T, dm.N, dm.H
    G, Hs, HN = buf["g"], buf["h"], buf["hn"]
    s, _ = _sigmoid_scale(xp, dm, G.dtype)
    G2 = G.reshape(T * N, 3 * H)
    xp.matmul(x2, w["wi"].T, out=G2)
    G2 += bi
    G2[:, :2 * H] += bh[:2 * H]  # b_hn stays inside r * (.)
    G2 *= s
    whs_t = (w["wh"] * s[:, None]).T
    bhn = bh[2 * H:]
    gh = xp.empty((N, 3 * H), G.dtype)
    tmp = xp.empty((N, H), G.dtype)
    for step in range(T):
        t = T - 1 - step if reverse else step
        g = G[t]
        h = Hs[step]
        xp.matmul(h, whs_t, out=gh)
        hn = HN[t]
        xp.add(gh[:, 2 * H:], bhn, out=hn)
        rz = g[:, :2 * H]
        rz += gh[:, :2 * H]
        xp.tanh(rz, out=rz)
        rz *= 0.5
        rz += 0.5
        n = g[:, 2 * H:]
        xp.multiply(g[:, :H], hn, out=tmp)
        n += tmp
        xp.tanh(n, out=n)
        hnew = Hs[step + 1]
        xp.subtract(h, n, out=hnew)
        hnew *= g[:, H:2 * H]
        hnew += n
        _step_output(xp, Hs, None, y, mask, step, t)


def _vanilla_forward(xp, dm, x2, w, b, buf, y, mask, reverse):
    T, N, H = dm.T, dm.N, dm.H
    G, Hs = buf["g"], buf["h"]
    G2 = G.reshape(T * N, H)
    xp.matmul(x2, w["wi"].T, out=G2)
    G2 += b
    wh_t = w["wh"].T
    tmp = xp.empty((N, H), G.dtype)
    relu = dm.mode == "rnn_relu"
    for step in range(T):
        t = T - 1 - step if reverse else step
        g = G[t]
        xp.matmul(Hs[step], wh_t, out=tmp)
        g += tmp
        if relu:
            xp.maximum(g, 0, out=g)
        else:
            xp.tanh(g, out=g)
        Hs[step + 1] = g
        _step_output(xp, Hs, None, y, mask, step, t)


def _weights(flat: Any, entry: dict) -> dict:
    return {k: _view(flat, v) for k, v in entry.items()}


def _seq_mask(xp: Any, seq: Any, T: int) -> Any:
    """(T, N, 1) bool: step t is inside batch element n's sequence."""
    lens = xp.asarray(seq).astype(np.int64)
    return (xp.arange(T)[:, None] < lens[None, :])[:, :, None]


def _rnn_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    data = ins[0]
    dm = _dims(p, *data.shape)
    cdt = _compute_dtype(data.dtype)
    wflat = ins[1].astype(cdt, copy=False)
    h0 = ins[2]
    c0 = ins[3] if p.mode == "lstm" else None
    mask = _seq_mask(xp, ins[-1], dm.T) if p.use_sequence_length else None
    reserve = outs[-1]
    plan, _ = _param_layout(dm)
    dirs, layers, _ = _reserve_layout(dm, p.p > 0)
    clip = (p.lstm_state_clip_min, p.lstm_state_clip_max, p.lstm_state_clip_nan)
    nvis = _num_visible(p)
    T, N, D, R = dm.T, dm.N, dm.D, dm.R
    x = data.astype(cdt, copy=False)
    for layer in range(dm.L):
        last = layer == dm.L - 1
        if last:
            y = outs[0] if outs[0].dtype == cdt else xp.empty(outs[0].shape, cdt)
        else:
            y = _view(reserve, layers[layer + 1]["x"])
        x2 = x.reshape(T * N, _layer_input(dm, layer))
        for d in range(D):
            k = layer * D + d
            w = _weights(wflat, plan[k])
            buf = {n: _view(reserve, v) for n, v in dirs[k].items()}
            buf["h"][0] = h0[k]
            yd = y[:, :, d * R:(d + 1) * R]
            if p.mode == "lstm":
                buf["c"][0] = c0[k]
                _lstm_forward(xp, dm, x2, w, w["bi"] + w["bh"], buf, yd, mask, d == 1, clip)
            elif p.mode == "gru":
                _gru_forward(xp, dm, x2, w, w["bi"], w["bh"], buf, yd, mask, d == 1)
            else:
                _vanilla_forward(xp, dm, x2, w, w["bi"] + w["bh"], buf, yd, mask, d == 1)
            if nvis > 1:
                outs[1][k] = buf["h"][T]
                if nvis > 2:
                    outs[2][k] = buf["c"][T]
        if not last and p.p > 0:
            keep = _view(reserve, layers[layer + 1]["mask"])
            if oc.is_train:
                keep[...] = (oc.rng.random(keep.shape) >= p.p) * (1.0 / (1.0 - p.p))
                y *= keep
            else:
                keep[...] = 1
        x = y
    if y is not outs[0]:
        outs[0][...] = y


# --------------------------------------------------------------------- backward kernels
def _step_grad_in(xp, dh, dc, dy_t, mask, t):
    """Gradient into step ``t``'s new state: ``dh`` (grad of the state after the step)
    plus the output gradient; with sequence lengths the rows past their length pass
    ``dh``/``dc`` straight to the previous state instead (returned as carries)."""
    if mask is None:
        dh += dy_t
        return None, None
    m = mask[t]
    carry_h = xp.where(m, 0, dh)
    dh[...] = xp.where(m, dh + dy_t, 0)
    carry_c = None
    if dc is not None:
        carry_c = xp.where(m, 0, dc)
        dc[...] = xp.where(m, dc, 0)
    return carry_h, carry_c


def _time_aligned(Hs: Any, T: int, reverse: bool) -> Any:
    """The state entering each time step, indexed by time (Hs is indexed by step)."""
    return Hs[:T][::-1] if reverse else Hs[:T]


def _param_grads(xp, dm, dG, x2, hprev, wi, dx2, dw, accumulate, recurrent_only=False):
    """Whole-sequence GEMMs: ``dW_i2h = dG^T x``, ``dW_h2h = dG^T h_prev``, biases, and
    the input gradient ``dx (+)= dG W_i2h``. ``recurrent_only`` (GRU, whose input-side
    and recurrent-side gate gradients differ): only ``dW_h2h`` and ``b_h2h``."""
    T, N = dm.T, dm.N
    dG2 = dG.reshape(T * N, dG.shape[2])
    h2 = hprev.reshape(T * N, dm.R)
    xp.matmul(dG2.T, h2, out=dw["wh"])
    xp.sum(dG2, axis=0, out=dw["bh"])
    if not recurrent_only:
        xp.matmul(dG2.T, x2, out=dw["wi"])
        dw["bi"][...] = dw["bh"]
        _input_grad(xp, dG2, wi, dx2, accumulate)


def _input_grad(xp, dG2, wi, dx2, accumulate):
    if accumulate:
        dx2 += xp.matmul(dG2, wi)
    else:
        xp.matmul(dG2, wi, out=dx2)


def _lstm_backward(xp, dm, x2, w, buf, dy, dh, dc, mask, reverse, clip, dx2, dw, accumulate):
    T, N, H = dm.T, dm.N, dm.H
    G, Hs, Cs, TC = buf["g"], buf["h"], buf["c"], buf["tc"]
    k = xp.zeros(4 * H, G.dtype)
    k[2 * H:3 * H] = 1
    # derivative of each activated gate a: sigmoid a(1-a), tanh (1-a)(1+a)
    DG = (1 - G) * (G + k)
    OT = G[:, :, 3 * H:] * (1 - TC * TC)  # d h / d c = o * (1 - tanh(c)^2)
    lo, hi, _ = clip
    CM = None
    if lo is not None or hi is not None:
        c_after = Cs[1:]
        CM = xp.ones(c_after.shape, bool)
        if lo is not None:
            CM &= c_after > lo
        if hi is not None:
            CM &= c_after < hi
    dG = xp.empty_like(G)
    dR = xp.empty((T, N, dm.R), G.dtype) if dm.proj else None
    tmp = xp.empty((N, H), G.dtype)
    dhu = xp.empty((N, H), G.dtype) if dm.proj else dh
    wh = w["wh"]
    for step in range(T - 1, -1, -1):
        t = T - 1 - step if reverse else step
        carry_h, carry_c = _step_grad_in(xp, dh, dc, dy[t], mask, t)
        if dm.proj:
            dR[t] = dh
            xp.matmul(dh, w["wr"], out=dhu)
        a = G[t]
        g = dG[t]
        xp.multiply(dhu, TC[t], out=g[:, 3 * H:])
        xp.multiply(dhu, OT[t], out=tmp)
        dc += tmp
        if CM is not None:
            dc *= CM[step]
        xp.multiply(dc, a[:, 2 * H:3 * H], out=g[:, :H])
        xp.multiply(dc, Cs[step], out=g[:, H:2 * H])
        xp.multiply(dc, a[:, :H], out=g[:, 2 * H:3 * H])
        dc *= a[:, H:2 * H]
        g *= DG[t]
        if mask is not None:
            g[...] = xp.where(mask[t], g, 0)  # padded rows may hold non-finite gates
        xp.matmul(g, wh, out=dh)
        if carry_h is not None:
            dh += carry_h
            dc += carry_c
    _param_grads(xp, dm, dG, x2, _time_aligned(Hs, T, reverse), w["wi"], dx2, dw, accumulate)
    if dm.proj:
        xp.matmul(dR.reshape(T * N, dm.R).T, buf["hu"].reshape(T * N, H), out=dw["wr"])


def _gru_backward(xp, dm, x2, w, buf, dy, dh, mask, reverse, dx2, dw, accumulate):
    T, N, H = dm.T, dm.N, dm.H
    G, Hs, HN = buf["g"], buf["h"], buf["hn"]
    r, z, n = G[:, :, :H], G[:, :, H:2 * H], G[:, :, 2 * H:]
    hprev = _time_aligned(Hs, T, reverse)
    Fn = (1 - z) * (1 - n * n)          # d h' / d n_pre
    Fz = (hprev - n) * z * (1 - z)      # d h' / d z_pre
    Fr = HN * r * (1 - r)               # d n_pre / d r_pre
    dGx = xp.empty_like(G)  # grads of W_i x + b_i (r, z, n)
    dGh = xp.empty_like(G)  # grads of W_h h + b_h (r, z, and hn)
    tmp = xp.empty((N, H), G.dtype)
    wh = w["wh"]
    for step in range(T - 1, -1, -1):
        t = T - 1 - step if reverse else step
        carry_h, _ = _step_grad_in(xp, dh, None, dy[t], mask, t)
        gx, gh = dGx[t], dGh[t]
        dn = gx[:, 2 * H:]
        xp.multiply(dh, Fn[t], out=dn)
        xp.multiply(dh, Fz[t], out=gx[:, H:2 * H])
        xp.multiply(dn, Fr[t], out=gx[:, :H])
        xp.multiply(dn, G[t][:, :H], out=gh[:, 2 * H:])
        if mask is not None:
            gx[...] = xp.where(mask[t], gx, 0)
            gh[:, 2 * H:] = xp.where(mask[t], gh[:, 2 * H:], 0)
        gh[:, :2 * H] = gx[:, :2 * H]
        dh *= G[t][:, H:2 * H]
        xp.matmul(gh, wh, out=tmp)
        dh += tmp
        if carry_h is not None:
            dh += carry_h
    _param_grads(xp, dm, dGh, x2, hprev, None, dx2, dw, accumulate, recurrent_only=True)
    dGx2 = dGx.reshape(T * N, 3 * H)
    xp.matmul(dGx2.T, x2, out=dw["wi"])
    xp.sum(dGx2, axis=0, out=dw["bi"])
    _input_grad(xp, dGx2, w["wi"], dx2, accumulate)


def _vanilla_backward(xp, dm, x2, w, buf, dy, dh, mask, reverse, dx2, dw, accumulate):
    T = dm.T
    G, Hs = buf["g"], buf["h"]
    DG = (G > 0).astype(G.dtype) if dm.mode == "rnn_relu" else 1 - G * G
    dG = xp.empty_like(G)
    wh = w["wh"]
    for step in range(T - 1, -1, -1):
        t = T - 1 - step if reverse else step
        carry_h, _ = _step_grad_in(xp, dh, None, dy[t], mask, t)
        g = dG[t]
        xp.multiply(dh, DG[t], out=g)
        if mask is not None:
            g[...] = xp.where(mask[t], g, 0)
        xp.matmul(g, wh, out=dh)
        if carry_h is not None:
            dh += carry_h
    _param_grads(xp, dm, dG, x2, _time_aligned(Hs, T, reverse), w["wi"], dx2, dw, accumulate)


def _bwd_index(p: Any) -> dict:
    """Positions of the named inputs of ``_backward_RNN``."""
    return {n: i for i, n in enumerate(_bwd_input_names(p))}


def _bwd_input_names(p: Any) -> list:
    names = ["dout"]
    if p.state_outputs:
        names.append("dhy")
        if p.mode == "lstm":
            names.append("dcy")
    names += ["data", "parameters"]
    if p.use_sequence_length:
        names.append("sequence_length")
    return names + ["reserve"]


def _rnn_backward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    ix = _bwd_index(p)
    data = ins[ix["data"]]
    dm = _dims(p, *data.shape)
    cdt = _compute_dtype(data.dtype)
    wflat = ins[ix["parameters"]].astype(cdt, copy=False)
    reserve = ins[ix["reserve"]]
    mask = _seq_mask(xp, ins[ix["sequence_length"]], dm.T) if p.use_sequence_length else None
    plan, _ = _param_layout(dm)
    dirs, layers, _ = _reserve_layout(dm, p.p > 0)
    clip = (p.lstm_state_clip_min, p.lstm_state_clip_max, p.lstm_state_clip_nan)
    dhy = ins[ix["dhy"]] if "dhy" in ix else None
    dcy = ins[ix["dcy"]] if "dcy" in ix else None
    ddata, dparams, dstate = outs[0], outs[1], outs[2]
    dcell = outs[3] if p.mode == "lstm" else None
    dwflat = dparams if dparams.dtype == cdt else xp.empty(dparams.shape, cdt)
    T, N, D, R, H = dm.T, dm.N, dm.D, dm.R, dm.H
    dy = ins[ix["dout"]].astype(cdt, copy=False)
    for layer in range(dm.L - 1, -1, -1):
        il = _layer_input(dm, layer)
        if layer == 0:
            x = data.astype(cdt, copy=False)
            dx = ddata if ddata.dtype == cdt else xp.empty(ddata.shape, cdt)
        else:
            x = _view(reserve, layers[layer]["x"])
            dx = xp.empty((T, N, il), cdt)
        x2 = x.reshape(T * N, il)
        dx2 = dx.reshape(T * N, il)
        for d in range(D):
            k = layer * D + d
            w = _weights(wflat, plan[k])
            dw = _weights(dwflat, plan[k])
            buf = {n: _view(reserve, v) for n, v in dirs[k].items()}
            dyd = dy[:, :, d * R:(d + 1) * R]
            dh = xp.zeros((N, R), cdt) if dhy is None else dhy[k].astype(cdt)
            if p.mode == "lstm":
                dc = xp.zeros((N, H), cdt) if dcy is None else dcy[k].astype(cdt)
                _lstm_backward(xp, dm, x2, w, buf, dyd, dh, dc, mask, d == 1, clip, dx2, dw,
                               d > 0)
                dcell[k] = dc
            elif p.mode == "gru":
                _gru_backward(xp, dm, x2, w, buf, dyd, dh, mask, d == 1, dx2, dw, d > 0)
            else:
                _vanilla_backward(xp, dm, x2, w, buf, dyd, dh, mask, d == 1, dx2, dw, d > 0)
            dstate[k] = dh
        if layer > 0 and p.p > 0:
            dx *= _view(reserve, layers[layer]["mask"])
        dy = dx
    if dx is not ddata:
        ddata[...] = dx
    if dwflat is not dparams:
        dparams[...] = dwflat


def _rnn_grad(F: Any, p: Any, ins: list, outs: list, ograds: list) -> list:
    """Fused BPTT from the reserve: gradients of data, parameters, state (and state_cell);
    sequence_length gets none."""
    nvis = _num_visible(p)
    args = list(ograds[:nvis]) + [ins[0], ins[1]]
    if p.use_sequence_length:
        args.append(ins[-1])
    args.append(outs[-1])
    grads = F.call("_backward_RNN", args, p)
    grads = list(grads) if isinstance(grads, (list, tuple)) else [grads]
    if p.use_sequence_length:
        grads.append(None)
    return grads


def _bwd_shape(p: Any, shapes: list):
    _check_params(p)
    ix = _bwd_index(p)
    data = shapes[ix["data"]]
    nout = 4 if p.mode == "lstm" else 3
    if data is None:
        return shapes, [None] * nout
    if len(data) != 3:
        raise MXNetError("data must be 3-D (T, N, I), got %s" % shape_str(data))
    dm, want = _expected_inputs(p, tuple(data))
    LD = dm.L * dm.D
    expect = {"dout": (dm.T, dm.N, dm.D * dm.R), "dhy": (LD, dm.N, dm.R),
              "dcy": (LD, dm.N, dm.H), "data": tuple(data), "parameters": want[1],
              "sequence_length": (dm.N,), "reserve": (_reserve_layout(dm, p.p > 0)[2],)}
    names = _bwd_input_names(p)
    for name, got in zip(names, shapes):
        if got is not None and tuple(got) != expect[name]:
            raise MXNetError("%s must have shape %s for data %s with %s, got %s"
                             % (name, shape_str(expect[name]), shape_str(data), _describe(p),
                                shape_str(got)))
    return [expect[n] for n in names], want[:nout]


def _bwd_type(p: Any, dtypes: list):
    ix = _bwd_index(p)
    dt = dtypes[ix["data"]]
    nout = 4 if p.mode == "lstm" else 3
    if dt is not None:
        _float_type("data", dt)
    return dtypes, [dt] * nout


def _bwd_cost(p: Any, in_shapes: list, out_shapes: list) -> int:
    return 2 * _flops(p, tuple(in_shapes[_bwd_index(p)["data"]]))


register(OpDef(
    "RNN", inputs=_input_names, params=list(_RNN_PARAMS), forward=_rnn_forward,
    infer_shape=_rnn_shape, infer_type=_rnn_type,
    num_outputs=lambda p: _num_visible(p) + 1, visible_outputs=_num_visible,
    output_names=_output_names, gradient=_rnn_grad,
    resources=lambda p: ("random",) if p.p > 0 else (),
    keep_inputs=lambda n: (0, 1, n - 1), keep_outputs=lambda n: (n - 1,), cost=_rnn_cost,
    doc="Fused multi-layer recurrent layer (vanilla RNN with relu/tanh, LSTM with optional "
        "projection, GRU), layout TNC: data (T, N, I), a flat parameters vector (all weights "
        "then all biases; per layer and direction W_i2h, W_h2h), state (L*D, N, H) and, for "
        "LSTM, state_cell. Returns out (T, N, D*H), plus the final states when "
        "state_outputs."))

register(OpDef(
    "_backward_RNN", inputs=_bwd_input_names, params=list(_RNN_PARAMS),
    forward=_rnn_backward, infer_shape=_bwd_shape, infer_type=_bwd_type,
    num_outputs=lambda p: 4 if p.mode == "lstm" else 3,
    output_names=lambda p: ["data_grad", "parameters_grad", "state_grad"]
    + (["state_cell_grad"] if p.mode == "lstm" else []),
    cost=_bwd_cost,
    doc="Backward of RNN (BPTT from the forward's reserve): gradients of data, parameters, "
        "state and (LSTM) state_cell from the output gradients."))


# --------------------------------------------------------------------- _rnn_param_concat
def _pc_dim(p: Any, nd: int) -> int:
    d = p.dim + nd if p.dim < 0 else p.dim
    if not 0 <= d < nd:
        raise MXNetError("dim %d is out of range for inputs of %d dimension%s"
                         % (p.dim, nd, "" if nd == 1 else "s"))
    return d


def _param_concat_shape(p: Any, shapes: list, out_shapes: Optional[list] = None):
    """Concat shapes along ``dim``. MXNet's 0-means-unknown convention: when the output
    shape is known (``out_shapes``, passed by graph inference) and exactly one input has
    size 0 along ``dim`` (or is unknown), that input is back-filled with the remainder."""
    out = out_shapes[0] if out_shapes else None
    known = [s for s in shapes if s is not None]
    ref = tuple(out) if out is not None else (tuple(known[0]) if known else None)
    if ref is None:
        return shapes, [None]
    nd = len(ref)
    if nd == 0:
        raise MXNetError("_rnn_param_concat needs inputs with at least one dimension")
    dim = _pc_dim(p, nd)
    for s in known:
        s = tuple(s)
        if len(s) != nd or s[:dim] != ref[:dim] or s[dim + 1:] != ref[dim + 1:]:
            raise MXNetError("all input shapes must match except on dim %d, got %s"
                             % (dim, " vs ".join(shape_str(x) for x in shapes)))
    holes = [i for i, s in enumerate(shapes) if s is None or s[dim] == 0]
    if out is not None and len(holes) == 1:
        rest = sum(int(s[dim]) for i, s in enumerate(shapes) if i != holes[0])
        fill = int(out[dim]) - rest
        if fill < 0:
            raise MXNetError("inputs already exceed the output size %d along dim %d"
                             % (out[dim], dim))
        shapes = list(shapes)
        shapes[holes[0]] = ref[:dim] + (fill,) + ref[dim + 1:]
    if any(s is None for s in shapes):
        return shapes, [None]
    total = sum(int(s[dim]) for s in shapes)
    result = ref[:dim] + (total,) + ref[dim + 1:]
    if out is not None and tuple(out) != result and not holes:
        raise MXNetError("inputs concatenate to %s along dim %d, but the output is %s"
                         % (shape_str(result), dim, shape_str(out)))
    return [tuple(s) for s in shapes], [result]


def _param_concat_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    concat_into(outs[0], ins, _pc_dim(p, outs[0].ndim))


def _param_concat_grad(F: Any, p: Any, ins: list, outs: list, ograds: list) -> list:
    """Each input gets its slice of the output gradient."""
    res = F.call("_backward_rnn_param_concat", [ograds[0]] + list(ins), p)
    return list(res) if isinstance(res, (list, tuple)) else [res]


def _param_concat_bwd_shape(p: Any, shapes: list):
    return shapes, list(shapes[1:])


def _param_concat_bwd_type(p: Any, dtypes: list):
    return dtypes, [dtypes[0]] * (len(dtypes) - 1)


def _param_concat_bwd(oc: Any, ins: list, outs: list, p: Any) -> None:
    split_into(ins[0], outs, _pc_dim(p, ins[0].ndim))


_PC_PARAMS = [Param("num_args", Int(lo=1), REQUIRED, "number of inputs (filled automatically)"),
              Param("dim", Int(), 1, "the axis to join along")]

register(OpDef(
    "_rnn_param_concat", varargs="num_args",
    inputs=lambda p: ["arg%d" % i for i in range(p.num_args)], params=list(_PC_PARAMS),
    forward=_param_concat_forward, infer_shape=_param_concat_shape,
    gradient=_param_concat_grad, keep_inputs=True, keep_outputs=False,
    doc="Concat used by Gluon's fused RNN layers to pack their parameters into one vector; "
        "graph shape inference may back-fill one input of unknown (0) size from the output."))

register(OpDef(
    "_backward_rnn_param_concat",
    inputs=lambda p: ["ograd"] + ["arg%d" % i for i in range(p.num_args)],
    params=list(_PC_PARAMS), forward=_param_concat_bwd, infer_shape=_param_concat_bwd_shape,
    infer_type=_param_concat_bwd_type, num_outputs=lambda p: p.num_args,
    visible_outputs=lambda p: p.num_args,
    doc="Backward of _rnn_param_concat: split the output gradient into the inputs' shapes."))
