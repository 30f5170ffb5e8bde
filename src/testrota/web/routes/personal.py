"""``/me/{token}``: the personal page a text links to. No sign-in; the signed token is the key.

It never ends in a dead end: a missed test offers make-up slots (or where and when to walk
in), a link that no longer works says how to get a new one, and nothing on it leads to the
staff sign-in.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from testrota.actions.appointments import (
    ChoicesFor,
    RescheduleAppointment,
    SetTextsOptOut,
    UnknownSlot,
    reschedule_appointment,
    reschedule_choices,
    set_texts_opt_out,
    site_infos,
)
from testrota.audit import Actor
from testrota.auth.users import UserInfo
from testrota.db.models import Person
from testrota.errors import UserError
from testrota.web import personal
from testrota.web.deps import AppDep, OptionalUser, verify_csrf
from testrota.web.i18n import translator
from testrota.web.ids import IdForm, OptionalIdQuery
from testrota.web.render import flash, render, request_language

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)

NO_REFERRER = {"Referrer-Policy": "no-referrer"}


class _Refused(Exception):
    """The link opens nothing: answered with the page that says how to get a new one."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def _person(request: Request, app: AppDep, token: str) -> Person:
    try:
        person = personal.read_link(app, token)
    except personal.LinkRefused as exc:
        raise _Refused(exc.why) from None
    # The person's own language, unless they picked one on this browser.
    if "lang" not in request.session and person.language in ("zh", "en"):
        request.state.person_language = person.language
    return person


def refused_page(request: Request, why: str) -> Response:
    """404 with what to do next: an expired link's owner gets a new one with their next text,
    or at once by replying to the last one."""
    app = request.app.state.testrota
    return render(
        request,
        "link_refused.html",
        {"why": why, "days": app.policy.web.personal_link_days},
        status_code=404,
        headers=NO_REFERRER,
    )


def actor(user: UserInfo | None, person: Person) -> Actor:
    """Who the audit names: the person, only when nobody is signed in on this browser.

    A signed-in user acting through someone's link is acting for them, and is named: a
    staff member must never be recorded as the employee."""
    return Actor.web(user.name) if user is not None else Actor.me(person.employee_no)


@router.get("/me/{token}")
def me(
    request: Request, app: AppDep, token: str, move: OptionalIdQuery = None, texts: str = ""
) -> Response:
    try:
        person = _person(request, app, token)
    except _Refused as exc:
        return refused_page(request, exc.why)
    choices = (
        reschedule_choices(app, ChoicesFor(person.id or 0, move)) if move is not None else None
    )
    appointments = personal.appointments(app, person)
    with Session(app.read_engine) as session:
        sites = site_infos(app, session)
    made_up = {a.makeup_for: a for a in appointments if a.makeup_for is not None}
    return render(
        request,
        "me.html",
        {
            "person": person,
            "token": token,
            "appointments": appointments,
            "made_up": made_up,
            "sites": {**sites, **(choices.sites if choices else {})},
            "move": move,
            "choices": choices,
            "confirm_stop": texts == "stop",
            "now": app.now(),
            "codes": _codes(app, person),
            "sample_state": _sample_state(app, person),
        },
        headers=NO_REFERRER,
    )


def _sample_state(app: AppDep, person: Person) -> str:
    from sqlmodel import Session

    from testrota.sampling.states import latest_sample, state_of

    assert person.id is not None
    with Session(app.read_engine) as session:
        return state_of("green", person.active, *latest_sample(session, person.id, app.now()))


def _codes(app: AppDep, person: Person) -> list[dict[str, object]]:
    """The person's code and their co-residents', each with its QR inline (no request back)."""
    from markupsafe import Markup

    from testrota.actions.codes import personal_codes
    from testrota.badges import qr_svg

    assert person.id is not None
    return [
        {
            "name": c.name,
            "employee_no": c.employee_no,
            "code": c.code,
            "own": c.own,
            "valid_until": c.valid_until,
            # segno writes the SVG from the code alone: upper-case letters, digits and ":."
            "svg": Markup(qr_svg(c.code, scale=6 if c.own else 4)),
        }
        for c in personal_codes(app, person.id)
    ]


@router.post("/me/{token}/move")
def move(
    request: Request,
    app: AppDep,
    token: str,
    appointment_id: IdForm,
    slot_id: IdForm,
    user: OptionalUser,
) -> Response:
    try:
        person = _person(request, app, token)
    except _Refused as exc:
        return refused_page(request, exc.why)
    _ = translator(request_language(request))
    try:
        booked = reschedule_appointment(
            app,
            RescheduleAppointment(person.id or 0, appointment_id, slot_id, actor(user, person)),
        )
    except UnknownSlot as exc:
        raise HTTPException(
            404, _("That slot does not exist. Choose one of the slots offered.")
        ) from exc
    except UserError as exc:
        flash(request, exc.render(_), "error")
        return RedirectResponse(f"/me/{token}?move={appointment_id}", 303)
    with Session(app.read_engine) as session:
        site = site_infos(app, session).get(booked.site_code)
    when = booked.starts_at.astimezone(app.tz).strftime("%m-%d %H:%M")
    flash(
        request,
        _("Booked: {when} at {site}.", when=when, site=site.name if site else booked.site_code),
    )
    return RedirectResponse(f"/me/{token}", 303)


@router.post("/me/{token}/texts")
def texts(
    request: Request,
    app: AppDep,
    token: str,
    user: OptionalUser,
    opt_out: Annotated[str, Form(max_length=10)] = "",
    confirm: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    try:
        person = _person(request, app, token)
    except _Refused as exc:
        return refused_page(request, exc.why)
    _ = translator(request_language(request))
    if opt_out and not confirm:
        # Asked once: one tap on a cheap phone must not end every reminder.
        return RedirectResponse(f"/me/{token}?texts=stop#texts", 303)
    set_texts_opt_out(app, SetTextsOptOut(person.id or 0, bool(opt_out), actor(user, person)))
    flash(
        request, _("You will get no more texts from us.") if opt_out else _("Texts are on again.")
    )
    return RedirectResponse(f"/me/{token}", 303)
