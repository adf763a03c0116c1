"""PACS: find, retrieve and send studies over DICOM networking (DIMSE, pynetdicom) or
DICOMweb (dicomweb-client).  No Qt: the viewer and ``metazoom-pacs`` both use it.

    store = ServerStore()                          # the configured servers (JSON, no secrets)
    server = store.resolve("hospital")             # a name, or dicom://AET@host:port, https://host/dicom-web
    client = connect(server)
    client.echo()
    found = client.find_studies(Query(patient="DOE", modality="MR", dates="20200101-20201231"))
    series = client.find_series(found.studies[0].study_uid)
    client.retrieve(study_uid, series_uid, InstanceFolder(dir, server.label), cancel, progress)
    client.store(files_to_send([exported_folder]), cancel, progress)

Every failure is a ``PacsError`` (a ``MetaZoomError``) naming the server and the reason.
"""

from .client import connect
from .errors import (
    PacsAuthError,
    PacsConfigError,
    PacsError,
    PacsLimitError,
    PacsNotFoundError,
    PacsPartialError,
    PacsProtocolError,
    PacsRejectedError,
    PacsSendError,
    PacsTlsError,
    PacsUnreachableError,
)
from .instances import InstanceFolder, files_to_send
from .records import FindResult, Query, RetrieveResult, SendResult, Series, Study
from .servers import Server, ServerStore, parse_address

__all__ = [
    "FindResult",
    "InstanceFolder",
    "PacsAuthError",
    "PacsConfigError",
    "PacsError",
    "PacsLimitError",
    "PacsNotFoundError",
    "PacsPartialError",
    "PacsProtocolError",
    "PacsRejectedError",
    "PacsSendError",
    "PacsTlsError",
    "PacsUnreachableError",
    "Query",
    "RetrieveResult",
    "SendResult",
    "Series",
    "Server",
    "ServerStore",
    "Study",
    "connect",
    "files_to_send",
    "parse_address",
]
