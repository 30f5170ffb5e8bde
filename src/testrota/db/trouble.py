"""A database error a person can act on, as a :class:`~testrota.errors.UserError`.

A wrong ``TESTROTA_DATABASE_URL``, a server that is down, a database nobody has run ``testrota
init`` on, another process that got there first: each reached the command line as forty lines
of traceback ending in the driver's words. They are the setting's fault or the moment's, not a
bug, and each has a fix to say. Anything else stays an error with its traceback: that one is a
bug to report.
"""

from __future__ import annotations

from enum import StrEnum

from testrota.errors import UserError

# PostgreSQL's SQLSTATEs (https://www.postgresql.org/docs/current/errcodes-appendix.html)
_NO_SCHEMA = {"42P01", "42703", "3F000"}  # undefined table, column, schema
# connection exceptions (class 08) are matched by their class
_UNREACHABLE = {"28000", "28P01", "3D000", "57P01", "57P02", "57P03", "53300"}
_BUSY = {"40001", "40P01", "55P03", "57014"}  # serialization, deadlock, lock or statement time-out


class DatabaseTrouble(UserError):
    """The database could not do what the command asked, for a reason outside the command:
    exit 1, the server or the moment (a database without the schema is a setup step missed,
    exit 2 as any other input to fix)."""

    exit_code = 1


class Trouble(StrEnum):
    CONFLICT = "conflict"  # another writer got there first, or a row referred to is gone
    NO_SCHEMA = "no_schema"  # ``testrota init`` not run, or not since an upgrade
    BUSY = "busy"  # a lock or statement time-out, a deadlock, a serialisation failure
    UNREACHABLE = "unreachable"  # no server there, no such database or user, no such file


def trouble_of(exc: BaseException) -> tuple[Trouble, str] | None:
    """Which trouble ``exc`` is and the driver's words for it; None when it is no such
    database error (a bug: let it show its traceback)."""
    if not type(exc).__module__.startswith("sqlalchemy"):
        return None
    from sqlalchemy.exc import DBAPIError, IntegrityError

    if not isinstance(exc, DBAPIError):
        return None
    state = getattr(exc.orig, "sqlstate", None)
    reason = _reason(exc.orig)
    lowered = reason.lower()
    if isinstance(exc, IntegrityError):
        return Trouble.CONFLICT, reason
    if state in _NO_SCHEMA or lowered.startswith(("no such table", "no such column")):
        return Trouble.NO_SCHEMA, reason
    if state in _BUSY or lowered.startswith("database is locked"):
        return Trouble.BUSY, reason
    if _unreachable(exc, state):
        return Trouble.UNREACHABLE, reason
    return None


def database_trouble(exc: BaseException) -> DatabaseTrouble | None:
    """What to tell the person at the command line about ``exc``; None when it is no such
    database error."""
    found = trouble_of(exc)
    if found is None:
        return None
    trouble, reason = found
    if trouble is Trouble.CONFLICT:
        return DatabaseTrouble(
            "the database refused the change: another one got there first, or something it "
            "refers to is gone ({reason}); run the command again",
            reason=reason,
        )
    if trouble is Trouble.NO_SCHEMA:
        missed = DatabaseTrouble(
            "the database has no testrota tables, or older ones than this version ({reason}): "
            "run `testrota init` (it creates or upgrades them), then this command again",
            reason=reason,
        )
        missed.exit_code = 2
        return missed
    if trouble is Trouble.BUSY:
        return DatabaseTrouble(
            "the database was too busy to finish ({reason}); run the command again",
            reason=reason,
        )
    if hasattr(getattr(exc, "orig", None), "sqlite_errorname"):
        return DatabaseTrouble(
            "cannot open the database: {reason}. Check TESTROTA_DATABASE_URL (or --db): its "
            "folder must exist and be writable",
            reason=reason,
        )
    return DatabaseTrouble(
        "cannot use the database: {reason}. Check TESTROTA_DATABASE_URL (or --db) and that "
        "the server is running, then run the command again",
        reason=reason,
    )


def _unreachable(exc: BaseException, state: str | None) -> bool:
    from sqlalchemy.exc import InterfaceError, OperationalError

    if not isinstance(exc, OperationalError | InterfaceError):
        return False
    if state is not None:
        return state.startswith("08") or state in _UNREACHABLE
    # The driver's own failures carry no SQLSTATE: a refused or dropped connection
    # (psycopg), a file that cannot be opened (SQLite).
    sqlite = getattr(exc.orig, "sqlite_errorname", None)
    return sqlite is None or sqlite in {"SQLITE_CANTOPEN", "SQLITE_NOTADB", "SQLITE_READONLY"}


def _reason(orig: BaseException | None) -> str:
    """The driver's message, first line, without the 'connection failed:' it starts with."""
    lines = str(orig or "").strip().splitlines()
    text = (lines[0] if lines else "").removeprefix("connection failed: ").replace("FATAL:  ", "")
    return text[:300] or type(orig).__name__
