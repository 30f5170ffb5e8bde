"""Two result sheets at once on PostgreSQL (two clerks, a lab's sheet applied from two browser
tabs, the web and the command line): they queue, the later comparing with what the earlier
committed. Both used to read the samples before either wrote: the later failed on a sample's
key ("run it again")."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, text
from sqlmodel import Session

from testrota.actions.results import ImportResults, import_results
from testrota.audit import Actor
from testrota.db.locks import RESULTS_LOCK
from tests.compliance_fixtures import SH, add_person, app_at, local, policy, write_xlsx
from tests.concurrency_support import finished, in_thread, wait_for_waiters

NOW = local(SH, 2022, 5, 9, 20, 0)
HEADER = ["姓名", "工号", "采样时间", "检测结果", "采样点"]
WAITING = "waiting for another results import"


def test_the_same_sheet_applied_twice_at_once_records_it_once(pg: Engine, tmp_path: Path) -> None:
    with Session(pg) as s:
        for i in range(30):
            add_person(s, f"{i:04d}", grid_unit=f"网格{i % 3}")
        s.commit()
    rows = [
        [f"员工{i:04d}", f"{i:04d}", f"2022-05-09 08:{i:02d}", "阳性" if i == 7 else "阴性", "S1"]
        for i in range(30)
    ]
    sheet = write_xlsx(tmp_path / "lab.xlsx", HEADER, rows)
    app = app_at(pg, NOW, policy())
    said: list[list[str]] = [[], []]
    with pg.connect() as holder:  # a third import at work, as far as these two can tell
        holder.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": RESULTS_LOCK})
        imports = [
            in_thread(
                lambda stages=stages: import_results(
                    app, ImportResults(sheet, Actor.web("lab"), progress=stages.append)
                )
            )
            for stages in said
        ]
        wait_for_waiters(pg, 2)
        holder.commit()
    done = sorted((finished(*i) for i in imports), key=lambda r: r.added)

    assert [(r.added, r.unchanged) for r in done] == [(0, 30), (30, 0)]
    assert [len(r.alerts) for r in done] == [0, 1]  # the positive raised one alert, not two
    assert all(WAITING in stages for stages in said)
    with pg.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM testresult")).scalar_one() == 30
        assert conn.execute(text("SELECT count(*) FROM alert")).scalar_one() == 1


def test_a_dry_run_waits_for_nobody(pg: Engine, tmp_path: Path) -> None:
    with Session(pg) as s:
        add_person(s, "0001")
        s.commit()
    sheet = write_xlsx(
        tmp_path / "lab.xlsx", HEADER, [["", "0001", "2022-05-09 08:00", "阴性", ""]]
    )
    app = app_at(pg, NOW, policy())
    with pg.connect() as holder:
        holder.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": RESULTS_LOCK})
        preview = import_results(app, ImportResults(sheet, Actor.web("lab"), dry_run=True))
    assert preview.added == 1 and preview.dry_run
