"""Cine: play through the slices at a set rate.  No Qt (a timer calls ``next_index``)."""

from __future__ import annotations

from dataclasses import dataclass

FPS_STEPS = (1, 2, 4, 6, 8, 10, 12, 15, 20, 25, 30)
DEFAULT_FPS = 8


@dataclass
class Cine:
    """Loops forward through ``n`` slices (as Horos and OHIF do by default)."""

    fps: int = DEFAULT_FPS
    playing: bool = False

    @property
    def interval_ms(self) -> int:
        return max(1, round(1000 / self.fps))

    def next_index(self, index: int, n: int) -> int:
        return 0 if n <= 0 else (index + 1) % n

    def faster(self) -> int:
        self.fps = next((f for f in FPS_STEPS if f > self.fps), FPS_STEPS[-1])
        return self.fps

    def slower(self) -> int:
        self.fps = next((f for f in reversed(FPS_STEPS) if f < self.fps), FPS_STEPS[0])
        return self.fps
