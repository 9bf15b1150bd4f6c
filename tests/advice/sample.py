"""A fixed advice document (no database): the same input always gives the same page, so its
first page can be compared with a stored reference image."""

from __future__ import annotations

from datetime import UTC, date, datetime

from referral.advice.document import Document, KeyImage, build_document
from referral.models import Advice, Case, Facility, Patient, User

VERIFY_CODE = "ABCD2345EFGH"
VERIFY_URL = f"https://referral.yunxi.example/verify/{VERIFY_CODE}"


def advising_facility() -> Facility:
    return Facility(code="YX-T01", name="郧西县城关镇卫生院", name_en="Chengguan Township Health Center",
                    tier="township", kind="health_center", address="湖北省十堰市郧西县城关镇人民路 18 号",
                    phone="0719-6221234")


def sample_case(**overrides) -> Case:
    village = Facility(code="YX-T01-V01", name="城关镇白岩村卫生室", name_en="Baiyan Village Clinic", tier="village",
                       kind="village_clinic")
    author = User(username="village.doctor", display_name="王秀兰", title="乡村医生", locale="zh")
    patient = Patient(name="陈桂英", sex="female", birth_date=date(1956, 3, 12), id_number="420322195603120024")
    fields = dict(
        reference="YX-2026-000123", urgency="urgent", specialty="cardiology",
        chief_complaint="反复胸闷、胸痛3天，加重半天。Chest tightness for 3 days.",
        clinical_question="是否考虑急性冠脉综合征？是否需要转诊上级医院？",
        history="高血压病史10年，规律服用硝苯地平缓释片。\n吸烟30年。白细胞 11.2×10⁹/L，体温 37.8℃。",
        vitals={"temperature_c": 37.8, "heart_rate": 96, "bp_systolic": 168, "bp_diastolic": 98, "spo2": 95},
        diagnoses=[{"code": "I20.0", "name": "不稳定型心绞痛"}, {"code": "I10", "name": "原发性高血压"}],
        submitted_at=datetime(2026, 3, 1, 1, 30, tzinfo=UTC),
    )
    fields.update(overrides)
    case = Case(**fields)
    case.patient, case.origin_facility, case.author = patient, village, author
    return case


def sample_advice(version: int = 1, **content) -> Advice:
    body = {
        "assessment": "考虑不稳定型心绞痛，高危，需尽快行冠脉评估。Unstable angina, high risk: coronary assessment soon.",
        "diagnoses": [{"code": "I20.0", "name": "不稳定型心绞痛"}],
        "recommendations": [
            {"kind": "medication", "text": "阿司匹林肠溶片 aspirin", "dose": "300 mg 嚼服", "duration": "立即"},
            {"kind": "medication", "text": "阿托伐他汀钙片 atorvastatin", "dose": "40 mg qn", "duration": "长期"},
            {"kind": "investigation", "text": "复查心电图、肌钙蛋白", "dose": "", "duration": "6小时后"},
        ],
        "disposition": "urgent_transfer",
        "follow_up": "转诊后3天电话随访",
        "warning_signs": "胸痛持续超过20分钟、大汗、晕厥、呼吸困难",
        "key_images": [],
    }
    body.update(content)
    return Advice(
        version=version, content=body, verify_code=VERIFY_CODE, signed_at=datetime(2026, 3, 1, 6, 5, tzinfo=UTC),
        signer_credentials={"name": "张明", "title": "主治医师", "specialties": ["general_practice", "internal_medicine"],
                            "facility": "郧西县城关镇卫生院"},
    )


def sample_document(case: Case | None = None, advice: Advice | None = None, *, language: str = "zh",
                    key_images: list[KeyImage] = ()) -> Document:
    case = case or sample_case()
    advice = advice or sample_advice()
    return build_document(case, advice, advising_facility(), language=language, verify_url=VERIFY_URL,
                          key_images=list(key_images), supersedes=advice.version - 1 if advice.version > 1 else None)
