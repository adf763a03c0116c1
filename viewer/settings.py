"""Settings remembered between runs (QSettings), with types and defaults in one place."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

from .model.interaction import WHEEL_CONVENTIONS
from .render.zoom_renderer import DEFAULT_CACHE_BYTES

DEVICES = ("auto", "cpu", "cuda", "mps")
MAX_RECENT = 10


def _as_bool(v, default: bool) -> bool:
    if v is None:
        return default
    if isinstance(v, bool):
        return v
    return str(v).lower() in ("1", "true", "yes")


class ReadOnly:
    """A QSettings stand-in that reads ``base`` and keeps writes in memory: a headless
    ``--screenshot`` run sees the user's choices but never changes them (compare mode,
    window size, recent files)."""

    def __init__(self, base) -> None:
        self.base = base
        self._written: dict = {}

    def value(self, key, default=None):
        if key in self._written:
            return self._written[key]
        return self.base.value(key, default)

    def setValue(self, key, value) -> None:  # noqa: N802 (QSettings' name)
        self._written[key] = value

    def sync(self) -> None:
        pass


class Settings:
    """Typed access to the viewer's QSettings.  Pass a QSettings (tests use an INI
    file in a temporary folder); None = the user's MetaZoom settings."""

    def __init__(self, qsettings: QSettings | None = None) -> None:
        self.q = qsettings if qsettings is not None else QSettings(QSettings.IniFormat, QSettings.UserScope, "MetaZoom", "MetaZoom")

    def sync(self) -> None:
        self.q.sync()

    # -- interaction and display ---------------------------------------------
    @property
    def wheel_convention(self) -> str:
        v = str(self.q.value("interaction/wheel", "zoom"))
        return v if v in WHEEL_CONVENTIONS else "zoom"

    @wheel_convention.setter
    def wheel_convention(self, v: str) -> None:
        if v not in WHEEL_CONVENTIONS:
            raise ValueError(f"wheel convention must be one of {WHEEL_CONVENTIONS}")
        self.q.setValue("interaction/wheel", v)

    @property
    def radiological(self) -> bool:
        return _as_bool(self.q.value("display/radiological"), True)

    @radiological.setter
    def radiological(self, v: bool) -> None:
        self.q.setValue("display/radiological", bool(v))

    @property
    def compare_mode(self) -> str:
        return str(self.q.value("display/compare", "side_by_side"))

    @compare_mode.setter
    def compare_mode(self, v: str) -> None:
        self.q.setValue("display/compare", v)

    @property
    def data_consistent(self) -> bool:
        """Show the Meta-SRGAN frames projected onto the acquired data (the consistency
        guard's data-consistent rendering); off by default: it costs frame time."""
        return _as_bool(self.q.value("display/data_consistent"), False)

    @data_consistent.setter
    def data_consistent(self, v: bool) -> None:
        self.q.setValue("display/data_consistent", bool(v))

    # -- engine ---------------------------------------------------------------
    @property
    def device(self) -> str:
        v = str(self.q.value("engine/device", "auto"))
        return v if v in DEVICES else "auto"

    @device.setter
    def device(self, v: str) -> None:
        if v not in DEVICES:
            raise ValueError(f"device must be one of {DEVICES}")
        self.q.setValue("engine/device", v)

    @property
    def weights(self) -> str:
        """Meta-SRGAN weights chosen in the viewer ("" = the bundled ones)."""
        return str(self.q.value("engine/weights", "") or "")

    @weights.setter
    def weights(self, v) -> None:
        self.q.setValue("engine/weights", str(v or ""))

    @property
    def cache_mb(self) -> int:
        try:
            return max(64, int(self.q.value("engine/cache_mb", DEFAULT_CACHE_BYTES // 2**20)))
        except (TypeError, ValueError):
            return DEFAULT_CACHE_BYTES // 2**20

    @cache_mb.setter
    def cache_mb(self, v: int) -> None:
        self.q.setValue("engine/cache_mb", max(64, int(v)))

    @property
    def store_mb(self) -> int:
        """Memory for every slice's features kept compactly (float16) in the background
        (default: a quarter of the machine's memory; 0 = keep only the float32 cache)."""
        from .render.compact import default_store_bytes

        default = default_store_bytes() // 2**20
        try:
            return max(0, int(self.q.value("engine/store_mb", default)))
        except (TypeError, ValueError):
            return default

    @store_mb.setter
    def store_mb(self, v: int) -> None:
        self.q.setValue("engine/store_mb", max(0, int(v)))

    # -- files ----------------------------------------------------------------
    @property
    def last_folder(self) -> str:
        return str(self.q.value("files/last_folder", str(Path.home())))

    @last_folder.setter
    def last_folder(self, v) -> None:
        self.q.setValue("files/last_folder", str(v))

    @property
    def recent_files(self) -> list[str]:
        v = self.q.value("files/recent", [])
        if isinstance(v, str):
            v = [v] if v else []
        return [str(p) for p in (v or [])][:MAX_RECENT]

    def add_recent(self, path) -> list[str]:
        p = str(Path(path).resolve())
        recent = [r for r in self.recent_files if r != p]
        recent.insert(0, p)
        self.q.setValue("files/recent", recent[:MAX_RECENT])
        return recent[:MAX_RECENT]

    def clear_recent(self) -> None:
        self.q.setValue("files/recent", [])

    # -- window ---------------------------------------------------------------
    def geometry(self):
        return self.q.value("window/geometry")

    def set_geometry(self, blob) -> None:
        self.q.setValue("window/geometry", blob)
