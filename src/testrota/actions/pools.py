"""Positive pools: the tubes that came back positive, each with its members and how far their
single-tube recheck has got — the alert workflow's view of a pooled positive (there is no
case yet, only a tube and the people in it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session, col

from testrota.app import App
from testrota.auth.scope import Scope
from testrota.db.models import Appointment, Person, TestResult, Tube, TubeMember
from testrota.sampling.states import latest_sample, state_of
from testrota.statuses import AppointmentReason, AppointmentStatus, TubeResult
from testrota.weeks import local_date

MAX_POOLS = 200


@dataclass(frozen=True)
class PoolMember:
    employee_no: str
    name: str
    department: str
    grid_unit: str
    state: str  # pool_positive until the recheck's result: cleared, or positive
    recheck_at: datetime | None  # the single-tube recheck booked, if any
    recheck_site: str | None
    recheck_status: str | None  # scheduled, done, missed …


@dataclass(frozen=True)
class PositivePool:
    tube: str
    site: str
    day: date
    ratio: int
    result_at: datetime | None
    gene_text: str
    ct: float | None
    members: list[PoolMember] = field(default_factory=list)
    hidden: int = 0  # members outside the reader's departments: counted, not named


@dataclass(frozen=True)
class PositivePools:
    days: int = 7  # the positive pools of this many local days, today included
    scope: Scope = field(default_factory=Scope.everything)


def positive_pools(app: App, query: PositivePools) -> list[PositivePool]:
    """Newest first. A supervisor sees the pools that hold someone of their departments, with
    only those people named."""
    now = app.now()
    since = local_date(now, app.policy.tz) - timedelta(days=max(query.days, 1) - 1)
    out: list[PositivePool] = []
    with Session(app.read_engine) as session:
        tubes = list(
            session.scalars(
                select(Tube)
                .where(
                    col(Tube.result) == TubeResult.POSITIVE,
                    col(Tube.ratio) > 1,
                    col(Tube.day) >= since,
                )
                .order_by(col(Tube.day).desc(), col(Tube.code))
                .limit(MAX_POOLS)
            )
        )
        for tube in tubes:
            rows = session.execute(
                select(Person, col(TestResult.sampled_at))
                .join(TubeMember, col(TubeMember.person_id) == col(Person.id))
                .join(TestResult, col(TestResult.id) == col(TubeMember.result_id))
                .where(col(TubeMember.tube_id) == tube.id)
                .order_by(col(TubeMember.added_at), col(TubeMember.id))
            ).all()
            members: list[PoolMember] = []
            hidden = 0
            for person, sampled_at in rows:
                if not query.scope.allows(person.department) or not query.scope.reaches(
                    session.connection(), person.unit_id
                ):
                    hidden += 1
                    continue
                assert person.id is not None
                recheck = session.scalars(
                    select(Appointment)
                    .where(
                        col(Appointment.person_id) == person.id,
                        col(Appointment.reason) == AppointmentReason.RECHECK,
                        col(Appointment.status) != AppointmentStatus.CANCELLED,
                        col(Appointment.created_at) >= sampled_at,
                    )
                    .order_by(col(Appointment.starts_at))
                    .limit(1)
                ).first()
                state = state_of("green", person.active, *latest_sample(session, person.id, now))
                members.append(
                    PoolMember(
                        person.employee_no,
                        person.name,
                        person.department,
                        person.grid_unit,
                        "cleared" if state == "ok" else state,
                        recheck.starts_at if recheck else None,
                        recheck.site_code if recheck else None,
                        recheck.status if recheck else None,
                    )
                )
            if members:
                out.append(
                    PositivePool(
                        tube.code,
                        tube.site_code,
                        tube.day,
                        tube.ratio,
                        tube.result_at,
                        tube.gene_text,
                        tube.ct,
                        members,
                        hidden,
                    )
                )
    return out
