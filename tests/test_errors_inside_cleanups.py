"""A database error inside a block that tidies up after itself reaches the caller as itself.

The results import's staged samples and its planner settings were put back in ``finally``: on
PostgreSQL a statement in an aborted transaction fails ("current transaction is aborted"), and
that error replaced the real one. Two imports of one sheet at once showed it: the duplicate key
that the import answers with "run it again" came out as an InternalError and a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError, InternalError

from testrota.compliance.staging import Staging, staged
from testrota.db.statistics import planner_settings

ONE_SAMPLE = Staging(
    samples={
        "idx": [0],
        "person_id": [1],
        "sampled_at": [datetime(2022, 5, 9, tzinfo=UTC)],
        "result": ["negative"],
        "source": ["S1"],
        "site_code": ["S1"],
        "site_name": ["一号采样点"],
        "day": [738284],
    },
    days=[],
)
BLOCKS: dict[str, Callable[[Connection], AbstractContextManager[Any]]] = {
    "staged samples": lambda conn: staged(conn, ONE_SAMPLE),
    "planner settings": lambda conn: planner_settings(conn, {"enable_nestloop": "off"}),
}


@pytest.mark.parametrize("block", sorted(BLOCKS))
def test_an_error_in_the_block_is_the_error_raised(engine: Engine, block: str) -> None:
    with pytest.raises(DBAPIError) as caught, engine.begin() as conn, BLOCKS[block](conn):
        conn.execute(text("SELECT * FROM no_such_table"))
    assert not isinstance(caught.value, InternalError)
    assert "no_such_table" in str(caught.value.orig)


def test_the_staged_samples_go_with_a_rollback_and_after_the_block(engine: Engine) -> None:
    # Temporary tables: one connection sees its own, so everything runs on one.
    with engine.connect() as conn:

        def staged_left() -> bool:
            with conn.begin():
                found = conn.execute(text("SELECT * FROM compliance_staged_samples LIMIT 0"))
                return found is not None

        with pytest.raises(ZeroDivisionError), conn.begin(), staged(conn, ONE_SAMPLE):
            raise ZeroDivisionError
        with pytest.raises(DBAPIError, match="compliance_staged_samples"):
            staged_left()
        with conn.begin():
            with staged(conn, ONE_SAMPLE) as table:
                assert conn.execute(text(f"SELECT count(*) FROM {table.name}")).scalar_one() == 1
            assert conn.execute(text("SELECT 1")).scalar_one() == 1  # the transaction goes on
        with pytest.raises(DBAPIError, match="compliance_staged_samples"):
            staged_left()
