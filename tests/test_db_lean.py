"""The lean read paths' Core tables (testrota.db.lean) are their models' tables, column for
column: same names, types the same or of the same kind, and the primary key where it is."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Table
from sqlalchemy.types import TypeDecorator, TypeEngine
from sqlmodel import SQLModel

import testrota.db.models  # noqa: F401  (defines the models' tables)
from testrota.db import lean
from testrota.db.types import UTCDateTime


def _kind(sql_type: TypeEngine[Any]) -> type:
    """The Python type a column reads as (through a decorator such as SQLModel's AutoString)."""
    inner = sql_type.impl_instance if isinstance(sql_type, TypeDecorator) else sql_type
    return inner.python_type


LEAN = [lean.PERSON, lean.APPOINTMENT, lean.TEST_RESULT, lean.EXEMPTION]


@pytest.mark.parametrize("table", LEAN, ids=lambda t: t.name)
def test_each_lean_column_is_its_models_column(table: Table) -> None:
    model = SQLModel.metadata.tables[table.name]
    for column in table.columns:
        assert column.name in model.c, f"{table.name}.{column.name} is not a model column"
        theirs = model.c[column.name]
        # a String of the lean table is SQLModel's AutoString (text either way); UTCDateTime
        # must be exact, since it is what tags the datetimes read back as UTC
        assert _kind(theirs.type) is _kind(column.type), (table.name, column.name)
        assert isinstance(theirs.type, UTCDateTime) == isinstance(column.type, UTCDateTime), (
            table.name,
            column.name,
        )
        assert theirs.primary_key == column.primary_key, (table.name, column.name)


def test_the_lean_tables_sit_on_a_metadata_of_their_own() -> None:
    # sharing the models' metadata would make the models' tables clash with these
    assert lean.metadata is not SQLModel.metadata
    assert all(t.metadata is lean.metadata for t in LEAN)


def test_a_drifted_column_would_fail() -> None:
    from sqlalchemy import Column, Integer, MetaData

    drifted = Table("appointment", MetaData(), Column("starts_at", Integer))
    model = SQLModel.metadata.tables["appointment"]
    assert _kind(model.c["starts_at"].type) is not _kind(drifted.c["starts_at"].type)
