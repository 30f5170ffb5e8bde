"""The testing sites a door offers to choose from (the check-in page's site list)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from testrota.app import App
from testrota.db import tables
from testrota.errors import UserError


@dataclass(frozen=True)
class SiteChoice:
    code: str
    name: str


def list_sites(app: App) -> list[SiteChoice]:
    """The sites as stored by the planner, else as ``config/sites.yaml`` describes them; none
    when that file is broken (the page still works, with the site typed in)."""
    table = tables.SITE
    with app.read_engine.connect() as conn:
        rows = conn.execute(select(table.c.code, table.c.name).order_by(table.c.code)).all()
    if rows:
        return [SiteChoice(code, name) for code, name in rows]
    from testrota.scheduling.sites import load_sites

    try:
        return [SiteChoice(s.code, s.name) for s in load_sites(app.settings.config_dir, app.policy)]
    except UserError:
        return []


def site_choices(app: App) -> list[tuple[str, str]]:
    """The sites as ``(code, name)`` pairs, the shape a form's list of options takes."""
    return [(s.code, s.name) for s in list_sites(app)]
