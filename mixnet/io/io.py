"""``mxnet.io.io``: the module path under which MXNet 1.9 defines its iterator classes;
kept so that code importing from it (``from mxnet.io.io import DataBatch``) still runs."""
from .base import DataBatch, DataDesc, DataIter
from .mnist import MNISTIter
from .mxdataiter import MXDataIter
from .ndarray_iter import NDArrayIter
from .text import CSVIter, LibSVMIter
from .wrappers import PrefetchingIter, ResizeIter

__all__ = ["DataDesc", "DataBatch", "DataIter", "NDArrayIter", "MXDataIter", "CSVIter",
           "LibSVMIter", "MNISTIter", "ResizeIter", "PrefetchingIter"]
