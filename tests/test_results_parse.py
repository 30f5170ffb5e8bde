"""Reading result cells and rows: result words, sampling times, matching. Pure."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from testrota.compliance.result_rows import (
    LAB,
    OUTSIDE,
    ParsedRows,
    PersonIndex,
    PersonKeys,
    parse_rows,
)
from testrota.compliance.results_parse import (
    day_first_for,
    normalize_employee_no,
    normalize_id_number,
    parse_result,
    parse_sampled_at,
)
from testrota.roster.phones import normalize_phone
from tests.compliance_fixtures import NY, SH, local

NOW = local(SH, 2022, 5, 12, 18, 0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("阴性", "negative"),
        ("陰性", "negative"),
        ("Negative", "negative"),
        ("NEG", "negative"),
        ("-", "negative"),
        ("－", "negative"),
        ("阴性（-）", "negative"),
        ("未检出", "negative"),
        ("阳性", "positive"),
        ("陽性", "positive"),
        ("Positive", "positive"),
        ("pos", "positive"),
        ("+", "positive"),
        ("(+)", "positive"),
        ("弱阳性", "positive"),
        ("pending", "pending"),
        ("待检", "pending"),
        ("检测中", "pending"),
        ("", "pending"),
        ("invalid", "invalid"),
        ("无效", "invalid"),
        ("無效", "invalid"),
        ("重采", "invalid"),
        ("maybe", None),
        ("ok", None),
    ],
)
def test_result_words(text: str, expected: str | None) -> None:
    assert parse_result(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2022-05-09 08:30:00",
        "2022-05-09 08:30",
        "2022-05-09T08:30:00+08:00",
        "2022-05-09T00:30:00Z",
        "2022/5/9 8:30",
        "2022.05.09 08:30",
        "2022年5月9日 8时30分",
        "2022年5月9日 08:30",
        "２０２２－０５－０９　０８：３０",
        "20220509 083000",
        "5/9/2022 8:30 AM",
        "44690.3541666667",  # an Excel serial number
    ],
)
def test_sampling_times_in_common_formats(text: str) -> None:
    assert parse_sampled_at(text, SH) == local(SH, 2022, 5, 9, 8, 30)


def test_sampling_time_details() -> None:
    assert parse_sampled_at("2022年5月9日 下午3点", SH) == local(SH, 2022, 5, 9, 15, 0)
    assert parse_sampled_at("2022-05-09", SH) == local(SH, 2022, 5, 9, 0, 0)
    assert parse_sampled_at("13/05/2022 08:00", SH) == local(SH, 2022, 5, 13, 8, 0)
    assert parse_sampled_at("05/09/2022 08:00", SH, day_first=True) == local(SH, 2022, 9, 5, 8)
    # A naive time is local time of the policy's zone, in New York with its DST offset.
    assert parse_sampled_at("2022-07-01 09:00", NY) == datetime(2022, 7, 1, 13, 0, tzinfo=UTC)
    assert parse_sampled_at("2022-01-03 09:00", NY) == datetime(2022, 1, 3, 14, 0, tzinfo=UTC)
    for bad in ("tomorrow", "2022-13-01 08:00", "2022-05-09 25:00", "", "8:30"):
        with pytest.raises(ValueError, match="sampling time"):
            parse_sampled_at(bad, SH)


def test_day_order_decided_per_column() -> None:
    # One unambiguous value settles the column.
    assert day_first_for(["05/09/2022", "13/05/2022"], SH, NOW) is True
    assert day_first_for(["05/09/2022", "05/13/2022"], SH, NOW) is False
    # All ambiguous: the reading that puts samples in the recent past wins.
    assert day_first_for(["05/09/2022", "05/10/2022"], SH, NOW) is False  # 9 and 10 May
    assert day_first_for(["09/05/2022", "10/05/2022"], SH, NOW) is True
    assert day_first_for(["2022-05-09"], SH, NOW) is False
    # The rows vote, not the distinct texts: two rows of 13 May month first outweigh one.
    assert day_first_for(["13/05/2022", "05/13/2022", "05/13/2022"], SH, NOW) is False
    assert day_first_for(["13/05/2022", "13/05/2022", "05/13/2022"], SH, NOW) is True


def test_identity_normalisation() -> None:
    assert normalize_employee_no(" １００２３ ") == "10023"
    assert normalize_employee_no("10023.0") == "10023"
    assert normalize_employee_no("00123") == "00123"
    assert normalize_id_number("21050219800101 123x") == "21050219800101123X"


PEOPLE = [
    PersonKeys(1, "1001", "+8613800000001", "210502198001011234"),
    PersonKeys(2, "00123", "+8613800000002", None),
    PersonKeys(3, "1003", "+8613800000009", "21050219800101567X"),
    PersonKeys(4, "1004", "+8613800000009", None),  # a shared family phone
]


def _index() -> PersonIndex:
    return PersonIndex(PEOPLE)


def _parse(data: dict[str, list[str]], sites: dict[str, str] | None = None) -> object:
    n = len(next(iter(data.values())))
    return parse_rows(
        "Sheet1",
        data,
        list(range(2, n + 2)),
        _index(),
        tz=SH,
        now=NOW,
        normalize_phone=lambda raw: normalize_phone(raw, "CN"),
        sites=sites or {"s1": "S1"},
    )


def test_rows_match_by_employee_number_then_phone_then_id_number() -> None:
    out = _parse(
        {
            "employee_no": ["1001", "", "", "9999", "", "00123"],
            "phone": ["", "138 0000 0002", "", "13800000001", "13800000009", ""],
            "id_number": ["", "", "21050219800101567x", "", "", ""],
            "sampled_at": [f"2022-05-{d:02d} 08:30" for d in range(6, 12)],
            "result": ["阴性"] * 6,
        }
    )
    assert [(s.row, s.person_id, s.matched_by) for s in out.samples] == [  # type: ignore[attr-defined]
        (2, 1, "employee_no"),
        (3, 2, "phone"),
        (4, 3, "id_number"),
        (5, 1, "phone"),
        (7, 2, "employee_no"),
    ]
    [shared] = out.unmatched  # type: ignore[attr-defined]
    assert shared.row == 6 and "shared by 2 people" in shared.message


def test_an_id_number_two_people_hold_names_neither_and_says_so() -> None:
    # Two roster rows with one ID number (a clerk's copy-paste): the row is not guessed.
    index = PersonIndex(
        [
            PersonKeys(1, "1001", None, "210502198001011234"),
            PersonKeys(2, "1002", None, "210502198001011234"),
            PersonKeys(3, "1003", None, "21050219800101567X"),
        ]
    )
    out = parse_rows(
        "Sheet1",
        {
            "id_number": ["210502198001011234", "21050219800101567x"],
            "sampled_at": ["2022-05-09 08:30"] * 2,
            "result": ["阴性"] * 2,
        },
        [2, 3],
        index,
        tz=SH,
        now=NOW,
        normalize_phone=lambda raw: normalize_phone(raw, "CN"),
        sites={},
    )
    assert [(s.row, s.person_id, s.matched_by) for s in out.samples] == [(3, 3, "id_number")]
    [shared] = out.unmatched
    assert shared.row == 2 and "ID number matches 2 people" in shared.message


def test_unknown_rows_and_bad_cells_are_reported_with_their_row() -> None:
    out = _parse(
        {
            "employee_no": ["8888", "", "1001", "1001", "1001", "1001"],
            "name": ["陌生人", "没有号码", "", "", "", ""],
            "sampled_at": [
                "2022-05-09 08:30",
                "2022-05-09 08:30",
                "yesterday",
                "2022-05-20 08:00",
                "2022-05-09 09:00",
                "2022-05-09 09:00",
            ],
            "result": ["阴性", "阴性", "阴性", "阴性", "maybe", "阳性"],
        }
    )
    unmatched = {u.row: u for u in out.unmatched}  # type: ignore[attr-defined]
    assert unmatched[2].value == "8888 / 陌生人"
    assert "no person has employee number 8888" in unmatched[2].message
    assert "no employee number, phone or ID number" in unmatched[3].message
    errors = {e.row: e for e in out.errors}  # type: ignore[attr-defined]
    assert errors[4].column == "sampled_at"
    assert "future" in errors[5].message
    assert errors[6].column == "result"
    assert [s.row for s in out.samples] == [7]  # type: ignore[attr-defined]
    assert out.rows == 6  # type: ignore[attr-defined]


def test_duplicate_rows_in_a_file_count_once_and_conflicts_are_errors() -> None:
    """Review: a sample written 阴性 and then 阳性 was recorded negative (the positive row
    only an error), so no alert was raised: the positive is recorded, the other row reported."""
    out = _parse(
        {
            "employee_no": ["1001", "1001", "1001", "1003", "1003"],
            "sampled_at": ["2022-05-09 08:30", "2022/5/9 8:30", "2022-05-09 08:30:00"]
            + ["2022-05-09 09:30"] * 2,
            "result": ["阴性", "negative", "阳性", "无效", "阴性"],
        }
    )
    assert out.duplicates == 1  # type: ignore[attr-defined]
    assert [(s.row, s.result) for s in out.samples] == [(4, "positive"), (5, "invalid")]  # type: ignore[attr-defined]
    first, second = out.errors  # type: ignore[attr-defined]
    assert (first.row, first.value) == (
        2,
        "阴性",
    ) and "result positive in row 4" in first.message
    assert (second.row, second.value) == (6, "阴性") and "result invalid in row 5" in second.message


def test_every_row_reported_names_the_row_finally_recorded() -> None:
    """Review: written pending, then negative, then positive, the pending row's message still
    named the negative row as recorded after the positive one had replaced it; across two
    sheets too (the second sheet's positive replaces the first sheet's negative)."""
    cells = {
        "employee_no": ["1001"] * 3,
        "sampled_at": ["2022-05-09 08:30"] * 3,
        "result": ["待出结果", "阴性", "阳性"],
    }
    out = _parse(cells)
    assert [(s.row, s.result) for s in out.samples] == [(4, "positive")]  # type: ignore[attr-defined]
    assert [(e.row, e.value, e.params) for e in out.errors] == [  # type: ignore[attr-defined]
        (2, "待出结果", {"result": "positive", "other": 4}),
        (3, "阴性", {"result": "positive", "other": 4}),
    ]
    assert all("result positive in row 4" in e.message for e in out.errors)  # type: ignore[attr-defined]
    both = ParsedRows()
    for sheet, rows in (("A", slice(0, 2)), ("B", slice(2, 3))):
        part = {k: v[rows] for k, v in cells.items()}
        n = len(part["result"])
        parse_rows(
            sheet,
            part,
            list(range(2, n + 2)),
            _index(),
            tz=SH,
            now=NOW,
            normalize_phone=lambda raw: normalize_phone(raw, "CN"),
            sites={"s1": "S1"},
            out=both,
        )
    assert [(s.sheet, s.result) for s in both.samples] == [("B", "positive")]
    assert [(e.sheet, e.row, e.params) for e in both.errors] == [
        ("A", 2, {"result": "positive", "other": 2, "other_sheet": "B"}),
        ("A", 3, {"result": "positive", "other": 2, "other_sheet": "B"}),
    ]
    assert "result positive in row 2 of sheet B" in both.errors[0].message


def test_outside_sites_are_kept_by_name() -> None:
    out = _parse(
        {
            "employee_no": ["1001", "1003"],
            "sampled_at": ["2022-05-09 08:30", "2022-05-09 09:30"],
            "result": ["阴性", "阴性"],
            "site": ["s1", "幸福社区核酸采样点"],
        }
    )
    inside, outside = out.samples  # type: ignore[attr-defined]
    assert (inside.source, inside.site_code, inside.site_name) == (LAB, "S1", "")
    assert (outside.source, outside.site_code, outside.site_name) == (
        OUTSIDE,
        None,
        "幸福社区核酸采样点",
    )


def test_the_index_reads_the_databases_plain_rows_and_each_bad_time_row_is_reported() -> None:
    # The import hands the index the driver's own tuples, not PersonKeys (300,000 of them).
    plain = [tuple(p) for p in PEOPLE]
    assert all(type(p) is tuple for p in plain)
    out = parse_rows(
        "Sheet1",
        {
            "employee_no": ["", "", "1001", "1003", "00123", "1001"],
            "phone": ["138 0000 0002", "", "", "", "", ""],
            "id_number": ["", "21050219800101567x", "", "", "", ""],
            "sampled_at": ["2022-05-09 08:30"] * 3 + ["昨天", "昨天", "2022-05-10 08:30"],
            "result": ["阴性"] * 6,
        },
        list(range(2, 8)),
        PersonIndex(plain),  # type: ignore[arg-type]
        tz=SH,
        now=NOW,
        normalize_phone=lambda raw: normalize_phone(raw, "CN"),
        sites={},
    )
    assert [(s.row, s.person_id, s.matched_by) for s in out.samples] == [
        (2, 2, "phone"),
        (3, 3, "id_number"),
        (4, 1, "employee_no"),
        (7, 1, "employee_no"),
    ]
    # The same unreadable text on two rows: both rows are named, each with the message.
    assert [(e.row, e.column, e.value) for e in out.errors] == [
        (5, "sampled_at", "昨天"),
        (6, "sampled_at", "昨天"),
    ]
    assert out.errors[0].message == out.errors[1].message
    assert out.samples[0].sampled_at == datetime(2022, 5, 9, 0, 30, tzinfo=UTC)
