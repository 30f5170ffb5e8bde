"""Engines and sessions for SQLite (embedded, WAL) and PostgreSQL."""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event

if TYPE_CHECKING:
    # imported where a session is opened: a command that reads with Core (testrota missed)
    # does not import SQLModel and the ORM
    from sqlmodel import Session

SQLITE_BUSY_TIMEOUT_MS = 30_000

_LIVE: weakref.WeakSet[Engine] = weakref.WeakSet()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine configured for concurrent use by several processes.

    SQLite: WAL so readers never wait for the writer, a busy timeout so writers queue instead of
    failing with "database is locked", foreign keys on, and ``BEGIN IMMEDIATE`` for every
    transaction: a deferred transaction that reads and then writes cannot wait for the lock (SQLite
    fails it at once), so we take the write lock up front and let the busy timeout do the queuing.
    """
    make = _sqlite_engine if url.startswith("sqlite") else _server_engine
    engine = make(url, **kwargs)
    _LIVE.add(engine)
    return engine


def dispose_engines() -> None:
    """Close the pooled connections of every engine still alive, as a command ends: SQLite
    checkpoints its write-ahead log and removes it, PostgreSQL is told goodbye, rather than
    each finding its connection dropped by the exit."""
    for engine in list(_LIVE):
        engine.dispose()


def _sqlite_engine(url: str, **kwargs: Any) -> Engine:
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        **kwargs,
    )

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when a transaction begins.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        if ":memory:" not in url and url not in ("sqlite://", "sqlite:///"):
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _sqlite_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _server_engine(url: str, **kwargs: Any) -> Engine:
    kwargs.setdefault("pool_pre_ping", True)
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _session_settings(dbapi_conn: Any, _record: Any) -> None:
        # psycopg prepares a statement on the server once it has run a few times, and the
        # server then plans it once for any parameters (a "generic" plan) when that looks no
        # dearer. For a few people's rows in a week (``person_id = ANY(:ids)`` and a range of
        # ``starts_at``) the generic plan guesses the range at 0.5 % of the table and ANDs it
        # with the people's index: it reads the whole week's 600,000 index entries at 300,000
        # people (13 ms) where the plan for the actual parameters reads their 50 rows (0.05 ms).
        # Statements stay prepared (parsed once); each run is planned for its own values.
        #
        # No JIT: PostgreSQL compiles a statement whose estimated cost passes jit_above_cost,
        # and the estimates of statements over rows the same transaction wrote (a trigger's
        # transition tables, an import's staging table, an outbox claim's EXISTS) run to
        # millions: a results import of 300,000 rows spent 0.45 s compiling two statements,
        # a claim of a few texts 0.4 s. No page, job or report measured faster with it.
        with dbapi_conn.cursor() as cur:
            cur.execute("SET plan_cache_mode = force_custom_plan")
            cur.execute("SET jit = off")
        dbapi_conn.commit()

    return engine


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    from sqlmodel import Session

    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def core(bind: Session | Connection) -> Connection:
    """The Core connection behind ``bind`` (an ORM session, or a connection already), for a
    Core statement of the session's transaction. Through ``Session.execute`` such a statement
    also goes through the ORM's compile state and result loading, which it does not use: a
    tenth of a check-in's CPU, over its four reads of appointments, samples, exemptions and
    slots. The session's pending changes are flushed first, as its autoflush would have."""
    if isinstance(bind, Connection):
        return bind
    if bind.autoflush:
        bind.flush()
    return bind.connection()


@contextmanager
def lookup(engine: Engine) -> Iterator[Connection]:
    """A connection for a read of a statement or two that needs no transaction of its own:
    the sign-in behind every request, a scan's kept answer, whether anything is due to be
    flagged.

    On PostgreSQL it runs in autocommit. A transaction there costs its ``BEGIN`` and its end
    (a ``COMMIT``, or the ``ROLLBACK`` on return to the pool), each a round trip and a wake-up
    of the server, for nothing: under READ COMMITTED each statement reads its own snapshot
    either way. Those two were half the round trips of a signed-in request's sign-in check.
    SQLite's driver begins no transaction for a read, so its connections are left as they are.
    """
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            # set on the driver's connection, no round trip; the pool restores it on return
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn


def make_read_engine(engine: Engine) -> Engine:
    """A read-only engine for reads that never write.

    The shared engine begins every SQLite transaction with ``BEGIN IMMEDIATE`` (the write lock), as
    services that read and then write need. A page that only reads does not: in WAL mode readers
    never wait for the writer, so the request's own session (the signed-in user, lists, the person
    page) uses this engine, which leaves SQLite's default deferred transactions alone and sets
    ``query_only`` so nothing can be written through it by mistake. On PostgreSQL the shared engine
    serves both.
    """
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        # an in-memory database is the engine's own: a second engine would open another, empty
        return engine
    url = engine.url.render_as_string(hide_password=False)
    reader = create_engine(
        url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    )

    @event.listens_for(reader, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA query_only=ON")
        cur.close()

    _LIVE.add(reader)
    return reader


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"
