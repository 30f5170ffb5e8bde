"""Removing a foreign key from an SQLite table in place, and putting it back, for the migrations
that drop one.

SQLite cannot drop a foreign key with ALTER TABLE. Rebuilding the table (Alembic's batch mode)
would drop the old one first, and with foreign keys on that deletes its rows, setting every
``ON DELETE SET NULL`` reference to them to NULL. The table's stored definition is edited
instead, the procedure SQLite documents for a change that leaves the stored rows as they are
(https://www.sqlite.org/lang_altertable.html#otheralter).
"""

from __future__ import annotations

import re

import sqlalchemy as sa


def table_sql(bind: sa.Connection, table: str) -> str:
    return str(
        bind.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).scalar_one()
    )


def set_table_sql(bind: sa.Connection, table: str, sql: str) -> None:
    version = int(bind.exec_driver_sql("PRAGMA schema_version").scalar_one())
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.exec_driver_sql(
        "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?", (sql, table)
    )
    bind.exec_driver_sql(f"PRAGMA schema_version = {version + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")
    problems = bind.exec_driver_sql("PRAGMA integrity_check").scalars().all()
    if problems != ["ok"]:
        raise RuntimeError(f"{table}'s definition edited, integrity check says {problems}")


def foreign_keys(bind: sa.Connection, table: str) -> set[str]:
    """The columns of ``table`` that have a foreign key."""
    return {r[3] for r in bind.exec_driver_sql(f"PRAGMA foreign_key_list({table})")}


def drop_foreign_keys(bind: sa.Connection, table: str, keys: dict[str, str]) -> None:
    """Remove the foreign keys ``{referenced table: column}`` from ``table``'s definition."""
    sql = table_sql(bind, table)
    for referred, column in keys.items():
        sql = re.sub(
            rf",\s*(CONSTRAINT \w+ )?FOREIGN KEY\s*\({column}\)\s*REFERENCES\s+\"?{referred}\"?"
            r"\s*\(id\)",
            "",
            sql,
        )
    set_table_sql(bind, table, sql)
    left = foreign_keys(bind, table) & set(keys.values())
    if left:
        raise RuntimeError(f"{table} still has foreign keys on {sorted(left)}")


def add_foreign_keys(bind: sa.Connection, table: str, keys: dict[str, str]) -> None:
    """Put the foreign keys ``{referenced table: column}`` back; refused if a row breaks one."""
    sql = table_sql(bind, table).rstrip()
    assert sql.endswith(")")
    clauses = "".join(
        f", \n\tFOREIGN KEY({column}) REFERENCES {referred} (id)"
        for referred, column in keys.items()
    )
    set_table_sql(bind, table, sql[:-1].rstrip() + clauses + "\n)")
    orphans = bind.exec_driver_sql(f"PRAGMA foreign_key_check({table})").fetchall()
    if orphans:
        raise RuntimeError(f"{len(orphans)} rows of {table} name a missing row")
