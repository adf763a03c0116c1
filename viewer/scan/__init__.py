"""Opening scans for the viewer: the engine's readers behind one small seam."""
