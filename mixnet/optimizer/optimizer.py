"""The optimizer base class, its registry, and the ``Updater`` that keeps optimizer states.

MXNet 1.9.1 conventions kept:

* An optimizer turns ``(index, weight, grad, state)`` into an in-place weight update. The
  built-in optimizers call the fused update operators (``sgd_update``, ``adam_update`` ...)
  with ``out=weight`` where MXNet does, and NDArray arithmetic where MXNet's optimizer is
  written in Python; either way nothing leaves the device during an update.
* ``update`` takes one index/weight/grad/state or lists of them (MXNet's aggregated form,
  which the ``Updater`` uses for optimizers with ``aggregate_num > 0``).
* Per-parameter learning rate and weight decay: ``param_dict[i].lr_mult`` (Gluon) wins,
  then ``lr_mult[i]`` by index, then ``lr_mult[name]`` by name through ``idx2name``. When
  names are known, every name not ending in ``_weight``/``_gamma`` gets ``wd_mult`` 0;
  the symbol attributes ``__lr_mult__``/``__wd_mult__`` and explicit ``set_*_mult``
  dictionaries override that.
* ``num_update`` is the largest per-index update count (counts start at
  ``begin_num_update``); a learning-rate scheduler is called with it.
* ``multi_precision=True`` with float16 weights keeps a float32 master copy; the generic
  state is ``(master, inner_state)`` (SGD, NAG and LARS use ``(inner_state, master)`` and
  the ``mp_*`` operators, exactly as MXNet does).
* Optimizers pickle (``param_dict`` is dropped, as in MXNet); ``Updater.get_states``
  returns ``pickle.dumps(states)`` or ``pickle.dumps((states, optimizer))``.
"""
from __future__ import annotations

import functools
import inspect
import pickle
import warnings
from typing import Callable, Dict

import numpy

from ..base import MXNetError
from .. import registry as _registry
from ..ndarray import NDArray, cast, clip, zeros

__all__ = ["Optimizer", "Updater", "Test", "create", "register", "get_updater"]


class OptimizerNameError(MXNetError, ValueError):
    """Unknown optimizer name (a ``ValueError`` too, the type MXNet raises)."""


class OptimizerArgumentError(MXNetError, TypeError):
    """Unknown constructor keyword (a ``TypeError`` too, the type Python raises)."""


def _flatten_list(nested):
    """``[(w0, g0), (w1, g1)]`` -> ``[w0, g0, w1, g1]``: the interleaved operand order of
    the fused multi-weight update operators."""
    return [item for group in nested for item in group]


def _accepted_arguments(cls: type) -> list:
    """Every keyword the constructors along ``cls``'s MRO name explicitly."""
    names: list = []
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        for p in inspect.signature(init).parameters.values():
            if p.name != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) \
                    and p.name not in names:
                names.append(p.name)
    return names


def per_index(update: Callable) -> Callable:
    """Let an ``update(index, weight, grad, state, *args, **kwargs)`` written for one
    parameter also take lists of them, looping in order with the same extra arguments
    (MXNet's non-aggregating optimizers see one index per call from the ``Updater``;
    direct callers may pass lists)."""
    @functools.wraps(update)
    def wrapper(self, index, weight, grad, state, *args, **kwargs):
        if isinstance(index, (list, tuple)):
            for i, w, g, s in zip(index, weight, grad, state):
                update(self, i, w, g, s, *args, **kwargs)
        else:
            update(self, index, weight, grad, state, *args, **kwargs)
    return wrapper


class Optimizer(object):
    """``Optimizer(rescale_grad=1.0, param_idx2name=None, wd=0.0, clip_gradient=None,
    learning_rate=None, lr_scheduler=None, sym=None, begin_num_update=0,
    multi_precision=False, param_dict=None)``: the base class of all optimizers.

    ``rescale_grad`` multiplies every gradient first (Module passes ``1/batch_size``);
    ``clip_gradient`` clips the rescaled gradient to ``[-c, c]`` (``None``: no clipping);
    ``learning_rate`` defaults to 0.01 (subclasses change it) and, when an
    ``lr_scheduler`` is given as well, overrides the scheduler's ``base_lr``;
    ``param_idx2name`` maps update indices to parameter names for the per-name
    ``lr_mult``/``wd_mult`` and the ``_weight``/``_gamma`` weight-decay rule; ``sym``
    supplies ``__lr_mult__``/``__wd_mult__`` attributes; ``param_dict`` maps indices to
    objects with ``lr_mult``/``wd_mult`` (Gluon Parameters). Subclasses implement
    ``create_state(index, weight)`` and ``update(index, weight, grad, state)``.
    """

    #: lower-case name -> class; the table of the shared registry, bound below the class
    opt_registry: Dict[str, type]

    def __init__(self, rescale_grad=1., param_idx2name=None, wd=0.,
                 clip_gradient=None, learning_rate=None,
                 lr_scheduler=None, sym=None, begin_num_update=0,
                 multi_precision=False, param_dict=None, **kwargs):
        if kwargs:
            raise OptimizerArgumentError(
                "%s got unexpected keyword argument%s %s (accepted: %s)"
                % (type(self).__name__, "s" if len(kwargs) > 1 else "",
                   ", ".join(repr(k) for k in sorted(kwargs)),
                   ", ".join(_accepted_arguments(type(self)))))
        self.rescale_grad = rescale_grad
        self.lr_scheduler = lr_scheduler
        if lr_scheduler is None and learning_rate is None:
            learning_rate = 0.01
        self.lr = learning_rate
        if lr_scheduler is not None and learning_rate is not None:
            if lr_scheduler.base_lr != learning_rate:
                # MXNet print()s this UserWarning; a library warns instead
                warnings.warn(UserWarning("learning rate from ``lr_scheduler`` has been "
                                          "overwritten by ``learning_rate`` in optimizer."))
                lr_scheduler.base_lr = learning_rate

        self.wd = wd
        self.lr_mult: dict = {}
        self.wd_mult: dict = {}
        self.begin_num_update = begin_num_update
        self.num_update = begin_num_update
        # update counts are kept per device (the Updater switches with the weight's device)
        self._all_index_update_counts: dict = {0: {}}
        self._index_update_count = self._all_index_update_counts[0]
        self.clip_gradient = clip_gradient
        self.multi_precision = multi_precision
        self.aggregate_num = 0

        if param_idx2name is None:
            param_idx2name = {}
        if not isinstance(param_idx2name, dict):
            raise MXNetError("param_idx2name should be a dict of param indexes to names, "
                             "got %s" % type(param_idx2name).__name__)
        self.idx2name = param_idx2name.copy()
        self.sym_info = (sym.attr_dict(), sym.list_arguments()) if sym is not None else ()
        self.param_dict = param_dict if param_dict else {}
        self.allow_np_array = False

        self.set_lr_mult({})
        self.set_wd_mult({})

    # ------------------------------------------------------------------ registry
    @staticmethod
    def register(klass):
        """``Optimizer.register(klass)``: register an optimizer class under its lower-case
        class name (a later class of the same name replaces the earlier one, with a
        warning). Usable as a decorator; returns the class."""
        # MXNet checks only that klass is a class here, not that it is an Optimizer
        if not isinstance(klass, type):
            raise MXNetError("Optimizer.register expects a class, got %r" % (klass,))
        _REGISTRY.add(klass.__name__, klass)
        return klass

    @staticmethod
    def create_optimizer(name, **kwargs):
        """``Optimizer.create_optimizer(name, **kwargs)`` (alias ``mx.optimizer.create``):
        instantiate the registered optimizer ``name`` (case-insensitive) with ``kwargs``."""
        return _REGISTRY.find(name)(**kwargs)

    # ------------------------------------------------------------------ learning rate
    @property
    def learning_rate(self):
        """The current learning rate: ``lr_scheduler(num_update)`` when a scheduler is
        set, else the fixed rate."""
        if self.lr_scheduler is not None:
            return self.lr_scheduler(self.num_update)
        return self.lr

    def set_learning_rate(self, lr):
        """``set_learning_rate(lr)``: set the fixed learning rate. Raises ``UserWarning``
        (as MXNet does) when a scheduler owns the rate."""
        if self.lr_scheduler is not None:
            raise UserWarning("LRScheduler of the optimizer has already been defined. Note "
                              "that set_learning_rate can mutate the value of the learning "
                              "rate of the optimizer only when the LRScheduler of the "
                              "optimizer is undefined.")
        self.lr = lr

    def set_lr_scale(self, args_lrscale):
        """Removed in MXNet; use ``set_lr_mult``."""
        raise DeprecationWarning("set_lr_scale is deprecated; use set_lr_mult")

    def set_lr_mult(self, args_lr_mult):
        """``set_lr_mult(args_lr_mult)``: learning-rate multipliers by parameter name or
        index; the symbol's ``__lr_mult__`` attributes are the defaults."""
        self.lr_mult = self._sym_mults("__lr_mult__")
        self.lr_mult.update(args_lr_mult)

    #: with names known, only parameters ending in one of these keep weight decay
    _wd_suffixes = ("_weight", "_gamma")

    def set_wd_mult(self, args_wd_mult):
        """``set_wd_mult(args_wd_mult)``: weight-decay multipliers by name or index. With
        names known, parameters not ending in ``_weight``/``_gamma`` default to 0; the
        symbol's ``__wd_mult__`` attributes and ``args_wd_mult`` override."""
        self.wd_mult = {n: 0.0 for n in self.idx2name.values()
                        if not n.endswith(self._wd_suffixes)}
        self.wd_mult.update(self._sym_mults("__wd_mult__"))
        self.wd_mult.update(args_wd_mult)

    def _sym_mults(self, key):
        """``{argument name: float(attr[key])}`` for the symbol's arguments carrying the
        attribute ``key`` (``__lr_mult__``/``__wd_mult__``); empty without a symbol."""
        if not self.sym_info:
            return {}
        attr, arg_names = self.sym_info
        return {name: float(attr[name][key]) for name in arg_names
                if name in attr and key in attr[name]}

    # ------------------------------------------------------------------ states
    def create_state(self, index, weight):
        """``create_state(index, weight)``: the auxiliary state of one weight (momentum,
        moments ...); ``None`` when the optimizer keeps none."""
        return None

    def create_state_multi_precision(self, index, weight):
        """``create_state_multi_precision(index, weight)``: with ``multi_precision`` and a
        float16 weight, ``(float32 master copy, create_state(index, master))``; otherwise
        ``create_state(index, weight)``."""
        if self.multi_precision and weight.dtype == numpy.float16:
            master = weight.astype(numpy.float32)
            return (master, self.create_state(index, master))
        if weight.dtype == numpy.float16 and not self.multi_precision:
            warnings.warn("Accumulating with float16 in optimizer can lead to poor accuracy "
                          "or slow convergence. Consider using multi_precision=True option "
                          "of the optimizer")
        return self.create_state(index, weight)

    # ------------------------------------------------------------------ updates
    def update(self, index, weight, grad, state):
        """``update(index, weight, grad, state)``: update ``weight`` in place from
        ``grad`` and ``state`` (one parameter or lists of them)."""
        raise NotImplementedError("%s does not implement update" % type(self).__name__)

    def update_multi_precision(self, index, weight, grad, state):
        """``update_multi_precision(index, weight, grad, state)``: ``update`` on the
        float32 master copy (and a float32 copy of the gradient) for float16 weights
        under ``multi_precision``, then cast the master back into ``weight``."""
        if isinstance(index, (list, tuple)):
            for i, w, g, s in zip(index, weight, grad, state):
                self.update_multi_precision(i, w, g, s)
            return
        if self.multi_precision and weight.dtype == numpy.float16:
            master, inner = state
            self.update(index, master, grad.astype(numpy.float32), inner)
            cast(master, dtype=weight.dtype, out=weight)
        else:
            self.update(index, weight, grad, state)

    # ------------------------------------------------------------------ bookkeeping
    def _set_current_context(self, device_id):
        """Switch the per-index update counts to those of device ``device_id``."""
        if device_id not in self._all_index_update_counts:
            self._all_index_update_counts[device_id] = {}
        self._index_update_count = self._all_index_update_counts[device_id]

    def _update_count(self, index):
        """Count one more update of ``index`` (or of each index in a list) and raise
        ``num_update`` to the largest count."""
        if not isinstance(index, (list, tuple)):
            index = [index]
        for idx in index:
            if idx not in self._index_update_count:
                self._index_update_count[idx] = self.begin_num_update
            self._index_update_count[idx] += 1
            self.num_update = max(self._index_update_count[idx], self.num_update)

    def _begin_update(self, index):
        """Count one more update of the single ``index`` and return its ``(lr, wd)``:
        the count comes first so that a scheduler sees the new ``num_update``."""
        self._update_count(index)
        return self._get_lr(index), self._get_wd(index)

    def _clip(self, grad):
        """``grad`` clipped to ``[-clip_gradient, clip_gradient]`` when a bound is set,
        for the optimizers written in NDArray arithmetic (``None`` means no clip)."""
        if self.clip_gradient is not None:
            return clip(grad, -self.clip_gradient, self.clip_gradient)
        return grad

    def _fused_kwargs(self, clip_key="clip_gradient", **kwargs):
        """The keywords of a fused update operator: ``kwargs`` plus ``rescale_grad`` and,
        only when ``clip_gradient`` is truthy (MXNet's test: 0 means no clip), the bound
        under ``clip_key`` (``ftml_update`` calls it ``clip_grad``)."""
        kwargs["rescale_grad"] = self.rescale_grad
        if self.clip_gradient:
            kwargs[clip_key] = self.clip_gradient
        return kwargs

    def _get_lrs(self, indices):
        """The learning rates of ``indices``: the scheduler's (or fixed) rate times each
        index's multiplier."""
        if self.lr_scheduler is not None:
            lr = self.lr_scheduler(self.num_update)
        else:
            lr = self.lr
        return [lr * self._mult(index, self.lr_mult, "lr_mult") for index in indices]

    def _get_lr(self, index):
        """The learning rate of one index."""
        return self._get_lrs([index])[0]

    def _get_wds(self, indices):
        """The weight decays of ``indices``: ``wd`` times each index's multiplier."""
        return [self.wd * self._mult(index, self.wd_mult, "wd_mult") for index in indices]

    def _get_wd(self, index):
        """The weight decay of one index."""
        return self._get_wds([index])[0]

    def _mult(self, index, mults, attr):
        # param_dict (Gluon) first, then the index itself, then the index's name
        if index in self.param_dict:
            return getattr(self.param_dict[index], attr)
        if index in mults:
            return mults[index]
        if index in self.idx2name:
            return mults.get(self.idx2name[index], 1.0)
        return 1.0

    # ------------------------------------------------------------------ pickling
    def __getstate__(self):
        state = self.__dict__.copy()
        # Parameters are not sent along; the Trainer sets param_dict again
        del state["param_dict"]
        return state

    def __setstate__(self, state):
        self.__dict__ = state
        self.param_dict = {}


# the shared registry (mixnet/registry.py): optimizer names resolve like initializer and
# metric names, and an unknown one is an OptimizerNameError listing the known names
_REGISTRY = _registry.registry_for(Optimizer, "optimizer", OptimizerNameError)
Optimizer.opt_registry = _REGISTRY.entries
register = Optimizer.register
create = Optimizer.create_optimizer


@register
class Test(Optimizer):
    """``Test(**kwargs)``: the debugging optimizer of MXNet's tests: ``weight +=
    rescale_grad * grad`` and the state (float32 zeros) receives a copy of the weight."""

    def create_state(self, index, weight):
        return zeros(weight.shape, weight.context)

    @per_index
    def update(self, index, weight, grad, state):
        weight[:] += grad * self.rescale_grad
        state[:] = weight


class Updater(object):
    """``Updater(optimizer)``: the callable ``updater(index, grad, weight)`` that KVStore
    and Module use. It creates each index's state on first sight
    (``create_state_multi_precision``), moves loaded states to the weight's device, and
    calls ``update_multi_precision`` -- in groups of ``optimizer.aggregate_num`` weights
    of one dtype when the optimizer aggregates. ``get_states``/``set_states`` pickle the
    states (and optionally the optimizer) for ``.states`` files.
    """

    def __init__(self, optimizer):
        self.optimizer = optimizer
        self.states: dict = {}
        self.states_synced: dict = {}
        self.aggregate_updates = optimizer.aggregate_num > 0

    def __call__(self, index, grad, weight):
        if not isinstance(index, (list, tuple)):
            indices, grads, weights = [index], [grad], [weight]
        else:
            indices, grads, weights = list(index), list(grad), list(weight)
        if weights:
            self.optimizer._set_current_context(weights[0].context.device_id)
        for i, idx in enumerate(indices):
            if isinstance(idx, bytes):
                idx = indices[i] = idx.decode()
            if idx not in self.states:
                self.states[idx] = self.optimizer.create_state_multi_precision(idx, weights[i])
                self.states_synced[idx] = True
            elif not self.states_synced[idx]:
                self.states[idx] = self.sync_state_context(self.states[idx], weights[i].context)
                self.states_synced[idx] = True
        if not self.aggregate_updates:
            for i, w, g in zip(indices, weights, grads):
                self.optimizer.update_multi_precision(i, w, g, self.states[i])
            return
        by_dtype: dict = {}
        for i, w, g in zip(indices, weights, grads):
            by_dtype.setdefault(w.dtype, []).append((i, w, g))
        step = self.optimizer.aggregate_num
        for group in by_dtype.values():
            idxs, ws, gs = zip(*group)
            for start in range(0, len(idxs), step):
                chunk = idxs[start:start + step]
                self.optimizer.update_multi_precision(
                    chunk, ws[start:start + step], gs[start:start + step],
                    [self.states[i] for i in chunk])

    def sync_state_context(self, state, context):
        """Copy ``state`` (an NDArray or nested tuples/lists of them) to ``context``."""
        if isinstance(state, NDArray):
            return state.as_in_context(context)
        if isinstance(state, (tuple, list)):
            synced = [self.sync_state_context(s, context) for s in state]
            return tuple(synced) if isinstance(state, tuple) else synced
        return state

    def set_states(self, states):
        """``set_states(bytes)``: load states pickled by ``get_states`` (with the optimizer
        too when they were dumped with ``dump_optimizer=True``)."""
        states = pickle.loads(states)
        if isinstance(states, tuple) and len(states) == 2:
            self.states, self.optimizer = states
        else:
            self.states = states
        self.states_synced = dict.fromkeys(self.states.keys(), False)

    def get_states(self, dump_optimizer=False):
        """``get_states(dump_optimizer=False)`` -> bytes: ``pickle.dumps(states)``, or
        ``pickle.dumps((states, optimizer))`` with ``dump_optimizer``."""
        return pickle.dumps((self.states, self.optimizer) if dump_optimizer else self.states)


def get_updater(optimizer):
    """``get_updater(optimizer)`` -> ``Updater(optimizer)``."""
    return Updater(optimizer)
