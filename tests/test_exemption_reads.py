"""A few people's exemptions are asked for by id; many people's are read whole and picked.

A check-in or a status look-up used to read every exemption of the week in the group and keep
the person's: 10,000 of them at a group of 300,000 cost each check-in 18 ms of CPU twice."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlmodel import Session

from testrota.compliance.facts import ExemptionFacts, exemptions_between
from testrota.db.id_filter import CHUNK
from testrota.db.models import Exemption
from tests.compliance_fixtures import (
    SH,
    add_appt,
    add_person,
    add_site,
    check_in,
    local,
    policy,
    status,
)

MONDAY = date(2022, 5, 9)
CREATED = local(SH, 2022, 5, 1, 9, 0)


def _exempt(session: Session, person_id: int, start: date, days: int) -> None:
    session.add(
        Exemption(
            person_id=person_id,
            start_date=start,
            end_date=start + timedelta(days=days),
            reason="leave",
            created_at=CREATED,
        )
    )


@pytest.fixture
def exempted(session: Session) -> list[int]:
    """1,000 people; each has 0-2 exemptions starting from a week before to a week after."""
    rnd = random.Random(5)
    ids = [add_person(session, f"X{i:04d}").id or 0 for i in range(CHUNK + 100)]
    for pid in ids:
        for _ in range(rnd.randrange(3)):
            _exempt(session, pid, MONDAY + timedelta(days=rnd.randrange(-9, 9)), rnd.randrange(4))
    session.commit()
    return ids


def _key(e: ExemptionFacts) -> tuple[int, date, date]:
    return (e.person_id, e.start_date, e.end_date)


@pytest.mark.parametrize("how_many", [0, 1, 17, CHUNK, CHUNK + 1, None])
def test_a_few_or_many_peoples_exemptions_are_theirs_and_all_of_theirs(
    engine: Engine, exempted: list[int], how_many: int | None
) -> None:
    last = MONDAY + timedelta(days=6)
    with engine.connect() as conn:
        everyone = exemptions_between(conn, MONDAY, last)
        chosen = None if how_many is None else random.Random(how_many).sample(exempted, how_many)
        got = exemptions_between(conn, MONDAY, last, chosen)
    expected = [e for e in everyone if chosen is None or e.person_id in set(chosen)]
    assert sorted(map(_key, got)) == sorted(map(_key, expected))
    assert all(e.start_date <= last and e.end_date >= MONDAY for e in everyone)
    assert everyone, "the fixture exempts some people this week"


@pytest.fixture
def exemption_reads(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        if "FROM exemption" in statement:
            seen.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", note)
    yield seen
    event.remove(engine, "before_cursor_execute", note)


def test_a_check_in_and_a_status_look_up_read_only_that_persons_exemptions(
    engine: Engine, session: Session, exempted: list[int], exemption_reads: list[str]
) -> None:
    pol = policy()
    add_site(session)
    person = add_person(session, "Q1")
    add_appt(session, person, local(SH, 2022, 5, 10, 8, 30))
    _exempt(session, person.id or 0, MONDAY + timedelta(days=3), 1)
    session.commit()
    at = local(SH, 2022, 5, 10, 8, 40)
    assert check_in(engine, "Q1", "S1", at, "site", pol).recorded
    shown = status(engine, "Q1", at + timedelta(minutes=5), pol)
    assert shown.tests_this_week == 1
    assert exemption_reads, "the person's week was counted with their exemptions"
    assert all("exemption.person_id" in sql.split(" WHERE ", 1)[1] for sql in exemption_reads)
