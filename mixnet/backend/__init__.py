"""Array backends: the array module (``xp``) that holds and computes arrays of a context.

NumPy serves every CPU-family context, CuPy serves ``gpu(i)``; kernels are written once
against ``xp``. CuPy is imported lazily, and a missing install raises an error that names
the ``mixnet[gpu]`` extra. This is the role mshadow's device abstraction had in MXNet.
"""
from __future__ import annotations

import contextlib
import threading
from typing import Any

import numpy as np

from ..base import MXNetError, optional_import
from ..context import Context, num_gpus

__all__ = ["array_module", "device_scope", "empty", "from_host", "to_host", "synchronize",
           "is_gpu", "generator", "seed"]

_GPU = 2


def is_gpu(ctx: Context) -> bool:
    """True for ``gpu(i)`` contexts."""
    return ctx.device_typeid == _GPU


def array_module(ctx: Context) -> Any:
    """``xp`` for a context: ``numpy`` for cpu, ``cupy`` for gpu (raising ``MXNetError``
    naming the ``gpu`` extra when CuPy is not installed, or when the device id does not
    exist)."""
    if ctx.device_typeid != _GPU:
        return np
    cupy = optional_import("cupy", "gpu")
    n = num_gpus()
    if ctx.device_id >= n:
        raise MXNetError("%s is not available: %d GPU(s) visible" % (ctx, n))
    return cupy


def device_scope(ctx: Context):
    """A context manager making ``ctx`` the current CUDA device (no-op for cpu)."""
    if ctx.device_typeid != _GPU:
        return contextlib.nullcontext()
    return array_module(ctx).cuda.Device(ctx.device_id)


def empty(shape: tuple, dtype: Any, ctx: Context) -> Any:
    """An uninitialised C-contiguous array of ``shape``/``dtype`` on ``ctx``."""
    if ctx.device_typeid != _GPU:
        return np.empty(shape, dtype)
    xp = array_module(ctx)
    with xp.cuda.Device(ctx.device_id):
        return xp.empty(shape, dtype)


def from_host(a: np.ndarray, ctx: Context) -> Any:
    """A copy of host array ``a`` on ``ctx`` (always a new, C-contiguous array)."""
    if ctx.device_typeid != _GPU:
        return np.array(a, order="C", copy=True)
    xp = array_module(ctx)
    with xp.cuda.Device(ctx.device_id):
        return xp.array(a, order="C")


def to_host(a: Any) -> np.ndarray:
    """A host (NumPy) copy of a device or host array."""
    if isinstance(a, np.ndarray):
        return a.copy()
    return a.get()


def synchronize(ctx: Context) -> None:
    """Block until the device has finished queued work (no-op for cpu)."""
    if ctx.device_typeid == _GPU:
        xp = array_module(ctx)
        with xp.cuda.Device(ctx.device_id):
            xp.cuda.get_current_stream().synchronize()


# --------------------------------------------------------------------------- RNG
# One generator per context, all re-seeded by ``mx.random.seed``. Random ops declare the
# generator as a resource and the engine orders them by it, so draws are reproducible even
# when the threaded engine runs unrelated work concurrently.
_rng_lock = threading.Lock()
_generators: dict = {}
_base_seed = [None]


def _make_generator(ctx: Context, base: Any) -> Any:
    xp = array_module(ctx)
    if base is None:
        ss = np.random.SeedSequence()
    else:
        ss = np.random.SeedSequence([int(base), ctx.device_typeid, ctx.device_id])
    if xp is np:
        return np.random.Generator(np.random.PCG64(ss))
    with xp.cuda.Device(ctx.device_id):
        return xp.random.default_rng(int(ss.generate_state(1)[0]))


def generator(ctx: Context) -> Any:
    """The random generator of ``ctx`` (a NumPy or CuPy ``Generator``)."""
    key = (ctx.device_typeid, ctx.device_id)
    g = _generators.get(key)
    if g is None:
        with _rng_lock:
            g = _generators.get(key)
            if g is None:
                g = _generators[key] = _make_generator(ctx, _base_seed[0])
    return g


def seed(seed_state: int, ctx: Any = "all") -> None:
    """Re-seed the generator of ``ctx``, or of every context when ``ctx == 'all'``."""
    with _rng_lock:
        if ctx == "all":
            _base_seed[0] = int(seed_state)
            _generators.clear()
        else:
            key = (ctx.device_typeid, ctx.device_id)
            _generators[key] = _make_generator(ctx, seed_state)
