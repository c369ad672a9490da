"""A real uvicorn server on loopback, in a thread, for browser tests."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("Chromium not found: the test command installs Debian's 'chromium' package (./dev test)")
    return path


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Run ``app`` on a free loopback port; yields the base URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                          timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@contextmanager
def served(sqlite_template: Path, tmp_dir: Path, seed=None, **overrides: object):
    """A live app on a copy of the migrated SQLite template, with the test world seeded.

    Yields (base URL, world) where ``world.client`` is an httpx client against the live server.
    ``seed(world, ctx)`` may add data before the server starts.
    """
    import httpx
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.settings import Settings
    from tests.app.factories import make_world

    path = tmp_dir / "ecghub.db"
    shutil.copy(sqlite_template, path)
    # Fixed record dates in the factories must not age past the upload's clock bound (see conftest).
    overrides.setdefault("upload_max_acquisition_age_days", 3650.0)
    settings = Settings(var_dir=tmp_dir / "var", database_url=f"sqlite:///{path}", secret_key="live-" * 10,
                        sweep_interval_s=0.5, sweep_grace_s=0, **overrides)
    app = create_app(settings)
    world = make_world(TestClient(app))  # setup only: accounts through the app's own services
    if seed is not None:
        seed(world, app.state.ctx)
    with serve(app) as base, httpx.Client(base_url=base, timeout=60) as client:
        world.client = client
        yield base, world


@contextmanager
def chromium():
    """Headless system Chromium driven by Playwright; screenshots go to ARTIFACTS."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def wait_js(page, expr: str, timeout_s: float = 30.0) -> None:
    """Wait until the page expression ``expr`` is truthy.

    Playwright's ``wait_for_function`` evaluates a string predicate with ``eval`` inside the
    page, which the pages' Content-Security-Policy (no unsafe-eval) rightly refuses; a page
    evaluation from the driver is not subject to it, so poll that instead.
    """
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(f"() => Boolean({expr})"):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for: {expr}")
        time.sleep(0.05)
