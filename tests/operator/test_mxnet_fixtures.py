"""Every operator golden written by MXNet 1.9.1 (tests/fixtures/mxnet-1.9.1/ops): forward
outputs, input gradients under ``mx.autograd`` and inputs mutated in place, one test per
case walking the manifest."""
from pathlib import Path

import pytest

from mixnet.test_utils import check_op_fixture, load_op_fixtures

ROOT = Path(__file__).resolve().parent.parent / "fixtures" / "mxnet-1.9.1"
CASES = load_op_fixtures(ROOT / "ops" / "manifest.json")


def test_manifest_is_complete():
    assert len(CASES) == 160
    for e in CASES:
        assert (ROOT / e["file"]).is_file(), e["file"]


@pytest.mark.parametrize("entry", CASES, ids=[e["id"] for e in CASES])
def test_matches_mxnet(entry):
    check_op_fixture(entry, ROOT)


@pytest.mark.parametrize("entry", CASES[::7], ids=[e["id"] for e in CASES[::7]])
def test_forward_with_string_params(entry):
    """The same calls with MXNet's string attribute form (what symbol JSON holds)."""
    check_op_fixture(entry, ROOT, string_params=True, gradients=False)
