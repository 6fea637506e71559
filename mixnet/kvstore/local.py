"""The single-process stores: ``local`` and ``device`` (``nccl`` is an alias of
``device``; any other non-``dist`` name, e.g. ``horovod``, is a ``local`` store, as in
MXNet 1.9).

How a key moves through the store (MXNet's semantics):

* ``init`` keeps a private copy of the value: on ``cpu(0)`` for ``local``, on the value's
  own context for ``device``. A key can be initialised once.
* ``push`` sums the pushed arrays (one per device) on the stored copy's context. With an
  updater (``set_optimizer`` or ``_set_updater``) the store then calls
  ``updater(key, summed, stored)``, which updates ``stored`` in place; without one, the sum
  **replaces** the stored value.
* ``pull`` copies the stored value into every output array.

Everything is NDArray operations (``copyto``, ``add_n``, the optimizer's update ops), so
the calls return at once and the engine orders each read and write of the stored copy;
nothing on the push/pull path waits for a result or copies to the host. Merge and staging
buffers are allocated once per key and reused. ``priority`` is accepted for compatibility
and ignored: the engine orders work by data dependencies only.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from ..base import MXNetError, dtype_name
from ..context import Context
from ..fileutil import atomic_write
from ..ndarray import NDArray
from ..ndarray import add_n as _add_n
from ..ndarray import array as _nd_array
from ..ndarray import broadcast_mul as _broadcast_mul
from ..ndarray import empty as _empty
from ..ndarray import zeros as _zeros
from ..ndarray.sparse import BaseSparseNDArray, RowSparseNDArray
from .base import KVStoreBase, _group_pairs, _register_native

__all__ = ["KVStore"]

_CPU0 = Context("cpu", 0)


def _dense(v: Any) -> NDArray:
    # Sparse values are stored densely here (see row_sparse_pull); converting reads the
    # components on the host, which only sparse callers pay.
    if isinstance(v, BaseSparseNDArray):
        return v.tostype("default")
    return v


class KVStore(KVStoreBase):
    """``mx.kv.KVStore``: the single-process key-value store made by ``mx.kv.create(
    'local')`` / ``create('device')``.

    MXNet methods: ``init(key, value)``, ``push(key, value, priority=0)``, ``pull(key,
    out=None, priority=0, ignore_sparse=True)``, ``pushpull(key, value, out=None,
    priority=0)``, ``broadcast(key, value, out, priority=0)``, ``row_sparse_pull(key,
    out=None, priority=0, row_ids=None)``, ``set_optimizer(optimizer)``,
    ``_set_updater(updater)``, ``set_gradient_compression(compression_params)``,
    ``save_optimizer_states(fname, dump_optimizer=False)``, ``load_optimizer_states(
    fname)``, ``is_capable(capability)``, ``_barrier()`` and the properties ``type``,
    ``rank`` (0) and ``num_workers`` (1). Keys are ints or strs, never both in one store.
    """

    def __init__(self, name: str = "local"):
        self._type = name
        # 'device' keeps and reduces each key on the context of its initial value
        self._on_device = "device" in name or "nccl" in name
        self._store: Dict[Any, NDArray] = {}
        self._str_keys: Optional[bool] = None
        self._updater: Any = None
        self._merge: Dict[Any, NDArray] = {}           # key -> sum buffer
        self._stage: Dict[Tuple[Any, int], NDArray] = {}  # (key, slot) -> copy on store ctx
        self._compression: Optional[dict] = None
        self._residual: Dict[Tuple[Any, int], NDArray] = {}

    # ------------------------------------------------------------------ properties
    @property
    def type(self) -> str:
        """The lower-cased type name the store was created with (``'local'``, ...)."""
        return self._type

    @property
    def rank(self) -> int:
        """Always 0: a single-process store has one worker."""
        return 0

    @property
    def num_workers(self) -> int:
        """Always 1."""
        return 1

    def is_capable(self, capability: str) -> bool:
        """``is_capable(capability)``: True for ``KVStoreBase.OPTIMIZER`` (updates can run
        in the store); ``ValueError`` for an unknown capability, as MXNet."""
        if str(capability).lower() == KVStoreBase.OPTIMIZER:
            return True
        raise ValueError("Unknown capability: %s" % (capability,))

    def _barrier(self) -> None:
        """``_barrier()``: a no-op with a single worker."""

    def _send_command_to_servers(self, head: int, body: str) -> None:
        """``_send_command_to_servers(head, body)``: a no-op, there are no servers."""

    # ------------------------------------------------------------------ helpers
    def _parse(self, key: Any, value: Any, what: str, argname: str = "value") -> list:
        pairs, str_keys = _group_pairs(key, value, what, argname)
        if self._str_keys is None:
            self._str_keys = str_keys
        elif self._str_keys != str_keys:
            raise MXNetError("%s: this kvstore uses %s keys; mixing str and int keys is not "
                             "allowed (got key %r)" % (what, "str" if self._str_keys else "int",
                                                       pairs[0][0]))
        return pairs

    def _lookup(self, key: Any, what: str) -> NDArray:
        stored = self._store.get(key)
        if stored is None:
            raise MXNetError("%s: key %r has not been initialized (call init first)"
                             % (what, key))
        return stored

    @staticmethod
    def _check_like(key: Any, stored: NDArray, arr: Any, what: str, role: str) -> None:
        if tuple(arr.shape) != stored.shape:
            raise MXNetError("%s: key %r: %s shape %s does not match the stored shape %s"
                             % (what, key, role, tuple(arr.shape), stored.shape))
        if np.dtype(arr.dtype) != np.dtype(stored.dtype):
            raise MXNetError("%s: key %r: %s dtype %s does not match the stored dtype %s"
                             % (what, key, role, dtype_name(arr.dtype),
                                dtype_name(stored.dtype)))

    def _buffer(self, cache: dict, slot: Any, like: NDArray, ctx: Context) -> NDArray:
        buf = cache.get(slot)
        if buf is None:
            buf = cache[slot] = _empty(like.shape, ctx, like.dtype)
        return buf

    def _compress(self, key: Any, slot: int, v: NDArray) -> NDArray:
        # 2-bit compression as MXNet's device/dist stores do it: each sender keeps a
        # residual r; r += g; send +t where r >= t, -t where r <= -t, else 0; r -= sent.
        # Only the quantisation matters in one process: the 16-values-per-word packing is
        # a wire format.
        t = self._compression["threshold"]
        r = self._residual.get((key, slot))
        if r is None:
            r = self._residual[(key, slot)] = _zeros(v.shape, v.context, v.dtype)
        r += v
        q = (r >= t) * t - (r <= -t) * t
        r -= q
        return q

    def _reduce(self, key: Any, vals: List[NDArray], stored: NDArray,
                into: Optional[NDArray]) -> NDArray:
        """Sum ``vals`` on ``stored``'s context, into ``into`` when given, else into the
        key's merge buffer (a single value on the right context is returned as is)."""
        if self._compression is not None:
            vals = [self._compress(key, i, v) for i, v in enumerate(vals)]
        ctx = stored.context
        local = []
        for i, v in enumerate(vals):
            if v.context != ctx:
                v = v.copyto(self._buffer(self._stage, (key, i), stored, ctx))
            local.append(v)
        if len(local) == 1:
            if into is None:
                return local[0]
            return local[0].copyto(into)
        out = into if into is not None else self._buffer(self._merge, key, stored, ctx)
        _add_n(*local, out=out)
        return out

    # ------------------------------------------------------------------ init / push / pull
    def init(self, key: Any, value: Any) -> None:
        """``init(key, value)``: store a copy of ``value`` under ``key`` (an int or str, or
        lists of keys and values). Each key takes exactly one value and can be initialised
        only once (``MXNetError`` otherwise). Row-sparse values are stored densely."""
        pairs = self._parse(key, value, "init")
        for k, vals in pairs:
            if len(vals) != 1:
                raise MXNetError("init: duplicate init of key %r (%d values given; init "
                                 "takes one value per key)" % (k, len(vals)))
            if k in self._store:
                raise MXNetError("init: duplicate init of key %r (already initialized)" % (k,))
        for k, vals in pairs:
            v = _dense(vals[0])
            ctx = v.context if self._on_device else _CPU0
            self._store[k] = v.copyto(ctx)

    def push(self, key: Any, value: Any, priority: int = 0) -> None:
        """``push(key, value, priority=0)``: sum ``value`` (an NDArray or a list of
        per-device NDArrays; lists of those for a list of keys) and apply it to the stored
        value: ``updater(key, summed, stored)`` when an updater is set, otherwise the sum
        replaces the stored value. Shapes and dtypes must match the initial value."""
        jobs = []
        # check every key first so a bad entry in a list of keys changes nothing
        for k, vals in self._parse(key, value, "push"):
            stored = self._lookup(k, "push")
            vals = [_dense(v) for v in vals]
            for v in vals:
                self._check_like(k, stored, v, "push", "pushed value")
            jobs.append((k, stored, vals))
        for k, stored, vals in jobs:
            if self._updater is None:
                self._reduce(k, vals, stored, stored)
            else:
                self._updater(k, self._reduce(k, vals, stored, None), stored)

    def pull(self, key: Any, out: Any = None, priority: int = 0,
             ignore_sparse: bool = True) -> None:
        """``pull(key, out=None, priority=0, ignore_sparse=True)``: copy the stored value
        of each key into every array of ``out`` (an NDArray or a list of per-device
        NDArrays; lists of those for a list of keys). Row-sparse outputs are skipped when
        ``ignore_sparse`` is true, else they receive every row."""
        if out is None:
            raise MXNetError("pull: out is required (the arrays to copy key %r into)" % (key,))
        pairs = self._parse(key, out, "pull", "out")
        for k, outs in pairs:
            stored = self._lookup(k, "pull")
            for o in outs:
                self._check_like(k, stored, o, "pull", "out")
        for k, outs in pairs:
            stored = self._store[k]
            for o in outs:
                if isinstance(o, BaseSparseNDArray):
                    if not ignore_sparse:
                        self._fill_sparse(k, stored, o, np.arange(stored.shape[0]))
                    continue
                stored.copyto(o)

    def pushpull(self, key: Any, value: Any, out: Any = None, priority: int = 0) -> None:
        """``pushpull(key, value, out=None, priority=0)``: ``push`` then ``pull`` in one
        call; the result goes to ``out``, or back into ``value`` when ``out`` is None."""
        self.push(key, value, priority)
        self.pull(key, value if out is None else out, priority)

    def broadcast(self, key: Any, value: Any, out: Any, priority: int = 0) -> None:
        """``broadcast(key, value, out, priority=0)``: initialise ``key`` with ``value``
        and pull it into ``out``. As in MXNet's native store a key can be broadcast once
        (it is an ``init``)."""
        if out is None:
            raise MXNetError("broadcast: out is required (the arrays to copy key %r into)"
                             % (key,))
        self.init(key, value)
        self.pull(key, out, priority)

    def row_sparse_pull(self, key: Any, out: Any = None, priority: int = 0,
                        row_ids: Any = None) -> None:
        """``row_sparse_pull(key, out=None, priority=0, row_ids=None)``: pull only the rows
        listed in ``row_ids`` (an NDArray of row indices, duplicates and any order allowed;
        one per output, or a single one for every output of a key).

        This store keeps values densely, so this is the dense fallback: a
        ``RowSparseNDArray`` output receives the listed rows (sorted, unique) as its
        ``data``/``indices``; a dense output receives the listed rows and zeros elsewhere.
        Reading ``row_ids`` waits for them (MXNet also de-duplicates them first)."""
        if out is None:
            raise MXNetError("row_sparse_pull: out is required for key %r" % (key,))
        if row_ids is None:
            raise MXNetError("row_sparse_pull: row_ids is required for key %r" % (key,))
        pairs = self._parse(key, out, "row_sparse_pull", "out")
        # same layout as ``out``: per key an NDArray or a list (one per output)
        rid_groups = dict(_group_pairs(key, row_ids, "row_sparse_pull", "row_ids")[0])
        jobs = []
        for k, outs in pairs:
            stored = self._lookup(k, "row_sparse_pull")
            rids = rid_groups[k]
            if len(rids) == 1 and len(outs) > 1:
                rids = rids * len(outs)
            if len(rids) != len(outs):
                raise MXNetError("row_sparse_pull: key %r: the number of row_ids (%d) does not "
                                 "match the number of outputs (%d)" % (k, len(rids), len(outs)))
            for o, rid in zip(outs, rids):
                self._check_like(k, stored, o, "row_sparse_pull", "out")
                if not isinstance(rid, NDArray):
                    raise MXNetError("row_sparse_pull: key %r: row_ids must be NDArrays, got %s"
                                     % (k, type(rid).__name__))
                jobs.append((k, stored, o, rid))
        for k, stored, o, rid in jobs:
            rows = np.unique(rid.asnumpy().astype(np.int64).ravel())
            nrows = stored.shape[0]
            if rows.size and (rows[0] < 0 or rows[-1] >= nrows):
                raise MXNetError("row_sparse_pull: key %r: row id %d out of range for %d rows"
                                 % (k, rows[0] if rows[0] < 0 else rows[-1], nrows))
            if isinstance(o, BaseSparseNDArray):
                self._fill_sparse(k, stored, o, rows)
            else:
                mask = np.zeros((nrows,) + (1,) * (len(stored.shape) - 1), dtype=stored.dtype)
                mask[rows] = 1
                src = stored if stored.context == o.context else stored.copyto(o.context)
                _broadcast_mul(src, _nd_array(mask, ctx=o.context, dtype=stored.dtype), out=o)

    @staticmethod
    def _fill_sparse(key: Any, stored: NDArray, o: Any, rows: np.ndarray) -> None:
        if not isinstance(o, RowSparseNDArray):
            raise MXNetError("pull: key %r: cannot pull into a %s output (dense or row_sparse "
                             "only)" % (key, o.stype))
        ctx = o.context
        src = stored if stored.context == ctx else stored.copyto(ctx)
        o.data = src[rows] if rows.size else _nd_array(
            np.zeros((0,) + stored.shape[1:], dtype=stored.dtype), ctx=ctx, dtype=stored.dtype)
        o.indices = _nd_array(rows, ctx=ctx, dtype=np.int64)

    # ------------------------------------------------------------------ optimizer
    def set_optimizer(self, optimizer: Any) -> None:
        """``set_optimizer(optimizer)``: run ``optimizer`` on every push from now on, via
        ``mx.optimizer.get_updater(optimizer)`` (an ``Updater`` keeping per-key states)."""
        try:
            from ..optimizer import get_updater
        except ImportError as e:
            raise MXNetError("set_optimizer: mixnet.optimizer is not available (%s)" % e) \
                from None
        self._set_updater(get_updater(optimizer))

    def _set_updater(self, updater: Any) -> None:
        """``_set_updater(updater)``: call ``updater(key, summed_value, stored_value)`` on
        each push instead of replacing the stored value; it must update ``stored_value``
        in place. The key is passed as given to ``push`` (int or str)."""
        if updater is not None and not callable(updater):
            raise MXNetError("_set_updater: updater must be callable, got %s"
                             % type(updater).__name__)
        self._updater = updater

    set_updater = _set_updater

    def set_gradient_compression(self, compression_params: dict) -> None:
        """``set_gradient_compression({'type': '2bit', 'threshold': 0.5})``: quantise every
        pushed array to {-t, 0, +t} with a per-device residual before summing. Only
        ``device`` stores accept it (MXNet: device and dist types); ``local`` raises.
        ``{'type': 'none'}`` turns it off. Call it before pushing."""
        if "device" not in self._type and "nccl" not in self._type:
            raise MXNetError("Gradient compression is not supported for this type of kvstore "
                             "(%r); use a 'device' or 'dist_*' kvstore" % self._type)
        if not isinstance(compression_params, dict) or "type" not in compression_params:
            raise MXNetError("set_gradient_compression: compression_params must be a dict with "
                             "a 'type' key, got %r" % (compression_params,))
        params = dict(compression_params)
        ctype = str(params.pop("type")).lower()
        if ctype == "none":
            self._compression = None
            self._residual.clear()
            return
        if ctype != "2bit":
            raise MXNetError("set_gradient_compression: unknown compression type %r (known: "
                             "2bit, none)" % (ctype,))
        try:
            threshold = float(params.pop("threshold", 0.5))
        except (TypeError, ValueError):
            raise MXNetError("set_gradient_compression: threshold must be a number, got %r"
                             % (compression_params.get("threshold"),)) from None
        if params:
            raise MXNetError("set_gradient_compression: unknown parameters %s for 2bit"
                             % sorted(params))
        if not threshold > 0:
            raise MXNetError("set_gradient_compression: threshold must be greater than 0, "
                             "got %r" % threshold)
        self._compression = {"type": "2bit", "threshold": threshold}
        self._residual.clear()

    def _require_states_updater(self, what: str) -> Any:
        if self._updater is None:
            raise MXNetError("%s: no optimizer is set on this kvstore (call set_optimizer "
                             "first)" % what)
        return self._updater

    def save_optimizer_states(self, fname: str, dump_optimizer: bool = False) -> None:
        """``save_optimizer_states(fname, dump_optimizer=False)``: write the updater's
        states (a pickle, MXNet's ``.states`` format; with ``dump_optimizer`` the optimizer
        too). The file is replaced atomically."""
        updater = self._require_states_updater("save_optimizer_states")
        if not hasattr(updater, "get_states"):
            raise MXNetError("save_optimizer_states: the updater set on this kvstore (%s) has "
                             "no states to save; use set_optimizer" % type(updater).__name__)
        atomic_write(fname, updater.get_states(dump_optimizer))

    def load_optimizer_states(self, fname: str) -> None:
        """``load_optimizer_states(fname)``: restore states written by
        :meth:`save_optimizer_states` into the current updater."""
        updater = self._require_states_updater("load_optimizer_states")
        if not hasattr(updater, "set_states"):
            raise MXNetError("load_optimizer_states: the updater set on this kvstore (%s) "
                             "cannot load states; use set_optimizer" % type(updater).__name__)
        with open(fname, "rb") as f:
            updater.set_states(f.read())

    def __repr__(self) -> str:
        return "<KVStore type=%s keys=%d>" % (self._type, len(self._store))


_register_native("local", KVStore)
