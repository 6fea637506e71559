"""``mx.registry``: name registries for the pluggable class families (MXNet 1.9 API).

Initializers, metrics and optimizers are each looked up by a case-insensitive name, so
that a string (or the JSON a model file stores) can stand for a class. One
:class:`Registry` per base class holds that table; MXNet's functional API
(:func:`get_register_func`, :func:`get_alias_func`, :func:`get_create_func`,
:func:`get_registry`) hands out the bound operations of the registry of a base class,
creating it on first use.

``create`` takes what MXNet's registries take: an instance (returned as is), a name (extra
arguments go to the constructor), a dict or keyword set naming the class under the
registry's nickname (``{'initializer': 'xavier', 'magnitude': 2}``), or the JSON forms
``'["name", {kwargs}]'`` and ``'{"<nickname>": "name", ...}'``. Every failure raises the
registry's error class (an :class:`~mixnet.base.MXNetError` subclass), and an unknown name
lists the known ones.
"""
from __future__ import annotations

import json
import warnings
from typing import Any, Callable, Dict, Optional

from .base import MXNetError, string_types

__all__ = ["Registry", "registry_for", "get_registry", "get_register_func",
           "get_alias_func", "get_create_func"]


class Registry:
    """``Registry(base_class, nickname, error=MXNetError)``: the lower-case name -> class
    table of one class family (mixnet's building block under MXNet's ``get_*_func``).
    ``nickname`` names the family in messages and is the keyword :meth:`create` reads the
    class name from; ``error`` is the exception type raised for bad input (a family's own
    ``MXNetError`` subclass, e.g. ``InitError``). ``entries`` is the live table."""

    def __init__(self, base_class: type, nickname: str,
                 error: type = MXNetError) -> None:
        self.base_class = base_class
        self.nickname = nickname
        self.error = error
        self.entries: Dict[str, type] = {}

    def names(self) -> list:
        """The registered names, sorted (what error messages list)."""
        return sorted(self.entries)

    def add(self, name: str, klass: type) -> None:
        """Bind the lower-case ``name`` to ``klass`` without checking its type; rebinding a
        taken name warns (``UserWarning``), as MXNet does, and the new class wins."""
        name = name.lower()
        old = self.entries.get(name)
        if old is not None:
            # stacklevel 3: past this method and register/alias, to the decorated class
            warnings.warn("New %s %s.%s registered with name %s is overriding existing %s "
                          "%s.%s" % (self.nickname, klass.__module__, klass.__name__, name,
                                     self.nickname, old.__module__, old.__name__),
                          UserWarning, stacklevel=3)
        self.entries[name] = klass

    def register(self, klass: type, name: Optional[str] = None) -> type:
        """``register(klass, name=None)``: register a subclass of the family's base class
        under ``name`` (default: its class name), lower-cased. Usable as a class
        decorator; returns ``klass``."""
        if not (isinstance(klass, type) and issubclass(klass, self.base_class)):
            raise self.error("can only register subclasses of %s, got %r"
                             % (self.base_class.__name__, klass))
        self.add(name if name is not None else klass.__name__, klass)
        return klass

    def alias(self, *aliases: str) -> Callable[[type], type]:
        """``alias(*aliases)``: a class decorator registering the class under each extra
        name in ``aliases`` (e.g. ``@alias('acc')``); the class type is checked by the
        ``register`` decorator that normally sits above it."""
        def deco(klass: type) -> type:
            for name in aliases:
                self.add(name, klass)
            return klass
        return deco

    def find(self, name: Any) -> type:
        """The class registered as ``name`` (case-insensitive); an unknown name raises the
        family's error listing the known names."""
        klass = self.entries.get(name.lower()) if isinstance(name, string_types) else None
        if klass is None:
            raise self.error("unknown %s %r (known: %s)"
                             % (self.nickname, name, ", ".join(self.names())))
        return klass

    def create(self, *args: Any, **kwargs: Any) -> Any:
        """``create(spec, *args, **kwargs)``: an instance from ``spec`` (or from
        ``kwargs[nickname]`` when no positional argument is given): an instance of the
        base class comes back as is, a dict is merged with ``kwargs`` and read again, a
        JSON string ``'["name", {kwargs}]'`` or ``'{...}'`` is decoded and read again, and
        a name is looked up and constructed with ``args`` and ``kwargs``."""
        # the spec is positional-only, so a constructor keyword that happens to equal the
        # nickname cannot be mistaken for it when the spec is given positionally
        if args:
            spec, args = args[0], args[1:]
        elif self.nickname in kwargs:
            spec = kwargs.pop(self.nickname)
        else:
            raise self.error("create() needs the %s: a name, JSON spec, dict or %s instance"
                             % (self.nickname, self.base_class.__name__))
        if isinstance(spec, self.base_class):
            if args or kwargs:
                raise self.error("create(%r) got an instance; extra arguments %r %r cannot "
                                 "be applied" % (spec, args, kwargs))
            return spec
        if isinstance(spec, dict):
            return self.create(**dict(spec, **kwargs))
        if not isinstance(spec, string_types):
            raise self.error("%s must be a name, JSON string, dict or %s, got %s"
                             % (self.nickname, self.base_class.__name__,
                                type(spec).__name__))
        text = spec.strip()
        if text.startswith("[") or text.startswith("{"):
            return self._create_from_json(text, args, kwargs)
        return self.find(text)(*args, **kwargs)

    def _create_from_json(self, text: str, args: tuple, kwargs: dict) -> Any:
        """The JSON branch of :meth:`create`: the spec must carry all the arguments."""
        if args or kwargs:
            raise self.error("create(%r): a JSON spec takes no extra arguments" % text)
        try:
            spec = json.loads(text)
        except ValueError as e:
            raise self.error("%s JSON %r cannot be parsed: %s"
                             % (self.nickname, text, e)) from None
        if isinstance(spec, dict):
            return self.create(**spec)
        if (not isinstance(spec, list) or len(spec) != 2
                or not isinstance(spec[0], string_types) or not isinstance(spec[1], dict)):
            raise self.error("%s JSON %r must be [name, {kwargs}]" % (self.nickname, text))
        return self.create(spec[0], **spec[1])


# one registry per base class, so every get_*_func call for a family shares its table
_REGISTRIES: Dict[type, Registry] = {}


def registry_for(base_class: type, nickname: str, error: type = MXNetError) -> Registry:
    """``registry_for(base_class, nickname, error=MXNetError)`` (mixnet's): the
    :class:`Registry` of ``base_class``, created with ``nickname`` and ``error`` on first
    use; later calls return the same registry whatever they pass."""
    reg = _REGISTRIES.get(base_class)
    if reg is None:
        reg = _REGISTRIES[base_class] = Registry(base_class, nickname, error)
    return reg


def get_registry(base_class: type) -> Dict[str, type]:
    """``mx.registry.get_registry(base_class)``: a copy of the name -> class table of
    ``base_class``'s registry (empty when nothing was registered for it)."""
    reg = _REGISTRIES.get(base_class)
    return dict(reg.entries) if reg is not None else {}


def get_register_func(base_class: type, nickname: str) -> Callable[..., type]:
    """``mx.registry.get_register_func(base_class, nickname)``: the
    ``register(klass, name=None)`` decorator of ``base_class``'s registry."""
    return registry_for(base_class, nickname).register


def get_alias_func(base_class: type, nickname: str) -> Callable[..., Callable[[type], type]]:
    """``mx.registry.get_alias_func(base_class, nickname)``: the ``alias(*aliases)``
    decorator factory of ``base_class``'s registry."""
    return registry_for(base_class, nickname).alias


def get_create_func(base_class: type, nickname: str) -> Callable[..., Any]:
    """``mx.registry.get_create_func(base_class, nickname)``: the
    ``create(*args, **kwargs)`` of ``base_class``'s registry (see :meth:`Registry.create`
    for the accepted specs)."""
    return registry_for(base_class, nickname).create
