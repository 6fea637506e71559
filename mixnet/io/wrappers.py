"""Iterators wrapping other iterators: ``ResizeIter`` (fixed epoch length) and
``PrefetchingIter`` (background threads fetch the next batch while the current one is
used, and several iterators are merged into one).

``PrefetchingIter`` keeps MXNet's contract (one batch ahead per wrapped iterator; data and
labels of the wrapped iterators concatenated in order; optional renaming) and adds what
MXNet's version lacks: an exception raised by a wrapped iterator is re-raised by ``next()``
in the consumer thread, and the worker threads hold no reference to the ``PrefetchingIter``,
so dropping it (or calling ``close()``) stops and joins them instead of leaking them.
"""
from __future__ import annotations

import threading
import weakref
from typing import Any, Optional

from ..base import MXNetError
from .base import DataBatch, DataDesc, DataIter

__all__ = ["ResizeIter", "PrefetchingIter"]


class _BatchHoldingIter(DataIter):
    """A wrapper iterator whose ``iter_next`` leaves the current ``DataBatch`` in
    ``current_batch``; the ``get*`` accessors read it."""

    current_batch: Optional[DataBatch]

    def getdata(self) -> list:
        return self.current_batch.data

    def getlabel(self) -> list:
        return self.current_batch.label

    def getindex(self) -> Any:
        return self.current_batch.index

    def getpad(self) -> int:
        return self.current_batch.pad


class ResizeIter(_BatchHoldingIter):
    """``mx.io.ResizeIter(data_iter, size, reset_internal=True)``: an epoch of exactly
    ``size`` batches of ``data_iter``, which is reset whenever it runs out before that.

    With ``reset_internal`` the wrapped iterator is reset together with this one;
    otherwise the next epoch continues where the previous one stopped."""

    def __init__(self, data_iter: DataIter, size: int, reset_internal: bool = True):
        super().__init__()
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise MXNetError("ResizeIter: size must be a non-negative integer, got %r"
                             % (size,))
        self.data_iter = data_iter
        self.size = size
        self.reset_internal = reset_internal
        self.cur = 0
        self.current_batch: Optional[DataBatch] = None
        self.provide_data = data_iter.provide_data
        self.provide_label = data_iter.provide_label
        self.batch_size = data_iter.batch_size
        if hasattr(data_iter, "default_bucket_key"):
            self.default_bucket_key = data_iter.default_bucket_key

    def reset(self) -> None:
        """Start a new epoch of ``size`` batches."""
        self.cur = 0
        if self.reset_internal:
            self.data_iter.reset()

    def iter_next(self) -> bool:
        """Fetch the next batch of the wrapped iterator, resetting it when exhausted."""
        if self.cur == self.size:
            return False
        try:
            self.current_batch = self.data_iter.next()
        except StopIteration:
            self.data_iter.reset()
            try:
                self.current_batch = self.data_iter.next()
            except StopIteration:
                raise MXNetError("ResizeIter: the wrapped %s yields no batch even right "
                                 "after reset()" % type(self.data_iter).__name__) from None
        self.cur += 1
        return True


class _Worker:
    """One background thread fetching batches of one iterator, at most one ahead.

    States: a fetch is requested (``_want``), running, or done with its outcome in
    ``_result`` as ``(batch or None at the end, exception or None)``. The consumer
    requests, takes, and (for ``reset``) drains; only it touches the iterator while no
    fetch is pending."""

    def __init__(self, it: DataIter, index: int):
        self.it = it
        self._cond = threading.Condition()
        self._want = False
        self._busy = False
        self._result: Optional[tuple] = None
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name="PrefetchingIter-%d" % index)
        self._thread.start()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._want and not self._stop:
                    self._cond.wait()
                if self._stop:
                    return
                self._want = False
                self._busy = True
            try:
                outcome = (self.it.next(), None)
            except StopIteration:
                outcome = (None, None)
            except BaseException as e:  # handed to the consumer, who re-raises it
                outcome = (None, e)
            with self._cond:
                self._result = outcome
                self._busy = False
                self._cond.notify_all()

    def request(self) -> None:
        with self._cond:
            if self._result is None and not self._busy:
                self._want = True
                self._cond.notify_all()

    def take(self) -> tuple:
        """The outcome of the pending fetch (requesting one when none is pending)."""
        with self._cond:
            if self._result is None and not self._busy and not self._want:
                self._want = True
                self._cond.notify_all()
            while self._result is None:
                self._cond.wait()
            out, self._result = self._result, None
            return out

    def drain(self) -> None:
        """Wait for any running or requested fetch and discard its outcome."""
        with self._cond:
            while self._want or self._busy:
                self._cond.wait()
            self._result = None

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._want = False
            self._cond.notify_all()
        if self._thread is not threading.current_thread():
            self._thread.join()


def _stop_workers(workers: list) -> None:
    for w in workers:
        w.stop()


class PrefetchingIter(_BatchHoldingIter):
    """``mx.io.PrefetchingIter(iters, rename_data=None, rename_label=None)``: wrap one
    iterator or a list of them; a background thread per iterator fetches its next batch
    while the current one is in use, and each ``DataBatch`` concatenates the data and the
    labels of all wrapped iterators (which must have equal lengths and pads).

    ``rename_data``/``rename_label`` are lists (one per iterator) of dicts mapping the
    wrapped iterators' names to new names in ``provide_data``/``provide_label``. An
    exception raised by a wrapped iterator surfaces from ``next()``. ``close()`` (also run
    when the object is garbage-collected) stops the threads."""

    def __init__(self, iters: Any, rename_data: Optional[list] = None,
                 rename_label: Optional[list] = None):
        super().__init__()
        if not isinstance(iters, (list, tuple)):
            iters = [iters]
        if not iters:
            raise MXNetError("PrefetchingIter: iters is an empty list")
        for name, ren in (("rename_data", rename_data), ("rename_label", rename_label)):
            if ren is not None and len(ren) != len(iters):
                raise MXNetError("PrefetchingIter: %s needs one dict per iterator (%d), got %d"
                                 % (name, len(iters), len(ren)))
        self.n_iter = len(iters)
        self.iters = list(iters)
        self.rename_data = rename_data
        self.rename_label = rename_label
        self.batch_size = self.provide_data[0][1][0]
        self.current_batch: Optional[DataBatch] = None
        self._exhausted = False
        self._workers = [_Worker(it, i) for i, it in enumerate(self.iters)]
        # the workers never reference self, so this finalizer can run and stop them
        self._finalizer = weakref.finalize(self, _stop_workers, self._workers)
        for w in self._workers:
            w.request()

    def close(self) -> None:
        """Stop and join the prefetching threads (idempotent)."""
        self._finalizer()

    def _renamed(self, attr: str, renames: Optional[list]) -> list:
        if renames is None:
            return sum([list(getattr(it, attr)) for it in self.iters], [])
        out = []
        for ren, it in zip(renames, self.iters):
            for x in getattr(it, attr):
                d = x if isinstance(x, DataDesc) else DataDesc(*x)
                out.append(DataDesc(ren.get(d.name, d.name), d.shape, d.dtype, d.layout))
        return out

    @property
    def provide_data(self) -> list:
        """The data descriptions of all wrapped iterators, in order (renamed)."""
        return self._renamed("provide_data", self.rename_data)

    @property
    def provide_label(self) -> list:
        """The label descriptions of all wrapped iterators, in order (renamed)."""
        return self._renamed("provide_label", self.rename_label)

    def reset(self) -> None:
        """Wait for the fetches in flight, reset every wrapped iterator and prefetch the
        first batches of the new epoch."""
        if not self._finalizer.alive:
            raise MXNetError("PrefetchingIter: reset() after close()")
        for w in self._workers:
            w.drain()
        for it in self.iters:
            it.reset()
        self._exhausted = False
        for w in self._workers:
            w.request()

    def iter_next(self) -> bool:
        """Take the prefetched batches (re-raising a wrapped iterator's exception) and
        start fetching the following ones."""
        if self._exhausted:
            return False
        if not self._finalizer.alive:
            raise MXNetError("PrefetchingIter: next() after close()")
        outcomes = [w.take() for w in self._workers]
        for batch, err in outcomes:
            if err is not None:
                # the sibling batches of this step are dropped with it; the next call
                # requests fresh ones
                raise err
        batches = [b for b, _ in outcomes]
        if batches[0] is None or any(b is None for b in batches):
            if any(b is not None for b in batches):
                raise MXNetError("PrefetchingIter: the wrapped iterators have different "
                                 "numbers of batches")
            self._exhausted = True
            return False
        if any(b.pad != batches[0].pad for b in batches):
            raise MXNetError("PrefetchingIter: the wrapped iterators' batches have different "
                             "pads %s" % [b.pad for b in batches])
        self.current_batch = DataBatch(
            sum([list(b.data) for b in batches], []),
            sum([list(b.label or []) for b in batches], []),
            batches[0].pad, batches[0].index,
            provide_data=self.provide_data, provide_label=self.provide_label)
        for w in self._workers:
            w.request()
        return True

    def next(self) -> DataBatch:
        if self.iter_next():
            return self.current_batch
        raise StopIteration
