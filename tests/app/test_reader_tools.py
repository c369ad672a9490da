"""The reader's measuring tools through the API, on SQLite and PostgreSQL: the per-lead R/S/ST
table against a synthetic 12-lead ECG whose amplitudes are known by construction, the filter
choices of the waveform, and an overwritten axis recorded as edited."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import wfdb

from tests.app.factories import patient_form, upload, wait_for_status, wfdb_files

FS = 500.0
LEADS = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
#: What the synthetic beats are built from (mV against the PR baseline): R height, S depth, ST level.
R_MV = [0.6, 1.2, 0.6, 0.3, 0.4, 0.9, 0.3, 0.7, 1.0, 1.5, 1.4, 1.1]
S_MV = [0.2, 0.3, 0.25, 0.8, 0.3, 0.2, 1.2, 1.4, 0.9, 0.5, 0.3, 0.2]
ST_MV = [0.0, 0.1, 0.1, -0.05, -0.05, 0.1, 0.05, 0.15, 0.15, 0.1, 0.05, 0.0]


def _gauss(t: np.ndarray, centre_ms: float, sd_ms: float) -> np.ndarray:
    return np.exp(-0.5 * ((t - centre_ms) / sd_ms) ** 2)


def _plateau(t: np.ndarray, start_ms: float, end_ms: float, ramp_ms: float) -> np.ndarray:
    """1 from start to end (ms) with raised-cosine ramps of ``ramp_ms``, 0 elsewhere."""
    edge = np.minimum(np.clip((t - start_ms) / ramp_ms, 0, 1), np.clip((end_ms - t) / ramp_ms, 0, 1))
    return 0.5 - 0.5 * np.cos(np.pi * edge)


def synthetic_ecg(r_mv: list[float] = R_MV, seconds: float = 10.0, rr_s: float = 0.8) -> np.ndarray:
    """(samples, 12) mV at 500 Hz: per beat a P wave, an R (Gaussian, sd 12 ms) then an S 40 ms
    later (sd 10 ms), an ST plateau of ST_MV from 60 to 260 ms after R, and a T wave at 330 ms.
    The waves are far enough apart (> 3 sd) that each peak is its own amplitude to < 0.5 %."""
    t = np.arange(int(seconds * FS)) / FS
    x = np.zeros((len(t), len(LEADS)))
    for r_at in np.arange(0.4, seconds - 0.5, rr_s):
        ms = (t - r_at) * 1000.0
        for i in range(len(LEADS)):
            t_wave = 0.25 if r_mv[i] > S_MV[i] else -0.1
            x[:, i] += (0.12 * _gauss(ms, -160, 20) + r_mv[i] * _gauss(ms, 0, 12) - S_MV[i] * _gauss(ms, 40, 10)
                        + ST_MV[i] * _plateau(ms, 60, 260, 20) + t_wave * _gauss(ms, 330, 45))
    return x


def _synthetic_files(tmp: Path, r_mv: list[float] = R_MV) -> list:
    wfdb.wrsamp("synth", fs=FS, units=["mV"] * 12, sig_name=LEADS, p_signal=synthetic_ecg(r_mv),
                fmt=["16"] * 12, adc_gain=[1000.0] * 12, baseline=[0] * 12, write_dir=str(tmp))
    return wfdb_files(tmp, "synth")


@pytest.fixture
def synthetic_study(world, tmp_path) -> str:
    sid = upload(world.client, world.a.auth, _synthetic_files(tmp_path), form=patient_form(patient_id="SYN")).json()["id"]
    assert wait_for_status(world.client, world.a.auth, sid)["status"] == "awaiting_read"
    return sid


def test_lead_table_gives_the_built_in_amplitudes(world, synthetic_study):
    bundle = world.client.get(f"/api/v1/reader/studies/{synthetic_study}", headers=world.reader).json()
    beats = world.client.get(bundle["links"]["beats"], headers=world.reader)  # the bundle links its table
    assert beats.status_code == 200, beats.text
    rows = {r["lead"]: r for r in beats.json()["lead_table"]}
    assert list(rows) == LEADS
    for lead, r, s, st in zip(LEADS, R_MV, S_MV, ST_MV):
        row = rows[lead]
        assert row["r_mv"] == pytest.approx(r, abs=0.03), (lead, row)
        assert row["s_mv"] == pytest.approx(s, abs=0.03), (lead, row)
        assert row["st_j60_mv"] == pytest.approx(st, abs=0.02), (lead, row)
        assert row["st_j_mv"] == pytest.approx(st, abs=0.03), (lead, row)
    assert rows["V1"]["pattern"] == "rS" and rows["V5"]["pattern"] == "Rs"


def test_filter_choices_change_the_waveform_and_bad_ones_are_refused(world, synthetic_study):
    url = f"/api/v1/reader/studies/{synthetic_study}/waveform"

    def lead_ii(**params) -> tuple[np.ndarray, dict]:
        resp = world.client.get(url, headers=world.reader, params={"fs": 500, **params})
        assert resp.status_code == 200, resp.text
        return np.array(resp.json()["leads"]["II"], dtype=float) / 1000.0, resp.json()["filter"]

    wide, f_wide = lead_ii(hp=0.05, lp=150, notch=False)
    narrow, f_narrow = lead_ii(hp=0.5, lp=40, notch=True)
    assert f_wide == {"highpass_hz": 0.05, "lowpass_hz": 150.0, "notch_hz": None}
    assert f_narrow == {"highpass_hz": 0.5, "lowpass_hz": 40.0, "notch_hz": 50.0}
    # 150 Hz keeps the R (built 1.2 mV) where 40 Hz lowers it; the shapes differ.
    assert np.max(wide) > np.max(narrow) and not np.array_equal(wide, narrow)
    assert np.max(wide) == pytest.approx(1.2 + 0.0, abs=0.1)
    _, f_default = lead_ii()
    assert f_default == {"highpass_hz": 0.5, "lowpass_hz": 40.0, "notch_hz": 50.0}  # "filtered", as before
    _, f_raw = lead_ii(filtered=False)
    assert f_raw == {"highpass_hz": None, "lowpass_hz": None, "notch_hz": None}
    for bad in ({"hp": 3}, {"lp": 75}, {"hp": "nan"}, {"lp": -40}, {"notch": "maybe"}):
        resp = world.client.get(url, headers=world.reader, params=bad)
        assert resp.status_code == 422, (bad, resp.text)
        assert resp.headers["content-type"].startswith("application/problem+json")


def test_reader_overwrites_the_axis_and_it_is_recorded_as_edited(world, synthetic_study):
    body = world.client.post(f"/api/v1/reader/studies/{synthetic_study}/claim", headers=world.reader).json()
    machine = body["analysis"]["axes_deg"]
    signed = world.client.post(f"/api/v1/reader/claims/{body['claim']['id']}/sign", headers=world.reader, json={
        "statements": ["SR"], "measurements": {"qrs_axis_deg": 75, "p_axis_deg": machine["p"]}})
    assert signed.status_code == 201, signed.text
    report = signed.json()
    assert report["measurements"]["qrs_axis_deg"] == 75 and "qrs_axis_deg" in report["edited_measurements"]
    assert "p_axis_deg" not in report["edited_measurements"]  # confirmed unchanged, not an edit
    assert report["measurements"]["t_axis_deg"] == machine["t"]


def test_pediatric_statements_can_be_signed(world, synthetic_study):
    body = world.client.post(f"/api/v1/reader/studies/{synthetic_study}/claim", headers=world.reader).json()
    signed = world.client.post(f"/api/v1/reader/claims/{body['claim']['id']}/sign", headers=world.reader,
                               json={"statements": ["SARR", "JUVT", "RSR_V1", "RVD_AGE"]})
    assert signed.status_code == 201, signed.text
    zh = {s["code"]: s["zh"] for s in signed.json()["statements"]}
    assert zh["RSR_V1"] == "V1导联呈rSr′型（儿童正常变异）" and zh["JUVT"] == "幼年型T波（符合年龄）"
    codes = {s["code"] for s in world.client.get("/api/v1/reader/lexicon", headers=world.reader).json()}
    assert {"WAP", "RSR_V1", "DEXTRO", "BRUGADA"} <= codes


def test_a_qs_complex_shows_its_depth_in_the_s_column(world, tmp_path):
    """V1 built wholly negative (no R): the table gives its depth as S, the pattern QS."""
    r_mv = [0.0 if lead == "V1" else r for lead, r in zip(LEADS, R_MV)]  # V1: only the negative wave, 1.2 mV deep
    sid = upload(world.client, world.a.auth, _synthetic_files(tmp_path, r_mv),
                 form=patient_form(patient_id="QS")).json()["id"]
    assert wait_for_status(world.client, world.a.auth, sid)["status"] == "awaiting_read"
    rows = {r["lead"]: r for r in world.client.get(f"/api/v1/reader/studies/{sid}/beats",
                                                   headers=world.reader).json()["lead_table"]}
    assert rows["V1"]["pattern"] == "QS" and rows["V1"]["r_mv"] == pytest.approx(0.0, abs=0.03)
    assert rows["V1"]["s_mv"] == pytest.approx(S_MV[6], abs=0.03)
