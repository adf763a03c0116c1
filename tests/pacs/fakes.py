"""Misbehaving servers on the loopback interface: silent, flooding, lying about sizes."""

from __future__ import annotations

import contextlib
import http.server
import socket
import ssl
import threading


@contextlib.contextmanager
def silent_server():
    """A port that accepts connections and never says a word: ``(host, port)``."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    held = []
    stop = threading.Event()

    def accept():
        s.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(s.accept()[0])
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        yield s.getsockname()
    finally:
        stop.set()
        t.join(2)
        for c in held:
            c.close()
        s.close()


@contextlib.contextmanager
def http_server(respond, certfile: str | None = None):
    """``respond(handler) -> (status, headers, body)`` for every GET/POST; yields the base
    URL.  ``handler.seen`` collects ``(method, path, headers)``."""
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def _any(self):
            seen.append((self.command, self.path, dict(self.headers)))
            n = int(self.headers.get("Content-Length") or 0)
            if n:
                self.rfile.read(n)
            status, headers, body = respond(self)
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            if "Content-Length" not in headers:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with contextlib.suppress(OSError):
                self.wfile.write(body)

        do_GET = do_POST = _any

        def log_message(self, *a):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if certfile:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(certfile)
        httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    scheme = "https" if certfile else "http"
    try:
        yield f"{scheme}://127.0.0.1:{httpd.server_address[1]}/dicom-web", seen
    finally:
        httpd.shutdown()
        httpd.server_close()


@contextlib.contextmanager
def flooding_find_scp(n: int):
    """A DIMSE server whose C-FIND answers ``n`` studies: ``(port, sent)``; ``sent[0]``
    counts the answers it managed to send before we stopped it."""
    from pydicom.dataset import Dataset
    from pynetdicom import AE, evt
    from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind, Verification

    sent = [0]

    def on_find(event):
        for i in range(n):
            if event.is_cancelled:
                return
            ds = Dataset()
            ds.QueryRetrieveLevel = "STUDY"
            ds.StudyInstanceUID = f"1.2.3.{i + 1}"
            ds.PatientName = f"FLOOD^{i}"
            sent[0] += 1
            yield 0xFF00, ds
        yield 0x0000, None

    ae = AE(ae_title="FLOOD")
    ae.add_supported_context(StudyRootQueryRetrieveInformationModelFind)
    ae.add_supported_context(Verification)
    server = ae.start_server(("127.0.0.1", 0), block=False, evt_handlers=[(evt.EVT_C_FIND, on_find)])
    try:
        yield server.socket.getsockname()[1], sent
    finally:
        server.shutdown()
