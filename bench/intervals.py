"""Delineation per lead, global PR/QRS/QT, AF/flutter and QRS-axis class against LUDB's cardiologists.

Run: ``.venv/bin/python -m bench.intervals [--verbose] [--reference-peaks] [--no-nk]
[--compress 2,2.5] [--records 1,3,5]``

PER LEAD (the primary score): LUDB's cardiologists marked each lead on its own, so each
lead's fiducials (``MedianBeat.lead_fiducials``: P on/off, QRS on/off, T end) are compared
with the same lead's marks (median over the record's beats, as offsets from the beat's
anchor R); error mean and SD (ms) per fiducial over records x leads, beside the CSE
tolerances (2 SD of the CSE referees: P on 10.2, P off 12.7, QRS on 6.5, QRS off 11.6,
T end 30.6 ms), as delineation papers report on LUDB and QTDB. Our median beat is aligned
to the anchors by QRS cross-correlation (``_alignment_lag``). "not-found" counts leads the
cardiologists marked where we report no boundary (a flat lead, a P or T wave below the
per-lead amplitude floors). A global-only delineator is scored with its global fiducial
standing for every lead (that is how the pre-2026-12 code was scored for comparison).

GLOBAL (secondary, and biased by construction): for each annotated beat, the earliest
onset and the latest offset over the 12 leads; PR = QRS onset - P onset, QRS = QRS
offset - QRS onset, QT = T offset - QRS onset; the record's reference is the MEDIAN over
its annotated beats. This min/max over 12 separately marked leads runs ~28 ms long
against the convention of commercial programs (``ecg.delineate``), so a global QRS ~20 ms
shorter than it is expected; calibrate global values with ``bench.statements`` (PTB-XL
normals and GE 12SL) instead. Records whose rhythm is atrial fibrillation or flutter are
excluded from PR and scored separately on whether we reported the P wave absent.
"Sinus records ... PR measured in k/n" splits sinus records with annotated P waves at
150/min (after compression): whether the P wave was found at infant rates.

NeuroKit2's DWT delineation on lead II is scored the same way (per beat:
PR = R onset - P onset, QRS = R offset - R onset, QT = T offset - R onset;
record median) for comparison.

By default the real pipeline runs end to end (``ecg.analyze.analyze_recording``
on the file, with the team's reader, quality and detector); ``--reference-peaks``
instead feeds the annotated R peaks to ``ecg.measure`` (development mode).

``--compress 1.5,2`` is a pediatric check on real morphology (``1,1.5,2`` also
prints the native rate): each record is time-compressed by each factor (``scipy.signal.resample_poly``, fs kept at
500 Hz, as the "infant" condition of ``bench.beats``), so a 75/min adult with
a 90 ms QRS becomes a 150/min child with a 45 ms QRS; the annotations and the
reference intervals are scaled alike (divided by the factor). The same error
table is printed per factor (NeuroKit2 is not run in that mode).
"""

from __future__ import annotations

import argparse
import dataclasses
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from bench.common import data_dir

LUDB_LEADS = ("i", "ii", "iii", "avr", "avl", "avf", "v1", "v2", "v3", "v4", "v5", "v6")
STD_LEADS = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")


@dataclass(frozen=True)
class Reference:
    """Cardiologists' global reference for one LUDB record (ms; None if not annotated)."""

    record: str
    fs: float
    r_peaks: np.ndarray
    pr_ms: float | None
    qrs_ms: float | None
    qt_ms: float | None
    rhythm: str
    axis: str  # "normal" | "left" | "right" (horizontal/vertical count as normal)
    age_years: int | None
    fiducials_ms: dict  # median offset from the anchor R of p_on, p_off, qrs_on, qrs_off, t_end (ms)
    lead_fiducials_ms: dict = dataclasses.field(default_factory=dict)  # lead -> fiducial -> ms from anchor R

    @property
    def af_or_flutter(self) -> bool:
        return "fibrillation" in self.rhythm or "flutter" in self.rhythm


def _waves(ann) -> list[tuple[str, int, int, int]]:
    """(kind, onset, peak, offset) triplets from one lead's annotation."""
    out, sym, smp = [], list(ann.symbol), np.asarray(ann.sample)
    for i, s in enumerate(sym):
        if s in ("p", "N", "t") and 0 < i < len(sym) - 1 and sym[i - 1] == "(" and sym[i + 1] == ")":
            out.append((s, int(smp[i - 1]), int(smp[i]), int(smp[i + 1])))
    return out


def _header_diagnoses(path: Path) -> tuple[str, str, int | None]:
    rhythm, axis, age = "", "normal", None
    for line in path.with_suffix(".hea").read_text().splitlines():
        low = line.lower()
        if low.startswith("#rhythm:"):
            rhythm = low.split(":", 1)[1].strip().rstrip(".")
        elif low.startswith("#electric axis"):
            axis = "left" if "left" in low else "right" if "right" in low else "normal"
        elif low.startswith("#<age>:"):
            txt = low.split(":", 1)[1].strip()
            age = int(txt) if txt.isdigit() else None
    return rhythm, axis, age


def load_reference(record: Path) -> Reference:
    """Per-beat global fiducials over the 12 leads, reduced to the record's median intervals."""
    import wfdb

    per_lead = {ld: _waves(wfdb.rdann(str(record), ld)) for ld in LUDB_LEADS}
    anchor_lead = max(per_lead, key=lambda ld: sum(w[0] == "N" for w in per_lead[ld]))
    anchors = np.array([w[2] for w in per_lead[anchor_lead] if w[0] == "N"])
    fs = 500.0
    pr, qrs, qt = [], [], []
    rel: dict[str, list[int]] = {"p_on": [], "p_off": [], "qrs_on": [], "qrs_off": [], "t_end": []}
    for k, a in enumerate(anchors):
        nxt = anchors[k + 1] if k + 1 < len(anchors) else a + int(1.5 * fs)
        q_on, q_off, p_on, p_off, t_off = [], [], [], [], []
        for waves in per_lead.values():
            q = [w for w in waves if w[0] == "N" and abs(w[2] - a) < 0.1 * fs]
            if not q:
                continue
            q_on.append(q[0][1])
            q_off.append(q[0][3])
            pw = [w for w in waves if w[0] == "p" and q[0][1] - 0.45 * fs < w[2] < q[0][1]]
            p_on += [w[1] for w in pw]
            p_off += [w[3] for w in pw]
            t_off += [w[3] for w in waves if w[0] == "t" and q[0][3] < w[2] < nxt]
        if not q_on:
            continue
        on, off = min(q_on), max(q_off)
        qrs.append(off - on)
        rel["qrs_on"].append(on - a)
        rel["qrs_off"].append(off - a)
        if p_on:
            pr.append(on - min(p_on))
            rel["p_on"].append(min(p_on) - a)
            rel["p_off"].append(max(p_off) - a)
        if t_off:
            qt.append(max(t_off) - on)
            rel["t_end"].append(max(t_off) - a)
    ms = 1000.0 / fs
    med = lambda v: float(np.median(v)) * ms if v else None
    rhythm, axis, age = _header_diagnoses(record)
    fid = {k: med(v) for k, v in rel.items()}
    lead_fid = {STD_LEADS[LUDB_LEADS.index(ld)]: _lead_reference(waves, anchors, fs)
                for ld, waves in per_lead.items()}
    return Reference(record.name, fs, anchors, med(pr), med(qrs), med(qt), rhythm, axis, age, fid, lead_fid)


def _lead_reference(waves: list, anchors: np.ndarray, fs: float) -> dict[str, float]:
    """One lead's own annotated fiducials, each the median over beats of its offset from the
    beat's anchor R (ms); a fiducial the cardiologists did not mark in this lead is absent."""
    rel: dict[str, list[int]] = {"p_on": [], "p_off": [], "qrs_on": [], "qrs_off": [], "t_end": []}
    for k, a in enumerate(anchors):
        nxt = anchors[k + 1] if k + 1 < len(anchors) else a + int(1.5 * fs)
        q = [w for w in waves if w[0] == "N" and abs(w[2] - a) < 0.1 * fs]
        if not q:
            continue
        rel["qrs_on"].append(q[0][1] - a)
        rel["qrs_off"].append(q[0][3] - a)
        pw = [w for w in waves if w[0] == "p" and q[0][1] - 0.45 * fs < w[2] < q[0][1]]
        if pw:
            rel["p_on"].append(pw[-1][1] - a)
            rel["p_off"].append(pw[-1][3] - a)
        tw = [w for w in waves if w[0] == "t" and q[0][3] < w[2] < nxt]
        if tw:
            rel["t_end"].append(tw[0][3] - a)
    return {k: float(np.median(v)) * 1000.0 / fs for k, v in rel.items() if v}


def ludb_records(root: Path | None = None) -> list[Path]:
    """LUDB record paths (without suffix), numerically sorted."""
    root = (root or data_dir()) / "ludb"
    return sorted((p.with_suffix("") for p in root.glob("*.hea")), key=lambda p: int(p.stem))


def read_ludb(record: Path) -> tuple[np.ndarray, float, tuple[str, ...]]:
    """Signals (n, 12) mV, fs Hz and standard lead names straight from wfdb."""
    import wfdb

    rec = wfdb.rdrecord(str(record))
    names = tuple(STD_LEADS[LUDB_LEADS.index(n.lower())] for n in rec.sig_name)
    return np.asarray(rec.p_signal, dtype=float), float(rec.fs), names


def compress(x: np.ndarray, factor: float) -> tuple[np.ndarray, float]:
    """Time-compress (samples, leads) by ``factor`` at the same fs; returns (signal, exact factor).

    The factor is rounded to a ratio of small integers (``resample_poly``'s
    up/down), so a 0.1 s wave lasts 0.1/factor s afterwards.
    """
    from fractions import Fraction

    from scipy.signal import resample_poly

    frac = Fraction(factor).limit_denominator(20)
    if frac == 1:
        return x, 1.0
    return resample_poly(x, frac.denominator, frac.numerator, axis=0), frac.numerator / frac.denominator


def compress_reference(ref: Reference, factor: float) -> Reference:
    """The reference of a record compressed by ``factor``: R peaks and intervals divided by it (ms)."""
    div = lambda v: None if v is None else v / factor
    return dataclasses.replace(
        ref, r_peaks=np.round(ref.r_peaks / factor).astype(np.int64), pr_ms=div(ref.pr_ms),
        qrs_ms=div(ref.qrs_ms), qt_ms=div(ref.qt_ms),
        fiducials_ms={k: div(v) for k, v in ref.fiducials_ms.items()},
        lead_fiducials_ms={ld: {k: v / factor for k, v in f.items()} for ld, f in ref.lead_fiducials_ms.items()})


# ------------------------------------------------------------------ scoring

@dataclass
class Row:
    """One record's reference and measured values (ms; None = not measured)."""

    record: str
    rhythm: str
    ref: tuple
    ours: tuple
    nk: tuple
    af_ref: bool
    af_ours: bool
    p_absent_ok: bool | None
    axis_ref: str
    axis_ours: str | None
    qrs_axis: float | None
    seconds: float
    lead_err: dict = dataclasses.field(default_factory=dict)  # fiducial -> per-lead errors (ms)
    lead_missing: dict = dataclasses.field(default_factory=dict)  # fiducial -> leads annotated, not found
    rate_bpm: float = 0.0  # from the annotated R peaks


def _ours_pipeline(record: Path, reference_peaks: Reference | None, factor: float = 1.0):
    """(pr, qrs, qt), AF call, P-absent reason ok, axis class, axis, seconds.

    ``factor`` > 1 time-compresses the recording first (``compress``); a given
    ``reference_peaks`` must already be scaled (``compress_reference``)."""
    from ecg.analyze import analyze_detail
    from ecg.interpret import axis_class, interpret
    from ecg.measure import NO_P_AF, measure_detail

    t0 = time.perf_counter()
    if reference_peaks is None:
        from ecg.io import read_recording

        rec = read_recording(str(record) + ".hea")
        if factor != 1.0:
            rec = dataclasses.replace(rec, signals=compress(np.asarray(rec.signals, dtype=float), factor)[0])
        t0 = time.perf_counter()
        res = analyze_detail(rec)
        m, findings, age = res.analysis.measurements, res.analysis.findings, rec.demographics.age_days
        detail = res.detail
    else:
        x, fs, leads = read_ludb(record)
        x = compress(x, factor)[0]
        t0 = time.perf_counter()
        detail = measure_detail(x, fs, leads, reference_peaks.r_peaks)
        age = None if reference_peaks.age_years is None else int(reference_peaks.age_years * 365.25)
        m, findings = detail.measurements, interpret(detail, age_days=age)
    secs = time.perf_counter() - t0
    af = any(f.code in ("AFIB", "AFLT") for f in findings)
    p_ok = m.pr_ms is None and m.missing.get("pr_ms") == NO_P_AF
    axis = None if m.qrs_axis_deg is None else axis_class(m.qrs_axis_deg, age)[0]
    return (m.pr_ms, m.qrs_ms, m.qt_ms), af, p_ok, axis, m.qrs_axis_deg, secs, detail


FIDUCIALS = ("p_on", "p_off", "qrs_on", "qrs_off", "t_end")
# CSE working party tolerances (2 SD of the referees' spread, ms), as delineation papers report
# them (e.g. Martinez JP et al., IEEE Trans Biomed Eng 2004;51:570-581, Table: "2 s_CSE").
CSE_TOL_MS = {"p_on": 10.2, "p_off": 12.7, "qrs_on": 6.5, "qrs_off": 11.6, "t_end": 30.6}


def _alignment_lag(detail, anchors: np.ndarray) -> int:
    """Samples s such that our median beat at index i matches the signal at anchor R + (i - r_index) + s.

    Our median beat is aligned on our own (refined) R; the annotation on the anchor R. The lag
    maximises the QRS cross-correlation (+-40 ms) of our median beat with a median beat built
    on the anchors, so per-lead errors measure delineation, not where R was put.
    """
    mb, x, fs = detail.median, detail.signals, detail.fs
    pre, post = mb.r_index, len(mb.beat) - mb.r_index
    a = anchors[(anchors - pre - 64 >= 0) & (anchors + post + 64 <= len(x))]
    if len(a) == 0:
        return 0
    ref = np.median(x[a[:, None] + np.arange(-pre - 64, post + 64)[None, :]], axis=0)
    half, k = int(0.06 * fs), min(int(0.04 * fs), 64)
    seg = mb.beat[mb.r_index - half:mb.r_index + half]
    best = max(range(-k, k + 1),
               key=lambda lag: float(np.sum(seg * ref[64 + mb.r_index - half + lag:64 + mb.r_index + half + lag])))
    return best


def lead_errors(detail, ref: Reference) -> tuple[dict, dict]:
    """Per-lead fiducial errors (ours - the same lead's annotation, ms) and misses per fiducial.

    P is not scored in AF/flutter records. A lead's fiducial counts as missed when the
    cardiologists marked it in that lead and we have none there."""
    err: dict[str, list[float]] = {f: [] for f in FIDUCIALS}
    miss = {f: 0 for f in FIDUCIALS}
    if detail is None or detail.median is None:
        return err, miss
    mb, fs = detail.median, detail.fs
    lag = _alignment_lag(detail, ref.r_peaks)
    lf = getattr(mb, "lead_fiducials", None)
    if lf is None:  # a global-only delineator: its global fiducial stands for every lead
        g = mb.fiducials
        lf = SimpleNamespace(**{f: np.full(len(mb.leads), np.nan if getattr(g, f) is None else getattr(g, f),
                                           dtype=float) for f in FIDUCIALS})
    for j, name in enumerate(mb.leads):
        annotated = ref.lead_fiducials_ms.get(name, {})
        for f in FIDUCIALS:
            if f not in annotated or (f.startswith("p_") and ref.af_or_flutter):
                continue
            v = getattr(lf, f)[j]
            if not np.isfinite(v):
                miss[f] += 1
                continue
            err[f].append((v - mb.r_index + lag) * 1000.0 / fs - annotated[f])
    return err, miss


def _nk(record: Path) -> tuple:
    """NeuroKit2 DWT delineation on lead II, record medians of per-beat PR, QRS, QT (ms)."""
    import neurokit2 as nk

    x, fs, leads = read_ludb(record)
    sig = x[:, leads.index("II")]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cleaned = nk.ecg_clean(sig, sampling_rate=int(fs))
            _, info = nk.ecg_peaks(cleaned, sampling_rate=int(fs))
            _, w = nk.ecg_delineate(cleaned, info["ECG_R_Peaks"], sampling_rate=int(fs), method="dwt")
    except Exception:
        return (None, None, None)
    g = {k: np.asarray(v, dtype=float) for k, v in w.items()}
    ms = 1000.0 / fs

    def med(a, b):
        v = (g[b] - g[a]) * ms
        v = v[np.isfinite(v) & (v > 0)]
        return float(np.median(v)) if len(v) else None

    return (med("ECG_P_Onsets", "ECG_R_Onsets"), med("ECG_R_Onsets", "ECG_R_Offsets"),
            med("ECG_R_Onsets", "ECG_T_Offsets"))


def _stats(rows: list[Row], which: str, k: int) -> tuple[float, float, float, int, int]:
    """mean, SD, mean |error| (ms), n scored, n not measured for interval k (0 PR, 1 QRS, 2 QT)."""
    errs, missing = [], 0
    for r in rows:
        if k == 0 and (r.af_ref or r.ref[0] is None):
            continue
        if r.ref[k] is None:
            continue
        v = getattr(r, which)[k]
        if v is None:
            missing += 1
        else:
            errs.append(v - r.ref[k])
    e = np.asarray(errs)
    if len(e) == 0:
        return float("nan"), float("nan"), float("nan"), 0, missing
    return float(e.mean()), float(e.std(ddof=1)), float(np.abs(e).mean()), len(e), missing


def score(rows: list[Row]) -> dict:
    """Totals: interval errors (ours and NK), AF/flutter Se/Sp, P-absent, axis-class accuracy."""
    out = {}
    for which in ("ours", "nk"):
        for k, name in enumerate(("PR", "QRS", "QT")):
            out[f"{which}_{name}"] = _stats(rows, which, k)
    pos = [r for r in rows if r.af_ref]
    neg = [r for r in rows if not r.af_ref]
    out["af_se"] = (sum(r.af_ours for r in pos), len(pos))
    out["af_sp"] = (sum(not r.af_ours for r in neg), len(neg))
    out["p_absent"] = (sum(bool(r.p_absent_ok) for r in pos), len(pos))
    scored = [r for r in rows if r.axis_ours is not None]
    out["axis"] = (sum(r.axis_ours == r.axis_ref for r in scored), len(scored), len(rows) - len(scored))
    out["seconds"] = float(np.median([r.seconds for r in rows]))
    sinus = [r for r in rows if r.rhythm.startswith("sinus") and r.ref[0] is not None]
    for lo, hi in ((0, 150), (150, 400)):
        band = [r for r in sinus if lo <= r.rate_bpm < hi]
        out[f"p_found_{lo}"] = (sum(r.ours[0] is not None for r in band), len(band))
    for f in FIDUCIALS:
        e = np.asarray([v for r in rows for v in r.lead_err.get(f, [])])
        n_miss = sum(r.lead_missing.get(f, 0) for r in rows)
        out[f"lead_{f}"] = ((float(e.mean()), float(e.std(ddof=1)), len(e), n_miss) if len(e) > 1
                            else (float("nan"), float("nan"), len(e), n_miss))
    return out


def run(reference_peaks: bool = False, with_nk: bool = True, verbose: bool = False,
        factor: float = 1.0, records: list[str] | None = None) -> dict:
    """Score LUDB records (all, or the named ``records``), time-compressed by ``factor``;
    print per-record rows when ``verbose``; return totals."""
    rows = []
    if factor != 1.0:
        factor = compress(np.zeros((4, 1)), factor)[1]
        with_nk = False
    for rec in ludb_records():
        if records and rec.name not in records:
            continue
        ref = compress_reference(load_reference(rec), factor)
        ours, af, p_ok, axis, axis_deg, secs, detail = _ours_pipeline(rec, ref if reference_peaks else None,
                                                                      factor)
        nk = _nk(rec) if with_nk else (None, None, None)
        err, miss = lead_errors(detail, ref)
        rows.append(Row(rec.name, ref.rhythm, (ref.pr_ms, ref.qrs_ms, ref.qt_ms), ours, nk,
                        ref.af_or_flutter, af, p_ok if ref.af_or_flutter else None, ref.axis, axis,
                        axis_deg, secs, err, miss, 60.0 * ref.fs / float(np.mean(np.diff(ref.r_peaks)))))
        if verbose:
            _print_row(rows[-1])
    totals = score(rows)
    _print_totals(totals, reference_peaks, with_nk, factor)
    return totals


def _f(v) -> str:
    return "   -" if v is None else f"{v:4.0f}"


def _print_row(r: Row) -> None:
    print(f"{r.record:>4} {r.rhythm[:22]:22} PR {_f(r.ref[0])} {_f(r.ours[0])} {_f(r.nk[0])} | "
          f"QRS {_f(r.ref[1])} {_f(r.ours[1])} {_f(r.nk[1])} | QT {_f(r.ref[2])} {_f(r.ours[2])} "
          f"{_f(r.nk[2])} | AF {int(r.af_ref)}{int(r.af_ours)} | axis {r.axis_ref[:5]:5} "
          f"{(r.axis_ours or '-')[:5]:5} {_f(r.qrs_axis)}")


def _print_totals(t: dict, reference_peaks: bool, with_nk: bool, factor: float = 1.0) -> None:
    mode = "reference R peaks + ecg.measure" if reference_peaks else "end-to-end ecg.analyze.analyze_recording"
    if factor != 1.0:
        mode += f"; time-compressed x{factor:g}, reference scaled alike"
    print(f"\nTOTAL over LUDB ({mode}); error = ours - cardiologists (ms)")
    print("          mean    SD   |err|   n  not-measured   (IEC 60601-2-25 target mean/SD)")
    targets = {"PR": "10/10", "QRS": "6/10", "QT": "12/30"}
    for which in ("ours", "nk") if with_nk else ("ours",):
        for name in ("PR", "QRS", "QT"):
            m, s, a, n, miss = t[f"{which}_{name}"]
            print(f"{which:4} {name:3} {m:6.1f} {s:6.1f} {a:6.1f} {n:4d} {miss:4d}            ({targets[name]})")
    se, sp, pa, ax = t["af_se"], t["af_sp"], t["p_absent"], t["axis"]
    print(f"AF/flutter: Se {se[0]}/{se[1]} = {se[0] / max(se[1], 1):.2f}, "
          f"Sp {sp[0]}/{sp[1]} = {sp[0] / max(sp[1], 1):.2f}; P reported absent (AF reason) in "
          f"{pa[0]}/{pa[1]} AF/flutter records")
    print(f"QRS axis class (normal/left/right, LUDB horizontal+vertical = normal): "
          f"{ax[0]}/{ax[1]} = {ax[0] / max(ax[1], 1):.2f} ({ax[2]} without axis)")
    print(f"median time per record (analysis only): {t['seconds'] * 1000:.1f} ms")
    for lo, name in ((0, "below 150/min"), (150, "150/min and faster")):
        k, n = t[f"p_found_{lo}"]
        print(f"sinus records (P annotated), {name}: PR measured in {k}/{n}")
    print("PER LEAD (each lead's fiducial vs the same lead's annotation, records x leads), ms:")
    print("fiducial   mean     SD      n  not-found   (CSE 2-sigma tolerance)")
    for f in FIDUCIALS:
        m, sd, n, miss = t[f"lead_{f}"]
        print(f"{f:8} {m:6.1f} {sd:6.1f} {n:6d} {miss:6d}       ({CSE_TOL_MS[f]})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--verbose", "-v", action="store_true", help="one row per record")
    ap.add_argument("--reference-peaks", action="store_true", help="use annotated R peaks (dev mode)")
    ap.add_argument("--no-nk", action="store_true", help="skip NeuroKit2 comparison")
    ap.add_argument("--compress", default="", help="time-compression factors, e.g. 1.5,2 (pediatric check)")
    ap.add_argument("--records", default="", help="only these LUDB records, e.g. 1,3,5")
    a = ap.parse_args()
    records = [r for r in a.records.split(",") if r] or None
    factors = [float(f) for f in a.compress.split(",") if f] or [1.0]
    for f in factors:
        run(reference_peaks=a.reference_peaks, with_nk=not a.no_nk, verbose=a.verbose, factor=f,
            records=records)


if __name__ == "__main__":
    main()
