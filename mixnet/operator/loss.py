"""Output (loss) layers: ``SoftmaxOutput`` (``Softmax``), ``LinearRegressionOutput``,
``LogisticRegressionOutput``, ``MAERegressionOutput``, ``MakeLoss``,
``softmax_cross_entropy`` and ``CTCLoss`` (``_contrib_CTCLoss``, ``_contrib_ctc_loss``,
``ctc_loss``).

MXNet 1.9 conventions kept here:

* ``SoftmaxOutput``, the regression outputs and ``MakeLoss`` **own their gradient**: their
  backward ignores the head gradient (``SoftmaxOutput`` multiplies it in only with
  ``out_grad=True``) and writes MXNet's prescribed formula, which is not the derivative of
  the forward: ``grad_scale * (p - onehot(label))`` for SoftmaxOutput (not divided by the
  batch unless ``normalization='batch'``), ``grad_scale * (out - label) / K`` (sigmoid
  output for the logistic one, ``sign`` for MAE) with ``K = label.size / label.shape[0]``
  for the regressions, and the constant ``grad_scale`` (optionally normalised) for
  ``MakeLoss``. Labels never receive a gradient.
* ``SoftmaxOutput`` takes its softmax over the flattened non-batch axes, over axis 1 per
  position with ``multi_output``, or over the last axis with ``preserve_shape``. A label of
  the data's shape is a probability target; otherwise labels are class indices (truncated to
  int) of shape ``data.shape[:-1]``, or with ``multi_output`` ``(N, prod(rest))``,
  ``(N, d2, ...)`` or ``(N, 1, d2, ...)``. ``normalization='valid'`` counts labels that
  differ from ``ignore_label`` (whether or not ``use_ignore`` is set); with
  ``multi_output`` the gradient is also divided by the spatial size unless
  ``normalization='valid'``. Label smoothing (``smooth_alpha``) applies without
  ``multi_output``, as in MXNet.
* Labels must share the data dtype (MXNet's "uniform type" rule) for SoftmaxOutput, the
  regressions and ``softmax_cross_entropy``; CTC labels and lengths may have any dtype.
* ``CTCLoss`` applies a softmax over the alphabet itself, returns the per-sample negative
  log-likelihood (N,) and keeps the gradient w.r.t. the activations as a hidden second
  output computed in forward (the backward only scales it by the head gradient). Without
  ``use_label_lengths`` a label ends at the first padding value: 0 with
  ``blank_label='first'`` (blank is class 0), -1 with ``'last'`` (blank is class
  ``alphabet-1``). A sample whose label cannot be aligned in its sequence length gets
  loss 0 and zero gradient, like MXNet's CPU kernel; steps past ``data_lengths`` get zero
  gradient.
"""
from __future__ import annotations

from math import prod as _size
from typing import Any

import numpy as np

from ..base import MXNetError, dtype_name
from .params import Bool, Float, Param, Str
from .registry import OpDef, register, shape_str, unify

_NORMALIZATION = ("batch", "null", "valid")




def _work_dtype(dt: Any) -> Any:
    """float16 is computed in float32; float32 and float64 stay as they are."""
    return np.float64 if np.dtype(dt) == np.float64 else np.float32


def _softmax(xp: Any, x: Any, axis: int) -> Any:
    x = x.astype(_work_dtype(x.dtype), copy=False)
    e = xp.exp(x - xp.max(x, axis=axis, keepdims=True))
    e /= xp.sum(e, axis=axis, keepdims=True)
    return e


def _labels_type(p: Any, dtypes: list):
    """All inputs share the data dtype (MXNet's SoftmaxOutput/regression rule)."""
    known = unify(dtypes, "dtypes of data and label", dtype_name)
    return [known] * len(dtypes), [known]


# ============================================================ SoftmaxOutput
_SOFTMAX_OUTPUT_PARAMS = [
    Param("grad_scale", Float(), 1.0, "scale of the gradient"),
    Param("ignore_label", Float(), -1.0, "label whose rows get zero gradient with use_ignore"),
    Param("multi_output", Bool(), False, "softmax over axis 1 at each position of axes 2..."),
    Param("use_ignore", Bool(), False, "zero the gradient of rows labelled ignore_label"),
    Param("preserve_shape", Bool(), False, "softmax over the last axis"),
    Param("normalization", Str(_NORMALIZATION), "null",
          "null: none; batch: divide by the label count; valid: by labels != ignore_label"),
    Param("out_grad", Bool(), False, "multiply the gradient by the head gradient"),
    Param("smooth_alpha", Float(), 0.0, "label smoothing: the target puts 1-alpha on the "
          "label and spreads alpha over the other classes"),
]


def _multi_label_shapes(d: tuple) -> list:
    rest = tuple(d[2:])
    return [(d[0], _size(rest)), (d[0],) + rest, (d[0], 1) + rest]


def _softmax_output_shape(p: Any, shapes: list):
    d, lab = shapes
    if d is None:
        return shapes, [None]
    d = tuple(d)
    if len(d) < 2:
        raise MXNetError("data must have at least 2 dimensions (batch, ...), got %s"
                         % shape_str(d))
    if lab is not None and tuple(lab) == d:  # probability targets
        return [d, d], [d]
    if p.multi_output:
        allowed = _multi_label_shapes(d)
        if lab is None:
            lab = allowed[0]
        elif tuple(lab) not in allowed:
            raise MXNetError("label shape %s does not fit data %s with multi_output: expecting "
                             "%s or %s" % (shape_str(lab), shape_str(d),
                                           shape_str(allowed[0]), shape_str(allowed[1])))
    else:
        want = d[:-1]
        if lab is None:
            lab = want
        elif tuple(lab) != want:
            raise MXNetError("label shape %s does not fit data %s: expecting %s (or the data "
                             "shape for probability targets)"
                             % (shape_str(lab), shape_str(d), shape_str(want)))
    return [d, tuple(lab)], [d]


def _softmax_output_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp, x, out = oc.xp, ins[0], outs[0]
    if p.multi_output:
        y = _softmax(xp, x.reshape(x.shape[0], x.shape[1], -1), 1)
    elif p.preserve_shape:
        y = _softmax(xp, x.reshape(-1, x.shape[-1]), 1)
    else:
        y = _softmax(xp, x.reshape(x.shape[0], -1), 1)
    out[...] = y.reshape(out.shape)


def _valid_count(xp: Any, lab: Any, p: Any) -> Any:
    """MXNet's divisor: labels != ignore_label (at least 1) for ``valid``, the label count
    for ``batch`` (multi_output: the batch size), 1 for ``null``."""
    if p.normalization == "valid":
        return xp.maximum(xp.sum(lab != int(p.ignore_label)), 1)
    if p.normalization == "batch":
        return lab.shape[0] if p.multi_output else lab.size
    return 1


def _softmax_output_backward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    ograd, y, label = ins
    g_out = outs[0]
    wdt = _work_dtype(y.dtype)
    y = y.astype(wdt, copy=False)
    if label.shape == y.shape:  # probability targets: no normalisation, no ignore
        g = (y - label.astype(wdt, copy=False)) * p.grad_scale
        if p.out_grad:
            g = g * ograd
        g_out[...] = g
        return
    if p.multi_output:
        n, k = y.shape[0], y.shape[1]
        y3 = y.reshape(n, k, -1)
        lab = label.reshape(n, -1).astype(np.int64)  # truncation, as MXNet casts
        classes = xp.arange(k).reshape(1, k, 1)
        g = y3 - (classes == lab[:, None, :])
        if p.use_ignore:
            g = g * (lab != int(p.ignore_label))[:, None, :]
        spatial = 1 if p.normalization == "valid" else y3.shape[2]
        g = g * (p.grad_scale / spatial / _valid_count(xp, lab, p))
    else:
        if p.preserve_shape:
            y2 = y.reshape(-1, y.shape[-1])
        else:
            y2 = y.reshape(y.shape[0], -1)
        rows, k = y2.shape
        lab_all = label.reshape(-1).astype(np.int64)
        # MXNet walks the rows of the 2-D view and reads one label per row; labels past
        # the row count (data of rank > 2 without preserve_shape) are never used
        lab = lab_all[:rows]
        hit = xp.arange(k).reshape(1, k) == lab[:, None]
        if p.smooth_alpha == 0.0:
            g = y2 - hit
        else:
            off = p.smooth_alpha / (k - 1) if k > 1 else 0.0
            g = y2 - xp.where(hit, 1.0 - p.smooth_alpha, off)
        if p.use_ignore:
            g = g * (lab != int(p.ignore_label))[:, None]
        g = g * (p.grad_scale / _valid_count(xp, lab_all, p))
    g = g.reshape(g_out.shape)
    if p.out_grad:
        g = g * ograd
    g_out[...] = g


def _softmax_output_grad(F: Any, p: Any, ins: list, outs: list, ograds: list) -> list:
    return [F.call("_backward_SoftmaxOutput", [ograds[0], outs[0], ins[1]], p), None]


def _softmax_output_cost(p: Any, in_shapes: list, out_shapes: list) -> int:
    return 5 * _size(in_shapes[0])


register(OpDef(
    "SoftmaxOutput", inputs=("data", "label"), params=list(_SOFTMAX_OUTPUT_PARAMS),
    forward=_softmax_output_forward, infer_shape=_softmax_output_shape,
    infer_type=_labels_type, aliases=("Softmax",), gradient=_softmax_output_grad,
    keep_inputs=(1,), keep_outputs=(0,), cost=_softmax_output_cost,
    doc="Softmax with a cross-entropy gradient: forward is the softmax (over the flattened "
        "non-batch axes, axis 1 with multi_output, the last axis with preserve_shape); "
        "backward writes grad_scale * (p - onehot(label)) normalised as asked, ignoring "
        "the head gradient unless out_grad."))


def _backward_softmax_output_shape(p: Any, shapes: list):
    return shapes, [shapes[1]]


def _backward_type(index: int):
    def infer(p: Any, dtypes: list):
        return dtypes, [dtypes[index]]
    return infer


register(OpDef(
    "_backward_SoftmaxOutput", inputs=("ograd", "output", "label"),
    params=list(_SOFTMAX_OUTPUT_PARAMS), forward=_softmax_output_backward,
    infer_shape=_backward_softmax_output_shape, infer_type=_backward_type(1),
    cost=_softmax_output_cost,
    doc="SoftmaxOutput's gradient from its output and label (the head gradient is used "
        "only with out_grad)."))


# ============================================================ regression outputs
_REGRESSION_PARAMS = [Param("grad_scale", Float(), 1.0, "scale of the gradient")]


def _regression_shape(p: Any, shapes: list):
    d, lab = shapes
    if d is None:
        return shapes, [None]
    d = tuple(d)
    if len(d) == 0:
        raise MXNetError("data must have at least 1 dimension")
    if lab is None:
        lab = (d[0],) if len(d) == 2 and d[1] == 1 else d
    elif len(lab) == 0 or lab[0] != d[0] or _size(lab) != _size(d):
        raise MXNetError("label shape %s is inconsistent with data %s: the batch size and the "
                         "number of elements must agree" % (shape_str(lab), shape_str(d)))
    return [d, tuple(lab)], [d]


_REGRESSIONS = {
    # name: (forward on xp, x; gradient term from output and label)
    "LinearRegressionOutput": (lambda xp, x: x, lambda xp, y, lab: y - lab,
                               "forward identity; backward grad_scale * (out - label) / K"),
    "LogisticRegressionOutput": (lambda xp, x: 1.0 / (1.0 + xp.exp(-x)),
                                 lambda xp, y, lab: y - lab,
                                 "forward sigmoid; backward grad_scale * (sigmoid(x) - label) / K"),
    "MAERegressionOutput": (lambda xp, x: x, lambda xp, y, lab: xp.sign(y - lab),
                            "forward identity; backward grad_scale * sign(out - label) / K"),
}


def _regression_forward(fn: Any):
    def forward(oc: Any, ins: list, outs: list, p: Any) -> None:
        x = ins[0]
        outs[0][...] = fn(oc.xp, x.astype(_work_dtype(x.dtype), copy=False))
    return forward


def _regression_backward(term: Any):
    def backward(oc: Any, ins: list, outs: list, p: Any) -> None:
        y, lab = ins
        wdt = _work_dtype(y.dtype)
        # K = outputs per sample, from the label as MXNet counts it
        k = lab.size // lab.shape[0] if lab.shape[0] else 1
        g = term(oc.xp, y.astype(wdt, copy=False), lab.reshape(y.shape).astype(wdt, copy=False))
        outs[0][...] = g * (p.grad_scale / k)
    return backward


def _regression_rule(name: str):
    back = "_backward_" + name

    def rule(F: Any, p: Any, ins: list, outs: list, ograds: list) -> list:
        return [F.call(back, [outs[0], ins[1]], p), None]
    rule.__name__ = "grad_" + name
    return rule


def _backward_regression_shape(p: Any, shapes: list):
    return shapes, [shapes[0]]


for _name, (_fwd, _term, _doc) in _REGRESSIONS.items():
    register(OpDef(
        _name, inputs=("data", "label"), params=list(_REGRESSION_PARAMS),
        forward=_regression_forward(_fwd), infer_shape=_regression_shape,
        infer_type=_labels_type, gradient=_regression_rule(_name), keep_inputs=(1,),
        keep_outputs=(0,), doc=_doc + " with K = label.size / batch; the head gradient is "
                                      "ignored and the label gets none."))
    register(OpDef(
        "_backward_" + _name, inputs=("output", "label"), params=list(_REGRESSION_PARAMS),
        forward=_regression_backward(_term), infer_shape=_backward_regression_shape,
        infer_type=_backward_type(0), doc="Gradient of %s from its output and label." % _name))


# ============================================================ MakeLoss
_MAKE_LOSS_PARAMS = [
    Param("grad_scale", Float(), 1.0, "the gradient written to every element"),
    Param("valid_thresh", Float(), 0.0, "elements > valid_thresh count as valid"),
    Param("normalization", Str(_NORMALIZATION), "null",
          "null: none; batch: divide by the batch size; valid: by the valid element count"),
]


def _make_loss_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    outs[0][...] = ins[0]


def _make_loss_backward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp, x, g = oc.xp, ins[0], outs[0]
    if p.normalization == "valid":
        count = xp.maximum(xp.sum(x > p.valid_thresh), 1)
        g[...] = p.grad_scale / count
    elif p.normalization == "batch":
        g[...] = p.grad_scale / (x.shape[0] if x.ndim else 1)
    else:
        g[...] = p.grad_scale


def _make_loss_grad(F: Any, p: Any, ins: list, outs: list, ograds: list) -> list:
    return [F.call("_backward_MakeLoss", [ins[0]], p)]


register(OpDef(
    "MakeLoss", params=list(_MAKE_LOSS_PARAMS), forward=_make_loss_forward,
    inplace=((0, 0),), gradient=_make_loss_grad, keep_inputs=(0,), keep_outputs=False,
    doc="Marks its input as a loss: forward identity; backward writes grad_scale (divided "
        "by the batch size or the count of elements > valid_thresh), ignoring the head "
        "gradient."))
register(OpDef(
    "_backward_MakeLoss", params=list(_MAKE_LOSS_PARAMS), forward=_make_loss_backward,
    doc="MakeLoss's gradient: grad_scale, normalised as asked, shaped like the data."))


# ============================================================ softmax_cross_entropy
def _sce_shape(p: Any, shapes: list):
    d, lab = shapes
    if d is not None and len(d) != 2:
        raise MXNetError("data must be 2-D (batch, classes), got %s" % shape_str(d))
    if lab is not None and len(lab) != 1:
        raise MXNetError("label must be 1-D (batch,), got %s" % shape_str(lab))
    if d is not None:
        if lab is None:
            lab = (d[0],)
        elif lab[0] != d[0]:
            raise MXNetError("label %s and data %s have different batch sizes"
                             % (shape_str(lab), shape_str(d)))
    return [d, lab], [(1,)]


def _picked_labels(xp: Any, label: Any, k: int) -> Any:
    # class indices truncated to int and clipped into range, like ``pick``'s default
    return xp.clip(label.astype(np.int64), 0, k - 1)


def _sce_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    x, label = ins
    x = x.astype(_work_dtype(x.dtype), copy=False)
    n, k = x.shape
    m = xp.max(x, axis=1, keepdims=True) if k else xp.zeros((n, 1), x.dtype)
    logz = xp.log(xp.sum(xp.exp(x - m), axis=1)) + m[:, 0]
    lab = _picked_labels(xp, label, k)
    picked = x[xp.arange(n), lab]
    outs[0][...] = xp.sum(logz - picked).reshape(1)


def _sce_backward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    ograd, x, label = ins
    n, k = x.shape
    g = _softmax(xp, x, 1)
    g[xp.arange(n), _picked_labels(xp, label, k)] -= 1.0
    outs[0][...] = g * ograd.reshape(1, 1)


def _sce_grad(F: Any, p: Any, ins: list, outs: list, ograds: list) -> list:
    return [F.call("_backward_softmax_cross_entropy", [ograds[0], ins[0], ins[1]], p), None]


register(OpDef(
    "softmax_cross_entropy", inputs=("data", "label"), forward=_sce_forward,
    infer_shape=_sce_shape, infer_type=_labels_type, gradient=_sce_grad,
    keep_inputs=(0, 1), keep_outputs=False,
    doc="Sum over the batch of -log softmax(data)[label]; data (N, K), label (N,); output "
        "shape (1,)."))
register(OpDef(
    "_backward_softmax_cross_entropy", inputs=("ograd", "data", "label"),
    forward=_sce_backward, infer_shape=lambda p, s: (s, [s[1]]), infer_type=_backward_type(1),
    doc="(softmax(data) - onehot(label)) * ograd."))


# ============================================================ CTCLoss
_CTC_PARAMS = [
    Param("use_data_lengths", Bool(), False, "per-sample sequence lengths come as an input"),
    Param("use_label_lengths", Bool(), False,
          "per-sample label lengths come as an input (else from the padding value)"),
    Param("blank_label", Str(("first", "last")), "first",
          "blank is class 0 (padding value 0) or class alphabet-1 (padding value -1)"),
]


def _ctc_inputs(p: Any) -> list:
    names = ["data", "label"]
    if p.use_data_lengths:
        names.append("data_lengths")
    if p.use_label_lengths:
        names.append("label_lengths")
    return names


def _ctc_shape(p: Any, shapes: list):
    d, lab = shapes[0], shapes[1]
    if d is not None and len(d) != 3:
        raise MXNetError("data must be 3-D (sequence, batch, alphabet), got %s" % shape_str(d))
    if lab is not None and len(lab) != 2:
        raise MXNetError("label must be 2-D (batch, max_label_length), got %s" % shape_str(lab))
    if d is not None and lab is not None:
        if d[1] != lab[0]:
            raise MXNetError("data %s and label %s have different batch sizes"
                             % (shape_str(d), shape_str(lab)))
        if lab[1] > d[0]:
            raise MXNetError("the label length %d exceeds the sequence length %d of data %s"
                             % (lab[1], d[0], shape_str(d)))
    batch = d[1] if d is not None else (lab[0] if lab is not None else None)
    shapes = list(shapes)
    for i, name in enumerate(_ctc_inputs(p)[2:], start=2):
        s = shapes[i]
        if s is None:
            shapes[i] = (batch,) if batch is not None else None
        elif len(s) != 1 or (batch is not None and s[0] != batch):
            raise MXNetError("%s must have shape (%s,), got %s"
                             % (name, "?" if batch is None else batch, shape_str(s)))
    if d is None:
        return shapes, [None, None]
    return shapes, [(d[1],), tuple(d)]


def _ctc_type(p: Any, dtypes: list):
    d = dtypes[0]
    if d is not None and np.dtype(d).kind != "f":
        raise MXNetError("data must be a floating-point array, got %s" % dtype_name(d))
    return [d] + [t if t is not None else d for t in dtypes[1:]], [d, d]


def _logsumexp3(xp: Any, a: Any, b: Any, c: Any) -> Any:
    """log(exp(a) + exp(b) + exp(c)) elementwise, -inf when all three are -inf."""
    m = xp.maximum(xp.maximum(a, b), c)
    safe = xp.where(xp.isfinite(m), m, 0.0)
    return xp.log(xp.exp(a - safe) + xp.exp(b - safe) + xp.exp(c - safe)) + safe


def _ctc_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    xp = oc.xp
    data, label = ins[0], ins[1]
    t_max, n, alphabet = data.shape
    lmax = label.shape[1]
    wdt = _work_dtype(data.dtype)
    neg_inf = -np.inf
    x = data.astype(wdt, copy=False)
    # log-softmax over the alphabet (MXNet's kernel takes raw activations)
    m = xp.max(x, axis=2, keepdims=True)
    logp = x - m
    logp = logp - xp.log(xp.sum(xp.exp(logp), axis=2, keepdims=True))
    blank = 0 if p.blank_label == "first" else alphabet - 1

    lab = label.astype(np.int64)
    extra = 2
    if p.use_data_lengths:
        t_len = xp.clip(ins[extra].astype(np.int64), 0, t_max)
        extra += 1
    else:
        t_len = xp.full((n,), t_max, dtype=np.int64)
    if p.use_label_lengths:
        l_len = xp.clip(ins[extra].astype(np.int64), 0, lmax)
    else:
        pad = lab == (0 if p.blank_label == "first" else -1)
        l_len = xp.where(xp.any(pad, axis=1), xp.argmax(pad, axis=1), lmax) if lmax else \
            xp.zeros((n,), np.int64)

    # extended label: blank, l1, blank, l2, ..., blank (S = 2L+1 positions)
    s_max = 2 * lmax + 1
    ext = xp.full((n, s_max), blank, dtype=np.int64)
    ext[:, 1::2] = xp.clip(lab, 0, alphabet - 1)
    s_len = 2 * l_len + 1
    pos = xp.arange(s_max)
    valid_s = pos[None, :] < s_len[:, None]
    # a label may be reached from two positions back unless it repeats the previous label
    skip = xp.zeros((n, s_max), dtype=bool)
    if s_max > 2:
        skip[:, 2:] = (ext[:, 2:] != ext[:, :-2]) & (pos[None, 2:] % 2 == 1)
    # alignments need one extra step between repeated labels
    pos_l = xp.arange(lmax)
    repeats = xp.sum((lab[:, 1:] == lab[:, :-1]) & (pos_l[None, 1:] < l_len[:, None]), axis=1) \
        if lmax > 1 else xp.zeros((n,), np.int64)
    feasible = (l_len + repeats <= t_len) & (t_len > 0)

    rows = xp.arange(n)[:, None]
    lp = logp[:, rows, ext]  # (T, N, S): log-probability of each extended label
    lp = xp.where(valid_s[None], lp, neg_inf)
    ninf_col = xp.full((n, 1), neg_inf, dtype=wdt)
    ninf_2 = xp.full((n, 2), neg_inf, dtype=wdt)

    alpha = xp.full((t_max, n, s_max), neg_inf, dtype=wdt)
    a = xp.full((n, s_max), neg_inf, dtype=wdt)
    a[:, :2] = lp[0, :, :2]
    alpha[0] = a
    for t in range(1, t_max):
        prev1 = xp.concatenate([ninf_col, a[:, :-1]], axis=1)
        prev2 = xp.where(skip, xp.concatenate([ninf_2, a[:, :-2]], axis=1)[:, :s_max], neg_inf)
        new = _logsumexp3(xp, a, prev1, prev2) + lp[t]
        a = xp.where((t < t_len)[:, None], new, a)  # hold past the sequence end
        alpha[t] = a
    last = xp.clip(s_len - 1, 0, s_max - 1)
    end = a  # alpha at t_len - 1 (held)
    ll_a = end[xp.arange(n), last]
    ll_b = xp.where(l_len > 0, end[xp.arange(n), xp.clip(s_len - 2, 0, s_max - 1)], neg_inf)
    ll = xp.logaddexp(ll_a, ll_b)
    feasible = feasible & xp.isfinite(ll)
    outs[0][...] = xp.where(feasible, -ll, 0.0)

    # beta (including the emission at t), started at each sample's last step
    skip_next = xp.zeros((n, s_max), dtype=bool)
    if s_max > 2:
        skip_next[:, :-2] = skip[:, 2:]
    start = (pos[None, :] == last[:, None]) | ((pos[None, :] == last[:, None] - 1) &
                                               (l_len > 0)[:, None])
    b = xp.full((n, s_max), neg_inf, dtype=wdt)
    occ = xp.zeros((t_max, n, alphabet), dtype=wdt)
    safe_ll = xp.where(feasible, ll, 0.0)
    flat_base = (xp.arange(n) * alphabet)[:, None] + ext  # (N, S) index into (N*A)
    for t in range(t_max - 1, -1, -1):
        next1 = xp.concatenate([b[:, 1:], ninf_col], axis=1)
        next2 = xp.where(skip_next, xp.concatenate([b[:, 2:], ninf_2], axis=1)[:, :s_max],
                         neg_inf)
        rec = _logsumexp3(xp, b, next1, next2) + lp[t]
        init = xp.where(start, lp[t], neg_inf)
        at_end = (t == t_len - 1)[:, None]
        inside = (t < t_len - 1)[:, None]
        b = xp.where(at_end, init, xp.where(inside, rec, neg_inf))
        # posterior occupation of each extended position, summed per alphabet class
        gamma = xp.exp(alpha[t] + b - lp[t] - safe_ll[:, None])
        gamma = xp.where(xp.isfinite(gamma), gamma, 0.0)
        occ[t] = xp.bincount(flat_base.reshape(-1), weights=gamma.reshape(-1),
                             minlength=n * alphabet).reshape(n, alphabet)
    grad = xp.exp(logp) - occ
    live = (xp.arange(t_max)[:, None] < t_len[None, :]) & feasible[None, :]
    outs[1][...] = xp.where(live[:, :, None], grad, 0.0)


def _ctc_backward(oc: Any, ins: list, outs: list, p: Any) -> None:
    ograd, g = ins
    outs[0][...] = g * ograd.reshape(1, -1, 1)


def _ctc_grad(F: Any, p: Any, ins: list, outs: list, ograds: list) -> list:
    return [F.call("_backward_CTCLoss", [ograds[0], outs[1]], p)] + [None] * (len(ins) - 1)


def _ctc_cost(p: Any, in_shapes: list, out_shapes: list) -> int:
    t, n, a = in_shapes[0]
    s = 2 * in_shapes[1][1] + 1
    return int(t) * int(n) * (4 * int(a) + 30 * s)


register(OpDef(
    "CTCLoss", inputs=_ctc_inputs, params=list(_CTC_PARAMS), forward=_ctc_forward,
    infer_shape=_ctc_shape, infer_type=_ctc_type, num_outputs=2, visible_outputs=1,
    output_names=("output", "grad"),
    aliases=("_contrib_CTCLoss", "_contrib_ctc_loss", "ctc_loss"), gradient=_ctc_grad,
    keep_inputs=False, keep_outputs=(1,), cost=_ctc_cost,
    doc="Connectionist Temporal Classification loss: data (T, N, alphabet) activations "
        "(softmax applied inside), label (N, L) padded; per-sample negative "
        "log-likelihood (N,). The gradient is computed in forward by the alpha-beta "
        "recursion in log space."))
register(OpDef(
    "_backward_CTCLoss", inputs=("ograd", "grad"), params=list(_CTC_PARAMS),
    forward=_ctc_backward, infer_shape=lambda p, s: (s, [s[1]]), infer_type=_backward_type(1),
    doc="CTCLoss's stored gradient scaled per sample by the head gradient."))
