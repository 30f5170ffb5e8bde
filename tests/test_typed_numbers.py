"""Employee numbers as people type them: at check-in, status lookup and in results sheets.

The badge says 003002; the guard types ``3002``, a phone keyboard gives ``００３００２``, a lab
sheet lost the zeros. Each finds the one person it can mean, and a number that could be two
people lists both instead of guessing.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlmodel import Session

from testrota.compliance.result_rows import PersonIndex, PersonKeys, parse_rows
from testrota.db.models import Person, TestResult
from testrota.errors import UserError
from testrota.roster.numbers import NumberPick, clean_typed, pick_number
from testrota.roster.people import AmbiguousEmployeeNo, find_by_number
from testrota.roster.phones import normalize_phone
from tests.compliance_fixtures import SH, add_person, check_in, local, policy, status
from tests.web_support import make_user, post_form, sign_in, soup

pytest_plugins = ("tests.web_fixtures",)

P = policy()
AT = local(SH, 2022, 5, 11, 10, 0)  # the web tests' NOW
ENV = {"TESTROTA_NOW": AT.isoformat()}


@pytest.mark.parametrize(
    ("typed", "stored", "expected"),
    [
        ("003002", ["003002", "3002"], NumberPick("003002")),  # exactly as typed wins
        ("3002", ["003002", "1001"], NumberPick("003002")),  # leading zeros dropped
        ("\u3000００３ ００２ ", ["003002"], NumberPick("003002")),  # full-width, U+3000
        ("e0012", ["E0012"], NumberPick("E0012")),
        ("3002", ["003002", "03002"], NumberPick(None, ("003002", "03002"))),
        ("a1", ["a1", "A1"], NumberPick("a1")),
        ("a 1", ["a1", "A1"], NumberPick(None, ("A1", "a1"))),
        ("30020", ["003002"], NumberPick(None)),  # a trailing zero is a different number
        ("", ["003002"], NumberPick(None)),
    ],
)
def test_pick_number(typed: str, stored: list[str], expected: NumberPick) -> None:
    assert pick_number(typed, stored) == expected


def test_clean_typed() -> None:
    assert clean_typed("\ufeff 00 3002\u200b\t") == "003002"
    assert clean_typed("10023.0") == "10023"


def _people(engine: Engine) -> None:
    with Session(engine) as s:
        add_person(s, "003002", "张三", department="炼钢厂")
        add_person(s, "E0012", "李四", department="物流部")
        add_person(s, "000777", "王五", department="炼钢厂")
        add_person(s, "0777", "赵六", department="物流部")
        s.commit()


def _samples(engine: Engine) -> list[str]:
    with Session(engine) as s:
        rows = s.execute(
            select(Person.employee_no).join(TestResult, TestResult.person_id == Person.id)
        ).scalars()
        return sorted(rows)


@pytest.mark.parametrize("typed", ["3002", "　００３ ００２", "003002 ", "3002.0"])
def test_check_in_finds_the_one_person_a_loose_number_means(engine: Engine, typed: str) -> None:
    _people(engine)
    result = check_in(engine, typed, None, AT, "site", P, now=AT)
    assert (result.employee_no, result.name) == ("003002", "张三")
    assert _samples(engine) == ["003002"]


def test_a_number_that_could_be_two_people_lists_both_and_records_nothing(
    engine: Engine, cli: Any
) -> None:
    _people(engine)
    with pytest.raises(AmbiguousEmployeeNo) as caught:
        check_in(engine, "777", None, AT, "site", P, now=AT)
    assert [c["employee_no"] for c in caught.value.candidates] == ["000777", "0777"]
    assert "000777 (王五, 炼钢厂), 0777 (赵六, 物流部)" in str(caught.value)
    # the whole number, as printed on the badge, is never ambiguous
    assert check_in(engine, "0777", None, AT, "site", P, now=AT).name == "赵六"
    assert _samples(engine) == ["0777"]

    result = cli("checkin", "777", env=ENV)
    assert result.exit_code == 2
    assert "could be 2 people: 000777 (王五, 炼钢厂), 0777 (赵六, 物流部)" in result.stderr
    assert "Traceback" not in result.output
    assert _samples(engine) == ["0777"]


def test_status_lookup_forgives_case_and_zeros(engine: Engine, cli: Any) -> None:
    _people(engine)
    assert status(engine, "e0012", AT, P).employee_no == "E0012"
    result = cli("status", "３００２", "--json", env=ENV)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["name"] == "张三"
    unknown = cli("status", "4242", env=ENV)
    assert unknown.exit_code == 2 and "unknown employee number '4242'" in unknown.stderr
    with pytest.raises(UserError, match="could be 2 people"):
        status(engine, "777", AT, P)


def test_a_scoped_lookup_considers_only_the_people_in_scope(engine: Engine) -> None:
    _people(engine)
    with Session(engine) as s:
        person = find_by_number(s, "777", departments={"炼钢厂"})
        assert person is not None and person.employee_no == "000777"
        assert find_by_number(s, "3002", departments={"物流部"}) is None


def _index() -> PersonIndex:
    return PersonIndex(
        [
            PersonKeys(1, "003002"),
            PersonKeys(2, "E0012"),
            PersonKeys(3, "000777"),
            PersonKeys(4, "0777"),
        ]
    )


def test_results_rows_match_numbers_typed_without_zeros_or_in_lower_case() -> None:
    now = AT + timedelta(days=1)
    out = parse_rows(
        "Sheet1",
        {
            "employee_no": ["3002", "e 0012", "777", "0777"],
            "sampled_at": ["2022-05-10 08:30"] * 4,
            "result": ["阴性"] * 4,
        },
        [2, 3, 4, 5],
        _index(),
        tz=SH,
        now=now,
        normalize_phone=lambda raw: normalize_phone(raw, "CN"),
        sites={},
    )
    assert [(s.row, s.person_id) for s in out.samples] == [(2, 1), (3, 2), (5, 4)]
    [ambiguous] = out.unmatched
    assert ambiguous.row == 4
    assert "employee number 777 could be 2 people (000777, 0777)" in ambiguous.message


def test_results_import_matches_a_sheet_that_lost_the_zeros(
    engine: Engine, cli: Any, tmp_path: Path
) -> None:
    _people(engine)
    sheet = tmp_path / "lab.csv"
    rows = ["工号,采样时间,检测结果", "3002,2022-05-10 08:30,阴性", "777,2022-05-10 08:30,阴性"]
    sheet.write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = cli("results", "import", str(sheet), "--json", env=ENV)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["recorded"] == 1 and _samples(engine) == ["003002"]
    assert [u["row"] for u in doc["unmatched"]] == [3]
    assert "000777, 0777" in doc["unmatched"][0]["message"]


def test_web_check_in_with_a_loose_number_and_with_an_ambiguous_one(
    client: TestClient, engine: Engine
) -> None:
    _people(engine)
    make_user(engine, "gate1", "site")
    sign_in(client, "gate1")
    post_form(client, "/checkin", {"employee_no": "３００２", "site": "NORTH"}, page="/checkin")
    answer = soup(client.get("/checkin")).select_one(".answer")
    assert answer is not None and answer.select_one(".name").get_text() == "张三"
    assert _samples(engine) == ["003002"]

    post_form(client, "/checkin", {"employee_no": "777", "site": "NORTH"}, page="/checkin")
    answer = soup(client.get("/checkin")).select_one(".answer")
    assert answer is not None and "red" in answer["class"]
    assert "777 could be 2 people" in answer.get_text()
    listed = [li.get_text(" ", strip=True) for li in answer.select("ul.candidates li")]
    assert listed == ["000777 王五 · 炼钢厂", "0777 赵六 · 物流部"]
    assert _samples(engine) == ["003002"]

    api = client.post(
        "/api/checkin",
        json={"employee_no": "777"},
        headers={"X-CSRF-Token": client.get("/api/session").json()["csrf_token"]},
    )
    assert api.status_code == 409
    assert "could be 2 people" in api.json()["detail"]
    assert [c["employee_no"] for c in api.json()["candidates"]] == ["000777", "0777"]
    ok = client.post(
        "/api/checkin",
        json={"employee_no": "e0012"},
        headers={"X-CSRF-Token": client.get("/api/session").json()["csrf_token"]},
    )
    assert ok.status_code == 200 and ok.json()["employee_no"] == "E0012"


def test_web_status_with_loose_numbers_within_the_supervisors_scope(
    client: TestClient, engine: Engine
) -> None:
    _people(engine)
    make_user(engine, "sup", "supervisor", ["炼钢厂"])
    sign_in(client, "sup")
    page = soup(client.get("/status", params={"employee_no": "3002"}))
    assert page.select_one(".answer .name").get_text() == "张三"
    # 0777 is in another department: 777 means the one person this supervisor may see
    page = soup(client.get("/status", params={"employee_no": "777"}))
    assert page.select_one(".answer .name").get_text() == "王五"
    assert client.get("/api/status/3002").json()["employee_no"] == "003002"
    assert client.get("/api/status/e0012").status_code == 404  # 物流部: not theirs


def test_web_status_lists_the_candidates_as_links(client: TestClient, engine: Engine) -> None:
    _people(engine)
    make_user(engine, "gate1", "site")
    sign_in(client, "gate1")
    response = client.get("/status", params={"employee_no": "777"})
    assert response.status_code == 409
    links = soup(response).select(".answer ul.candidates a")
    assert [a["href"] for a in links] == ["/status?employee_no=000777", "/status?employee_no=0777"]
    assert client.get("/api/status/777").status_code == 409
    assert client.get("/api/status/E0012").json()["name"] == "李四"


@pytest.mark.parametrize("typed", ["%", "_", "0" * 10_000, "3002" + "x" * 10_000, "' OR 1=1 --"])
def test_hostile_numbers_match_nobody(engine: Engine, typed: str) -> None:
    _people(engine)
    with Session(engine) as s:
        assert find_by_number(s, typed) is None
    with pytest.raises(UserError, match="unknown employee number"):
        check_in(engine, typed, None, AT, "site", P, now=AT)
    assert _samples(engine) == []
