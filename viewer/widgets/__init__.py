"""The Qt side: panes, the main window, dialogs.  State lives in ``viewer.model``."""
