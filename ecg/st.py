"""ST elevation by the Fourth Universal Definition of Myocardial Infarction (2018).

The ST level is read at the J point (the global QRS offset of the median beat)
against the PR segment (``ecg.measure.st_levels`` with ``point_ms=0``), and
compared per lead with the cited limits in ``ecg/data/interval_criteria.json``
(section ``st_elevation_mv``): 0.1 mV in every lead except V2-V3, where the
limit depends on sex and age (0.2 mV men >= 40 y, 0.25 mV men < 40 y,
0.15 mV women). ST elevation counts only in two anatomically contiguous leads
(V1-V6 in order; limb leads in the Cabrera sequence aVL, I, -aVR, II, aVF, III).

Children: the definition is for adults and no pediatric voltage criteria
exist; ST elevation in adolescents is mostly early repolarisation, so under
18 years the highest adult V2-V3 limit (0.25 mV) applies to both sexes.

``stt_profile`` reads the whole ST-T of each lead of the median beat (levels at J to J + 80 ms,
T extreme, R and S, PR segment against TP) for ``ecg.st_elevation`` and ``ecg.repolarization``;
its elevation reading is the lower of J and J + 20 ms (``LeadSTT.elevation``), robust to a J
point read ~20 ms early or late.

Units: mV, ms, age in days.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


from ecg import criteria as C
from ecg.delineate import Fiducials
from ecg.measure import MeasureDetail, MedianBeat, st_levels

FORTY_YEARS_DAYS = C.years_to_days(40)


def j_point_levels(d: MeasureDetail) -> dict[str, float]:
    """ST level (mV) per lead at the J point of the median beat; {} without QRS boundaries."""
    mb = d.median
    if mb is None:
        return {}
    return st_levels(mb.beat, mb.fs, mb.leads, mb.fiducials, 0.0)


def v2_v3_limit(age_days: int | None, sex: str | None) -> tuple[float, str]:
    """ST-elevation limit (mV) in V2-V3 for age and sex, with the group name for evidence."""
    lim = C.interval_section("st_elevation_mv")["v2_v3_mv"]
    if age_days is not None and age_days < C.ADULT_DAYS:
        return float(lim["under_18_years"]), "under 18 years"
    if sex == "M":
        if age_days is not None and age_days < FORTY_YEARS_DAYS:
            return float(lim["male_under_40"]), "men under 40"
        known = "" if age_days is not None else " (age unknown)"
        return float(lim["male_40_and_over"]), "men 40 and over" + known
    return float(lim["female"]), "women" if sex == "F" else "women (sex unknown: most sensitive)"


def lead_level(levels: dict[str, float], lead: str) -> float | None:
    """Level of ``lead`` (mV); "-aVR" is the inverted aVR of the Cabrera sequence."""
    if lead.startswith("-"):
        v = levels.get(lead[1:])
        return None if v is None else -v
    return levels.get(lead)


def pair_margins(levels: dict[str, float], age_days: int | None,
                 sex: str | None) -> list[tuple[str, float, str, float, float]]:
    """(lead a, level a, lead b, level b, margin) per contiguous pair with both leads present;
    margin = min over the pair of (level - the lead's limit), mV: >= 0 means both reach it."""
    s = C.interval_section("st_elevation_mv")
    v23, _ = v2_v3_limit(age_days, sex)
    out = []
    for a, b in s["limb_contiguous"] + s["precordial_contiguous"]:
        va, vb = lead_level(levels, a), lead_level(levels, b)
        if va is None or vb is None:
            continue
        la = v23 if a in s["v2_v3_leads"] else s["other_leads_mv"]
        lb = v23 if b in s["v2_v3_leads"] else s["other_leads_mv"]
        out.append((a, va, b, vb, round(min(va - la, vb - lb), 4)))
    return out


def contiguous_elevations(levels: dict[str, float], age_days: int | None,
                          sex: str | None) -> list[str]:
    """Texts of the contiguous lead pairs whose ST levels both reach their limits (empty: no STE)."""
    return [f"{a} {va:+.2f}/{b} {vb:+.2f} mV" for a, va, b, vb, m in pair_margins(levels, age_days, sex)
            if m >= 0]


def elevated_leads(levels: dict[str, float], age_days: int | None, sex: str | None) -> set[str]:
    """Leads (aVR for "-aVR") taking part in a contiguous pair that reaches the limits."""
    return {ld.lstrip("-") for a, _, b, _, m in pair_margins(levels, age_days, sex) if m >= 0
            for ld in (a, b)}


def reciprocal_depressions(levels: dict[str, float], elevated: set[str]) -> list[str]:
    """Leads outside ``elevated`` (and not aVR) with J-point ST depression beyond the cited
    limit (``child_reciprocal_depression_mv``), as evidence texts."""
    lim = C.interval_section("st_elevation_mv")["child_reciprocal_depression_mv"]
    return [f"{ld} {v:+.2f} mV" for ld, v in levels.items()
            if ld not in elevated and ld != "aVR" and v <= -lim]


def best_margin(levels: dict[str, float], age_days: int | None, sex: str | None) -> float:
    """Largest pair margin (mV; -inf without pairs): how far a record is from the criterion."""
    return max((m for *_, m in pair_margins(levels, age_days, sex)), default=float("-inf"))


# ---------------------------------------------------------------- per-lead ST-T profile

PROFILE_OFFSETS_MS = (0, 20, 40, 60, 80)


@dataclass(frozen=True)
class LeadSTT:
    """ST-T and QRS amplitudes of one lead of the median beat, mV against the PR baseline.

    ``st[k]`` is the level at J + k ms (k in ``PROFILE_OFFSETS_MS``); ``t_mv`` the signed
    T-wave extreme (its larger excursion from the baseline); ``r_mv`` / ``s_mv`` the most
    positive / most negative QRS deflection (``s_mv`` <= 0); ``pr_mv`` the PR segment
    against the TP segment before the P wave (negative: PR depression; None when there is
    no TP segment in the beat window)."""

    st: dict[int, float]
    t_mv: float
    r_mv: float
    s_mv: float
    pr_mv: float | None
    point_ms: int = 60

    @property
    def depression_level(self) -> float:
        """ST level (mV) at the depression point: J + 60 ms, J + 40 ms when the RR is under
        500 ms (``MeasureDetail.st_point_ms``: at fast rates J + 60 ms reaches the T wave)."""
        return self.st[self.point_ms]

    @property
    def qrs_net_mv(self) -> float:
        """R + S (mV): > 0 a predominantly positive QRS, < 0 predominantly negative."""
        return self.r_mv + self.s_mv

    def elevation(self) -> float:
        """ST level for elevation (mV): the lower of the levels at J and J + 20 ms.

        At J as the 4th Universal Definition prescribes; the J + 20 ms reading keeps a J
        point read early (on a terminal R wave) from counting as elevation. In a flat or
        convex ST segment (injury current) both agree; on an upsloping normal ST the
        J reading is the lower one."""
        return min(self.st[k] for k in C.load_table("repolarization_criteria")["st_reading"]["elevation_offsets_ms"])

    def depression(self) -> float:
        """ST level for reciprocal depression (mV): the higher of the levels at J and
        J + 20 ms (a J point read early, on an S wave, does not count as depression)."""
        return max(self.st[k] for k in C.load_table("repolarization_criteria")["st_reading"]["elevation_offsets_ms"])

    def slope_mv_s(self) -> float:
        """ST slope from J + 20 ms to 20 ms past the depression point (mV/s): < 1 horizontal
        or downsloping."""
        end = min(80, self.point_ms + 20)
        return (self.st[end] - self.st[20]) * 1000.0 / (end - 20)


def _mean_at(beat: npt.NDArray[np.float64], i: int, half: int) -> npt.NDArray[np.float64]:
    level: npt.NDArray[np.float64] = beat[max(0, i - half):i + half + 1].mean(axis=0)
    return level


MAX_LEAD_J_DELAY_MS = 60.0  # a lead's own J point at most this far after the global one


def lead_j_points(mb: MedianBeat, max_delay: int) -> np.ndarray:
    """Each lead's J point (samples): its own QRS offset where delineated, never before the global
    one nor more than ``max_delay`` samples after it; the global J elsewhere.

    The global QRS offset is a vote that ends when a quarter of the leads have ended (the
    commercial convention for the QRS duration), so in the other leads it can fall inside the
    QRS (a QS complex's upstroke). ST is read where the clinician reads it: at each lead's own J.
    """
    if mb.fiducials.qrs_off is None:
        raise ValueError("each lead's J point needs the global QRS offset")
    g = int(mb.fiducials.qrs_off)
    lf = mb.lead_fiducials
    if lf is None:
        return np.full(mb.beat.shape[1], g)
    own = np.where(np.isfinite(lf.qrs_off), np.round(lf.qrs_off), g)
    return np.clip(own, g, g + max_delay).astype(int)


def stt_profile(d: MeasureDetail) -> dict[str, LeadSTT]:
    """Per-lead ST-T profile of the median beat ({} without QRS boundaries or room for
    J + 80 ms). Baseline: the 10 ms mean of the PR segment ending 5 ms before QRS onset,
    as ``ecg.measure.st_levels``; T searched from J + 80 ms to the T end (or J + 400 ms)."""
    mb = d.median
    f = mb.fiducials if mb is not None else None
    if mb is None or f is None or f.qrs_on is None or f.qrs_off is None:
        return {}
    fs, beat = mb.fs, mb.beat
    def ms(v: float) -> int:
        return round(v * fs / 1000.0)

    half = max(1, ms(5))
    b1 = f.qrs_on - ms(5)
    j = lead_j_points(mb, ms(MAX_LEAD_J_DELAY_MS))
    if b1 - 2 * half < 0 or int(j.max()) + ms(80) + half >= len(beat):
        return {}
    base = beat[b1 - 2 * half:b1].mean(axis=0)
    cols = np.arange(beat.shape[1])
    st = {k: np.array([beat[max(0, ji + ms(k) - half):ji + ms(k) + half + 1, c].mean() for c, ji in zip(cols, j)])
          - base for k in PROFILE_OFFSETS_MS}
    t_lo = f.qrs_off + ms(80)
    t_hi = min(len(beat), f.t_end if f.t_end is not None and f.t_end > t_lo + 2 else f.qrs_off + ms(400))
    tw = beat[t_lo:t_hi] - base
    t_ext = np.where(tw.max(axis=0) >= -tw.min(axis=0), tw.max(axis=0), tw.min(axis=0))
    qrs = beat[f.qrs_on:f.qrs_off + 1] - base
    pr = _pr_segment(beat, fs, f, base)
    pts = C.load_table("repolarization_criteria")["st_reading"]["depression_point_ms"]
    rr = d.measurements.rr_ms
    point = int(pts["rr_under_500_ms"] if rr is not None and rr < 500.0 else pts["rr_500_ms_and_over"])
    return {name: LeadSTT({k: round(float(v[i]), 3) for k, v in st.items()}, round(float(t_ext[i]), 3),
                          round(float(qrs[:, i].max()), 3), round(float(min(0.0, qrs[:, i].min())), 3),
                          None if pr is None else round(float(pr[i]), 3), point)
            for i, name in enumerate(mb.leads)}


def _pr_segment(beat: npt.NDArray[np.float64], fs: float, f: Fiducials, base: npt.NDArray[np.float64]
                ) -> npt.NDArray[np.float64] | None:
    """PR-segment level minus the TP level (mean of the 20 ms before P onset), per lead (mV);
    None without a P onset or without 20 ms of TP segment in the beat window."""
    if f.p_on is None:
        return None
    n = round(0.02 * fs)
    if f.p_on - n < 0 or n < 1:
        return None
    level: npt.NDArray[np.float64] = beat[f.p_on - n:f.p_on].mean(axis=0)
    return base - level


def signed(profile: dict[str, LeadSTT], lead: str) -> LeadSTT | None:
    """The profile of ``lead``; "-aVR" is aVR inverted (Cabrera sequence)."""
    if not lead.startswith("-"):
        return profile.get(lead)
    p = profile.get(lead[1:])
    if p is None:
        return None
    return LeadSTT({k: -v for k, v in p.st.items()}, -p.t_mv, -p.s_mv, -p.r_mv,
                   None if p.pr_mv is None else -p.pr_mv, p.point_ms)


def contiguous_runs(hits: set[str]) -> list[tuple[str, str]]:
    """The anatomically contiguous lead pairs (``st_elevation_mv`` sequences: V1-V6, and
    aVL, I, -aVR, II, aVF, III) with both leads in ``hits`` ("-aVR" spelled so)."""
    s = C.interval_section("st_elevation_mv")
    return [(a, b) for a, b in s["limb_contiguous"] + s["precordial_contiguous"] if a in hits and b in hits]
