"""``mx.io``: data iterators feeding ``Module.fit`` and friends.

``DataDesc``/``DataBatch``/``DataIter`` define the protocol; ``NDArrayIter`` batches
in-memory arrays; ``CSVIter``, ``LibSVMIter`` and ``MNISTIter`` read files (the backend
iterators of MXNet, here ``MXDataIter`` subclasses); ``ResizeIter`` and
``PrefetchingIter`` wrap other iterators.
"""
from .base import DataBatch, DataDesc, DataIter
from .mnist import MNISTIter
from .mxdataiter import MXDataIter
from .ndarray_iter import NDArrayIter
from .text import CSVIter, LibSVMIter
from .wrappers import PrefetchingIter, ResizeIter
from . import io  # MXNet's module path mxnet.io.io

__all__ = ["DataDesc", "DataBatch", "DataIter", "NDArrayIter", "MXDataIter", "CSVIter",
           "LibSVMIter", "MNISTIter", "ResizeIter", "PrefetchingIter", "io"]
