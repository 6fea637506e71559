"""``mx.test_utils``: helpers for testing code written against mixnet, under MXNet's names.

Comparisons (:func:`assert_almost_equal`, :func:`same`) accept NDArrays, NumPy arrays and
numbers alike, with default tolerances that depend on the dtypes compared. Random inputs
(:func:`rand_ndarray`, :func:`rand_shape_nd`, :func:`random_arrays`) draw from NumPy's
global generator, so one seed (the test suite's autouse fixture) makes a test repeatable.
:func:`check_op` is the one oracle helper for operator tests: shape, then dtype, then
values against a NumPy reference and/or an MXNet 1.9.1 fixture, then gradients by a
random directional derivative in float64, then the errors bad inputs must raise.
For symbols, MXNet's executor-based helpers: :func:`check_symbolic_forward`,
:func:`check_symbolic_backward` and :func:`check_numeric_gradient` (which also keeps a
form taking a callable).

Importing this module never imports pytest, so user code may use it too.
"""
from __future__ import annotations

import contextlib
import importlib
import json
import os
import sys
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence, Union

import numpy as np

from . import ndarray as _nd
from .base import BFLOAT16, MXNetError, normalize_dtype
from .context import Context, current_context, num_gpus
from .ndarray.ndarray import NDArray
from .operator import registry as _registry

__all__ = [
    "default_context", "set_default_context", "default_dtype", "default_rtols",
    "default_atols", "get_rtol", "get_atol", "get_tolerance", "get_tols",
    "find_max_violation", "almost_equal", "assert_almost_equal", "assert_allclose", "same",
    "assert_exception", "rand_shape_2d", "rand_shape_3d", "rand_shape_nd", "rand_ndarray",
    "random_arrays", "environment", "list_gpus", "numeric_grad", "check_numeric_gradient",
    "check_symbolic_forward", "check_symbolic_backward",
    "check_op", "load_op_fixtures", "check_op_fixture",
]

ArrayLike = Any  # NDArray, numpy.ndarray, a number or a (nested) list of numbers

# ------------------------------------------------------------------------ defaults
_default_ctx: list = [None]


def default_context() -> Context:
    """``mx.test_utils.default_context()``: the context test helpers create arrays on,
    i.e. the one given to :func:`set_default_context`, or else the current context
    (``cpu(0)`` outside any ``with ctx:`` block)."""
    ctx = _default_ctx[0]
    return current_context() if ctx is None else ctx


def set_default_context(ctx: Optional[Context]) -> None:
    """``mx.test_utils.set_default_context(ctx)``: make ``ctx`` the context of the test
    helpers (``None`` goes back to the current context). Unlike MXNet, this does not
    change where ``mx.nd.array`` puts arrays without a ``ctx``: it is a setting of this
    module only, so it cannot leak into library code."""
    if ctx is not None and not isinstance(ctx, Context):
        raise MXNetError("set_default_context expects a Context, got %s" % type(ctx).__name__)
    _default_ctx[0] = ctx


def default_dtype() -> np.dtype:
    """``mx.test_utils.default_dtype()``: the dtype of random test data (float32)."""
    return np.dtype(np.float32)


# ---------------------------------------------------------------------- tolerances
# One table, keyed by a precision class: the same numbers the fixture README states, so
# fixture-based and reference-based checks agree on what "equal" means. bfloat16 keeps 8
# significand bits (half-ulp 2**-8), so it gets twice float16's tolerance.
_TOLERANCES = {
    "float16": (1e-2, 1e-2),
    "bfloat16": (2e-2, 2e-2),
    "float32": (1e-4, 1e-5),
    "float64": (1e-6, 1e-8),
    "exact": (0.0, 0.0),
}
_TABLE_DTYPES = [np.dtype(t) for t in (np.float16, np.float32, np.float64, np.uint8, np.int8,
                                       np.int32, np.int64, np.bool_)] + [BFLOAT16]


def _precision_class(dtype: Any) -> str:
    dt = np.dtype(dtype)
    if dt == BFLOAT16:
        return "bfloat16"
    if dt.kind in "biu":
        return "exact"
    if dt.kind == "c":
        return "float32" if dt.itemsize <= 8 else "float64"
    if dt.kind == "f":
        return {2: "float16", 4: "float32"}.get(dt.itemsize, "float64")
    raise MXNetError("no default tolerance for dtype %s" % dt)


def default_rtols() -> dict:
    """``mx.test_utils.default_rtols()``: ``{dtype: rtol}`` for the dtypes MXNet has
    (float16 1e-2, bfloat16 2e-2, float32 1e-4, float64 1e-6, integers and bool 0)."""
    return {dt: _TOLERANCES[_precision_class(dt)][0] for dt in _TABLE_DTYPES}


def default_atols() -> dict:
    """``mx.test_utils.default_atols()``: ``{dtype: atol}`` (float16 1e-2, bfloat16 2e-2,
    float32 1e-5, float64 1e-8, integers and bool 0)."""
    return {dt: _TOLERANCES[_precision_class(dt)][1] for dt in _TABLE_DTYPES}


def get_tolerance(dtype: Any) -> tuple:
    """The default ``(rtol, atol)`` for values of ``dtype``."""
    return _TOLERANCES[_precision_class(normalize_dtype(dtype) if isinstance(dtype, str)
                                        else dtype)]


def get_rtol(rtol: Optional[float] = None, dtype: Any = np.float64) -> float:
    """``mx.test_utils.get_rtol(rtol=None, dtype=float64)``: ``rtol`` itself, or the
    default relative tolerance of ``dtype`` when it is ``None``."""
    return get_tolerance(dtype)[0] if rtol is None else float(rtol)


def get_atol(atol: Optional[float] = None, dtype: Any = np.float64) -> float:
    """``mx.test_utils.get_atol(atol=None, dtype=float64)``: ``atol`` itself, or the
    default absolute tolerance of ``dtype`` when it is ``None``."""
    return get_tolerance(dtype)[1] if atol is None else float(atol)


def get_tols(x: ArrayLike, y: ArrayLike, rtol: Optional[float] = None,
             atol: Optional[float] = None) -> tuple:
    """``mx.test_utils.get_tols(x, y, rtol, atol)``: the ``(rtol, atol)`` for comparing
    ``x`` with ``y``. A tolerance left ``None`` is the looser of the two dtypes' defaults,
    since a result can be no more exact than its least precise side."""
    dts = [_raw(x).dtype, _raw(y).dtype]
    if rtol is None:
        rtol = max(get_tolerance(d)[0] for d in dts)
    if atol is None:
        atol = max(get_tolerance(d)[1] for d in dts)
    return float(rtol), float(atol)


# ---------------------------------------------------------------------- comparison
def _raw(x: ArrayLike) -> np.ndarray:
    """Host copy of anything array-like, keeping its dtype."""
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "asnumpy"):  # NDArray and, later, sparse arrays
        return x.asnumpy()
    return np.asarray(x)


def _numeric(a: np.ndarray) -> np.ndarray:
    """Values in a dtype NumPy can do arithmetic on. Without ``ml_dtypes`` bfloat16 is a
    bit container, so its upper-half bit pattern is widened to float32 by hand."""
    if a.dtype == BFLOAT16:
        if a.dtype.names is not None:
            return (a.view(np.uint16).astype(np.uint32) << 16).view(np.float32)
        return a.astype(np.float32)
    return a


def _aligned(a: np.ndarray, b: np.ndarray, names: Sequence[str]) -> tuple:
    """Check that the shapes agree (a 0-d side broadcasts) and return float64 or exact
    integer views of both."""
    if a.shape != b.shape and a.ndim and b.ndim:
        raise AssertionError("%s and %s have different shapes: %s %s vs %s %s"
                             % (names[0], names[1], a.shape, _dname(a.dtype), b.shape,
                                _dname(b.dtype)))
    a, b = _numeric(a), _numeric(b)
    a, b = np.broadcast_arrays(a, b)
    if a.dtype.kind in "biu" and b.dtype.kind in "biu":
        # exact integer comparison; float64 would round values above 2**53
        return a.astype(np.int64, copy=False), b.astype(np.int64, copy=False)
    wide = np.complex128 if "c" in (a.dtype.kind, b.dtype.kind) else np.float64
    return a.astype(wide), b.astype(wide)


def _violations(a: np.ndarray, b: np.ndarray, rtol: float, atol: float,
                equal_nan: bool) -> tuple:
    """(ok mask, violation ratio |a-b| / (atol + rtol*|b|), absolute error) elementwise;
    the ratio is 0 where the elements match and inf where a NaN or inf mismatches."""
    with np.errstate(all="ignore"):
        if a.dtype.kind in "iu":
            ok = a == b
            err = np.abs(a.astype(np.float64) - b.astype(np.float64))
        else:
            ok = np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)
            err = np.abs(a - b)
        err = np.where(ok, np.nan_to_num(err, nan=0.0, posinf=0.0), err)
        err = np.where(np.isnan(err), np.inf, err)
        bound = atol + rtol * np.abs(b)
        ratio = np.where(ok, 0.0, np.where(bound > 0, err / np.where(bound > 0, bound, 1), np.inf))
    return ok, ratio, err


def find_max_violation(a: ArrayLike, b: ArrayLike, rtol: Optional[float] = None,
                       atol: Optional[float] = None) -> tuple:
    """``mx.test_utils.find_max_violation(a, b, rtol=None, atol=None)``: the index of the
    element where ``|a-b| / (atol + rtol*|b|)`` is largest, and that ratio (> 1 means the
    tolerance is violated there)."""
    ra, rb = _raw(a), _raw(b)
    rtol, atol = get_tols(ra, rb, rtol, atol)
    x, y = _aligned(ra, rb, ("a", "b"))
    _, ratio, _ = _violations(x, y, rtol, atol, False)
    if ratio.size == 0:
        return (), 0.0
    flat = int(np.argmax(ratio))
    return tuple(int(i) for i in np.unravel_index(flat, ratio.shape)), float(ratio.flat[flat])


def almost_equal(a: ArrayLike, b: ArrayLike, rtol: Optional[float] = None,
                 atol: Optional[float] = None, equal_nan: bool = False) -> bool:
    """``mx.test_utils.almost_equal(a, b, rtol=None, atol=None, equal_nan=False)``: whether
    every ``|a - b| <= atol + rtol * |b|`` (``b`` is the reference) and the shapes agree.
    ``None`` tolerances default by dtype (see :func:`get_tols`); integer arrays compare
    exactly."""
    ra, rb = _raw(a), _raw(b)
    rtol, atol = get_tols(ra, rb, rtol, atol)
    try:
        x, y = _aligned(ra, rb, ("a", "b"))
    except AssertionError:
        return False
    ok, _, _ = _violations(x, y, rtol, atol, equal_nan)
    return bool(ok.all())


def _fmt(v: Any) -> str:
    return "%.9g" % v if not isinstance(v, complex) else repr(v)


def _mismatch_report(ra: np.ndarray, rb: np.ndarray, x: np.ndarray, y: np.ndarray,
                     ok: np.ndarray, ratio: np.ndarray, err: np.ndarray, rtol: float,
                     atol: float, names: Sequence[str], equal_nan: bool) -> str:
    na, nb = names
    bad = int(ok.size - np.count_nonzero(ok))

    def at(flat: int) -> str:
        idx = tuple(int(i) for i in np.unravel_index(flat, ok.shape))
        return "index %s (%s=%s, %s=%s)" % (idx, na, _fmt(x.flat[flat]), nb, _fmt(y.flat[flat]))

    with np.errstate(all="ignore"):
        rel = np.where(err == 0, 0.0, err / np.abs(y))
    rel = np.where(np.isnan(rel), np.inf, rel)
    worst = int(np.argmax(ratio))
    with np.errstate(all="ignore"):
        bound = atol + rtol * abs(y.flat[worst])

    def diff(flat: int) -> str:
        # the raw |a-b| (nan stays nan), not the inf the search used to rank it first
        with np.errstate(all="ignore"):
            return _fmt(abs(x.flat[flat] - y.flat[flat]))

    big = int(np.argmax(err))
    lines = [
        "%s and %s are not almost equal (rtol=%g, atol=%g, equal_nan=%s)"
        % (na, nb, rtol, atol, equal_nan),
        " shapes: %s %s %s, %s %s %s" % (na, ra.shape, _dname(ra.dtype), nb, rb.shape,
                                         _dname(rb.dtype)),
        " mismatched elements: %d of %d (%.2f%%)" % (bad, ok.size, 100.0 * bad / ok.size),
        " worst violation at %s: |%s-%s| = %s > atol + rtol*|%s| = %s"
        % (at(worst), na, nb, diff(worst), nb, _fmt(bound)),
        " max abs error %s at %s" % (diff(big), at(big)),
        " max rel error %s at %s" % (_fmt(rel.max()), at(int(np.argmax(rel)))),
    ]
    with np.printoptions(threshold=60, edgeitems=3, precision=8):
        lines.append(" %s: %s" % (na, np.array2string(x, prefix=" %s: " % na)))
        lines.append(" %s: %s" % (nb, np.array2string(y, prefix=" %s: " % nb)))
    return "\n".join(lines)


def _dname(dt: np.dtype) -> str:
    return "bfloat16" if dt == BFLOAT16 else str(dt)


def assert_almost_equal(a: ArrayLike, b: ArrayLike, rtol: Optional[float] = None,
                        atol: Optional[float] = None, names: Sequence[str] = ("a", "b"),
                        equal_nan: bool = False) -> None:
    """``mx.test_utils.assert_almost_equal(a, b, rtol=None, atol=None, names=('a', 'b'),
    equal_nan=False)``: raise ``AssertionError`` unless :func:`almost_equal` holds. ``a``
    and ``b`` may be NDArrays, NumPy arrays or numbers; shapes must match exactly
    except that a 0-d side broadcasts. The message gives both shapes and dtypes, how many
    elements mismatch, the worst violation, the largest absolute and relative errors with
    their indices and the values there, the tolerances, and (abridged) both arrays."""
    ra, rb = _raw(a), _raw(b)
    rtol, atol = get_tols(ra, rb, rtol, atol)
    x, y = _aligned(ra, rb, names)
    ok, ratio, err = _violations(x, y, rtol, atol, equal_nan)
    if ok.all():
        return
    raise AssertionError(_mismatch_report(ra, rb, x, y, ok, ratio, err, rtol, atol, names,
                                          equal_nan))


# MXNet's tests import ``assert_allclose`` next to ``assert_almost_equal``; here it is the
# same check (note: ``equal_nan`` defaults to False, unlike numpy.testing's function).
assert_allclose = assert_almost_equal


def same(a: ArrayLike, b: ArrayLike) -> bool:
    """``mx.test_utils.same(a, b)``: whether ``a`` and ``b`` have the same shape and exactly
    the same values (NaN never equals NaN)."""
    x, y = _numeric(_raw(a)), _numeric(_raw(b))
    return bool(np.array_equal(x, y))


def _wait(result: Any) -> None:
    """Block on every NDArray in ``result`` so that asynchronous kernel errors surface."""
    if isinstance(result, NDArray):
        result.wait_to_read()
    elif isinstance(result, (list, tuple)):
        for r in result:
            _wait(r)


def assert_exception(f: Callable, exception_type: type, *args: Any, **kwargs: Any) -> BaseException:
    """``mx.test_utils.assert_exception(f, exception_type, *args, **kwargs)``: call
    ``f(*args, **kwargs)`` and raise ``AssertionError`` unless it raises
    ``exception_type``; other exceptions propagate. NDArrays that ``f`` returns are waited
    on, so errors of asynchronous kernels count. Returns the exception caught."""
    try:
        _wait(f(*args, **kwargs))
    except exception_type as e:
        return e
    raise AssertionError("%s did not raise %s" % (getattr(f, "__name__", repr(f)),
                                                  exception_type.__name__))


# ---------------------------------------------------------------------- random data
def rand_shape_2d(dim0: int = 10, dim1: int = 10) -> tuple:
    """``mx.test_utils.rand_shape_2d(dim0=10, dim1=10)``: a random 2-d shape with each dim
    in ``[1, dimN]``."""
    return (int(np.random.randint(1, dim0 + 1)), int(np.random.randint(1, dim1 + 1)))


def rand_shape_3d(dim0: int = 10, dim1: int = 10, dim2: int = 10) -> tuple:
    """``mx.test_utils.rand_shape_3d(dim0=10, dim1=10, dim2=10)``: a random 3-d shape with
    each dim in ``[1, dimN]``."""
    return rand_shape_2d(dim0, dim1) + (int(np.random.randint(1, dim2 + 1)),)


def rand_shape_nd(num_dim: int, dim: int = 10, allow_zero_size: bool = False) -> tuple:
    """``mx.test_utils.rand_shape_nd(num_dim, dim=10, allow_zero_size=False)``: a random
    ``num_dim``-d shape with each dim in ``[1, dim]`` (``[0, dim]`` when zero sizes are
    allowed)."""
    low = 0 if allow_zero_size else 1
    return tuple(int(d) for d in np.random.randint(low, dim + 1, size=num_dim))


def random_arrays(*shapes: Any) -> Union[np.ndarray, list]:
    """``mx.test_utils.random_arrays(*shapes)``: standard-normal NumPy arrays of
    :func:`default_dtype`, one per shape; a single array when one shape is given."""
    dt = default_dtype()
    arrays = []
    for s in shapes:
        s = (s,) if isinstance(s, (int, np.integer)) else tuple(s)
        arrays.append(np.asarray(np.random.standard_normal(s), dtype=dt))
    return arrays[0] if len(arrays) == 1 else arrays


def _to_bfloat16(f32: np.ndarray) -> np.ndarray:
    """Round float32 values to bfloat16 (nearest, ties to even)."""
    if BFLOAT16.names is None:
        return f32.astype(BFLOAT16)
    bits = np.ascontiguousarray(f32, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    return rounded.astype(np.uint16).view(BFLOAT16)


def _random_values(shape: tuple, dt: np.dtype) -> np.ndarray:
    # Integer data comes from randint rather than by casting normal draws, which would
    # give mostly 0 and ±1 and wrap negatives for unsigned types.
    if dt.kind == "b":
        return np.random.randint(0, 2, size=shape).astype(np.bool_)
    if dt.kind == "u":
        return np.asarray(np.random.randint(0, 11, size=shape), dtype=dt)
    if dt.kind == "i":
        return np.asarray(np.random.randint(-10, 11, size=shape), dtype=dt)
    values = random_arrays(shape)
    return _to_bfloat16(values) if dt == BFLOAT16 else values.astype(dt)


def rand_ndarray(shape: Any, stype: str = "default", density: Optional[float] = None,
                 dtype: Any = None, modifier_func: Optional[Callable] = None,
                 shuffle_csr_indices: bool = False, distribution: Optional[str] = None,
                 ctx: Optional[Context] = None) -> NDArray:
    """``mx.test_utils.rand_ndarray(shape, stype='default', density=None, dtype=None,
    modifier_func=None, shuffle_csr_indices=False, distribution=None, ctx=None)``: a random
    NDArray on ``ctx`` (default :func:`default_context`). Floats are standard normal;
    integers are uniform in ``[-10, 10]`` (``[0, 10]`` unsigned) and bools fair coins.
    ``modifier_func`` maps the NumPy values before they become an array. Only dense storage
    exists so far: ``'row_sparse'``/``'csr'`` raise ``MXNetError`` (``density``,
    ``shuffle_csr_indices`` and ``distribution`` are their options and are ignored for dense
    arrays, as in MXNet)."""
    if stype in ("row_sparse", "csr"):
        raise MXNetError("rand_ndarray: stype %r is not available yet; sparse random arrays "
                         "come with sparse NDArray support (mx.nd.sparse)" % stype)
    if stype != "default":
        raise MXNetError("rand_ndarray: unknown stype %r (expected 'default', 'row_sparse' "
                         "or 'csr')" % (stype,))
    shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(shape)
    dt = normalize_dtype(dtype, default=default_dtype())
    values = _random_values(shape, dt)
    if modifier_func is not None:
        values = np.asarray(modifier_func(values), dtype=dt)
    return _nd.array(values, ctx=ctx or default_context(), dtype=dt)


# ---------------------------------------------------------------------- environment
@contextlib.contextmanager
def environment(name_or_dict: Union[str, dict], value: Optional[str] = None) -> Iterator[None]:
    """``mx.test_utils.environment(name, value)`` or ``environment({name: value, ...})``:
    a context manager that sets environment variables (``None`` unsets one) for the block
    and restores the previous values afterwards, also when the block raises. mixnet reads
    its settings at call time, so the new values take effect inside the block."""
    if isinstance(name_or_dict, dict):
        updates = dict(name_or_dict)
    else:
        updates = {name_or_dict: value}
    saved = {k: os.environ.get(k) for k in updates}
    try:
        for k, v in updates.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = str(v)
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def list_gpus() -> range:
    """``mx.test_utils.list_gpus()``: ``range(number of visible GPUs)`` (empty without
    CuPy or a device)."""
    return range(num_gpus())


# ---------------------------------------------------------------------- gradients
def _as_list(x: Any) -> list:
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _is_float(dt: Any) -> bool:
    dt = np.dtype(dt)
    return dt.kind == "f" and dt != BFLOAT16


def _require_callable(f: Any, who: str) -> None:
    package = sys.modules[__package__]
    symbol_cls = getattr(getattr(package, "symbol", None), "Symbol", None)
    if not callable(f) or (symbol_cls is not None and isinstance(f, symbol_cls)):
        raise MXNetError("%s: expected a callable (or, where the helper has that form, a "
                         "Symbol), got %s" % (who, type(f).__name__))


def _objective(outputs: Sequence[np.ndarray], heads: Sequence[np.ndarray]) -> float:
    """``sum_k <out_k, head_k>`` in float64 over the float outputs: the scalar whose
    gradient is the vector-Jacobian product with ``heads``."""
    total = 0.0
    for o, h in zip(outputs, heads):
        o = _numeric(_raw(o))
        if _is_float(o.dtype):
            total += float(np.sum(o.astype(np.float64) * h))
    return total


def _heads_for(outputs: Sequence[Any]) -> list:
    """Random head gradients (standard normal), zero for outputs without a gradient."""
    heads = []
    for o in outputs:
        o = _raw(o)
        heads.append(np.random.standard_normal(o.shape) if _is_float(o.dtype)
                     else np.zeros(o.shape))
    return heads


def numeric_grad(f: Callable, location: Sequence[np.ndarray], eps: float = 1e-4,
                 heads: Optional[Sequence[np.ndarray]] = None,
                 grad_nodes: Optional[Sequence[int]] = None) -> list:
    """``mx.test_utils.numeric_grad`` for a callable: the gradient of
    ``sum_k <f(*location)_k, heads_k>`` (``heads`` default to ones) with respect to each
    float input, by central differences element by element in float64. It costs two calls
    of ``f`` per element, so keep inputs small. Entries for inputs not in ``grad_nodes``
    (default: all float inputs) are ``None``."""
    _require_callable(f, "numeric_grad")
    xs = [np.array(_raw(a), dtype=np.float64) if _is_float(_raw(a).dtype) else _raw(a)
          for a in location]
    nodes = _grad_nodes(xs, grad_nodes)
    if heads is None:
        heads = [np.ones(np.shape(o)) for o in _as_list(f(*xs))]
    grads: list = [None] * len(xs)
    for i in nodes:
        g = np.zeros(xs[i].shape)
        flat = xs[i].reshape(-1)  # a view: writing it perturbs xs[i]
        for j in range(flat.size):
            orig = flat[j]
            flat[j] = orig + eps
            up = _objective(_as_list(f(*xs)), heads)
            flat[j] = orig - eps
            down = _objective(_as_list(f(*xs)), heads)
            flat[j] = orig
            g.reshape(-1)[j] = (up - down) / (2 * eps)
        grads[i] = g
    return grads


def _grad_nodes(xs: Sequence[np.ndarray], grad_nodes: Optional[Sequence[int]]) -> list:
    if grad_nodes is None:
        return [i for i, x in enumerate(xs) if _is_float(x.dtype)]
    nodes = [int(i) for i in grad_nodes]
    for i in nodes:
        if not 0 <= i < len(xs):
            raise MXNetError("grad_nodes: input index %d out of range (%d inputs)" % (i, len(xs)))
        if not _is_float(xs[i].dtype):
            raise MXNetError("grad_nodes: input %d has dtype %s, which has no gradient"
                             % (i, _dname(xs[i].dtype)))
    return nodes


def _directional_check(evaluate: Callable, vjp: Callable, location: Sequence[np.ndarray],
                       nodes: Sequence[int], eps: float, rtol: float, atol: float,
                       what: str) -> tuple:
    """Compare ``<vjp(heads), v>`` with ``(phi(x + eps v) - phi(x - eps v)) / (2 eps)`` for
    one random unit direction ``v`` over all inputs in ``nodes`` and random ``heads``,
    where ``phi(x) = sum_k <evaluate(x)_k, heads_k>`` is computed in float64. One
    direction costs two evaluations however many elements there are (practice 10); on
    failure each input is checked alone so the message says whose gradient is wrong."""
    x64 = [np.array(a, dtype=np.float64) if i in nodes else a for i, a in enumerate(location)]
    heads = _heads_for(evaluate(x64))
    v = {i: np.random.standard_normal(x64[i].shape) for i in nodes}
    norm = np.sqrt(sum(float(np.sum(d * d)) for d in v.values()))
    if norm == 0.0:  # only empty inputs: nothing to differentiate
        return 0.0, 0.0
    v = {i: d / norm for i, d in v.items()}

    def numeric(dirs: dict) -> float:
        plus = [x + eps * dirs[i] if i in dirs else x for i, x in enumerate(x64)]
        minus = [x - eps * dirs[i] if i in dirs else x for i, x in enumerate(x64)]
        return (_objective(evaluate(plus), heads) - _objective(evaluate(minus), heads)) / (2 * eps)

    grads = vjp(heads)
    parts = {}
    for i in nodes:
        g = grads[i]
        if g is None:
            raise AssertionError("%s: no gradient returned for input %d" % (what, i))
        g = _numeric(_raw(g))
        if g.shape != x64[i].shape:
            raise AssertionError("%s: gradient of input %d has shape %s, the input %s"
                                 % (what, i, g.shape, x64[i].shape))
        parts[i] = float(np.sum(g.astype(np.float64) * v[i]))
    analytic = sum(parts.values())
    num = numeric(v)
    if abs(analytic - num) <= atol + rtol * abs(num):
        return analytic, num
    lines = ["%s: analytic gradient disagrees with finite differences along a random "
             "direction (eps=%g, rtol=%g, atol=%g): <grad, v> = %s, numeric = %s"
             % (what, eps, rtol, atol, _fmt(analytic), _fmt(num))]
    for i in nodes:
        ni = numeric({i: v[i]})
        flag = "" if abs(parts[i] - ni) <= atol + rtol * abs(ni) else "   <-- wrong"
        lines.append("  input %d %s: analytic %s, numeric %s%s"
                     % (i, x64[i].shape, _fmt(parts[i]), _fmt(ni), flag))
    raise AssertionError("\n".join(lines))


def _autograd_module() -> Any:
    """``mixnet.autograd`` when it exists and can record and backpropagate, else None."""
    ag = getattr(sys.modules[__package__], "autograd", None)
    if ag is None:
        try:
            ag = importlib.import_module(".autograd", __package__)
        except ModuleNotFoundError as e:
            if e.name != __package__ + ".autograd":
                raise  # a broken autograd must fail loudly, not skip gradient checks
            return None
    return ag if hasattr(ag, "record") and hasattr(ag, "backward") else None


def _autograd_vjp(fn: Callable, location: Sequence[np.ndarray], nodes: Sequence[int],
                  heads: Sequence[np.ndarray], ctx: Context, train_mode: bool) -> list:
    """Input gradients of ``fn`` (NDArrays in, NDArrays out) for head gradients ``heads``,
    by recording ``fn`` under ``mixnet.autograd`` and running its backward."""
    ag = _autograd_module()
    xs = [_to_nd(a, ctx) for a in location]
    for i in nodes:
        xs[i].attach_grad()
    with ag.record(train_mode=train_mode):
        outs = _as_list(fn(*xs))
    pairs = [(o, h) for o, h in zip(outs, heads) if _is_float(o.dtype)]
    ag.backward([o for o, _ in pairs],
                head_grads=[_nd.array(h, ctx=ctx, dtype=o.dtype) for o, h in pairs])
    grads: list = [None] * len(xs)
    for i in nodes:
        grads[i] = None if xs[i].grad is None else xs[i].grad.asnumpy()
    return grads


def _symbol_class() -> Any:
    """``mixnet.symbol.Symbol`` if the symbol package is importable, else None."""
    try:
        return importlib.import_module(".symbol", __package__).Symbol
    except (ModuleNotFoundError, AttributeError):
        return None


def _is_symbol(x: Any) -> bool:
    cls = _symbol_class()
    return cls is not None and isinstance(x, cls)


def _as_dtype_array(v: Any, dtype: Any) -> np.ndarray:
    """A host copy of ``v``; cast to ``dtype`` unless it is ``'asnumpy'`` (MXNet's spelling
    for "keep each array's own dtype")."""
    a = np.array(_raw(v))
    if isinstance(dtype, str) and dtype == "asnumpy":
        return a
    return a.astype(normalize_dtype(dtype) if isinstance(dtype, str) else np.dtype(dtype))


def _named_arrays(names: list, given: Any, dtype: Any, who: str, what: str,
                  kind: str) -> dict:
    """``{name: NumPy array}`` from a list in ``names`` order or a dict naming exactly
    ``names``, as MXNet's helpers accept; ``what`` names the parameter and ``kind`` the
    symbol's inputs in errors."""
    if isinstance(given, dict):
        missing = [n for n in names if n not in given]
        extra = sorted(k for k in given if k not in names)
        if missing or extra:
            raise MXNetError("%s: the %s keys do not match the symbol's %s %s (missing "
                             "%s, unknown %s)" % (who, what, kind, names, missing, extra))
        return {n: _as_dtype_array(given[n], dtype) for n in names}
    values = _as_list(given)
    if len(values) != len(names):
        raise MXNetError("%s: %s has %d array(s), the symbol has %d %s(s) %s"
                         % (who, what, len(values), len(names), kind, names))
    return {n: _as_dtype_array(v, dtype) for n, v in zip(names, values)}


def _parse_location(sym: Any, location: Any, dtype: Any, who: str) -> dict:
    """``{argument name: NumPy array}`` from a list in ``list_arguments()`` order or a
    dict naming every argument."""
    return _named_arrays(sym.list_arguments(), location, dtype, who, "location",
                         "argument")


def _parse_aux_states(sym: Any, aux_states: Any, dtype: Any, who: str) -> Optional[dict]:
    """``{aux name: NumPy array}`` from a list or dict, or None when none are given."""
    if aux_states is None:
        return None
    return _named_arrays(sym.list_auxiliary_states(), aux_states, dtype, who, "aux_states",
                         "auxiliary state")


_GRAD_REQS = ("write", "add", "null")


def _parse_grad_req(sym: Any, grad_req: Any, who: str) -> dict:
    """``{argument name: 'write' | 'add' | 'null'}`` from a string, a list in argument
    order or a dict (arguments a dict leaves out get 'null', as in ``bind``)."""
    names = sym.list_arguments()
    if isinstance(grad_req, str):
        req = {n: grad_req for n in names}
    elif isinstance(grad_req, (list, tuple)):
        if len(grad_req) != len(names):
            raise MXNetError("%s: grad_req has %d entries, the symbol has %d argument(s) %s"
                             % (who, len(grad_req), len(names), names))
        req = dict(zip(names, grad_req))
    elif isinstance(grad_req, dict):
        unknown = sorted(k for k in grad_req if k not in names)
        if unknown:
            raise MXNetError("%s: grad_req names %s, which are not arguments of the symbol %s"
                             % (who, unknown, names))
        req = {n: grad_req.get(n, "null") for n in names}
    else:
        raise MXNetError("%s: grad_req must be a str, list or dict, got %s"
                         % (who, type(grad_req).__name__))
    for n, r in req.items():
        if r not in _GRAD_REQS:
            raise MXNetError("%s: grad_req %r for argument %s is not one of %s"
                             % (who, r, n, _GRAD_REQS))
    return req


def _dense_only(stypes: Optional[dict], who: str) -> None:
    for name, st in (stypes or {}).items():
        if st != "default":
            raise MXNetError("%s: storage type %r for %s is not available yet (only dense "
                             "'default' arrays exist)" % (who, st, name))


def _nd_of(a: np.ndarray, ctx: Context) -> NDArray:
    return _nd.array(a, ctx=ctx, dtype=a.dtype)


def check_numeric_gradient(sym: Any, location: Any, aux_states: Any = None,
                           numeric_eps: float = 1e-3, rtol: float = 1e-2,
                           atol: Optional[float] = None, grad_nodes: Any = None,
                           use_forward_train: bool = True, ctx: Optional[Context] = None,
                           grad_stype_dict: Optional[dict] = None, dtype: Any = np.float32, *,
                           vjp: Optional[Callable] = None) -> Any:
    """``mx.test_utils.check_numeric_gradient(sym, location, aux_states=None,
    numeric_eps=1e-3, rtol=1e-2, atol=None, grad_nodes=None, use_forward_train=True,
    ctx=None, grad_stype_dict=None, dtype=float32)``: check a gradient against central
    finite differences. Raises ``AssertionError`` on mismatch.

    **Symbol form** (MXNet's): ``location`` is a list of arrays in ``list_arguments()``
    order or a dict naming every argument; ``aux_states`` likewise for
    ``list_auxiliary_states()``. All arrays are cast to ``dtype`` (``'asnumpy'`` keeps
    theirs). ``grad_nodes`` is a list of argument names (req ``'write'``) or a dict
    ``{name: 'write'|'add'|'null'}``; default every argument. The symbol is bound once with
    ``simple_bind``; random head gradients ``proj = U[0.1, 1.1)`` (one per float output)
    make the scalar ``phi = sum_k <out_k, proj_k>`` (in float64); the executor's backward
    with ``out_grads=proj`` gives the analytic gradient (grad buffers pre-filled with small
    random values, so ``'add'`` is checked as ``grad - initial`` and ``'null'`` as
    untouched); the numeric one perturbs each element by ``±numeric_eps/2`` and runs
    ``forward(is_train=use_forward_train)``, resetting ``aux_states`` before each run. Each
    node is compared elementwise with ``rtol``, ``atol`` (default 1e-3; 1e-6 for float64,
    1e-1 for float16). Costs two forwards per checked element: keep shapes small.
    ``grad_stype_dict`` may only name ``'default'`` storage. Returns
    ``(analytic, numeric)``, dicts by argument name.

    **Callable form**: ``sym`` is a function and ``location`` a list of NumPy arrays; the
    check is one random directional derivative in float64, ``<grad, v>`` against
    ``(phi(x + eps v) - phi(x - eps v)) / (2 eps)``. With ``vjp`` given, ``sym`` is a NumPy
    function and ``vjp(heads, *inputs)`` returns the input gradients (a list, ``None`` for
    inputs without one); without it, ``sym`` takes and returns NDArrays on ``ctx`` and the
    analytic side comes from ``mixnet.autograd``. ``grad_nodes`` lists input indices
    (default: every float input); ``aux_states``/``grad_stype_dict`` are Symbol-only.
    Returns ``(analytic, numeric)`` directional derivatives."""
    if _is_symbol(sym):
        if vjp is not None:
            raise MXNetError("check_numeric_gradient: vjp= belongs to the callable form; a "
                             "Symbol's gradient comes from its executor")
        return _check_numeric_gradient_symbol(sym, location, aux_states, numeric_eps, rtol,
                                              atol, grad_nodes, use_forward_train, ctx,
                                              grad_stype_dict, dtype)
    _require_callable(sym, "check_numeric_gradient")
    if aux_states is not None or grad_stype_dict is not None:
        raise MXNetError("check_numeric_gradient: aux_states and grad_stype_dict belong to the "
                         "Symbol form; pass a Symbol to use them")
    if isinstance(location, dict):
        raise MXNetError("check_numeric_gradient: a dict location needs the Symbol form; pass "
                         "a list of arrays in argument order")
    xs = [_raw(a) for a in _as_list(location)]
    nodes = _grad_nodes(xs, grad_nodes)
    dt = np.dtype(dtype)
    if atol is None:
        atol = _default_grad_atol(dt)
    name = getattr(sym, "__name__", type(sym).__name__)
    if vjp is not None:
        cast = [x.astype(dt) if i in nodes else x for i, x in enumerate(xs)]
        return _directional_check(
            lambda arrays: [_raw(o) for o in _as_list(sym(*arrays))],
            lambda heads: _as_list(vjp(heads, *cast)),
            xs, nodes, numeric_eps, rtol, atol, "check_numeric_gradient(%s)" % name)
    if _autograd_module() is None:
        raise MXNetError("check_numeric_gradient: without vjp= the analytic gradient comes from "
                         "mixnet.autograd, which is not available yet")
    ctx = ctx or default_context()
    return _directional_check(
        lambda arrays: [o.asnumpy() for o in _as_list(sym(*[_to_nd(a, ctx) for a in arrays]))],
        lambda heads: _autograd_vjp(sym, [x.astype(dt) if i in nodes else x
                                          for i, x in enumerate(xs)],
                                    nodes, heads, ctx, use_forward_train),
        xs, nodes, numeric_eps, rtol, atol, "check_numeric_gradient(%s)" % name)


def _default_grad_atol(dt: Any) -> float:
    if isinstance(dt, str) and dt == "asnumpy":
        return 1e-3
    return {"float16": 1e-1, "bfloat16": 1e-1, "float64": 1e-6}.get(
        _precision_class(np.dtype(dt)), 1e-3)


def _check_numeric_gradient_symbol(sym: Any, location: Any, aux_states: Any, eps: float,
                                   rtol: float, atol: Optional[float], grad_nodes: Any,
                                   use_forward_train: bool, ctx: Optional[Context],
                                   grad_stype_dict: Optional[dict], dtype: Any) -> tuple:
    who = "check_numeric_gradient"
    ctx = ctx or default_context()
    _dense_only(grad_stype_dict, who)
    args = sym.list_arguments()
    loc = _parse_location(sym, location, dtype, who)
    aux = _parse_aux_states(sym, aux_states, dtype, who)
    if grad_nodes is None:
        req = {n: "write" for n in args}
    elif isinstance(grad_nodes, dict):
        req = _parse_grad_req(sym, grad_nodes, who)
        req = {n: r for n, r in req.items() if n in grad_nodes}
    else:
        names = [grad_nodes] if isinstance(grad_nodes, str) else list(grad_nodes)
        unknown = [n for n in names if n not in args]
        if unknown:
            raise MXNetError("%s: grad_nodes %s are not arguments of the symbol %s"
                             % (who, unknown, args))
        req = {n: "write" for n in names}
    for n in req:
        if not _is_float(loc[n].dtype):
            raise MXNetError("%s: argument %s has dtype %s, which has no gradient"
                             % (who, n, _dname(loc[n].dtype)))
    if atol is None:
        atol = _default_grad_atol(dtype)
    nodes = [n for n in args if n in req]  # argument order, for stable messages

    exe = sym.simple_bind(ctx, grad_req={n: req.get(n, "null") for n in args},
                          type_dict={n: v.dtype for n, v in loc.items()},
                          **{n: v.shape for n, v in loc.items()})
    for n, v in loc.items():
        exe.arg_dict[n][:] = v

    def reset_aux() -> None:
        # a training forward updates running statistics: every run starts from the same ones
        if aux is not None:
            for n, v in aux.items():
                exe.aux_dict[n][:] = v

    # Analytic side: grads pre-filled so that 'add' and 'null' are observable.
    initial = {n: np.random.normal(0, 0.01, size=loc[n].shape).astype(loc[n].dtype)
               for n in nodes}
    for n in nodes:
        if exe.grad_dict.get(n) is not None:
            exe.grad_dict[n][:] = initial[n]
    reset_aux()
    exe.forward(is_train=True)
    outs = list(exe.outputs)
    proj = [np.random.rand(*o.shape) + 0.1 if _is_float(o.dtype) else np.zeros(o.shape)
            for o in outs]
    exe.backward([_nd.array(p, ctx=ctx, dtype=o.dtype) for p, o in zip(proj, outs)])
    analytic = {}
    for n in nodes:
        g = exe.grad_dict.get(n)
        if g is None:
            if req[n] != "null":
                raise AssertionError("%s: the executor has no gradient for %s (grad_req %r)"
                                     % (who, n, req[n]))
            continue
        analytic[n] = g.asnumpy()

    def phi() -> float:
        reset_aux()
        exe.forward(is_train=use_forward_train)
        return _objective([o.asnumpy() for o in exe.outputs], proj)

    numeric = {}
    for n in nodes:
        if req[n] == "null":
            continue
        base = loc[n]
        work = base.copy()
        flat = work.reshape(-1)
        g = np.zeros(base.shape, dtype=np.float64)
        for j in range(flat.size):
            orig = flat[j]
            flat[j] = orig + eps / 2
            up_x = float(flat[j])
            exe.arg_dict[n][:] = work
            up = phi()
            flat[j] = orig - eps / 2
            down_x = float(flat[j])
            exe.arg_dict[n][:] = work
            down = phi()
            flat[j] = orig
            # divide by the step actually taken after rounding to the argument's dtype
            g.reshape(-1)[j] = (up - down) / (up_x - down_x)
        exe.arg_dict[n][:] = base
        numeric[n] = g

    for n in nodes:
        if n not in analytic:
            continue
        if req[n] == "write":
            assert_almost_equal(numeric[n], analytic[n].astype(np.float64), rtol, atol,
                                ("NUMERICAL_%s" % n, "BACKWARD_%s" % n))
        elif req[n] == "add":
            assert_almost_equal(numeric[n],
                                analytic[n].astype(np.float64) - initial[n].astype(np.float64),
                                rtol, atol, ("NUMERICAL_%s" % n, "BACKWARD_%s" % n))
        else:
            assert_almost_equal(initial[n], analytic[n], rtol, atol,
                                ("INITIAL_%s" % n, "BACKWARD_%s" % n))
    return analytic, numeric


def check_symbolic_forward(sym: Any, location: Any, expected: Any, rtol: float = 1e-4,
                           atol: Optional[float] = None, aux_states: Any = None,
                           ctx: Optional[Context] = None, equal_nan: bool = False,
                           dtype: Any = np.float32) -> list:
    """``mx.test_utils.check_symbolic_forward(sym, location, expected, rtol=1e-4,
    atol=None, aux_states=None, ctx=None, equal_nan=False, dtype=float32)``: bind ``sym``
    to ``location`` (a list in ``list_arguments()`` order or a dict naming every argument)
    and ``aux_states`` (list or dict), all cast to ``dtype`` (``'asnumpy'`` keeps theirs),
    run ``forward(is_train=False)`` and compare each output with ``expected`` (a list in
    ``list_outputs()`` order or a dict by output name) by :func:`assert_almost_equal`
    (``atol`` None: the dtype default). Raises ``AssertionError`` naming the output on
    mismatch; returns the executor's outputs (NDArrays)."""
    who = "check_symbolic_forward"
    ctx = ctx or default_context()
    loc = _parse_location(sym, location, dtype, who)
    aux = _parse_aux_states(sym, aux_states, dtype, who)
    out_names = sym.list_outputs()
    if isinstance(expected, dict):
        missing = [n for n in out_names if n not in expected]
        if missing:
            raise MXNetError("%s: expected has no entry for output(s) %s (outputs %s)"
                             % (who, missing, out_names))
        expected = [expected[n] for n in out_names]
    expected = _as_list(expected)
    if len(expected) != len(out_names):
        raise AssertionError("%s: %d expected array(s) for %d output(s) %s"
                             % (who, len(expected), len(out_names), out_names))
    exe = sym.bind(ctx, {n: _nd_of(v, ctx) for n, v in loc.items()}, grad_req="null",
                   aux_states=None if aux is None else
                   {n: _nd_of(v, ctx) for n, v in aux.items()})
    exe.forward(is_train=False)
    outputs = list(exe.outputs)
    for name, want, got in zip(out_names, expected, outputs):
        assert_almost_equal(_raw(want), got.asnumpy(), rtol, atol,
                            ("EXPECTED_%s" % name, "FORWARD_%s" % name), equal_nan=equal_nan)
    return outputs


def check_symbolic_backward(sym: Any, location: Any, out_grads: Any, expected: Any,
                            rtol: float = 1e-5, atol: Optional[float] = None,
                            aux_states: Any = None, grad_req: Any = "write",
                            ctx: Optional[Context] = None, grad_stypes: Optional[dict] = None,
                            equal_nan: bool = False, dtype: Any = np.float32) -> dict:
    """``mx.test_utils.check_symbolic_backward(sym, location, out_grads, expected,
    rtol=1e-5, atol=None, aux_states=None, grad_req='write', ctx=None, grad_stypes=None,
    equal_nan=False, dtype=float32)``: bind ``sym`` (``location``/``aux_states`` as in
    :func:`check_symbolic_forward`) with gradient buffers for the arguments ``expected``
    names (a list in ``list_arguments()`` order or a dict by name), run
    ``forward(is_train=True)`` and ``backward(out_grads)`` (``out_grads``: a list, a dict
    by output name, or None for loss outputs), and compare. ``grad_req`` is a str, a list
    in argument order or a dict. The buffers start as random normal values, so ``'write'``
    compares the gradient with ``expected``, ``'add'`` compares ``gradient - initial``
    with ``expected`` and ``'null'`` checks the buffer was left alone. Raises
    ``AssertionError`` naming the argument on mismatch; returns ``{name: gradient
    NDArray}``."""
    who = "check_symbolic_backward"
    ctx = ctx or default_context()
    _dense_only(grad_stypes, who)
    args = sym.list_arguments()
    loc = _parse_location(sym, location, dtype, who)
    aux = _parse_aux_states(sym, aux_states, dtype, who)
    if isinstance(expected, dict):
        unknown = sorted(k for k in expected if k not in args)
        if unknown:
            raise MXNetError("%s: expected names %s, which are not arguments of the symbol %s"
                             % (who, unknown, args))
        expected = {n: expected[n] for n in args if n in expected}
    else:
        values = _as_list(expected)
        if len(values) > len(args):
            raise MXNetError("%s: %d expected gradient(s) for %d argument(s) %s"
                             % (who, len(values), len(args), args))
        expected = {n: v for n, v in zip(args, values) if v is not None}
    req = _parse_grad_req(sym, grad_req, who)
    expected = {n: _raw(v) for n, v in expected.items()}
    initial = {n: np.random.normal(size=loc[n].shape).astype(loc[n].dtype)
               for n in expected}
    grads = {n: _nd_of(v, ctx) for n, v in initial.items()}
    # arguments without a buffer cannot receive a gradient: say so rather than rely on bind
    bind_req = {n: (req[n] if n in grads else "null") for n in args}
    exe = sym.bind(ctx, {n: _nd_of(v, ctx) for n, v in loc.items()}, args_grad=grads,
                   grad_req=bind_req,
                   aux_states=None if aux is None else
                   {n: _nd_of(v, ctx) for n, v in aux.items()})
    exe.forward(is_train=True)
    outs = list(exe.outputs)
    out_names = sym.list_outputs()

    def head(arr: Any, like: NDArray) -> Any:
        if isinstance(arr, NDArray) or arr is None:
            return arr
        a = _raw(arr)
        keep = isinstance(dtype, str) and dtype == "asnumpy"
        return _nd.array(a, ctx=ctx, dtype=a.dtype if keep else like.dtype)

    if isinstance(out_grads, dict):
        unknown = sorted(k for k in out_grads if k not in out_names)
        if unknown:
            raise MXNetError("%s: out_grads names %s, which are not outputs %s"
                             % (who, unknown, out_names))
        heads = [head(out_grads.get(n), o) for n, o in zip(out_names, outs)]
        if any(h is None for h in heads):
            missing = [n for n, h in zip(out_names, heads) if h is None]
            raise MXNetError("%s: out_grads has no entry for output(s) %s" % (who, missing))
    elif out_grads is None:
        heads = None
    else:
        heads = [head(g, o) for g, o in zip(_as_list(out_grads), outs)]
    exe.backward(heads)
    for n, want in expected.items():
        got = grads[n].asnumpy()
        if req[n] == "write":
            assert_almost_equal(want, got, rtol, atol, ("EXPECTED_%s" % n, "BACKWARD_%s" % n),
                                equal_nan=equal_nan)
        elif req[n] == "add":
            assert_almost_equal(want, got - initial[n], rtol, atol,
                                ("EXPECTED_%s" % n, "BACKWARD_%s" % n), equal_nan=equal_nan)
        else:
            assert_almost_equal(initial[n], got, rtol, atol,
                                ("INITIAL_%s" % n, "BACKWARD_%s" % n), equal_nan=equal_nan)
    return grads


# ---------------------------------------------------------------------- check_op
def _to_nd(a: Any, ctx: Context) -> NDArray:
    """An NDArray on ``ctx`` holding ``a`` in its own dtype (NumPy's float64 stays
    float64, unlike ``mx.nd.array``'s float32 default for non-NDArrays)."""
    if isinstance(a, NDArray):
        return a.as_in_context(ctx)
    a = np.asarray(a)
    return _nd.array(a, ctx=ctx, dtype=a.dtype)


def _resolve_op(op: Union[str, Callable]) -> tuple:
    """(function, display name, names an error message may use for the op)."""
    if callable(op):
        opdef = getattr(op, "opdef", None)
        name = getattr(op, "__name__", repr(op))
        fn = op
    else:
        fn = getattr(_nd, op, None)
        if not callable(fn):
            fn = getattr(_nd.op, op, None)
        if fn is None:
            raise MXNetError("check_op: unknown operator %r" % (op,))
        opdef = _registry.find(op) or getattr(fn, "opdef", None)
        name = op
    names = {name}
    if opdef is not None:
        names.update((opdef.name,) + tuple(opdef.aliases))
    return fn, name, names


def _compare_outputs(what: str, got: list, expected: list, rtol: Optional[float],
                     atol: Optional[float], check_dtype: bool, equal_nan: bool) -> None:
    if len(got) != len(expected):
        raise AssertionError("%s: the op returned %d output(s), the oracle has %d"
                             % (what, len(got), len(expected)))
    for k, (g, e) in enumerate(zip(got, expected)):
        if g.shape != e.shape:
            raise AssertionError("%s: output %d has shape %s, expected %s"
                                 % (what, k, g.shape, e.shape))
    if check_dtype:
        for k, (g, e) in enumerate(zip(got, expected)):
            if g.dtype != e.dtype:
                raise AssertionError("%s: output %d has dtype %s, expected %s"
                                     % (what, k, _dname(g.dtype), _dname(e.dtype)))
    for k, (g, e) in enumerate(zip(got, expected)):
        try:
            assert_almost_equal(g, e, rtol, atol, names=("output%d" % k, "expected%d" % k),
                                equal_nan=equal_nan)
        except AssertionError as err:
            raise AssertionError("%s: %s" % (what, err)) from None


def check_op(op: Union[str, Callable], inputs: Sequence[Any], params: Optional[dict] = None,
             reference: Optional[Callable] = None, fixture: Optional[dict] = None,
             rtol: Optional[float] = None, atol: Optional[float] = None,
             bad_inputs: Sequence[tuple] = (), ctx: Optional[Context] = None,
             grad: Union[bool, Sequence[int]] = True, *, check_dtype: bool = True,
             equal_nan: bool = True, numeric_eps: float = 1e-3,
             grad_rtol: Optional[float] = None, grad_atol: Optional[float] = None) -> list:
    """The oracle helper for operator tests: run ``mx.nd.<op>(*inputs, **params)`` on
    ``ctx`` (default :func:`default_context`) and check it. ``inputs`` are NumPy arrays
    (each becomes an NDArray of the same dtype; use at least 1-d arrays, since NDArrays are
    never 0-d). The outputs are checked for count, then shape, then dtype (``check_dtype``),
    then values against ``reference(*inputs, **params)`` (a NumPy function returning an
    array or a list of them) and/or ``fixture`` (``{'outputs': [arrays], 'rtol': ...,
    'atol': ...}`` written by MXNet 1.9.1). Tolerances are ``rtol``/``atol`` if given, else
    the fixture's, else the dtype defaults; NaN equals NaN unless ``equal_nan=False``.
    Gradients: when ``grad`` is true (or a list of input indices) and ``mixnet.autograd``
    exists with ``record``/``backward``, every float input is perturbed along one random
    direction in float64 and ``<autograd gradient, v>`` is compared with the central
    difference of ``<outputs, random heads>`` (tolerances ``grad_rtol``, default 1e-2, 5e-2
    for float16, and ``grad_atol``, default 1e-3, 1e-1 for float16). While autograd does not
    exist the gradient part is skipped silently. Each ``(bad_inputs_list, bad_params)`` in
    ``bad_inputs`` is a separate call (with exactly those params) that must raise
    ``MXNetError`` naming the op; results are waited on so asynchronous kernel errors count.
    Raises ``AssertionError`` on any failure and returns the outputs as NumPy arrays."""
    fn, name, op_names = _resolve_op(op)
    what = "check_op(%s)" % name
    if reference is None and fixture is None:
        raise ValueError("%s needs an oracle: reference= and/or fixture=" % what)
    ctx = ctx or default_context()
    params = dict(params or {})
    np_inputs = [_raw(a) if isinstance(a, NDArray) else np.asarray(a) for a in inputs]

    outs = _as_list(fn(*[_to_nd(a, ctx) for a in np_inputs], **params))
    got = [o.asnumpy() for o in outs]
    for k, o in enumerate(outs):
        if o.context != ctx:
            raise AssertionError("%s: output %d is on %s, the inputs on %s"
                                 % (what, k, o.context, ctx))

    if reference is not None:
        # copies, so a reference that works in place cannot change the inputs
        expected = [_raw(e) for e in _as_list(reference(*[a.copy() for a in np_inputs],
                                                        **params))]
        _compare_outputs(what + " vs reference", got, expected, rtol, atol, check_dtype,
                         equal_nan)
    if fixture is not None:
        if "outputs" not in fixture:
            raise ValueError("%s: fixture must be a dict with an 'outputs' entry" % what)
        expected = [_raw(e) for e in _as_list(fixture["outputs"])]
        _compare_outputs(what + " vs fixture", got, expected,
                         fixture.get("rtol") if rtol is None else rtol,
                         fixture.get("atol") if atol is None else atol, check_dtype, equal_nan)

    if grad and _autograd_module() is not None:
        nodes = _grad_nodes(np_inputs, None if grad is True else grad)
        if nodes:
            low = any(_precision_class(np_inputs[i].dtype) in ("float16", "bfloat16")
                      for i in nodes)
            call = lambda *xs: fn(*xs, **params)  # noqa: E731
            _directional_check(
                lambda arrays: [o.asnumpy() for o in _as_list(call(*[_to_nd(a, ctx)
                                                                     for a in arrays]))],
                lambda heads: _autograd_vjp(call, np_inputs, nodes, heads, ctx, True),
                np_inputs, nodes, numeric_eps,
                (5e-2 if low else 1e-2) if grad_rtol is None else grad_rtol,
                (1e-1 if low else 1e-3) if grad_atol is None else grad_atol,
                what + " gradient")

    for k, case in enumerate(bad_inputs):
        bad_list, bad_params = case
        shapes = ", ".join("%s %s" % (np.shape(a), _dname(np.asarray(a).dtype))
                           for a in bad_list)
        desc = "%s: bad input case %d (inputs %s, params %r)" % (what, k, shapes or "none",
                                                                   bad_params)
        try:
            _wait(fn(*[_to_nd(a, ctx) for a in bad_list], **dict(bad_params or {})))
        except MXNetError as e:
            msg = str(e).lower()
            if not any(n.lower() in msg for n in op_names):
                raise AssertionError("%s raised MXNetError without naming the op (%s): %s"
                                     % (desc, " or ".join(sorted(op_names)), e)) from None
            continue
        except Exception as e:  # noqa: BLE001 - any other type breaks the one-family rule
            raise AssertionError("%s raised %s instead of MXNetError: %s"
                                 % (desc, type(e).__name__, e)) from e
        raise AssertionError("%s did not raise MXNetError" % desc)
    return got


# ------------------------------------------------------------------ MXNet goldens
def load_op_fixtures(manifest: Union[str, os.PathLike], ops: Optional[Iterable[str]] = None) -> list:
    """The operator cases of a fixture manifest (a JSON list of entries, or an object
    with an ``"ops"`` list, as in MXNet 1.9.1's fixture set), optionally only those whose
    ``op`` is in ``ops``."""
    with open(manifest) as f:
        data = json.load(f)
    entries = data["ops"] if isinstance(data, dict) else data
    wanted = None if ops is None else set(ops)
    return [e for e in entries if wanted is None or e["op"] in wanted]


def _call_value(v: Any) -> Any:
    return tuple(_call_value(e) for e in v) if isinstance(v, list) else v


def check_op_fixture(entry: dict, root: Union[str, os.PathLike],
                     string_params: bool = False, gradients: bool = True) -> list:
    """Run one MXNet 1.9.1 operator golden (``mx.nd.<op>(*inputs, **params)``, inputs
    positional, params as Python values or, with ``string_params``, as MXNet's string
    attributes) the way MXNet recorded it: inputs with ``requires_grad`` get
    ``attach_grad()``, the call runs under ``autograd.record(train_mode=...)`` and backward
    runs with the recorded head gradients. Compares every listed output, then (with
    ``gradients``) every listed input gradient, then every input the op mutates in place:
    shape, dtype, values (exactly for ``exact`` cases and integer results, else with the
    case's tolerances). Returns the outputs as NumPy arrays."""
    from . import autograd
    with np.load(os.path.join(os.fspath(root), entry["file"])) as z:
        data = {k: z[k] for k in z.files}
    inputs = [_nd.array(data[i["key"]], dtype=data[i["key"]].dtype) for i in entry["inputs"]]
    by_name = {i["name"]: x for i, x in zip(entry["inputs"], inputs)}
    params = dict(entry["params"]) if string_params else \
        {k: _call_value(v) for k, v in entry["params_json"].items()}
    grads = entry.get("grads", []) if gradients else []
    if grads:
        for i, x in zip(entry["inputs"], inputs):
            if i.get("requires_grad"):
                x.attach_grad()
    scope = autograd.record if grads else \
        (autograd.train_mode if entry.get("train_mode") else autograd.predict_mode)
    with (scope(train_mode=bool(entry.get("train_mode"))) if grads else scope()):
        res = getattr(_nd, entry["op"])(*inputs, **params)
    res = res if isinstance(res, (list, tuple)) else [res]
    outs = [o.asnumpy() for o in res]
    exact = bool(entry.get("exact"))

    def compare(what: str, got: np.ndarray, want: np.ndarray) -> None:
        ex = exact or want.dtype.kind in "biu"
        _compare_outputs("%s %s" % (entry["id"], what), [got], [want],
                         0 if ex else entry["rtol"], 0 if ex else entry["atol"],
                         check_dtype=True, equal_nan=True)

    for o in entry["outputs"]:
        if o["index"] >= len(outs):
            raise AssertionError("%s: %d output(s), expected at least %d"
                                 % (entry["id"], len(outs), o["index"] + 1))
        compare("output %d" % o["index"], outs[o["index"]], data[o["key"]])
    if grads:
        heads = entry["head_grads"]
        autograd.backward([res[h["output_index"]] for h in heads],
                          [_nd.array(data[h["key"]], dtype=data[h["key"]].dtype)
                           for h in heads])
        for g in grads:
            x = by_name[g["input"]]
            if x.grad is None:
                raise AssertionError("%s: input %s has no gradient" % (entry["id"], g["input"]))
            compare("gradient of %s" % g["input"], x.grad.asnumpy(), data[g["key"]])
    for m in entry.get("mutated", []):
        compare("mutated input %s" % m["input"], by_name[m["input"]].asnumpy(), data[m["key"]])
    return outs
