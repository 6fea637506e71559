"""The README's main job (examples/train_mnist.py) and the FeedForward example, shortened:
they train on the bundled MNIST subset, checkpoint, reload and predict."""
import importlib.util
import os

import pytest

EXAMPLES = os.path.join(os.path.dirname(__file__), os.pardir, "examples")


def _load(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(EXAMPLES, name + ".py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("network,epochs,floor", [("lenet", 2, 0.90), ("mlp", 3, 0.88)])
def test_train_mnist_short(tmp_path, capsys, network, epochs, floor):
    prefix = str(tmp_path / network)
    acc = _load("train_mnist").main(["--network", network, "--num-epochs", str(epochs),
                                     "--lr-step-epochs", "", "--model-prefix", prefix])
    assert acc >= floor
    assert os.path.exists(prefix + "-%04d.params" % epochs)
    assert "on 1000 images" in capsys.readouterr().out


@pytest.mark.slow
def test_train_mnist_full_reaches_target():
    """The README job as run: 10 epochs to >= 96.5% on the held-out 1 000 images."""
    assert _load("train_mnist").main([]) >= 0.965
