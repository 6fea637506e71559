"""``mx.util``: NumPy-semantics switches and environment helpers.

mixnet implements MXNet 1.x's legacy array semantics; the NumPy-shape switch exists so
that files written under ``npx.set_np()`` (V3 records: 0-d and zero-size arrays) load and
save byte for byte inside ``with mx.util.np_shape(True):``.
"""
from __future__ import annotations

import contextlib
import os
import threading
from typing import Optional

__all__ = ["is_np_shape", "set_np_shape", "np_shape", "is_np_array", "getenv", "setenv"]

class _ThreadState(threading.local):
    np_shape = False  # a class default keeps lookups free of AttributeError handling


_state = _ThreadState()


def is_np_shape() -> bool:
    """Whether NumPy shape semantics (0-d and zero-size arrays, V3 files) are on."""
    return _state.np_shape


def set_np_shape(active: bool) -> bool:
    """Turn NumPy shape semantics on or off for this thread; returns the previous state."""
    prev = is_np_shape()
    _state.np_shape = bool(active)
    return prev


@contextlib.contextmanager
def np_shape(active: bool = True):
    """``with mx.util.np_shape(True):`` scope for :func:`set_np_shape`."""
    prev = set_np_shape(active)
    try:
        yield
    finally:
        set_np_shape(prev)


def is_np_array() -> bool:
    """mixnet keeps MXNet 1.x's ``mx.nd`` arrays; the ``mx.np`` array mode is not on."""
    return False


def getenv(name: str) -> Optional[str]:
    """``mx.util.getenv(name)``: the value of an environment variable or ``None``."""
    return os.environ.get(name)


def setenv(name: str, value: Optional[str]) -> None:
    """``mx.util.setenv(name, value)``: set (or, with ``None``, unset) an env variable."""
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = str(value)
