"""``mx.callback`` (``mixnet/callback.py``): MXNet 1.9.1's exact log lines for Speedometer,
log_train_metric, ProgressBar and LogValidationMetricsCallback; checkpoint callbacks
numbered epoch+1 every ``period`` epochs; and the gating and driving of the optional tqdm
progress bar."""
import io
import logging
import sys
import types

import numpy as np
import pytest

import mixnet as mx
from mixnet import callback
from mixnet.model import BatchEndParam


class FakeMetric:
    """What the callbacks use of an EvalMetric: get_name_value() and reset_local()."""

    def __init__(self, name_value):
        self.name_value = list(name_value)
        self.resets = 0
        self.reads = 0

    def get_name_value(self):
        self.reads += 1
        return list(self.name_value)

    def reset_local(self):
        self.resets += 1


class Clock:
    def __init__(self, t=100.0):
        self.t = t

    def __call__(self):
        return self.t


@pytest.fixture
def clock(monkeypatch):
    c = Clock()
    monkeypatch.setattr(callback, "_now", c)
    return c


@pytest.fixture
def logs(caplog):
    caplog.set_level(logging.INFO)
    return caplog


def drive(cb, epoch, batches, clock, metric, dt=1.0):
    for n in batches:
        clock.t += dt
        cb(BatchEndParam(epoch=epoch, nbatch=n, eval_metric=metric, locals=None))


# ----------------------------------------------------------------------------- Speedometer
def test_speedometer_auto_reset_format(clock, logs):
    metric = FakeMetric([("accuracy", 0.5), ("ce", 1.25)])
    sp = callback.Speedometer(batch_size=4, frequent=2)
    drive(sp, 0, [0, 1], clock, metric)  # first call only starts the clock
    assert logs.messages == [] and metric.resets == 0
    drive(sp, 0, [2], clock, metric)  # 2 s since the start: 2 batches * 4 / 2 s
    assert logs.messages == ["Epoch[0] Batch [0-2]\tSpeed: 4.00 samples/sec"
                             "\taccuracy=0.500000\tce=1.250000"]
    assert metric.resets == 1
    metric.name_value = [("accuracy", 0.75), ("ce", 2.0)]
    drive(sp, 0, [3, 4], clock, metric, dt=0.5)
    assert logs.messages[1:] == ["Epoch[0] Batch [2-4]\tSpeed: 8.00 samples/sec"
                                 "\taccuracy=0.750000\tce=2.000000"]
    # nbatch going back to 0 is a new epoch: restart the clock, no line
    drive(sp, 1, [0], clock, metric)
    assert len(logs.messages) == 2
    drive(sp, 1, [1, 2], clock, metric, dt=4.0)
    assert logs.messages[2] == ("Epoch[1] Batch [0-2]\tSpeed: 1.00 samples/sec"
                                "\taccuracy=0.750000\tce=2.000000")
    assert all(r.levelno == logging.INFO for r in logs.records)


def test_speedometer_without_auto_reset_and_without_metric(clock, logs):
    metric = FakeMetric([("mse", 0.125)])
    sp = callback.Speedometer(10, frequent=3, auto_reset=False)
    drive(sp, 2, range(7), clock, metric)
    assert logs.messages == ["Epoch[2] Batch [0-3]\tSpeed: 10.00 samples/sec\tmse=0.125000",
                             "Epoch[2] Batch [0-6]\tSpeed: 10.00 samples/sec\tmse=0.125000"]
    assert metric.resets == 0
    logs.clear()
    sp2 = callback.Speedometer(10, frequent=3)
    drive(sp2, 1, range(4), clock, None, dt=2.0)
    assert logs.messages == ["Iter[1] Batch [3]\tSpeed: 5.00 samples/sec"]


def test_speedometer_zero_elapsed_is_inf(clock, logs):
    sp = callback.Speedometer(2, frequent=1)
    drive(sp, 0, [0, 1], clock, FakeMetric([]), dt=0.0)
    assert logs.messages == ["Epoch[0] Batch [0-1]\tSpeed: inf samples/sec"]


# ----------------------------------------------------------------------------- loggers
def test_log_train_metric(logs):
    metric = FakeMetric([("acc", 0.25)])
    cb = callback.log_train_metric(2)
    for n in range(4):
        cb(BatchEndParam(1, n, metric, None))
    assert logs.messages == ["Iter[1] Batch[0] Train-acc=0.250000",
                             "Iter[1] Batch[2] Train-acc=0.250000"]
    assert metric.resets == 0
    cb = callback.log_train_metric(3, auto_reset=True)
    cb(BatchEndParam(0, 3, metric, None))
    cb(BatchEndParam(0, 4, metric, None))
    cb(BatchEndParam(0, 6, None, None))
    assert metric.resets == 1 and len(logs.messages) == 3


def test_progress_bar_format(logs):
    bar = callback.ProgressBar(total=4, length=8)
    bar(BatchEndParam(0, 2, None, None))
    bar(BatchEndParam(0, 1, None, None))
    callback.ProgressBar(total=7, length=8)(BatchEndParam(0, 3, None, None))
    callback.ProgressBar(total=3)(BatchEndParam(0, 3, None, None))
    assert logs.messages == ["[====----] 50%\r", "[==------] 25%\r", "[===-----] 43%\r",
                             "[" + "=" * 80 + "] 100%\r"]


def test_log_validation_metrics(logs):
    cb = callback.LogValidationMetricsCallback()
    cb(BatchEndParam(3, 0, FakeMetric([("acc", 0.75), ("f1", 0.5)]), None))
    cb(BatchEndParam(4, 0, None, None))
    assert logs.messages == ["Epoch[3] Validation-acc=0.750000",
                             "Epoch[3] Validation-f1=0.500000"]


# ----------------------------------------------------------------------------- checkpoints
def test_do_checkpoint_every_period(tmp_path):
    net = mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=2, name="fc")
    w = np.random.randn(2, 3).astype(np.float32)
    arg = {"fc_weight": mx.nd.array(w), "fc_bias": mx.nd.zeros((2,))}
    prefix = str(tmp_path / "net")
    cb = callback.do_checkpoint(prefix, period=2)
    for epoch in range(5):
        cb(epoch, net, arg, {})
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["net-0002.params", "net-0004.params", "net-symbol.json"]
    sym, arg2, aux2 = mx.model.load_checkpoint(prefix, 4)
    assert sym.list_arguments() == ["data", "fc_weight", "fc_bias"] and aux2 == {}
    np.testing.assert_array_equal(arg2["fc_weight"].asnumpy(), w)
    # period below 1 counts as 1: every epoch, numbered epoch + 1
    cb0 = callback.do_checkpoint(str(tmp_path / "p0"), period=0)
    cb0(0, net, arg, {})
    assert (tmp_path / "p0-0001.params").exists()


def test_module_checkpoint():
    calls = []

    class FakeModule:
        def save_checkpoint(self, prefix, epoch, save_optimizer_states=False):
            calls.append((prefix, epoch, save_optimizer_states))

    cb = callback.module_checkpoint(FakeModule(), "m", period=3, save_optimizer_states=True)
    for epoch in range(7):
        cb(epoch)
    assert calls == [("m", 3, True), ("m", 6, True)]
    callback.module_checkpoint(FakeModule(), "n")(0, None, None, None)
    assert calls[-1] == ("n", 1, False)


# ----------------------------------------------------------------------------- tqdm gating
class FakeBar:
    instances = []

    def __init__(self, **kw):
        self.kw = kw
        self.n = 0
        self.postfix = None
        self.closed = False
        FakeBar.instances.append(self)

    def update(self, n=1):
        self.n += n

    def set_postfix_str(self, s, refresh=True):
        self.postfix = s

    def close(self):
        self.closed = True


@pytest.fixture
def fake_tqdm(monkeypatch):
    FakeBar.instances = []
    mod = types.ModuleType("tqdm")
    mod.tqdm = FakeBar
    monkeypatch.setitem(sys.modules, "tqdm", mod)
    monkeypatch.delenv("MXNET_PROGRESS_BAR", raising=False)
    monkeypatch.delenv("CI", raising=False)
    return mod


class Stream:
    def __init__(self, tty):
        self.tty = tty

    def isatty(self):
        return self.tty

    def write(self, s):
        return len(s)

    def flush(self):
        pass


@pytest.mark.parametrize("env,ci,tty,expect", [
    (None, None, True, True),
    (None, None, False, False),
    ("0", None, True, False),
    ("off", None, True, False),
    ("1", None, False, True),
    ("1", "true", False, True),
    (None, "true", True, False),
    (None, "0", True, True),
    ("", None, True, True),
])
def test_progress_enabled_env_and_tty(fake_tqdm, monkeypatch, env, ci, tty, expect):
    if env is not None:
        monkeypatch.setenv("MXNET_PROGRESS_BAR", env)
    if ci is not None:
        monkeypatch.setenv("CI", ci)
    monkeypatch.setattr(sys, "stderr", Stream(tty))
    assert callback.progress_enabled() is expect
    # an explicit flag wins over the environment and the terminal
    assert callback.progress_enabled(True) is True
    assert callback.progress_enabled(False) is False


def test_progress_disabled_without_tqdm(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm raises ImportError
    monkeypatch.setenv("MXNET_PROGRESS_BAR", "1")
    monkeypatch.setattr(sys, "stderr", Stream(True))
    assert callback.progress_enabled() is False
    assert callback.progress_enabled(True) is False
    p = callback.TqdmProgress(enabled=True)
    p.start_epoch(0, 10)
    p.update(1, [("acc", 1.0)])
    p.close()
    assert not p.enabled and not p.active


def test_progress_broken_stderr(fake_tqdm, monkeypatch):
    class Closed:
        def isatty(self):
            raise ValueError("I/O operation on closed file")

    monkeypatch.setattr(sys, "stderr", Closed())
    assert callback.progress_enabled() is False
    monkeypatch.setattr(sys, "stderr", None)
    assert callback.progress_enabled() is False


def test_tqdm_progress_drives_bar(fake_tqdm, logs):
    out = io.StringIO()
    metric = FakeMetric([("acc", 0.5), ("ce", 1.0)])
    with callback.TqdmProgress(enabled=True, file=out, mininterval=0) as p:
        p.start_epoch(0, 3)
        bar0 = FakeBar.instances[0]
        assert bar0.kw["total"] == 3 and bar0.kw["desc"] == "Epoch[0]"
        assert bar0.kw["file"] is out and bar0.kw["leave"] is False
        p.update(1, metric)
        p.update(2, [("acc", 0.25)])
        assert bar0.n == 3 and bar0.postfix == "acc=0.2500" and metric.reads == 1
        logging.info("Epoch[0] Train-acc=0.250000")  # logging keeps working meanwhile
        p.end_epoch()
        assert bar0.closed and not p.active
        p.end_epoch()  # idempotent
        p.start_epoch(1)  # unknown total
        assert FakeBar.instances[1].kw["total"] is None
        p.start_epoch(2, 1)  # closes the previous bar
        assert FakeBar.instances[1].closed
        bar2 = FakeBar.instances[2]
        p.update(1, metric)
        assert bar2.postfix == "acc=0.5000, ce=1.0000" and bar2.n == 1
    assert bar2.closed and not p.active
    assert logs.messages == ["Epoch[0] Train-acc=0.250000"]


def test_tqdm_progress_throttles_metric_reads(fake_tqdm):
    metric = FakeMetric([("acc", 0.5)])
    p = callback.TqdmProgress(enabled=True, mininterval=3600)
    p.start_epoch(0, 100)
    for _ in range(50):
        p.update(1, metric)
    p.close()
    assert metric.reads == 1 and FakeBar.instances[0].n == 50


def test_tqdm_progress_disabled_is_noop(fake_tqdm, monkeypatch):
    monkeypatch.setenv("MXNET_PROGRESS_BAR", "0")
    p = callback.TqdmProgress()
    p.start_epoch(0, 5)
    p.update(1, FakeMetric([("acc", 1.0)]))
    p.close()
    assert FakeBar.instances == [] and not p.enabled


def test_real_tqdm_with_logging(monkeypatch, capsys):
    """With the real tqdm (an optional extra): the bar is drawn on the given stream and
    log lines written while it is open reach the console handler intact."""
    pytest.importorskip("tqdm")
    root = logging.getLogger()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        p = callback.TqdmProgress(enabled=True, mininterval=0)
        p.start_epoch(2, 4)
        for _ in range(4):
            p.update(1, [("acc", 0.5)])
        logging.info("Epoch[2] Batch [0-4]\tSpeed: 1.00 samples/sec")
        p.close()
        restored = handler in root.handlers  # the redirect is undone on close
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    err = capsys.readouterr().err
    assert "Epoch[2]" in err and "acc=0.5000" in err
    assert "Epoch[2] Batch [0-4]\tSpeed: 1.00 samples/sec\n" in err
    assert restored
