"""``mx.sym``: declarative graphs. Every registered op is a function composing a node;
``Variable``, ``Group``, ``load``/``load_json`` and the creation helpers are below."""
from __future__ import annotations

from typing import Any, Optional

from ..base import MXNetError, numeric_types
from ..operator import registry as _reg
from .symbol import Group, Symbol, Variable, compose, load, load_json, var

__all__ = ["Symbol", "Variable", "var", "Group", "load", "load_json", "zeros", "ones",
           "full", "arange", "linspace", "eye", "pow", "power", "maximum", "minimum",
           "hypot"]


def _create(opname: str, hint: str, **kwargs: Any) -> Symbol:
    kwargs = {k: v for k, v in kwargs.items() if v is not None or k in ("name", "attr")}
    return compose(_reg.get(opname), hint, (), kwargs)


def zeros(shape: Any, dtype: Any = None, **kwargs: Any) -> Symbol:
    """``mx.sym.zeros(shape, dtype=None, **kwargs)``: a constant of zeros."""
    return _create("_zeros", "_zeros", shape=shape, dtype=dtype, **kwargs)


def ones(shape: Any, dtype: Any = None, **kwargs: Any) -> Symbol:
    """``mx.sym.ones(shape, dtype=None, **kwargs)``: a constant of ones."""
    return _create("_ones", "_ones", shape=shape, dtype=dtype, **kwargs)


def full(shape: Any, val: float, dtype: Any = None, **kwargs: Any) -> Symbol:
    """``mx.sym.full(shape, val, dtype=None, **kwargs)``: a constant filled with ``val``."""
    return _create("_full", "_full", shape=shape, value=val, dtype=dtype, **kwargs)


def arange(start: float, stop: Optional[float] = None, step: float = 1.0, repeat: int = 1,
           name: Optional[str] = None, dtype: Any = None, **kwargs: Any) -> Symbol:
    """``mx.sym.arange(start, stop=None, step=1.0, repeat=1, name=None, dtype=None)``."""
    return _create("_arange", "_arange", start=start, stop=stop, step=step, repeat=repeat,
                   name=name, dtype=dtype, **kwargs)


def linspace(start: float, stop: float, num: int, endpoint: bool = True,
             name: Optional[str] = None, dtype: Any = None, **kwargs: Any) -> Symbol:
    """``mx.sym.linspace(start, stop, num, endpoint=True, name=None, dtype=None)``."""
    return _create("_linspace", "_linspace", start=start, stop=stop, num=num,
                   endpoint=endpoint, name=name, dtype=dtype, **kwargs)


def eye(N: int, M: int = 0, k: int = 0, dtype: Any = None, **kwargs: Any) -> Symbol:
    """``mx.sym.eye(N, M=0, k=0, dtype=None)``: an identity-like constant."""
    return _create("_eye", "_eye", N=N, M=M, k=k, dtype=dtype, **kwargs)


def _binary(lhs: Any, rhs: Any, sym_op: str, scalar_op: str, rscalar_op: str,
            fn: Any, what: str) -> Any:
    if isinstance(lhs, Symbol) and isinstance(rhs, Symbol):
        return compose(_reg.get(sym_op), sym_op, (lhs, rhs), {})
    if isinstance(lhs, Symbol) and isinstance(rhs, numeric_types):
        return compose(_reg.get(scalar_op), scalar_op, (lhs,), {"scalar": rhs})
    if isinstance(rhs, Symbol) and isinstance(lhs, numeric_types):
        return compose(_reg.get(rscalar_op), rscalar_op, (rhs,), {"scalar": lhs})
    if isinstance(lhs, numeric_types) and isinstance(rhs, numeric_types):
        return fn(lhs, rhs)
    raise MXNetError("%s: operands must be Symbols or numbers, got %s and %s"
                     % (what, type(lhs).__name__, type(rhs).__name__))


def pow(base: Any, exp: Any) -> Any:  # noqa: A001 - MXNet's name
    """``mx.sym.pow(base, exp)``: element-wise power of symbols and/or numbers."""
    return _binary(base, exp, "_Power", "_PowerScalar", "_RPowerScalar",
                   lambda a, b: a ** b, "pow")


power = pow


def maximum(left: Any, right: Any) -> Any:
    """``mx.sym.maximum(left, right)``."""
    return _binary(left, right, "_Maximum", "_MaximumScalar", "_MaximumScalar", max, "maximum")


def minimum(left: Any, right: Any) -> Any:
    """``mx.sym.minimum(left, right)``."""
    return _binary(left, right, "_Minimum", "_MinimumScalar", "_MinimumScalar", min, "minimum")


def hypot(left: Any, right: Any) -> Any:
    """``mx.sym.hypot(left, right)``."""
    return _binary(left, right, "_Hypot", "_HypotScalar", "_HypotScalar",
                   lambda a, b: (a * a + b * b) ** 0.5, "hypot")


from .register import attach_fluent_methods, populate  # noqa: E402

populate(globals())
attach_fluent_methods(globals())
del populate, attach_fluent_methods
