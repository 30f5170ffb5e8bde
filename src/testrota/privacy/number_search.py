"""Finding people by a phone or ID number typed in a search box, without leaking the number.

A reader who sees numbers masked (``privacy.mask_for_roles``) must not be able to learn them by
searching: if ``138`` matched and ``139`` did not, a masked phone would come back a digit at a
time (it did, in 47 requests). For them a number matches only whole, after the same
normalisation the roster applies (spaces, dashes, full-width digits, the country code), so every
wrong guess gives the same answer: nothing. Readers who see numbers in full keep finding a phone
by any run of four or more of its digits.
"""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import col

from testrota.compliance.results_parse import normalize_id_number
from testrota.roster.phones import normalize_phone

_FULL_WIDTH = str.maketrans("０１２３４５６７８９", "0123456789")
# An ID number as typed: letters and digits (mainland IDs, passports, Hong Kong and Taiwan IDs),
# long enough not to be an employee number's prefix by accident.
_ID_LIKE = re.compile(r"^(?=.*\d)[0-9A-Z()]{8,32}$")


def digits(text: str) -> str:
    return re.sub(r"\D", "", text.translate(_FULL_WIDTH))


def phone_condition(column: Any, q: str, *, masked: bool, region: str) -> Any | None:
    """A condition on ``column`` (E.164 phones) for the search text ``q``, or None."""
    whole = normalize_phone(q, region)
    if masked:
        return col(column) == whole if whole else None
    run = digits(q)
    if len(run) < 4:
        return None
    # phones are stored in E.164; a search for 138 1234 5678 matches +8613812345678
    return col(column).like(f"%{run}%")


def id_number_condition(column: Any, q: str) -> Any | None:
    """A condition on ``column`` (ID numbers) for ``q``: a whole ID number, for every reader."""
    value = normalize_id_number(q)
    return col(column) == value if _ID_LIKE.match(value) else None
