"""``BucketingModule``: one Module per bucket key (e.g. a sequence length), all sharing
the default bucket's parameters, optimizer and executor memory."""
from __future__ import annotations

import logging
from typing import Any, Callable, Optional, Sequence

from ..base import MXNetError
from .. import model as _model
from .base_module import BaseModule
from .module import Module


class BucketingModule(BaseModule):
    """``mx.mod.BucketingModule(sym_gen, default_bucket_key=None, logger=logging,
    context=cpu(), work_load_list=None, fixed_param_names=None, state_names=None,
    group2ctxs=None, compression_params=None)``.

    ``sym_gen(bucket_key)`` returns ``(symbol, data_names, label_names)``. Binding makes
    the default bucket's module; a batch with another ``bucket_key`` binds that bucket on
    first sight, sharing the default module's parameters and memory, and switches to it."""

    def __init__(self, sym_gen: Callable, default_bucket_key: Any = None,
                 logger: Any = logging, context: Any = None,
                 work_load_list: Optional[Sequence[float]] = None,
                 fixed_param_names: Optional[Sequence[str]] = None,
                 state_names: Optional[Sequence[str]] = None, group2ctxs: Any = None,
                 compression_params: Optional[dict] = None):
        super().__init__(logger=logger)
        if default_bucket_key is None:
            raise MXNetError("BucketingModule: default_bucket_key is required")
        self._sym_gen = sym_gen
        self._default_bucket_key = default_bucket_key
        self._module_kwargs = dict(logger=logger, context=context,
                                   work_load_list=work_load_list,
                                   fixed_param_names=fixed_param_names,
                                   state_names=state_names, group2ctxs=group2ctxs,
                                   compression_params=compression_params)
        symbol, data_names, label_names = self._generate(default_bucket_key)
        self._default_names = (list(data_names), list(label_names or ()),
                               symbol.list_outputs())
        self._buckets: dict = {}
        self._curr_module: Optional[Module] = None
        self._curr_bucket_key = None
        self._params_dirty = False
        self._monitor = None
        self._grad_req = "write"
        self._pending_params: Optional[tuple] = None  # from load(), set at bind

    def _generate(self, key: Any) -> tuple:
        out = self._sym_gen(key)
        if not (isinstance(out, tuple) and len(out) == 3):
            raise MXNetError("BucketingModule: sym_gen(%r) must return (symbol, data_names, "
                             "label_names)" % (key,))
        return out

    def _new_module(self, key: Any) -> Module:
        symbol, data_names, label_names = self._generate(key)
        return Module(symbol, data_names, label_names, **self._module_kwargs)

    # ------------------------------------------------------------------ properties
    @property
    def default_bucket_key(self) -> Any:
        return self._default_bucket_key

    @property
    def data_names(self) -> list:
        return self._curr_module.data_names if self.binded else self._default_names[0]

    @property
    def output_names(self) -> list:
        return self._curr_module.output_names if self.binded else self._default_names[2]

    @property
    def data_shapes(self) -> list:
        return self._bound().data_shapes

    @property
    def label_shapes(self) -> Optional[list]:
        return self._bound().label_shapes

    @property
    def output_shapes(self) -> list:
        return self._bound().output_shapes

    @property
    def symbol(self) -> Any:
        return self._bound().symbol

    def _bound(self) -> Module:
        if not self.binded:
            raise MXNetError("BucketingModule: call bind first")
        return self._curr_module

    # ------------------------------------------------------------------ binding
    def bind(self, data_shapes: Any, label_shapes: Any = None, for_training: bool = True,
             inputs_need_grad: bool = False, force_rebind: bool = False,
             shared_module: Any = None, grad_req: Any = "write") -> None:
        """Bind the default bucket (the shapes are the default bucket's)."""
        pending = self.get_params() if self.params_initialized else self._pending_params
        if force_rebind:
            self.binded = False
            self._buckets = {}
            self._curr_module = None
        if self.binded:
            self.logger.warning("Already bound, ignoring bind()")
            return
        if shared_module is not None:
            raise MXNetError("BucketingModule.bind: shared_module is not supported")
        self.for_training = for_training
        self.inputs_need_grad = inputs_need_grad
        self._grad_req = grad_req
        module = self._new_module(self._default_bucket_key)
        module.bind(data_shapes, label_shapes, for_training, inputs_need_grad,
                    force_rebind=False, shared_module=None, grad_req=grad_req)
        self._curr_module = module
        self._curr_bucket_key = self._default_bucket_key
        self._buckets[self._default_bucket_key] = module
        self.binded = True
        if pending is not None:
            self.set_params(*pending)
            self._pending_params = None

    def switch_bucket(self, bucket_key: Any, data_shapes: Any, label_shapes: Any = None) -> None:
        """Make ``bucket_key`` current, binding it (sharing the default bucket) if new."""
        if not self.binded:
            raise MXNetError("BucketingModule.switch_bucket: call bind first")
        if bucket_key not in self._buckets:
            default = self._buckets[self._default_bucket_key]
            module = self._new_module(bucket_key)
            module.bind(data_shapes, label_shapes, self.for_training, self.inputs_need_grad,
                        force_rebind=False, shared_module=default, grad_req=self._grad_req)
            if self._monitor is not None:
                module.install_monitor(self._monitor)
            if self.optimizer_initialized:
                module.borrow_optimizer(default)
            self._buckets[bucket_key] = module
        else:
            module = self._buckets[bucket_key]
            bound = [tuple(d.shape) for d in module.data_shapes]
            given = [tuple(d[1]) if isinstance(d, tuple) else tuple(d.shape)
                     for d in data_shapes]
            if bound != given:
                module.reshape(data_shapes, label_shapes)
        self._curr_module = module
        self._curr_bucket_key = bucket_key

    # ------------------------------------------------------------------ parameters
    def init_params(self, initializer: Any = None, arg_params: Optional[dict] = None,
                    aux_params: Optional[dict] = None, allow_missing: bool = False,
                    force_init: bool = False, allow_extra: bool = False) -> None:
        """Initialise the (shared) parameters through the current module."""
        if self.params_initialized and not force_init:
            return
        self._bound().init_params(initializer=initializer, arg_params=arg_params,
                                  aux_params=aux_params, allow_missing=allow_missing,
                                  force_init=force_init, allow_extra=allow_extra)
        self._params_dirty = False
        self.params_initialized = True

    def get_params(self) -> tuple:
        """``(arg_params, aux_params)`` of the shared parameters."""
        module = self._bound()
        module._params_dirty = module._params_dirty or self._params_dirty
        params = module.get_params()
        self._params_dirty = False
        return params

    def set_params(self, arg_params: dict, aux_params: dict, allow_missing: bool = False,
                   force_init: bool = True, allow_extra: bool = False) -> None:
        """Assign the shared parameters."""
        if not allow_missing:
            self.init_params(initializer=None, arg_params=arg_params, aux_params=aux_params,
                             allow_missing=allow_missing, force_init=force_init,
                             allow_extra=allow_extra)
            return
        self._bound().set_params(arg_params, aux_params, allow_missing=allow_missing,
                                 force_init=force_init, allow_extra=allow_extra)
        self._params_dirty = True
        self.params_initialized = True

    def init_optimizer(self, kvstore: Any = "local", optimizer: Any = "sgd",
                       optimizer_params: Any = (("learning_rate", 0.01),),
                       force_init: bool = False) -> None:
        """Create the optimizer on the current module; every bucket borrows it."""
        if self.optimizer_initialized and not force_init:
            self.logger.warning("optimizer already initialized, ignoring.")
            return
        self._bound().init_optimizer(kvstore, optimizer, optimizer_params,
                                     force_init=force_init)
        for module in self._buckets.values():
            if module is not self._curr_module:
                module.borrow_optimizer(self._curr_module)
        self.optimizer_initialized = True

    # ------------------------------------------------------------------ running
    def prepare(self, data_batch: Any, sparse_row_id_fn: Any = None) -> None:
        """Bind the batch's bucket ahead of its forward."""
        self._switch_for(data_batch)

    def _switch_for(self, data_batch: Any) -> None:
        key = getattr(data_batch, "bucket_key", None)
        if key is None:
            key = self._curr_bucket_key
        data = data_batch.provide_data or [
            (d.name, tuple(x.shape)) for d, x in zip(self._curr_module.data_shapes,
                                                     data_batch.data)]
        label = data_batch.provide_label
        if label is None and data_batch.label and self._curr_module.label_shapes:
            label = [(d.name, tuple(x.shape)) for d, x in
                     zip(self._curr_module.label_shapes, data_batch.label)]
        self.switch_bucket(key, data, label)

    def forward(self, data_batch: Any, is_train: Optional[bool] = None) -> None:
        """Switch to the batch's bucket and run its forward."""
        self._bound()
        self._switch_for(data_batch)
        self._curr_module.forward(data_batch, is_train=is_train)

    def backward(self, out_grads: Any = None) -> None:
        self._bound().backward(out_grads=out_grads)

    def update(self) -> None:
        """Apply the optimizer (parameters are shared, so every bucket sees it)."""
        self._params_dirty = True
        self._bound().update()

    def get_outputs(self, merge_multi_context: bool = True) -> list:
        return self._bound().get_outputs(merge_multi_context=merge_multi_context)

    def get_input_grads(self, merge_multi_context: bool = True) -> list:
        return self._bound().get_input_grads(merge_multi_context=merge_multi_context)

    def get_states(self, merge_multi_context: bool = True) -> list:
        return self._bound().get_states(merge_multi_context=merge_multi_context)

    def set_states(self, states: Any = None, value: Any = None) -> None:
        self._bound().set_states(states, value)

    def update_metric(self, eval_metric: Any, labels: Any, pre_sliced: bool = False) -> None:
        self._bound().update_metric(eval_metric, labels, pre_sliced)

    def install_monitor(self, mon: Any) -> None:
        """Attach a ``Monitor`` to every bucket, present and future."""
        self._monitor = mon
        for module in self._buckets.values():
            module.install_monitor(mon)

    # ------------------------------------------------------------------ checkpoints
    def save_checkpoint(self, prefix: str, epoch: int, remove_amp_cast: bool = False) -> None:
        """Write the default bucket's symbol and the shared parameters."""
        default = self._buckets.get(self._default_bucket_key) if self.binded else None
        if default is None:
            raise MXNetError("BucketingModule.save_checkpoint: call bind first")
        arg, aux = self.get_params()
        _model.save_checkpoint(prefix, epoch, default.symbol, arg, aux)

    @staticmethod
    def load(prefix: str, epoch: int, sym_gen: Callable, default_bucket_key: Any,
             **kwargs: Any) -> "BucketingModule":
        """A BucketingModule whose parameters come from ``prefix-%04d.params``; they are
        set when it is bound (``BucketingModule.load(prefix, epoch, sym_gen,
        default_bucket_key, **kwargs)``)."""
        arg, aux = _model.load_params(prefix, epoch)
        mod = BucketingModule(sym_gen, default_bucket_key, **kwargs)
        mod._pending_params = (arg, aux)
        return mod
