"""The dependency engine (``mx.engine``).

Every kernel runs as a task that names the vars it reads and writes; writes are ordered
after earlier reads and writes of the same var, independent tasks may run concurrently,
and errors are raised at the next wait on an affected var. ``MXNET_ENGINE_TYPE`` picks
``NaiveEngine`` (synchronous), ``ThreadedEngine`` or ``ThreadedEnginePerDevice`` (the
default); it is read when the engine is first used or by :func:`set_engine_type`.
"""
from __future__ import annotations

import atexit
import contextlib
import logging
import threading
from typing import Any, Callable, Optional, Sequence

from ..base import MXNetError, getenv_str
from .core import Engine
from .naive import NaiveEngine
from .threaded import ThreadedEngine, ThreadedEnginePerDevice, _sync
from .var import ResourceVar, Var

__all__ = ["Engine", "Var", "ResourceVar", "NaiveEngine", "ThreadedEngine", "ThreadedEnginePerDevice",
           "get", "set_engine_type", "engine_type", "push", "push_sync", "new_var",
           "wait_for_var", "wait_for_all", "bulk", "set_bulk_size", "get_bulk_size",
           "synchronous"]

_ENGINES = {"NaiveEngine": NaiveEngine, "ThreadedEngine": ThreadedEngine,
            "ThreadedEnginePerDevice": ThreadedEnginePerDevice}
_DEFAULT = "ThreadedEnginePerDevice"
_switch_lock = threading.Lock()
_current: list = [None]


def _create(name: str) -> Engine:
    cls = _ENGINES.get(name)
    if cls is None:
        raise MXNetError("Cannot find Engine %r (MXNET_ENGINE_TYPE); known engines: %s"
                         % (name, ", ".join(_ENGINES)))
    if name != _DEFAULT:
        logging.getLogger("mixnet").info("MXNet start using engine: %s", name)
    return cls()


def get() -> Engine:
    """The engine in use, created from ``MXNET_ENGINE_TYPE`` on first call."""
    eng = _current[0]
    if eng is None:
        with _switch_lock:
            eng = _current[0]
            if eng is None:
                eng = _current[0] = _create(getenv_str("MXNET_ENGINE_TYPE", _DEFAULT))
    return eng


def engine_type() -> str:
    """Name of the engine in use (``'NaiveEngine'``, ...)."""
    return get().type_name


def set_engine_type(name: Optional[str] = None) -> str:
    """Switch engines after draining the current one; ``None`` re-reads
    ``MXNET_ENGINE_TYPE``. Returns the previous engine's name. Pending errors of the old
    engine are raised here rather than lost."""
    new = _create(name or getenv_str("MXNET_ENGINE_TYPE", _DEFAULT))
    with _switch_lock:
        old = _current[0]
        _current[0] = new
    if old is None:
        return new.type_name
    try:
        old.wait_for_all()
    finally:
        old.stop()
    return old.type_name


def new_var(name: Optional[str] = None) -> Var:
    """A fresh engine variable (resource tag)."""
    return Var(name)


def push(fn: Callable[[], Any], ctx: Any, const_vars: Sequence[Var] = (),
         mutable_vars: Sequence[Var] = (), priority: int = 0, name: Optional[str] = None,
         cost: int = 0) -> None:
    """``Engine::PushAsync``: schedule ``fn()`` reading ``const_vars`` and writing
    ``mutable_vars``; see :meth:`Engine.push`."""
    get().push(fn, ctx, const_vars, mutable_vars, priority, name, cost)


def push_sync(fn: Callable[[], Any], ctx: Any, const_vars: Sequence[Var] = (),
              mutable_vars: Sequence[Var] = (), name: Optional[str] = None) -> Any:
    """Run ``fn`` in dependency order and wait for it; return its result or raise."""
    return get().push_sync(fn, ctx, const_vars, mutable_vars, name)


def wait_for_var(var: Var) -> None:
    """Block until the writes of ``var`` pushed so far are done; raise a stored error."""
    get().wait_for_var(var)


def wait_for_all() -> None:
    """Block until all pushed work is done; raise the first pending error."""
    get().wait_for_all()


class synchronous:
    """``with engine.synchronous():`` every task this thread pushes runs on this thread
    before ``push`` returns (after the tasks it depends on). Python code that runs inside
    an engine task and itself uses NDArrays (custom operators) uses it, so it never waits
    for workers that may be busy running it."""

    def __enter__(self) -> "synchronous":
        self._prev = getattr(_sync, "on", False)
        _sync.on = True
        return self

    def __exit__(self, *exc: Any) -> None:
        _sync.on = self._prev


# ----------------------------------------------------------------------------- bulking
_bulk = threading.local()


def get_bulk_size() -> int:
    """The bulk size of this thread (0 or 1 = no bulking)."""
    return getattr(_bulk, "size", 0)


def set_bulk_size(size: int) -> int:
    """``mx.engine.set_bulk_size(size)``: the largest number of consecutive operators a
    bound executor fuses into one engine task (per thread). Returns the previous value."""
    if int(size) < 0:
        raise MXNetError("bulk size must be >= 0, got %r" % (size,))
    prev = get_bulk_size()
    _bulk.size = int(size)
    return prev


@contextlib.contextmanager
def bulk(size: int):
    """``with mx.engine.bulk(size):`` scope for :func:`set_bulk_size`."""
    prev = set_bulk_size(size)
    try:
        yield
    finally:
        set_bulk_size(prev)


def _drain_at_exit() -> None:
    eng = _current[0]
    if isinstance(eng, ThreadedEngine):
        eng.wait_for_all_quietly()


atexit.register(_drain_at_exit)
