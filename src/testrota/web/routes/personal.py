"""``/me/{token}``: the personal page a text links to. No sign-in; the signed token is the key."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from testrota.auth.users import UserInfo
from testrota.db.models import Person
from testrota.errors import UserError
from testrota.web import personal
from testrota.web.deps import AppDep, OptionalUser, verify_csrf
from testrota.web.i18n import translator
from testrota.web.ids import IdForm, OptionalIdQuery
from testrota.web.render import flash, render, request_language

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


def _person(request: Request, app: AppDep, token: str) -> Person:
    person = personal.person_from_token(app, token)
    if person is None:
        raise HTTPException(
            404,
            translator(request_language(request))(
                "This link is not valid or has expired. Use the link in your latest text."
            ),
        )
    # The person's own language, unless they picked one on this browser.
    if "lang" not in request.session and person.language in ("zh", "en"):
        request.state.person_language = person.language
    return person


def actor(user: UserInfo | None, person: Person) -> str:
    """Who the audit names: the person, only when nobody is signed in on this browser.

    A signed-in user acting through someone's link is acting for them, and is named: a
    staff member must never be recorded as the employee."""
    return user.name if user is not None else f"me:{person.employee_no}"


@router.get("/me/{token}")
def me(request: Request, app: AppDep, token: str, move: OptionalIdQuery = None) -> Response:
    person = _person(request, app, token)
    options = personal.choices(app, person, move) if move else None
    return render(
        request,
        "me.html",
        {
            "person": person,
            "token": token,
            "appointments": personal.appointments(app, person),
            "move": move,
            "options": options,
            "now": app.now(),
            "codes": _codes(app, person),
            "sample_state": _sample_state(app, person),
        },
        headers={"Referrer-Policy": "no-referrer"},
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
    person = _person(request, app, token)
    _ = translator(request_language(request))
    try:
        booked = personal.move(app, person, appointment_id, slot_id, actor=actor(user, person))
    except personal.UnknownSlot as exc:
        raise HTTPException(
            404, _("That slot does not exist. Choose one of the slots offered.")
        ) from exc
    except UserError as exc:
        flash(request, str(exc), "error")
        return RedirectResponse(f"/me/{token}?move={appointment_id}", 303)
    when = booked.starts_at.astimezone(app.tz).strftime("%m-%d %H:%M")
    flash(request, _("Booked: {when} at {site}.", when=when, site=booked.site_code))
    return RedirectResponse(f"/me/{token}", 303)


@router.post("/me/{token}/texts")
def texts(
    request: Request,
    app: AppDep,
    token: str,
    user: OptionalUser,
    opt_out: Annotated[str, Form()] = "",
) -> Response:
    person = _person(request, app, token)
    _ = translator(request_language(request))
    personal.set_opt_out(app, person, bool(opt_out), actor=actor(user, person))
    flash(
        request, _("You will get no more texts from us.") if opt_out else _("Texts are on again.")
    )
    return RedirectResponse(f"/me/{token}", 303)
