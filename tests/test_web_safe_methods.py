"""A GET changes nothing, and the API's document is not for anyone who asks.

A GET is followed by anyone's link: an ``<img src>`` on another site, a browser's prefetch,
the previewer of the chat app or SMS client a link was sent through. So every GET route, as
every role and signed out, leaves the database as it was (the audit row of an export of
personal data is the one write allowed: it records a read); what changes anything is a POST
with the session's CSRF token. ``/openapi.json`` is for the readers of the API page.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import Engine, inspect, select, text
from sqlmodel import Session

from testrota.actions.exemptions import AddExemption, add_exemption
from testrota.actions.flagging import flag_due
from testrota.actions.units import ensure_units
from testrota.audit import Action, Actor
from testrota.db.models import AuditEvent, Person
from testrota.notify.links import make_personal_token
from testrota.settings import Settings
from testrota.web.app import create_app
from tests.web_support import make_user, post_form, sign_in, soup, week19

pytest_plugins = ("tests.web_fixtures",)

# Writes a GET may make: an audit row saying who read (exported) personal data.
READ_AUDITS = {Action.ALERT_EXPORTED.value}


def _hashable(value: Any) -> Any:
    """A JSON column's value (a dict on PostgreSQL) as its text, to compare rows as sets."""
    return json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else value


def _snapshot(engine: Engine) -> dict[str, set[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return {
            table: {
                tuple(_hashable(v) for v in r)
                for r in conn.execute(text(f'SELECT * FROM "{table}"'))
            }
            for table in inspect(conn).get_table_names()
        }


def _changes(engine: Engine, before: dict[str, set[tuple[Any, ...]]]) -> dict[str, Any]:
    after = _snapshot(engine)
    changed: dict[str, Any] = {
        table: (sorted(after[table] - rows, key=repr), sorted(rows - after[table], key=repr))
        for table, rows in before.items()
        if after[table] != rows and table != "auditevent"
    }
    with Session(engine) as s:
        seen = {row[0] for row in before["auditevent"]}
        added = [e for e in s.scalars(select(AuditEvent)) if e.id not in seen]
    written = [e.action for e in added if e.action not in READ_AUDITS]
    if written:
        changed["auditevent"] = written
    return changed


def _person(engine: Engine, employee_no: str) -> Person:
    with Session(engine) as s:
        return s.scalars(select(Person).where(Person.employee_no == employee_no)).one()


def _get_routes(app: FastAPI) -> list[str]:
    paths = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and (route.methods or set()) & {"GET", "HEAD"}:
            paths.append(route.path)
    return paths


def _addresses(app: FastAPI, token: str, ids: dict[str, int]) -> list[str]:
    """Every GET route of the app, with its path filled in, and the query strings that ask a
    page for an action (a download, a move, stopping texts)."""
    values = {
        "alert_id": "1",
        "employee_no": "A001",
        "exemption_id": str(ids["exemption"]),
        "fmt": "csv",
        "kind": "roster",
        "token": token,
    }
    asking = {
        "/badges": ["?department=炼钢厂&download=1", "?grid_unit=炼钢一班&format=png&download=1"],
        "/me/{token}": [f"?move={ids['A001-thu']}", f"?move={ids['A001-mon']}", "?texts=stop"],
        "/alerts.{fmt}": [],
        "/report/daily.{fmt}": ["", ".xlsx"],
        "/status": ["?employee_no=A001"],
        "/tubes/manifest": ["?site=S1"],
        "/roles/change": ["?role=司机&department=物流部"],
    }
    addresses = []
    for path in _get_routes(app):
        names = re.findall(r"{(\w+)}", path)
        missing = [n for n in names if n not in values]
        assert not missing, f"{path}: give the test a value for {missing}"
        filled = path
        for name in names:
            filled = filled.replace("{" + name + "}", values[name])
        addresses += [filled + q for q in ["", *asking.get(path, [])]]
    return addresses


@pytest.mark.slow
@pytest.mark.parametrize("who", ["admin", "hr", "supervisor", "site", None])
def test_no_get_route_changes_the_database(
    who: str | None, web_settings: Settings, engine: Engine
) -> None:
    ids = week19(engine)
    for role in ("admin", "hr", "supervisor", "site"):
        make_user(engine, role, role, ["炼钢厂"] if role == "supervisor" else [])
    app = create_app(web_settings)
    testrota = app.state.testrota
    token = make_personal_token(testrota.settings, _person(engine, "A001").id or 0, testrota.now())
    assert "/badges?department=炼钢厂&download=1" in _addresses(app, token, ids | {"exemption": 0})
    with TestClient(app, headers={"Accept-Language": "en"}) as client:
        if who is not None:
            sign_in(client, who)
        # What a worker's job keeps current (flagging, units placed) is, before the walk.
        flag_due(testrota)
        ensure_units(testrota, Actor.job("test"))
        # an exemption whose page (and its end's confirmation) the walk opens too
        leave = AddExemption(
            "A001", date(2022, 5, 12), date(2022, 5, 13), "病假", Actor.job("test")
        )
        ids["exemption"] = add_exemption(testrota, leave).id
        addresses = _addresses(app, token, ids)
        assert len(addresses) > 40
        before = _snapshot(engine)
        answered = {}
        for address in addresses:
            response = client.get(address, follow_redirects=False)
            assert response.status_code < 500, (address, response.text[:300])
            answered[address] = response.status_code
            assert _changes(engine, before) == {}, f"GET {address} as {who} wrote"
    if who in ("admin", "hr"):
        assert answered["/badges?department=炼钢厂&download=1"] == 200


def test_a_link_previewer_opening_a_personal_link_changes_nothing(
    client: TestClient, engine: Engine
) -> None:
    """The link in a text is opened by the SMS app's previewer (no cookie, a GET), perhaps with
    what a page asked (move this test, stop texts): nothing moves, the texts go on; and a form
    sent from another site (no CSRF token of this browser's session) is refused."""
    ids = week19(engine)
    person = _person(engine, "A001")
    testrota = client.app.state.testrota  # type: ignore[attr-defined]
    token = make_personal_token(testrota.settings, person.id or 0, testrota.now())
    before = _snapshot(engine)
    for query in ("", "?texts=stop", f"?move={ids['A001-thu']}", f"?move={ids['A001-mon']}"):
        bot = TestClient(client.app, headers={"User-Agent": "WhatsApp/2.23 link preview"})
        for method in ("GET", "HEAD"):
            r = bot.request(method, f"/me/{token}{query}", follow_redirects=False)
            assert r.status_code in (200, 405), (method, query, r.status_code)
    assert _changes(engine, before) == {}
    # the confirmation the page shows is a form that POSTs, with the CSRF token
    page = soup(client.get(f"/me/{token}?texts=stop"))
    form = page.select_one(f'form[action="/me/{token}/texts"]')
    assert form is not None and form["method"] == "post"
    assert form.select_one('input[name="csrf_token"]') is not None
    # a cross-site form: no token, or one of another session
    forged = {"opt_out": "1", "confirm": "1"}
    assert client.post(f"/me/{token}/texts", data=forged).status_code == 403
    bad = {**forged, "csrf_token": "x" * 43}
    assert client.post(f"/me/{token}/texts", data=bad).status_code == 403
    moved = {"appointment_id": ids["A001-thu"], "slot_id": ids["thu2"]}
    assert client.post(f"/me/{token}/move", data=moved).status_code == 403
    assert _changes(engine, before) == {}
    assert not _person(engine, "A001").opted_out
    # the person's own press of the button, on their page, does it
    r = post_form(client, f"/me/{token}/texts", forged, page=f"/me/{token}?texts=stop")
    assert r.status_code == 303
    assert _person(engine, "A001").opted_out


def _badges_printed(engine: Engine) -> list[str]:
    with Session(engine) as s:
        return [
            e.actor
            for e in s.scalars(
                select(AuditEvent).where(AuditEvent.action == Action.BADGES_PRINTED.value)
            )
        ]


def test_a_badge_sheet_is_made_by_the_form_not_by_a_link(
    client: TestClient, engine: Engine
) -> None:
    """A badge sheet draws every person's check-in code and is audited as printed by the
    reader: a link (another site's, a previewer's) to the old download address shows the
    form filled in, and prints on a press of its button only."""
    week19(engine)
    make_user(engine, "hr1", "hr")
    sign_in(client, "hr1")
    r = client.get("/badges", params={"department": "炼钢厂", "format": "png", "download": "1"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert _badges_printed(engine) == []
    page = soup(r)
    form = page.select_one("form.badges-form")
    assert form is not None and form["method"] == "post" and form["action"] == "/badges"
    assert form.select_one('input[name="csrf_token"]') is not None
    chosen = [
        form.select_one(f'select[name="{n}"] option[selected]') for n in ("department", "format")
    ]
    assert [o["value"] if o else None for o in chosen] == ["炼钢厂", "png"]
    assert "press Download" in page.get_text()
    # from another site: no CSRF token
    forged = client.post("/badges", data={"department": "炼钢厂", "format": "pdf"})
    assert forged.status_code == 403 and _badges_printed(engine) == []
    sheet = post_form(client, "/badges", {"department": "炼钢厂", "format": "pdf"}, page="/badges")
    assert sheet.status_code == 200 and sheet.content.startswith(b"%PDF-")
    assert sheet.headers["cache-control"] == "no-store"
    assert _badges_printed(engine) == ["web:hr1"]
    # in Chinese, the confirmation reads in Chinese
    client.cookies.clear()
    make_user(engine, "hr_zh", "hr", language="zh")
    sign_in(client, "hr_zh")
    asked = client.get("/badges", params={"department": "炼钢厂", "download": "1"})
    assert "按“下载”后才生成码卡" in asked.text


def test_the_api_document_is_for_readers_of_the_api_page(
    client: TestClient, engine: Engine
) -> None:
    anonymous = client.get("/openapi.json")
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/json"
    assert "paths" not in anonymous.json() and "/api/" not in anonymous.text
    assert client.head("/openapi.json").status_code == 401
    for path in ("/docs", "/redoc", "/docs/oauth2-redirect"):
        assert client.get(path).status_code == 404, path
    make_user(engine, "gate", "site")
    sign_in(client, "gate")
    refused = client.get("/openapi.json")
    assert refused.status_code == 403 and "paths" not in refused.json()
    for role in ("hr", "supervisor", "admin"):
        client.cookies.clear()
        make_user(engine, f"u_{role}", role, ["物流部"] if role == "supervisor" else [])
        sign_in(client, f"u_{role}")
        page = soup(client.get("/api"))
        link = page.select_one('a[href="/openapi.json"]')
        assert link is not None, role
        served = client.get(str(link["href"]))
        assert served.status_code == 200, role
        spec = served.json()
        assert "/api/missed" in spec["paths"] and "/login" not in spec["paths"]
        assert "/openapi.json" not in spec["paths"] and "/badges" not in spec["paths"]
        assert served.headers["cache-control"] == "no-store"
