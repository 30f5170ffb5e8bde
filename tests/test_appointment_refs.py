"""An appointment's person and slot, a sample's person, and the unit of a person or of the
daily roll-up: no foreign-key check per inserted row any more (migrations 0011_plan,
0017_sample_person and 0025_rollup_unit_refs), but deleting a person, slot or unit that those
rows name is refused exactly as the foreign key refused it, on both databases; one that none
names still goes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, insert, inspect, select, update
from sqlalchemy.exc import IntegrityError

from testrota.db import tables
from testrota.db.engine import make_engine
from tests.conftest import BACKENDS

NOW = datetime(2022, 5, 9, 1, 0, tzinfo=UTC)
P, S, A, M = tables.PERSON, tables.SLOT, tables.APPOINTMENT, tables.MESSAGE
R = tables.TEST_RESULT
U, UD, UH = tables.ORG_UNIT, tables.UNIT_DAY, tables.UNIT_HEADS


def _inserted(engine: Engine, table: Any, **values: Any) -> int:
    """The id of one row of ``table``, inserted in a transaction of its own."""
    with engine.begin() as conn:
        row = conn.execute(insert(table).values(**values)).inserted_primary_key
    assert row is not None
    return int(row[0])


def _person(engine: Engine, no: str) -> int:
    return _inserted(engine, P, employee_no=no, name=no, created_at=NOW, updated_at=NOW)


def _slot(engine: Engine, minute: int) -> int:
    at = NOW + timedelta(minutes=minute)
    return _inserted(
        engine,
        S,
        site_code="S1",
        week="2022-W19",
        starts_at=at,
        ends_at=at + timedelta(minutes=10),
        capacity=30,
    )


def _appointment(engine: Engine, person_id: int, slot_id: int) -> int:
    return _inserted(
        engine,
        A,
        person_id=person_id,
        slot_id=slot_id,
        site_code="S1",
        week="2022-W19",
        starts_at=NOW,
        ends_at=NOW + timedelta(minutes=10),
        status="scheduled",
        reason="plan",
        created_at=NOW,
        updated_at=NOW,
    )


def _sample(engine: Engine, person_id: int) -> int:
    return _inserted(
        engine,
        R,
        person_id=person_id,
        sampled_at=NOW,
        result="pending",
        source="checkin",
        site_name="",
        recorded_at=NOW,
        recorded_by="test",
    )


def _count(engine: Engine, table: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def _refused(engine: Engine, table: Any, key: int, message: str | None = None) -> None:
    """Deleting the row ``key`` of ``table``, and renumbering it, are each refused (on
    PostgreSQL the delete with the guard's ``message``, when given)."""
    with pytest.raises(IntegrityError) as refused, engine.begin() as conn:
        conn.execute(delete(table).where(table.c.id == key))
    if message is not None and engine.dialect.name == "postgresql":
        assert message in str(refused.value)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(update(table).where(table.c.id == key).values(id=key + 1000))


def test_a_person_or_slot_that_appointments_name_cannot_be_deleted(engine: Engine) -> None:
    booked, free = _person(engine, "E1"), _person(engine, "E2")
    used, empty = _slot(engine, 0), _slot(engine, 10)
    _appointment(engine, booked, used)
    for table, key in ((P, booked), (S, used)):
        _refused(engine, table, key)
    assert (_count(engine, P), _count(engine, S), _count(engine, A)) == (2, 2, 1)
    with engine.begin() as conn:  # nobody's appointments: they go, and other updates pass
        conn.execute(delete(P).where(P.c.id == free))
        conn.execute(delete(S).where(S.c.id == empty))
        conn.execute(update(P).where(P.c.id == booked).values(name="renamed"))
    assert (_count(engine, P), _count(engine, S), _count(engine, A)) == (1, 1, 1)


def test_once_its_appointments_are_gone_the_person_and_slot_can_go(engine: Engine) -> None:
    person, slot = _person(engine, "E1"), _slot(engine, 0)
    appointment = _appointment(engine, person, slot)
    with engine.begin() as conn:
        conn.execute(delete(A).where(A.c.id == appointment))
        conn.execute(delete(P).where(P.c.id == person))
        conn.execute(delete(S).where(S.c.id == slot))
    assert (_count(engine, P), _count(engine, S)) == (0, 0)


def test_a_person_whom_samples_name_cannot_be_deleted_or_renumbered(engine: Engine) -> None:
    sampled, other = _person(engine, "E1"), _person(engine, "E2")
    sample = _sample(engine, sampled)
    _refused(engine, P, sampled, "still named by samples")
    assert (_count(engine, P), _count(engine, R)) == (2, 1)
    with engine.begin() as conn:  # no samples: they go; other updates of the person pass
        conn.execute(delete(P).where(P.c.id == other))
        conn.execute(update(P).where(P.c.id == sampled).values(name="renamed"))
    with engine.begin() as conn:  # once the samples are gone, so can the person be
        conn.execute(delete(R).where(R.c.id == sample))
        conn.execute(delete(P).where(P.c.id == sampled))
    assert (_count(engine, P), _count(engine, R)) == (0, 0)


def _unit(engine: Engine, path: str) -> int:
    return _inserted(engine, U, path=path, name=path, level=0, kind="unit", created_at=NOW)


def _unit_named(
    engine: Engine, unit_id: int, *, day: bool = True, heads: bool = True, person: bool = True
) -> None:
    """The unit named by a day's figures, its head-count and a person, as asked."""
    if person:
        person_id = _person(engine, "U1")
        with engine.begin() as conn:
            conn.execute(update(P).where(P.c.id == person_id).values(unit_id=unit_id))
    with engine.begin() as conn:
        if day:
            conn.execute(
                insert(UD).values(
                    unit_id=unit_id, day=NOW.date(), untested={}, counted_at=NOW, required=3
                )
            )
        if heads:
            conn.execute(insert(UH).values(unit_id=unit_id, people=3))


@contextmanager
def _fresh_database(backend: str, tmp_path: Path) -> Iterator[Engine]:
    """An engine on an empty database of ``backend``, dropped afterwards on PostgreSQL."""
    from sqlalchemy import text

    from tests.conftest import PG_URL, _create_pg_database

    admin = None
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    else:
        assert PG_URL is not None
        url, admin = _create_pg_database(PG_URL)
    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{engine.url.database}" WITH (FORCE)'))
            admin.dispose()


@pytest.mark.parametrize("named_by", ["person", "unitday", "unitheads"])
def test_a_unit_that_people_or_the_daily_rollup_name_cannot_be_deleted_or_renumbered(
    engine: Engine, named_by: str
) -> None:
    counted, other = _unit(engine, "集团"), _unit(engine, "别的公司")
    _unit_named(
        engine,
        counted,
        day=named_by == "unitday",
        heads=named_by == "unitheads",
        person=named_by == "person",
    )
    for table in ("person", "unitday", "unitheads"):
        assert [fk["referred_table"] for fk in inspect(engine).get_foreign_keys(table)] == []
    _refused(engine, U, counted, "still named by people or the daily roll-up")
    assert _count(engine, U) == 2
    with engine.begin() as conn:  # a unit nobody counts goes; other updates of a unit pass
        conn.execute(delete(U).where(U.c.id == other))
        conn.execute(update(U).where(U.c.id == counted).values(name="改名"))
    with engine.begin() as conn:  # once nothing names it, so can the unit go
        conn.execute(delete(UD))
        conn.execute(delete(UH))
        conn.execute(update(P).values(unit_id=None))
        conn.execute(delete(U).where(U.c.id == counted))
    assert _count(engine, U) == 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_rollup_unit_migration_goes_down_and_up_again(backend: str, tmp_path: Path) -> None:
    """0025 down: the keys of person, unitday and unitheads are back and the guard gone; up
    again: as the head has them."""
    from alembic import command

    from testrota.db.schema import alembic_config, upgrade

    def keyed() -> list[str]:
        return [
            t
            for t in ("person", "unitday", "unitheads")
            if any(fk["referred_table"] == "orgunit" for fk in inspect(engine).get_foreign_keys(t))
        ]

    with _fresh_database(backend, tmp_path) as engine:
        upgrade(engine)
        unit = _unit(engine, "集团")
        _unit_named(engine, unit)
        assert keyed() == []
        command.downgrade(alembic_config(engine), "0024_bulk_marks_quarter_hour")
        assert keyed() == ["person", "unitday", "unitheads"]
        with pytest.raises(IntegrityError), engine.begin() as conn:  # the key refuses it now
            conn.execute(delete(U).where(U.c.id == unit))
        upgrade(engine)
        assert keyed() == []
        with pytest.raises(IntegrityError), engine.begin() as conn:  # and the guard again
            conn.execute(delete(U).where(U.c.id == unit))
        assert _count(engine, UD) == _count(engine, UH) == 1


def test_the_make_up_index_holds_only_make_ups(engine: Engine) -> None:
    found = {i["name"]: i for i in inspect(engine).get_indexes("appointment")}[
        "ix_appointment_makeup_for"
    ]
    where = found.get("dialect_options", {}).get(f"{engine.dialect.name}_where")
    assert where is not None and "makeup_for IS NOT NULL" in str(where)


def test_sqlite_upgrade_keeps_the_texts_pointing_at_their_appointments(tmp_path: Path) -> None:
    """A table rebuild would have deleted the old table's rows first (foreign keys are on),
    setting each text's appointment_id to NULL; the migration edits the definition instead."""
    from alembic import command

    from testrota.db.schema import alembic_config, upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        command.upgrade(alembic_config(engine), "0010_weekly")
        person, slot = _person(engine, "E1"), _slot(engine, 0)
        appointment = _appointment(engine, person, slot)
        with engine.begin() as conn:
            conn.execute(
                insert(M).values(
                    kind="reminder",
                    dedupe_key="k",
                    to="+8613800000000",
                    body="x",
                    due_at=NOW,
                    created_at=NOW,
                    status="pending",
                    appointment_id=appointment,
                )
            )
        upgrade(engine)
        with engine.connect() as conn:
            assert conn.execute(select(M.c.appointment_id)).scalar_one() == appointment
            keys = {r[3] for r in conn.exec_driver_sql("PRAGMA foreign_key_list(appointment)")}
            assert keys == {"makeup_for"}
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar_one() == "ok"
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(delete(P).where(P.c.id == person))
        command.downgrade(alembic_config(engine), "0010_weekly")
        with engine.connect() as conn:
            keys = {r[3] for r in conn.exec_driver_sql("PRAGMA foreign_key_list(appointment)")}
            assert keys == {"makeup_for", "person_id", "slot_id"}
            assert conn.execute(select(M.c.appointment_id)).scalar_one() == appointment
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_sample_migrations_go_down_and_up_again(backend: str, tmp_path: Path) -> None:
    """0017 down: the sample's foreign key is back and the guard gone; 0016 down: PostgreSQL
    marks updates row by row again; both up again: as the head has them."""
    from alembic import command
    from sqlalchemy import text

    from testrota.db.schema import alembic_config, upgrade

    def keyed() -> bool:
        return any(
            fk["referred_table"] == "person" for fk in inspect(engine).get_foreign_keys(R.name)
        )

    def row_level_update_marks() -> bool:
        with engine.connect() as conn:
            found = conn.execute(
                text("SELECT tgtype & 1 FROM pg_trigger WHERE tgname = 'rollup_appointment_update'")
            ).scalar_one()
        return bool(found)

    with _fresh_database(backend, tmp_path) as engine:
        upgrade(engine)
        person = _person(engine, "E1")
        _sample(engine, person)
        assert not keyed()
        command.downgrade(alembic_config(engine), "0016_update_marks")
        assert keyed()
        with pytest.raises(IntegrityError), engine.begin() as conn:  # the key refuses it now
            conn.execute(delete(P).where(P.c.id == person))
        if backend == "postgresql":
            assert not row_level_update_marks()
            command.downgrade(alembic_config(engine), "0015_personday")
            assert row_level_update_marks()
        upgrade(engine)
        assert not keyed()
        if backend == "postgresql":
            assert not row_level_update_marks()
        with pytest.raises(IntegrityError), engine.begin() as conn:  # and the guard again
            conn.execute(delete(P).where(P.c.id == person))
