"""QRS morphology statements against cardiologists: PTB-XL's SCP codes and LUDB's diagnoses.

Run: ``PYTHONPATH=$PWD .venv/bin/python -m bench.morphology [--dataset ptbxl|ludb|both]
[--records 00001_lr,21] [--verbose]``

Every record is analysed end to end (``ecg.analyze.analyze_detail`` with the age and
sex of the header, as the service does) and the machine's morphology codes are
scored per class: sensitivity (Se), specificity (Sp), positive predictive value
(PPV), with the records missed and falsely called under ``--verbose``.

Truth:

* PTB-XL (``ptbxl/labels.csv``, 100 Hz): a code counts as present with likelihood 0
  or >= 50 %, and a record with only an uncertain (1-49 %) code of a class is left
  out of that class (as ``bench.statements``). Classes: CRBBB, IRBBB, either RBBB,
  CLBBB, ILBBB, a complete BBB named, IVCD, LAFB, LPFB, LVH (the ``LVH`` code; and
  ``LVH or VCLVH`` against LVH or LVH_VOLT), RVH, pathological Q waves (QWAVE or any
  MI code), low voltage (LVOLT; PTB-XL uses it loosely, beside NORM). On the
  cardiologists' normal ECGs (NORM=100): how often each morphology code is said. LAE, RAE
  against LAO/LAE, RAO/RAE.
* LUDB (``ludb/*.hea`` comments, 500 Hz): "Complete/Incomplete right/left bundle
  branch block", "Left anterior hemiblock", "Non-specific intravintricular
  conduction delay". NOT scored on LUDB: voltage statements (LVH, RVH, low
  voltage) -- every LUDB lead here is scaled to exactly 1.0 mV peak to peak over
  the record (``wfdb`` ``p_signal``; the header's per-lead ADC gains differ), so
  absolute amplitudes carry no information there.

The block criteria use the leads' own QRS duration (``ecg.morphology.lead_qrs_ms``),
so these figures do not move with the global QRS duration of ``ecg.measure``.

Data: PTB-XL 1.0.3 (Wagner P et al., Sci Data 7:154, 2020); LUDB 1.0.1 (Kalyakulina
AI et al., IEEE Access 8:186181-186190, 2020); PhysioNet (Goldberger AL et al.,
Circulation 101(23):e215-e220, 2000).
"""

from __future__ import annotations

import argparse
import csv
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import data_dir

MI_CODES = {"IMI", "ASMI", "AMI", "ALMI", "LMI", "ILMI", "IPMI", "IPLMI", "PMI"}
# class -> (our codes that count as the call, truth codes); truth codes are PTB-XL's SCP codes,
# or for LUDB the keys of LUDB_TRUTH.
PTBXL_CLASSES: dict[str, tuple[set[str], set[str]]] = {
    "RBBB": ({"RBBB"}, {"CRBBB"}),
    "IRBBB": ({"IRBBB"}, {"IRBBB"}),
    "RBBB or IRBBB": ({"RBBB", "IRBBB"}, {"CRBBB", "IRBBB"}),
    "LBBB": ({"LBBB"}, {"CLBBB"}),
    "ILBBB": ({"ILBBB"}, {"ILBBB"}),
    "bundle-branch block named": ({"RBBB", "LBBB"}, {"CRBBB", "CLBBB"}),
    "IVCD": ({"IVCD"}, {"IVCD"}),
    "LAFB": ({"LAFB"}, {"LAFB"}),
    "LPFB": ({"LPFB"}, {"LPFB"}),
    "LVH": ({"LVH", "BVH"}, {"LVH"}),
    "LVH or voltage for LVH": ({"LVH", "BVH", "LVH_VOLT"}, {"LVH", "VCLVH"}),
    "RVH": ({"RVH", "BVH"}, {"RVH"}),
    "Q waves (QWAVE or MI)": ({"QWAVE"}, {"QWAVE"} | MI_CODES),
    "low voltage": ({"LOWV"}, {"LVOLT"}),
    "LAE": ({"LAE"}, {"LAO/LAE"}),
    "RAE": ({"RAE"}, {"RAO/RAE"}),
}
LUDB_TRUTH = {
    "CRBBB": "complete right bundle branch block", "IRBBB": "incomplete right bundle branch block",
    "CLBBB": "complete left bundle branch block", "ILBBB": "incomplete left bundle branch block",
    "LAFB": "left anterior hemiblock", "IVCD": "intravintricular conduction delay",
}
LUDB_CLASSES = {k: v for k, v in PTBXL_CLASSES.items() if k in (
    "RBBB", "IRBBB", "RBBB or IRBBB", "LBBB", "ILBBB", "bundle-branch block named", "IVCD", "LAFB")}
MORPH_CODES = ("RBBB", "IRBBB", "LBBB", "ILBBB", "IVCD", "WPW", "LAFB", "LPFB", "LVH", "LVH_VOLT", "RVH", "BVH",
               "RVD_AGE", "QWAVE", "LOWV", "LAE", "RAE")


@dataclass
class Case:
    """One record: its truth (present / uncertain codes) and our codes."""

    dataset: str
    record: str
    truth: set[str]
    uncertain: set[str] = field(default_factory=set)
    normal: bool = False
    codes: set[str] = field(default_factory=set)


def _analyse(path: Path, age_days: int | None, sex: str | None) -> set[str]:
    """Our codes for one record, end to end."""
    from ecg import read_recording
    from ecg.analyze import analyze_detail

    res = analyze_detail(read_recording(path), age_days=age_days, sex=sex)
    return {f.code for f in res.analysis.findings}


def ptbxl_cases(wanted: set[str] | None) -> list[Case]:
    """PTB-XL records with SCP truth (likelihood 0 or >= 50 % present, 1-49 % uncertain)."""
    root = data_dir() / "ptbxl"
    out = []
    with open(root / "labels.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            if wanted and row["record"] not in wanted:
                continue
            scp = {c.split("=")[0]: float(c.split("=")[1]) for c in row["scp_codes"].split()}
            age = int(row["age_years"]) if row["age_years"] else None
            age = 90 if age == 300 else age
            sex = {"Male": "M", "Female": "F"}.get(row["sex"])
            c = Case("ptbxl", row["record"], {k for k, v in scp.items() if v == 0 or v >= 50},
                     {k for k, v in scp.items() if 0 < v < 50}, scp.get("NORM", 0) >= 100)
            c.codes = _analyse(root / f"{row['record']}.hea", None if age is None else int(age * 365.25), sex)
            out.append(c)
    return out


def ludb_cases(wanted: set[str] | None) -> list[Case]:
    """LUDB records with the header diagnoses as truth (age and sex from the header)."""
    root = data_dir() / "ludb"
    out = []
    for hea in sorted(root.glob("*.hea"), key=lambda p: int(p.stem)):
        if wanted and hea.stem not in wanted:
            continue
        text = hea.read_text().lower()
        truth = {k for k, phrase in LUDB_TRUTH.items()
                 if any(phrase in line and not (k[0] == "C" and "incomplete" in line) for line in text.splitlines())}
        c = Case("ludb", hea.stem, truth)
        c.codes = _analyse(hea, None, None)
        out.append(c)
    return out


def _pct(n: int, d: int) -> str:
    return f"{100.0 * n / d:5.1f} % ({n}/{d})" if d else "  n/a"


def score(cases: list[Case], classes: dict[str, tuple[set[str], set[str]]], verbose: bool) -> list[str]:
    """One line per class: Se, Sp, PPV (and the records behind misses and false calls)."""
    lines = []
    for name, (ours, truth) in classes.items():
        tp = fn = fp = tn = 0
        missed, false = [], []
        for c in cases:
            present = bool(c.truth & truth)
            if not present and c.uncertain & truth:
                continue
            called = bool(c.codes & ours)
            tp, fn = tp + (present and called), fn + (present and not called)
            fp, tn = fp + (called and not present), tn + (not called and not present)
            if present and not called:
                missed.append(c.record)
            elif called and not present:
                false.append(c.record)
        line = f"  {name:28s} Se {_pct(tp, tp + fn):16s} Sp {_pct(tn, tn + fp):18s} PPV {_pct(tp, tp + fp)}"
        if verbose:
            line += f"\n      missed {missed}\n      false {false}"
        lines.append(line)
    return lines


def normal_lines(cases: list[Case]) -> list[str]:
    """How often each morphology code is said on the cardiologists' normal ECGs."""
    norm = [c for c in cases if c.normal]
    if not norm:
        return []
    counts = {code: sum(code in c.codes for c in norm) for code in MORPH_CODES}
    said = ", ".join(f"{k} {v}" for k, v in counts.items() if v)
    return [f"  normal ECGs (NORM=100): {len(norm)}; morphology codes said: {said or 'none'}"]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", choices=("ptbxl", "ludb", "both"), default="both")
    ap.add_argument("--records", help="comma-separated record names (default: all)")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    wanted = set(args.records.split(",")) if args.records else None
    if args.dataset in ("ptbxl", "both"):
        cases = ptbxl_cases(wanted)
        print(f"PTB-XL, {len(cases)} records (100 Hz; cardiologists' SCP codes)")
        print("\n".join(score(cases, PTBXL_CLASSES, args.verbose) + normal_lines(cases)))
    if args.dataset in ("ludb", "both"):
        cases = ludb_cases(wanted)
        print(f"LUDB, {len(cases)} records (500 Hz; header diagnoses; voltage classes not scored: amplitudes "
              f"normalised)")
        print("\n".join(score(cases, LUDB_CLASSES, args.verbose)))


if __name__ == "__main__":
    main()
