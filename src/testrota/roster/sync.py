"""The pure part of an import: compare the file's people with the stored ones.

:func:`diff_roster` takes plain data (validated records, their risk matches, the stored people)
and returns what would change. It touches no database, so the CLI's ``--dry-run``, the web
preview and the real import all see the same numbers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, NamedTuple

from testrota.risk.matcher import RiskMatch, storage_fields, with_person_override
from testrota.roster.validate import PersonRecord

# Fields that come from the roster; a difference in any of them is an update.
ROSTER_FIELDS: tuple[str, ...] = (
    "name",
    "department",
    "grid_unit",
    "role",
    "phone",
    "phone_valid",
    "id_number",
    "person_type",
    "host_employee_no",
    "language",
    "shift",
    "vaccination",
    "booster",
    "category_column",
)
# Fields derived by the matcher; they change when the vocabulary or an override changes.
RISK_FIELDS: tuple[str, ...] = ("risk_category", "risk_categories", "matched_by", "matched_text")
STORED_FIELDS: tuple[str, ...] = ROSTER_FIELDS + RISK_FIELDS
_roster_tuple = attrgetter(*ROSTER_FIELDS)


class StoredPerson(NamedTuple):
    """A stored person as the diff needs it (a tuple: 100,000 of them are built per import)."""

    id: int
    employee_no: str
    active: bool
    override_category: str | None
    values: tuple[Any, ...]  # STORED_FIELDS, as stored (SQLite booleans may be 0/1)
    override_reason: str | None = None


@dataclass
class RosterDiff:
    added: list[dict[str, Any]] = field(default_factory=list)
    updated: list[tuple[int, str, dict[str, tuple[Any, Any]]]] = field(default_factory=list)
    unchanged: int = 0
    deactivated: list[tuple[int, str]] = field(default_factory=list)
    high_risk_by_category: Counter[str] = field(default_factory=Counter)
    unmatched_roles: Counter[str] = field(default_factory=Counter)

    @property
    def high_risk(self) -> int:
        return sum(self.high_risk_by_category.values())


def risk_values(
    match: RiskMatch, override_category: str | None, override_reason: str | None = None
) -> dict[str, Any]:
    """The stored classification of one person; a per-person HR override wins over everything."""
    return storage_fields(with_person_override(match, override_category, override_reason))


def stored_values(record: PersonRecord, risk: Mapping[str, Any]) -> tuple[Any, ...]:
    """What a person's row holds after importing ``record``, in ``STORED_FIELDS`` order."""
    return (*_roster_tuple(record), *(risk[name] for name in RISK_FIELDS))


def match_key(record: PersonRecord) -> tuple[str, str, str | None]:
    return (record.role, record.department, record.category_column)


def diff_roster(
    records: Iterable[PersonRecord],
    matches: Mapping[tuple[str, str, str | None], RiskMatch],
    stored: Mapping[str, StoredPerson],
    *,
    full: bool,
    seen_employee_nos: Collection[str],
) -> RosterDiff:
    """What importing ``records`` would change.

    ``seen_employee_nos`` holds every employee number in the file, including rows rejected for an
    error: a person whose row merely has a typo is still on the roster and must not be
    deactivated by ``full``.
    """
    diff = RosterDiff()
    # Most people share their classification with others of the same title and department.
    plain_risk: dict[tuple[str, str, str | None], dict[str, Any]] = {}
    for record in records:
        prior = stored.get(record.employee_no)
        key = match_key(record)
        if prior is not None and prior.override_category is not None:
            risk = risk_values(matches[key], prior.override_category, prior.override_reason)
        else:
            risk = plain_risk.get(key) or plain_risk.setdefault(
                key, risk_values(matches[key], None)
            )
        if risk["risk_category"]:
            diff.high_risk_by_category[risk["risk_category"]] += 1
        elif risk["matched_by"] is None and record.role:
            diff.unmatched_roles[record.role] += 1
        values = stored_values(record, risk)
        if prior is None:
            row = dict(zip(STORED_FIELDS, values, strict=True))
            row["employee_no"] = record.employee_no
            row["phone_raw"] = record.phone_raw
            diff.added.append(row)
        elif prior.values == values and prior.active:
            diff.unchanged += 1
        else:
            changes = {
                name: (_as_stored(name, old), new)
                for name, old, new in zip(STORED_FIELDS, prior.values, values, strict=True)
                if old != new
            }
            if not prior.active:
                changes["active"] = (False, True)
            diff.updated.append((prior.id, record.employee_no, changes))
    if full:
        seen = set(seen_employee_nos)
        diff.deactivated = sorted(
            (p.id, p.employee_no) for p in stored.values() if p.active and p.employee_no not in seen
        )
    return diff


_BOOL_FIELDS = frozenset({"phone_valid", "booster"})


def _as_stored(name: str, value: Any) -> Any:
    """SQLite hands booleans back as 0/1; the audit trail should say False/True."""
    return bool(value) if name in _BOOL_FIELDS and value is not None else value


def deactivation_guard(
    to_deactivate: int, active: int, max_share: float, force: bool
) -> str | None:
    """The refusal message when ``--full`` would deactivate too many people, else None."""
    if force or active == 0 or to_deactivate <= max_share * active:
        return None
    share = to_deactivate / active
    return (
        f"this import would deactivate {to_deactivate} of {active} active people ({share:.0%}), "
        f"more than the {max_share:.0%} allowed by policy import.max_deactivate_share; "
        "if the file really is the whole roster, run again with --force, "
        "otherwise import it without --full"
    )
