"""Add or change a PACS server (the list ``metazoom-pacs`` reads too).  A password or
token typed here goes to the OS keyring, never into the list."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QMessageBox,
    QSpinBox,
)

from engine.pacs.servers import AUTH_KINDS, DEFAULT_AE, RETRIEVE_KINDS, Server


class ServerEditor(QDialog):
    def __init__(self, parent, store, server: Server | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.saved: Server | None = None
        self.setWindowTitle("PACS server")
        s = server
        self.name = QLineEdit(s.name if s else "")
        self.address = QLineEdit(s.address if s else "")
        self.address.setPlaceholderText("dicom://AET@host:port or https://host/dicom-web")
        self.calling_ae = QLineEdit(s.calling_ae if s else DEFAULT_AE)
        self.username = QLineEdit(s.username if s else "")
        self.auth = QComboBox()
        self.auth.addItems(AUTH_KINDS)
        self.auth.setCurrentText(s.auth if s else "none")
        self.secret = QLineEdit()
        self.secret.setEchoMode(QLineEdit.Password)
        self.secret.setPlaceholderText("unchanged" if s else "stored in the OS keyring")
        self.verify = QCheckBox("Check the server's TLS certificate")
        self.verify.setChecked(s.verify_tls if s else True)
        self.ca_bundle = QLineEdit(s.ca_bundle if s else "")
        self.retrieve = QComboBox()
        self.retrieve.addItems(RETRIEVE_KINDS)
        self.retrieve.setCurrentText(s.retrieve if s else "get")
        self.move_port = QSpinBox()
        self.move_port.setRange(1, 65535)
        self.move_port.setValue(s.move_port if s else 11113)
        form = QFormLayout(self)
        for label, w in (("Name", self.name), ("Address", self.address), ("Our AE title", self.calling_ae),
                         ("Retrieve (DIMSE)", self.retrieve), ("C-MOVE port", self.move_port),
                         ("User (DICOMweb)", self.username), ("Authentication", self.auth), ("Password or token", self.secret),
                         ("", self.verify), ("CA certificates", self.ca_bundle)):
            form.addRow(label, w)
        buttons = QDialogButtonBox(QDialogButtonBox.Save | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def save(self) -> None:
        from engine.errors import MetaZoomError
        from engine.pacs.secrets import set_secret

        try:
            server = Server(name=self.name.text().strip(), address=self.address.text().strip(),
                            calling_ae=self.calling_ae.text().strip(), username=self.username.text().strip(),
                            auth=self.auth.currentText(), verify_tls=self.verify.isChecked(),
                            ca_bundle=self.ca_bundle.text().strip(), retrieve=self.retrieve.currentText(),
                            move_port=self.move_port.value())
            self.store.save(server)
            if self.secret.text():
                set_secret(server, self.secret.text())
        except MetaZoomError as e:
            QMessageBox.warning(self, "PACS server", str(e))
            return
        finally:
            self.secret.clear()
        self.saved = server
        self.accept()
