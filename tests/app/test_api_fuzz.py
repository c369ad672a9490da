"""Every API operation under generated input (schemathesis, from the app's own OpenAPI schema):
no 5xx, and every error is an RFC 9457 problem+json body. Called as a hub admin, a clinic and a reader.

Bounded in the suite (``ECGHUB_FUZZ_EXAMPLES``, default 10 examples per operation and caller);
a longer run is the same test with a larger number, e.g.
``ECGHUB_FUZZ_EXAMPLES=300 ./dev test tests/app/test_api_fuzz.py``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from app.main import create_app
from app.settings import Settings
from storage.migrations import upgrade
from tests.app.factories import World, make_world

EXAMPLES = int(os.environ.get("ECGHUB_FUZZ_EXAMPLES", "10"))
_TMP = Path(tempfile.mkdtemp(prefix="ecghub-fuzz-"))
_DB = f"sqlite:///{_TMP}/fuzz.db"
APP = create_app(Settings(var_dir=_TMP / "var", database_url=_DB, secret_key="fuzz-secret-key-not-for-production",
                          worker_mode="off", metrics_token="fuzz-metrics",
                          reader_stream_max_s=0.5))  # the readers' event stream ends after 0.5 s
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    upgrade(_DB)
    with TestClient(APP) as client:
        yield make_world(client)


def _content_type(headers) -> str:
    value = headers.get("content-type", "")
    return value[0] if isinstance(value, list) else value


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_error_and_problem_json_errors(case, world):
    if case.query and "wait" in case.query:  # the events long-poll would wait up to 30 s per example
        case.query["wait"] = 0
    for headers in (world.admin, world.a.auth, world.reader):
        response = case.call(headers=headers)
        assert response.status_code < 500, (case.method, case.path, response.status_code, response.text[:300])
        if response.status_code >= 400:
            assert _content_type(response.headers).startswith("application/problem+json"), (
                case.method, case.path, response.status_code, response.text[:200])
