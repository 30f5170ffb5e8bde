"""Advisory locks taken many to a statement: each lock held, in its mode, until the
transaction ends, however many there are."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, event, text

from testrota.db.locks import LOCKS_A_STATEMENT, take_locks


def _held(engine: Engine) -> dict[int, str]:
    """Advisory locks granted now, from another connection: 64-bit key -> mode."""
    query = text(
        "SELECT (classid::bigint << 32) | objid::bigint, mode FROM pg_locks "
        "WHERE locktype = 'advisory' AND granted AND objsubid = 1"
    )
    with engine.connect() as other:
        return {int(key): str(mode) for key, mode in other.execute(query)}


def test_every_lock_is_held_in_its_mode_until_the_transaction_ends(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's")
    base = 0x5A << 56
    wanted = [(base | n, n % 3 == 0) for n in range(LOCKS_A_STATEMENT + 500)]
    statements: list[str] = []
    with engine.begin() as conn:
        conn.exec_driver_sql("SELECT 1")

        def note(*args: object) -> None:
            statements.append(str(args[2]))

        event.listen(conn, "before_cursor_execute", note)
        take_locks(conn, wanted)
        event.remove(conn, "before_cursor_execute", note)
        held = {k: m for k, m in _held(engine).items() if k >> 56 == 0x5A}
        assert held == {k: "ShareLock" if s else "ExclusiveLock" for k, s in wanted}
        assert len(statements) == 2  # 1,500 locks, a thousand a statement
        # another transaction waits for an exclusive one, and may share a shared one
        with engine.connect() as other:
            try_exclusive = "SELECT pg_try_advisory_xact_lock(:k)"
            try_shared = "SELECT pg_try_advisory_xact_lock_shared(:k)"
            assert other.execute(text(try_exclusive), {"k": base | 1}).scalar_one() is False
            assert other.execute(text(try_shared), {"k": base | 3}).scalar_one() is True
            assert other.execute(text(try_exclusive), {"k": base | 3}).scalar_one() is False
            other.rollback()
    assert not [k for k in _held(engine) if k >> 56 == 0x5A]
