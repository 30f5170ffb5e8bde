"""The CLI and the web accept exactly the categories of the loaded vocabulary.

A deployment adds a 17th category to its ``risk_categories.yaml``: it can be chosen at once
from the command line (``override``, ``roles map``), on the person page, on the roles page and
through the API, is stored and is shown with its own name; an unknown code is refused by every
door with the same message. Both databases.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from testrota.db.models import AuditEvent, Person
from testrota.risk.vocabulary import FILE_NAME
from testrota.web.app import create_app
from tests.compliance_fixtures import config_dir
from tests.web_support import (
    csrf_of,
    make_user,
    post_form,
    sign_in,
    soup,
    two_departments,
    web_settings_for,
)

NEW = {
    "code": "port_handling",
    "names": {"zh_hans": "港口作业", "zh_hant": "港口作業", "en": "port handling"},
    "titles": ["港口理货员"],
}
UNKNOWN = re.compile(r"unknown risk category 'taxi': use one of [^\n]*port_handling, or 'none'")


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A copy of config/ whose vocabulary has a 17th category."""
    target = config_dir(tmp_path)
    path = target / FILE_NAME
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert len(data["categories"]) == 16
    data["categories"].append(NEW)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return target


@pytest.fixture
def web(database_url: str, engine: Engine, config: Path) -> Any:
    two_departments(engine)
    make_user(engine, "hr1", "hr")
    with TestClient(
        create_app(web_settings_for(database_url, config_dir=config)),
        headers={"Accept-Language": "en"},
    ) as client:
        sign_in(client, "hr1")
        yield client


def _stored(engine: Engine, employee_no: str) -> Person:
    with Session(engine) as s:
        return s.exec(select(Person).where(Person.employee_no == employee_no)).one()


def _options(page: Any, form: str) -> dict[str, str]:
    return {
        o["value"]: o.get_text(strip=True)
        for o in page.select(f"{form} select[name=category] option")
        if o["value"]
    }


def test_the_cli_accepts_a_category_added_to_the_vocabulary(
    cli: Any, engine: Engine, config: Path
) -> None:
    two_departments(engine)
    env = {"TESTROTA_CONFIG_DIR": str(config)}
    result = cli("override", "A002", "port_handling", "--reason", "unloads ships", env=env)
    assert result.exit_code == 0, result.output
    assert "A002: port_handling (港口作业)" in result.stdout
    assert _stored(engine, "A002").risk_category == "port_handling"

    # by its name in any script, for a role title
    result = cli("roles", "map", "装卸工", "港口作業", "--reason", "dockside", "--json", env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["category"] == "port_handling"
    assert _stored(engine, "B001").risk_category == "port_handling"
    roles = json.loads(cli("roles", "--json", env=env).stdout)
    mapped = next(r for r in roles if r["role"] == "装卸工")
    assert (mapped["category"], mapped["category_name"]) == ("port_handling", "港口作业")
    people = json.loads(cli("people", "--high-risk", "--json", env=env).stdout)
    assert {p["employee_no"] for p in people if p["risk_category"] == "port_handling"} == {
        "A002",
        "B001",
    }

    refused = cli("override", "A001", "taxi", "--reason", "r", env=env)
    assert refused.exit_code == 2
    assert UNKNOWN.search(refused.stderr), refused.stderr
    # the shipped vocabulary does not have it: the same command is refused there
    shipped = cli("override", "A001", "port_handling", "--reason", "r")
    assert shipped.exit_code == 2 and "unknown risk category 'port_handling'" in shipped.stderr


def test_the_web_offers_stores_and_shows_a_category_added_to_the_vocabulary(
    web: TestClient, engine: Engine
) -> None:
    page = soup(web.get("/people/A002"))
    assert _options(page, "form.override")["port_handling"] == "port handling"
    r = post_form(
        web,
        "/people/A002/override",
        {"category": "port_handling", "reason": "unloads ships"},
        page="/people/A002",
    )
    assert r.status_code == 303, r.text
    assert _stored(engine, "A002").risk_category == "port_handling"
    page = soup(web.get("/people/A002"))
    assert "port handling" in page.select_one(".badge.warn").get_text()
    listed = soup(web.get("/people", params={"category": "port_handling"}))
    assert [a.get_text() for a in listed.select("table.people td a")] == ["A002"]
    assert "port_handling" in _options(listed, "form[role=search]")

    roles = soup(web.get("/roles"))
    row = next(r for r in roles.select("table.roles tbody tr") if r["data-role"] == "装卸工")
    change = soup(web.get(row.select_one("a.change")["href"]))
    assert _options(change, "form.role-change")["port_handling"] == "port handling"
    form = change.select_one("form.role-change")
    data = {i["name"]: i["value"] for i in form.select("input[type=hidden]")}
    data |= {"scope": "department", "category": "port_handling", "reason": "docks"}
    r = web.post("/roles/map", data={**data, "confirm": "1"}, follow_redirects=False)
    assert r.status_code == 303
    assert "port handling" in soup(web.get(r.headers["location"])).select_one(".flash").text
    assert _stored(engine, "B001").risk_category == "port_handling"
    with Session(engine) as s:
        changes = {
            (e.action, e.actor) for e in s.exec(select(AuditEvent)) if e.action.startswith("risk.")
        }
    assert changes == {("risk.person_override", "web:hr1"), ("risk.role_override", "web:hr1")}


def test_the_api_accepts_a_category_added_to_the_vocabulary(
    web: TestClient, engine: Engine
) -> None:
    headers = {"X-CSRF-Token": web.get("/api/session").json()["csrf_token"]}
    r = web.post(
        "/api/people/A001/override",
        headers=headers,
        json={"category": "port_handling", "reason": "moved to the docks"},
    )
    assert r.status_code == 200, r.text
    assert r.json() == {
        "employee_no": "A001",
        "category": "port_handling",
        "old_category": "driver",
        "released": 0,
        "cleared": False,
    }
    assert web.get("/api/people/A001").json()["risk_category"] == "port_handling"
    r = web.post(
        "/api/roles/map",
        headers=headers,
        json={"role": "炉前工", "category": "port handling", "reason": "docks"},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["category"], r.json()["affected"]) == ("port_handling", 1)
    roles = {row["role"]: row for row in web.get("/api/roles").json()}
    assert roles["炉前工"]["category"] == "port_handling"


def test_an_unknown_category_is_refused_by_every_door_the_same_way(
    web: TestClient, engine: Engine, cli: Any, config: Path
) -> None:
    cli_refusal = cli(
        "override", "A001", "taxi", "--reason", "r", env={"TESTROTA_CONFIG_DIR": str(config)}
    )
    assert cli_refusal.exit_code == 2
    message = UNKNOWN.search(cli_refusal.stderr)
    assert message is not None

    r = post_form(
        web, "/people/A001/override", {"category": "taxi", "reason": "r"}, page="/people/A001"
    )
    assert r.status_code == 400
    assert message.group(0) in soup(r).select_one("form.override .flash.error").get_text()

    r = web.post(
        "/roles/map",
        data={
            "csrf_token": csrf_of(web, "/roles"),
            "role": "炉前工",
            "department": "炼钢厂",
            "scope": "department",
            "category": "taxi",
            "reason": "r",
        },
        follow_redirects=False,
    )
    assert r.status_code == 400
    assert message.group(0) in soup(r).select_one(".flash.error").get_text()

    headers = {"X-CSRF-Token": web.get("/api/session").json()["csrf_token"]}
    r = web.post(
        "/api/people/A001/override", headers=headers, json={"category": "taxi", "reason": "r"}
    )
    assert r.status_code == 400 and message.group(0) in r.json()["detail"]
    r = web.post(
        "/api/roles/map",
        headers=headers,
        json={"role": "炉前工", "category": "taxi", "reason": "r"},
    )
    assert r.status_code == 400 and message.group(0) in r.json()["detail"]

    assert _stored(engine, "A001").risk_category == "driver"
    with Session(engine) as s:
        assert not [e for e in s.exec(select(AuditEvent)) if e.action.startswith("risk.")]
