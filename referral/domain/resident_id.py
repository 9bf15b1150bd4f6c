"""The resident identity number (居民身份证号码, GB 11643-1999).

Eighteen characters: a six-digit address code, the birth date as YYYYMMDD, a three-digit
sequence (odd for men, even for women) and a check character, ISO 7064 MOD 11-2 over the first
seventeen. Nearly every mistyped digit or swapped pair breaks the check, so a number is checked
where it is typed: a wrong number would join one patient's referrals to another's record.
"""

from __future__ import annotations

import re
from datetime import date

FORMAT = re.compile("[0-9]{17}[0-9X]")  # upper-case X
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARACTERS = "10X98765432"


def check_character(first17: str) -> str:
    """The check character for the first seventeen digits."""
    return CHECK_CHARACTERS[sum(int(d) * w for d, w in zip(first17, WEIGHTS)) % 11]


def with_check_character(first17: str) -> str:
    return first17 + check_character(first17)


def birth_date_of(number: str) -> date | None:
    """The birth date the number holds (digits 7 to 14), or None when they are not a date."""
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def check_fails(number: str) -> bool:
    """Whether an 18-character number's last character is not its check character."""
    return check_character(number[:17]) != number[17]
