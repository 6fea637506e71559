"""Graph passes and the executor (``mx.executor``): shape/type inference (``infer``), the
gradient pass (``gradient``), compilation and memory planning (``plan``), and binding and
running symbols (``executor``)."""
from .executor import Executor, bind, simple_bind
from .plan import memory_usage

__all__ = ["Executor", "bind", "simple_bind", "memory_usage"]
