"""``Reshape`` and MXNet's reshape special codes (shared with ``NDArray.reshape``).

The gradient reshapes the head gradient back with ``reshape_like`` (so the rule needs no
shapes and also builds symbolic backward graphs)."""
from __future__ import annotations

from typing import Any

from ..base import MXNetError
from .params import Bool, Param, Shape
from .registry import OpDef, register, shape_str


def infer_reshape(src: tuple, target: tuple, reverse: bool = False) -> tuple:
    """Output shape of reshaping ``src`` to ``target`` with MXNet's codes: ``k>0`` literal,
    ``0`` copy, ``-1`` infer, ``-2`` copy the rest, ``-3`` merge two dims, ``-4 a b`` split
    one dim; ``reverse`` matches codes from the right."""
    src, target = tuple(src), tuple(target)
    if reverse:
        out = _walk(src[::-1], _reverse_codes(target))
        res = tuple(out[::-1])
    else:
        res = tuple(_walk(src, target))
    return _fill_unknown(src, target, res)


def _reverse_codes(target: tuple) -> tuple:
    # reverse the list but keep each "-4 a b" group in split order (a, b -> b, a reversed)
    groups = []
    i = 0
    while i < len(target):
        if target[i] == -4:
            if i + 2 >= len(target):
                raise MXNetError("-4 must be followed by two dims, got %s" % (target,))
            groups.append((-4, target[i + 2], target[i + 1]))
            i += 3
        else:
            groups.append((target[i],))
            i += 1
    return tuple(x for g in reversed(groups) for x in g)


def _walk(d: tuple, t: tuple) -> list:
    out: list = []
    i = j = 0
    while j < len(t):
        c = t[j]
        if c > 0:
            out.append(c)
            i += 1
        elif c == 0:
            if i >= len(d):
                raise MXNetError("code 0 at position %d has no input dim to copy (input %s)"
                                 % (j, shape_str(d)))
            out.append(d[i])
            i += 1
        elif c == -1:
            out.append(-1)
            i += 1
        elif c == -2:
            out.extend(d[i:])
            i = len(d)
        elif c == -3:
            if i + 1 >= len(d):
                raise MXNetError("code -3 needs two input dims at position %d (input %s)"
                                 % (i, shape_str(d)))
            out.append(d[i] * d[i + 1])
            i += 2
        elif c == -4:
            if j + 2 >= len(t) or i >= len(d):
                raise MXNetError("code -4 must be followed by two dims and split an input dim")
            a, b = t[j + 1], t[j + 2]
            if a == -1 and b == -1 or a < -1 or b < -1 or a == 0 or b == 0:
                raise MXNetError("invalid split %d, %d after -4" % (a, b))
            if a == -1:
                a = d[i] // b if b else 0
            elif b == -1:
                b = d[i] // a if a else 0
            if a * b != d[i]:
                raise MXNetError("cannot split dim %d into %d x %d" % (d[i], a, b))
            out.extend((a, b))
            i += 1
            j += 2
        else:
            raise MXNetError("invalid reshape code %d" % c)
        j += 1
    return out


def _fill_unknown(src: tuple, target: tuple, res: tuple) -> tuple:
    size = 1
    for s in src:
        size *= s
    n_unknown = sum(1 for r in res if r == -1)
    if n_unknown > 1:
        raise MXNetError("at most one -1 is allowed in shape %s" % (target,))
    known = 1
    for r in res:
        if r != -1:
            known *= r
    if n_unknown:
        if known == 0 or size % known:
            raise MXNetError("cannot reshape %s into %s: size %d is not divisible by %d"
                             % (shape_str(src), target, size, known))
        res = tuple(size // known if r == -1 else r for r in res)
    elif known != size:
        raise MXNetError("cannot reshape %s (size %d) into %s (size %d)"
                         % (shape_str(src), size, shape_str(res), known))
    return res


def _reshape_shape(p: Any, shapes: list):
    (s,) = shapes
    target = p.shape or p.target_shape
    if s is None:
        return shapes, [None]
    if not target:
        raise MXNetError("Reshape needs a target shape")
    if p.keep_highest and p.target_shape and not p.shape:
        return shapes, [infer_reshape(s, (s[0],) + tuple(target[1:]))]
    return shapes, [infer_reshape(s, target, p.reverse)]


def _reshape_forward(oc: Any, ins: list, outs: list, p: Any) -> None:
    outs[0][...] = ins[0].reshape(outs[0].shape)


def _reshape_grad(F: Any, p: Any, ins: list, outs: list, ograds: list) -> list:
    return [F.reshape_like(ograds[0], ins[0])]


register(OpDef(
    "Reshape", aliases=("reshape",),
    params=[Param("shape", Shape(), (), "target shape with special codes 0, -1, -2, -3, -4"),
            Param("reverse", Bool(), False, "match special codes from the right"),
            Param("target_shape", Shape(), (), "deprecated: use shape"),
            Param("keep_highest", Bool(), False, "deprecated: keep the first dim")],
    forward=_reshape_forward, infer_shape=_reshape_shape, inplace=((0, 0),),
    gradient=_reshape_grad, keep_inputs=(0,), keep_outputs=False,
    doc="Reshape ``data`` to ``shape`` (MXNet special codes; returns a copy for nd)."))
