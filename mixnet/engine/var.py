"""Engine variables (resource tags) and the blocks of pushed work that wait on them."""
from __future__ import annotations

from collections import deque
from typing import Any, Callable, Optional


class Var:
    """A resource tag: every task names the vars it reads and the vars it writes.

    The dependency state lives here (guarded by the owning engine's lock): ``queue`` holds
    tasks not yet granted access in push order, ``num_reads`` counts granted readers,
    ``writing`` is true while a granted writer runs. ``exc`` keeps the error of a failed
    write; it stays on the var, so every later read of it raises the same error."""

    __slots__ = ("queue", "num_reads", "writing", "exc", "name", "__weakref__")

    def __init__(self, name: Optional[str] = None):
        self.queue: deque = deque()
        self.num_reads = 0
        self.writing = False
        self.exc: Optional[BaseException] = None
        self.name = name

    def __repr__(self):
        state = "writing" if self.writing else "reads=%d" % self.num_reads
        return "<Var %s %s queued=%d%s>" % (self.name or hex(id(self)), state, len(self.queue),
                                             " failed" if self.exc is not None else "")

    # The methods below are called with the engine lock held. Each returns whether access
    # was granted at once; later grants are returned by the complete_* methods.
    def append_read(self, opr: "Opr") -> bool:
        if not self.writing and not self.queue:
            self.num_reads += 1
            return True
        self.queue.append((opr, False))
        return False

    def append_write(self, opr: "Opr") -> bool:
        if not self.writing and self.num_reads == 0 and not self.queue:
            self.writing = True
            return True
        self.queue.append((opr, True))
        return False

    def complete_read(self, granted: list) -> None:
        self.num_reads -= 1
        if self.num_reads == 0 and self.queue:
            # only a writer can be at the head while reads were active
            opr, _ = self.queue.popleft()
            self.writing = True
            granted.append(opr)

    def complete_write(self, granted: list) -> None:
        self.writing = False
        q = self.queue
        if not q:
            return
        if q[0][1]:
            self.writing = True
            granted.append(q.popleft()[0])
            return
        while q and not q[0][1]:
            self.num_reads += 1
            granted.append(q.popleft()[0])

    def idle_for_read(self) -> bool:
        """No write is running or queued, so a read may proceed now."""
        return not self.writing and not self.queue


class ResourceVar(Var):
    """A var guarding a shared resource (a device's random generator): tasks write it to be
    ordered, but a failing task does not poison it, so one bad op cannot disable every
    later op that needs the resource."""

    __slots__ = ()

    @property
    def exc(self) -> None:
        return None

    @exc.setter
    def exc(self, value: Optional[BaseException]) -> None:
        pass


class Opr:
    """One pushed task: the function, the vars it reads/writes, and bookkeeping."""

    __slots__ = ("fn", "ctx", "const_vars", "mutable_vars", "priority", "name", "wait",
                 "seq", "site", "done", "exc", "result")

    def __init__(self, fn: Callable[[], Any], ctx: Any, const_vars, mutable_vars,
                 priority: int, name: Optional[str]):
        self.fn = fn
        self.ctx = ctx
        self.const_vars = const_vars
        self.mutable_vars = mutable_vars
        self.priority = priority
        self.name = name
        self.wait = 0
        self.seq = 0
        self.site: Optional[str] = None
        self.done: Any = None
        self.exc: Optional[BaseException] = None
        self.result: Any = None
