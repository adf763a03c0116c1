"""The export dialog's "Send to PACS" row: after a DICOM export, and once the user has
confirmed (the question names the server), the files just written, and nothing else,
go to the chosen server on a worker thread."""

from __future__ import annotations

import threading

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QMessageBox, QWidget

from ..model.pacs_search import send_question
from .background import start_job
from .mailbox import Mailbox
from .pacs_dialog import LAST_SERVER, server_names


class SendToPacs(QWidget):
    #: the send ended (``.result`` holds the ``SendResult``, or ``.error`` the message)
    finished = Signal()

    def __init__(self, dialog, settings, store=None) -> None:
        from engine.pacs import ServerStore

        super().__init__(dialog)
        self.dialog = dialog
        self.settings = settings
        self.store = store or ServerStore()
        self._mailbox = Mailbox(self)
        #: set when the main window closes: the send stops between images
        self._cancel = threading.Event()
        self.result = None
        self.error: str | None = None
        self.enabled = QCheckBox("Send to PACS")
        self.server = QComboBox()
        self.server.setEditable(True)
        self.server.addItems(server_names(self.store))
        self.server.setCurrentText(str(settings.q.value(LAST_SERVER, self.server.currentText()) or ""))
        self.server.setMinimumWidth(260)
        self.note = QLabel("")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.enabled)
        lay.addWidget(self.server, 1)
        lay.addWidget(self.note)

    def set_format(self, fmt: str) -> None:
        """Only a DICOM export (a derived series) can be sent."""
        self.setEnabled(fmt == "dicom")

    def confirm(self, text: str) -> bool:
        return QMessageBox.question(self.dialog, "Send to PACS", text) == QMessageBox.Yes

    def after_export(self, outputs) -> bool:
        """Ask, then send ``outputs`` (the export's files); False when nothing is sent."""
        from engine.errors import MetaZoomError
        from engine.pacs import connect, files_to_send

        if not (self.isEnabled() and self.enabled.isChecked()):
            return False
        files = files_to_send(outputs)
        if not files:
            return False
        try:
            server = self.store.resolve(self.server.currentText())
            client = connect(server)
        except MetaZoomError as e:
            self._failed(e)
            return False
        if not self.confirm(send_question(len(files), server.label)):
            self.note.setText("Not sent")
            return False
        self.settings.q.setValue(LAST_SERVER, self.server.currentText())
        self.note.setText(f"Sending 0/{len(files)}…")

        def progress(done, total):
            self._mailbox.post(lambda: self.note.setText(f"Sending {done}/{total}…"))

        def work():
            try:
                r = client.store(files, self._cancel, progress)
            except Exception as e:  # shown here, on the GUI thread
                self._mailbox.post(lambda e=e: self._failed(e))
            else:
                self._mailbox.post(lambda: self._sent(r, server))

        start_job(work, "metazoom-pacs-send", self._cancel)
        return True

    def _sent(self, result, server) -> None:
        self.result = result
        self.note.setText(f"Sent {len(result.sent)} images to {server.name}")
        self.finished.emit()

    def _failed(self, error) -> None:
        self.error = str(error)
        refused = getattr(error, "refused", [])
        detail = "".join(f"\n{f.name}: {why}" for f, why in refused[:10])
        self.note.setText("Send failed")
        QMessageBox.critical(self.dialog, "Send to PACS failed", self.error + detail)
        self.finished.emit()
