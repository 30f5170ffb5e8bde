"""A week's appointments and samples counted by the database, one row a person.

The weekly roll-up counts everyone's week in a plan's commit (300,000 people, 600,000
appointments), and the missed list counts a page of people's: instead of every appointment and
sample as a Python object, the database returns each person's :class:`Tally` and each (person,
local day) with a counting sample once. Over :mod:`testrota.db.lean`'s tables, so the missed
list's command stays lean. ``compliance.weekly.tally`` and ``weeks.local_date`` are the
definitions these follow; ``tests/test_weekly_tally.py`` holds them equal.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping
from datetime import date
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Date, Select, and_, bindparam, case, exists, func, select

from testrota.compliance.records import Tally
from testrota.db.engine import core
from testrota.db.id_filter import dialect_of, id_runs, one_of
from testrota.db.lean import APPOINTMENT, EXEMPTION, TEST_RESULT
from testrota.statuses import AppointmentReason, AppointmentStatus, ResultValue
from testrota.weeks import IsoWeek, day_bounds

A, T = APPOINTMENT, TEST_RESULT


def rows_between(
    bind: Any, query: Select[Any], params: Mapping[str, Any], person_ids: Collection[int] | None
) -> list[Any]:
    """``query``'s rows, for ``person_ids`` (bound as ``:people``) when the query asks for
    them: one run on PostgreSQL, lists of 900 on SQLite. ``bind``: a session or a connection."""
    bind = core(bind)
    if person_ids is None:
        return list(bind.execute(query, dict(params)))
    rows: list[Any] = []
    for part in id_runs(dialect_of(bind), person_ids):
        rows.extend(bind.execute(query, {**params, "people": part}))
    return rows


def appointment_tallies(
    bind: Any, week: IsoWeek, tz: ZoneInfo, *, person_ids: Collection[int] | None = None
) -> dict[int, Tally]:
    """Each person's :class:`Tally` of the appointments of ``week`` (local days in ``tz``)."""
    query = tallies_query(dialect_of(bind), person_ids is not None)
    return {
        r.person_id: Tally(r.scheduled, r.done, r.missed, r.excused, r.excused_planned, r.contact)
        for r in rows_between(bind, query, day_params(week, tz), person_ids)
    }


@cache
def tallies_query(dialect: str, by_people: bool) -> Select[Any]:
    """One row a person: their :class:`Tally` of the appointments in ``[:start, :end)`` (the
    week :func:`day_params` binds), for the people bound as ``:people`` when ``by_people``."""
    contact = A.c.reason == AppointmentReason.CONTACT
    excused = A.c.status == AppointmentStatus.EXCUSED
    # An appointment excused on a day the person is exempt is not taken off what is asked:
    # the exemption's days are already left out of it (compliance.weekly.policy_required).
    starts = A.c.starts_at
    local_day = case(
        *((starts < bindparam(f"d{i}"), bindparam(f"w{i - 1}", type_=Date)) for i in range(1, 7)),
        else_=bindparam("w6", type_=Date),
    )
    exempt = exists().where(
        EXEMPTION.c.person_id == A.c.person_id,
        EXEMPTION.c.start_date <= local_day,
        EXEMPTION.c.end_date >= local_day,
    )

    def counted(condition: ColumnElement[bool], name: str) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0).label(name)

    query = (
        select(
            A.c.person_id,
            func.count().label("scheduled"),
            counted(A.c.status == AppointmentStatus.DONE, "done"),
            counted(A.c.status == AppointmentStatus.MISSED, "missed"),
            counted(excused, "excused"),
            counted(and_(excused, ~contact, ~exempt), "excused_planned"),
            counted(and_(~excused, contact), "contact"),
        )
        .where(
            A.c.starts_at >= bindparam("start"),
            A.c.starts_at < bindparam("end"),
            A.c.status != AppointmentStatus.CANCELLED,
        )
        .group_by(A.c.person_id)
    )
    if by_people:
        query = query.where(one_of(A.c.person_id, "people", dialect))
    return query


def days_tested_in_week(
    bind: Any, week: IsoWeek, tz: ZoneInfo, *, person_ids: Collection[int] | None = None
) -> dict[int, set[date]]:
    """The local days of ``week`` on which each person had a counting sample. Each sample is
    placed on its day by the days' own UTC bounds (so a 23- or 25-hour day too)."""
    days = week.days
    query = days_query(dialect_of(bind), person_ids is not None)
    out: dict[int, set[date]] = defaultdict(set)
    for person_id, index in rows_between(bind, query, day_params(week, tz), person_ids):
        out[person_id].add(days[index])
    return out


def day_params(week: IsoWeek, tz: ZoneInfo) -> dict[str, Any]:
    """What :func:`days_query` binds: the week's bounds and the start of each later day, each
    day's own (so a 23- or 25-hour day too)."""
    bounds = [day_bounds(d, tz) for d in week.days]
    params: dict[str, Any] = {f"d{i}": bounds[i][0] for i in range(1, 7)}
    params.update({f"w{i}": day for i, day in enumerate(week.days)})  # each day's date
    params.update(start=bounds[0][0], end=bounds[6][1])
    return params


@cache
def days_query(dialect: str, by_people: bool) -> Select[Any]:
    """Each (person, index of the local day) with a counting sample in ``[:start, :end)``,
    once; the days begin at ``:d1`` … ``:d6`` (:func:`days_tested_in_week` binds them)."""
    sampled = T.c.sampled_at
    day = case(*((sampled < bindparam(f"d{i}"), i - 1) for i in range(1, 7)), else_=6)
    query = (
        select(T.c.person_id, day.label("day"))
        .where(
            sampled >= bindparam("start"),
            sampled < bindparam("end"),
            T.c.result != ResultValue.INVALID,
        )
        .distinct()
    )
    if by_people:
        query = query.where(one_of(T.c.person_id, "people", dialect))
    return query
