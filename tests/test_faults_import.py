"""A roster import killed with SIGKILL half-way through writing: the database is exactly as it
was before, and the next import (of the same file) works."""

from __future__ import annotations

import hashlib
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, make_url, text

from tests.conftest import CONFIG_DIR
from tests.sim_faults import env_for
from tests.sim_procs import ROOT, cli_argv

# Several processes against one database: slow on a loaded machine, bounded all the same.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

sys.path.insert(0, str(ROOT / "benchmarks"))
from generate_roster import generate_roster  # noqa: E402

NOW = "2022-05-06T10:00:00+08:00"


def _snapshot(engine: Engine) -> dict[str, str]:
    """A digest of every table an import writes (and the row counts of the others)."""
    out = {}
    with engine.connect() as conn:
        for table, order in (
            ("person", "employee_no"),
            ("rosterimport", "id"),
            ("auditevent", "id"),
            ("roleoverride", "id"),
        ):
            rows = conn.execute(text(f'SELECT * FROM "{table}" ORDER BY {order}')).all()
            digest = hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()
            out[table] = f"{len(rows)} rows {digest[:16]}"
    return out


def _wait_for_uncommitted_writes(engine: Engine, database_url: str) -> None:
    """Until the import has written part of its transaction: on PostgreSQL its transaction
    has an id (it wrote a row), on SQLite the write-ahead log grows (pages spilled from the
    cache before the commit)."""
    deadline = time.monotonic() + 10
    if engine.dialect.name == "postgresql":
        query = text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL"
        )
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                if conn.execute(query).scalar_one():
                    return
            time.sleep(0.005)
        raise AssertionError("the import never started writing")
    wal = Path(f"{make_url(database_url).database}-wal")
    size = wal.stat().st_size if wal.exists() else 0
    while time.monotonic() < deadline:
        if wal.exists() and wal.stat().st_size > size:
            return
        time.sleep(0.002)
    raise AssertionError("the import never started writing")


def _import(database_url: str, path: Path) -> subprocess.Popen[str]:
    env = env_for(database_url, CONFIG_DIR, None, TESTROTA_NOW=NOW)
    return subprocess.Popen(
        cli_argv("import", str(path), "--full", "--force"),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_an_import_killed_while_writing_leaves_the_database_as_it_was(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    before_file = generate_roster(2000, tmp_path / "before.xlsx", seed=1)
    first = _import(database_url, before_file)
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err[-2000:]
    before = _snapshot(engine)

    # A different roster of 40,000 (a new seed: everyone's details change): a long write.
    big = generate_roster(40_000, tmp_path / "big.xlsx", seed=2)
    if engine.dialect.name == "sqlite":
        raw = engine.raw_connection()  # outside any transaction: empty the log, so that
        try:  # any page the import writes shows
            raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
    victim = _import(database_url, big)
    assert victim.stderr is not None
    seen = []
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        line = victim.stderr.readline()
        seen.append(line)
        if "writing" in line or not line:
            break
    assert any("writing" in line for line in seen), "".join(seen)[-2000:]
    _wait_for_uncommitted_writes(engine, database_url)
    victim.send_signal(signal.SIGKILL)
    victim.wait(30)
    assert victim.returncode == -signal.SIGKILL
    assert victim.stdout is not None and victim.stdout.read() == ""  # it never finished

    assert _snapshot(engine) == before

    # Nothing is left locked or half-done: the same file imports cleanly now.
    again = _import(database_url, big)
    _, err = again.communicate(timeout=600)
    assert again.returncode == 0, err[-2000:]
    after = _snapshot(engine)
    assert after["person"].startswith("40000 rows")  # 2,000 updated, 38,000 added
    assert after["rosterimport"].startswith("2 rows")
