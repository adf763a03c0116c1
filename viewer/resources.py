"""Files the viewer ships in ``resources/``: the sample scan and the icon."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QIcon

RESOURCES = Path(__file__).resolve().parent.parent / "resources"
SAMPLE_SCAN = RESOURCES / "sample" / "vs_seg_001_t1_iac.nii.gz"
ICON_SVG = RESOURCES / "icons" / "metazoom.svg"
ICON_PNG = RESOURCES / "icons" / "metazoom.png"


def app_icon() -> QIcon:
    icon = QIcon()
    for p in (ICON_PNG, ICON_SVG):
        if p.is_file():
            icon.addFile(str(p))
    return icon
