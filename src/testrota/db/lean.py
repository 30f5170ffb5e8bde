"""The columns the lean read paths select (the missed list, the check for appointments due to
be flagged), as SQLAlchemy Core tables on a metadata of their own.

A command that only reads these need not import the ORM and SQLModel nor build the 37 model
classes, which is most of what ``testrota missed`` spent starting (issue 17: 0.5 s as a whole
process). Each table names a few columns of its model's table, under the same names and types;
``tests/test_db_lean.py`` holds them to the models, so a renamed or retyped column fails there.

Never mix these with the models' tables in one statement: a table of the same name from two
metadata objects is two FROM entries to SQLAlchemy.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Date, Integer, MetaData, String, Table

from testrota.db.types import UTCDateTime

metadata = MetaData()

PERSON = Table(
    "person",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("employee_no", String),
    Column("name", String),
    Column("department", String),
    Column("grid_unit", String),
    Column("unit_id", Integer),
    Column("role", String),
    Column("phone", String),
    Column("active", Boolean),
    Column("person_type", String),
    Column("risk_category", String),
    Column("override_category", String),
)

APPOINTMENT = Table(
    "appointment",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("person_id", Integer),
    Column("starts_at", UTCDateTime),
    Column("ends_at", UTCDateTime),
    Column("status", String),
    Column("site_code", String),
    Column("week", String),
    Column("reason", String),
)

TEST_RESULT = Table(
    "testresult",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("person_id", Integer),
    Column("sampled_at", UTCDateTime),
    Column("result", String),
    Column("source", String),
    Column("site_code", String),
)

EXEMPTION = Table(
    "exemption",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("person_id", Integer),
    Column("start_date", Date),
    Column("end_date", Date),
)
