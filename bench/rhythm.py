"""Rhythm calls on 10 s windows of the MIT-BIH Arrhythmia Database against its rhythm annotations.

Run: ``.venv/bin/python -m bench.rhythm [--records 201,203] [--every 60] [--verbose]``

An independent check of ``ecg.rhythm`` on a database the rhythm code was not
tuned on (2 leads, 360 Hz, ambulatory). Each record in ``../shared/data/mitdb``
is cut into 10 s windows starting every ``--every`` seconds; a window is scored
only when one rhythm annotation (``.atr`` aux note: "(N", "(AFIB", "(AFL",
"(B", "(T", "(SVTA", "(VT", ...) covers all of it. Each window is analysed end
to end (``ecg.analyze.analyze_recording``, adult age) and scored:

* AF: Se / Sp / PPV of AFIB (or AFLT) on "(AFIB" windows against all others;
* flutter ("(AFL"): called flutter or AF, and called sinus;
* sinus ("(N"): share called sinus (SR/STACH/SBRAD), AF, flutter, not determined;
* ventricular bigeminy / trigeminy ("(B", "(T"): share falsely called AF;
* everything else: counted per label.

Figures (``--every 60``, 610 windows, 23 records), before -> after the rhythm work of
issue 15: AF Se 96.7 -> 96.7 %, Sp 95.0 -> 97.6 %, PPV 50.0 -> 67.4 %; flutter
windows (203) called AF 4/4 both; sinus windows called sinus 93.6 -> 93.4 %, AF
3.8 -> 1.3 %, not determined 2.6 -> 5.3 %; bigeminy/trigeminy called AF 1/16 ->
0/16; the one SVTA window "not determined" -> SVT. Two leads only (MLII and V1,
V2, V4 or V5): no frontal P axis, so some sinus windows stay "not determined".

Data: MIT-BIH Arrhythmia Database (Moody GB, Mark RG, IEEE Eng Med Biol
20(3):45-50, 2001), PhysioNet (Goldberger AL et al., Circulation
101(23):e215-e220, 2000); ODC-By 1.0.
"""

from __future__ import annotations

import argparse
from collections import Counter, defaultdict

import numpy as np

from bench.common import data_dir
from ecg.analyze import analyze_recording
from ecg.types import Recording

WINDOW_S = 10.0
SINUS = {"SR", "STACH", "SBRAD"}
AF_CALLS = {"AFIB", "AFLT"}


def rhythm_spans(ann, n: int) -> list[tuple[int, int, str]]:
    """(start, end, label) sample spans of each rhythm annotation."""
    marks = [(int(s), a.strip("\x00").strip()) for s, a in zip(ann.sample, ann.aux_note) if a.startswith("(")]
    return [(s, marks[i + 1][0] if i + 1 < len(marks) else n, lab) for i, (s, lab) in enumerate(marks)]


def windows(record: str, every_s: float):
    """(label, Recording) for each 10 s window covered by a single rhythm annotation."""
    import wfdb

    path = str(data_dir() / "mitdb" / record)
    rec = wfdb.rdrecord(path)
    ann = wfdb.rdann(path, "atr")
    fs, x = float(rec.fs), np.asarray(rec.p_signal, dtype=float)
    leads = tuple("II" if s == "MLII" else s for s in rec.sig_name)
    spans = rhythm_spans(ann, len(x))
    w = int(WINDOW_S * fs)
    for a in range(0, len(x) - w, int(every_s * fs)):
        lab = [lab for s, e, lab in spans if s <= a and a + w <= e]
        if lab:
            yield lab[0], Recording(x[a:a + w], fs, leads, "wfdb")


def _pct(n: int, d: int) -> str:
    return f"{100.0 * n / d:.1f} % ({n}/{d})" if d else "n/a"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", help="comma-separated MIT-BIH records (default: all here)")
    ap.add_argument("--every", type=float, default=60.0, help="seconds between window starts")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args(argv)
    recs = (a.records.split(",") if a.records
            else sorted(p.stem for p in (data_dir() / "mitdb").glob("*.atr")))
    calls: dict[str, list[set[str]]] = defaultdict(list)
    where: dict[str, list[str]] = defaultdict(list)
    for r in recs:
        for i, (lab, rec) in enumerate(windows(r, a.every)):
            codes = {f.code for f in analyze_recording(rec).findings}
            calls[lab].append(codes)
            where[lab].append(f"{r}@{i * a.every:.0f}s")
    af = calls.get("(AFIB", [])
    other = [c for lab, cs in calls.items() if lab != "(AFIB" for c in cs]
    tp, fp = sum(bool(AF_CALLS & c) for c in af), sum(bool(AF_CALLS & c) for c in other)
    print(f"MIT-BIH rhythm, {sum(len(v) for v in calls.values())} windows of {WINDOW_S:.0f} s "
          f"(every {a.every:.0f} s, {len(recs)} records)")
    print(f"  AF ('(AFIB')                  Se {_pct(tp, len(af))}, Sp {_pct(len(other) - fp, len(other))}, "
          f"PPV {_pct(tp, tp + fp)}")
    fl = calls.get("(AFL", [])
    print(f"  flutter called flutter or AF  {_pct(sum(bool(AF_CALLS & c) for c in fl), len(fl))}; "
          f"called sinus {_pct(sum(bool(SINUS & c) for c in fl), len(fl))}")
    n = calls.get("(N", [])
    print(f"  sinus ('(N') called sinus     {_pct(sum(bool(SINUS & c) for c in n), len(n))}; AF "
          f"{_pct(sum(bool(AF_CALLS & c) for c in n), len(n))}; not determined "
          f"{_pct(sum('RHYTHM_UNDET' in c for c in n), len(n))}")
    bt = calls.get("(B", []) + calls.get("(T", [])
    print(f"  bigeminy/trigeminy called AF  {_pct(sum(bool(AF_CALLS & c) for c in bt), len(bt))}")
    for lab, cs in sorted(calls.items()):
        rhythm = Counter(next((k for k in ("PACED", "AFLT", "AFIB", "SVT", "WCT", "AVB3", "SR", "JR",
                                           "RHYTHM_UNDET", "POOR_QUALITY") if k in c), "other") for c in cs)
        print(f"  {lab:7s} n={len(cs):4d}  " + ", ".join(f"{k} {v}" for k, v in rhythm.most_common()))
        if a.verbose and lab in ("(AFIB", "(AFL"):
            print("     missed: " + " ".join(w for w, c in zip(where[lab], cs) if not AF_CALLS & c))
    if a.verbose:
        print("  false AF: " + " ".join(w for lab in calls if lab != "(AFIB"
                                       for w, c in zip(where[lab], calls[lab]) if AF_CALLS & c))


if __name__ == "__main__":
    main()
