"""The Yunxi county medical community (郧西县医共体) as demo data."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..domain.vocabulary import FacilityKind as K
from ..domain.vocabulary import Tier as T


@dataclass(frozen=True)
class FacilitySeed:
    code: str
    name: str
    name_en: str
    tier: T
    kind: K
    parent: str | None = None
    specialties: tuple[str, ...] = ()
    address: str = ""


COUNTY_ROOT = "YX-WJJ"
PEOPLES_HOSPITAL = "YX-RMYY"
TCM_HOSPITAL = "YX-ZYY"
MCH_HOSPITAL = "YX-FYBJY"

COUNTY = [
    FacilitySeed(COUNTY_ROOT, "郧西县卫生健康局", "Yunxi County Health Bureau", T.COUNTY, K.HEALTH_BUREAU,
                 address="湖北省十堰市郧西县城关镇"),
    FacilitySeed("YX-CDC", "郧西县疾病预防控制中心", "Yunxi County CDC", T.COUNTY, K.CDC, COUNTY_ROOT),
    FacilitySeed("YX-120", "郧西县120急救指挥中心", "Yunxi County 120 Emergency Center", T.COUNTY,
                 K.EMERGENCY_CENTER, COUNTY_ROOT),
    FacilitySeed("YX-WSJD", "郧西县卫生健康综合监督执法局", "Yunxi County Health Supervision Bureau", T.COUNTY,
                 K.SUPERVISION, COUNTY_ROOT),
    FacilitySeed(PEOPLES_HOSPITAL, "郧西县人民医院", "Yunxi County People's Hospital", T.COUNTY,
                 K.GENERAL_HOSPITAL, COUNTY_ROOT,
                 ("internal_medicine", "cardiology", "respiratory", "gastroenterology", "neurology",
                  "general_surgery", "orthopedics", "radiology", "emergency_medicine", "infectious_disease")),
    FacilitySeed(TCM_HOSPITAL, "郧西县中医医院", "Yunxi County Hospital of TCM", T.COUNTY, K.TCM_HOSPITAL,
                 COUNTY_ROOT, ("tcm", "internal_medicine", "orthopedics")),
    FacilitySeed(MCH_HOSPITAL, "郧西县妇幼保健院", "Yunxi County Maternal and Child Health Hospital", T.COUNTY,
                 K.MCH_HOSPITAL, COUNTY_ROOT, ("obstetrics", "gynecology", "pediatrics")),
]

PARTNERS = [
    FacilitySeed("SY-TAIHE", "十堰市太和医院", "Taihe Hospital, Shiyan", T.PROVINCIAL, K.PARTNER_HOSPITAL,
                 specialties=("cardiology", "neurology", "tcm", "orthopedics", "general_surgery", "radiology")),
    FacilitySeed("WH-TONGJI", "华中科技大学同济医学院附属同济医院", "Tongji Hospital, Wuhan", T.PROVINCIAL,
                 K.PARTNER_HOSPITAL, specialties=("obstetrics", "gynecology", "pediatrics", "oncology", "neurology",
                                                  "respiratory", "infectious_disease")),
    FacilitySeed("WH-UNION", "华中科技大学同济医学院附属协和医院", "Union Hospital, Wuhan", T.PROVINCIAL,
                 K.PARTNER_HOSPITAL, specialties=("cardiology", "radiology", "internal_medicine", "endocrinology")),
]

# (county facility, partner, specialty or None for "anything else")
PARTNERSHIPS = [
    (PEOPLES_HOSPITAL, "WH-UNION", "cardiology"),
    (PEOPLES_HOSPITAL, "WH-UNION", "radiology"),
    (PEOPLES_HOSPITAL, "WH-UNION", "endocrinology"),
    (PEOPLES_HOSPITAL, "WH-TONGJI", "oncology"),
    (PEOPLES_HOSPITAL, "WH-TONGJI", "respiratory"),
    (PEOPLES_HOSPITAL, "WH-TONGJI", "infectious_disease"),
    (PEOPLES_HOSPITAL, "SY-TAIHE", None),
    (MCH_HOSPITAL, "WH-TONGJI", None),
    (TCM_HOSPITAL, "SY-TAIHE", None),
]

# The 18 townships of Yunxi county, in the order their codes are given (T01 = 城关镇).
TOWNSHIPS = [
    ("城关镇", "Chengguan"), ("土门镇", "Tumen"), ("上津镇", "Shangjin"), ("店子镇", "Dianzi"),
    ("夹河镇", "Jiahe"), ("羊尾镇", "Yangwei"), ("观音镇", "Guanyin"), ("马安镇", "Ma'an"),
    ("河夹镇", "Hejia"), ("香口乡", "Xiangkou"), ("涧池乡", "Jianchi"), ("六郎乡", "Liulang"),
    ("景阳乡", "Jingyang"), ("关防乡", "Guanfang"), ("湖北口回族乡", "Hubeikou Hui"), ("安家乡", "Anjia"),
    ("槐树林特场", "Huaishulin"), ("三官洞林区", "Sanguandong"),
]

VILLAGE_COUNT = 286

_VILLAGE_STEMS = [
    "双河", "白岩", "桃园", "龙潭", "黄龙", "石门", "金坪", "柳树", "高峰", "青龙", "花园", "新庄",
    "狮子", "松树", "马家", "王家", "张湾", "李沟", "东坡", "西岭", "南山", "北沟", "清泉", "红岩",
    "茶店", "观音", "天池", "凤凰", "塔坪", "大岭", "小河", "罗家", "陈家", "周湾", "胡家", "杨树",
]


def _village_names(count: int) -> list[str]:
    names = []
    for suffix in ("", "坪", "沟", "湾"):
        for stem in _VILLAGE_STEMS:
            names.append(f"{stem}{suffix}村")
    return names[:count]


def villages() -> list[FacilitySeed]:
    """286 village clinics spread over the 18 townships (16 or 15 each)."""
    per_township = [VILLAGE_COUNT // len(TOWNSHIPS)] * len(TOWNSHIPS)
    for i in range(VILLAGE_COUNT - sum(per_township)):
        per_township[i] += 1
    seeds = []
    for t_index, count in enumerate(per_township, start=1):
        names = _village_names(count + t_index)[t_index:]  # vary names between townships
        township_cn = TOWNSHIPS[t_index - 1][0]
        for v_index, village in enumerate(names, start=1):
            seeds.append(FacilitySeed(
                f"YX-T{t_index:02d}-V{v_index:02d}", f"{township_cn}{village}卫生室",
                f"{TOWNSHIPS[t_index - 1][1]} {village} village clinic", T.VILLAGE, K.VILLAGE_CLINIC,
                f"YX-T{t_index:02d}", ("general_practice",),
            ))
    return seeds


def townships() -> list[FacilitySeed]:
    return [
        FacilitySeed(f"YX-T{i:02d}", f"郧西县{cn}卫生院", f"{en} Township Health Center", T.TOWNSHIP,
                     K.HEALTH_CENTER, COUNTY_ROOT, ("general_practice", "internal_medicine", "pediatrics"))
        for i, (cn, en) in enumerate(TOWNSHIPS, start=1)
    ]


def all_facilities() -> list[FacilitySeed]:
    """Parents before children."""
    return COUNTY + PARTNERS + townships() + villages()


@dataclass(frozen=True)
class UserSeed:
    username: str
    display_name: str
    facility: str
    roles: tuple[str, ...]
    specialties: tuple[str, ...] = ()
    title: str = ""
    extra: dict = field(default_factory=dict)


T1, T2 = "YX-T01", "YX-T02"
VILLAGE_1, VILLAGE_2 = "YX-T01-V01", "YX-T02-V01"

DEMO_USERS = [
    UserSeed("village.doctor", "王秀兰", VILLAGE_1, ("doctor",), ("general_practice",), "乡村医生"),
    UserSeed("village.doctor2", "李建国", VILLAGE_2, ("doctor",), ("general_practice",), "乡村医生"),
    UserSeed("township.specialist", "张明", T1, ("specialist",), ("general_practice", "internal_medicine"),
             "主治医师"),
    UserSeed("township.specialist2", "刘芳", T2, ("specialist",), ("general_practice",), "主治医师"),
    UserSeed("county.specialist", "陈志强", PEOPLES_HOSPITAL, ("specialist",), ("internal_medicine", "cardiology"),
             "副主任医师"),
    UserSeed("county.specialist2", "赵丽", PEOPLES_HOSPITAL, ("specialist",), ("internal_medicine",), "主治医师"),
    UserSeed("county.obstetrician", "孙慧", MCH_HOSPITAL, ("specialist",), ("obstetrics", "pediatrics"),
             "主任医师"),
    UserSeed("province.expert", "周文博", "WH-UNION", ("specialist",), ("cardiology", "radiology"), "主任医师、教授"),
    UserSeed("township.admin", "吴刚", T1, ("admin",), (), "院长"),
    UserSeed("county.admin", "郑卫东", COUNTY_ROOT, ("admin",), (), "医政医管股股长"),
]

# Further accounts the sample cases need (not part of the documented demo set).
SUPPORT_USERS = [
    UserSeed("township.doctor", "黄德华", T1, ("doctor", "specialist"), ("general_practice",), "执业医师"),
    UserSeed("county.tcm", "冯国医", TCM_HOSPITAL, ("specialist",), ("tcm",), "主任中医师"),
    UserSeed("taihe.expert", "何立新", "SY-TAIHE", ("specialist",), ("neurology", "general_practice"), "主任医师"),
    UserSeed("tongji.expert", "马晓燕", "WH-TONGJI", ("specialist",), ("obstetrics", "pediatrics", "general_practice"),
             "主任医师、教授"),
    UserSeed("village.doctor3", "罗玉梅", "YX-T01-V02", ("doctor",), ("general_practice",), "乡村医生"),
    UserSeed("village.doctor4", "胡永强", "YX-T03-V01", ("doctor",), ("general_practice",), "乡村医生"),
    UserSeed("township.specialist3", "钱立平", "YX-T03", ("specialist",), ("general_practice",), "主治医师"),
]
