"""A small fixed history in March 2024, built through the real services with explicit times.

The seeded demo's own cases are recent, so a March 2024 period holds only the
cases below. Times are written in Shanghai local time (the report's calendar)
and stored in UTC by the services.

    case  author           urgency    specialty          path (local time)
    A     village.doctor   urgent     cardiology         03-04 09:00 submit -> T1; 09:30 claim; 10:00 escalate -> county
                                                         people's hospital; 15:00 claim (late); 03-05 12:00 advice
                                                         (late); 14:00 close (transferred)
    B     village.doctor   routine    internal_medicine  03-05 08:00 submit -> T1; 10:00 claim; 12:00 advice;
                                                         03-06 09:00 close (managed locally)
    C     village.doctor2  urgent     internal_medicine  03-06 10:00 submit -> T2; 16:00 declined unclaimed (late);
                                                         17:00 close (other)
    D     village.doctor   emergency  cardiology         03-31 23:30 submit -> county people's hospital (skips the
                                                         township); 23:40 claim; 04-01 00:20 advice
    E     township.doctor  routine    obstetrics         03-10 09:00 submit -> MCH hospital; 03-11 09:00 claim (on the
                                                         deadline); 10:00 escalate -> Tongji, never claimed
    F     village.doctor   urgent     pediatrics         03-12 draft only, never submitted
    G     village.doctor   routine    dermatology        03-15 09:00 submit -> T1; 10:00 cancelled
    H     village.doctor   urgent     internal_medicine  03-20 08:00 submit -> T1; 08:30 claim; 09:00 request info;
                                                         10:00 info; 11:00 advice; 03-21 09:00 close (managed locally)
    I     village.doctor   routine    internal_medicine  02-29 23:30 submit (February)
    J     village.doctor   routine    internal_medicine  04-01 00:10 submit (April; still 31 March in UTC)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from referral.reports.filters import LOCAL_TZ
from referral.services import cases as case_service
from referral.services.inputs import CaseIn, parse
from tests.conftest import DEMO_PASSWORD

REPORT_NOW = datetime(2024, 4, 15, tzinfo=UTC)
MARCH = {"from": "2024-03-01", "to": "2024-03-31"}


def local(text: str) -> datetime:
    """'2024-03-04 09:00' Shanghai time as an aware UTC datetime."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=LOCAL_TZ).astimezone(UTC)


ADVICE = {"assessment": "考虑诊断明确，按建议处理。", "disposition": "manage_locally",
          "recommendations": [{"kind": "medication", "text": "对症治疗"}]}


@dataclass
class Dataset:
    ids: dict[str, int]


def _draft(session, author, at, urgency, specialty, diagnoses, id_number=None):
    data = parse(CaseIn, {
        "patient": {"name": "测试患者", "sex": "female", "birth_date": "1960-05-01", "id_number": id_number},
        "urgency": urgency, "specialty": specialty, "chief_complaint": "胸闷", "clinical_question": "请会诊",
        "diagnoses": [{"code": c, "name": n} for c, n in diagnoses],
    })
    return case_service.create_draft(session, author, data, now=local(at)).id


def build_march(session, users) -> Dataset:
    u = users
    act = case_service.perform_action
    ids: dict[str, int] = {}

    ids["A"] = a = _draft(session, u["village.doctor"], "2024-03-04 08:50", "urgent", "cardiology",
                          [("I20.0", "不稳定型心绞痛"), ("I10", "原发性高血压")], id_number="420322196005010030")
    act(session, u["village.doctor"], a, "submit", now=local("2024-03-04 09:00"))
    act(session, u["township.specialist"], a, "claim", now=local("2024-03-04 09:30"))
    act(session, u["township.specialist"], a, "escalate", {"reason": "需要心内科"}, now=local("2024-03-04 10:00"))
    act(session, u["county.specialist"], a, "claim", now=local("2024-03-04 15:00"))
    act(session, u["county.specialist"], a, "issue_advice", {"advice": {**ADVICE, "disposition": "urgent_transfer"},
        "password": DEMO_PASSWORD}, now=local("2024-03-05 12:00"))
    act(session, u["village.doctor"], a, "close", {"outcome": "transferred"}, now=local("2024-03-05 14:00"))

    ids["B"] = b = _draft(session, u["village.doctor"], "2024-03-05 07:50", "routine", "internal_medicine",
                          [("J44.1", "慢性阻塞性肺病伴有急性加重")])
    act(session, u["village.doctor"], b, "submit", now=local("2024-03-05 08:00"))
    act(session, u["township.specialist"], b, "claim", now=local("2024-03-05 10:00"))
    act(session, u["township.specialist"], b, "issue_advice", {"advice": ADVICE, "password": DEMO_PASSWORD},
        now=local("2024-03-05 12:00"))
    act(session, u["village.doctor"], b, "close", {"outcome": "managed_locally"}, now=local("2024-03-06 09:00"))

    ids["C"] = c = _draft(session, u["village.doctor2"], "2024-03-06 09:50", "urgent", "internal_medicine",
                          [("I10", "高血压")])
    act(session, u["village.doctor2"], c, "submit", now=local("2024-03-06 10:00"))
    act(session, u["township.specialist2"], c, "decline", {"reason": "资料不全"}, now=local("2024-03-06 16:00"))
    act(session, u["village.doctor2"], c, "close", {"outcome": "other"}, now=local("2024-03-06 17:00"))

    ids["D"] = d = _draft(session, u["village.doctor"], "2024-03-31 23:20", "emergency", "cardiology",
                          [("I21.9", "急性心肌梗死")])
    act(session, u["village.doctor"], d, "submit", now=local("2024-03-31 23:30"))
    act(session, u["county.specialist"], d, "claim", now=local("2024-03-31 23:40"))
    act(session, u["county.specialist"], d, "issue_advice", {"advice": ADVICE, "password": DEMO_PASSWORD},
        now=local("2024-04-01 00:20"))

    ids["E"] = e = _draft(session, u["township.doctor"], "2024-03-10 08:50", "routine", "obstetrics",
                          [("O14.1", "重度子痫前期")])
    act(session, u["township.doctor"], e, "submit", now=local("2024-03-10 09:00"))
    act(session, u["county.obstetrician"], e, "claim", now=local("2024-03-11 09:00"))
    act(session, u["county.obstetrician"], e, "escalate", {"reason": "省级会诊"}, now=local("2024-03-11 10:00"))

    ids["F"] = _draft(session, u["village.doctor"], "2024-03-12 10:00", "urgent", "pediatrics",
                      [("B08.4", "手足口病")])

    ids["G"] = g = _draft(session, u["village.doctor"], "2024-03-15 08:50", "routine", "dermatology",
                          [("L20.9", "特应性皮炎")])
    act(session, u["village.doctor"], g, "submit", now=local("2024-03-15 09:00"))
    act(session, u["village.doctor"], g, "cancel", {"reason": "患者已自行就诊"}, now=local("2024-03-15 10:00"))

    ids["H"] = h = _draft(session, u["village.doctor"], "2024-03-20 07:50", "urgent", "internal_medicine",
                          [("I10", "原发性高血压"), ("E11.9", "2型糖尿病"), ("I10", "原发性高血压")])
    act(session, u["village.doctor"], h, "submit", now=local("2024-03-20 08:00"))
    act(session, u["township.specialist"], h, "claim", now=local("2024-03-20 08:30"))
    act(session, u["township.specialist"], h, "request_info", {"message": "请补充血糖"}, now=local("2024-03-20 09:00"))
    act(session, u["village.doctor"], h, "provide_info", {"message": "空腹血糖 9.1"}, now=local("2024-03-20 10:00"))
    act(session, u["township.specialist"], h, "issue_advice", {"advice": ADVICE, "password": DEMO_PASSWORD},
        now=local("2024-03-20 11:00"))
    act(session, u["village.doctor"], h, "close", {"outcome": "managed_locally"}, now=local("2024-03-21 09:00"))

    ids["I"] = i = _draft(session, u["village.doctor"], "2024-02-29 23:00", "routine", "internal_medicine",
                          [("J18.9", "肺炎")])
    act(session, u["village.doctor"], i, "submit", now=local("2024-02-29 23:30"))
    ids["J"] = j = _draft(session, u["village.doctor"], "2024-04-01 00:00", "routine", "internal_medicine",
                          [("J18.9", "肺炎")])
    act(session, u["village.doctor"], j, "submit", now=local("2024-04-01 00:10"))
    return Dataset(ids)


@pytest.fixture
def march(session, users) -> Dataset:
    return build_march(session, users)
