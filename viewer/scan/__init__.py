"""A scan as the viewer holds it (``Scan``); reading is ``engine.io``'s."""
