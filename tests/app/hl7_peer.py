"""An HL7 peer for the tests, built on python-hl7 (``hl7``), not on ecghub's hl7apy.

It plays the hospital: sends orders with ``hl7.client.MLLPClient`` and receives
results on an MLLP server from ``hl7.mllp.start_hl7_server``, answering each
with ``hl7.Message.create_ack`` (AA). Also: HIS-style order messages as text.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import hl7
import hl7.mllp
from fastapi.testclient import TestClient
from hl7.client import MLLPClient

from app.settings import Settings
from tests.app.factories import patient_form, upload, wait_for_status, wfdb_files


def order_message(control_id: str = "MSG0001", *, facility: str = "HOSPA", kind: str = "ORM^O01^ORM_O01",
                  control: str = "NW", patient_id: str = "P-7", family: str = "王", given: str = "小明",
                  birth: str = "20190304", sex: str = "M", placer: str = "PL-1001", filler: str = "FL-1001",
                  accession: str = "ACC-1001", when: str = "20261125093000", priority: str = "S",
                  charset: str = "UNICODE UTF-8", version: str = "2.5.1") -> str:
    """An ECG order as a HIS sends it (CR segment separators)."""
    return "\r".join([
        f"MSH|^~\\&|HIS|{facility}|ECGHUB|HUB|20261125090000||{kind}|{control_id}|P|{version}|||AL|NE||{charset}",
        f"PID|1||{patient_id}^^^{facility}^MR||{family}^{given}||{birth}|{sex}",
        "PV1|1|O",
        f"ORC|{control}|{placer}|{filler}||SC||^^^{when}^^{priority}",
        f"TQ1|1||||||{when}||{priority}",
        f"OBR|1|{placer}|{filler}|11524-6^EKG study^LN|||{when}|||||||||||{accession}",
    ])


def send(port: int, message: str, encoding: str = "utf-8") -> hl7.Message:
    """Send one order over MLLP and parse the ACK (with python-hl7)."""
    with MLLPClient("127.0.0.1", port, encoding=encoding) as client:
        raw = client.send_message(message.encode(encoding))
    return hl7.parse(raw.strip(b"\x0b\x1c\r").decode(encoding))


def ack_code(ack: hl7.Message) -> str:
    return str(ack.segment("MSA")[1])


def err_text(ack: hl7.Message) -> str:
    return str(ack.segment("ERR")[8])


class ResultPeer:
    """The hospital's MLLP result receiver on a loopback port (its own event loop in a thread)."""

    def __init__(self, port: int = 0, ack: str = "AA") -> None:
        self.port, self.ack = port, ack
        self.received: list[hl7.Message] = []
        self._loop = asyncio.new_event_loop()
        self._server: Any = None
        self._thread: threading.Thread | None = None

    async def _on_client(self, reader: Any, writer: Any) -> None:
        try:
            while not writer.is_closing():
                msg = await reader.readmessage()
                self.received.append(msg)
                writer.writemessage(msg.create_ack(ack_code=self.ack))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def start(self) -> ResultPeer:
        self._server = self._loop.run_until_complete(
            hl7.mllp.start_hl7_server(self._on_client, "127.0.0.1", self.port, encoding="utf-8"))
        self.port = self._server.sockets[0].getsockname()[1]
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        return self

    def wait_for(self, n: int, timeout_s: float = 30.0) -> list[hl7.Message]:
        deadline = time.monotonic() + timeout_s
        while len(self.received) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.received

    def stop(self) -> None:
        self._server.close()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)


def hl7_settings(settings: Settings) -> Settings:
    """The test settings plus an in-process listener on a free port and a fast result dispatcher."""
    return Settings(**{**settings.model_dump(), "hl7_listen_port": 0, "hl7_interval_s": 0.2,
                       "hl7_timeout_s": 3.0, "hl7_max_message_bytes": 64 * 1024})


def listener_port(client: TestClient) -> int:
    return client.app.state.hl7_listener.port


def configure(client: TestClient, admin: dict[str, str], site_id: int, peer_port: int | None,
              facilities: tuple[str, ...] = ("HOSPA",)) -> None:
    body = {"sending_facilities": list(facilities),
            "endpoint": {"host": "127.0.0.1", "port": peer_port} if peer_port else None}
    resp = client.put(f"/api/v1/admin/sites/{site_id}/hl7", headers=admin, json=body)
    assert resp.status_code == 200, resp.text


def signed_study(world: Any, data: Any, patient_id: str = "P-7", statements: tuple[str, ...] = ("SR", "NORM"),
                 record: str = "ludb/1") -> str:
    """A study uploaded for ``patient_id`` by clinic A, read and signed by the reader."""
    form = patient_form(patient_id=patient_id, patient_name="王小明", patient_sex="M",
                        patient_birth_date="2019-03-04", acquired_at="2026-11-25T09:40:00+08:00")
    resp = upload(world.client, world.a.auth, wfdb_files(data, record), form=form)
    assert resp.status_code in (201, 202), resp.text
    sid = wait_for_status(world.client, world.a.auth, resp.json()["id"])["id"]
    claim = world.client.post(f"/api/v1/reader/studies/{sid}/claim", headers=world.reader).json()["claim"]
    r = world.client.post(f"/api/v1/reader/claims/{claim['id']}/sign", headers=world.reader,
                          json={"statements": list(statements), "free_text": "请随访 | follow-up"})
    assert r.status_code == 201, r.text
    return sid
