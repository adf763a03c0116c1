"""Which Meta-SRGAN engine (weights file, device) the window uses, as a choice moves
through loading.  No Qt: the window starts the loads and acts on what this says.

One choice is loaded at a time, in the background.  The engine in use keeps rendering
until a new one works; the newest request wins (an older load that finishes later is
dropped); a menu choice is saved only once it works, and only what the menu changed;
at start-up, a remembered device or weights file that no longer works falls back to
the defaults (auto, bundled) instead of no SR at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Load:
    """One load to run: its number (the newest counts) and what it loads."""

    generation: int
    weights: Path
    device: str

    @property
    def choice(self) -> tuple[Path, str]:
        return (self.weights, self.device)


@dataclass(frozen=True)
class Loaded:
    """An engine that loaded and is to be used: ``save`` names the settings ("device",
    "weights") to write now; ``menus_changed``: the selection moved (sync the menus)."""

    save: frozenset
    menus_changed: bool


@dataclass(frozen=True)
class Failed:
    """What a failed load means.  ``outcome``:

    - "stale": a newer choice is loading; nothing changes;
    - "kept": a switch failed, the engine in use stays (the selection went back to it);
    - "retry": a remembered device or weights file failed at start-up, the default is
      tried instead (``retry`` is that load; ``note`` says what happened, for
      ``note_ms`` on the status bar);
    - "unavailable": no engine at all; the viewer goes on with bicubic only.
    """

    outcome: str
    retry: Load | None = None
    note: str = ""
    note_ms: int = 0


class EngineChoice:
    """The selection (``weights``, ``device``), the engine in use (``in_use``) and why
    there is none (``error``).  ``from_settings``: the weights came from the settings
    (not this run's command line, not the user's menu choice), so a file that moved
    falls back to ``bundled`` instead of failing."""

    def __init__(self, weights: Path, device: str, bundled: Path, from_settings: bool = False) -> None:
        self.weights = Path(weights)
        self.device = device
        self.bundled = Path(bundled)
        self.from_settings = bool(from_settings)
        self.in_use: tuple[Path, str] | None = None
        self.error: str | None = None
        self._generation = 0
        self._remember: frozenset = frozenset()

    def start(self, remember: frozenset = frozenset()) -> Load:
        """A load of the selection; ``remember``: the settings to save once it works
        (choices made while an older load was in flight are saved with the newest)."""
        self._generation += 1
        self._remember |= frozenset(remember)
        return Load(self._generation, self.weights, self.device)

    def choose_device(self, device: str) -> Load:
        """Settings > Compute device: saved once the engine works there."""
        self.device = device
        return self.start(frozenset({"device"}))

    def choose_weights(self, path: Path | None) -> Load:
        """Settings > Meta-SRGAN weights (None: the bundled ones): saved once they load;
        the user's own choice never silently falls back."""
        self.weights = Path(path).expanduser() if path else self.bundled
        self.from_settings = False
        return self.start(frozenset({"weights"}))

    def given(self, choice: tuple[Path, str]) -> Loaded:
        """An engine handed in already loaded (tests, the benchmark)."""
        return self._use(choice, stale=False)

    def loaded(self, load: Load) -> Loaded | None:
        """``load`` worked: what to do, or None when it is dropped (a newer choice is
        loading and an engine is in use).  A stale engine with none in use is used until
        the newer choice works: if that fails, or already has, the window still has
        Meta-SRGAN."""
        stale = load.generation != self._generation
        if stale and self.in_use is not None:
            return None
        return self._use(load.choice, stale)

    def _use(self, choice: tuple[Path, str], stale: bool) -> Loaded:
        newer_failed = self.error is not None
        self.error = None
        self.in_use = choice
        if stale:
            if newer_failed:  # the selection shows what runs
                self.weights, self.device = choice
            return Loaded(frozenset(), menus_changed=newer_failed)
        self.weights, self.device = choice
        save, self._remember = self._remember, frozenset()  # this load's, and older ones
        self.from_settings = False
        return Loaded(save, menus_changed=True)

    def failed(self, load: Load, reason: str) -> Failed:
        """``load`` failed for ``reason``: what happens next."""
        if load.generation != self._generation:
            return Failed("stale")
        self._remember = frozenset()
        if self.in_use is not None:
            self.weights, self.device = self.in_use
            return Failed("kept")
        if load.device != "auto":  # e.g. the GPU a remembered setting names is gone
            self.device = "auto"
            return Failed("retry", self.start(), f"Meta-SRGAN on {load.device} failed ({reason}); trying auto", 10000)
        if self.from_settings and load.weights != self.bundled:  # a remembered file moved or broke
            self.weights = self.bundled
            return Failed("retry", self.start(),
                          f"The remembered weights {load.weights.name} failed ({reason}); using the bundled ones", 15000)
        self.error = reason
        return Failed("unavailable")
