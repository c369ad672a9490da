"""Beat-detection benchmark: ecghub vs NeuroKit2, wfdb XQRS and Pan-Tompkins (py-ecg-detectors).

Scoring follows AAMI EC57 practice: reference beats are the ``.atr`` labels in
BEAT_SYMBOLS; a detection matches a reference beat within 150 ms, one-to-one.
Conditions (same run, same records, one lead: MLII, which is lead 0 except
in record 114 where lead 0 is V5):

* ``recorded``: the 23 mitdb records as recorded (360 Hz).

Ventricular flutter/fibrillation episodes (reference ``[`` to ``]``, in 207) are left out of the
beat-by-beat score as AAMI EC57 (and WFDB ``bxb``) do: reference beats inside are not scored,
nor are detections inside (flutter waves are not beats). Each row also keeps the score with
the episodes included under ``all``.
* ``infant``: each record time-compressed so its median RR is 60/170 s
  (factor clipped to 1..2.5), fs kept at 360 Hz, annotations scaled alike.
* ``noise``: nstdb 118e24/12/00/_6, plus nstdb ``bw`` and ``ma`` noise added
  to the other mitdb records at 12, 6 and 0 dB SNR. SNR the nstdb way:
  S = (median QRS peak-to-peak amplitude)^2 / 8, N = noise variance.

Speed: every detector gets the same in-memory float64 MLII array (file reading, resampling
and noise mixing are outside the timed call), one after the other in the same worker process,
after one warm-up call per detector and process. ``seconds`` is wall time of the call,
``cpu_seconds`` the process CPU time (all threads; less sensitive to other jobs on a shared
machine); the summary prints both ratios peer / ecghub.

Usage: ``python -m bench.beats [--records 100,101] [--conditions recorded,infant,noise]
[--jobs 2] [--quick] [--json PATH]``; ``python -m bench.beats --ptbxl`` runs only the PTB-XL
100 Hz check (:func:`ptbxl_check`), ``--speed`` only the paired CPU-time check (:func:`speed_check`).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from fractions import Fraction
from collections.abc import Callable

import numpy as np

from bench.common import data_dir

BEAT_SYMBOLS = frozenset("N L R B A a J S V r F e j n E / f Q ?".split())
MITDB = ("100 101 106 108 109 112 114 115 116 118 119 122 124 201 203 205 207 208 209 215 220 223 230").split()
NSTDB = ("118e24", "118e12", "118e00", "118e_6")
SNRS_DB = (12, 6, 0)
DETECTORS = ("ecghub", "neurokit2", "xqrs", "pantompkins")
INFANT_BPM = 170.0


# ---------------------------------------------------------------- scoring
@dataclass
class Score:
    """Match counts: tp (matched reference beats), fn (missed), fp (extra detections)."""

    tp: int
    fn: int
    fp: int

    @property
    def se(self) -> float:
        """Sensitivity (%)."""
        return 100.0 * self.tp / max(1, self.tp + self.fn)

    @property
    def ppv(self) -> float:
        """Positive predictivity +P (%)."""
        return 100.0 * self.tp / max(1, self.tp + self.fp)

    @property
    def f1(self) -> float:
        """F1 (%)."""
        return 100.0 * 2 * self.tp / max(1, 2 * self.tp + self.fn + self.fp)

    def __add__(self, other: Score) -> Score:
        return Score(self.tp + other.tp, self.fn + other.fn, self.fp + other.fp)


def score(ref: np.ndarray, det: np.ndarray, fs: float, window_ms: float = 150.0) -> Score:
    """One-to-one match of detections ``det`` to reference beats ``ref`` (sample indices at fs).

    A pair matches when |det - ref| <= window_ms; pairs are taken greedily,
    closest first, each beat and detection used at most once.
    """
    ref = np.sort(np.asarray(ref, dtype=np.int64))
    det = np.unique(np.asarray(det, dtype=np.int64))
    tol = window_ms * fs / 1000.0
    if ref.size == 0 or det.size == 0:
        return Score(0, int(ref.size), int(det.size))
    lo = np.searchsorted(det, ref - tol, side="left")
    hi = np.searchsorted(det, ref + tol, side="right")
    counts = hi - lo
    ri = np.repeat(np.arange(ref.size), counts)
    di = np.concatenate([np.arange(a, b) for a, b in zip(lo, hi)]) if counts.sum() else np.zeros(0, int)
    dist = np.abs(det[di] - ref[ri])
    order = np.argsort(dist, kind="stable")
    used_r = np.zeros(ref.size, dtype=bool)
    used_d = np.zeros(det.size, dtype=bool)
    tp = 0
    for r, d in zip(ri[order], di[order]):
        if not used_r[r] and not used_d[d]:
            used_r[r] = used_d[d] = True
            tp += 1
    return Score(tp, int(ref.size - tp), int(det.size - tp))


# ---------------------------------------------------------------- data
def load_record(name: str, db: str = "mitdb") -> tuple[np.ndarray, float, np.ndarray]:
    """(MLII signal in mV, fs in Hz, reference beat samples) of a record."""
    import wfdb

    path = str(data_dir() / db / name)
    rec = wfdb.rdrecord(path)
    lead = rec.sig_name.index("MLII") if "MLII" in rec.sig_name else 0
    ann = wfdb.rdann(path, "atr")
    beats = np.array([s for s, sym in zip(ann.sample, ann.symbol) if sym in BEAT_SYMBOLS], dtype=np.int64)
    return rec.p_signal[:, lead].astype(np.float64), float(rec.fs), beats


def vf_episodes(name: str, db: str = "mitdb") -> np.ndarray:
    """(k, 2) sample spans of ventricular flutter/fibrillation episodes (``[`` to ``]``, or to
    the end of the record) in the reference annotations; empty when there are none."""
    import wfdb

    ann = wfdb.rdann(str(data_dir() / db / name), "atr")
    sym = np.asarray(ann.symbol)
    on, off = ann.sample[sym == "["], ann.sample[sym == "]"]
    spans = [(a, off[off >= a].min() if np.any(off >= a) else np.iinfo(np.int64).max) for a in on]
    return np.asarray(spans, dtype=np.int64).reshape(-1, 2)


def outside(samples: np.ndarray, spans: np.ndarray) -> np.ndarray:
    """``samples`` not inside any span (both ends included)."""
    samples = np.asarray(samples, dtype=np.int64)
    inside = np.zeros(samples.shape, dtype=bool)
    for a, b in spans:
        inside |= (samples >= a) & (samples <= b)
    return samples[~inside]


def load_noise(kind: str) -> np.ndarray:
    """nstdb noise record ``bw`` or ``ma``, channel 0, in mV."""
    import wfdb

    return wfdb.rdrecord(str(data_dir() / "nstdb" / kind)).p_signal[:, 0].astype(np.float64)


def compress(sig: np.ndarray, fs: float, beats: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Time-compress so that the median RR becomes 60/INFANT_BPM s; returns (signal, beats, factor)."""
    from scipy.signal import resample_poly

    rr = np.median(np.diff(beats)) / fs
    factor = float(np.clip(rr * INFANT_BPM / 60.0, 1.0, 2.5))
    if factor == 1.0:
        return sig, beats, 1.0
    frac = Fraction(factor).limit_denominator(50)
    out = resample_poly(sig, frac.denominator, frac.numerator)
    factor = frac.numerator / frac.denominator
    return out, np.round(beats / factor).astype(np.int64), factor


def qrs_pp_mv(sig: np.ndarray, fs: float, beats: np.ndarray) -> float:
    """Median peak-to-peak amplitude (mV) of the QRS (+-50 ms around each reference beat)."""
    h = int(0.05 * fs)
    b = beats[(beats > h) & (beats < len(sig) - h)]
    seg = sig[b[:, None] + np.arange(-h, h + 1)[None, :]]
    return float(np.median(np.ptp(seg, axis=1)))


def add_noise(sig: np.ndarray, fs: float, beats: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """Clean ECG plus noise scaled to ``snr_db`` (S = pp^2/8 from the QRS, N = noise variance)."""
    n = noise[: len(sig)] - np.mean(noise[: len(sig)])
    s_power = qrs_pp_mv(sig, fs, beats) ** 2 / 8.0
    gain = np.sqrt(s_power / (np.var(n) * 10 ** (snr_db / 10.0)))
    return sig + gain * n


# ---------------------------------------------------------------- detectors
def _ecghub(sig: np.ndarray, fs: float) -> np.ndarray:
    from ecg.beats import detect_r_peaks

    return detect_r_peaks(sig, fs)


def _neurokit(sig: np.ndarray, fs: float) -> np.ndarray:
    import neurokit2 as nk

    clean = nk.ecg_clean(sig, sampling_rate=fs)
    return np.asarray(nk.ecg_peaks(clean, sampling_rate=fs)[1]["ECG_R_Peaks"], dtype=np.int64)


def _xqrs(sig: np.ndarray, fs: float) -> np.ndarray:
    import wfdb.processing

    return np.asarray(wfdb.processing.xqrs_detect(sig, fs, verbose=False), dtype=np.int64)


def _pantompkins(sig: np.ndarray, fs: float) -> np.ndarray:
    from ecgdetectors import Detectors

    return np.asarray(Detectors(fs).pan_tompkins_detector(sig), dtype=np.int64)


RUNNERS: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
    "ecghub": _ecghub,
    "neurokit2": _neurokit,
    "xqrs": _xqrs,
    "pantompkins": _pantompkins,
}


_WARM: set[str] = set()


def _warm_up(sig: np.ndarray, fs: float) -> None:
    """Run each detector once per process on 20 s (imports, caches) so timings are steady-state."""
    for name in DETECTORS:
        if name not in _WARM:
            try:
                RUNNERS[name](sig[: int(20 * fs)], fs)
            except Exception:
                pass
            _WARM.add(name)


def run_case(case: tuple[str, str, str, str, float, float | None]) -> dict:
    """Run every detector on one case: (condition, label, db, record, snr_db, seconds limit)."""
    condition, label, db, rec, snr, limit = case
    sig, fs, beats = load_record(rec, db)
    vf = vf_episodes(rec, db)
    if limit:
        n = int(limit * fs)
        sig, beats = sig[:n], beats[beats < n]
    if condition == "infant":
        sig, beats, factor = compress(sig, fs, beats)
        vf = np.round(vf / factor).astype(np.int64) if vf.size else vf
    elif condition == "noise" and db == "mitdb":
        kind = label.split("_")[1]
        sig = add_noise(sig, fs, beats, load_noise(kind), snr)
    out = {"condition": condition, "record": label, "n_beats": int(outside(beats, vf).size), "results": {}}
    _warm_up(sig, fs)
    for name in DETECTORS:
        try:
            c0, t0 = time.process_time(), time.perf_counter()
            det = RUNNERS[name](sig, fs)
            dt, cpu = time.perf_counter() - t0, time.process_time() - c0
        except Exception as exc:  # a peer crashing on a hard record counts as detecting nothing
            det, dt, cpu = np.zeros(0, np.int64), float("nan"), float("nan")
            out.setdefault("errors", {})[name] = repr(exc)
        raw = score(beats, det, fs)
        s = score(outside(beats, vf), outside(det, vf), fs) if vf.size else raw
        out["results"][name] = {**asdict(s), "seconds": dt, "cpu_seconds": cpu,
                                "all": asdict(raw)}  # "all": VF episodes scored too
    return out


def build_cases(records: list[str], conditions: list[str], quick: bool) -> list[tuple]:
    """All (condition, label, db, record, snr, limit) cases of the run."""
    limit = 300.0 if quick else None
    cases: list[tuple] = []
    if "recorded" in conditions:
        cases += [("recorded", r, "mitdb", r, 0.0, limit) for r in records]
    if "infant" in conditions:
        cases += [("infant", r, "mitdb", r, 0.0, limit) for r in records]
    if "noise" in conditions:
        cases += [("noise", r, "nstdb", r, 0.0, limit) for r in NSTDB]
        for kind in ("bw", "ma"):
            for snr in SNRS_DB:
                cases += [("noise", f"{r}_{kind}_{snr}dB", "mitdb", r, float(snr), limit)
                          for r in records if r != "118"]
    return cases


def print_report(rows: list[dict]) -> dict:
    """Print per-record and TOTAL tables per condition; return totals for JSON."""
    totals: dict = {}
    for cond in dict.fromkeys(r["condition"] for r in rows):
        sub = [r for r in rows if r["condition"] == cond]
        print(f"\n=== {cond} ({len(sub)} records) ===")
        head = f"{'record':>16} {'beats':>6} " + " ".join(f"{d[:10]:>27}" for d in DETECTORS)
        print(head + "\n" + " " * 24 + " ".join(f"{'Se':>6} {'+P':>6} {'F1':>6} {'s':>6}" for _ in DETECTORS))
        for r in sub:
            cells = [r["results"][d] for d in DETECTORS]
            print(f"{r['record']:>16} {r['n_beats']:>6} " + " ".join(_cell(c) for c in cells))
        totals[cond] = {}
        line = f"{'TOTAL':>16} {sum(r['n_beats'] for r in sub):>6} "
        for d in DETECTORS:
            s = sum((Score(r["results"][d]["tp"], r["results"][d]["fn"], r["results"][d]["fp"]) for r in sub),
                    Score(0, 0, 0))
            secs = float(np.nanmean([r["results"][d]["seconds"] for r in sub]))
            totals[cond][d] = {"se": s.se, "ppv": s.ppv, "f1": s.f1, "seconds_per_record": secs, **asdict(s)}
            line += f" {s.se:6.2f} {s.ppv:6.2f} {s.f1:6.2f} {secs:6.3f}"
        print(line)
        worst = min(sub, key=lambda r: _f1(r, "ecghub") - max(_f1(r, d) for d in DETECTORS[1:]))
        gap = _f1(worst, "ecghub") - max(_f1(worst, d) for d in DETECTORS[1:])
        print(f"worst ecghub F1 margin vs best peer: {gap:+.2f} points ({worst['record']})")
    return totals


def _f1(row: dict, det: str) -> float:
    r = row["results"][det]
    return Score(r["tp"], r["fn"], r["fp"]).f1


def _cell(c: dict) -> str:
    s = Score(c["tp"], c["fn"], c["fp"])
    return f"{s.se:6.2f} {s.ppv:6.2f} {s.f1:6.2f} {c['seconds']:6.3f}"


def ptbxl_check() -> dict:
    """ecghub on the 496 PTB-XL 100 Hz 12-lead records (no beat annotations exist there).

    Two checks: (1) mean RR against GE 12SL's ``RR_Mean_Global`` on the records that have it;
    (2) plausibility: the 12-lead beat count against the median of the 12 single-lead counts
    (a lead-by-lead vote), listing records that differ by more than one beat, and RRs < 250 ms.
    Process CPU time of the 12-lead call is summed.
    """
    import csv

    import wfdb

    from ecg.beats import detect_r_peaks

    root = data_dir() / "ptbxl"
    with open(root / "ge_12sl_measurements.csv") as f:
        ge = {int(r["ecg_id"]): float(r["RR_Mean_Global"]) for r in csv.DictReader(f)}
    rr_err, disagree, short, cpu, n = [], [], [], 0.0, 0
    for hea in sorted(root.glob("*.hea")):
        rec = wfdb.rdrecord(str(hea.with_suffix("")))
        x, fs = rec.p_signal, float(rec.fs)
        c0 = time.process_time()
        det = detect_r_peaks(x, fs)
        cpu += time.process_time() - c0
        n += 1
        vote = int(np.median([detect_r_peaks(x[:, j], fs).size for j in range(x.shape[1])]))
        rr = np.diff(det) * 1000.0 / fs
        if abs(det.size - vote) > 1:
            disagree.append((hea.stem, int(det.size), vote))
        if rr.size and rr.min() < 250.0:
            short.append((hea.stem, float(rr.min())))
        eid = int(hea.stem.split("_")[0])
        if eid in ge and rr.size:
            rr_err.append(float(rr.mean()) - ge[eid])
            print(f"{hea.stem}: mean RR {rr.mean():.0f} ms, GE 12SL {ge[eid]:.0f} ms")
    err = np.asarray(rr_err)
    print(f"\nPTB-XL: {n} records; mean RR - GE 12SL: {err.mean():+.1f} +- {err.std():.1f} ms "
          f"(max |{np.abs(err).max():.0f}| ms, {err.size} records)")
    print(f"12-lead count differs from the median single-lead count by > 1: {len(disagree)} {disagree}")
    print(f"RR < 250 ms: {len(short)} {short}")
    print(f"process CPU {1000 * cpu / n:.2f} ms per 12-lead 10 s record")
    return {"n": n, "rr_minus_ge_ms": rr_err, "disagree": disagree, "short_rr": short,
            "cpu_ms_per_record": 1000 * cpu / n}


def speed_check(records: list[str], repeats: int = 5) -> dict:
    """Paired CPU-time comparison ecghub vs NeuroKit2 on whole (30-min) MLII records.

    Both detectors run alternately on the same in-memory array ``repeats`` times per record;
    per record the minimum process CPU time (``time.process_time``, all threads) of each is
    kept, so other jobs on a shared machine inflate both alike and rarely the minimum.
    Prints mean ms per record and the ratio NeuroKit2 / ecghub (mean and per-record median).
    """
    ours, peer = [], []
    for rec in records:
        sig, fs, _ = load_record(rec)
        _warm_up(sig, fs)
        e, n = [], []
        for _ in range(repeats):
            c0 = time.process_time()
            _ecghub(sig, fs)
            e.append(time.process_time() - c0)
            c0 = time.process_time()
            _neurokit(sig, fs)
            n.append(time.process_time() - c0)
        ours.append(min(e))
        peer.append(min(n))
    a, b = np.asarray(ours), np.asarray(peer)
    print(f"process CPU per record: ecghub {1000 * a.mean():.1f} ms, NeuroKit2 {1000 * b.mean():.1f} ms; "
          f"ratio of means {b.mean() / a.mean():.2f}x, per-record median {np.median(b / a):.2f}x, "
          f"min {np.min(b / a):.2f}x ({len(records)} records, min of {repeats} paired runs each)")
    return {"ecghub_s": ours, "neurokit2_s": peer}


def main(argv: list[str] | None = None) -> None:
    """Command-line entry: run the benchmark and print tables (and JSON if asked)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", default=",".join(MITDB))
    ap.add_argument("--conditions", default="recorded,infant,noise")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--quick", action="store_true", help="first 5 minutes of each record only")
    ap.add_argument("--json", default=None)
    ap.add_argument("--ptbxl", action="store_true", help="only the PTB-XL 100 Hz plausibility check")
    ap.add_argument("--speed", action="store_true", help="only the paired CPU-time check vs NeuroKit2")
    args = ap.parse_args(argv)
    if args.ptbxl:
        ptbxl_check()
        return
    if args.speed:
        speed_check(args.records.split(","))
        return
    cases = build_cases(args.records.split(","), args.conditions.split(","), args.quick)
    t0 = time.perf_counter()
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs) as ex:
            rows = list(ex.map(run_case, cases))
    else:
        rows = [run_case(c) for c in cases]
    totals = print_report(rows)
    print("\n=== speed (mean seconds per record, all conditions; ratio = peer / ecghub) ===")
    mean = {d: float(np.nanmean([r["results"][d]["seconds"] for r in rows])) for d in DETECTORS}
    cpu = {d: float(np.nanmean([r["results"][d].get("cpu_seconds", np.nan) for r in rows])) for d in DETECTORS}
    for d in DETECTORS[1:]:
        ratio = mean[d] / mean["ecghub"]
        print(f"{d:>12}: {mean[d]:.4f} s vs ecghub {mean['ecghub']:.4f} s -> ecghub {ratio:.1f}x faster"
              f" (process CPU time: {cpu[d] / cpu['ecghub']:.1f}x)")
    errors = [(r["record"], r["errors"]) for r in rows if "errors" in r]
    for rec, err in errors:
        print(f"error on {rec}: {err}")
    print(f"\nwall time {time.perf_counter() - t0:.0f} s, {len(cases)} cases, {args.jobs} jobs")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"totals": totals, "speed": mean, "cpu_speed": cpu, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
