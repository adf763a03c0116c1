"""The dark look of a reading-room workstation: near-black panes, grey chrome, no glare."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

ACCENT = "#3d8fd6"
OVERLAY_TEXT = "#e8e8e8"
WARNING = "#e0a030"
DANGER = "#c0392b"

STYLESHEET = f"""
QMainWindow, QDialog {{ background: #1b1d20; }}
QMenuBar {{ background: #202327; color: #d0d0d0; }}
QMenuBar::item:selected, QMenu::item:selected {{ background: {ACCENT}; color: white; }}
QMenu {{ background: #25282c; color: #d8d8d8; border: 1px solid #3a3d42; }}
QMenu::separator {{ height: 1px; background: #3a3d42; margin: 4px 8px; }}
QToolBar {{ background: #202327; border: none; spacing: 4px; padding: 2px; }}
QToolButton {{ color: #d0d0d0; padding: 3px 8px; border-radius: 3px; }}
QToolButton:checked {{ background: #34495e; color: white; }}
QToolButton:hover {{ background: #2e3338; }}
QStatusBar {{ background: #202327; color: #a8a8a8; }}
QLabel#untrainedBanner {{ background: {DANGER}; color: white; font-weight: bold; padding: 4px 10px; }}
QSplitter::handle {{ background: #2a2d31; }}
QProgressBar {{ border: 1px solid #3a3d42; border-radius: 3px; text-align: center; color: #ddd; background: #25282c; }}
QProgressBar::chunk {{ background: {ACCENT}; }}
QToolTip {{ background: #25282c; color: #ddd; border: 1px solid #3a3d42; }}
"""


def apply_dark_theme(app: QApplication) -> None:
    app.setStyle("Fusion")
    p = QPalette()
    for role, colour in (
        (QPalette.Window, "#1b1d20"),
        (QPalette.WindowText, "#d8d8d8"),
        (QPalette.Base, "#141618"),
        (QPalette.AlternateBase, "#202327"),
        (QPalette.Text, "#d8d8d8"),
        (QPalette.Button, "#2a2d31"),
        (QPalette.ButtonText, "#d8d8d8"),
        (QPalette.Highlight, ACCENT),
        (QPalette.HighlightedText, "#ffffff"),
        (QPalette.ToolTipBase, "#25282c"),
        (QPalette.ToolTipText, "#d8d8d8"),
        (QPalette.PlaceholderText, "#808080"),
        (QPalette.Link, ACCENT),
    ):
        p.setColor(role, QColor(colour))
    p.setColor(QPalette.Disabled, QPalette.Text, QColor("#6a6a6a"))
    p.setColor(QPalette.Disabled, QPalette.ButtonText, QColor("#6a6a6a"))
    p.setColor(QPalette.Disabled, QPalette.WindowText, QColor("#6a6a6a"))
    app.setPalette(p)
    app.setStyleSheet(STYLESHEET)
