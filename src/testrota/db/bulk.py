"""The one bulk-write path: ``COPY`` on PostgreSQL, the driver's ``executemany`` elsewhere.

SQLAlchemy converts every parameter of every row through its type's bind processor; for the
100,000 rows of a roster or the 200,000 appointments of a week that costs more than the
database's own insert. Here each column's processor (public API: ``TypeEngine.dialect_impl``
and ``bind_processor``) is looked up once and applied once per distinct value — a week's
appointments share a few thousand slot times — and the rows go to the driver as they are.
On PostgreSQL the rows go to ``COPY`` in chunks of columns, each column spelled in one pass
(:func:`_copy_to`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from itertools import islice
from typing import Any, cast

from sqlalchemy import JSON, Boolean, Connection, Select, Table

from testrota.db.writes import note_write

CHUNK = 20_000  # rows per executemany: bounded memory for the driver's parameter list
DEFER_INDEXES_FROM = 10_000  # rows added below which a table keeps its indexes while written

Row = Sequence[Any] | Mapping[str, Any]


def bulk_insert(
    conn: Connection,
    table: Table,
    rows: Sequence[Row],
    *,
    columns: Sequence[str] | None = None,
    constants: Mapping[str, Any] | None = None,
) -> None:
    """Insert ``rows`` into ``table``.

    Rows are tuples in the order of ``columns``, or mappings (then ``columns`` defaults to the
    first row's keys); every row is also given ``constants`` (the ``created_at`` and actor of
    an import). Raises on the first row the database refuses, leaving the caller's transaction
    to roll back.
    """
    if not rows:
        return
    first = rows[0]
    if columns is None:
        if not isinstance(first, Mapping):
            raise ValueError("bulk_insert needs columns for rows that are not mappings")
        columns = list(first)
    fixed = dict(constants or {})
    names = [*columns, *fixed]
    convert = _converters(conn, table, names)
    tail = tuple(convert[len(columns) + i](v) for i, v in enumerate(fixed.values()))
    head = convert[: len(columns)]
    # Only the columns whose type converts a value (dates, JSON, ...) are touched per row; the
    # rest, most of a roster's texts, go to the driver as they are.
    touched = [(i, f) for i, f in enumerate(head) if f is not _identity]
    width = len(columns)
    if _copies(conn) and width:  # rows of constants alone make no COPY line of their own
        column_chunks = (
            _columns_of(part, columns, width, touched) for part in chunks(rows, COPY_ROWS)
        )
        _copy_to(conn, table.name, names, column_chunks, tail=tail)
        return

    def converted() -> Iterator[tuple[Any, ...]]:
        # A generator: the driver takes the rows a chunk at a time, so the converted copies
        # (a roster's 300,000 audit details as JSON text) never all exist at once.
        for row in rows:
            cells = [row[c] for c in columns] if isinstance(row, Mapping) else list(row)
            if len(cells) != width:
                raise ValueError(f"a row of {len(cells)} values for {width} columns")
            for i, f in touched:
                cells[i] = f(cells[i])
            yield (*cells, *tail)

    _executemany(conn, table, names, converted())


def bulk_insert_columns(
    conn: Connection,
    table: Table,
    columns: Mapping[str, Sequence[Any]],
    *,
    constants: Mapping[str, Any] | None = None,
) -> None:
    """Insert rows given column by column: ``columns`` maps each column's name to its values,
    all of one length; every row is also given ``constants``.

    An import's staged samples are 300,000 rows of eight values. On PostgreSQL each column is
    spelled for ``COPY`` in a pass of its own, every distinct value once (the ids through
    ``str`` in one call), and a row costs a single join: a third of spelling row by row. The
    values must be ones COPY's text format spells (no JSON, no naive times): a ValueError
    otherwise. A column holding one value all the way down (a roster without ID numbers, WeCom
    accounts or units: twelve of a new person's 26 values) joins the constants at every
    line's end. Elsewhere the rows go through :func:`bulk_insert`.
    """
    names = list(columns)
    values = list(columns.values())
    n = len(values[0]) if values else 0
    if any(len(v) != n for v in values):
        raise ValueError(f"columns of different lengths for {names}")
    if not n:
        return
    fixed = dict(constants or {})
    if not _copies(conn):
        rows = list(zip(*values, strict=True))
        bulk_insert(conn, table, rows, columns=names, constants=fixed)
        return
    convert = _converters(conn, table, [*names, *fixed])
    converted: list[Sequence[Any]] = []
    spelled: list[bool] = []  # the column is COPY's text already
    for f, v in zip(convert, values, strict=False):
        text = None if f is _identity else _spelled_through(f, v)
        converted.append(v if f is _identity else text if text is not None else list(map(f, v)))
        spelled.append(text is not None)
    tail = [f(v) for f, v in zip(convert[len(names) :], fixed.values(), strict=True)]
    # The first column always varies, so that every row still makes a line.
    same = [
        i
        for i, v in enumerate(converted)
        if i and _one_value(v, boolean=isinstance(table.c[names[i]].type, Boolean))
    ]
    if same:
        names = [
            *(name for i, name in enumerate(names) if i not in same),
            *(names[i] for i in same),
        ]
        tail = [*(converted[i][0] for i in same), *tail]
        converted = [v for i, v in enumerate(converted) if i not in same]
        spelled = [v for i, v in enumerate(spelled) if i not in same]
    parts = ([v[at : at + COPY_ROWS] for v in converted] for at in range(0, n, COPY_ROWS))
    as_is = frozenset(i for i, done in enumerate(spelled) if done)
    _copy_to(conn, table.name, [*names, *fixed], parts, tail=tail, strict=True, as_is=as_is)


def _spelled_through(convert: Callable[[Any], Any], column: Sequence[Any]) -> list[Any] | None:
    """``column`` converted and spelled for COPY, each distinct value once (a results sheet's
    300,000 sampling times are a few thousand): None when a value is unhashable, or converts to
    text (which :func:`_spelled_column` escapes, and must not twice) or to what only the driver
    spells. A NULL stays None, for the column's spelling to make it ``\\N``."""
    try:
        distinct = set(column)
    except TypeError:
        return None
    text: dict[Any, str | None] = {}
    try:
        for value in distinct:
            got = convert(value)
            if isinstance(got, str):
                return None
            text[value] = None if got is None else _spelled(got)
    except _Unspelled:
        return None
    return list(map(text.__getitem__, column))


def _one_value(column: Sequence[Any], *, boolean: bool) -> bool:
    """Whether every value of ``column`` is spelled as its first is: one pass in C, the same
    object counting at once. None, a text, or a truth value in a boolean column (elsewhere
    1, 1.0 and True are equal but spelled apart)."""
    first = column[0]
    if first is None or type(first) is str or (boolean and type(first) is bool):
        return column.count(first) == len(column)
    return False


def _copies(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg"


def _columns_of(
    rows: Sequence[Row],
    columns: Sequence[str],
    width: int,
    touched: Sequence[tuple[int, Callable[[Any], Any]]],
) -> list[Sequence[Any]]:
    """Rows as columns, each converted by its type."""
    if isinstance(rows[0], Mapping):
        mappings: Sequence[Mapping[str, Any]] = rows  # type: ignore[assignment]
        out: list[Sequence[Any]] = [[row[c] for row in mappings] for c in columns]
    else:
        widths = set(map(len, rows))
        if widths != {width}:
            bad = next(w for w in widths if w != width)
            raise ValueError(f"a row of {bad} values for {width} columns")
        out = list(zip(*rows, strict=True))
    for i, f in touched:
        out[i] = list(map(f, out[i]))
    return out


def _copy_to(
    conn: Connection,
    table: str,
    names: Sequence[str],
    parts: Iterable[list[Sequence[Any]]],
    *,
    tail: Sequence[Any] = (),
    strict: bool = False,
    as_is: Collection[int] = (),
) -> None:
    """``COPY`` into the table named ``table`` rows that come as chunks of columns, each
    column spelled in a pass of its own, and end with the values of ``tail`` (the last names).
    The columns at ``as_is`` are spelled already (None for NULL).

    A roster's 300,000 people are 6 million values. Spelled row by row, each value cost a
    cache look-up and a call (4 s of a 12 s import); here a column of names that needs no
    escaping goes as it is, a column of ids through one ``map(str)``, and the others spell
    each distinct value once. The values every row shares (an import's time, its flags) are
    spelled once into the end of every line: the join that makes the lines puts them there. A
    chunk holding a value only the driver spells (a float that is not finite, bytes) goes row by
    row through :func:`_copy_text`, unless ``strict``: then it is a ValueError.
    """
    quoted = ", ".join(f'"{n}"' for n in names)
    caches: list[dict[Any, str]] = [{} for _ in range(len(names) - len(tail))]
    try:
        end: str | None = "".join(["\t" + _spelled(value) for value in tail]) + "\n"
    except _Unspelled:
        end = None
    raw = _driver(conn)
    with raw.cursor() as cur, cur.copy(f'COPY "{table}" ({quoted}) FROM STDIN') as copy:
        for columns in parts:
            try:
                if end is None:
                    raise _Unspelled
                spelled = [
                    _nulls_spelled(c) if i in as_is else _spelled_column(c, cache)
                    for i, (c, cache) in enumerate(zip(columns, caches, strict=True))
                ]
            except (_Unspelled, TypeError) as exc:  # TypeError: unhashable
                if strict:
                    raise ValueError(f"cannot spell a value of {list(names)} for COPY") from exc
                n = len(columns[0])
                rows = zip(*columns, *([value] * n for value in tail), strict=True)
                _copy_text(copy, rows, len(names))
                continue
            copy.write(end.join(map("\t".join, zip(*spelled, strict=True))) + end)


_NUMBERS = frozenset({int, float, bool})  # equal across types (1 == 1.0 == True)


def _nulls_spelled(column: Sequence[str | None]) -> Sequence[str]:
    if None in column:
        return [_NULL if v is None else v for v in column]
    return cast(Sequence[str], column)


def _spelled_column(column: Sequence[Any], cache: dict[Any, str]) -> Sequence[str]:
    """``column``'s values in COPY's text format."""
    try:
        # Most columns are text: joined in one call, which fails at once on anything else.
        joined = "".join(column)
    except TypeError:
        kinds = set(map(type, column))
    else:
        if _needs_escaping(joined):
            return list(map(_escaped, column))
        return column
    if kinds == {int}:
        return list(map(str, column))
    if kinds <= {str, type(None)}:
        if _needs_escaping("".join(filter(None, column))):
            return [_NULL if v is None else _escaped(v) for v in column]
        return [_NULL if v is None else v for v in column]
    if len(kinds & _NUMBERS) > 1:  # a cache keyed by value would take 1 for True
        return [_spelled(v) for v in column]
    for value in set(column).difference(cache):
        cache[value] = _spelled(value)
    return list(map(cache.__getitem__, column))


COPY_ROWS = 20_000  # rows per chunk of columns: bounded memory (a roster's audit details)


Group = tuple[Sequence[Any], Iterable[Sequence[Any]]]


def bulk_insert_groups(
    conn: Connection,
    table: Table,
    groups: Iterable[Group],
    *,
    own: Sequence[str],
    shared: Sequence[str],
) -> int:
    """Insert rows that come in groups sharing most of their values: each group is ``(values of
    the shared columns, rows of the own columns)``. Returns the rows written.

    A week's 600,000 appointments are 37,800 slots' worth of the same slot, site, week, times,
    status and reason with a person and grid unit each: on PostgreSQL each group's shared part
    of the ``COPY`` line is spelled once and every row adds only its own few values, so the
    client spends its time on what differs. ``groups`` is consumed as the ``COPY`` streams, so
    the server stores rows while later groups are still being formed. Elsewhere the rows are
    expanded and go through :func:`bulk_insert`.
    """
    if not _copies(conn):
        rows = [(*row, *values) for values, part in groups for row in part]
        bulk_insert(conn, table, rows, columns=[*own, *shared])
        return len(rows)
    names = [*own, *shared]
    convert = _converters(conn, table, names)
    width = len(own)
    own_convert, shared_convert = convert[:width], convert[width:]
    caches: list[dict[Any, str]] = [{} for _ in own]
    quoted = ", ".join(f'"{n}"' for n in names)
    written = 0
    raw = _driver(conn)
    with raw.cursor() as cur, cur.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
        lines: list[str] = []
        for values, part in groups:
            converted = [f(v) for f, v in zip(shared_convert, values, strict=True)]
            try:
                tail = "\t" + "\t".join(_spelled(v) for v in converted) + "\n"
                for row in part:
                    texts = []
                    for cache, f, value in zip(caches, own_convert, row, strict=True):
                        text = cache.get(value)
                        if text is None:
                            text = cache[value] = _spelled(f(value))
                        texts.append(text)
                    lines.append("\t".join(texts) + tail)
                    written += 1
            except (_Unspelled, TypeError) as exc:  # a value only the driver spells
                raise ValueError(f"bulk_insert_groups cannot spell a value of {names}") from exc
            if len(lines) >= COPY_LINES:
                copy.write("".join(lines))
                lines = []
        if lines:
            copy.write("".join(lines))
    return written


def bulk_update(
    conn: Connection,
    table: Table,
    rows: Sequence[Sequence[Any]],
    *,
    columns: Sequence[str],
    key: str = "id",
    constants: Mapping[str, Any] | None = None,
) -> None:
    """Set ``columns`` (and ``constants``) of the rows whose ``key`` is each row's first value.

    Every row sets the same columns, so the whole batch is one statement: through a temporary
    table filled by ``COPY`` on PostgreSQL, an ``executemany`` elsewhere. (SQLAlchemy's ORM bulk
    update groups rows by the set of keys each names; a roster in which every person changed
    something different becomes a statement per person, forty times slower.)
    """
    if not rows:
        return
    fixed = dict(constants or {})
    names = [key, *columns, *fixed]
    convert = _converters(conn, table, names)
    tail = tuple(convert[len(columns) + 1 + i](v) for i, v in enumerate(fixed.values()))
    width = len(columns) + 1
    touched = [(i, f) for i, f in enumerate(convert[:width]) if f is not _identity]

    def converted() -> Iterator[tuple[Any, ...]]:
        for row in rows:
            if len(row) != width:
                raise ValueError(f"a row of {len(row)} values for {width} columns")
            if touched:
                cells = list(row)
                for i, f in touched:
                    cells[i] = f(cells[i])
                yield (*cells, *tail)
            else:
                yield (*row, *tail)

    quoted_key = f'"{key}"'
    if _copies(conn):
        staging = f"_bulk_{table.name}"
        quoted = ", ".join(f'"{n}"' for n in names)
        conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{staging}"')
        conn.exec_driver_sql(
            f'CREATE TEMP TABLE "{staging}" ON COMMIT DROP AS '
            f'SELECT {quoted} FROM "{table.name}" WITH NO DATA'
        )
        column_chunks = (
            _columns_of(part, names[:width], width, touched) for part in chunks(rows, COPY_ROWS)
        )
        _copy_to(conn, staging, names, column_chunks, tail=tail)
        sets = ", ".join(f'"{n}" = s."{n}"' for n in names[1:])
        conn.exec_driver_sql(
            f'UPDATE "{table.name}" AS t SET {sets} FROM "{staging}" AS s '
            f"WHERE t.{quoted_key} = s.{quoted_key}"
        )
        conn.exec_driver_sql(f'DROP TABLE "{staging}"')
        return
    values = converted()
    mark = {"qmark": "?", "format": "%s", "pyformat": "%s"}.get(conn.dialect.paramstyle)
    if mark is None:  # pragma: no cover - no supported driver uses named parameters
        raise NotImplementedError(conn.dialect.paramstyle)
    sets = ", ".join(f'"{n}" = {mark}' for n in names[1:])
    sql = f'UPDATE "{table.name}" SET {sets} WHERE {quoted_key} = {mark}'
    # The key goes last, as the statement's WHERE takes it.
    while part := [(*v[1:], v[0]) for v in islice(values, CHUNK)]:
        conn.exec_driver_sql(sql, part)


def _driver(conn: Connection) -> Any:
    """The driver's own connection, for ``COPY``; the write is noted on ``conn`` first, since
    it passes by SQLAlchemy's events (:mod:`testrota.db.writes`)."""
    note_write(conn)
    raw = conn.connection.driver_connection
    assert raw is not None
    return raw


def _converters(conn: Connection, table: Table, names: Sequence[str]) -> list[Callable[[Any], Any]]:
    dialect = conn.dialect
    copies = _copies(conn)
    out: list[Callable[[Any], Any]] = []
    for name in names:
        kind = table.c[name].type
        proc = kind.dialect_impl(dialect).bind_processor(dialect)
        if proc is None:
            out.append(_identity)
        elif copies and isinstance(kind, JSON):
            # COPY: the JSON text itself, as psycopg's Json would dump it, so the chunk goes by
            # columns: a dict per row (a plan's 27,000 unit-days, an import's audit details)
            # sent the whole chunk through the driver row by row
            out.append(_json_text(kind, getattr(dialect, "_json_serializer", None) or json.dumps))
        elif isinstance(kind, JSON):
            # a dict per row (300,000 audit details) never repeats: no cache to miss each time
            out.append(proc)
        else:
            out.append(_cached(proc))
    return out


def _identity(value: Any) -> Any:
    return value


def _json_text(kind: JSON, dumps: Callable[[Any], str]) -> Callable[[Any], str | None]:
    """A JSON column's value as the text ``COPY`` stores. Python None is JSON ``null``, as
    SQLAlchemy binds it, unless the column says ``none_as_null``."""
    if not kind.none_as_null:
        return dumps

    def text(value: Any) -> str | None:
        return None if value is None else dumps(value)

    return text


def _cached(proc: Callable[[Any], Any]) -> Callable[[Any], Any]:
    cache: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        try:
            return cache[value]
        except KeyError:
            got = cache[value] = proc(value)
            return got
        except TypeError:  # unhashable (a JSON column's dict): converted every time
            return proc(value)

    return convert


def _executemany(
    conn: Connection, table: Table, names: Sequence[str], values: Iterator[tuple[Any, ...]]
) -> None:
    """``values`` through the driver's ``executemany``, a chunk at a time (not PostgreSQL,
    which takes :func:`_copy_to`)."""
    quoted = ", ".join(f'"{n}"' for n in names)
    dialect = conn.dialect
    mark = {"qmark": "?", "format": "%s", "pyformat": "%s"}.get(dialect.paramstyle)
    if mark is None:  # pragma: no cover - no supported driver uses named parameters
        raise NotImplementedError(dialect.paramstyle)
    sql = f'INSERT INTO "{table.name}" ({quoted}) VALUES ({", ".join([mark] * len(names))})'
    while part := list(islice(values, CHUNK)):
        conn.exec_driver_sql(sql, part)


@contextmanager
def indexes_deferred(
    conn: Connection, table: Table, *, rows_before: int, rows_written: int
) -> Iterator[None]:
    """Drop ``table``'s plain (not unique) indexes for the block and build them again after
    it, on SQLite, when the block writes (adds or updates) at least as many rows as the table
    had: a group's first roster, or one in which everybody changed. Sorting once is cheaper
    than a B-tree update per row and index. Inside the
    caller's transaction, so other connections keep the old snapshot with its indexes, and a
    failure rolls the drop back with everything else. PostgreSQL is left alone: dropping an
    index there locks the table against every reader until commit.
    """
    if conn.dialect.name != "sqlite" or rows_written < max(rows_before, DEFER_INDEXES_FROM):
        yield
        return
    found = conn.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
        "AND sql IS NOT NULL",
        (table.name,),
    ).fetchall()
    plain = [(name, sql) for name, sql in found if "UNIQUE" not in sql.upper().split("INDEX")[0]]
    for name, _ in plain:
        conn.exec_driver_sql(f'DROP INDEX "{name}"')
    yield
    for _, sql in plain:
        conn.exec_driver_sql(sql)


def _copy_text(copy: Any, values: Iterable[tuple[Any, ...]], width: int) -> None:
    """Write ``values`` to a text-format ``COPY`` row by row, each distinct value of a column
    spelled once: the way of a chunk :func:`_copy_to` cannot spell by columns.

    A row holding a value this does not spell (JSON, bytes, a float that is not finite) goes
    through psycopg's ``write_row``: both write the same text format into the same stream.
    """
    caches: list[dict[Any, str]] = [{} for _ in range(width)]
    lines: list[str] = []
    for row in values:
        try:
            parts = []
            for cache, value in zip(caches, row, strict=True):
                text = cache.get(value)
                if text is None:
                    text = cache[value] = _spelled(value)
                parts.append(text)
        except (_Unspelled, TypeError):  # TypeError: unhashable, a JSON column's dict
            if lines:
                copy.write("".join(lines))
                lines = []
            copy.write_row(row)
            continue
        lines.append("\t".join(parts) + "\n")
        if len(lines) >= COPY_LINES:
            copy.write("".join(lines))
            lines = []
    if lines:
        copy.write("".join(lines))


COPY_LINES = 5_000  # lines per write: bounded memory, few calls


class _Unspelled(Exception):
    pass


def _escaped(text: str) -> str:
    """``text`` with COPY's four special characters escaped. Four ``str.replace`` scans in C:
    a ``translate`` table looked each character up, 15 µs for a 200-character JSON detail
    (ensure_ascii gives every Chinese name its backslashes) against 0.9 µs."""
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _needs_escaping(text: str) -> bool:
    """Whether ``text`` holds one of COPY's special characters: four scans at the speed of
    ``memchr``, a fifteenth of one regular expression's character-class search."""
    return "\\" in text or "\t" in text or "\n" in text or "\r" in text


_NULL = "\\N"


def _spelled(value: Any) -> str:
    """``value`` in COPY's text format (``\\N`` is NULL), or _Unspelled."""
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return _escaped(str(value))
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float) and math.isfinite(value):
        return repr(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:  # a naive time would be read in the session's zone
            raise _Unspelled
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise _Unspelled


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def delete_ids(conn: Connection, table: Table, ids: Iterable[int], *, key: str = "id") -> None:
    """Delete the rows of ``table`` whose integer ``key`` is one of ``ids``.

    The marks a roll-up clears are mostly one consecutive run of ids (a roster's 300,000 rows
    marked in one statement): each run goes as one ``BETWEEN``, the odd ids as ``IN`` lists,
    instead of 150 statements of 2,000 bound values each. Exact because ``key`` is unique:
    every id of a run was handed in, so no other row can hold one of them.
    """
    runs: list[tuple[int, int]] = []
    singles: list[int] = []
    for i in sorted(set(ids)):
        if runs and runs[-1][1] == i - 1:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    between: list[tuple[int, int]] = []
    for lo, hi in runs:
        if hi - lo >= 2:
            between.append((lo, hi))
        else:
            singles.extend(range(lo, hi + 1))
    quoted = f'"{table.name}"'
    if between:
        conn.exec_driver_sql(
            f'DELETE FROM {quoted} WHERE "{key}" BETWEEN {mark} AND {mark}', between
        )
    for part in chunks(singles, IN_CHUNK):
        marks = ", ".join([mark] * len(part))
        conn.exec_driver_sql(f'DELETE FROM {quoted} WHERE "{key}" IN ({marks})', tuple(part))


IN_CHUNK = 500  # ids per IN (...): under SQLite's limit on bound parameters


def fetch_raw(conn: Connection, table: Table, columns: Sequence[str]) -> list[tuple[Any, ...]]:
    """All rows of ``columns``, as the driver returns them (SQLite booleans are 0/1)."""
    names = ", ".join(f'"{c}"' for c in columns)
    return _driver_rows(conn, f'SELECT {names} FROM "{table.name}"')


def fetch_raw_select(conn: Connection, query: Select[Any]) -> list[tuple[Any, ...]]:
    """The rows of ``query``, a query without parameters, as the driver returns them."""
    compiled = query.compile(dialect=conn.dialect)
    if compiled.params:
        raise ValueError("fetch_raw_select takes a query without parameters")
    return _driver_rows(conn, compiled.string)


SQLITE_VARIABLES = 900  # bound values per statement, well inside SQLite's limit


def fetch_raw_among(
    conn: Connection, table: Table, columns: Sequence[str], key: str, values: Collection[str]
) -> list[tuple[Any, ...]]:
    """The rows of ``columns`` whose ``key`` is one of ``values``, as the driver returns them:
    one ``= ANY`` on PostgreSQL, ``IN`` lists of :data:`SQLITE_VARIABLES` elsewhere."""
    names = ", ".join(f'"{c}"' for c in columns)
    sql = f'SELECT {names} FROM "{table.name}" WHERE "{key}"'
    if conn.dialect.name == "postgresql":
        return _driver_rows(conn, sql + " = ANY(%s)", (list(values),))
    rows: list[tuple[Any, ...]] = []
    for part in chunks(sorted(values), SQLITE_VARIABLES):
        rows += _driver_rows(conn, sql + f" IN ({', '.join('?' * len(part))})", tuple(part))
    return rows


def _driver_rows(conn: Connection, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    # The driver's own cursor, in the same transaction: through SQLAlchemy each of a group's
    # 300,000 rows would also become a Row, which took longer than the read itself. Empty
    # parameters make psycopg read the statement's %% as SQLAlchemy wrote them.
    raw = conn.connection.driver_connection
    assert raw is not None
    cursor = raw.cursor()
    try:
        cursor.execute(sql, params)
        return list(cursor.fetchall())
    finally:
        cursor.close()
