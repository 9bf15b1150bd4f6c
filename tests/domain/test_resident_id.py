"""The resident ID number's check: the standard's own example passes, and every single mistyped
digit and every swap of two neighbouring different digits is caught."""

from __future__ import annotations

from datetime import date

from referral.domain.resident_id import birth_date_of, check_character, check_fails

EXAMPLE = "11010519491231002X"  # GB 11643-1999's example


def test_the_standards_example():
    assert check_character(EXAMPLE[:17]) == "X" and not check_fails(EXAMPLE)
    assert birth_date_of(EXAMPLE) == date(1949, 12, 31)
    assert birth_date_of("110105194902300021") is None  # 30 February


def test_every_single_mistyped_digit_is_caught():
    for i in range(17):
        for digit in "0123456789":
            if digit != EXAMPLE[i]:
                assert check_fails(EXAMPLE[:i] + digit + EXAMPLE[i + 1:]), (i, digit)


def test_every_swap_of_neighbouring_digits_is_caught():
    number = "420322195002030023"
    for i in range(16):
        a, b = number[i], number[i + 1]
        if a != b:
            assert check_fails(number[:i] + b + a + number[i + 2:]), i
