"""``NDArray``: an asynchronous n-dimensional array on a device.

An NDArray is a storage chunk (buffer + engine var), a C-contiguous view into it, and a
context. Ops return at once; reads (``asnumpy``, ``wait_to_read``) block. Views made by
basic slicing or ``reshape`` share the chunk, so writes through a view are ordered against
readers of the parent.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .. import backend
from .. import engine as _engine
from ..base import MXNetError, dtype_name, normalize_dtype, numeric_types
from ..context import Context, current_context
from ..operator import registry as _reg
from .chunk import Chunk
from . import dispatch as _dispatch
from .dispatch import invoke
from .dispatch import record as _dispatch_record

__all__ = ["NDArray", "array", "empty", "waitall", "from_numpy"]

_ops: dict = {}  # name -> OpDef, filled on first use (ops register after this module loads)


def _op(name: str):
    o = _ops.get(name)
    if o is None:
        o = _ops[name] = _reg.get(name)
    return o


class NDArray:
    """``mx.nd.NDArray``: an array on a context, computed asynchronously by the engine.

    Create one with :func:`mx.nd.array`, :func:`mx.nd.zeros` and friends rather than the
    constructor. Arithmetic follows MXNet: two arrays broadcast (``broadcast_*`` ops), an
    array and a number use the ``_*_scalar`` ops, comparisons return 0/1 in the input
    dtype, and in-place operators (``+=``) write into the array."""

    # ``_ag`` holds autograd state (gradient buffer, grad_req, tape entry); None until used.
    __slots__ = ("_chunk", "_data", "_ctx", "_ag", "__weakref__")
    __array_priority__ = 1000.0

    def __init__(self, chunk: Chunk, ctx: Context, data: Any = None):
        self._chunk = chunk
        self._data = chunk.buf if data is None else data
        self._ctx = ctx
        self._ag = None

    def _view(self, data: Any) -> "NDArray":
        return NDArray(self._chunk, self._ctx, data)

    # ----------------------------------------------------------------- properties
    @property
    def shape(self) -> tuple:
        """The shape, a tuple of ints."""
        return self._data.shape

    @property
    def dtype(self) -> Any:
        """The element type as a NumPy type (``numpy.float32``)."""
        dt = self._data.dtype
        return dt.type if dt.names is None else dt

    @property
    def size(self) -> int:
        """The number of elements."""
        return int(self._data.size)

    @property
    def ndim(self) -> int:
        """The number of dimensions."""
        return self._data.ndim

    @property
    def context(self) -> Context:
        """The device context the array lives on."""
        return self._ctx

    ctx = context

    @property
    def stype(self) -> str:
        """The storage type: ``'default'`` for dense arrays."""
        return "default"

    @property
    def writable(self) -> bool:
        return True

    @property
    def handle(self) -> "NDArray":
        return self

    @property
    def grad(self) -> Optional["NDArray"]:
        """The gradient buffer attached by ``attach_grad`` (``None`` without one)."""
        return getattr(self._ag, "grad", None)

    @property
    def T(self) -> "NDArray":
        """The transpose (``self`` for fewer than 2 dimensions)."""
        if self.ndim < 2:
            return self
        return invoke(_op("transpose"), (self,), _op("transpose").parse_params({}))

    # ----------------------------------------------------------------- reading
    def wait_to_read(self) -> None:
        """Block until pending writes of this array are done; raise their error."""
        _engine.get().wait_for_var(self._chunk)

    def asnumpy(self) -> np.ndarray:
        """A NumPy copy of the contents (blocks until they are computed)."""
        data = self._data
        return _engine.get().push_sync(lambda: backend.to_host(data), self._ctx,
                                       (self._chunk,), (), name="asnumpy")

    def asscalar(self) -> Any:
        """The value of a one-element array as a NumPy scalar."""
        if self.size != 1:
            raise MXNetError("asscalar() needs an array of size 1, got shape %s" % (self.shape,))
        return self.asnumpy().reshape(-1)[0]

    def item(self) -> Any:
        """The value of a one-element array as a Python number."""
        return self.asscalar().item()

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        a = self.asnumpy()
        return a if dtype is None else a.astype(dtype)

    def __repr__(self) -> str:
        shape = "x".join(str(d) for d in self.shape)
        try:
            body = str(self.asnumpy())
        except MXNetError as e:
            body = "<error: %s>" % str(e).splitlines()[0]
        return "\n%s\n<%s %s @%s>" % (body, type(self).__name__, shape, self._ctx)

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d NDArray")
        return self.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __bool__(self) -> bool:
        n = self.size
        if n == 1:
            return bool(self.asscalar())
        if n == 0:
            return False
        raise ValueError("The truth value of an NDArray with multiple elements is ambiguous.")

    __hash__ = object.__hash__

    # ----------------------------------------------------------------- copies
    def copyto(self, other: Any) -> "NDArray":
        """Copy into ``other`` (an NDArray of the same shape, returned) or onto a new array on
        context ``other``."""
        if isinstance(other, Context):
            dst = empty(self.shape, other, self._data.dtype)
        elif isinstance(other, NDArray):
            if other is self or (other._chunk is self._chunk and other._data is self._data):
                return other
            if other.shape != self.shape:
                raise MXNetError("copyto: shape mismatch, source %s, target %s"
                                 % (self.shape, other.shape))
            dst = other
        else:
            raise TypeError("copyto does not support type %s" % type(other).__name__)
        _copy(self, dst)
        return dst

    def copy(self) -> "NDArray":
        """A deep copy on the same context."""
        return self.copyto(self._ctx)

    def as_in_context(self, context: Context) -> "NDArray":
        """This array on ``context``: ``self`` when it is already there, else a copy."""
        if context == self._ctx:
            return self
        return self.copyto(context)

    as_in_ctx = as_in_context

    def astype(self, dtype: Any, copy: bool = True) -> "NDArray":
        """A copy converted to ``dtype``; with ``copy=False`` the array itself when the dtype
        already matches."""
        dt = normalize_dtype(dtype)
        if not copy and dt == self._data.dtype:
            return self
        op = _op("Cast")
        return invoke(op, (self,), op.parse_params({"dtype": dt}))

    def detach(self) -> "NDArray":
        """The same data without autograd history."""
        return NDArray(self._chunk, self._ctx, self._data)

    def tostype(self, stype: str) -> Any:
        """Convert storage type; dense arrays support ``'default'`` (and sparse via
        ``mx.nd.sparse``)."""
        if stype == "default":
            return self
        from . import sparse
        return sparse.from_dense(self, stype)

    # ----------------------------------------------------------------- shape
    def reshape(self, *shape: Any, **kwargs: Any) -> "NDArray":
        """A view with a new shape; accepts ints or a tuple and MXNet's special codes
        (0 copy, -1 infer, -2 rest, -3 merge two, -4 split one) and ``reverse=True``."""
        reverse = bool(kwargs.pop("reverse", False))
        if "shape" in kwargs:
            shape = (kwargs.pop("shape"),)
        if kwargs:
            raise TypeError("reshape() got unexpected keyword arguments %s" % list(kwargs))
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        from ..operator.reshape import infer_reshape
        try:
            new = infer_reshape(self.shape, tuple(int(s) for s in shape), reverse)
        except MXNetError as e:
            raise MXNetError("reshape: %s" % e) from None
        res = self._view(self._data.reshape(new))
        if self._ag is not None:
            op = _op("Reshape")
            _dispatch_record(op, op.parse_params({"shape": new}), (self,), (res,))
        return res

    def reshape_like(self, *args: Any, **kwargs: Any) -> "NDArray":
        from . import op as _nd
        return _nd.reshape_like(self, *args, **kwargs)

    # ----------------------------------------------------------------- indexing
    def __getitem__(self, key: Any) -> "NDArray":
        from .indexing import getitem
        return getitem(self, key)

    def __setitem__(self, key: Any, value: Any) -> None:
        from .indexing import setitem
        setitem(self, key, value)

    # ----------------------------------------------------------------- pickling
    def __getstate__(self) -> dict:
        from .serialize import to_record_bytes
        return {"handle": bytearray(to_record_bytes(self))}

    def __setstate__(self, state: dict) -> None:
        from .serialize import from_record_bytes
        src = from_record_bytes(bytes(state["handle"]))
        self._chunk, self._data, self._ctx = src._chunk, src._data, src._ctx
        self._ag = None

    def __reduce__(self):
        return (_unpickle, (), self.__getstate__())

    # ----------------------------------------------------------------- arithmetic
    def __add__(self, other):
        return _binary(self, other, "broadcast_add", "_plus_scalar")

    __radd__ = __add__

    def __sub__(self, other):
        return _binary(self, other, "broadcast_sub", "_minus_scalar")

    def __rsub__(self, other):
        return _binary(self, other, "broadcast_sub", "_rminus_scalar", reflected=True)

    def __mul__(self, other):
        return _binary(self, other, "broadcast_mul", "_mul_scalar")

    __rmul__ = __mul__

    def __truediv__(self, other):
        return _binary(self, other, "broadcast_div", "_div_scalar")

    def __rtruediv__(self, other):
        return _binary(self, other, "broadcast_div", "_rdiv_scalar", reflected=True)

    __div__ = __truediv__
    __rdiv__ = __rtruediv__

    def __mod__(self, other):
        return _binary(self, other, "broadcast_mod", "_mod_scalar")

    def __rmod__(self, other):
        return _binary(self, other, "broadcast_mod", "_rmod_scalar", reflected=True)

    def __pow__(self, other):
        return _binary(self, other, "broadcast_power", "_power_scalar")

    def __rpow__(self, other):
        return _binary(self, other, "broadcast_power", "_rpower_scalar", reflected=True)

    def __neg__(self):
        return _scalar(self, "_mul_scalar", -1.0)

    def __pos__(self):
        return self

    def __abs__(self):
        op = _op("abs")
        return invoke(op, (self,), op.parse_params({}))

    def __eq__(self, other):
        return _binary(self, other, "broadcast_equal", "_equal_scalar")

    def __ne__(self, other):
        return _binary(self, other, "broadcast_not_equal", "_not_equal_scalar")

    def __gt__(self, other):
        return _binary(self, other, "broadcast_greater", "_greater_scalar")

    def __ge__(self, other):
        return _binary(self, other, "broadcast_greater_equal", "_greater_equal_scalar")

    def __lt__(self, other):
        return _binary(self, other, "broadcast_lesser", "_lesser_scalar")

    def __le__(self, other):
        return _binary(self, other, "broadcast_lesser_equal", "_lesser_equal_scalar")

    def __iadd__(self, other):
        return _binary(self, other, "broadcast_add", "_plus_scalar", out=self)

    def __isub__(self, other):
        return _binary(self, other, "broadcast_sub", "_minus_scalar", out=self)

    def __imul__(self, other):
        return _binary(self, other, "broadcast_mul", "_mul_scalar", out=self)

    def __itruediv__(self, other):
        return _binary(self, other, "broadcast_div", "_div_scalar", out=self)

    __idiv__ = __itruediv__

    def __imod__(self, other):
        return _binary(self, other, "broadcast_mod", "_mod_scalar", out=self)

    def __ipow__(self, other):
        return _binary(self, other, "broadcast_power", "_power_scalar", out=self)


_dispatch._NDArray[0] = NDArray


def _unpickle() -> NDArray:
    return NDArray.__new__(NDArray)


_scalar_params: dict = {}


def _scalar(x: NDArray, opname: str, s: Any, out: Any = None) -> NDArray:
    op = _op(opname)
    key = (opname, s, type(s))
    p = _scalar_params.get(key)
    if p is None:
        p = op.parse_params({"scalar": s})
        if len(_scalar_params) > 4096:
            _scalar_params.clear()
        _scalar_params[key] = p
    return invoke(op, (x,), p, out)


_no_params: dict = {}


def _binary(x: NDArray, y: Any, bop: str, sop: str, reflected: bool = False,
            out: Any = None) -> Any:
    if isinstance(y, NDArray):
        op = _ops.get(bop) or _op(bop)
        p = _no_params.get(bop)
        if p is None:
            p = _no_params[bop] = op.parse_params({})
        return invoke(op, (y, x) if reflected else (x, y), p, out)
    if isinstance(y, numeric_types):
        return _scalar(x, sop, y, out)
    if isinstance(y, np.ndarray):
        return _binary(x, array(y, ctx=x._ctx, dtype=x._data.dtype), bop, sop, reflected, out)
    return NotImplemented


def _copy(src: NDArray, dst: NDArray) -> None:
    """Push a copy of ``src`` into ``dst`` (any devices, same shape; casts dtype)."""
    s, d = src._data, dst._data
    if src._ctx.device_typeid != 2 and dst._ctx.device_typeid != 2:
        def run():
            d[...] = s
    else:
        dctx = dst._ctx

        def run():
            if dctx.device_typeid == 2:
                with backend.device_scope(dctx):
                    d[...] = backend.array_module(dctx).asarray(s)
            else:
                d[...] = backend.to_host(s)
    _engine.get().push(run, dst._ctx, (src._chunk,), (dst._chunk,), 0, "_copyto", s.size)


# --------------------------------------------------------------------------- creation
def _default_dtype(source: Any, dtype: Any) -> np.dtype:
    if dtype is not None:
        return normalize_dtype(dtype)
    if isinstance(source, NDArray):
        return source._data.dtype
    return np.dtype(np.float32)


def array(source_array: Any, ctx: Optional[Context] = None, dtype: Any = None) -> NDArray:
    """``mx.nd.array(source_array, ctx=None, dtype=None)``: a new array holding a copy of
    ``source_array`` (NDArray, NumPy array, list, number). The dtype defaults to float32
    for anything that is not an NDArray, as in MXNet (a NumPy int64 array becomes float32)."""
    ctx = ctx or current_context()
    if isinstance(source_array, NDArray):
        dt = _default_dtype(source_array, dtype)
        res = empty(source_array.shape, ctx, dt)
        _copy(source_array, res)
        return res
    dt = _default_dtype(source_array, dtype)
    try:
        a = np.asarray(source_array)
        if a.dtype != dt:
            a = a.astype(dt)
    except (ValueError, TypeError) as e:
        raise MXNetError("array: cannot convert %s to an array of %s: %s"
                         % (type(source_array).__name__, dtype_name(dt), e)) from None
    if a.dtype.kind == "O":
        raise MXNetError("array: source of type %s is not numeric" % type(source_array).__name__)
    if a.ndim == 0:
        a = a.reshape(1)
    return NDArray(Chunk(backend.from_host(a, ctx)), ctx)


def from_numpy(ndarray: np.ndarray, zero_copy: bool = True) -> NDArray:
    """``mx.nd.from_numpy(a, zero_copy=True)``: an NDArray on ``cpu(0)``; with
    ``zero_copy`` it shares ``a``'s memory (``a`` must be C-contiguous)."""
    if not zero_copy or not ndarray.flags.c_contiguous:
        return array(ndarray, dtype=ndarray.dtype)
    normalize_dtype(ndarray.dtype)
    return NDArray(Chunk(ndarray), Context("cpu", 0))


def empty(shape: Any, ctx: Optional[Context] = None, dtype: Any = None) -> NDArray:
    """``mx.nd.empty(shape, ctx=None, dtype=float32)``: an uninitialised array."""
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    ctx = ctx or current_context()
    dt = normalize_dtype(dtype)
    return NDArray(Chunk(backend.empty(tuple(shape), dt, ctx)), ctx)


def waitall() -> None:
    """``mx.nd.waitall()``: wait for all pending work and raise the first pending error."""
    _engine.get().wait_for_all()
