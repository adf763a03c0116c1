"""The bicubic frame first: how the Meta-SRGAN worker waits for the bicubic paint.  No Qt.

On a machine with few cores the instant bicubic frame and the Meta-SRGAN frame of the
same request would share the cores, and the frame the user waits for (the bicubic
one, a few ms of work) would take 3-4x as long.  So the SR worker holds back until the
bicubic frame is on screen, never longer than ``BICUBIC_FIRST_S``:

1. The GUI asks ``ZoomRenderer.request`` for a frame: request ``g`` (numbered; a newer
   one makes ``g`` stale and wakes every wait below).
2. The bicubic worker makes frame ``g``, records ``bicubic_done = g`` and hands it to
   the GUI thread (``Mailbox``).
3. The SR worker first waits until the bicubic frame is *made* (or ``g`` is stale), at
   most ``BICUBIC_FIRST_S``, so the two never run at once.  While the GUI paints it
   computes the zoom's filters on one thread (``Upscaler.prepare``).
4. The GUI thread gives frame ``g`` to the panes that show it and records them here
   (``handed``).  Each pane reports its next paint (the pane's ``painted`` signal, sent
   after ``paintEvent``: Qt paints after the frame is handed, so handing is not enough);
   once the last of them has painted, ``on_shown(g)`` calls
   ``ZoomRenderer.bicubic_displayed(g)``, which records ``bicubic_shown = g`` and wakes
   the SR worker.  A frame no visible pane shows is reported at once.
5. The SR worker, if it has to encode (a second or more), waits for that report before
   it starts; if the features are cached it renders its first bands of rows on one
   core and takes every core between two bands once the report has come (a frame of
   one band waits for the report instead).

No wait can hang: each one ends at ``BICUBIC_FIRST_S`` after the SR job began, or as
soon as a newer request arrives; a paint that never comes (a hidden pane, a minimised
window) costs at most that.  ``bicubic_shown`` only grows: a report for a newer request
also releases an older job, which is stale then and stops.
"""

from __future__ import annotations

from typing import Callable, Hashable


class BicubicFirst:
    """Step 4 above: the panes that have yet to paint the newest bicubic frame."""

    def __init__(self, on_shown: Callable[[int], None]) -> None:
        self.on_shown = on_shown
        self._generation = 0
        self._waiting: set = set()

    def handed(self, generation: int, panes) -> None:
        """Request ``generation``'s bicubic frame went to ``panes`` (those that show it);
        an older frame's panes are no longer waited for."""
        self._generation, self._waiting = generation, set(panes)
        if not self._waiting:
            self.on_shown(generation)

    def painted(self, pane: Hashable) -> None:
        """``pane`` painted: the frame is on screen once every pane it went to has."""
        if pane in self._waiting:
            self._waiting.discard(pane)
            if not self._waiting:
                self.on_shown(self._generation)
