"""Walk every route of the app as each kind of reader and look for what they must not get.

A supervisor or site staff must never receive a full phone or ID number of anyone, on a page, in
an export or from the API; no staff member may receive a working personal link (``/me/<token>``)
of anyone. The routes are enumerated from the app itself, so a route added later is walked too;
a path parameter nobody knows how to fill fails the test until it is taught here.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine

from testrota.settings import Settings
from tests.disclosure_world import World, add_uploads, personal_tokens, secrets, seed
from tests.web_support import post_form, sign_in

pytest_plugins = ("tests.web_fixtures",)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Query parameters that change what a page lists: every list in full, closed alerts too.
EVERYTHING = "active=all&closed=true"


@dataclass
class Seen:
    url: str
    status: int
    content_type: str
    text: str  # the body as text; a workbook's XML parts and its cell values


def _text(body: bytes, content_type: str) -> str:
    if content_type.startswith(XLSX):
        with zipfile.ZipFile(io.BytesIO(body)) as z:
            parts = [z.read(n).decode("utf-8", "replace") for n in z.namelist()]
        book = load_workbook(io.BytesIO(body))
        cells = [
            str(c)
            for ws in book.worksheets
            for row in ws.iter_rows(values_only=True)
            for c in row
            if c is not None
        ]
        return "\n".join([*parts, *cells])
    return body.decode("utf-8", "replace")


def _values(param: str, path: str, world: World) -> list[str]:
    if param == "employee_no":
        return sorted(world.ids)
    if param == "token":
        return [world.tokens["B001"]] if path.startswith("/me/") else world.uploads
    if param == "kind":
        return ["roster", "results"]
    if param == "fmt":
        return ["xlsx", "csv"]
    if param == "alert_id":
        return [str(a) for a in world.alerts]
    if param == "exemption_id":
        return [str(e) for e in world.exemptions]
    raise AssertionError(f"teach this test a value for {{{param}}} in {path}")


def _query_names(dependant: Dependant) -> set[str]:
    names = {q.name for q in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def routes(client: TestClient) -> list[Any]:
    """The app's routes, flattened: newer FastAPI keeps included routers unexpanded."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:
        return list(client.app.routes)  # type: ignore[attr-defined]
    return list(iter_route_contexts(client.app.routes))  # type: ignore[attr-defined]


def urls(client: TestClient, world: World) -> Iterator[str]:
    """Every GET route of the app, its path parameters filled with real values; with a query
    naming each person where the route takes one, and with everything listed."""
    for route in routes(client):
        if "GET" not in (route.methods or ()) or route.path.startswith("/static"):
            continue
        paths = [route.path]
        for param in route.param_convertors:
            paths = [
                p.replace("{" + param + "}", quote(v, safe=""))
                for p in paths
                for v in _values(param, route.path, world)
            ]
        queries = [""]
        dependant = getattr(route, "dependant", None)
        if dependant is not None:
            names = _query_names(dependant)
            if names & {"active", "closed"}:
                queries.append(EVERYTHING)
            for name in names & {"employee_no", "person"}:
                queries += [f"{name}={quote(no)}" for no in sorted(world.ids)]
        for path in paths:
            for query in queries:
                yield f"{path}?{query}" if query else path


def walk(client: TestClient, world: World) -> list[Seen]:
    seen = []
    for url in urls(client, world):
        r = client.get(url, follow_redirects=False)
        content_type = r.headers.get("content-type", "")
        seen.append(Seen(url, r.status_code, content_type, _text(r.content, content_type)))
    return seen


@pytest.fixture
def world(client: TestClient, engine: Engine, web_settings: Settings) -> World:
    w = seed(engine, web_settings)
    add_uploads(client, w)
    return w


@pytest.mark.parametrize("reader", ["supA", "supB", "site1", None])
def test_no_full_number_reaches_a_masked_reader(
    client: TestClient, engine: Engine, world: World, reader: str | None
) -> None:
    numbers = secrets(engine)
    assert {
        "+8613811110001",
        "8613811110001",
        "13811110001",
        "11010119900307451X",
        "E83920175",
        "K517233(4)",
        "+85291234567",
        "+8613655550003",
    } <= numbers
    if reader is not None:
        sign_in(client, reader)
    seen = walk(client, world)
    leaks = [(s.url, n) for s in seen for n in numbers if n in s.text]
    assert not leaks, f"full numbers shown to {reader}: {leaks[:20]}"
    ok = {s.url for s in seen if s.status == 200}
    if reader in ("supA", "supB"):
        # the walk really read the pages, exports and API calls a supervisor has
        assert {
            "/people",
            "/missed.xlsx",
            "/missed.csv",
            "/api/people",
            "/api/alerts",
            "/alerts",
            "/alerts.xlsx",
            "/",
            "/exemptions",
            "/api/exemptions",
        } <= ok
        shown = next(s for s in seen if s.url == "/people").text
        assert ("+*********0001" if reader == "supA" else "+*******4567") in shown
    if reader == "site1":
        assert {"/checkin", "/status?employee_no=A001", "/api/status/A001"} <= ok


@pytest.mark.parametrize("reader", ["hr1", "admin1", "supA"])
def test_no_staff_member_gets_a_personal_link(
    client: TestClient, engine: Engine, world: World, web_settings: Settings, reader: str
) -> None:
    tokens = personal_tokens(engine, web_settings)
    sign_in(client, reader)
    seen = [s for s in walk(client, world) if not s.url.startswith("/me/")]
    leaks = [(s.url, t) for s in seen for t in tokens if t in s.text]
    assert not leaks, f"personal links shown to {reader}: {leaks[:10]}"
    if reader == "hr1":
        outbox = next(s for s in seen if s.url == "/outbox")
        assert outbox.status == 200 and "/me/…" in outbox.text  # the text is shown, cut
        person = next(s for s in seen if s.url == "/people/A001")
        assert "查看或改约：http://127.0.0.1:8000/me/…" in person.text
        api = next(s for s in seen if s.url == "/api/outbox")
        assert api.status == 200 and "/me/…" in api.text


def test_hr_still_sees_numbers_in_full(client: TestClient, world: World) -> None:
    sign_in(client, "hr1")
    assert "+8613811110001" in client.get("/people/A001").text
    assert "HR called 13922220002 to confirm" in client.get("/people/A002").text
    contacts = client.get("/api/alerts").json()[0]["contacts"]
    assert {c["phone"] for c in contacts} == {"+8613811110002", "+85291234567"}
    post_form(client, "/logout", {}, page="/")
