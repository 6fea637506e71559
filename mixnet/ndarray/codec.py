"""Byte codec for MXNet 1.9.1's NDArray binary format (``mx.nd.save`` / ``mx.nd.load``).

This module converts between bytes and plain :class:`Record` objects holding NumPy
arrays; it knows nothing about NDArray objects. The layout is specified in
``docs/mxnet-formats.md`` section 1: a list file is ``u64 0x112, u64 reserved, u64 N,
N records, u64 K, K names``; a record is one of V1 / V2 / V3 / pre-V1 legacy.

The decoder treats its input as hostile: every count, length and size field is checked
against the bytes that remain *before* anything is allocated, and every failure is an
:class:`MXNetError` naming the source, the byte offset and what was being read.
"""
from __future__ import annotations

import struct
import sys
from dataclasses import dataclass, field
from typing import Iterable, Optional, Sequence, Union

import numpy as np

from ..base import DTYPE_TO_FLAG, FLAG_TO_DTYPE, MXNetError

__all__ = [
    "STYPE_DEFAULT", "STYPE_ROW_SPARSE", "STYPE_CSR", "Record",
    "encode_record", "decode_record", "encode_list", "decode_list",
    "LIST_MAGIC", "V1_MAGIC", "V2_MAGIC", "V3_MAGIC",
]

STYPE_DEFAULT, STYPE_ROW_SPARSE, STYPE_CSR = 0, 1, 2
_NUM_AUX = {STYPE_DEFAULT: 0, STYPE_ROW_SPARSE: 1, STYPE_CSR: 2}
_STYPE_NAMES = {STYPE_DEFAULT: "default", STYPE_ROW_SPARSE: "row_sparse", STYPE_CSR: "csr"}

LIST_MAGIC = 0x112
V1_MAGIC = 0xF993FAC8
V2_MAGIC = 0xF993FAC9
V3_MAGIC = 0xF993FACA

# No real array has more dimensions; a larger ndim is a corrupt length field.
_MAX_NDIM = 32
# Even a zero-size array must have a NumPy-representable shape: the product of its
# non-zero dims times the item size must stay well inside a signed 64-bit size.
_MAX_NBYTES = 1 << 62
# The smallest possible record is a legacy "none" record: one u32 (ndim 0).
_MIN_RECORD_BYTES = 4

_I32_MIN, _I32_MAX = -(1 << 31), (1 << 31) - 1

Buffer = Union[bytes, bytearray, memoryview]


@dataclass
class Record:
    """One serialized array: storage type, logical shape, dtype, data and aux arrays.

    ``shape is None`` marks a "none" array (no storage). For dense records ``data`` has
    ``shape``; for sparse ones it is the storage data (row_sparse ``(nnz_rows,
    *shape[1:])``, csr ``(nnz,)``) and ``aux`` holds ``[indices]`` (row_sparse) or
    ``[indptr, indices]`` (csr). ``version`` reports the on-disk variant after decoding.
    """

    stype: int
    shape: Optional[tuple]
    dtype: np.dtype
    data: Optional[np.ndarray]
    aux: list = field(default_factory=list)
    dev_type: int = 1
    dev_id: int = 0
    version: str = "v2"


# ============================================================================ decoding
class _Reader:
    """A bounds-checked cursor over a byte buffer; every failure names the source."""

    def __init__(self, buf: Buffer, source: str) -> None:
        _check_host()
        self.mv = _as_byte_view(buf, source)
        self.pos = 0
        self.end = len(self.mv)
        self.source = source

    @property
    def left(self) -> int:
        return self.end - self.pos

    def fail(self, msg: str, at: Optional[int] = None) -> MXNetError:
        where = self.pos if at is None else at
        return MXNetError("%s: %s at byte %d" % (self.source, msg, where))

    def need(self, n: int, what: str) -> None:
        if n > self.left:
            raise MXNetError("%s: truncated at byte %d while reading %s (need %d bytes, %d left)"
                             % (self.source, self.pos, what, n, self.left))

    def unpack(self, fmt: str, what: str) -> int:
        size = struct.calcsize(fmt)
        self.need(size, what)
        (value,) = struct.unpack_from(fmt, self.mv, self.pos)
        self.pos += size
        return value

    def u32(self, what: str) -> int:
        return self.unpack("<I", what)

    def i32(self, what: str) -> int:
        return self.unpack("<i", what)

    def u64(self, what: str) -> int:
        return self.unpack("<Q", what)

    def i64(self, what: str) -> int:
        return self.unpack("<q", what)

    def raw(self, n: int, what: str) -> memoryview:
        self.need(n, what)
        out = self.mv[self.pos:self.pos + n]
        self.pos += n
        return out

    def array(self, dtype: np.dtype, shape: tuple, what: str) -> np.ndarray:
        """Copy ``prod(shape)`` items out of the buffer as an independent array.

        The caller has already validated ``shape``; the byte count is still checked
        against what remains so no allocation ever exceeds the input size.
        """
        count = _prod(shape)
        nbytes = count * dtype.itemsize
        self.need(nbytes, what)
        if count == 0:
            # frombuffer cannot express a shape with zeros; nothing to read anyway.
            return np.zeros(shape, dtype=dtype)
        flat = np.frombuffer(self.mv, dtype=dtype, count=count, offset=self.pos)
        self.pos += nbytes
        return flat.copy().reshape(shape)


def _check_host() -> None:
    # The format is little-endian and arrays are read with native dtypes.
    if sys.byteorder != "little":
        raise MXNetError("the NDArray file codec only supports little-endian hosts")


def _as_byte_view(buf: Buffer, source: str) -> memoryview:
    if not isinstance(buf, (bytes, bytearray, memoryview)):
        raise MXNetError("%s: expected bytes, bytearray or memoryview, got %s"
                         % (source, type(buf).__name__))
    mv = memoryview(buf)
    if mv.format == "B" and mv.ndim == 1:
        return mv
    if not mv.c_contiguous:
        raise MXNetError("%s: buffer must be C-contiguous" % source)
    return mv.cast("B")


def _prod(dims: Iterable[int]) -> int:
    out = 1
    for d in dims:
        out *= d
    return out


def _read_dtype(rd: _Reader, what: str) -> np.dtype:
    at = rd.pos
    flag = rd.i32(what)
    dtype = FLAG_TO_DTYPE.get(flag)
    if dtype is None:
        # Flags 8-11 (int16/uint16/uint32/uint64) exist in mshadow but 1.9.1 cannot
        # serialize them, so they only appear in corrupt or foreign files.
        raise rd.fail("unsupported dtype type flag %d in %s" % (flag, what), at)
    return dtype


def _read_ndim(rd: _Reader, what: str) -> int:
    at = rd.pos
    ndim = rd.i32(what + " ndim")
    if ndim < -1 or ndim > _MAX_NDIM:
        raise rd.fail("invalid ndim %d in %s" % (ndim, what), at)
    return ndim


def _read_shape(rd: _Reader, what: str, allow_unknown: bool) -> Optional[tuple]:
    """Read an ``i32 ndim`` + ``i64`` dims TShape.

    Returns ``None`` for an unknown shape (ndim -1, or a -1 dim when ``allow_unknown``);
    the caller decides what ndim 0 means for its format version.
    """
    ndim = _read_ndim(rd, what)
    if ndim == -1:
        return None
    rd.need(8 * ndim, what + " dims")
    dims = []
    unknown = False
    for i in range(ndim):
        at = rd.pos
        d = rd.i64(what + " dims")
        if d == -1 and allow_unknown:
            unknown = True
        elif d < 0:
            raise rd.fail("invalid dimension %d (axis %d) in %s" % (d, i, what), at)
        dims.append(d)
    return None if unknown else tuple(dims)


def _read_legacy_shape(rd: _Reader, ndim: int, what: str) -> tuple:
    rd.need(4 * ndim, what + " dims")
    return tuple(rd.u32(what + " dims") for _ in range(ndim))


def _check_fits(rd: _Reader, shape: tuple, dtype: np.dtype, what: str, at: int) -> None:
    """Reject shapes whose byte size exceeds the remaining input or NumPy's limits."""
    nonzero = _prod(d for d in shape if d != 0)
    if nonzero * dtype.itemsize > _MAX_NBYTES:
        raise rd.fail("shape %s of %s is too large" % (shape, what), at)
    nbytes = _prod(shape) * dtype.itemsize
    if nbytes > rd.left:
        raise MXNetError("%s: truncated at byte %d while reading %s (need %d bytes, %d left)"
                         % (rd.source, rd.pos, what, nbytes, rd.left))


def _read_context(rd: _Reader, label: str) -> tuple[int, int]:
    dev_type = rd.i32(label + " context dev_type")
    dev_id = rd.i32(label + " context dev_id")
    return dev_type, dev_id


def _read_dense_body(rd: _Reader, shape: tuple, label: str, version: str) -> Record:
    dev_type, dev_id = _read_context(rd, label)
    dtype = _read_dtype(rd, label + " dtype flag")
    _check_fits(rd, shape, dtype, label + " data", rd.pos)
    data = rd.array(dtype, shape, label + " data")
    return Record(STYPE_DEFAULT, shape, dtype, data, [], dev_type, dev_id, version)


def _read_legacy(rd: _Reader, ndim: int, label: str) -> Record:
    """Pre-V1 record: the leading u32 was ``ndim``; dims are u32; ndim 0 is none."""
    if ndim > _MAX_NDIM:
        raise rd.fail("unknown record magic / invalid legacy ndim 0x%08x in %s"
                      % (ndim, label), rd.pos - 4)
    shape = _read_legacy_shape(rd, ndim, label + " shape")
    if ndim == 0:
        return Record(STYPE_DEFAULT, None, FLAG_TO_DTYPE[0], None, [], 1, 0, "legacy")
    return _read_dense_body(rd, shape, label, "legacy")


def _read_v1(rd: _Reader, label: str) -> Record:
    shape = _read_shape(rd, label + " shape", allow_unknown=False)
    if not shape:  # ndim 0 (or -1) means "none" outside NumPy-shape semantics
        return Record(STYPE_DEFAULT, None, FLAG_TO_DTYPE[0], None, [], 1, 0, "v1")
    return _read_dense_body(rd, shape, label, "v1")


def _read_v2v3(rd: _Reader, label: str, v3: bool) -> Record:
    version = "v3" if v3 else "v2"
    at = rd.pos
    stype = rd.i32(label + " storage type")
    if stype not in _NUM_AUX:
        raise rd.fail("unknown storage type %d in %s" % (stype, label), at)
    num_aux = _NUM_AUX[stype]
    sshape = None
    if num_aux:
        sshape_at = rd.pos
        sshape = _read_shape(rd, label + " storage shape", allow_unknown=v3)
    shape = _read_shape(rd, label + " shape", allow_unknown=v3)
    # V2 ndim 0 = none (legacy semantics); V3 ndim 0 = a 0-d scalar.
    if shape is None or (not v3 and len(shape) == 0):
        return Record(stype, None, FLAG_TO_DTYPE[0], None, [], 1, 0, version)
    if num_aux == 0:
        return _read_dense_body(rd, shape, label, version)
    if sshape is None:
        raise rd.fail("unknown storage shape in %s" % label, sshape_at)
    return _read_sparse_body(rd, stype, sshape, shape, label, version)


def _read_sparse_body(rd: _Reader, stype: int, sshape: tuple, shape: tuple,
                      label: str, version: str) -> Record:
    dev_type, dev_id = _read_context(rd, label)
    dtype = _read_dtype(rd, label + " dtype flag")
    aux_types, aux_shapes = [], []
    for i in range(_NUM_AUX[stype]):
        what = "%s aux %d" % (label, i)
        at = rd.pos
        aux_dtype = _read_dtype(rd, what + " type flag")
        if not np.issubdtype(aux_dtype, np.integer):
            raise rd.fail("aux array %d of %s has non-integer dtype %s" % (i, label, aux_dtype), at)
        aux_shape = _read_shape(rd, what + " shape", allow_unknown=False)
        if aux_shape is None:
            raise rd.fail("unknown shape for %s" % what, at)
        aux_types.append(aux_dtype)
        aux_shapes.append(aux_shape)
    err = _sparse_shape_error(stype, sshape, shape, aux_shapes)
    if err:
        raise rd.fail("inconsistent %s record (%s) in %s" % (_STYPE_NAMES[stype], err, label))
    # Check the total before reading anything so a bogus size fails at one clear spot.
    at = rd.pos
    _check_fits(rd, sshape, dtype, label + " data", at)
    data = rd.array(dtype, sshape, label + " data")
    aux = []
    for i, (aux_dtype, aux_shape) in enumerate(zip(aux_types, aux_shapes)):
        what = "%s aux %d data" % (label, i)
        _check_fits(rd, aux_shape, aux_dtype, what, rd.pos)
        aux.append(rd.array(aux_dtype, aux_shape, what))
    err = _sparse_value_error(stype, shape, data, aux)
    if err:
        raise rd.fail("inconsistent %s record (%s) in %s" % (_STYPE_NAMES[stype], err, label), at)
    return Record(stype, shape, dtype, data, aux, dev_type, dev_id, version)


def _sparse_shape_error(stype: int, sshape: tuple, shape: tuple,
                        aux_shapes: Sequence[tuple]) -> Optional[str]:
    """Describe why the storage/aux shapes do not fit the logical shape, or ``None``."""
    if stype == STYPE_ROW_SPARSE:
        if len(shape) < 1:
            return "row_sparse logical shape must have ndim >= 1"
        if len(sshape) != len(shape) or tuple(sshape[1:]) != tuple(shape[1:]):
            return "storage shape %s does not match shape %s" % (sshape, shape)
        if sshape[0] > shape[0]:
            return "storage rows %d exceed rows %d" % (sshape[0], shape[0])
        if tuple(aux_shapes[0]) != (sshape[0],):
            return "indices shape %s, expected (%d,)" % (aux_shapes[0], sshape[0])
        return None
    if len(shape) != 2:
        return "csr logical shape must be 2-d, got %s" % (shape,)
    if len(sshape) != 1:
        return "csr storage shape must be 1-d, got %s" % (sshape,)
    if tuple(aux_shapes[0]) != (shape[0] + 1,):
        return "indptr shape %s, expected (%d,)" % (aux_shapes[0], shape[0] + 1)
    if tuple(aux_shapes[1]) != (sshape[0],):
        return "indices shape %s, expected (%d,)" % (aux_shapes[1], sshape[0])
    return None


def _sparse_value_error(stype: int, shape: tuple, data: np.ndarray,
                        aux: Sequence[np.ndarray]) -> Optional[str]:
    """Check index ranges so that densifying the record cannot index out of bounds."""
    if stype == STYPE_ROW_SPARSE:
        idx = aux[0]
        if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= shape[0]):
            return "row index out of range [0, %d)" % shape[0]
        return None
    indptr, indices = aux
    nnz = data.shape[0]
    if int(indptr[0]) != 0 or int(indptr[-1]) != nnz:
        return "indptr must start at 0 and end at nnz=%d" % nnz
    if indptr.size > 1 and bool(np.any(np.diff(indptr.astype(np.int64)) < 0)):
        return "indptr is not non-decreasing"
    if indices.size and (int(indices.min()) < 0 or int(indices.max()) >= shape[1]):
        return "column index out of range [0, %d)" % shape[1]
    return None


def _read_record(rd: _Reader, label: str) -> Record:
    magic = rd.u32(label + " magic")
    if magic == V2_MAGIC:
        return _read_v2v3(rd, label, v3=False)
    if magic == V3_MAGIC:
        return _read_v2v3(rd, label, v3=True)
    if magic == V1_MAGIC:
        return _read_v1(rd, label)
    return _read_legacy(rd, magic, label)


def decode_record(buf: Buffer, source: str = "<buffer>") -> Record:
    """Decode exactly one §1.3 array record (no list header), e.g. a pickled NDArray handle.

    Accepts V1, V2, V3 and pre-V1 legacy records, dense or sparse, including "none"
    arrays (returned with ``shape=None`` and ``data=None``). Trailing bytes after the
    record, truncation or any inconsistent field raise :class:`MXNetError` whose message
    names ``source`` and the byte offset.
    """
    rd = _Reader(buf, source)
    rec = _read_record(rd, "array 0")
    if rd.left:
        raise rd.fail("%d trailing bytes after the record" % rd.left)
    return rec


def decode_list(buf: Buffer, source: str = "<buffer>") -> tuple[list[Record], list[str]]:
    """Decode an array-list file (``mx.nd.save`` output) into ``(records, names)``.

    ``names`` is ``[]`` for a plain list and has one UTF-8 name per record for a dict.
    The magic must be 0x112, the name count must be 0 or N, and the file must end right
    after the last name; anything else raises :class:`MXNetError` naming ``source``.
    """
    rd = _Reader(buf, source)
    magic = rd.u64("list magic")
    if magic != LIST_MAGIC:
        raise rd.fail("bad list magic 0x%x (expected 0x112); not an NDArray file" % magic, 0)
    rd.u64("list reserved field")
    at = rd.pos
    count = rd.u64("array count")
    if count > rd.left // _MIN_RECORD_BYTES:
        raise rd.fail("array count %d cannot fit in the %d remaining bytes" % (count, rd.left), at)
    records = [_read_record(rd, "array %d" % i) for i in range(count)]
    names = _read_names(rd, count)
    if rd.left:
        raise rd.fail("%d trailing bytes after the name list" % rd.left)
    return records, names


def _read_names(rd: _Reader, count: int) -> list[str]:
    at = rd.pos
    num_names = rd.u64("name count")
    if num_names not in (0, count):
        raise rd.fail("name count %d must be 0 or equal to the array count %d"
                      % (num_names, count), at)
    names = []
    for i in range(num_names):
        what = "name %d" % i
        at = rd.pos
        length = rd.u64(what + " length")
        if length > rd.left:
            raise MXNetError("%s: truncated at byte %d while reading %s (need %d bytes, %d left)"
                             % (rd.source, rd.pos, what, length, rd.left))
        raw = rd.raw(length, what)
        try:
            names.append(str(raw, "utf-8"))
        except UnicodeDecodeError as e:
            raise rd.fail("%s is not valid UTF-8 (%s)" % (what, e.reason), at) from None
    return names


# ============================================================================ encoding
def _fail_encode(msg: str) -> MXNetError:
    return MXNetError("cannot encode NDArray record: " + msg)


def _dtype_flag(dtype: np.dtype, what: str) -> int:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise _fail_encode("%s: %r is not a dtype" % (what, dtype)) from None
    if dt.byteorder == ">":
        dt = dt.newbyteorder("<")
    flag = DTYPE_TO_FLAG.get(dt)
    if flag is None:
        raise _fail_encode("%s: dtype %s cannot be serialized" % (what, dt))
    return flag


def _i32(value: int, what: str) -> bytes:
    if not isinstance(value, (int, np.integer)) or not _I32_MIN <= int(value) <= _I32_MAX:
        raise _fail_encode("%s %r is not a 32-bit integer" % (what, value))
    return struct.pack("<i", int(value))


def _shape_bytes(shape: Sequence[int], what: str) -> bytes:
    dims = tuple(shape)
    if len(dims) > _MAX_NDIM:
        raise _fail_encode("%s has %d dimensions (max %d)" % (what, len(dims), _MAX_NDIM))
    for d in dims:
        if not isinstance(d, (int, np.integer)) or not 0 <= int(d) < (1 << 63):
            raise _fail_encode("%s %r has an invalid dimension %r" % (what, dims, d))
    return struct.pack("<i%dq" % len(dims), len(dims), *(int(d) for d in dims))


def _data_view(arr: np.ndarray, dtype: np.dtype, shape: tuple, what: str) -> memoryview:
    """Little-endian C-order bytes of ``arr`` without an extra copy when already so."""
    if not isinstance(arr, np.ndarray):
        raise _fail_encode("%s must be a NumPy array, got %s" % (what, type(arr).__name__))
    if tuple(arr.shape) != tuple(shape):
        raise _fail_encode("%s has shape %s, expected %s" % (what, arr.shape, shape))
    want = np.dtype(dtype)
    if want.byteorder == ">":
        want = want.newbyteorder("<")
    have = arr.dtype.newbyteorder("<") if arr.dtype.byteorder == ">" else arr.dtype
    if have != want:
        raise _fail_encode("%s has dtype %s, expected %s" % (what, arr.dtype, want))
    flat = np.ascontiguousarray(arr, dtype=want).reshape(-1)
    return memoryview(flat.view(np.uint8))


def _record_parts(rec: Record, np_shape: bool) -> list[Union[bytes, memoryview]]:
    if rec.stype not in _NUM_AUX:
        raise _fail_encode("unknown storage type %r" % (rec.stype,))
    if rec.shape is None or rec.data is None:
        raise _fail_encode("a 'none' array (no shape or no data) cannot be saved")
    shape = tuple(rec.shape)
    if np_shape and rec.stype != STYPE_DEFAULT:
        raise _fail_encode("NumPy-shape (V3) records cannot hold sparse arrays (%s)"
                           % _STYPE_NAMES[rec.stype])
    if not np_shape and len(shape) == 0:
        # V2 reads ndim 0 as "none"; only V3 can store a 0-d scalar.
        raise _fail_encode("a 0-d array can only be saved with np_shape=True")
    flag = _dtype_flag(rec.dtype, "array dtype")
    magic = V3_MAGIC if np_shape else V2_MAGIC
    parts = [struct.pack("<I", magic), _i32(rec.stype, "storage type")]
    if rec.stype == STYPE_DEFAULT:
        parts += [_shape_bytes(shape, "shape"), _i32(rec.dev_type, "dev_type"),
                  _i32(rec.dev_id, "dev_id"), struct.pack("<i", flag),
                  _data_view(rec.data, rec.dtype, shape, "data")]
        return parts
    return parts + _sparse_parts(rec, shape, flag)


def _sparse_parts(rec: Record, shape: tuple, flag: int) -> list[Union[bytes, memoryview]]:
    num_aux = _NUM_AUX[rec.stype]
    if not isinstance(rec.data, np.ndarray):
        raise _fail_encode("sparse data must be a NumPy array")
    aux = list(rec.aux)
    if len(aux) != num_aux or not all(isinstance(a, np.ndarray) for a in aux):
        raise _fail_encode("%s needs %d aux arrays, got %d"
                           % (_STYPE_NAMES[rec.stype], num_aux, len(aux)))
    sshape = tuple(rec.data.shape)
    aux_flags = []
    for i, a in enumerate(aux):
        if not np.issubdtype(a.dtype, np.integer):
            raise _fail_encode("aux array %d has non-integer dtype %s" % (i, a.dtype))
        aux_flags.append(_dtype_flag(a.dtype, "aux array %d" % i))
    err = _sparse_shape_error(rec.stype, sshape, shape, [tuple(a.shape) for a in aux])
    if err:
        raise _fail_encode("inconsistent %s array: %s" % (_STYPE_NAMES[rec.stype], err))
    parts = [_shape_bytes(sshape, "storage shape"), _shape_bytes(shape, "shape"),
             _i32(rec.dev_type, "dev_type"), _i32(rec.dev_id, "dev_id"),
             struct.pack("<i", flag)]
    for aflag, a in zip(aux_flags, aux):
        parts += [struct.pack("<i", aflag), _shape_bytes(a.shape, "aux shape")]
    parts.append(_data_view(rec.data, rec.dtype, sshape, "sparse data"))
    parts += [_data_view(a, a.dtype, a.shape, "aux data") for a in aux]
    return parts


def encode_record(rec: Record, np_shape: bool = False) -> bytes:
    """Encode one array as a §1.3 record: V2 (``0xF993FAC9``), or V3 when ``np_shape``.

    Dense and sparse (row_sparse, csr) records are supported in V2; V3 accepts dense
    arrays only but, unlike V2, can hold 0-d scalars. ``rec.version`` is ignored. Invalid
    records (none arrays, mismatched dtypes or shapes, unsupported dtypes) raise
    :class:`MXNetError`.
    """
    _check_host()
    return b"".join(_record_parts(rec, np_shape))


def encode_list(records: Sequence[Record], names: Optional[Sequence[str]] = None,
                np_shape: bool = False) -> bytes:
    """Encode an array-list file as ``mx.nd.save`` writes it.

    With ``names`` (one per record, UTF-8 encoded) the file is a dict, otherwise a plain
    list; an empty dict and an empty list therefore give the same 32 bytes. Each record
    is encoded as by :func:`encode_record` with the given ``np_shape``.
    """
    _check_host()
    records = list(records)
    names = list(names) if names else []
    if names and len(names) != len(records):
        raise MXNetError("cannot encode NDArray list: %d names for %d arrays"
                         % (len(names), len(records)))
    parts = [struct.pack("<QQQ", LIST_MAGIC, 0, len(records))]
    for i, rec in enumerate(records):
        try:
            parts += _record_parts(rec, np_shape)
        except MXNetError as e:
            raise MXNetError("array %d%s: %s" % (
                i, " (%r)" % names[i] if names else "", e)) from None
    parts.append(struct.pack("<Q", len(names)))
    for name in names:
        if not isinstance(name, str):
            raise MXNetError("cannot encode NDArray list: name %r is not a str" % (name,))
        try:
            raw = name.encode("utf-8")
        except UnicodeEncodeError as e:
            raise MXNetError("cannot encode NDArray list: name %r is not encodable as UTF-8 (%s)"
                             % (name, e.reason)) from None
        parts += [struct.pack("<Q", len(raw)), raw]
    return b"".join(parts)
