"""Check-in, scan and status lookups keep to the reader's units as the lists do (issue 15):
site staff given units check in only their units' people, and a supervisor's lookup of a
number missing its zeros neither finds nor lists a namesake department's person elsewhere."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from testrota.actions.codes import personal_codes
from testrota.app import build_app
from testrota.auth.users import add_user
from testrota.db.engine import session_scope
from testrota.db.models import Person, TestResult
from testrota.org.config import load_org
from testrota.org.units import sync_units
from testrota.settings import Settings
from tests.conftest import CONFIG_DIR
from tests.test_group_scope import _two_companies
from tests.web_support import PASSWORD, add_people, csrf_of, make_user, post_form, sign_in

pytest_plugins = ("tests.web_fixtures",)


def _user(engine: Engine, name: str, role: str, units: list[str]) -> None:
    with session_scope(engine) as s:
        add_user(
            s,
            name=name,
            role=role,
            password=PASSWORD,
            units=units,
            language="en",
            now=datetime(2022, 5, 1, tzinfo=UTC),
        )


def _samples(engine: Engine, employee_no: str) -> int:
    with Session(engine) as s:
        query = (
            select(func.count())
            .select_from(TestResult)
            .join(Person, Person.id == TestResult.person_id)  # type: ignore[arg-type]
            .where(Person.employee_no == employee_no)
        )
        return int(s.scalar(query) or 0)


def _scan(client: TestClient, token: str, **body: Any) -> Any:
    return client.post("/scan/api", json=body, headers={"X-CSRF-Token": token})


def test_site_staff_given_a_unit_check_in_only_its_people(
    client: TestClient, engine: Engine, web_settings: Settings
) -> None:
    _two_companies(engine)  # X001 sits in 北营公司's 炼钢厂, a namesake of 板材公司's
    _user(engine, "tent", "site", ["本钢集团/板材公司"])
    sign_in(client, "tent")
    # the check-in page, by number
    post_form(client, "/checkin", {"employee_no": "X001", "site": "S1"}, page="/checkin")
    assert _samples(engine, "X001") == 0
    post_form(client, "/checkin", {"employee_no": "A001", "site": "S1"}, page="/checkin")
    assert _samples(engine, "A001") == 1
    # the API, by number
    token = csrf_of(client, "/checkin")
    refused = client.post(
        "/api/checkin",
        json={"employee_no": "X001", "site": "S1"},
        headers={"X-CSRF-Token": token},
    )
    assert refused.status_code == 400 and _samples(engine, "X001") == 0
    # the scan console, by personal code
    with Session(engine) as s:
        x001 = s.scalars(select(Person).where(Person.employee_no == "X001")).one()
    code = personal_codes(build_app(web_settings, engine=engine), x001.id or 0)[0].code
    token = csrf_of(client, "/scan")
    assert _scan(client, token, id="scan-u-001", kind="tube", value="T9", site="S1").json()["ok"]
    answer = _scan(
        client, token, id="scan-u-002", kind="person", value=code, site="S1", tube="T9"
    ).json()
    assert answer["ok"] is False and answer["color"] == "red"
    assert _samples(engine, "X001") == 0
    # site staff given nothing check anyone who comes to the tent, as before
    make_user(engine, "gate", "site")
    sign_in(client, "gate")
    post_form(client, "/checkin", {"employee_no": "X001", "site": "S1"}, page="/checkin")
    assert _samples(engine, "X001") == 1


def test_a_unit_supervisors_lookup_finds_and_lists_only_their_units_people(
    client: TestClient, engine: Engine
) -> None:
    _two_companies(engine)
    add_people(
        engine,
        [
            {
                "employee_no": "001234",
                "name": "周一",
                "department": "炼钢厂",
                "unit_path": "板材公司/炼钢厂",
                "grid_unit": "炼钢一班",
                "role": "司机",
            },
            {
                "employee_no": "01234",
                "name": "吴二",
                "department": "炼钢厂",
                "unit_path": "北营公司/炼钢厂",
                "grid_unit": "北营一班",
                "role": "司机",
            },
        ],
    )
    with session_scope(engine) as s:
        sync_units(s.connection(), load_org(CONFIG_DIR), datetime(2022, 5, 1, tzinfo=UTC))
    _user(engine, "sup", "supervisor", ["本钢集团/板材公司"])
    sign_in(client, "sup")
    found = client.get("/api/status/1234")
    assert found.status_code == 200, found.text
    assert found.json()["employee_no"] == "001234"
    page = client.get("/status", params={"employee_no": "1234"})
    assert page.status_code == 200 and "周一" in page.text and "吴二" not in page.text
    # HR, who sees both, is asked to type the whole number
    make_user(engine, "hr1", "hr")
    sign_in(client, "hr1")
    assert client.get("/api/status/1234").status_code == 409
