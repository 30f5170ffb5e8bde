"""Check-in for site staff and the status lookup for gate guards: one large input each.

Both answer on the same page after a scan (a barcode scanner types the number and presses
Enter). The check-in redirects after recording (POST, then GET), keeping the answer in the
session so a reload never records twice.

A check-in always names its site: the device remembers the site it was set to (a cookie that
outlives a sign-in, since a tent's phone is passed from one shift to the next) and shows it
large, and a check-in without a known site is refused rather than recorded nowhere.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from testrota.actions.checkin import CheckIn, check_in
from testrota.actions.sites import site_choices
from testrota.actions.status import PersonStatus, Status, UnknownEmployeeNo, person_status
from testrota.audit import Actor
from testrota.errors import UserError
from testrota.roster.people import AmbiguousEmployeeNo
from testrota.web.deps import (
    AppDep,
    CheckinUser,
    LookupScope,
    LookupUser,
    SessionDep,
    end_read,
    verify_csrf,
)
from testrota.web.i18n import translator
from testrota.web.render import render, request_language

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)

RECENT = 8
SITE_COOKIE = "testrota_site"
SITE_COOKIE_DAYS = 180


def clean_number(text: str) -> str:
    """What a scanner or a thumb typed: full-width digits and stray spaces are common."""
    import unicodedata

    return unicodedata.normalize("NFKC", text).strip()[:64]


AMBIGUOUS = "{number} could be {n} people: type the whole number."
CANDIDATES_SHOWN = 10


def _device_site(request: Request, sites: list[tuple[str, str]]) -> str:
    """The site this device was set to, when it is still a site; the only site when one."""
    known = {code for code, _name in sites}
    remembered = request.cookies.get(SITE_COOKIE, "")
    if remembered in known:
        return remembered
    return sites[0][0] if len(sites) == 1 else ""


@router.get("/checkin")
def checkin_page(
    request: Request,
    app: AppDep,
    session: SessionDep,
    user: CheckinUser,
    change_site: str = "",
) -> Response:
    sites = site_choices(app)
    site = _device_site(request, sites)
    return render(
        request,
        "checkin.html",
        {
            "sites": sites,
            "site": site,
            "site_name": dict(sites).get(site, ""),
            "choose_site": not site or bool(change_site),
            "answer": request.session.pop("checkin_answer", None),
            "recent": request.session.get("checkin_recent", []),
        },
    )


@router.post("/checkin/site")
def set_device_site(
    request: Request,
    app: AppDep,
    session: SessionDep,
    user: CheckinUser,
    site: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    _ = translator(request_language(request))
    known = dict(site_choices(app))
    if site not in known:
        request.session["checkin_answer"] = {
            "kind": "red",
            "message": _("Choose your site from the list."),
        }
        return RedirectResponse("/checkin?change_site=1", 303)
    response = RedirectResponse("/checkin", 303)
    response.set_cookie(
        SITE_COOKIE,
        site,
        max_age=SITE_COOKIE_DAYS * 86400,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/checkin")
def checkin(
    request: Request,
    app: AppDep,
    session: SessionDep,
    user: CheckinUser,
    scope: LookupScope,
    employee_no: Annotated[str, Form(max_length=200)] = "",
    site: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    _ = translator(request_language(request))
    number = clean_number(employee_no)
    sites = site_choices(app)
    site = site if site in dict(sites) else _device_site(request, sites)
    end_read(session)
    answer: dict[str, Any]
    if not site:
        answer = {
            "kind": "red",
            "employee_no": number,
            "message": _("Choose your site first: nothing was recorded."),
        }
    elif not number:
        answer = {"kind": "red", "message": _("Type or scan an employee number.")}
    else:
        try:
            result = check_in(app, CheckIn(number, Actor.web(user.name), site=site, scope=scope))
        except AmbiguousEmployeeNo as exc:
            answer = {
                "kind": "red",
                "employee_no": number,
                "candidates": exc.candidates[:CANDIDATES_SHOWN],
                "message": _(AMBIGUOUS, number=number, n=len(exc.candidates)),
            }
        except UserError as exc:
            answer = {"kind": "red", "employee_no": number, "message": exc.render(_)}
        else:
            tz = app.tz
            answer = {
                "kind": "green" if result.recorded and result.expected else "amber",
                "employee_no": result.employee_no,
                "name": result.name,
                "department": result.department,
                "grid_unit": result.grid_unit,
                "recorded": result.recorded,
                "expected": result.expected,
                "slot": (
                    result.slot_start.astimezone(tz).strftime("%H:%M")
                    + "–"
                    + result.slot_end.astimezone(tz).strftime("%H:%M")
                )
                if result.slot_start and result.slot_end
                else None,
                "tests": result.tests_this_week,
                "required": result.required,
                "already": not result.recorded,
                "next_slot": result.next_slot_start.astimezone(tz).strftime("%m-%d %H:%M")
                if result.next_slot_start
                else None,
                "next_site": result.next_slot_site,
                "at": result.at.astimezone(tz).strftime("%H:%M"),
            }
            if result.recorded:
                recent = [
                    {
                        "employee_no": result.employee_no,
                        "name": result.name,
                        "at": answer["at"],
                        "expected": result.expected,
                    },
                    *request.session.get("checkin_recent", []),
                ]
                request.session["checkin_recent"] = recent[:RECENT]
    request.session["checkin_answer"] = answer
    return RedirectResponse("/checkin" if site else "/checkin?change_site=1", 303)


@router.get("/status")
def status_page(
    request: Request,
    app: AppDep,
    scope: LookupScope,
    user: LookupUser,
    employee_no: str = "",
) -> Response:
    _ = translator(request_language(request))
    number = clean_number(employee_no)
    answer: PersonStatus | dict[str, Any] | None = None
    status_code = 200
    if number:
        try:
            answer = person_status(app, Status(number, scope))
        except AmbiguousEmployeeNo as exc:
            answer = {
                "status": "red",
                "employee_no": number,
                "candidates": exc.candidates[:CANDIDATES_SHOWN],
                "message": _(AMBIGUOUS, number=number, n=len(exc.candidates)),
            }
            status_code = 409
        except UnknownEmployeeNo:
            answer = {
                "status": "red",
                "employee_no": number,
                "message": _("No person with employee number {number}.", number=number),
            }
            status_code = 404
        except UserError as exc:
            answer = {"status": "red", "employee_no": number, "message": exc.render(_)}
    return render(
        request, "status.html", {"answer": answer, "employee_no": number}, status_code=status_code
    )
