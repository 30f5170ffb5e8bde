"""The result rows taken column by column (a group's sheet has 300,000) say exactly what the
rows read one by one say: the same samples in the same order, the same rows matching nobody
and the same errors with their words, the same duplicates, across several sheets."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from testrota.compliance.result_rows import ParsedRows, PersonIndex, PersonKeys, parse_rows
from testrota.roster.phones import normalize_phone
from tests.compliance_fixtures import SH, local
from tests.results_oracle import OracleRows, oracle_parse_rows

NOW = local(SH, 2022, 5, 12, 18, 0)
INDEX = PersonIndex(
    [
        PersonKeys(1, "1001", "+8613800000001", "210502198001011234"),
        PersonKeys(2, "00123", "+8613800000002", None),
        PersonKeys(3, "1003", "+8613800000009", "21050219800101567X"),
        PersonKeys(4, "1004", "+8613800000009", None),  # a shared family phone
        PersonKeys(5, "A-7", None, "210502198001011234"),  # an ID number typed twice
    ]
)
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
