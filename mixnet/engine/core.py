"""What every engine shares: error capture on vars, the pending-error list, and the
public push/wait contract. The concrete schedulers live in ``naive.py``/``threaded.py``."""
from __future__ import annotations

import os
import threading
import traceback
from typing import Any, Callable, Optional, Sequence

from ..base import MXNetError, getenv_int
from .var import Opr, Var


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _dedupe(const_vars: Sequence[Var], mutable_vars: Sequence[Var]):
    """Drop repeated vars, and reads of vars the task also writes: a task must not wait on
    itself. The common case (no repeats) is detected with one set construction."""
    n = len(const_vars) + len(mutable_vars)
    if n > 1 and len({*const_vars, *mutable_vars}) != n:
        mutable_vars = list(dict.fromkeys(mutable_vars))
        mset = set(mutable_vars)
        const_vars = [v for v in dict.fromkeys(const_vars) if v not in mset]
    return const_vars, mutable_vars


class Engine:
    """Base of the dependency engines: ``push`` a task naming the vars it reads and writes;
    ``wait_for_var``/``wait_for_all`` block. A task's exception is stored on the vars it
    writes (and on the vars of tasks that depend on them) and raised at the next wait."""

    type_name = "Engine"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: list = []
        self._debug = getenv_int("MXNET_ENGINE_INFO", 0) > 0
        self.bulk_size = 0

    # ------------------------------------------------------------------ public API
    def new_var(self, name: Optional[str] = None) -> Var:
        """A fresh resource tag."""
        return Var(name)

    def push(self, fn: Callable[[], Any], ctx: Any, const_vars: Sequence[Var] = (),
             mutable_vars: Sequence[Var] = (), priority: int = 0, name: Optional[str] = None,
             cost: int = 0) -> None:
        """Schedule ``fn()`` after every earlier write of ``const_vars`` and every earlier
        read and write of ``mutable_vars``. ``cost`` (element operations, 0 = tiny) lets a
        threaded engine run cheap ready tasks on the caller's thread."""
        raise NotImplementedError

    def push_sync(self, fn: Callable[[], Any], ctx: Any, const_vars: Sequence[Var] = (),
                  mutable_vars: Sequence[Var] = (), name: Optional[str] = None) -> Any:
        """Run ``fn`` in dependency order, wait for it, and return its result; raises the
        error of a failed dependency or of ``fn`` itself."""
        raise NotImplementedError

    def wait_for_var(self, var: Var) -> None:
        """Block until every write of ``var`` pushed so far has run; raise its error."""
        raise NotImplementedError

    def wait_for_all(self) -> None:
        """Block until all pushed work is done, then raise the first error not yet reported
        (``mx.nd.waitall()``)."""
        raise NotImplementedError

    def stop(self) -> None:
        """Finish pending work and release worker threads."""

    # ------------------------------------------------------------------ helpers
    def _site(self) -> Optional[str]:
        """Where user code pushed the current op (debug mode): the innermost frames outside
        the mixnet package."""
        if not self._debug:
            return None
        frames = [f for f in traceback.extract_stack()
                  if not f.filename.startswith(_PACKAGE_DIR)]
        return "".join(traceback.format_list(frames[-3:]))

    def _wrap(self, e: BaseException, opr: Opr) -> MXNetError:
        name = opr.name or getattr(opr.fn, "__name__", "task")
        msg = "Error in operator %s: %s" % (name, e if isinstance(e, MXNetError)
                                             else "%s: %s" % (type(e).__name__, e))
        if opr.site:
            msg += "\nThe operator was pushed at:\n" + opr.site
        err = MXNetError(msg)
        err.__cause__ = e
        return err

    def _failed_dependency(self, opr: Opr) -> Optional[BaseException]:
        for v in opr.const_vars:
            if v.exc is not None:
                return v.exc
        for v in opr.mutable_vars:
            if v.exc is not None:
                return v.exc
        return None

    def _call(self, fn: Callable[[], Any], ctx: Any, const_vars: Sequence[Var],
              mutable_vars: Sequence[Var], name: Optional[str]) -> Optional[BaseException]:
        """Run ``fn`` on this thread unless a var it touches holds an error; return the
        error to record on what it writes (a new one is also queued for ``waitall``)."""
        for v in const_vars:
            if v.exc is not None:
                return v.exc
        for v in mutable_vars:
            if v.exc is not None:
                return v.exc
        try:
            fn()
            return None
        except BaseException as e:  # noqa: BLE001 - kept on the vars, raised at the wait
            opr = Opr(fn, ctx, const_vars, mutable_vars, 0, name)
            opr.site = self._site()
            exc = self._wrap(e, opr)
            self._failures.append(exc)
            return exc

    def _run(self, opr: Opr) -> Optional[BaseException]:
        """Run the task unless a dependency failed; return the error to record (if any)
        and whether it is new."""
        exc = self._failed_dependency(opr)
        if exc is not None:
            return exc
        try:
            opr.result = opr.fn()
        except BaseException as e:  # noqa: BLE001 - kept on the vars, raised at the wait
            exc = self._wrap(e, opr)
            self._failures.append(exc)
        return exc

    def _raise(self, exc: BaseException) -> None:
        with self._lock:
            try:
                self._failures.remove(exc)
            except ValueError:
                pass
        raise exc

    def _raise_pending(self) -> None:
        with self._lock:
            fails, self._failures = self._failures, []
        if fails:
            if len(fails) > 1:
                raise MXNetError("%s\n(%d more operator errors were pending)"
                                 % (fails[0], len(fails) - 1)) from fails[0]
            raise fails[0]
