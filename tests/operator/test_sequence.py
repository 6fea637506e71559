"""SequenceMask, SequenceLast and SequenceReverse: forwards against NumPy loops over the
batch, numeric gradients for data, no gradient for sequence_length, bad inputs."""
from __future__ import annotations

import numpy as np
import pytest

import mixnet as mx
from mixnet.operator import registry
from mixnet.test_utils import assert_almost_equal, check_op

LENGTHS = np.array([3, 1, 4], dtype=np.float32)  # batch of 3, T = 4


def _tm(x, axis):
    """(T, N, ...) view of a sequence-major or batch-major array."""
    return x if axis == 0 else np.swapaxes(x, 0, 1)


def _lens(data, lengths, axis):
    t = data.shape[axis]
    return [t] * data.shape[1 - axis] if lengths is None else [int(v) for v in lengths]


def _mask_ref(data, lengths=None, use_sequence_length=False, value=0.0, axis=0):
    out = data.copy()
    if use_sequence_length:
        o = _tm(out, axis)
        for b, n in enumerate(_lens(data, lengths, axis)):
            o[n:, b] = value
    return out


def _last_ref(data, lengths=None, use_sequence_length=False, axis=0):
    x = _tm(data, axis)
    lens = _lens(data, lengths if use_sequence_length else None, axis)
    return np.stack([x[n - 1, b] for b, n in enumerate(lens)])


def _reverse_ref(data, lengths=None, use_sequence_length=False, axis=0):
    out = data.copy()
    lens = _lens(data, lengths if use_sequence_length else None, axis)
    for b, n in enumerate(lens):
        out[:n, b] = data[:n, b][::-1]
    return out


def _data(shape, dtype):
    return np.random.default_rng(0).standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
@pytest.mark.parametrize("axis", [0, 1])
def test_sequence_mask(dtype, axis):
    shape = (4, 3, 2) if axis == 0 else (3, 4, 2)
    data = _data(shape, dtype)
    grad = [0] if dtype == np.float64 else False
    for params in ({"use_sequence_length": True, "axis": axis},
                   {"use_sequence_length": True, "axis": axis, "value": -7.5}):
        out, = check_op("SequenceMask", [data, LENGTHS], params, reference=_mask_ref,
                        grad=grad)
        assert (_tm(out, axis)[3:, 1] == params.get("value", 0.0)).all()
    check_op("SequenceMask", [data], {"axis": axis}, reference=_mask_ref, grad=grad)
    bad = [([data, LENGTHS], {"axis": axis}),  # sequence_length given but not enabled
           ([data], {"use_sequence_length": True, "axis": axis}),
           ([data, LENGTHS[:2]], {"use_sequence_length": True, "axis": axis}),
           ([data, LENGTHS], {"use_sequence_length": True, "axis": 2}),
           ([data[0, 0], LENGTHS], {"use_sequence_length": True})]
    check_op("SequenceMask", [data], {"axis": axis}, reference=_mask_ref, grad=False,
             bad_inputs=bad)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("axis", [0, 1])
def test_sequence_last(dtype, axis):
    shape = (4, 3, 2) if axis == 0 else (3, 4, 2)
    data = _data(shape, dtype)
    grad = [0] if dtype == np.float64 else False
    check_op("SequenceLast", [data, LENGTHS], {"use_sequence_length": True, "axis": axis},
             reference=_last_ref, grad=grad)
    check_op("SequenceLast", [data], {"axis": axis}, reference=_last_ref, grad=grad)
    # integer lengths work too, and 2-D data gives a 1-D result
    ilens = LENGTHS.astype(np.int32)
    check_op("SequenceLast", [data[..., 0], ilens], {"use_sequence_length": True, "axis": axis},
             reference=_last_ref, grad=grad)
    bad = [([data, LENGTHS[:1]], {"use_sequence_length": True, "axis": axis}),
           ([data], {"axis": -1}), ([data[0, 0]], {})]
    check_op("SequenceLast", [data], {"axis": axis}, reference=_last_ref, grad=False,
             bad_inputs=bad)


def test_sequence_last_gradient_scatters_to_picked_steps():
    data = mx.nd.array(_data((4, 3, 2), np.float32))
    data.attach_grad()
    lens = mx.nd.array(LENGTHS)
    lens.attach_grad()
    with mx.autograd.record():
        out = mx.nd.SequenceLast(data, lens, use_sequence_length=True)
    head = np.arange(6, dtype=np.float32).reshape(3, 2) + 1
    out.backward(mx.nd.array(head))
    want = np.zeros((4, 3, 2), np.float32)
    for b, n in enumerate(LENGTHS.astype(int)):
        want[n - 1, b] = head[b]
    assert_almost_equal(data.grad.asnumpy(), want)
    assert not lens.grad.asnumpy().any()


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int32])
def test_sequence_reverse(dtype):
    data = _data((4, 3, 2), np.float64)
    data = (data * 10).astype(dtype) if dtype == np.int32 else data.astype(dtype)
    grad = [0] if dtype == np.float64 else False
    check_op("SequenceReverse", [data, LENGTHS], {"use_sequence_length": True},
             reference=_reverse_ref, grad=grad)
    check_op("SequenceReverse", [data], {}, reference=_reverse_ref, grad=grad)
    bad = [([data, LENGTHS], {"use_sequence_length": True, "axis": 1}),
           ([data, LENGTHS[:2]], {"use_sequence_length": True}),
           ([data, LENGTHS, LENGTHS], {"use_sequence_length": True})]
    check_op("SequenceReverse", [data], {}, reference=_reverse_ref, grad=False,
             bad_inputs=bad)


def test_sequence_length_shape_is_inferred():
    for name in ("SequenceMask", "SequenceLast", "SequenceReverse"):
        op = registry.get(name)
        p = op.parse_params({"use_sequence_length": True})
        assert op.input_names(p) == ["data", "sequence_length"]
        assert op.infer_shape(p, [(5, 2, 3), None])[0][1] == (2,)
        assert op.input_names(op.parse_params({})) == ["data"]
    op = registry.get("SequenceMask")
    p = op.parse_params({"use_sequence_length": True, "axis": 1})
    assert op.infer_shape(p, [(5, 2, 3), None])[0][1] == (5,)
