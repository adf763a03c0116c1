"""DICOM networking (DIMSE) with pynetdicom: C-ECHO, C-FIND (study, series, image
level), C-GET, C-MOVE (to our own storage SCP) and C-STORE.

Every failure is a typed ``PacsError`` naming the server: a closed port or a silent
host fails within the server's time-out, never hangs; a refused association says what
to check.  Cancel (an ``Event``) and Ctrl-C abort the association; what arrived stays.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time

from .errors import (
    PacsConfigError,
    PacsError,
    PacsLimitError,
    PacsNotFoundError,
    PacsPartialError,
    PacsProtocolError,
    PacsRejectedError,
    PacsSendError,
    PacsUnreachableError,
)
from .limits import MAX_INSTANCES, MAX_SERIES, MAX_STUDIES
from .records import FindResult, Query, RetrieveResult, SendResult, Series, Study, clip, to_int, valid_uid

#: transfer syntaxes we accept for retrieved images (pydicom decodes them with pylibjpeg)
ACCEPTED_SYNTAXES = [
    "1.2.840.10008.1.2.1",  # Explicit VR Little Endian
    "1.2.840.10008.1.2",  # Implicit VR Little Endian
    "1.2.840.10008.1.2.4.70",  # JPEG Lossless SV1
    "1.2.840.10008.1.2.4.50",  # JPEG Baseline
    "1.2.840.10008.1.2.4.51",  # JPEG Extended
    "1.2.840.10008.1.2.4.57",  # JPEG Lossless
    "1.2.840.10008.1.2.4.80",  # JPEG-LS Lossless
    "1.2.840.10008.1.2.4.81",  # JPEG-LS Near-lossless
    "1.2.840.10008.1.2.4.90",  # JPEG 2000 Lossless
    "1.2.840.10008.1.2.4.91",  # JPEG 2000
    "1.2.840.10008.1.2.5",  # RLE Lossless
    "1.2.840.10008.1.2.2",  # Explicit VR Big Endian
]
_STORE_OK = (0x0000, 0xB000, 0xB006, 0xB007)


def _status_text(code: int, table: str = "STORAGE_SERVICE_CLASS_STATUS") -> str:
    from pynetdicom import status as st

    for name in (table, "GENERAL_STATUS"):
        entry = getattr(st, name, {}).get(code)
        if entry:
            return f"status 0x{code:04X} ({entry[0].lower()}: {entry[1].rstrip('.')})"
    return f"status 0x{code:04X}"


class _Capture(logging.Handler):
    """pynetdicom explains a rejection or a time-out only in its log: keep those lines."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.lines: list[str] = []

    def emit(self, record) -> None:
        self.lines.append(record.getMessage())


@contextlib.contextmanager
def _captured():
    handler, log = _Capture(), logging.getLogger("pynetdicom")
    log.addHandler(handler)
    try:
        yield handler.lines
    finally:
        log.removeHandler(handler)


def _no_delay(assoc) -> None:
    """Send each PDU at once: with Nagle's algorithm on, the last short segment of every
    C-STORE waits for the peer's delayed ACK (some 40 ms per image)."""
    try:
        assoc.dul.socket.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (AttributeError, OSError):
        pass


def _quiet_pynetdicom() -> None:
    """pynetdicom formats every identifier and DIMSE message for its log even when no one
    reads it: a third of a 1000-study C-FIND.  Off; rejections are still logged."""
    from pynetdicom import _config

    _config.LOG_HANDLER_LEVEL = "none"
    _config.LOG_RESPONSE_IDENTIFIERS = False
    _config.LOG_REQUEST_IDENTIFIERS = False


class DimseClient:
    def __init__(self, server) -> None:
        _quiet_pynetdicom()
        self.server = server
        self.addr = server.parsed
        self.label = server.label

    # -- association ---------------------------------------------------------------
    def _ae(self):
        from pynetdicom import AE

        ae = AE(ae_title=self.server.calling_ae)
        t = float(self.server.timeout)
        ae.connection_timeout = t
        ae.acse_timeout = t
        ae.dimse_timeout = max(t, 30.0)  # a response may follow a long sub-operation
        ae.network_timeout = max(t, 30.0)
        ae.maximum_pdu_size = 0  # no limit on what we receive: fewer, larger PDUs
        return ae

    def _check_reachable(self) -> None:
        host, port, t = self.addr.host, self.addr.port, float(self.server.timeout)
        try:
            socket.create_connection((host, port), timeout=t).close()
        except socket.gaierror:
            raise PacsUnreachableError(self.label, f"host name {host!r} not found") from None
        except ConnectionRefusedError:
            raise PacsUnreachableError(self.label, f"connection refused at {host}:{port} (is the server running, is the port right?)") from None
        except (TimeoutError, socket.timeout):
            raise PacsUnreachableError(self.label, f"no answer from {host}:{port} within {t:g} s") from None
        except OSError as e:
            raise PacsUnreachableError(self.label, f"cannot connect to {host}:{port}: {e.strerror or e}") from None

    def _associate(self, ae, **kw):
        self._check_reachable()
        with _captured() as lines:
            assoc = ae.associate(self.addr.host, self.addr.port, ae_title=self.addr.called_ae, **kw)
        if assoc.is_established:
            _no_delay(assoc)
            return assoc
        said = "; ".join(l for l in lines if l.startswith(("Result:", "Reason:")))
        if assoc.is_rejected:
            raise PacsRejectedError(
                self.label, f"rejected the association from {self.server.calling_ae} to {self.addr.called_ae}"
                f"{' (' + said + ')' if said else ''}: check the server's AE title and that "
                f"{self.server.calling_ae} is registered there")
        if any("timeout" in l.lower() for l in lines):
            raise PacsUnreachableError(self.label, f"no answer to the association request within {self.server.timeout:g} s")
        if any("presentation contexts" in l for l in lines):
            raise PacsRejectedError(self.label, "accepted none of the services we asked for (no common presentation context)")
        raise PacsRejectedError(self.label, "aborted the association request" + (f" ({said})" if said else ""))

    @contextlib.contextmanager
    def _association(self, contexts, **kw):
        ae = self._ae()
        for cx in contexts:
            ae.add_requested_context(*cx) if isinstance(cx, tuple) else ae.add_requested_context(cx)
        assoc = self._associate(ae, **kw)
        try:
            yield assoc
        except BaseException:
            assoc.abort()  # Ctrl-C, cancel or an error midway: no orderly release to wait for
            raise
        else:
            if assoc.is_established:
                assoc.release()

    # -- C-ECHO --------------------------------------------------------------------
    def echo(self) -> float:
        """Seconds for a C-ECHO round trip (association included)."""
        from pynetdicom.sop_class import Verification

        t0 = time.perf_counter()
        with self._association([Verification]) as assoc:
            status = assoc.send_c_echo()
        if not status:
            raise PacsUnreachableError(self.label, f"no answer to C-ECHO within {self.server.timeout:g} s")
        if status.Status != 0:
            raise PacsProtocolError(self.label, f"C-ECHO failed: {_status_text(status.Status, 'VERIFICATION_SERVICE_CLASS_STATUS')}")
        return time.perf_counter() - t0

    # -- C-FIND --------------------------------------------------------------------
    def _find(self, identifier, limit: int) -> tuple[list, bool]:
        from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind as FIND

        out, truncated = [], False
        with self._association([FIND]) as assoc:
            for status, ds in assoc.send_c_find(identifier, FIND):
                if not status:
                    raise PacsUnreachableError(self.label, "the connection was lost or timed out during C-FIND")
                code = status.Status
                if code in (0xFF00, 0xFF01):
                    if len(out) >= limit:
                        truncated = True
                        assoc.abort()  # more than we will show: stop the server sending
                        break
                    if ds is not None:
                        out.append(ds)
                elif code == 0x0000:
                    break
                else:
                    raise PacsProtocolError(self.label, f"C-FIND failed: {_status_text(code, 'QR_FIND_SERVICE_CLASS_STATUS')}")
        return out, truncated

    def find_studies(self, query: Query, limit: int = MAX_STUDIES) -> FindResult:
        from pydicom.dataset import Dataset

        def ask(name: str = "", pid: str = "") -> tuple[list, bool]:
            ds = Dataset()
            ds.QueryRetrieveLevel = "STUDY"
            ds.StudyInstanceUID = query.study_uid
            ds.PatientName = name
            ds.PatientID = pid
            ds.StudyDate = query.dates
            ds.StudyTime = ""
            ds.StudyDescription = ""
            ds.ModalitiesInStudy = query.modality
            ds.AccessionNumber = ""
            ds.NumberOfStudyRelatedSeries = ""
            ds.NumberOfStudyRelatedInstances = ""
            return self._find(ds, limit)

        found, truncated = ask(name=query.patient_name_pattern)
        if not found and query.patient:  # "patient name or ID": the ID when no name matched
            found, truncated = ask(pid=query.patient)
        studies = []
        for ds in found:
            uid = str(ds.get("StudyInstanceUID", ""))
            if not valid_uid(uid):
                continue
            mods = ds.get("ModalitiesInStudy", "")
            studies.append(Study(
                study_uid=uid, patient_name=clip(ds.get("PatientName", "")), patient_id=clip(ds.get("PatientID", "")),
                date=clip(ds.get("StudyDate", "")), description=clip(ds.get("StudyDescription", "")),
                modalities=clip("\\".join(mods) if not isinstance(mods, str) else mods),
                accession=clip(ds.get("AccessionNumber", "")),
                n_series=to_int(ds.get("NumberOfStudyRelatedSeries")), n_instances=to_int(ds.get("NumberOfStudyRelatedInstances")),
            ))
        return FindResult(studies, truncated)

    def find_series(self, study_uid: str, limit: int = MAX_SERIES) -> list[Series]:
        from pydicom.dataset import Dataset

        ds = Dataset()
        ds.QueryRetrieveLevel = "SERIES"
        ds.StudyInstanceUID = study_uid
        ds.SeriesInstanceUID = ""
        ds.Modality = ""
        ds.SeriesNumber = ""
        ds.SeriesDescription = ""
        ds.NumberOfSeriesRelatedInstances = ""
        found, _ = self._find(ds, limit)
        out = [Series(study_uid, str(d.get("SeriesInstanceUID", "")), clip(d.get("Modality", "")), clip(d.get("SeriesNumber", "")),
                      clip(d.get("SeriesDescription", "")), to_int(d.get("NumberOfSeriesRelatedInstances")))
               for d in found if valid_uid(str(d.get("SeriesInstanceUID", "")))]
        return sorted(out, key=lambda s: (to_int(s.number) or 0, s.series_uid))

    def list_instances(self, study_uid: str, series_uid: str) -> list[str]:
        from pydicom.dataset import Dataset

        ds = Dataset()
        ds.QueryRetrieveLevel = "IMAGE"
        ds.StudyInstanceUID = study_uid
        ds.SeriesInstanceUID = series_uid
        ds.SOPInstanceUID = ""
        found, truncated = self._find(ds, MAX_INSTANCES)
        if truncated:
            raise PacsLimitError(self.label, f"series {series_uid} has more than {MAX_INSTANCES} instances")
        return [str(d.SOPInstanceUID) for d in found if valid_uid(str(d.get("SOPInstanceUID", "")))]

    # -- C-GET / C-MOVE ------------------------------------------------------------
    def expected(self, study_uid: str, series_uid: str | None) -> list[str]:
        """The SOP Instance UIDs a retrieve should bring; ``PacsNotFoundError`` when the
        study (or series) is not on the server."""
        series = [series_uid] if series_uid else [s.series_uid for s in self.find_series(study_uid)]
        uids = [u for s in series for u in self.list_instances(study_uid, s)]
        if not uids:
            what = f"series {series_uid} of study {study_uid}" if series_uid else f"study {study_uid}"
            raise PacsNotFoundError(self.label, f"{what} is not on the server (deleted or moved since the search?)")
        return uids

    def retrieve(self, study_uid: str, series_uid: str | None, folder, cancel: threading.Event | None = None,
                 progress=None) -> RetrieveResult:
        """Bring the series (or the whole study) into ``folder`` (an ``InstanceFolder``)
        by C-GET, or C-MOVE when the server is configured so.  ``progress(done, total)``."""
        cancel = cancel or threading.Event()
        expected = self.expected(study_uid, series_uid)
        total = len(expected)
        wanted = set(expected)
        arrived = {u for u in wanted if folder.has(u)}  # from an earlier, interrupted retrieve
        if progress:
            progress(len(arrived), total)
        result = RetrieveResult(folder.folder)
        if all(folder.has(u) for u in expected):
            result.received = folder.files()
            return result
        failures: dict[str, str] = {}
        limit_hit: list[PacsError] = []

        def on_store(event):
            uid = str(event.request.AffectedSOPInstanceUID)
            if cancel.is_set() or limit_hit:
                return 0xA702  # refused: the retrieve is being stopped
            try:
                folder.add_bytes(uid, event.encoded_dataset())
            except PacsLimitError as e:
                limit_hit.append(e)
                return 0xA700
            except (PacsError, OSError) as e:
                failures[uid] = getattr(e, "reason", None) or str(e)
                return 0xA700
            if uid in wanted:
                arrived.add(uid)
            if progress:
                progress(len(arrived), total)
            return 0x0000

        from pydicom.dataset import Dataset

        ds = Dataset()
        ds.QueryRetrieveLevel = "SERIES" if series_uid else "STUDY"
        ds.StudyInstanceUID = study_uid
        if series_uid:
            ds.SeriesInstanceUID = series_uid
        try:
            if self.server.retrieve == "move":
                final = self._move(ds, on_store, cancel)
            else:
                final = self._get(ds, on_store, cancel)
        except KeyboardInterrupt:
            result.cancelled = True
            raise
        finally:
            result.received = folder.files()
            result.bytes = folder.bytes
        if limit_hit:
            raise limit_hit[0]
        result.missing = [u for u in expected if not folder.has(u)]
        result.cancelled = final == "cancelled"
        if result.missing and not result.cancelled:
            reasons = sorted(set(failures.values()))
            why = f" (ours: {'; '.join(reasons[:3])})" if reasons else f" ({final if isinstance(final, str) else 'the server did not send them'})"
            raise PacsPartialError(self.label, f"{len(result.missing)} of {total} instances did not arrive{why}; "
                                   f"the {len(result.received)} that did are kept in {folder.folder}",
                                   result.received, result.missing)
        return result

    def _storage_contexts(self):
        from pynetdicom import StoragePresentationContexts

        return [cx.abstract_syntax for cx in StoragePresentationContexts]

    def _responses(self, assoc, responses, cancel, what: str):
        """Walk the C-GET/C-MOVE responses; 'cancelled', a failure note, or None."""
        for status, identifier in responses:
            if cancel.is_set():
                assoc.abort()
                return "cancelled"
            if not status:
                return f"the connection was lost or timed out during {what}"
            code = status.Status
            if code in (0xFF00, 0xFF01):
                continue
            if code in (0x0000, 0xB000):
                return None
            if code == 0xFE00:
                return "cancelled"
            table = "QR_GET_SERVICE_CLASS_STATUS" if what == "C-GET" else "QR_MOVE_SERVICE_CLASS_STATUS"
            if code == 0xA801:
                raise PacsConfigError(self.label, f"C-MOVE refused: the server does not know our AE title "
                                      f"{self.server.calling_ae} as a destination (register it there with our address and port "
                                      f"{self.server.move_port})")
            return f"{what} ended with {_status_text(code, table)}"
        return "cancelled" if cancel.is_set() else None

    def _get(self, ds, on_store, cancel):
        from pynetdicom import build_role, evt
        from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelGet as GET

        storage = self._storage_contexts()[: 127]  # 128 contexts at most, one is C-GET's
        roles = [build_role(uid, scp_role=True) for uid in storage]
        contexts = [GET] + [(uid, ACCEPTED_SYNTAXES) for uid in storage]
        with self._association(contexts, ext_neg=roles, evt_handlers=[(evt.EVT_C_STORE, on_store)]) as assoc:
            return self._responses(assoc, assoc.send_c_get(ds, GET), cancel, "C-GET")

    def _move(self, ds, on_store, cancel):
        from pynetdicom import AE, evt
        from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelMove as MOVE

        scp = AE(ae_title=self.server.calling_ae)
        scp.network_timeout = scp.dimse_timeout = scp.acse_timeout = max(float(self.server.timeout), 30.0)
        scp.maximum_pdu_size = 0
        for uid in self._storage_contexts():
            scp.add_supported_context(uid, ACCEPTED_SYNTAXES)
        try:
            listener = scp.start_server((self.server.move_host, int(self.server.move_port)), block=False,
                                        evt_handlers=[(evt.EVT_C_STORE, on_store)])
        except OSError as e:
            raise PacsConfigError(self.label, f"our storage port {self.server.move_port} for C-MOVE cannot be opened: "
                                  f"{e.strerror or e}") from None
        try:
            with self._association([MOVE]) as assoc:
                return self._responses(assoc, assoc.send_c_move(ds, self.server.calling_ae, MOVE), cancel, "C-MOVE")
        finally:
            listener.shutdown()

    # -- C-STORE -------------------------------------------------------------------
    def store(self, files, cancel: threading.Event | None = None, progress=None) -> SendResult:
        """Send each file (a DICOM file with its file meta) by C-STORE; raises
        ``PacsSendError`` when the server refuses any."""
        from pydicom import dcmread

        cancel = cancel or threading.Event()
        files = list(files)
        heads = {}
        for f in files:
            try:
                h = dcmread(f, stop_before_pixels=True, specific_tags=["SOPClassUID", "SOPInstanceUID"])
                heads[f] = (str(h.SOPClassUID), str(h.file_meta.TransferSyntaxUID))
            except Exception as e:
                raise PacsSendError(self.label, f"{f} is not a DICOM file we can send ({type(e).__name__}); nothing was sent") from None
        by_class: dict[str, list[str]] = {}
        for cls, ts in heads.values():
            syntaxes = by_class.setdefault(cls, [])
            for t in (ts, "1.2.840.10008.1.2.1", "1.2.840.10008.1.2"):
                if t not in syntaxes:
                    syntaxes.append(t)
        if len(by_class) > 128:
            raise PacsSendError(self.label, f"{len(by_class)} kinds of object in one send (128 at most); nothing was sent")
        result = SendResult()
        with self._association(list(by_class.items())) as assoc:
            accepted = {cx.abstract_syntax for cx in assoc.accepted_contexts}
            for i, f in enumerate(files):
                if cancel.is_set():
                    result.cancelled = True
                    break
                if heads[f][0] not in accepted:
                    result.refused.append((f, f"the server does not accept this kind of object (SOP class {heads[f][0]})"))
                    continue
                try:
                    status = assoc.send_c_store(f)
                except (RuntimeError, OSError, ValueError) as e:  # the association died, or the file cannot be read
                    status = None
                    if isinstance(e, (OSError, ValueError)) and assoc.is_established:
                        result.refused.append((f, f"cannot be read: {e}"))
                        continue
                if not status:
                    result.refused.extend((g, "connection lost or timed out") for g in files[i:])
                    break
                code = status.Status
                if code in _STORE_OK:
                    result.sent.append(f)
                else:
                    result.refused.append((f, _status_text(code)))
                if progress:
                    progress(i + 1, len(files))
        if result.refused:
            first = result.refused[0][1]
            raise PacsSendError(self.label, f"refused {len(result.refused)} of {len(files)} instances ({first}); "
                                f"{len(result.sent)} were stored", result.sent, result.refused)
        return result
