"""Frames off the GUI thread: feature cache, latest-only workers, the zoom renderer.  No Qt."""
