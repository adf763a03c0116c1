"""Cine: C plays / pauses through the slices, ] and [ change the rate."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from ..model.cine import Cine


class CinePlayer(QObject):
    changed = Signal(str)  # a line for the status bar

    def __init__(self, win) -> None:
        super().__init__(win)
        self.win = win
        self.cine = Cine()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._tick)

    @property
    def playing(self) -> bool:
        return self.timer.isActive()

    def toggle(self) -> None:
        if self.playing:
            self.stop()
        elif self.win.live.scan is not None and self.win.state.n_slices > 1:
            self.timer.start(self.cine.interval_ms)
            self.changed.emit(f"Cine: playing at {self.cine.fps} fps (C stops, ] faster, [ slower)")

    def stop(self) -> None:
        if self.playing:
            self.timer.stop()
            self.changed.emit("Cine: stopped")

    def faster(self) -> None:
        self._rate(self.cine.faster())

    def slower(self) -> None:
        self._rate(self.cine.slower())

    def _rate(self, fps: int) -> None:
        if self.playing:
            self.timer.setInterval(self.cine.interval_ms)
        self.changed.emit(f"Cine: {fps} fps" + (" (playing)" if self.playing else " (C plays)"))

    def _tick(self) -> None:
        s = self.win.state
        if self.win.live.scan is None:
            self.stop()
            return
        s.set_index(self.cine.next_index(s.index, s.n_slices))
