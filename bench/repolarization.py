"""Repolarisation statements (STE, STD, TWI, ERP, JUVT, NSSTT, STT2) against PTB-XL's cardiologists.

Run: ``PYTHONPATH=$PWD .venv/bin/python -m bench.repolarization [--verbose] [--shift-ms -20] [--ludb]``

Every PTB-XL record in ``../shared/data/ptbxl`` is analysed end to end
(``ecg.analyze.analyze_detail`` with the header's age and sex); truth from
``labels.csv`` as in ``bench.statements`` (an SCP code counts with likelihood 0 or
>= 50 %, is uncertain and left out between 1 and 49 %):

* acute MI -> STE: INJ* codes, or an MI code with infarction stadium I / I-II / II;
  scored for any STE statement and for the critical one (the stat call);
* STD: STD_ or any ISC_ code; TWI: INVT, NT_ or any ISC_ code; any ST-T: all of these
  plus NST_, LOWT, NDT; a machine "ST-T call" is STD, TWI, NSSTT or STT2;
* on the cardiologists' normal ECGs (NORM = 100): the share with each statement;
* ``--ludb``: LUDB's STEMI records (their calls), early repolarisation records (never STE),
  and the header's ischaemia / STEMI / non-specific repolarisation lines against any ST-T call.

``--shift-ms -20`` re-reads the repolarisation with the J point (global QRS offset of
the median beat) moved by that many ms: how the statements would change when the
measurement moves the J point (the measurement reads it ~20 ms late on PTB-XL today).

Data: PTB-XL 1.0.3 (Wagner P et al., Sci Data 7:154, 2020), PhysioNet (Goldberger AL
et al., Circulation 101(23):e215-e220, 2000); CC BY 4.0.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
from dataclasses import dataclass
from pathlib import Path

from bench.common import data_dir
from ecg import read_recording
from ecg.analyze import analyze_detail
from ecg.measure import MeasureDetail, MedianBeat
from ecg.repolarization import repolarization_findings

REPOL = {"STE", "STD", "TWI", "NSSTT", "JUVT", "ERP", "STT2"}
INJURY = {"INJAS", "INJAL", "INJIN", "INJLA", "INJIL"}
MI = {"IMI", "ASMI", "AMI", "ALMI", "LMI", "ILMI", "IPMI", "IPLMI", "PMI"}
ACUTE_STADIUM = {"Stadium I", "Stadium I-II", "Stadium II"}
ISC = {"ISC_", "ISCAL", "ISCAS", "ISCIL", "ISCIN", "ISCLA", "ISCAN"}
STT_CALLS = {"STD", "TWI", "NSSTT", "STT2"}
# class -> (our codes that count as the call, PTB-XL codes that make the truth)
CLASSES: dict[str, tuple[set[str], set[str]]] = {
    "STD": ({"STD"}, {"STD_"} | ISC),
    "STD or secondary": ({"STD", "STT2"}, {"STD_"} | ISC),
    "TWI": ({"TWI"}, {"INVT", "NT_"} | ISC),
    "TWI vs INVT only": ({"TWI"}, {"INVT"}),
    "any ST-T": (STT_CALLS, {"STD_", "INVT", "NT_", "NST_", "LOWT", "NDT"} | ISC),
}


@dataclass
class Case:
    """One record's truth and our repolarisation calls (code -> severity)."""

    record: str
    age_years: int | None
    scp: dict[str, float]
    stadium: str
    calls: dict[str, str]


def _scp(text: str) -> dict[str, float]:
    return {c.split("=")[0]: float(c.split("=")[1]) for c in text.split()}


def _state(case: Case, codes: set[str]) -> bool | None:
    vals = [v for c, v in case.scp.items() if c in codes]
    if any(v == 0 or v >= 50 for v in vals):
        return True
    return None if vals else False


def acute_mi(case: Case) -> bool | None:
    """INJ* codes, or an MI code with an acute infarction stadium."""
    t = _state(case, INJURY)
    return True if not t and case.stadium in ACUTE_STADIUM and MI & case.scp.keys() else t


def shifted(d: MeasureDetail, shift_ms: float) -> MeasureDetail:
    """``d`` with the median beat's QRS offset (J point) moved by ``shift_ms``."""
    mb = d.median
    if mb is None or mb.fiducials.qrs_off is None or not shift_ms:
        return d
    f = dataclasses.replace(mb.fiducials, qrs_off=mb.fiducials.qrs_off + round(shift_ms * mb.fs / 1000))
    return dataclasses.replace(d, median=MedianBeat(mb.beat, mb.fs, mb.leads, mb.r_index, mb.n_beats, f))


def analyse(root: Path, shift_ms: float) -> list[Case]:
    """Every record end to end; the repolarisation stage re-run on the (shifted) detail."""
    cases = []
    with open(root / "labels.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            age = int(row["age_years"]) if row["age_years"] else None
            age = 90 if age == 300 else age
            sex = {"Male": "M", "Female": "F"}.get(row["sex"])
            days = None if age is None else int(age * 365.25)
            res = analyze_detail(read_recording(root / f"{row['record']}.hea"), age_days=days, sex=sex)
            context = frozenset(f.code for f in res.analysis.findings if f.code not in REPOL | {"NORM"})
            found = ([] if res.detail is None or not res.detail.consistent
                     else repolarization_findings(shifted(res.detail, shift_ms), days, sex, context))
            cases.append(Case(row["record"], age, _scp(row["scp_codes"]), row["infarction_stadium1"],
                              {f.code: f.severity for f in found}))
    return cases


def _pct(n: int, d: int) -> str:
    return f"{100.0 * n / d:.1f} % ({n}/{d})" if d else "n/a"


def score(cases: list[Case], truth, called) -> tuple[str, list[str], list[str]]:
    """Se / Sp / PPV text, missed and false records."""
    tp = fp = fn = tn = 0
    missed, false = [], []
    for c in cases:
        t = truth(c)
        if t is None:
            continue
        k = called(c)
        tp, fn, fp, tn = tp + (t and k), fn + (t and not k), fp + (k and not t), tn + (not t and not k)
        (missed if t and not k else false if k and not t else []).append(c.record)
    return f"Se {_pct(tp, tp + fn)}, Sp {_pct(tn, tn + fp)}, PPV {_pct(tp, tp + fp)}", missed, false


def figures(cases: list[Case], verbose: bool) -> dict[str, str]:
    """Every figure of the module doc."""
    norm = [c for c in cases if c.scp.get("NORM", 0) >= 100]
    out = {"normal: count": str(len(norm))}
    for code in ("STE", "STD", "TWI", "NSSTT", "STT2", "ERP", "JUVT"):
        out[f"normal: {code}"] = _pct(sum(code in c.calls for c in norm), len(norm))
    out["normal: STE critical"] = _pct(sum(c.calls.get("STE") == "critical" for c in norm), len(norm))
    rows = [("acute MI -> STE", acute_mi, lambda c: "STE" in c.calls),
            ("acute MI -> STE critical", acute_mi, lambda c: c.calls.get("STE") == "critical")]
    rows += [(n, (lambda c, t=t: _state(c, t)), (lambda c, o=o: bool(o & c.calls.keys())))
             for n, (o, t) in CLASSES.items()]
    for name, truth, called in rows:
        text, missed, false = score(cases, truth, called)
        out[name] = text + (f"\n      missed {missed}\n      false {false}" if verbose else "")
    return out


def ludb_figures() -> dict[str, str]:
    """LUDB (header diagnoses): STEMI records, early repolarisation records (never STE), and
    ischaemia / non-specific repolarisation lines against the ST-T calls."""
    from bench.intervals import ludb_records

    rows = []
    for rec in ludb_records():
        text = rec.with_suffix(".hea").read_text()
        res = analyze_detail(read_recording(str(rec) + ".hea"))
        calls = {f.code: f.severity for f in res.analysis.findings if f.code in REPOL}
        rows.append((rec.name, text, calls))
    stemi = [(n, c) for n, t, c in rows if "#STEMI" in t]
    erp = [(n, c) for n, t, c in rows if "Early repolarization" in t]

    def isch(t: str) -> bool:
        return any(k in t for k in ("#Ischemia", "#STEMI", "NSTEMI", "Non-specific repolarization"))

    stt = STT_CALLS | {"STE"}
    tp = sum(bool(stt & c.keys()) for _, t, c in rows if isch(t))
    fp = sum(bool(stt & c.keys()) for _, t, c in rows if not isch(t))
    pos = sum(isch(t) for _, t, _ in rows)
    return {"LUDB STEMI records": "; ".join(f"{n}: {' '.join(sorted(c)) or '-'}" for n, c in stemi),
            "LUDB early repol., STE": f"{sum('STE' in c for _, c in erp)}/{len(erp)} "
                                      f"(ERP said {sum('ERP' in c for _, c in erp)})",
            "LUDB ischaemia/repol. lines": f"any ST-T call Se {_pct(tp, pos)}, "
                                           f"PPV {_pct(tp, tp + fp)}"}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--shift-ms", type=float, default=0.0, help="move the J point by this many ms")
    ap.add_argument("--ludb", action="store_true", help="also LUDB's header diagnoses (100 records)")
    a = ap.parse_args(argv)
    cases = analyse(data_dir() / "ptbxl", a.shift_ms)
    print(f"PTB-XL repolarisation statements, {len(cases)} records, J point shifted {a.shift_ms:+.0f} ms")
    for k, v in figures(cases, a.verbose).items():
        print(f"  {k:28s} {v}")
    if a.ludb:
        for k, v in ludb_figures().items():
            print(f"  {k:28s} {v}")


if __name__ == "__main__":
    main()
