"""Graph passes and the executor (``mx.executor``): shape/type inference (``infer``), the
gradient pass (``gradient``), element-wise fusion (``fusion``), mirroring (``mirror``),
compilation and memory planning (``plan``), and binding and running symbols
(``executor``). Importing the passes registers the ops they create (``_FusedElemwise``,
``_mirror_BatchNorm``), so graphs naming them load like any other."""
from . import fusion, mirror  # noqa: F401 - registers the passes' ops
from .executor import Executor, bind, simple_bind
from .plan import memory_usage

__all__ = ["Executor", "bind", "simple_bind", "memory_usage"]
