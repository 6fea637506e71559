"""``mx.name``: automatic names for symbols created without one.

``NameManager`` numbers unnamed ops per hint (the lower-cased op name): ``fullyconnected0``,
``fullyconnected1`` ...; ``Prefix`` additionally prepends a prefix to every name, given or
automatic. Managers nest with ``with``; the innermost one is current on each thread.
"""
from __future__ import annotations

import threading
from typing import Optional

__all__ = ["NameManager", "Prefix", "current"]

_local = threading.local()


class NameManager:
    """``with mx.name.NameManager():`` a fresh counter per name hint."""

    def __init__(self):
        self._counter: dict = {}
        self._old: Optional["NameManager"] = None

    def get(self, name: Optional[str], hint: str) -> str:
        """``name`` if given, else ``<hint><n>`` with a per-hint counter."""
        if name:
            return name
        n = self._counter.get(hint, 0)
        self._counter[hint] = n + 1
        return "%s%d" % (hint, n)

    def __enter__(self) -> "NameManager":
        self._old = current()
        _local.current = self
        return self

    def __exit__(self, *exc) -> None:
        _local.current = self._old


class Prefix(NameManager):
    """``with mx.name.Prefix('net_'):`` prepend ``prefix`` to every name."""

    def __init__(self, prefix: str):
        super().__init__()
        self._prefix = prefix

    def get(self, name: Optional[str], hint: str) -> str:
        return self._prefix + super().get(name, hint)


def current() -> NameManager:
    """The name manager in effect on this thread."""
    mgr = getattr(_local, "current", None)
    if mgr is None:
        mgr = _local.current = NameManager()
    return mgr
