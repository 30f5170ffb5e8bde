"""A roster import's parts: read the file, compare it with the stored people, write the
difference.

The use case (:func:`testrota.actions.roster.import_roster`) runs them in one transaction with
the audit events, so the CLI's ``--dry-run``, the web preview and the real import see the same
numbers; :class:`ImportReport` is what they all show.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table
from sqlmodel import Session

from testrota.auth.stale import StaleScope
from testrota.db import tables
from testrota.db.bulk import bulk_insert_columns, bulk_update, fetch_raw
from testrota.db.models import RosterImport
from testrota.errors import Words
from testrota.policy import Policy
from testrota.roster.sniff import ColumnWarning
from testrota.roster.sync import (
    ADDED_NO,
    CLEARABLE,
    STORED_FIELDS,
    UNIT_FIELDS,
    RosterDiff,
    StoredPerson,
    deactivation_guard,
    diff_roster,
    keep_absent_fields,
    match_key,
    unit_key,
)
from testrota.roster.validate import RowError
from testrota.scheduling.release import Holder, Released, release_appointments

if TYPE_CHECKING:
    from testrota.org.config import OrgConfig
    from testrota.risk.vocabulary import Vocabulary
    from testrota.roster.reader import Workbook

PERSON: Table = tables.PERSON
_NAME_AT = STORED_FIELDS.index("name")
PREVIEW_LIMIT = 200  # employee numbers per kind of change in the report's preview


@dataclass(frozen=True)
class SheetRead:
    name: str
    header_row: int  # as Excel numbers it


@dataclass(frozen=True)
class SkippedSheet:
    name: str
    reason: str  # in English
    template: str = ""  # the reason as a template and its parameters, for a page
    params: dict[str, str | int | Words] = field(default_factory=dict)


@dataclass(frozen=True)
class RoleCount:
    role: str
    count: int


@dataclass(frozen=True)
class PersonUpdate:
    employee_no: str
    changes: dict[str, list[Any]]  # field -> [old, new]


@dataclass(frozen=True)
class ClearedField:
    """A field that empty cells clear for some people ("clears the ID number of 3 people")."""

    field: str
    label: str  # the field as the preview names it, in English
    people: int
    employee_nos: list[str]  # the first of them
    message: str


@dataclass(frozen=True)
class ChangePreview:
    """A bounded sample of what changes, for the web preview and the CLI table."""

    added: list[str] = field(default_factory=list)
    updated: list[PersonUpdate] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)
    cleared: list[ClearedField] = field(default_factory=list)


@dataclass(frozen=True)
class ImportReport:
    """What an import did, or would do (``dry_run``): the contract of ``import --json``."""

    file: str
    sha256: str
    dry_run: bool
    full: bool
    rows: int  # data rows seen
    added: int
    updated: int
    unchanged: int
    deactivated: int
    skipped: int  # rows that did not become a person (see errors)
    high_risk: int
    high_risk_by_category: dict[str, int]
    unmatched_roles: list[RoleCount]  # the commonest titles no rule matched
    sheets: list[SheetRead]
    skipped_sheets: list[SkippedSheet]
    errors: list[RowError]  # row is the row number Excel shows
    warnings: list[ColumnWarning]
    changes: ChangePreview
    released: int = 0  # coming appointments of leavers and of people no longer high-risk
    released_texts: int = 0  # their pending reminders cancelled
    import_id: int | None = None  # the RosterImport written (None on a dry run)
    # Newcomers in a week already planned get its earliest slots (scheduling's report of the
    # booking); None when nothing was added or the week is not planned yet.
    midweek: dict[str, Any] | None = None
    # Supervisors' departments and units nobody on the roster is in after this import, with
    # their likely new names (testrota.auth.stale); empty on a dry run.
    stale_scopes: list[StaleScope] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """The counts kept with the import record and its audit event."""
        return {
            "rows": self.rows,
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "deactivated": self.deactivated,
            "skipped": self.skipped,
            "high_risk": self.high_risk,
            "released": self.released,
        }


def read_roster(
    path: Path, *, config_dir: Path, policy: Policy, sheet: str | None = None
) -> Workbook:
    """Read the file (every sheet, or ``sheet``) with the roster's column aliases and the
    policy's size limits; raises UserError on a file that cannot be read as a roster."""
    from testrota.roster.columns import load_roster_columns
    from testrota.roster.reader import read_workbook

    return read_workbook(
        path,
        load_roster_columns(config_dir),
        required=("employee_no", "name"),
        limits=policy.imports,
        sheet=sheet,
    )


@dataclass
class Comparison:
    """The file against the stored people: what an import would write."""

    workbook: Workbook
    diff: RosterDiff
    errors: list[RowError]
    report: ImportReport
    active: int  # active people before the import
    stored: int = 0  # people stored before the import, active or not


def compare_roster(
    session: Session,
    workbook: Workbook,
    *,
    policy: Policy,
    vocab: Vocabulary,
    full: bool,
    force: bool,
    dry_run: bool,
) -> Comparison:
    """Validate and match the file's people and compare them with the stored ones, in
    ``session``; refuses (UserError) a ``full`` import that would deactivate more than the
    policy's share of the active people, unless ``force``."""
    from testrota.risk.matcher import match_many
    from testrota.risk.service import load_role_overrides
    from testrota.roster.sniff import column_warnings
    from testrota.roster.validate import validate_workbook

    seen = set().union(*(map(str.strip, s.data.get("employee_no", ())) for s in workbook.sheets))
    stored = _load_stored(session)
    # the active people's names, for a row refused as one of them with its zeros lost
    known = {no: p.values[_NAME_AT] for no, p in stored.items() if p.active}
    former = {no: p.values[_NAME_AT] for no, p in stored.items() if not p.active}
    result = validate_workbook(workbook, policy, known_employee_nos=known, former=former)
    for matched in result.lookalikes.values():
        seen.update(matched)  # a refused row's person is still on the roster: --full keeps them
    records = keep_absent_fields(result.records, stored, result.present)
    overrides = load_role_overrides(session)
    matches = match_many(set(map(match_key, records)), vocab, overrides)
    diff = diff_roster(records, matches, stored, full=full, seen_employee_nos=seen)
    warnings = column_warnings(
        workbook.sheets,
        records,
        region=policy.phone_region,
        employee_nos=stored.keys() | seen,
    )
    refusal = deactivation_guard(
        len(diff.deactivated), len(known), policy.imports.max_deactivate_share, force
    )
    if refusal is not None:
        raise refusal
    report = ImportReport(
        file=workbook.file_name,
        sha256=workbook.sha256,
        dry_run=dry_run,
        full=full,
        rows=result.rows,
        added=len(diff.added),
        updated=len(diff.updated),
        unchanged=diff.unchanged,
        deactivated=len(diff.deactivated),
        skipped=result.skipped,
        high_risk=diff.high_risk,
        high_risk_by_category=dict(sorted(diff.high_risk_by_category.items())),
        unmatched_roles=[RoleCount(role, n) for role, n in diff.unmatched_roles.most_common(50)],
        sheets=[SheetRead(s.name, s.header_row) for s in workbook.sheets],
        skipped_sheets=[
            SkippedSheet(s.name, s.reason, s.template, s.params) for s in workbook.skipped
        ],
        errors=list(result.errors),
        warnings=warnings,
        changes=_change_preview(diff),
    )
    return Comparison(workbook, diff, list(result.errors), report, len(known), len(stored))


def release_for(
    session: Session, diff: RosterDiff, now: datetime, policy: Policy, *, dry_run: bool
) -> Released:
    """Leavers and people no longer high-risk give up their coming appointments, in this
    transaction (a dry run counts them)."""
    return release_appointments(session.connection(), _holders(diff), now, policy, dry_run=dry_run)


def write_roster(
    session: Session,
    comparison: Comparison,
    now: datetime,
    imported_by: str,
    *,
    org: OrgConfig | None = None,
) -> int:
    """Write the difference (new people, updates, deactivations) and the import record, in
    ``session``'s transaction; returns the record's id.

    ``org``: the people added and those whose unit changed are written with their unit in the
    tree (``person.unit_id``, adding the units missing); without it they are left for
    ``org.units.sync_units``, which updates each of them a second time."""
    diff, report = comparison.diff, comparison.report
    _write_people(session, diff, now, org)
    record = RosterImport(
        file_name=report.file,
        sha256=report.sha256,
        imported_by=imported_by,
        imported_at=now,
        full=report.full,
        counts=report.counts(),
        errors=[e.as_dict() for e in comparison.errors],
    )
    session.add(record)
    session.flush()
    assert record.id is not None
    return record.id


def person_updates(diff: RosterDiff) -> list[tuple[str, dict[str, Any]]]:
    """(employee number, {field: (old, new)}) of everyone the import updates: their audit
    (stored as JSON, where a pair is the list ``[old, new]``; not copied into lists here,
    which at 300,000 people costs more than writing them)."""
    return [(employee_no, changes) for _, employee_no, changes in diff.updated]


def person_deactivations(diff: RosterDiff) -> list[tuple[str, dict[str, Any]]]:
    """(employee number, why) of everyone a full import takes off the roster: their audit."""
    why = {"reason": "missing from a full roster import"}
    return [(employee_no, why) for _, employee_no in diff.deactivated]


def _holders(diff: RosterDiff) -> list[Holder]:
    return [Holder(person_id, leaving=True) for person_id, _ in diff.deactivated] + [
        Holder(person_id, leaving=False, department=dept, grid_unit=unit)
        for person_id, dept, unit in diff.not_high_risk
    ]


# Stored fields whose values most people share (a department, a title, a shift): the driver
# hands back a new string for each of 300,000 rows, kept here once per distinct value.
# (Booleans and None are shared already; names, numbers and accounts do not repeat.)
_SHARED = frozenset(
    {
        "department",
        "grid_unit",
        "role",
        "person_type",
        "language",
        "shift",
        "vaccination",
        "category_column",
        "unit_path",
        "notify_channel",
        "risk_category",
        "risk_categories",
        "matched_by",
        "matched_text",
    }
)


def _load_stored(session: Session) -> dict[str, StoredPerson]:
    columns = ["id", "employee_no", "active", "override_category", "override_reason"]
    rows = fetch_raw(session.connection(), PERSON, [*columns, *STORED_FIELDS])
    first = len(columns)
    shared: list[tuple[int, dict[Any, Any]]] = [
        (first + i, {}) for i, name in enumerate(STORED_FIELDS) if name in _SHARED
    ]
    out: dict[str, StoredPerson] = {}
    for row in rows:
        cells = list(row)
        for at, once in shared:
            value = cells[at]
            cells[at] = once.setdefault(value, value)
        out[row[1]] = StoredPerson(row[0], row[1], bool(row[2]), row[3], (*cells[first:],), row[4])
    return out


def _write_people(
    session: Session, diff: RosterDiff, now: datetime, org: OrgConfig | None = None
) -> None:
    conn = session.connection()
    # Only the fields some person's row changed: a roster where phones changed leaves the
    # department, category and ID-number indexes alone. A row whose own value for such a
    # field did not change is given it again, which is the same value.
    changed = set().union(*(changes.keys() for _, _, changes in diff.updated))
    at = [i for i, name in enumerate(STORED_FIELDS) if name in changed]
    columns = [STORED_FIELDS[i] for i in at]
    updates = [(person_id, *(values[i] for i in at)) for person_id, values in diff.updated_rows]
    added = dict(diff.added.columns())
    if org is not None:
        from testrota.org.units import place_units

        # Everyone an update moves is given the unit their row names now, as sync_units
        # would give it them; the others keep theirs.
        moving = bool(changed.intersection(UNIT_FIELDS))
        keys = [
            (path or "", department or "", grid or "")
            for path, department, grid in zip(*(added[name] for name in UNIT_FIELDS), strict=True)
        ]
        moved = [unit_key(values) for _, values in diff.updated_rows] if moving else []
        unit_of = place_units(conn, org, now, keys + moved).ids
        added["unit_id"] = list(map(unit_of.__getitem__, keys))
        if moving:
            columns.append("unit_id")
            updates = [(*row, unit_of[key]) for row, key in zip(updates, moved, strict=True)]
    if diff.added:
        bulk_insert_columns(
            conn,
            PERSON,
            added,
            constants={"active": True, "opted_out": False, "created_at": now, "updated_at": now},
        )
    bulk_update(
        conn,
        PERSON,
        updates,
        columns=columns,
        constants={"active": True, "deactivated_at": None, "updated_at": now},
    )
    bulk_update(
        conn,
        PERSON,
        [(person_id,) for person_id, _ in diff.deactivated],
        columns=(),
        constants={"active": False, "deactivated_at": now, "updated_at": now},
    )


def _change_preview(diff: RosterDiff, limit: int = PREVIEW_LIMIT) -> ChangePreview:
    return ChangePreview(
        added=[row[ADDED_NO] for row in diff.added[:limit]],
        updated=[
            PersonUpdate(no, {k: [o, n] for k, (o, n) in ch.items()})
            for _, no, ch in diff.updated[:limit]
        ],
        deactivated=[no for _, no in diff.deactivated[:limit]],
        cleared=[
            ClearedField(
                field=name,
                label=label,
                people=len(diff.cleared[name]),
                employee_nos=diff.cleared[name][:limit],
                message=f"clears the {label} of {_people(len(diff.cleared[name]))}",
            )
            for name, label in CLEARABLE.items()
            if diff.cleared.get(name)
        ],
    )


def _people(n: int) -> str:
    return "1 person" if n == 1 else f"{n} people"
