"""No change without intent: the roles page maps a title only after an explicit scope, category,
reason and a confirmation that says how many people it changes; opting out of texts asks once;
a check-in names its site, which the device remembers."""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from testrota.actions.risk import MapRole, map_role
from testrota.app import build_app
from testrota.audit import Actor
from testrota.db.models import AuditEvent, Person, RoleOverride, TestResult
from testrota.notify.links import make_personal_token
from testrota.settings import Settings
from testrota.web.routes.checkin import SITE_COOKIE
from tests.web_support import (
    add_people,
    add_site,
    add_slot,
    book,
    csrf_of,
    make_user,
    post_form,
    sign_in,
    soup,
    two_departments,
    week19,
)

pytest_plugins = ("tests.web_fixtures",)


def _categories(engine: Engine) -> dict[str, str | None]:
    with Session(engine) as s:
        return {p.employee_no: p.risk_category for p in s.exec(select(Person))}


def _audited(engine: Engine, prefix: str) -> list[AuditEvent]:
    with Session(engine) as s:
        return [e for e in s.exec(select(AuditEvent)) if e.action.startswith(prefix)]


def _same_title_in_two_departments(engine: Engine) -> None:
    """炉前工 in 炼钢厂 (A002) and three more in 物流部: a title-wide change reaches all four."""
    two_departments(engine)
    add_people(
        engine,
        [
            {
                "employee_no": f"C00{i}",
                "name": f"工人{i}",
                "department": "物流部",
                "grid_unit": "物流二组",
                "role": "炉前工",
                "phone": f"+861390000010{i}",
            }
            for i in range(1, 4)
        ],
    )


# --- the use case's dry run ---------------------------------------------------------------------


def test_a_dry_run_counts_and_changes_nothing(engine: Engine, settings: Settings) -> None:
    _same_title_in_two_departments(engine)
    app = build_app(settings, engine=engine)
    before = _categories(engine)
    command = MapRole("炉前工", "cleaning", "smelter hands clean", Actor.cli("hr"), dry_run=True)
    preview = map_role(app, command)
    assert (preview.dry_run, preview.affected) == (True, 4)
    assert preview.departments == {"物流部": 3, "炼钢厂": 1}
    assert _categories(engine) == before
    with Session(engine) as s:
        assert s.exec(select(RoleOverride)).all() == []
    assert _audited(engine, "risk.") == []

    one = map_role(
        app,
        MapRole("炉前工", "cleaning", "r", Actor.cli("hr"), department="炼钢厂", dry_run=True),
    )
    assert (one.affected, one.departments) == (1, {"炼钢厂": 1})
    done = map_role(app, MapRole("炉前工", "cleaning", "r", Actor.cli("hr"), department="炼钢厂"))
    assert (done.dry_run, done.affected) == (False, 1)
    # removing it, as a dry run, counts the one person and keeps the mapping
    undo = map_role(
        app, MapRole("炉前工", "clear", "r", Actor.cli("hr"), department="炼钢厂", dry_run=True)
    )
    assert (undo.cleared, undo.affected) == (True, 1)
    assert _categories(engine)["A002"] == "cleaning"
    assert [e.action for e in _audited(engine, "risk.")] == ["risk.role_override"]


# --- the roles page -----------------------------------------------------------------------------


def test_choosing_a_category_never_submits(client: TestClient, engine: Engine) -> None:
    two_departments(engine)
    make_user(engine, "hr1", "hr")
    sign_in(client, "hr1")
    page = soup(client.get("/roles"))
    assert page.select("[data-autosubmit]") == []
    # the list offers a link to a form, not a select that acts on change
    assert page.select("table.roles select") == []
    link = page.select_one('tr[data-role="炉前工"] a.change')
    form = soup(client.get(link["href"])).select_one("form.role-change")
    assert form.select("[data-autosubmit]") == []
    names = [el["name"] for el in form.select("input, select, textarea") if el.get("name")]
    # whom the change is for comes before what it is, and nothing is pre-chosen
    assert names.index("scope") < names.index("category") < names.index("reason")
    assert not form.select("input[name=scope][checked]")
    assert form.select_one("textarea[name=reason]").has_attr("required")


@pytest.mark.parametrize("missing", ["scope", "category", "reason"])
def test_the_form_refuses_without_scope_category_or_reason(
    client: TestClient, engine: Engine, missing: str
) -> None:
    two_departments(engine)
    make_user(engine, "hr1", "hr", language="zh")
    sign_in(client, "hr1")
    data = {"role": "炉前工", "department": "炼钢厂", "scope": "department"}
    data |= {"category": "cleaning", "reason": "清洁炉台"}
    data[missing] = ""
    r = post_form(client, "/roles/map", data, page="/roles")
    assert r.status_code == 400
    error = soup(r).select_one(f"#error-{missing}")
    assert error is not None
    expected = {"scope": "请先选择", "category": "请选择类别", "reason": "请填写原因"}[missing]
    assert expected in error.get_text()
    assert _categories(engine)["A002"] is None
    assert _audited(engine, "risk.") == []


def test_review_says_how_many_people_then_confirm_saves(client: TestClient, engine: Engine) -> None:
    _same_title_in_two_departments(engine)
    make_user(engine, "hr1", "hr")
    sign_in(client, "hr1")
    data = {"role": "炉前工", "department": "炼钢厂", "scope": "all", "category": "cleaning"}
    data |= {"reason": "hands clean the furnace deck", "back": "/roles?q=炉"}
    review = post_form(client, "/roles/map", data, page="/roles")
    assert review.status_code == 200
    page = soup(review)
    count = page.select_one(".review .count")
    assert count["data-affected"] == "4"
    assert "This changes 4 people." in count.get_text()
    assert [li["data-department"] for li in page.select(".review .departments li")] == [
        "物流部",
        "炼钢厂",
    ]
    # reviewing changed nothing
    assert _categories(engine)["A002"] is None
    assert _audited(engine, "risk.") == []

    confirm = page.select_one("form.confirm")
    fields = {i["name"]: i["value"] for i in confirm.select("input[type=hidden]")}
    assert fields["confirm"] == "1" and fields["scope"] == "all"
    r = client.post(confirm["action"], data=fields, follow_redirects=False)
    assert r.status_code == 303
    assert unquote(r.headers["location"]) == "/roles?q=炉"
    assert "4 people reclassified" in soup(client.get(r.headers["location"])).text
    categories = _categories(engine)
    assert [categories[n] for n in ("A002", "C001", "C002", "C003")] == ["cleaning"] * 4
    (event,) = _audited(engine, "risk.")
    assert event.actor == "web:hr1"
    assert event.details["reason"] == "hands clean the furnace deck"
    assert event.details["affected"] == 4


def test_this_department_only_leaves_the_others(client: TestClient, engine: Engine) -> None:
    _same_title_in_two_departments(engine)
    make_user(engine, "hr1", "hr")
    sign_in(client, "hr1")
    data = {"role": "炉前工", "department": "炼钢厂", "scope": "department"}
    data |= {"category": "cleaning", "reason": "only the steel plant's", "confirm": "1"}
    review = post_form(client, "/roles/map", {**data, "confirm": ""}, page="/roles")
    assert soup(review).select_one(".review .count")["data-affected"] == "1"
    r = post_form(client, "/roles/map", data, page="/roles")
    assert r.status_code == 303
    categories = _categories(engine)
    assert categories["A002"] == "cleaning"
    assert [categories[n] for n in ("C001", "C002", "C003")] == [None] * 3


def test_back_to_the_form_keeps_what_was_chosen(client: TestClient, engine: Engine) -> None:
    two_departments(engine)
    make_user(engine, "hr1", "hr")
    sign_in(client, "hr1")
    data = {"role": "炉前工", "department": "炼钢厂", "scope": "department"}
    data |= {"category": "canteen", "reason": "cooks"}
    review = soup(post_form(client, "/roles/map", data, page="/roles"))
    back = review.select_one("form.confirm a.button")["href"]
    form = soup(client.get(back)).select_one("form.role-change")
    assert form.select_one("input[name=scope][checked]")["value"] == "department"
    assert form.select_one("select[name=category] option[selected]")["value"] == "canteen"
    assert form.select_one("textarea[name=reason]").get_text() == "cooks"


def test_the_list_is_paged_and_searched(client: TestClient, engine: Engine) -> None:
    add_people(
        engine,
        [
            {
                "employee_no": f"P{i:03d}",
                "name": f"人{i}",
                "department": "炼钢厂" if i % 2 else "物流部",
                "grid_unit": "一班",
                "role": f"岗位{i:03d}",
                "phone": f"+86138000{i:05d}",
            }
            for i in range(120)
        ],
    )
    make_user(engine, "hr1", "hr")
    sign_in(client, "hr1")
    first = soup(client.get("/roles"))
    assert len(first.select("table.roles tbody tr")) == 50
    assert "120 titles" in first.select_one("h1").get_text()
    last = soup(client.get("/roles", params={"page": "3"}))
    assert len(last.select("table.roles tbody tr")) == 20
    assert last.select_one("nav.pager a[rel=prev]") is not None
    assert last.select_one("nav.pager a[rel=next]") is None
    found = soup(client.get("/roles", params={"q": "岗位07"}))
    assert sorted(r["data-role"] for r in found.select("table.roles tbody tr")) == [
        f"岗位{i:03d}" for i in range(70, 80)
    ]
    # a page past the end shows the last page, a query too long is refused
    assert len(soup(client.get("/roles?page=99")).select("table.roles tbody tr")) == 20
    assert client.get("/roles", params={"q": "x" * 500}).status_code == 400


def test_a_foreign_back_link_is_not_followed(client: TestClient, engine: Engine) -> None:
    two_departments(engine)
    make_user(engine, "hr1", "hr")
    sign_in(client, "hr1")
    data = {"role": "炉前工", "department": "炼钢厂", "scope": "department"}
    data |= {"category": "canteen", "reason": "cooks", "confirm": "1"}
    r = post_form(client, "/roles/map", {**data, "back": "//evil.example/roles"}, page="/roles")
    assert r.headers["location"] == "/roles"


# --- opting out of texts ------------------------------------------------------------------------


def test_opting_out_asks_once(client: TestClient, engine: Engine, web_settings: Settings) -> None:
    two_departments(engine)
    with Session(engine) as s:
        person = s.exec(select(Person).where(Person.employee_no == "A001")).one()
    token = make_personal_token(web_settings, person.id or 0)
    r = post_form(client, f"/me/{token}/texts", {"opt_out": "1"}, page=f"/me/{token}")
    assert r.status_code == 303
    with Session(engine) as s:
        assert s.get(Person, person.id).opted_out is False  # type: ignore[union-attr]
    page = soup(client.get(r.headers["location"]))
    confirm = page.select_one("form.confirm-stop")
    assert confirm is not None and "确定不再接收我们的短信吗" in confirm.get_text()
    assert confirm.select_one("a.button")["href"].startswith(f"/me/{token}")
    fields = {i["name"]: i["value"] for i in confirm.select("input[type=hidden]")}
    r = client.post(confirm["action"], data=fields, follow_redirects=False)
    assert r.status_code == 303
    with Session(engine) as s:
        assert s.get(Person, person.id).opted_out is True  # type: ignore[union-attr]
    # turning texts back on needs no confirmation
    r = post_form(client, f"/me/{token}/texts", {}, page=f"/me/{token}")
    with Session(engine) as s:
        assert s.get(Person, person.id).opted_out is False  # type: ignore[union-attr]


# --- check-in needs a site ----------------------------------------------------------------------


def _samples(engine: Engine) -> list[tuple[str | None, str]]:
    with Session(engine) as s:
        return [(t.site_code, t.source) for t in s.exec(select(TestResult))]


def test_check_in_refuses_without_a_site_and_the_device_remembers_it(
    client: TestClient, engine: Engine
) -> None:
    week19(engine)
    add_site(engine, "S2", "二号检测点")
    slot = add_slot(engine, "2022-05-11 09:45", minutes=30)
    book(engine, "A002", slot)
    make_user(engine, "gate1", "site", language="zh")
    sign_in(client, "gate1")
    page = soup(client.get("/checkin"))
    assert page.select_one("h1") is not None
    assert page.select_one("form.site-choice select[name=site]") is not None
    assert page.select_one("input.scan") is None  # no scanning before the site is known

    r = post_form(client, "/checkin", {"employee_no": "A002"}, page="/checkin")
    assert r.status_code == 303
    answer = soup(client.get(r.headers["location"])).select_one(".answer")
    assert "red" in answer["class"] and "请先选择检测点" in answer.get_text()
    assert _samples(engine) == []

    r = post_form(client, "/checkin/site", {"site": "S1"}, page="/checkin")
    assert r.status_code == 303
    assert client.cookies.get(SITE_COOKIE) == "S1"
    page = soup(client.get("/checkin"))
    banner = page.select_one(".site-banner")
    assert banner["data-site"] == "S1"
    assert banner.select_one(".site-name").get_text() == "一号检测点"
    assert page.select_one("form.site-choice") is None
    assert page.select_one("input[name=site][type=hidden]")["value"] == "S1"

    # the cookie alone names the site (a form without one, as an old page would send)
    post_form(client, "/checkin", {"employee_no": "A002"}, page="/checkin")
    assert _samples(engine) == [("S1", "checkin")]

    # it outlives signing out: the next shift on this device starts at the same site
    csrf = csrf_of(client, "/checkin")
    client.post("/logout", data={"csrf_token": csrf})
    make_user(engine, "gate2", "site")
    sign_in(client, "gate2")
    assert soup(client.get("/checkin")).select_one(".site-banner")["data-site"] == "S1"

    # an unknown site is refused, and a cookie naming a site that no longer exists is ignored
    r = post_form(client, "/checkin/site", {"site": "NOPE"}, page="/checkin")
    assert client.cookies.get(SITE_COOKIE) == "S1"
    # (replaced in the jar, not sent beside the genuine one)
    domain = next(c.domain for c in client.cookies.jar if c.name == SITE_COOKIE)
    client.cookies.delete(SITE_COOKIE, domain=domain)
    client.cookies.set(SITE_COOKIE, "GONE", domain=domain)
    assert soup(client.get("/checkin")).select_one("form.site-choice") is not None


def test_one_site_is_the_devices_site(client: TestClient, engine: Engine) -> None:
    week19(engine)
    make_user(engine, "gate1", "site")
    sign_in(client, "gate1")
    page = soup(client.get("/checkin"))
    assert page.select_one(".site-banner")["data-site"] == "S1"
    assert page.select_one("input.scan").has_attr("autofocus")


# --- accessibility the markup itself owes -------------------------------------------------------


def test_the_status_light_differs_by_shape_not_only_colour(
    client: TestClient, engine: Engine
) -> None:
    week19(engine)
    make_user(engine, "gate1", "site")
    sign_in(client, "gate1")
    shapes = {}
    for number in ("A001", "A002"):
        page = soup(client.get("/status", params={"employee_no": number}))
        assert page.select_one("h1") is not None
        light = page.select_one(".answer .light")
        shapes[page.select_one(".answer")["data-status"]] = (light["data-shape"], light.text)
    assert shapes == {"red": ("octagon", "✕"), "green": ("circle", "✓")}


def test_sorting_is_announced_on_the_column_header(client: TestClient, engine: Engine) -> None:
    week19(engine)
    make_user(engine, "hr1", "hr")
    sign_in(client, "hr1")
    page = soup(client.get("/missed", params={"week": "2022-W19", "sort": "-name"}))
    assert page.select("a[aria-sort]") == []
    (header,) = page.select("th[aria-sort]")
    assert header["aria-sort"] == "descending" and "Name" in header.get_text()
    upload = soup(client.get("/upload/roster")).select_one("input[type=file]")
    assert upload.has_attr("aria-label")
    assert {".xlsx", ".xlsb", ".xls", ".ods", ".csv"} <= set(upload["accept"].split(","))


def test_the_api_page_has_no_raw_backticks_and_speaks_chinese(
    client: TestClient, engine: Engine
) -> None:
    make_user(engine, "hr1", "hr", language="zh")
    sign_in(client, "hr1")
    page = soup(client.get("/api"))
    main = page.select_one("main")
    assert "`" not in main.get_text()
    assert main.select("section.api-op p code")  # what was `backticked` reads as code
    assert page.select_one("h1").get_text().startswith("接口")
    assert "必填" in main.get_text() and "响应" in main.get_text()


def test_the_schedule_explains_itself_and_changes_site_on_purpose(
    client: TestClient, engine: Engine
) -> None:
    week19(engine)
    make_user(engine, "hr1", "hr")
    sign_in(client, "hr1")
    page = soup(client.get("/schedule", params={"week": "2022-W19"}))
    legend = page.select_one("dl.legend")
    assert legend is not None
    assert {"tested", "missed", "nobody booked"} <= {dd.get_text() for dd in legend.select("dd")}
    assert page.select("[data-autosubmit]") == []


def test_ci_fails_rather_than_skips_the_browser_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    from pathlib import Path

    from tests import web_support

    monkeypatch.setattr(web_support, "CHROMIUM", Path("/nonexistent/chromium"))
    monkeypatch.delenv("TESTROTA_REQUIRE_BROWSER", raising=False)
    assert web_support.skip_without_browser()
    monkeypatch.setenv("TESTROTA_REQUIRE_BROWSER", "1")
    assert not web_support.skip_without_browser()
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text(encoding="utf-8")
    assert "export TESTROTA_REQUIRE_BROWSER=1" in ci
