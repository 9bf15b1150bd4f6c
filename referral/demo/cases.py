"""Sample cases with realistic Chinese clinical content, and the paths they take."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scenario:
    patient: dict
    urgency: str
    specialty: str
    chief_complaint: str
    clinical_question: str
    history: str
    vitals: dict
    diagnoses: list[dict]
    advice: dict


SCENARIOS = [
    Scenario(
        {"name": "陈桂英", "sex": "female", "birth_date": "1956-03-12", "id_number": "420322195603120024"},
        "urgent", "cardiology",
        "反复胸闷、胸痛3天，加重半天",
        "患者胸痛持续时间延长，心电图ST段改变不典型，是否考虑急性冠脉综合征？是否需要转诊上级医院？",
        "高血压病史10年，规律服用硝苯地平缓释片。无糖尿病史。吸烟30年。",
        {"temperature_c": 36.6, "heart_rate": 96, "resp_rate": 20, "bp_systolic": 168, "bp_diastolic": 98, "spo2": 95},
        [{"code": "I20.0", "name": "不稳定型心绞痛"}, {"code": "I10", "name": "原发性高血压"}],
        {"assessment": "考虑不稳定型心绞痛，高危，需尽快行冠脉评估。", "disposition": "urgent_transfer",
         "recommendations": [{"kind": "medication", "text": "阿司匹林肠溶片", "dose": "300 mg 嚼服", "duration": "立即"}],
         "warning_signs": "胸痛持续超过20分钟、大汗、晕厥", "follow_up": "转诊后随访"},
    ),
    Scenario(
        {"name": "刘德明", "sex": "male", "birth_date": "1948-11-02", "id_number": "420322194811020031"},
        "routine", "internal_medicine",
        "咳嗽、咳痰伴气喘2周",
        "慢阻肺急性加重？目前抗感染方案是否合适，是否需要调整吸入药物？",
        "慢性阻塞性肺疾病8年，冬季反复发作。长期使用沙丁胺醇气雾剂。",
        {"temperature_c": 37.8, "heart_rate": 88, "resp_rate": 24, "bp_systolic": 132, "bp_diastolic": 80, "spo2": 91},
        [{"code": "J44.1", "name": "慢性阻塞性肺病伴有急性加重"}],
        {"assessment": "慢阻肺急性加重，中度。", "disposition": "manage_locally",
         "recommendations": [{"kind": "medication", "text": "阿莫西林克拉维酸钾", "dose": "0.625 g tid",
                              "duration": "7天"},
                             {"kind": "investigation", "text": "血常规、胸片"}],
         "warning_signs": "呼吸困难加重、口唇发绀、意识改变", "follow_up": "3天后复诊"},
    ),
    Scenario(
        {"name": "张小雨", "sex": "female", "birth_date": "1996-07-21", "id_number": "420322199607210041"},
        "urgent", "obstetrics",
        "孕32周，头痛、双下肢水肿1周",
        "血压160/105 mmHg，尿蛋白(++)，考虑子痫前期？是否需要立即转诊？",
        "G1P0，孕期产检不规律。既往体健。",
        {"temperature_c": 36.8, "heart_rate": 90, "bp_systolic": 160, "bp_diastolic": 105, "weight_kg": 71},
        [{"code": "O14.1", "name": "重度子痫前期"}],
        {"assessment": "重度子痫前期，需住院终止妊娠评估。", "disposition": "urgent_transfer",
         "recommendations": [{"kind": "medication", "text": "硫酸镁负荷量", "dose": "4 g 静滴", "duration": "20分钟"}],
         "warning_signs": "抽搐、剧烈头痛、视物模糊、胎动减少", "follow_up": "立即转诊"},
    ),
    Scenario(
        {"name": "王浩然", "sex": "male", "birth_date": "2021-05-03"},
        "urgent", "pediatrics",
        "发热3天，皮疹1天",
        "手足口病？患儿精神稍差，是否有重症倾向？",
        "足月顺产，疫苗按时接种。",
        {"temperature_c": 39.2, "heart_rate": 140, "resp_rate": 30, "spo2": 97, "weight_kg": 16},
        [{"code": "B08.4", "name": "手足口病"}],
        {"assessment": "普通型手足口病，暂无重症表现。", "disposition": "manage_locally",
         "recommendations": "对症退热，隔离，注意口腔护理。",
         "warning_signs": "持续高热、精神萎靡、肢体抖动、呼吸急促", "follow_up": "每日随访至热退"},
    ),
    Scenario(
        {"name": "李春华", "sex": "female", "birth_date": "1962-09-09", "id_number": "420322196209090060"},
        "routine", "endocrinology",
        "口干、多饮半年，血糖控制差",
        "二甲双胍足量治疗下空腹血糖仍在10 mmol/L以上，是否需要加用胰岛素？",
        "2型糖尿病5年。",
        {"bp_systolic": 142, "bp_diastolic": 86, "weight_kg": 68, "glucose_mmol": 11.2},
        [{"code": "E11.9", "name": "2型糖尿病不伴有并发症"}],
        {"assessment": "2型糖尿病血糖控制不佳。", "disposition": "follow_up_township",
         "recommendations": [{"kind": "medication", "text": "加用甘精胰岛素", "dose": "10 U qn", "duration": "长期"}],
         "warning_signs": "心慌、出汗、意识模糊（低血糖）", "follow_up": "2周后复查血糖"},
    ),
    Scenario(
        {"name": "赵大山", "sex": "male", "birth_date": "1970-01-15", "id_number": "420322197001150014"},
        "emergency", "neurology",
        "突发左侧肢体无力、言语不清2小时",
        "急性脑卒中？是否在溶栓时间窗内，应转诊至哪家医院？",
        "高血压病史，未规律服药。",
        {"heart_rate": 84, "bp_systolic": 186, "bp_diastolic": 110, "spo2": 96, "glucose_mmol": 7.1},
        [{"code": "I63.9", "name": "脑梗死"}],
        {"assessment": "急性缺血性卒中可能，发病2小时，在溶栓时间窗内。", "disposition": "urgent_transfer",
         "recommendations": "立即联系120转运至卒中中心，途中监测生命体征。",
         "warning_signs": "意识障碍加重、呕吐", "follow_up": "转诊"},
    ),
    Scenario(
        {"name": "孙玉芬", "sex": "female", "birth_date": "1958-04-30", "id_number": "420322195804300048"},
        "routine", "tcm",
        "失眠、心悸1月余",
        "中医辨证考虑心脾两虚，请上级中医师指导用药。",
        "更年期后长期睡眠差。",
        {"heart_rate": 78, "bp_systolic": 128, "bp_diastolic": 78},
        [{"code": "G47.0", "name": "失眠"}],
        {"assessment": "心脾两虚证。", "disposition": "manage_locally",
         "recommendations": [{"kind": "medication", "text": "归脾汤加减", "dose": "每日1剂", "duration": "14天"}],
         "warning_signs": "胸痛、晕厥", "follow_up": "2周后复诊"},
    ),
    Scenario(
        {"name": "周建军", "sex": "male", "birth_date": "1985-12-20", "id_number": "420322198512200014"},
        "urgent", "general_surgery",
        "右下腹痛12小时",
        "转移性右下腹痛，麦氏点压痛，考虑急性阑尾炎，是否需要转诊手术？",
        "既往体健。",
        {"temperature_c": 38.1, "heart_rate": 102, "bp_systolic": 124, "bp_diastolic": 76},
        [{"code": "K35.8", "name": "急性阑尾炎"}],
        {"assessment": "急性阑尾炎可能性大。", "disposition": "urgent_transfer",
         "recommendations": "禁食，建立静脉通路，转县人民医院外科。", "warning_signs": "腹痛加剧、高热",
         "follow_up": "转诊"},
    ),
    Scenario(
        {"name": "吴秀珍", "sex": "female", "birth_date": "1950-06-18", "id_number": "420322195006180029"},
        "routine", "cardiology",
        "活动后气短、双下肢水肿1月",
        "心功能不全？心脏彩超提示EF 40%，药物方案请指导。",
        "冠心病史5年。",
        {"heart_rate": 92, "bp_systolic": 138, "bp_diastolic": 84, "spo2": 94, "weight_kg": 62},
        [{"code": "I50.9", "name": "心力衰竭"}, {"code": "I25.1", "name": "动脉硬化性心脏病"}],
        {"assessment": "慢性心力衰竭（射血分数轻度降低），NYHA II-III级。", "disposition": "follow_up_township",
         "recommendations": [{"kind": "medication", "text": "呋塞米", "dose": "20 mg qd", "duration": "1周"},
                             {"kind": "medication", "text": "沙库巴曲缬沙坦", "dose": "50 mg bid", "duration": "长期"}],
         "warning_signs": "夜间不能平卧、体重3天增加2公斤以上", "follow_up": "1周后复诊"},
    ),
    Scenario(
        {"name": "郑志刚", "sex": "male", "birth_date": "1966-02-27", "id_number": "420322196602270033"},
        "routine", "respiratory",
        "咳嗽2月，痰中带血1周",
        "胸片示右上肺结节影，是否需要进一步CT检查排除肺癌或肺结核？",
        "吸烟40年，每日1包。",
        {"temperature_c": 36.9, "heart_rate": 80, "spo2": 96, "weight_kg": 58},
        [{"code": "R04.2", "name": "咯血"}, {"code": "R91", "name": "肺部影像学异常"}],
        {"assessment": "右上肺结节，需排除肺癌及肺结核。", "disposition": "outpatient_higher",
         "recommendations": [{"kind": "investigation", "text": "胸部增强CT、痰抗酸染色"}],
         "warning_signs": "大咯血、呼吸困难", "follow_up": "检查后复诊"},
    ),
    Scenario(
        {"name": "黄丽娟", "sex": "female", "birth_date": "1990-10-05", "id_number": "420322199010050022"},
        "routine", "dermatology",
        "全身皮肤瘙痒伴红斑1周",
        "药疹还是荨麻疹？抗组胺治疗效果不佳。",
        "1周前因感冒服用头孢类药物。",
        {"temperature_c": 37.1},
        [{"code": "L27.0", "name": "药物性皮炎"}],
        {"assessment": "药疹可能性大。", "disposition": "manage_locally",
         "recommendations": "停用可疑药物，口服氯雷他定，必要时短程激素。",
         "warning_signs": "黏膜糜烂、发热、皮肤大片剥脱", "follow_up": "3天后复诊"},
    ),
    Scenario(
        {"name": "马国庆", "sex": "male", "birth_date": "1949-10-01", "id_number": "420322194910010015"},
        "urgent", "orthopedics",
        "跌倒后右髋部疼痛、不能行走4小时",
        "股骨颈骨折？X线片已上传，请判断是否需要手术。",
        "骨质疏松症。",
        {"heart_rate": 88, "bp_systolic": 150, "bp_diastolic": 90},
        [{"code": "S72.0", "name": "股骨颈骨折"}],
        {"assessment": "右股骨颈骨折（Garden III型）。", "disposition": "urgent_transfer",
         "recommendations": "制动，镇痛，转县人民医院骨科手术治疗。", "warning_signs": "胸闷、气促（警惕肺栓塞）",
         "follow_up": "转诊"},
    ),
]

# Paths through the workflow: each step is (action, who) where `who` is "author",
# "specialist" (a specialist at the facility now holding the case) or "assignee".
PATHS: list[list[str]] = [
    [],
    ["submit"],
    ["submit", "claim"],
    ["submit", "claim", "request_info"],
    ["submit", "claim", "request_info", "provide_info"],
    ["submit", "claim", "issue_advice"],
    ["submit", "claim", "issue_advice", "close"],
    ["submit", "decline"],
    ["submit", "decline", "close"],
    ["submit", "claim", "escalate"],
    ["submit", "claim", "escalate", "claim"],
    ["submit", "claim", "escalate", "claim", "issue_advice"],
    ["submit", "claim", "escalate", "claim", "issue_advice", "close"],
    ["submit", "claim", "escalate", "claim", "escalate", "claim", "issue_advice", "close"],
    ["submit", "cancel"],
    ["submit", "claim", "release"],
    ["submit", "claim", "issue_advice", "follow_up"],
    ["submit", "decline", "resubmit"],
]
