"""Learning-rate schedules (``mx.lr_scheduler``): a scheduler is called with the
optimizer's ``num_update`` and returns the learning rate to use.

MXNet 1.9.1 conventions kept:

* Every scheduler has an optional warm-up: for ``num_update < warmup_steps`` the rate is
  ``warmup_begin_lr`` ramped linearly to the ``base_lr`` given at construction
  (``warmup_mode='linear'``) or held at ``warmup_begin_lr`` (``'constant'``).
* Factor and multi-factor schedules are stateful: they multiply ``base_lr`` in place as
  ``num_update`` passes each step (a ``while`` loop, so jumping ahead after a resume
  applies every missed step) and log each change with ``logging.info``.
* Poly and cosine schedules compute from the ``base_lr`` given at construction
  (``base_lr_orig``) and hold their last value once ``num_update > max_update``. An
  optimizer's ``learning_rate`` overwrites ``base_lr`` after construction, which therefore
  changes the factor schedules but not these two -- MXNet behaves the same way.
"""
from __future__ import annotations

import logging
from math import cos, pi

__all__ = ["LRScheduler", "FactorScheduler", "MultiFactorScheduler", "PolyScheduler",
           "CosineScheduler"]


def _check_int(value, what, scheduler):
    # bool is an int subclass but never a meaningful step count
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("%s: %s must be an int, got %r" % (scheduler, what, value))


class LRScheduler(object):
    """``LRScheduler(base_lr=0.01, warmup_steps=0, warmup_begin_lr=0,
    warmup_mode='linear')``: the base class; ``__call__(num_update)`` returns the rate
    and subclasses implement it, using ``get_warmup_lr`` for the first ``warmup_steps``
    updates. Raises ``ValueError`` for negative ``warmup_steps``, ``warmup_begin_lr >
    base_lr`` or an unknown ``warmup_mode``.
    """

    def __init__(self, base_lr=0.01, warmup_steps=0, warmup_begin_lr=0, warmup_mode="linear"):
        name = type(self).__name__
        self.base_lr = base_lr
        _check_int(warmup_steps, "warmup_steps", name)
        self.warmup_steps = warmup_steps
        self.warmup_final_lr = base_lr
        self.warmup_begin_lr = warmup_begin_lr
        if self.warmup_begin_lr > self.warmup_final_lr:
            raise ValueError("%s: Base lr has to be higher than warmup_begin_lr (base_lr=%r, "
                             "warmup_begin_lr=%r)" % (name, base_lr, warmup_begin_lr))
        if self.warmup_steps < 0:
            raise ValueError("%s: Warmup steps has to be positive or 0 (got %r)"
                             % (name, warmup_steps))
        if warmup_mode not in ("linear", "constant"):
            raise ValueError("%s: Supports only linear and constant modes of warmup (got "
                             "warmup_mode=%r)" % (name, warmup_mode))
        self.warmup_mode = warmup_mode

    def get_warmup_lr(self, num_update):
        """The warm-up rate at ``num_update`` (which must be below ``warmup_steps``)."""
        if num_update >= self.warmup_steps:
            raise ValueError("get_warmup_lr: num_update %d is past warmup_steps %d"
                             % (num_update, self.warmup_steps))
        if self.warmup_mode == "linear":
            increase = (self.warmup_final_lr - self.warmup_begin_lr) \
                * float(num_update) / float(self.warmup_steps)
            return self.warmup_begin_lr + increase
        return self.warmup_begin_lr

    def __call__(self, num_update):
        """Return the learning rate for ``num_update`` updates done so far."""
        raise NotImplementedError("%s must implement __call__" % type(self).__name__)


class FactorScheduler(LRScheduler):
    """``FactorScheduler(step, factor=1, stop_factor_lr=1e-8, base_lr=0.01,
    warmup_steps=0, warmup_begin_lr=0, warmup_mode='linear')``: after every ``step``
    updates (each time ``num_update`` exceeds ``count + step``) the rate is multiplied by
    ``factor``, never going below ``stop_factor_lr``. ``step >= 1`` and ``factor <= 1``
    or ``ValueError``.
    """

    def __init__(self, step, factor=1, stop_factor_lr=1e-8, base_lr=0.01,
                 warmup_steps=0, warmup_begin_lr=0, warmup_mode="linear"):
        super(FactorScheduler, self).__init__(base_lr, warmup_steps, warmup_begin_lr,
                                              warmup_mode)
        if step < 1:
            raise ValueError("FactorScheduler: Schedule step must be greater or equal than 1 "
                             "round (got step=%r)" % (step,))
        if factor > 1.0:
            raise ValueError("FactorScheduler: Factor must be no more than 1 to make lr "
                             "reduce (got factor=%r)" % (factor,))
        self.step = step
        self.factor = factor
        self.stop_factor_lr = stop_factor_lr
        self.count = 0

    def __call__(self, num_update):
        if num_update < self.warmup_steps:
            return self.get_warmup_lr(num_update)
        while num_update > self.count + self.step:
            self.count += self.step
            self.base_lr *= self.factor
            if self.base_lr < self.stop_factor_lr:
                self.base_lr = self.stop_factor_lr
                logging.info("Update[%d]: now learning rate arrived at %0.5e, will not "
                             "change in the future", num_update, self.base_lr)
            else:
                logging.info("Update[%d]: Change learning rate to %0.5e",
                             num_update, self.base_lr)
        return self.base_lr


class MultiFactorScheduler(LRScheduler):
    """``MultiFactorScheduler(step, factor=1, base_lr=0.01, warmup_steps=0,
    warmup_begin_lr=0, warmup_mode='linear')``: ``step`` is an increasing list of update
    counts; the rate is multiplied by ``factor`` once ``num_update`` exceeds each of them.
    A non-list or empty ``step``, a non-increasing list, a step below 1 or ``factor > 1``
    raise ``ValueError``.
    """

    def __init__(self, step, factor=1, base_lr=0.01, warmup_steps=0, warmup_begin_lr=0,
                 warmup_mode="linear"):
        super(MultiFactorScheduler, self).__init__(base_lr, warmup_steps, warmup_begin_lr,
                                                   warmup_mode)
        if not isinstance(step, list) or len(step) < 1:
            raise ValueError("MultiFactorScheduler: step must be a non-empty list of update "
                             "counts, got %r" % (step,))
        for i, s in enumerate(step):
            if i != 0 and step[i] <= step[i - 1]:
                raise ValueError("MultiFactorScheduler: Schedule step must be an increasing "
                                 "integer list (got %r)" % (step,))
            if s < 1:
                raise ValueError("MultiFactorScheduler: Schedule step must be greater or "
                                 "equal than 1 round (got %r)" % (step,))
        if factor > 1.0:
            raise ValueError("MultiFactorScheduler: Factor must be no more than 1 to make lr "
                             "reduce (got factor=%r)" % (factor,))
        self.step = step
        self.cur_step_ind = 0
        self.factor = factor
        self.count = 0

    def __call__(self, num_update):
        if num_update < self.warmup_steps:
            return self.get_warmup_lr(num_update)
        while self.cur_step_ind <= len(self.step) - 1:
            if num_update > self.step[self.cur_step_ind]:
                self.count = self.step[self.cur_step_ind]
                self.cur_step_ind += 1
                self.base_lr *= self.factor
                logging.info("Update[%d]: Change learning rate to %0.5e",
                             num_update, self.base_lr)
            else:
                return self.base_lr
        return self.base_lr


class _AnnealScheduler(LRScheduler):
    """Poly and cosine schedules: after warm-up the rate goes from the constructor's
    ``base_lr`` to ``final_lr`` along ``_decay(elapsed, total)`` (1 at the start, 0 at
    ``max_update``) and stays there; ``max_update`` must be an int >= 1."""

    def __init__(self, max_update, base_lr, final_lr, warmup_steps, warmup_begin_lr,
                 warmup_mode):
        super(_AnnealScheduler, self).__init__(base_lr, warmup_steps, warmup_begin_lr,
                                               warmup_mode)
        name = type(self).__name__
        _check_int(max_update, "max_update", name)
        if max_update < 1:
            raise ValueError("%s: maximum number of updates must be strictly positive (got "
                             "max_update=%r)" % (name, max_update))
        # kept apart from base_lr, which an optimizer's learning_rate may overwrite
        self.base_lr_orig = base_lr
        self.max_update = max_update
        self.final_lr = final_lr
        self.max_steps = self.max_update - self.warmup_steps

    def _decay(self, elapsed, total):
        raise NotImplementedError

    def __call__(self, num_update):
        if num_update < self.warmup_steps:
            return self.get_warmup_lr(num_update)
        if num_update <= self.max_update:
            self.base_lr = self.final_lr + (self.base_lr_orig - self.final_lr) * \
                self._decay(num_update - self.warmup_steps, self.max_steps)
        return self.base_lr


class PolyScheduler(_AnnealScheduler):
    """``PolyScheduler(max_update, base_lr=0.01, pwr=2, final_lr=0, warmup_steps=0,
    warmup_begin_lr=0, warmup_mode='linear')``: after warm-up, ``final_lr + (base_lr -
    final_lr) * (1 - (n - warmup_steps)/(max_update - warmup_steps))**pwr`` up to
    ``max_update``, then constant. ``max_update`` must be an int >= 1 (``ValueError``).
    """

    def __init__(self, max_update, base_lr=0.01, pwr=2, final_lr=0,
                 warmup_steps=0, warmup_begin_lr=0, warmup_mode="linear"):
        super(PolyScheduler, self).__init__(max_update, base_lr, final_lr, warmup_steps,
                                            warmup_begin_lr, warmup_mode)
        self.power = pwr

    def _decay(self, elapsed, total):
        return pow(1 - float(elapsed) / float(total), self.power)


class CosineScheduler(_AnnealScheduler):
    """``CosineScheduler(max_update, base_lr=0.01, final_lr=0, warmup_steps=0,
    warmup_begin_lr=0, warmup_mode='linear')``: after warm-up, ``final_lr + (base_lr -
    final_lr) * (1 + cos(pi*(n - warmup_steps)/(max_update - warmup_steps)))/2`` up to
    ``max_update``, then constant. ``max_update`` must be an int >= 1 (``ValueError``).
    """

    def __init__(self, max_update, base_lr=0.01, final_lr=0,
                 warmup_steps=0, warmup_begin_lr=0, warmup_mode="linear"):
        super(CosineScheduler, self).__init__(max_update, base_lr, final_lr, warmup_steps,
                                              warmup_begin_lr, warmup_mode)

    def _decay(self, elapsed, total):
        # halving is exact in binary floating point, so this matches (b - f) * (1+cos)/2
        return (1 + cos(pi * elapsed / total)) / 2
