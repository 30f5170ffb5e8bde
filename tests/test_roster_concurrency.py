"""Writers of the people at the same time, on PostgreSQL: several web and worker processes share
one database, so two clerks (or one clerk's second click on Apply) import a roster at once, and
a report builds the unit tree while an import runs.

Each used to read what was stored, work out what to write from that and write it; the later one
failed on a duplicate key (the group's root unit, a new person's employee number) with a
traceback for its user. Now they queue: the later one waits for the first to commit and then
compares with what it wrote; a plan waits for an import at work, so a leaver it lets go is not
booked again; a role mapped meanwhile holds for the rows it writes; a person erased meanwhile
stays erased. SQLite's writers already queue, each transaction beginning with the write lock
(``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from testrota.actions.plan import PlanWeek, plan_week
from testrota.actions.privacy import ErasePerson, erase_person
from testrota.actions.risk import MapRole, map_role
from testrota.actions.roster import ImportRoster, import_roster
from testrota.actions.units import ensure_units
from testrota.audit import Actor
from testrota.db.locks import PEOPLE_LOCK
from testrota.policy import load_policy
from tests.compliance_fixtures import add_person, app_at
from tests.concurrency_support import Paused, finished, in_thread, wait_for_waiters
from tests.conftest import CONFIG_DIR

NOW = datetime(2022, 5, 6, 4, 0, tzinfo=UTC)
WAITING = "waiting for another roster import"


def _roster(path: Path, people: int, role: str = "司机") -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["工号", "姓名", "部门", "网格", "岗位", "手机"])
        for i in range(people):
            out.writerow(
                [f"{i:06d}", f"员工{i}", f"车间{i % 3}", f"网格{i % 6}", role, f"1380000{i:04d}"]
            )
    return path


def test_a_second_import_of_a_roster_waits_for_the_first_and_finds_it_written(
    pg: Engine, tmp_path: Path
) -> None:
    roster = _roster(tmp_path / "roster.csv", 60)
    app = app_at(pg, NOW, load_policy(CONFIG_DIR))
    held = Paused()  # compared, about to write: the moment the second used to fail
    stages: list[str] = []
    first, first_out = in_thread(
        lambda: import_roster(app, ImportRoster(roster, Actor.cli(), progress=held))
    )
    held.wait()
    second, second_out = in_thread(
        lambda: import_roster(app, ImportRoster(roster, Actor.cli(), progress=stages.append))
    )
    wait_for_waiters(pg, 1)
    held.go_on()

    a, b = finished(first, first_out), finished(second, second_out)
    assert (a.added, a.unchanged) == (60, 0)
    assert (b.added, b.updated, b.unchanged) == (0, 0, 60)  # compared with the first's rows
    assert stages[:2] == ["reading", WAITING] and "comparing" in stages
    with pg.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM person")).scalar_one() == 60
        roots = conn.execute(text("SELECT count(*) FROM orgunit WHERE level = 0")).scalar_one()
        assert roots == 1
        assert conn.execute(text("SELECT count(*) FROM rosterimport")).scalar_one() == 2


def test_an_import_alone_does_not_say_it_waited(pg: Engine, tmp_path: Path) -> None:
    stages: list[str] = []
    app = app_at(pg, NOW, load_policy(CONFIG_DIR))
    roster = _roster(tmp_path / "roster.csv", 3)
    import_roster(app, ImportRoster(roster, Actor.cli(), progress=stages.append))
    assert stages == ["reading", "comparing", "writing"]


def test_two_placings_of_the_unit_tree_queue_and_the_second_finds_nothing_to_do(
    pg: Engine, session: Any
) -> None:
    # People from before the unit tree (an upgrade): the first report, digest or mode to come
    # places them all, and two used to race to add the same units.
    for i in range(12):
        add_person(session, f"{i:04d}", department=f"车间{i % 2}", grid_unit=f"网格{i % 4}")
    session.commit()
    app = app_at(pg, NOW, load_policy(CONFIG_DIR))
    with pg.connect() as holder:  # a roster import at work, as far as the others can tell
        holder.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PEOPLE_LOCK})
        placings = [in_thread(lambda: ensure_units(app, Actor.cli())) for _ in range(2)]
        wait_for_waiters(pg, 2)
        holder.commit()
    done = [finished(thread, out) for thread, out in placings]

    assert sorted(d is None for d in done) == [False, True]
    placed = next(d for d in done if d is not None)
    assert placed.people_moved == 12
    with pg.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM person WHERE unit_id IS NULL")).scalar() == 0
        paths = conn.execute(text("SELECT path FROM orgunit")).scalars().all()
        assert len(paths) == len(set(paths)) == 1 + 2 + 4  # the group, 2 departments, 4 grids
        synced = "SELECT count(*) FROM auditevent WHERE action = 'units.synced'"
        assert conn.execute(text(synced)).scalar_one() == 1


def test_a_plan_made_while_an_import_lets_someone_go_does_not_book_them(
    pg: Engine, tmp_path: Path
) -> None:
    app = app_at(pg, NOW, load_policy(CONFIG_DIR))
    import_roster(app, ImportRoster(_roster(tmp_path / "all.csv", 20), Actor.cli()))
    leaver = "000005"
    rest = tmp_path / "rest.csv"
    with (
        (tmp_path / "all.csv").open(encoding="utf-8") as fh,
        rest.open("w", encoding="utf-8") as out,
    ):
        out.writelines(line for line in fh if not line.startswith(leaver))
    held = Paused()  # the leaver's coming appointments released, not committed
    full = ImportRoster(rest, Actor.cli(), full=True, progress=held)
    leaving, leaving_out = in_thread(lambda: import_roster(app, full))
    held.wait()
    planning, planning_out = in_thread(lambda: plan_week(app, PlanWeek(Actor.cli(), "2022-W19")))
    wait_for_waiters(pg, 1)  # the plan waits for the import to commit
    held.go_on()

    assert finished(leaving, leaving_out).deactivated == 1
    finished(planning, planning_out)
    booked = text(
        "SELECT p.employee_no, count(*) FROM appointment a JOIN person p ON p.id = a.person_id "
        "WHERE a.status = 'scheduled' GROUP BY p.employee_no"
    )
    with pg.connect() as conn:
        per_person = {no: n for no, n in conn.execute(booked)}
    assert leaver not in per_person
    assert len(per_person) == 19 and set(per_person.values()) == {2}


def test_a_role_mapped_while_an_import_gives_people_that_role_holds_for_them(
    pg: Engine, tmp_path: Path
) -> None:
    app = app_at(pg, NOW, load_policy(CONFIG_DIR))
    import_roster(app, ImportRoster(_roster(tmp_path / "before.csv", 10, "炼钢工"), Actor.cli()))
    drivers = _roster(tmp_path / "drivers.csv", 10, "司机")  # everyone becomes a driver
    held = Paused()  # compared with 司机 still a driver's title
    updating, updating_out = in_thread(
        lambda: import_roster(app, ImportRoster(drivers, Actor.cli(), progress=held))
    )
    held.wait()
    not_risky = MapRole("司机", "none", "drives inside the plant only", Actor.cli())
    mapping, mapping_out = in_thread(lambda: map_role(app, not_risky))
    wait_for_waiters(pg, 1)  # the mapping waits for the import to commit
    held.go_on()

    assert finished(updating, updating_out).updated == 10
    assert finished(mapping, mapping_out).affected == 10
    with pg.connect() as conn:
        rows = conn.execute(text("SELECT role, risk_category FROM person")).all()
    assert set(rows) == {("司机", None)}  # the mapping holds for every driver


def test_a_person_erased_while_an_import_updates_them_stays_erased(
    pg: Engine, tmp_path: Path
) -> None:
    app = app_at(pg, NOW, load_policy(CONFIG_DIR))
    import_roster(app, ImportRoster(_roster(tmp_path / "before.csv", 3), Actor.cli()))
    moved = tmp_path / "moved.csv"  # everyone's phone changed: the import updates every row
    with (tmp_path / "before.csv").open(encoding="utf-8") as fh, moved.open("w") as out:
        out.writelines(line.replace(",1380000", ",1390000") for line in fh)
    held = Paused()
    updating, updating_out = in_thread(
        lambda: import_roster(app, ImportRoster(moved, Actor.cli(), progress=held))
    )
    held.wait()
    request = ErasePerson("000001", "the person asked", Actor.cli(), deactivate=True)
    erasing, erasing_out = in_thread(lambda: erase_person(app, request))
    wait_for_waiters(pg, 1)  # the erasure waits for the import to commit
    held.go_on()

    assert finished(updating, updating_out).updated == 3
    erased = finished(erasing, erasing_out).employee_no
    with pg.connect() as conn:
        phones = {no: p for no, p in conn.execute(text("SELECT employee_no, phone FROM person"))}
    assert "000001" not in phones and phones[erased] is None  # nothing of theirs written back
    assert phones["000000"] == "+8613900000000"
