"""The personal page behind the link in every text (``/me/{token}``): no sign-in.

Only reading lives here (whose link it is, their appointments); every change the page makes is
a use case of :mod:`testrota.actions.appointments`.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, col, select

from testrota.app import App
from testrota.db.models import Appointment, Person
from testrota.errors import UserError


class LinkRefused(Exception):
    """Why a personal link opens nothing: ``expired``, ``invalid`` (forged, mistyped) or
    ``gone`` (the person left)."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def read_link(app: App, token: str) -> Person:
    """The active person a token names; :class:`LinkRefused` saying why not."""
    from testrota.notify.links import ExpiredLink, InvalidLink, read_personal_token

    try:
        person_id = read_personal_token(
            app.settings,
            token,
            timedelta(days=app.policy.web.personal_link_days),
            now=app.now(),
        )
    except ExpiredLink:
        raise LinkRefused("expired") from None
    except (InvalidLink, UserError):
        raise LinkRefused("invalid") from None
    with Session(app.engine) as session:
        person = session.get(Person, person_id)
    if person is None or not person.active:
        raise LinkRefused("gone")
    return person


def person_from_token(app: App, token: str) -> Person | None:
    """The active person a token names, or None (forged, expired, or no longer here)."""
    try:
        return read_link(app, token)
    except LinkRefused:
        return None


def appointments(app: App, person: Person) -> list[Appointment]:
    """Last week's, this week's and later appointments, oldest first."""
    since = app.now() - timedelta(days=8)
    with Session(app.engine) as session:
        return list(
            session.exec(
                select(Appointment)
                .where(
                    Appointment.person_id == person.id,
                    col(Appointment.starts_at) >= since,
                    col(Appointment.status) != "cancelled",
                )
                .order_by(col(Appointment.starts_at))
                .limit(100)
            )
        )
