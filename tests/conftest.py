"""Suite-wide pytest setup: seeding, the ``ctx`` parameter and the engine-error check.

* Every test runs with NumPy's global generator, Python's ``random`` and (once it exists)
  ``mixnet.random`` seeded from ``MXNET_TEST_SEED`` or a fresh random seed; a failing
  test reports ``Test failed with MXNET_TEST_SEED=<seed>`` so it can be rerun exactly.
* ``ctx`` parametrizes a test over ``mx.cpu()`` and ``mx.gpu(0)``; the GPU case carries
  the ``gpu`` mark and is skipped (never failed) when no GPU is visible.
* After each test ``mx.nd.waitall()`` must not raise: an asynchronous error left pending
  would otherwise surface in whichever test waits next. Tests that leave errors on
  purpose opt out with ``@pytest.mark.leaves_engine_errors``; their errors are drained.
"""
from __future__ import annotations

import os
import random

import numpy as np
import pytest

import mixnet as mx

_SEED = pytest.StashKey[int]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "leaves_engine_errors: the test leaves asynchronous engine errors pending "
        "on purpose; they are discarded after it instead of failing it")


def _test_seed() -> int:
    text = os.environ.get("MXNET_TEST_SEED", "").strip()
    if text:
        return int(text)
    # SystemRandom: the global generators are the ones being seeded, so they cannot pick
    return random.SystemRandom().randrange(2 ** 31)


@pytest.fixture(autouse=True)
def _seed_random_generators(request: pytest.FixtureRequest) -> None:
    seed = _test_seed()
    request.node.stash[_SEED] = seed
    np.random.seed(seed)
    random.seed(seed)
    # mixnet.random may not exist yet; seed it whenever it does
    seed_mixnet = getattr(getattr(mx, "random", None), "seed", None)
    if seed_mixnet is not None:
        seed_mixnet(seed)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    seed = item.stash.get(_SEED, None)
    if report.failed and seed is not None:
        report.sections.append(("random seed", "Test failed with MXNET_TEST_SEED=%d" % seed))


@pytest.fixture(autouse=True)
def _no_pending_engine_errors(request: pytest.FixtureRequest):
    yield
    try:
        mx.nd.waitall()
    except mx.MXNetError as e:
        if request.node.get_closest_marker("leaves_engine_errors") is None:
            pytest.fail("the test left an asynchronous engine error pending (mark the test "
                        "@pytest.mark.leaves_engine_errors if that is intended):\n%s" % e,
                        pytrace=False)


@pytest.fixture(params=[pytest.param(mx.cpu(), id="cpu"),
                        pytest.param(mx.gpu(0), id="gpu", marks=pytest.mark.gpu)])
def ctx(request: pytest.FixtureRequest) -> mx.Context:
    """The device under test: ``mx.cpu()``, then ``mx.gpu(0)`` (marked ``gpu``)."""
    device = request.param
    if device.device_type == "gpu" and mx.context.num_gpus() == 0:
        pytest.skip("no GPU visible (needs the mixnet[gpu] extra and a CUDA device)")
    return device
