"""The DICOM peers of the tests, none of them ecghub's own library (pynetdicom): dcmtk plays the ECG cart
(``findscu`` for the worklist, ``dcmodify`` + ``storescu`` to send a device's file as the cart would
after taking the patient from the worklist, ``dcmdump`` to read what ecghub exports) and Orthanc plays
the PACS (started on free ports with its configuration in a temporary folder, checked over its REST API).
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

CART_AE = "CART01"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def add_peer(client: TestClient, admin: dict[str, str], site_id: int, ae_title: str = CART_AE) -> dict[str, Any]:
    resp = client.post("/api/v1/admin/dicom-peers", headers=admin,
                       json={"ae_title": ae_title, "site_id": site_id, "description": "ward 3 cart"})
    assert resp.status_code == 201, resp.text
    return resp.json()


def dicom_port(client: TestClient) -> int:
    return client.app.state.dicom_listener.port


@dataclass(frozen=True)
class ToolResult:
    code: int
    output: str

    @property
    def status(self) -> str:
        """The C-STORE response status as storescu -d prints it, e.g. ``0x0000`` (empty: no response)."""
        found = re.search(r"DIMSE Status\s*:\s*(0x[0-9a-fA-F]{4})", self.output)
        return found.group(1).lower() if found else ""

    @property
    def comment(self) -> str:
        """The response's Error Comment (0000,0902), as far as dcmtk prints it."""
        found = re.search(r"\(0000,0902\) LO \[([^\]]*)", self.output)
        return found.group(1) if found else ""

    @property
    def summary(self) -> str:
        """The informative lines only (no PDU hex dumps), for assertion messages."""
        return "\n".join(line for line in self.output.splitlines() if not line.startswith("D:   "))[-3000:]


def _run(args: list[str], timeout_s: float = 60) -> ToolResult:
    proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout_s, errors="replace")
    return ToolResult(proc.returncode, proc.stdout + proc.stderr)


def storescu(port: int, path: Path, calling: str = CART_AE, called: str = "ECGHUB") -> ToolResult:
    """Send one file with dcmtk's storescu, with debug output (the answer's status and Error Comment).

    ``-R``: propose only the file's own SOP class (as a cart does), so a non-ECG class is refused
    in negotiation instead of being hidden among storescu's default contexts."""
    return _run(["storescu", "-d", "-R", "-aet", calling, "-aec", called, "127.0.0.1", str(port), str(path)])


def dcmodify(path: Path, **values: str) -> None:
    """Set elements of a file in place (``Keyword=value``), as a cart fills what the worklist gave it."""
    args = ["dcmodify", "-nb"]  # no .bak file
    for key, value in values.items():
        args += ["-i" if key != "SOPClassUID" else "-m", f"{key}={value}"]
    result = _run(args + [str(path)])
    assert result.code == 0, result.output


def findscu(port: int, keys: list[str], out_dir: Path, calling: str = CART_AE) -> tuple[ToolResult, list[Path]]:
    """A worklist query with dcmtk's findscu; the answers are written as files (``-X``) to ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    args = ["findscu", "-v", "-W", "-aet", calling, "-aec", "ECGHUB", "-X", "-od", str(out_dir)]
    for k in keys:
        args += ["-k", k]
    result = _run(args + ["127.0.0.1", str(port)])
    return result, sorted(out_dir.glob("rsp*.dcm"))


def dcmdump(path: Path, *tags: str) -> dict[str, str]:
    """Values of the given tags by keyword, as dcmtk reads them (UTF-8 converted to UTF-8)."""
    args = ["dcmdump", "+U8", "-q"] + [a for t in tags for a in ("+P", t)] + [str(path)]
    result = _run(args)
    assert result.code == 0, result.output
    out: dict[str, str] = {}
    for line in result.output.splitlines():
        parts = line.rsplit("#", 1)
        if len(parts) != 2:
            continue
        keyword = parts[1].split()[-1]
        raw = parts[0].split(None, 2)[-1].strip() if len(parts[0].split(None, 2)) == 3 else ""
        value = raw[1:raw.rfind("]")] if raw.startswith("[") else raw.lstrip("=")
        out.setdefault(keyword, value)
    return out


class Orthanc:
    """An Orthanc PACS on free loopback ports, its storage and index in ``folder``."""

    def __init__(self, folder: Path, ae_title: str = "ORTHANC", port: int | None = None) -> None:
        self.folder, self.ae_title = folder, ae_title
        self.dicom_port, self.http_port = port or free_port(), free_port()
        self._proc: subprocess.Popen[bytes] | None = None

    def config(self) -> dict[str, Any]:
        return {"Name": "ecghub-test-pacs", "DicomAet": self.ae_title, "DicomPort": self.dicom_port,
                "HttpPort": self.http_port, "RemoteAccessAllowed": False, "AuthenticationEnabled": False,
                "StorageDirectory": str(self.folder / "storage"), "IndexDirectory": str(self.folder / "index"),
                "DicomCheckCalledAet": False, "DicomAlwaysAllowStore": True, "DicomAlwaysAllowEcho": True,
                "Plugins": [], "ConcurrentJobs": 1, "HttpServerEnabled": True, "DicomServerEnabled": True}

    def start(self) -> Orthanc:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / "orthanc.json"
        path.write_text(json.dumps(self.config()))
        log = open(self.folder / "orthanc.log", "wb")
        self._proc = subprocess.Popen([shutil.which("Orthanc") or "Orthanc", str(path)], stdout=log,
                                      stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url("/system"), timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            assert self._proc.poll() is None, (self.folder / "orthanc.log").read_text(errors="replace")
            time.sleep(0.2)
        raise AssertionError("Orthanc did not start")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.http_port}{path}"

    def get(self, path: str) -> Any:
        resp = httpx.get(self.url(path), timeout=10)
        resp.raise_for_status()
        return resp.json()

    def instances(self) -> list[dict[str, str]]:
        """Every stored instance's main tags (simplified keyword -> value)."""
        return [self.get(f"/instances/{i}/simplified-tags") for i in self.get("/instances")]

    def file(self, instance_id: str) -> bytes:
        return httpx.get(self.url(f"/instances/{instance_id}/file"), timeout=10).content

    def wait_for(self, n: int, timeout_s: float = 30.0) -> list[dict[str, str]]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = self.instances()
            if len(found) >= n:
                return found
            time.sleep(0.2)
        return self.instances()

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
