"""``mx.attribute.AttrScope``: attributes given to every symbol created inside the scope
(e.g. ``ctx_group``, ``lr_mult``); nested scopes merge, inner values win."""
from __future__ import annotations

import threading
from typing import Optional

from .base import MXNetError

__all__ = ["AttrScope", "current"]

_local = threading.local()


class AttrScope:
    """``with mx.AttrScope(ctx_group='dev1'):`` attach string attributes to new symbols."""

    def __init__(self, **kwargs: str):
        for k, v in kwargs.items():
            if not isinstance(v, str):
                raise MXNetError("AttrScope: attribute %s must be a string, got %r" % (k, v))
        self._attr = kwargs
        self._old: Optional["AttrScope"] = None

    def get(self, attr: Optional[dict]) -> dict:
        """The scope's attributes updated with ``attr`` (the explicit ones win)."""
        out = dict(self._attr)
        if attr:
            out.update(attr)
        return out

    def __enter__(self) -> "AttrScope":
        self._old = current()
        merged = AttrScope(**self._old.get(self._attr))
        self._merged = merged
        _local.current = merged
        return self

    def __exit__(self, *exc) -> None:
        _local.current = self._old


def current() -> AttrScope:
    """The attribute scope in effect on this thread."""
    scope = getattr(_local, "current", None)
    if scope is None:
        scope = _local.current = AttrScope()
    return scope
