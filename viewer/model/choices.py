"""Which series of a folder, which volume of a 4D file: chosen up front (1-based, as
on screen: ``--series 2``), asked for, or (with no one to ask) refused at once with
the choices named.  No Qt."""

from __future__ import annotations

from typing import Callable


class ChoiceError(ValueError):
    """The scan needs a choice that was not made (or made out of range)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def series_line(number: int, s) -> str:
    dims = "x".join(str(d) for d in s.shape) if getattr(s, "shape", None) else "?"
    return f"  {number}: {s.description or '(no description)'} | {s.modality or '?'} | {dims} | {s.n_files} file(s)"


def choose(series: list, choice: int | None, ask: Callable[[list], object] | None):
    """The series to open: ``choice`` (1-based), the only one, or ``ask(series)``
    (None = cancelled).  Without ``ask`` (headless) several series are a ChoiceError
    that lists them."""
    if choice is not None:
        if not 1 <= choice <= len(series):
            raise ChoiceError(f"--series {choice} is out of range: there are {len(series)} series\n" + "\n".join(
                series_line(i + 1, s) for i, s in enumerate(series)))
        return series[choice - 1]
    if len(series) == 1:
        return series[0]
    if ask is None:
        raise ChoiceError(f"this holds {len(series)} series; choose one with --series N:\n" + "\n".join(
            series_line(i + 1, s) for i, s in enumerate(series)))
    return ask(series)


def choose_volume(info, choice: int | None, ask: Callable[[int], int | None] | None) -> int | None:
    """The 0-based volume of a 4D series to show: ``choice`` (1-based), the only one,
    or ``ask(n)`` (returns 0-based, None = cancelled); headless, a ChoiceError naming
    the range."""
    n = int(getattr(info, "n_volumes", 1) or 1)
    if choice is not None:
        if not 1 <= choice <= n:
            raise ChoiceError(f"--volume {choice} is out of range: this scan holds {n} volume(s) (1 to {n})")
        return choice - 1
    if n == 1:
        return 0
    if ask is None:
        raise ChoiceError(f"this scan holds {n} volumes; choose one with --volume N (1 to {n})")
    return ask(n)
