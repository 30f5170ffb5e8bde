"""The stored people an import compares with are read column by column: each is what their
row holds, booleans as booleans, overrides with their reasons, repeated texts kept once."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, select, update
from sqlmodel import Session

from testrota.actions.roster import ImportRoster, import_roster
from testrota.audit import Actor
from testrota.db import tables
from testrota.policy import load_policy
from testrota.roster.service import _load_stored
from testrota.roster.sync import STORED_FIELDS, StoredPerson
from tests.compliance_fixtures import app_at
from tests.conftest import CONFIG_DIR

NOW = datetime(2022, 5, 6, 4, 0, tzinfo=UTC)


def _roster(path: Path) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["工号", "姓名", "部门", "岗位", "手机", "身份证号"])
        out.writerow(["000001", "张三", "冷链车间", "司机", "13800000001", "11010519491231002X"])
        out.writerow(["000002", "李四", "冷链车间", "炼钢工", "12345", ""])
        out.writerow(["000003", "王五", "炼钢厂", "司机", "", ""])
    return path


def test_the_stored_people_are_what_their_rows_hold(engine: Engine, tmp_path: Path) -> None:
    app = app_at(engine, NOW, load_policy(CONFIG_DIR))
    import_roster(app, ImportRoster(_roster(tmp_path / "r.csv"), Actor.cli()))
    people = tables.PERSON
    with engine.begin() as conn:
        conn.execute(
            update(people)
            .where(people.c.employee_no == "000002")
            .values(override_category="driver", override_reason="开叉车")
        )
        conn.execute(update(people).where(people.c.employee_no == "000003").values(active=False))
    with Session(engine) as session:
        got = _load_stored(session)
        rows = session.connection().execute(
            select(
                people.c.id,
                people.c.employee_no,
                people.c.active,
                people.c.override_category,
                *(people.c[name] for name in STORED_FIELDS),
                people.c.override_reason,
            ).order_by(people.c.id)
        )
        expected = {
            row[1]: StoredPerson(row[0], row[1], bool(row[2]), row[3], tuple(row[4:-1]), row[-1])
            for row in rows
        }
    assert got == expected
    assert [p.active for p in got.values()] == [True, True, False]
    assert all(type(p.active) is bool for p in got.values())
    assert got["000002"].override_reason == "开叉车"
    department = STORED_FIELDS.index("department")
    assert got["000001"].values[department] is got["000002"].values[department]
