"""``metazoom-pacs``: talk to a PACS from the shell.

    metazoom-pacs echo SERVER
    metazoom-pacs find SERVER [--patient NAME_OR_ID] [--modality MR] [--date 20200101-20201231] [--study UID]
    metazoom-pacs get SERVER --study UID [--series UID] -o DIR
    metazoom-pacs send SERVER PATH...
    metazoom-pacs servers | add NAME ADDRESS [options] | remove NAME | secret NAME

SERVER is a configured name or an address (``dicom://AET@host:port``,
``https://host/dicom-web``).  ``get`` writes each series to ``DIR/<SeriesInstanceUID>/``,
one file per instance, each complete or absent.  Exit codes: 0 done; 1 the server
failed or refused (the message names it and says why); 2 bad arguments; 130
interrupted (what arrived is kept, what did not is listed).
"""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

from ..errors import MetaZoomError
from .errors import PacsError, PacsPartialError, PacsSendError
from .limits import MAX_STUDIES
from .servers import AUTH_KINDS, DEFAULT_AE, RETRIEVE_KINDS, Server, ServerStore

PROG = "metazoom-pacs"
#: studies whose series ``find`` lists too (each costs one more query)
SERIES_LISTED = 25


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="Find, retrieve and send studies on a PACS (DIMSE or DICOMweb).")
    sub = p.add_subparsers(dest="command", required=True)

    def server_cmd(name, help):
        c = sub.add_parser(name, help=help)
        c.add_argument("server", metavar="SERVER", help="a configured name, or dicom://AET@host:port, https://host/dicom-web")
        c.add_argument("--ae", help=f"our calling AE title (default: the server's, else {DEFAULT_AE})")
        c.add_argument("--timeout", type=float, help="seconds for connecting and each network step")
        return c

    server_cmd("echo", "check the connection (C-ECHO, or a one-study search over DICOMweb)")
    c = server_cmd("find", "search studies; prints studies and their series")
    c.add_argument("--patient", default="", help="patient name (matched anywhere, * wildcards) or ID")
    c.add_argument("--modality", default="", help="e.g. MR, CT")
    c.add_argument("--date", default="", help="YYYYMMDD or YYYYMMDD-YYYYMMDD (an end may be left open)")
    c.add_argument("--study", default="", metavar="UID", help="one study")
    c.add_argument("--limit", type=int, default=MAX_STUDIES, help=f"studies at most (default {MAX_STUDIES})")
    c = server_cmd("get", "retrieve a study or one of its series")
    c.add_argument("--study", required=True, metavar="UID")
    c.add_argument("--series", metavar="UID", help="only this series (default: every series of the study)")
    c.add_argument("-o", "--output", dest="out", type=Path, required=True, help="folder; each series goes to DIR/<SeriesUID>/")
    c.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    c = server_cmd("send", "send DICOM files (e.g. an exported derived series) to the server")
    c.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="DICOM files or folders (searched recursively)")
    c.add_argument("--quiet", "-q", action="store_true", help="no progress bar")

    sub.add_parser("servers", help="list the configured servers")
    c = sub.add_parser("add", help="configure a server (replaces one of the same name)")
    c.add_argument("name")
    c.add_argument("address", help="dicom://AET@host:port or https://host/dicom-web")
    c.add_argument("--ae", default=DEFAULT_AE, help=f"our calling AE title (default {DEFAULT_AE})")
    c.add_argument("--user", default="", help="DICOMweb user name (basic authentication)")
    c.add_argument("--auth", choices=AUTH_KINDS, help="DICOMweb authentication (default: basic with --user, else none)")
    c.add_argument("--ca-bundle", default="", help="CA certificates to check the server's TLS certificate against")
    c.add_argument("--no-verify-tls", action="store_true", help="do not check the TLS certificate (not advised)")
    c.add_argument("--retrieve", choices=RETRIEVE_KINDS, default="get", help="DIMSE: C-GET (default) or C-MOVE")
    c.add_argument("--move-port", type=int, default=11113, help="C-MOVE: the port our storage SCP listens on")
    c.add_argument("--move-host", default="0.0.0.0", help="C-MOVE: the address our storage SCP listens on")
    c.add_argument("--timeout", type=float, default=10.0)
    c = sub.add_parser("remove", help="forget a server (and its stored secret)")
    c.add_argument("name")
    c = sub.add_parser("secret", help="store a server's password or token in the OS keyring (asked, never echoed)")
    c.add_argument("name")
    return p


def _say(msg: str) -> None:
    print(f"{PROG}: {msg}", file=sys.stderr)


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    store = ServerStore()
    try:
        return COMMANDS[args.command](args, store)
    except KeyboardInterrupt:
        _say("interrupted")
        return 130
    except PacsError as e:
        _say(f"error: {e}")
        return 1
    except ValueError as e:  # a malformed search
        _say(f"error: {e}")
        return 2
    except MetaZoomError as e:
        _say(f"error: {e}")
        return 1


def _server(args, store: ServerStore) -> Server:
    return store.resolve(args.server, calling_ae=args.ae, timeout=args.timeout)


def _client(server):
    from .client import connect

    return connect(server)


def cmd_echo(args, store) -> int:
    server = _server(args, store)
    seconds = _client(server).echo()
    print(f"{server.label}: answered in {seconds * 1000:.0f} ms")
    return 0


def cmd_find(args, store) -> int:
    from .records import Query

    server = _server(args, store)
    query = Query(patient=args.patient, dates=args.date, modality=args.modality, study_uid=args.study)
    client = _client(server)
    found = client.find_studies(query, limit=max(1, args.limit))
    rows = [("DATE", "PATIENT", "ID", "MOD", "SERIES", "IMAGES", "DESCRIPTION", "STUDY UID")]
    for s in found.studies:
        rows.append((s.date, s.patient_name, s.patient_id, s.modalities, _n(s.n_series), _n(s.n_instances), s.description, s.study_uid))
    _table(rows)
    if len(found.studies) <= SERIES_LISTED:
        for s in found.studies:
            series = client.find_series(s.study_uid)
            print(f"\nstudy {s.study_uid} ({s.patient_name}, {s.date}): {len(series)} series")
            _table([("  #", "MOD", "IMAGES", "DESCRIPTION", "SERIES UID")] +
                   [(f"  {x.number}", x.modality, _n(x.n_instances), x.description, x.series_uid) for x in series])
    elif found.studies:
        print(f"\n(series are listed for {SERIES_LISTED} studies or fewer: narrow the search, e.g. --study UID)")
    more = f", cut off at {len(found.studies)}: narrow the search" if found.truncated else ""
    _say(f"{len(found.studies)} studies on {server.label}{more}")
    return 0


def _n(v) -> str:
    return "?" if v is None else str(v)


def _table(rows) -> None:
    widths = [min(40, max(len(str(r[i])) for r in rows)) for i in range(len(rows[0]))]
    for r in rows:
        cells = [str(c) if i == len(r) - 1 else str(c)[:widths[i]].ljust(widths[i]) for i, c in enumerate(r)]
        print("  ".join(cells).rstrip())


def cmd_get(args, store) -> int:
    from tqdm import tqdm

    from .instances import InstanceFolder

    server = _server(args, store)
    client = _client(server)
    series = [args.series] if args.series else [s.series_uid for s in client.find_series(args.study)]
    if not series:
        from .errors import PacsNotFoundError

        raise PacsNotFoundError(server.label, f"study {args.study} is not on the server")
    cancel = threading.Event()
    bar = tqdm(total=0, unit="image", disable=args.quiet, file=sys.stderr, dynamic_ncols=True)
    kept, missing = [], []
    folders = []
    try:
        for uid in series:
            folder = InstanceFolder(args.out / uid, server.label)
            folders.append(folder)
            base = bar.n

            def progress(done, total, base=base):
                if bar.total < base + total:
                    bar.total = base + total
                bar.n = base + done
                bar.refresh()

            try:
                r = client.retrieve(args.study, uid, folder, cancel, progress)
                kept.extend(r.received)
            except PacsPartialError as e:
                kept.extend(e.received)
                missing.extend(e.missing)
                bar.write(f"{PROG}: error: {e}", file=sys.stderr)
    except KeyboardInterrupt:
        bar.close()
        n = sum(len(f.files()) for f in folders)
        _say(f"interrupted: {n} complete instance files kept in {args.out}; the rest was not retrieved")
        return 130
    finally:
        bar.close()
    if missing:
        _say(f"{len(missing)} instances did not arrive: " + ", ".join(missing[:20]) + (" …" if len(missing) > 20 else ""))
        return 1
    _say(f"{len(kept)} instances of {len(series)} series from {server.label} in {args.out}")
    return 0


def cmd_send(args, store) -> int:
    from .instances import files_to_send

    server = _server(args, store)
    files = files_to_send(args.paths)
    if not files:
        _say(f"error: no DICOM files in {', '.join(map(str, args.paths))}; nothing was sent")
        return 1
    try:
        result = send_files(server, files, quiet=args.quiet)
    except PacsSendError as e:
        _say(f"error: {e}")
        for f, why in e.refused[:20]:
            _say(f"  refused: {f}: {why}")
        return 1
    if result.cancelled:
        _say(f"interrupted: {len(result.sent)} of {len(files)} instances were sent")
        return 130
    _say(f"sent {len(result.sent)} instances to {server.label}")
    return 0


def send_files(server, files, quiet: bool = False):
    """Send ``files`` with a progress bar; the ``SendResult`` (``PacsSendError`` when refused)."""
    from tqdm import tqdm

    client = _client(server)
    with tqdm(total=len(files), unit="image", disable=quiet, file=sys.stderr, dynamic_ncols=True) as bar:
        def progress(done, total):
            bar.n = done
            bar.refresh()

        return client.store(files, None, progress)


def cmd_servers(args, store) -> int:
    servers = store.servers()
    if not servers:
        _say(f"no servers configured ({store.path}); add one with `{PROG} add NAME ADDRESS`")
        return 0
    for s in servers:
        extra = f" user {s.username}" if s.username else ""
        extra += f" auth {s.auth}" if s.auth != "none" else ""
        extra += f" retrieve C-{s.retrieve.upper()}" + (f" (port {s.move_port})" if s.retrieve == "move" else "") if s.kind == "dicom" else ""
        print(f"{s.name}\t{s.address}\tAE {s.calling_ae}{extra}")
    return 0


def cmd_add(args, store) -> int:
    auth = args.auth or ("basic" if args.user else "none")
    server = Server(name=args.name, address=args.address, calling_ae=args.ae, username=args.user, auth=auth,
                    verify_tls=not args.no_verify_tls, ca_bundle=args.ca_bundle, retrieve=args.retrieve,
                    move_port=args.move_port, move_host=args.move_host, timeout=args.timeout)
    store.save(server)
    _say(f"saved {server.label} in {store.path}")
    if auth != "none":
        from .secrets import env_name

        _say(f"store its {'password' if auth == 'basic' else 'token'} with `{PROG} secret {server.name}` "
             f"or set {env_name(server.name)}")
    return 0


def cmd_remove(args, store) -> int:
    from .secrets import delete_secret

    server = store.get(args.name)
    if server is None or not store.remove(args.name):
        _say(f"error: no server named {args.name!r}")
        return 1
    delete_secret(server)
    _say(f"removed {server.label}")
    return 0


def cmd_secret(args, store) -> int:
    import getpass

    from .secrets import set_secret

    server = store.get(args.name)
    if server is None:
        _say(f"error: no server named {args.name!r}; add it first")
        return 1
    secret = getpass.getpass(f"{'Password' if server.auth == 'basic' else 'Token'} for {server.label}: ")
    if not secret:
        _say("nothing stored")
        return 1
    set_secret(server, secret)
    _say(f"stored in the OS keyring for {server.name}")
    return 0


COMMANDS = {"echo": cmd_echo, "find": cmd_find, "get": cmd_get, "send": cmd_send, "servers": cmd_servers,
            "add": cmd_add, "remove": cmd_remove, "secret": cmd_secret}


if __name__ == "__main__":
    sys.exit(main())
