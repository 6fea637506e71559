"""The data-iterator protocol of ``mx.io``: ``DataDesc``, ``DataBatch`` and ``DataIter``.

MXNet conventions kept: ``DataDesc`` is a ``(name, shape)`` namedtuple carrying ``dtype``
and ``layout`` as extra attributes (so code that unpacks ``name, shape = desc`` keeps
working), a batch is a ``DataBatch`` of *lists* of arrays with ``pad`` counting the filler
samples at its end, and ``DataIter.next()`` is built from ``iter_next()`` + ``getdata()`` /
``getlabel()`` / ``getpad()`` / ``getindex()`` so subclasses may override either level.
"""
from __future__ import annotations

from collections import namedtuple
from typing import Any, Optional, Sequence

import numpy as np

__all__ = ["DataDesc", "DataBatch", "DataIter"]


class DataDesc(namedtuple("DataDesc", ["name", "shape"])):
    """``mx.io.DataDesc(name, shape, dtype=numpy.float32, layout='NCHW')``: the name, shape,
    element type and axis layout of one data or label input.

    It is a ``(name, shape)`` namedtuple, so it compares, unpacks and indexes like the plain
    pairs that ``Module.bind`` also accepts; ``dtype`` and ``layout`` are attributes on top.
    ``layout`` names the axes (``'N'`` is the batch axis; ``'NTC'`` for sequences)."""

    def __new__(cls, name: str, shape: Sequence[int], dtype: Any = np.float32,
                layout: Optional[str] = "NCHW") -> "DataDesc":
        ret = super().__new__(cls, name, shape)
        ret.dtype = dtype
        ret.layout = layout
        return ret

    def __repr__(self) -> str:
        return "DataDesc[%s,%s,%s,%s]" % (self.name, self.shape, self.dtype, self.layout)

    def __getnewargs__(self):
        # pickling/copying must keep dtype and layout, which live outside the tuple
        return (self.name, self.shape, self.dtype, self.layout)

    @staticmethod
    def get_batch_axis(layout: Optional[str]) -> int:
        """``DataDesc.get_batch_axis(layout)``: the index of ``'N'`` in ``layout`` (0 when
        ``layout`` is ``None``; -1 when the layout has no batch axis, as ``str.find``)."""
        if layout is None:
            return 0
        return layout.find("N")

    @staticmethod
    def get_list(shapes: Sequence, types: Optional[Sequence] = None) -> list:
        """``DataDesc.get_list(shapes, types)``: ``DataDesc``s from ``(name, shape)`` pairs,
        with dtypes looked up by name in the ``(name, dtype)`` pairs ``types`` (float32
        when ``types`` is ``None``)."""
        if types is None:
            return [DataDesc(x[0], x[1]) for x in shapes]
        type_dict = dict(types)
        missing = [x[0] for x in shapes if x[0] not in type_dict]
        if missing:
            from ..base import MXNetError
            raise MXNetError("DataDesc.get_list: no dtype given in types for %s (types has %s)"
                             % (missing, sorted(type_dict)))
        return [DataDesc(x[0], x[1], type_dict[x[0]]) for x in shapes]


class DataBatch:
    """``mx.io.DataBatch(data, label=None, pad=None, index=None, bucket_key=None,
    provide_data=None, provide_label=None)``: one batch, as lists of NDArrays.

    ``pad`` is the number of samples at the end of the batch that are fillers (Module's
    ``predict`` drops them), ``index`` the sample indices when the iterator knows them,
    ``bucket_key``/``provide_data``/``provide_label`` let bucketing iterators describe
    batches whose shapes differ from the iterator's defaults."""

    def __init__(self, data: Optional[Sequence], label: Optional[Sequence] = None,
                 pad: Optional[int] = None, index: Any = None, bucket_key: Any = None,
                 provide_data: Optional[list] = None, provide_label: Optional[list] = None):
        if data is not None and not isinstance(data, (list, tuple)):
            raise TypeError("DataBatch: data must be a list of NDArrays, got %s"
                            % type(data).__name__)
        if label is not None and not isinstance(label, (list, tuple)):
            raise TypeError("DataBatch: label must be a list of NDArrays, got %s"
                            % type(label).__name__)
        self.data = data
        self.label = label
        self.pad = pad
        self.index = index
        self.bucket_key = bucket_key
        self.provide_data = provide_data
        self.provide_label = provide_label

    def __str__(self) -> str:
        data_shapes = [d.shape for d in self.data] if self.data is not None else None
        label_shapes = [l.shape for l in self.label] if self.label else None
        return "%s: data shapes: %s label shapes: %s" % (type(self).__name__, data_shapes,
                                                         label_shapes)

    __repr__ = __str__


class DataIter:
    """``mx.io.DataIter(batch_size=0)``: the base class of all data iterators.

    Iterating yields ``DataBatch``es until ``StopIteration``; ``reset()`` starts the next
    epoch. Subclasses implement either ``next()`` directly or the finer protocol
    ``iter_next()`` (advance, say whether a batch exists) plus ``getdata()``,
    ``getlabel()``, ``getpad()`` and ``getindex()``, from which the default ``next()`` is
    built. ``provide_data`` / ``provide_label`` (lists of ``DataDesc``) may be properties
    of a subclass or plain attributes assigned in its ``__init__``."""

    def __init__(self, batch_size: int = 0):
        self.batch_size = batch_size

    def __iter__(self) -> "DataIter":
        return self

    def reset(self) -> None:
        """Go back to the start of the data (the next epoch)."""

    def next(self) -> DataBatch:
        """The next ``DataBatch``; raises ``StopIteration`` at the end of the epoch."""
        if self.iter_next():
            return DataBatch(data=self.getdata(), label=self.getlabel(), pad=self.getpad(),
                             index=self.getindex())
        raise StopIteration

    def __next__(self) -> DataBatch:
        return self.next()

    def iter_next(self) -> bool:
        """Advance to the next batch; ``False`` at the end of the epoch."""
        raise NotImplementedError("%s implements neither next() nor iter_next()"
                                  % type(self).__name__)

    def getdata(self) -> list:
        """The data arrays of the current batch."""
        raise NotImplementedError("%s does not implement getdata()" % type(self).__name__)

    def getlabel(self) -> list:
        """The label arrays of the current batch."""
        raise NotImplementedError("%s does not implement getlabel()" % type(self).__name__)

    def getindex(self) -> Any:
        """The sample indices of the current batch (``None`` when unknown)."""
        return None

    def getpad(self) -> int:
        """The number of filler samples at the end of the current batch."""
        raise NotImplementedError("%s does not implement getpad()" % type(self).__name__)

    # Plain attributes in MXNet: subclasses often assign them in __init__, so the base
    # offers a settable property that only complains when nothing was provided.
    @property
    def provide_data(self) -> list:
        """The ``DataDesc``s (name, shape, dtype, layout) of the data of each batch."""
        try:
            return self.__dict__["_provide_data"]
        except KeyError:
            raise AttributeError("%s does not define provide_data"
                                 % type(self).__name__) from None

    @provide_data.setter
    def provide_data(self, value: list) -> None:
        self.__dict__["_provide_data"] = value

    @property
    def provide_label(self) -> list:
        """The ``DataDesc``s of the labels of each batch."""
        try:
            return self.__dict__["_provide_label"]
        except KeyError:
            raise AttributeError("%s does not define provide_label"
                                 % type(self).__name__) from None

    @provide_label.setter
    def provide_label(self, value: list) -> None:
        self.__dict__["_provide_label"] = value
