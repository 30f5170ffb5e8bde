"""The weekly roll-up: each person's standing of an ISO week, kept current in the changing
transaction, so the dashboard and ``testrota compliance`` sum rows instead of counting every
person over the trend's weeks.

A row is exactly what the compliance report counts for a (person, week): the same
``compliance.weekly.person_week_of`` over the same facts (:func:`count`), so a sum of rows
equals the report counted from raw rows by construction. Only the counting of appointments and
the placing of samples on days is done by the database, one row a person
(:mod:`testrota.compliance.tallies`), held to the report's Python by
``tests/test_weekly_tally.py``. A row also keeps what the policy asks of the person, which
only their facts and exemptions change: when only appointments or samples changed (a plan's
commit, a check-in, a results sheet), the row is counted again by one ``UPDATE`` from it
(:func:`recount_in_place`, ``compliance.weekly.week_of_asked`` in SQL, held to it by
``tests/test_rollup.py``). Rows exist only for the weeks the roll-up
holds (``weekcovered``, filled by ``testrota rollup rebuild``), each under a fingerprint of the
policy and the categories' rates: a reader of a week not held, or held under another policy,
counts from raw rows.

What to count again comes from the marks of the changing transaction: 0009's ``rollupdirty``
(appointments and samples by person or by unit and time, people by person or unit) and 0010's
``weeklydirty`` (department, grid unit, category, exemptions). :func:`absorb` runs before the
daily roll-up's, which deletes the daily marks, on the same connection before COMMIT.
"""

from __future__ import annotations

import hashlib
import weakref
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Connection,
    Delete,
    Engine,
    Select,
    Update,
    bindparam,
    case,
    delete,
    exists,
    func,
    insert,
    inspect,
    null,
    or_,
    select,
    union,
    update,
)
from sqlmodel import col

from testrota.compliance.facts import (
    RateLookup,
    exemptions_between,
    facts_by_id,
    ids_in,
    select_people,
    selected_facts,
)
from testrota.compliance.records import NO_APPOINTMENTS, PersonFacts
from testrota.compliance.tallies import (
    appointment_tallies,
    day_params,
    days_query,
    days_tested_in_week,
    tallies_query,
)
from testrota.compliance.weekly import (
    GroupCompliance,
    PersonWeek,
    person_week_of,
    policy_required,
)
from testrota.db import tables
from testrota.db.bulk import bulk_insert, delete_ids
from testrota.db.id_filter import id_runs, one_of
from testrota.db.locks import take_locks
from testrota.db.models import Person
from testrota.db.statistics import planner_settings
from testrota.policy import Policy
from testrota.weeks import IsoWeek, parse_week, week_of

if TYPE_CHECKING:
    from testrota.org.rollup import Marks

PW, COVERED, WDIRTY, DIRTY = (
    tables.PERSON_WEEK_ROW,
    tables.WEEK_COVERED,
    tables.WEEKLY_DIRTY,
    tables.ROLLUP_DIRTY,
)
PERSON = tables.PERSON
# Advisory lock namespaces, beside the daily roll-up's 0x52-0x55.
_PERSON_NS, _WEEK_NS = 0x56, 0x57
MANY_PEOPLE = 2_000  # beyond this, one lock on the week instead of one per person
COUNT_BATCH = 50_000  # people counted and written at a time by a large recount
_MANY_SETTINGS = {"work_mem": "64MB"}  # a recount in place of more than MANY_PEOPLE


def fingerprint(policy: Policy, config_dir: Path | None) -> str:
    """What a row's figures depend on besides the rows: the policy's testing section and zone,
    and the categories' tests a week (``risk_categories.yaml``)."""
    from testrota.risk.vocabulary_file import FILE_NAME

    digest = hashlib.sha256()
    digest.update(policy.testing.model_dump_json().encode())
    digest.update(policy.timezone.encode())
    path = config_dir / FILE_NAME if config_dir is not None else None
    if path is not None and path.exists():
        digest.update(path.read_bytes())
    return digest.hexdigest()[:64]


# --- counting ----------------------------------------------------------------------------------


def count(
    conn: Connection,
    person_ids: Collection[int] | None,
    week: IsoWeek,
    policy: Policy,
    rates: RateLookup,
    everyone: Mapping[int, PersonFacts] | None = None,
    units: dict[int, int | None] | None = None,
) -> dict[int, tuple[Any, PersonWeek]]:
    """Each of these people's week (people no longer in the table are left out), counted from
    raw rows with the compliance report's ``person_week_of``. ``everyone``: every person's facts
    read already in this transaction (:func:`_everyone`), for ``person_ids`` None. ``units``,
    when given, receives each of ``person_ids``' unit, read with their facts."""
    tz = policy.tz
    people: Mapping[int, PersonFacts] = {}
    if person_ids is None:  # everyone: one query each, not one per 900 people
        people = everyone if everyone is not None else _everyone(conn, rates)
        found: list[int] | None = None
    else:
        chosen: dict[int, PersonFacts] = {}
        query = _people_query(conn.dialect.name)
        for part in id_runs(conn.dialect.name, set(person_ids)):
            for r in conn.execute(query, {"people": part}):
                facts = selected_facts(r, rates)
                chosen[facts.id] = facts
                if units is not None:
                    units[facts.id] = r.unit_id
        people, found = chosen, list(chosen)
    if not people:
        return {}
    # On the hook's own connection (no ORM session to build, nothing of it to flush), counted
    # by the database: a plan's commit counts 600,000 appointments, one row a person back.
    tallies = appointment_tallies(conn, week, tz, person_ids=found)
    days = days_tested_in_week(conn, week, tz, person_ids=found)
    exemptions = exemptions_between(conn, week.monday, week.days[-1], person_ids=found)
    by_person = defaultdict(list)
    for e in exemptions:
        by_person[e.person_id].append(e)
    out = {}
    for pid, p in people.items():
        counted, ex = tallies.get(pid), by_person[pid]
        if counted is None:
            if policy_required(p, week, policy, ex) == 0:
                continue
            counted = NO_APPOINTMENTS
        pw = person_week_of(p, week, policy, counted, days.get(pid, ()), ex)
        if pw.required:
            out[pid] = (p, pw)
    return out


@cache
def _people_query(dialect: str) -> Select[Any]:
    return (
        select_people()
        .add_columns(col(Person.unit_id))
        .where(one_of(col(Person.id), "people", dialect))
    )


@cache
def _delete_rows(dialect: str) -> Delete:
    """Delete ``:people``'s rows of ``:week``."""
    return delete(PW).where(
        PW.c.week == bindparam("week"), one_of(PW.c.person_id, "people", dialect)
    )


def _everyone(conn: Connection, rates: RateLookup) -> dict[int, PersonFacts]:
    return facts_by_id(conn.execute(select_people()).all(), rates)


# PW's columns in the order :func:`_row` gives them (the week and the time counted are the
# same in every row: the COPY's constants); tuples, not a dict a row
_ROW_COLUMNS = [
    "person_id",
    "unit_id",
    "department",
    "grid_unit",
    "required",
    "scheduled",
    "done",
    "missed",
    "excused",
    "tests",
    "compliant",
    "asked",
]


def _row(p: Any, pw: PersonWeek, unit_id: int | None) -> tuple[Any, ...]:
    return (
        pw.person_id,
        unit_id,
        p.department,
        p.unit,
        pw.required,
        pw.scheduled,
        pw.done,
        pw.missed,
        pw.excused,
        pw.credited,
        pw.compliant,
        pw.asked,
    )


def write(
    conn: Connection,
    person_ids: Collection[int] | None,
    week: IsoWeek,
    policy: Policy,
    rates: RateLookup,
    now: datetime,
    everyone: tuple[Mapping[int, PersonFacts], Mapping[int, int | None]] | None = None,
) -> int:
    """Count these people's week (None: everyone's) again and replace their rows; returns the
    rows written. ``everyone``: every person's facts and unit, read once for many weeks."""
    if person_ids is not None and len(person_ids) > COUNT_BATCH:
        # A plan's commit names everyone: their facts, appointments and rows a batch at a
        # time keep the committing process's memory bounded (the plan holds its own too).
        ids = sorted(set(person_ids))
        return sum(
            write(conn, ids[i : i + COUNT_BATCH], week, policy, rates, now)
            for i in range(0, len(ids), COUNT_BATCH)
        )
    if person_ids is not None and not person_ids:
        return 0
    units: dict[int, int | None] = {}
    counted = count(conn, person_ids, week, policy, rates, everyone[0] if everyone else None, units)
    if person_ids is None:
        conn.execute(delete(PW).where(PW.c.week == str(week)))
        if everyone is not None:
            units.update(everyone[1])
        else:
            units.update(conn.execute(select(PERSON.c.id, PERSON.c.unit_id)).tuples().all())
    else:
        # One statement each on PostgreSQL (``= ANY``): a plan touches every unit, and 900-id
        # IN lists for 300,000 people cost more to render than to run.
        gone = _delete_rows(conn.dialect.name)
        for part in id_runs(conn.dialect.name, set(person_ids)):
            conn.execute(gone, {"week": str(week), "people": part})
    rows = [_row(p, pw, units.get(pid)) for pid, (p, pw) in counted.items()]
    # COPY on PostgreSQL: a plan's commit writes a row for every person of the week
    bulk_insert(
        conn, PW, rows, columns=_ROW_COLUMNS, constants={"week": str(week), "counted_at": now}
    )
    return len(rows)


def recount_in_place(
    conn: Connection, person_ids: Collection[int], week: IsoWeek, tz: ZoneInfo, now: datetime
) -> set[int]:
    """Count again, in the database, the rows of ``week`` of these people whose facts and
    exemptions did not change, from the ``asked`` each row keeps and the week's appointments
    and samples: ``compliance.weekly.week_of_asked`` in SQL, one ``UPDATE`` (a statement per
    900 people on SQLite). A row whose requirement fell to 0 goes, as :func:`count` writes
    none. Returns the people whose row was counted; those without a row, or with one from
    before ``asked`` was kept, are left to :func:`write`."""
    if not person_ids:
        return set()
    dialect = conn.dialect.name
    params = {**day_params(week, tz), "of_week": str(week), "at": now}
    counted: set[int] = set()
    emptied: list[int] = []
    # A plan's commit sums its 600,000 appointments, just written, in memory and not on disk;
    # a check-in's handful of people keeps the default (and saves the statements)
    many = len(person_ids) > MANY_PEOPLE
    # Many people on PostgreSQL (one run): the week's appointments and samples are counted for
    # everyone and the rows to write picked once, instead of testing each appointment against
    # 300,000 ids, and planning three copies of that list, as a check-in's few people do.
    whole_week = many and dialect == "postgresql"
    statement = _in_place(dialect, not whole_week)
    with planner_settings(conn, _MANY_SETTINGS) if many else nullcontext():
        for part in id_runs(dialect, person_ids):
            for person_id, required in conn.execute(statement, {**params, "people": part}):
                counted.add(person_id)
                if not required:
                    emptied.append(person_id)
    for part in id_runs(dialect, emptied):
        conn.execute(_delete_rows(dialect), {"week": str(week), "people": part})
    return counted


@cache
def _in_place(dialect: str, by_people: bool) -> Update:
    """The UPDATE of :func:`recount_in_place`, built once per dialect; ``by_people``: the
    appointments and samples counted are those of the people bound, not the whole week's."""
    tallies = tallies_query(dialect, by_people).subquery("t")
    sampled = days_query(dialect, by_people).subquery("s")
    tested = (
        select(sampled.c.person_id, func.count().label("days"))
        .group_by(sampled.c.person_id)
        .subquery("d")
    )
    kept = PW.alias("k")

    def zero_if_none(column: Any) -> Any:
        return func.coalesce(column, 0)

    facts = (
        select(
            kept.c.person_id,
            kept.c.asked,
            *(
                zero_if_none(tallies.c[name]).label(name)
                for name in ("scheduled", "done", "missed", "excused", "excused_planned", "contact")
            ),
            zero_if_none(tested.c.days).label("days"),
        )
        .select_from(kept)
        .outerjoin(tallies, tallies.c.person_id == kept.c.person_id)
        .outerjoin(tested, tested.c.person_id == kept.c.person_id)
        .where(
            kept.c.week == bindparam("of_week"),
            kept.c.asked.is_not(None),
            one_of(kept.c.person_id, "people", dialect),
        )
        .subquery("f")
    )
    # week_of_asked: what is asked less the excused planned appointments (not below 0), or,
    # asked nothing, the planned appointments kept; plus a contact's bookings
    after_excuses = facts.c.asked - facts.c.excused_planned
    required = (
        case(
            (facts.c.asked > 0, case((after_excuses > 0, after_excuses), else_=0)),
            else_=facts.c.scheduled - facts.c.excused - facts.c.contact,
        )
        + facts.c.contact
    )
    new = select(
        facts.c.person_id,
        facts.c.scheduled,
        facts.c.done,
        facts.c.missed,
        facts.c.excused,
        facts.c.days,
        required.label("required"),
    ).subquery("n")
    return (
        update(PW)
        .values(
            required=new.c.required,
            scheduled=new.c.scheduled,
            done=new.c.done,
            missed=new.c.missed,
            excused=new.c.excused,
            tests=case((new.c.days < new.c.required, new.c.days), else_=new.c.required),
            compliant=new.c.days >= new.c.required,
            counted_at=bindparam("at"),
        )
        .where(PW.c.week == bindparam("of_week"), PW.c.person_id == new.c.person_id)
        .returning(PW.c.person_id, PW.c.required)
    )


def rebuild(
    conn: Connection,
    weeks: Iterable[IsoWeek],
    policy: Policy,
    rates: RateLookup,
    print_: str,
    now: datetime,
) -> int:
    """Count these weeks whole for everyone and hold them under ``print_``; returns rows."""
    written = 0
    # The people read once for every week: the trend's nine weeks read 300,000 people's facts
    # nine times over otherwise (the same rows: this transaction changes none of them).
    people: tuple[Mapping[int, PersonFacts], Mapping[int, int | None]] | None = None
    for week in weeks:
        if people is None:
            units = {r.id: r.unit_id for r in conn.execute(select(PERSON.c.id, PERSON.c.unit_id))}
            people = (_everyone(conn, rates), units)
        conn.execute(delete(COVERED).where(COVERED.c.week == str(week)))
        written += write(conn, None, week, policy, rates, now, people)
        conn.execute(insert(COVERED).values(week=str(week), fingerprint=print_))
    conn.execute(delete(WDIRTY))
    return written


# --- upkeep -----------------------------------------------------------------------------------


@dataclass
class WeeklyPending:
    people: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))  # week -> ids
    units: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))  # week -> units
    marks: list[int] = field(default_factory=list)  # weeklydirty ids read
    # week -> people whose own facts or exemptions changed: what the policy asks of them is
    # counted again in Python; the others' rows are recounted in place (recount_in_place)
    facts: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))


def pending(
    conn: Connection, held: Collection[str], tz: Any, marks: Marks | None = None
) -> WeeklyPending:
    """The (person, week) and (unit, week) keys the marks ask to be counted again, for the
    weeks held (reads only). ``marks``: both roll-ups' marks, read already this commit."""
    from testrota.org.rollup import read_all_marks

    marks = read_all_marks(conn) if marks is None else marks
    out = WeeklyPending()
    every_week = list(held)
    # each distinct time placed in its week once, as the daily roll-up places it on its day:
    # a results sheet's 300,000 marks share a few thousand sampling times
    week_at: dict[Any, list[str]] = {}
    for _, unit_id, person_id, at, whole in marks.daily:
        if unit_id is None and person_id is None:
            continue  # "count everything": the reader counts from raw rows until a rebuild
        if whole or at is None:
            weeks = every_week
        else:
            found = week_at.get(at)
            if found is None:
                found = week_at[at] = [str(week_of(_aware(at), tz))]
            weeks = found
        for w in weeks:
            if w not in held:
                continue
            if person_id is not None:
                out.people[w].add(person_id)
                if whole:  # moved, left, came back, changed type: 0009's person marks
                    out.facts[w].add(person_id)
            elif unit_id is not None:
                out.units[w].add(unit_id)
    for mark_id, person_id in marks.weekly:
        out.marks.append(mark_id)
        for w in held:
            out.people[w].add(person_id)
            out.facts[w].add(person_id)
    return out


def _aware(at: Any) -> datetime:
    from testrota.org.rollup import _aware as aware

    return aware(at)


def absorb(
    conn: Connection,
    policy: Policy,
    rates: RateLookup,
    print_: str,
    now: datetime,
    marks: Marks | None = None,
) -> None:
    """Count again the weeks held that this transaction's marks touch, before COMMIT; a week
    held under another fingerprint is left alone (its readers count from raw rows).
    ``marks``: as :func:`pending` takes them."""
    rows = marks.held if marks is not None else None  # read with the marks, on PostgreSQL
    if rows is None:
        rows = conn.execute(select(COVERED.c.week, COVERED.c.fingerprint)).all()
    held = {w for w, f in rows if f == print_}
    todo = pending(conn, held, policy.tz, marks) if held else WeeklyPending()
    if not held:
        if marks is None:
            todo.marks = [m for (m,) in conn.execute(select(WDIRTY.c.id))]
        else:
            todo.marks = [m for m, _ in marks.weekly]
    keys: dict[str, set[int]] = {}
    for w in sorted(set(todo.people) | set(todo.units)):
        ids = set(todo.people.get(w, set()))
        units = todo.units.get(w, set())
        # people in the units now, and those whose row says they were in one, each once: a
        # plan's commit names every unit (one statement on PostgreSQL, 300,000 ids back)
        for now_in, was_in in zip(
            ids_in(conn, PERSON.c.unit_id, units), ids_in(conn, PW.c.unit_id, units), strict=True
        ):
            ids.update(
                conn.execute(
                    union(
                        select(PERSON.c.id).where(now_in),
                        select(PW.c.person_id).where(PW.c.week == w, was_in),
                    )
                ).scalars()
            )
        if ids:
            keys[w] = ids
    _lock(conn, keys)
    for w, ids in keys.items():
        week = parse_week(w)
        facts = ids & todo.facts.get(w, set())
        rest = ids - facts
        facts |= rest - recount_in_place(conn, rest, week, policy.tz, now)
        write(conn, facts, week, policy, rates, now)
    if marks is None or not marks.taken:
        delete_ids(conn, WDIRTY, todo.marks)


def _lock(conn: Connection, keys: dict[str, set[int]]) -> None:
    """On PostgreSQL, a lock per (week, person) counted, or the week's own for a change of
    many people (a plan), all taken in one order before the daily roll-up's: two check-ins of
    one grid unit count its week one after the other, and the second sees the first's rows
    instead of colliding on them."""
    if conn.dialect.name != "postgresql":
        return  # SQLite: this transaction already holds the only write lock
    wanted: list[tuple[int, bool]] = []  # (key, shared)
    for w in sorted(keys):
        week = parse_week(w).monday.toordinal()
        many = len(keys[w]) > MANY_PEOPLE
        wanted.append(((_WEEK_NS << 56) | week, not many))
        if not many:
            wanted += [((_PERSON_NS << 56) | (week << 32) | pid, False) for pid in sorted(keys[w])]
    take_locks(conn, wanted)


Context = Callable[[], tuple[Policy, RateLookup, str, datetime] | None]
_CONTEXTS: weakref.WeakKeyDictionary[Engine, Context] = weakref.WeakKeyDictionary()
_READY: weakref.WeakSet[Engine] = weakref.WeakSet()


def attach(engine: Engine, context: Context) -> None:
    """Keep the weekly roll-up on ``engine``; called by the daily roll-up's commit hook
    (:func:`testrota.org.rollup._before_commit`) before it clears the marks."""
    _CONTEXTS[engine] = context


def before_commit(conn: Connection, marks: Marks | None = None) -> None:
    context = _CONTEXTS.get(conn.engine)
    found = context() if context is not None else None
    if found is None:
        return
    if conn.engine not in _READY:
        if not inspect(conn).has_table(PW.name):
            return
        _READY.add(conn.engine)
    absorb(conn, *found, marks=marks)


# --- reading ----------------------------------------------------------------------------------


def held(conn: Connection, weeks: Collection[IsoWeek], print_: str) -> bool:
    """Whether every one of ``weeks`` can be read from the roll-up: held under this policy, no
    "count everything" mark, no mark left over by a writer without the hook. One statement (a
    supervisor's every missed list asks): the tables' presence is asked once an engine."""
    if conn.engine not in _READY:
        if not inspect(conn).has_table(PW.name):
            return False
        _READY.add(conn.engine)
    names = sorted({str(w) for w in weeks})
    covered = (
        select(func.count())
        .select_from(COVERED)
        .where(COVERED.c.week.in_(names), COVERED.c.fingerprint == print_)
        .scalar_subquery()
    )
    marked = or_(exists().select_from(DIRTY), exists().select_from(WDIRTY))
    found, left = conn.execute(select(covered, marked)).one()
    return bool(found == len(names) and not left)


def missed_in(week: IsoWeek, person_id: Any, departments: Collection[str] | None) -> Any:
    """The condition that the person of ``person_id`` (a column) missed a slot of ``week`` (a
    held week: the roll-up keeps a row for exactly the people asked a test, see :func:`count`),
    counted in one of ``departments`` when given. These rows are few and indexed by week and
    department (``ix_personweek_missed``): a supervisor's missed list starts from the few
    hundred of a department instead of each of its 10,000 people."""
    where = [PW.c.person_id == person_id, PW.c.week == str(week), PW.c.missed > 0]
    if departments is not None:
        where.append(PW.c.department.in_(sorted(departments)))
    return exists().where(*where)


def read(
    conn: Connection,
    weeks: Collection[IsoWeek],
    departments: Collection[str] | None,
    units: Collection[str] | None,
    *,
    by_grid_unit: bool = True,
) -> dict[str, dict[tuple[str, str | None], GroupCompliance]]:
    """Per week, the (department, grid unit) sums of the rows, in scope; (department, None)
    when not ``by_grid_unit``."""
    grid_unit = PW.c.grid_unit if by_grid_unit else null()
    query = (
        select(
            PW.c.week,
            PW.c.department,
            grid_unit,
            func.count(),
            func.sum(PW.c.required),
            func.sum(PW.c.scheduled),
            func.sum(PW.c.done),
            func.sum(PW.c.missed),
            func.sum(PW.c.excused),
            func.sum(PW.c.tests),
            func.sum(case((PW.c.compliant, 1), else_=0)),
        )
        .where(PW.c.week.in_([str(w) for w in weeks]))
        .group_by(PW.c.week, PW.c.department, *([PW.c.grid_unit] if by_grid_unit else []))
    )
    if departments is not None:
        query = query.where(PW.c.department.in_(sorted(departments)))
        if units:
            from sqlalchemy import or_

            from testrota.org.units import UNIT, subtree_condition

            below = select(UNIT.c.id).where(or_(*(subtree_condition(p) for p in sorted(units))))
            query = query.where(PW.c.unit_id.in_(below))
    out: dict[str, dict[tuple[str, str | None], GroupCompliance]] = defaultdict(dict)
    for w, dep, unit, people, req, sch, done, missed, exc, tests, comp in conn.execute(query):
        out[w][(dep, unit)] = GroupCompliance(
            department=dep,
            grid_unit=unit,
            people=int(people),
            required=int(req),
            scheduled=int(sch),
            done=int(done),
            missed=int(missed),
            excused=int(exc),
            tests=int(tests),
            compliant_people=int(comp),
        )
    return out
