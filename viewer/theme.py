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
QToolBar {{ background: #202327; border: none; spacing: 2px; padding: 2px; }}
QToolButton {{ color: #d0d0d0; padding: 3px 6px; border-radius: 3px; }}
QToolButton:checked {{ background: #34495e; color: white; }}
QToolButton:hover {{ background: #2e3338; }}
QStatusBar {{ background: #202327; color: #a8a8a8; }}
QLabel#untrainedBanner {{ background: {DANGER}; color: white; font-weight: bold; padding: 4px 10px; }}
QSplitter::handle {{ background: #2a2d31; }}
QProgressBar {{ border: 1px solid #3a3d42; border-radius: 3px; text-align: center; color: #ddd; background: #25282c; }}
QProgressBar::chunk {{ background: {ACCENT}; }}
QToolTip {{ background: #25282c; color: #ddd; border: 1px solid #3a3d42; }}
QMenu::item:disabled {{ color: #6a6a6a; }}
"""

#: Fusion draws an unchecked box in the Base colour with an outline a little darker than
#: the window: on a dark window both vanish.  Light outlines, and the accent when checked.
INDICATOR_BORDER = "#8c9198"


def indicator_rules() -> str:
    from .resources import RESOURCES

    check = (RESOURCES / "icons" / "check.svg").as_posix()
    dot = (RESOURCES / "icons" / "dot.svg").as_posix()
    box = f"width: 13px; height: 13px; border: 1px solid {INDICATOR_BORDER}; background: #141618;"
    return f"""
QCheckBox::indicator, QRadioButton::indicator, QMenu::indicator {{ {box} }}
QRadioButton::indicator, QMenu::indicator:exclusive {{ border-radius: 7px; }}
QMenu::indicator:non-exclusive {{ border-radius: 2px; }}
QCheckBox::indicator {{ border-radius: 2px; }}
QMenu::item {{ padding: 4px 24px 4px 14px; }}
QMenu::indicator {{ left: 7px; }}
QCheckBox::indicator:checked, QMenu::indicator:non-exclusive:checked {{ background: {ACCENT}; border-color: {ACCENT}; image: url({check}); }}
QRadioButton::indicator:checked, QMenu::indicator:exclusive:checked {{ background: {ACCENT}; border-color: {ACCENT}; image: url({dot}); }}
QCheckBox::indicator:hover, QRadioButton::indicator:hover {{ border-color: {ACCENT}; }}
QCheckBox::indicator:disabled, QRadioButton::indicator:disabled, QMenu::indicator:disabled {{ border-color: #4a4d52; background: #1b1d20; }}
QCheckBox:disabled, QRadioButton:disabled {{ color: #6a6a6a; }}
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
    app.setStyleSheet(STYLESHEET + indicator_rules())
