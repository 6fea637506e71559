"""Graph passes and the executor: shape/type inference (``infer``); binding, planning
and running symbols come with ``bind``/``simple_bind``."""
