"""HL7 v2 over MLLP on loopback: orders in (ACK AA/AE/AR), ORU^R01 results out through the outbox.

The hospital side is python-hl7 (tests/app/hl7_peer.py); ecghub parses and builds with hl7apy.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from app.main import create_app
from storage.models import Hl7Delivery, Order, Patient
from tests.app.hl7_peer import (
    ResultPeer,
    ack_code,
    configure,
    err_text,
    hl7_settings,
    listener_port,
    order_message,
    send,
    signed_study,
)


@pytest.fixture
def client(settings) -> Iterator[TestClient]:
    with TestClient(create_app(hl7_settings(settings))) as c:
        yield c


def _counts(client: TestClient) -> tuple[int, int]:
    with client.app.state.ctx.session_factory() as s:
        return s.scalar(select(func.count(Order.id))), s.scalar(select(func.count(Patient.id)))


def test_orders_in_utf8_and_gb18030_idempotent_cancel_and_tenancy(world):
    configure(world.client, world.admin, world.a.site_id, None, ("HOSPA", "医院甲"))
    port = listener_port(world.client)
    ack = send(port, order_message("MSG-1"))
    assert ack_code(ack) == "AA" and str(ack.segment("MSA")[2]) == "MSG-1"
    assert str(ack.segment("MSH")[9]).startswith("ACK")
    gb = order_message("MSG-2", facility="医院甲", kind="OML^O21^OML_O21", patient_id="P-8", family="欧阳",
                       given="娜娜", sex="F", birth="20260901", placer="PL-2", filler="", accession="ACC-2",
                       priority="A", charset="GB 18030-2000")
    assert ack_code(send(port, gb, encoding="gb18030")) == "AA"

    orders = world.client.get("/api/v1/orders", headers=world.a.auth).json()
    by_placer = {o["placer_order_number"]: o for o in orders}
    first, second = by_placer["PL-1001"], by_placer["PL-2"]
    assert first["patient"] == {"id": "P-7", "name": "王小明", "sex": "M", "birth_date": "2019-03-04"}
    assert (first["urgency"], first["status"], first["accession_number"], first["filler_order_number"]) == \
        ("stat", "scheduled", "ACC-1001", "FL-1001")
    # 09:30 in the HIS (no offset: China Standard Time) is 01:30 UTC.
    assert dt.datetime.fromisoformat(first["requested_at"]) == dt.datetime(2026, 11, 25, 1, 30, tzinfo=dt.UTC)
    assert second["patient"]["name"] == "欧阳娜娜" and second["urgency"] == "urgent"
    assert second["patient"]["birth_date"] == "2026-09-01"

    # A retransmission (same control id) and a resend under a new control id are the same order.
    assert ack_code(send(port, order_message("MSG-1"))) == "AA"
    assert ack_code(send(port, order_message("MSG-1-resent"))) == "AA"
    assert _counts(world.client) == (2, 2)

    # Another site's clinic sees none of it.
    assert world.client.get("/api/v1/orders", headers=world.b.auth).json() == []
    assert world.client.get(f"/api/v1/orders/{first['id']}", headers=world.b.auth).status_code == 404
    assert world.client.get(f"/api/v1/orders/{first['id']}", headers=world.a.auth).status_code == 200

    cancel = order_message("MSG-3", control="CA")
    assert ack_code(send(port, cancel)) == "AA"
    assert ack_code(send(port, cancel)) == "AA"  # retransmitted cancel
    assert [o["placer_order_number"] for o in world.client.get("/api/v1/orders", headers=world.a.auth).json()] \
        == ["PL-2"]
    cancelled = world.client.get("/api/v1/orders", headers=world.a.auth, params={"status": "cancelled"}).json()
    assert [o["placer_order_number"] for o in cancelled] == ["PL-1001"]


def test_v23_order_with_priority_in_orc7_and_a_z_segment(world):
    """HL7 2.3 has no TQ1: requested time and priority come from ORC-7; unknown Z-segments are ignored."""
    configure(world.client, world.admin, world.a.site_id, None)
    message = order_message("V23", version="2.3", priority="A").replace("TQ1|1||||||20261125093000||A\r", "")
    assert "TQ1" not in message
    assert ack_code(send(listener_port(world.client), message + "\rZPV|1|ward 3")) == "AA"
    (order,) = world.client.get("/api/v1/orders", headers=world.a.auth).json()
    assert order["urgency"] == "urgent" and order["requested_at"].startswith("2026-11-25T01:30")


@pytest.mark.parametrize("message, encoding, code, reason", [
    ("this is not HL7", "utf-8", "AR", "MSH"),
    (order_message(facility="UNKNOWN-HOSP"), "utf-8", "AR", "unknown sending facility"),
    (order_message(patient_id=""), "utf-8", "AE", "PID-3"),
    (order_message(kind="ADT^A01^ADT_A01"), "utf-8", "AR", "unsupported message type"),
    (order_message(control="XO"), "utf-8", "AE", "ORC-1"),
    (order_message(placer="", filler=""), "utf-8", "AE", "placer order number"),
    (order_message(priority="Q"), "utf-8", "AE", "table 0027"),
    (order_message(birth="20191399"), "utf-8", "AE", "PID-7"),
    # Declares UTF-8 but the bytes are GB18030: refused rather than stored as mojibake.
    (order_message(charset="UNICODE UTF-8"), "gb18030", "AR", "not valid utf-8"),
    (order_message(charset="KOI8-R"), "utf-8", "AR", "character set"),
])
def test_bad_messages_are_refused_with_a_reason_and_nothing_is_stored(world, message, encoding, code, reason):
    configure(world.client, world.admin, world.a.site_id, None)
    ack = send(listener_port(world.client), message, encoding=encoding)
    assert ack_code(ack) == code
    assert reason.lower() in err_text(ack).lower()
    assert _counts(world.client) == (0, 0)


def test_cancel_of_unknown_order_is_an_application_error(world):
    configure(world.client, world.admin, world.a.site_id, None)
    ack = send(listener_port(world.client), order_message(control="CA", placer="NOPE"))
    assert ack_code(ack) == "AE" and "NOPE" in err_text(ack)


def _obx(msg) -> dict[str, list]:
    out: dict[str, list] = {}
    for seg in msg.segments("OBX"):
        out.setdefault(str(seg[3][0][0]), []).append(seg)
    return out


def test_order_to_signed_report_to_oru_then_amendment(world, data):
    peer = ResultPeer().start()
    try:
        configure(world.client, world.admin, world.a.site_id, peer.port)
        assert ack_code(send(listener_port(world.client), order_message("MSG-9"))) == "AA"
        sid = signed_study(world, data)
        msgs = peer.wait_for(1)
        assert len(msgs) == 1, "no ORU^R01 reached the peer"
        oru = msgs[0]
        assert str(oru).startswith("MSH|^~\\&|ECGHUB|")
        assert str(oru.segment("MSH")[9]) == "ORU^R01^ORU_R01"
        pid = oru.segment("PID")
        assert str(pid[3][0][0]) == "P-7" and str(pid[5]) == "王小明" and str(pid[7]) == "20190304"
        obr = oru.segment("OBR")
        assert (str(obr[2]), str(obr[3]), str(obr[18]), str(obr[25])) == ("PL-1001", "FL-1001", "ACC-1001", "F")
        assert str(obr[32]).endswith("&reader")  # the signing cardiologist (no display name: username)

        report = world.client.get(f"/api/v1/studies/{sid}/report", headers=world.a.auth).json()["versions"][0]
        values = report["measurements"]
        obx = _obx(oru)
        hr = obx["8867-4"][0]
        assert str(hr[2]) == "NM" and str(hr[6][0][0]) == "/min" and str(hr[6][0][2]) == "UCUM"
        assert float(str(hr[5])) == pytest.approx(values["heart_rate_bpm"], abs=0.05)
        for code, key in (("8625-6", "pr_ms"), ("8633-0", "qrs_ms"), ("8634-8", "qt_ms"),
                          ("8636-3", "qtc_bazett_ms"), ("8632-2", "qrs_axis_deg")):
            if values.get(key) is not None:
                assert float(str(obx[code][0][5])) == pytest.approx(values[key], abs=0.05), code
        statements = [s for s in obx["8601-7"] if str(s[2]) == "CWE"]
        assert [str(s[5][0][0]) for s in statements] == ["SR", "NORM"]
        assert str(statements[0][5][0][8]) == "窦性心律"
        text = [s for s in obx["8601-7"] if str(s[2]) == "TX"][0]
        assert oru.unescape(str(text[5])) == "请随访 | follow-up"
        assert all(str(s[11]) == "F" for s in oru.segments("OBX"))

        order = world.client.get("/api/v1/orders", headers=world.a.auth, params={"status": "completed"}).json()
        assert [(o["placer_order_number"], o["study_id"]) for o in order] == [("PL-1001", sid)]
        log = world.client.get(f"/api/v1/admin/sites/{world.a.site_id}/hl7/deliveries", headers=world.admin).json()
        assert [(d["status"], d["ack_code"], d["report_version"]) for d in log] == [("delivered", "AA", 1)]

        amended = world.client.post(f"/api/v1/reader/studies/{sid}/amend", headers=world.reader, json={
            "statements": ["SR", "ABN"], "free_text": "更正", "reason": "missed finding on review"})
        assert amended.status_code == 201, amended.text
        msgs = peer.wait_for(2)
        assert len(msgs) == 2
        corrected = msgs[1]
        assert str(corrected.segment("OBR")[25]) == "C"
        assert all(str(s[11]) == "C" for s in corrected.segments("OBX"))
        assert str(corrected.segment("OBR")[2]) == "PL-1001"
    finally:
        peer.stop()


def test_peer_down_delivery_is_retried_and_nothing_is_lost(world, data):
    probe = ResultPeer().start()
    port = probe.port
    probe.stop()  # nobody listens on `port` now
    configure(world.client, world.admin, world.a.site_id, port)
    sid = signed_study(world, data, patient_id="P-77")
    factory = world.client.app.state.ctx.session_factory
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with factory() as s:
            d = s.scalar(select(Hl7Delivery))
        if d is not None and d.attempts >= 1:
            break
        time.sleep(0.1)
    assert d is not None and d.status == "pending" and d.attempts >= 1 and d.last_error
    assert d.next_attempt_at > dt.datetime.now(dt.UTC)  # backing off, not lost

    peer = ResultPeer(port).start()
    try:
        with factory() as s:  # the backoff has elapsed
            s.execute(update(Hl7Delivery).values(next_attempt_at=dt.datetime.now(dt.UTC)))
            s.commit()
        msgs = peer.wait_for(1)
        assert len(msgs) == 1 and str(msgs[0].segment("PID")[3][0][0]) == "P-77"
        time.sleep(0.5)
        assert len(peer.received) == 1  # delivered once, not again
        log = world.client.get(f"/api/v1/admin/sites/{world.a.site_id}/hl7/deliveries", headers=world.admin).json()
        assert log[0]["status"] == "delivered" and log[0]["attempts"] >= 2 and log[0]["study_id"] == sid
    finally:
        peer.stop()


def test_peer_answering_ae_is_not_delivered_and_is_retried(world, data):
    peer = ResultPeer(ack="AE").start()
    try:
        configure(world.client, world.admin, world.a.site_id, peer.port)
        signed_study(world, data, patient_id="P-78")
        assert len(peer.wait_for(1)) == 1
        time.sleep(0.5)
        log = world.client.get(f"/api/v1/admin/sites/{world.a.site_id}/hl7/deliveries", headers=world.admin).json()
        assert [(d["status"], d["ack_code"]) for d in log] == [("pending", "AE")]
        assert "AE" in log[0]["last_error"] and log[0]["attempts"] == 1
    finally:
        peer.stop()


def test_oversized_messages_are_refused_and_store_nothing(world):
    configure(world.client, world.admin, world.a.site_id, None)
    port = listener_port(world.client)
    huge = order_message("BIG") + "\rNTE|1||" + "x" * (80 * 1024)  # the tests' limit is 64 KiB
    ack = send(port, huge)
    assert ack_code(ack) == "AR" and "limit" in err_text(ack)
    # A frame that never ends: the connection is closed once it is well past the limit.
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        try:
            sock.sendall(b"\x0b" + b"x" * (200 * 1024))
            answer = sock.recv(65536)
        except ConnectionResetError:
            answer = b""
    assert answer == b""
    assert _counts(world.client) == (0, 0)


def test_admin_hl7_settings_validate_and_refuse_a_facility_of_another_site(world):
    configure(world.client, world.admin, world.a.site_id, 2575, ("HOSPA",))
    got = world.client.get(f"/api/v1/admin/sites/{world.a.site_id}/hl7", headers=world.admin).json()
    assert got["sending_facilities"] == ["HOSPA"] and got["endpoint"]["port"] == 2575
    taken = world.client.put(f"/api/v1/admin/sites/{world.b.site_id}/hl7", headers=world.admin,
                             json={"sending_facilities": ["HOSPA"]})
    assert taken.status_code == 409
    bad = world.client.put(f"/api/v1/admin/sites/{world.b.site_id}/hl7", headers=world.admin,
                           json={"sending_facilities": ["A|B"]})
    assert bad.status_code == 422
    assert world.client.get(f"/api/v1/admin/sites/{world.a.site_id}/hl7", headers=world.a.auth).status_code == 403


def test_hl7_listen_command_accepts_orders_and_stops_on_sigterm(world, settings, tmp_path):
    """``ecghub hl7-listen`` as its own process on the same database as the API."""
    configure(world.client, world.admin, world.a.site_id, None)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
           "ECGHUB_DATABASE_URL": settings.database_url, "ECGHUB_VAR_DIR": str(tmp_path / "cli")}
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "hl7-listen", "--port", "0"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        port = None
        deadline = time.monotonic() + 60
        while port is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if "order listener on" in line:
                port = int(line.rsplit(":", 1)[1])
        assert port, "the listener did not report its port"
        assert ack_code(send(port, order_message("CLI-1", placer="PL-CLI"))) == "AA"
        orders = world.client.get("/api/v1/orders", headers=world.a.auth).json()
        assert [o["placer_order_number"] for o in orders] == ["PL-CLI"]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
