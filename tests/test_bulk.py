"""The one bulk-write path writes what the ORM would: aware datetimes as UTC, JSON, booleans,
constants on every row; a row of the wrong width is refused before anything is written."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, select

from testrota.db import tables
from testrota.db.bulk import (
    DEFER_INDEXES_FROM,
    bulk_insert,
    bulk_update,
    delete_ids,
    indexes_deferred,
)

SHANGHAI = timezone(timedelta(hours=8))
AT = datetime(2022, 5, 9, 9, 30, tzinfo=SHANGHAI)
# What an inbound text's row needs beside its body and provider id.
MESSAGE_FIXED = {"from_number": "+8613800000000", "received_at": AT, "action": "", "reply": ""}
# What a person's row needs beside the columns a test writes.
PERSON_FIXED = {
    "updated_at": AT,
    "department": "",
    "grid_unit": "",
    "role": "",
    "phone_raw": "",
    "phone_valid": True,
    "person_type": "employee",
    "language": "zh",
    "shift": "day",
    "vaccination": "",
    "risk_categories": "",
    "opted_out": False,
}


def test_tuples_and_mappings_with_constants_read_back_as_written(engine: Engine) -> None:
    table = tables.AUDIT_EVENT
    rows = [
        ("1", {"n": 1, "名": "张三"}),
        ("2", {"nested": [1, 2]}),
        ("3", {}),
    ]
    with engine.begin() as conn:
        bulk_insert(
            conn,
            table,
            rows,
            columns=("entity_id", "details"),
            constants={"at": AT, "actor": "cli:test", "action": "plan.week", "entity": "week"},
        )
        bulk_insert(
            conn,
            table,
            [
                {
                    "entity_id": "4",
                    "details": {"k": True},
                    "at": AT + timedelta(hours=1),
                    "actor": "web:hr1",
                    "action": "plan.week",
                    "entity": "week",
                }
            ],
        )
    with engine.connect() as conn:
        got = conn.execute(
            select(table.c.entity_id, table.c.details, table.c.at, table.c.actor).order_by(
                table.c.entity_id
            )
        ).all()
    assert [(r.entity_id, r.details, r.actor) for r in got] == [
        ("1", {"n": 1, "名": "张三"}, "cli:test"),
        ("2", {"nested": [1, 2]}, "cli:test"),
        ("3", {}, "cli:test"),
        ("4", {"k": True}, "web:hr1"),
    ]
    # Stored as UTC and read back aware, whatever the zone it was given in.
    assert got[0].at == AT and got[0].at.utcoffset() == timedelta(0)
    assert got[3].at == datetime(2022, 5, 9, 2, 30, tzinfo=UTC)


def test_a_row_of_the_wrong_width_is_refused_and_nothing_is_written(engine: Engine) -> None:
    table = tables.AUDIT_EVENT
    with pytest.raises(ValueError, match="a row of 1 values for 2 columns"), engine.begin() as conn:
        bulk_insert(
            conn,
            table,
            [("1", {}), ("2",)],
            columns=("entity_id", "details"),
            constants={"at": AT, "actor": "cli:x", "action": "plan.week", "entity": "week"},
        )
    with engine.connect() as conn:
        assert conn.execute(select(table.c.id)).all() == []


def _three_events(conn: Connection) -> list[int]:
    table = tables.AUDIT_EVENT
    bulk_insert(
        conn,
        table,
        [(str(n), {"n": n}) for n in range(3)],
        columns=("entity_id", "details"),
        constants={"at": AT, "actor": "cli:test", "action": "plan.week", "entity": "week"},
    )
    return [row.id for row in conn.execute(select(table.c.id).order_by(table.c.id))]


def test_an_update_of_rows_that_changed_differently_is_written_whole(engine: Engine) -> None:
    table = tables.AUDIT_EVENT
    later = AT + timedelta(days=1)
    with engine.begin() as conn:
        first, second, third = _three_events(conn)
        bulk_update(
            conn,
            table,
            [(first, "a", {"名": "张三"}), (third, "c", {"n": [3]})],
            columns=("entity_id", "details"),
            constants={"at": later},
        )
    with engine.connect() as conn:
        got = conn.execute(
            select(table.c.id, table.c.entity_id, table.c.details, table.c.at).order_by(table.c.id)
        ).all()
    assert [(r.entity_id, r.details) for r in got] == [
        ("a", {"名": "张三"}),
        ("1", {"n": 1}),
        ("c", {"n": [3]}),
    ]
    assert [r.at for r in got] == [later, AT, later]  # only the named rows, stored as UTC
    assert got[0].at.utcoffset() == timedelta(0)
    assert got[1].id == second


def test_an_update_row_of_the_wrong_width_is_refused_and_nothing_is_changed(
    engine: Engine,
) -> None:
    table = tables.AUDIT_EVENT
    with engine.begin() as conn:
        first, second, _ = _three_events(conn)
    with (
        pytest.raises(ValueError, match="a row of 1 values for 2 columns"),
        engine.begin() as conn,
    ):
        bulk_update(conn, table, [(first, "x"), (second,)], columns=("entity_id",))
    with engine.connect() as conn:
        assert [r[0] for r in conn.execute(select(table.c.entity_id))] == ["0", "1", "2"]


def _indexes(conn: Connection) -> list[tuple[str, str]]:
    return sorted(
        conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'person'"
        ).all()
    )


@pytest.mark.parametrize("fails", [False, True], ids=["written", "rolled back"])
def test_a_first_big_write_builds_the_same_indexes_again(engine: Engine, fails: bool) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("indexes are deferred on SQLite only")
    with engine.connect() as conn:
        before = _indexes(conn)
    assert any("UNIQUE" in (sql or "") for _, sql in before)  # the employee number's
    dropped: list[tuple[str, str]] = []
    with (
        contextlib.suppress(RuntimeError),
        engine.begin() as conn,
        indexes_deferred(conn, tables.PERSON, rows_before=0, rows_written=DEFER_INDEXES_FROM),
    ):
        # Only the unique index (and SQLite's own, without SQL) is kept while writing.
        dropped = [i for i in before if i not in _indexes(conn)]
        if fails:
            raise RuntimeError("the write failed")
    assert dropped and all("UNIQUE" not in (sql or "") for _, sql in dropped)
    with engine.connect() as conn:
        assert _indexes(conn) == before


def test_a_small_write_keeps_the_indexes(engine: Engine) -> None:
    with engine.begin() as conn:
        before = _indexes(conn) if engine.dialect.name == "sqlite" else []
        with indexes_deferred(
            conn, tables.PERSON, rows_before=50_000, rows_written=DEFER_INDEXES_FROM
        ):
            if engine.dialect.name == "sqlite":
                assert _indexes(conn) == before


class _RecordingCopy:
    """Stands in for psycopg's Copy: keeps what is written, in order."""

    def __init__(self) -> None:
        self.written: list[object] = []

    def write(self, data: str) -> None:
        self.written.append(data)

    def write_row(self, row: tuple[object, ...]) -> None:
        self.written.append(row)


def test_copy_text_spells_each_value_as_postgres_reads_it_and_hands_json_rows_to_the_driver() -> (
    None
):
    from datetime import date

    from testrota.db.bulk import _copy_text

    at = datetime(2022, 5, 9, 1, 30, tzinfo=UTC)
    rows = [
        (1, "S01", at, True, None, date(2022, 5, 9), 0.5),
        (2, "tab\there\\N", at, False, None, date(2022, 5, 10), 1.0),
        (3, "line\nbreak\r", at, True, {"json": 1}, date(2022, 5, 9), 2.0),
        (4, "S01", at, True, None, date(2022, 5, 9), 0.5),
    ]
    copy = _RecordingCopy()
    _copy_text(copy, rows, 7)
    stamp = "2022-05-09T01:30:00+00:00"
    assert copy.written == [
        f"1\tS01\t{stamp}\tt\t\\N\t2022-05-09\t0.5\n"
        f"2\ttab\\there\\\\N\t{stamp}\tf\t\\N\t2022-05-10\t1.0\n",
        rows[2],  # a dict is no text value: the driver spells that row, in its place
        f"4\tS01\t{stamp}\tt\t\\N\t2022-05-09\t0.5\n",
    ]


def test_awkward_text_dates_and_nulls_read_back_as_written(engine: Engine) -> None:
    people, leave = tables.PERSON, tables.EXEMPTION
    names = ["tab\there", "back\\slash \\N", "line\nbreak\r", "张三", "\\N", ""]
    with engine.begin() as conn:
        bulk_insert(
            conn,
            people,
            [(f"E{i}", name, None, i % 2 == 0, AT) for i, name in enumerate(names)],
            columns=("employee_no", "name", "booster", "active", "created_at"),
            constants=PERSON_FIXED,
        )
        ids = {no: pid for no, pid in conn.execute(select(people.c.employee_no, people.c.id))}
        bulk_insert(
            conn,
            leave,
            [(ids["E0"], AT.date(), AT.date() + timedelta(days=2), "leave\t请假")],
            columns=("person_id", "start_date", "end_date", "reason"),
            constants={"created_by": "", "created_at": AT},
        )
    with engine.connect() as conn:
        got = conn.execute(
            select(people.c.name, people.c.booster, people.c.active, people.c.created_at).order_by(
                people.c.id
            )
        ).all()
        gone = conn.execute(select(leave.c.start_date, leave.c.end_date, leave.c.reason)).one()
    assert [r.name for r in got] == names
    assert [r.booster for r in got] == [None] * len(names)
    assert [r.active for r in got] == [i % 2 == 0 for i in range(len(names))]
    assert {r.created_at for r in got} == {AT}
    assert tuple(gone) == (AT.date(), AT.date() + timedelta(days=2), "leave\t请假")


@pytest.mark.parametrize("special", ["\\", "\t", "\n", "\r"])
def test_each_special_character_alone_is_escaped_in_text_and_nullable_columns(
    engine: Engine, special: str
) -> None:
    # A column is looked at once for COPY's special characters: each of the four on its own,
    # in a column of texts and in one with NULLs, must be found.
    table = tables.INBOUND_MESSAGE
    rows = [(f"a{special}b", None), ("plain", f"c{special}"), ("x", None)]
    with engine.begin() as conn:
        bulk_insert(
            conn,
            table,
            rows,
            columns=("body", "provider_sid"),
            constants=MESSAGE_FIXED,
        )
    with engine.connect() as conn:
        got = conn.execute(select(table.c.body, table.c.provider_sid).order_by(table.c.id)).all()
    assert [tuple(r) for r in got] == rows


def test_rows_in_groups_read_back_as_the_same_rows_written_one_by_one(engine: Engine) -> None:
    """A slot's appointments share all but their person and grid unit: written as groups (the
    shared part spelled once on PostgreSQL), they read back exactly as bulk_insert's rows."""
    from testrota.db.bulk import bulk_insert_groups

    table = tables.APPOINTMENT
    own = ("person_id", "grid_unit")
    shared = ("slot_id", "site_code", "week", "starts_at", "ends_at", "status", "reason")
    stamps = {"created_at": AT, "updated_at": AT}
    groups = [
        ((None, "S1", "2022-W19", AT, AT + timedelta(minutes=10), "scheduled", "plan"), rows)
        for rows in ([(1, "G\t1"), (2, "网格 \\N"), (3, "")], [], [(4, "G\n2")])
    ] + [((None, "S2", "2022-W19", AT.astimezone(UTC), AT, "done", "midweek"), [(5, "G1")])]
    columns = (*own, *shared, *stamps)
    with engine.begin() as conn:
        written = bulk_insert_groups(
            conn,
            table,
            [((*values, AT, AT), rows) for values, rows in groups],
            own=own,
            shared=(*shared, *stamps),
        )
    expected = [(*row, *values, AT, AT) for values, rows in groups for row in rows]
    with engine.connect() as conn:
        got = [tuple(r) for r in conn.execute(select(*(table.c[c] for c in columns)))]
    assert written == 5
    assert sorted(got, key=lambda r: r[0]) == expected


def test_columns_read_back_as_the_same_rows_written_row_by_row(engine: Engine) -> None:
    """An import's staged samples go column by column (each column spelled in one pass on
    PostgreSQL): awkward text, NULLs, aware times in two zones and ids read back as the rows
    bulk_insert writes."""
    from testrota.compliance.staging import STAGED, _drop
    from testrota.db.bulk import bulk_insert_columns

    columns = {
        "idx": [0, 1, 2, 3],
        "person_id": [10, 11, 10, 12],
        "sampled_at": [AT, AT.astimezone(UTC), AT + timedelta(minutes=5), AT],
        "result": ["negative", "positive", "negative", "pending"],
        "source": ["lab", "lab", "outside", "lab"],
        "site_code": ["S1", None, None, "S\\N"],
        "site_name": ["", "", "社区\t采样点\n2", "tab\there"],
        "day": [738284, 738284, 738284, 738285],
    }
    with engine.begin() as conn:
        _drop(conn)
        STAGED.create(conn)
        bulk_insert_columns(conn, STAGED, columns)
        got = [tuple(r) for r in conn.execute(select(STAGED).order_by(STAGED.c.idx))]
        _drop(conn)
    assert got == list(zip(*columns.values(), strict=True))


@pytest.mark.parametrize("n", [3, 45_000])
def test_a_column_of_repeated_times_is_spelled_once_a_time_and_reads_back(
    engine: Engine, n: int
) -> None:
    """A converted column (aware times) is converted and spelled each distinct value once, a
    NULL kept NULL; a column of one time joins the constants; a column the conversion makes
    text (JSON) still goes through the escaping once."""
    from sqlalchemy import JSON, Column, Integer, MetaData, Table

    from testrota.db.bulk import bulk_insert_columns
    from testrota.db.types import UTCDateTime

    table = Table(
        "bulk_times",
        MetaData(),
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("at", UTCDateTime, nullable=True),
        Column("same", UTCDateTime, nullable=True),
        Column("details", JSON, nullable=True),
    )
    zones = [SHANGHAI, UTC, timezone(timedelta(hours=-5))]
    times = [
        None if i % 7 == 3 else (AT + timedelta(minutes=i % 11)).astimezone(zones[i % 3])
        for i in range(n)
    ]
    columns = {
        "id": list(range(n)),
        "at": times,
        "same": [AT] * n,
        "details": [{"tab": "a\tb", "i": i % 2} for i in range(n)],
    }
    with engine.begin() as conn:
        table.create(conn)
        try:
            bulk_insert_columns(conn, table, columns)
            got = [tuple(r) for r in conn.execute(select(table).order_by(table.c.id))]
        finally:
            table.drop(conn)
    assert got == list(zip(*columns.values(), strict=True))


def test_columns_with_constants_give_every_row_the_constants(engine: Engine) -> None:
    # A roster's new people go column by column, the import's time and flags on every row.
    from testrota.db.bulk import bulk_insert_columns

    table = tables.INBOUND_MESSAGE
    columns = {"body": ["a\tb", "退订", "c"], "provider_sid": [None, "SM1", "x\\N"]}
    with engine.begin() as conn:
        bulk_insert_columns(
            conn,
            table,
            columns,
            constants=MESSAGE_FIXED,
        )
    with engine.connect() as conn:
        got = conn.execute(
            select(
                table.c.body, table.c.provider_sid, table.c.from_number, table.c.received_at
            ).order_by(table.c.id)
        ).all()
    assert [tuple(r) for r in got] == [
        (body, sid, "+8613800000000", AT)
        for body, sid in zip(columns["body"], columns["provider_sid"], strict=True)
    ]


@pytest.mark.parametrize("n", [1, 2, 45_000])
def test_columns_of_one_value_read_back_as_written(engine: Engine, n: int) -> None:
    # A column of one value (None, a text, False) goes at every line's end; the first column
    # stays a column even when it too is one value, so a single row still makes a line.
    from testrota.db.bulk import bulk_insert_columns

    people = tables.PERSON
    columns: dict[str, list[Any]] = {
        "department": ["炼钢厂"] * n,
        "employee_no": [f"E{i}" for i in range(n)],
        "name": ["张\t三"] * n,
        "booster": [None] * n,
        "on_site": [False] * n,
        "phone_valid": [i % 2 == 0 for i in range(n)],
        "key_post": [0] * n,
    }
    fixed = {**PERSON_FIXED, "created_at": AT, "active": True}
    constants = {name: value for name, value in fixed.items() if name not in columns}
    with engine.begin() as conn:
        bulk_insert_columns(conn, people, columns, constants=constants)
    with engine.connect() as conn:
        got = conn.execute(select(*(people.c[name] for name in columns)).order_by(people.c.id))
        rows = [tuple(r) for r in got]
    assert rows == list(zip(*columns.values(), strict=True))


def test_columns_of_different_lengths_or_unspelled_values_are_refused(engine: Engine) -> None:
    from testrota.compliance.staging import STAGED, _drop
    from testrota.db.bulk import bulk_insert_columns

    with engine.begin() as conn:
        _drop(conn)
        STAGED.create(conn)
        with pytest.raises(ValueError, match="different lengths"):
            bulk_insert_columns(conn, STAGED, {"idx": [1, 2], "person_id": [1]})
        naive = {"idx": [1], "person_id": [1], "sampled_at": [AT.replace(tzinfo=None)]}
        with pytest.raises(ValueError, match="naive datetime"):
            bulk_insert_columns(conn, STAGED, naive)
        assert conn.execute(select(STAGED)).all() == []
        _drop(conn)
    if engine.dialect.name == "postgresql":
        # Found while the COPY streams: the transaction is the caller's to roll back.
        with pytest.raises(ValueError, match="cannot spell"), engine.begin() as conn:
            STAGED.create(conn)
            bulk_insert_columns(conn, STAGED, {"idx": [1], "site_name": [b"bytes"]})


def test_a_column_is_spelled_as_the_row_by_row_path_spells_each_value() -> None:
    from datetime import date

    from testrota.db.bulk import _spelled, _spelled_column

    at = datetime(2022, 5, 9, 1, 30, tzinfo=UTC)
    names = ["张三", "李四", "王五"]
    columns: list[list[object]] = [
        [1, 22, 333],
        names,
        ["张三", None, "tab\there"],
        ["a\\b", "line\nbreak\r", ""],
        [at, at, None],
        [date(2022, 5, 9), date(2022, 5, 10), date(2022, 5, 9)],
        [True, 1, 1.0],  # equal as keys, not as text
        [0.5, None, 2.0],
    ]
    for column in columns:
        assert list(_spelled_column(column, {})) == [_spelled(v) for v in column]
    assert _spelled_column(names, {}) is names  # text needing no escape goes as it is
    with pytest.raises(TypeError):
        _spelled_column([{"json": 1}], {})


def test_a_chunk_holding_a_value_only_the_driver_spells_still_reads_back(engine: Engine) -> None:
    table = tables.SMS_BUDGET  # an infinite float: COPY's text is the driver's to spell
    rows = [("a", float("inf"), 1.5), ("b", 2.0, 0.25)]
    with engine.begin() as conn:
        bulk_insert(conn, table, rows, columns=("name", "tokens", "refilled_at"))
    with engine.connect() as conn:
        got = sorted(tuple(r) for r in conn.execute(select(table)))
    assert got == rows


def test_constants_end_every_line_also_when_only_the_driver_spells_them(engine: Engine) -> None:
    # A constant is spelled once into every line's end; one COPY cannot spell (an infinite
    # float) sends every chunk row by row with the constant still on each row.
    table = tables.SMS_BUDGET
    with engine.begin() as conn:
        bulk_insert(
            conn,
            table,
            [("a", 1.0), ("b", 2.5)],
            columns=("name", "tokens"),
            constants={"refilled_at": float("inf")},
        )
        bulk_insert(
            conn,
            table,
            [("c", float("inf")), ("d", 0.5)],
            columns=("name", "tokens"),
            constants={"refilled_at": 7.25},
        )
        bulk_update(
            conn,
            table,
            [("a", 3.0)],
            columns=("tokens",),
            key="name",
            constants={"refilled_at": 1.5},
        )
    with engine.connect() as conn:
        got = sorted(tuple(r) for r in conn.execute(select(table)))
    assert got == [
        ("a", 3.0, 1.5),
        ("b", 2.5, float("inf")),
        ("c", float("inf"), 7.25),
        ("d", 0.5, 7.25),
    ]


@pytest.mark.parametrize(
    "chosen",
    [
        set(range(1, 31)),  # one run: everything
        set(range(3, 20)) | {22, 25, 26, 28},  # a run, odd ids, a pair
        {1, 30},  # the ends only
        set(range(2, 30, 2)),  # no run at all
        set(),
    ],
)
def test_delete_ids_deletes_exactly_the_ids_given(engine: Engine, chosen: set[int]) -> None:
    table = tables.ROLLUP_DIRTY
    with engine.begin() as conn:
        conn.execute(table.insert(), [{"id": i, "person_id": i} for i in range(1, 31)])
        # an id handed in that is not stored deletes nothing else
        delete_ids(conn, table, [*sorted(chosen), 99] if chosen else [])
    with engine.connect() as conn:
        left = {i for (i,) in conn.execute(select(table.c.id))}
    assert left == set(range(1, 31)) - chosen


def test_a_select_read_raw_gives_the_rows_sqlalchemy_gives_as_plain_tuples(engine: Engine) -> None:
    from sqlalchemy import literal_column

    from testrota.db.bulk import fetch_raw_select

    table = tables.AUDIT_EVENT
    with engine.begin() as conn:
        bulk_insert(
            conn,
            table,
            [(str(i), {}) for i in range(3)],
            columns=("entity_id", "details"),
            constants={"at": AT, "actor": "cli:test", "action": "plan.week", "entity": "week"},
        )
        query = select(table.c.id, table.c.entity_id, literal_column("'50%'")).order_by(table.c.id)
        raw = fetch_raw_select(conn, query)
        assert all(type(r) is tuple for r in raw)
        assert raw == [tuple(r) for r in conn.execute(query)]
        assert [r[2] for r in raw] == ["50%"] * 3  # the driver reads SQLAlchemy's %% as one
        with pytest.raises(ValueError, match="without parameters"):
            fetch_raw_select(conn, select(table.c.id).where(table.c.entity_id == "1"))


def test_json_goes_by_columns_and_stores_the_text_the_driver_stores(engine: Engine) -> None:
    """On PostgreSQL a JSON column is spelled as text by the bulk path (a dict per row sent
    its whole chunk row by row through the driver): the stored text is the driver's, byte for
    byte, awkward strings and Python None (JSON null) included."""
    from sqlalchemy import insert, text

    from testrota.db.bulk import _converters, _spelled_column

    table = tables.AUDIT_EVENT
    details = [
        {"网格": "炼钢一班", "n": 3},
        {"tab": "a\tb", "newline": "c\nd", "backslash": "e\\f", "quote": 'g"h', "nul": "\\N"},
        {"nested": {"list": [1, 2.5, None, True]}},
        None,
        {},
    ]

    def row(i: int, value: object) -> dict[str, object]:
        return {
            "at": AT,
            "actor": "test",
            "action": "test.json",
            "entity": "test",
            "entity_id": str(i),
            "details": value,
        }

    with engine.begin() as conn:
        bulk_insert(conn, table, [row(i, d) for i, d in enumerate(details)])
        conn.execute(insert(table), [row(100 + i, d) for i, d in enumerate(details)])
        if conn.dialect.name == "postgresql":
            (convert,) = _converters(conn, table, ["details"])
            spelled = _spelled_column([convert(d) for d in details], {})
            assert all(isinstance(s, str) for s in spelled)  # no row falls back to the driver
    with engine.connect() as conn:
        stored = dict(
            conn.execute(
                text(
                    "SELECT entity_id, CAST(details AS TEXT) FROM auditevent "
                    "WHERE action = 'test.json'"
                )
            ).all()
        )
        read = dict(conn.execute(select(table.c.entity_id, table.c.details)).all())
    for i, value in enumerate(details):
        assert stored[str(i)] == stored[str(100 + i)], value
        assert read[str(i)] == value


@given(st.text(alphabet=st.sampled_from(["\\", "\t", "\n", "\r", "N", "a", "网", "\x00"])))
def test_text_is_escaped_for_copy_as_the_format_asks(value: str) -> None:
    """COPY's text format: a backslash, tab, newline and carriage return escaped, each once,
    whatever runs of them a value holds (``\\\\N`` stays a value, not NULL)."""
    from testrota.db.bulk import _escaped

    table = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}
    assert _escaped(value) == "".join(table.get(c, c) for c in value)


def test_rows_among_values_are_those_whose_key_is_one_of_them(engine: Engine) -> None:
    """More values than one SQLite statement binds, values nobody has, a value shared by two
    rows, and a value with SQL's and the driver's special characters."""
    from testrota.db.bulk import SQLITE_VARIABLES, fetch_raw_among

    n = SQLITE_VARIABLES * 2 + 7
    phones = [f"+86138{i:08d}" for i in range(n)] + ["+86138%s'_", "+86138%s'_"]
    with engine.begin() as conn:
        bulk_insert(
            conn,
            tables.PERSON,
            [(f"E{i}", f"P{i}", phone) for i, phone in enumerate(phones)],
            columns=("employee_no", "name", "phone"),
            constants={**PERSON_FIXED, "created_at": AT, "active": True},
        )
        wanted = {*phones[::2], "+86138%s'_", "+8613999999999"}
        rows = fetch_raw_among(conn, tables.PERSON, ("phone", "employee_no"), "phone", wanted)
        assert all(type(r) is tuple for r in rows)
        assert sorted(rows) == sorted(
            (phone, f"E{i}") for i, phone in enumerate(phones) if phone in wanted
        )
        assert fetch_raw_among(conn, tables.PERSON, ("phone",), "phone", set()) == []


def test_rows_of_constants_alone_are_each_written(engine: Engine) -> None:
    table = tables.AUDIT_EVENT
    fixed = {"at": AT, "actor": "cli:test", "action": "plan.week", "entity": "week"}
    with engine.begin() as conn:
        bulk_insert(conn, table, [(), (), ()], columns=(), constants={**fixed, "entity_id": "1"})
    with engine.connect() as conn:
        got = conn.execute(select(table.c.entity_id, table.c.actor)).all()
    assert [tuple(r) for r in got] == [("1", "cli:test")] * 3
