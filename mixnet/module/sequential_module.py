"""``SequentialModule``: modules chained so that each one's outputs are the next one's
data; backward runs the chain in reverse through the input gradients."""
from __future__ import annotations

import logging
from typing import Any, Optional

from ..base import MXNetError
from .base_module import BaseModule


class SequentialModule(BaseModule):
    """``mx.mod.SequentialModule(logger=logging)``; build it with
    ``add(module, take_labels=False, auto_wiring=False)``. Modules added with
    ``take_labels`` receive the batch labels (and feed the metric); ``auto_wiring``
    renames the previous module's outputs to this module's data names."""

    META_TAKE_LABELS = "take_labels"
    META_AUTO_WIRING = "auto_wiring"

    def __init__(self, logger: Any = logging):
        super().__init__(logger=logger)
        self._modules: list = []
        self._metas: list = []
        self._label_shapes = None
        self._data_shapes = None

    def add(self, module: BaseModule, **kwargs: Any) -> "SequentialModule":
        """Append ``module`` (returns ``self`` so calls chain)."""
        known = {self.META_TAKE_LABELS, self.META_AUTO_WIRING}
        unknown = set(kwargs) - known
        if unknown:
            raise MXNetError("SequentialModule.add: unknown options %s (known: %s)"
                             % (sorted(unknown), sorted(known)))
        self._modules.append(module)
        self._metas.append(kwargs)
        # a changed chain needs binding and initialising again
        self.binded = self.params_initialized = self.optimizer_initialized = False
        return self

    def _need_modules(self) -> None:
        if not self._modules:
            raise MXNetError("SequentialModule: add modules first")

    # ------------------------------------------------------------------ properties
    @property
    def data_names(self) -> list:
        self._need_modules()
        return self._modules[0].data_names

    @property
    def output_names(self) -> list:
        self._need_modules()
        return self._modules[-1].output_names

    @property
    def data_shapes(self) -> list:
        self._check_bound()
        return self._modules[0].data_shapes

    @property
    def label_shapes(self) -> Optional[list]:
        self._check_bound()
        return self._label_shapes

    @property
    def output_shapes(self) -> list:
        self._check_bound()
        return self._modules[-1].output_shapes

    @property
    def symbol(self) -> Any:
        self._need_modules()
        return self._modules[-1].symbol

    def _check_bound(self) -> None:
        if not self.binded:
            raise MXNetError("SequentialModule: call bind first")

    # ------------------------------------------------------------------ parameters
    def get_params(self) -> tuple:
        """The union of every module's parameters."""
        self._check_bound()
        arg, aux = {}, {}
        for module in self._modules:
            a, x = module.get_params()
            arg.update(a)
            aux.update(x)
        return arg, aux

    def init_params(self, initializer: Any = None, arg_params: Optional[dict] = None,
                    aux_params: Optional[dict] = None, allow_missing: bool = False,
                    force_init: bool = False, allow_extra: bool = False) -> None:
        """Initialise every module; parameter names must be unique across the chain."""
        if self.params_initialized and not force_init:
            return
        self._check_bound()
        seen: dict = {}
        for i, module in enumerate(self._modules):
            module.init_params(initializer=initializer, arg_params=arg_params,
                               aux_params=aux_params, allow_missing=allow_missing,
                               force_init=force_init, allow_extra=True)
            arg, aux = module.get_params()
            for name in list(arg) + list(aux):
                if name in seen:
                    raise MXNetError("SequentialModule: parameter %s is in module %d and "
                                     "module %d; names must be unique" % (name, seen[name], i))
                seen[name] = i
        if not allow_extra:
            extra = sorted((set(arg_params or ()) | set(aux_params or ())) - set(seen))
            if extra:
                raise MXNetError("SequentialModule.init_params: %s are not parameters of "
                                 "any module (pass allow_extra=True to ignore them)" % extra)
        self.params_initialized = True

    # ------------------------------------------------------------------ binding
    def bind(self, data_shapes: Any, label_shapes: Any = None, for_training: bool = True,
             inputs_need_grad: bool = False, force_rebind: bool = False,
             shared_module: Any = None, grad_req: Any = "write") -> None:
        """Bind each module to the previous one's output shapes."""
        if self.binded and not force_rebind:
            self.logger.warning("Already bound, ignoring bind()")
            return
        if shared_module is not None:
            raise MXNetError("SequentialModule.bind: shared_module is not supported")
        self._need_modules()
        self.for_training = for_training
        self.inputs_need_grad = inputs_need_grad
        self._label_shapes = label_shapes
        my_data = data_shapes
        any_labels = False
        for i, (meta, module) in enumerate(zip(self._metas, self._modules)):
            takes = meta.get(self.META_TAKE_LABELS, False)
            any_labels = any_labels or takes
            if meta.get(self.META_AUTO_WIRING, False):
                names = module.data_names
                if len(names) != len(my_data):
                    raise MXNetError("SequentialModule: module %d has %d data inputs, the "
                                     "previous module gives %d outputs"
                                     % (i, len(names), len(my_data)))
                my_data = [(n, tuple(d[1] if isinstance(d, tuple) else d.shape))
                           for n, d in zip(names, my_data)]
            module.bind(data_shapes=my_data, label_shapes=label_shapes if takes else None,
                        for_training=for_training,
                        inputs_need_grad=bool(inputs_need_grad or (for_training and i > 0)),
                        force_rebind=force_rebind, shared_module=None, grad_req=grad_req)
            my_data = module.output_shapes
        if not any_labels:
            self._label_shapes = None
        self.binded = True

    def init_optimizer(self, kvstore: Any = "local", optimizer: Any = "sgd",
                       optimizer_params: Any = (("learning_rate", 0.01),),
                       force_init: bool = False) -> None:
        """Give every module its optimizer."""
        if self.optimizer_initialized and not force_init:
            self.logger.warning("optimizer already initialized, ignoring.")
            return
        for module in self._modules:
            module.init_optimizer(kvstore=kvstore, optimizer=optimizer,
                                  optimizer_params=optimizer_params, force_init=force_init)
        self.optimizer_initialized = True

    # ------------------------------------------------------------------ running
    def forward(self, data_batch: Any, is_train: Optional[bool] = None) -> None:
        """Run the chain forward."""
        from ..io import DataBatch
        self._check_bound()
        batch = data_batch
        for i, module in enumerate(self._modules):
            module.forward(batch, is_train=is_train)
            if i + 1 == len(self._modules):
                break
            outs = module.get_outputs()
            names = self._modules[i + 1].data_names
            batch = DataBatch(data=outs, label=data_batch.label, pad=data_batch.pad,
                              index=data_batch.index,
                              provide_data=[(n, tuple(o.shape)) for n, o in zip(names, outs)],
                              provide_label=data_batch.provide_label)

    def backward(self, out_grads: Any = None) -> None:
        """Run the chain backward through each module's input gradients."""
        self._check_bound()
        for i in reversed(range(len(self._modules))):
            module = self._modules[i]
            module.backward(out_grads=out_grads)
            if i == 0:
                break
            out_grads = module.get_input_grads()

    def update(self) -> None:
        for module in self._modules:
            module.update()

    def get_outputs(self, merge_multi_context: bool = True) -> list:
        self._check_bound()
        return self._modules[-1].get_outputs(merge_multi_context=merge_multi_context)

    def get_input_grads(self, merge_multi_context: bool = True) -> list:
        self._check_bound()
        return self._modules[0].get_input_grads(merge_multi_context=merge_multi_context)

    def update_metric(self, eval_metric: Any, labels: Any, pre_sliced: bool = False) -> None:
        """Feed the metric from every module that takes labels."""
        for meta, module in zip(self._metas, self._modules):
            if meta.get(self.META_TAKE_LABELS, False):
                module.update_metric(eval_metric, labels, pre_sliced)

    def install_monitor(self, mon: Any) -> None:
        for module in self._modules:
            module.install_monitor(mon)
