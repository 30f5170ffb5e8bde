"""``/tubes``: the end of a sampling session — the day's tubes per site with their swab counts,
packing them for the courier against the count in the box, and the courier's manifest.

The manifest names tubes and counts only: the lab reports by tube code, and nobody's name
travels with the box.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from testrota.actions.sites import site_choices
from testrota.actions.tubes import ListTubes, PackTubes, TubeView, list_tubes, pack_tubes
from testrota.app import App
from testrota.audit import Actor
from testrota.errors import UserError
from testrota.web.deps import AppDep, CheckinUser, SessionDep, verify_csrf
from testrota.web.i18n import translator
from testrota.web.render import flash, render, request_language

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()) if text.strip() else None
    except ValueError:
        return None


def status_words(request: Request) -> dict[str, str]:
    _ = translator(request_language(request))
    return {"open": _("tube open"), "closed": _("tube closed"), "packed": _("tube packed")}


def _context(app: App, site: str, day: date | None) -> dict[str, Any]:
    tubes: list[TubeView] = list_tubes(app, ListTubes(day, site or None)) if site else []
    by_status: dict[str, int] = {}
    for t in tubes:
        by_status[t.status] = by_status.get(t.status, 0) + 1
    return {
        "tubes": tubes,
        "swabs": sum(len(t.members) for t in tubes),
        "by_status": by_status,
        "site": site,
        "day": (day or app.now().astimezone(app.tz).date()).isoformat(),
    }


@router.get("/tubes")
def tubes_page(
    request: Request,
    app: AppDep,
    session: SessionDep,
    user: CheckinUser,
    site: str = "",
    date: str = "",
) -> Response:
    sites = site_choices(app)
    chosen = site or request.session.get("site") or (sites[0][0] if len(sites) == 1 else "")
    try:
        context = _context(app, chosen, _day(date))
    except UserError as exc:
        context = _context(app, "", _day(date))
        context["error"] = exc.render(translator(request_language(request)))
    return render(
        request,
        "tubes.html",
        {"sites": sites, **context, "status_words": status_words(request)},
    )


@router.post("/tubes/pack")
def pack(
    request: Request,
    app: AppDep,
    session: SessionDep,
    user: CheckinUser,
    site: Annotated[str, Form(max_length=40)],
    count: Annotated[int, Form(ge=0, le=10_000)],
    date: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    _ = translator(request_language(request))
    try:
        packed = pack_tubes(app, PackTubes(site, count, Actor.web(user.name), _day(date)))
    except UserError as exc:
        context = _context(app, site, _day(date))
        return render(
            request,
            "tubes.html",
            {
                "sites": site_choices(app),
                **context,
                "error": exc.render(_),
                "status_words": status_words(request),
            },
            status_code=400,
        )
    flash(
        request,
        _(
            "{n} tubes ({swabs} swabs) packed for the courier.",
            n=len(packed.tubes),
            swabs=packed.swabs,
        ),
    )
    return RedirectResponse(f"/tubes?site={packed.site}&date={packed.day.isoformat()}", 303)


@router.get("/tubes/manifest")
def manifest(
    request: Request, app: AppDep, session: SessionDep, user: CheckinUser, site: str, date: str = ""
) -> Response:
    try:
        context = _context(app, site, _day(date))
    except UserError as exc:
        return render(
            request,
            "error.html",
            {"message": exc.render(translator(request_language(request)))},
            status_code=400,
        )
    names = dict(site_choices(app))
    return render(
        request,
        "tube_manifest.html",
        {
            **context,
            "site_name": names.get(site, site),
            "printed_at": app.now(),
            "by": user.name,
            "status_words": status_words(request),
        },
    )
