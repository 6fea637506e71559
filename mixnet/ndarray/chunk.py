"""Storage chunks: a device buffer that is also the engine var guarding it."""
from __future__ import annotations

from typing import Any

from ..engine.var import Var


class Chunk(Var):
    """One allocation (``buf``, an ``xp`` array). Every NDArray viewing this buffer shares
    the chunk, so a write through any view is ordered against readers of all the others."""

    __slots__ = ("buf",)

    def __init__(self, buf: Any):
        Var.__init__(self)
        self.buf = buf
