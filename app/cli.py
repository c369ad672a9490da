"""The ``ecghub`` command: serve, demo, migrate, worker, analyze, hl7-listen, dicom-listen, and account bootstrap."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import uuid
from pathlib import Path

from app.settings import Settings


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.observability import configure_logging
    from storage.migrations import upgrade

    configure_logging()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)
    settings = Settings()
    if not settings.public_base_url:
        if not args.demo:
            print("ECGHUB_PUBLIC_BASE_URL is not set: share links and QR codes need the address phones open "
                  "(e.g. https://ecg.example.org), not whatever Host header a request sends; refusing to start",
                  file=sys.stderr)
            return 2
        # the demo serves this machine: links point at the address it listens on
        os.environ["ECGHUB_PUBLIC_BASE_URL"] = f"http://{args.host}:{args.port}"
        settings = Settings()
    if args.demo:  # the demo shows the hospital doors too: HL7 orders in, DICOM worklist and carts
        from app.demo import DEMO_DICOM_PORT, DEMO_HL7_PORT

        os.environ.setdefault("ECGHUB_HL7_LISTEN_PORT", str(DEMO_HL7_PORT))
        os.environ.setdefault("ECGHUB_DICOM_LISTEN_PORT", str(DEMO_DICOM_PORT))
        settings = Settings()
    upgrade(settings.resolved_database_url)
    if args.demo:
        from app.demo import seed_demo

        print(seed_demo(settings, Path(args.data) if args.data else None))
    print(f"ecghub listening on http://{args.host}:{args.port}  (API docs: /docs)", flush=True)
    uvicorn.run("app.asgi:app", host=args.host, port=args.port, workers=args.workers,
                proxy_headers=True, timeout_graceful_shutdown=30, log_level="info", log_config=None,
                # Idle connections are kept longer than clients' and proxies' own idle timeouts
                # (httpx 5 s, nginx 60 s): a server closing first races a request sent on that
                # connection, which then fails without an answer.
                timeout_keep_alive=75)
    return 0


def _migrate(_: argparse.Namespace) -> int:
    from storage.migrations import upgrade

    upgrade(Settings().resolved_database_url)
    print("database is at the latest schema")
    return 0


def _worker(args: argparse.Namespace) -> int:
    """Run analysis jobs from the broker until SIGTERM/SIGINT (then finish the current job).

    Exits with 75 (EX_TEMPFAIL) once a finished job left the process above
    ``ECGHUB_WORKER_MAX_RSS_MIB``: the jobs in hand are finished and acknowledged first, and the
    supervisor (systemd ``Restart=always``, compose ``restart``) starts a fresh process.
    """
    from app.context import AppContext
    from app.observability import configure_logging

    configure_logging()
    settings = Settings(worker_mode="broker")
    ctx = AppContext.from_settings(settings)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    ctx.warm_up()
    ctx.jobs.start_worker(threads=args.threads)
    print(f"ecghub worker consuming analysis jobs from {settings.broker_url.split('@')[-1]}", flush=True)
    while not stop.wait(1.0):
        if ctx.jobs.over_memory.is_set():
            break
    ctx.stop()
    return 75 if ctx.jobs.over_memory.is_set() and not stop.is_set() else 0


def _analyze(args: argparse.Namespace) -> int:
    from ecg.analyze import analyze_recording
    from ecg.io import read_recording
    from ecg.serialize import analysis_to_dict
    from ecg.types import UnreadableRecording

    status = 0
    for path in args.paths:
        try:
            rec = read_recording(path)
        except UnreadableRecording as exc:
            print(json.dumps({"record": path, "error": str(exc)}, ensure_ascii=False))
            status = 2
            continue
        out = {"record": path, **analysis_to_dict(analyze_recording(rec, age_days=args.age_days))}
        print(json.dumps(out, ensure_ascii=False, indent=None if args.json else 2))
    return status


def _reanalyze(args: argparse.Namespace) -> int:
    from app.analysis.reanalysis import candidates, reanalyze_study
    from app.context import AppContext
    from storage.migrations import upgrade

    settings = Settings()
    upgrade(settings.resolved_database_url)
    ctx = AppContext.from_settings(settings)
    ids = [uuid.UUID(s) for s in args.study] if args.study else candidates(ctx.session_factory, args.limit)
    print(f"{len(ids)} stud{'y' if len(ids) == 1 else 'ies'} to re-analyse" + (" (dry run: nothing stored)"
                                                                                if args.dry_run else ""), flush=True)
    failed = 0
    for study_id in ids:
        out = reanalyze_study(ctx.session_factory, ctx.blobs, settings, study_id, dry_run=args.dry_run)
        failed += bool(out.error)
        print(out.line(), flush=True)
    return 2 if failed else 0


def _create_user(args: argparse.Namespace) -> int:
    from app.auth import service as auth
    from app.context import AppContext
    from storage.models import Role
    from storage.repositories import SiteRepository

    ctx = AppContext.from_settings(Settings(worker_mode="off"))
    with ctx.session_factory() as s:
        site = SiteRepository(s).by_code(args.site)
        if site is None:
            print(f"no site with code {args.site!r}", file=sys.stderr)
            return 2
        auth.create_user(s, site_id=site.id, username=args.username, password=args.password,
                         role=Role(args.role), reader_pools=args.pools or [])
        s.commit()
    print(f"created {args.role} account {args.username!r} at {args.site}")
    return 0


def _hl7_listen(args: argparse.Namespace) -> int:
    """Run the MLLP order listener until SIGTERM/SIGINT (orders in; results go out from `serve`)."""
    import asyncio

    from app.context import AppContext
    from app.integration.mllp_listener import start_server
    from app.observability import configure_logging
    from storage.migrations import upgrade

    configure_logging()
    settings = Settings(worker_mode="off")
    upgrade(settings.resolved_database_url)
    ctx = AppContext.from_settings(settings)
    host, port = args.host or settings.hl7_listen_host, args.port

    async def run() -> None:
        server = await start_server(ctx.session_factory, settings, host, port)
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        print(f"ecghub HL7 (MLLP) order listener on {host}:{server.sockets[0].getsockname()[1]}", flush=True)
        await stop.wait()
        server.close()
        await server.wait_closed()

    asyncio.run(run())
    ctx.stop()
    return 0


def _dicom_listen(args: argparse.Namespace) -> int:
    """Run the DICOM listener (worklist C-FIND, ECG C-STORE) until SIGTERM/SIGINT.

    Studies it stores are published for analysis on this process's broker (``ECGHUB_WORKER_MODE=broker``);
    with the embedded default the API process's sweeper picks them up (``ECGHUB_SWEEP_GRACE_S``)."""
    from app.context import AppContext
    from app.integration.dicom_listener import DicomListener
    from app.observability import configure_logging
    from storage.migrations import upgrade

    configure_logging()
    settings = Settings()
    settings = Settings(worker_mode="broker" if settings.worker_mode == "broker" else "off")
    upgrade(settings.resolved_database_url)
    ctx = AppContext.from_settings(settings)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    listener = DicomListener(ctx, args.host or settings.dicom_listen_host, args.port)
    port = listener.start()
    print(f"ecghub DICOM listener {settings.dicom_ae_title} on {listener.host}:{port}", flush=True)
    stop.wait()
    listener.stop()
    ctx.stop()
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ecghub", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="run the API (migrates the database first)")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    s.add_argument("--demo", action="store_true", help="seed demo sites, accounts and recordings first")
    s.add_argument("--data", help="recordings folder for the demo (default ../shared/data)")
    s.set_defaults(func=_serve)
    sub.add_parser("migrate", help="upgrade the database to the latest schema").set_defaults(func=_migrate)
    w = sub.add_parser("worker", help="run analysis jobs from the broker (ECGHUB_BROKER_URL)")
    w.add_argument("--threads", type=int, default=None)
    w.set_defaults(func=_worker)
    a = sub.add_parser("analyze", help="analyse recordings with the ECG pipeline and print JSON")
    a.add_argument("paths", nargs="+")
    a.add_argument("--age-days", type=int, default=None)
    a.add_argument("--json", action="store_true", help="one compact JSON object per line")
    a.set_defaults(func=_analyze)
    r = sub.add_parser("reanalyze", help="run the current pipeline again on studies analysed by an older one")
    r.add_argument("--study", action="append", help="a study id (repeatable); default: every study whose "
                   "latest analysis came from another pipeline version")
    r.add_argument("--limit", type=int, default=100000, help="at most this many studies")
    r.add_argument("--dry-run", action="store_true", help="say what would change, store nothing")
    r.set_defaults(func=_reanalyze)
    u = sub.add_parser("create-user", help="create an account at a site")
    u.add_argument("--site", required=True)
    u.add_argument("--username", required=True)
    u.add_argument("--password", required=True)
    u.add_argument("--role", choices=["clinic", "reader", "admin"], required=True)
    u.add_argument("--pools", nargs="*")
    u.set_defaults(func=_create_user)
    h = sub.add_parser("hl7-listen", help="accept HL7 v2 ECG orders (ORM^O01, OML^O21) over MLLP")
    h.add_argument("--host", default=None, help="default ECGHUB_HL7_LISTEN_HOST (127.0.0.1)")
    h.add_argument("--port", type=int, default=2575, help="MLLP port (default 2575)")
    h.set_defaults(func=_hl7_listen)
    d = sub.add_parser("dicom-listen", help="DICOM for ECG carts: modality worklist (C-FIND) and ECG C-STORE")
    d.add_argument("--host", default=None, help="default ECGHUB_DICOM_LISTEN_HOST (127.0.0.1)")
    d.add_argument("--port", type=int, default=11112, help="DICOM port (default 11112)")
    d.set_defaults(func=_dicom_listen)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
