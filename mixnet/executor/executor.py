"""``mx.executor.Executor``: a symbol bound to arrays and compiled into a step list.

Binding compiles once (:mod:`mixnet.executor.plan`): shape/dtype inference, the gradient
graph when any ``grad_req`` is not ``null``, pruning, fusion/mirroring when enabled, and
the memory plan. The executor then allocates the planned blocks and turns every step into
a prepared kernel call ``(kernel, input arrays, output arrays, params)`` over fixed views.
``forward``/``backward`` push those calls to the engine in bulk segments: one engine task
per run of consecutive steps, reading and writing the engine vars of the caller-visible
arrays it touches (arguments, aux states, outputs, gradients) plus one var standing for all
of this executor's internal blocks (which only its own segments use, in order). Nothing
is inferred, allocated or looked up per call, which is why a bound graph runs faster than
the same ops dispatched one by one.
"""
from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from .. import backend
from .. import engine as _engine
from ..base import MXNetError, dtype_name, getenv_int, normalize_dtype
from ..context import Context
from ..ndarray.chunk import Chunk
from ..ndarray.dispatch import as_context, rng_var
from ..ndarray.ndarray import NDArray
from ..operator.registry import OpCtx, shape_str
from ..symbol.graph import post_order
from .infer import infer_graph
from .plan import GRAD_REQS, Graph, compile_graph, make_steps, plan_memory

__all__ = ["Executor", "bind", "simple_bind"]


# ----------------------------------------------------------------------------- kernels
def _copy_kernel(oc: Any, ins: list, outs: list, p: Any) -> None:
    outs[0][...] = ins[0]


def _add_kernel(oc: Any, ins: list, outs: list, p: Any) -> None:
    oc.xp.add(outs[0], ins[0], out=outs[0])


def _zero_kernel(oc: Any, ins: list, outs: list, p: Any) -> None:
    outs[0][...] = 0


_KERNELS = {"copy": _copy_kernel, "add": _add_kernel, "zero": _zero_kernel}


def _segment_runner(steps: list, opctx: Any) -> Callable[[], None]:
    """One engine task: the prepared kernel calls of a segment, in order."""
    if len(steps) == 1:
        fn, ins, outs, p = steps[0]

        def run_one() -> None:
            fn(opctx, ins, outs, p)
        return run_one

    def run() -> None:
        for fn, ins, outs, p in steps:
            fn(opctx, ins, outs, p)
    return run


def _nd_from(buf: Any, ctx: Context) -> NDArray:
    return NDArray(Chunk(buf), ctx)


def _zeros(shape: tuple, dtype: Any, ctx: Context) -> NDArray:
    buf = backend.empty(tuple(shape), np.dtype(dtype), ctx)
    buf[...] = 0
    return _nd_from(buf, ctx)


def _bulk_sizes(training: bool) -> tuple:
    """Steps per segment for (forward, backward), from MXNet's env variables (§4.2)."""
    if not training:
        if getenv_int("MXNET_EXEC_BULK_EXEC_INFERENCE", 1) == 0:
            return 1, 1
        return 1 << 30, 1 << 30
    if getenv_int("MXNET_EXEC_BULK_EXEC_TRAIN", 1) == 0:
        return 1, 1
    n = getenv_int("MXNET_EXEC_BULK_EXEC_MAX_NODE_TRAIN", 15)
    f = getenv_int("MXNET_EXEC_BULK_EXEC_MAX_NODE_TRAIN_FWD", n)
    b = getenv_int("MXNET_EXEC_BULK_EXEC_MAX_NODE_TRAIN_BWD", n)
    return max(1, f), max(1, b)


# ----------------------------------------------------------------------------- executor
class Executor:
    """A bound, compiled symbol (create it with ``Symbol.bind``/``simple_bind``).

    ``arg_arrays``/``grad_arrays``/``aux_arrays`` follow ``list_arguments`` /
    ``list_auxiliary_states`` order (``grad_arrays`` holds ``None`` for ``grad_req
    'null'``); ``outputs`` are NDArrays rewritten by every ``forward``."""

    def __init__(self, symbol: Any, ctx: Context, arg_arrays: list, grad_arrays: list,
                 grad_reqs: list, aux_arrays: list, group2ctx: Optional[dict] = None,
                 shared_exec: Optional["Executor"] = None):
        self._symbol = symbol
        self._ctx = ctx
        self._group2ctx = group2ctx
        self._arg_names = symbol.list_arguments()
        self._aux_names = symbol.list_auxiliary_states()
        self.arg_arrays = list(arg_arrays)
        self.grad_arrays = list(grad_arrays)
        self.aux_arrays = list(aux_arrays)
        self._grad_reqs = list(grad_reqs)
        self._monitor: Optional[Callable] = None
        self._monitor_all = False
        self._arg_dict = self._grad_dict = self._aux_dict = self._output_dict = None
        self._compile(shared_exec)

    # ------------------------------------------------------------------ compilation
    def _compile(self, shared_exec: Optional["Executor"]) -> None:
        sym, ctx = self._symbol, self._ctx
        nodes = post_order(sym.outputs)
        var_by_name: dict = {}
        for n in nodes:
            if n.op is None:
                var_by_name.setdefault(n.name, n)
        arrays = dict(zip(self._arg_names, self.arg_arrays))
        arrays.update(zip(self._aux_names, self.aux_arrays))
        shapes = {k: tuple(a.shape) for k, a in arrays.items()}
        dtypes = {k: a._data.dtype for k, a in arrays.items()}
        wrt, wrt_reqs, wrt_idx = [], [], []
        for i, (name, req) in enumerate(zip(self._arg_names, self._grad_reqs)):
            if req != "null":
                wrt.append(var_by_name[name])
                wrt_reqs.append(req)
                wrt_idx.append(i)
        g = compile_graph(sym.outputs, wrt, shapes, dtypes)
        self._graph: Graph = g
        fwd, bwd, bound = make_steps(g, wrt_reqs)
        self._training = bool(wrt)
        steps = fwd + bwd if self._training else fwd
        # caller-owned arrays, by key
        owned: dict = {}
        for v in g.variables:
            a = arrays.get(v.name)
            if a is not None:
                owned[(id(v), 0)] = a
        self.outputs = []
        for i, h in enumerate(g.heads):
            k = (id(h.node), h.index)
            self.outputs.append(_zeros(g.shapes[k], g.dtypes[k], ctx))
            owned[("out", i)] = self.outputs[-1]
        self._head_grad_arrays = []
        for v in g.head_grads:
            k = (id(v), 0)
            if k not in g.shapes:  # no gradient rule reads it
                self._head_grad_arrays.append(None)
                continue
            a = _zeros(g.shapes[k], g.dtypes[k], ctx)
            self._head_grad_arrays.append(a)
            owned[k] = a
        for j, i in enumerate(wrt_idx):
            owned[("grad", j)] = self.grad_arrays[i]
        for k, dest in bound.items():
            owned[k] = owned[dest]
        plan = plan_memory(steps, g.nbytes, g.dtypes, owned, inplace=True, coshare=True)
        self._plan = plan
        self._steps = (fwd, bwd)
        # Like MXNet, one plan covers forward and backward, so backward may reuse the
        # blocks of forward values once their last reader ran: a second backward without
        # a new forward would then read overwritten values. Find out whether it does.
        nf = len(fwd)
        by_sid: dict = {}
        for k, (t0, t1) in plan.lifetimes.items():
            by_sid.setdefault(plan.storage[k], []).append((t0, t1))
        self._bwd_clobbers = any(
            any(t0 < nf <= t1 for t0, t1 in spans) and any(t0 >= nf for t0, _ in spans)
            for spans in by_sid.values())
        self._fresh = False
        # storage blocks: reuse a shared executor's blocks where they fit (MXNet's shared
        # memory pool for bucketing/reshape); the two then also share the internal var
        pool = list(shared_exec._blocks) if shared_exec is not None else []
        pool.sort(key=lambda b: b.size)
        used = set()
        blocks: list = [None] * len(plan.sizes)
        for sid in sorted(range(len(plan.sizes)), key=lambda s: -plan.sizes[s]):
            need = plan.sizes[sid]
            for bi, b in enumerate(pool):
                if bi not in used and b.size >= need:
                    used.add(bi)
                    blocks[sid] = b
                    break
            else:
                blocks[sid] = backend.empty((max(need, 1),), np.uint8, ctx)
        self._blocks = blocks + [b for bi, b in enumerate(pool) if bi not in used]
        self._var = shared_exec._var if shared_exec is not None else \
            _engine.new_var("executor")

        def data_of(k: tuple) -> Any:
            a = owned.get(k)
            if a is not None:
                return a._data
            sid = plan.storage[k]
            dt = g.dtypes[k]
            n = int(np.prod(g.shapes[k], dtype=np.int64))
            return blocks[sid][:n * dt.itemsize].view(dt).reshape(g.shapes[k])

        views: dict = {}

        def view(k: tuple) -> Any:
            v = views.get(k)
            if v is None:
                v = views[k] = data_of(k)
            return v

        rv = rng_var(ctx)
        read = {k for s in steps for k in s.reads}
        self._compiled = []
        for part in (fwd, bwd):
            prepared = []
            for s in part:
                ins = [view(k) for k in s.reads]
                if s.kind == "op" and s.node.op.skip_unused_outputs:
                    outs = [view(k) if k in read or k in owned else None for k in s.writes]
                else:
                    outs = [view(k) for k in s.writes]
                if s.kind == "op":
                    n = s.node
                    p = n.params
                    fn = n.op.forward
                    cost = self._cost(g, s)
                    rand = bool(n.op.resources) and n.op.uses_random(p)
                else:
                    p, fn, rand = None, _KERNELS[s.kind], False
                    cost = int(np.prod(g.shapes.get(s.reads[0], (1,)))) if s.reads else 0
                const = [owned[k]._chunk for k in s.reads if k in owned]
                mut = [owned[k]._chunk for k in s.writes if k in owned]
                mut += [owned[s.reads[i]]._chunk for i in s.mutates if s.reads[i] in owned]
                if s.kind == "add":
                    const = []
                prepared.append(((fn, ins, outs, p), const, mut, rand, cost, s))
            self._compiled.append(prepared)
        self._rng_var = rv
        fb, bb = _bulk_sizes(self._training)
        self._segments = (self._segment(self._compiled[0], fb),
                          self._segment(self._compiled[1], bb))

    @staticmethod
    def _cost(g: Graph, s: Any) -> int:
        """The op's work estimate (element operations), which lets the engine run cheap
        segments on the caller's thread."""
        n = s.node
        ishapes = [g.shapes[k] for k in s.reads]
        oshapes = [g.shapes[k] for k in s.writes]
        if n.op.cost is not None:
            try:
                return int(n.op.cost(n.params, ishapes, oshapes))
            except Exception:  # noqa: BLE001 - an estimate only
                pass
        size = int(np.prod(oshapes[0], dtype=np.int64)) if oshapes else 0
        return size * (len(ishapes) + len(oshapes))

    def _segment(self, prepared: list, size: int) -> list:
        """Group prepared steps into segments of at most ``size`` steps, each with the
        engine vars it reads and writes."""
        segs = []
        for start in range(0, len(prepared), size):
            part = prepared[start:start + size]
            calls = [x[0] for x in part]
            mut = {self._var: None}
            for x in part:
                for c in x[2]:
                    mut[c] = None
                if x[3]:
                    mut[self._rng_var] = None
            const = {}
            for x in part:
                for c in x[1]:
                    if c not in mut:
                        const[c] = None
            name = part[0][5].name if len(part) == 1 else \
                "%s..%s" % (part[0][5].name, part[-1][5].name)
            cost = sum(x[4] for x in part)
            segs.append((_segment_runner(calls, OpCtx.get(self._ctx, True)),
                         _segment_runner(calls, OpCtx.get(self._ctx, False)),
                         list(const), list(mut), cost, name))
        return segs

    # ------------------------------------------------------------------ running
    def _run(self, which: int, is_train: bool) -> None:
        if self._monitor is not None:
            self._run_monitored(which, is_train)
            return
        push = _engine.get().push
        ctx = self._ctx
        for run_t, run_i, const, mut, cost, name in self._segments[which]:
            push(run_t if is_train else run_i, ctx, const, mut, 0, name, cost)

    def _run_monitored(self, which: int, is_train: bool) -> None:
        """Step by step, copying each op's outputs (and inputs with ``monitor_all``) into
        fresh arrays handed to the callback: planned blocks are reused by later steps."""
        eng = _engine.get()
        ctx = self._ctx
        opctx = OpCtx.get(ctx, is_train)
        reports = []
        for (fn, ins, outs, p), const, mut, rand, cost, s in self._compiled[which]:
            snaps_in, snaps_out = [], []
            if s.kind == "op":
                n = s.node
                if self._monitor_all:
                    for nm, a in zip(n.input_names(), ins):
                        snaps_in.append(("%s_%s" % (n.name, nm), a,
                                         _nd_from(backend.empty(a.shape, a.dtype, ctx), ctx)))
                onames = n.op.output_names(n.params)
                for i, a in enumerate(outs):
                    if a is None:  # skipped: nobody reads it
                        continue
                    nm = onames[i] if i < len(onames) else "output%d" % i
                    snaps_out.append(("%s_%s" % (n.name, nm), a,
                                      _nd_from(backend.empty(a.shape, a.dtype, ctx), ctx)))

            def task(fn=fn, ins=ins, outs=outs, p=p, si=snaps_in, so=snaps_out):
                for _, a, nd in si:
                    nd._data[...] = a
                fn(opctx, ins, outs, p)
                for _, a, nd in so:
                    nd._data[...] = a
            extra = [nd._chunk for _, _, nd in snaps_in + snaps_out]
            mvars = [self._var] + list(mut) + extra + ([self._rng_var] if rand else [])
            eng.push(task, ctx, const, mvars, 0, s.name, cost)
            reports.extend(snaps_in + snaps_out)
        for name, _, nd in reports:
            self._monitor(name, nd)

    def forward(self, is_train: bool = False, **kwargs: Any) -> list:
        """Run the forward pass (training behaviour of Dropout/BatchNorm with
        ``is_train``); keyword arrays are first copied into the arguments of those names.
        Returns :attr:`outputs`."""
        if kwargs:
            ad = self.arg_dict
            for name, v in kwargs.items():
                dst = ad.get(name)
                if dst is None:
                    raise MXNetError("forward: unknown argument %r (arguments: %s)"
                                     % (name, ", ".join(self._arg_names)))
                if isinstance(v, NDArray):
                    if v.shape != dst.shape:
                        raise MXNetError("forward: argument %s has shape %s, got an array of "
                                         "shape %s" % (name, shape_str(dst.shape),
                                                       shape_str(v.shape)))
                    v.copyto(dst)
                else:
                    a = np.asarray(v)
                    if a.shape != dst.shape:
                        raise MXNetError("forward: argument %s has shape %s, got an array of "
                                         "shape %s" % (name, shape_str(dst.shape),
                                                       shape_str(a.shape)))
                    dst[:] = a
        self._run(0, bool(is_train))
        self._fresh = True
        return self.outputs

    def backward(self, out_grads: Any = None, is_train: bool = True) -> None:
        """Run the backward pass, writing (``write``) or adding (``add``) into the
        gradient arrays. ``out_grads``: head gradients (NDArray, list or dict by output
        name); needed for every head whose op reads its head gradient, i.e. all but the
        loss layers (SoftmaxOutput, the regression outputs, MakeLoss)."""
        if not self._training:
            return
        if not self._fresh and self._bwd_clobbers:
            raise MXNetError("backward: call forward first; the memory plan reuses the "
                             "blocks of forward values during backward, so each backward "
                             "needs its own forward")
        names = self._symbol.list_outputs()
        if out_grads is None:
            given: list = []
        elif isinstance(out_grads, NDArray):
            given = [out_grads]
        elif isinstance(out_grads, dict):
            given = [out_grads.get(n) for n in names]
        else:
            given = list(out_grads)
        if len(given) > len(names):
            raise MXNetError("backward: %d head gradients for %d outputs"
                             % (len(given), len(names)))
        for i, need in enumerate(self._graph.needs_ograd):
            g = given[i] if i < len(given) else None
            if not need:
                continue
            if g is None:
                raise MXNetError(
                    "backward: output %d (%s) needs a head gradient: its operator is not a "
                    "loss layer, so pass out_grads" % (i, names[i]))
            dst = self._head_grad_arrays[i]
            if not isinstance(g, NDArray):
                g = np.asarray(g)
            if tuple(g.shape) != dst.shape:
                raise MXNetError("backward: head gradient %d has shape %s, output %s has "
                                 "shape %s" % (i, shape_str(g.shape), names[i],
                                               shape_str(dst.shape)))
            if isinstance(g, NDArray):
                g.copyto(dst)
            else:
                dst[:] = g
        self._run(1, bool(is_train))
        self._fresh = False

    # ------------------------------------------------------------------ dicts
    def _named(self, names: list, arrays: list, what: str) -> dict:
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise MXNetError("%s has duplicate names: %s" % (what, ", ".join(dup)))
        return dict(zip(names, arrays))

    @property
    def arg_dict(self) -> dict:
        """Argument name -> NDArray."""
        if self._arg_dict is None:
            self._arg_dict = self._named(self._arg_names, self.arg_arrays, "arguments")
        return self._arg_dict

    @property
    def grad_dict(self) -> dict:
        """Argument name -> gradient NDArray (``None`` for ``grad_req='null'``)."""
        if self._grad_dict is None:
            self._grad_dict = self._named(self._arg_names, self.grad_arrays, "arguments")
        return self._grad_dict

    @property
    def aux_dict(self) -> dict:
        """Auxiliary state name -> NDArray."""
        if self._aux_dict is None:
            self._aux_dict = self._named(self._aux_names, self.aux_arrays, "aux states")
        return self._aux_dict

    @property
    def output_dict(self) -> dict:
        """Output name -> NDArray."""
        if self._output_dict is None:
            self._output_dict = self._named(self._symbol.list_outputs(), self.outputs,
                                            "outputs")
        return self._output_dict

    # ------------------------------------------------------------------ parameters
    def copy_params_from(self, arg_params: dict, aux_params: Optional[dict] = None,
                         allow_extra_params: bool = False) -> None:
        """Copy parameters into the bound arrays (cast to their dtype). Names the
        executor lacks raise ``ValueError`` unless ``allow_extra_params``."""
        for src, dst, what in ((arg_params, self.arg_dict, "arguments"),
                               (aux_params or {}, self.aux_dict, "auxiliary states")):
            for name, arr in src.items():
                if name in dst:
                    d = dst[name]
                    if not isinstance(arr, NDArray):
                        arr = np.asarray(arr)
                        if arr.shape != d.shape:
                            raise MXNetError("copy_params_from: %s has shape %s, got %s"
                                             % (name, shape_str(d.shape), shape_str(arr.shape)))
                        d[:] = arr
                        continue
                    if arr.shape != d.shape:
                        raise MXNetError("copy_params_from: %s has shape %s, got %s"
                                         % (name, shape_str(d.shape), shape_str(arr.shape)))
                    if arr._data.dtype != d._data.dtype:
                        arr = arr.astype(d._data.dtype)
                    arr.copyto(d)
                elif not allow_extra_params:
                    raise ValueError('Find name "%s" that is not in the %s' % (name, what))

    def set_monitor_callback(self, callback: Callable, monitor_all: bool = False) -> None:
        """Call ``callback(name, NDArray)`` for every output of every op run (named
        ``<node>_<output>``), and with ``monitor_all`` for its inputs too
        (``<node>_<input>``). ``None`` removes it."""
        self._monitor = callback
        self._monitor_all = bool(monitor_all)

    # ------------------------------------------------------------------ reshape
    def reshape(self, partial_shaping: bool = False, allow_up_sizing: bool = False,
                **kwargs: Any) -> "Executor":
        """A new executor for new input shapes, sharing this one's parameter arrays and
        memory: arrays whose shape does not change are shared; smaller ones are views of
        the old storage; larger ones are new only with ``allow_up_sizing``. Arguments
        not named whose inferred shape changes need ``partial_shaping``."""
        sym = self._symbol
        nodes = post_order(sym.outputs)
        shapes = {k: tuple(int(d) for d in v) for k, v in kwargs.items()}
        dtypes = {n: a._data.dtype for n, a in zip(self._arg_names, self.arg_arrays)}
        dtypes.update({n: a._data.dtype for n, a in zip(self._aux_names, self.aux_arrays)})
        res, _ = infer_graph(nodes, shapes, dtypes)
        by_name = {n.name: n for n in nodes if n.op is None}

        def new_shape(name: str) -> tuple:
            s = res.get((id(by_name[name]), 0))
            if s is None:
                raise MXNetError("reshape: cannot infer the new shape of %s" % name)
            return tuple(s)

        def fit(name: str, kind: str, arr: Optional[NDArray], shape: tuple) -> Any:
            if arr is None:
                return None
            if arr.shape == shape:
                return arr
            if name not in kwargs and not partial_shaping:
                raise MXNetError(
                    "reshape: the shape of unspecified array %s:%s changed from %s to %s; "
                    "set partial_shaping=True if this is intended"
                    % (kind, name, shape_str(arr.shape), shape_str(shape)))
            n = int(np.prod(shape, dtype=np.int64))
            if n > arr.size:
                if not allow_up_sizing:
                    raise MXNetError(
                        "reshape: new shape of %s:%s %s is larger than the original %s; "
                        "set allow_up_sizing=True to allocate new arrays"
                        % (kind, name, shape_str(shape), shape_str(arr.shape)))
                return _zeros(shape, arr._data.dtype, self._ctx)
            return NDArray(arr._chunk, arr._ctx, arr._data.reshape(-1)[:n].reshape(shape))

        args, grads, aux = [], [], []
        for name, a, g in zip(self._arg_names, self.arg_arrays, self.grad_arrays):
            s = new_shape(name)
            args.append(fit(name, "arg", a, s))
            grads.append(fit(name, "grad", g, s) if g is not None else None)
        for name, a in zip(self._aux_names, self.aux_arrays):
            aux.append(fit(name, "aux", a, new_shape(name)))
        return Executor(sym, self._ctx, args, grads, self._grad_reqs, aux,
                        self._group2ctx, shared_exec=self)

    # ------------------------------------------------------------------ reporting
    def debug_str(self) -> str:
        """The execution plan: each step with its inputs, outputs and their storage
        (block, in-place source), the segments, and the totals ``Total N MB allocated,
        M MB naive`` (planned bytes vs one buffer per internal entry)."""
        g, plan = self._graph, self._plan
        lines = ["Symbol Outputs:"]
        for i, h in enumerate(g.heads):
            lines.append("\toutput[%d]=%s(%d)" % (i, h.node.name, h.index))
        for v in g.variables:
            lines.append("Variable:%s" % v.name)

        def where(k: Any) -> str:
            if isinstance(k[0], str):
                return "%s[%d]" % k
            name = g.entry_name(k)
            sid = plan.storage.get(k)
            if sid is None:
                return "%s (external)" % name
            extra = ""
            if k in plan.inplace:
                extra = ", in-place of %s" % g.entry_name(plan.inplace[k])
            return "%s %s %s (block #%d%s)" % (name, shape_str(g.shapes[k]),
                                               dtype_name(g.dtypes[k]), sid, extra)
        for label, part in (("forward", self._steps[0]), ("backward", self._steps[1])):
            if not part:
                continue
            lines.append("==================== %s: %d steps in %d segments"
                         % (label, len(part), len(self._segments[0 if label == "forward"
                                                                 else 1])))
            for s in part:
                lines.append("--------------------")
                if s.kind == "op":
                    lines.append("Op:%s, Name=%s" % (s.node.op.name, s.node.name))
                else:
                    lines.append("Op:%s" % s.kind)
                lines.append("Inputs:")
                for i, k in enumerate(s.reads):
                    lines.append("\targ[%d]=%s" % (i, where(k)))
                if s.kind == "op":
                    attrs = [(k, v) for k, v in sorted(s.node.attrs.items())
                             if not k.startswith("__")]
                    if attrs:
                        lines.append("Attrs:")
                        lines.extend("\t%s=%s" % kv for kv in attrs)
                lines.append("Outputs:")
                for i, k in enumerate(s.writes):
                    lines.append("\tout[%d]=%s" % (i, where(k)))
        mb = 1 << 20
        lines.append("Total %.3f MB allocated, %.3f MB naive (%d bytes in %d blocks for %d "
                     "entries; %d bytes naive)"
                     % (plan.internal_bytes / mb, plan.naive_bytes / mb, plan.internal_bytes,
                        len(plan.sizes), plan.num_entries, plan.naive_bytes))
        return "\n".join(lines) + "\n"

    @property
    def num_steps(self) -> tuple:
        """(forward steps, backward steps) of the compiled plan."""
        return len(self._steps[0]), len(self._steps[1])


# ----------------------------------------------------------------------------- binding
def _grad_req_list(grad_req: Any, names: list) -> list:
    if isinstance(grad_req, str):
        reqs = [grad_req] * len(names)
    elif isinstance(grad_req, (list, tuple)):
        if len(grad_req) != len(names):
            raise MXNetError("grad_req has %d entries for %d arguments (%s)"
                             % (len(grad_req), len(names), ", ".join(names)))
        reqs = list(grad_req)
    elif isinstance(grad_req, dict):
        unknown = [k for k in grad_req if k not in names]
        if unknown:
            raise MXNetError("grad_req names unknown arguments %s (arguments: %s)"
                             % (", ".join(unknown), ", ".join(names)))
        reqs = [grad_req.get(n, "null") for n in names]
    else:
        raise MXNetError("grad_req must be a str, list or dict, got %s"
                         % type(grad_req).__name__)
    for n, r in zip(names, reqs):
        if r not in GRAD_REQS:
            raise MXNetError("grad_req of %s is %r; it must be one of %s"
                             % (n, r, ", ".join(GRAD_REQS)))
    return reqs


def _array_list(what: str, given: Any, names: list, required: bool) -> list:
    """Arrays in ``names`` order from a list or a dict; missing entries are ``None``
    (an error when ``required``)."""
    if given is None:
        given = [] if not required else None
        if given is None:
            if names:
                raise MXNetError("bind: %s missing for %s" % (what, ", ".join(names)))
            return []
        return [None] * len(names)
    if isinstance(given, dict):
        unknown = [k for k in given if k not in names]
        if unknown and what != "args_grad":
            raise MXNetError("bind: %s names %s, which the symbol does not have (expected: %s)"
                             % (what, ", ".join(map(repr, unknown)), ", ".join(names)))
        out = [given.get(n) for n in names]
    elif isinstance(given, (list, tuple)):
        if len(given) != len(names):
            raise MXNetError("bind: %d arrays in %s for %d names (%s)"
                             % (len(given), what, len(names), ", ".join(names)))
        out = list(given)
    else:
        raise MXNetError("bind: %s must be a list or a dict of NDArrays, got %s"
                         % (what, type(given).__name__))
    for n, a in zip(names, out):
        if a is None:
            if required:
                raise MXNetError("bind: %s is missing argument %r" % (what, n))
        elif not isinstance(a, NDArray):
            raise MXNetError("bind: %s[%r] must be an NDArray, got %s"
                             % (what, n, type(a).__name__))
    return out


def bind(symbol: Any, ctx: Any, args: Any, args_grad: Any = None, grad_req: Any = "write",
         aux_states: Any = None, group2ctx: Optional[dict] = None,
         shared_exec: Optional[Executor] = None) -> Executor:
    """``Symbol.bind(ctx, args, args_grad=None, grad_req='write', aux_states=None,
    group2ctx=None, shared_exec=None)``: bind the given arrays (lists in
    ``list_arguments``/``list_auxiliary_states`` order, or dicts) and compile. Arguments
    without a gradient array get ``grad_req 'null'``."""
    ctx = as_context(ctx)
    names = symbol.list_arguments()
    aux_names = symbol.list_auxiliary_states()
    arg_list = _array_list("args", args, names, True)
    aux_list = _array_list("aux_states", aux_states, aux_names, True)
    reqs = _grad_req_list(grad_req, names)
    grads = _array_list("args_grad", args_grad, names, False)
    reqs = ["null" if g is None else r for g, r in zip(grads, reqs)]
    for n, a, gr in zip(names, arg_list, grads):
        if gr is not None and (gr.shape != a.shape):
            raise MXNetError("bind: gradient array of %s has shape %s, the argument %s"
                             % (n, shape_str(gr.shape), shape_str(a.shape)))
    grads = [g if r != "null" else None for g, r in zip(grads, reqs)]
    return Executor(symbol, ctx, arg_list, grads, reqs, aux_list, group2ctx, shared_exec)


def simple_bind(symbol: Any, ctx: Any, grad_req: Any = "write", type_dict: Optional[dict] = None,
                stype_dict: Optional[dict] = None, group2ctx: Optional[dict] = None,
                shared_arg_names: Optional[list] = None, shared_exec: Optional[Executor] = None,
                shared_buffer: Optional[dict] = None, **kwargs: Any) -> Executor:
    """``Symbol.simple_bind(ctx, grad_req='write', type_dict=None, stype_dict=None,
    group2ctx=None, shared_arg_names=None, shared_exec=None, shared_buffer=None,
    **shapes)``: infer every argument's shape and dtype from the given ones, allocate
    arguments, gradients (unless ``null``) and auxiliary states (zero-filled), and bind.
    With ``shared_exec``, arguments in ``shared_arg_names`` (and their gradients) are
    that executor's arrays; ``shared_buffer`` (name -> NDArray) lends storage to the
    other arguments and receives the arrays it had to allocate."""
    ctx = as_context(ctx)
    names = symbol.list_arguments()
    aux_names = symbol.list_auxiliary_states()
    inputs = set(names) | set(aux_names)
    shapes = {}
    for k, v in kwargs.items():
        if k not in inputs:
            continue  # MXNet ignores shapes of names the symbol does not have
        try:
            shapes[k] = tuple(int(d) for d in v)
        except TypeError:
            raise MXNetError("simple_bind: shape of %s must be a tuple of ints, got %r"
                             % (k, v)) from None
    dtypes = {k: normalize_dtype(v) for k, v in (type_dict or {}).items() if k in inputs}
    nodes = post_order(symbol.outputs)
    svals, tvals = infer_graph(nodes, shapes, dtypes)
    var = {}
    for n in nodes:
        if n.op is None:
            var.setdefault(n.name, n)
    unknown = [n for n in names + aux_names if (id(var[n]), 0) not in svals]
    if unknown:
        raise MXNetError("simple_bind: cannot infer the shapes of %s from the given shapes "
                         "(%s); give them as keyword arguments"
                         % (", ".join(unknown), ", ".join("%s=%s" % (k, shape_str(v))
                                                         for k, v in shapes.items())
                            or "none"))
    reqs = _grad_req_list(grad_req, names)
    shared_names = set(shared_arg_names or ())
    s_args = shared_exec.arg_dict if shared_exec is not None else {}
    s_grads = shared_exec.grad_dict if shared_exec is not None else {}

    def spec(n: str) -> tuple:
        k = (id(var[n]), 0)
        return svals[k], tvals[k]

    args, grads, aux = [], [], []
    for n, r in zip(names, reqs):
        shape, dt = spec(n)
        a = g = None
        if n in shared_names and n in s_args and s_args[n].shape == shape \
                and s_args[n]._data.dtype == dt:
            a = s_args[n]
            g = s_grads.get(n)
        elif shared_buffer is not None and n not in shared_names:
            b = shared_buffer.get(n)
            size = int(np.prod(shape, dtype=np.int64))
            if b is not None and b._data.dtype == dt and b.size >= size:
                a = b if b.shape == shape else \
                    NDArray(b._chunk, b._ctx, b._data.reshape(-1)[:size].reshape(shape))
            else:
                a = _zeros(shape, dt, ctx)
                shared_buffer[n] = a
        if a is None:
            a = _zeros(shape, dt, ctx)
        if r != "null" and (g is None or g.shape != shape):
            g = _zeros(shape, dt, ctx)
        args.append(a)
        grads.append(g if r != "null" else None)
    for n in aux_names:
        shape, dt = spec(n)
        sa = shared_exec.aux_dict.get(n) if shared_exec is not None else None
        if sa is not None and n in shared_names and sa.shape == shape:
            aux.append(sa)
        else:
            aux.append(_zeros(shape, dt, ctx))
    return Executor(symbol, ctx, args, grads, reqs, aux, group2ctx, shared_exec)
