"""``mx.random``: seeding of the device generators, and the samplers of ``mx.nd.random``.

``seed`` re-seeds the generator of every device (or of one) after the random work already
pushed has drawn from the old one, so ``seed(s)`` followed by the same calls gives the
same arrays. Python's ``random`` and NumPy's global generator are not touched.
"""
from __future__ import annotations

from typing import Any

from . import backend
from . import engine as _engine
from .base import MXNetError, integer_types
from .context import Context
from .ndarray.dispatch import as_context, rng_var, rng_vars
from .ndarray.random import (exponential, gamma, generalized_negative_binomial,
                             multinomial, negative_binomial, normal, poisson, randint, randn,
                             shuffle, uniform)

__all__ = ["seed", "uniform", "normal", "randn", "randint", "exponential", "gamma",
           "poisson", "negative_binomial", "generalized_negative_binomial", "multinomial",
           "shuffle"]


def seed(seed_state: int, ctx: Any = "all") -> None:
    """``mx.random.seed(seed_state, ctx='all')``: seed the random generator of every
    device, or only of ``ctx`` (a Context or MXNet's string form ``'gpu(0)'``). Random
    ops pushed before the call draw from the old state; those pushed after start from
    the new one, so the same seed gives the same draws on a device."""
    if not isinstance(seed_state, integer_types) or isinstance(seed_state, bool):
        raise MXNetError("seed_state must be int, got %s" % type(seed_state).__name__)
    if ctx == "all":
        target: Any = "all"
        # snapshot: the dict may grow from other threads while we wait
        gen_vars = rng_vars()
        dev = Context("cpu", 0)
    else:
        dev = as_context(ctx)
        backend.array_module(dev)  # an unusable device fails here, not inside the engine
        target = dev
        gen_vars = [rng_var(dev)]

    def reseed() -> None:
        backend.seed(int(seed_state), target)

    # Reseed as a write of the generator vars, ordered after the random ops already
    # pushed (generator vars never hold errors, so this always runs).
    if gen_vars:
        _engine.push_sync(reseed, dev, (), gen_vars, name="mx.random.seed")
    else:
        reseed()
