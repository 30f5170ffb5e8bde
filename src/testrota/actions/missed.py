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
from testrota.compliance.missed_rows import MissedPage, MissedRow, missed_list, missed_page
from testrota.weeks import resolve_week

__all__ = ["Missed", "MissedPage", "MissedPageQuery", "MissedRow", "list_missed", "page_missed"]


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


@dataclass(frozen=True)
class MissedPageQuery:
    missed: Missed = field(default_factory=Missed)
    sort: str = "department"  # a column, "-" first for descending
    page: int = 1
    page_size: int = 100


def page_missed(app: App, query: MissedPageQuery) -> MissedPage:
    """One page of :func:`list_missed`, as the ``/missed`` page shows it: the page's rows get
    their week's facts, the others are only counted (see
    :func:`testrota.compliance.missed_rows.missed_page`)."""
    from testrota.compliance.rates import rate_lookup
    from testrota.org import weekly

    policy, now = app.policy, app.now()
    wk = resolve_week(query.missed.week, now, policy)
    flag_due(app)
    departments = query.missed.scope.departments
    with app.read_engine.connect() as conn:
        held = weekly.held(conn, [wk], weekly.fingerprint(policy, app.config_dir))
        return missed_page(
            conn,
            wk,
            now,
            policy,
            sort=query.sort,
            page=query.page,
            page_size=query.page_size,
            rates=rate_lookup(app.config_dir, policy),
            departments=None if departments is None else sorted(departments),
            grid_unit=query.missed.grid_unit or None,
            units=query.missed.scope.units,
            missed_in=(lambda pid: weekly.missed_in(wk, pid, departments)) if held else None,
        )
