"""Positive-result alerts: who tested positive and whom to test next, and closing an alert once
the case has been handled. (An alert is raised by the result itself: :mod:`.results`.)"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session

from testrota.app import App
from testrota.audit import Action, Actor, record
from testrota.auth.scope import Scope
from testrota.compliance.alerts import AlertClosed, AlertContactRow, AlertRow
from testrota.compliance.alerts import close_alert as close
from testrota.compliance.alerts import list_alerts as listed
from testrota.db.engine import session_scope
from testrota.statuses import AlertStatus

__all__ = [
    "AlertClosed",
    "AlertContactRow",
    "AlertRow",
    "Alerts",
    "CloseAlert",
    "close_alert",
    "list_alerts",
]


@dataclass(frozen=True)
class Alerts:
    scope: Scope = field(default_factory=Scope.everything)  # whose alerts the reader may see
    closed: bool = False  # closed alerts too


def list_alerts(app: App, query: Alerts) -> list[AlertRow]:
    """Alerts, newest first, as ``query.scope``'s reader may see them: a supervisor gets the
    ones that concern their departments, with only their own people as contacts, and a case
    in another department without who it is (``case_visible`` false)."""
    departments = query.scope.departments
    with Session(app.read_engine) as session:
        return listed(
            session,
            status=None if query.closed else AlertStatus.OPEN,
            departments=None if departments is None else sorted(departments),
            units=query.scope.units,
        )


@dataclass(frozen=True)
class CloseAlert:
    alert_id: int
    actor: Actor
    scope: Scope = field(default_factory=Scope.everything)  # an alert of their departments


def close_alert(app: App, cmd: CloseAlert) -> AlertClosed:
    """Close an alert; audited as ``alert.closed`` (closing a closed one changes nothing)."""
    now = app.now()
    departments = cmd.scope.departments
    with app.write_lock, session_scope(app.engine) as session:
        out = close(
            session,
            cmd.alert_id,
            str(cmd.actor),
            now,
            departments=None if departments is None else sorted(departments),
            units=cmd.scope.units,
        )
        if out.changed:
            record(session, cmd.actor, Action.ALERT_CLOSED, "alert", cmd.alert_id, at=now)
    return out
