"""``testrota import``: read, validate, match, diff and write a roster in one transaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, update
from sqlmodel import Session

from testrota.db import tables
from testrota.db.bulk import bulk_insert, fetch_raw
from testrota.db.engine import session_scope
from testrota.db.models import AuditEvent, Person, RosterImport
from testrota.errors import UserError
from testrota.policy import Policy
from testrota.roster.sync import (
    CLEARABLE,
    STORED_FIELDS,
    RosterDiff,
    StoredPerson,
    deactivation_guard,
    diff_roster,
    keep_absent_fields,
    match_key,
)
from testrota.scheduling.release import Holder, release_appointments

Progress = Callable[[str], None]
PERSON: Table = tables.PERSON
AUDIT: Table = tables.AUDIT_EVENT


@dataclass(frozen=True)
class ImportOptions:
    sheet: str | None = None
    dry_run: bool = False
    full: bool = False
    force: bool = False
    actor: str = "cli"
    errors_report: Path | None = None


def _noop(_: str) -> None:
    pass


def import_roster(
    engine: Engine,
    path: Path,
    *,
    policy: Policy,
    config_dir: Path,
    now: datetime,
    options: ImportOptions = ImportOptions(),
    progress: Progress = _noop,
) -> dict[str, Any]:
    """Import one roster file and return the summary the contract promises.

    Nothing is written on a dry run or on any error; otherwise everything (people, audit
    events, the import record) is written in one transaction.
    """
    from testrota.risk.matcher import match_many
    from testrota.risk.service import load_role_overrides
    from testrota.risk.vocabulary import load_vocabulary
    from testrota.roster.columns import load_roster_columns
    from testrota.roster.reader import read_workbook
    from testrota.roster.sniff import column_warnings
    from testrota.roster.validate import validate_workbook

    progress("reading")
    aliases = load_roster_columns(config_dir)
    vocab = load_vocabulary(config_dir)
    workbook = read_workbook(
        path, aliases, required=("employee_no", "name"), limits=policy.imports, sheet=options.sheet
    )
    seen = {no.strip() for sheet in workbook.sheets for no in sheet.data.get("employee_no", [])}

    with session_scope(engine) as session:
        progress("comparing")
        stored = _load_stored(session)
        known = {no for no, p in stored.items() if p.active}
        result = validate_workbook(workbook, policy, known_employee_nos=known)
        records = keep_absent_fields(result.records, stored, result.present)
        overrides = load_role_overrides(session)
        matches = match_many({match_key(r) for r in records}, vocab, overrides)
        diff = diff_roster(records, matches, stored, full=options.full, seen_employee_nos=seen)
        warnings = column_warnings(
            workbook.sheets, records, region=policy.phone_region,
            employee_nos=stored.keys() | seen,
        )
        active = len(known)
        refusal = deactivation_guard(
            len(diff.deactivated), active, policy.imports.max_deactivate_share, options.force
        )
        if refusal:
            raise UserError(refusal)
        errors = [e.as_dict() for e in result.errors]
        summary: dict[str, Any] = {
            "file": workbook.file_name,
            "sha256": workbook.sha256,
            "dry_run": options.dry_run,
            "full": options.full,
            "rows": result.rows,
            "added": len(diff.added),
            "updated": len(diff.updated),
            "unchanged": diff.unchanged,
            "deactivated": len(diff.deactivated),
            "skipped": result.skipped,
            "high_risk": diff.high_risk,
            "high_risk_by_category": dict(sorted(diff.high_risk_by_category.items())),
            "unmatched_roles": [
                {"role": role, "count": n} for role, n in diff.unmatched_roles.most_common(50)
            ],
            "sheets": [{"name": s.name, "header_row": s.header_row} for s in workbook.sheets],
            "skipped_sheets": [
                {"name": s.name, "reason": s.reason} for s in workbook.skipped
            ],
            "errors": errors,
            "warnings": warnings,
            "changes": _change_preview(diff),
        }
        if options.errors_report is not None and result.errors:
            from testrota.roster.errors_xlsx import write_error_report

            write_error_report(options.errors_report, result.errors, workbook)
        # Leavers and people no longer high-risk give up their coming appointments now, in
        # this transaction (a dry run counts them).
        released = release_appointments(
            session.connection(), _holders(diff), now, policy, dry_run=options.dry_run
        )
        summary["released"] = released.appointments
        summary["released_texts"] = released.texts
        if options.dry_run:
            session.rollback()
            return summary
        progress("writing")
        _write(session, diff, now, options.actor)
        record = RosterImport(
            file_name=workbook.file_name,
            sha256=workbook.sha256,
            imported_by=options.actor,
            imported_at=now,
            full=options.full,
            counts={k: summary[k] for k in _COUNT_KEYS},
            errors=errors,
        )
        session.add(record)
        session.flush()
        summary["import_id"] = record.id
        session.add(
            AuditEvent(
                at=now,
                actor=options.actor,
                action="roster.import",
                entity="roster_import",
                entity_id=str(record.id),
                details={"file": workbook.file_name, **record.counts},
            )
        )
    if summary["added"] or summary["updated"]:
        summary["midweek"] = _book_newcomers(engine, now, policy, config_dir)
    return summary


def _book_newcomers(
    engine: Engine, now: datetime, policy: Policy, config_dir: Path
) -> dict[str, Any] | None:
    """People who became high-risk in a week already planned get its earliest slots left."""
    from testrota.scheduling.service import book_newcomers

    try:
        return book_newcomers(engine, now, policy, config_dir)
    except UserError as exc:
        # The roster is in; a broken sites.yaml must not make it look as if it were not.
        return {"error": f"roster imported, but no slots booked for newcomers: {exc}"}


_COUNT_KEYS = (
    "rows", "added", "updated", "unchanged", "deactivated", "skipped", "high_risk", "released",
)


def _holders(diff: RosterDiff) -> list[Holder]:
    return [Holder(person_id, leaving=True) for person_id, _ in diff.deactivated] + [
        Holder(person_id, leaving=False, department=dept, grid_unit=unit)
        for person_id, dept, unit in diff.not_high_risk
    ]


def _load_stored(session: Session) -> dict[str, StoredPerson]:
    columns = ["id", "employee_no", "active", "override_category", "override_reason"]
    rows = fetch_raw(session.connection(), PERSON, [*columns, *STORED_FIELDS])
    return {
        row[1]: StoredPerson(row[0], row[1], bool(row[2]), row[3], row[5:], row[4])
        for row in rows
    }


def _write(session: Session, diff: RosterDiff, now: datetime, actor: str) -> None:
    conn = session.connection()
    bulk_insert(
        conn,
        PERSON,
        diff.added,
        constants={"active": True, "opted_out": False, "created_at": now, "updated_at": now},
    )
    if diff.updated:
        session.execute(
            update(Person),
            [
                {
                    "id": person_id,
                    **{name: new for name, (_, new) in changes.items()},
                    "updated_at": now,
                    "deactivated_at": None,
                }
                for person_id, _, changes in diff.updated
            ],
        )
    if diff.deactivated:
        session.execute(
            update(Person),
            [
                {"id": person_id, "active": False, "deactivated_at": now, "updated_at": now}
                for person_id, _ in diff.deactivated
            ],
        )
    audit = [
        {
            "entity_id": employee_no,
            "action": "person.update",
            "details": {name: [old, new] for name, (old, new) in changes.items()},
        }
        for _, employee_no, changes in diff.updated
    ] + [
        {
            "entity_id": employee_no,
            "action": "person.deactivate",
            "details": {"reason": "missing from a full roster import"},
        }
        for _, employee_no in diff.deactivated
    ]
    bulk_insert(conn, AUDIT, audit, constants={"at": now, "actor": actor, "entity": "person"})


def _change_preview(diff: RosterDiff, limit: int = 200) -> dict[str, list[Any]]:
    """A bounded sample of what changes, for the web preview and the CLI table."""
    return {
        "added": [row["employee_no"] for row in diff.added[:limit]],
        "updated": [
            {"employee_no": no, "changes": {k: [o, n] for k, (o, n) in ch.items()}}
            for _, no, ch in diff.updated[:limit]
        ],
        "deactivated": [no for _, no in diff.deactivated[:limit]],
        "cleared": [
            {
                "field": name,
                "label": label,
                "people": len(diff.cleared[name]),
                "employee_nos": diff.cleared[name][:limit],
                "message": f"clears the {label} of {_people(len(diff.cleared[name]))}",
            }
            for name, label in CLEARABLE.items()
            if diff.cleared.get(name)
        ],
    }


def _people(n: int) -> str:
    return "1 person" if n == 1 else f"{n} people"
