"""Several processes running ``testrota init`` as they start, on one new PostgreSQL database (a
deployment's web and worker processes, each upgrading the schema first): they queue, and each
after the first finds the schema at the newest revision. All but one used to fail on a
duplicate catalog key."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import make_url, text

from testrota.db.engine import make_engine
from testrota.db.locks import SCHEMA_LOCK
from testrota.db.schema import current_revision, head_revision
from tests.concurrency_support import waiting_on_locks
from tests.conftest import CONFIG_DIR, PG_URL, _create_pg_database
from tests.sim_procs import cli_argv

pytestmark = pytest.mark.skipif(PG_URL is None, reason="PostgreSQL's schema upgrades")


@pytest.fixture
def new_database() -> Iterator[str]:
    assert PG_URL is not None
    url, admin = _create_pg_database(PG_URL)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def test_three_inits_at_once_all_succeed(new_database: str) -> None:
    engine = make_engine(new_database)
    env = {"TESTROTA_DATABASE_URL": new_database, "TESTROTA_CONFIG_DIR": str(CONFIG_DIR)}
    try:
        with engine.connect() as holder:  # the first upgrade at work, as the others see it
            holder.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SCHEMA_LOCK})
            inits = [
                subprocess.Popen(
                    cli_argv("init", "--json"),
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                for _ in range(3)
            ]
            deadline = time.monotonic() + 60
            while waiting_on_locks(engine) < 3:
                assert time.monotonic() < deadline, "the inits never queued"
                assert all(p.poll() is None for p in inits), "an init ended without queueing"
                time.sleep(0.02)
            holder.commit()
        for p in inits:
            out, err = p.communicate(timeout=120)
            assert p.returncode == 0, err[-2000:]
            assert f'"revision": "{head_revision()}"' in out
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()
