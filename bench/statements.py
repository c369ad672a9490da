"""Machine statements against PTB-XL's cardiologists, and global intervals against GE 12SL.

Run: ``./dev bench-statements`` (= ``.venv/bin/python -m bench.statements``), options
``--records 00001_lr,00003_lr`` (a subset), ``--json FILE`` (every figure and every
record's calls), ``--verbose`` (the records behind each miss and false call).

Every PTB-XL record in ``../shared/data/ptbxl`` (10 s, 12 leads, 100 Hz) is analysed
end to end (``ecg.analyze.analyze_recording`` with the header's age and sex, as the
service does) and scored against ``labels.csv``:

* truth per class from the SCP codes, where a code counts as present with likelihood
  0 (PTB-XL's convention for rhythm and some form codes) or >= 50 %, and as uncertain
  (left out of that class's score) between 1 and 49 %;
* the cardiologists' normal ECGs are the records with ``NORM=100``; on them: the
  share called wide QRS (WQRS or a bundle-branch/IVCD statement), long QTc, ST
  elevation, urgent or stat, and NORM; median QRS and QTc (Bazett);
* Se / Sp / PPV per class (``CLASSES``: our codes that count as a call, and the
  PTB-XL codes that make the truth);
* "major abnormality" (``MAJOR``): NORM said on any of these is the worst error;
* fast AF / flutter (ventricular rate > 100/min by our measurement): how many were
  called sinus, and how many went out routine;
* ``ge_12sl_measurements.csv`` (GE Marquette 12SL, PTB-XL+): our PR, QRS, QT minus
  12SL's on the records here, mean and SD (ms);
* CPU seconds of analysis per record (``time.process_time``, the process's own
  accounting; the records are read before the clock starts).

Goals printed beside each figure are those of issue 15; the same figures are
measured on held-out records of the same kinds, so nothing here is tuned per record.

Data: PTB-XL 1.0.3 (Wagner P et al., Sci Data 7:154, 2020) and PTB-XL+ 1.0.1
(Strodthoff N et al., Sci Data 10:279, 2023), PhysioNet (Goldberger AL et al.,
Circulation 101(23):e215-e220, 2000); CC BY 4.0.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from bench.common import data_dir
from ecg import read_recording
from ecg.analyze import analyze_recording

WIDE = {"WQRS", "RBBB", "LBBB", "IVCD", "WCT"}
# class -> (our codes that count as the call, PTB-XL codes that make the truth)
CLASSES: dict[str, tuple[set[str], set[str]]] = {
    "AF": ({"AFIB"}, {"AFIB"}),
    "flutter": ({"AFLT"}, {"AFLT"}),
    "AF or flutter": ({"AFIB", "AFLT"}, {"AFIB", "AFLT"}),
    "sinus tachycardia": ({"STACH"}, {"STACH"}),
    "sinus bradycardia": ({"SBRAD"}, {"SBRAD"}),
    # PTB-XL's cardiologists wrote a PR above 200 ms either as the rhythm statement 1AVB or as
    # the form statement LPR ("prolonged PR interval"): the same observation our AVB1 states
    "1st-degree AV block": ({"AVB1"}, {"1AVB", "LPR"}),
    "RBBB": ({"RBBB"}, {"CRBBB"}),
    "LBBB": ({"LBBB"}, {"CLBBB"}),
    "bundle-branch block": ({"RBBB", "LBBB"}, {"CRBBB", "CLBBB"}),
    "LAFB": ({"LAFB"}, {"LAFB"}),
    "LVH": ({"LVH"}, {"LVH"}),
    "paced": ({"PACED"}, {"PACE"}),
    "acute MI -> STE": ({"STE"}, {"INJAS", "INJAL", "INJIN", "INJLA", "INJIL"}),
    "PVC": ({"PVC"}, {"PVC"}),
}
ACUTE_STADIUM = {"Stadium I", "Stadium I-II", "Stadium II"}
MI_CODES = {"IMI", "ASMI", "AMI", "ALMI", "LMI", "ILMI", "IPMI", "IPLMI", "PMI"}
MAJOR = ({"AFIB", "AFLT", "CLBBB", "CRBBB", "1AVB", "2AVB", "3AVB", "WPW", "PACE", "LVH", "LNGQT", "SVTAC",
          "PSVT", "INJAS", "INJAL", "INJIN", "INJLA", "INJIL"} | MI_CODES)
GOALS = {
    "normal: wide QRS": "<= 3 %", "normal: long QTc": "<= 3 %", "normal: STE": "<= 1 %",
    "normal: urgent or stat": "<= 5 %", "normal: NORM said": ">= 70 %",
    "normal: median QRS ms": "88-102", "normal: median QTc Bazett ms": "400-430",
    "NORM on a major abnormality": "<= 2 %",
    "AF": "Se >= 95, Sp >= 99, PPV >= 90", "flutter": "flutter or AF >= 80 %, never sinus",
    "bundle-branch block": "named >= 85 %", "1st-degree AV block": "Se >= 85",
    "paced": "Se >= 80", "acute MI -> STE": "Se >= 80, PPV >= 30",
    "12SL PR": "mean/SD within 10/10", "12SL QRS": "within 6/10", "12SL QT": "within 12/30",
    "CPU per record": "< 50 ms at 500 Hz",
}


@dataclass
class Case:
    """One record's truth and our output."""

    record: str
    age_years: int | None
    sex: str | None
    scp: dict[str, float]
    stadium: str
    codes: list[str] = field(default_factory=list)
    priority: str = ""
    hr: float | None = None
    pr: float | None = None
    qrs: float | None = None
    qt: float | None = None
    qtc: float | None = None
    cpu_s: float = 0.0


def _scp(text: str) -> dict[str, float]:
    return {c.split("=")[0]: float(c.split("=")[1]) for c in text.split()}


def _state(case: Case, truth_codes: set[str]) -> bool | None:
    """True/False/None (uncertain) for a class from the SCP likelihoods."""
    vals = [v for c, v in case.scp.items() if c in truth_codes]
    if any(v == 0 or v >= 50 for v in vals):
        return True
    return None if vals else False


def _truth(case: Case, name: str, truth_codes: set[str]) -> bool | None:
    t = _state(case, truth_codes)
    if name == "acute MI -> STE" and not t and case.stadium in ACUTE_STADIUM and MI_CODES & case.scp.keys():
        return True
    return t


def analyse(root: Path, wanted: set[str] | None) -> list[Case]:
    """Every labelled record analysed end to end with the header's age and sex."""
    cases = []
    with open(root / "labels.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            if wanted and row["record"] not in wanted:
                continue
            age = int(row["age_years"]) if row["age_years"] else None
            age = 90 if age == 300 else age  # PTB-XL codes ages over 89 as 300
            sex = {"Male": "M", "Female": "F"}.get(row["sex"])
            c = Case(row["record"], age, sex, _scp(row["scp_codes"]), row["infarction_stadium1"])
            rec = read_recording(root / f"{row['record']}.hea")
            t0 = time.process_time()
            a = analyze_recording(rec, age_days=None if age is None else int(age * 365.25), sex=sex)
            c.cpu_s = time.process_time() - t0
            m = a.measurements
            c.codes, c.priority = [f.code for f in a.findings], a.priority
            c.hr, c.pr, c.qrs, c.qt, c.qtc = m.heart_rate_bpm, m.pr_ms, m.qrs_ms, m.qt_ms, m.qtc_bazett_ms
            cases.append(c)
    return cases


def _pct(n: int, d: int) -> str:
    return f"{100.0 * n / d:.1f} % ({n}/{d})" if d else "n/a"


def normal_figures(cases: list[Case]) -> dict[str, str]:
    """Rates on the cardiologists' normal ECGs (NORM=100)."""
    norm = [c for c in cases if c.scp.get("NORM", 0) >= 100]
    n = len(norm)
    count = lambda pred: sum(1 for c in norm if pred(c))
    qrs = [c.qrs for c in norm if c.qrs is not None]
    qtc = [c.qtc for c in norm if c.qtc is not None]
    return {
        "normal: count": str(n),
        "normal: wide QRS": _pct(count(lambda c: bool(WIDE & set(c.codes))), n),
        "normal: long QTc": _pct(count(lambda c: "LQTC" in c.codes), n),
        "normal: STE": _pct(count(lambda c: "STE" in c.codes), n),
        "normal: urgent or stat": _pct(count(lambda c: c.priority in ("urgent", "stat")), n),
        "normal: stat": _pct(count(lambda c: c.priority == "stat"), n),
        "normal: NORM said": _pct(count(lambda c: "NORM" in c.codes), n),
        "normal: median QRS ms": f"{statistics.median(qrs):.0f} (measured {len(qrs)}/{n})" if qrs else "n/a",
        "normal: median QTc Bazett ms": f"{statistics.median(qtc):.0f} (measured {len(qtc)}/{n})" if qtc else "n/a",
    }


def class_figures(cases: list[Case], verbose: bool) -> dict[str, str]:
    """Se / Sp / PPV per class (uncertain truth left out)."""
    out = {}
    for name, (ours, truth_codes) in CLASSES.items():
        tp = fp = fn = tn = 0
        missed, false = [], []
        for c in cases:
            t = _truth(c, name, truth_codes)
            if t is None:
                continue
            called = bool(ours & set(c.codes))
            tp += t and called
            fn += t and not called
            fp += (not t) and called
            tn += (not t) and not called
            (missed if t and not called else false if called and not t else []).append(c.record)
        text = f"Se {_pct(tp, tp + fn)}, Sp {_pct(tn, tn + fp)}, PPV {_pct(tp, tp + fp)}"
        if verbose:
            text += f"\n      missed {missed}\n      false {false}"
        out[name] = text
    return out


def safety_figures(cases: list[Case]) -> dict[str, str]:
    """NORM on major abnormalities; flutter and fast AF called sinus or sent routine."""
    major = [c for c in cases if any(_state(c, {code}) for code in MAJOR)]
    flut = [c for c in cases if _state(c, {"AFLT"})]
    fast = [c for c in cases if _state(c, {"AFIB", "AFLT"}) and (c.hr or 0) > 100]
    sinus = {"SR", "STACH", "SBRAD"}
    return {
        "NORM on a major abnormality": _pct(sum("NORM" in c.codes for c in major), len(major)),
        "flutter called flutter or AF": _pct(sum(bool({"AFLT", "AFIB"} & set(c.codes)) for c in flut), len(flut)),
        "flutter called sinus": _pct(sum(bool(sinus & set(c.codes)) for c in flut), len(flut)),
        "fast AF/flutter called sinus": _pct(sum(bool(sinus & set(c.codes)) for c in fast), len(fast)),
        "fast AF/flutter routine": _pct(sum(c.priority == "routine" for c in fast), len(fast)),
    }


def ge_figures(cases: list[Case], root: Path) -> dict[str, str]:
    """Our global PR/QRS/QT minus GE 12SL's (ms): mean and SD, and how many were measured."""
    by_id = {int(c.record.split("_")[0]): c for c in cases}
    diffs: dict[str, list[float]] = {"PR": [], "QRS": [], "QT": []}
    with open(root / "ge_12sl_measurements.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if int(r["ecg_id"]) in by_id]
    for r in rows:
        c = by_id[int(r["ecg_id"])]
        for key, ours, col in (("PR", c.pr, "PR_Int_Global"), ("QRS", c.qrs, "QRS_Dur_Global"),
                               ("QT", c.qt, "QT_Int_Global")):
            if ours is not None and r[col]:
                diffs[key].append(ours - float(r[col]))
    out = {}
    for key, d in diffs.items():
        out[f"12SL {key}"] = (f"{np.mean(d):+.1f} / {np.std(d, ddof=1) if len(d) > 1 else 0:.1f} ms "
                              f"(n={len(d)} of {len(rows)})") if d else "n/a"
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", help="comma-separated record names (default: all)")
    ap.add_argument("--json", type=Path, help="write figures and per-record calls here")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    root = data_dir() / "ptbxl"
    cases = analyse(root, set(args.records.split(",")) if args.records else None)
    figures: dict[str, str] = {}
    figures |= normal_figures(cases)
    figures |= safety_figures(cases)
    figures |= class_figures(cases, args.verbose)
    figures |= ge_figures(cases, root)
    cpu = [c.cpu_s for c in cases]
    figures["CPU per record"] = f"median {1000 * np.median(cpu):.1f} ms, max {1000 * max(cpu):.1f} ms (100 Hz records)"
    print(f"PTB-XL statements, {len(cases)} records (cardiologists' SCP codes; 12SL from PTB-XL+)")
    for k, v in figures.items():
        goal = GOALS.get(k, "")
        print(f"  {k:32s} {v}" + (f"   [goal {goal}]" if goal else ""))
    if args.json:
        args.json.write_text(json.dumps({"figures": figures, "records": [asdict(c) for c in cases]}, indent=1))


if __name__ == "__main__":
    main()
