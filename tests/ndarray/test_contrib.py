"""``mx.nd.contrib`` wrappers (``mixnet/ndarray/contrib.py``): AdamW with a numeric or
NDArray ``rescale_grad``, next to the generated ``_contrib_*`` functions."""
import numpy as np
import pytest

import mixnet as mx
from mixnet.test_utils import assert_almost_equal


def _adamw_ref(w, g, m, v, rescale, lr, eta, wd, b1=0.9, b2=0.999, eps=1e-8):
    g = g * rescale
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    return w - eta * (lr * m / (np.sqrt(v) + eps) + wd * w), m, v


@pytest.mark.parametrize("rescale", [0.5, mx.nd.array([0.5])])
def test_adamw_update_accepts_number_or_array(rescale):
    rng = np.random.default_rng(0)
    w, g = rng.standard_normal(4).astype(np.float32), rng.standard_normal(4).astype(np.float32)
    W, G, M, V = (mx.nd.array(a) for a in (w, g, np.zeros(4), np.zeros(4)))
    mx.nd.contrib.adamw_update(W, G, M, V, rescale, lr=0.1, eta=0.5, wd=0.01, out=W)
    want_w, want_m, want_v = _adamw_ref(w, g, 0, 0, 0.5, 0.1, 0.5, 0.01)
    assert_almost_equal(W, want_w, rtol=1e-5, atol=1e-6)
    assert_almost_equal(M, want_m, rtol=1e-5, atol=1e-6)
    assert_almost_equal(V, want_v, rtol=1e-5, atol=1e-7)


def test_mp_adamw_update_writes_master_copy():
    w32 = np.array([1.0, -2.0], np.float32)
    W, W32 = mx.nd.array(w32, dtype=np.float16), mx.nd.array(w32)
    G = mx.nd.array([0.5, 0.5], dtype=np.float16)
    M, V = mx.nd.zeros((2,)), mx.nd.zeros((2,))
    mx.nd.contrib.mp_adamw_update(W, G, M, V, W32, 1.0, lr=0.1, eta=1.0, out=W)
    want, _, _ = _adamw_ref(w32, np.float32(0.5), 0, 0, 1.0, 0.1, 1.0, 0.0)
    assert_almost_equal(W32, want, rtol=1e-5, atol=1e-6)
    assert W.dtype == np.float16
    assert_almost_equal(W, want.astype(np.float16), rtol=1e-3, atol=1e-3)


def test_generated_contrib_functions_are_there():
    assert mx.nd.contrib.ctc_loss.opdef.name == "CTCLoss"
