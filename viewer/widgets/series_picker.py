"""Pick one series when a folder holds several (description, modality, size, slice count)."""

from __future__ import annotations

from PySide6.QtWidgets import QAbstractItemView, QDialog, QDialogButtonBox, QHeaderView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout

COLUMNS = ("Description", "Modality", "Size", "Slices / files")


class SeriesPicker(QDialog):
    def __init__(self, series: list, source: str = "", parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Choose a series")
        self.series = list(series)
        self.table = QTableWidget(len(self.series), len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.verticalHeader().hide()
        for row, s in enumerate(self.series):
            dims = "x".join(str(d) for d in s.shape) if s.shape else "?"
            count = s.shape[2] if len(s.shape) >= 3 else s.n_files
            for col, text in enumerate((s.description or "(no description)", s.modality or "?", dims, f"{count} / {s.n_files}")):
                self.table.setItem(row, col, QTableWidgetItem(str(text)))
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)
        self.table.selectRow(0)
        self.table.doubleClicked.connect(self.accept)
        buttons = QDialogButtonBox(QDialogButtonBox.Open | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel(f"{source} holds {len(self.series)} series:"))
        lay.addWidget(self.table)
        lay.addWidget(buttons)
        self.resize(720, 320)

    def chosen(self):
        rows = self.table.selectionModel().selectedRows()
        return self.series[rows[0].row()] if rows else None
