"""`TESTROTA_READ_DATABASE_URL`: reads that may lag go to the replica, every write and the
reads a write depends on go to the primary, and the primary can stand in for the replica.

SQLite plays both parts here: the "replica" is a copy of the primary taken before a change, so
a read that went to it shows the older data.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from testrota.cli.main import app
from tests.conftest import CONFIG_DIR

HEADER = "工号,姓名,部门,岗位,手机号\n"
NOW = "2022-05-10T09:00:00+08:00"


def _run(env: dict[str, str], *args: str) -> Any:
    result = CliRunner().invoke(app, list(args), env={"TESTROTA_NOW": NOW, **env})
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout) if "--json" in args else result.stdout


def _roster(path: Path, rows: list[str]) -> str:
    path.write_text(HEADER + "".join(f"{r}\n" for r in rows), encoding="utf-8")
    return str(path)


def _copy(source: Path, target: Path) -> None:
    # The backup API copies a consistent database, WAL included.
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


def _numbers(people: list[dict[str, Any]]) -> list[str]:
    return sorted(p["employee_no"] for p in people)


def test_reads_lag_on_the_replica_while_writes_reach_the_primary(tmp_path: Path) -> None:
    primary, replica = tmp_path / "primary.db", tmp_path / "replica.db"
    env = {"TESTROTA_DATABASE_URL": f"sqlite:///{primary}", "TESTROTA_CONFIG_DIR": str(CONFIG_DIR)}
    _run(env, "init")
    first = _roster(
        tmp_path / "a.csv",
        ["0001,张三,冷链车间,冷库搬运工,13800000001", "0002,李四,食堂,厨师,13800000002"],
    )
    _run(env, "import", first, "--json")
    _copy(primary, replica)
    later = _roster(tmp_path / "b.csv", ["0003,王五,食堂,厨师,13800000003"])
    _run(env, "import", later, "--json")

    lagging = {**env, "TESTROTA_READ_DATABASE_URL": f"sqlite:///{replica}"}
    # A listing reads the replica: the newcomer is not there yet.
    assert _numbers(_run(lagging, "people", "--json")) == ["0001", "0002"]
    # A check-in is a write: it finds the newcomer on the primary and records it there.
    checked = _run(lagging, "checkin", "0003", "--site", "NORTH", "--json")
    assert checked["employee_no"] == "0003"
    with sqlite3.connect(primary) as db:
        assert db.execute("SELECT count(*) FROM testresult").fetchone() == (1,)
    with sqlite3.connect(replica) as db:
        assert db.execute("SELECT count(*) FROM testresult").fetchone() == (0,)

    # The primary standing in for the replica: everything is current.
    standing_in = {**env, "TESTROTA_READ_DATABASE_URL": env["TESTROTA_DATABASE_URL"]}
    assert _numbers(_run(standing_in, "people", "--json")) == ["0001", "0002", "0003"]
    # --db names one database for everything: it clears the read URL.
    assert _numbers(_run(lagging, "people", "--json", "--db", f"sqlite:///{primary}")) == [
        "0001",
        "0002",
        "0003",
    ]


def test_the_web_lists_from_the_replica_and_signs_in_and_checks_in_on_the_primary(
    tmp_path: Path,
) -> None:
    from fastapi.testclient import TestClient

    from testrota.db.engine import make_engine
    from testrota.web.app import create_app
    from tests.web_support import csrf_of, make_user, sign_in, web_settings_for

    primary, replica = tmp_path / "primary.db", tmp_path / "replica.db"
    env = {"TESTROTA_DATABASE_URL": f"sqlite:///{primary}", "TESTROTA_CONFIG_DIR": str(CONFIG_DIR)}
    _run(env, "init")
    first = _roster(tmp_path / "a.csv", ["0001,张三,冷链车间,冷库搬运工,13800000001"])
    _run(env, "import", first, "--json")
    engine = make_engine(env["TESTROTA_DATABASE_URL"])
    make_user(engine, "hr1", "hr")
    engine.dispose()
    _copy(primary, replica)
    _run(env, "import", _roster(tmp_path / "b.csv", ["0003,王五,食堂,厨师,13800000003"]), "--json")

    settings = web_settings_for(
        env["TESTROTA_DATABASE_URL"], read_database_url=f"sqlite:///{replica}"
    )
    with TestClient(create_app(settings), headers={"Accept-Language": "en"}) as client:
        # The sign-in is written to the primary; the next request must find it there, not on
        # a replica that has not caught up.
        sign_in(client, "hr1")
        people = client.get("/api/people")
        assert people.status_code == 200
        assert _numbers(people.json()["people"]) == ["0001"]
        token = csrf_of(client, "/checkin")
        checked = client.post(
            "/api/checkin",
            json={"employee_no": "0003", "site": "NORTH"},
            headers={"X-CSRF-Token": token},
        )
        assert checked.status_code == 200, checked.text
        assert checked.json()["employee_no"] == "0003"
