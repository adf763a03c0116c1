"""Pick one series when a folder holds several: series number, description, modality,
date/time, manufacturer, size and slice count; sorted by date/time then number, and
any column sorts on a click of its header."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QDialog, QDialogButtonBox, QHeaderView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout

from ..model.series_rows import COLUMNS, sorted_rows

#: where each row keeps its series' position in the list it was given
SERIES_ROLE = Qt.UserRole + 1


class _Item(QTableWidgetItem):
    """Sorts numbers as numbers (series 10 after series 9)."""

    def __init__(self, text: str, key) -> None:
        super().__init__(text)
        self.key = key

    def __lt__(self, other) -> bool:
        try:
            return self.key < other.key
        except TypeError:
            return str(self.key) < str(other.key)


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
        for row, (i, r) in enumerate(sorted_rows(self.series)):
            keys = ((r.number is None, r.number or 0), r.description, r.modality, r.when, r.manufacturer, r.size,
                    self.series[i].shape[2] if len(self.series[i].shape) >= 3 else self.series[i].n_files)
            for col, (text, key) in enumerate(zip(r.cells(), keys)):
                item = _Item(text, key)
                item.setData(SERIES_ROLE, i)
                self.table.setItem(row, col, item)
        # the rows are in their default order already: no column sorts until clicked
        self.table.horizontalHeader().setSortIndicator(-1, Qt.AscendingOrder)
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSortIndicatorShown(True)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.Stretch)
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.Stretch)
        self.table.selectRow(0)
        self.table.doubleClicked.connect(self.accept)
        buttons = QDialogButtonBox(QDialogButtonBox.Open | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel(f"{source} holds {len(self.series)} series (click a column header to sort):"))
        lay.addWidget(self.table)
        lay.addWidget(buttons)
        self.resize(960, 360)

    def chosen(self):
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return self.series[self.table.item(rows[0].row(), 0).data(SERIES_ROLE)]
