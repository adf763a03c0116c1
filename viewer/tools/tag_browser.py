"""The DICOM tag browser (Ctrl+I): the header of the image on screen as a tree,
sequences included, with a filter box.  NIfTI scans show their header fields."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QDialog, QLabel, QLineEdit, QTreeWidget, QTreeWidgetItem, QVBoxLayout

from engine.io.planes import plane_axes

from ..model.crosshair import to_voxel, voxel_index
from ..model.dicom_tree import count, filtered, header_nodes, nifti_nodes


def current_header(win):
    """``(title, header, rows)`` for the image on screen: the header object (the same
    one for every frame of a multi-frame file) and a function making its rows.  On a
    reformat (or any view whose slices are not the stored images) the stored image
    through the middle of the view."""
    live, s = win.live, win.state
    scan = live.scan
    if scan is None:
        return "No scan open", None, list
    meta = scan.volume.meta
    headers = meta.dicom.headers if meta.dicom is not None else ()
    if headers:
        u, v = s.center
        e = to_voxel(scan.volume, s.plane, s.index, u, v, s.radiological)
        k = voxel_index(scan.volume, e)[2]
        path, frame, tile = (meta.dicom.images or [(None, None, None)] * len(headers))[k]
        where = f"{path}" + (f", frame {frame}" if frame else "") + (f", mosaic tile {tile + 1}" if tile is not None else "")
        stored = plane_axes(scan.volume, s.plane, s.radiological).normal[0] == 2
        how = "" if stored else " (a reformatted view: the stored image through its middle)"
        return f"Image {k + 1} of {len(headers)}{how}: {where}", headers[k], lambda: header_nodes(headers[k])
    hdr = meta.nifti.header if meta.nifti is not None else None
    if hdr is not None:
        return f"NIfTI header of {scan.path}", hdr, lambda: nifti_nodes(hdr)
    return "This scan has no header to show", None, list


def _fill(parent, nodes) -> None:
    for n in nodes:
        item = QTreeWidgetItem([n.tag, n.keyword, n.vr, n.value])
        if isinstance(parent, QTreeWidget):
            parent.addTopLevelItem(item)
        else:
            parent.addChild(item)
        _fill(item, n.children)


class TagBrowser(QDialog):
    """Not modal: it follows the slice on screen while it is open."""

    def __init__(self, win) -> None:
        super().__init__(win)
        self.win = win
        self.setWindowTitle("DICOM tags")
        self.resize(820, 640)
        self.where = QLabel()
        self.where.setWordWrap(True)
        self.where.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.filter = QLineEdit(placeholderText="Filter: tag, keyword or value (e.g. 0028, Spacing, SIEMENS)")
        self.filter.setClearButtonEnabled(True)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Tag", "Keyword", "VR", "Value"])
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.count = QLabel()
        lay = QVBoxLayout(self)
        for w in (self.where, self.filter, self.tree, self.count):
            lay.addWidget(w)
        self.filter.textChanged.connect(lambda _t: self._show())
        self._nodes = []
        self._header = None
        # while slices scroll by, the tree follows once they stop (an enhanced
        # multi-frame header has thousands of elements)
        self._later = QTimer(self, singleShot=True, interval=150)
        self._later.timeout.connect(self.refresh)
        self._listener = lambda changed: self._later.start() if self.isVisible() and {"plane", "index"} & changed else None
        win.state.connect(self._listener)
        self.refresh()

    def refresh(self) -> None:
        title, header, rows = current_header(self.win)
        self.where.setText(title)
        if header is not None and header is self._header:
            return  # another frame of the same file: the same header
        self._header, self._nodes = header, rows()
        self._show()

    def _show(self) -> None:
        nodes = filtered(self._nodes, self.filter.text())
        self.tree.clear()
        _fill(self.tree, nodes)
        if self.filter.text().strip():
            self.tree.expandAll()
        for col, w in ((0, 120), (1, 230), (2, 40)):
            self.tree.setColumnWidth(col, w)
        self.count.setText(f"{count(nodes)} of {count(self._nodes)} elements")

    def done(self, r) -> None:
        self.win.state.disconnect(self._listener)
        super().done(r)
