"""The missed-test list: who missed a slot this week, for the supervisor to follow up (the CLI's
``missed``, the ``/missed`` page and its exports, ``/api/missed``).

Read with SQLAlchemy Core (:mod:`testrota.compliance.missed_rows`): ``testrota missed`` starts
without the ORM and the models unless something is due to be flagged first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from testrota.actions.flagging import flag_due
from testrota.app import App
from testrota.auth.scope import Scope
from testrota.compliance.missed_rows import MissedRow, missed_list
from testrota.weeks import resolve_week

__all__ = ["Missed", "MissedRow", "list_missed"]


@dataclass(frozen=True)
class Missed:
    week: str | None = None  # an ISO week, 2022-W19; None: this week
    scope: Scope = field(default_factory=Scope.everything)  # the departments shown
    grid_unit: str | None = None  # only this grid unit


def list_missed(app: App, query: Missed) -> list[MissedRow]:
    """One row per missed appointment of the week, in scope, by department, grid unit and
    employee number. Flags what is due first; reads from the read engine."""
    from testrota.compliance.rates import rate_lookup

    policy, now = app.policy, app.now()
    wk = resolve_week(query.week, now, policy)  # a bad week is refused before anything runs
    flag_due(app)
    departments = query.scope.departments
    with app.read_engine.connect() as conn:
        return missed_list(
            conn,
            wk,
            now,
            policy,
            rates=rate_lookup(app.config_dir, policy),
            departments=None if departments is None else sorted(departments),
            grid_unit=query.grid_unit or None,
            units=query.scope.units,
        )
