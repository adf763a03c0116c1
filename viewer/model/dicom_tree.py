"""A DICOM header as a tree of rows (tag, keyword, VR, value), sequences included,
and the filter the tag browser applies.  No Qt."""

from __future__ import annotations

from dataclasses import dataclass, field

#: longest value text shown (a long private blob says how long it is instead)
MAX_VALUE = 200


@dataclass
class TagNode:
    tag: str  # "(0010,0010)", or "Item 1" for a sequence item
    keyword: str
    vr: str
    value: str
    children: list["TagNode"] = field(default_factory=list)

    def text(self) -> str:
        return f"{self.tag} {self.keyword} {self.vr} {self.value}".lower()


def _value(elem) -> str:
    if elem.VR == "SQ":
        return f"{len(elem.value)} item(s)"
    if elem.VR in ("OB", "OW", "OF", "OD", "OL", "OV", "UN") or elem.tag == 0x7FE00010:
        n = len(elem.value) if elem.value is not None else 0
        return f"<{n} bytes>"
    try:
        s = str(elem.value)
    except Exception as e:  # a malformed value still gets a row, saying why
        s = f"<unreadable: {type(e).__name__}>"
    return s if len(s) <= MAX_VALUE else s[:MAX_VALUE] + f"… ({len(s)} characters)"


def _tag(elem) -> str:
    return f"({elem.tag.group:04X},{elem.tag.element:04X})"


def dataset_nodes(ds) -> list[TagNode]:
    """Rows for every element of ``ds``, in tag order; sequence items as children."""
    out = []
    for elem in ds:
        node = TagNode(_tag(elem), elem.keyword or ("private" if elem.tag.is_private else ""), str(elem.VR), _value(elem))
        if elem.VR == "SQ":
            for n, item in enumerate(elem.value, 1):
                node.children.append(TagNode(f"Item {n}", "", "", "", dataset_nodes(item)))
        out.append(node)
    return out


def header_nodes(ds) -> list[TagNode]:
    """The file meta group (when read) first, then the dataset."""
    nodes = []
    meta = getattr(ds, "file_meta", None)
    if meta is not None and len(meta):
        nodes.append(TagNode("File meta", "", "", "", dataset_nodes(meta)))
    return nodes + dataset_nodes(ds)


def nifti_nodes(header) -> list[TagNode]:
    """A NIfTI header's fields, one row each (so the browser shows something for NIfTI too)."""
    out = []
    for key in header.keys():
        v = header[key]
        text = str(v.tolist() if hasattr(v, "tolist") else v)
        out.append(TagNode("", key, "", text if len(text) <= MAX_VALUE else text[:MAX_VALUE] + "…"))
    return out


def filtered(nodes: list[TagNode], query: str) -> list[TagNode]:
    """The rows whose tag, keyword, VR or value contains ``query`` (any case), with the
    sequences and items leading to them; a matching sequence keeps all its items."""
    q = query.strip().lower()
    if not q:
        return nodes
    out = []
    for n in nodes:
        if q in n.text():
            out.append(n)
            continue
        kids = filtered(n.children, q)
        if kids:
            out.append(TagNode(n.tag, n.keyword, n.vr, n.value, kids))
    return out


def count(nodes: list[TagNode]) -> int:
    return sum(1 + count(n.children) for n in nodes)
