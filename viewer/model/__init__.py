"""Display state as plain Python (no Qt): what the panes show, and the geometry of it."""
