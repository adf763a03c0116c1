"""File > Open from PACS…: search a server, list studies with their series, retrieve
one series into the size-bounded cache and open it as a folder from disk (also while
it is still arriving).  Every network call runs on a worker thread."""

from __future__ import annotations

import threading

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
)

from engine.errors import MetaZoomError

from ..model.pacs_search import (
    MODALITIES,
    ROWS_PER_TURN,
    STUDY_COLUMNS,
    found_message,
    query_from_form,
    retrieve_message,
    series_row,
    study_row,
)
from .background import Background, start_job
from .mailbox import Mailbox

LAST_SERVER = "pacs/last_server"
STUDY, SERIES = Qt.UserRole, Qt.UserRole + 1


def server_names(store) -> list[str]:
    try:
        return [s.name for s in store.servers()]
    except MetaZoomError:
        return []


class OpenFromPacsDialog(QDialog):
    def __init__(self, win, store=None, cache=None) -> None:
        from engine.pacs import ServerStore
        from engine.pacs.cache import RetrieveCache

        super().__init__(win)
        self.win = win
        self.store = store or ServerStore()
        self.cache = cache or RetrieveCache(max_mb=self.store.cache_mb)
        self.setWindowTitle("Open from PACS")
        self.resize(900, 560)
        self.tasks = Background(self)
        self._mailbox = Mailbox(self)
        self._cancel = threading.Event()
        self._retrieving = False
        self._generation = 0  # a newer search drops the answers of an older one
        self._pending: list = []
        self.folder = None
        self.error: str | None = None

        self.server = QComboBox()
        self.server.setEditable(True)
        self.server.addItems(server_names(self.store))
        self.server.setCurrentText(str(win.settings.q.value(LAST_SERVER, self.server.currentText()) or ""))
        self.server.lineEdit().setPlaceholderText("a configured server, or dicom://AET@host:port, https://host/dicom-web")
        self.patient = QLineEdit()
        self.patient.setPlaceholderText("name or ID")
        self.modality = QComboBox()
        self.modality.addItems(["Any"] + [m for m in MODALITIES if m])
        self.date_from, self.date_to = QLineEdit(), QLineEdit()
        for w in (self.date_from, self.date_to):
            w.setPlaceholderText("YYYY-MM-DD")
            w.setMaximumWidth(110)
        self.search = QPushButton("Search")
        self.search.setDefault(True)
        self.search.clicked.connect(self.start_search)

        self.edit_server = QPushButton("Servers…")
        self.edit_server.clicked.connect(self.server_editor)
        top = QHBoxLayout()
        top.addWidget(QLabel("Server"))
        top.addWidget(self.server, 1)
        top.addWidget(self.edit_server)
        form = QHBoxLayout()
        for label, w in (("Patient", self.patient), ("Modality", self.modality), ("From", self.date_from), ("To", self.date_to)):
            form.addWidget(QLabel(label))
            form.addWidget(w)
        form.addWidget(self.search)

        self.results = QTreeWidget()
        self.results.setColumnCount(len(STUDY_COLUMNS))
        self.results.setHeaderLabels(list(STUDY_COLUMNS))
        self.results.setUniformRowHeights(True)
        self.results.itemExpanded.connect(self._expanded)
        self.results.itemSelectionChanged.connect(self._selection)
        self.results.itemDoubleClicked.connect(lambda item, _c: self.start_retrieve() if item.data(0, SERIES) else None)

        self.progress = QProgressBar()
        self.progress.setValue(0)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.retrieve = QPushButton("Retrieve and open")
        self.retrieve.setEnabled(False)
        self.retrieve.clicked.connect(self.start_retrieve)
        self.open_now = QPushButton("Open what has arrived")
        self.open_now.setEnabled(False)
        self.open_now.clicked.connect(self.open_arrived)
        self.cancel = QPushButton("Close")
        self.cancel.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(self.status, 1)
        buttons.addWidget(self.retrieve)
        buttons.addWidget(self.open_now)
        buttons.addWidget(self.cancel)

        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addLayout(form)
        lay.addWidget(self.results, 1)
        lay.addWidget(self.progress)
        lay.addLayout(buttons)
        self._fill_timer = QTimer(self)
        self._fill_timer.setInterval(0)
        self._fill_timer.timeout.connect(self._fill_some)

    def server_editor(self):
        """Add a server, or change the one chosen; the list is reloaded after a save."""
        from .pacs_servers import ServerEditor

        current = self.store.get(self.server.currentText())
        editor = ServerEditor(self, self.store, current)
        if current is None and "://" in self.server.currentText():
            editor.address.setText(self.server.currentText())
        editor.open()
        editor.accepted.connect(lambda: self._reload_servers(editor.saved.name))
        return editor

    def _reload_servers(self, select: str) -> None:
        self.server.clear()
        self.server.addItems(server_names(self.store))
        self.server.setCurrentText(select)

    # -- search ---------------------------------------------------------------------
    def start_search(self) -> None:
        try:
            query = query_from_form(self.patient.text(), self.modality.currentText(), self.date_from.text(), self.date_to.text())
            server = self.store.resolve(self.server.currentText())
        except (ValueError, MetaZoomError) as e:
            self._show_error("Search", e)
            return
        self.win.settings.q.setValue(LAST_SERVER, self.server.currentText())
        self._generation += 1
        gen = self._generation
        self.results.clear()
        self._pending = []
        self.status.setText(f"Searching {server.label}…")
        self.search.setEnabled(False)
        def find():  # the client is made here too: its first use imports the network libraries
            from engine.pacs import connect

            client = connect(server)
            return client, client.find_studies(query)

        self.tasks.run(find, lambda answer: self._found(answer[1], server, answer[0], gen),
                       lambda e: self._search_failed(e, gen), name="metazoom-pacs-find")

    def _found(self, found, server, client, gen: int) -> None:
        if gen != self._generation:
            return
        self.search.setEnabled(True)
        self._server, self._client = server, client
        self._pending = list(found.studies)
        self._found_text = found_message(len(found.studies), found.truncated, server.label)
        self._fill_timer.start()

    def _fill_some(self) -> None:
        """A slice of the rows per turn of the event loop: a thousand studies never
        stall the window."""
        chunk, self._pending = self._pending[:ROWS_PER_TURN], self._pending[ROWS_PER_TURN:]
        items = []
        for study in chunk:
            item = QTreeWidgetItem(study_row(study))
            item.setData(0, STUDY, study)
            item.setChildIndicatorPolicy(QTreeWidgetItem.ShowIndicator)
            items.append(item)
        self.results.addTopLevelItems(items)
        if not self._pending:
            self._fill_timer.stop()
            self.status.setText(self._found_text)
            if self.results.topLevelItemCount() == 1:
                self.results.expandItem(self.results.topLevelItem(0))

    def _search_failed(self, error, gen: int) -> None:
        if gen == self._generation:
            self.search.setEnabled(True)
            self._show_error("Search failed", error)

    def _expanded(self, item) -> None:
        study = item.data(0, STUDY)
        if study is None or item.childCount() or item.data(0, SERIES) == "loading":
            return
        item.setData(0, SERIES, "loading")
        client, gen = self._client, self._generation
        self.tasks.run(lambda: client.find_series(study.study_uid), lambda series: self._series(item, series, gen),
                       lambda e: self._series_failed(item, e, gen), name="metazoom-pacs-series")

    def _series(self, item, series, gen: int) -> None:
        if gen != self._generation:
            return
        item.setData(0, SERIES, None)
        for s in series:
            child = QTreeWidgetItem(series_row(s))
            child.setData(0, SERIES, s)
            item.addChild(child)
        if not series:
            item.setChildIndicatorPolicy(QTreeWidgetItem.DontShowIndicator)
            self.status.setText("That study has no series (any more) on the server")

    def _series_failed(self, item, error, gen: int) -> None:
        if gen == self._generation:
            item.setData(0, SERIES, None)
            self._show_error("Series search failed", error)

    def _selection(self) -> None:
        item = self.results.currentItem()
        self.retrieve.setEnabled(not self._retrieving and item is not None and bool(item.data(0, SERIES)))

    # -- retrieve -------------------------------------------------------------------
    def selected_series(self):
        item = self.results.currentItem()
        s = item.data(0, SERIES) if item is not None else None
        return s if s and not isinstance(s, str) else None

    def start_retrieve(self) -> None:
        from engine.pacs.cache import retrieve_to_cache

        series = self.selected_series()
        if series is None or self._retrieving:
            return
        server, client, cache = self._server, self._client, self.cache
        self.folder = cache.folder_for(server, series.study_uid, series.series_uid)
        self._cancel.clear()
        self._set_retrieving(True)
        self.status.setText(f"Retrieving {series.description or 'the series'} from {server.label}…")
        arrived = []

        def on_file(path):
            arrived.append(path)
            if len(arrived) == 1:
                self._mailbox.post(lambda: self.open_now.setEnabled(True))

        def progress(done, total):
            self._mailbox.post(lambda: self._progress(done, total))

        def work():
            try:
                r = retrieve_to_cache(client, server, series.study_uid, series.series_uid, cache, self._cancel, progress, on_file)
            except Exception as e:  # shown in the dialog
                self._mailbox.post(lambda e=e: self._retrieve_failed(e))
            else:
                self._mailbox.post(lambda: self._retrieved(r))

        start_job(work, "metazoom-pacs-retrieve", self._cancel)

    def _progress(self, done: int, total: int) -> None:
        self.progress.setMaximum(max(total, 1))
        self.progress.setValue(done)
        self.status.setText(retrieve_message(done, total))
        if done:
            self.open_now.setEnabled(True)

    def _set_retrieving(self, on: bool) -> None:
        self._retrieving = on
        self.cancel.setText("Cancel" if on else "Close")
        self.search.setEnabled(not on)
        self._selection()

    def _retrieved(self, result) -> None:
        self._set_retrieving(False)
        if result.cancelled:
            self.status.setText(f"Cancelled: {len(result.received)} images kept in the cache")
            return
        self.status.setText(f"Retrieved {len(result.received)} images")
        self.win.open_path(result.folder)
        self.accept()

    def _retrieve_failed(self, error) -> None:
        from engine.pacs import PacsPartialError

        self._set_retrieving(False)
        if isinstance(error, PacsPartialError) and error.received:
            self.error = str(error)
            listing = "\n".join(error.missing[:10]) + ("\n…" if len(error.missing) > 10 else "")
            if self.ask("Retrieve incomplete", f"{error}\n\nNot retrieved:\n{listing}\n\nOpen the images that arrived?"):
                self.win.open_path(self.folder)
            self.status.setText(f"{len(error.missing)} images did not arrive")
            return
        self._show_error("Retrieve failed", error)

    def open_arrived(self) -> None:
        """Open the series as far as it has arrived (the retrieve goes on)."""
        if self.folder is not None and any(self.folder.glob("*.dcm")):
            self.win.open_path(self.folder)

    # -- edges ----------------------------------------------------------------------
    def ask(self, title: str, text: str) -> bool:
        return QMessageBox.question(self, title, text) == QMessageBox.Yes

    def _show_error(self, title: str, error) -> None:
        self.error = str(error)
        self.status.setText(title)
        QMessageBox.warning(self, title, self.error)

    def reject(self) -> None:
        """Cancel stops a running retrieve (between images; what arrived is kept), else closes."""
        if self._retrieving:
            self._cancel.set()
            self.status.setText("Cancelling…")
            return
        super().reject()

    def closeEvent(self, ev) -> None:
        self._cancel.set()
        super().closeEvent(ev)
