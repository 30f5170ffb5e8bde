"""Tables. The database is the source of truth for people, plans and every work item.

Every datetime column is :class:`UTCDateTime` (aware UTC in, aware UTC out). Dates that are
calendar facts of a site (a person's leave, an ISO week) are stored as ``date`` or text.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    Index,
    LargeBinary,
    UniqueConstraint,
    false,
    text,
)
from sqlmodel import Field, SQLModel

from testrota.db.types import UTCDateTime
from testrota.statuses import (
    AlertStatus,
    AppointmentReason,
    AppointmentStatus,
    ContactReason,
    JobRunStatus,
    MessageStatus,
    NotifyChannel,
    OfferStatus,
    PersonType,
    ResultValue,
    Role,
    UnitKind,
    UnitMode,
    check_in_values,
)


def _dt(**kwargs: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kwargs)


def _one_of(column: str, enum: type[StrEnum], table: str) -> CheckConstraint:
    return CheckConstraint(check_in_values(column, enum), name=f"ck_{table}_{column}")


class OrgUnit(SQLModel, table=True):
    """A unit of the group (company, plant, workshop, team) or a grid unit, as a tree.

    ``path`` is materialised (``本钢集团/板材公司/炼钢厂``), so "a unit and everything below it"
    is one prefix condition on an indexed column; ``level`` is its depth (the root is 0).
    """

    __table_args__ = (_one_of("kind", UnitKind, "orgunit"),)
    id: int | None = Field(default=None, primary_key=True)
    parent_id: int | None = Field(default=None, foreign_key="orgunit.id", index=True)
    path: str = Field(unique=True, max_length=400)
    name: str = Field(max_length=100)
    level: int = 0
    kind: str = Field(default=UnitKind.UNIT, max_length=10)
    code: str | None = Field(default=None, max_length=40)
    created_at: datetime = _dt()


class Person(SQLModel, table=True):
    # /metrics counts active people by category from this index alone (no table scan)
    __table_args__ = (
        Index("ix_person_active_category", "active", "risk_category", "opted_out"),
        # a department's people in grid-unit order, with whether they are active: the filter
        # forms' grid units read this index alone (0022_person_department_grid), and it
        # serves every look-up by department as the department's own index did
        Index("ix_person_department_grid", "department", "grid_unit", "active"),
        _one_of("person_type", PersonType, "person"),
        _one_of("notify_channel", NotifyChannel, "person"),
    )
    id: int | None = Field(default=None, primary_key=True)
    employee_no: str = Field(index=True, unique=True, max_length=64)
    name: str = Field(max_length=200)
    department: str = Field(default="", max_length=200)
    grid_unit: str = Field(default="", max_length=200)
    # The roster's unit below the group's root ("板材公司/炼钢厂/转炉车间"), from its path column
    # or its level columns; a flat roster's department. ``unit_id`` is where it sits in the
    # tree (its grid unit when it has one), kept in step by testrota.org.units.sync_units.
    # Server defaults on the group's columns: rows written without them (older code, bulk
    # loaders) stay valid.
    unit_path: str = Field(default="", max_length=400, sa_column_kwargs={"server_default": ""})
    # orgunit.id, without a foreign key checked per row: a guard on orgunit refuses deleting a
    # unit people name (0025_rollup_unit_refs)
    unit_id: int | None = Field(default=None, index=True)
    # lives on site (驻厂): the onsite mode tests them daily
    on_site: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    # holds a key post (关键岗位): the daily report checks each post had someone tested
    key_post: bool = Field(default=False, index=True, sa_column_kwargs={"server_default": false()})
    role: str = Field(default="", max_length=200)
    phone: str | None = Field(default=None, index=True, max_length=32)  # E.164 or None
    phone_raw: str = Field(default="", max_length=64)
    phone_valid: bool = True
    id_number: str | None = Field(default=None, index=True, max_length=32)
    person_type: str = Field(default=PersonType.EMPLOYEE, max_length=20)
    host_employee_no: str | None = Field(default=None, max_length=64)
    language: str = Field(default="zh", max_length=8)
    shift: str = Field(default="day", max_length=20)
    vaccination: str = Field(default="", max_length=100)
    # The roster's 通知方式 (sms | wecom; unset: by the phone's region) and 企业微信账号.
    notify_channel: str | None = Field(default=None, max_length=10)
    wecom_userid: str | None = Field(default=None, max_length=64)
    booster: bool | None = None
    category_column: str | None = Field(default=None, max_length=100)  # as written in the roster
    risk_category: str | None = Field(default=None, index=True, max_length=40)
    risk_categories: str = Field(default="", max_length=400)  # comma-separated codes
    matched_by: str | None = Field(default=None, max_length=20)
    matched_text: str | None = Field(default=None, max_length=200)
    override_category: str | None = Field(default=None, max_length=40)  # "" = not high-risk
    override_reason: str | None = Field(default=None, max_length=400)
    active: bool = Field(default=True, index=True)
    opted_out: bool = False
    created_at: datetime = _dt()
    updated_at: datetime = _dt()
    deactivated_at: datetime | None = _dt(default=None)


class RoleOverride(SQLModel, table=True):
    """HR's mapping of a role title (optionally within one department) to a category.

    ``category`` None means "explicitly not high-risk" for that title.
    """

    __table_args__ = (UniqueConstraint("role_key", "department_key"),)
    id: int | None = Field(default=None, primary_key=True)
    role_key: str = Field(max_length=200)  # normalised title
    department_key: str = Field(default="", max_length=200)  # "" = every department
    role: str = Field(max_length=200)
    department: str = Field(default="", max_length=200)
    category: str | None = Field(default=None, max_length=40)
    reason: str = Field(default="", max_length=400)
    created_by: str = Field(default="", max_length=100)
    created_at: datetime = _dt()


class RosterImport(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    file_name: str = Field(max_length=400)
    sha256: str = Field(index=True, max_length=64)
    imported_by: str = Field(default="", max_length=100)
    imported_at: datetime = _dt()
    full: bool = False
    counts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    errors: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))


class AuditEvent(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _dt(index=True)
    actor: str = Field(default="", max_length=100)
    action: str = Field(max_length=60, index=True)
    entity: str = Field(max_length=40)
    entity_id: str = Field(default="", max_length=64, index=True)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))


class Site(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=40)
    name: str = Field(max_length=200)
    address: str = Field(default="", max_length=400)
    timezone: str = Field(default="Asia/Shanghai", max_length=64)


class Slot(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("site_code", "starts_at"),)
    id: int | None = Field(default=None, primary_key=True)
    site_code: str = Field(max_length=40, index=True)
    week: str = Field(max_length=10, index=True)  # ISO week, e.g. 2022-W19
    starts_at: datetime = _dt()
    ends_at: datetime = _dt()
    capacity: int


class Appointment(SQLModel, table=True):
    __table_args__ = (
        Index("ix_appointment_week_status", "week", "status"),
        Index("ix_appointment_person_week", "person_id", "week"),
        # The missed list and the weeks-in-a-row count: only missed rows, so a plan's 600,000
        # scheduled rows never enter it (0019_missed_index; it replaced (status, starts_at),
        # which every planned row entered). Flagging reads ix_appointment_scheduled_ends.
        Index(
            "ix_appointment_missed_starts",
            "starts_at",
            postgresql_where=text("status = 'missed'"),
            sqlite_where=text("status = 'missed'"),
        ),
        # and by person: the weeks in a row of a page's people, and a department's list of a week
        # the weekly roll-up does not hold (0020_missed_person)
        Index(
            "ix_appointment_missed_person",
            "person_id",
            "starts_at",
            postgresql_where=text("status = 'missed'"),
            sqlite_where=text("status = 'missed'"),
        ),
        # whether anything is due to be flagged, asked before every list: one page (0014_peak)
        Index(
            "ix_appointment_scheduled_ends",
            "ends_at",
            postgresql_where=text("status = 'scheduled'"),
            sqlite_where=text("status = 'scheduled'"),
        ),
        # only make-ups: the planner's hundreds of thousands of rows never enter it
        Index(
            "ix_appointment_makeup_for",
            "makeup_for",
            postgresql_where=text("makeup_for IS NOT NULL"),
            sqlite_where=text("makeup_for IS NOT NULL"),
        ),
        _one_of("status", AppointmentStatus, "appointment"),
        _one_of("reason", AppointmentReason, "appointment"),
    )
    id: int | None = Field(default=None, primary_key=True)
    # person.id and slot.id without a foreign key: checked per inserted row it was half the
    # database's time storing a week's plan. Writers take both ids from rows they read in the
    # same transaction, and deleting a referenced person or slot is refused by a guard trigger
    # on that table (migration 0011_plan says why and how).
    person_id: int
    slot_id: int | None = Field(default=None, index=True)
    site_code: str = Field(max_length=40)
    week: str = Field(max_length=10)
    starts_at: datetime = _dt(index=True)
    ends_at: datetime = _dt()
    grid_unit: str = Field(default="", max_length=200)
    status: str = Field(default=AppointmentStatus.SCHEDULED, max_length=20)
    excused_reason: str | None = Field(default=None, max_length=400)
    excused_by: str | None = Field(default=None, max_length=100)
    # One of policy report.excuse_reasons (leave, quarantine, ...): the daily report's split
    excused_code: str | None = Field(default=None, max_length=20)
    done_at: datetime | None = _dt(default=None)
    reason: str = Field(default=AppointmentReason.PLAN, max_length=40)
    # The missed appointment this one makes up for: one make-up per missed test, whichever
    # door booked it (the personal page, a text reply).
    makeup_for: int | None = Field(default=None, foreign_key="appointment.id", ondelete="SET NULL")
    created_at: datetime = _dt()
    updated_at: datetime = _dt()


# No foreign key says so any more, but appointments still go before their people and slots
# (deleting rows in table order, as the tests' clean-up does) and are created after them.
_APPOINTMENT_TABLE: Any = Appointment.__table__  # type: ignore[attr-defined]
_APPOINTMENT_TABLE.add_is_dependent_on(Person.__table__)  # type: ignore[attr-defined]
_APPOINTMENT_TABLE.add_is_dependent_on(Slot.__table__)  # type: ignore[attr-defined]


class Exemption(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    start_date: date
    end_date: date
    reason: str = Field(max_length=400)
    created_by: str = Field(default="", max_length=100)
    created_at: datetime = _dt()


class TestResult(SQLModel, table=True):
    """One sample: a site check-in (result ``pending``) or a lab result."""

    __test__ = False  # not a pytest class
    __table_args__ = (
        # Also the index of a person's samples by time: its first two columns are those
        # (0023_testresult_key_index).
        UniqueConstraint("person_id", "sampled_at", "source"),
        _one_of("result", ResultValue, "testresult"),
    )
    id: int | None = Field(default=None, primary_key=True)
    # person.id without a foreign key, as for appointments: checked per inserted row it was
    # most of the database's time importing a results sheet (migration 0017_sample_person)
    person_id: int
    sampled_at: datetime = _dt(index=True)
    result: str = Field(default=ResultValue.PENDING, max_length=20)
    source: str = Field(default="checkin", max_length=100)  # checkin|lab|outside
    site_code: str | None = Field(default=None, max_length=40)
    site_name: str = Field(default="", max_length=200)  # an outside site's name as written
    recorded_at: datetime = _dt()
    recorded_by: str = Field(default="", max_length=100)


class Alert(SQLModel, table=True):
    __table_args__ = (_one_of("status", AlertStatus, "alert"),)
    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    result_id: int = Field(foreign_key="testresult.id", unique=True)
    created_at: datetime = _dt()
    status: str = Field(default=AlertStatus.OPEN, max_length=20)
    closed_by: str | None = Field(default=None, max_length=100)
    closed_at: datetime | None = _dt(default=None)
    close_reason: str | None = Field(default=None, max_length=400)


class AlertNote(SQLModel, table=True):
    """What someone handling an alert wrote down (who was reached, what was decided)."""

    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="alert.id", index=True, ondelete="CASCADE")
    at: datetime = _dt()
    author: str = Field(max_length=100)
    text: str = Field(max_length=2000)


class AlertContact(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("alert_id", "person_id"),
        # a person's own data (export, erasure): the alerts they were a contact in
        Index("ix_alertcontact_person", "person_id"),
        _one_of("reason", ContactReason, "alertcontact"),
    )
    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="alert.id", index=True)
    person_id: int = Field(foreign_key="person.id")
    reason: str = Field(max_length=40)


class Message(SQLModel, table=True):
    """The SMS outbox: one row per text, claimed and sent by the dispatcher."""

    __table_args__ = (
        UniqueConstraint("dedupe_key"),
        # in a claim's order, so it stops at its limit (migration 0012_claims)
        Index("ix_message_status_due", "status", "due_at", "id"),
        # a recipient's recent texts (the channels' per-recipient limits, before each send)
        Index("ix_message_to_sent", "to", "sent_at"),
        _one_of("status", MessageStatus, "message"),
    )
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=40)
    dedupe_key: str = Field(max_length=200)  # e.g. "reminder_eve:appt:42"
    person_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    # SET NULL: a re-plan may delete an appointment; its reminders then lose their target and
    # are cancelled, never sent for a slot that no longer exists.
    appointment_id: int | None = Field(
        default=None, foreign_key="appointment.id", index=True, ondelete="SET NULL"
    )
    user_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    to: str = Field(max_length=32)
    body: str = Field(max_length=2000)
    due_at: datetime = _dt()
    expires_at: datetime | None = _dt(default=None)
    status: str = Field(default=MessageStatus.PENDING, max_length=20)
    attempts: int = 0
    next_attempt_at: datetime | None = _dt(default=None)
    claimed_by: str | None = Field(default=None, max_length=100)
    claimed_at: datetime | None = _dt(default=None)
    sent_at: datetime | None = _dt(default=None)
    provider_sid: str | None = Field(default=None, max_length=64, index=True)
    provider_status: str | None = Field(default=None, max_length=20)
    error_code: str | None = Field(default=None, max_length=64)  # isv.BUSINESS_LIMIT_CONTROL
    error_message: str | None = Field(default=None, max_length=400)
    segments: int = 0  # SMS segments the body takes (GSM-7 or UCS-2)
    tz: str | None = Field(default=None, max_length=64)  # quiet hours here; None: any hour
    created_at: datetime = _dt()
    # The template language of the body and the values it was made from: a channel that sends
    # only approved templates (Aliyun) sends these, not the body. Cleared with the body.
    language: str | None = Field(default=None, max_length=16)
    params: dict[str, str] | None = Field(default=None, sa_column=Column(JSON))
    channel: str | None = Field(default=None, max_length=20)  # the channel that took it


class SmsReceipt(SQLModel, table=True):
    """A delivery receipt already applied: Aliyun pushes a receipt again (after 1, 5 and 10
    minutes) when our answer was slow or lost, and a receipt applied twice could undo a later
    one. Keyed by the provider's send id and the phone, as Aliyun keys them."""

    __table_args__ = (UniqueConstraint("provider", "biz_id", "phone"),)
    id: int | None = Field(default=None, primary_key=True)
    provider: str = Field(max_length=20)
    biz_id: str = Field(max_length=64)
    phone: str = Field(max_length=32)
    message_id: int | None = Field(default=None, foreign_key="message.id", ondelete="SET NULL")
    success: bool = False
    error_code: str | None = Field(default=None, max_length=40)
    received_at: datetime = _dt()


class InboundMessage(SQLModel, table=True):
    # a person's own data (export, erasure): the replies matched to them
    __table_args__ = (Index("ix_inboundmessage_person", "person_id"),)
    id: int | None = Field(default=None, primary_key=True)
    provider_sid: str | None = Field(default=None, max_length=64, unique=True)
    from_number: str = Field(max_length=32, index=True)
    body: str = Field(max_length=2000)
    received_at: datetime = _dt()
    person_id: int | None = Field(default=None, foreign_key="person.id")
    action: str = Field(default="", max_length=40)
    reply: str = Field(default="", max_length=2000)


class User(SQLModel, table=True):
    __table_args__ = (_one_of("role", Role, "user"),)
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=100)
    password_hash: str = Field(max_length=400)
    role: str = Field(max_length=20)
    departments: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    # Unit paths (testrota.org): a supervisor sees each and everything below it.
    units: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    phone: str | None = Field(default=None, max_length=32)
    language: str = Field(default="zh", max_length=8)
    active: bool = True
    opted_out: bool = False  # replied STOP to a text (digest, alerts)
    created_at: datetime = _dt()


class WebSession(SQLModel, table=True):
    """One sign-in to the web app, checked on every request so it can be ended server-side.

    The cookie carries a random token; only its SHA-256 is stored, so a copy of this table does
    not sign anyone in. Signing out, a password or role change and disabling the user set
    ``revoked_at``; the request that presents the cookie afterwards is signed out.
    """

    __table_args__ = (Index("ix_websession_user_revoked", "user_id", "revoked_at"),)
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, max_length=64)
    user_id: int = Field(foreign_key="user.id", ondelete="CASCADE")
    created_at: datetime = _dt(index=True)
    last_seen_at: datetime = _dt()
    ip: str = Field(default="", max_length=64)
    user_agent: str = Field(default="", max_length=200)
    revoked_at: datetime | None = _dt(default=None)
    revoked_reason: str | None = Field(default=None, max_length=40)


class AppSecret(SQLModel, table=True):
    """A key the application made for itself and keeps in the database (the demo's signing key),
    so every process on the database uses the same one and a restart keeps it."""

    name: str = Field(primary_key=True, max_length=40)
    value: str = Field(max_length=200)
    created_at: datetime = _dt()


class JobRun(SQLModel, table=True):
    """A once-per-period job records its period here so a second worker skips it, and
    whether the run did its work or failed (with the error)."""

    __table_args__ = (
        UniqueConstraint("job", "period"),
        _one_of("status", JobRunStatus, "jobrun"),
    )
    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=60)
    period: str = Field(max_length=40)
    started_at: datetime = _dt()
    finished_at: datetime | None = _dt(default=None)  # set when the run is done
    worker: str = Field(default="", max_length=100)
    status: str = Field(
        default=JobRunStatus.RUNNING.value,
        max_length=10,
        sa_column_kwargs={"server_default": JobRunStatus.RUNNING.value},
    )
    failed_at: datetime | None = _dt(default=None)
    error: str | None = Field(default=None, max_length=400)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))


class JobHeartbeat(SQLModel, table=True):
    """The latest tick of each periodic job in each worker process (``/metrics``, doctor).

    One row per job and worker, updated after every tick; times are wall-clock (the question
    "did any worker run a job in the last ten minutes" is about real time, even when
    ``TESTROTA_NOW`` fixes the calendar). Counters only grow; rows of workers gone for longer
    than ``retention_days`` are pruned nightly.
    """

    __table_args__ = (UniqueConstraint("job", "worker"),)
    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=60)
    worker: str = Field(max_length=100)
    last_started_at: datetime = _dt()
    last_finished_at: datetime = _dt()
    last_ok_at: datetime | None = _dt(default=None)
    last_duration_seconds: float = 0.0
    last_error: str | None = Field(default=None, max_length=400)
    runs: int = 0
    failures: int = 0
    duration_seconds_total: float = 0.0


class LoginAttempt(SQLModel, table=True):
    """Every sign-in attempt; recent failures per name and per address throttle the next ones.

    Kept in the database, not in memory, so several web processes share one count; pruned at
    each successful sign-in once older than anything the throttle still reads.
    """

    __table_args__ = (
        Index("ix_loginattempt_name_at", "name", "at"),
        Index("ix_loginattempt_ip_at", "ip", "at"),
        Index("ix_loginattempt_at", "at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _dt()
    name: str = Field(max_length=100)
    ip: str = Field(default="", max_length=64)
    ok: bool = False


class WebUpload(SQLModel, table=True):
    """A file uploaded through the web, kept between its preview and its apply.

    The bytes live in the database because the preview and the apply may reach different web
    processes; a row is deleted once applied or cancelled, and stale ones are pruned.
    """

    id: int | None = Field(default=None, primary_key=True)
    token: str = Field(unique=True, max_length=64)
    kind: str = Field(max_length=20)  # roster|results
    file_name: str = Field(max_length=400)
    sha256: str = Field(max_length=64)
    size: int = 0
    data: bytes = Field(sa_type=LargeBinary)
    options: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    preview: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    created_by: str = Field(default="", max_length=100)
    created_at: datetime = _dt(index=True)


class RescheduleOffer(SQLModel, table=True):
    """A slot offered in answer to an SMS "R"; a confirming reply within its validity books it.

    ``mode`` is ``move`` (the appointment moves to the slot) or ``makeup`` (a missed test gets a
    new appointment in the slot).
    """

    __table_args__ = (_one_of("status", OfferStatus, "rescheduleoffer"),)
    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    appointment_id: int | None = Field(
        default=None, foreign_key="appointment.id", ondelete="SET NULL"
    )
    slot_id: int = Field(foreign_key="slot.id")
    mode: str = Field(max_length=10)
    phone: str = Field(max_length=32, index=True)
    status: str = Field(default=OfferStatus.OPEN, max_length=20)
    created_at: datetime = _dt()
    expires_at: datetime = _dt()


class SmsBudget(SQLModel, table=True):
    """The sender's token bucket, shared by every dispatcher process.

    Times are real wall-clock seconds (not the application clock): the sender's throughput is
    a physical limit, even when ``TESTROTA_NOW`` fixes the calendar.
    """

    name: str = Field(primary_key=True, max_length=40)
    tokens: float = 0.0
    refilled_at: float = 0.0


class PlanRun(SQLModel, table=True):
    """One run of the weekly planner and its report (what ``plan --json`` prints).

    Kept per run, not per week, so HR can see how a week's plan changed as it was re-run.
    """

    __table_args__ = (Index("ix_planrun_week_at", "week", "planned_at"),)
    id: int | None = Field(default=None, primary_key=True)
    week: str = Field(max_length=10)
    planned_at: datetime = _dt()
    planned_by: str = Field(default="", max_length=100)
    report: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))


class UnitModeChange(SQLModel, table=True):
    """A unit's emergency mode from a day (to a day, or open-ended), with who set it and why.

    The mode of a unit on a day is that of the latest change covering the day on the unit or,
    failing one, on the nearest unit above it (``normal`` ends an inherited mode below)."""

    __table_args__ = (_one_of("mode", UnitMode, "unitmodechange"),)
    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="orgunit.id", index=True)
    mode: str = Field(max_length=20)
    start_date: date
    end_date: date | None = None
    reason: str = Field(max_length=400)
    set_by: str = Field(max_length=100)
    set_at: datetime = _dt()


class ReportConfirmation(SQLModel, table=True):
    """A unit's daily report (日报) confirmed upward by its supervisor, with the figures as
    they were then, so a later change (a late result) shows as changed after confirmation."""

    __table_args__ = (UniqueConstraint("unit_id", "day"),)
    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="orgunit.id")
    day: date = Field(index=True)
    confirmed_by: str = Field(max_length=100)
    confirmed_at: datetime = _dt()
    note: str = Field(default="", max_length=400)
    figures: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))


# A sample names its person without a foreign key (0017), but a guard refuses to delete a
# person samples name: whatever empties or copies tables in dependency order must still take
# samples before people, as it did while the key existed.
TestResult.__table__.add_is_dependent_on(Person.__table__)  # type: ignore[attr-defined]


# Sampling day's tables live in their own module; imported here so every table is known.
from testrota.db.rollup_models import PersonDay as PersonDay  # noqa: E402
from testrota.db.rollup_models import RollupDirty as RollupDirty  # noqa: E402
from testrota.db.rollup_models import UnitDay as UnitDay  # noqa: E402
from testrota.db.rollup_models import UnitHeads as UnitHeads  # noqa: E402
from testrota.db.sampling_models import ScanReceipt as ScanReceipt  # noqa: E402
from testrota.db.sampling_models import Tube as Tube  # noqa: E402
from testrota.db.sampling_models import TubeMember as TubeMember  # noqa: E402
from testrota.db.weekly_models import PersonWeekRow as PersonWeekRow  # noqa: E402
from testrota.db.weekly_models import WeekCovered as WeekCovered  # noqa: E402
from testrota.db.weekly_models import WeeklyDirty as WeeklyDirty  # noqa: E402
