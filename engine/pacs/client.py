"""``connect(server)``: the client for a server's kind of address, DIMSE or DICOMweb.

Both have the same methods: ``echo()``, ``find_studies(query)``, ``find_series(study)``,
``retrieve(study, series, folder, cancel, progress)`` and ``store(files, cancel, progress)``.
"""

from __future__ import annotations


def connect(server):
    if server.kind == "dicom":
        from .dimse import DimseClient

        return DimseClient(server)
    from .web import WebClient

    return WebClient(server)
