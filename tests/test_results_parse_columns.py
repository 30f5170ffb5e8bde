"""The result rows taken column by column (a group's sheet has 300,000) say exactly what the
rows read one by one say: the same samples in the same order, the same rows matching nobody
and the same errors with their words, the same duplicates, across several sheets."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from testrota.compliance.result_rows import ParsedRows, PersonIndex, PersonKeys, parse_rows
from testrota.roster.phones import normalize_phone
from tests.compliance_fixtures import SH, local
from tests.results_oracle import OracleRows, oracle_parse_rows

NOW = local(SH, 2022, 5, 12, 18, 0)
PEOPLE = [
    PersonKeys(1, "1001", "+8613800000001", "210502198001011234"),
    PersonKeys(2, "00123", "+8613800000002", None),
    PersonKeys(3, "1003", "+8613800000009", "21050219800101567X"),
    PersonKeys(4, "1004", "+8613800000009", None),  # a shared family phone
    PersonKeys(5, "A-7", None, "210502198001011234"),  # an ID number typed twice
]
INDEX = PersonIndex(PEOPLE)
CELLS = {
    "employee_no": ["", "1001", " 1001 ", "00123", "123", "a-7", "9999", "1003", "1004"],
    "phone": ["", "138 0000 0002", "13800000009", "123", "13800000001", "+86 138-0000-0001"],
    "id_number": ["", "21050219800101567x", "210502198001011234", "1"],
    "name": ["", "张三", " 李四 "],
    "sampled_at": [
        "2022-05-09 08:30",
        "2022/5/9 8:30",
        "2022-05-10 08:30",
        "10/05/2022 09:00",
        "昨天",
        "2022-06-30 08:00",
        "2022-05-12 18:05",
        "",
    ],
    "result": ["阴性", "negative", "阳性", "maybe", "pending", "无效", ""],
    "site": ["", "s1", "S1 ", "幸福社区", "第二采样点"],
}
SITES = {"s1": "S1", "第二采样点": "S2"}


@st.composite
def sheets(draw: Any) -> list[tuple[dict[str, list[str]], list[int]]]:
    out = []
    for _ in range(draw(st.integers(1, 3))):
        n = draw(st.integers(0, 14))
        fields = draw(st.sets(st.sampled_from(sorted(CELLS)), min_size=1))
        data = {f: [draw(st.sampled_from(CELLS[f])) for _ in range(n)] for f in sorted(fields)}
        out.append((data, list(range(3, 3 + n))))
    return out


def _phone(raw: str) -> str | None:
    return normalize_phone(raw, "CN")


@settings(max_examples=400, deadline=None)
@given(sheets())
def test_the_columns_agree_with_the_rows_read_one_by_one(
    book: list[tuple[dict[str, list[str]], list[int]]],
) -> None:
    got, want = ParsedRows(), OracleRows()
    for k, (data, numbers) in enumerate(book):
        name = f"Sheet{k + 1}"
        args: dict[str, Any] = {"tz": SH, "now": NOW, "normalize_phone": _phone, "sites": SITES}
        parse_rows(name, data, numbers, INDEX, out=got, **args)
        oracle_parse_rows(name, data, numbers, INDEX, out=want, **args)
    assert got.samples == want.samples
    assert [(u, u.parts) for u in got.unmatched] == [(u, u.parts) for u in want.unmatched]
    assert [(e, e.template, e.params) for e in got.errors] == [
        (e, e.template, e.params) for e in want.errors
    ]
    assert (got.rows, got.duplicates, got.matched_by) == (
        want.rows,
        want.duplicates,
        want.matched_by,
    )
    assert len(got.keys) == len(got.columns) == len(want.samples)


class _Asked:
    """The database's side of an index built from employee numbers: each look-up recorded."""

    def __init__(self, people: list[PersonKeys]) -> None:
        self.people = people
        self.phones: list[set[str]] = []
        self.id_numbers = 0

    def find_phones(self, wanted: Collection[str]) -> list[tuple[str, int]]:
        self.phones.append(set(wanted))
        return [(p.phone, p.id) for p in self.people if p.phone in wanted]

    def find_id_numbers(self) -> list[tuple[int, str | None]]:
        self.id_numbers += 1
        return [(p.id, p.id_number) for p in self.people]


@settings(max_examples=200, deadline=None)
@given(sheets())
def test_an_index_that_asks_for_phones_matches_as_one_given_them(
    book: list[tuple[dict[str, list[str]], list[int]]],
) -> None:
    """Built from employee numbers alone, the index asks once a sheet for the phones of the
    rows no employee number names exactly, and for the ID numbers at most once in all."""
    asked = _Asked(PEOPLE)
    lazy = PersonIndex(
        [(p.id, p.employee_no) for p in PEOPLE],
        phones=asked.find_phones,
        id_numbers=asked.find_id_numbers,
    )
    got, want = ParsedRows(), ParsedRows()
    for k, (data, numbers) in enumerate(book):
        args: dict[str, Any] = {"tz": SH, "now": NOW, "normalize_phone": _phone, "sites": SITES}
        parse_rows(f"Sheet{k + 1}", data, numbers, lazy, out=got, **args)
        parse_rows(f"Sheet{k + 1}", data, numbers, INDEX, out=want, **args)
        n = len(numbers)
        nos = data.get("employee_no", [""] * n)
        typed = data.get("phone", [""] * n)
        needed = {
            e164
            for i in range(n)
            if INDEX.by_no.get(nos[i].strip()) is None
            and (e164 := _phone(typed[i].strip())) is not None
        }
        new = needed - {v for earlier in asked.phones[:-1] for v in earlier}
        assert (asked.phones[-1] if asked.phones else set()) >= new
    assert got.samples == want.samples
    assert [(u, u.parts) for u in got.unmatched] == [(u, u.parts) for u in want.unmatched]
    assert got.errors == want.errors and got.matched_by == want.matched_by
    asked_all = [v for each in asked.phones for v in each]
    assert len(asked_all) == len(set(asked_all))  # no number asked for twice
    assert asked.id_numbers <= 1


def test_an_index_needs_the_phones_and_id_numbers_or_ways_to_ask() -> None:
    with pytest.raises(ValueError, match="look-ups"):
        PersonIndex([(1, "1001")])
    assert PersonIndex([]).by_phone("+8613800000001") == []
