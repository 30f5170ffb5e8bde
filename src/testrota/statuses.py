"""Every enumerated value the database stores, as ``StrEnum``s.

A member is its string (``AppointmentStatus.SCHEDULED == "scheduled"``), so rows read back
compare equal and JSON shows the plain value; a typo is a type error here and a CHECK
constraint refusal in the database (:func:`check_in_values`).
"""

from __future__ import annotations

from enum import StrEnum


class AppointmentStatus(StrEnum):
    SCHEDULED = "scheduled"
    DONE = "done"  # a sample that day, at any site
    MISSED = "missed"  # the slot ended more than the grace period ago without one
    EXCUSED = "excused"  # with a reason and who excused it
    CANCELLED = "cancelled"  # moved by a re-plan, or released (leaver, no longer high-risk)


class AppointmentReason(StrEnum):
    """Why an appointment was booked."""

    PLAN = "plan"  # the weekly plan
    MIDWEEK = "midweek"  # a newcomer in a week already planned
    CONTACT = "contact"  # the next-day test of a positive case's contact
    RESCHEDULE = "reschedule"  # moved by the person (a text reply or their page)
    RECHECK = "recheck"  # a single-tube re-test of a member of a positive pooled tube


class ResultValue(StrEnum):
    PENDING = "pending"  # sampled, no result yet (a check-in)
    NEGATIVE = "negative"
    POSITIVE = "positive"
    INVALID = "invalid"  # the lab could not test the sample
    # The sample went into a pooled tube that tested positive: the person is re-tested one per
    # tube before anything is known of them alone.
    POOL_POSITIVE = "pool_positive"


class TubeStatus(StrEnum):
    """A sampling tube (混管) at a testing site."""

    OPEN = "open"  # taking swabs
    CLOSED = "closed"  # at its ratio, or closed by hand
    PACKED = "packed"  # counted into the courier's box


class TubeResult(StrEnum):
    """What the lab reported for a whole tube."""

    NEGATIVE = "negative"
    POSITIVE = "positive"
    INVALID = "invalid"


# The ratios the national health commission validated for pooled PCR (1 = a single tube).
TUBE_RATIOS = (1, 5, 10, 20)


class AlertStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class ContactReason(StrEnum):
    GRID_UNIT = "grid_unit"  # same grid unit as the case
    SAME_SLOT = "same_slot"  # tested in the same slot at the same site that day


class MessageStatus(StrEnum):
    PENDING = "pending"  # waits for its time (or a retry)
    SENDING = "sending"  # claimed by a dispatcher
    SENT = "sent"  # the provider accepted it
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    UNKNOWN = "unknown"  # the send's outcome was lost: looked up before any resend
    EXPIRED = "expired"  # its time passed before it could go out
    CANCELLED = "cancelled"  # its appointment moved or is no longer due
    SKIPPED = "skipped"  # the recipient opted out, left or has no valid phone


# Texts not finished: a dispatcher may still send them.
OPEN_MESSAGE_STATUSES = (MessageStatus.PENDING, MessageStatus.SENDING, MessageStatus.UNKNOWN)


class OfferStatus(StrEnum):
    """A reschedule offer (an "R" reply, or a move on the personal page)."""

    OPEN = "open"
    CONFIRMED = "confirmed"
    SUPERSEDED = "superseded"
    EXPIRED = "expired"


class PersonType(StrEnum):
    EMPLOYEE = "employee"
    THIRD_PARTY = "third_party"
    CO_RESIDENT = "co_resident"  # linked to a host employee


class NotifyChannel(StrEnum):
    """How a person asked to be reached (the roster's 通知方式); unset: by the phone's region."""

    SMS = "sms"
    WECOM = "wecom"


class Role(StrEnum):
    """A web user's role."""

    ADMIN = "admin"
    HR = "hr"
    SUPERVISOR = "supervisor"
    SITE = "site"


class UnitKind(StrEnum):
    """A node of the group's unit tree."""

    UNIT = "unit"  # the root, a company, plant, workshop or team
    GRID = "grid"  # a grid unit (网格), under the unit its people's roster rows name


class UnitMode(StrEnum):
    """A unit's emergency mode (issue 15), set from a date with ``testrota mode set``."""

    NORMAL = "normal"
    STATIC = "static"  # 静态管控: everyone tested daily, slots per grid unit
    ONSITE = "onsite"  # 驻厂封闭生产: closed-loop on-site production
    WFH = "wfh"  # 居家办公: working from home
    KEEP_PRODUCTION = "keep-production"  # 保产保供: keep production and supply going


class JobRunStatus(StrEnum):
    RUNNING = "running"  # or its worker died: the next tick of the period takes it over
    DONE = "done"
    FAILED = "failed"  # ``error`` says why; the next tick of the period tries again


def check_in_values(column: str, enum: type[StrEnum]) -> str:
    """The SQL of a CHECK constraint that keeps ``column`` to the members of ``enum``."""
    return f"{column} IN ({', '.join(repr(member.value) for member in enum)})"
