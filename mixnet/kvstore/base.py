"""``mx.kv.KVStoreBase``, the store registry and ``mx.kv.create``.

MXNet 1.9 conventions kept here:

* ``create(name)`` lower-cases the name and first looks it up in the Python registry that
  ``KVStoreBase.register`` fills (keyed by the lower-cased class name, as MXNet's
  ``teststore``); any other name goes to the built-in stores, chosen by substring as
  MXNet's C++ side does: a name containing ``dist`` is a distributed store, anything else
  (``local``, ``device``, ``nccl``, ``horovod`` ...) a single-process store, with
  ``device``/``nccl`` aggregating on the devices instead of the CPU. ``kv.type`` is the
  lower-cased name.
* The built-in families plug in through :func:`_register_native`: this package registers
  the ``local`` family; the distributed store registers ``dist`` the same way when it
  lands. Until then a ``dist*`` name raises ``MXNetError`` saying so.
* Keys are ints or strs (one kind per store); values are NDArrays, per-device lists of
  NDArrays, or (with a list of keys) a list of either. :func:`_group_pairs` is the one
  place that parses that calling convention, for every store.
"""
from __future__ import annotations

import numbers
import warnings
from typing import Any, Callable, Dict, List, Tuple

from ..base import MXNetError
from ..ndarray import NDArray
from ..ndarray.sparse import BaseSparseNDArray

__all__ = ["KVStoreBase", "create"]

# family name -> factory(type_name) for the built-in stores ("local", later "dist")
_NATIVE: Dict[str, Callable[[str], "KVStoreBase"]] = {}


def _register_native(family: str, factory: Callable[[str], "KVStoreBase"]) -> None:
    """Install the factory that builds the built-in stores of ``family`` (``'local'`` for
    every non-distributed name, ``'dist'`` for names containing ``dist``). The factory is
    called with the lower-cased type name, which the store reports as ``type``."""
    _NATIVE[family] = factory


class KVStoreBase:
    """``mx.kv.KVStoreBase``: the interface every key-value store implements.

    MXNet signature: ``class KVStoreBase(object)`` with ``broadcast(key, value, out,
    priority=0)``, ``pushpull(key, value, out=None, priority=0)``, ``set_optimizer(
    optimizer)``, ``is_capable(capability)``, ``save_optimizer_states(fname,
    dump_optimizer=False)``, ``load_optimizer_states(fname)`` and the properties ``type``,
    ``rank`` and ``num_workers``. Subclasses decorated with :meth:`register` can be built
    by name with :func:`create`. The base methods raise ``NotImplementedError``.
    """

    #: capability name for :meth:`is_capable`: the store can run an optimizer on push
    OPTIMIZER = "optimizer"

    #: lower-cased class name -> class, filled by :meth:`register`
    kv_registry: Dict[str, type] = {}

    def broadcast(self, key: Any, value: Any, out: Any, priority: int = 0) -> None:
        """Broadcast ``value`` (rank 0's) to every rank and write it into ``out``."""
        raise NotImplementedError()

    def pushpull(self, key: Any, value: Any, out: Any = None, priority: int = 0) -> None:
        """Push ``value`` (summed over devices and workers) and pull the result into
        ``out`` (into ``value`` when ``out`` is None)."""
        raise NotImplementedError()

    def set_optimizer(self, optimizer: Any) -> None:
        """Run ``optimizer`` inside the store on every push."""
        raise NotImplementedError()

    def is_capable(self, capability: str) -> bool:
        """Whether the store supports ``capability`` (e.g. :attr:`OPTIMIZER`)."""
        raise NotImplementedError()

    def save_optimizer_states(self, fname: str, dump_optimizer: bool = False) -> None:
        """Write the optimizer states (and the optimizer with ``dump_optimizer``)."""
        raise NotImplementedError()

    def load_optimizer_states(self, fname: str) -> None:
        """Read optimizer states written by :meth:`save_optimizer_states`."""
        raise NotImplementedError()

    @property
    def type(self) -> str:
        """The store's type name, e.g. ``'local'``."""
        raise NotImplementedError()

    @property
    def rank(self) -> int:
        """This worker's rank in ``[0, num_workers)``."""
        raise NotImplementedError()

    @property
    def num_workers(self) -> int:
        """The number of workers."""
        raise NotImplementedError()

    @staticmethod
    def register(klass: type) -> type:
        """``KVStoreBase.register(klass)``: class decorator adding ``klass`` to the registry
        under its lower-cased class name, so ``mx.kv.create('<name>')`` builds it (with no
        arguments). Registering a name twice warns and the newer class wins."""
        if not isinstance(klass, type):
            raise MXNetError("KVStoreBase.register expects a class, got %s"
                             % type(klass).__name__)
        name = klass.__name__.lower()
        old = KVStoreBase.kv_registry.get(name)
        if old is not None and old is not klass:
            warnings.warn("kvstore %s.%s overrides the registered kvstore %s.%s"
                          % (klass.__module__, klass.__name__, old.__module__, old.__name__))
        KVStoreBase.kv_registry[name] = klass
        return klass


@KVStoreBase.register
class TestStore(KVStoreBase):
    """``teststore``: the trivial store MXNet 1.9 registers to exercise the registry.

    ``broadcast`` copies ``value`` into every ``out``; ``pushpull`` sums a list of values
    on the first value's context and writes the sum into ``out`` (or back into the values).
    It holds no state and cannot run an optimizer (``is_capable('optimizer')`` is False).
    """

    def broadcast(self, key: Any, value: Any, out: Any, priority: int = 0) -> None:
        for o in (out if isinstance(out, (list, tuple)) else [out]):
            o[:] = value

    def pushpull(self, key: Any, value: Any, out: Any = None, priority: int = 0) -> None:
        if isinstance(value, NDArray):
            total, targets = value, ([] if out is None else out)
        else:
            ctx = value[0].context
            total = value[0].as_in_context(ctx)
            for v in value[1:]:
                total = total + v.as_in_context(ctx)
            targets = value if out is None else out
        for o in (targets if isinstance(targets, (list, tuple)) else [targets]):
            o[:] = total

    @staticmethod
    def is_capable(capability: str) -> bool:
        if str(capability).lower() == KVStoreBase.OPTIMIZER:
            return False
        raise ValueError("Unknown capability: %s" % (capability,))

    @property
    def type(self) -> str:
        return "teststore"

    @property
    def rank(self) -> int:
        return 0

    @property
    def num_workers(self) -> int:
        return 1


def create(name: str = "local") -> KVStoreBase:
    """``mx.kv.create(name='local')``: a new key-value store.

    ``'local'`` sums pushed values on the CPU and runs the updater there; ``'device'``
    (and ``'nccl'``, an alias here) sums on the context of the key's initial value;
    ``'dist_sync'``, ``'dist_async'``, ``'dist_device_sync'`` are the multi-machine
    stores. Names registered with :meth:`KVStoreBase.register` win over the built-ins.
    ``TypeError`` when ``name`` is not a string; ``MXNetError`` for an empty name or a
    store family that is not available.
    """
    if not isinstance(name, str):
        raise TypeError("name must be a string")
    name = name.lower()
    if not name:
        raise MXNetError("kvstore type name is empty (known: local, device, nccl, "
                         "dist_sync, dist_async, dist_device_sync)")
    klass = KVStoreBase.kv_registry.get(name)
    if klass is not None:
        return klass()
    family = "dist" if "dist" in name else "local"
    factory = _NATIVE.get(family)
    if factory is None:
        if family == "dist":
            raise MXNetError("kvstore '%s': the distributed kvstore is not available yet in "
                             "mixnet; use 'local' or 'device' for single-process training"
                             % name)
        raise MXNetError("kvstore '%s': the local kvstore is not loaded" % name)
    return factory(name)


# ------------------------------------------------------------------ key/value parsing
def _check_key(key: Any, what: str) -> Any:
    if isinstance(key, str):
        return key
    if isinstance(key, numbers.Integral) and not isinstance(key, bool):
        return int(key)
    raise MXNetError("%s: a key must be an int or a str, got %r (%s)"
                     % (what, key, type(key).__name__))


def _as_list(key: Any, value: Any, what: str, argname: str) -> List[Any]:
    if isinstance(value, (NDArray, BaseSparseNDArray)):
        return [value]
    if isinstance(value, (list, tuple)):
        if not value:
            raise MXNetError("%s: key %r got an empty list of %s" % (what, key, argname))
        for v in value:
            if not isinstance(v, (NDArray, BaseSparseNDArray)):
                raise MXNetError("%s: key %r: every %s must be an NDArray, got %s"
                                 % (what, key, argname, type(v).__name__))
        return list(value)
    raise MXNetError("%s: key %r: %s must be an NDArray or a list of NDArrays, got %s"
                     % (what, key, argname, type(value).__name__))


def _group_pairs(key: Any, value: Any, what: str, argname: str = "value"
                 ) -> Tuple[List[Tuple[Any, List[Any]]], bool]:
    """Parse MXNet's ``(key, value)`` convention into ``[(key, [arrays...]), ...]`` and
    whether the keys are strs.

    ``key`` is one key (``value`` one array or a list of per-device arrays) or a list of
    keys (``value`` a list of the same length, each entry an array or a list). A key that
    appears several times has its arrays concatenated into one group, in order, as MXNet
    groups repeated keys. Keys must all be ints or all strs.
    """
    if isinstance(key, (list, tuple)):
        if not isinstance(value, (list, tuple)):
            raise MXNetError("%s: %d keys given but %s is a single %s, not a list"
                             % (what, len(key), argname, type(value).__name__))
        if len(key) != len(value):
            raise MXNetError("%s: %d keys but %d %ss" % (what, len(key), len(value), argname))
        raw = [(_check_key(k, what), v) for k, v in zip(key, value)]
    else:
        raw = [(_check_key(key, what), value)]
    kinds = {isinstance(k, str) for k, _ in raw}
    if len(kinds) > 1:
        raise MXNetError("%s: inconsistent types of keys: str and int keys cannot be mixed"
                         % what)
    groups: Dict[Any, List[Any]] = {}
    for k, v in raw:
        groups.setdefault(k, []).extend(_as_list(k, v, what, argname))
    return list(groups.items()), bool(kinds and kinds.pop())
