"""``mx.metric``: online evaluation metrics (MXNet 1.9 semantics).

MXNet conventions kept here:

* ``update(labels, preds)`` takes lists of arrays (NDArrays or NumPy arrays; a single
  array is wrapped); each metric keeps a local sum/count (``sum_metric``, ``num_inst``,
  cleared by ``reset_local``) and a global one (``global_sum_metric``,
  ``global_num_inst``, cleared only by ``reset``). ``get()`` is ``sum/num`` and NaN before
  any update.
* ``Accuracy`` argmaxes the prediction only when its shape differs from the label's and
  compares as int32; ``MAE``/``MSE``/``RMSE`` add one per-batch mean per array (so the
  result is the mean of batch means); ``F1``/``MCC`` with ``average='macro'`` average
  per-update scores; ``TopKAccuracy`` demands ``top_k > 1`` and names itself
  ``top_k_accuracy_<k>``.
* ``get_config()`` records the constructor keywords MXNet records, so
  ``create(**metric.get_config())`` rebuilds the metric; ``create`` also takes a name or
  alias, a callable (-> :class:`CustomMetric`), an instance or a list (-> composite).

Each array costs one host copy (``asnumpy``) per update; the arithmetic is vectorised.
"""
from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any, Callable, Optional

import numpy

from .base import MXNetError, numeric_types, string_types
from .ndarray import NDArray
from . import registry as _registry

__all__ = ["EvalMetric", "CompositeEvalMetric", "Accuracy", "TopKAccuracy", "F1", "MCC",
           "Perplexity", "MAE", "MSE", "RMSE", "CrossEntropy", "NegativeLogLikelihood",
           "PearsonCorrelation", "PCC", "Loss", "Torch", "Caffe", "CustomMetric", "np",
           "create", "register", "alias", "check_label_shapes"]


class MetricError(MXNetError, ValueError):
    """Bad metric input (labels and predictions that do not fit, bad arguments). A
    ``ValueError`` as in MXNet, and an ``MXNetError`` so the framework's own error type
    catches it too."""


def _host(x: Any) -> numpy.ndarray:
    """The NumPy content of a label or prediction (the one host copy per array)."""
    if isinstance(x, NDArray):
        return x.asnumpy()
    return numpy.asarray(x)


def _wrap(x: Any) -> Any:
    if isinstance(x, (NDArray, numpy.ndarray)):
        return [x]
    return x


def check_label_shapes(labels: Any, preds: Any, wrap: bool = False, shape: bool = False,
                       name: Optional[str] = None) -> tuple:
    """``mx.metric.check_label_shapes(labels, preds, wrap=False, shape=False)``: raise a
    ``ValueError`` when the number of labels and predictions (or, with ``shape=True``,
    their shapes) differ; with ``wrap=True`` single arrays come back wrapped in lists.
    ``name`` (mixnet's addition) puts the metric's name in the message."""
    if shape:
        lshape, pshape = tuple(labels.shape), tuple(preds.shape)
        what = "shape"
    else:
        lshape, pshape = len(_wrap(labels)) if wrap else len(labels), \
            len(_wrap(preds)) if wrap else len(preds)
        what = "number"
    if lshape != pshape:
        raise MetricError("%s%s of labels %s does not match %s of predictions %s"
                               % ("metric %r: " % name if name else "", what.capitalize(),
                                  lshape, what, pshape))
    if wrap:
        labels, preds = _wrap(labels), _wrap(preds)
    return labels, preds


# ------------------------------------------------------------------------ base class
class EvalMetric:
    """``mx.metric.EvalMetric(name, output_names=None, label_names=None, **kwargs)``: base
    of all metrics. ``update(labels, preds)`` accumulates, ``get()`` gives ``(name,
    value)`` for the local statistics and ``get_global()`` for those since the last
    ``reset()``; ``reset_local()`` clears only the local ones (Speedometer's auto reset).
    ``update_dict`` picks arrays by ``output_names``/``label_names``. Extra ``kwargs`` are
    what ``get_config()`` reports."""

    def __init__(self, name: str, output_names: Optional[list] = None,
                 label_names: Optional[list] = None, **kwargs: Any) -> None:
        self.name = str(name)
        self.output_names = output_names
        self.label_names = label_names
        self._has_global_stats = kwargs.pop("has_global_stats", False)
        self._kwargs = kwargs
        self.reset()

    def __str__(self) -> str:
        return "EvalMetric: {}".format(dict(self.get_name_value()))

    def get_config(self) -> dict:
        """``get_config()``: the constructor keywords plus ``metric`` (the class name),
        ``name``, ``output_names`` and ``label_names``; ``create(**config)`` rebuilds it."""
        config = self._kwargs.copy()
        config.update({"metric": self.__class__.__name__, "name": self.name,
                       "output_names": self.output_names, "label_names": self.label_names})
        return config

    def update_dict(self, label: dict, pred: dict) -> None:
        """``update_dict(labels, preds)``: update from name -> array dicts, taking the
        arrays named by ``label_names``/``output_names`` (all, in order, when None)."""
        if self.output_names is not None:
            pred = [self._pick(pred, n, "output") for n in self.output_names]
        else:
            pred = list(pred.values())
        if self.label_names is not None:
            label = [self._pick(label, n, "label") for n in self.label_names]
        else:
            label = list(label.values())
        self.update(label, pred)

    def _pick(self, arrays: dict, name: str, what: str) -> Any:
        try:
            return arrays[name]
        except KeyError:
            raise KeyError("metric %r: %s %r not found (available: %s)"
                           % (self.name, what, name, ", ".join(map(str, arrays)))) from None

    def update(self, labels: Any, preds: Any) -> None:
        """``update(labels, preds)``: accumulate one batch (lists of arrays)."""
        raise NotImplementedError("%s must implement update" % self.__class__.__name__)

    def reset(self) -> None:
        """``reset()``: clear the local and the global statistics."""
        self.num_inst = 0
        self.sum_metric = 0.0
        self.global_num_inst = 0
        self.global_sum_metric = 0.0

    def reset_local(self) -> None:
        """``reset_local()``: clear the local statistics only."""
        self.num_inst = 0
        self.sum_metric = 0.0

    def _add(self, value: Any, count: Any) -> None:
        self.sum_metric += value
        self.global_sum_metric += value
        self.num_inst += count
        self.global_num_inst += count

    def get(self) -> tuple:
        """``get()``: ``(name, sum_metric / num_inst)``, NaN before any update."""
        if self.num_inst == 0:
            return (self.name, float("nan"))
        return (self.name, self.sum_metric / self.num_inst)

    def get_global(self) -> tuple:
        """``get_global()``: like ``get()`` over everything since ``reset()`` (the local
        value for metrics without global statistics)."""
        if not self._has_global_stats:
            return self.get()
        if self.global_num_inst == 0:
            return (self.name, float("nan"))
        return (self.name, self.global_sum_metric / self.global_num_inst)

    @staticmethod
    def _pairs(name: Any, value: Any) -> list:
        if not isinstance(name, list):
            name = [name]
        if not isinstance(value, list):
            value = [value]
        return list(zip(name, value))

    def get_name_value(self) -> list:
        """``get_name_value()``: ``[(name, value), ...]`` of ``get()``."""
        return self._pairs(*self.get())

    def get_global_name_value(self) -> list:
        """``get_global_name_value()``: ``[(name, value), ...]`` of ``get_global()``."""
        if not self._has_global_stats:
            return self.get_name_value()
        return self._pairs(*self.get_global())


# ------------------------------------------------------------------------- registry
# the shared registry (mixnet/registry.py) with MetricError, so metric names, aliases and
# JSON/dict specs follow the same rules as initializers and optimizers
_REGISTRY = _registry.registry_for(EvalMetric, "metric", MetricError)
register = _REGISTRY.register
alias = _REGISTRY.alias
_create = _REGISTRY.create


def create(metric: Any, *args: Any, **kwargs: Any) -> "EvalMetric":
    """``mx.metric.create(metric, *args, **kwargs)``: a metric from a registered name or
    alias (``'acc'``, ``'ce'``, ``'top_k_accuracy'``; the arguments go to the
    constructor), an :class:`EvalMetric` (returned as is), a config dict from
    ``get_config()``, a callable ``feval(label, pred)`` (-> :class:`CustomMetric`), or a
    list of any of these (-> :class:`CompositeEvalMetric`)."""
    if callable(metric):
        return CustomMetric(metric, *args, **kwargs)
    if isinstance(metric, list):
        composite = CompositeEvalMetric()
        for child in metric:
            composite.add(create(child, *args, **kwargs))
        return composite
    return _create(metric, *args, **kwargs)


@register
@alias("composite")
class CompositeEvalMetric(EvalMetric):
    """``mx.metric.CompositeEvalMetric(metrics=None, name='composite', output_names=None,
    label_names=None)``: several metrics updated together; ``get()`` returns
    ``([names], [values])``. ``add(metric)`` appends (anything :func:`create` takes),
    ``get_metric(i)`` returns a child."""

    def __init__(self, metrics: Optional[list] = None, name: str = "composite",
                 output_names: Optional[list] = None,
                 label_names: Optional[list] = None) -> None:
        super().__init__("composite", output_names=output_names, label_names=label_names,
                         has_global_stats=True)
        self.metrics = [create(m) for m in (metrics or [])]

    def add(self, metric: Any) -> None:
        """``add(metric)``: append a child metric."""
        self.metrics.append(create(metric))

    def get_metric(self, index: int) -> EvalMetric:
        """``get_metric(index)``: the child metric at ``index``."""
        try:
            return self.metrics[index]
        except IndexError:
            raise MetricError("CompositeEvalMetric: metric index %d is out of range 0 to %d"
                             % (index, len(self.metrics))) from None

    def update_dict(self, labels: dict, preds: dict) -> None:
        if self.label_names is not None:
            labels = OrderedDict(kv for kv in labels.items() if kv[0] in self.label_names)
        if self.output_names is not None:
            preds = OrderedDict(kv for kv in preds.items() if kv[0] in self.output_names)
        for metric in self.metrics:
            metric.update_dict(labels, preds)

    def update(self, labels: Any, preds: Any) -> None:
        for metric in self.metrics:
            metric.update(labels, preds)

    def reset(self) -> None:
        # the base constructor calls reset() before the children exist
        for metric in getattr(self, "metrics", ()):
            metric.reset()

    def reset_local(self) -> None:
        for metric in getattr(self, "metrics", ()):
            metric.reset_local()

    @staticmethod
    def _collect(results: list) -> tuple:
        names, values = [], []
        for name, value in results:
            names.extend([name] if isinstance(name, string_types) else name)
            values.extend([value] if isinstance(value, numeric_types) else value)
        return (names, values)

    def get(self) -> tuple:
        return self._collect([m.get() for m in self.metrics])

    def get_global(self) -> tuple:
        return self._collect([m.get_global() for m in self.metrics])

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"metrics": [m.get_config() for m in self.metrics]})
        return config


# ------------------------------------------------------------------- classification
@register
@alias("acc")
class Accuracy(EvalMetric):
    """``mx.metric.Accuracy(axis=1, name='accuracy', output_names=None,
    label_names=None)``: fraction of correct predictions. A prediction whose shape differs
    from the label's is argmaxed over ``axis``; both are cast to int32 and flattened."""

    def __init__(self, axis: int = 1, name: str = "accuracy",
                 output_names: Optional[list] = None,
                 label_names: Optional[list] = None) -> None:
        super().__init__(name, axis=axis, output_names=output_names,
                         label_names=label_names, has_global_stats=True)
        self.axis = axis

    def update(self, labels: Any, preds: Any) -> None:
        labels, preds = check_label_shapes(labels, preds, True, name=self.name)
        for label, pred in zip(labels, preds):
            lab, prd = _host(label), _host(pred)
            if prd.shape != lab.shape:
                # argmax on the host: exact indices for any class count and dtype
                prd = prd.argmax(axis=self.axis)
            prd = prd.astype(numpy.int32).ravel()
            lab = lab.astype(numpy.int32).ravel()
            if prd.size != lab.size:
                raise MetricError(
                    "metric %r: %d labels (shape %s) but %d predicted classes (predictions "
                    "of shape %s, class axis %d)" % (self.name, lab.size, tuple(label.shape),
                                                     prd.size, tuple(pred.shape), self.axis))
            self._add(int(numpy.count_nonzero(prd == lab)), prd.size)


@register
@alias("top_k_accuracy", "top_k_acc")
class TopKAccuracy(EvalMetric):
    """``mx.metric.TopKAccuracy(top_k=1, name='top_k_accuracy', output_names=None,
    label_names=None)``: a sample counts when its label is among the ``top_k`` largest
    predictions. As in MXNet ``top_k`` must exceed 1 and the name becomes
    ``top_k_accuracy_<k>``."""

    def __init__(self, top_k: int = 1, name: str = "top_k_accuracy",
                 output_names: Optional[list] = None,
                 label_names: Optional[list] = None) -> None:
        super().__init__(name, top_k=top_k, output_names=output_names,
                         label_names=label_names, has_global_stats=True)
        self.top_k = top_k
        if not self.top_k > 1:
            raise MetricError("TopKAccuracy: top_k=%r; use Accuracy if top_k is no "
                                   "more than 1" % (top_k,))
        self.name += "_%d" % self.top_k

    def update(self, labels: Any, preds: Any) -> None:
        labels, preds = check_label_shapes(labels, preds, True, name=self.name)
        for label, pred in zip(labels, preds):
            if len(pred.shape) > 2:
                raise MetricError("metric %r: predictions should be no more than 2-D, "
                                       "got shape %s" % (self.name, tuple(pred.shape)))
            scores = _host(pred).astype(numpy.float32)
            label = _host(label).astype(numpy.int32).ravel()
            if scores.shape[0] != label.shape[0]:
                raise MetricError("metric %r: %d labels but %d predictions (shape %s)"
                                       % (self.name, label.shape[0], scores.shape[0],
                                          scores.shape))
            if scores.ndim == 1:
                # MXNet compares the 1-D partition order itself with the labels
                order = numpy.argpartition(scores, -min(self.top_k, scores.size))
                hits = int(numpy.count_nonzero(order == label))
            else:
                k = min(scores.shape[1], self.top_k)
                top = numpy.argpartition(scores, -k, axis=1)[:, -k:]
                hits = int((top == label[:, None]).any(axis=1).sum())
            self._add(hits, scores.shape[0])


class _BinaryStats:
    """Confusion counts of a binary classifier, local and global (MXNet's
    ``_BinaryClassificationMetrics``): F1 and MCC derive from them."""

    def __init__(self) -> None:
        self.local = numpy.zeros(4, dtype=numpy.int64)   # tp, fp, fn, tn
        self.glob = numpy.zeros(4, dtype=numpy.int64)

    def update(self, name: str, label: Any, pred: Any) -> None:
        pred = _host(pred)
        label = _host(label).astype(numpy.int32).ravel()
        if pred.ndim != 2 or pred.shape[0] != label.shape[0]:
            raise MetricError("metric %r: predictions must be (batch, classes) scores "
                                   "matching %d labels, got shape %s"
                                   % (name, label.shape[0], pred.shape))
        if numpy.unique(label).size > 2:
            raise MetricError("metric %r currently only supports binary "
                                   "classification (labels seen: %s)"
                                   % (name, numpy.unique(label).tolist()))
        pred_true = pred.argmax(axis=1) == 1
        label_true = label == 1
        tp = int(numpy.count_nonzero(pred_true & label_true))
        fp = int(numpy.count_nonzero(pred_true & ~label_true))
        fn = int(numpy.count_nonzero(~pred_true & label_true))
        counts = numpy.array([tp, fp, fn, label.size - tp - fp - fn], dtype=numpy.int64)
        self.local += counts
        self.glob += counts

    def reset_local(self) -> None:
        self.local[:] = 0

    def reset(self) -> None:
        self.local[:] = 0
        self.glob[:] = 0

    @staticmethod
    def total(c: numpy.ndarray) -> int:
        return int(c.sum())

    @staticmethod
    def fscore(c: numpy.ndarray) -> float:
        tp, fp, fn, _ = (float(v) for v in c)
        precision = tp / (tp + fp) if tp + fp > 0 else 0.0
        recall = tp / (tp + fn) if tp + fn > 0 else 0.0
        if precision + recall > 0:
            return 2 * precision * recall / (precision + recall)
        return 0.0

    @staticmethod
    def mcc(c: numpy.ndarray) -> float:
        if not c.sum():
            return 0.0
        tp, fp, fn, tn = (float(v) for v in c)
        # MXNet leaves zero marginals out of the denominator instead of returning NaN
        denom = 1.0
        for t in (tp + fp, tp + fn, tn + fp, tn + fn):
            if t != 0.0:
                denom *= t
        return (tp * tn - fp * fn) / math.sqrt(denom)


class _BinaryMetric(EvalMetric):
    """Shared update for F1 and MCC: ``'macro'`` averages the score of each update call,
    ``'micro'`` scores the pooled confusion counts."""

    _score: Callable[[numpy.ndarray], float]

    def __init__(self, name: str, output_names: Optional[list], label_names: Optional[list],
                 average: str) -> None:
        if average not in ("macro", "micro"):
            raise MetricError("%s: average must be 'macro' or 'micro', got %r"
                                   % (self.__class__.__name__, average))
        self.average = average
        self._stats = _BinaryStats()
        super().__init__(name, output_names=output_names, label_names=label_names,
                         has_global_stats=True)

    def update(self, labels: Any, preds: Any) -> None:
        labels, preds = check_label_shapes(labels, preds, True, name=self.name)
        for label, pred in zip(labels, preds):
            self._stats.update(self.name, label, pred)
        score = type(self)._score
        st = self._stats
        if self.average == "macro":
            # the counts hold this call's batch only (cleared below), locally and globally
            self._add(score(st.local), 1)
            st.reset()
        else:
            self.sum_metric = score(st.local) * st.total(st.local)
            self.global_sum_metric = score(st.glob) * st.total(st.glob)
            self.num_inst = st.total(st.local)
            self.global_num_inst = st.total(st.glob)

    def reset(self) -> None:
        super().reset()
        self._stats.reset()

    def reset_local(self) -> None:
        super().reset_local()
        self._stats.reset_local()


@register
class F1(_BinaryMetric):
    """``mx.metric.F1(name='f1', output_names=None, label_names=None, average='macro')``:
    binary F1 score of ``argmax(pred, axis=1)`` against 0/1 labels (class 1 positive).
    ``'macro'`` averages the F1 of each update call, ``'micro'`` scores all counts."""

    _score = staticmethod(_BinaryStats.fscore)

    def __init__(self, name: str = "f1", output_names: Optional[list] = None,
                 label_names: Optional[list] = None, average: str = "macro") -> None:
        super().__init__(name, output_names, label_names, average)


@register
class MCC(_BinaryMetric):
    """``mx.metric.MCC(name='mcc', output_names=None, label_names=None,
    average='macro')``: binary Matthews correlation coefficient of ``argmax(pred,
    axis=1)`` against 0/1 labels, averaged per update (``'macro'``) or pooled
    (``'micro'``)."""

    _score = staticmethod(_BinaryStats.mcc)

    def __init__(self, name: str = "mcc", output_names: Optional[list] = None,
                 label_names: Optional[list] = None, average: str = "macro") -> None:
        super().__init__(name, output_names, label_names, average)


@register
class Perplexity(EvalMetric):
    """``mx.metric.Perplexity(ignore_label, axis=-1, name='perplexity',
    output_names=None, label_names=None)``: exp of the mean negative log of the
    probability each prediction gives its label (probabilities floored at 1e-10), labels
    equal to ``ignore_label`` left out; ``axis`` is the class axis."""

    def __init__(self, ignore_label: Optional[int], axis: int = -1,
                 name: str = "perplexity", output_names: Optional[list] = None,
                 label_names: Optional[list] = None) -> None:
        super().__init__(name, ignore_label=ignore_label, output_names=output_names,
                         label_names=label_names, has_global_stats=True)
        self.ignore_label = ignore_label
        self.axis = axis

    def update(self, labels: Any, preds: Any) -> None:
        labels, preds = check_label_shapes(labels, preds, True, name=self.name)
        loss, num = 0.0, 0
        for label, pred in zip(labels, preds):
            prob = _host(pred)
            label = _host(label).ravel()
            if prob.ndim == 0 or label.size * prob.shape[self.axis] != prob.size:
                raise MetricError("metric %r: %d labels (shape %s) do not fit "
                                       "predictions of shape %s with classes on axis %d"
                                       % (self.name, label.size, label.shape, prob.shape,
                                          self.axis))
            prob = numpy.moveaxis(prob, self.axis, -1).reshape(label.size, -1)
            # like MXNet's pick: indices truncated to int and clipped to the class range
            idx = numpy.clip(label.astype(numpy.int64), 0, prob.shape[1] - 1)
            picked = prob[numpy.arange(label.size), idx]
            if self.ignore_label is not None:
                keep = label != self.ignore_label
                picked = picked[keep]
            loss -= float(numpy.log(numpy.maximum(picked, 1e-10)).sum(dtype=numpy.float64))
            num += picked.size
        self._add(loss, num)

    def get(self) -> tuple:
        if self.num_inst == 0:
            return (self.name, float("nan"))
        return (self.name, math.exp(self.sum_metric / self.num_inst))

    def get_global(self) -> tuple:
        if self.global_num_inst == 0:
            return (self.name, float("nan"))
        return (self.name, math.exp(self.global_sum_metric / self.global_num_inst))


# ----------------------------------------------------------------------- regression
class _BatchMeanMetric(EvalMetric):
    """MAE/MSE/RMSE: one value per (label, pred) pair, averaged over pairs (MXNet counts
    batches, not elements). 1-D arrays are treated as (N, 1) columns."""

    def __init__(self, name: str, output_names: Optional[list],
                 label_names: Optional[list]) -> None:
        super().__init__(name, output_names=output_names, label_names=label_names,
                         has_global_stats=True)

    _value: Callable[[numpy.ndarray], float]

    def update(self, labels: Any, preds: Any) -> None:
        labels, preds = check_label_shapes(labels, preds, True, name=self.name)
        for label, pred in zip(labels, preds):
            label, pred = _host(label), _host(pred)
            if label.ndim == 1:
                label = label.reshape(label.shape[0], 1)
            if pred.ndim == 1:
                pred = pred.reshape(pred.shape[0], 1)
            try:
                diff = label - pred
            except ValueError:
                raise MetricError("metric %r: labels of shape %s and predictions of "
                                       "shape %s do not broadcast"
                                       % (self.name, label.shape, pred.shape)) from None
            self._add(self._value(diff), 1)


@register
class MAE(_BatchMeanMetric):
    """``mx.metric.MAE(name='mae', output_names=None, label_names=None)``: mean absolute
    error, averaged per batch."""

    def __init__(self, name: str = "mae", output_names: Optional[list] = None,
                 label_names: Optional[list] = None) -> None:
        super().__init__(name, output_names, label_names)

    @staticmethod
    def _value(diff: numpy.ndarray) -> float:
        return float(numpy.abs(diff).mean())


@register
class MSE(_BatchMeanMetric):
    """``mx.metric.MSE(name='mse', output_names=None, label_names=None)``: mean squared
    error, averaged per batch."""

    def __init__(self, name: str = "mse", output_names: Optional[list] = None,
                 label_names: Optional[list] = None) -> None:
        super().__init__(name, output_names, label_names)

    @staticmethod
    def _value(diff: numpy.ndarray) -> float:
        return float(numpy.square(diff).mean())


@register
class RMSE(_BatchMeanMetric):
    """``mx.metric.RMSE(name='rmse', output_names=None, label_names=None)``: root mean
    squared error of each batch, averaged over batches."""

    def __init__(self, name: str = "rmse", output_names: Optional[list] = None,
                 label_names: Optional[list] = None) -> None:
        super().__init__(name, output_names, label_names)

    @staticmethod
    def _value(diff: numpy.ndarray) -> float:
        return float(numpy.sqrt(numpy.square(diff).mean()))


class _LogLossMetric(EvalMetric):
    """CrossEntropy/NegativeLogLikelihood: sum over samples of -log(p[label] + eps),
    divided by the number of samples."""

    def __init__(self, eps: float, name: str, output_names: Optional[list],
                 label_names: Optional[list]) -> None:
        super().__init__(name, eps=eps, output_names=output_names, label_names=label_names,
                         has_global_stats=True)
        self.eps = eps

    def update(self, labels: Any, preds: Any) -> None:
        labels, preds = check_label_shapes(labels, preds, True, name=self.name)
        for label, pred in zip(labels, preds):
            label, prob = _host(label).ravel(), _host(pred)
            if prob.ndim != 2 or prob.shape[0] != label.shape[0]:
                raise MetricError("metric %r: predictions must be (batch, classes) "
                                       "probabilities matching %d labels, got shape %s"
                                       % (self.name, label.shape[0], prob.shape))
            idx = label.astype(numpy.int64)
            if idx.size and (idx.min() < 0 or idx.max() >= prob.shape[1]):
                raise MetricError("metric %r: labels must lie in [0, %d), got range "
                                       "[%d, %d]" % (self.name, prob.shape[1], idx.min(),
                                                     idx.max()))
            picked = prob[numpy.arange(idx.size), idx]
            self._add(float((-numpy.log(picked + self.eps)).sum()), idx.size)


@register
@alias("ce")
class CrossEntropy(_LogLossMetric):
    """``mx.metric.CrossEntropy(eps=1e-12, name='cross-entropy', output_names=None,
    label_names=None)``: mean over samples of -log(p[label] + eps), predictions being
    (batch, classes) probabilities."""

    def __init__(self, eps: float = 1e-12, name: str = "cross-entropy",
                 output_names: Optional[list] = None,
                 label_names: Optional[list] = None) -> None:
        super().__init__(eps, name, output_names, label_names)


@register
@alias("nll_loss")
class NegativeLogLikelihood(_LogLossMetric):
    """``mx.metric.NegativeLogLikelihood(eps=1e-12, name='nll-loss', output_names=None,
    label_names=None)``: mean negative log-likelihood of the labels (same formula as
    CrossEntropy)."""

    def __init__(self, eps: float = 1e-12, name: str = "nll-loss",
                 output_names: Optional[list] = None,
                 label_names: Optional[list] = None) -> None:
        super().__init__(eps, name, output_names, label_names)


@register
@alias("pearsonr")
class PearsonCorrelation(EvalMetric):
    """``mx.metric.PearsonCorrelation(name='pearsonr', output_names=None,
    label_names=None, average='macro')``: Pearson correlation of flattened predictions and
    labels; ``'macro'`` averages per-array coefficients, ``'micro'`` computes one
    coefficient over everything seen since ``reset()`` (streaming co-moments) in
    ``get()``, while ``get_global()`` then reports 0.0, as MXNet 1.9.1 does."""

    def __init__(self, name: str = "pearsonr", output_names: Optional[list] = None,
                 label_names: Optional[list] = None, average: str = "macro") -> None:
        if average not in ("macro", "micro"):
            raise MetricError("PearsonCorrelation: average must be 'macro' or 'micro', "
                                   "got %r" % (average,))
        self.average = average
        super().__init__(name, output_names=output_names, label_names=label_names,
                         has_global_stats=True)

    def reset(self) -> None:
        super().reset()
        # count, means of label and pred, and the co-moment sums (ll, pp, lp)
        self._n = 0
        self._mean_l = self._mean_p = 0.0
        self._m_ll = self._m_pp = self._m_lp = 0.0

    def update(self, labels: Any, preds: Any) -> None:
        labels, preds = check_label_shapes(labels, preds, True, name=self.name)
        for label, pred in zip(labels, preds):
            check_label_shapes(label, pred, False, True, name=self.name)
            lab = _host(label).ravel().astype(numpy.float64)
            prd = _host(pred).ravel().astype(numpy.float64)
            if self.average == "macro":
                self._add(float(numpy.corrcoef(prd, lab)[0, 1]), 1)
                continue
            self._add(0.0, 1)
            # Chan et al.'s pairwise merge of (count, means, co-moments) with this batch
            nb = lab.size
            if nb == 0:
                continue
            mb_l, mb_p = lab.mean(), prd.mean()
            dl, dp = lab - mb_l, prd - mb_p
            n = self._n + nb
            delta_l, delta_p = mb_l - self._mean_l, mb_p - self._mean_p
            w = self._n * nb / n
            self._m_ll += float(dl @ dl) + delta_l * delta_l * w
            self._m_pp += float(dp @ dp) + delta_p * delta_p * w
            self._m_lp += float(dl @ dp) + delta_l * delta_p * w
            self._mean_l += delta_l * nb / n
            self._mean_p += delta_p * nb / n
            self._n = n

    def _micro(self) -> float:
        denom = math.sqrt(self._m_ll * self._m_pp)
        return self._m_lp / denom if denom else float("nan")

    def get(self) -> tuple:
        if self.num_inst == 0:
            return (self.name, float("nan"))
        if self.average == "macro":
            return (self.name, self.sum_metric / self.num_inst)
        return (self.name, self._micro())

    # get_global is the base class's: with 'micro' the sums stay 0, so MXNet 1.9.1 reports
    # 0.0 there (its fixtures show it); the pooled coefficient is get()'s


@register
class PCC(EvalMetric):
    """``mx.metric.PCC(name='pcc', output_names=None, label_names=None,
    has_global_stats=True)``: multiclass Matthews correlation (Pearson correlation of the
    one-hot predictions and labels) from a K x K confusion matrix that grows with the
    largest class seen; a prediction whose shape differs from the label's is argmaxed
    over axis 1. ``num_inst`` counts update calls."""

    def __init__(self, name: str = "pcc", output_names: Optional[list] = None,
                 label_names: Optional[list] = None, has_global_stats: bool = True) -> None:
        self.k = 2
        super().__init__(name, output_names=output_names, label_names=label_names,
                         has_global_stats=has_global_stats)

    def _grow(self, k: int) -> None:
        inc = k - self.k
        self.lcm = numpy.pad(self.lcm, ((0, inc), (0, inc)), "constant")
        self.gcm = numpy.pad(self.gcm, ((0, inc), (0, inc)), "constant")
        self.k = k

    @staticmethod
    def _calc_mcc(cmat: numpy.ndarray) -> float:
        n = cmat.sum()
        x = cmat.sum(axis=1)
        y = cmat.sum(axis=0)
        cov_xx = float(numpy.sum(x * (n - x)))
        cov_yy = float(numpy.sum(y * (n - y)))
        if cov_xx == 0 or cov_yy == 0:
            return float("nan")
        cov_xy = float(numpy.sum(cmat.diagonal() * n - x * y))
        return cov_xy / math.sqrt(cov_xx * cov_yy)

    def update(self, labels: Any, preds: Any) -> None:
        labels, preds = check_label_shapes(labels, preds, True, name=self.name)
        for label, pred in zip(labels, preds):
            lab = _host(label).astype(numpy.int32).ravel()
            prd = _host(pred)
            prd = prd.argmax(axis=1) if prd.shape != tuple(label.shape) else prd
            prd = prd.astype(numpy.int64).ravel()
            if prd.size != lab.size:
                raise MetricError("metric %r: %d labels but %d predicted classes"
                                       % (self.name, lab.size, prd.size))
            if lab.size == 0:
                continue
            if min(prd.min(), lab.min()) < 0:
                raise MetricError("metric %r: class indices must be non-negative"
                                       % self.name)
            top = int(max(prd.max(), lab.max())) + 1
            if top > self.k:
                self._grow(top)
            counts = numpy.bincount(prd * self.k + lab,
                                    minlength=self.k * self.k).reshape(self.k, self.k)
            self.lcm += counts
            self.gcm += counts
        self.num_inst += 1
        self.global_num_inst += 1

    @property
    def sum_metric(self) -> float:  # type: ignore[override]
        return self._calc_mcc(self.lcm) * self.num_inst

    @property
    def global_sum_metric(self) -> float:  # type: ignore[override]
        return self._calc_mcc(self.gcm) * self.global_num_inst

    def reset(self) -> None:
        self.global_num_inst = 0.0
        self.gcm = numpy.zeros((self.k, self.k))
        self.reset_local()

    def reset_local(self) -> None:
        self.num_inst = 0.0
        self.lcm = numpy.zeros((self.k, self.k))


# --------------------------------------------------------------------- loss outputs
@register
class Loss(EvalMetric):
    """``mx.metric.Loss(name='loss', output_names=None, label_names=None)``: mean of the
    prediction arrays themselves (for networks whose outputs are losses); labels are
    ignored."""

    def __init__(self, name: str = "loss", output_names: Optional[list] = None,
                 label_names: Optional[list] = None) -> None:
        super().__init__(name, output_names=output_names, label_names=label_names,
                         has_global_stats=True)

    def update(self, _: Any, preds: Any) -> None:
        for pred in _wrap(preds):
            value = _host(pred)
            self._add(float(value.sum()), value.size)


@register
class Torch(Loss):
    """``mx.metric.Torch(name='torch', output_names=None, label_names=None)``: Loss under
    the name used for Torch-plugin criteria."""

    def __init__(self, name: str = "torch", output_names: Optional[list] = None,
                 label_names: Optional[list] = None) -> None:
        super().__init__(name, output_names, label_names)


@register
class Caffe(Loss):
    """``mx.metric.Caffe(name='caffe', output_names=None, label_names=None)``: Loss under
    the name used for Caffe-plugin losses."""

    def __init__(self, name: str = "caffe", output_names: Optional[list] = None,
                 label_names: Optional[list] = None) -> None:
        super().__init__(name, output_names, label_names)


# ---------------------------------------------------------------------------- custom
@register
class CustomMetric(EvalMetric):
    """``mx.metric.CustomMetric(feval, name=None, allow_extra_outputs=False,
    output_names=None, label_names=None)``: ``feval(label, pred)`` on NumPy arrays returns
    a value (counted once) or a ``(sum, count)`` pair; the name defaults to the function's
    (``custom(<lambda>)`` for lambdas). ``allow_extra_outputs`` skips the count check."""

    def __init__(self, feval: Callable, name: Optional[str] = None,
                 allow_extra_outputs: bool = False, output_names: Optional[list] = None,
                 label_names: Optional[list] = None) -> None:
        if name is None:
            name = feval.__name__
            if "<" in name:
                name = "custom(%s)" % name
        super().__init__(name, feval=feval, allow_extra_outputs=allow_extra_outputs,
                         output_names=output_names, label_names=label_names,
                         has_global_stats=True)
        self._feval = feval
        self._allow_extra_outputs = allow_extra_outputs

    def update(self, labels: Any, preds: Any) -> None:
        if not self._allow_extra_outputs:
            labels, preds = check_label_shapes(labels, preds, True, name=self.name)
        else:
            labels, preds = _wrap(labels), _wrap(preds)
        for pred, label in zip(preds, labels):
            result = self._feval(_host(label), _host(pred))
            if isinstance(result, tuple):
                value, count = result
                self._add(value, count)
            else:
                self._add(result, 1)

    def get_config(self) -> dict:
        raise NotImplementedError("CustomMetric cannot be serialized")


def np(numpy_feval: Callable, name: Optional[str] = None,
       allow_extra_outputs: bool = False) -> CustomMetric:
    """``mx.metric.np(numpy_feval, name=None, allow_extra_outputs=False)``: a
    :class:`CustomMetric` from a function of NumPy ``(label, pred)`` arrays, named after
    the function unless ``name`` is given."""
    def feval(label: numpy.ndarray, pred: numpy.ndarray) -> Any:
        return numpy_feval(label, pred)
    feval.__name__ = numpy_feval.__name__
    return CustomMetric(feval, name, allow_extra_outputs)
