"""Threaded engines: tasks become ready when their vars grant access and run on worker
threads; a ready task that is cheap runs on the caller's thread at once, so tiny ops do not
pay a thread hand-off. ``ThreadedEnginePerDevice`` keeps a worker pool per device (the
default engine); ``ThreadedEngine`` shares one pool among all devices."""
from __future__ import annotations

import heapq
import itertools
import threading
from typing import Any, Callable, Optional, Sequence

from ..base import getenv_int
from .core import Engine, _dedupe
from .var import Opr, Var

# set by ``engine.synchronous()``: tasks pushed from this thread run on it, in order
_sync = threading.local()


class _Pool:
    """Worker threads draining a priority queue of ready tasks (higher priority first, then
    push order). Threads start lazily on the first task."""

    def __init__(self, engine: "ThreadedEngine", nthreads: int, label: str):
        self._engine = engine
        self._nthreads = max(1, nthreads)
        self._label = label
        self._heap: list = []
        self._cv = threading.Condition(threading.Lock())
        self._threads: list = []
        self._stopping = False

    def put(self, opr: Opr) -> None:
        with self._cv:
            heapq.heappush(self._heap, (-opr.priority, opr.seq, opr))
            if len(self._threads) < self._nthreads:
                t = threading.Thread(target=self._loop, name="mixnet-%s-%d"
                                     % (self._label, len(self._threads)), daemon=True)
                self._threads.append(t)
                t.start()
            self._cv.notify()

    def _loop(self) -> None:
        execute = self._engine._execute
        while True:
            with self._cv:
                while not self._heap and not self._stopping:
                    self._cv.wait()
                if not self._heap:
                    return
                opr = heapq.heappop(self._heap)[2]
            execute(opr)

    def stop(self) -> None:
        with self._cv:
            self._stopping = True
            self._cv.notify_all()
        for t in self._threads:
            if t is not threading.current_thread():
                t.join()


class ThreadedEngine(Engine):
    """Dependency engine with worker threads; one shared pool (``MXNET_ENGINE_TYPE=
    ThreadedEngine``). ``MXNET_ENGINE_INLINE_COST`` (default 65536 element operations) is
    the largest task a ready caller runs itself instead of handing it to a worker."""

    type_name = "ThreadedEngine"

    def __init__(self) -> None:
        super().__init__()
        self._cv = threading.Condition(self._lock)
        self._pending = 0
        self._seq = itertools.count()
        self._pools: dict = {}
        self._inline_max = getenv_int("MXNET_ENGINE_INLINE_COST", 1 << 16)

    # ------------------------------------------------------------------ pools
    def _pool_key(self, ctx: Any) -> Any:
        return "all"

    def _pool_threads(self, ctx: Any) -> int:
        return max(4, getenv_int("MXNET_CPU_WORKER_NTHREADS", 1))

    def _pool(self, ctx: Any) -> _Pool:
        key = self._pool_key(ctx)
        pool = self._pools.get(key)
        if pool is None:
            with self._lock:
                pool = self._pools.get(key)
                if pool is None:
                    pool = self._pools[key] = _Pool(self, self._pool_threads(ctx), str(key))
        return pool

    # ------------------------------------------------------------------ scheduling
    def _register(self, opr: Opr) -> bool:
        """Queue ``opr`` on its vars; True when every var granted access at once."""
        wait = 0
        with self._lock:
            self._pending += 1
            for v in opr.const_vars:
                if not v.append_read(opr):
                    wait += 1
            for v in opr.mutable_vars:
                if not v.append_write(opr):
                    wait += 1
            opr.wait = wait
        return wait == 0

    def push(self, fn: Callable[[], Any], ctx: Any, const_vars: Sequence[Var] = (),
             mutable_vars: Sequence[Var] = (), priority: int = 0, name: Optional[str] = None,
             cost: int = 0) -> None:
        const_vars, mutable_vars = _dedupe(const_vars, mutable_vars)
        if cost <= self._inline_max and not self._debug and \
                self._try_inline(fn, ctx, const_vars, mutable_vars, name):
            return
        if getattr(_sync, "on", False):
            self._push_blocking(fn, ctx, const_vars, mutable_vars, name)
            return
        opr = Opr(fn, ctx, const_vars, mutable_vars, priority, name)
        if self._debug:
            opr.site = self._site()
        if self._register(opr):
            if cost <= self._inline_max:
                self._execute(opr)
            else:
                opr.seq = next(self._seq)
                self._pool(ctx).put(opr)

    def _try_inline(self, fn: Callable[[], Any], ctx: Any, const_vars: Sequence[Var],
                    mutable_vars: Sequence[Var], name: Optional[str]) -> bool:
        """The common case of imperative code: every var is idle, so take them, run the
        task on this thread and release them, without queueing bookkeeping."""
        with self._lock:
            for v in const_vars:
                if v.writing or v.queue:
                    return False
            for v in mutable_vars:
                if v.writing or v.num_reads or v.queue:
                    return False
            for v in const_vars:
                v.num_reads += 1
            for v in mutable_vars:
                v.writing = True
            self._pending += 1
        exc = self._call(fn, ctx, const_vars, mutable_vars, name)
        self._release(const_vars, mutable_vars, exc)
        return True

    def _release(self, const_vars: Sequence[Var], mutable_vars: Sequence[Var],
                 exc: Optional[BaseException], opr: Optional[Opr] = None) -> None:
        """Finish a task: record its error, release its vars, hand newly ready tasks to
        the workers."""
        granted: list = []
        with self._lock:
            if exc is not None:
                if opr is not None:
                    opr.exc = exc
                for v in mutable_vars:
                    v.exc = exc
            for v in const_vars:
                v.complete_read(granted)
            for v in mutable_vars:
                v.complete_write(granted)
            ready = []
            for g in granted:
                g.wait -= 1
                if g.wait == 0:
                    g.seq = next(self._seq)
                    ready.append(g)
            self._pending -= 1
            if self._pending == 0:
                self._cv.notify_all()
        if opr is not None and opr.done is not None:
            opr.done.set()
        for g in ready:
            self._pool(g.ctx).put(g)

    def _push_blocking(self, fn: Callable[[], Any], ctx: Any, const_vars: Sequence[Var],
                       mutable_vars: Sequence[Var], name: Optional[str] = None) -> Opr:
        """Run a task and return once it is done: on this thread when its vars are free
        (always so for the fresh arrays of a custom op's body), else on a worker. Its
        error stays on its vars (and on the returned record) like an asynchronous task's."""
        opr = Opr(fn, ctx, const_vars, mutable_vars, 0, name)
        opr.done = threading.Event()
        if self._register(opr):
            self._execute(opr)
        else:
            opr.done.wait()
        return opr

    def push_sync(self, fn: Callable[[], Any], ctx: Any, const_vars: Sequence[Var] = (),
                  mutable_vars: Sequence[Var] = (), name: Optional[str] = None) -> Any:
        const_vars, mutable_vars = _dedupe(const_vars, mutable_vars)
        opr = self._push_blocking(fn, ctx, const_vars, mutable_vars, name)
        if opr.exc is not None:
            self._raise(opr.exc)
        return opr.result

    def wait_for_var(self, var: Var) -> None:
        if var.writing or var.queue:
            self.push_sync(_noop, None, (var,), (), name="wait_for_var")
        elif var.exc is not None:
            self._raise(var.exc)

    def wait_for_all(self) -> None:
        with self._cv:
            while self._pending:
                self._cv.wait()
        self._raise_pending()

    def _execute(self, opr: Opr) -> None:
        self._release(opr.const_vars, opr.mutable_vars, self._run(opr), opr)

    def stop(self) -> None:
        self.wait_for_all_quietly()
        for pool in list(self._pools.values()):
            pool.stop()
        self._pools.clear()

    def wait_for_all_quietly(self) -> None:
        """Drain pending work without raising (used when swapping engines and at exit)."""
        with self._cv:
            while self._pending:
                self._cv.wait()


def _noop() -> None:
    return None


class ThreadedEnginePerDevice(ThreadedEngine):
    """The default engine: a worker pool per device, ``MXNET_CPU_WORKER_NTHREADS`` (1)
    threads for each CPU context and ``MXNET_GPU_WORKER_NTHREADS`` (2) for each GPU."""

    type_name = "ThreadedEnginePerDevice"

    def _pool_key(self, ctx: Any) -> Any:
        if ctx is None:
            return (1, 0)
        return (ctx.device_typeid, ctx.device_id)

    def _pool_threads(self, ctx: Any) -> int:
        if ctx is not None and ctx.device_typeid == 2:
            return getenv_int("MXNET_GPU_WORKER_NTHREADS", 2)
        return getenv_int("MXNET_CPU_WORKER_NTHREADS", 1)
