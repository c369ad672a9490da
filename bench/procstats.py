"""Process CPU and memory of the service under test, read with psutil.

CPU: ``cpu_times()`` of a process counts every thread it ever ran (exited ones too) and
``children_*`` the children it has waited for; the live children are added from their own
``cpu_times()``. Summing live threads (``/proc/PID/task``) misses exited ones (issue 16).

Memory: RSS (resident set, MiB) sampled on a background thread every ``interval_s``; the
peak is the largest sample, so a spike shorter than the interval can be missed (100 ms is
the default: a decode of a long recording lasts seconds).
"""

from __future__ import annotations

import threading
import time

import psutil

MIB = 1024 * 1024


def tree_cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid``, its waited-for children and its live descendants."""
    try:
        root = psutil.Process(pid)
        t = root.cpu_times()
        total = t.user + t.system + t.children_user + t.children_system
        kids = root.children(recursive=True)
    except psutil.Error:
        return 0.0
    for kid in kids:
        try:
            k = kid.cpu_times()
        except psutil.Error:  # exited between the listing and the read
            continue
        total += k.user + k.system
    return total


def rss_mib(pid: int) -> float:
    """Resident memory (MiB) of ``pid`` alone (its children are separate processes with their own RSS)."""
    try:
        return psutil.Process(pid).memory_info().rss / MIB
    except psutil.Error:
        return 0.0


class RssSampler:
    """Samples the RSS of named processes every ``interval_s`` on a thread; ``peak`` and ``series``.

    Use as a context manager; a phase's peak is ``peak(name, since, until)`` with times from ``now()``.
    """

    def __init__(self, pids: dict[str, int], interval_s: float = 0.1) -> None:
        self.pids = pids
        self.interval_s = interval_s
        self.series: dict[str, list[tuple[float, float]]] = {name: [] for name in pids}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self.t0 = time.monotonic()

    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic() - self.t0
            for name, pid in self.pids.items():
                self.series[name].append((now, rss_mib(pid)))
            self._stop.wait(self.interval_s)

    def now(self) -> float:
        """Seconds since the sampler started (the time axis of ``series``)."""
        return time.monotonic() - self.t0

    def peak(self, name: str, since: float = 0.0, until: float = float("inf")) -> float:
        """Largest RSS (MiB) of ``name`` sampled in [since, until] seconds."""
        return max((v for t, v in self.series[name] if since <= t <= until), default=0.0)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
