"""Devices: ``Context``, ``cpu(i)``, ``gpu(i)``, the default-context scope and ``num_gpus``."""
from __future__ import annotations

import threading


from .base import MXNetError, has_module, optional_import

__all__ = ["Context", "cpu", "gpu", "cpu_pinned", "current_context", "num_gpus",
           "gpu_memory_info"]


class Context:
    """A device an array lives on: ``Context(device_type, device_id=0)`` with
    ``device_type`` one of ``'cpu'``, ``'gpu'``, ``'cpu_pinned'``, ``'cpu_shared'``.

    Contexts compare and hash by value; ``with ctx:`` makes ``ctx`` the default for arrays
    created inside the block (per thread)."""

    devtype2str = {1: "cpu", 2: "gpu", 3: "cpu_pinned", 5: "cpu_shared"}
    devstr2type = {v: k for k, v in devtype2str.items()}
    _local = threading.local()
    __slots__ = ("device_typeid", "device_id", "_key")

    def __init__(self, device_type, device_id: int = 0):
        if isinstance(device_type, Context):
            device_type, device_id = device_type.device_type, device_type.device_id
        if isinstance(device_type, int):
            if device_type not in self.devtype2str:
                raise MXNetError("unknown device type id %d" % device_type)
            typeid = device_type
        else:
            try:
                typeid = self.devstr2type[device_type]
            except KeyError:
                raise MXNetError("unknown device type %r (expected one of %s)"
                                 % (device_type, ", ".join(self.devstr2type))) from None
        device_id = int(device_id)
        if device_id < 0:
            raise MXNetError("device id must be >= 0, got %d" % device_id)
        self.device_typeid = typeid
        self.device_id = device_id
        self._key = (typeid, device_id)

    @property
    def device_type(self) -> str:
        return self.devtype2str[self.device_typeid]

    def __hash__(self):
        return hash(self._key)

    def __eq__(self, other):
        return isinstance(other, Context) and self._key == other._key

    def __ne__(self, other):
        return not self.__eq__(other)

    def __str__(self):
        return "%s(%d)" % (self.device_type, self.device_id)

    __repr__ = __str__

    def __enter__(self):
        local = Context._local
        if not hasattr(local, "stack"):
            local.stack = []
        local.stack.append(current_context())
        local.value = self
        return self

    def __exit__(self, *exc):
        local = Context._local
        local.value = local.stack.pop()

    def empty_cache(self) -> None:
        """Release cached device memory back to the device (a no-op for cpu)."""
        if self.device_typeid == 2 and num_gpus() > 0:
            optional_import("cupy", "gpu").get_default_memory_pool().free_all_blocks()

    # Contexts are immutable values; copying returns the same object.
    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    def __reduce__(self):
        return (Context, (self.device_type, self.device_id))


_DEFAULT = Context("cpu", 0)


def cpu(device_id: int = 0) -> Context:
    """``mx.cpu(device_id=0)``: a CPU context. The id only names a logical device."""
    return Context("cpu", device_id)


def cpu_pinned(device_id: int = 0) -> Context:
    """``mx.cpu_pinned(device_id=0)``: page-locked host memory (plain host memory here)."""
    return Context("cpu_pinned", device_id)


def gpu(device_id: int = 0) -> Context:
    """``mx.gpu(device_id=0)``: a GPU context. Creating it never fails; arrays placed on it
    need the ``mixnet[gpu]`` extra (CuPy) and a visible device."""
    return Context("gpu", device_id)


def current_context() -> Context:
    """``mx.current_context()``: the default context of this thread (``cpu(0)`` unless a
    ``with ctx:`` block is active)."""
    return getattr(Context._local, "value", _DEFAULT)


def num_gpus() -> int:
    """``mx.context.num_gpus()``: the number of visible GPUs (0 without CuPy)."""
    if not has_module("cupy", "gpu"):
        return 0
    cupy = optional_import("cupy", "gpu")
    try:
        return int(cupy.cuda.runtime.getDeviceCount())
    except Exception:  # noqa: BLE001 - no driver or no device means no GPUs
        return 0


def gpu_memory_info(device_id: int = 0) -> tuple:
    """``mx.context.gpu_memory_info(device_id=0)`` -> ``(free, total)`` bytes."""
    cupy = optional_import("cupy", "gpu")
    with cupy.cuda.Device(device_id):
        free, total = cupy.cuda.runtime.memGetInfo()
    return int(free), int(total)
