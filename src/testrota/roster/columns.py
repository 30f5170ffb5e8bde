"""Header aliases (``config/roster_columns.yaml``) and the one way header texts are compared.

HR files spell the same column many ways: 工号, 工號, "工 号", "Employee ID",
"ＥＭＰＬＯＹＥＥ　ＩＤ".
Every comparison goes through :func:`normalize_header`, so the YAML lists each name once per
wording, not once per spelling.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from testrota.errors import UserError, Words
from testrota.policy import read_yaml

ROSTER_FIELDS: tuple[str, ...] = (
    "employee_no",
    "name",
    "department",
    "grid_unit",
    "role",
    "phone",
    "id_number",
    "person_type",
    "host_employee_no",
    "language",
    "shift",
    "vaccination",
    "booster",
    "notify_channel",
    "wecom_userid",
    "category",
    "seq",
    # the group's unit tree (testrota.org): a path column, or level columns above the department
    "unit_path",
    "company",
    "plant",
    "on_site",  # lives on site (驻厂): tested daily when their unit is in onsite mode
    "key_post",  # holds a key post (关键岗位): the daily report checks each was tested
)
REQUIRED_FIELDS: tuple[str, ...] = ("employee_no", "name")

# A note in brackets after a header: 手机号（必填）, Phone (mobile), 工号【8位】.
_NOTE_RE = re.compile(r"[\(（\[【〔<《][^\)）\]】〕>》]*[\)）\]】〕>》]")


@lru_cache(maxsize=1)
def _t2s() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional Chinese characters to Simplified (other text is unchanged)."""
    if text.isascii():
        return text
    return str(_t2s().convert(text))


@lru_cache(maxsize=8192)
def normalize_header(text: str) -> str:
    """The comparison key of a header or a short label.

    Ignores case, whitespace (including the ideographic space), full-width forms and
    punctuation or symbols, and reads Traditional characters as Simplified:
    ``"工 號："``, ``"工号"`` and ``"工號"`` all give ``"工号"``; ``"Employee-ID"`` gives
    ``"employeeid"``.
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    kept = "".join(ch for ch in folded if unicodedata.category(ch)[0] in "LNM")
    return to_simplified(kept)


def strip_note(text: str) -> str:
    """The header without bracketed notes: ``"手机号（必填）"`` -> ``"手机号"``."""
    return _NOTE_RE.sub("", text)


class HeaderMatcher:
    """Finds the field a header text names, given ``field -> aliases``.

    A field's earlier aliases have a higher priority (a lower number), so when two columns
    name the same field the caller can keep the better one.
    """

    def __init__(self, aliases: Mapping[str, Sequence[str]]) -> None:
        self.aliases = aliases  # to name a field as a clerk would head it (header_words)
        self._keys: dict[str, tuple[str, int]] = {}
        for field, names in aliases.items():
            for priority, alias in enumerate(names):
                key = normalize_header(alias)
                if key:
                    self._keys.setdefault(key, (field, priority))

    def match(self, text: str) -> tuple[str, int] | None:
        """``(field, priority)`` for a header text, or None when no alias matches."""
        if not text:
            return None
        hit = self._keys.get(normalize_header(text))
        if hit is None:
            bare = strip_note(text)
            if bare != text:
                hit = self._keys.get(normalize_header(bare))
        return hit


_HAN_RE = re.compile(r"[\u4e00-\u9fff]")


def header_words(field: str, aliases: Sequence[str]) -> Words:
    """How a clerk heads ``field``'s column, for a message saying which column is missing:
    its first Chinese alias (工号) and its first English one (Employee ID). A header named so
    is recognised, which our field codes (employee_no) are not; a field with no alias in one
    language is named by the other's, and one with none at all by its code."""
    chinese = next((a for a in aliases if _HAN_RE.search(a)), None)
    english = next((a for a in aliases if a.isascii()), None)
    return Words(english or chinese or field, chinese or english or field)


def load_roster_columns(config_dir: Path) -> dict[str, tuple[str, ...]]:
    """Read ``roster_columns.yaml``: ``field -> aliases``, checked so a typo cannot hide."""
    return load_column_aliases(
        config_dir / "roster_columns.yaml",
        ROSTER_FIELDS,
        required=REQUIRED_FIELDS,
        example="[工号, Employee ID]",
    )


def load_column_aliases(
    path: Path, fields: Sequence[str], *, required: Sequence[str] = (), example: str = ""
) -> dict[str, tuple[str, ...]]:
    """Read a ``field: [alias, ...]`` file (roster or result columns).

    Refuses (UserError) a file that is not a mapping, an unknown field, a field without
    aliases, a missing required field, an alias that normalises to nothing, and one alias
    listed under two fields.
    """
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise UserError("{path}: expected 'field: [alias, ...]' lines, one per field", path=path)
    result: dict[str, tuple[str, ...]] = {}
    owner: dict[str, tuple[str, str]] = {}
    for field, names in raw.items():
        if field not in fields:
            raise UserError(
                "{path}: unknown field {field!r}; the fields are {fields}",
                path=path,
                field=field,
                fields=", ".join(fields),
            )
        if isinstance(names, str | int | float):
            names = [names]
        if not isinstance(names, list) or not names:
            raise UserError(
                "{path}: {field} needs a list of header names, e.g. {example}",
                path=path,
                field=field,
                example=example,
            )
        aliases: list[str] = []
        for name in names:
            if isinstance(name, bool):
                # YAML reads a bare No/Yes/On/Off as a boolean.
                raise UserError(
                    "{path}: {field}: {name!r} is not a header name; put words such as "
                    '"No" or "Yes" in quotes',
                    path=path,
                    field=field,
                    name=name,
                )
            if not isinstance(name, str | int | float):
                raise UserError(
                    "{path}: {field}: {name!r} is not a header name",
                    path=path,
                    field=field,
                    name=name,
                )
            alias = str(name).strip()
            key = normalize_header(alias)
            if not key:
                raise UserError(
                    "{path}: {field}: {alias!r} has no letters or digits, so it cannot be matched",
                    path=path,
                    field=field,
                    alias=alias,
                )
            if key in owner and owner[key][0] != field:
                other_field, other_alias = owner[key]
                raise UserError(
                    "{path}: {alias!r} ({field}) and {other_alias!r} ({other_field}) are the "
                    "same header once case, spaces and punctuation are ignored; keep one",
                    path=path,
                    alias=alias,
                    field=field,
                    other_alias=other_alias,
                    other_field=other_field,
                )
            owner.setdefault(key, (field, alias))
            if alias not in aliases:
                aliases.append(alias)
        result[field] = tuple(aliases)
    missing = [f for f in required if f not in result]
    if missing:
        raise UserError(
            "{path}: no aliases for {missing}; these columns are required",
            path=path,
            missing=", ".join(missing),
        )
    return result
