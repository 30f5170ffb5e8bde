"""The people search: a name anywhere, the start of an employee number, in any case; its
page and count from one pass over the roster."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from testrota.auth.scope import Scope
from testrota.roster.people import PeopleFilter, search_people
from tests.web_support import add_people

NAMES = ["张三", "张三丰", "李四", "Zhang Wei", "ZHANG Min", "Li_Na", "王%五", "Anna"]


@pytest.fixture
def roster(engine: Engine) -> Engine:
    add_people(
        engine,
        [
            {
                "employee_no": f"{'E' if i % 2 else 'e'}{25000 + i}",
                "name": NAMES[i % len(NAMES)],
                "department": f"部门{i % 3}",
                "grid_unit": "网格",
                "active": i % 11 != 0,
            }
            for i in range(120)
        ],
    )
    return engine


def _expected(q: str) -> list[tuple[str, str]]:
    """What the search means, spelled in Python: active people whose name holds ``q`` or whose
    employee number starts with it, either in any case; by department and number."""
    out = []
    for i in range(120):
        no, name = f"{'E' if i % 2 else 'e'}{25000 + i}", NAMES[i % len(NAMES)]
        if i % 11 != 0 and (q.lower() in name.lower() or no.lower().startswith(q.lower())):
            out.append((f"部门{i % 3}", no))
    return sorted(out)


@pytest.mark.parametrize(
    "q", ["张三", "张", "zhang", "ZHANG", "e2501", "E2501", "2501", "_", "%", "li_"]
)
def test_a_search_finds_what_it_means_in_pages(roster: Engine, q: str) -> None:
    expected = _expected(q)
    with Session(roster) as s:
        found: list[tuple[str, str]] = []
        page = search_people(s, Scope.everything(), PeopleFilter(q=q), 1, 7, phone_region="CN")
        assert page.total == len(expected)
        assert page.pages == max(1, -(-len(expected) // 7))
        for n in range(1, page.pages + 1):
            shown = search_people(s, Scope.everything(), PeopleFilter(q=q), n, 7, phone_region="CN")
            assert (shown.page, shown.total) == (n, len(expected))
            found += [(r.department, r.employee_no) for r in shown.rows]
    assert found == expected


def test_a_page_past_the_last_shows_the_last(roster: Engine) -> None:
    expected = _expected("张")
    with Session(roster) as s:
        page = search_people(s, Scope.everything(), PeopleFilter(q="张"), 99, 7, phone_region="CN")
        nothing = search_people(
            s, Scope.everything(), PeopleFilter(q="无此人"), 3, 7, phone_region="CN"
        )
    last = -(-len(expected) // 7)
    assert (page.page, page.pages, page.total) == (last, last, len(expected))
    assert [(r.department, r.employee_no) for r in page.rows] == expected[(last - 1) * 7 :]
    assert (nothing.page, nothing.pages, nothing.total, nothing.rows) == (1, 1, 0, [])


def test_a_search_stays_in_the_readers_departments(roster: Engine) -> None:
    with Session(roster) as s:
        page = search_people(s, Scope.of(["部门1"]), PeopleFilter(q="张"), 1, 50, phone_region="CN")
    assert page.total == len([k for k in _expected("张") if k[0] == "部门1"])
    assert {r.department for r in page.rows} == {"部门1"}
