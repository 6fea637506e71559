"""``BaseModule``: the training loop and evaluation shared by every module kind.

A module binds a computation to data shapes, owns its parameters, and runs
``forward``/``backward``/``update``; ``fit``, ``score``, ``predict`` and ``iter_predict``
are written once here against that interface, with MXNet 1.9's arguments, log lines and
callback protocol (``BatchEndParam`` per batch, ``(epoch, symbol, arg, aux)`` per epoch).
"""
from __future__ import annotations

import logging
import time
import warnings
from typing import Any, Optional, Sequence

import numpy as np

from ..base import MXNetError
from .. import model as _model
from ..model import BatchEndParam
from ..ndarray import NDArray
from ..ndarray import concat as _nd_concat


def _as_list(obj: Any) -> list:
    if obj is None:
        return []
    return list(obj) if isinstance(obj, (list, tuple)) else [obj]


def parse_data_desc(data_names: Sequence[str], label_names: Sequence[str],
                    data_shapes: Any, label_shapes: Any) -> tuple:
    """Turn ``(name, shape)`` pairs or ``DataDesc``s into ``DataDesc`` lists, in the
    order of the module's names. Data names must match the module's; label names that
    do not only warn, as in MXNet (an iterator's labels bound to a prediction module)."""
    from ..io import DataDesc

    def norm(shapes: Any, what: str) -> list:
        descs = []
        for s in shapes:
            if isinstance(s, DataDesc):
                descs.append(s)
                continue
            try:
                name, shape = s
            except (TypeError, ValueError):
                raise MXNetError("Module.bind: %s shapes must be DataDesc or (name, shape) "
                                 "pairs, got %r" % (what, s)) from None
            descs.append(DataDesc(name, tuple(shape)))
        return descs

    def match(descs: list, names: Sequence[str], what: str, strict: bool) -> list:
        got = [d.name for d in descs]
        if sorted(got) == sorted(names):
            by_name = {d.name: d for d in descs}
            return [by_name[n] for n in names]
        msg = ("Module.bind: %s shapes are given for %s but the module's %s names are %s"
               % (what, got, what, list(names)))
        if strict:
            raise MXNetError(msg)
        warnings.warn(msg, stacklevel=3)
        return descs

    data = match(norm(data_shapes, "data"), data_names, "data", True)
    if label_shapes is None or not list(label_shapes):
        return data, None
    return data, match(norm(label_shapes, "label"), label_names, "label", False)


class BaseModule:
    """The module interface (``mx.mod.BaseModule(logger=logging)``).

    Subclasses implement ``bind``, ``init_params``, ``init_optimizer``, ``forward``,
    ``backward``, ``update``, ``get_outputs``, ``get_params``/``set_params``,
    ``update_metric`` and the ``data_names``/``output_names``/``*_shapes``
    properties; everything else is built from those."""

    def __init__(self, logger: Any = logging):
        self.logger = logger
        self.binded = False
        self.for_training = False
        self.inputs_need_grad = False
        self.params_initialized = False
        self.optimizer_initialized = False
        self._symbol = None
        self._total_exec_bytes = 0

    # ------------------------------------------------------------------ high level
    def forward_backward(self, data_batch: Any) -> None:
        """``forward(data_batch, is_train=True)`` then ``backward()``."""
        self.forward(data_batch, is_train=True)
        self.backward()

    def score(self, eval_data: Any, eval_metric: Any, num_batch: Optional[int] = None,
              batch_end_callback: Any = None, score_end_callback: Any = None,
              reset: bool = True, epoch: int = 0, sparse_row_id_fn: Any = None) -> list:
        """Evaluate ``eval_metric`` over ``eval_data`` (``score(eval_data, eval_metric,
        num_batch=None, batch_end_callback=None, score_end_callback=None, reset=True,
        epoch=0)``) and return ``eval_metric.get_name_value()``."""
        from .. import metric as _metric
        self._check_ready("score")
        if reset:
            eval_data.reset()
        if not isinstance(eval_metric, _metric.EvalMetric):
            eval_metric = _metric.create(eval_metric)
        eval_metric.reset()
        nbatch = 0
        for nbatch, batch in enumerate(eval_data):
            if num_batch is not None and nbatch == num_batch:
                break
            self.prepare(batch, sparse_row_id_fn=sparse_row_id_fn)
            self.forward(batch, is_train=False)
            self.update_metric(eval_metric, batch.label, pre_sliced=getattr(batch, "pre_sliced", False))
            if batch_end_callback is not None:
                param = BatchEndParam(epoch=epoch, nbatch=nbatch, eval_metric=eval_metric,
                                      locals=locals())
                for cb in _as_list(batch_end_callback):
                    cb(param)
        if score_end_callback is not None:
            param = BatchEndParam(epoch=epoch, nbatch=nbatch, eval_metric=eval_metric,
                                  locals=locals())
            for cb in _as_list(score_end_callback):
                cb(param)
        return eval_metric.get_name_value()

    def iter_predict(self, eval_data: Any, num_batch: Optional[int] = None,
                     reset: bool = True, sparse_row_id_fn: Any = None):
        """Yield ``(outputs, nbatch, batch)`` per batch, padding rows removed."""
        self._check_ready("iter_predict")
        if reset:
            eval_data.reset()
        for nbatch, batch in enumerate(eval_data):
            if num_batch is not None and nbatch == num_batch:
                break
            self.prepare(batch, sparse_row_id_fn=sparse_row_id_fn)
            self.forward(batch, is_train=False)
            pad = batch.pad or 0
            outputs = [o[0:o.shape[0] - pad] if pad else o for o in self.get_outputs()]
            yield outputs, nbatch, batch

    def predict(self, eval_data: Any, num_batch: Optional[int] = None,
                merge_batches: bool = True, reset: bool = True,
                always_output_list: bool = False, sparse_row_id_fn: Any = None) -> Any:
        """Run inference over ``eval_data`` (a DataIter, or an NDArray/NumPy array run as
        one batch) and return the outputs, concatenated over batches when
        ``merge_batches``; one output comes back bare unless ``always_output_list``."""
        from ..io import DataBatch
        self._check_ready("predict")
        if isinstance(eval_data, (NDArray, np.ndarray)):
            from ..ndarray import array as _nd_array
            arr = eval_data if isinstance(eval_data, NDArray) else _nd_array(eval_data)
            shapes = self.data_shapes
            if len(shapes) != 1:
                raise MXNetError("predict: an array input needs a module with one data input")
            if tuple(arr.shape) != tuple(shapes[0].shape):
                self.reshape([(shapes[0].name, arr.shape)], self._label_shapes_for(arr.shape[0]))
            self.forward(DataBatch([arr]), is_train=False)
            outs = [o.copy() for o in self.get_outputs()]
            return outs if always_output_list or len(outs) > 1 else outs[0]
        per_batch = [[o.copy() for o in outs]
                     for outs, _, _ in self.iter_predict(eval_data, num_batch, reset,
                                                         sparse_row_id_fn)]
        if not per_batch:
            return []
        if not merge_batches:
            return per_batch
        n_out = len(per_batch[0])
        for outs in per_batch:
            if len(outs) != n_out:
                raise MXNetError("predict: batches produced different numbers of outputs; "
                                 "use merge_batches=False")
        merged = [_nd_concat(*[outs[i] for outs in per_batch], dim=0)
                  if len(per_batch) > 1 else per_batch[0][i] for i in range(n_out)]
        return merged if always_output_list or n_out > 1 else merged[0]

    def _label_shapes_for(self, batch_size: int) -> Optional[list]:
        if not self.label_shapes:
            return None
        return [(d.name, (batch_size,) + tuple(d.shape[1:])) for d in self.label_shapes]

    def fit(self, train_data: Any, eval_data: Any = None, eval_metric: Any = "acc",
            epoch_end_callback: Any = None, batch_end_callback: Any = None,
            kvstore: Any = "local", optimizer: Any = "sgd",
            optimizer_params: Any = (("learning_rate", 0.01),),
            eval_end_callback: Any = None, eval_batch_end_callback: Any = None,
            initializer: Any = None, arg_params: Optional[dict] = None,
            aux_params: Optional[dict] = None, allow_missing: bool = False,
            force_rebind: bool = False, force_init: bool = False, begin_epoch: int = 0,
            num_epoch: Optional[int] = None, validation_metric: Any = None,
            monitor: Any = None, sparse_row_id_fn: Any = None,
            progress_bar: Optional[bool] = None) -> None:
        """Train (``fit(train_data, eval_data=None, eval_metric='acc',
        epoch_end_callback=None, batch_end_callback=None, kvstore='local',
        optimizer='sgd', optimizer_params=(('learning_rate', 0.01),),
        eval_end_callback=None, eval_batch_end_callback=None, initializer=Uniform(0.01),
        arg_params=None, aux_params=None, allow_missing=False, force_rebind=False,
        force_init=False, begin_epoch=0, num_epoch=None, validation_metric=None,
        monitor=None, sparse_row_id_fn=None)``): bind, initialise, then per epoch run
        forward/backward/update over ``train_data``, calling the callbacks and logging
        ``Epoch[e] Train-<metric>=<v>``, ``Epoch[e] Time cost=<s>`` and, with
        ``eval_data``, ``Epoch[e] Validation-<metric>=<v>``. ``progress_bar`` (mixnet
        extra): a tqdm bar per epoch; ``None`` shows it only on a terminal (see
        ``mx.callback.progress_enabled``)."""
        from .. import metric as _metric
        from ..callback import TqdmProgress
        from ..initializer import Uniform
        if num_epoch is None:
            raise MXNetError("fit: num_epoch is required")
        if initializer is None:
            initializer = Uniform(0.01)
        self.bind(data_shapes=train_data.provide_data, label_shapes=train_data.provide_label,
                  for_training=True, force_rebind=force_rebind)
        if monitor is not None:
            self.install_monitor(monitor)
        self.init_params(initializer=initializer, arg_params=arg_params,
                         aux_params=aux_params, allow_missing=allow_missing,
                         force_init=force_init)
        self.init_optimizer(kvstore=kvstore, optimizer=optimizer,
                            optimizer_params=optimizer_params)
        if validation_metric is None:
            validation_metric = eval_metric
        if not isinstance(eval_metric, _metric.EvalMetric):
            eval_metric = _metric.create(eval_metric)
        bar = TqdmProgress(progress_bar)
        try:
            for epoch in range(begin_epoch, num_epoch):
                tic = time.time()
                eval_metric.reset()
                bar.start_epoch(epoch, _num_batches(train_data))
                nbatch = 0
                data_iter = iter(train_data)
                end_of_batch = False
                next_batch = next(data_iter, None)
                if next_batch is None:
                    raise MXNetError("fit: train_data produced no batch in epoch %d" % epoch)
                while not end_of_batch:
                    batch = next_batch
                    if monitor is not None:
                        monitor.tic()
                    self.forward_backward(batch)
                    self.update()
                    if isinstance(batch, list):
                        self.update_metric(eval_metric, [b.label for b in batch], pre_sliced=True)
                    else:
                        self.update_metric(eval_metric, batch.label)
                    next_batch = next(data_iter, None)
                    if next_batch is None:
                        end_of_batch = True
                    else:
                        self.prepare(next_batch, sparse_row_id_fn=sparse_row_id_fn)
                    if monitor is not None:
                        monitor.toc_print()
                    if batch_end_callback is not None:
                        param = BatchEndParam(epoch=epoch, nbatch=nbatch,
                                              eval_metric=eval_metric, locals=locals())
                        for cb in _as_list(batch_end_callback):
                            cb(param)
                    nbatch += 1
                    bar.update(1, eval_metric)
                bar.end_epoch()
                for name, val in eval_metric.get_global_name_value():
                    self.logger.info("Epoch[%d] Train-%s=%f", epoch, name, val)
                self.logger.info("Epoch[%d] Time cost=%.3f", epoch, time.time() - tic)
                arg, aux = self.get_params()
                self.set_params(arg, aux)
                for cb in _as_list(epoch_end_callback):
                    cb(epoch, self.symbol, arg, aux)
                if eval_data is not None:
                    res = self.score(eval_data, validation_metric,
                                     score_end_callback=eval_end_callback,
                                     batch_end_callback=eval_batch_end_callback, epoch=epoch)
                    for name, val in res:
                        self.logger.info("Epoch[%d] Validation-%s=%f", epoch, name, val)
                train_data.reset()
        finally:
            bar.close()

    # ------------------------------------------------------------------ helpers
    def _check_ready(self, what: str) -> None:
        if not (self.binded and self.params_initialized):
            raise MXNetError("%s: call bind and init_params first" % what)

    def prepare(self, data_batch: Any, sparse_row_id_fn: Any = None) -> None:
        """Prepare for a batch (row-sparse pulls in MXNet; nothing for dense params)."""

    def install_monitor(self, mon: Any) -> None:
        """Attach a ``Monitor`` to the executors."""
        raise NotImplementedError

    def save_params(self, fname: str) -> None:
        """Write the parameters (``arg:``/``aux:`` keys) to ``fname``."""
        arg, aux = self.get_params()
        _model.save_params_file(fname, arg, aux)

    def load_params(self, fname: str) -> None:
        """Read parameters written by :meth:`save_params` and set them."""
        arg, aux = _model.load_params_file(fname)
        self.set_params(arg, aux)

    def set_params(self, arg_params: dict, aux_params: dict, allow_missing: bool = False,
                   force_init: bool = True, allow_extra: bool = False) -> None:
        """Assign parameter values (``init_params`` with the given dicts)."""
        self.init_params(initializer=None, arg_params=arg_params, aux_params=aux_params,
                         allow_missing=allow_missing, force_init=force_init,
                         allow_extra=allow_extra)

    @property
    def symbol(self) -> Any:
        """The symbol of the module."""
        return self._symbol


def _num_batches(it: Any) -> Optional[int]:
    """The number of batches per epoch when the iterator can tell (for the progress bar)."""
    n = getattr(it, "num_data", None)
    bs = getattr(it, "batch_size", None)
    if not n or not bs:
        return None
    if getattr(it, "last_batch_handle", "pad") == "discard":
        return n // bs
    return -(-n // bs)
