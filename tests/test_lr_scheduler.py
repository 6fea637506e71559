"""mx.lr_scheduler: (num_update -> lr) tables worked out by hand from the schedules'
formulas, warm-up modes, the logging of changes, and parameter validation."""
from __future__ import annotations

import logging
import math
import warnings

import pytest

from mixnet import lr_scheduler as lrs
from mixnet import optimizer as opt


def _table(sched, updates):
    return [sched(n) for n in updates]


def test_factor_scheduler_table_and_floor():
    s = lrs.FactorScheduler(step=3, factor=0.5, stop_factor_lr=0.1, base_lr=1.0)
    got = _table(s, range(0, 15))
    # decays each time num_update exceeds 3, 6, 9, 12; 0.0625 is floored to 0.1
    want = [1.0] * 4 + [0.5] * 3 + [0.25] * 3 + [0.125] * 3 + [0.1] * 2
    assert got == pytest.approx(want)
    assert s.count == 12


def test_factor_scheduler_catches_up_after_a_jump():
    s = lrs.FactorScheduler(step=3, factor=0.5, base_lr=1.0)
    assert s(10) == pytest.approx(0.125)  # three decays at once (resume from a checkpoint)
    assert s(10) == pytest.approx(0.125)  # stateful, no further decay


def test_factor_scheduler_logs_changes(caplog):
    s = lrs.FactorScheduler(step=2, factor=0.5, stop_factor_lr=0.3, base_lr=1.0)
    with caplog.at_level(logging.INFO):
        for n in range(1, 6):
            s(n)
    msgs = [r.getMessage() for r in caplog.records]
    assert msgs == ["Update[3]: Change learning rate to 5.00000e-01",
                    "Update[5]: now learning rate arrived at 3.00000e-01, will not change "
                    "in the future"]


def test_factor_scheduler_linear_warmup():
    s = lrs.FactorScheduler(step=2, factor=0.5, base_lr=1.0, warmup_steps=4,
                            warmup_begin_lr=0.2)
    # ramp 0.2 -> 1.0 over 4 updates; the decay counter starts at 0, so the first update
    # after warm-up (4 > 0 + 2) already decays once
    assert _table(s, range(0, 7)) == pytest.approx([0.2, 0.4, 0.6, 0.8, 0.5, 0.25, 0.25])


def test_constant_warmup():
    s = lrs.MultiFactorScheduler(step=[5], factor=0.1, base_lr=1.0, warmup_steps=3,
                                 warmup_begin_lr=0.05, warmup_mode="constant")
    assert _table(s, range(0, 7)) == pytest.approx([0.05, 0.05, 0.05, 1.0, 1.0, 1.0, 0.1])


def test_multifactor_scheduler_table_and_logging(caplog):
    s = lrs.MultiFactorScheduler(step=[2, 5], factor=0.1, base_lr=1.0)
    with caplog.at_level(logging.INFO):
        got = _table(s, range(1, 9))
    assert got == pytest.approx([1.0, 1.0, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01])
    assert [r.getMessage() for r in caplog.records] == [
        "Update[3]: Change learning rate to 1.00000e-01",
        "Update[6]: Change learning rate to 1.00000e-02"]
    assert s.cur_step_ind == 2 and s.count == 5


def test_multifactor_jump_applies_every_passed_step():
    s = lrs.MultiFactorScheduler(step=[2, 5, 7], factor=0.5, base_lr=1.0)
    assert s(6) == pytest.approx(0.25)
    assert s(100) == pytest.approx(0.125)


def test_poly_scheduler_table_with_warmup():
    s = lrs.PolyScheduler(max_update=10, base_lr=1.0, pwr=2, final_lr=0.1, warmup_steps=2)
    got = _table(s, [0, 1, 2, 4, 6, 10, 11])
    # after warm-up: 0.1 + 0.9 * (1 - (n - 2)/8)**2
    want = [0.0, 0.5, 1.0, 0.1 + 0.9 * 0.75 ** 2, 0.1 + 0.9 * 0.25, 0.1, 0.1]
    assert got == pytest.approx(want)


def test_poly_scheduler_power_one_is_linear():
    s = lrs.PolyScheduler(max_update=4, base_lr=2.0, pwr=1)
    assert _table(s, range(0, 6)) == pytest.approx([2.0, 1.5, 1.0, 0.5, 0.0, 0.0])


def test_poly_scheduler_holds_last_value_past_max_update():
    # past max_update the stored rate is returned unchanged (for a fresh scheduler that is
    # still base_lr, as in MXNet)
    s = lrs.PolyScheduler(max_update=5, base_lr=0.3)
    assert s(50) == pytest.approx(0.3)


def test_cosine_scheduler_table():
    s = lrs.CosineScheduler(max_update=10, base_lr=1.0, final_lr=0.2)
    got = _table(s, [0, 2, 5, 10, 12])
    want = [0.2 + 0.8 * (1 + math.cos(math.pi * n / 10)) / 2 for n in (0, 2, 5, 10)] + [0.2]
    assert got == pytest.approx(want)
    assert got[2] == pytest.approx(0.6)


def test_cosine_scheduler_linear_warmup():
    s = lrs.CosineScheduler(max_update=12, base_lr=0.8, warmup_steps=4, warmup_begin_lr=0.4)
    got = _table(s, [0, 2, 4, 8, 12])
    assert got == pytest.approx([0.4, 0.6, 0.8, 0.4, 0.0])


def test_optimizer_learning_rate_overrides_factor_but_not_cosine_base():
    f = lrs.FactorScheduler(step=5, base_lr=1.0)
    with pytest.warns(UserWarning, match="overwritten"):
        opt.SGD(learning_rate=0.3, lr_scheduler=f)
    assert f(1) == pytest.approx(0.3)
    c = lrs.CosineScheduler(max_update=10, base_lr=1.0)
    with pytest.warns(UserWarning, match="overwritten"):
        o = opt.SGD(learning_rate=0.3, lr_scheduler=c)
    assert c.base_lr == 0.3
    # cosine recomputes from the base_lr it was built with (MXNet 1.9.1 does the same)
    assert o.learning_rate == pytest.approx(1.0)
    same = lrs.FactorScheduler(step=5, base_lr=0.3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt.SGD(learning_rate=0.3, lr_scheduler=same)


def test_scheduler_without_optimizer_lr_keeps_its_base():
    f = lrs.FactorScheduler(step=5, base_lr=0.7)
    o = opt.SGD(lr_scheduler=f)
    assert o.lr is None and o.learning_rate == pytest.approx(0.7)


@pytest.mark.parametrize("make, match", [
    (lambda: lrs.FactorScheduler(step=0), "step must be greater or equal than 1"),
    (lambda: lrs.FactorScheduler(step=2, factor=1.5), "Factor must be no more than 1"),
    (lambda: lrs.MultiFactorScheduler(step=[3, 3]), "increasing"),
    (lambda: lrs.MultiFactorScheduler(step=[4, 2]), "increasing"),
    (lambda: lrs.MultiFactorScheduler(step=[0, 2]), "greater or equal than 1"),
    (lambda: lrs.MultiFactorScheduler(step=[2], factor=2), "Factor must be no more than 1"),
    (lambda: lrs.MultiFactorScheduler(step=3), "non-empty list"),
    (lambda: lrs.MultiFactorScheduler(step=[]), "non-empty list"),
    (lambda: lrs.PolyScheduler(max_update=0), "strictly positive"),
    (lambda: lrs.PolyScheduler(max_update=2.5), "max_update must be an int"),
    (lambda: lrs.CosineScheduler(max_update=-1), "strictly positive"),
    (lambda: lrs.LRScheduler(base_lr=0.1, warmup_begin_lr=0.2), "higher than warmup_begin_lr"),
    (lambda: lrs.LRScheduler(warmup_steps=-1), "positive or 0"),
    (lambda: lrs.LRScheduler(warmup_steps=2.0), "warmup_steps must be an int"),
    (lambda: lrs.FactorScheduler(step=2, warmup_mode="exp"), "linear and constant"),
])
def test_bad_parameters_raise_value_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_base_scheduler_is_abstract():
    with pytest.raises(NotImplementedError):
        lrs.LRScheduler()(1)
    s = lrs.LRScheduler(base_lr=1.0, warmup_steps=4, warmup_begin_lr=0.0)
    assert s.get_warmup_lr(1) == pytest.approx(0.25)
    with pytest.raises(ValueError, match="past warmup_steps"):
        s.get_warmup_lr(4)
