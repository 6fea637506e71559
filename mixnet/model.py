"""``mx.model``: checkpoints as MXNet writes them — ``<prefix>-symbol.json`` and
``<prefix>-<epoch:04d>.params`` whose keys are ``arg:<name>`` and ``aux:<name>``."""
from __future__ import annotations

import os
from collections import namedtuple
from typing import Any, Optional

import numpy as np

from .base import MXNetError
from .ndarray import NDArray
from .ndarray import load as _nd_load
from .ndarray import save as _nd_save
from .symbol import Symbol, load as _sym_load

__all__ = ["save_checkpoint", "load_checkpoint", "load_params", "BatchEndParam",
           "FeedForward"]

#: What batch-end callbacks receive: ``epoch``, ``nbatch`` (batches done this epoch, from 0),
#: ``eval_metric`` (the training metric) and ``locals`` (the caller's local variables).
BatchEndParam = namedtuple("BatchEndParam", ["epoch", "nbatch", "eval_metric", "locals"])


def save_checkpoint(prefix: str, epoch: int, symbol: Optional[Symbol], arg_params: dict,
                    aux_params: dict, remove_amp_cast: bool = True) -> None:
    """``mx.model.save_checkpoint(prefix, epoch, symbol, arg_params, aux_params)``: write
    the symbol (when given) and the parameters; each file is written atomically."""
    if symbol is not None:
        symbol.save("%s-symbol.json" % prefix)
    save_params_file("%s-%04d.params" % (prefix, epoch), arg_params, aux_params)


def save_params_file(fname: str, arg_params: dict, aux_params: dict) -> None:
    """Write ``arg_params``/``aux_params`` to ``fname`` under ``arg:``/``aux:`` keys."""
    data = {}
    for kind, params in (("arg", arg_params), ("aux", aux_params)):
        for k, v in (params or {}).items():
            if not isinstance(v, NDArray):
                raise MXNetError("save_checkpoint: %s parameter %r is a %s, not an NDArray"
                                 % (kind, k, type(v).__name__))
            data["%s:%s" % (kind, k)] = v
    _nd_save(fname, data)


def load_params_file(fname: str) -> tuple:
    """``(arg_params, aux_params)`` from a file of ``arg:``/``aux:`` keys."""
    saved = _nd_load(fname)
    if not isinstance(saved, dict):
        raise MXNetError("%s holds a list of arrays, not a name -> array dict" % fname)
    arg, aux = {}, {}
    for k, v in saved.items():
        kind, _, name = k.partition(":")
        if kind == "arg" and name:
            arg[name] = v
        elif kind == "aux" and name:
            aux[name] = v
        else:
            raise MXNetError("%s: key %r is neither arg:<name> nor aux:<name>" % (fname, k))
    return arg, aux


def load_params(prefix: str, epoch: int) -> tuple:
    """``(arg_params, aux_params)`` from ``<prefix>-<epoch:04d>.params``."""
    return load_params_file("%s-%04d.params" % (prefix, epoch))


def load_checkpoint(prefix: str, epoch: int) -> tuple:
    """``mx.model.load_checkpoint(prefix, epoch) -> (symbol, arg_params, aux_params)``."""
    symbol = _sym_load("%s-symbol.json" % prefix)
    arg, aux = load_params(prefix, epoch)
    return symbol, arg, aux


# ---------------------------------------------------------------------- kvstore plumbing
def create_kvstore(kvstore: Any, num_device: int, arg_params: dict) -> tuple:
    """``(kvstore or None, update_on_kvstore)`` for a module on ``num_device`` devices:
    no store for one device and a non-distributed type; parameters update on the store
    unless ``MXNET_UPDATE_ON_KVSTORE=0`` or a ``local`` store would hold a parameter of
    more than 16M elements (updating that on the devices is faster)."""
    from . import kvstore as _kvs
    update_on_kvstore = bool(int(os.environ.get("MXNET_UPDATE_ON_KVSTORE", "1")))
    if kvstore is None:
        kv = None
    elif isinstance(kvstore, _kvs.KVStoreBase):
        kv = kvstore
    elif isinstance(kvstore, str):
        if num_device == 1 and "dist" not in kvstore:
            kv = None
        else:
            kv = _kvs.create(kvstore)
            if kvstore == "local" and arg_params:
                largest = max(int(np.prod(p.shape)) for p in arg_params.values())
                if largest > 1024 * 1024 * 16:
                    update_on_kvstore = False
    else:
        raise MXNetError("kvstore must be None, a name or a KVStore, got %r" % (kvstore,))
    if kv is None or not kv.is_capable(_kvs.KVStoreBase.OPTIMIZER):
        update_on_kvstore = False
    return kv, update_on_kvstore


def initialize_kvstore(kvstore: Any, param_arrays: list, arg_params: dict,
                       param_names: list, update_on_kvstore: bool) -> None:
    """Put every parameter into the store (keyed by name) and, when the store updates
    them, pull the stored value onto the devices."""
    for idx, copies in enumerate(param_arrays):
        name = param_names[idx]
        kvstore.init(name, arg_params[name])
        if update_on_kvstore:
            kvstore.pull(name, copies, priority=-idx)


def update_params_on_kvstore(param_arrays: list, grad_arrays: list, kvstore: Any,
                             param_names: list) -> None:
    """Push each parameter's device gradients (summed and applied by the store's
    optimizer) and pull the updated weights back."""
    for idx, (weights, grads) in enumerate(zip(param_arrays, grad_arrays)):
        if grads[0] is None:
            continue
        name = param_names[idx]
        kvstore.pushpull(name, grads, out=weights, priority=-idx)


def update_params(param_arrays: list, grad_arrays: list, updater: Any, num_device: int,
                  kvstore: Any = None, param_names: Optional[list] = None) -> None:
    """Update on the devices: sum gradients through ``kvstore`` when given, then run
    ``updater(index * num_device + device, grad, weight)`` on every copy."""
    for idx, (weights, grads) in enumerate(zip(param_arrays, grad_arrays)):
        if grads[0] is None:
            continue
        if kvstore is not None:
            kvstore.pushpull(param_names[idx], grads, out=grads, priority=-idx)
        for k, (w, g) in enumerate(zip(weights, grads)):
            updater(idx * num_device + k, g, w)


# ---------------------------------------------------------------------- FeedForward
class FeedForward:
    """The legacy estimator (``mx.model.FeedForward(symbol, ctx=None, num_epoch=None,
    epoch_size=None, optimizer='sgd', initializer=Uniform(0.01), numpy_batch_size=128,
    arg_params=None, aux_params=None, allow_extra_params=False, begin_epoch=0,
    **kwargs)``), run on :class:`mx.mod.Module`. NumPy or NDArray inputs are wrapped in
    ``NDArrayIter`` batches of ``numpy_batch_size``; extra keyword arguments are the
    optimizer's."""

    def __init__(self, symbol: Symbol, ctx: Any = None, num_epoch: Optional[int] = None,
                 epoch_size: Optional[int] = None, optimizer: Any = "sgd",
                 initializer: Any = None, numpy_batch_size: int = 128,
                 arg_params: Optional[dict] = None, aux_params: Optional[dict] = None,
                 allow_extra_params: bool = False, begin_epoch: int = 0, **kwargs: Any):
        from .context import cpu
        from .initializer import Uniform
        self.symbol = symbol
        if ctx is None:
            ctx = [cpu()]
        self.ctx = list(ctx) if isinstance(ctx, (list, tuple)) else [ctx]
        self.num_epoch = num_epoch
        self.epoch_size = epoch_size
        self.optimizer = optimizer
        self.initializer = initializer if initializer is not None else Uniform(0.01)
        self.numpy_batch_size = numpy_batch_size
        self.arg_params = arg_params
        self.aux_params = aux_params
        self.allow_extra_params = allow_extra_params
        self.begin_epoch = begin_epoch
        self.kwargs = dict(kwargs)
        self._pred_module = None

    # ------------------------------------------------------------------ data
    def _init_iter(self, X: Any, y: Any, is_train: bool) -> Any:
        from .io import DataIter, NDArrayIter
        if isinstance(X, DataIter):
            return X
        if isinstance(X, (list, tuple)):
            X = np.asarray(X)
        if not isinstance(X, (np.ndarray, NDArray)):
            raise TypeError("FeedForward: X must be a DataIter, NDArray or numpy array, "
                            "got %s" % type(X).__name__)
        n = X.shape[0]
        if y is None:
            if is_train:
                raise ValueError("FeedForward: y must be given when X is an array")
            y = np.zeros(n, dtype=np.float32)
        if isinstance(y, NDArray):
            y = y.asnumpy()
        y = np.asarray(y)
        if y.shape[0] != n:
            raise ValueError("FeedForward: X has %d samples but y has %d" % (n, y.shape[0]))
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.reshape(-1)
        if y.ndim != 1:
            raise ValueError("FeedForward: y must be 1-D (or (N, 1)), got shape %s"
                             % (y.shape,))
        batch = min(n, self.numpy_batch_size)
        if is_train:
            return NDArrayIter(X, y, batch, shuffle=True, last_batch_handle="roll_over")
        return NDArrayIter(X, y, batch, shuffle=False)

    def _init_eval_iter(self, eval_data: Any) -> Any:
        from .io import DataIter
        if eval_data is None or isinstance(eval_data, DataIter):
            return eval_data
        if isinstance(eval_data, (tuple, list)) and len(eval_data) == 2:
            X, y = eval_data
            if y is None and isinstance(X, DataIter):
                return X
            return self._init_iter(np.asarray(X) if isinstance(X, list) else X,
                                   np.asarray(y) if isinstance(y, list) else y, True)
        raise TypeError("FeedForward: eval_data must be a DataIter or an (X, y) pair")

    def _module(self, data_iter: Any, ctx: Any) -> Any:
        from .module import Module
        label_names = [d.name for d in data_iter.provide_label or ()]
        return Module(self.symbol, data_names=[d.name for d in data_iter.provide_data],
                      label_names=label_names, context=ctx)

    # ------------------------------------------------------------------ training
    def fit(self, X: Any, y: Any = None, eval_data: Any = None, eval_metric: Any = "acc",
            epoch_end_callback: Any = None, batch_end_callback: Any = None,
            kvstore: Any = "local", logger: Any = None, work_load_list: Any = None,
            monitor: Any = None, eval_end_callback: Any = None,
            eval_batch_end_callback: Any = None) -> "FeedForward":
        """Train on ``X`` (a DataIter or an array with labels ``y``) for ``num_epoch``
        epochs; the trained parameters end up in ``arg_params``/``aux_params``."""
        import logging
        from .io import ResizeIter
        if self.num_epoch is None:
            raise MXNetError("FeedForward.fit: num_epoch is required")
        data = self._init_iter(X, y, is_train=True)
        if self.epoch_size is not None:
            data = ResizeIter(data, self.epoch_size)
        eval_iter = self._init_eval_iter(eval_data)
        mod = self._module(data, self.ctx)
        if logger is not None:
            mod.logger = logger
        else:
            mod.logger = logging
        if work_load_list is not None:
            mod._work_load_list = list(work_load_list)
        have = self.arg_params is not None
        mod.fit(data, eval_data=eval_iter, eval_metric=eval_metric,
                epoch_end_callback=epoch_end_callback, batch_end_callback=batch_end_callback,
                kvstore=kvstore, optimizer=self.optimizer, optimizer_params=self.kwargs,
                eval_end_callback=eval_end_callback,
                eval_batch_end_callback=eval_batch_end_callback,
                initializer=self.initializer, arg_params=self.arg_params,
                aux_params=self.aux_params, allow_missing=have,
                begin_epoch=self.begin_epoch, num_epoch=self.num_epoch, monitor=monitor)
        arg, aux = mod.get_params()
        self.arg_params = {k: v.copy() for k, v in arg.items()}
        self.aux_params = {k: v.copy() for k, v in aux.items()}
        self._pred_module = None
        return self

    # ------------------------------------------------------------------ inference
    def _bound_for(self, data_iter: Any) -> Any:
        if self.arg_params is None:
            raise MXNetError("FeedForward: no parameters; call fit or load first")
        shapes = [(d.name, tuple(d.shape)) for d in data_iter.provide_data]
        mod = self._pred_module
        if mod is None or [(d.name, tuple(d.shape)) for d in mod.data_shapes] != shapes:
            mod = self._module(data_iter, self.ctx[0])
            mod.bind(data_iter.provide_data, data_iter.provide_label, for_training=False)
            mod.set_params(self.arg_params, self.aux_params or {},
                           allow_extra=self.allow_extra_params)
            self._pred_module = mod
        return mod

    def predict(self, X: Any, num_batch: Optional[int] = None, return_data: bool = False,
                reset: bool = True) -> Any:
        """Outputs as NumPy arrays (a list when the symbol has several), padding rows
        removed; with ``return_data`` also the data and labels seen."""
        data = self._init_iter(X, None, is_train=False)
        mod = self._bound_for(data)
        outs, datas, labels = [], [], []
        for batch_out, _, batch in mod.iter_predict(data, num_batch=num_batch, reset=reset):
            outs.append([o.asnumpy() for o in batch_out])
            if return_data:
                keep = batch.data[0].shape[0] - (batch.pad or 0)
                datas.append([d.asnumpy()[:keep] for d in batch.data])
                labels.append([lab.asnumpy()[:keep] for lab in batch.label or ()])
        if not outs:
            return []
        merged = [np.concatenate([o[i] for o in outs]) for i in range(len(outs[0]))]
        result = merged[0] if len(merged) == 1 else merged
        if not return_data:
            return result
        d = [np.concatenate([x[i] for x in datas]) for i in range(len(datas[0]))]
        lab = [np.concatenate([x[i] for x in labels]) for i in range(len(labels[0]))] \
            if labels and labels[0] else []
        return (result, d[0] if len(d) == 1 else d,
                (lab[0] if len(lab) == 1 else lab) if lab else None)

    def score(self, X: Any, eval_metric: Any = "acc", num_batch: Optional[int] = None,
              batch_end_callback: Any = None, reset: bool = True) -> float:
        """The value of ``eval_metric`` over ``X`` (a DataIter with labels)."""
        data = self._init_iter(X, None, is_train=False)
        res = self._bound_for(data).score(data, eval_metric, num_batch=num_batch,
                                          batch_end_callback=batch_end_callback, reset=reset)
        return res[0][1]

    # ------------------------------------------------------------------ files
    def save(self, prefix: str, epoch: Optional[int] = None) -> None:
        """Checkpoint to ``prefix-symbol.json`` and ``prefix-%04d.params`` (epoch
        defaults to ``num_epoch``)."""
        if epoch is None:
            epoch = self.num_epoch
        if epoch is None:
            raise MXNetError("FeedForward.save: give an epoch (num_epoch is not set)")
        if self.arg_params is None:
            raise MXNetError("FeedForward.save: no parameters; call fit first")
        save_checkpoint(prefix, epoch, self.symbol, self.arg_params, self.aux_params or {})

    @staticmethod
    def load(prefix: str, epoch: int, ctx: Any = None, **kwargs: Any) -> "FeedForward":
        """A FeedForward from a checkpoint (``FeedForward.load(prefix, epoch, ctx=None,
        **kwargs)``), ready to predict or to continue training from ``epoch``."""
        symbol, arg, aux = load_checkpoint(prefix, epoch)
        return FeedForward(symbol, ctx=ctx, arg_params=arg, aux_params=aux,
                           begin_epoch=epoch, **kwargs)

    @staticmethod
    def create(symbol: Symbol, X: Any, y: Any = None, ctx: Any = None,
               num_epoch: Optional[int] = None, epoch_size: Optional[int] = None,
               optimizer: Any = "sgd", initializer: Any = None, eval_data: Any = None,
               eval_metric: Any = "acc", epoch_end_callback: Any = None,
               batch_end_callback: Any = None, kvstore: Any = "local", logger: Any = None,
               work_load_list: Any = None, eval_end_callback: Any = None,
               eval_batch_end_callback: Any = None, **kwargs: Any) -> "FeedForward":
        """Build a FeedForward and ``fit`` it in one call."""
        model = FeedForward(symbol, ctx=ctx, num_epoch=num_epoch, epoch_size=epoch_size,
                            optimizer=optimizer, initializer=initializer, **kwargs)
        return model.fit(X, y, eval_data=eval_data, eval_metric=eval_metric,
                         epoch_end_callback=epoch_end_callback,
                         batch_end_callback=batch_end_callback, kvstore=kvstore,
                         logger=logger, work_load_list=work_load_list,
                         eval_end_callback=eval_end_callback,
                         eval_batch_end_callback=eval_batch_end_callback)
