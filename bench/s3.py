"""An S3-protocol server on loopback for the load and fault runs: moto's standalone server,
reached through a small TCP relay that a fault run can cut (object store unreachable) and
restore without losing the objects moto holds in memory.

This is bench tooling only: the service talks to it exactly as to MinIO or a cloud's S3.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

BUCKET = "ecghub-load"
CREDS = {"ECGHUB_S3_ACCESS_KEY": "test", "ECGHUB_S3_SECRET_KEY": "test", "ECGHUB_S3_REGION": "us-east-1"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, proc: subprocess.Popen[bytes], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("moto's S3 server did not start") from None
            time.sleep(0.1)


class Relay:
    """Forwards 127.0.0.1:``port`` to the S3 server; ``cut()`` refuses and drops connections."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.up = threading.Event()
        self.up.set()
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True, name="s3-relay").start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self.up.is_set():
                client.close()  # the store is "down": connection closed at once
                continue
            try:
                server = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns |= {client, server}
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
            with self._lock:
                self._conns -= {src, dst}

    def cut(self) -> None:
        """Object store unreachable: new connections are closed, open ones are dropped."""
        self.up.clear()
        with self._lock:
            conns = list(self._conns)
        for s in conns:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def restore(self) -> None:
        self.up.set()

    def close(self) -> None:
        self._listener.close()
        self.cut()


@dataclass
class S3Server:
    endpoint_url: str
    relay: Relay

    def env(self) -> dict[str, str]:
        """Settings that point the service at this store."""
        return {"ECGHUB_BLOB_BACKEND": "s3", "ECGHUB_S3_ENDPOINT_URL": self.endpoint_url,
                "ECGHUB_S3_BUCKET": BUCKET, **CREDS}


@contextlib.contextmanager
def s3_server() -> Iterator[S3Server]:
    """moto's S3 server on a free loopback port, with the bucket created, behind a Relay."""
    import boto3

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    relay = None
    try:
        _wait_port(port, proc)
        boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", aws_access_key_id="test",
                     aws_secret_access_key="test", region_name="us-east-1").create_bucket(Bucket=BUCKET)
        relay = Relay(port)
        yield S3Server(f"http://127.0.0.1:{relay.port}", relay)
    finally:
        if relay is not None:
            relay.close()
        proc.terminate()
        proc.wait(timeout=10)
