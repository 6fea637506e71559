"""``mx.callback``: the batch-end and epoch-end callbacks ``fit`` calls, and the optional
tqdm progress bar.

MXNet 1.9 conventions kept:

* Batch-end callbacks receive ``mx.model.BatchEndParam(epoch, nbatch, eval_metric,
  locals)``; epoch-end callbacks are called ``(epoch, symbol, arg_params, aux_params)``.
* Log lines go through the root ``logging`` module at INFO, with MXNet's exact formats
  (users' scripts parse them), e.g. ``Epoch[0] Batch [0-50]\\tSpeed: 1234.56
  samples/sec\\taccuracy=0.500000``.
* Checkpoints taken at the end of epoch ``e`` are numbered ``e + 1``.

The progress bar (:class:`TqdmProgress`, :func:`progress_enabled`) is a mixnet addition:
tqdm is optional, the bar shows only on a terminal and never in CI unless forced with
``MXNET_PROGRESS_BAR=1``; ``MXNET_PROGRESS_BAR=0`` turns it off.
"""
from __future__ import annotations

import logging
import math
import os
import sys
import time
from typing import Any, Callable, Optional

__all__ = ["module_checkpoint", "do_checkpoint", "log_train_metric", "Speedometer",
           "ProgressBar", "LogValidationMetricsCallback", "progress_enabled", "TqdmProgress"]

# the clock Speedometer reads; a module global so tests can substitute a fake clock
_now: Callable[[], float] = time.time


def _period(period: Any) -> int:
    # MXNet treats any period below 1 as 1
    return int(max(1, period))


def module_checkpoint(mod: Any, prefix: str, period: int = 1,
                      save_optimizer_states: bool = False) -> Callable:
    """``mx.callback.module_checkpoint(mod, prefix, period=1, save_optimizer_states=False)``:
    an epoch-end callback that calls ``mod.save_checkpoint(prefix, epoch + 1,
    save_optimizer_states)`` after every ``period``-th epoch. The callback accepts
    ``(iter_no, sym=None, arg=None, aux=None)`` and ignores everything but ``iter_no``."""
    every = _period(period)

    def _callback(iter_no: int, sym: Any = None, arg: Any = None, aux: Any = None) -> None:
        if (iter_no + 1) % every == 0:
            mod.save_checkpoint(prefix, iter_no + 1, save_optimizer_states)
    return _callback


def do_checkpoint(prefix: str, period: int = 1) -> Callable:
    """``mx.callback.do_checkpoint(prefix, period=1)``: an epoch-end callback
    ``(iter_no, sym, arg, aux)`` that writes ``prefix-symbol.json`` and
    ``prefix-%04d.params`` with ``mx.model.save_checkpoint`` numbered ``iter_no + 1``,
    after every ``period``-th epoch (``period`` below 1 counts as 1)."""
    every = _period(period)

    def _callback(iter_no: int, sym: Any, arg: Any, aux: Any) -> None:
        if (iter_no + 1) % every == 0:
            # imported here: model sits above the training helpers in the layering
            from .model import save_checkpoint
            save_checkpoint(prefix, iter_no + 1, sym, arg, aux)
    return _callback


def log_train_metric(period: int, auto_reset: bool = False) -> Callable:
    """``mx.callback.log_train_metric(period, auto_reset=False)``: a batch-end callback
    logging ``Iter[<epoch>] Batch[<nbatch>] Train-<name>=<value>`` for every metric value
    when ``nbatch`` is a multiple of ``period``; with ``auto_reset`` the metric's local
    statistics are reset after logging."""

    def _callback(param: Any) -> None:
        metric = param.eval_metric
        if param.nbatch % period != 0 or metric is None:
            return
        for name, value in metric.get_name_value():
            logging.info("Iter[%d] Batch[%d] Train-%s=%f", param.epoch, param.nbatch,
                         name, value)
        if auto_reset:
            metric.reset_local()
    return _callback


class Speedometer:
    """``mx.callback.Speedometer(batch_size, frequent=50, auto_reset=True)``: a batch-end
    callback logging throughput and the training metric every ``frequent`` batches.

    The first call of an epoch only starts the clock (a decreasing ``nbatch`` means a new
    epoch). Afterwards, whenever ``nbatch`` is a multiple of ``frequent``, it logs
    ``Epoch[e] Batch [a-b]\\tSpeed: <s> samples/sec`` followed by ``\\t<name>=<value>``
    per metric value; ``[a-b]`` is ``[nbatch-frequent-nbatch]`` when ``auto_reset`` (the
    metric's local statistics are reset, so the values cover those batches) and
    ``[0-nbatch]`` otherwise. Without a metric it logs ``Iter[e] Batch [n]\\tSpeed: <s>
    samples/sec``. Speed is ``frequent * batch_size`` over the seconds since the last log.
    """

    def __init__(self, batch_size: int, frequent: int = 50, auto_reset: bool = True):
        self.batch_size = batch_size
        self.frequent = frequent
        self.auto_reset = auto_reset
        self.init = False
        self.tic = 0.0
        self.last_count = 0

    def __call__(self, param: Any) -> None:
        count = param.nbatch
        if count < self.last_count:
            self.init = False  # nbatch went back: a new epoch started
        self.last_count = count
        if not self.init:
            self.init = True
            self.tic = _now()
            return
        if count % self.frequent != 0:
            return
        elapsed = _now() - self.tic
        speed = self.frequent * self.batch_size / elapsed if elapsed != 0 else float("inf")
        metric = param.eval_metric
        if metric is None:
            logging.info("Iter[%d] Batch [%d]\tSpeed: %.2f samples/sec",
                         param.epoch, count, speed)
        else:
            name_value = list(metric.get_name_value())
            pairs = tuple(x for nv in name_value for x in nv)
            if self.auto_reset:
                metric.reset_local()
                logging.info("Epoch[%d] Batch [%d-%d]\tSpeed: %.2f samples/sec"
                             + "\t%s=%f" * len(name_value),
                             param.epoch, count - self.frequent, count, speed, *pairs)
            else:
                logging.info("Epoch[%d] Batch [0-%d]\tSpeed: %.2f samples/sec"
                             + "\t%s=%f" * len(name_value),
                             param.epoch, count, speed, *pairs)
        self.tic = _now()


class ProgressBar:
    """``mx.callback.ProgressBar(total, length=80)``: a batch-end callback logging a text
    bar ``[====----] 50%`` (``length`` characters, ``=`` for the done fraction
    ``nbatch / total``, the percentage rounded up) followed by a carriage return."""

    def __init__(self, total: int, length: int = 80):
        self.total = total
        self.bar_len = length

    def __call__(self, param: Any) -> None:
        done = param.nbatch / float(self.total)
        filled = int(round(self.bar_len * done))
        percent = math.ceil(100.0 * done)
        logging.info("[%s] %s%s\r", "=" * filled + "-" * (self.bar_len - filled), percent, "%")


class LogValidationMetricsCallback:
    """``mx.callback.LogValidationMetricsCallback()``: an eval-end callback logging
    ``Epoch[e] Validation-<name>=<value>`` for every value of ``param.eval_metric``
    (nothing when there is no metric)."""

    def __call__(self, param: Any) -> None:
        metric = param.eval_metric
        if metric is None:
            return
        for name, value in metric.get_name_value():
            logging.info("Epoch[%d] Validation-%s=%f", param.epoch, name, value)


# ------------------------------------------------------------------------- tqdm progress
_OFF = ("0", "false", "off", "no")
_ON = ("1", "true", "on", "yes")


def _tqdm_module() -> Any:
    """The ``tqdm`` module, or None when it is not installed (it is an optional extra)."""
    try:
        import tqdm  # type: ignore
    except ImportError:
        return None
    return tqdm


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False  # closed or replaced streams


def progress_enabled(flag: Optional[bool] = None) -> bool:
    """Whether ``fit`` should draw a tqdm progress bar.

    Never without tqdm installed. Otherwise an explicit ``flag`` decides; with
    ``flag=None`` the environment does: ``MXNET_PROGRESS_BAR=0`` (or false/off/no) turns
    the bar off, ``MXNET_PROGRESS_BAR=1`` (or true/on/yes) forces it on, and otherwise it
    shows only when ``sys.stderr`` is a terminal and the ``CI`` variable is not set.
    """
    if _tqdm_module() is None:
        return False
    if flag is not None:
        return bool(flag)
    env = os.environ.get("MXNET_PROGRESS_BAR", "").strip().lower()
    if env in _OFF:
        return False
    if env in _ON:
        return True
    if os.environ.get("CI", "").strip().lower() not in ("",) + _OFF:
        return False
    return _isatty(sys.stderr)


def _format_metrics(name_value: Any) -> str:
    parts = []
    for name, value in name_value:
        try:
            parts.append("%s=%.4f" % (name, value))
        except TypeError:
            parts.append("%s=%s" % (name, value))
    return ", ".join(parts)


class TqdmProgress:
    """A per-epoch tqdm progress bar that ``Module.fit`` drives (a mixnet addition).

    ``TqdmProgress(enabled=None, file=None, mininterval=0.5)``: ``enabled`` goes through
    :func:`progress_enabled` (None: decide from the environment and the terminal). Call
    ``start_epoch(epoch, total_batches=None)`` at the start of each epoch (the total may
    be unknown), ``update(n_batches=1, metric_name_values=None)`` after each batch,
    ``end_epoch()`` when the epoch's batches are done and ``close()`` at the end (both
    idempotent); it also works as a context manager. ``metric_name_values`` is
    a list of ``(name, value)`` pairs or a metric object (its ``get_name_value()`` is then
    read at most once per ``mininterval`` seconds, so the bar does not force a device sync
    every batch). When disabled every method is a no-op. While a bar is open, console
    log handlers of the root logger write through ``tqdm.write`` (when the installed tqdm
    offers ``tqdm.contrib.logging``), so log lines and the bar do not garble each other.
    """

    def __init__(self, enabled: Optional[bool] = None, file: Any = None,
                 mininterval: float = 0.5):
        self.enabled = progress_enabled(enabled)
        self._file = file
        self._mininterval = float(mininterval)
        self._bar: Any = None
        self._redirect: Any = None
        self._last_postfix = 0.0

    @property
    def active(self) -> bool:
        """True while a bar is open."""
        return self._bar is not None

    def start_epoch(self, epoch: int, total_batches: Optional[int] = None) -> None:
        """Open the bar of epoch ``epoch`` (closing the previous one)."""
        if not self.enabled:
            return
        self.close()
        tqdm = _tqdm_module()
        if tqdm is None:
            self.enabled = False
            return
        self._bar = tqdm.tqdm(total=total_batches, desc="Epoch[%d]" % epoch, unit="batch",
                              leave=False, file=self._file if self._file is not None
                              else sys.stderr, mininterval=self._mininterval,
                              dynamic_ncols=True)
        self._last_postfix = 0.0
        self._redirect_logging()

    def update(self, n_batches: int = 1, metric_name_values: Any = None) -> None:
        """Advance by ``n_batches``; show the metric values next to the bar."""
        bar = self._bar
        if bar is None:
            return
        if metric_name_values is not None:
            now = time.monotonic()
            if now - self._last_postfix >= self._mininterval:
                self._last_postfix = now
                nv = metric_name_values
                if hasattr(nv, "get_name_value"):
                    nv = nv.get_name_value()
                bar.set_postfix_str(_format_metrics(nv), refresh=False)
        bar.update(n_batches)

    def end_epoch(self) -> None:
        """Close the epoch's bar (before the end-of-epoch log lines); the next
        ``start_epoch`` opens a new one."""
        self.close()

    def close(self) -> None:
        """Close the open bar, if any, and restore the log handlers."""
        bar, self._bar = self._bar, None
        if bar is not None:
            bar.close()
        redirect, self._redirect = self._redirect, None
        if redirect is not None:
            redirect.__exit__(None, None, None)

    def _redirect_logging(self) -> None:
        try:
            from tqdm.contrib.logging import logging_redirect_tqdm  # type: ignore
        except ImportError:
            return  # older tqdm: leave logging alone
        redirect = logging_redirect_tqdm()
        redirect.__enter__()
        self._redirect = redirect

    def __enter__(self) -> "TqdmProgress":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown: nothing left to restore
            pass
