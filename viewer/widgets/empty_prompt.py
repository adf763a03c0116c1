"""What the panes show while no scan is open (at start-up, or after a cancelled or
failed first open): how to open one, instead of a black window."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget


class EmptyPrompt(QWidget):
    def __init__(self, win) -> None:
        super().__init__(win.view)
        self.setObjectName("emptyPrompt")
        self.setAttribute(Qt.WA_StyledBackground, True)
        self.setStyleSheet("#emptyPrompt { background: #1b1d20; } QLabel { color: #c8c8c8; font-size: 15px; background: transparent; }")
        text = QLabel("No scan is open.<br><br>Open a NIfTI file, a DICOM file or a DICOM folder, "
                      "or drag one onto this window.", alignment=Qt.AlignCenter)
        text.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for label, slot in (("Open scan…  (Ctrl+O)", win.open_dialog), ("Open DICOM folder…  (Ctrl+Shift+O)", win.open_folder_dialog),
                            ("Open the bundled sample", win.open_sample)):
            b = QPushButton(label)
            b.clicked.connect(slot)
            buttons.addWidget(b)
        buttons.addStretch(1)
        lay = QVBoxLayout(self)
        lay.addStretch(1)
        lay.addWidget(text)
        lay.addSpacing(16)
        lay.addLayout(buttons)
        lay.addStretch(2)
        self._follow = _FollowSize(self)
        win.view.installEventFilter(self._follow)
        self.setGeometry(win.view.rect())
        win.opener.started.connect(lambda _p: self.hide())
        win.scan_shown.connect(lambda _s: self.hide())
        win.opener.cancelled.connect(lambda: self._nothing_open(win))
        win.opener.failed.connect(lambda *_: self._nothing_open(win))
        self.raise_()

    def _nothing_open(self, win) -> None:
        if win.live.scan is None:
            self.setGeometry(win.view.rect())
            self.show()
            self.raise_()


class _FollowSize(QObject):
    def __init__(self, prompt: EmptyPrompt) -> None:
        super().__init__(prompt)
        self.prompt = prompt

    def eventFilter(self, obj, ev) -> bool:
        if ev.type() == QEvent.Resize:
            self.prompt.setGeometry(obj.rect())
        return False
