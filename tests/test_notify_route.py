"""TESTROTA_SMS_BACKEND=route: the roster's 通知方式 and 企业微信账号, the SMS channel by the
number's country code, and WeCom falling back to SMS without any channel sending twice."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, update
from sqlmodel import Session

from testrota.clock import FixedClock
from testrota.db import tables
from testrota.notify.backends import build_backend
from testrota.notify.dispatcher import Dispatcher
from testrota.notify.route import Preference, RouteBackend, channel_order, sms_channel
from testrota.policy import ChannelsPolicy
from testrota.settings import Settings, SettingsError, get_settings
from tests.fake_aliyun import FakeAliyun
from tests.fake_twilio import FakeTwilio
from tests.fake_wecom import FakeWecom
from tests.notify_data import add_due_texts, messages, notify_settings, policy
from tests.roster_files import write_csv

CHANNELS = ChannelsPolicy()


def test_the_sms_channel_follows_the_country_code() -> None:
    assert sms_channel("+8613800000001", CHANNELS) == "aliyun"
    assert sms_channel("+447700900123", CHANNELS) == "twilio"
    hk = ChannelsPolicy(sms_by_region={"+86": "aliyun", "+852": "twilio"}, sms_default="aliyun")
    assert sms_channel("+85291234567", hk) == "twilio"
    assert sms_channel("+15551234567", hk) == "aliyun"
    with pytest.raises(ValueError, match="country code"):
        ChannelsPolicy(sms_by_region={"86": "aliyun"})


def test_wecom_people_get_wecom_first_then_sms() -> None:
    wecom = Preference("wecom", "zhangsan")
    assert channel_order("+8613800000001", wecom, CHANNELS) == ["wecom", "aliyun"]
    assert channel_order("+447700900123", wecom, CHANNELS) == ["wecom", "twilio"]
    assert channel_order("+8613800000001", Preference("sms"), CHANNELS) == ["aliyun"]
    assert channel_order("+8613800000001", Preference(), CHANNELS) == ["aliyun"]


def test_route_names_the_settings_its_channels_need(settings: Settings) -> None:
    routed = get_settings(sms_backend="route", config_dir=settings.config_dir)
    with pytest.raises(SettingsError) as info:
        build_backend(routed, policy().sms, CHANNELS)
    message = str(info.value)
    assert "for aliyun: ALIYUN_ACCESS_KEY_ID" in message
    assert "for twilio: TWILIO_ACCOUNT_SID" in message


@pytest.fixture
def fakes() -> Iterator[tuple[FakeAliyun, FakeTwilio, FakeWecom]]:
    members = {"13800000003": "user3", "13800000005": "user5"}
    with FakeAliyun() as aliyun, FakeTwilio() as twilio, FakeWecom(members) as wecom:
        yield aliyun, twilio, wecom


def _route_settings(base: Settings, fakes: Any) -> Settings:
    aliyun, twilio, wecom = fakes
    values: dict[str, Any] = {**aliyun.settings(), **wecom.settings()}
    values.update(
        sms_backend="route",
        twilio_account_sid=twilio.account_sid,
        twilio_auth_token=twilio.auth_token,
        twilio_from="+15005550006",
        twilio_api_base=twilio.base_url,
    )
    return notify_settings(base, **values)


def _people(engine: Engine) -> list[int]:
    """Six texts: 1 +86 no choice, 2 a UK number, 3 企业微信 found by mobile, 4 企业微信 with a
    roster account, 5 短信 though a WeCom member, 6 企业微信 but not a member."""
    now = datetime.now(UTC)
    ids = add_due_texts(engine, 6, now - timedelta(minutes=1), with_params=True)
    P, M = tables.PERSON, tables.MESSAGE
    changes = {
        2: {"phone": "+447700900002"},
        3: {"notify_channel": "wecom"},
        4: {"notify_channel": "wecom", "wecom_userid": "li.si"},
        5: {"notify_channel": "sms"},
        6: {"notify_channel": "wecom"},
    }
    with engine.begin() as conn:
        for n, values in changes.items():
            person = conn.execute(select(P.c.id).where(P.c.employee_no == f"B{n:07d}")).scalar()
            conn.execute(update(P).where(P.c.id == person).values(**values))
            if "phone" in values:
                conn.execute(update(M).where(M.c.person_id == person).values(to=values["phone"]))
    return ids


def _dispatch(engine: Engine, settings: Settings, now: datetime) -> Any:
    rules = policy(sms={"rate_per_second": 0, "concurrency": 4})
    backend = build_backend(settings, rules.sms, rules.channels, engine)
    assert isinstance(backend, RouteBackend)
    assert "wecom" in backend.backends
    try:
        return Dispatcher(engine, backend, rules, FixedClock(now)).run()
    finally:
        backend.close()


def test_each_person_gets_their_channel_and_wecom_falls_back_to_sms(
    engine: Engine, settings: Settings, fakes: Any
) -> None:
    aliyun, twilio, wecom = fakes
    wecom.members["li"] = "li.si"  # a member known only by the roster's account
    ids = _people(engine)
    report = _dispatch(engine, _route_settings(settings, fakes), datetime.now(UTC))
    assert report.sent == 6 and report.failed == 0
    with Session(engine, expire_on_commit=False) as session:
        channel = {m.to: m.channel for m in messages(session)}
    assert channel == {
        "+8613800000001": "aliyun",
        "+447700900002": "twilio",
        "+8613800000003": "wecom",
        "+8613800000004": "wecom",
        "+8613800000005": "aliyun",
        "+8613800000006": "aliyun",  # not a WeCom member: the SMS went instead
    }
    assert sorted(m.phone for m in aliyun.messages) == ["13800000001", "13800000005", "13800000006"]
    assert [m.to for m in twilio.messages] == ["+447700900002"]
    assert sorted(d.touser for d in wecom.delivered) == ["li.si", "user3"]
    # each text went through each channel at most once
    assert aliyun.stats()["duplicates"] == twilio.stats()["duplicates"] == 0
    assert wecom.stats()["duplicates"] == 0
    assert len(ids) == 6


def test_a_text_goes_by_its_own_persons_channel_on_a_phone_a_household_shares(
    engine: Engine, settings: Settings, fakes: Any
) -> None:
    """Two people on one phone: 4 reads 企业微信 (li.si), 5 chose 短信. 5's text went to
    li.si's WeCom, whoever's row the phone found first (found in review); each text now
    takes its own person's choice, through the real clients and the fake servers."""
    aliyun, _twilio, wecom = fakes
    wecom.members["li"] = "li.si"
    add_due_texts(engine, 5, datetime.now(UTC) - timedelta(minutes=1), with_params=True)
    P, M = tables.PERSON, tables.MESSAGE
    shared = "+8613800000004"
    with engine.begin() as conn:
        ids = {
            n: conn.execute(select(P.c.id).where(P.c.employee_no == f"B{n:07d}")).scalar()
            for n in (4, 5)
        }
        conn.execute(
            update(P).where(P.c.id == ids[4]).values(notify_channel="wecom", wecom_userid="li.si")
        )
        conn.execute(update(P).where(P.c.id == ids[5]).values(notify_channel="sms", phone=shared))
        conn.execute(update(M).where(M.c.person_id == ids[5]).values(to=shared))
    report = _dispatch(engine, _route_settings(settings, fakes), datetime.now(UTC))
    assert report.failed == 0
    with engine.connect() as conn:
        channel = dict(
            conn.execute(
                select(M.c.person_id, M.c.channel).where(M.c.person_id.in_(ids.values()))
            ).all()
        )
    assert channel == {ids[4]: "wecom", ids[5]: "aliyun"}
    assert [d.touser for d in wecom.delivered] == ["li.si"]
    assert "13800000004" in [m.phone for m in aliyun.messages]


def test_a_wecom_text_of_unknown_fate_is_not_also_sent_by_sms(
    engine: Engine, settings: Settings, fakes: Any
) -> None:
    aliyun, _, wecom = fakes
    _people(engine)
    with engine.begin() as conn:  # only person 3's text
        conn.execute(
            update(tables.MESSAGE)
            .where(tables.MESSAGE.c.to != "+8613800000003")
            .values(status="cancelled")
        )
    wecom.fail("drop_after")
    now = datetime.now(UTC)
    report = _dispatch(engine, _route_settings(settings, fakes), now)
    assert (report.sent, report.unknown) == (0, 1)
    assert aliyun.messages == []  # no SMS on top of a WeCom message that may have arrived
    # the lookup finds nothing to ask WeCom; the resend is dropped by WeCom's duplicate check
    later = _dispatch(engine, _route_settings(settings, fakes), now + timedelta(minutes=11))
    assert later.sent == 1
    assert len(wecom.delivered) == 1 and wecom.counts["duplicate_suppressed"] == 1
    assert aliyun.messages == []


def test_the_roster_says_how_to_reach_a_person(cli: Any, tmp_path: Path, engine: Engine) -> None:
    rows = [
        ["工号", "姓名", "部门", "岗位", "手机号", "通知方式", "企业微信账号"],
        ["1001", "张伟", "炼钢厂", "司机", "13812345601", "企业微信", "zhang.wei"],
        ["1002", "王芳", "炼钢厂", "司机", "13812345602", "短信", ""],
        ["1003", "李娜", "炼钢厂", "司机", "13812345603", "", ""],
        ["1004", "赵强", "炼钢厂", "司机", "13812345604", "飞鸽传书", ""],
    ]
    f = write_csv(tmp_path / "roster.csv", rows)
    result = cli("import", str(f), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    (error,) = report["errors"]
    assert (error["row"], error["column"], error["value"]) == (5, "通知方式", "飞鸽传书")
    with engine.connect() as conn:
        P = tables.PERSON
        stored = {
            r.employee_no: (r.notify_channel, r.wecom_userid)
            for r in conn.execute(select(P.c.employee_no, P.c.notify_channel, P.c.wecom_userid))
        }
    assert stored == {
        "1001": ("wecom", "zhang.wei"),
        "1002": ("sms", None),
        "1003": (None, None),
        "1004": (None, None),
    }
    # a file without the columns leaves what is stored
    f2 = write_csv(tmp_path / "again.csv", [r[:5] for r in rows])
    assert cli("import", str(f2), "--json").exit_code == 0
    with engine.connect() as conn:
        kept = conn.execute(
            select(P.c.notify_channel, P.c.wecom_userid).where(P.c.employee_no == "1001")
        ).one()
    assert tuple(kept) == ("wecom", "zhang.wei")


def test_sender_capacity_is_checked_per_channel(
    cli: Any, engine: Engine, session: Session, tmp_path: Path
) -> None:
    from zoneinfo import ZoneInfo

    from testrota.notify.queries import capacity_for_week
    from tests.notify_data import add_appointment, add_person, add_site, config_dir

    add_site(session)
    start = datetime(2022, 5, 10, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    for n in range(1, 121):  # 60 mainland numbers, 60 British ones, one morning's slots
        phone_number = f"+86138{n:08d}" if n % 2 else f"+4477009{n:05d}"
        person = add_person(session, n, phone=phone_number)
        add_appointment(session, person, start + timedelta(minutes=10 * (n % 6)))
    rules = policy(
        sms={"rate_per_second": 1},
        channels={"rate_per_second": {"aliyun": 0.02, "twilio": 1}},
    )
    report = capacity_for_week(engine, "2022-W19", rules, "route")
    monday = {r["channel"]: r for r in report["channels"] if r["date"] == "2022-05-09"}
    assert (monday["aliyun"]["texts"], monday["twilio"]["texts"]) == (60, 60)
    assert monday["aliyun"]["ok"] is False and monday["twilio"]["ok"] is True
    assert monday["aliyun"]["needed_rate"] == round(60 / 1800, 3)
    assert [w for w in report["warnings"] if w.startswith("aliyun:")]
    assert not [w for w in report["warnings"] if w.startswith("twilio:")]
    single = capacity_for_week(engine, "2022-W19", rules, "aliyun")
    assert {r["channel"] for r in single["channels"]} == {"aliyun"}
    assert next(d for d in single["days"] if d["date"] == "2022-05-09")["texts"] == 120

    slow = config_dir(tmp_path, channels={"rate_per_second": {"aliyun": 0.02}})
    env = {
        "TESTROTA_NOW": "2022-05-09T08:00:00+08:00",
        "TESTROTA_SECRET_KEY": "x" * 40,
        "TESTROTA_CONFIG_DIR": str(slow),
    }
    result = cli("sms-capacity", "--week", "2022-W19", "--json", env=env)
    assert result.exit_code == 0, result.output
    # console sends everything: no per-channel ceiling of its own, one row per day
    assert {r["channel"] for r in json.loads(result.stdout)["channels"]} == {"console"}


def test_the_dashboard_warns_about_a_channel_too_slow_for_its_share(
    engine: Engine, settings: Settings, session: Session
) -> None:
    from zoneinfo import ZoneInfo

    from testrota.actions.compliance import DashboardFigures, dashboard_figures
    from testrota.app import build_app
    from tests.notify_data import add_appointment, add_person, add_site

    add_site(session)
    now = datetime(2022, 5, 9, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    for n in range(1, 61):
        add_appointment(session, add_person(session, n), now + timedelta(hours=26))
    routed = notify_settings(settings, sms_backend="route")
    fast = policy(sms={"rate_per_second": 5})
    app = build_app(routed, engine=engine, clock=FixedClock(now), policy=fast)
    assert dashboard_figures(app, DashboardFigures("2022-W19")).capacity == []
    slow = policy(sms={"rate_per_second": 5}, channels={"rate_per_second": {"aliyun": 0.01}})
    app = build_app(routed, engine=engine, clock=FixedClock(now), policy=slow)
    (warning,) = dashboard_figures(app, DashboardFigures("2022-W19")).capacity
    assert warning.startswith("aliyun: 60 reminders")


def test_the_dashboard_counts_reminders_by_start_time_as_one_window_each(
    engine: Engine, settings: Settings, session: Session
) -> None:
    """The dashboard works out each start time's reminders once and counts them; the warning
    is the one the windows of every appointment, one by one, give."""
    from zoneinfo import ZoneInfo

    from testrota.actions.compliance import DashboardFigures, dashboard_figures
    from testrota.app import build_app
    from testrota.notify.capacity import capacity_warning, reminder_windows
    from tests.notify_data import add_appointment, add_person, add_site

    add_site(session)
    tz = ZoneInfo("Asia/Shanghai")
    now = datetime(2022, 5, 9, 8, 0, tzinfo=tz)
    starts = [now + timedelta(hours=26 + (n % 3), minutes=15 * (n % 2)) for n in range(90)]
    for n, at in enumerate(starts, start=1):
        add_appointment(session, add_person(session, n), at)
    slow = policy(sms={"rate_per_second": 0.01})
    app = build_app(settings, engine=engine, clock=FixedClock(now), policy=slow)
    one_by_one = [w for at in starts for w in reminder_windows([at], tz, slow.reminders)]
    expected = capacity_warning(one_by_one, 0.01)
    assert expected is not None
    assert dashboard_figures(app, DashboardFigures("2022-W19")).capacity == [expected.message]


def test_counted_reminder_windows_equal_one_window_per_appointment(
    engine: Engine, session: Session
) -> None:
    """The capacity check counts windows by start time, site zone and channel in SQL; the
    result is what working out each appointment's reminders one by one gives: two site zones
    (one of them blank, read as the policy's), regions with nested prefixes, no phone, WeCom
    first, cancelled and done appointments left out."""
    from collections import Counter
    from zoneinfo import ZoneInfo

    from testrota.notify.capacity import reminder_windows
    from tests.notify_data import add_appointment, add_person, add_site

    add_site(session)
    add_site(session, "S2", "二号", tz="Europe/London")
    add_site(session, "S3", "三号", tz="")
    rules = policy(
        channels={"sms_by_region": {"+86": "aliyun", "+861": "console", "+44": "twilio"}}
    )
    start = datetime(2022, 5, 10, 8, 0, tzinfo=UTC)
    phones = ["+8613800000001", "+8623800000001", "+447700900001", "+15550000001", None]
    expected: dict[str, Counter[tuple[datetime, datetime]]] = {}
    for n in range(1, 61):
        person = add_person(
            session, n, phone=phones[n % 5], notify_channel="wecom" if n % 7 == 0 else None
        )
        site = ("S1", "S2", "S3")[n % 3]
        at = start + timedelta(hours=n % 4, days=n % 3)
        status = "cancelled" if n % 11 == 0 else "done" if n % 13 == 0 else "scheduled"
        add_appointment(session, person, at, site=site, status=status)
        if status != "scheduled":
            continue
        zone = {"S1": "Asia/Shanghai", "S2": "Europe/London", "S3": rules.timezone}[site]
        channel = channel_order(
            phones[n % 5] or "", Preference("wecom" if n % 7 == 0 else None), rules.channels
        )[0]
        expected.setdefault(channel, Counter()).update(
            reminder_windows([at], ZoneInfo(zone), rules.reminders)
        )
    from testrota.notify.queries import reminder_window_counts_by_channel

    with engine.connect() as conn:
        got = reminder_window_counts_by_channel(
            conn, start - timedelta(days=1), start + timedelta(days=7), rules, "route"
        )
        single = reminder_window_counts_by_channel(
            conn, start - timedelta(days=1), start + timedelta(days=7), rules, "console"
        )
    assert got == expected
    assert set(expected) == {"aliyun", "console", "twilio", "wecom"}
    assert single == {"console": sum(expected.values(), Counter())}
