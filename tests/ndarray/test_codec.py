"""Tests for the NDArray binary codec (mixnet.ndarray.codec) and mixnet.fileutil.

Byte layouts come from docs/mxnet-formats.md section 1 (hexdumps verified on real MXNet
1.9.1) and from the MXNet-written fixtures under tests/fixtures/mxnet-1.9.1/ndarray/.
"""
from __future__ import annotations

import json
import os
import random
import struct
from pathlib import Path

import numpy as np
import pytest

from mixnet.base import BFLOAT16, FLAG_TO_DTYPE, MXNetError
from mixnet.fileutil import atomic_write
from mixnet.ndarray.codec import (
    STYPE_CSR, STYPE_DEFAULT, STYPE_ROW_SPARSE, Record, decode_list, decode_record,
    encode_list, encode_record,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "mxnet-1.9.1"
MANIFEST = json.loads((FIXTURES / "ndarray" / "manifest.json").read_text())

V1, V2, V3 = 0xF993FAC8, 0xF993FAC9, 0xF993FACA


def h(text: str) -> bytes:
    """Bytes from an xxd-style hex string (whitespace ignored)."""
    return bytes.fromhex("".join(text.split()))


def dense(arr, dtype=None, **kw) -> Record:
    a = np.array(arr, dtype=dtype, order="C")  # ascontiguousarray would make 0-d 1-d
    return Record(STYPE_DEFAULT, a.shape, a.dtype, a, [], **kw)


def bf16(values) -> np.ndarray:
    """bfloat16 array holding the upper halves of the float32 bit patterns."""
    bits = (np.asarray(values, np.float32).view(np.uint32) >> 16).astype(np.uint16)
    return bits.view(BFLOAT16)


def csr_record() -> Record:
    # [[0,1,0],[0,0,0],[2,0,3]]
    return Record(STYPE_CSR, (3, 3), np.dtype(np.float32),
                  np.array([1, 2, 3], np.float32),
                  [np.array([0, 1, 1, 3], np.int64), np.array([1, 0, 2], np.int64)])


def row_sparse_record() -> Record:
    return Record(STYPE_ROW_SPARSE, (3, 3), np.dtype(np.float32),
                  np.array([[0, 1, 0], [2, 0, 3]], np.float32), [np.array([0, 2], np.int64)])


def list_header(n: int) -> bytes:
    return struct.pack("<QQQ", 0x112, 0, n)


def assert_same_array(got: np.ndarray, want: np.ndarray) -> None:
    assert got.dtype == want.dtype
    assert got.shape == want.shape
    assert got.flags.c_contiguous and got.flags.writeable
    assert got.tobytes() == want.tobytes()  # bit-exact, NaN payloads included


def assert_mx_error(fn, *args, source="src.nd", match=None) -> str:
    """Call ``fn(*args, source=source)`` (no source when ``None``) and check the error."""
    kw = {} if source is None else {"source": source}
    with pytest.raises(MXNetError) as info:
        fn(*args, **kw)
    msg = str(info.value)
    if source is not None:
        assert source in msg, msg
    if match is not None:
        assert match in msg, msg
    return msg


# ====================================================================== §1.9 hexdumps
LIST1 = h("""
1201 0000 0000 0000 0000 0000 0000 0000
0100 0000 0000 0000 c9fa 93f9 0000 0000
0200 0000 0200 0000 0000 0000 0300 0000
0000 0000 0100 0000 0000 0000 0000 0000
0000 803f 0000 0040 0000 4040 0000 8040
0000 a040 0000 c040 0000 0000 0000 0000
""")
DICT1 = LIST1[:0x58] + h("0100 0000 0000 0000 0100 0000 0000 0000 77")

CSR_FILE = list_header(1) + h("""
c9fa 93f9 0200 0000 0100 0000 0300 0000
0000 0000 0200 0000 0300 0000 0000 0000
0300 0000 0000 0000 0100 0000 0000 0000
0000 0000 0600 0000 0100 0000 0400 0000
0000 0000 0600 0000 0100 0000 0300 0000
0000 0000 0000 803f 0000 0040 0000 4040
0000 0000 0000 0000 0100 0000 0000 0000
0100 0000 0000 0000 0300 0000 0000 0000
0100 0000 0000 0000 0000 0000 0000 0000
0200 0000 0000 0000 0000 0000 0000 0000
""")

ROW_SPARSE_FILE = list_header(1) + h("""
c9fa 93f9 0100 0000 0200 0000 0200 0000
0000 0000 0300 0000 0000 0000 0200 0000
0300 0000 0000 0000 0300 0000 0000 0000
0100 0000 0000 0000 0000 0000 0600 0000
0100 0000 0200 0000 0000 0000 0000 0000
0000 803f 0000 0000 0000 0040 0000 0000
0000 4040 0000 0000 0000 0000 0200 0000
0000 0000 0000 0000 0000 0000
""")

V3_FILE = h("1201 0000 0000 0000 0000 0000 0000 0000") + h("""
0200 0000 0000 0000 cafa 93f9 0000 0000
0000 0000 0100 0000 0000 0000 0000 0000
0000 a040 cafa 93f9 0000 0000 0200 0000
0000 0000 0000 0000 0200 0000 0000 0000
0100 0000 0000 0000 0000 0000 0000 0000
0000 0000
""")

PICKLED_12 = h("c9fa93f9 00000000 01000000 02000000 00000000 "
               "01000000 00000000 00000000 0000803f 00000040")


def test_hexdump_list_of_one_2x3_float32():
    a = np.array([[1, 2, 3], [4, 5, 6]], np.float32)
    assert encode_list([dense(a)]) == LIST1
    recs, names = decode_list(LIST1)
    assert names == []
    assert len(recs) == 1 and recs[0].version == "v2" and recs[0].stype == STYPE_DEFAULT
    assert (recs[0].dev_type, recs[0].dev_id) == (1, 0)
    assert_same_array(recs[0].data, a)


def test_hexdump_dict_w():
    a = np.array([[1, 2, 3], [4, 5, 6]], np.float32)
    assert encode_list([dense(a)], ["w"]) == DICT1
    recs, names = decode_list(DICT1)
    assert names == ["w"]
    assert_same_array(recs[0].data, a)


@pytest.mark.parametrize("arr, flag, data", [
    (np.array([1, 0], np.float16), "0200 0000", "003c 0000"),
    (bf16([1.5, 2.0]), "0c00 0000", "c03f 0040"),
    (np.array([True, False]), "0700 0000", "01 00"),
])
def test_hexdump_dtype_fragments(arr, flag, data):
    blob = encode_list([dense(arr)])
    assert blob[0x34:0x38] == h(flag)
    assert blob[0x38:0x38 + len(h(data))] == h(data)
    assert blob[0x38 + len(h(data)):] == bytes(8)  # K = 0, nothing else
    rec = decode_list(blob)[0][0]
    assert rec.dtype == arr.dtype
    assert_same_array(rec.data, arr)


def test_hexdump_csr():
    assert encode_list([csr_record()]) == CSR_FILE
    rec = decode_list(CSR_FILE)[0][0]
    want = csr_record()
    assert (rec.stype, rec.shape, rec.dtype) == (STYPE_CSR, (3, 3), np.float32)
    assert_same_array(rec.data, want.data)
    assert len(rec.aux) == 2
    for got, exp in zip(rec.aux, want.aux):
        assert_same_array(got, exp)


def test_hexdump_row_sparse():
    assert encode_list([row_sparse_record()]) == ROW_SPARSE_FILE
    rec = decode_list(ROW_SPARSE_FILE)[0][0]
    assert (rec.stype, rec.shape) == (STYPE_ROW_SPARSE, (3, 3))
    assert_same_array(rec.data, row_sparse_record().data)
    assert_same_array(rec.aux[0], np.array([0, 2], np.int64))


def test_hexdump_v3_scalar_and_zero_size():
    recs = [dense(np.array(5.0, np.float32)), dense(np.zeros((0, 2), np.float32))]
    assert encode_list(recs, np_shape=True) == V3_FILE
    got, names = decode_list(V3_FILE)
    assert names == []
    assert [r.version for r in got] == ["v3", "v3"]
    assert_same_array(got[0].data, np.array(5.0, np.float32))
    assert got[0].shape == ()
    assert_same_array(got[1].data, np.zeros((0, 2), np.float32))


def test_hexdump_pickled_single_record():
    assert encode_record(dense(np.array([1, 2], np.float32))) == PICKLED_12
    for buf in (PICKLED_12, bytearray(PICKLED_12), memoryview(PICKLED_12)):
        rec = decode_record(buf)
        assert rec.version == "v2"
        assert_same_array(rec.data, np.array([1, 2], np.float32))


def test_empty_dict_and_list_are_identical_32_bytes():
    assert encode_list([], []) == encode_list([]) == list_header(0) + bytes(8)
    assert decode_list(encode_list([], [])) == ([], [])


def test_context_is_written_as_given():
    blob = encode_record(dense(np.ones(1, np.float32), dev_type=3, dev_id=1))
    assert blob[20:28] == h("0300 0000 0100 0000")
    rec = decode_record(blob)
    assert (rec.dev_type, rec.dev_id) == (3, 1)


def test_decoded_arrays_do_not_alias_the_buffer():
    buf = bytearray(LIST1)
    rec = decode_list(buf)[0][0]
    buf[0x40:0x44] = b"\xff" * 4
    assert rec.data[0, 0] == 1.0
    rec.data[0, 0] = 7  # writable
    assert buf[0x40:0x44] == b"\xff" * 4


# ====================================================================== MXNet fixtures
def _expected(entry) -> np.lib.npyio.NpzFile:
    return np.load(FIXTURES / entry["expected"])


def _densify(rec: Record) -> np.ndarray:
    out = np.zeros(rec.shape, rec.dtype)
    if rec.stype == STYPE_ROW_SPARSE:
        out[rec.aux[0]] = rec.data
    else:
        indptr, indices = rec.aux
        for r in range(rec.shape[0]):
            lo, hi = indptr[r], indptr[r + 1]
            out[r, indices[lo:hi]] = rec.data[lo:hi]
    return out


@pytest.mark.parametrize("entry", MANIFEST["ndarray"], ids=lambda e: e["id"])
def test_fixture_decodes_to_expected(entry):
    blob = (FIXTURES / entry["file"]).read_bytes()
    recs, names = decode_list(blob, source=entry["file"])
    want_names = [a["name"] for a in entry["arrays"]]
    assert names == (want_names if entry["kind"] == "dict" else [])
    assert len(recs) == len(entry["arrays"])
    npz = _expected(entry)
    stypes = {"default": STYPE_DEFAULT, "row_sparse": STYPE_ROW_SPARSE, "csr": STYPE_CSR}
    for rec, arr in zip(recs, entry["arrays"]):
        assert rec.version == ("v3" if entry["np_shape"] else "v2")
        assert rec.stype == stypes[arr["stype"]]
        assert rec.shape == tuple(arr["shape"])
        assert rec.dtype == np.dtype(arr["dtype"])
        key = arr["key"]
        if rec.stype == STYPE_DEFAULT:
            assert rec.aux == []
            assert_same_array(rec.data, npz[key])
            continue
        assert_same_array(rec.data, npz[key + ".__data"])
        assert_same_array(rec.aux[-1], npz[key + ".__indices"])
        if rec.stype == STYPE_CSR:
            assert_same_array(rec.aux[0], npz[key + ".__indptr"])
        assert_same_array(_densify(rec), npz[key])


@pytest.mark.parametrize("entry", MANIFEST["ndarray"], ids=lambda e: e["id"])
def test_fixture_reencodes_byte_for_byte(entry):
    blob = (FIXTURES / entry["file"]).read_bytes()
    recs, names = decode_list(blob, source=entry["file"])
    assert encode_list(recs, names, np_shape=entry["np_shape"]) == blob


def test_v2_zero_size_is_written_with_dim_zero_and_no_data():
    # MXNet 1.9.1 wrote the (0,) float32 'empty_1d' as a full header with ndim 1, dim 0
    # and no data bytes (the same shape as a V3 zero-size record).
    blob = (FIXTURES / "ndarray" / "dict.nd").read_bytes()
    want = h("c9fa93f9 00000000 01000000 0000000000000000 01000000 00000000 00000000")
    assert want in blob
    assert encode_record(dense(np.zeros((0,), np.float32))) == want
    assert decode_record(want).shape == (0,)


# ====================================================================== old variants
def test_crafted_v1_record():
    a = np.arange(6, dtype=np.int32).reshape(2, 3)
    blob = struct.pack("<Iiqq", V1, 2, 2, 3) + struct.pack("<iii", 1, 0, 4) + a.tobytes()
    rec = decode_record(blob)
    assert (rec.version, rec.stype, rec.shape, rec.dtype) == ("v1", 0, (2, 3), np.int32)
    assert_same_array(rec.data, a)


def test_crafted_legacy_record():
    a = np.array([[1.5, -2.0], [3.0, 4.25], [0, 1]], np.float64)
    blob = struct.pack("<III", 2, 3, 2) + struct.pack("<iii", 2, 1, 1) + a.tobytes()
    rec = decode_record(blob)
    assert (rec.version, rec.shape, rec.dtype) == ("legacy", (3, 2), np.float64)
    assert (rec.dev_type, rec.dev_id) == (2, 1)
    assert_same_array(rec.data, a)


def test_crafted_legacy_and_v1_in_a_list():
    legacy = struct.pack("<II", 1, 2) + struct.pack("<iii", 1, 0, 3) + b"\x07\x09"
    v1 = struct.pack("<Iiq", V1, 1, 1) + struct.pack("<iii", 1, 0, 7) + b"\x01"
    blob = list_header(2) + legacy + v1 + struct.pack("<Q", 2)
    blob += struct.pack("<Q", 1) + b"a" + struct.pack("<Q", 1) + b"b"
    recs, names = decode_list(blob)
    assert names == ["a", "b"]
    assert_same_array(recs[0].data, np.array([7, 9], np.uint8))
    assert_same_array(recs[1].data, np.array([True]))


@pytest.mark.parametrize("record, version", [
    (struct.pack("<I", 0), "legacy"),                      # legacy ndim 0
    (struct.pack("<Ii", V1, 0), "v1"),                     # V1 ndim 0
    (struct.pack("<Iii", V2, 0, 0), "v2"),                 # V2 ndim 0
    (struct.pack("<Iii", V2, 0, -1), "v2"),                # V2 ndim -1
    (struct.pack("<Iii", V3, 0, -1), "v3"),                # V3 unknown ndim
    (struct.pack("<Iiiqq", V3, 0, 2, 4, -1), "v3"),        # V3 unknown dim
    (struct.pack("<Iiiqi", V2, 2, 1, 3, 0), "v2"),         # csr: sshape then none shape
])
def test_none_records_end_after_the_shape(record, version):
    rec = decode_record(record)
    assert rec.shape is None and rec.data is None and rec.version == version
    # In a list the next record must start right after the shape.
    nxt = encode_record(dense(np.array([4, 5], np.int64)))
    recs, _ = decode_list(list_header(2) + record + nxt + bytes(8))
    assert recs[0].shape is None
    assert_same_array(recs[1].data, np.array([4, 5], np.int64))


# ====================================================================== round trips
SHAPES_V2 = [(1,), (5,), (2, 3), (0,), (3, 0, 2), (2, 1, 2, 1, 3), (1,) * 7]
SHAPES_V3 = SHAPES_V2 + [(), (0, 0)]


def _random_array(rng: np.random.Generator, dtype: np.dtype, shape: tuple) -> np.ndarray:
    n = int(np.prod(shape, dtype=np.int64))
    if dtype == np.bool_:
        return rng.integers(0, 2, n).astype(np.bool_).reshape(shape)
    raw = rng.integers(0, 256, n * dtype.itemsize, dtype=np.uint8).tobytes()
    return np.frombuffer(raw, dtype=dtype).copy().reshape(shape)


@pytest.mark.parametrize("np_shape", [False, True])
@pytest.mark.parametrize("flag", sorted(FLAG_TO_DTYPE))
def test_round_trip_every_dtype(flag, np_shape):
    dtype = FLAG_TO_DTYPE[flag]
    rng = np.random.default_rng(flag)
    shapes = SHAPES_V3 if np_shape else SHAPES_V2
    arrays = [_random_array(rng, dtype, s) for s in shapes]
    records = [dense(a) for a in arrays]
    for names in (None, ["n%d" % i for i in range(len(arrays))]):
        blob = encode_list(records, names, np_shape=np_shape)
        got, got_names = decode_list(blob)
        assert got_names == (names or [])
        for rec, a in zip(got, arrays):
            assert rec.dtype == dtype and rec.shape == a.shape
            assert rec.version == ("v3" if np_shape else "v2")
            assert_same_array(rec.data, a)
    for a in arrays:
        assert_same_array(decode_record(encode_record(dense(a), np_shape)).data, a)


def test_round_trip_non_ascii_names_and_sparse_aux_dtypes():
    names = ["wëight", "层_0", "🙂", "", "a" * 300]
    csr = csr_record()
    csr.aux = [a.astype(np.int32) for a in csr.aux]
    rsp = row_sparse_record()
    rsp.aux = [rsp.aux[0].astype(np.uint8)]
    empty_rsp = Record(STYPE_ROW_SPARSE, (4, 2), np.dtype(np.float64),
                       np.zeros((0, 2), np.float64), [np.zeros(0, np.int64)])
    records = [dense(np.arange(3, dtype=np.int8)), csr, rsp, empty_rsp,
               dense(bf16([1, 2, 3]).reshape(3, 1))]
    blob = encode_list(records, names)
    got, got_names = decode_list(blob)
    assert got_names == names
    for rec, want in zip(got, records):
        assert (rec.stype, rec.shape, rec.dtype) == (want.stype, want.shape, want.dtype)
        assert_same_array(rec.data, want.data)
        for ga, wa in zip(rec.aux, want.aux):
            assert_same_array(ga, wa)
    assert encode_list(got, got_names) == blob


def test_big_endian_input_arrays_are_written_little_endian():
    a = np.array([1, 2], dtype=">f4")
    rec = Record(STYPE_DEFAULT, (2,), np.dtype(np.float32), a)
    assert encode_record(rec) == PICKLED_12


# ====================================================================== error cases
def _small_file() -> bytes:
    recs = [dense(np.arange(6, dtype=np.float32).reshape(2, 3)), csr_record(),
            row_sparse_record(), dense(np.array([1, 2], np.int64))]
    return encode_list(recs, ["a", "bé", "c", "d"])


def test_bad_list_magic():
    blob = bytearray(_small_file())
    blob[0] = 0x13
    assert_mx_error(decode_list, bytes(blob), source="src.nd", match="magic")


@pytest.mark.parametrize("k", [1, 3, 5, 2**64 - 1])
def test_name_count_must_be_zero_or_n(k):
    record = LIST1[24:-8]
    names = (struct.pack("<Q", 1) + b"x") * min(k, 5)
    blob = list_header(2) + record + record + struct.pack("<Q", k) + names
    assert_mx_error(decode_list, blob, source="src.nd", match="name count")


def test_truncated_at_every_prefix():
    blob = _small_file()
    assert decode_list(blob)[1] == ["a", "bé", "c", "d"]
    for n in range(len(blob)):
        msg = assert_mx_error(decode_list, blob[:n], source="cut.nd")
        assert "byte" in msg
    rec = encode_record(csr_record())
    for n in range(len(rec)):
        assert_mx_error(decode_record, rec[:n], source="cut.rec")


def test_truncation_message_names_what_and_offset():
    msg = assert_mx_error(decode_list, LIST1[:0x44], source="x.params")
    assert msg == ("x.params: truncated at byte 64 while reading array 0 data "
                   "(need 24 bytes, 4 left)")


def test_huge_array_count():
    for n in (2**63, 2**64 - 1, 1000):
        blob = list_header(n) + bytes(8)
        assert_mx_error(decode_list, blob, source="src.nd", match="array count")


@pytest.mark.parametrize("dims", [(2**62,), (2**40, 2**40), (0, 2**62, 2**62), (2**63 - 1,),
                                  (2**31, 2**31, 2**31, 2**31)])
def test_huge_dims(dims):
    rec = struct.pack("<Iii", V2, 0, len(dims)) + struct.pack("<%dq" % len(dims), *dims)
    rec += struct.pack("<iii", 1, 0, 0) + bytes(16)
    assert_mx_error(decode_record, rec, source="src.nd")
    assert_mx_error(decode_list, list_header(1) + rec + bytes(8), source="src.nd")


@pytest.mark.parametrize("bad", [
    struct.pack("<Iii", V2, 0, 33),                # ndim too large
    struct.pack("<Iii", V2, 0, -2),                # ndim negative
    struct.pack("<Iiiq", V2, 0, 1, -1),            # V2 has no unknown dims
    struct.pack("<Iiiq", V3, 0, 1, -5),            # negative dim
    struct.pack("<I", 1000),                       # legacy ndim out of range
    struct.pack("<I", 0xDEADBEEF),
])
def test_invalid_shapes(bad):
    assert_mx_error(decode_record, bad + bytes(64), source="src.nd")


def test_huge_name_length():
    blob = LIST1[:-8] + struct.pack("<QQ", 1, 2**63) + b"w"
    assert_mx_error(decode_list, blob, source="src.nd", match="name 0")


def test_invalid_utf8_name():
    blob = LIST1[:-8] + struct.pack("<QQ", 1, 2) + b"\xff\xfe"
    assert_mx_error(decode_list, blob, source="src.nd", match="UTF-8")


@pytest.mark.parametrize("flag", [8, 9, 10, 11, 13, -1])
def test_unsupported_dtype_flag(flag):
    rec = struct.pack("<Iiiqiii", V2, 0, 1, 2, 1, 0, flag) + bytes(16)
    assert_mx_error(decode_record, rec, source="src.nd", match="flag %d" % flag)


def test_unsupported_dtype_on_encode():
    for dt in (np.int16, np.uint16, np.uint32, np.uint64, np.complex64):
        a = np.zeros(2, dt)
        assert_mx_error(encode_record, Record(0, (2,), a.dtype, a), source=None)


@pytest.mark.parametrize("stype", [-1, 3, 7])
def test_unknown_stype(stype):
    rec = struct.pack("<Iiiqiii", V2, stype, 1, 2, 1, 0, 0) + bytes(8)
    assert_mx_error(decode_record, rec, source="src.nd", match="storage type")
    with pytest.raises(MXNetError):
        encode_record(Record(stype, (2,), np.dtype(np.float32), np.zeros(2, np.float32)))


def test_trailing_bytes():
    assert_mx_error(decode_record, PICKLED_12 + b"\0", source="src.nd", match="trailing")
    assert_mx_error(decode_list, LIST1 + b"\0", source="src.nd", match="trailing")


def test_aux_must_be_integer():
    bad = bytearray(CSR_FILE)
    bad[0x4C:0x50] = struct.pack("<i", 0)  # aux 0 type int64 -> float32
    assert_mx_error(decode_list, bytes(bad), source="src.nd", match="non-integer")
    rec = csr_record()
    rec.aux[0] = rec.aux[0].astype(np.float32)
    with pytest.raises(MXNetError):
        encode_record(rec)


@pytest.mark.parametrize("offset, value", [
    (0x24, 4),          # csr storage shape nnz 3 -> 4 (indices length mismatch)
    (0x54, 5),          # indptr length 4 -> 5
    (0x80, 2),          # indptr (0,1,1,3) -> (0,2,1,3): decreasing
    (0x90, 2),          # indptr[-1] 3 -> 2: does not end at nnz
    (0x98, 7),          # column index 1 -> 7: out of range
])
def test_csr_consistency(offset, value):
    bad = bytearray(CSR_FILE)
    bad[offset:offset + 8] = struct.pack("<q", value)
    assert_mx_error(decode_list, bytes(bad), source="src.nd", match="csr")


def test_row_sparse_consistency():
    bad = bytearray(ROW_SPARSE_FILE)
    bad[0x58:0x5C] = struct.pack("<i", 1)  # aux ndim 1 -> dims would be read wrong
    bad[0x5C:0x64] = struct.pack("<q", 3)  # indices length 2 -> 3
    assert_mx_error(decode_list, bytes(bad), source="src.nd", match="row_sparse")
    bad = bytearray(ROW_SPARSE_FILE)
    bad[0x84:0x8C] = struct.pack("<q", 3)  # row index 2 -> 3 (rows = 3)
    assert_mx_error(decode_list, bytes(bad), source="src.nd", match="row index")
    rec = row_sparse_record()
    rec.data = rec.data[:, :2].copy()
    with pytest.raises(MXNetError):
        encode_record(rec)


def test_v3_refuses_sparse():
    for rec in (csr_record(), row_sparse_record()):
        with pytest.raises(MXNetError, match="sparse"):
            encode_record(rec, np_shape=True)
        with pytest.raises(MXNetError, match="sparse"):
            encode_list([rec], ["x"], np_shape=True)


def test_zero_d_needs_np_shape():
    rec = dense(np.array(1.0, np.float32))
    with pytest.raises(MXNetError, match="0-d"):
        encode_record(rec)
    with pytest.raises(MXNetError, match="0-d"):
        encode_list([rec])
    assert decode_record(encode_record(rec, np_shape=True)).shape == ()


def test_encode_rejects_bad_records():
    ok = np.zeros((2, 2), np.float32)
    bad = [
        Record(0, None, np.dtype(np.float32), None),                 # none array
        Record(0, (2, 2), np.dtype(np.float64), ok),                 # dtype mismatch
        Record(0, (4,), np.dtype(np.float32), ok),                   # shape mismatch
        Record(0, (2, 2), np.dtype(np.float32), ok, dev_type=2**31),  # ctx overflow
        Record(0, (2, 2), np.dtype(np.float32), [[0, 0], [0, 0]]),   # not an ndarray
        Record(2, (3, 3), np.dtype(np.float32), np.zeros(3, np.float32), []),  # aux count
    ]
    for rec in bad:
        with pytest.raises(MXNetError):
            encode_record(rec)
    with pytest.raises(MXNetError):
        encode_list([dense(ok)], ["a", "b"])
    with pytest.raises(MXNetError):
        encode_list([dense(ok)], ["\ud800"])


def test_decode_rejects_non_buffers():
    with pytest.raises(MXNetError):
        decode_list("not bytes", source="src.nd")


# ====================================================================== fuzzing
def _fuzz_seeds() -> list:
    rng = np.random.default_rng(7)
    dense_dict = encode_list(
        [dense(_random_array(rng, FLAG_TO_DTYPE[f], (2, 3))) for f in sorted(FLAG_TO_DTYPE)]
        + [dense(np.zeros((0, 3), np.float32))],
        ["k%d" % f for f in sorted(FLAG_TO_DTYPE)] + ["empty"])
    sparse_list = encode_list([csr_record(), row_sparse_record(), csr_record()])
    v3 = encode_list([dense(np.array(2.0)), dense(np.ones((2, 0, 3), np.int8))],
                     ["s", "z"], np_shape=True)
    return [dense_dict, sparse_list, v3, LIST1, PICKLED_12]


_EXTREMES = [b"\xff" * 8, b"\x7f" + b"\xff" * 7, b"\xff" * 7 + b"\x7f", b"\x80" + bytes(7),
             bytes(7) + b"\x80", bytes(8), struct.pack("<q", -1), struct.pack("<q", 2**31),
             struct.pack("<i", -1) * 2, struct.pack("<I", 33) * 2]


def _mutate(r: random.Random, blob: bytes) -> bytes:
    b = bytearray(blob)
    for _ in range(r.randint(1, 3)):
        op = r.randrange(5)
        if op == 0 and b:                                  # flip a few bits
            i = r.randrange(len(b))
            b[i] ^= 1 << r.randrange(8)
        elif op == 1 and len(b) >= 8:                      # extreme 8-byte window
            i = r.randrange(len(b) - 7)
            b[i:i + 8] = r.choice(_EXTREMES)
        elif op == 2:                                      # truncate
            del b[r.randrange(len(b) + 1):]
        elif op == 3:                                      # insert random bytes
            i = r.randrange(len(b) + 1)
            b[i:i] = bytes(r.randrange(256) for _ in range(r.randint(1, 12)))
        elif b:                                            # random byte overwrite
            b[r.randrange(len(b))] = r.randrange(256)
    return bytes(b)


def test_fuzz_mutated_files_only_raise_mxnet_error():
    r = random.Random(20240611)
    seeds = _fuzz_seeds()
    decoded = failed = 0
    for i in range(3000):
        seed = seeds[i % len(seeds)]
        blob = _mutate(r, seed)
        fn = decode_record if seed is PICKLED_12 else decode_list
        try:
            out = fn(blob, source="fuzz.nd")
        except MXNetError as e:
            assert "fuzz.nd" in str(e)
            failed += 1
            continue
        decoded += 1
        records = [out] if isinstance(out, Record) else out[0]
        for rec in records:
            arrays = ([] if rec.data is None else [rec.data]) + list(rec.aux)
            for a in arrays:
                assert a.nbytes <= len(blob)
    assert decoded > 100 and failed > 1000  # both paths were exercised


# ====================================================================== atomic_write
def test_atomic_write_writes_and_replaces(tmp_path):
    target = tmp_path / "a.nd"
    atomic_write(target, b"one")
    assert target.read_bytes() == b"one"
    atomic_write(str(target), bytearray(b"two!"))
    assert target.read_bytes() == b"two!"
    assert sorted(os.listdir(tmp_path)) == ["a.nd"]


def test_atomic_write_failure_keeps_old_content(tmp_path, monkeypatch):
    target = tmp_path / "a.nd"
    target.write_bytes(b"old")

    def boom(src, dst):
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk on fire"):
        atomic_write(target, b"new content")
    monkeypatch.undo()
    assert target.read_bytes() == b"old"
    assert sorted(os.listdir(tmp_path)) == ["a.nd"]


def test_atomic_write_bad_data_keeps_target_absent_or_old(tmp_path):
    target = tmp_path / "b.nd"
    with pytest.raises(TypeError):
        atomic_write(target, object())  # type: ignore[arg-type]
    assert os.listdir(tmp_path) == []
    target.write_bytes(b"keep")
    with pytest.raises(TypeError):
        atomic_write(target, 12345)  # type: ignore[arg-type]
    assert target.read_bytes() == b"keep"
    assert sorted(os.listdir(tmp_path)) == ["b.nd"]
