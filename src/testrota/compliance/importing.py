"""``testrota results import``: a lab, booth or HR result sheet into test results, atomically.

Idempotent: a sample is keyed by (person, sampling time, source), so importing the same sheet
again changes nothing, and a sheet that brings the result of a sample already known as pending
updates that one row. Every row is accounted for: ``rows = recorded + unchanged + unmatched +
errors``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, String, bindparam, exists, insert, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from testrota.compliance.alerts import book_contacts, raise_alerts
from testrota.compliance.columns import IDENTITY_FIELDS, REQUIRED_FIELDS, load_result_columns
from testrota.compliance.facts import cols
from testrota.compliance.records import Sample
from testrota.compliance.result_rows import (
    ParsedRows,
    ParsedSample,
    PersonIndex,
    PersonKeys,
    parse_rows,
    site_key,
)
from testrota.compliance.staging import mark_done_staged, same_sample, staged, staged_rows
from testrota.db import tables
from testrota.db.engine import session_scope
from testrota.db.models import AuditEvent, Person, Site
from testrota.db.types import UTCDateTime
from testrota.errors import UserError
from testrota.policy import Policy
from testrota.roster.reader import Workbook
from testrota.statuses import ResultValue

POSITIVE = ResultValue.POSITIVE

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def import_results(
    engine: Engine,
    path: Path,
    policy: Policy,
    config_dir: Path,
    actor: str,
    now: datetime,
    *,
    sheet: str | None = None,
    dry_run: bool = False,
    progress: Progress = _quiet,
    errors_report: Path | None = None,
) -> dict[str, Any]:
    """Import one result file; returns ``{rows, recorded, unchanged, unmatched, ...}``.

    Nothing is written on a dry run or when the file is refused (UserError). Positive results
    raise their alerts in the same transaction; the contacts' extra appointments are booked
    after it commits. ``errors_report``: an .xlsx of the rows that match nobody and the row
    errors (written also on a dry run; when it cannot be written, nothing is imported).
    """
    from testrota.roster.phones import normalize_phone
    from testrota.roster.reader import read_workbook

    progress("reading")
    aliases = load_result_columns(config_dir)
    workbook = read_workbook(
        path, aliases, required=REQUIRED_FIELDS, limits=policy.imports, sheet=sheet
    )
    for sh in workbook.sheets:
        if not any(f in sh.columns for f in IDENTITY_FIELDS):
            shown = ", ".join(repr(h) for h in sh.columns.values())
            raise UserError(
                f"{workbook.file_name}: sheet {sh.name!r} has {shown} but no employee number, "
                "phone or ID number column, so its rows cannot be matched to people "
                "(see config/result_columns.yaml for the names it knows)"
            )
    region = policy.phone_region
    phone_cache: dict[str, str | None] = {}

    def phone(raw: str) -> str | None:
        if raw not in phone_cache:
            phone_cache[raw] = normalize_phone(raw, region)
        return phone_cache[raw]

    try:
        with session_scope(engine) as session:
            progress("matching")
            index = PersonIndex(_person_keys(session))
            sites = _site_names(session)
            parsed = ParsedRows()
            for sh in workbook.sheets:
                parse_rows(
                    sh.name, sh.data, sh.row_numbers, index,
                    tz=policy.tz, now=now, normalize_phone=phone, sites=sites, out=parsed,
                )
            if errors_report is not None and (parsed.errors or parsed.unmatched):
                _write_errors_report(errors_report, parsed, workbook)
            progress("writing")
            summary, raised = _write(session, parsed, now, policy, actor, dry_run)
            if not dry_run:
                session.add(
                    AuditEvent(
                        at=now,
                        actor=actor,
                        action="results_import",
                        entity="results",
                        entity_id=workbook.sha256[:16],
                        details={
                            "file_name": workbook.file_name,
                            "sha256": workbook.sha256,
                            **{k: summary[k] for k in ("rows", "recorded", "unchanged")},
                            "unmatched": len(parsed.unmatched),
                            "errors": len(parsed.errors),
                        },
                    )
                )
    except IntegrityError:
        raise UserError(
            f"{workbook.file_name}: another import wrote some of these results at the same "
            "time; nothing from this one was written, run it again"
        ) from None
    summary.update(
        {
            "file_name": workbook.file_name,
            "sha256": workbook.sha256,
            "sheets": [sh.name for sh in workbook.sheets],
            "skipped_sheets": [{"sheet": s.name, "reason": s.reason} for s in workbook.skipped],
            "unmatched": parsed.unmatched,
            "errors": parsed.errors,
            "matched_by": parsed.matched_by,
            "dry_run": dry_run,
        }
    )
    if raised and not dry_run:
        progress("booking contacts")
        summary["contacts_booking"] = book_contacts(engine, raised, now, policy, config_dir)
    return summary


def _write_errors_report(path: Path, parsed: ParsedRows, workbook: Workbook) -> None:
    """The roster's error workbook, for results: a row matching nobody is marked in the
    identity column the sheet has; a cell error in its own column, by the sheet's header."""
    from testrota.roster.errors_xlsx import write_error_report
    from testrota.roster.validate import RowError

    sheets = {sh.name: sh for sh in workbook.sheets}
    problems = []
    for error in parsed.errors:
        sheet = sheets[str(error["sheet"])]
        field = str(error["column"])
        problems.append(RowError(sheet.name, int(str(error["row"])),
                                 sheet.columns.get(field, field), str(error["value"]),
                                 str(error["message"])))
    for row in parsed.unmatched:
        sheet = sheets[str(row["sheet"])]
        column = next((sheet.columns[f] for f in IDENTITY_FIELDS if f in sheet.columns), "")
        problems.append(RowError(sheet.name, int(str(row["row"])), column, str(row["value"]),
                                 str(row["message"])))
    order = list(sheets)
    problems.sort(key=lambda e: (order.index(e.sheet), e.row))
    write_error_report(path, problems, workbook)


def _person_keys(session: Session) -> list[PersonKeys]:
    # Plain columns, no type processing: this reads every person, 100,000 at a large group.
    query = select(*cols(Person.id, Person.employee_no, Person.phone, Person.id_number))
    return [PersonKeys._make(r) for r in session.connection().execute(query).all()]


def _site_names(session: Session) -> dict[str, str]:
    out: dict[str, str] = {}
    for code, name in session.execute(select(*cols(Site.code, Site.name))):
        out.setdefault(site_key(name), code)
        out[site_key(code)] = code
    return out


def _write(
    session: Session,
    parsed: ParsedRows,
    now: datetime,
    policy: Policy,
    actor: str,
    dry_run: bool,
) -> tuple[dict[str, Any], list[Any]]:
    samples = parsed.samples
    conn = session.connection()
    tr = tables.TEST_RESULT
    with staged(conn, staged_rows(samples, policy)) as st:
        existing = {
            r.idx: (r.id, r.result)
            for r in conn.execute(
                select(st.c.idx, tr.c.id, tr.c.result).join(tr, same_sample())
            ).all()
        }
        new: list[int] = []
        changed: list[tuple[int, ParsedSample]] = []
        unchanged = parsed.duplicates
        for i, s in enumerate(samples):
            found = existing.get(i)
            if found is None:
                new.append(i)
            elif found[1] == s.result:
                unchanged += 1
            else:
                changed.append((found[0], s))
        positives_new = {i for i in new if samples[i].result == POSITIVE}
        positives_changed = [(rid, s) for rid, s in changed if s.result == POSITIVE]
        summary: dict[str, Any] = {
            "rows": parsed.rows,
            "recorded": len(new) + len(changed),
            "added": len(new),
            "updated": len(changed),
            "unchanged": unchanged,
            "duplicates": parsed.duplicates,
            "positives": len(positives_new) + len(positives_changed),
        }
        if dry_run:
            summary["alerts"] = []
            summary["appointments_done"] = 0
            return summary, []
        if new:
            conn.execute(
                insert(tr).from_select(
                    ["person_id", "sampled_at", "result", "source", "site_code", "site_name",
                     "recorded_at", "recorded_by"],
                    select(
                        st.c.person_id, st.c.sampled_at, st.c.result, st.c.source,
                        st.c.site_code, st.c.site_name,
                        literal(now, UTCDateTime()), literal(actor, String()),
                    ).where(~exists().where(same_sample())),
                )
            )
        if changed:
            conn.execute(
                update(tr)
                .where(tr.c.id == bindparam("rid"))
                .values(result=bindparam("new_result"), recorded_at=now, recorded_by=actor),
                [{"rid": rid, "new_result": s.result} for rid, s in changed],
            )
        done = mark_done_staged(conn, now)
        positive_ids: dict[int, int] = {}
        if positives_new:
            query = select(st.c.idx, tr.c.id).join(tr, same_sample()).where(
                st.c.result == POSITIVE
            )
            positive_ids = {r.idx: r.id for r in conn.execute(query) if r.idx in positives_new}
    positive_samples = [
        Sample(samples[i].person_id, samples[i].sampled_at, POSITIVE, samples[i].source,
               samples[i].site_code, positive_ids[i])
        for i in sorted(positives_new)
        if i in positive_ids
    ] + [
        Sample(s.person_id, s.sampled_at, s.result, s.source, s.site_code, rid)
        for rid, s in positives_changed
    ]
    raised = raise_alerts(session, positive_samples, now, policy)
    employee_nos = _employee_nos(session, {a.person_id for a in raised})
    summary["appointments_done"] = done
    summary["alerts"] = [
        {
            "alert_id": a.alert_id,
            "employee_no": employee_nos.get(a.person_id),
            "contacts": len(a.contact_ids),
        }
        for a in raised
    ]
    return summary, raised


def _employee_nos(session: Session, person_ids: set[int]) -> dict[int, str]:
    if not person_ids:
        return {}
    rows = session.execute(
        select(*cols(Person.id, Person.employee_no)).where(col(Person.id).in_(sorted(person_ids)))
    )
    return {r.id: r.employee_no for r in rows}
