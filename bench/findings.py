"""Machine findings (STE, AF, flutter, QRS axis) against LUDB's header diagnoses.

Run: ``.venv/bin/python -m bench.findings [--records 1,21,103] [--verbose]``

Every LUDB record is analysed end to end (``ecg.analyze.analyze_detail``, the
same path as ``analyze_recording``, with the age and sex of the header) and
each finding class is scored against the cardiologists' diagnoses in the
``.hea`` comments:

* STE (critical "suspected acute injury") vs ``#STEMI:`` lines (records with
  only ``NSTEMI``/ischaemia/scar lines count as negatives);
* AFIB vs "Atrial fibrillation", AFLT vs "Atrial flutter", AFIB-or-AFLT vs
  either rhythm;
* QRS axis class (normal/left/right; LUDB "horizontal"/"vertical" = normal).

Printed: counts, sensitivity (Se), specificity (Sp), and the records missed or
falsely called. For STE also the J-point "margin" of each STEMI record (mV by
which the best contiguous lead pair exceeds, or falls short of, its 4th
Universal Definition limit; ``ecg.st``) and how many other records come at
least as close, i.e. the false positives a lower threshold would cost.

Data: Lobachevsky University ECG Database 1.0.1 (Kalyakulina AI et al., LUDB:
a new open-access validation tool for electrocardiogram delineation
algorithms, IEEE Access 8:186181-186190, 2020), from PhysioNet (Goldberger AL
et al., Circulation 101(23):e215-e220, 2000); ODC Attribution 1.0.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from bench.intervals import _header_diagnoses, ludb_records

CLASSES = ("STE", "AFIB", "AFLT", "AF_OR_FLUTTER")


@dataclass(frozen=True)
class Case:
    """One record: header truth and our calls per finding class."""

    record: str
    age_years: int | None
    sex: str | None
    truth: dict[str, bool]
    ours: dict[str, bool]
    axis_ref: str
    axis_ours: str | None
    st_margin_mv: float
    codes: tuple[str, ...]


def header_truth(record: Path) -> tuple[dict[str, bool], str]:
    """Finding classes present per the header diagnoses, and the axis class."""
    text = record.with_suffix(".hea").read_text()
    rhythm, axis, _ = _header_diagnoses(record)
    af, fl = "fibrillation" in rhythm, "flutter" in rhythm
    stemi = any(line.startswith("#STEMI:") for line in text.splitlines())
    return {"STE": stemi, "AFIB": af, "AFLT": fl, "AF_OR_FLUTTER": af or fl}, axis


def analyse(record: Path) -> Case:
    """Run the pipeline on one record and collect our calls."""
    from ecg import st
    from ecg.analyze import analyze_detail
    from ecg.interpret import axis_class
    from ecg.io import read_recording

    rec = read_recording(str(record) + ".hea")
    res = analyze_detail(rec)
    age, sex = rec.demographics.age_days, rec.demographics.sex
    codes = tuple(f.code for f in res.analysis.findings)
    ours = {"STE": "STE" in codes, "AFIB": "AFIB" in codes, "AFLT": "AFLT" in codes,
            "AF_OR_FLUTTER": "AFIB" in codes or "AFLT" in codes}
    m = res.analysis.measurements
    axis = None if m.qrs_axis_deg is None else axis_class(m.qrs_axis_deg, age)[0]
    margin = float("-inf") if res.detail is None else st.best_margin(st.j_point_levels(res.detail), age, sex)
    truth, axis_ref = header_truth(record)
    years = None if age is None else int(age / 365.25)
    return Case(record.name, years, sex, truth, ours, axis_ref, axis, margin, codes)


def _who(c: Case) -> str:
    return f"{c.record}({c.age_years or '?'}{c.sex or '?'})"


def report_class(cases: list[Case], cls: str) -> dict:
    """Se/Sp counts for one class; prints one line plus misses and false positives."""
    pos = [c for c in cases if c.truth[cls]]
    neg = [c for c in cases if not c.truth[cls]]
    tp = [c for c in pos if c.ours[cls]]
    fp = [c for c in neg if c.ours[cls]]
    se = f"{len(tp)}/{len(pos)}" + (f" = {len(tp) / len(pos):.2f}" if pos else "")
    sp = f"{len(neg) - len(fp)}/{len(neg)}" + (f" = {1 - len(fp) / len(neg):.2f}" if neg else "")
    print(f"{cls:14} Se {se:14} Sp {sp:16} FP {len(fp)}")
    missed = [c for c in pos if not c.ours[cls]]
    if missed:
        print(f"{'':14} missed: " + ", ".join(f"{_who(c)} [{' '.join(c.codes)}]" for c in missed))
    if fp:
        print(f"{'':14} false:  " + ", ".join(f"{_who(c)} [{' '.join(c.codes)}]" for c in fp))
    return {"tp": len(tp), "pos": len(pos), "fp": len(fp), "neg": len(neg)}


def report_axis(cases: list[Case]) -> tuple[int, int]:
    """Axis-class agreement and per-class Se; prints the confusion counts."""
    scored = [c for c in cases if c.axis_ours is not None]
    ok = sum(c.axis_ours == c.axis_ref for c in scored)
    per = []
    for k in ("normal", "left", "right"):
        ref = [c for c in scored if c.axis_ref == k]
        per.append(f"{k} {sum(c.axis_ours == k for c in ref)}/{len(ref)}")
    print(f"{'QRS axis':14} agree {ok}/{len(scored)} ({len(cases) - len(scored)} without axis); "
          f"Se per class: " + ", ".join(per))
    wrong = [f"{_who(c)} {c.axis_ref}->{c.axis_ours}" for c in scored if c.axis_ours != c.axis_ref]
    if wrong:
        print(f"{'':14} wrong: " + ", ".join(wrong))
    return ok, len(scored)


def report_st_margins(cases: list[Case]) -> None:
    """J-point margin of each STEMI record and how many other records come as close."""
    stemi = sorted((c for c in cases if c.truth["STE"]), key=lambda c: -c.st_margin_mv)
    others = [c.st_margin_mv for c in cases if not c.truth["STE"]]
    for c in stemi:
        closer = sum(m >= c.st_margin_mv for m in others)
        print(f"{'':14} STEMI {_who(c)}: best contiguous pair {c.st_margin_mv:+.3f} mV vs its limit; "
              f"{closer}/{len(others)} other records as close or closer")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", help="comma-separated LUDB record names (default: all 100)")
    ap.add_argument("--verbose", "-v", action="store_true", help="one line per record")
    a = ap.parse_args()
    recs = ludb_records()
    if a.records:
        want = set(a.records.split(","))
        recs = [r for r in recs if r.name in want]
    cases = []
    for r in recs:
        cases.append(analyse(r))
        if a.verbose:
            c = cases[-1]
            print(f"{_who(c):>10} truth {[k for k in CLASSES if c.truth[k]]} ours {' '.join(c.codes)} "
                  f"axis {c.axis_ref}/{c.axis_ours} ST margin {c.st_margin_mv:+.3f}")
    print(f"\nLUDB findings vs header diagnoses, {len(cases)} records "
          f"(end-to-end ecg.analyze; age/sex from the header)")
    for cls in CLASSES:
        report_class(cases, cls)
        if cls == "STE":
            report_st_margins(cases)
    report_axis(cases)


if __name__ == "__main__":
    main()
