"""Data parallelism for Module: one executor per context, each bound to its slice of the
batch, with the parameters replicated on every device.

The batch axis of every input comes from its ``DataDesc`` layout (``'N'``; axis 0 when
no layout is given), so time-major language-model inputs (``'TN'``) split along axis 1
as in MXNet. ``work_load_list`` weights the split.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from ..base import MXNetError
from ..ndarray import NDArray
from ..ndarray import concat as _nd_concat


def batch_axis(layout: Optional[str]) -> int:
    """The batch axis of ``layout`` (``'N'``'s position; 0 when no layout is known)."""
    if not layout:
        return 0
    return layout.find("N")


def split_batch(batch_size: int, work_load_list: Sequence[float]) -> list:
    """Cut ``batch_size`` rows into one ``slice`` per device in proportion to
    ``work_load_list``; every device gets at least one row."""
    n = len(work_load_list)
    if batch_size < n:
        raise MXNetError("Module: the batch size %d is smaller than the number of "
                         "devices %d" % (batch_size, n))
    total = float(sum(work_load_list))
    sizes = [int(round(w * batch_size / total)) for w in work_load_list]
    sizes[-1] = batch_size - sum(sizes[:-1])
    if min(sizes) < 1:
        raise MXNetError("Module: work_load_list %s leaves a device without data for "
                         "batch size %d" % (list(work_load_list), batch_size))
    out, start = [], 0
    for s in sizes:
        out.append(slice(start, start + s))
        start += s
    return out


def _take(arr: Any, axis: int, sl: slice) -> Any:
    if axis == 0:
        return arr[sl]
    return arr.slice_axis(axis=axis, begin=sl.start, end=sl.stop)


class DataParallelExecutorGroup:
    """The executors of one bound Module (MXNet's ``DataParallelExecutorGroup``).

    ``param_arrays[i]``/``grad_arrays[i]`` list parameter ``i``'s copies on every device;
    ``aux_arrays`` likewise. Executors for other input shapes (a short last batch, a new
    batch size) are made with ``reshape`` and kept, so switching back is free."""

    def __init__(self, symbol: Any, contexts: list, workload: Sequence[float],
                 data_shapes: list, label_shapes: Optional[list], param_names: list,
                 for_training: bool, inputs_need_grad: bool,
                 shared_group: Optional["DataParallelExecutorGroup"] = None,
                 fixed_param_names: Optional[Sequence[str]] = None,
                 grad_req: Any = "write", state_names: Optional[Sequence[str]] = None):
        self.symbol = symbol
        self.contexts = list(contexts)
        self.workload = list(workload)
        self.param_names = list(param_names)
        self.arg_names = symbol.list_arguments()
        self.aux_names = symbol.list_auxiliary_states()
        self.output_names = symbol.list_outputs()
        self.for_training = for_training
        self.inputs_need_grad = inputs_need_grad
        self.fixed_param_names = set(fixed_param_names or ())
        self.state_names = list(state_names or ())
        self.shared_group = shared_group
        self._grad_req = self._grad_reqs(grad_req, data_shapes, label_shapes)
        self._cache: dict = {}
        self.execs: list = []
        self.bind_exec(data_shapes, label_shapes, shared_group)

    # ------------------------------------------------------------------ binding
    def _grad_reqs(self, grad_req: Any, data_shapes: list, label_shapes: Optional[list]) -> dict:
        data_names = {d.name for d in data_shapes}
        label_names = {d.name for d in label_shapes or ()}
        if isinstance(grad_req, dict):
            unknown = set(grad_req) - set(self.arg_names)
            if unknown:
                raise MXNetError("Module.bind: grad_req names %s are not arguments of the "
                                 "symbol" % sorted(unknown))
        reqs = {}
        for name in self.arg_names:
            if isinstance(grad_req, dict):
                req = grad_req.get(name, "null")
            else:
                req = grad_req
            if req not in ("write", "add", "null"):
                raise MXNetError("Module.bind: grad_req for %s must be 'write', 'add' or "
                                 "'null', got %r" % (name, req))
            if name in self.param_names:
                if not self.for_training or name in self.fixed_param_names:
                    req = "null"
            elif name in data_names:
                if not (self.for_training and self.inputs_need_grad):
                    req = "null"
            else:  # labels, states, anything the caller feeds
                req = "null"
            if name in label_names:
                req = "null"
            reqs[name] = req
        return reqs

    def _shapes_key(self, data_shapes: list, label_shapes: Optional[list]) -> tuple:
        return tuple((d.name, tuple(d.shape)) for d in list(data_shapes) + list(label_shapes or ()))

    def bind_exec(self, data_shapes: list, label_shapes: Optional[list],
                  shared_group: Optional["DataParallelExecutorGroup"] = None,
                  reshape: bool = False) -> None:
        """Bind (or, with ``reshape``, re-shape) one executor per context."""
        descs = list(data_shapes) + list(label_shapes or ())
        batch = None
        for d in descs:
            ax = batch_axis(getattr(d, "layout", None))
            if ax >= 0 and len(d.shape) > ax:
                n = int(d.shape[ax])
                if batch is None:
                    batch = n
                elif n != batch and d in data_shapes:
                    raise MXNetError("Module.bind: inputs disagree on the batch size: %s"
                                     % ", ".join("%s%s" % (x.name, tuple(x.shape)) for x in descs))
        batch_size = batch if batch is not None else 1
        slices = split_batch(batch_size, self.workload)
        key = self._shapes_key(data_shapes, label_shapes)
        execs = self._cache.get(key)
        if execs is None:
            execs = []
            for i, ctx in enumerate(self.contexts):
                shapes = {d.name: self._device_shape(d, slices[i]) for d in descs}
                if reshape and self.execs:
                    exe = self._reshape_one(self.execs[i], shapes)
                else:
                    exe = self._bind_one(i, ctx, shapes, descs, shared_group)
                execs.append(exe)
            self._cache[key] = execs
        # state changes only once every executor exists, so a failed reshape leaves the
        # group as it was
        self.execs = execs
        self.batch_size = batch_size
        self.slices = slices
        self.data_shapes = list(data_shapes)
        self.label_shapes = list(label_shapes) if label_shapes else None
        self._collect_arrays()

    def _reshape_one(self, exe: Any, shapes: dict) -> Any:
        # partial shaping lets unlisted inputs (an unbound label) follow the batch size,
        # but a parameter or auxiliary state must never change shape
        new = exe.reshape(partial_shaping=True, allow_up_sizing=True, **shapes)
        for names, old, now in ((self.param_names, exe.arg_dict, new.arg_dict),
                                (self.aux_names, exe.aux_dict, new.aux_dict)):
            for n in names:
                if old[n].shape != now[n].shape:
                    raise MXNetError("parameter %s would change shape from %s to %s"
                                     % (n, old[n].shape, now[n].shape))
        return new

    @staticmethod
    def _device_shape(desc: Any, sl: slice) -> tuple:
        shape = list(desc.shape)
        ax = batch_axis(getattr(desc, "layout", None))
        if 0 <= ax < len(shape):
            shape[ax] = sl.stop - sl.start
        return tuple(shape)

    def _bind_one(self, i: int, ctx: Any, shapes: dict, descs: list,
                  shared_group: Optional["DataParallelExecutorGroup"]) -> Any:
        type_dict = {d.name: d.dtype for d in descs if getattr(d, "dtype", None) is not None}
        shared_exec = shared_group.execs[i] if shared_group is not None else None
        try:
            return self.symbol.simple_bind(
                ctx, grad_req=self._grad_req, type_dict=type_dict, shared_exec=shared_exec,
                shared_arg_names=self.param_names + self.aux_names if shared_exec else None,
                **shapes)
        except MXNetError as e:
            raise MXNetError("Module.bind on %s with %s: %s"
                             % (ctx, ", ".join("%s%s" % kv for kv in shapes.items()), e)) from None

    def _collect_arrays(self) -> None:
        execs = self.execs
        self.param_arrays = [[e.arg_dict[n] for e in execs] for n in self.param_names]
        self.grad_arrays = [[e.grad_dict[n] for e in execs] for n in self.param_names] \
            if self.for_training else []
        self.aux_arrays = [[e.aux_dict[n] for e in execs] for n in self.aux_names]
        self.data_arrays = [[(self.slices[k], e.arg_dict[d.name]) for k, e in enumerate(execs)]
                            for d in self.data_shapes]
        self.label_arrays = [[(self.slices[k], e.arg_dict[d.name])
                              for k, e in enumerate(execs)]
                             for d in self.label_shapes or () if d.name in execs[0].arg_dict]
        self.input_grad_arrays = [[e.grad_dict[d.name] for e in execs]
                                  for d in self.data_shapes] if self.inputs_need_grad else []

    def reshape(self, data_shapes: list, label_shapes: Optional[list]) -> None:
        """Switch to executors for new input shapes, sharing parameters and memory."""
        if self._shapes_key(data_shapes, label_shapes) == \
                self._shapes_key(self.data_shapes, self.label_shapes):
            return
        self.bind_exec(data_shapes, label_shapes, reshape=True)

    # ------------------------------------------------------------------ parameters
    def set_params(self, arg_params: dict, aux_params: dict, allow_extra: bool = False) -> None:
        """Copy parameters into every executor."""
        for exe in self.execs:
            exe.copy_params_from(arg_params, aux_params, allow_extra_params=allow_extra)

    def get_params(self, arg_params: dict, aux_params: dict) -> None:
        """Average each parameter's device copies into ``arg_params``/``aux_params``
        (CPU master copies, written in place)."""
        for names, arrays, dst in ((self.param_names, self.param_arrays, arg_params),
                                   (self.aux_names, self.aux_arrays, aux_params)):
            for name, copies in zip(names, arrays):
                if len(copies) == 1:
                    copies[0].copyto(dst[name])
                    continue
                total = copies[0].as_in_context(dst[name].context)
                for c in copies[1:]:
                    total = total + c.as_in_context(dst[name].context)
                (total / len(copies)).astype(dst[name].dtype).copyto(dst[name])

    # ------------------------------------------------------------------ running
    def _load(self, what: str, src: list, targets: list, descs: list) -> None:
        if len(src) != len(targets):
            raise MXNetError("Module.forward: the batch has %d %s arrays, the module is "
                             "bound with %d (%s)" % (len(src), what, len(targets),
                                                     ", ".join(d.name for d in descs)))
        for arr, dsts, desc in zip(src, targets, descs):
            ax = batch_axis(getattr(desc, "layout", None))
            shape = tuple(arr.shape)
            if shape != tuple(desc.shape):
                raise MXNetError("Module.forward: %s %s has shape %s, the module is bound "
                                 "with %s" % (what, desc.name, shape, tuple(desc.shape)))
            if not isinstance(arr, NDArray):
                arr = np.asarray(arr)
            for sl, dst in dsts:
                part = arr if len(dsts) == 1 else _take(arr, ax, sl)
                if isinstance(part, NDArray):
                    part.copyto(dst)
                else:
                    dst[:] = part

    def forward(self, data_batch: Any, is_train: Optional[bool] = None) -> None:
        """Load ``data_batch`` onto the devices and run every executor's forward."""
        if is_train is None:
            is_train = self.for_training
        self._load("data", list(data_batch.data), self.data_arrays, self.data_shapes)
        labels = data_batch.label
        if self.label_arrays and labels is not None and len(labels):
            descs = [d for d in self.label_shapes if d.name in self.execs[0].arg_dict]
            self._load("label", list(labels)[:len(descs)], self.label_arrays, descs)
        for exe in self.execs:
            exe.forward(is_train=is_train)

    def backward(self, out_grads: Optional[list] = None) -> None:
        """Run every executor's backward; ``out_grads`` are split like the outputs."""
        if not self.for_training:
            raise MXNetError("Module.backward: the module is bound with for_training=False")
        for k, exe in enumerate(self.execs):
            grads = None
            if out_grads is not None:
                grads = [g if len(self.execs) == 1 else g[self.slices[k]] for g in out_grads]
            exe.backward(out_grads=grads)

    def get_outputs(self, merge_multi_context: bool = True) -> list:
        """Outputs; merged along the batch axis unless ``merge_multi_context=False``
        (then one list of per-device arrays per output)."""
        outputs = [[e.outputs[i] for e in self.execs] for i in range(len(self.output_names))]
        return _merge(outputs) if merge_multi_context else outputs

    def get_input_grads(self, merge_multi_context: bool = True) -> list:
        """Gradients of the data inputs (needs ``inputs_need_grad``)."""
        if not self.inputs_need_grad:
            raise MXNetError("Module.get_input_grads: bind with inputs_need_grad=True")
        return _merge(self.input_grad_arrays) if merge_multi_context else self.input_grad_arrays

    def get_states(self, merge_multi_context: bool = True) -> list:
        """The state inputs (``state_names``) on every device."""
        states = [[e.arg_dict[n] for e in self.execs] for n in self.state_names]
        return _merge(states) if merge_multi_context else states

    def set_states(self, states: Optional[list] = None, value: Any = None) -> None:
        """Set the state inputs from per-device lists, or all to the scalar ``value``."""
        if states is not None:
            for name, per_dev in zip(self.state_names, states):
                for e, s in zip(self.execs, per_dev):
                    s.copyto(e.arg_dict[name])
        else:
            for name in self.state_names:
                for e in self.execs:
                    e.arg_dict[name][:] = value

    def update_metric(self, eval_metric: Any, labels: list, pre_sliced: bool = False) -> None:
        """Feed each device's outputs and its slice of ``labels`` to the metric."""
        names = [d.name for d in self.label_shapes or ()]
        for k, exe in enumerate(self.execs):
            if pre_sliced:
                labs = labels[k]
            elif len(self.execs) == 1:
                labs = labels
            else:
                labs = [lab[self.slices[k]] for lab in labels]
            eval_metric.update_dict(dict(zip(names, labs)), exe.output_dict)

    def install_monitor(self, mon: Any) -> None:
        """Attach a ``Monitor`` to every executor."""
        for exe in self.execs:
            mon.install(exe)


def _merge(per_output: list) -> list:
    out = []
    for copies in per_output:
        if len(copies) == 1:
            out.append(copies[0])
        else:
            ctx = copies[0].context
            out.append(_nd_concat(*[c.as_in_context(ctx) for c in copies], dim=0))
    return out

