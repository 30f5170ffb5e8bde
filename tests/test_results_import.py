"""``testrota results import``: matching, idempotency, unknown rows, positives and their alerts."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from testrota.compliance.result_rows import UnmatchedRow
from testrota.db.models import Alert, AlertContact, Appointment, AuditEvent, Person, TestResult
from testrota.errors import UserError
from tests.compliance_fixtures import (
    NY,
    SH,
    add_appt,
    add_person,
    add_sample,
    add_site,
    add_slot,
    alerts,
    import_results,
    local,
    policy,
    status_of,
    write_csv,
    write_xlsx,
)

P = policy()
NOW = local(SH, 2022, 5, 9, 20, 0)
SLOT = local(SH, 2022, 5, 9, 8, 0)
HEADER = ["序号", "姓名", "工号", "手机号", "身份证号", "采样时间", "检测结果", "采样点"]


def _seed(engine: Engine) -> dict[str, int]:
    with Session(engine, expire_on_commit=False) as s:
        add_site(s, "S1", "一号采样点")
        add_slot(s, SLOT)
        by_no = add_person(s, "1001", "张三", phone="+8613800000001")
        by_phone = add_person(s, "1002", "李四", phone="+8613800000002")
        by_id = add_person(s, "1003", "王五", id_number="21050219800101123X")
        ids = {}
        for p in (by_no, by_phone, by_id):
            ids[p.employee_no] = add_appt(s, p, SLOT).id
        s.commit()
    return ids  # type: ignore[return-value]


def _sheet(tmp_path: Path, rows: list[list[Any]], name: str = "results.xlsx") -> Path:
    return write_xlsx(tmp_path / name, HEADER, rows, title="核酸检测结果汇总表（2022年5月9日）")


ROWS: list[list[Any]] = [
    [1, "张三", "1001", "", "", "2022-05-09 08:10", "阴性", "一号采样点"],
    [2, "李四", "", "138 0000 0002", "", "2022/5/9 8:12", "Negative", "S1"],
    [3, "王五", "", "", "21050219800101123x", "2022年5月9日 8时14分", "-", "一号采样点"],
    [4, "陌生人", "9999", "", "", "2022-05-09 08:20", "阴性", "一号采样点"],
    [5, "张三", "1001", "", "", "2022-05-08 10:00", "阴性", "幸福社区采样点"],
]


def _count(engine: Engine, model: Any) -> int:
    with Session(engine) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_import_matches_by_number_phone_and_id_and_reports_unknown_rows(
    engine: Engine, tmp_path: Path
) -> None:
    ids = _seed(engine)
    out = import_results(engine, _sheet(tmp_path, ROWS), P, NOW)
    assert (out.rows, out.recorded, out.unchanged) == (5, 4, 0)
    assert out.matched_by == {"employee_no": 2, "phone": 1, "id_number": 1}
    # The title row is row 1 and the header row 2, so the unknown person is on row 6.
    assert out.unmatched == [
        UnmatchedRow(
            sheet="Sheet",
            row=6,
            value="9999 / 陌生人",
            message="no person has employee number 9999 (add the person to the roster, "
            "or fix the row)",
        )
    ]
    assert out.errors == []
    for appt_id in ids.values():
        assert status_of(engine, appt_id) == "done"
    with Session(engine) as s:
        rows = {
            (r.person_id, r.source, r.site_code, r.site_name, r.result)
            for r in s.scalars(select(TestResult))
        }
        zhang = s.scalars(select(Person).where(Person.employee_no == "1001")).one()
        audit = s.scalars(select(AuditEvent).where(AuditEvent.action == "results.imported")).one()
    assert (zhang.id, "outside", None, "幸福社区采样点", "negative") in rows
    assert (zhang.id, "lab", "S1", "", "negative") in rows
    assert audit.details["recorded"] == 4 and audit.actor == "web:lab"


def test_reimporting_the_same_sheet_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    _seed(engine)
    path = _sheet(tmp_path, ROWS)
    import_results(engine, path, P, NOW)
    before = _count(engine, TestResult)
    again = import_results(engine, path, P, NOW + timedelta(hours=1))
    assert (again.rows, again.recorded, again.unchanged) == (5, 0, 4)
    assert len(again.unmatched) == 1
    assert _count(engine, TestResult) == before


def test_a_later_sheet_updates_a_pending_result(engine: Engine, tmp_path: Path) -> None:
    _seed(engine)
    pending = [[1, "张三", "1001", "", "", "2022-05-09 08:10", "待检", "S1"]]
    import_results(engine, _sheet(tmp_path, pending, "a.xlsx"), P, NOW)
    final = [[1, "张三", "1001", "", "", "2022-05-09 08:10:00", "陰性", "S1"]]
    out = import_results(engine, _sheet(tmp_path, final, "b.xlsx"), P, NOW)
    assert (out.recorded, out.added, out.updated) == (1, 0, 1)
    with Session(engine) as s:
        assert [r.result for r in s.scalars(select(TestResult))] == ["negative"]


def test_csv_in_gbk_with_english_headers(engine: Engine, tmp_path: Path) -> None:
    _seed(engine)
    path = write_csv(
        tmp_path / "lab.csv",
        ["Employee ID", "Name", "Sampled at", "Result", "Testing site"],
        [
            ["1001", "张三", "05/09/2022 08:10", "Positive", "S1"],
            ["1002", "李四", "05/09/2022 08:12", "neg", "S1"],
        ],
        encoding="gb18030",
    )
    out = import_results(engine, path, P, NOW)
    assert (out.rows, out.recorded, out.positives) == (2, 2, 1)
    with Session(engine) as s:
        positive = s.scalars(select(TestResult).where(TestResult.result == "positive")).one()
    assert positive.sampled_at == local(SH, 2022, 5, 9, 8, 10)


def test_positive_result_raises_an_alert_with_its_contacts(engine: Engine, tmp_path: Path) -> None:
    with Session(engine, expire_on_commit=False) as s:
        add_site(s, "S1", "一号采样点")
        add_slot(s, SLOT)
        case = add_person(s, "1001", "张三", grid_unit="一号网格")
        add_person(s, "1002", "李四", grid_unit="一号网格")  # same unit, not tested
        add_person(s, "1003", "王五", grid_unit="一号网格", active=False)  # gone
        queued = add_person(s, "2001", "赵六", department="物流部", grid_unit="")
        later = add_person(s, "2002", "钱七", department="物流部", grid_unit="")
        add_sample(s, queued, SLOT + timedelta(minutes=20))  # same site, same slot
        add_sample(s, later, SLOT + timedelta(minutes=40))  # the next slot
        s.commit()
    rows = [[1, "张三", "1001", "", "", "2022-05-09 08:10", "阳性", "S1"]]
    out = import_results(engine, _sheet(tmp_path, rows), P, NOW)
    assert out.positives == 1
    [alert] = out.alerts
    assert alert.employee_no == "1001" and alert.contacts == 2
    # Both contacts get an extra test tomorrow through the planner's mid-week path.
    booking = out.contacts_booking
    assert booking is not None
    assert (booking.contacts, booking.booked, booking.earliest) == (2, 2, date(2022, 5, 10))
    with Session(engine) as s:
        extra = list(s.scalars(select(Appointment).where(Appointment.reason == "contact")))
    assert len(extra) == 2
    assert all(a.starts_at.astimezone(SH).date().isoformat() == "2022-05-10" for a in extra)
    with Session(engine) as s:
        contacts = {
            (s.get(Person, c.person_id).employee_no, c.reason)  # type: ignore[union-attr]
            for c in s.scalars(select(AlertContact))
        }
        stored = s.scalars(select(Alert)).one()
    assert contacts == {("1002", "grid_unit"), ("2001", "same_slot")}
    assert stored.person_id == case.id and stored.status == "open"
    with Session(engine) as s:
        raised = s.scalars(select(AuditEvent).where(AuditEvent.action == "alert.raised")).one()
    assert (raised.actor, raised.entity_id) == ("web:lab", str(stored.id))
    assert raised.details["contacts"] == 2

    # Importing the same positive again raises no second alert.
    again = import_results(engine, _sheet(tmp_path, rows), P, NOW)
    assert again.alerts == [] and again.contacts_booking is None and _count(engine, Alert) == 1

    [listed] = alerts(engine, NOW, P)
    assert listed.employee_no == "1001" and listed.site == "S1"
    assert [c.employee_no for c in listed.contacts] == ["1002", "2001"]
    assert all(
        c.extra_slot_start and c.extra_slot_start.astimezone(SH).date() == date(2022, 5, 10)
        for c in listed.contacts
    )
    assert listed.sampled_at == local(SH, 2022, 5, 9, 8, 10)
    # A supervisor of 物流部 sees the alert through their contact, and only that contact.
    [scoped] = alerts(engine, NOW, P, departments=["物流部"])
    assert [c.employee_no for c in scoped.contacts] == ["2001"]
    assert alerts(engine, NOW, P, departments=["财务部"]) == []


def test_a_sample_written_negative_and_positive_is_recorded_positive_and_alerts(
    engine: Engine, tmp_path: Path
) -> None:
    """Review: a lab sheet giving one sample 阴性 in one row and 阳性 in the next recorded the
    negative, and the positive was only a row error: no alert, the person shown as tested."""
    _seed(engine)
    rows = [
        [1, "张三", "1001", "", "", "2022-05-09 08:10", "阴性", "S1"],
        [2, "张三", "1001", "", "", "2022-05-09 08:10", "阳性", "S1"],
    ]
    out = import_results(engine, _sheet(tmp_path, rows), P, NOW)
    assert (out.recorded, out.positives) == (1, 1)
    [alert] = out.alerts
    assert alert.employee_no == "1001"
    [error] = out.errors
    assert error.row == 3 and "positive in row 4" in error.message  # the title row is row 1
    with Session(engine) as s:
        assert s.scalars(select(TestResult.result)).all() == ["positive"]


def test_dry_run_writes_nothing(engine: Engine, tmp_path: Path) -> None:
    _seed(engine)
    rows = [*ROWS, [6, "张三", "1001", "", "", "2022-05-09 09:00", "阳性", "S1"]]
    out = import_results(engine, _sheet(tmp_path, rows), P, NOW, dry_run=True)
    assert (out.recorded, out.positives, out.dry_run) == (5, 1, True)
    assert _count(engine, TestResult) == 0 and _count(engine, Alert) == 0
    assert _count(engine, AuditEvent) == 0


def test_every_row_is_accounted_for(engine: Engine, tmp_path: Path) -> None:
    _seed(engine)
    rows = [
        *ROWS,
        [6, "张三", "1001", "", "", "not a date", "阴性", "S1"],
        [7, "张三", "1001", "", "", "2022-05-09 08:10", "阴性", "一号采样点"],  # repeats row 1
        [8, "李四", "1002", "", "", "2022-05-09 10:00", "??", "S1"],
    ]
    out = import_results(engine, _sheet(tmp_path, rows), P, NOW)
    assert out.rows == 8
    assert out.rows == out.recorded + out.unchanged + len(out.unmatched) + len(out.errors)
    assert [(e.row, e.column) for e in out.errors] == [(8, "sampled_at"), (10, "result")]


def test_a_sheet_without_any_identity_column_is_refused(engine: Engine, tmp_path: Path) -> None:
    _seed(engine)
    path = write_xlsx(
        tmp_path / "x.xlsx",
        ["姓名", "采样时间", "检测结果"],
        [["张三", "2022-05-09 08:10", "阴性"]],
    )
    with pytest.raises(UserError, match="no employee number, phone or ID number column"):
        import_results(engine, path, P, NOW)
    assert _count(engine, TestResult) == 0


def test_cli_results_import(cli: Any, engine: Engine, tmp_path: Path) -> None:
    _seed(engine)
    path = _sheet(tmp_path, ROWS)
    env = {"TESTROTA_NOW": "2022-05-09T20:00:00+08:00"}
    result = cli("results", "import", str(path), "--json", env=env)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert {k: doc[k] for k in ("rows", "recorded", "unchanged")} == {
        "rows": 5,
        "recorded": 4,
        "unchanged": 0,
    }
    assert [(u["row"], u["value"]) for u in doc["unmatched"]] == [(6, "9999 / 陌生人")]
    assert set(doc["unmatched"][0]) >= {"row", "value", "message"}

    again = cli("results", "import", str(path), "--json", env=env)
    assert json.loads(again.stdout)["recorded"] == 0

    human = cli("results", "import", str(path), env=env)
    assert human.exit_code == 0 and "rows that match no person" in human.stdout

    not_a_sheet = tmp_path / "notes.pdf"
    not_a_sheet.write_bytes(b"%PDF-1.4 hello")
    bad = cli("results", "import", str(not_a_sheet), env=env)
    assert bad.exit_code == 2 and "not a spreadsheet" in bad.stderr
    assert "Traceback" not in bad.output
    missing = cli("results", "import", str(tmp_path / "nope.xlsx"), env=env)
    assert missing.exit_code == 2 and "file not found" in missing.stderr


def test_cli_results_add_positive(cli: Any, engine: Engine) -> None:
    _seed(engine)
    env = {"TESTROTA_NOW": "2022-05-09T20:00:00+08:00"}
    result = cli(
        "results",
        "add",
        "1002",
        "--result",
        "阳性",
        "--at",
        "2022-05-09 08:12",
        "--site",
        "S1",
        "--json",
        env=env,
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["status"] == "recorded" and doc["result"] == "positive"
    assert len(doc["alerts"]) == 1
    alerts = cli("alerts", "--format", "json", env=env)
    assert alerts.exit_code == 0, alerts.output
    [alert] = json.loads(alerts.stdout)
    assert alert["employee_no"] == "1002"
    assert {c["employee_no"] for c in alert["contacts"]} == {"1001", "1003"}
    table = cli("alerts", env=env)
    assert table.exit_code == 0 and "李四" in table.stdout
    closed = cli("alerts", "close", str(alert["id"]), env=env)
    assert closed.exit_code == 0, closed.output
    assert json.loads(cli("alerts", "--format", "json", env=env).stdout) == []
    again = cli("alerts", "close", str(alert["id"]), "--json", env=env)
    assert json.loads(again.stdout) == {"id": alert["id"], "status": "closed", "changed": False}
    # The terminal's user is on record for each change, as a web user would be.
    with Session(engine) as s:
        events = {e.action: e for e in s.scalars(select(AuditEvent))}
    assert {"result.recorded", "alert.raised", "alert.closed"} <= set(events)
    assert all(e.actor.startswith("cli:") for e in events.values())
    assert events["alert.closed"].entity_id == str(alert["id"])
    bad = cli("results", "add", "1002", "--result", "maybe", env=env)
    assert bad.exit_code == 2 and "not a result" in bad.stderr


def test_imported_results_mark_the_local_day_in_a_dst_zone(engine: Engine, tmp_path: Path) -> None:
    """The import marks appointments done in SQL; the local day must still be the zone's."""
    ny = policy(timezone="America/New_York")
    with Session(engine, expire_on_commit=False) as s:
        evening = add_person(s, "3001", "Evening")
        midnight = add_person(s, "3002", "Midnight")
        overnight = add_person(s, "3003", "Overnight")
        slot = local(NY, 2022, 11, 6, 10, 0)  # the fall-back Sunday, 25 hours long
        a_evening = add_appt(s, evening, slot)
        a_midnight = add_appt(s, midnight, slot)
        a_overnight = add_appt(s, overnight, local(NY, 2022, 11, 6, 23, 50), minutes=30)
        s.commit()
    path = write_csv(
        tmp_path / "ny.csv",
        ["Employee ID", "Sampled at", "Result"],
        [
            ["3001", "2022-11-06 23:30", "negative"],  # 04:30 UTC on 7 Nov, still the 6th locally
            ["3002", "2022-11-07 00:10", "negative"],  # the next local day
            ["3003", "2022-11-07 00:05", "negative"],
        ],  # inside a slot that crossed midnight
    )
    now = local(NY, 2022, 11, 7, 12, 0)
    out = import_results(engine, path, ny, now)
    assert out.appointments_done == 2
    assert status_of(engine, a_evening.id) == "done"  # type: ignore[arg-type]
    assert status_of(engine, a_midnight.id) == "scheduled"  # type: ignore[arg-type]
    assert status_of(engine, a_overnight.id) == "done"  # type: ignore[arg-type]
    with Session(engine) as s:
        done = s.get(Appointment, a_evening.id)
        assert done is not None and done.done_at == local(NY, 2022, 11, 6, 23, 30)


def test_an_appointment_is_done_at_its_first_counting_sample_of_the_day(
    engine: Engine, tmp_path: Path
) -> None:
    """Several samples on one person's day: the appointment is done at the earliest that
    counts (an invalid one does not), a missed one too; an excused one stays excused."""
    with Session(engine, expire_on_commit=False) as s:
        add_site(s, "S1", "一号采样点")
        many = add_person(s, "4001", "多次")
        late = add_person(s, "4002", "补测")
        away = add_person(s, "4003", "请假")
        a_many = add_appt(s, many, SLOT)
        a_late = add_appt(s, late, SLOT, status="missed")
        a_away = add_appt(s, away, SLOT, status="excused")
        s.commit()
    rows: list[list[Any]] = [
        [1, "多次", "4001", "", "", "2022-05-09 07:40", "无效", "一号采样点"],
        [2, "多次", "4001", "", "", "2022-05-09 11:30", "阴性", "一号采样点"],
        [3, "多次", "4001", "", "", "2022-05-09 08:05", "阴性", "幸福社区采样点"],
        [4, "补测", "4002", "", "", "2022-05-09 18:00", "阴性", "一号采样点"],
        [5, "请假", "4003", "", "", "2022-05-09 08:00", "阴性", "一号采样点"],
    ]
    out = import_results(engine, _sheet(tmp_path, rows), P, NOW)
    assert (out.recorded, out.appointments_done) == (5, 2)
    with Session(engine) as s:
        done = {a.id: a for a in s.exec(select(Appointment)).scalars()}  # type: ignore[call-overload]
    assert (done[a_many.id].status, done[a_many.id].done_at) == (
        "done",
        local(SH, 2022, 5, 9, 8, 5),
    )
    assert (done[a_late.id].status, done[a_late.id].done_at) == (
        "done",
        local(SH, 2022, 5, 9, 18, 0),
    )
    assert (done[a_away.id].status, done[a_away.id].done_at) == ("excused", None)


def test_a_bulk_sheet_is_written_with_room_to_sort_and_the_setting_goes_back(
    engine: Engine, tmp_path: Path
) -> None:
    """A sheet of BULK_ROWS samples or more inserts, updates and marks done with 64 MB of
    work_mem on PostgreSQL (at 4 MB the marking's sorts and hashes spilled to disk at a group's
    sheet), and only inside those statements: the next transaction plans with the default."""
    from sqlalchemy import event, text

    from testrota.db.statistics import BULK_ROWS

    ids = _seed(engine)
    # Zhang's samples a second apart from his slot on: the first marks his appointment done.
    rows = [
        [
            i + 1,
            "张三",
            "1001",
            "",
            "",
            SLOT.replace(tzinfo=None) + timedelta(seconds=i),
            "阴性",
            "S1",
        ]
        for i in range(BULK_ROWS)
    ]
    path = write_xlsx(tmp_path / "bulk.xlsx", HEADER, rows)
    seen: dict[str, str] = {}

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        words = " ".join(statement.split()[:3])
        if words in ("INSERT INTO testresult", "UPDATE appointment SET"):
            got = cursor.connection.execute("SELECT current_setting('work_mem')").fetchone()
            seen[words] = got[0]

    pg = engine.dialect.name == "postgresql"
    if pg:
        event.listen(engine, "after_cursor_execute", note)
    try:
        out = import_results(engine, path, P, NOW)
    finally:
        if pg:
            event.remove(engine, "after_cursor_execute", note)
    assert (out.rows, out.recorded, out.appointments_done) == (BULK_ROWS, BULK_ROWS, 1)
    assert status_of(engine, ids["1001"]) == "done"
    if pg:
        assert seen == {"INSERT INTO testresult": "64MB", "UPDATE appointment SET": "64MB"}
        with engine.connect() as conn:
            assert conn.execute(text("SHOW work_mem")).scalar_one() != "64MB"
