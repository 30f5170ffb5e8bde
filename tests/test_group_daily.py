"""The daily report (日报, issue 15): the roll-up against hand-computed figures, the report on
a real database in two time zones, excuse reason codes, and its JSON, CSV and .xlsx."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session

from testrota.actions.excuse import Excuse
from testrota.actions.excuse import excuse as excuse_action
from testrota.actions.report import DailyReport, daily_report
from testrota.audit import Actor
from testrota.db.models import Appointment, AuditEvent, Person
from testrota.errors import UserError
from testrota.org.daily import (
    AppointmentIn,
    ConfirmationIn,
    DailyRow,
    PersonIn,
    SampleIn,
    TubeFigures,
    UnitIn,
    classify,
    roll_up,
)
from tests.compliance_fixtures import (
    NY,
    SH,
    add_appt,
    add_person,
    add_sample,
    add_site,
    app_at,
    local,
    policy,
)

REASONS = ["leave", "quarantine", "trip", "recovering", "other"]
LEVELS = ["集团", "公司", "厂矿", "网格"]
UNITS = [
    UnitIn(1, None, "G", "G", 0, "unit"),
    UnitIn(2, 1, "G/A", "A", 1, "unit"),
    UnitIn(3, 2, "G/A/A1", "A1", 2, "unit"),
    UnitIn(4, 2, "G/A/A2", "A2", 2, "unit"),
    UnitIn(5, 1, "G/B", "B", 1, "unit"),
    UnitIn(6, 3, "G/A/A1/g", "g", 3, "grid"),
]
PEOPLE = [
    PersonIn(1, 6, "employee", True),
    PersonIn(2, 3, "employee", False),
    PersonIn(3, 4, "co_resident", None),
    PersonIn(4, 4, "third_party", True),
    PersonIn(5, 5, "employee", True),
    PersonIn(6, 5, "employee", None),
    PersonIn(7, 3, "employee", None),
    PersonIn(8, 3, "employee", None),
    PersonIn(9, None, "employee", True),  # no unit: in no row
]
APPOINTMENTS = [
    AppointmentIn(1, "done", None),
    AppointmentIn(2, "excused", "leave"),
    AppointmentIn(3, "missed", None),
    AppointmentIn(5, "done", None),
    AppointmentIn(6, "cancelled", None),  # not due
    AppointmentIn(7, "excused", "quarantine"),
    AppointmentIn(7, "scheduled", None),  # one slot not excused: untested without a reason
    AppointmentIn(8, "excused", "no_such_code"),  # an old code: counts as other
    AppointmentIn(9, "scheduled", None),
]
SAMPLES = [
    SampleIn(1, "negative"),
    SampleIn(4, "pending"),  # not due: extra
    SampleIn(5, "positive"),
    SampleIn(9, "negative"),
]


def _report(**kwargs: Any) -> dict[str, DailyRow]:
    rows = roll_up(
        UNITS,
        classify(PEOPLE, APPOINTMENTS, SAMPLES, REASONS),
        reasons=REASONS,
        level_names=LEVELS,
        grid_level="网格",
        **kwargs,
    )
    return {r.path: r for r in rows}


def _figures(row: DailyRow) -> tuple[Any, ...]:
    return (
        row.people,
        row.employees,
        row.co_residents,
        row.third_party,
        row.required,
        row.tested,
        row.untested,
        row.rate,
        row.extra,
        row.positive,
        row.booster_share,
    )


def test_each_row_adds_up_its_own_people_and_everyone_below_it() -> None:
    # the tubes' figures come by unit: p1's pooled sample in g, p5's single one in B
    rows = _report(tubes=TubeFigures(pooled={6: 1}, single={5: 1}, pool_positive={6: 1}))
    assert list(rows) == ["G", "G/A", "G/A/A1", "G/A/A1/g", "G/A/A2", "G/B"]
    # people, employees, co-residents, third-party, required, tested, untested, rate, extra,
    # positive, booster share: worked out by hand from the lists above
    assert _figures(rows["G/A/A1/g"]) == (1, 1, 0, 0, 1, 1, 0, 1.0, 0, 0, 1.0)
    assert _figures(rows["G/A/A1"]) == (4, 4, 0, 0, 4, 1, 3, 0.25, 0, 0, 0.25)
    assert _figures(rows["G/A/A2"]) == (2, 0, 1, 1, 1, 0, 1, 0.0, 1, 0, 0.5)
    assert _figures(rows["G/A"]) == (6, 4, 1, 1, 5, 1, 4, 0.2, 1, 0, 0.3333)
    assert _figures(rows["G/B"]) == (2, 2, 0, 0, 1, 1, 0, 1.0, 0, 1, 0.5)
    assert _figures(rows["G"]) == (8, 6, 1, 1, 6, 2, 4, 0.3333, 1, 1, 0.375)
    assert rows["G/A/A1"].untested_by_reason == {
        "none": 1,
        "leave": 1,
        "quarantine": 0,
        "trip": 0,
        "recovering": 0,
        "other": 1,
    }
    assert rows["G"].untested_by_reason["none"] == 2
    assert sum(rows["G"].untested_by_reason.values()) == rows["G"].untested
    assert (rows["G"].pooled, rows["G"].single, rows["G"].pool_positive) == (1, 1, 1)
    assert (rows["G/B"].pooled, rows["G/B"].single, rows["G/B"].pool_positive) == (0, 1, 0)
    assert rows["G/A/A1/g"].level_name == "网格" and rows["G/A/A2"].level_name == "厂矿"


def test_a_unit_with_nobody_due_has_no_rate_and_one_with_nobody_no_booster_share() -> None:
    units = [*UNITS, UnitIn(7, 1, "G/C", "C", 1, "unit")]
    counts = classify(PEOPLE, [], [], REASONS)
    rows = {r.path: r for r in roll_up(units, counts, reasons=REASONS, level_names=LEVELS)}
    assert rows["G/A"].rate is None and rows["G/A"].required == 0
    assert rows["G/C"].people == 0 and rows["G/C"].booster_share is None


def test_the_report_of_a_unit_and_of_fewer_levels() -> None:
    counts = classify(PEOPLE, APPOINTMENTS, SAMPLES, REASONS)
    below_a = roll_up(UNITS, counts, reasons=REASONS, level_names=LEVELS, top=2)
    assert [r.path for r in below_a] == ["G/A", "G/A/A1", "G/A/A1/g", "G/A/A2"]
    top_two = _report(levels=1)
    assert list(top_two) == ["G", "G/A", "G/B"]
    assert top_two["G/A"].required == 5  # still everyone below it


def test_figures_changed_after_confirmation_are_shown_as_changed() -> None:
    at = datetime(2022, 5, 11, 1, 30, tzinfo=UTC)
    then = {"people": 6, "required": 5, "tested": 0, "untested": 5, "extra": 1, "positive": 0}
    same = {"people": 2, "required": 1, "tested": 1, "untested": 0, "extra": 0, "positive": 1}
    rows = _report(
        confirmations=[
            ConfirmationIn(2, "web:sup", at, "已核对", then),
            ConfirmationIn(5, "web:sup2", at, "", same),
        ]
    )
    a = rows["G/A"].confirmed
    assert a is not None and a["by"] == "web:sup" and a["note"] == "已核对"
    assert a["changed"] is True
    assert a["changes"] == {"tested": [0, 1], "untested": [5, 4]}
    b = rows["G/B"].confirmed
    assert b is not None and b["changed"] is False and b["changes"] == {}
    assert rows["G"].confirmed is None


# --- on a database -----------------------------------------------------------------------------


def _person(session: Session, no: str, unit_path: str, dept: str, **kw: Any) -> Person:
    p = add_person(session, no, department=dept, grid_unit=kw.pop("grid", ""), **kw)
    p.unit_path = unit_path
    p.person_type = kw.get("person_type", "employee")
    session.add(p)
    session.flush()
    return p


@pytest.mark.parametrize(
    ("tz", "day"),
    [(SH, date(2022, 5, 10)), (NY, date(2022, 3, 13))],  # NY: the 23-hour day DST starts
    ids=["shanghai", "new_york_dst"],
)
def test_the_report_counts_the_local_day_and_excuse_codes_on_a_database(
    engine: Engine, session: Session, tz: ZoneInfo, day: date
) -> None:
    pol = policy(timezone=str(tz))
    y, m, d = day.year, day.month, day.day
    add_site(session)
    a = _person(session, "1", "板材公司/炼钢厂", "炼钢厂", grid="甲班")
    b = _person(session, "2", "板材公司/冷轧厂", "冷轧厂")
    c = _person(session, "3", "", "运输部")
    e = _person(session, "4", "", "运输部")
    session.commit()
    add_appt(session, a, local(tz, y, m, d, 9, 0), status="done")
    add_sample(session, a, local(tz, y, m, d, 23, 30), result="negative")  # late, same day
    add_appt(session, b, local(tz, y, m, d, 10, 0))
    add_appt(session, e, local(tz, y, m, d, 11, 0), status="missed")
    add_sample(session, e, local(tz, y, m, d + 1, 0, 15))  # the next local day: not tested
    add_sample(session, c, local(tz, y, m, d, 8, 0), result="positive")  # not due: extra
    session.commit()
    app = app_at(engine, local(tz, y, m, d, 8, 0), pol)
    out = excuse_action(
        app, Excuse("2", "出差 business trip", Actor.cli("hr"), on=day, code="trip")
    )
    assert out.code == "trip"

    report = daily_report(
        app_at(engine, local(tz, y, m, d + 1, 9, 0), pol), DailyReport(day, Actor.cli("hr"))
    )
    rows = {r.path: r for r in report.rows}
    root = rows["本钢集团"]
    assert (root.people, root.required, root.tested, root.untested, root.extra) == (4, 3, 1, 2, 1)
    assert root.untested_by_reason["trip"] == 1 and root.untested_by_reason["none"] == 1
    assert root.positive == 1 and root.rate == pytest.approx(1 / 3, abs=1e-4)
    assert rows["本钢集团/板材公司"].required == 2
    assert rows["本钢集团/板材公司/炼钢厂/甲班"].tested == 1
    assert rows["本钢集团/运输部"].untested_by_reason["none"] == 1
    with Session(engine) as s:
        appt = s.exec(select(Appointment).where(Appointment.person_id == b.id)).one()[0]
        assert (appt.status, appt.excused_code) == ("excused", "trip")
        audit = s.exec(select(AuditEvent).where(AuditEvent.action == "appointment.excused")).one()[
            0
        ]
        assert audit.details["code"] == "trip"
    one = daily_report(
        app_at(engine, local(tz, y, m, d + 1, 9, 0), pol),
        DailyReport(day, Actor.cli("hr"), unit="板材公司", levels=1),
    )
    assert [r.path for r in one.rows] == [
        "本钢集团/板材公司",
        "本钢集团/板材公司/冷轧厂",
        "本钢集团/板材公司/炼钢厂",
    ]


def test_an_excuse_without_a_code_counts_as_other_and_an_unknown_code_is_refused(
    engine: Engine, session: Session
) -> None:
    pol = policy()
    add_site(session)
    p = _person(session, "7", "", "炼钢厂")
    add_appt(session, p, local(SH, 2022, 5, 10, 9, 0))
    session.commit()
    app = app_at(engine, local(SH, 2022, 5, 10, 8, 0), pol)
    with pytest.raises(UserError, match="unknown excuse reason code 'holiday'"):
        excuse_action(app, Excuse("7", "休假", Actor.cli(), on=date(2022, 5, 10), code="holiday"))
    excuse_action(app, Excuse("7", "病假", Actor.cli(), on=date(2022, 5, 10)))
    rows = daily_report(app, DailyReport(date(2022, 5, 10), Actor.cli())).rows
    assert rows[0].untested_by_reason["other"] == 1


def test_an_unknown_unit_is_a_clear_error(engine: Engine, session: Session) -> None:
    _person(session, "8", "", "炼钢厂")
    session.commit()
    app = app_at(engine, local(SH, 2022, 5, 10, 8, 0), policy())
    with pytest.raises(UserError, match="no unit 本钢集团/轧钢厂"):
        daily_report(app, DailyReport(date(2022, 5, 10), Actor.cli(), unit="轧钢厂"))
    with pytest.raises(UserError, match="--levels"):
        daily_report(app, DailyReport(date(2022, 5, 10), Actor.cli(), levels=99))


# --- the command -------------------------------------------------------------------------------

CONTRACT = [
    "path",
    "name",
    "level",
    "people",
    "employees",
    "co_residents",
    "third_party",
    "required",
    "tested",
    "untested",
    "untested_by_reason",
    "rate",
    "pooled",
    "single",
    "pool_positive",
    "positive",
    "booster_share",
    "extra",
    "confirmed",
]


def _world(session: Session) -> None:
    add_site(session)
    p = _person(session, "11", "板材公司/=1+2", "炼钢厂", grid="甲班")
    q = _person(session, "12", "板材公司/冷轧厂", "冷轧厂")
    add_appt(session, p, local(SH, 2022, 5, 10, 9, 0), status="done")
    add_sample(session, p, local(SH, 2022, 5, 10, 9, 5))
    add_appt(session, q, local(SH, 2022, 5, 10, 9, 0), status="missed")
    session.commit()


def test_report_daily_json_keeps_the_contract_and_csv_is_formula_safe(
    cli: Any, session: Session
) -> None:
    _world(session)
    result = cli("report", "daily", "--date", "2022-05-10", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert list(doc[0])[: len(CONTRACT)] == CONTRACT
    assert doc[0]["path"] == "本钢集团" and doc[0]["rate"] == 0.5
    csv_out = cli("report", "daily", "--date", "2022-05-10", "--format", "csv")
    assert csv_out.exit_code == 0, csv_out.output
    lines = csv_out.stdout.splitlines()
    assert lines[0].startswith("path,name,level,level_name,kind,code,people")
    assert "untested_none" in lines[0] and "untested_trip" in lines[0]
    assert any(",'=1+2," in line for line in lines)
    bad = cli("report", "daily", "--date", "10/05/2022")
    assert bad.exit_code == 2 and "2022-05-09" in bad.output
    nowhere = cli("report", "daily", "--date", "2022-05-10", "--unit", "没有的厂")
    assert nowhere.exit_code == 2 and "no unit" in nowhere.output


def test_report_daily_xlsx_has_the_offices_layout(
    cli: Any, session: Session, tmp_path: Path
) -> None:
    from openpyxl import load_workbook

    _world(session)
    target = tmp_path / "日报.xlsx"
    result = cli(
        "report", "daily", "--date", "2022-05-10", "--format", "xlsx", "--output", str(target)
    )
    assert result.exit_code == 0, result.output
    ws = load_workbook(target).active
    assert ws is not None
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert "D2:G2" in merged  # 人数 People over its four columns
    assert ws["D2"].value == "人数 People" and ws["D3"].value == "合计 Total"
    assert ws["A2"].value == "单位 Unit" and ws["B3"].value == "单位 Unit"
    assert ws.freeze_panes == "C4"
    assert ws.page_setup.orientation == "landscape" and str(ws.page_setup.paperSize) == "9"
    assert ws.print_title_rows == "$2:$3"
    names = [ws.cell(row=r, column=2).value for r in range(4, ws.max_row + 1)]
    assert names[:2] == ["本钢集团", "板材公司"]
    formula_like = next(
        ws.cell(row=r, column=2)
        for r in range(4, ws.max_row + 1)
        if str(ws.cell(row=r, column=2).value).startswith("=")
    )
    assert formula_like.data_type == "s" and formula_like.quotePrefix
    heading = [ws.cell(row=r, column=1).value for r in range(4, ws.max_row + 1)]
    level_totals = heading.index("按层级合计 Totals by level")
    assert names[level_totals + 1] == "1 个单位 units"  # the root alone at its level
    assert heading[level_totals + 1] == "集团"
    assert ws.cell(row=4, column=1).value == "集团"
    # the root's rate cell is a number shown as a percentage
    rate_col = [ws.cell(row=3, column=c).value for c in range(1, ws.max_column + 1)].index(
        "检测率 Rate"
    ) + 1
    assert ws.cell(row=4, column=rate_col).value == 0.5
    assert ws.cell(row=4, column=rate_col).number_format == "0.0%"


def test_the_databases_grouped_count_is_the_pure_definition(
    engine: Engine, session: Session
) -> None:
    """The shell counts in SQL what classify() defines: the same facts on a messy day."""
    from testrota.actions.report import day_counts, raw_day_counts
    from testrota.actions.units import ensure_units
    from testrota.db import tables
    from testrota.org.rollup import read_day
    from testrota.weeks import day_bounds

    add_site(session)
    statuses = ["done", "missed", "excused", "scheduled", "cancelled"]
    codes = [None, "leave", "trip", "no_such_code"]
    for i in range(40):
        p = _person(session, f"P{i}", f"板材公司/厂{i % 3}", f"厂{i % 3}", grid=f"网格{i % 5}")
        p.person_type = ["employee", "co_resident", "third_party"][i % 3]
        p.booster = [True, False, None][i % 3]
        session.add(p)
        for k in range(i % 3):  # none, one or two appointments that day
            a = add_appt(session, p, local(SH, 2022, 5, 10, 9 + k, 0), status=statuses[(i + k) % 5])
            if a.status == "excused":
                a.excused_code = codes[(i + k) % 4]
                session.add(a)
        if i % 4:
            add_sample(
                session,
                p,
                local(SH, 2022, 5, 10, 12, i % 50),
                result="positive" if i % 11 == 0 else "negative",
            )
        if i % 6 == 0:
            add_sample(session, p, local(SH, 2022, 5, 11, 0, 30))  # the next day
    for no, code in (("Q1", "no_such_code"), ("Q2", None), ("Q3", "trip")):
        q = _person(session, no, "板材公司/厂0", "厂0")
        a = add_appt(session, q, local(SH, 2022, 5, 10, 9, 0), status="excused")
        a.excused_code = code
        session.add(a)
    session.commit()
    app = app_at(engine, local(SH, 2022, 5, 11, 9, 0), policy())
    ensure_units(app, Actor.cli())
    start, end = day_bounds(date(2022, 5, 10), SH)
    with engine.connect() as conn:
        people = [
            PersonIn(*r)
            for r in conn.execute(
                select(
                    tables.PERSON.c.id,
                    tables.PERSON.c.unit_id,
                    tables.PERSON.c.person_type,
                    tables.PERSON.c.booster,
                )
            )
        ]
        appts = [
            AppointmentIn(*r)
            for r in conn.execute(
                select(
                    tables.APPOINTMENT.c.person_id,
                    tables.APPOINTMENT.c.status,
                    tables.APPOINTMENT.c.excused_code,
                ).where(
                    tables.APPOINTMENT.c.starts_at >= start, tables.APPOINTMENT.c.starts_at < end
                )
            )
        ]
        samples = [
            SampleIn(*r)
            for r in conn.execute(
                select(tables.TEST_RESULT.c.person_id, tables.TEST_RESULT.c.result).where(
                    tables.TEST_RESULT.c.sampled_at >= start, tables.TEST_RESULT.c.sampled_at < end
                )
            )
        ]
        expected = sorted(classify(people, appts, samples, REASONS), key=lambda c: c.unit_id)
        found = sorted(
            raw_day_counts(conn, date(2022, 5, 10), SH, None, REASONS), key=lambda c: c.unit_id
        )
        assert found == expected
        # what the report reads: the roll-up the changes above kept current
        kept, _ = day_counts(read_day(conn, date(2022, 5, 10), SH, None), REASONS)
        assert sorted(kept, key=lambda c: c.unit_id) == expected
        assert sum(c.untested.get("other", 0) for c in found) >= 2  # no code, an old code
        assert sum(c.untested.get("trip", 0) for c in found) >= 1
        some = sorted({p.unit_id for p in people if p.unit_id is not None})[:2]
        mine = [c for c in expected if c.unit_id in some]
        found_some = raw_day_counts(conn, date(2022, 5, 10), SH, some, REASONS)
        assert sorted(found_some, key=lambda c: c.unit_id) == mine


def _tubes(rows: list[DailyRow]) -> tuple[int, int, int, int, int]:
    root = rows[0]
    return root.pooled, root.single, root.required, root.tested, root.extra


@pytest.mark.parametrize("tz", [SH, NY], ids=["shanghai", "new_york"])
def test_a_check_in_and_its_lab_result_are_one_tube(
    engine: Engine, session: Session, tz: ZoneInfo, tmp_path: Path
) -> None:
    """A swab checked in at a site and answered by the lab's sheet is two rows (``checkin``,
    then ``lab``) but one tube: the report counts samples, not rows."""
    from testrota.actions.rollup import RebuildRollup, rebuild_rollup
    from testrota.actions.tubes import OpenTube, open_tube
    from testrota.actions.units import ensure_units
    from tests.compliance_fixtures import check_in, import_results, write_csv

    pol = policy(timezone=str(tz))
    day = date(2022, 5, 10)

    def at(h: int, m: int = 0) -> datetime:
        return local(tz, 2022, 5, 10, h, m)

    add_site(session)
    for no in ("A", "B", "C", "D", "E", "F"):
        p = _person(session, no, "板材公司/炼钢厂", "炼钢厂", grid="甲班")
        add_appt(session, p, at(8, 0), minutes=120)
    session.commit()
    app = app_at(engine, at(7), pol)
    ensure_units(app, Actor.cli())
    check_in(engine, "A", "S1", at(9, 0), "site", pol)  # the lab writes the same minute
    check_in(engine, "B", "S1", at(9, 10), "site", pol)  # ... or the tube's, a little later
    check_in(engine, "E", "S1", at(8, 5), "site", pol)  # two visits, two swabs
    check_in(engine, "E", None, at(21, 0), "site", pol)
    open_tube(app_at(engine, at(9, 29), pol), OpenTube("P1", "S1", Actor.cli("t"), ratio=5))
    from testrota.actions import checkin as checkin_action

    checkin_action.check_in(
        app_at(engine, at(9, 30), pol),
        checkin_action.CheckIn("F", Actor.web("site"), at=at(9, 30), tube="P1"),
    )
    sheet = write_csv(
        tmp_path / "lab.csv",
        ["工号", "采样时间", "检测结果", "采样点"],
        [
            ["A", "2022-05-10 09:00", "阴性", "一号采样点"],
            ["B", "2022-05-10 09:25", "阴性", "一号采样点"],
            ["C", "2022-05-10 10:00", "阴性", "一号采样点"],  # no check-in: its own swab
            ["D", "2022-05-10 11:00", "阴性", "社区采样点"],  # an outside booth's swab
            ["E", "2022-05-10 08:10", "阴性", "一号采样点"],
            ["E", "2022-05-10 21:05", "阴性", ""],
            ["F", "2022-05-10 09:30", "阴性", "一号采样点"],  # F's swab is in pooled tube P1
        ],
    )
    late = local(tz, 2022, 5, 11, 9, 0)
    assert import_results(engine, sheet, pol, late).added == 7
    later = app_at(engine, late, pol)
    # 7 swabs: F's pooled, A, B, C, D and E's two alone; everyone due was tested, nobody extra
    expected = (1, 6, 6, 6, 0)
    kept = daily_report(later, DailyReport(day, Actor.cli())).rows
    raw = daily_report(later, DailyReport(day, Actor.cli(), from_raw=True)).rows
    assert _tubes(kept) == _tubes(raw) == expected
    rebuild_rollup(later, RebuildRollup(Actor.cli(), day, day))  # whole days, another query
    assert _tubes(daily_report(later, DailyReport(day, Actor.cli())).rows) == expected
