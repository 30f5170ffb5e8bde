"""A roster import lets go of the file's rows and its comparison before its commit.

The commit's roll-ups count again everyone the import changed: at a group, 300,000 people on
top of whatever the import still holds. With the comparison still held, the roster in which
everyone changed peaked at 1,033 MB (the goal: no process above 1 GB).
"""

from __future__ import annotations

import csv
import gc
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, event

from testrota.actions.roster import ImportRoster, import_roster
from testrota.audit import Actor
from testrota.policy import load_policy
from testrota.roster.reader import Workbook
from testrota.roster.sync import RosterDiff
from tests.compliance_fixtures import app_at
from tests.conftest import CONFIG_DIR

NOW = datetime(2022, 5, 6, 4, 0, tzinfo=UTC)


def _roster(path: Path, role: str) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["工号", "姓名", "部门", "岗位", "手机"])
        for i in range(5):
            out.writerow([f"{i:06d}", f"员工{i}", "冷链车间", role, f"1380000{i:04d}"])
    return path


def test_the_import_holds_no_rows_or_comparison_when_its_commit_counts_the_roll_ups(
    engine: Engine, tmp_path: Path
) -> None:
    app = app_at(engine, NOW, load_policy(CONFIG_DIR))
    held: list[int] = []

    def count() -> int:
        return sum(isinstance(o, RosterDiff | Workbook) for o in gc.get_objects())

    def at_commit(conn: Connection) -> None:
        held.append(count())

    gc.collect()
    before = count()  # other tests' in the same process

    event.listen(app.engine, "commit", at_commit)
    try:
        first = import_roster(
            app, ImportRoster(_roster(tmp_path / "a.csv", "冷库搬运工"), Actor.cli())
        )
        again = import_roster(app, ImportRoster(_roster(tmp_path / "b.csv", "司机"), Actor.cli()))
    finally:
        event.remove(app.engine, "commit", at_commit)
    assert (first.added, again.updated) == (5, 5)
    assert held and set(held) == {before}
