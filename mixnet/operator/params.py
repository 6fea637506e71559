"""Typed operator parameters: parse Python values or MXNet's string attribute form
(``"(3, 3)"``, ``"True"``, ``"relu"``, ``"None"``) and validate them."""
from __future__ import annotations

import ast
import math
from typing import Any, Optional, Sequence

import numpy as np

from ..base import MXNetError, dtype_name, normalize_dtype


class ParamError(MXNetError):
    """A parameter failed to parse or validate (the registry adds op and param names)."""


def _literal(s: str) -> Any:
    try:
        return ast.literal_eval(s.strip())
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        raise ParamError("cannot parse %r" % s) from None


class PType:
    """A parameter type: ``parse`` turns a Python value or a string into the canonical
    value, ``to_str`` gives MXNet's string attribute form."""

    name = "any"

    def parse(self, v: Any) -> Any:
        return v

    def to_str(self, v: Any) -> str:
        return str(v)


class Int(PType):
    name = "int"

    def __init__(self, lo: Optional[int] = None, hi: Optional[int] = None):
        self.lo, self.hi = lo, hi

    def parse(self, v: Any) -> int:
        if isinstance(v, str):
            v = _literal(v)
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer, float,
                                                                  np.floating)):
            raise ParamError("expected an integer, got %r" % (v,))
        if isinstance(v, (float, np.floating)):
            if not float(v).is_integer():
                raise ParamError("expected an integer, got %r" % (v,))
        v = int(v)
        if (self.lo is not None and v < self.lo) or (self.hi is not None and v > self.hi):
            raise ParamError("%d is out of range [%s, %s]" % (v, self.lo, self.hi))
        return v


class Float(PType):
    name = "float"

    def parse(self, v: Any) -> float:
        if isinstance(v, str):
            t = v.strip().lower()
            if t in ("inf", "+inf", "infinity"):
                return math.inf
            if t in ("-inf", "-infinity"):
                return -math.inf
            if t == "nan":
                return math.nan
            v = _literal(v)
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer,
                                                                  np.floating)):
            raise ParamError("expected a number, got %r" % (v,))
        return float(v)

    def to_str(self, v: float) -> str:
        return repr(float(v)) if not float(v).is_integer() else str(v)


class Bool(PType):
    name = "boolean"
    _STR = {"true": True, "false": False, "1": True, "0": False}

    def parse(self, v: Any) -> bool:
        if isinstance(v, str):
            try:
                return self._STR[v.strip().lower()]
            except KeyError:
                raise ParamError("expected a boolean, got %r" % v) from None
        if isinstance(v, (bool, np.bool_)):
            return bool(v)
        if isinstance(v, (int, np.integer)) and v in (0, 1):
            return bool(v)
        raise ParamError("expected a boolean, got %r" % (v,))

    def to_str(self, v: bool) -> str:
        return "True" if v else "False"


class Str(PType):
    """A string, optionally restricted to ``choices`` (MXNet's enum parameters)."""

    name = "string"

    def __init__(self, choices: Optional[Sequence[str]] = None):
        self.choices = tuple(choices) if choices else None

    def parse(self, v: Any) -> str:
        if not isinstance(v, str):
            raise ParamError("expected a string, got %r" % (v,))
        if self.choices is not None and v not in self.choices:
            raise ParamError("%r is not one of {%s}" % (v, ", ".join(map(repr, self.choices))))
        return v

    def to_str(self, v: str) -> str:
        return v


class Shape(PType):
    """A tuple of ints (``"(3, 3)"``, ``[3, 3]``, ``3``); ``allow_none`` admits ``None``
    entries (slice begin/end)."""

    name = "Shape(tuple)"

    def __init__(self, allow_none: bool = False):
        self.allow_none = allow_none

    def parse(self, v: Any) -> tuple:
        if isinstance(v, str):
            v = _literal(v)
        if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
            return (int(v),)
        if not isinstance(v, (tuple, list)):
            raise ParamError("expected a shape tuple, got %r" % (v,))
        out = []
        for e in v:
            if e is None and self.allow_none:
                out.append(None)
            elif isinstance(e, (int, np.integer)) and not isinstance(e, (bool, np.bool_)):
                out.append(int(e))
            else:
                raise ParamError("expected a tuple of integers, got %r" % (v,))
        return tuple(out)

    def to_str(self, v: tuple) -> str:
        return "(" + ", ".join("None" if e is None else str(e) for e in v) + \
            ("," if len(v) == 1 else "") + ")"


class FloatTuple(PType):
    name = "tuple of float"

    def parse(self, v: Any) -> tuple:
        if isinstance(v, str):
            v = _literal(v)
        if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
            return (float(v),)
        if not isinstance(v, (tuple, list)):
            raise ParamError("expected a tuple of numbers, got %r" % (v,))
        return tuple(Float().parse(e) for e in v)

    def to_str(self, v: tuple) -> str:
        return "(" + ", ".join(repr(e) for e in v) + ("," if len(v) == 1 else "") + ")"


class Axes(PType):
    """``axis`` of reductions: ``None``, an int, or a tuple of ints (``"(0, 1)"``, ``"()"``)."""

    name = "Shape or None"

    def parse(self, v: Any) -> Optional[tuple]:
        if isinstance(v, str):
            v = _literal(v)
        if v is None:
            return None
        return Shape().parse(v)

    def to_str(self, v: Any) -> str:
        return "None" if v is None else Shape().to_str(v)


class DType(PType):
    """A dtype name (``'float32'``) or NumPy dtype; ``allow_none`` admits ``None``."""

    name = "dtype"

    def __init__(self, allow_none: bool = False, choices: Optional[Sequence[str]] = None):
        self.allow_none = allow_none
        self.choices = tuple(choices) if choices else None

    def parse(self, v: Any) -> Any:
        if v is None or (isinstance(v, str) and v.strip() == "None"):
            if self.allow_none:
                return None
            raise ParamError("a dtype is required")
        try:
            dt = normalize_dtype(v)
        except MXNetError as e:
            raise ParamError(str(e)) from None
        if self.choices is not None and dtype_name(dt) not in self.choices:
            raise ParamError("dtype %s is not one of {%s}" % (dtype_name(dt), ", ".join(self.choices)))
        return dt

    def to_str(self, v: Any) -> str:
        return "None" if v is None else dtype_name(v)


class Optional_(PType):
    """``T or None``: ``None``/``"None"`` pass through, anything else parses as ``T``."""

    def __init__(self, inner: PType):
        self.inner = inner
        self.name = inner.name + " or None"

    def parse(self, v: Any) -> Any:
        if v is None or (isinstance(v, str) and v.strip() == "None"):
            return None
        return self.inner.parse(v)

    def to_str(self, v: Any) -> str:
        return "None" if v is None else self.inner.to_str(v)


REQUIRED = object()


class Param:
    """One parameter of an op: name, type, default (``REQUIRED`` if none), docs."""

    __slots__ = ("name", "ptype", "default", "doc")

    def __init__(self, name: str, ptype: PType, default: Any = REQUIRED, doc: str = ""):
        self.name = name
        self.ptype = ptype
        self.default = default
        self.doc = doc

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def __repr__(self):
        d = "required" if self.required else "default=%r" % (self.default,)
        return "Param(%s: %s, %s)" % (self.name, self.ptype.name, d)
