"""mixnet: the Apache MXNet 1.x system rebuilt in Python on NumPy (and CuPy).

``import mixnet as mx`` runs MXNet 1.9 code: ``mx.nd``, ``mx.cpu()``, ``mx.random`` ...
"""
from .base import MXNetError, __version__
from . import base, context, engine, operator, util
from .context import Context, cpu, cpu_pinned, current_context, gpu, num_gpus
from . import ndarray
from . import ndarray as nd
from . import random
from . import autograd
from . import name, attribute
from .attribute import AttrScope
from . import symbol
from . import symbol as sym
from . import executor
from . import random as rnd
from . import registry
from . import io
from . import initializer
from . import initializer as init
from . import lr_scheduler
from . import optimizer
from . import metric
from . import kvstore
from . import kvstore as kv
from . import callback
from . import model
from . import module
from . import module as mod
from . import test_utils

__all__ = ["MXNetError", "__version__", "Context", "cpu", "gpu", "cpu_pinned",
           "current_context", "num_gpus", "nd", "ndarray", "engine", "context", "base",
           "operator", "autograd", "symbol", "sym", "executor", "model", "name", "attribute", "AttrScope", "random", "rnd", "test_utils", "util",
           "io", "initializer", "init", "lr_scheduler", "optimizer", "metric", "kvstore", "kv",
           "callback", "module", "mod", "registry"]
