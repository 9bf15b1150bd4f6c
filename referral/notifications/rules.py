"""Who hears of what, and how it reads: a small pure table (no Flask, no session).

A timeline event names the people who must act next (`EVENT_RULES`); the SLA
timer, consult rooms and emergency notices name their audience directly. Titles
are written here in both interface languages so that each recipient reads the
notification in their own (`User.locale`, Chinese by default), whoever caused it.
Titles never carry patient data: they may leave the system by SMS.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


class Kind(StrEnum):
    CASE_QUEUED = "case_queued"
    INFO_REQUESTED = "info_requested"
    INFO_PROVIDED = "info_provided"
    FOLLOW_UP = "follow_up"
    ADVICE_ISSUED = "advice_issued"
    CASE_ESCALATED = "case_escalated"
    CASE_DECLINED = "case_declined"
    CONSULT_INVITE = "consult_invite"
    DEADLINE_NEAR = "deadline_near"
    DEADLINE_PASSED = "deadline_passed"
    EMERGENCY_NOTICE = "emergency_notice"


class Audience(StrEnum):
    """People relative to a case."""

    AUTHOR = "author"  # the doctor who wrote it
    ASSIGNEE = "assignee"  # the specialist holding the current hop
    QUEUE = "queue"  # specialists of the current hop's facility whose queue shows it
    FACILITY_SPECIALISTS = "facility_specialists"  # every specialist of the current hop's facility
    FACILITY_ADMIN = "facility_admin"  # the nearest admins above the current hop's facility


@dataclass(frozen=True)
class Rule:
    kind: Kind
    audience: Audience


# Timeline event kind -> who must hear of it, as what. Events not listed (claim, cancel,
# close, ...) ask nobody to act.
EVENT_RULES: dict[str, tuple[Rule, ...]] = {
    "submit": (Rule(Kind.CASE_QUEUED, Audience.QUEUE),),
    "resubmit": (Rule(Kind.CASE_QUEUED, Audience.QUEUE),),
    "release": (Rule(Kind.CASE_QUEUED, Audience.QUEUE),),
    "escalate": (Rule(Kind.CASE_QUEUED, Audience.QUEUE), Rule(Kind.CASE_ESCALATED, Audience.AUTHOR)),
    "request_info": (Rule(Kind.INFO_REQUESTED, Audience.AUTHOR),),
    "provide_info": (Rule(Kind.INFO_PROVIDED, Audience.ASSIGNEE),),
    "follow_up": (Rule(Kind.FOLLOW_UP, Audience.ASSIGNEE),),
    "issue_advice": (Rule(Kind.ADVICE_ISSUED, Audience.AUTHOR),),
    "decline": (Rule(Kind.CASE_DECLINED, Audience.AUTHOR),),
}

# Kinds important enough to leave the system through the outbound gateways (SMS, e-mail)
# whatever the urgency; for emergency cases every kind goes out.
OUTBOUND_KINDS = frozenset({Kind.DEADLINE_PASSED, Kind.EMERGENCY_NOTICE, Kind.CONSULT_INVITE})


def goes_outbound(kind: Kind, urgency: str | None) -> bool:
    return kind in OUTBOUND_KINDS or urgency == "emergency"


def rules_for_event(event_kind: str) -> tuple[Rule, ...]:
    return EVENT_RULES.get(event_kind, ())


def case_link(case_id: int, kind: Kind) -> str:
    return f"/cases/{case_id}/consult" if kind is Kind.CONSULT_INVITE else f"/cases/{case_id}"


def notice_link(notice_id: int) -> str:
    return f"/notices/{notice_id}"


# ------------------------------------------------------------------ titles

LANGUAGES = ("zh", "en")

URGENCY = {
    "routine": {"zh": "普通", "en": "routine"},
    "urgent": {"zh": "紧急", "en": "urgent"},
    "emergency": {"zh": "危急", "en": "emergency"},
}

DEADLINE = {
    "claim": {"zh": "接诊", "en": "claimed"},
    "advice": {"zh": "出具诊疗意见", "en": "answered"},
}

BREACH_ACTION = {
    "notify": {"zh": "已通知管理员", "en": "admin notified"},
    "reopen": {"zh": "已重新开放给全体专家", "en": "reopened to the whole pool"},
    "escalate": {"zh": "已自动上转", "en": "escalated automatically"},
}

LEVEL = {
    "blue": {"zh": "蓝色预警", "en": "Level IV (blue)"},
    "yellow": {"zh": "黄色预警", "en": "Level III (yellow)"},
    "orange": {"zh": "橙色预警", "en": "Level II (orange)"},
    "red": {"zh": "红色预警", "en": "Level I (red)"},
}

TITLES: dict[Kind, dict[str, str]] = {
    Kind.CASE_QUEUED: {"zh": "【{urgency}】新病例待接诊 {reference}",
                       "en": "[{urgency}] New case in your queue: {reference}"},
    Kind.INFO_REQUESTED: {"zh": "专家请求补充资料 {reference}", "en": "Information requested on {reference}"},
    Kind.INFO_PROVIDED: {"zh": "医生已补充资料 {reference}", "en": "Information provided on {reference}"},
    Kind.FOLLOW_UP: {"zh": "医生追问 {reference}", "en": "Follow-up question on {reference}"},
    Kind.ADVICE_ISSUED: {"zh": "诊疗意见已签发 {reference}", "en": "Advice issued on {reference}"},
    Kind.CASE_ESCALATED: {"zh": "病例已上转至{facility} {reference}", "en": "{reference} escalated to {facility}"},
    Kind.CASE_DECLINED: {"zh": "病例被退回 {reference}", "en": "{reference} was declined"},
    Kind.CONSULT_INVITE: {"zh": "{inviter}邀请您参加远程会诊 {reference}",
                          "en": "{inviter} invites you to a consult on {reference}"},
    Kind.DEADLINE_NEAR: {"zh": "即将超时：{reference} 须在 {due} 前{deadline}",
                         "en": "Deadline near: {reference} must be {deadline} by {due}"},
    Kind.DEADLINE_PASSED: {"zh": "已超时：{reference} 未按时{deadline}，{action}",
                           "en": "Deadline passed: {reference} was not {deadline} in time; {action}"},
    Kind.EMERGENCY_NOTICE: {"zh": "【{level}】{title}", "en": "[{level}] {title}"},
}

RESEND_PREFIX = {"zh": "（再次提醒）", "en": "(reminder) "}


def language(locale: str | None) -> str:
    """The interface language of a locale string: English when it says so, Chinese otherwise."""
    return "en" if (locale or "").lower().startswith("en") else "zh"


def local_time(value: datetime) -> str:
    """A deadline as people in the county read it: Asia/Shanghai, to the minute."""
    return value.astimezone(LOCAL_TZ).strftime("%m-%d %H:%M")


def title_for(kind: Kind, locale: str | None, **facts) -> str:
    """The title of a notification of `kind` in the recipient's language.

    `facts` are language-neutral: codes (`urgency`, `deadline`, `action`, `level`)
    are translated here, datetimes shown in local time, text passed through.
    """
    lang = language(locale)
    values = dict(facts)
    for key, table in (("urgency", URGENCY), ("deadline", DEADLINE), ("action", BREACH_ACTION), ("level", LEVEL)):
        if key in values and values[key] in table:
            values[key] = table[values[key]][lang]
    if isinstance(values.get("due"), datetime):
        values["due"] = local_time(values["due"])
    facility = values.get("facility")
    if isinstance(facility, dict):
        values["facility"] = (facility.get("name_en") if lang == "en" else None) or facility.get("name", "")
    title = TITLES[kind][lang].format_map(_Missing(values))
    if values.get("resend"):
        title = RESEND_PREFIX[lang] + title
    return title[:300]


class _Missing(dict):
    """`format_map` helper: a missing fact renders empty instead of failing a whole transaction."""

    def __missing__(self, key: str) -> str:
        return ""
