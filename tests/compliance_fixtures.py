"""Builders for the compliance tests: people, sites, slots, appointments and samples as rows.

The planner is another area's; these tests create the rows it would write, directly.
"""

from __future__ import annotations

import csv
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import Engine
from sqlmodel import Session

from testrota.app import App, build_app
from testrota.audit import Actor
from testrota.auth.scope import Scope
from testrota.clock import FixedClock
from testrota.compliance.checkin import CheckInResult
from testrota.db.models import Appointment, Person, Site, Slot, TestResult
from testrota.policy import Policy, load_policy
from testrota.settings import get_settings
from tests.conftest import CONFIG_DIR

if TYPE_CHECKING:
    from testrota.actions.alerts import AlertRow
    from testrota.actions.compliance import ComplianceReport
    from testrota.actions.excuse import Excused
    from testrota.actions.flagging import FlagReport
    from testrota.actions.missed import MissedRow
    from testrota.actions.results import RecordedResult, ResultsImport
    from testrota.actions.status import PersonStatus

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")
T0 = datetime(2022, 5, 1, tzinfo=UTC)  # created_at of every fixture row


def policy(**testing: Any) -> Policy:
    """The shipped policy, with some ``testing`` keys or ``timezone`` replaced."""
    data = yaml.safe_load((CONFIG_DIR / "policy.yaml").read_text(encoding="utf-8"))
    tz = testing.pop("timezone", None)
    if tz:
        data["timezone"] = tz
    data["testing"] = {**data["testing"], **testing}
    return Policy.model_validate(data)


def config_dir(tmp_path: Path, **policy_changes: Any) -> Path:
    """A copy of config/ with top-level policy keys changed (e.g. timezone)."""
    target = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, target)
    path = target / "policy.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.update(policy_changes)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    load_policy(target)
    return target


def local(tz: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=tz)  # type: ignore[misc]


def add_person(
    session: Session,
    employee_no: str,
    name: str = "",
    *,
    department: str = "炼钢厂",
    grid_unit: str = "一号网格",
    role: str = "司机",
    category: str | None = "driver",
    phone: str | None = None,
    id_number: str | None = None,
    active: bool = True,
) -> Person:
    p = Person(
        employee_no=employee_no,
        name=name or f"员工{employee_no}",
        department=department,
        grid_unit=grid_unit,
        role=role,
        risk_category=category,
        phone=phone,
        id_number=id_number,
        active=active,
        created_at=T0,
        updated_at=T0,
    )
    session.add(p)
    session.flush()
    return p


def add_site(session: Session, code: str = "S1", name: str = "一号采样点") -> Site:
    site = Site(code=code, name=name)
    session.add(site)
    session.flush()
    return site


def add_slot(
    session: Session, start: datetime, minutes: int = 30, site: str = "S1", capacity: int = 50
) -> Slot:
    slot = Slot(
        site_code=site,
        week=iso_week(start),
        starts_at=start,
        ends_at=start + timedelta(minutes=minutes),
        capacity=capacity,
    )
    session.add(slot)
    session.flush()
    return slot


def iso_week(at: datetime) -> str:
    year, week, _ = at.isocalendar()
    return f"{year}-W{week:02d}"


def add_appt(
    session: Session,
    person: Person,
    start: datetime,
    minutes: int = 30,
    *,
    site: str = "S1",
    status: str = "scheduled",
    reason: str = "plan",
) -> Appointment:
    assert person.id is not None
    a = Appointment(
        person_id=person.id,
        site_code=site,
        week=iso_week(start),
        starts_at=start,
        ends_at=start + timedelta(minutes=minutes),
        grid_unit=person.grid_unit,
        status=status,
        reason=reason,
        created_at=T0,
        updated_at=T0,
    )
    session.add(a)
    session.flush()
    return a


def add_sample(
    session: Session,
    person: Person,
    at: datetime,
    *,
    result: str = "pending",
    source: str = "checkin",
    site: str | None = "S1",
) -> TestResult:
    assert person.id is not None
    r = TestResult(
        person_id=person.id,
        sampled_at=at,
        result=result,
        source=source,
        site_code=site,
        recorded_at=at,
    )
    session.add(r)
    session.flush()
    return r


def status_of(engine: Engine, appointment_id: int) -> str:
    with Session(engine) as s:
        a = s.get(Appointment, appointment_id)
        assert a is not None
        return a.status


def write_csv(
    path: Path, header: list[str], rows: list[list[Any]], encoding: str = "utf-8"
) -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_xlsx(
    path: Path, header: list[str], rows: list[list[Any]], title: str | None = None
) -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    if title:
        ws.append([title])
    ws.append(header)
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


def app_at(engine: Engine, now: datetime, policy: Policy, config: Path = CONFIG_DIR) -> App:
    """The application on ``engine`` with its clock fixed at ``now``."""
    settings = get_settings(
        database_url=engine.url.render_as_string(hide_password=False), config_dir=config
    )
    return build_app(settings, engine=engine, clock=FixedClock(now), policy=policy)


def check_in(
    engine: Engine,
    employee_no: str,
    site: str | None,
    at: datetime,
    actor: str,
    policy: Policy,
    now: datetime | None = None,
) -> CheckInResult:
    """The check-in use case as site staff ``actor`` records it at ``now`` (default: ``at``)."""
    from testrota.actions import checkin

    return checkin.check_in(
        app_at(engine, now or at, policy),
        checkin.CheckIn(employee_no, Actor.web(actor), site=site, at=at),
    )


# --- the compliance use cases as the tests call them: an app on ``engine`` at a fixed "now" ---


def flag(engine: Engine, now: datetime, policy: Policy) -> FlagReport:
    from testrota.actions.flagging import flag_due

    return flag_due(app_at(engine, now, policy))


def import_results(
    engine: Engine,
    path: Path,
    policy: Policy,
    now: datetime,
    *,
    actor: str = "lab",
    dry_run: bool = False,
    config: Path = CONFIG_DIR,
    errors_report: Path | None = None,
) -> ResultsImport:
    """A result sheet imported by HR user ``actor`` on the web."""
    from testrota.actions import results

    return results.import_results(
        app_at(engine, now, policy, config),
        results.ImportResults(path, Actor.web(actor), dry_run=dry_run, errors_report=errors_report),
    )


def record_result(
    engine: Engine,
    employee_no: str,
    sampled_at: datetime,
    result: str,
    policy: Policy,
    now: datetime,
    *,
    actor: str = "lab",
    site: str | None = None,
) -> RecordedResult:
    from testrota.actions import results

    return results.record_result(
        app_at(engine, now, policy),
        results.RecordResult(
            employee_no, result, Actor.web(actor), sampled_at=sampled_at, site=site
        ),
    )


def scope_of(departments: list[str] | None) -> Scope:
    return Scope.everything() if departments is None else Scope.of(departments)


def missed(
    engine: Engine,
    now: datetime,
    policy: Policy,
    *,
    week: str | None = None,
    departments: list[str] | None = None,
    grid_unit: str | None = None,
    config: Path = CONFIG_DIR,
) -> list[MissedRow]:
    from testrota.actions.missed import Missed, list_missed

    return list_missed(
        app_at(engine, now, policy, config),
        Missed(week, scope_of(departments), grid_unit=grid_unit),
    )


def compliance(
    engine: Engine,
    now: datetime,
    policy: Policy,
    *,
    week: str | None = None,
    departments: list[str] | None = None,
    weeks: int | None = None,
    config: Path = CONFIG_DIR,
) -> ComplianceReport:
    from testrota.actions.compliance import Compliance, compliance_report

    return compliance_report(
        app_at(engine, now, policy, config), Compliance(week, scope_of(departments), weeks)
    )


def status(engine: Engine, employee_no: str, now: datetime, policy: Policy) -> PersonStatus:
    from testrota.actions.status import Status, person_status

    return person_status(app_at(engine, now, policy), Status(employee_no))


def excuse(
    engine: Engine,
    employee_no: str,
    reason: str,
    now: datetime,
    policy: Policy,
    *,
    actor: str = "sup",
    week: str | None = None,
    on: date | None = None,
    departments: list[str] | None = None,
) -> Excused:
    """An excuse given by supervisor ``actor`` on the web (of ``departments``)."""
    from testrota.actions import excuse as action

    return action.excuse(
        app_at(engine, now, policy),
        action.Excuse(
            employee_no, reason, Actor.web(actor), week=week, on=on, scope=scope_of(departments)
        ),
    )


def alerts(
    engine: Engine,
    now: datetime,
    policy: Policy,
    *,
    departments: list[str] | None = None,
    closed: bool = False,
) -> list[AlertRow]:
    from testrota.actions.alerts import Alerts, list_alerts

    return list_alerts(app_at(engine, now, policy), Alerts(scope_of(departments), closed))
