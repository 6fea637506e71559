"""``Module``: a Symbol bound to data shapes over one or more devices, with its
parameters, optimizer and (for several devices) a KVStore.

The lifecycle is MXNet's (api-map §4.1): ``bind`` → ``init_params`` → ``init_optimizer``
→ ``forward``/``backward``/``update``. The module keeps CPU master copies of the
parameters (``get_params``); the executors hold the working copies.
"""
from __future__ import annotations

import logging
import warnings
from typing import Any, Optional, Sequence

from ..base import MXNetError
from ..context import Context, cpu
from ..ndarray import zeros as _nd_zeros
from .. import model as _model
from .base_module import BaseModule, parse_data_desc
from .executor_group import DataParallelExecutorGroup


def _contexts(context: Any) -> list:
    ctxs = list(context) if isinstance(context, (list, tuple)) else [context]
    if not ctxs:
        raise MXNetError("Module: context must name at least one device")
    for c in ctxs:
        if not isinstance(c, Context):
            raise MXNetError("Module: context entries must be mx.Context, got %r" % (c,))
    return ctxs


class Module(BaseModule):
    """``mx.mod.Module(symbol, data_names=('data',), label_names=('softmax_label',),
    logger=logging, context=cpu(), work_load_list=None, fixed_param_names=None,
    state_names=None, group2ctxs=None, compression_params=None)``.

    Parameters are the symbol's arguments that are not data, label or state names;
    ``fixed_param_names`` are not trained. A list of contexts trains data-parallel: each
    device gets a slice of every batch and the gradients are summed through the
    KVStore."""

    def __init__(self, symbol: Any, data_names: Sequence[str] = ("data",),
                 label_names: Optional[Sequence[str]] = ("softmax_label",),
                 logger: Any = logging, context: Any = None,
                 work_load_list: Optional[Sequence[float]] = None,
                 fixed_param_names: Optional[Sequence[str]] = None,
                 state_names: Optional[Sequence[str]] = None, group2ctxs: Any = None,
                 compression_params: Optional[dict] = None):
        super().__init__(logger=logger)
        self._context = _contexts(cpu() if context is None else context)
        if work_load_list is None:
            work_load_list = [1] * len(self._context)
        if len(work_load_list) != len(self._context):
            raise MXNetError("Module: work_load_list has %d entries for %d contexts"
                             % (len(work_load_list), len(self._context)))
        self._work_load_list = list(work_load_list)
        self._symbol = symbol
        self._data_names = list(data_names or ())
        self._label_names = list(label_names or ())
        self._state_names = list(state_names or ())
        self._fixed_param_names = list(fixed_param_names or ())
        self._compression_params = compression_params
        args = symbol.list_arguments()
        for what, names, must in (("data", self._data_names, True),
                                  ("state", self._state_names, True),
                                  ("fixed_param", self._fixed_param_names, True),
                                  ("label", self._label_names, False)):
            missing = [n for n in names if n not in args]
            if missing and must:
                raise ValueError("Module: %s names %s are not arguments of the symbol "
                                 "(arguments: %s)" % (what, missing, args))
            if missing:
                warnings.warn("Module: label names %s are not arguments of the symbol; "
                              "it is used for prediction only" % missing)
        inputs = set(self._data_names) | set(self._label_names) | set(self._state_names)
        self._param_names = [n for n in args if n not in inputs]
        self._aux_names = symbol.list_auxiliary_states()
        self._output_names = symbol.list_outputs()
        self._arg_params: Optional[dict] = None
        self._aux_params: Optional[dict] = None
        self._params_dirty = False
        self._optimizer = None
        self._kvstore = None
        self._update_on_kvstore = None
        self._updater = None
        self._preload_opt_states: Optional[str] = None
        self._grad_req = None
        self._exec_group: Optional[DataParallelExecutorGroup] = None
        self._data_shapes = self._label_shapes = None

    # ------------------------------------------------------------------ checkpoints
    @staticmethod
    def load(prefix: str, epoch: int, load_optimizer_states: bool = False,
             **kwargs: Any) -> "Module":
        """``Module.load(prefix, epoch, load_optimizer_states=False, **kwargs)``: a
        module built from a checkpoint; its parameters count as initialised and the
        optimizer states (``prefix-%04d.states``) load at ``init_optimizer``."""
        sym, args, auxs = _model.load_checkpoint(prefix, epoch)
        mod = Module(symbol=sym, **kwargs)
        mod._arg_params = args
        mod._aux_params = auxs
        mod.params_initialized = True
        if load_optimizer_states:
            mod._preload_opt_states = "%s-%04d.states" % (prefix, epoch)
        return mod

    def save_checkpoint(self, prefix: str, epoch: int, save_optimizer_states: bool = False,
                        remove_amp_cast: bool = True) -> None:
        """Write ``prefix-symbol.json``, ``prefix-%04d.params`` and, when asked,
        ``prefix-%04d.states``."""
        self._symbol.save("%s-symbol.json" % prefix, remove_amp_cast=remove_amp_cast)
        self.save_params("%s-%04d.params" % (prefix, epoch))
        if save_optimizer_states:
            self.save_optimizer_states("%s-%04d.states" % (prefix, epoch))

    # ------------------------------------------------------------------ properties
    @property
    def data_names(self) -> list:
        return self._data_names

    @property
    def label_names(self) -> list:
        return self._label_names

    @property
    def output_names(self) -> list:
        return self._output_names

    @property
    def data_shapes(self) -> list:
        self._need("binded", "data_shapes")
        return self._data_shapes

    @property
    def label_shapes(self) -> Optional[list]:
        self._need("binded", "label_shapes")
        return self._label_shapes

    @property
    def output_shapes(self) -> list:
        self._need("binded", "output_shapes")
        outs = self._exec_group.get_outputs(merge_multi_context=True)
        return list(zip(self._output_names, [tuple(o.shape) for o in outs]))

    def _need(self, flag: str, what: str) -> None:
        if not getattr(self, flag):
            step = {"binded": "bind", "params_initialized": "init_params",
                    "optimizer_initialized": "init_optimizer"}[flag]
            raise MXNetError("Module.%s: call %s first" % (what, step))

    # ------------------------------------------------------------------ parameters
    def get_params(self) -> tuple:
        """``(arg_params, aux_params)``: CPU copies, averaged over the devices."""
        self._need("binded", "get_params")
        self._need("params_initialized", "get_params")
        if self._params_dirty:
            self._exec_group.get_params(self._arg_params, self._aux_params)
            self._params_dirty = False
        return self._arg_params, self._aux_params

    def init_params(self, initializer: Any = None, arg_params: Optional[dict] = None,
                    aux_params: Optional[dict] = None, allow_missing: bool = False,
                    force_init: bool = False, allow_extra: bool = False) -> None:
        """``init_params(initializer=Uniform(0.01), arg_params=None, aux_params=None,
        allow_missing=False, force_init=False, allow_extra=False)``: copy the given
        parameters, initialise the rest (sorted by name, each with its symbol
        attributes, so ``__init__`` attrs apply), and load them onto the devices."""
        from ..initializer import InitDesc, Uniform
        if self.params_initialized and not force_init:
            warnings.warn("Module.init_params: parameters already initialized; pass "
                          "force_init=True to re-initialize", stacklevel=2)
            return
        self._need("binded", "init_params")
        if initializer is None and arg_params is None and aux_params is None:
            initializer = Uniform(0.01)
        if self._arg_params is None:
            self._arg_params = {n: _nd_zeros(a[0].shape, dtype=a[0].dtype)
                                for n, a in zip(self._param_names,
                                                self._exec_group.param_arrays)}
        if self._aux_params is None:
            self._aux_params = {n: _nd_zeros(a[0].shape, dtype=a[0].dtype)
                                for n, a in zip(self._aux_names, self._exec_group.aux_arrays)}
        attrs = self._symbol.attr_dict()

        def fill(name: str, arr: Any, given: Optional[dict], what: str) -> None:
            if given is not None and name in given:
                src = given[name]
                if tuple(src.shape) != tuple(arr.shape):
                    raise MXNetError("Module.init_params: %s %s has shape %s in the given "
                                     "parameters, the symbol needs %s"
                                     % (what, name, tuple(src.shape), tuple(arr.shape)))
                if src is not arr:
                    src.astype(arr.dtype).copyto(arr) if src.dtype != arr.dtype \
                        else src.copyto(arr)
                return
            if given is not None and not allow_missing:
                raise MXNetError("Module.init_params: %s %s is not in the given "
                                 "parameters (pass allow_missing=True to initialise it)"
                                 % (what, name))
            if initializer is not None:
                initializer(InitDesc(name, attrs.get(name)), arr)

        for name in sorted(self._arg_params):
            fill(name, self._arg_params[name], arg_params, "argument")
        for name in sorted(self._aux_params):
            fill(name, self._aux_params[name], aux_params, "auxiliary state")
        if not allow_extra:
            for given, known, what in ((arg_params, self._arg_params, "arguments"),
                                       (aux_params, self._aux_params, "auxiliary states")):
                extra = sorted(set(given or ()) - set(known))
                if extra:
                    raise MXNetError("Module.init_params: %s are not %s of the symbol "
                                     "(pass allow_extra=True to ignore them)" % (extra, what))
        self.params_initialized = True
        self._params_dirty = False
        self._exec_group.set_params(self._arg_params, self._aux_params,
                                    allow_extra=allow_extra)

    def set_params(self, arg_params: dict, aux_params: dict, allow_missing: bool = False,
                   force_init: bool = True, allow_extra: bool = False) -> None:
        """Assign parameter values (``set_params(arg_params, aux_params,
        allow_missing=False, force_init=True, allow_extra=False)``)."""
        if not allow_missing:
            self.init_params(initializer=None, arg_params=arg_params,
                             aux_params=aux_params, allow_missing=allow_missing,
                             force_init=force_init, allow_extra=allow_extra)
            return
        if self.params_initialized and not force_init:
            warnings.warn("Module.set_params: parameters already initialized; pass "
                          "force_init=True to overwrite", stacklevel=2)
            return
        self._exec_group.set_params(arg_params, aux_params, allow_extra=allow_extra)
        self._params_dirty = True
        self.params_initialized = True

    # ------------------------------------------------------------------ binding
    def bind(self, data_shapes: Any, label_shapes: Any = None, for_training: bool = True,
             inputs_need_grad: bool = False, force_rebind: bool = False,
             shared_module: Optional["Module"] = None, grad_req: Any = "write") -> None:
        """``bind(data_shapes, label_shapes=None, for_training=True,
        inputs_need_grad=False, force_rebind=False, shared_module=None,
        grad_req='write')``: allocate one executor per context for these shapes
        (``DataDesc``s or ``(name, shape)`` pairs). With ``shared_module`` the
        parameters and memory are that module's (BucketingModule)."""
        if force_rebind:
            self._reset_bind()
        if self.binded:
            self.logger.warning("Already bound, ignoring bind()")
            return
        self.for_training = for_training
        self.inputs_need_grad = inputs_need_grad
        self._grad_req = grad_req
        if not for_training and inputs_need_grad:
            raise MXNetError("Module.bind: inputs_need_grad needs for_training=True")
        self._data_shapes, self._label_shapes = parse_data_desc(
            self._data_names, self._label_names, data_shapes, label_shapes)
        shared_group = None
        if shared_module is not None:
            if not (shared_module.binded and shared_module.params_initialized):
                raise MXNetError("Module.bind: shared_module must be bound and initialised")
            shared_group = shared_module._exec_group
            if len(shared_group.execs) != len(self._context):
                raise MXNetError("Module.bind: shared_module runs on %d devices, this "
                                 "module on %d" % (len(shared_group.execs), len(self._context)))
        self._exec_group = DataParallelExecutorGroup(
            self._symbol, self._context, self._work_load_list, self._data_shapes,
            self._label_shapes, self._param_names, for_training, inputs_need_grad,
            shared_group, fixed_param_names=self._fixed_param_names, grad_req=grad_req,
            state_names=self._state_names)
        self.binded = True
        if shared_module is not None:
            self.params_initialized = True
            self._arg_params = shared_module._arg_params
            self._aux_params = shared_module._aux_params
        elif self.params_initialized:
            # parameters that exist already (Module.load, an earlier bind) go to the devices
            self._exec_group.set_params(self._arg_params, self._aux_params)

    def _reset_bind(self) -> None:
        self.binded = False
        self._exec_group = None
        self._data_shapes = self._label_shapes = None

    def reshape(self, data_shapes: Any, label_shapes: Any = None) -> None:
        """Re-shape the executors for new input shapes (e.g. another batch size),
        keeping parameters and optimizer."""
        self._need("binded", "reshape")
        data, label = parse_data_desc(self._data_names, self._label_names, data_shapes,
                                      label_shapes)
        self._exec_group.reshape(data, label)
        self._data_shapes, self._label_shapes = data, label

    # ------------------------------------------------------------------ optimizer
    def init_optimizer(self, kvstore: Any = "local", optimizer: Any = "sgd",
                       optimizer_params: Any = (("learning_rate", 0.01),),
                       force_init: bool = False) -> None:
        """``init_optimizer(kvstore='local', optimizer='sgd',
        optimizer_params=(('learning_rate', 0.01),), force_init=False)``: create the
        optimizer (``rescale_grad`` 1/batch size unless given; names from the symbol so
        ``__lr_mult__``/``__wd_mult__`` and the ``_weight``/``_gamma`` weight-decay rule
        apply) and the KVStore when one is needed."""
        from .. import optimizer as _opt
        self._need("binded", "init_optimizer")
        self._need("params_initialized", "init_optimizer")
        if self.optimizer_initialized and not force_init:
            self.logger.warning("optimizer already initialized, ignoring...")
            return
        if self._params_dirty:
            self.get_params()
        kv, update_on_kvstore = _model.create_kvstore(kvstore, len(self._context),
                                                      self._arg_params)
        batch_size = self._exec_group.batch_size
        if kv is not None and "dist" in kv.type and "_sync" in kv.type:
            batch_size *= kv.num_workers
        rescale_grad = 1.0 / batch_size
        n_dev = len(self._context)
        if update_on_kvstore:
            idx2name = dict(enumerate(self._param_names))
        else:
            idx2name = {i * n_dev + k: n for i, n in enumerate(self._param_names)
                        for k in range(n_dev)}
        if isinstance(optimizer, str):
            params = dict(optimizer_params)
            params.setdefault("rescale_grad", rescale_grad)
            optimizer = _opt.create(optimizer, sym=self._symbol, param_idx2name=idx2name,
                                    **params)
        elif isinstance(optimizer, _opt.Optimizer):
            if optimizer.rescale_grad != rescale_grad:
                warnings.warn("Optimizer created manually outside Module but rescale_grad "
                              "is not normalized to 1.0/batch_size/num_workers (%s vs. %s). "
                              "Is this intended?" % (optimizer.rescale_grad, rescale_grad),
                              stacklevel=2)
            if not optimizer.idx2name:
                optimizer.idx2name = idx2name.copy()
        else:
            raise MXNetError("Module.init_optimizer: optimizer must be a name or an "
                             "mx.optimizer.Optimizer, got %r" % (optimizer,))
        self._optimizer = optimizer
        self._kvstore = kv
        self._update_on_kvstore = update_on_kvstore
        self._updater = None
        if kv is not None:
            _model.initialize_kvstore(kv, self._exec_group.param_arrays, self._arg_params,
                                      self._param_names, update_on_kvstore)
            if update_on_kvstore:
                kv.set_optimizer(self._optimizer)
        if not update_on_kvstore:
            self._updater = _opt.get_updater(optimizer)
        self.optimizer_initialized = True
        if self._preload_opt_states is not None:
            self.load_optimizer_states(self._preload_opt_states)
            self._preload_opt_states = None

    def borrow_optimizer(self, shared_module: "Module") -> None:
        """Use ``shared_module``'s optimizer, updater and KVStore (BucketingModule)."""
        shared_module._need("optimizer_initialized", "borrow_optimizer")
        self._optimizer = shared_module._optimizer
        self._kvstore = shared_module._kvstore
        self._update_on_kvstore = shared_module._update_on_kvstore
        self._updater = shared_module._updater
        self.optimizer_initialized = True

    def save_optimizer_states(self, fname: str) -> None:
        """Write the optimizer states (MXNet's ``.states`` pickle)."""
        from ..fileutil import atomic_write
        self._need("optimizer_initialized", "save_optimizer_states")
        if self._update_on_kvstore:
            self._kvstore.save_optimizer_states(fname)
        else:
            atomic_write(fname, self._updater.get_states())

    def load_optimizer_states(self, fname: str) -> None:
        """Read optimizer states written by :meth:`save_optimizer_states`."""
        self._need("optimizer_initialized", "load_optimizer_states")
        if self._update_on_kvstore:
            self._kvstore.load_optimizer_states(fname)
        else:
            with open(fname, "rb") as f:
                self._updater.set_states(f.read())

    # ------------------------------------------------------------------ running
    def _batch_shapes(self, data_batch: Any) -> tuple:
        from ..io import DataDesc
        provide_data = getattr(data_batch, "provide_data", None)
        provide_label = getattr(data_batch, "provide_label", None)
        if provide_data:
            data = list(provide_data)
        else:
            data = [DataDesc(d.name, tuple(x.shape), layout=d.layout)
                    for d, x in zip(self._data_shapes, data_batch.data)]
        labels = data_batch.label
        if self._label_shapes is None:
            label = None
        elif provide_label:
            label = list(provide_label)
        elif labels:
            label = [DataDesc(d.name, tuple(x.shape), layout=d.layout)
                     for d, x in zip(self._label_shapes, labels)]
        else:
            label = None
        return data, label

    def forward(self, data_batch: Any, is_train: Optional[bool] = None) -> None:
        """Run forward on ``data_batch`` (``is_train=None`` means as bound). A batch
        whose shapes differ from the bound ones re-shapes the executors first."""
        self._need("binded", "forward")
        self._need("params_initialized", "forward")
        if len(data_batch.data) != len(self._data_names):
            raise MXNetError("Module.forward: the batch has %d data arrays, the module is "
                             "bound with %d (%s)" % (len(data_batch.data),
                                                     len(self._data_names),
                                                     ", ".join(self._data_names)))
        got = [tuple(x.shape) for x in data_batch.data]
        bound = [tuple(d.shape) for d in self._data_shapes]
        if got != bound:
            data, label = self._batch_shapes(data_batch)
            if [d.name for d in data] != self._data_names or \
                    [tuple(d.shape) for d in data] != got:
                raise MXNetError(
                    "Module.forward: the batch's data shapes %s do not match its "
                    "provide_data %s" % (got, [(d.name, tuple(d.shape)) for d in data]))
            try:
                self.reshape(data, label if label is not None
                             else self._label_shapes_matching(got))
            except MXNetError as e:
                raise MXNetError(
                    "Module.forward: batch data %s does not fit the symbol bound with %s: %s"
                    % (", ".join("%s%s" % (n, g) for n, g in zip(self._data_names, got)),
                       ", ".join("%s%s" % (d.name, tuple(d.shape))
                                 for d in self._data_shapes), e)) from None
        self._exec_group.forward(data_batch, is_train)
        if is_train or (is_train is None and self.for_training):
            self._params_dirty = True

    def _label_shapes_matching(self, got: tuple) -> Optional[list]:
        if self._label_shapes is None:
            return None
        bs = got[0][0]
        return [(d.name, (bs,) + tuple(d.shape[1:])) for d in self._label_shapes]

    def backward(self, out_grads: Any = None) -> None:
        """Run backward; ``out_grads`` are needed unless the outputs are loss layers."""
        self._need("binded", "backward")
        self._need("params_initialized", "backward")
        if out_grads is not None and not isinstance(out_grads, (list, tuple)):
            out_grads = [out_grads]
        self._exec_group.backward(out_grads=out_grads)

    def update(self) -> None:
        """Apply the optimizer to every parameter (through the KVStore when there is
        one)."""
        self._need("binded", "update")
        self._need("params_initialized", "update")
        self._need("optimizer_initialized", "update")
        self._params_dirty = True
        group = self._exec_group
        if self._update_on_kvstore:
            _model.update_params_on_kvstore(group.param_arrays, group.grad_arrays,
                                            self._kvstore, self._param_names)
        else:
            _model.update_params(group.param_arrays, group.grad_arrays, self._updater,
                                 len(self._context), self._kvstore, self._param_names)

    def get_outputs(self, merge_multi_context: bool = True) -> list:
        """The outputs of the last forward."""
        self._need("binded", "get_outputs")
        self._need("params_initialized", "get_outputs")
        return self._exec_group.get_outputs(merge_multi_context=merge_multi_context)

    def get_input_grads(self, merge_multi_context: bool = True) -> list:
        """Gradients of the data inputs (bind with ``inputs_need_grad=True``)."""
        self._need("binded", "get_input_grads")
        return self._exec_group.get_input_grads(merge_multi_context=merge_multi_context)

    def get_states(self, merge_multi_context: bool = True) -> list:
        """The state inputs (``state_names``)."""
        self._need("binded", "get_states")
        return self._exec_group.get_states(merge_multi_context=merge_multi_context)

    def set_states(self, states: Any = None, value: Any = None) -> None:
        """Set the state inputs from arrays or to a scalar ``value``."""
        self._need("binded", "set_states")
        self._exec_group.set_states(states, value)

    def update_metric(self, eval_metric: Any, labels: Any, pre_sliced: bool = False) -> None:
        """Accumulate ``eval_metric`` over the last outputs and ``labels``."""
        self._exec_group.update_metric(eval_metric, labels, pre_sliced)

    def install_monitor(self, mon: Any) -> None:
        """Attach a ``Monitor`` to the executors."""
        self._need("binded", "install_monitor")
        self._exec_group.install_monitor(mon)
