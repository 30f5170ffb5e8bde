"""The rules of a pooled tube (混管), as pure functions over plain data.

A tube's barcode is used once, on one day, at one site; it takes up to ``ratio`` swabs (1, 5,
10 or 20) and closes by itself at its ratio. A person is in one open tube at a time; people of
a category tested one per tube go only into single tubes; and while the policy keeps grid units
apart a tube takes people of one grid unit only, so a positive tube points at one unit.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

from testrota.codes import looks_like_code
from testrota.errors import UserError
from testrota.policy import Policy
from testrota.statuses import TUBE_RATIOS, TubeStatus

MAX_CODE_LENGTH = 40
_CODE = re.compile(r"[0-9A-Za-z][0-9A-Za-z_-]*")


def clean_tube_code(text: str) -> str:
    """A tube's barcode as scanned or typed: full-width forms folded, spaces trimmed."""
    code = unicodedata.normalize("NFKC", text or "").strip()
    if not code:
        raise UserError("no tube code given")
    if looks_like_code(code):
        raise UserError("that is a personal code, not a tube: scan the barcode on the tube")
    if len(code) > MAX_CODE_LENGTH or not _CODE.fullmatch(code):
        raise UserError(
            "{code!r} is not a tube code: letters, digits, '-' and '_', at most {n}",
            code=code[:MAX_CODE_LENGTH],
            n=MAX_CODE_LENGTH,
        )
    return code


def surge_on(day: date, policy: Policy) -> bool:
    return any(rule.start <= day <= rule.end for rule in policy.testing.surge)


def ratio_for(day: date, requested: int | None, policy: Policy) -> int:
    """The swabs a tube opened on ``day`` takes: as asked, else the policy's (its surge
    override while a surge rule covers the day)."""
    if requested is not None:
        if requested not in TUBE_RATIOS:
            raise UserError("a tube takes 1, 5, 10 or 20 swabs, not {ratio}", ratio=requested)
        return requested
    pooling = policy.testing.pooling
    if pooling.surge_ratio is not None and surge_on(day, policy):
        return pooling.surge_ratio
    return pooling.default_ratio


@dataclass(frozen=True)
class TubeState:
    code: str
    site_code: str
    day: date
    ratio: int
    status: str
    grid_unit: str  # of its members ("" while empty)
    members: int
    opened_at: datetime


@dataclass(frozen=True)
class Candidate:
    employee_no: str
    grid_unit: str
    category: str | None


def refuse_reopen(existing: TubeState, day: date, site: str) -> bool:
    """Whether ``tube open`` of a code already used is a harmless repeat (True) — the same
    tube, open, today, at this site — or a UserError saying why the code cannot be used."""
    if existing.day != day:
        raise UserError(
            "tube {code} was used on {day}: a tube code is used on one day only; take a new tube",
            code=existing.code,
            day=existing.day.isoformat(),
        )
    if existing.site_code != site:
        raise UserError(
            "tube {code} is already open at {site}", code=existing.code, site=existing.site_code
        )
    if existing.status != TubeStatus.OPEN:
        raise UserError(
            "tube {code} is already {status}: take a new tube",
            code=existing.code,
            status=existing.status,
        )
    return True


def check_member(
    tube: TubeState,
    person: Candidate,
    site: str | None,
    other_open_tube: str | None,
    policy: Policy,
) -> None:
    """Refuse (UserError) putting ``person``'s swab into ``tube``; None when it may go in.

    ``other_open_tube`` is the code of another open tube the person is already in.
    """
    if tube.status != TubeStatus.OPEN:
        raise UserError(
            "tube {code} is {status}: open a new tube", code=tube.code, status=tube.status
        )
    if site is not None and site.casefold() != tube.site_code.casefold():
        raise UserError(
            "tube {code} is at site {tube_site}, not {site}",
            code=tube.code,
            tube_site=tube.site_code,
            site=site,
        )
    if other_open_tube is not None:
        raise UserError(
            "{employee_no} is already in open tube {other}: one open tube at a time",
            employee_no=person.employee_no,
            other=other_open_tube,
        )
    if tube.members >= tube.ratio:
        raise UserError(
            "tube {code} is full ({n} of {ratio}): open a new tube",
            code=tube.code,
            n=tube.members,
            ratio=tube.ratio,
        )
    single = policy.testing.pooling.single_categories
    if tube.ratio > 1 and person.category is not None and person.category in single:
        raise UserError(
            "{employee_no} ({category}) is tested one per tube: open a single tube (ratio 1)",
            employee_no=person.employee_no,
            category=person.category,
        )
    if (
        policy.testing.keep_grid_units_apart
        and tube.members > 0
        and tube.grid_unit != person.grid_unit
    ):
        raise UserError(
            "{employee_no} is of grid unit {unit!r} and tube {code} holds {tube_unit!r}: "
            "grid units are kept apart; use another tube",
            employee_no=person.employee_no,
            unit=person.grid_unit,
            code=tube.code,
            tube_unit=tube.grid_unit,
        )
