"""The advice PDF's own words (referral/advice/labels.py) exist in both languages."""

from __future__ import annotations

from referral.advice import labels


def test_pdf_words_exist_in_both_languages():
    for key, pair in labels._TEXT.items():
        assert len(pair) == 2 and all(pair), key
    zh, en = labels.Labels("zh"), labels.Labels("en")
    assert zh("page", page=1, pages=2) == "第 1 页 / 共 2 页"
    assert en("page", page=1, pages=2) == "Page 1 of 2"
    assert zh.code("disposition", "urgent_transfer") == "立即转诊上级医院"
    assert labels.Labels("en-US").language == "en" and labels.Labels("zh-CN").language == "zh"
