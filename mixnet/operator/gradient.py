"""Gradient rules: how an op's input gradients are built from other registered ops.

A rule is stored on the op record (``OpDef(gradient=rule)``) and has the signature::

    rule(F, p, ins, outs, ograds) -> list of input gradients

* ``F`` is a :class:`GradBuilder`. ``F.<opname>(*handles, **params)`` or
  ``F.call(opname, handles, p)`` (``p``: an already parsed ``Params`` tuple of that op)
  applies a registered op and returns its output handle (a list when it has several
  visible outputs). Under autograd the handles are NDArrays and the call runs the op;
  when a symbolic backward graph is built they are graph entries and the call adds a
  node. A rule must therefore not look at values or shapes: it composes ops (``*_like``
  ops and fused ``_backward_<Op>`` kernels infer shapes from their inputs).
* ``p`` is the forward op's parsed parameters; ``ins`` all its inputs (aux included) and
  ``outs`` all its outputs (hidden ones included), each ``None`` where the op declared it
  does not keep it (``OpDef(keep_inputs=..., keep_outputs=...)``).
* ``ograds`` has one entry per output: a handle for each visible output (zeros when
  nothing flowed into it) and ``None`` for hidden outputs.
* The result has one entry per input: a handle of the input's shape, or ``None`` for "no
  gradient" (labels, indices, aux states, discrete ops), which callers treat as zero.
  ``grad_req`` (write/add/null) is applied by the caller, not by the rule.

One rule serves autograd, ``autograd.grad(create_graph=True)`` (the handles are recorded
NDArrays, so rules built from differentiable ops give higher-order gradients) and the
executor's gradient pass.
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

from ..base import MXNetError
from .registry import OpDef, get, register, shape_str

__all__ = ["GradBuilder", "zero_grad", "unary_grad", "identity_grad", "needed_inputs",
           "needed_outputs", "sum_to_shape"]


class GradBuilder:
    """Applies registered ops to handles while a gradient rule runs. Subclasses implement
    :meth:`apply` for one kind of handle (NDArray, graph entry)."""

    def apply(self, op: OpDef, inputs: Sequence[Any], p: Any) -> list:
        """Apply ``op`` with parsed parameters ``p``; return its visible outputs."""
        raise NotImplementedError

    def call(self, name: str, inputs: Sequence[Any], p: Any = None, **params: Any) -> Any:
        """Apply op ``name`` to ``inputs`` with the parsed tuple ``p`` or with ``params``
        (Python values); one handle, or a list for ops with several visible outputs."""
        op = get(name)
        if p is None:
            p = op.parse_params(params)
        elif params:
            p = p._replace(**params)
        outs = self.apply(op, list(inputs), p)
        return outs[0] if len(outs) == 1 else outs

    def __getattr__(self, name: str) -> Callable:
        if name.startswith("__"):
            raise AttributeError(name)
        return lambda *inputs, **params: self.call(name, inputs, **params)


def zero_grad(F: GradBuilder, p: Any, ins: list, outs: list, ograds: list) -> list:
    """The rule of ops MXNet treats as having zero gradient (comparisons, rounding,
    ``argmax``, ``BlockGrad`` ...): no input receives anything."""
    return [None] * len(ins)


def identity_grad(F: GradBuilder, p: Any, ins: list, outs: list, ograds: list) -> list:
    """The first input gets the output gradient unchanged (``identity``, ``reshape`` ...);
    other inputs get none."""
    return [ograds[0]] + [None] * (len(ins) - 1)


def unary_grad(backward_op: str, use: str = "input") -> Callable:
    """A rule ``[backward_op(ograd, x)]`` (``use='input'``) or ``[backward_op(ograd, y)]``
    (``use='output'``) for element-wise ops with a fused backward kernel."""
    if use not in ("input", "output"):
        raise ValueError("use must be 'input' or 'output'")
    if use == "input":
        def rule(F, p, ins, outs, ograds):
            return [F.call(backward_op, [ograds[0], ins[0]])]
    else:
        def rule(F, p, ins, outs, ograds):
            return [F.call(backward_op, [ograds[0], outs[0]])]
    rule.__name__ = "grad_via_" + backward_op
    rule.keeps = (use == "input", use == "output")
    return rule


def _needed(spec: Any, n: int) -> list:
    if spec is True:
        return [True] * n
    if spec is False or spec is None:
        return [False] * n
    keep = set(spec(n) if callable(spec) else spec)
    return [i in keep for i in range(n)]


def needed_inputs(op: OpDef, n: int) -> list:
    """Per input of an op application with ``n`` inputs: whether the gradient rule reads it
    (so autograd keeps it alive and the executor keeps its buffer)."""
    return _needed(op.keep_inputs, n)


def needed_outputs(op: OpDef, n: int) -> list:
    """Per output: whether the gradient rule reads its value."""
    return _needed(op.keep_outputs, n)


def declared_keep(rule: Optional[Callable]) -> Optional[tuple]:
    """``(keep_inputs, keep_outputs)`` a rule built by :func:`unary_grad` declares."""
    return getattr(rule, "keeps", None)


# --------------------------------------------------------------------- shared gradient ops
def sum_to_shape(xp: Any, g: Any, shape: tuple, out: Any) -> None:
    """Write into ``out`` (of ``shape``) the sum of ``g`` over the axes along which
    ``shape`` was broadcast to ``g.shape`` (extra leading axes and size-1 axes): the
    gradient of a broadcast."""
    lead = g.ndim - len(shape)
    if lead < 0:
        raise MXNetError("cannot reduce shape %s to %s" % (shape_str(g.shape), shape_str(shape)))
    axes = tuple(range(lead)) + tuple(lead + i for i, d in enumerate(shape)
                                      if d == 1 and g.shape[lead + i] != 1)
    if not axes:
        out[...] = g.reshape(shape)
        return
    out[...] = xp.sum(g, axis=axes).reshape(shape)


def _sum_like_shape(p: Any, shapes: list):
    g, like = shapes
    if g is not None and like is not None:
        lead = len(g) - len(like)
        if lead < 0 or any(d != 1 and d != e for d, e in zip(like, g[lead:])):
            raise MXNetError("data of shape %s cannot be summed to like of shape %s: like "
                             "must broadcast to data" % (shape_str(g), shape_str(like)))
    return shapes, [like]


def _sum_like_type(p: Any, dtypes: list):
    return dtypes, [dtypes[0]]


def _sum_like_forward(opctx: Any, ins: list, outs: list, p: Any) -> None:
    sum_to_shape(opctx.xp, ins[0], outs[0].shape, outs[0])


def _sum_like_grad(F: GradBuilder, p: Any, ins: list, outs: list, ograds: list) -> list:
    # broadcast_like needs equal ranks; adding to zeros broadcasts across ranks too
    return [F.broadcast_add(F.zeros_like(ins[0]), ograds[0]), None]


register(OpDef(
    "_reduce_sum_like", inputs=("data", "like"), forward=_sum_like_forward,
    infer_shape=_sum_like_shape, infer_type=_sum_like_type, gradient=_sum_like_grad,
    keep_inputs=(0,), keep_outputs=False,
    doc="Sum ``data`` over the axes along which ``like``'s shape broadcasts to it, giving "
        "an array of ``like``'s shape and ``data``'s dtype: the gradient of a broadcast."))
