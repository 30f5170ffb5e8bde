"""Bad ids never give a 500 (issue 11, security item 9).

Huge integers (beyond PostgreSQL's int4 and int8, beyond what SQLite's driver can bind), unknown
ids and references the database would refuse answer 400 or 404 with a message, on both
databases. The form routes, which the public OpenAPI document leaves out, are described in a
document of their own here and fuzzed with schemathesis like the API (tests/test_web_api_fuzz.py).
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from sqlalchemy import Engine
from sqlmodel import Session, select

from testrota.db.engine import session_scope
from testrota.db.models import Appointment, Exemption, Person, RescheduleOffer, Site
from testrota.notify.links import make_personal_token
from testrota.settings import Settings
from testrota.web.app import SESSION_COOKIE, create_app
from testrota.web.ids import MAX_ID
from tests.web_support import add_site, csrf_of, local, make_user, sign_in, soup, week19

pytest_plugins = ("tests.web_fixtures",)

HUGE = [
    "99999999999999999999",
    str(2**63),
    str(2**63 - 1),
    str(2**31),
    "0",
    "-1",
    "-99999999999999999999",
]


@pytest.fixture
def admin(web_settings: Settings, engine: Engine) -> Iterator[tuple[TestClient, dict[str, int]]]:
    ids = week19(engine)
    make_user(engine, "boss", "admin")
    with TestClient(
        create_app(web_settings), headers={"Accept-Language": "en"}, raise_server_exceptions=False
    ) as client:
        sign_in(client, "boss")
        yield client, ids


def message(response: Any) -> str:
    if response.headers.get("content-type", "").startswith("application/json"):
        return str(response.json()["detail"])
    node = soup(response).select_one(".error-message")
    return node.get_text(strip=True) if node else ""


def personal_token(engine: Engine, settings: Settings, employee_no: str) -> str:
    with Session(engine) as s:
        person = s.exec(select(Person).where(Person.employee_no == employee_no)).one()
    assert person.id is not None
    return make_personal_token(settings, person.id, local("2022-05-11 10:00"))


@pytest.mark.parametrize("bad", HUGE)
def test_impossible_ids_in_paths_queries_and_forms_are_400(
    bad: str, admin: tuple[TestClient, dict[str, int]], engine: Engine, web_settings: Settings
) -> None:
    client, ids = admin
    token = csrf_of(client, "/people")
    me = personal_token(engine, web_settings, "A001")
    form = {"csrf_token": token}
    attacks: list[tuple[str, str, dict[str, Any] | None]] = [
        ("POST", f"/admin/users/{bad}", {**form, "role": "hr"}),
        ("POST", f"/admin/users/{bad}/sign-out", form),
        (
            "POST",
            "/missed/excuse",
            {**form, "employee_no": "A001", "reason": "sick", "appointment_id": bad},
        ),
        ("POST", "/outbox/retry", {**form, "message_id": bad}),
        ("GET", f"/me/{me}?move={bad}", None),
        ("POST", f"/me/{me}/move", {**form, "appointment_id": ids["A001-thu"], "slot_id": bad}),
        ("POST", f"/me/{me}/move", {**form, "appointment_id": bad, "slot_id": ids["thu2"]}),
    ]
    for method, path, data in attacks:
        r = client.request(method, path, data=data, follow_redirects=False)
        assert r.status_code == 400, f"{method} {path} {data}: {r.status_code} {r.text[:300]}"
        assert message(r), f"{method} {path}: no message"
    r = client.post(
        "/api/excuse",
        json={"employee_no": "A001", "reason": "sick", "appointment_id": int(bad)},
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "appointment_id"
    # a query parameter that is no id is ignored, not looked up
    assert client.get(f"/upload/roster?done={bad}").status_code == 200


def test_unknown_ids_are_404_with_a_message(
    admin: tuple[TestClient, dict[str, int]], engine: Engine, web_settings: Settings
) -> None:
    client, ids = admin
    token = csrf_of(client, "/people")
    r = client.post(f"/admin/users/{MAX_ID}", data={"csrf_token": token, "role": "hr"})
    assert r.status_code == 404 and message(r) == "No such user."
    # a slot that does not exist: the reschedule offer would refer to it, which the database
    # refuses (it was a 500); nothing is written
    me = personal_token(engine, web_settings, "A001")
    r = client.post(
        f"/me/{me}/move",
        data={"csrf_token": token, "appointment_id": ids["A001-thu"], "slot_id": MAX_ID},
        follow_redirects=False,
    )
    assert r.status_code == 404, r.text[:300]
    # in the employee's own language (theirs is Chinese), as the personal page speaks
    assert message(r) == "没有这个时段，请从列出的时段中选择。"
    with Session(engine) as s:
        assert s.exec(select(RescheduleOffer)).all() == []
        appt = s.get(Appointment, ids["A001-thu"])
        assert appt is not None and appt.slot_id == ids["thu"]
    # and a slot that does exist still moves the appointment
    r = client.post(
        f"/me/{me}/move",
        data={"csrf_token": token, "appointment_id": ids["A001-thu"], "slot_id": ids["thu2"]},
        follow_redirects=False,
    )
    assert r.status_code == 303


def form_routes_schema(app: FastAPI) -> dict[str, Any]:
    """An OpenAPI document of the routes the public one leaves out: pages and their forms."""
    routes = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if (
            isinstance(route, APIRoute)
            and not context.include_in_schema
            and not (
                route.path in ("/logout", "/metrics")  # signing out would end the fuzzing
                or route.path.startswith("/twilio/")  # signed by Twilio: refused before parsing
            )
        ):
            described = copy.copy(route)
            described.include_in_schema = True
            routes.append(described)
    return get_openapi(title="testrota forms", version="1", routes=routes)


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_server_errors_for_generated_form_requests(
    mode: GenerationMode, web_settings: Settings, engine: Engine
) -> None:
    week19(engine)
    make_user(engine, "boss", "admin")
    me = personal_token(engine, web_settings, "B001")
    app = create_app(web_settings)
    with TestClient(app) as client:
        sign_in(client, "boss")
        csrf = client.get("/api/session").json()["csrf_token"]
        cookies = {SESSION_COOKIE: client.cookies[SESSION_COOKIE]}
        schema = schemathesis.openapi.from_dict(form_routes_schema(app))
        schema.app = app
        operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
        paths = {op.path for op in operations}
        assert {
            "/admin/users/{user_id}",
            "/me/{token}/move",
            "/missed/excuse",
            "/outbox/retry",
            "/upload/{kind}",
        } <= paths
        statuses: Counter[int] = Counter()
        for operation in operations:
            # the personal pages with a valid link, so their forms are reached, not refused
            fixed = {"token": me} if operation.path.startswith("/me/{token}") else None

            @settings(
                max_examples=15,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode, path_parameters=fixed))
            def check(case: Any) -> None:
                response = case.call(headers={"X-CSRF-Token": csrf}, cookies=cookies)
                statuses[response.status_code] += 1
                assert response.status_code < 500, (
                    f"{case.method} {case.formatted_path} {case.query} {case.body!r}: "
                    f"{response.status_code} {response.text[:500]}"
                )

            try:
                check()
            except Unsatisfiable:
                # nothing to get wrong (no parameters): no negative case can be made
                assert mode is GenerationMode.NEGATIVE, operation.path
        # still signed in at the end: the calls were made as the admin, not bounced to /login
        assert client.get("/api/session").status_code == 200
    assert sum(statuses.values()) > 100


ID_TEXT = st.one_of(
    st.integers().map(str),
    st.sampled_from([*HUGE, str(MAX_ID), str(MAX_ID + 1), "1e3", "0x10", " 7", "٣", ""]),
    st.text(max_size=30),
)


@pytest.mark.slow
def test_the_personal_move_form_with_any_ids(web_settings: Settings, engine: Engine) -> None:
    """The one form behind a token (schemathesis cannot make a valid one), driven directly."""
    ids = week19(engine)
    me = personal_token(engine, web_settings, "B001")
    with TestClient(create_app(web_settings), raise_server_exceptions=False) as client:
        token = csrf_of(client, f"/me/{me}")

        @settings(
            max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        @given(appointment=st.one_of(st.just(str(ids["B001-thu"])), ID_TEXT), slot=ID_TEXT)
        def check(appointment: str, slot: str) -> None:
            r = client.post(
                f"/me/{me}/move",
                data={"csrf_token": token, "appointment_id": appointment, "slot_id": slot},
                follow_redirects=False,
            )
            assert r.status_code in (303, 400, 404), (appointment, slot, r.status_code)

        check()


def test_a_reference_the_database_refuses_is_400_and_a_clash_409(
    web_settings: Settings, engine: Engine
) -> None:
    """Whatever door a foreign-key failure or a unique clash comes through: a message, not 500."""
    app = create_app(web_settings)
    probe = APIRouter()

    @probe.post("/_probe/{what}")
    def write(what: str) -> dict[str, str]:
        at = local("2022-05-11 10:00")
        with session_scope(app.state.testrota.engine) as s:
            if what == "reference":
                # (appointments name their person without a key since migration 0011: a
                # trigger guards the other side; an exemption still has the key)
                s.add(
                    Exemption(
                        person_id=MAX_ID,
                        start_date=at.date(),
                        end_date=at.date(),
                        reason="sick",
                        created_at=at,
                    )
                )
            else:
                s.add(Site(code="S1", name="again"))
        return {}

    app.include_router(probe)
    add_site(engine)
    with TestClient(
        app, raise_server_exceptions=False, headers={"Accept": "application/json"}
    ) as client:
        r = client.post("/_probe/reference")
        assert r.status_code == 400, r.text
        assert r.json()["detail"].startswith("The change refers to something that has changed")
        assert client.post("/_probe/clash").status_code == 409
