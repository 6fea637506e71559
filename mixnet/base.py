"""Bottom layer: the error type, MXNet's dtype table and environment settings.

Nothing in here imports from the rest of the package.
"""
from __future__ import annotations

import os
from typing import Any

import numpy as np

__all__ = [
    "MXNetError", "__version__", "DTYPE_TO_FLAG", "FLAG_TO_DTYPE", "dtype_flag",
    "dtype_from_flag", "normalize_dtype", "dtype_name", "getenv_int", "getenv_str",
    "BFLOAT16", "numeric_types", "integer_types", "string_types",
]

__version__ = "1.9.1"

numeric_types = (float, int, np.generic)
integer_types = (int, np.integer)
string_types = (str,)


class MXNetError(Exception):
    """The one exception type for errors raised by the framework (MXNet's ``mx.MXNetError``)."""


# ----------------------------------------------------------------------------- dtypes
def _bfloat16_dtype() -> np.dtype:
    """bfloat16 as a real NumPy dtype when ``ml_dtypes`` is installed, else MXNet's own
    Python representation (a one-field structured type over uint16), which holds the bits
    faithfully for load/save but does not support arithmetic."""
    try:
        import ml_dtypes  # type: ignore
        return np.dtype(ml_dtypes.bfloat16)
    except ImportError:
        return np.dtype([("bfloat16", "<u2")])


BFLOAT16 = _bfloat16_dtype()

# MXNet's type flags (mshadow::TypeFlag); flags 8-11 exist in the enum but MXNet 1.9.1
# cannot serialise them, so they are not in the table.
FLAG_TO_DTYPE: dict[int, np.dtype] = {
    0: np.dtype(np.float32),
    1: np.dtype(np.float64),
    2: np.dtype(np.float16),
    3: np.dtype(np.uint8),
    4: np.dtype(np.int32),
    5: np.dtype(np.int8),
    6: np.dtype(np.int64),
    7: np.dtype(np.bool_),
    12: BFLOAT16,
}
DTYPE_TO_FLAG: dict[np.dtype, int] = {v: k for k, v in FLAG_TO_DTYPE.items()}

_NAME_ALIASES = {"bfloat16": BFLOAT16, "bool": np.dtype(np.bool_)}


def normalize_dtype(dtype: Any, default: Any = np.float32) -> np.dtype:
    """Turn anything MXNet accepts as a dtype (``'float32'``, ``np.float32``, a NumPy dtype,
    ``None`` for the default) into a NumPy dtype that is in the type table."""
    if dtype is None:
        dtype = default
    if isinstance(dtype, str) and dtype in _NAME_ALIASES:
        return _NAME_ALIASES[dtype]
    try:
        dt = np.dtype(dtype)
    except TypeError as e:
        raise MXNetError("unknown dtype %r" % (dtype,)) from e
    if dt not in DTYPE_TO_FLAG:
        raise MXNetError("dtype %s is not supported (supported: %s)"
                         % (dt, ", ".join(dtype_name(d) for d in FLAG_TO_DTYPE.values())))
    return dt


def dtype_flag(dtype: Any) -> int:
    """MXNet's type flag for a dtype (float32 -> 0, ..., bfloat16 -> 12)."""
    return DTYPE_TO_FLAG[normalize_dtype(dtype)]


def dtype_from_flag(flag: int) -> np.dtype:
    """The NumPy dtype for an MXNet type flag; raises ``MXNetError`` for unknown flags."""
    try:
        return FLAG_TO_DTYPE[flag]
    except KeyError:
        raise MXNetError("unknown dtype type flag %d" % flag) from None


def dtype_name(dtype: Any) -> str:
    """The MXNet name of a dtype (``'float32'``, ``'bfloat16'``)."""
    dt = np.dtype(dtype)
    if dt == BFLOAT16:
        return "bfloat16"
    return dt.name


# ------------------------------------------------------------------------ environment
def getenv_str(name: str, default: str) -> str:
    """Read an env var at call time (never cached, so tests and scopes can change it)."""
    return os.environ.get(name, default)


def getenv_int(name: str, default: int) -> int:
    """Read an integer env var at call time; a malformed value raises ``MXNetError``."""
    v = os.environ.get(name)
    if v is None or v == "":
        return default
    try:
        return int(v)
    except ValueError:
        raise MXNetError("environment variable %s=%r is not an integer" % (name, v)) from None


# ------------------------------------------------------------------- optional imports
_MISSING = object()
_optional_cache: dict[str, Any] = {}


def optional_import(module: str, extra: str) -> Any:
    """Import an optional dependency, or raise ``MXNetError`` naming the extra to install
    (``pip install mixnet[<extra>]``). Failures are cached so the cost is paid once."""
    mod = _optional_cache.get(module, None)
    if mod is None:
        try:
            mod = __import__(module)
        except Exception as e:  # noqa: BLE001 - a broken install is as missing as an absent one
            mod = _MISSING
            _optional_cache[module + ":err"] = e
        _optional_cache[module] = mod
    if mod is _MISSING:
        err = _optional_cache.get(module + ":err")
        raise MXNetError("%s is needed for this and is not usable (%s); install it with "
                         "pip install 'mixnet[%s]'" % (module, err, extra))
    return mod


def has_module(module: str, extra: str = "") -> bool:
    """True when :func:`optional_import` of ``module`` would succeed."""
    try:
        optional_import(module, extra)
        return True
    except MXNetError:
        return False
