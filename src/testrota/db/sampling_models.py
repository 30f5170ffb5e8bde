"""Tables of sampling day: pooled tubes (混管) and which sample went into which tube.

Imported by :mod:`testrota.db.models`, so the metadata and the migrations see them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from testrota.db.models import _dt, _one_of
from testrota.statuses import TUBE_RATIOS, TubeResult, TubeStatus


class Tube(SQLModel, table=True):
    """One tube: a barcode used once, at one site on one day, for up to ``ratio`` swabs."""

    __table_args__ = (
        Index("ix_tube_day_site", "day", "site_code"),
        _one_of("status", TubeStatus, "tube"),
        _one_of("result", TubeResult, "tube"),
        CheckConstraint(
            f"ratio IN ({', '.join(str(r) for r in TUBE_RATIOS)})", name="ck_tube_ratio"
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=40)  # the barcode on the tube
    site_code: str = Field(max_length=40)
    day: date  # the local day it was opened: a code is used on one day only
    ratio: int
    status: str = Field(default=TubeStatus.OPEN, max_length=10)
    # The grid unit of its members while policy testing.keep_grid_units_apart holds ("" until
    # the first member).
    grid_unit: str = Field(default="", max_length=200)
    opened_at: datetime = _dt()
    opened_by: str = Field(default="", max_length=100)
    closed_at: datetime | None = _dt(default=None)
    closed_by: str | None = Field(default=None, max_length=100)
    packed_at: datetime | None = _dt(default=None)
    packed_by: str | None = Field(default=None, max_length=100)
    result: str | None = Field(default=None, max_length=20)
    gene_text: str = Field(default="", max_length=400)  # "ORF1ab 阴性, N 基因阴性"
    ct: float | None = None  # the lowest Ct the lab reported, when it did
    result_at: datetime | None = _dt(default=None)


class TubeMember(SQLModel, table=True):
    """A sample (a check-in's pending result) in a tube. Goes with the sample or the person
    (retention, erasure)."""

    __table_args__ = (UniqueConstraint("tube_id", "person_id"),)
    id: int | None = Field(default=None, primary_key=True)
    tube_id: int = Field(foreign_key="tube.id", index=True, ondelete="CASCADE")
    person_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    result_id: int = Field(foreign_key="testresult.id", unique=True, ondelete="CASCADE")
    added_at: datetime = _dt()
    added_by: str = Field(default="", max_length=100)


class ScanReceipt(SQLModel, table=True):
    """The answer to one scan of the scan console, by the browser's id for it: a scan sent
    again (a retry after a network drop, a queue replayed) gets this answer back and changes
    nothing. Kept for a few days (testrota.actions.scans)."""

    key: str = Field(primary_key=True, max_length=64)
    actor: str = Field(default="", max_length=100)
    at: datetime = _dt(index=True)
    kind: str = Field(max_length=10)
    answer: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
