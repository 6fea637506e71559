"""``NaiveEngine``: runs every task synchronously on the caller's thread (for debugging).
Errors are kept on vars and raised at the wait, exactly as the threaded engine does."""
from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

from .core import Engine, _dedupe
from .var import Opr, Var


class NaiveEngine(Engine):
    """Synchronous engine selected with ``MXNET_ENGINE_TYPE=NaiveEngine``."""

    type_name = "NaiveEngine"

    def push(self, fn: Callable[[], Any], ctx: Any, const_vars: Sequence[Var] = (),
             mutable_vars: Sequence[Var] = (), priority: int = 0, name: Optional[str] = None,
             cost: int = 0) -> None:
        # the hot path of every imperative op under this engine: no bookkeeping object
        exc = self._call(fn, ctx, const_vars, mutable_vars, name)
        if exc is not None:
            for v in mutable_vars:
                v.exc = exc

    def push_sync(self, fn: Callable[[], Any], ctx: Any, const_vars: Sequence[Var] = (),
                  mutable_vars: Sequence[Var] = (), name: Optional[str] = None) -> Any:
        const_vars, mutable_vars = _dedupe(const_vars, mutable_vars)
        opr = Opr(fn, ctx, const_vars, mutable_vars, 0, name)
        exc = self._run(opr)
        if exc is not None:
            for v in mutable_vars:
                v.exc = exc
            self._raise(exc)
        return opr.result

    def wait_for_var(self, var: Var) -> None:
        if var.exc is not None:
            self._raise(var.exc)

    def wait_for_all(self) -> None:
        self._raise_pending()
