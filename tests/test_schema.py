"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

import re

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import CheckConstraint, Engine, insert, inspect
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel

from testrota.db.models import Message
from testrota.statuses import MessageStatus

QUOTED = re.compile(r"'([^']*)'")


def test_the_migrations_build_the_tables_the_models_describe(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []


def test_every_check_constraint_of_the_models_is_in_the_database_with_the_same_values(
    engine: Engine,
) -> None:
    # Alembic does not compare CHECK constraints: a value added to a StrEnum without a
    # migration would pass the test above and be refused by the database in production.
    inspector = inspect(engine)
    for table in SQLModel.metadata.sorted_tables:
        wanted = {
            c.name: set(QUOTED.findall(str(c.sqltext)))
            for c in table.constraints
            if isinstance(c, CheckConstraint)
        }
        found = {
            c["name"]: set(QUOTED.findall(c["sqltext"]))
            for c in inspector.get_check_constraints(table.name)
            if c.get("name")
        }
        assert found == wanted, table.name


def test_the_database_refuses_a_status_it_does_not_know(engine: Engine) -> None:
    from datetime import UTC, datetime

    now = datetime(2022, 5, 9, tzinfo=UTC)

    def text(key: str, status: str) -> None:
        with engine.begin() as conn:
            conn.execute(
                insert(Message).values(
                    kind="digest",
                    dedupe_key=key,
                    to="+8613800000000",
                    body="x",
                    due_at=now,
                    created_at=now,
                    status=status,
                )
            )

    text("a", MessageStatus.SENT)
    with pytest.raises(IntegrityError):
        text("b", "sent-ish")


def test_each_typed_table_is_its_models_own() -> None:
    import testrota.db.models as models
    from testrota.db import tables

    for name, model in vars(models).items():
        table = getattr(model, "__table__", None)
        if isinstance(model, type) and issubclass(model, SQLModel) and table is not None:
            constant = re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper()
            assert getattr(tables, constant) is table, name
