"""The curated ICD-10 list and its search."""

from __future__ import annotations

from referral.domain import icd10


def test_icd10_list_search():
    assert 150 <= len(icd10.all_entries()) <= 250
    assert icd10.search("I10")[0].code == "I10"
    assert icd10.search("j18")[0].code.startswith("J18")
    assert [e.code for e in icd10.search("高血压")][:1] == ["I10"]
    assert any(e.code == "E11.9" for e in icd10.search("diabetes"))
    assert icd10.search("") == [] and icd10.search("zzzz") == []
    assert icd10.lookup("i10").zh == "原发性高血压" and icd10.lookup("Q99.9") is None
