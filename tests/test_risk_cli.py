"""``testrota roles`` and ``testrota override`` through the CLI runner, on both databases."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from testrota.db.models import AuditEvent, Person
from testrota.risk.vocabulary import FILE_NAME, load_vocabulary
from tests.conftest import CONFIG_DIR
from tests.risk_people import Row, import_rows, plant

VOCAB = load_vocabulary(CONFIG_DIR)
NOW_ENV = {"TESTROTA_NOW": "2022-05-09T08:30:00+08:00"}


@pytest.fixture
def people(engine: Engine) -> Engine:
    with Session(engine, expire_on_commit=False) as session:
        import_rows(session, [*plant(), Row("T1", "司機", "運輸部")], VOCAB)
    return engine


def _person(engine: Engine, number: str) -> Person:
    with Session(engine) as session:
        return session.exec(select(Person).where(Person.employee_no == number)).one()


def test_roles_json(cli: Any, people: Engine) -> None:
    result = cli("roles", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["role"], r["department"], r["head_count"], r["category"]) for r in rows] == [
        ("司机", "运输部", 3, "driver"),
        ("司機", "運輸部", 1, "driver"),
        ("炉前工", "炼铁厂", 5, None),
        ("司磅员", "计量中心", 2, None),
        ("天车工", "炼钢厂", 1, None),
    ]
    assert rows[0]["matched_by"] == "title" and rows[0]["matched_text"] == "司机"
    assert rows[0]["category_name"] == "司机"


def test_roles_unmatched_most_common_first_in_every_format(cli: Any, people: Engine) -> None:
    result = cli("roles", "--unmatched", "--format", "json")
    assert result.exit_code == 0, result.output
    assert [r["role"] for r in json.loads(result.stdout)] == ["炉前工", "司磅员", "天车工"]

    result = cli("roles", "--unmatched", "--format", "csv")
    assert result.exit_code == 0, result.output
    table = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["role"], r["head_count"]) for r in table] == [
        ("炉前工", "5"),
        ("司磅员", "2"),
        ("天车工", "1"),
    ]
    assert table[0]["category"] == "" and table[0]["matched_by"] == ""

    result = cli("roles", "--unmatched")
    assert result.exit_code == 0, result.output
    assert "炉前工" in result.stdout and "司机" not in result.stdout


def test_roles_with_explicit_db_and_no_people(cli: Any, database_url: str) -> None:
    result = cli("roles", "--db", database_url, "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == []


def test_map_a_role_then_review_it(cli: Any, people: Engine) -> None:
    result = cli(
        "roles",
        "map",
        "炉前工",
        "司機",
        "--reason",
        "drives the mud gun",
        "--by",
        "wang",
        "--json",
        env=NOW_ENV,
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "role": "炉前工",
        "department": "",
        "category": "driver",
        "old_category": None,
        "had_override": False,
        "affected": 5,
        "released": 0,
        "cleared": False,
        "dry_run": False,
        "departments": {"炼铁厂": 5},
    }
    assert _person(people, "F0").matched_by == "override"
    rows = json.loads(cli("roles", "--format", "json").stdout)
    furnace = next(r for r in rows if r["role"] == "炉前工")
    assert (furnace["category"], furnace["matched_by"], furnace["override_reason"]) == (
        "driver",
        "override",
        "drives the mud gun",
    )
    with Session(people) as session:
        event = session.exec(select(AuditEvent)).one()
    assert (event.actor, event.action) == ("cli:wang", "risk.role_override")
    assert event.at.isoformat() == "2022-05-09T00:30:00+00:00"

    result = cli("roles", "map", "天车工", "none", "--department", "炼钢厂", "--reason", "crane")
    assert result.exit_code == 0, result.output
    assert "not high-risk" in result.stdout and "炼钢厂" in result.stdout
    assert _person(people, "C0").matched_by == "override"

    result = cli("roles", "unmap", "炉前工", "--reason", "undo", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["affected"] == 5
    assert _person(people, "F0").matched_by is None


def test_override_one_person(cli: Any, people: Engine) -> None:
    result = cli("override", "S0", "cargo_transfer", "--reason", "weighs and unloads")
    assert result.exit_code == 0, result.output
    assert "S0: cargo_transfer (接送货物) (was not high-risk)" in result.stdout
    s0 = _person(people, "S0")
    assert (s0.risk_category, s0.override_category, s0.matched_by) == (
        "cargo_transfer",
        "cargo_transfer",
        "override",
    )
    result = cli("override", "D0", "none", "--reason", "office only", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "employee_no": "D0",
        "category": None,
        "old_category": "driver",
        "released": 0,
        "cleared": False,
    }
    result = cli("override", "D0", "clear", "--reason", "back on the road")
    assert result.exit_code == 0, result.output
    assert _person(people, "D0").risk_category == "driver"


def test_reclassify(cli: Any, people: Engine) -> None:
    result = cli("roles", "reclassify", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["changed"] == 0
    assert document["by_category"] == {"driver": 4}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("override", "nobody", "driver", "--reason", "r"), "no person with employee number"),
        (("override", "D0", "taxi", "--reason", "r"), "unknown risk category 'taxi'"),
        (("roles", "map", "司机", "driver", "--reason", " "), "reason is required"),
        (("roles", "unmap", "司机", "--reason", "r"), "no mapping of the role"),
        (("roles", "--format", "xml"), "unknown format 'xml'"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    cli: Any, people: Engine, args: tuple[str, ...], message: str
) -> None:
    result = cli(*args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""


def test_missing_reason_is_a_usage_error(cli: Any, people: Engine) -> None:
    result = cli("roles", "map", "司机", "driver")
    assert result.exit_code == 2
    assert "--reason" in result.output


def test_a_broken_vocabulary_file_is_reported(cli: Any, people: Engine, tmp_path: Path) -> None:
    for name in CONFIG_DIR.iterdir():
        if name.suffix == ".yaml" and name.name != FILE_NAME:
            (tmp_path / name.name).write_bytes(name.read_bytes())
    (tmp_path / FILE_NAME).write_text("categories: []\n", encoding="utf-8")
    result = cli("roles", env={"TESTROTA_CONFIG_DIR": str(tmp_path)})
    assert result.exit_code == 2
    assert FILE_NAME in result.stderr and "categories" in result.stderr
