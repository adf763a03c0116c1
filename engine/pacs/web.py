"""DICOMweb with dicomweb-client: QIDO-RS (search), WADO-RS (retrieve), STOW-RS (send).

Basic or bearer authentication (the secret from the keyring or the environment, set on
each request by a ``requests`` auth object, so it is never in a header dictionary that
gets logged); TLS certificates are checked unless the server is configured otherwise,
against ``ca_bundle`` when one is given.  Every answer is bounded in size before it is
read into memory, and every request has a time-out.
"""

from __future__ import annotations

import contextlib
import threading
import time

from .errors import (
    PacsAuthError,
    PacsError,
    PacsLimitError,
    PacsNotFoundError,
    PacsPartialError,
    PacsProtocolError,
    PacsSendError,
    PacsTlsError,
    PacsUnreachableError,
)
from .limits import MAX_INSTANCES, MAX_JSON_BYTES, MAX_RETRIEVE_BYTES, MAX_SERIES, MAX_STUDIES
from .records import FindResult, Query, RetrieveResult, SendResult, Series, Study, clip, to_int, valid_uid
from .secrets import require_secret

#: bytes of DICOM per STOW-RS request
STOW_BATCH_BYTES = 64 * 2**20


def _bearer(token: str):
    import requests

    class Bearer(requests.auth.AuthBase):
        def __call__(self, r):
            r.headers["Authorization"] = f"Bearer {token}"
            return r

        def __repr__(self) -> str:  # never shows the token
            return "Bearer(***)"

    return Bearer()


def _session():
    """A ``requests`` session that sends QIDO-RS wildcards as ``*`` and ``?`` (both legal
    in a query string): dicomweb-client percent-encodes them, and some servers (Orthanc
    1.10 among them) then match a literal ``%2A`` and find nothing."""
    import requests

    class Session(requests.Session):
        def request(self, method, url, *args, **kwargs):
            if "?" in url:
                base, _, query = url.partition("?")
                url = base + "?" + query.replace("%2A", "*").replace("%3F", "?")
            return super().request(method, url, *args, **kwargs)

    return Session()


def _bounded(response, limit: int, label: str):
    """Make ``response`` refuse to read past ``limit`` bytes (its declared length is
    checked first); returns it (a ``requests`` response hook)."""
    try:
        declared = int(response.headers.get("Content-Length", "0"))
    except ValueError:
        declared = 0
    if declared > limit:
        response.close()
        raise PacsLimitError(label, f"the server announced {declared / 2**20:.0f} MB in one answer; our limit is {limit // 2**20} MB")
    original = response.iter_content

    def iter_content(chunk_size=1, decode_unicode=False):
        seen = 0
        for chunk in original(chunk_size=chunk_size, decode_unicode=decode_unicode):
            seen += len(chunk)
            if seen > limit:
                response.close()
                raise PacsLimitError(label, f"the server sent more than {limit // 2**20} MB in one answer; stopped")
            yield chunk

    response.iter_content = iter_content
    return response


class WebClient:
    def __init__(self, server) -> None:
        import requests
        from dicomweb_client.api import DICOMwebClient

        self.server = server
        self.label = server.label
        session = _session()
        session.trust_env = False  # no proxy or netrc credentials picked up behind our back
        session.verify = server.ca_bundle or bool(server.verify_tls)
        if server.auth == "basic":
            # UTF-8 (RFC 7617): requests would send a str as Latin-1, and a non-ASCII password would fail
            session.auth = (server.username.encode("utf-8"), require_secret(server).encode("utf-8"))
        elif server.auth == "bearer":
            session.auth = _bearer(require_secret(server))

        def hook(response, *args, **kwargs):
            multipart = "multipart" in response.headers.get("Content-Type", "")
            return _bounded(response, MAX_RETRIEVE_BYTES if multipart else MAX_JSON_BYTES, self.label)

        t = float(server.timeout)
        # connect, then each read (the wait between bytes, not for the whole answer)
        self.client = DICOMwebClient(url=server.parsed.url, session=session, timeout=(t, 3 * t), callback=hook)
        self.client.set_http_retry_params(retry=False)  # a failing server fails now, not after minutes of retries

    @contextlib.contextmanager
    def _errors(self, what: str, missing: str | None = None):
        """Turn requests' and dicomweb-client's exceptions into typed ones."""
        import requests

        t = self.server.timeout
        try:
            yield
        except PacsError:
            raise
        except requests.exceptions.SSLError as e:
            reason = str(e.__context__ or e).split("(Caused by")[-1].strip(" )")[:200]
            raise PacsTlsError(self.label, f"the TLS certificate check failed ({reason}); give the hospital's CA "
                               "certificates as the server's ca_bundle") from None
        except (requests.exceptions.ConnectTimeout, requests.exceptions.ReadTimeout):
            raise PacsUnreachableError(self.label, f"no answer to {what} within {t:g} s") from None
        except requests.exceptions.ConnectionError:
            a = self.server.parsed
            raise PacsUnreachableError(self.label, f"cannot connect to {a.host}:{a.port} (refused or unreachable)") from None
        except requests.exceptions.HTTPError as e:
            code = e.response.status_code if e.response is not None else 0
            if code in (401, 403):
                if self.server.auth == "none":
                    raise PacsAuthError(self.label, f"{what}: HTTP {code}: the server wants credentials; configure "
                                        "basic or bearer authentication for it") from None
                raise PacsAuthError(self.label, f"{what}: HTTP {code}: the server refused our credentials "
                                    f"({self.server.auth} authentication{' as ' + self.server.username if self.server.username else ''})") from None
            if code == 404 and missing:
                raise PacsNotFoundError(self.label, missing) from None
            raise PacsProtocolError(self.label, f"{what}: HTTP {code} {e.response.reason if e.response is not None else ''}".rstrip()) from None
        except requests.exceptions.RequestException as e:
            raise PacsUnreachableError(self.label, f"{what} failed: {type(e).__name__}") from None
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise PacsProtocolError(self.label, f"{what}: the answer could not be read ({type(e).__name__}: {str(e)[:160]})") from None

    # -- QIDO-RS -------------------------------------------------------------------
    def echo(self) -> float:
        t0 = time.perf_counter()
        with self._errors("a search"):
            self.client.search_for_studies(limit=1, fields=["StudyInstanceUID"])
        return time.perf_counter() - t0

    def find_studies(self, query: Query, limit: int = MAX_STUDIES) -> FindResult:
        def ask(**filters):
            f = {"StudyDate": query.dates, "ModalitiesInStudy": query.modality, "StudyInstanceUID": query.study_uid, **filters}
            with self._errors("the study search"):
                found = self.client.search_for_studies(
                    search_filters={k: v for k, v in f.items() if v}, limit=limit + 1,
                    fields=["StudyDescription", "NumberOfStudyRelatedSeries", "NumberOfStudyRelatedInstances", "ModalitiesInStudy"])
            return found if isinstance(found, list) else []

        found = ask(PatientName=query.patient_name_pattern)
        if not found and query.patient:
            found = ask(PatientID=query.patient)
        truncated = len(found) > limit
        studies = []
        for d in found[:limit]:
            uid = _value(d, "0020000D")
            if not valid_uid(uid):
                continue
            mods = _values(d, "00080061")
            studies.append(Study(
                study_uid=uid, patient_name=clip(_name(d)), patient_id=clip(_value(d, "00100020")), date=clip(_value(d, "00080020")),
                description=clip(_value(d, "00081030")), modalities=clip("\\".join(mods)), accession=clip(_value(d, "00080050")),
                n_series=to_int(_value(d, "00201206")), n_instances=to_int(_value(d, "00201208"))))
        return FindResult(studies, truncated)

    def find_series(self, study_uid: str, limit: int = MAX_SERIES) -> list[Series]:
        with self._errors("the series search", missing=f"study {study_uid} is not on the server"):
            found = self.client.search_for_series(study_instance_uid=study_uid, limit=limit,
                                                  fields=["NumberOfSeriesRelatedInstances", "SeriesDescription"])
        out = [Series(study_uid, _value(d, "0020000E"), clip(_value(d, "00080060")), clip(_value(d, "00200011")),
                      clip(_value(d, "0008103E")), to_int(_value(d, "00201209")))
               for d in (found or [])[:limit] if valid_uid(_value(d, "0020000E"))]
        return sorted(out, key=lambda s: (to_int(s.number) or 0, s.series_uid))

    def list_instances(self, study_uid: str, series_uid: str) -> list[str]:
        with self._errors("the instance search", missing=f"series {series_uid} is not on the server"):
            found = self.client.search_for_instances(study_instance_uid=study_uid, series_instance_uid=series_uid,
                                                     limit=MAX_INSTANCES + 1, fields=["SOPInstanceUID"])
        if len(found or []) > MAX_INSTANCES:
            raise PacsLimitError(self.label, f"series {series_uid} has more than {MAX_INSTANCES} instances")
        return [u for u in (_value(d, "00080018") for d in found or []) if valid_uid(u)]

    def expected(self, study_uid: str, series_uid: str | None) -> list[str]:
        what = f"series {series_uid} of study {study_uid}" if series_uid else f"study {study_uid}"
        gone = f"{what} is not on the server (deleted or moved since the search?)"
        try:
            series = [series_uid] if series_uid else [s.series_uid for s in self.find_series(study_uid)]
            uids = [u for s in series for u in self.list_instances(study_uid, s)]
        except PacsNotFoundError:
            raise PacsNotFoundError(self.label, gone) from None
        if not uids:
            raise PacsNotFoundError(self.label, gone)
        return uids

    # -- WADO-RS -------------------------------------------------------------------
    def retrieve(self, study_uid: str, series_uid: str | None, folder, cancel: threading.Event | None = None,
                 progress=None) -> RetrieveResult:
        cancel = cancel or threading.Event()
        expected = self.expected(study_uid, series_uid)
        total = len(expected)
        wanted = set(expected)
        result = RetrieveResult(folder.folder)
        arrived = {u for u in wanted if folder.has(u)}  # from an earlier, interrupted retrieve
        done = lambda: len(arrived)  # noqa: E731
        if progress:
            progress(done(), total)
        note = None
        failures: dict[str, str] = {}
        if done() < total:
            gone = f"{'series ' + series_uid if series_uid else 'study ' + study_uid} is not on the server (deleted since the search?)"
            stream = (self.client.iter_series(study_uid, series_uid) if series_uid else self.client.iter_study(study_uid))
            try:
                with self._errors("the retrieve", missing=gone):
                    for ds in stream:
                        uid = str(ds.get("SOPInstanceUID", ""))
                        if uid in wanted:  # nothing the search did not list
                            try:
                                folder.add_dataset(ds)
                                arrived.add(uid)
                            except (OSError, PacsProtocolError) as e:  # this one is missing; the others go on
                                failures[uid] = getattr(e, "reason", None) or getattr(e, "strerror", None) or str(e)
                            if progress:
                                progress(done(), total)
                        if cancel.is_set():
                            result.cancelled = True
                            break
            except (PacsUnreachableError, PacsProtocolError) as e:
                note = e.reason  # what arrived is kept; the rest is listed below
            finally:
                stream.close()
        result.received = folder.files()
        result.bytes = folder.bytes
        result.missing = [u for u in expected if not folder.has(u)]
        if result.missing and not result.cancelled:
            reasons = sorted(set(failures.values()))
            note = note or (f"ours: {'; '.join(reasons[:3])}" if reasons else "the server did not send them")
            raise PacsPartialError(self.label, f"{len(result.missing)} of {total} instances did not arrive"
                                   f"{' (' + note + ')' if note else ''}; the {len(result.received)} that did are kept in "
                                   f"{folder.folder}", result.received, result.missing)
        return result

    # -- STOW-RS -------------------------------------------------------------------
    def store(self, files, cancel: threading.Event | None = None, progress=None) -> SendResult:
        from pydicom import dcmread

        cancel = cancel or threading.Event()
        files = list(files)
        result = SendResult()
        batches, batch, size = [], [], 0
        for f in files:
            n = f.stat().st_size
            if batch and size + n > STOW_BATCH_BYTES:
                batches.append(batch)
                batch, size = [], 0
            batch.append(f)
            size += n
        if batch:
            batches.append(batch)
        sent = 0
        for batch in batches:
            if cancel.is_set():
                result.cancelled = True
                break
            datasets, by_uid = [], {}
            for f in batch:
                try:
                    ds = dcmread(f)
                except Exception as e:
                    result.refused.append((f, f"not a DICOM file we can send ({type(e).__name__})"))
                    continue
                datasets.append(ds)
                by_uid[str(ds.SOPInstanceUID)] = f
            answer = self._stow(datasets) if datasets else None
            failed = {}
            for item in answer.get("FailedSOPSequence", []) if answer is not None else []:
                reason = item.get("FailureReason")
                failed[str(item.get("ReferencedSOPInstanceUID", ""))] = f"failure reason 0x{int(reason):04X}" if reason is not None else "refused"
            if answer is None and datasets:  # the whole request was refused without details
                failed = {uid: "refused (HTTP 409, no details)" for uid in by_uid}
            for uid, f in by_uid.items():
                if uid in failed:
                    result.refused.append((f, failed[uid]))
                else:
                    result.sent.append(f)
            sent += len(batch)
            if progress:
                progress(sent, len(files))
        if result.refused:
            first = result.refused[0][1]
            raise PacsSendError(self.label, f"refused {len(result.refused)} of {len(files)} instances ({first}); "
                                f"{len(result.sent)} were stored", result.sent, result.refused)
        return result

    def _stow(self, datasets):
        """POST one batch; the server's answer (a dataset), or None for a bare 409."""
        import requests
        from pydicom import Dataset

        with self._errors("the send"):
            try:
                return self.client.store_instances(datasets=datasets)
            except requests.exceptions.HTTPError as e:
                r = e.response
                if r is None or r.status_code != 409:  # 409 Conflict: some or all refused, details in the body
                    raise
                try:
                    return Dataset.from_json(r.json())
                except ValueError:
                    return None


def _value(d: dict, tag: str) -> str:
    v = (d.get(tag) or {}).get("Value") or [""]
    first = v[0]
    if isinstance(first, dict):  # a person name
        return str(first.get("Alphabetic", ""))
    return str(first)


def _values(d: dict, tag: str) -> list[str]:
    return [str(x) for x in ((d.get(tag) or {}).get("Value") or [])][:64]


def _name(d: dict) -> str:
    return _value(d, "00100010")
