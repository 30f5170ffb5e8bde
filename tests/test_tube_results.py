"""Results by tube code: a negative tube clears its members, a positive pool makes them
"pool positive" with a single-tube recheck booked and texted at once, and a positive single
tube raises the alert with its contacts."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session

from testrota.db.models import Alert, Message, TestResult, Tube
from testrota.sampling.recheck import SlotOption, choose_slot
from testrota.sampling.results import parse_ct, result_of_genes
from testrota.sampling.states import state_of
from testrota.statuses import ResultValue
from tests.compliance_fixtures import add_person, write_xlsx
from tests.web_support import SECRET, make_user, sign_in, soup

pytest_plugins = ("tests.web_fixtures",)

MORNING = "2022-05-11T10:00:00+08:00"
AFTERNOON = "2022-05-11T16:00:00+08:00"
EVENING = "2022-05-11T20:00:00+08:00"
HEADER = ["样本编码", "检测结果", "基因结果", "Ct值"]


def _env(now: str) -> dict[str, str]:
    return {"TESTROTA_NOW": now, "TESTROTA_SECRET_KEY": SECRET}


def _ok(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _people(engine: Engine) -> None:
    with Session(engine) as s:
        for i in range(1, 8):
            add_person(
                s, f"10{i:02d}", f"炼钢{i}", grid_unit="炼钢一班", phone=f"+861380000{i:04d}"
            )
        add_person(
            s, "3001", "冷链1", grid_unit="冷库", category="cold_chain", phone="+8613900000001"
        )
        s.commit()


def _morning(cli: Any) -> None:
    env = _env(MORNING)
    _ok(cli("tube", "open", "P1", "--site", "NORTH", "--ratio", "5", "--json", env=env))
    for i in range(1, 6):
        _ok(cli("checkin", f"10{i:02d}", "--tube", "P1", "--json", env=env))
    _ok(cli("tube", "open", "P2", "--site", "NORTH", "--ratio", "5", "--json", env=env))
    for i in (6, 7):
        _ok(cli("checkin", f"10{i:02d}", "--tube", "P2", "--json", env=env))
    _ok(cli("tube", "close", "P2", "--json", env=env))
    _ok(cli("tube", "open", "S1", "--site", "NORTH", "--ratio", "1", "--json", env=env))
    _ok(cli("checkin", "3001", "--tube", "S1", "--json", env=env))


def _sheet(tmp_path: Path, name: str, rows: list[list[Any]]) -> Path:
    return write_xlsx(tmp_path / name, HEADER, rows)


def _results(engine: Engine, employee_no: str) -> list[str]:
    from testrota.db.models import Person

    with Session(engine) as s:
        person = s.scalars(select(Person).where(Person.employee_no == employee_no)).one()
        return [
            r.result
            for r in s.scalars(
                select(TestResult)
                .where(TestResult.person_id == person.id)
                .order_by(TestResult.sampled_at)  # type: ignore[arg-type]
            )
        ]


def test_a_day_of_pooled_tubes_from_sampling_to_recheck(
    engine: Engine, cli: Any, tmp_path: Path
) -> None:
    _people(engine)
    _morning(cli)
    sheet = _sheet(
        tmp_path,
        "lab.xlsx",
        [
            ["P1", "阳性", "ORF1ab 阳性, N 基因阳性", "31.5"],
            ["P2", "阴性", "ORF1ab 阴性, N 基因阴性", ""],
            ["S1", "阴性", "", ""],
            ["X404", "阴性", "", ""],
        ],
    )
    doc = _ok(cli("results", "import", str(sheet), "--json", env=_env(AFTERNOON)))
    assert doc["tubes"] == {"negative": 2, "positive": 1, "invalid": 0, "unknown": 1, "members": 8}
    assert (doc["rows"], doc["recorded"], doc["unchanged"]) == (4, 3, 0)
    assert [(u["row"], u["value"]) for u in doc["unmatched"]] == [(5, "X404")]
    assert doc["rechecks"]["booked"] == 5 and doc["rechecks"]["texted"] == 5
    assert doc["alerts"] == []  # a positive pool is not a case yet
    # the members' samples
    assert _results(engine, "1001") == ["pool_positive"]
    assert _results(engine, "1006") == ["negative"]
    assert _results(engine, "3001") == ["negative"]
    # gene text and Ct kept on the tube
    tubes = {t["code"]: t for t in _ok(cli("tubes", "--json", env=_env(AFTERNOON)))}
    assert (tubes["P1"]["result"], tubes["P1"]["gene_text"], tubes["P1"]["ct"]) == (
        "positive",
        "ORF1ab 阳性, N 基因阳性",
        31.5,
    )
    assert tubes["P2"]["result"] == "negative" and tubes["P2"]["ct"] is None
    # the gate: amber with its own state; a negative pool's member is just due (1 of 2)
    status = _ok(cli("status", "1001", "--json", env=_env(AFTERNOON)))
    assert (status["state"], status["status"]) == ("pool_positive", "amber")
    assert _ok(cli("status", "1006", "--json", env=_env(AFTERNOON)))["state"] == "due"
    # the rechecks: one per member, within 24 h, at a site that serves them, texted now
    schedule = _ok(cli("schedule", "--week", "2022-W19", "--format", "json", env=_env(AFTERNOON)))
    rechecks = [a for a in schedule if a["kind"] == "recheck"]
    assert sorted(a["employee_no"] for a in rechecks) == ["1001", "1002", "1003", "1004", "1005"]
    start = datetime.fromisoformat(AFTERNOON)
    for a in rechecks:
        at = datetime.fromisoformat(a["starts_at"])
        assert start <= at <= start + timedelta(hours=24) and a["site"] == "NORTH"
    assert {a["kind"] for a in schedule if a not in rechecks} <= {"routine"}
    with Session(engine) as s:
        texts = list(s.scalars(select(Message).where(Message.kind == "recheck")))
    assert len(texts) == 5 and all(m.due_at == start for m in texts)
    assert all("单管复核" in m.body and "/me/" in m.body for m in texts)
    # A template channel (Aliyun) sends the values, not the body: they are kept with the text.
    assert all(
        m.params and set(m.params) == {"name", "date", "time", "site", "link"} for m in texts
    )
    # the same sheet again: nothing changes, nobody is booked twice
    again = _ok(cli("results", "import", str(sheet), "--json", env=_env(AFTERNOON)))
    assert (again["recorded"], again["unchanged"]) == (0, 3)
    assert (again["rechecks"]["booked"], again["rechecks"]["already"]) == (0, 5)
    # the single-tube rechecks: 1001 positive (the alert, with contacts), 1002 negative
    env = _env("2022-05-11T16:05:00+08:00")
    for code, person in (("R1", "1001"), ("R2", "1002")):
        _ok(cli("tube", "open", code, "--site", "NORTH", "--ratio", "1", "--json", env=env))
        done = _ok(cli("checkin", person, "--tube", code, "--json", env=env))
        assert done["tube_closed"] is True
    second = _sheet(tmp_path, "recheck.xlsx", [["R1", "阳性", "", "28"], ["R2", "阴性", "", ""]])
    doc = _ok(cli("results", "import", str(second), "--json", env=_env(EVENING)))
    assert doc["tubes"]["positive"] == 1 and doc["rechecks"] is None
    assert [a["employee_no"] for a in doc["alerts"]] == ["1001"]
    assert doc["alerts"][0]["contacts"] >= 4  # the grid unit
    positive = _ok(cli("status", "1001", "--json", env=_env(EVENING)))
    assert (positive["state"], positive["status"]) == ("positive", "red")
    cleared = _ok(cli("status", "1002", "--json", env=_env(EVENING)))
    assert cleared["state"] in ("ok", "due") and cleared["status"] != "red"
    assert _results(engine, "1002") == ["pool_positive", "negative"]
    with Session(engine) as s:
        assert len(list(s.scalars(select(Alert)))) == 1


def test_refused_and_dry_run_sheets_write_nothing(engine: Engine, cli: Any, tmp_path: Path) -> None:
    _people(engine)
    _morning(cli)
    dry = _sheet(tmp_path, "dry.xlsx", [["P1", "阳性", "", ""]])
    doc = _ok(cli("results", "import", str(dry), "--dry-run", "--json", env=_env(AFTERNOON)))
    assert doc["tubes"]["positive"] == 1 and doc["dry_run"] is True
    bad = _sheet(
        tmp_path,
        "bad.xlsx",
        [
            ["P1", "阳性", "", ""],
            ["P1", "阴性", "", ""],
            ["P2", "看不懂", "", ""],
            ["S1", "阴性", "", "abc"],
        ],
    )
    doc = _ok(cli("results", "import", str(bad), "--json", env=_env(AFTERNOON)))
    assert [(e["row"], e["column"]) for e in doc["errors"]] == [
        (3, "tube"),
        (4, "result"),
        (5, "ct"),
    ]
    assert doc["rows"] == doc["recorded"] + doc["unchanged"] + len(doc["unmatched"]) + len(
        doc["errors"]
    )
    with Session(engine) as s:
        p1 = s.scalars(select(Tube).where(Tube.code == "P1")).one()
        assert p1.result == "positive"  # the first row stands; the conflicting one is reported
    # a person-keyed sheet still works beside tube sheets
    person_sheet = write_xlsx(
        tmp_path / "people.xlsx",
        ["工号", "采样时间", "检测结果"],
        [["1006", "2022-05-11 10:00", "阴性"]],
    )
    doc = _ok(cli("results", "import", str(person_sheet), "--json", env=_env(AFTERNOON)))
    assert doc["tubes"] is None and doc["rows"] == 1


def test_pool_positive_in_words_at_the_gate_and_on_the_personal_page(
    engine: Engine, cli: Any, tmp_path: Path, client: Any, web_settings: Any
) -> None:
    from testrota.actions.codes import personal_codes
    from testrota.app import build_app
    from testrota.db.models import Person
    from testrota.notify.links import make_personal_token

    _people(engine)
    _morning(cli)
    sheet = _sheet(tmp_path, "lab.xlsx", [["P1", "阳性", "", ""], ["P2", "阴性", "", ""]])
    _ok(cli("results", "import", str(sheet), "--json", env=_env(AFTERNOON)))
    make_user(engine, "gate1", "site")
    sign_in(client, "gate1")
    with Session(engine) as s:
        ids = {p.employee_no: p.id for p in s.scalars(select(Person))}
    code = personal_codes(build_app(web_settings, engine=engine), ids["1001"])[0].code
    for typed in ("1001", code):
        page = soup(client.get("/status", params={"employee_no": typed}))
        answer = page.select_one(".answer")
        assert answer is not None and answer["data-status"] == "amber", typed
        state = answer.select_one(".sample-state")
        assert state is not None and state["data-state"] == "pool_positive"
        assert "single-tube recheck" in state.text
    page = soup(client.get("/status", params={"employee_no": "1006"}))
    assert page.select_one(".sample-state") is None
    me = soup(client.get(f"/me/{make_personal_token(web_settings, ids['1001'])}"))
    state = me.select_one(".sample-state")
    assert state is not None and state["data-state"] == "pool_positive"
    me = soup(client.get(f"/me/{make_personal_token(web_settings, ids['1006'])}"))
    assert me.select_one(".sample-state") is None


def test_positive_pools_show_the_tube_its_members_and_their_rechecks(
    engine: Engine, cli: Any, tmp_path: Path, client: Any
) -> None:
    _people(engine)
    _morning(cli)
    sheet = _sheet(
        tmp_path, "lab.xlsx", [["P1", "阳性", "ORF1ab 阳性", "30"], ["P2", "阴性", "", ""]]
    )
    _ok(cli("results", "import", str(sheet), "--json", env=_env(AFTERNOON)))
    env = _env("2022-05-11T16:05:00+08:00")
    _ok(cli("tube", "open", "R2", "--site", "NORTH", "--ratio", "1", "--json", env=env))
    _ok(cli("checkin", "1002", "--tube", "R2", "--json", env=env))
    second = _sheet(tmp_path, "recheck.xlsx", [["R2", "阴性", "", ""]])
    _ok(cli("results", "import", str(second), "--json", env=_env(EVENING)))
    pools = _ok(cli("pools", "--json", env=_env(EVENING)))
    assert [p["tube"] for p in pools] == ["P1"]  # not the negative P2, nor the single R2
    members = {m["employee_no"]: m for m in pools[0]["members"]}
    assert sorted(members) == ["1001", "1002", "1003", "1004", "1005"]
    assert members["1002"]["state"] == "cleared"
    assert members["1001"]["state"] == "pool_positive"
    assert all(m["recheck_at"] and m["recheck_site"] == "NORTH" for m in members.values())
    assert (pools[0]["gene_text"], pools[0]["ct"]) == ("ORF1ab 阳性", 30.0)
    make_user(engine, "hr1", "hr")
    make_user(engine, "sup1", "supervisor", departments=["物流部"])
    sign_in(client, "hr1")
    page = soup(client.get("/pools"))
    rows = {
        r["data-employee"]: r["data-state"]
        for r in page.select('section.pool[data-tube="P1"] tr[data-employee]')
    }
    # the web's clock is the morning's: nobody's recheck has come back yet
    assert len(rows) == 5 and set(rows.values()) == {"pool_positive"}
    client.cookies.clear()
    sign_in(client, "sup1")  # nobody of theirs was in it
    assert soup(client.get("/pools")).select("section.pool") == []


def test_a_recheck_found_at_night_is_texted_after_the_quiet_hours(
    engine: Engine, cli: Any, tmp_path: Path
) -> None:
    _people(engine)
    _morning(cli)
    sheet = _sheet(tmp_path, "night.xlsx", [["P1", "阳性", "", ""]])
    doc = _ok(cli("results", "import", str(sheet), "--json", env=_env("2022-05-11T23:30:00+08:00")))
    assert doc["rechecks"]["booked"] == 5
    with Session(engine) as s:
        texts = list(s.scalars(select(Message).where(Message.kind == "recheck")))
    morning = datetime.fromisoformat("2022-05-12T07:00:00+08:00")
    assert len(texts) == 5 and all(m.due_at == morning and m.tz for m in texts)
    schedule = _ok(cli("schedule", "--week", "2022-W19", "--format", "json", env=_env(EVENING)))
    starts = [datetime.fromisoformat(a["starts_at"]) for a in schedule if a["kind"] == "recheck"]
    night = datetime.fromisoformat("2022-05-11T23:30:00+08:00")
    # NORTH opens at 06:30: the first slots of the next morning, within the 24 hours
    assert starts and all(night < at <= night + timedelta(hours=24) for at in starts)
    assert min(starts) == datetime.fromisoformat("2022-05-12T06:30:00+08:00")


# --- pure parts ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ORF1ab 阴性, N 基因阴性", ResultValue.NEGATIVE),
        ("ORF1ab 阳性，N 基因阴性", ResultValue.POSITIVE),  # one gene is enough
        ("ORF1ab 未检出; N 未检出", ResultValue.NEGATIVE),
        ("ORF1ab 无效, N 阴性", ResultValue.INVALID),
        ("阴性", ResultValue.NEGATIVE),
        ("", None),
        ("看不懂", None),
    ],
)
def test_gene_level_text(text: str, expected: ResultValue | None) -> None:
    assert result_of_genes(text) == expected


def test_ct_values() -> None:
    assert parse_ct("32.5") == 32.5
    assert parse_ct("ORF1ab:31.2 N:33") == 31.2
    assert parse_ct("-") is None and parse_ct("") is None
    with pytest.raises(ValueError):
        parse_ct("abc")


def test_state_outranks_the_light() -> None:
    assert state_of("green", True, "pool_positive", False) == "pool_positive"
    assert state_of("amber", True, "positive", True) == "positive"
    assert state_of("amber", True, "positive", False) == "due"  # the alert was closed
    assert state_of("red", True, "negative", False) == "missed"
    assert state_of("green", False, None, False) == "inactive"


def test_the_recheck_slot_is_the_earliest_with_room_at_a_site_that_serves() -> None:
    now = datetime.fromisoformat(AFTERNOON)

    def slot(i: int, site: str, minutes: int, free: int = 1) -> SlotOption:
        at = now + timedelta(minutes=minutes)
        return SlotOption(i, site, at, at + timedelta(minutes=15), free)

    options = [
        slot(1, "NORTH", -15),  # started
        slot(2, "SOUTH", 15, free=0),  # full
        slot(3, "DORM", 30),  # does not serve them
        slot(4, "SOUTH", 45),
        slot(5, "NORTH", 45),  # the tube's own site wins the tie
        slot(6, "NORTH", 60 * 25),  # beyond the deadline
    ]
    chosen = choose_slot(options, lambda s: s != "DORM", now, now + timedelta(hours=24), "NORTH")
    assert chosen is not None and chosen.id == 5
    assert choose_slot(options[:4], lambda s: s == "DORM", now, now, None) is None


def test_the_recheck_deadline_is_real_hours_across_a_change_of_the_clocks() -> None:
    from zoneinfo import ZoneInfo

    from testrota.sampling.recheck import recheck_deadline

    new_york = ZoneInfo("America/New_York")
    # 20:00 the evening before the clocks go forward (2022-03-13 02:00 -> 03:00).
    now = datetime(2022, 3, 12, 20, 0, tzinfo=new_york)
    deadline = recheck_deadline(now, 24)
    assert deadline - now == timedelta(hours=24)
    assert deadline.astimezone(new_york) == datetime(2022, 3, 13, 21, 0, tzinfo=new_york)

    def slot(i: int, hour: int, minute: int) -> SlotOption:
        at = datetime(2022, 3, 13, hour, minute, tzinfo=new_york)
        return SlotOption(i, "NORTH", at, at + timedelta(minutes=15), 1)

    # 20:45 the next evening is 23¾ real hours away; 21:15 is 24¼.
    late, in_time = slot(1, 21, 15), slot(2, 20, 45)
    assert choose_slot([late, in_time], lambda s: True, now, deadline, None) == in_time
    assert choose_slot([late], lambda s: True, now, deadline, None) is None


def test_the_daily_report_counts_pooled_and_single_samples_and_positive_pools(
    engine: Engine, cli: Any, tmp_path: Path
) -> None:
    _people(engine)
    _morning(cli)
    sheet = _sheet(tmp_path, "lab.xlsx", [["P1", "阳性", "", ""], ["P2", "阴性", "", ""]])
    _ok(cli("results", "import", str(sheet), "--json", env=_env(AFTERNOON)))
    report = _ok(cli("report", "daily", "--date", "2022-05-11", "--json", env=_env(EVENING)))
    root = report[0]
    # P1 (5 swabs) and P2 (2) are pooled; S1 is a single tube; P1 came back positive.
    assert (root["pooled"], root["single"], root["pool_positive"]) == (7, 1, 5)
    # The units below the root add up to it.
    rows = {r["path"]: r for r in report}
    assert sum(r["pooled"] for r in report if r["level"] == root["level"] + 1) == 7
    assert all(r["pool_positive"] <= r["pooled"] for r in rows.values())


def test_the_alert_of_a_positive_recheck_shows_the_pool_it_was_found_in(
    engine: Engine, cli: Any, tmp_path: Path, client: Any
) -> None:
    _people(engine)
    _morning(cli)
    first = _sheet(tmp_path, "lab.xlsx", [["P1", "阳性", "", ""], ["P2", "阴性", "", ""]])
    _ok(cli("results", "import", str(first), "--json", env=_env(AFTERNOON)))
    env = _env("2022-05-11T16:05:00+08:00")
    for code, person in (("R1", "1001"), ("R2", "1002")):
        _ok(cli("tube", "open", code, "--site", "NORTH", "--ratio", "1", "--json", env=env))
        _ok(cli("checkin", person, "--tube", code, "--json", env=env))
    second = _sheet(tmp_path, "recheck.xlsx", [["R1", "阳性", "", ""], ["R2", "阴性", "", ""]])
    _ok(cli("results", "import", str(second), "--json", env=_env(EVENING)))
    with Session(engine) as s:
        (alert,) = s.scalars(select(Alert)).all()
    make_user(engine, "hr1", "hr")
    sign_in(client, "hr1")
    page = soup(client.get(f"/alerts/{alert.id}"))
    (pool,) = page.select('div.pool[data-tube="P1"]')
    latest = {
        r["data-employee"]: r.select("td")[-1].get_text(" ", strip=True)
        for r in pool.select("tr[data-employee]")
    }
    # each member's latest result: the case's positive recheck, 1002's negative one, and the
    # pool's own result for those not rechecked yet
    assert sorted(latest) == ["1001", "1002", "1003", "1004", "1005"]
    assert [latest[n] for n in ("1001", "1002", "1003")] == [
        "positive",
        "negative",
        "pooled tube positive",
    ]
    assert latest["1003"] == latest["1004"] == latest["1005"]


def test_the_results_upload_preview_counts_tubes(
    engine: Engine, cli: Any, tmp_path: Path, client: Any
) -> None:
    from tests.web_support import csrf_of

    _people(engine)
    _morning(cli)
    sheet = _sheet(
        tmp_path,
        "lab.xlsx",
        [["P1", "阳性", "", ""], ["P2", "阴性", "", ""], ["X9", "阴性", "", ""]],
    )
    make_user(engine, "hr1", "hr")
    sign_in(client, "hr1")
    sent = client.post(
        "/upload/results",
        data={"csrf_token": csrf_of(client, "/upload/results")},
        files={"file": ("lab.xlsx", sheet.read_bytes())},
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text
    preview = soup(client.get(sent.headers["location"]))
    counts = {
        key: preview.select_one(f'.stat[data-key="tubes-{key}"] .value').get_text(strip=True)
        for key in ("positive", "negative", "unknown")
    }
    assert counts == {"positive": "1", "negative": "1", "unknown": "1"}


def test_a_tube_sheets_problems_read_in_chinese_on_the_preview_and_in_its_report(
    engine: Engine, cli: Any, tmp_path: Path, client: Any
) -> None:
    import io

    from openpyxl import load_workbook

    from tests.web_support import csrf_of

    _people(engine)
    _morning(cli)
    sheet = _sheet(
        tmp_path,
        "lab.xlsx",
        [
            ["P1", "也许", "", ""],
            ["P2", "阴性", "", "abc"],
            ["X9", "阴性", "", ""],
            ["S1", "阴性", "", ""],
            ["S1", "阳性", "", ""],
        ],
    )
    make_user(engine, "hr1", "hr", language="zh")
    sign_in(client, "hr1")
    sent = client.post(
        "/upload/results",
        data={"csrf_token": csrf_of(client, "/upload/results")},
        files={"file": ("lab.xlsx", sheet.read_bytes())},
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text
    preview = soup(client.get(sent.headers["location"]))
    shown = {
        tr.select("td")[3].get_text(): tr.select("td")[4].get_text()
        for tr in preview.select("table.errors tbody tr")
    }
    assert shown["也许"].startswith("不是检测结果")
    assert shown["abc"] == "'abc' 不是 Ct 值"
    assert shown["X9"].startswith("没有此编码的试管")
    assert shown["S1"] == "试管 S1 在第 5 行有另一个结果"
    report = load_workbook(
        io.BytesIO(client.get(sent.headers["location"] + "/errors.xlsx").content)
    )
    rows = list(report["错误"].iter_rows(min_row=2, values_only=True))
    assert {r[4] for r in rows} == set(shown.values())
