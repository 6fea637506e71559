"""``mx.kv`` / ``mx.kvstore``: key-value stores for data-parallel training.

``create('local')`` / ``create('device')`` build the single-process store
(:class:`KVStore`); ``KVStoreBase`` is the interface and plug-in registry. The
distributed stores (``dist_sync``, ``dist_async``, ``dist_device_sync``) register into the
same factory when they are available.
"""
from .base import KVStoreBase, create
from .local import KVStore

__all__ = ["KVStoreBase", "KVStore", "create"]
