"""The service inputs (`services.inputs`): no text of any of them holds a control character, wherever
it sits in the input, so that none is stored (PostgreSQL refuses NUL in text outright)."""

from __future__ import annotations

import pytest

from referral.domain.errors import ValidationFailed
from referral.notices.service import NoticeIn
from referral.services.inputs import (ACTION_INPUTS, AdviceIn, CaseIn, IssueAdviceIn, Strict, control_character_fields,
                                     parse)

CONTROL = "contains a control character"
CASE = {"patient_id": 1, "urgency": "routine", "specialty": "cardiology", "chief_complaint": "胸痛",
        "clinical_question": "?"}
ADVICE = {"assessment": "稳定", "disposition": "manage_locally"}


def _refused(model, data) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as refused:
        parse(model, data)
    return refused.value.fields


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x0b", "\x0c", "\x1f", "\x7f", "\x9f", "\u202a", "\u202e",
                                  "\u2066", "\u2069"])
def test_every_control_character_is_refused(char):
    assert _refused(CaseIn, {**CASE, "clinical_question": f"是否{char}转诊"}) == {"clinical_question": CONTROL}


@pytest.mark.parametrize("char", ["\t", "\n", "\r", "\u200e", "\u00a0", "\u3000"])
def test_tabs_line_breaks_and_other_spacing_are_text(char):
    assert parse(CaseIn, {**CASE, "clinical_question": f"是否{char}转诊"}).clinical_question == f"是否{char}转诊"


def test_text_inside_lists_and_nested_models_is_checked_too():
    assert _refused(AdviceIn, {**ADVICE, "key_images": ["1.2/3.4/5.6/1", "1\x00/2/3/1"]}) == {"key_images": CONTROL}
    assert _refused(AdviceIn, {**ADVICE, "recommendations": "多休息\x00"}) == {"recommendations": CONTROL}
    assert _refused(IssueAdviceIn, {"advice": {**ADVICE, "warning_signs": "\x1b[1m胸痛"}, "password": "x"}) == {
        "advice.warning_signs": CONTROL}
    assert _refused(CaseIn, {**CASE, "patient_id": None, "patient": {"name": "张三", "sex": "male",
                                                                     "phone": "138\x000"}}) == {"patient.phone": CONTROL}


def test_a_notice_title_and_body_are_checked():
    notice = {"title": "暴雨\x00预警", "body": "注意\u202e安全", "level": "red", "tiers": ["village"]}
    assert _refused(NoticeIn, notice) == {"title": CONTROL, "body": CONTROL}


def test_every_action_input_is_checked():
    for name, model in ACTION_INPUTS.items():
        text_fields = [f for f, info in model.model_fields.items()
                       if info.annotation is str and f not in model.verbatim_fields]
        for field in text_fields:
            assert _refused(model, {field: "a\x00b"}).get(field) == CONTROL, (name, field)


def test_a_model_of_any_feature_inherits_the_check():
    class LaterIn(Strict):
        names: list[str] = []
        labels: dict[str, str] = {}
        count: int = 0

    assert _refused(LaterIn, {"names": ["a", "b\x00"], "labels": {"k\x01": "v"}}) == {
        "names": CONTROL, "labels": CONTROL}
    assert parse(LaterIn, {"names": ["a"], "labels": {"k": "v"}, "count": 3}).count == 3


def test_a_notice_title_and_body_are_checked_where_a_notice_is_sent(session, users, tmp_path):
    from referral.notices.service import send_notice

    county = users["county.admin"]
    with pytest.raises(ValidationFailed) as refused:
        send_notice(session, county, {"title": "暴雨\x00预警", "body": "注意安全", "level": "red",
                                      "tiers": ["village"]}, [], data_dir=tmp_path)
    assert refused.value.fields == {"title": CONTROL}


def test_a_password_is_taken_as_typed():
    """A signing password is compared with a hash and never stored or shown: refusing one could lock
    out an account whose password was set before the rule."""
    assert parse(IssueAdviceIn, {"advice": ADVICE, "password": "p\x00ss"}).password == "p\x00ss"


def test_loose_input_is_checked_by_name():
    assert control_character_fields(a="ok", b="x\x00", c=None, d=["y", "\u202e"], e={"k": "\x07"}) == {
        "b": CONTROL, "d": CONTROL, "e": CONTROL}
