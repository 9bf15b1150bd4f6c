"""Routing rules against an in-memory directory."""

from __future__ import annotations

import pytest

from referral.domain.errors import RoutingError
from referral.domain.routing import FacilityRef, default_rules, next_facility, parse_rules
from referral.domain.vocabulary import FacilityKind as K
from referral.domain.vocabulary import Tier as T
from referral.domain.vocabulary import Urgency as U

BUREAU = FacilityRef(1, T.COUNTY, K.HEALTH_BUREAU, "卫健局")
PEOPLES = FacilityRef(2, T.COUNTY, K.GENERAL_HOSPITAL, "人民医院")
TCM = FacilityRef(3, T.COUNTY, K.TCM_HOSPITAL, "中医医院")
MCH = FacilityRef(4, T.COUNTY, K.MCH_HOSPITAL, "妇幼保健院")
TOWNSHIP = FacilityRef(5, T.TOWNSHIP, K.HEALTH_CENTER, "城关镇卫生院")
VILLAGE = FacilityRef(6, T.VILLAGE, K.VILLAGE_CLINIC, "村卫生室")
UNION = FacilityRef(7, T.PROVINCIAL, K.PARTNER_HOSPITAL, "协和医院")
TAIHE = FacilityRef(8, T.PROVINCIAL, K.PARTNER_HOSPITAL, "太和医院")
TONGJI = FacilityRef(9, T.PROVINCIAL, K.PARTNER_HOSPITAL, "同济医院")


class Directory:
    parents = {VILLAGE.id: TOWNSHIP, TOWNSHIP.id: BUREAU}
    partners = {(PEOPLES.id, "cardiology"): UNION, (PEOPLES.id, None): TAIHE, (MCH.id, None): TONGJI}

    def parent(self, f):
        return self.parents.get(f.id)

    def county_facility(self, f, kind):
        return {K.GENERAL_HOSPITAL: PEOPLES, K.TCM_HOSPITAL: TCM, K.MCH_HOSPITAL: MCH}.get(kind)

    def partner(self, f, specialty):
        return self.partners.get((f.id, specialty)) or self.partners.get((f.id, None))


D = Directory()


@pytest.mark.parametrize("origin,specialty,urgency,expected", [
    (VILLAGE, "cardiology", U.ROUTINE, TOWNSHIP),
    (VILLAGE, "dermatology", U.EMERGENCY, TOWNSHIP),      # no skip for this specialty
    (VILLAGE, "cardiology", U.EMERGENCY, PEOPLES),        # emergency skips the township
    (VILLAGE, "obstetrics", U.EMERGENCY, MCH),
    (TOWNSHIP, "obstetrics", U.ROUTINE, MCH),
    (TOWNSHIP, "pediatrics", U.URGENT, MCH),
    (TOWNSHIP, "tcm", U.ROUTINE, TCM),
    (TOWNSHIP, "cardiology", U.ROUTINE, PEOPLES),
    (TOWNSHIP, "internal_medicine", U.EMERGENCY, PEOPLES),
    (PEOPLES, "cardiology", U.ROUTINE, UNION),
    (PEOPLES, "neurology", U.ROUTINE, TAIHE),             # the catch-all partnership
    (MCH, "pediatrics", U.ROUTINE, TONGJI),
])
def test_next_facility(origin, specialty, urgency, expected):
    target, rule = next_facility(origin, specialty, urgency, D)
    assert target == expected
    assert rule.name


def test_top_tier_has_nowhere_to_go():
    with pytest.raises(RoutingError, match="top tier"):
        next_facility(UNION, "cardiology", U.ROUTINE, D)


def test_missing_partner_is_a_clear_error():
    with pytest.raises(RoutingError, match="no facility"):
        next_facility(TCM, "tcm", U.ROUTINE, D)


def test_rules_file_is_validated():
    assert default_rules()
    with pytest.raises(ValueError, match="unknown target"):
        parse_rules('[[rule]]\nname = "x"\nfrom_tier = "village"\ntarget = "moon"\n')
    with pytest.raises(ValueError, match="needs a kind"):
        parse_rules('[[rule]]\nname = "x"\nfrom_tier = "township"\ntarget = "county"\n')


def test_rules_are_data_first_match_wins():
    rules = parse_rules(
        '[[rule]]\nname = "all tcm"\nfrom_tier = "township"\ntarget = "county"\nkind = "tcm_hospital"\n'
    )
    target, _ = next_facility(TOWNSHIP, "cardiology", U.ROUTINE, D, rules)
    assert target == TCM
