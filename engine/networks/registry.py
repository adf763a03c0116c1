"""A small registry: a network is built from a ``{"name": ..., "args": {...}}`` spec,
and that spec travels with the weights, so loading needs no config file."""

from __future__ import annotations

from typing import Callable

import torch.nn as nn

_REGISTRY: dict[str, Callable[..., nn.Module]] = {}


def register(name: str):
    def wrap(cls):
        if name in _REGISTRY:
            raise ValueError(f"network {name!r} registered twice")
        _REGISTRY[name] = cls
        cls.registry_name = name
        return cls

    return wrap


def make(spec: dict) -> nn.Module:
    """Build a network from ``{"name": str, "args": dict}``."""
    if not isinstance(spec, dict) or "name" not in spec:
        raise ValueError(f"a network spec is {{'name': ..., 'args': {{...}}}}, got {spec!r}")
    name = spec["name"]
    if name not in _REGISTRY:
        raise ValueError(f"unknown network {name!r}; known: {sorted(_REGISTRY)}")
    return _REGISTRY[name](**spec.get("args", {}))


def names() -> list[str]:
    return sorted(_REGISTRY)
