"""The lexicon: every code in both languages; findings carry both."""

from __future__ import annotations

import re

import pytest

from ecg.lexicon import Evidence, evidence, finding, lexicon

HAN = re.compile(r"[\u4e00-\u9fff]")


def test_every_statement_has_chinese_and_english_text():
    lex = lexicon()
    assert len(lex) >= 60
    for s in lex.values():
        assert HAN.search(s.zh), s.code
        assert s.en and not HAN.search(s.en), s.code
        assert s.severity in ("normal", "abnormal", "critical"), s.code


def test_finding_takes_both_texts_and_formats_both_templates():
    ev = evidence("PR {pr:.0f} ms > {lim} ms", "PR {pr:.0f} ms > {lim} ms（年龄上限）", pr=212.4, lim=200)
    f = finding("AVB1", ev)
    assert (f.code, f.text, f.text_zh, f.severity) == ("AVB1", "First-degree AV block", "一度房室传导阻滞",
                                                        "abnormal")
    assert f.evidence == "PR 212 ms > 200 ms" and f.evidence_zh.endswith("（年龄上限）")
    g = finding("PAUSE", Evidence(), severity="critical", text=Evidence("Pause of 3.2 s", "长间歇 3.2 s"))
    assert (g.text, g.text_zh, g.severity) == ("Pause of 3.2 s", "长间歇 3.2 s", "critical")


def test_unknown_code_is_refused():
    with pytest.raises(KeyError):
        finding("NOT_A_CODE")


def test_evidence_joins_in_both_languages():
    parts = [Evidence("a", "甲"), Evidence("b", "乙")]
    assert Evidence("; ", "；").join(parts) == Evidence("a; b", "甲；乙")


@pytest.mark.parametrize("record", ["ludb/1", "ludb/21", "mitdb/201", "ptbxl/00009_lr"])
def test_pipeline_findings_carry_chinese_text_and_evidence(data, record):
    from ecg import analyze_recording, read_recording

    a = analyze_recording(read_recording(data / f"{record}.hea"))
    assert a.findings
    for f in a.findings:
        assert f.code in lexicon()
        assert HAN.search(f.text_zh), (f.code, f.text_zh)
        assert bool(f.evidence) == bool(f.evidence_zh), f.code


@pytest.mark.parametrize("age_days", [100, 3 * 365, 8 * 365, 30 * 365])
def test_chinese_evidence_names_ages_and_tables_in_chinese(data, age_days):
    """Age bands, tables and percentile groups appear in Chinese in the Chinese evidence."""
    from ecg import analyze_recording, read_recording

    english = re.compile(r"\b(years?|months?|weeks?|days?|adult|infant|under|over|boys|girls|cn_pediatrics)\b")
    for record in ("ludb/1", "ludb/21", "ptbxl/00849_lr"):
        a = analyze_recording(read_recording(data / f"{record}.hea"), age_days=age_days, sex="F")
        for f in a.findings:
            assert not english.search(f.evidence_zh), (record, f.code, f.evidence_zh)


def test_pediatric_reader_statements_are_in_the_lexicon():
    """What a pediatric cardiologist writes for normal-for-age findings and common pediatric diagnoses."""
    lex = lexicon()
    expected = {"JUVT": "normal", "RVD_AGE": "normal", "SARR": "normal", "WAP": "normal", "RSR_V1": "normal",
                "DEXTRO": "abnormal", "BRUGADA": "abnormal"}
    assert {c: lex[c].severity for c in expected} == expected
    assert "儿童正常变异" in lex["RSR_V1"].zh and "符合年龄" in lex["JUVT"].zh and "符合年龄" in lex["RVD_AGE"].zh
