"""The personal page never ends in a dead end: a missed test offers make-up slots on the
following days and at the other sites that serve the person (or where and when to walk in),
sites are shown by name, address and map link, choices come grouped by day, and a link that no
longer works says how to get a new one. Its changes are use cases (actions/appointments.py)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from testrota.actions.appointments import (
    ChoicesFor,
    NotChangeable,
    RescheduleAppointment,
    SetTextsOptOut,
    SlotGone,
    reschedule_appointment,
    reschedule_choices,
    set_texts_opt_out,
)
from testrota.app import App, build_app
from testrota.audit import Actor
from testrota.db.engine import session_scope
from testrota.db.models import Appointment, AuditEvent, Person, RescheduleOffer
from testrota.notify.links import make_personal_token
from testrota.notify.reschedule import SlotOption, makeup_booked
from testrota.policy import load_policy
from testrota.scheduling import makeup
from testrota.scheduling.sites import parse_sites
from testrota.settings import Settings
from testrota.web.app import create_app
from tests.conftest import CONFIG_DIR
from tests.web_support import (
    add_site,
    add_slot,
    book,
    local,
    post_form,
    soup,
    two_departments,
    web_settings_for,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")

SITES_YAML = """
slot_minutes: 15
capacity: 10
sites:
  - code: S1
    name: 一号检测点
    address: 厂区北门东侧
    map_url: https://uri.amap.com/marker?position=121.47,31.23
    hours:
      daily: ["08:00-12:00"]
  - code: S2
    name: 物流检测点
    address: 物流园二号门
    serves: {departments: [物流部]}
    hours:
      mon-fri: ["14:00-18:00"]
  - code: S3
    name: 炼钢检测点
    serves: {departments: [炼钢厂]}
    hours:
      daily: ["07:00-09:00"]
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, target)
    (target / "sites.yaml").write_text(SITES_YAML, encoding="utf-8")
    return target


@pytest.fixture
def web_settings(database_url: str, engine: Engine, config: Path) -> Settings:
    return web_settings_for(database_url, config_dir=config)


@pytest.fixture
def app(web_settings: Settings, engine: Engine) -> App:
    return build_app(web_settings, engine=engine)


@pytest.fixture
def client(web_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(web_settings), headers={"Accept-Language": "en"}) as c:
        yield c


def _sites(engine: Engine) -> None:
    add_site(engine, "S1", "一号检测点")
    add_site(engine, "S2", "物流检测点")
    add_site(engine, "S3", "炼钢检测点")


def _person(engine: Engine, employee_no: str) -> Person:
    with Session(engine) as s:
        return s.exec(select(Person).where(Person.employee_no == employee_no)).one()


def _token(settings: Settings, person: Person, now: datetime | None = None) -> str:
    return make_personal_token(settings, person.id or 0, now)


@pytest.fixture
def missed(engine: Engine) -> dict[str, int]:
    """B002 (物流部) missed Monday's test at S1 and has nothing else booked; slots around.

    NOW is Wednesday 2022-05-11 10:00 in Shanghai; a slot must start an hour from now.
    """
    two_departments(engine)
    _sites(engine)
    ids = {
        "mon": add_slot(engine, "2022-05-09 08:00", site="S1"),
        "wed-soon": add_slot(engine, "2022-05-11 10:30", site="S1"),
        "wed-s2": add_slot(engine, "2022-05-11 15:00", site="S2"),
        "thu-s1": add_slot(engine, "2022-05-12 09:00", site="S1"),
        "thu-s3": add_slot(engine, "2022-05-12 08:00", site="S3"),  # not for 物流部
        "fri-full": add_slot(engine, "2022-05-13 08:00", site="S1", capacity=1),
        "next-mon": add_slot(engine, "2022-05-16 08:00", site="S1"),
        "next-thu": add_slot(engine, "2022-05-19 08:00", site="S1"),  # not "early" next week
    }
    ids["appt"] = book(engine, "B002", ids["mon"], status="missed")
    book(engine, "A001", ids["fri-full"])
    return ids


# --- the pure core -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "tz", "last_day"),
    [
        (datetime(2022, 5, 11, 10, tzinfo=SHANGHAI), SHANGHAI, date(2022, 5, 19)),
        (datetime(2022, 5, 15, 23, tzinfo=SHANGHAI), SHANGHAI, date(2022, 5, 19)),
        (datetime(2022, 5, 16, 0, 30, tzinfo=SHANGHAI), SHANGHAI, date(2022, 5, 26)),
        # the week the clocks go back in New York: still midnight local after next Wednesday
        (datetime(2022, 11, 2, 12, tzinfo=NEW_YORK), NEW_YORK, date(2022, 11, 10)),
    ],
)
def test_a_makeup_may_be_booked_until_next_wednesday(
    now: datetime, tz: ZoneInfo, last_day: date
) -> None:
    latest = makeup.latest_makeup(now, tz)
    assert latest == datetime.combine(last_day, time(0), tz)
    assert latest.astimezone(tz).time() == time(0)


def _option(slot_id: int, site: str, start: datetime, booked: int = 0) -> SlotOption:
    week = f"{start.isocalendar()[0]}-W{start.isocalendar()[1]:02d}"
    return SlotOption(slot_id, site, week, start, start + timedelta(minutes=15), 2, booked)


def test_pick_judges_each_slot_by_the_text_reply_rule_and_the_site() -> None:
    at = datetime(2022, 5, 11, 10, tzinfo=SHANGHAI)
    options = [
        _option(1, "S1", at + timedelta(hours=5)),
        _option(2, "S2", at + timedelta(hours=6)),  # a site that does not serve the person
        _option(3, "S1", at + timedelta(days=1)),  # a day from their other test: too close
        _option(4, "S1", at + timedelta(days=2, hours=1), booked=2),  # full
        _option(5, "S1", at + timedelta(days=5)),  # next week, no other test there
        _option(6, "S1", at + timedelta(days=9)),  # past the bound
        _option(7, "S1", at + timedelta(minutes=30)),  # too soon
    ]
    picked = makeup.pick(
        options,
        other_days={"2022-W19": [date(2022, 5, 13)]},
        earliest=at + timedelta(hours=1),
        latest=at + timedelta(days=8),
        min_gap_days=2,
        zone=lambda code: SHANGHAI,
        shift=None,
        serves=lambda code: code != "S2",
    )
    assert [o.slot_id for o in picked] == [1, 5]


def test_by_day_groups_and_bounds() -> None:
    at = datetime(2022, 5, 11, 8, tzinfo=SHANGHAI)
    options = [
        _option(i, "S1", at + timedelta(days=i // 40, minutes=15 * (i % 40))) for i in range(400)
    ]
    days = makeup.by_day(options, SHANGHAI)
    assert len(days) == makeup.MAX_DAYS
    assert [d for d, _ in days] == [date(2022, 5, 11) + timedelta(days=n) for n in range(7)]
    first = days[0][1]
    assert len(first) == makeup.MAX_PER_DAY
    # spread over the day, not its first three hours
    assert first[0].starts_at.hour == 8 and first[-1].starts_at.hour >= 16


def test_walk_in_lists_the_hours_still_ahead_at_sites_that_serve_the_person() -> None:
    policy = load_policy(CONFIG_DIR)
    import yaml

    sites = parse_sites(yaml.safe_load(SITES_YAML), policy)
    now = datetime(2022, 5, 13, 13, tzinfo=SHANGHAI)  # a Friday afternoon
    found = makeup.walk_in(sites, "物流部", "物流二组", now)
    seen = [(w.site_code, w.day, w.hours) for w in found]
    assert seen == [
        ("S2", date(2022, 5, 13), ((time(14), time(18)),)),  # S1 closed at noon today
        ("S1", date(2022, 5, 14), ((time(8), time(12)),)),  # S2 is shut at the weekend
        ("S1", date(2022, 5, 15), ((time(8), time(12)),)),
    ]
    assert {w.site_code for w in makeup.walk_in(sites, "炼钢厂", "", now)} == {"S1", "S3"}


# --- the use cases ------------------------------------------------------------------------------


def test_a_missed_test_offers_the_following_days_and_other_sites(
    app: App, engine: Engine, missed: dict[str, int]
) -> None:
    person = _person(engine, "B002")
    choices = reschedule_choices(app, ChoicesFor(person.id or 0, missed["appt"]))
    assert choices is not None and choices.mode == "makeup"
    offered = [s.slot_id for d in choices.days for s in d.slots]
    assert offered == [missed["wed-s2"], missed["thu-s1"], missed["next-mon"]]
    assert [d.day for d in choices.days] == [
        date(2022, 5, 11),
        date(2022, 5, 12),
        date(2022, 5, 16),
    ]
    assert choices.sites["S2"].name == "物流检测点"
    assert choices.sites["S2"].address == "物流园二号门"
    assert choices.sites["S1"].map_url == "https://uri.amap.com/marker?position=121.47,31.23"
    assert choices.sites["S2"].map_url.startswith("https://uri.amap.com/search?keyword=")


def test_booking_a_makeup_once_audited_as_the_person(
    app: App, engine: Engine, missed: dict[str, int]
) -> None:
    person = _person(engine, "B002")
    done = reschedule_appointment(
        app,
        RescheduleAppointment(person.id or 0, missed["appt"], missed["next-mon"], Actor.me("B002")),
    )
    assert (done.mode, done.site_code) == ("makeup", "S1")
    assert done.starts_at == local("2022-05-16 08:00")
    with Session(engine) as s:
        new = s.get(Appointment, done.appointment_id)
        assert new is not None and new.makeup_for == missed["appt"]
        assert (new.week, new.status, new.reason) == ("2022-W20", "scheduled", "reschedule")
        assert makeup_booked(s, missed["appt"])  # a text reply "R" sees it too
        (event,) = s.exec(
            select(AuditEvent).where(AuditEvent.action == "appointment.rescheduled")
        ).all()
        assert (event.actor, event.entity_id) == ("me:B002", str(done.appointment_id))
        assert (
            event.details["mode"] == "makeup"
            and event.details["from_appointment"] == missed["appt"]
        )
        assert s.exec(select(RescheduleOffer)).all() == []
    # one make-up per missed test
    assert reschedule_choices(app, ChoicesFor(person.id or 0, missed["appt"])) is None
    with pytest.raises(NotChangeable):
        reschedule_appointment(
            app,
            RescheduleAppointment(
                person.id or 0, missed["appt"], missed["thu-s1"], Actor.me("B002")
            ),
        )


def test_a_slot_not_offered_is_refused(app: App, engine: Engine, missed: dict[str, int]) -> None:
    person = _person(engine, "B002")
    for slot in ("thu-s3", "next-thu", "fri-full", "wed-soon", "mon"):
        with pytest.raises(SlotGone):
            reschedule_appointment(
                app,
                RescheduleAppointment(
                    person.id or 0, missed["appt"], missed[slot], Actor.me("B002")
                ),
            )
    # someone else's appointment
    other = _person(engine, "A001")
    with pytest.raises(NotChangeable):
        reschedule_appointment(
            app,
            RescheduleAppointment(
                other.id or 0, missed["appt"], missed["thu-s1"], Actor.me("A001")
            ),
        )


def test_moving_a_coming_test_stays_in_its_week(
    app: App, engine: Engine, missed: dict[str, int]
) -> None:
    thu = book(engine, "B001", missed["thu-s1"])
    person = _person(engine, "B001")
    choices = reschedule_choices(app, ChoicesFor(person.id or 0, thu))
    assert choices is not None and choices.mode == "move"
    offered = {s.slot_id for d in choices.days for s in d.slots}
    assert offered == {missed["wed-s2"]}  # Friday is full; next week is another week's test
    done = reschedule_appointment(
        app, RescheduleAppointment(person.id or 0, thu, missed["wed-s2"], Actor.web("hr1"))
    )
    assert (done.appointment_id, done.mode, done.site_code) == (thu, "move", "S2")


def test_opting_out_is_a_use_case_audited_once(app: App, engine: Engine) -> None:
    two_departments(engine)
    person = _person(engine, "A001")
    out = set_texts_opt_out(app, SetTextsOptOut(person.id or 0, True, Actor.me("A001")))
    assert (out.opted_out, out.changed) == (True, True)
    again = set_texts_opt_out(app, SetTextsOptOut(person.id or 0, True, Actor.me("A001")))
    assert again.changed is False
    back = set_texts_opt_out(app, SetTextsOptOut(person.id or 0, False, Actor.me("A001")))
    assert (back.opted_out, back.changed) == (False, True)
    with Session(engine) as s:
        events = s.exec(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [(e.action, e.actor) for e in events] == [
        ("person.opted_out", "me:A001"),
        ("person.opted_in", "me:A001"),
    ]


# --- the page ------------------------------------------------------------------------------------


def test_the_page_offers_makeups_grouped_by_day_with_site_names(
    client: TestClient, engine: Engine, web_settings: Settings, missed: dict[str, int]
) -> None:
    token = _token(web_settings, _person(engine, "B002"))
    page = soup(client.get(f"/me/{token}"))
    item = page.select_one(f'li[data-id="{missed["appt"]}"]')
    assert item["data-status"] == "missed"
    # the site by name, address and map link, not its code
    assert item.select_one(".site-name").get_text() == "一号检测点"
    assert item.select_one(".site-address").get_text() == "厂区北门东侧"
    assert item.select_one("a.map")["href"].startswith("https://uri.amap.com/marker")
    link = item.select_one("a.button")
    assert link.get_text() == "预约补检"  # B002's language
    page = soup(client.get(link["href"].split("#")[0]))
    box = page.select_one("#choices")
    assert box["data-mode"] == "makeup"
    days = box.select("details.day")
    assert [d["data-day"] for d in days] == ["2022-05-11", "2022-05-12", "2022-05-16"]
    assert days[0].has_attr("open") and not days[1].has_attr("open")
    assert "物流检测点" in days[0].get_text()
    assert "保留" not in box.get_text()  # never "keep your slot" for a missed one
    radios = box.select("input[name=slot_id]")
    assert len(radios) == 3 and radios[0].has_attr("checked")

    r = post_form(
        client,
        f"/me/{token}/move",
        {"appointment_id": str(missed["appt"]), "slot_id": str(missed["thu-s1"])},
        page=f"/me/{token}",
    )
    assert r.status_code == 303
    page = soup(client.get(r.headers["location"]))
    assert "已预约：05-12 09:00，一号检测点。" in page.select_one(".flash").get_text()
    item = page.select_one(f'li[data-id="{missed["appt"]}"]')
    assert "已预约补检" in item.get_text() and item.select_one("a.button") is None


def test_with_no_slot_the_page_says_where_and_when_to_walk_in(
    client: TestClient, engine: Engine, web_settings: Settings
) -> None:
    two_departments(engine)
    _sites(engine)
    mon = add_slot(engine, "2022-05-09 08:00", site="S1")
    appt = book(engine, "A001", mon, status="missed")
    token = _token(web_settings, _person(engine, "A001"))
    client.headers["Accept-Language"] = "zh-CN"
    box = soup(client.get(f"/me/{token}", params={"move": appt})).select_one("#choices")
    text = box.get_text()
    assert "近几天没有可预约的补检时段" in text and "keep" not in text
    walk = [(li["data-site"], li["data-day"]) for li in box.select(".walk-in li")]
    # 炼钢厂 is served by S1 (until noon, still open now) and S3 (07:00-09:00: from tomorrow)
    assert walk == [
        ("S1", "2022-05-11"),
        ("S3", "2022-05-12"),
        ("S1", "2022-05-12"),
        ("S3", "2022-05-13"),
        ("S1", "2022-05-13"),
    ]
    first = box.select_one(".walk-in li")
    assert "一号检测点" in first.get_text() and "08:00–12:00" in first.get_text()


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_an_expired_link_says_how_to_get_a_new_one(
    client: TestClient, engine: Engine, web_settings: Settings, lang: str
) -> None:
    two_departments(engine)
    person = _person(engine, "A001")
    old = _token(web_settings, person, datetime(2022, 4, 1, 10, tzinfo=SHANGHAI))
    client.headers["Accept-Language"] = lang
    r = client.get(f"/me/{old}")
    assert r.status_code == 404
    page = soup(r)
    box = page.select_one(".link-refused")
    assert box["data-why"] == "expired"
    heading = page.select_one("h1").get_text()
    assert heading == ("This link has expired" if lang == "en" else "此链接已过期")
    assert len(box.select("li")) == 3
    # nothing on it leads to the staff sign-in
    hrefs = {a["href"] for a in page.select("a[href]")}
    assert not {h for h in hrefs if h in ("/", "/login") or h.startswith("/login")}
    # a forged link says so, and a POST with an old link changes nothing
    assert (
        soup(client.get(f"/me/{old[:-2]}xx")).select_one(".link-refused")["data-why"] == "invalid"
    )
    r = client.post(f"/me/{old}/texts", data={"opt_out": "1", "confirm": "1"})
    assert r.status_code in (403, 404)
    assert _person(engine, "A001").opted_out is False


def test_a_person_no_longer_on_the_roster(
    client: TestClient, engine: Engine, web_settings: Settings
) -> None:
    two_departments(engine)
    person = _person(engine, "A001")
    token = _token(web_settings, person)
    with session_scope(engine) as s:
        row = s.get(Person, person.id)
        assert row is not None
        row.active = False
        s.add(row)
    r = client.get(f"/me/{token}")
    assert r.status_code == 404
    assert soup(r).select_one(".link-refused")["data-why"] == "gone"
