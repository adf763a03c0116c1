"""A tiny evented state: set fields, listeners hear which ones changed (napari-style)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable

Listener = Callable[[frozenset], None]


class Evented:
    """Fields listed in ``FIELDS`` are set through ``update``; every listener is then
    called once with the frozenset of names whose value really changed."""

    FIELDS: tuple[str, ...] = ()

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._blocked = 0

    def connect(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def disconnect(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    @contextmanager
    def blocked(self):
        """Change fields without telling anyone (to stop a widget hearing its own echo)."""
        self._blocked += 1
        try:
            yield
        finally:
            self._blocked -= 1

    def update(self, **changes) -> frozenset:
        changed = set()
        for name, value in changes.items():
            if name not in self.FIELDS:
                raise AttributeError(f"{type(self).__name__} has no field {name!r}")
            if getattr(self, name) != value:
                object.__setattr__(self, name, value)
                changed.add(name)
        changed = frozenset(changed)
        if changed and not self._blocked:
            for listener in list(self._listeners):
                listener(changed)
        return changed
