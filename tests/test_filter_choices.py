"""The department and grid-unit choices of the filter forms: read without touching every
person of a group, and no list of a group's thousands of grid units."""

from __future__ import annotations

import random

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlmodel import Session, col, select

from testrota.auth.scope import Scope
from testrota.db.models import Person
from testrota.roster.people import _active_departments, _grid_units, departments, grid_units
from tests.query_plans import query_plan
from tests.web_support import add_people, make_user, sign_in, soup, week19

pytest_plugins = ("tests.web_fixtures",)


def _roster(engine: Engine, seed: int) -> None:
    """Departments whose people are all gone, some half gone, names that sort around each
    other, and people without a department."""
    rnd = random.Random(seed)
    names = ["", "A", "A ", "AB", "B", "物流部", "炼钢厂", "炼钢厂二", "z"]
    add_people(
        engine,
        [
            {
                "employee_no": f"E{i:04d}",
                "name": f"员工{i}",
                "department": rnd.choice(names),
                "grid_unit": f"网格{rnd.randrange(12)}",
                "active": rnd.random() < 0.6,
            }
            for i in range(300)
        ],
    )


def test_the_departments_offered_are_those_of_active_people(engine: Engine) -> None:
    for seed in range(5):
        _roster(engine, seed)
        with Session(engine) as s:
            plain = select(Person.department).where(col(Person.active).is_(True)).distinct()
            expected = sorted({d for d in s.exec(plain) if d})
            assert departments(s.connection(), Scope.everything()) == expected
            assert departments(s.connection(), Scope.of(["炼钢厂", "B"])) == ["B", "炼钢厂"]
            s.execute(text("DELETE FROM person"))
            s.commit()
    with engine.connect() as conn:
        assert departments(conn, Scope.everything()) == []


def test_sqlite_looks_each_department_up_in_its_index(engine: Engine) -> None:
    """One look a department (a loose index scan), not every active person sorted: SQLite
    took the index of ``active`` for it and read the whole roster (37 ms against 0.6 ms at
    100,000 people)."""
    if engine.dialect.name != "sqlite":
        return
    _roster(engine, 0)
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        plan = query_plan(conn, _active_departments())
    assert "ix_person_department_grid (department>?)" in plan, plan
    assert "TEMP B-TREE" not in plan, plan


def test_grid_units_are_listed_within_a_department_or_a_scope_of_departments(
    engine: Engine,
) -> None:
    _roster(engine, 1)
    with Session(engine) as s:
        conn = s.connection()
        assert grid_units(conn, Scope.everything()) is None  # the group's: typed, not listed
        every = grid_units(conn, Scope.everything(), "物流部")
        own = grid_units(conn, Scope.of(["物流部"]))
        assert every == own
        assert every == sorted(
            {
                p.grid_unit
                for p in s.exec(select(Person).where(Person.department == "物流部"))
                if p.active
            }
        )
        assert grid_units(conn, Scope.of(["物流部"]), "炼钢厂") == []  # out of reach


def test_a_departments_grid_units_are_read_from_an_index_alone(engine: Engine) -> None:
    """Not the department's people from the table: 10,000 of them for 400 grid units at every
    supervisor's missed page. The planner is kept off the table scans a small table invites,
    so the plan says whether an index can answer alone."""
    _roster(engine, 2)
    query = _grid_units(Scope.of(["物流部"]), "物流部")
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            conn.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
        conn.exec_driver_sql("ANALYZE")
        plan = query_plan(conn, query)
    if engine.dialect.name == "postgresql":
        assert "Index Only Scan using ix_person_department_grid" in plan, plan
    else:
        assert "USING COVERING INDEX ix_person_department_grid" in plan, plan
        assert "TEMP B-TREE" not in plan, plan


def test_hr_types_a_grid_unit_until_a_department_is_chosen(
    client: TestClient, engine: Engine
) -> None:
    week19(engine)
    make_user(engine, "hr1", "hr")
    sign_in(client, "hr1")
    for path in ("/missed", "/people", "/badges"):
        page = soup(client.get(path, params={"week": "2022-W19"}))
        assert page.select('select[name="grid_unit"]') == [], path
        (field,) = page.select('input[name="grid_unit"]')
        assert field.find_parent("label").get_text(" ", strip=True) == "Grid unit", path
        assert field["placeholder"] == "Choose a department, or type it", path
    page = soup(client.get("/missed", params={"week": "2022-W19", "grid_unit": "物流二组"}))
    assert page.select_one('input[name="grid_unit"]')["value"] == "物流二组"
    shown = [tr["data-employee"] for tr in page.select("table.missed tbody tr")]
    assert shown == ["B001", "B002"]
    page = soup(client.get("/missed", params={"week": "2022-W19", "department": "物流部"}))
    options = [o["value"] for o in page.select('select[name="grid_unit"] option') if o["value"]]
    assert options == ["物流二组"]


def test_a_supervisor_picks_among_their_own_grid_units(client: TestClient, engine: Engine) -> None:
    week19(engine)
    add_people(
        engine,
        [{"employee_no": "A009", "name": "周九", "department": "炼钢厂", "grid_unit": "炼钢二班"}],
    )
    make_user(engine, "sup", "supervisor", ["炼钢厂"])
    sign_in(client, "sup")
    for path in ("/missed", "/people", "/badges"):
        page = soup(client.get(path, params={"week": "2022-W19"}))
        options = [o["value"] for o in page.select('select[name="grid_unit"] option') if o["value"]]
        assert options == ["炼钢一班", "炼钢二班"], path
