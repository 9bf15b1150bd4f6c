"""Whose queue shows a waiting case (`domain/queue.py`)."""

from referral.domain.queue import queued_specialties, shows_in_queue


def test_a_specialist_sees_their_specialties_and_a_general_practitioner_everything():
    assert queued_specialties(["specialist"], ["cardiology", "internal_medicine"]) == {"cardiology", "internal_medicine"}
    assert queued_specialties(["specialist"], ["general_practice"]) is None
    assert shows_in_queue(["specialist"], ["cardiology"], "cardiology")
    assert not shows_in_queue(["specialist"], ["cardiology"], "obstetrics")
    assert shows_in_queue(["specialist"], ["general_practice"], "obstetrics")


def test_someone_who_is_not_a_specialist_has_no_queue():
    assert queued_specialties(["doctor"], ["general_practice"]) == frozenset()
    assert not shows_in_queue(["admin"], ["cardiology"], "cardiology")
    assert not shows_in_queue([], [], "cardiology")
