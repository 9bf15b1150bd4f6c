"""The words printed on an advice PDF, in the two languages a case can have.

The PDF is rendered outside any web request (and must not change with the
reader's interface language), so its words are here rather than in the
gettext catalog: the PDF's language is the case's, fixed when it is signed.
"""

from __future__ import annotations

LANGUAGES = ("zh", "en")

_TEXT: dict[str, tuple[str, str]] = {
    # key: (Chinese, English)
    "title": ("远程会诊诊断意见书", "Remote Consultation: Diagnostic Advice"),
    "version": ("第 {n} 版", "Version {n}"),
    "supersedes": ("本版取代第 {n} 版", "Supersedes version {n}"),
    "case_reference": ("病例编号", "Case reference"),
    "urgency": ("紧急程度", "Urgency"),
    "specialty": ("会诊专科", "Specialty"),
    "submitted": ("提交时间", "Submitted"),
    "patient": ("患者信息", "Patient"),
    "name": ("姓名", "Name"),
    "sex": ("性别", "Sex"),
    "age": ("年龄", "Age"),
    "age_value": ("{n} 岁", "{n} years"),
    "birth_date": ("出生日期", "Date of birth"),
    "id_number": ("身份证号", "ID number"),
    "origin": ("申请机构与医生", "Referred by"),
    "origin_facility": ("申请机构", "Facility"),
    "origin_doctor": ("申请医生", "Doctor"),
    "clinical_summary": ("病情摘要", "Clinical summary"),
    "chief_complaint": ("主诉", "Chief complaint"),
    "clinical_question": ("会诊问题", "Question to the specialist"),
    "history": ("病史", "History"),
    "vitals": ("生命体征", "Vital signs"),
    "working_diagnoses": ("初步诊断", "Working diagnoses"),
    "advice": ("诊断意见", "Advice"),
    "assessment": ("评估", "Assessment"),
    "diagnoses": ("诊断", "Diagnoses"),
    "recommendations": ("处理建议", "Recommendations"),
    "rec_kind": ("类别", "Kind"),
    "rec_text": ("内容", "Recommendation"),
    "rec_dose": ("剂量/用法", "Dose"),
    "rec_duration": ("疗程", "Duration"),
    "disposition": ("处置去向", "Disposition"),
    "follow_up": ("随访", "Follow-up"),
    "warning_signs": ("出现以下情况请立即复诊：", "Come back at once if: "),
    "list_sep": ("；", "; "),
    "paren": ("（{x}）", " ({x})"),
    "key_images": ("关键影像", "Key images"),
    "frame": ("帧", "frame"),
    "signature": ("签发", "Signed"),
    "signer": ("签发医生", "Signed by"),
    "title_label": ("职称", "Title"),
    "signer_specialties": ("专业", "Specialties"),
    "signer_facility": ("所在机构", "Facility"),
    "signed_at": ("签发时间", "Signed at"),
    "signature_note": ("本意见书由签发医生以本人密码确认签发，文件的 SHA-256 摘要已登记。",
                       "Signed by the specialist with their password; the SHA-256 of this file is on record."),
    "verify": ("真伪核验", "Verify"),
    "verify_hint": ("扫描二维码或访问以下地址，核验本意见书是否真实、是否为最新版本：",
                    "Scan the code or open the address to check that this advice is genuine and current:"),
    "verify_code": ("核验码", "Verification code"),
    "page": ("第 {page} 页 / 共 {pages} 页", "Page {page} of {pages}"),
    "time_zone": ("北京时间", "China Standard Time"),
    "none": ("无", "None"),
    "advising_facility": ("会诊机构", "Advising facility"),
}

_CODES: dict[str, dict[str, tuple[str, str]]] = {
    "sex": {"male": ("男", "Male"), "female": ("女", "Female"), "unknown": ("未知", "Unknown")},
    "urgency": {"routine": ("普通", "Routine"), "urgent": ("紧急", "Urgent"), "emergency": ("急诊", "Emergency")},
    "disposition": {
        "manage_locally": ("在村卫生室/本机构继续治疗", "Manage locally"),
        "follow_up_township": ("到乡镇卫生院随访", "Follow up at the township health center"),
        "outpatient_higher": ("到上级医院门诊就诊", "Outpatient visit at a higher-level hospital"),
        "urgent_transfer": ("立即转诊上级医院", "Urgent transfer to a higher-level hospital"),
    },
    "recommendation": {
        "treatment": ("治疗", "Treatment"), "investigation": ("检查", "Investigation"),
        "medication": ("用药", "Medication"), "other": ("其他", "Other"),
    },
    "tier": {"village": ("村卫生室", "Village clinic"), "township": ("乡镇卫生院", "Township health center"),
             "county": ("县级医院", "County hospital"), "provincial": ("省市级医院", "Provincial hospital")},
    "vital": {
        "temperature_c": ("体温", "Temperature"), "heart_rate": ("心率", "Heart rate"),
        "resp_rate": ("呼吸", "Respiratory rate"), "bp": ("血压", "Blood pressure"),
        "spo2": ("血氧饱和度", "SpO₂"), "weight_kg": ("体重", "Weight"), "glucose_mmol": ("血糖", "Glucose"),
    },
}

VITAL_UNITS = {"temperature_c": "℃", "heart_rate": ("次/分", "/min"), "resp_rate": ("次/分", "/min"), "bp": "mmHg",
               "spo2": "%", "weight_kg": "kg", "glucose_mmol": "mmol/L"}  # (zh, en) where they differ


def language_of(locale: str | None) -> str:
    return "en" if (locale or "").startswith("en") else "zh"


class Labels:
    """`t("key", n=2)` for phrases, `t.code("sex", "female")` for coded values."""

    def __init__(self, language: str) -> None:
        self.language = language_of(language)
        self._i = LANGUAGES.index(self.language)

    def __call__(self, key: str, **values) -> str:
        return _TEXT[key][self._i].format(**values)

    def unit(self, vital: str) -> str:
        """The unit of a vital sign as this language writes it (次/分 in Chinese, /min in English)."""
        unit = VITAL_UNITS[vital]
        return unit if isinstance(unit, str) else unit[self._i]

    def code(self, kind: str, value: str | None) -> str:
        if value is None:
            return ""
        found = _CODES.get(kind, {}).get(value)
        return found[self._i] if found else value
