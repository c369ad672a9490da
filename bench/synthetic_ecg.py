"""Long synthetic 12-lead ECGs for memory benchmarks, written in chunks as WFDB (and EDF).

A heart vector (x, y, z in mV) made of Gaussian P, Q, R, S and T waves is projected on the
12 standard lead directions, so the limb leads agree (III = II - I, aVR = -(I + II) / 2 ...).
Beats follow a heart rate that drifts (a slow random walk around ``bpm``) with respiratory
sinus arrhythmia (0.25 Hz), and about one beat in 150 is a premature wide ventricular beat
(no P, broad QRS, opposite T). Noise: white (``noise_uv`` RMS), baseline wander (0.1-0.3 Hz,
~0.1 mV) and 50 Hz mains (10 µV). Samples are 16-bit at ``GAIN`` ADC units per mV (5 µV).

Written chunk by chunk (``CHUNK_S`` s at a time), so a 4 h recording (7.2 M frames x 12 leads,
173 MB as WFDB format 16) never needs more than a few MB here.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

LEADS = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
GAIN = 200  # ADC units per mV
CHUNK_S = 30.0

# Unit lead directions (x: left, y: down/feet, z: back) in the frontal and horizontal planes.
_deg = np.deg2rad
_FRONTAL = {"I": 0, "II": 60, "III": 120, "aVR": -150, "aVL": -30, "aVF": 90}
_PRECORDIAL = {"V1": 115, "V2": 95, "V3": 75, "V4": 60, "V5": 30, "V6": 0}  # angle from x towards -z (front)
_LEAD_VECTORS = np.array(
    [[np.cos(_deg(a)), np.sin(_deg(a)), 0.0] for a in _FRONTAL.values()]
    + [[np.cos(_deg(a)), 0.15, -np.sin(_deg(a))] for a in _PRECORDIAL.values()])
_LEAD_VECTORS[3:6] *= np.sqrt(3) / 2  # augmented leads: 0.87 of the bipolar amplitude

#: Waves of a normal beat: (centre s from R, width s, heart-vector amplitude (x, y, z) mV).
NORMAL = (
    (-0.16, 0.025, (0.10, 0.12, -0.02)),   # P
    (-0.020, 0.008, (-0.10, -0.05, 0.15)),  # Q
    (0.0, 0.009, (1.10, 0.90, -0.60)),      # R
    (0.022, 0.009, (-0.25, -0.20, 0.55)),   # S
    (0.23, 0.045, (0.25, 0.22, -0.25)),     # T
)
#: A premature ventricular beat: no P, broad QRS, T opposite to it.
VENTRICULAR = (
    (0.0, 0.035, (-0.9, 1.1, 0.7)),
    (0.06, 0.030, (0.4, -0.3, -0.5)),
    (0.30, 0.070, (0.30, -0.35, -0.25)),
)
_HALF_S = (0.30, 0.55)  # template span before and after R (s)


def template(waves: tuple, fs: float) -> np.ndarray:
    """One beat as (samples, 12 leads) mV, R at index ``round(_HALF_S[0] * fs)``."""
    t = np.arange(-round(_HALF_S[0] * fs), round(_HALF_S[1] * fs)) / fs
    vec = np.zeros((len(t), 3))
    for centre, width, amp in waves:
        vec += np.exp(-0.5 * ((t - centre) / width) ** 2)[:, None] * np.asarray(amp)
    return vec @ _LEAD_VECTORS.T


def r_times(duration_s: float, rng: np.random.Generator, bpm: float = 75.0) -> tuple[np.ndarray, np.ndarray]:
    """R-peak times (s) over ``duration_s`` and whether each beat is ventricular (premature, ~1 in 150)."""
    times, vent, t, rate = [], [], 0.5, bpm
    while t < duration_s - 1.0:
        rate = float(np.clip(rate + rng.normal(0, 0.3), 55, 110))
        rr = 60.0 / rate * (1 + 0.04 * np.sin(2 * np.pi * 0.25 * t))
        is_v = rng.random() < 1 / 150
        t += rr * (0.7 if is_v else 1.0)
        times.append(t)
        vent.append(is_v)
    return np.asarray(times), np.asarray(vent)


def chunks(duration_s: float, fs: float = 500.0, seed: int = 17, noise_uv: float = 10.0) -> Iterator[np.ndarray]:
    """The recording as consecutive (samples, 12) int16 ADC chunks of ``CHUNK_S`` s."""
    rng = np.random.default_rng(seed)
    beats, vent = r_times(duration_s, rng)
    normal, ventricular = template(NORMAL, fs), template(VENTRICULAR, fs)
    pre = round(_HALF_S[0] * fs)
    n_total, step = int(duration_s * fs), int(CHUNK_S * fs)
    wander_hz, wander_phase = rng.uniform(0.1, 0.3, 12), rng.uniform(0, 2 * np.pi, 12)
    for a in range(0, n_total, step):
        b = min(n_total, a + step)
        t = np.arange(a, b) / fs
        x = rng.normal(0, noise_uv / 1000.0, (b - a, 12))
        x += 0.1 * np.sin(2 * np.pi * wander_hz * t[:, None] + wander_phase)
        x += 0.01 * np.sin(2 * np.pi * 50.0 * t)[:, None]
        first, last = np.searchsorted(beats, (a - len(normal)) / fs), np.searchsorted(beats, (b + pre) / fs)
        for r_s, is_v in zip(beats[first:last], vent[first:last]):
            beat = ventricular if is_v else normal
            start = round(r_s * fs) - pre
            lo, hi = max(start, a), min(start + len(beat), b)
            if lo < hi:
                x[lo - a: hi - a] += beat[lo - start: hi - start] * rng.uniform(0.95, 1.05)
        yield np.clip(np.round(x * GAIN), -32767, 32767).astype("<i2")


def write_wfdb(folder: Path, name: str, duration_s: float, fs: float = 500.0) -> list[Path]:
    """``name.hea`` + ``name.dat`` (format 16, interleaved frames) in ``folder``; returns both paths."""
    dat, hea = folder / f"{name}.dat", folder / f"{name}.hea"
    with dat.open("wb") as fh:
        for chunk in chunks(duration_s, fs):
            fh.write(chunk.tobytes())
    n = int(duration_s * fs)
    lines = [f"{name} 12 {fs:g} {n}"] + [f"{name}.dat 16 {GAIN}/mV 16 0 0 0 0 {lead}" for lead in LEADS]
    hea.write_text("\n".join(lines) + f"\n# synthetic {duration_s / 3600:g} h 12-lead ECG (bench.synthetic_ecg)\n")
    return [hea, dat]


def zip_files(paths: list[Path], target: Path) -> Path:
    """The files deflated into one zip (as a clinic's export would send them)."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for p in paths:
            zf.write(p, p.name)
    return target


def write_edf(path: Path, duration_s: float, fs: float = 500.0) -> Path:
    """The same recording as EDF: 1 s data records, 16-bit, digital +-32767 = physical +-32767 / ``GAIN``
    mV, so the digital values are the WFDB ones."""
    n_records, per_record = int(duration_s), int(fs)
    phys = 32767 / GAIN  # mV at digital 32767
    start = dt.datetime(2026, 1, 1, 8, 0, 0)
    head = (f"{'0':<8}{'X X X X':<80}{'Startdate 01-JAN-2026 X X X':<80}"
            f"{start:%d.%m.%y}{start:%H.%M.%S}{256 * 13:<8}{'':<44}{n_records:<8}{'1':<8}{12:<4}")
    fields = [(16, lambda lead: lead), (80, lambda _: "AgAgCl electrode"), (8, lambda _: "mV"),
              (8, lambda _: f"{-phys:.3f}"), (8, lambda _: f"{phys:.3f}"), (8, lambda _: "-32767"),
              (8, lambda _: "32767"), (80, lambda _: "HP:0.05Hz LP:150Hz"), (8, lambda _: str(per_record)),
              (32, lambda _: "")]
    for width, value in fields:
        head += "".join(f"{value(lead):<{width}}"[:width] for lead in LEADS)
    with path.open("wb") as fh:
        fh.write(head.encode("ascii"))
        pending = np.zeros((0, 12), dtype="<i2")
        for chunk in chunks(duration_s, fs):
            pending = np.concatenate([pending, chunk])
            whole = len(pending) // per_record * per_record
            for rec in pending[:whole].reshape(-1, per_record, 12):
                fh.write(rec.T.astype("<i2").tobytes())  # EDF: each signal's block in turn
            pending = pending[whole:]
    return path
