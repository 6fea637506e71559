"""``mx.model``: checkpoints as MXNet writes them — ``<prefix>-symbol.json`` and
``<prefix>-<epoch:04d>.params`` whose keys are ``arg:<name>`` and ``aux:<name>``."""
from __future__ import annotations

from typing import Optional

from .base import MXNetError
from .ndarray import NDArray
from .ndarray import load as _nd_load
from .ndarray import save as _nd_save
from .symbol import Symbol, load as _sym_load

__all__ = ["save_checkpoint", "load_checkpoint", "load_params"]


def save_checkpoint(prefix: str, epoch: int, symbol: Optional[Symbol], arg_params: dict,
                    aux_params: dict, remove_amp_cast: bool = True) -> None:
    """``mx.model.save_checkpoint(prefix, epoch, symbol, arg_params, aux_params)``: write
    the symbol (when given) and the parameters; each file is written atomically."""
    if symbol is not None:
        symbol.save("%s-symbol.json" % prefix)
    data = {}
    for kind, params in (("arg", arg_params), ("aux", aux_params)):
        for k, v in (params or {}).items():
            if not isinstance(v, NDArray):
                raise MXNetError("save_checkpoint: %s parameter %r is a %s, not an NDArray"
                                 % (kind, k, type(v).__name__))
            data["%s:%s" % (kind, k)] = v
    _nd_save("%s-%04d.params" % (prefix, epoch), data)


def load_params(prefix: str, epoch: int) -> tuple:
    """``(arg_params, aux_params)`` from ``<prefix>-<epoch:04d>.params``."""
    fname = "%s-%04d.params" % (prefix, epoch)
    saved = _nd_load(fname)
    if not isinstance(saved, dict):
        raise MXNetError("%s holds a list of arrays, not a name -> array dict" % fname)
    arg, aux = {}, {}
    for k, v in saved.items():
        kind, _, name = k.partition(":")
        if kind == "arg" and name:
            arg[name] = v
        elif kind == "aux" and name:
            aux[name] = v
        else:
            raise MXNetError("%s: key %r is neither arg:<name> nor aux:<name>" % (fname, k))
    return arg, aux


def load_checkpoint(prefix: str, epoch: int) -> tuple:
    """``mx.model.load_checkpoint(prefix, epoch) -> (symbol, arg_params, aux_params)``."""
    symbol = _sym_load("%s-symbol.json" % prefix)
    arg, aux = load_params(prefix, epoch)
    return symbol, arg, aux
