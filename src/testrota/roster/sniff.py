"""Columns no header alias names, checked for values that look like a field we know. Pure.

A clerk's "TEL." or "手提" column, a second phone column, or an unlabelled column of ID numbers
would otherwise be dropped without a word. :func:`sniff_columns` says which of those columns
hold, for the most part, mobile numbers, resident ID numbers or employee numbers already on the
roster, so the import can warn and name the column as the clerk wrote it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from testrota.roster.numbers import clean_typed
from testrota.roster.phones import check_phone
from testrota.roster.validate import id_number_problem

SHARE = 0.8  # of a column's non-empty cells, for it to look like a field
MAX_COLUMNS = 200  # unrecognised columns looked at per sheet: a real roster has a handful
MAX_WARNINGS = 100  # in all: a file of 10,000 look-alike columns has said enough by then
# An employee number as short as an age or a head-count is no evidence: 35 may be both.
MIN_EMPLOYEE_NO_LENGTH = 3
_ID18 = re.compile(r"\d{17}[\dX]")
_ID15 = re.compile(r"\d{15}")  # first-generation ID cards, still in old files

LABELS = {
    "phone": "mobile phone numbers",
    "id_number": "ID numbers",
    "employee_no": "employee numbers already on the roster",
}


@dataclass(frozen=True)
class LookAlike:
    """An unrecognised column whose values look like ``field``."""

    column: str  # the column letter Excel shows (F, AA)
    header: str  # the header as the clerk wrote it ("" when there is none)
    field: str  # phone | id_number | employee_no
    share: float  # of the non-empty cells looked at
    cells: int  # non-empty cells looked at

    @property
    def name(self) -> str:
        """How a person would point at the column: its header, else its letter."""
        return self.header or f"column {self.column}"


def is_mobile(cell: str, region: str) -> bool:
    return check_phone(cell, region)[0] is not None


def is_id_number(cell: str) -> bool:
    """A mainland resident ID number: 18 characters with a right check digit, or 15 digits."""
    value = unicodedata.normalize("NFKC", cell).upper().replace(" ", "")
    if _ID18.fullmatch(value):
        return id_number_problem(value) is None
    return _ID15.fullmatch(value) is not None


def sniff_column(
    cells: Iterable[str], tests: Sequence[tuple[str, Callable[[str], bool]]], share: float
) -> tuple[str, float, int] | None:
    """``(field, share, non-empty cells)`` of the first test most cells pass, else None."""
    values = [c for c in cells if c]
    if not values:
        return None
    allowed = len(values) - share * len(values)  # failures a match may have
    for name, test in tests:
        failed = 0
        for value in values:
            if not test(value):
                failed += 1
                if failed > allowed:  # a column of names or notes fails at once
                    break
        else:
            return name, (len(values) - failed) / len(values), len(values)
    return None


def sniff_columns(
    columns: Iterable[tuple[str, str, Sequence[str]]],
    *,
    region: str,
    employee_nos: Collection[str],
    share: float = SHARE,
) -> list[LookAlike]:
    """The columns whose non-empty cells, ``share`` of them or more, parse as one field.

    Args:
        columns: ``(column letter, header text, cells)`` of the columns no alias names, as
            ``reader.Sheet.unmatched_columns`` holds them.
        region: the phone region numbers without a country code are read in.
        employee_nos: the employee numbers on the roster (stored and in this file).
        share: the least share of non-empty cells that must parse.
    """

    def is_employee_no(cell: str) -> bool:
        value = clean_typed(cell)
        return len(value) >= MIN_EMPLOYEE_NO_LENGTH and value in employee_nos

    tests: list[tuple[str, Callable[[str], bool]]] = [
        ("phone", lambda cell: is_mobile(cell, region)),
        ("id_number", is_id_number),
        ("employee_no", is_employee_no),
    ]
    found: list[LookAlike] = []
    for column, header, cells in columns:
        hit = sniff_column(cells, tests, share)
        if hit is not None:
            field, fraction, count = hit
            found.append(LookAlike(column, header, field, round(fraction, 4), count))
    return found


_RENAME = {"phone": "手机号", "id_number": "身份证号", "employee_no": "共同居住职工工号"}


@dataclass(frozen=True)
class ColumnWarning:
    """Something about a file's columns the clerk should check before applying it."""

    kind: str  # unrecognised_column | no_phone_column
    sheet: str
    message: str  # in English, for the CLI and the log
    # unrecognised_column: the header as written, its letter, what it looks like, how much
    column: str | None = None
    letter: str | None = None
    looks_like: str | None = None  # phone | id_number | employee_no
    share: float | None = None
    # no_phone_column: the sheet's people without a phone, of how many
    people: int | None = None
    of: int | None = None


def column_warnings(
    sheets: Iterable[Any],
    records: Iterable[Any],
    *,
    region: str,
    employee_nos: Collection[str],
) -> list[ColumnWarning]:
    """What an import says about a file's columns before anything is written.

    An unrecognised column that looks like a known field (:func:`sniff_columns`) is named as
    the clerk wrote it; a sheet without a phone column says how many of its people cannot get
    texts (stored numbers are kept, so those are the people without one).

    Args:
        sheets: the read sheets (``reader.Sheet``: name, columns, unmatched_columns).
        records: the people the import would store (``PersonRecord``, stored values kept).
        region: the phone region.
        employee_nos: the employee numbers on the roster (stored and in this file).
    """
    without_phone: dict[str, int] = {}
    people: dict[str, int] = {}
    for record in records:
        people[record.sheet] = people.get(record.sheet, 0) + 1
        if record.phone is None:
            without_phone[record.sheet] = without_phone.get(record.sheet, 0) + 1
    out: list[ColumnWarning] = []
    for sheet in sheets:
        if len(out) >= MAX_WARNINGS:
            break
        for hit in sniff_columns(
            sheet.unmatched_columns[:MAX_COLUMNS], region=region, employee_nos=employee_nos
        ):
            out.append(
                ColumnWarning(
                    kind="unrecognised_column",
                    sheet=sheet.name,
                    column=hit.name,
                    letter=hit.column,
                    looks_like=hit.field,
                    share=hit.share,
                    message=(
                        f"sheet {sheet.name!r}: {hit.name!r} (column {hit.column}) was not "
                        f"imported, but {hit.share:.0%} of its values look like "
                        f"{LABELS[hit.field]}; if that "
                        f"is what it holds, rename its header to {_RENAME[hit.field]} and import "
                        "again"
                    ),
                )
            )
        if "phone" not in sheet.columns and people.get(sheet.name):
            missing = without_phone.get(sheet.name, 0)
            out.append(
                ColumnWarning(
                    kind="no_phone_column",
                    sheet=sheet.name,
                    people=missing,
                    of=people[sheet.name],
                    message=(
                        f"sheet {sheet.name!r} has no phone column: {missing} of its "
                        f"{people[sheet.name]} people cannot get reminder texts"
                    ),
                )
            )
    return out[:MAX_WARNINGS]
