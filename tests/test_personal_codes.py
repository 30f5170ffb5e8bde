"""Personal codes (核酸码): signed, compact, offline-valid; accepted by every check-in door;
shown on the personal page (with a host's co-residents'); printed on badge sheets."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import segno
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from testrota.actions.checkin import CheckIn, check_in
from testrota.actions.codes import mask_name, personal_codes
from testrota.app import App, build_app
from testrota.audit import Actor
from testrota.auth.scope import Scope
from testrota.badges import PAGE, QR_SCALE, qr_box
from testrota.clock import FixedClock
from testrota.codes import ExpiredCode, InvalidCode, make_code, read_code
from testrota.db.models import AuditEvent, Person, TestResult
from testrota.errors import UserError
from testrota.notify.links import make_personal_token
from testrota.settings import Settings, get_settings
from tests.conftest import CONFIG_DIR
from tests.web_support import (
    NOW,
    SECRET,
    add_people,
    make_user,
    post_form,
    sign_in,
    soup,
    week19,
)

pytest_plugins = ("tests.web_fixtures",)

KEY = "k" * 48
TODAY = date(2022, 5, 11)


# --- the code itself (pure) ----------------------------------------------------------------------


def test_a_code_reads_back_to_its_person_and_carries_nothing_personal() -> None:
    code = make_code(KEY, 123456, TODAY, 7)
    assert code.startswith("TR:") and len(code) <= 40
    assert "123456" not in code
    claim = read_code(KEY, code, TODAY, 7)
    assert (claim.person_id, claim.issued, claim.valid_until) == (123456, TODAY, date(2022, 5, 17))
    # QR's compact alphanumeric mode: upper-case letters, digits and ":."
    qr = segno.make_qr(code, error="m", boost_error=False)
    assert qr.mode == "alphanumeric" and qr.version <= 3


@pytest.mark.parametrize(
    "typed",
    [
        lambda c: c.lower(),  # a scanner with caps lock the other way
        lambda c: "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in c),
        lambda c: f"  {c}\t\r\n",  # a keyboard-wedge scanner's Enter and Tab
    ],
    ids=["lower", "full-width", "whitespace"],
)
def test_scanner_keyboard_input_is_folded_back_to_the_code(typed: Any) -> None:
    code = make_code(KEY, 42, TODAY, 7)
    assert read_code(KEY, typed(code), TODAY, 7).person_id == 42


def test_a_forged_or_altered_code_is_refused() -> None:
    code = make_code(KEY, 42, TODAY, 7)
    other_person = make_code(KEY, 43, TODAY, 7)
    # the id of another person under this code's signature
    spliced = other_person.split(".")[0] + "." + ".".join(code.split(".")[1:])
    longer = code.replace(".7.", ".Z.")  # a longer validity under the same signature
    for bad in (spliced, longer, make_code("x" * 48, 42, TODAY, 7), "TR:1.2.3.AAAA", "TR:"):
        with pytest.raises(InvalidCode):
            read_code(KEY, bad, TODAY, 7)


def test_a_code_expires_after_its_days_and_sooner_when_the_policy_shortens() -> None:
    code = make_code(KEY, 42, TODAY, 7)
    assert read_code(KEY, code, TODAY + timedelta(days=6), 7).person_id == 42
    with pytest.raises(ExpiredCode, match="expired on 2022-05-17"):
        read_code(KEY, code, TODAY + timedelta(days=7), 7)
    with pytest.raises(ExpiredCode, match="expired on 2022-05-12"):
        read_code(KEY, code, TODAY + timedelta(days=2), 2)


def test_a_code_dated_ahead_is_refused() -> None:
    with pytest.raises(InvalidCode, match="in the future"):
        read_code(KEY, make_code(KEY, 42, TODAY + timedelta(days=3), 7), TODAY, 7)


def test_mask_name() -> None:
    assert [mask_name(n) for n in ("张三丰", "李四", "王", "欧阳娜娜", "")] == [
        "张*丰",
        "李*",
        "*",
        "欧**娜",
        "",
    ]


# --- the check-in use case and its doors ---------------------------------------------------


def _settings(engine: Engine, **overrides: Any) -> Settings:
    return get_settings(
        database_url=engine.url.render_as_string(hide_password=False),
        config_dir=CONFIG_DIR,
        secret_key=SECRET,
        **overrides,
    )


def _app(engine: Engine, now: str = NOW) -> App:
    from datetime import datetime

    return build_app(
        _settings(engine), engine=engine, clock=FixedClock(datetime.fromisoformat(now))
    )


def _person_id(engine: Engine, employee_no: str) -> int:
    with Session(engine) as s:
        person = s.scalars(select(Person).where(Person.employee_no == employee_no)).one()
        assert person.id is not None
        return person.id


def _samples(engine: Engine) -> int:
    with Session(engine) as s:
        return int(s.scalar(select(func.count()).select_from(TestResult)) or 0)


def test_check_in_by_code_says_who_and_whether_expected(engine: Engine) -> None:
    ids = week19(engine)
    app = _app(engine, "2022-05-12T08:05:00+08:00")  # Thursday, in A001's slot
    code = personal_codes(app, _person_id(engine, "A001"))[0].code
    result = check_in(app, CheckIn(code, Actor.web("site1"), site="S1"))
    assert (result.employee_no, result.name, result.identified_by) == ("A001", "张伟", "code")
    assert result.recorded and result.expected and result.appointment_id == ids["A001-thu"]
    with Session(engine) as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "checkin.recorded")).one()
        assert event.details["identified_by"] == "code" and event.entity_id == "A001"
    # A2 has no slot now: recorded, and said so
    other = personal_codes(app, _person_id(engine, "A002"))[0].code
    walk_in = check_in(app, CheckIn(other, Actor.web("site1"), site="S1"))
    assert walk_in.recorded and not walk_in.expected


def test_expired_forged_and_out_of_scope_codes_write_nothing(engine: Engine) -> None:
    week19(engine)
    issued_app = _app(engine, "2022-05-01T09:00:00+08:00")
    old = personal_codes(issued_app, _person_id(engine, "A001"))[0].code
    app = _app(engine, "2022-05-12T08:05:00+08:00")
    fresh = personal_codes(app, _person_id(engine, "B001"))[0].code
    with pytest.raises(ExpiredCode):
        check_in(app, CheckIn(old, Actor.web("site1"), site="S1"))
    with pytest.raises(InvalidCode):
        check_in(app, CheckIn(fresh[:-1] + ("A" if fresh[-1] != "A" else "B"), Actor.web("s")))
    steel = Scope.of(["炼钢厂"])
    with pytest.raises(UserError, match="not on the roster"):
        check_in(app, CheckIn(fresh, Actor.web("sup"), site="S1", scope=steel))
    assert _samples(engine) == 0


def test_cli_checkin_takes_a_scanned_code(engine: Engine, cli: Any) -> None:
    week19(engine)
    app = _app(engine, "2022-05-12T08:05:00+08:00")
    code = personal_codes(app, _person_id(engine, "B001"))[0].code
    env = {"TESTROTA_SECRET_KEY": SECRET, "TESTROTA_NOW": "2022-05-12T08:05:00+08:00"}
    out = cli("checkin", code.lower(), "--site", "S1", "--json", env=env)
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert (doc["employee_no"], doc["expected"], doc["identified_by"]) == ("B001", True, "code")
    later = {**env, "TESTROTA_NOW": "2022-05-30T08:05:00+08:00"}
    refused = cli("checkin", code, "--site", "S1", env=later)
    assert refused.exit_code == 2
    assert refused.output.strip().splitlines() == [
        "Error: this personal code expired on 2022-05-18; open the personal page (or ask HR for "
        "a new badge) to show a fresh one, or type the employee number"
    ]
    assert _samples(engine) == 1


# --- the personal page and the web check-in -----------------------------------------------------


def _household(engine: Engine) -> None:
    week19(engine)
    add_people(
        engine,
        [
            {
                "employee_no": "C901",
                "name": "张小明",
                "department": "炼钢厂",
                "person_type": "co_resident",
                "host_employee_no": "A001",
            },
            {
                "employee_no": "C902",
                "name": "张老伯",
                "department": "炼钢厂",
                "person_type": "co_resident",
                "host_employee_no": "A001",
                "active": False,
            },
        ],
    )


def test_personal_page_shows_the_code_and_a_hosts_co_residents(
    client: TestClient, engine: Engine, web_settings: Settings
) -> None:
    _household(engine)
    token = make_personal_token(web_settings, _person_id(engine, "A001"))
    page = soup(client.get(f"/me/{token}"))
    figures = page.select("section.personal-codes figure.personal-code")
    assert [f["data-employee-no"] for f in figures] == ["A001", "C901"]  # not the inactive one
    for figure in figures:
        svg = figure.select_one("svg.personal-code")
        assert svg is not None and svg.select_one("path")
        code = figure.select_one("code.code-text")
        assert code is not None
        claim = read_code(SECRET, code.text, TODAY, 7)
        assert claim.person_id == _person_id(engine, str(figure["data-employee-no"]))
        assert claim.valid_until == date(2022, 5, 17)
    # a co-resident's own page shows their code only
    token = make_personal_token(web_settings, _person_id(engine, "C901"))
    page = soup(client.get(f"/me/{token}"))
    assert [f["data-employee-no"] for f in page.select("figure.personal-code")] == ["C901"]


def test_web_checkin_takes_the_code_from_a_phone_screen(
    client: TestClient, engine: Engine, web_settings: Settings
) -> None:
    week19(engine)
    make_user(engine, "site1", "site")
    sign_in(client, "site1")
    app = _app(engine)
    code = personal_codes(app, _person_id(engine, "B002"))[0].code
    r = post_form(client, "/checkin", {"employee_no": code, "site": "S1"}, page="/checkin")
    assert r.status_code == 303
    answer = soup(client.get("/checkin")).select_one("#answer")
    assert answer is not None and "刘洋" in answer.text and "B002" in answer.text
    assert "not expected now" in answer.text
    r = post_form(
        client, "/checkin", {"employee_no": code[:-2] + "22", "site": "S1"}, page="/checkin"
    )
    answer = soup(client.get("/checkin")).select_one("#answer.red")
    assert answer is not None and "not a valid personal code" in answer.text
    assert _samples(engine) == 1


# --- badge sheets ---------------------------------------------------------------------------------


def _qr_on_sheet(image: Image.Image, index: int, code: str) -> bool:
    """Whether the sheet's ``index``-th card carries exactly ``code``'s QR modules."""
    x0, y0, _ = qr_box(index, code)
    modules = segno.make_qr(code, error="m", boost_error=False).matrix_iter(scale=1, border=4)
    for r, row in enumerate(modules):
        for c, dark in enumerate(row):
            pixel = image.getpixel((x0 + c * QR_SCALE + QR_SCALE // 2, y0 + r * QR_SCALE + 3))
            if (pixel == 0) != bool(dark):
                return False
    return True


def _many(engine: Engine, n: int) -> None:
    add_people(
        engine,
        [
            {
                "employee_no": f"D{i:03d}",
                "name": f"工人{i}",
                "department": "焦化厂",
                "grid_unit": "焦一",
            }
            for i in range(n)
        ],
    )


def test_badges_png_carries_each_persons_code(engine: Engine, cli: Any, tmp_path: Path) -> None:
    week19(engine)
    out = tmp_path / "sheet.png"
    env = {"TESTROTA_SECRET_KEY": SECRET, "TESTROTA_NOW": NOW}
    r = cli("badges", "--department", "炼钢厂", "--output", str(out), "--json", env=env)
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert (doc["people"], doc["pages"], doc["valid_until"]) == (2, 1, "2022-05-17")
    image = Image.open(out)
    assert image.format == "PNG" and image.size == PAGE
    image = image.convert("L")
    app = _app(engine)
    for index, number in enumerate(["A001", "A002"]):
        code = personal_codes(app, _person_id(engine, number))[0].code
        assert _qr_on_sheet(image, index, code), number
    assert not _qr_on_sheet(image, 0, personal_codes(app, _person_id(engine, "B001"))[0].code)
    with Session(engine) as s:
        event = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "codes.badges_printed")
        ).one()
        assert (event.entity, event.entity_id, event.details["people"]) == (
            "department",
            "炼钢厂",
            2,
        )


def test_badges_pdf_has_a_page_per_twelve_and_png_refuses_more_than_one_page(
    engine: Engine, cli: Any, tmp_path: Path
) -> None:
    _many(engine, 13)
    env = {"TESTROTA_SECRET_KEY": SECRET, "TESTROTA_NOW": NOW}
    pdf = tmp_path / "sheet.pdf"
    r = cli("badges", "--grid-unit", "焦一", "--output", str(pdf), env=env)
    assert r.exit_code == 0, r.output
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and data.count(b"/Type /Page\n") == 2
    png = tmp_path / "sheet.png"
    r = cli("badges", "--grid-unit", "焦一", "--output", str(png), env=env)
    assert r.exit_code == 2 and "13 badges need 2 pages" in r.output and not png.exists()
    for args in (
        ["--department", "无此部门"],
        ["--department", "焦化厂", "--grid-unit", "焦一"],
        [],
    ):
        r = cli("badges", *args, "--output", str(png), env=env)
        assert r.exit_code == 2 and r.output.startswith("Error: "), r.output
    r = cli("badges", "--department", "焦化厂", "--output", str(tmp_path / "x.jpg"), env=env)
    assert r.exit_code == 2 and ".png or .pdf" in r.output


def test_web_badges_download_masks_names_for_masked_roles(
    client: TestClient, engine: Engine
) -> None:
    week19(engine)
    make_user(engine, "hr1", "hr")
    make_user(engine, "sup1", "supervisor", departments=["物流部"])
    sign_in(client, "hr1")
    r = post_form(client, "/badges", {"department": "炼钢厂", "format": "pdf"}, page="/badges")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf" and r.content.startswith(b"%PDF-")
    assert "attachment" in r.headers["content-disposition"]
    assert soup(client.get("/badges")).select_one("select[name=department]") is not None
    client.cookies.clear()
    sign_in(client, "sup1")
    r = post_form(client, "/badges", {"department": "炼钢厂", "format": "png"}, page="/badges")
    assert r.status_code == 400 and "within your departments" in r.text
    r = post_form(client, "/badges", {"department": "物流部", "format": "png"}, page="/badges")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    with Session(engine) as s:
        events = s.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "codes.badges_printed")
            .order_by(AuditEvent.id)
        ).all()
    assert [(e.actor, e.details["masked"]) for e in events] == [
        ("web:hr1", False),
        ("web:sup1", True),
    ]
