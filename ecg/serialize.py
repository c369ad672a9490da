"""Analysis <-> JSON-ready dict (the service stores the dict and rebuilds the Analysis).

Keys (exactly): fs, r_peaks, heart_rate_bpm, intervals_ms {pr, qrs, qt,
qtc_bazett, qtc_fridericia, p, rr}, axes_deg {p, qrs, t}, quality {verdict,
leads [{lead, verdict, reasons, issues}], reasons, issues}, findings [{code,
text, severity, evidence, text_zh, evidence_zh}], priority, pipeline_version, missing {field: reason}.
Values are plain Python numbers/strings/lists (``json.dumps`` works); absent
values are None. ``intervals_ms.p`` is present only when the P duration was
measured. ``issues`` are [{code, lead, params, text}] (see ``QualityIssue``);
``issues[i].text == reasons[i]``. Dicts stored before issues existed have no
``issues`` keys and are read back with empty issues.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ecg.types import Analysis, Finding, LeadQuality, Measurements, Quality, QualityIssue

_INTERVALS = {"pr": "pr_ms", "qrs": "qrs_ms", "qt": "qt_ms", "qtc_bazett": "qtc_bazett_ms",
              "qtc_fridericia": "qtc_fridericia_ms", "p": "p_ms", "rr": "rr_ms"}
_AXES = {"p": "p_axis_deg", "qrs": "qrs_axis_deg", "t": "t_axis_deg"}


def _num(v: float | None) -> float | None:
    return None if v is None else float(v)


def _plain(v: Any) -> Any:
    """``v`` with tuples as lists and numpy scalars as Python numbers (what JSON gives back)."""
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v.item() if isinstance(v, np.generic) else v


def _issues_to_list(issues: tuple[QualityIssue, ...]) -> list[dict[str, Any]]:
    """QualityIssues as [{code, lead, params, text}]."""
    return [{"code": i.code, "lead": i.lead, "params": _plain(i.params), "text": i.text} for i in issues]


def _issues_from_list(items: list[dict[str, Any]] | None) -> tuple[QualityIssue, ...]:
    """Inverse of ``_issues_to_list``; None (a dict stored before issues existed) gives ()."""
    return tuple(QualityIssue(x["code"], x.get("lead"), dict(x.get("params") or {}), x.get("text", ""))
                 for x in items or [])


def analysis_to_dict(analysis: Analysis) -> dict[str, Any]:
    """JSON-ready dict of an Analysis (see module doc for the keys)."""
    m = analysis.measurements
    intervals = {k: _num(getattr(m, f)) for k, f in _INTERVALS.items()}
    if intervals["p"] is None:
        del intervals["p"]
    q = analysis.quality
    return {
        "fs": float(analysis.fs),
        "r_peaks": [int(i) for i in np.asarray(analysis.r_peaks).ravel()],
        "heart_rate_bpm": _num(m.heart_rate_bpm),
        "intervals_ms": intervals,
        "axes_deg": {k: _num(getattr(m, f)) for k, f in _AXES.items()},
        "quality": {
            "verdict": q.verdict,
            "leads": [{"lead": lq.lead, "verdict": lq.verdict, "reasons": list(lq.reasons),
                       "issues": _issues_to_list(lq.issues)} for lq in q.leads],
            "reasons": list(q.reasons),
            "issues": _issues_to_list(q.issues),
        },
        "findings": [{"code": f.code, "text": f.text, "severity": f.severity, "evidence": f.evidence,
                      "text_zh": f.text_zh, "evidence_zh": f.evidence_zh} for f in analysis.findings],
        "priority": analysis.priority,
        "pipeline_version": analysis.pipeline_version,
        "missing": dict(m.missing),
    }


def analysis_from_dict(d: dict[str, Any]) -> Analysis:
    """Rebuild the Analysis stored by ``analysis_to_dict`` (round trip)."""
    iv, ax = d["intervals_ms"], d["axes_deg"]
    fields = {f: iv.get(k) for k, f in _INTERVALS.items()}
    fields.update({f: ax.get(k) for k, f in _AXES.items()})
    m = Measurements(heart_rate_bpm=d.get("heart_rate_bpm"), missing=dict(d.get("missing", {})), **fields)
    q = d["quality"]
    leads = tuple(LeadQuality(x["lead"], x["verdict"], tuple(x["reasons"]), _issues_from_list(x.get("issues")))
                  for x in q["leads"])
    quality = Quality(q["verdict"], leads, tuple(q["reasons"]), _issues_from_list(q.get("issues")))
    findings = tuple(Finding(f["code"], f["text"], f["severity"], f.get("evidence", ""),
                             f.get("text_zh", ""), f.get("evidence_zh", "")) for f in d["findings"])
    return Analysis(pipeline_version=d["pipeline_version"], fs=float(d["fs"]), quality=quality,
                    r_peaks=np.asarray(d["r_peaks"], dtype=np.int64), measurements=m,
                    findings=findings, priority=d["priority"])
