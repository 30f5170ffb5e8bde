"""Supervisors by unit (issue 15): a supervisor given a unit sees it and everything below it
in the lists, exports and API lists, and never a department of the same name elsewhere."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, update

from testrota.auth.scope import Scope, scope_for
from testrota.db import tables
from testrota.db.engine import session_scope
from testrota.org.config import load_org
from testrota.org.units import sync_units
from tests.conftest import CONFIG_DIR
from tests.web_support import (
    PASSWORD,
    add_people,
    book,
    make_user,
    post_form,
    sign_in,
    soup,
    week19,
)

pytest_plugins = ("tests.web_fixtures",)


def _two_companies(engine: Engine) -> dict[str, Any]:
    """week19's people, 炼钢厂 under 板材公司, and a 炼钢厂 of 北营公司 with one person."""
    ids = week19(engine)
    add_people(
        engine,
        [
            {
                "employee_no": "X001",
                "name": "孙七",
                "department": "炼钢厂",
                "unit_path": "北营公司/炼钢厂",
                "grid_unit": "北营一班",
                "role": "司机",
                "phone": "+8613800000009",
                "risk_category": "driver",
            }
        ],
    )
    book(engine, "X001", ids["mon"])
    person = tables.PERSON
    with session_scope(engine) as s:
        conn = s.connection()
        conn.execute(
            update(person)
            .where(person.c.employee_no.in_(["A001", "A002"]))
            .values(unit_path="板材公司/炼钢厂")
        )
        sync_units(conn, load_org(CONFIG_DIR), datetime(2022, 5, 1, tzinfo=UTC))
    return ids


def _unit_supervisor(engine: Engine, name: str, units: list[str]) -> None:
    from testrota.auth.users import add_user

    with session_scope(engine) as s:
        add_user(
            s,
            name=name,
            role="supervisor",
            password=PASSWORD,
            units=units,
            language="en",
            now=datetime(2022, 5, 1, tzinfo=UTC),
        )


def texts(page: Any, selector: str) -> list[str]:
    return [el.get_text(" ", strip=True) for el in page.select(selector)]


def test_a_unit_supervisor_sees_their_unit_and_below_and_no_namesake_elsewhere(
    client: TestClient, engine: Engine
) -> None:
    _two_companies(engine)
    _unit_supervisor(engine, "sup", ["本钢集团/板材公司"])
    sign_in(client, "sup")
    page = soup(client.get("/people"))
    assert texts(page, "table.people tbody td:nth-of-type(1)") == ["A001", "A002"]
    body = client.get("/api/people").json()
    assert {p["employee_no"] for p in body["people"]} == {"A001", "A002"}
    schedule = client.get("/api/schedule", params={"week": "2022-W19"}).json()
    assert {a["employee_no"] for a in schedule["appointments"]} == {"A001"}
    schedule_page = soup(client.get("/schedule", params={"week": "2022-W19"}))
    assert "X001" not in schedule_page.get_text()
    # one person: the namesake department's is nobody to them, their own is there
    assert client.get("/people/X001").status_code == 404
    assert client.get("/api/people/X001").status_code == 404
    assert client.get("/api/status/X001").status_code == 404
    assert client.get("/people/A001").status_code == 200
    assert client.get("/api/status/A001").status_code == 200
    # the missed list, its export and the compliance figures
    missed = soup(client.get("/missed", params={"week": "2022-W19"}))
    assert [tr["data-employee"] for tr in missed.select("table.missed tbody tr")] == ["A001"]
    assert [r["employee_no"] for r in client.get("/api/missed").json()] == ["A001"]
    assert "X001" not in client.get("/missed.csv", params={"week": "2022-W19"}).text
    compliance = client.get("/api/compliance", params={"week": "2022-W19"}).json()
    [steel] = compliance["departments"]
    assert steel["department"] == "炼钢厂" and steel["people"] == 1  # A001 (high-risk), not X001
    # HR sees the namesake department's person too
    make_user(engine, "hr1", "hr")
    sign_in(client, "hr1")
    body = client.get("/api/people").json()
    assert {p["employee_no"] for p in body["people"]} >= {"A001", "A002", "X001"}


def test_a_unit_supervisor_cannot_call_print_codes_for_or_see_the_pool_of_a_namesake(
    client: TestClient, engine: Engine
) -> None:
    """The actions that read one person or a group by department keep to the units too: a
    namesake department's person is nobody to call (the call hands out the whole number),
    to print personal codes for (they check people in), or to name in a positive pool."""
    from datetime import date

    from sqlmodel import select

    from testrota.db.models import Person, TestResult
    from testrota.db.sampling_models import Tube, TubeMember
    from tests.web_support import local, post_form

    _two_companies(engine)
    _unit_supervisor(engine, "sup", ["本钢集团/板材公司"])
    at = local("2022-05-10 08:00")
    with session_scope(engine) as s:
        for no, code in (("X001", "P1"), ("A001", "P2")):
            person = s.exec(select(Person).where(Person.employee_no == no)).one()
            result = TestResult(
                person_id=person.id, sampled_at=at, result="positive", recorded_at=at
            )
            tube = Tube(
                code=code,
                site_code="S1",
                day=date(2022, 5, 10),
                ratio=10,
                status="closed",
                result="positive",
                result_at=at,
                opened_at=at,
            )
            s.add(result)
            s.add(tube)
            s.flush()
            s.add(
                TubeMember(tube_id=tube.id, person_id=person.id, result_id=result.id, added_at=at)
            )
    sign_in(client, "sup")
    call = post_form(client, "/missed/call", {"employee_no": "X001"}, page="/missed")
    assert call.status_code == 404 and "8613800000009" not in call.headers.get("location", "")
    own = post_form(client, "/missed/call", {"employee_no": "A001"}, page="/missed")
    assert own.status_code == 303 and own.headers["location"].startswith("tel:")
    badges = post_form(client, "/badges", {"grid_unit": "北营一班"}, page="/badges")
    assert badges.status_code == 400 and "nobody active" in badges.text
    pools = client.get("/pools").text
    assert "X001" not in pools and "孙七" not in pools
    assert "A001" in pools  # their own person in the other positive pool


def test_a_unit_supervisor_cannot_excuse_a_namesake_departments_person(engine: Engine) -> None:
    from datetime import date

    import pytest

    from testrota.actions.excuse import Excuse, OutOfScope, excuse
    from testrota.audit import Actor
    from tests.compliance_fixtures import SH, app_at, local, policy

    _two_companies(engine)
    app = app_at(engine, local(SH, 2022, 5, 9, 20, 0), policy())
    mine = scope_for("supervisor", [], ["本钢集团/板材公司"], ["炼钢厂"])
    with pytest.raises(OutOfScope):
        excuse(app, Excuse("X001", "病假", Actor.web("sup"), on=date(2022, 5, 9), scope=mine))
    done = excuse(app, Excuse("A001", "病假", Actor.web("sup"), on=date(2022, 5, 9), scope=mine))
    assert done.excused


def test_a_number_that_could_be_a_namesakes_names_only_the_supervisors_own(
    client: TestClient, engine: Engine
) -> None:
    """Review: excusing ``42`` when 042 sits in the supervisor's unit and 0042 in a namesake
    department of another company answered "could be 2 people: 0042 (孙七外人, 炼钢厂), …":
    an outsider's number and name, which every other look-up keeps out of their sight."""
    from datetime import date

    from testrota.actions.excuse import Excuse, excuse
    from testrota.audit import Actor
    from tests.compliance_fixtures import SH, app_at, local, policy

    ids = _two_companies(engine)
    add_people(
        engine,
        [
            {
                "employee_no": no,
                "name": name,
                "department": "炼钢厂",
                "unit_path": path,
                "grid_unit": "一班",
                "role": "司机",
                "phone": phone,
                "risk_category": "driver",
            }
            for no, name, path, phone in [
                ("042", "自己人", "板材公司/炼钢厂", "+8613800000042"),
                ("0042", "孙七外人", "北营公司/炼钢厂", "+8613800000099"),
            ]
        ],
    )
    book(engine, "042", ids["mon"])
    with session_scope(engine) as s:
        sync_units(s.connection(), load_org(CONFIG_DIR), datetime(2022, 5, 1, tzinfo=UTC))
    app = app_at(engine, local(SH, 2022, 5, 9, 20, 0), policy())
    mine = scope_for("supervisor", [], ["本钢集团/板材公司"], ["炼钢厂"])
    done = excuse(app, Excuse("42", "病假", Actor.web("sup"), on=date(2022, 5, 9), scope=mine))
    assert done.employee_no == "042" and done.excused
    # and through the missed page's form and the API, as the reviewer did
    _unit_supervisor(engine, "usup", ["本钢集团/板材公司"])
    sign_in(client, "usup")
    page = post_form(
        client, "/missed/excuse", {"employee_no": "42", "reason": "病假"}, page="/missed"
    )
    shown = client.get(page.headers["location"]).text
    token = client.get("/api/session").json()["csrf_token"]
    api = client.post(
        "/api/excuse",
        json={"employee_no": "42", "reason": "病假"},
        headers={"X-CSRF-Token": token},
    )
    for answer in (shown, api.text):
        assert "0042" not in answer and "孙七外人" not in answer, answer[-500:]


def test_a_unit_scope_is_the_units_and_their_departments() -> None:
    scope = scope_for("supervisor", [], ["本钢集团/板材公司"], ["炼钢厂"])
    assert scope.units == frozenset({"本钢集团/板材公司"})
    assert scope.allows_unit("本钢集团/板材公司/炼钢厂")
    assert scope.allows_unit("本钢集团/板材公司")
    assert not scope.allows_unit("本钢集团/板材公司二")  # a prefix of the name is not below it
    assert not scope.allows_unit("本钢集团")
    assert scope_for("hr", [], ["本钢集团/板材公司"]).is_everything
    assert Scope.everything().allows_unit("本钢集团/北营公司")


def test_users_add_takes_a_unit_by_path_or_code_and_refuses_an_unknown_one(
    cli: Any, engine: Engine
) -> None:
    _two_companies(engine)
    password = PASSWORD + "\n"
    added = cli(
        "users",
        "add",
        "sup",
        "--role",
        "supervisor",
        "--unit",
        "板材公司",
        "--password-stdin",
        "--json",
        input=password,
    )
    assert added.exit_code == 0, added.output
    assert json.loads(added.stdout)["units"] == ["本钢集团/板材公司"]
    unknown = cli(
        "users",
        "add",
        "sup2",
        "--role",
        "supervisor",
        "--unit",
        "鞍钢",
        "--password-stdin",
        input=password,
    )
    assert unknown.exit_code == 2 and "no unit" in unknown.output
    bare = cli("users", "add", "sup3", "--role", "supervisor", "--password-stdin", input=password)
    assert bare.exit_code == 2 and "--unit" in bare.output


def test_the_daily_report_and_its_confirmation_keep_to_the_readers_units(engine: Engine) -> None:
    from datetime import date

    import pytest

    from testrota.actions.report import (
        ConfirmReport,
        DailyReport,
        OutOfUnits,
        confirm_report,
        daily_report,
    )
    from testrota.audit import Actor
    from tests.compliance_fixtures import SH, app_at, local, policy

    _two_companies(engine)
    app = app_at(engine, local(SH, 2022, 5, 10, 9, 0), policy())
    mine = scope_for("supervisor", [], ["本钢集团/板材公司"], ["炼钢厂"])
    out = daily_report(app, DailyReport(date(2022, 5, 9), Actor.web("sup"), scope=mine))
    assert out.unit == "本钢集团/板材公司"  # their one unit by default
    assert {r.path for r in out.rows} >= {"本钢集团/板材公司", "本钢集团/板材公司/炼钢厂"}
    assert all(r.path.startswith("本钢集团/板材公司") for r in out.rows)
    assert out.rows[0].required == 1  # A001's Monday slot; X001's is 北营公司's
    with pytest.raises(OutOfUnits):
        daily_report(
            app, DailyReport(date(2022, 5, 9), Actor.web("sup"), unit="北营公司", scope=mine)
        )
    with pytest.raises(OutOfUnits):
        confirm_report(
            app, ConfirmReport(date(2022, 5, 9), "本钢集团", Actor.web("sup"), scope=mine)
        )
    by_department = scope_for("supervisor", ["物流部"])
    with pytest.raises(OutOfUnits):
        daily_report(
            app,
            DailyReport(
                date(2022, 5, 9), Actor.web("sup"), unit="北营公司/炼钢厂", scope=by_department
            ),
        )
    assert (
        daily_report(
            app, DailyReport(date(2022, 5, 9), Actor.web("sup"), unit="物流部", scope=by_department)
        )
        .rows[0]
        .required
        == 2
    )


def test_a_unit_supervisor_sees_no_namesake_departments_case_in_the_alerts(
    engine: Engine,
) -> None:
    from testrota.actions.alerts import Alerts, list_alerts
    from tests.compliance_fixtures import SH, app_at, local, policy, record_result

    _two_companies(engine)
    pol = policy()
    record_result(
        engine, "X001", local(SH, 2022, 5, 9, 9, 0), "positive", pol, local(SH, 2022, 5, 9, 18, 0)
    )
    app = app_at(engine, local(SH, 2022, 5, 9, 19, 0), pol)
    by_department = list_alerts(app, Alerts(scope_for("supervisor", ["炼钢厂"])))
    assert [a.employee_no for a in by_department] == ["X001"]  # a namesake is theirs
    mine = scope_for("supervisor", [], ["本钢集团/板材公司"], ["炼钢厂"])
    for alert in list_alerts(app, Alerts(mine)):
        assert not alert.case_visible and alert.employee_no is None
        assert all(c.employee_no in {"A001", "A002"} for c in alert.contacts)
