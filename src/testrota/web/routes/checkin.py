"""Check-in for site staff and the status lookup for gate guards: one large input each.

Both answer on the same page after a scan (a barcode scanner types the number and presses
Enter). The check-in redirects after recording (POST, then GET), keeping the answer in the
session so a reload never records twice.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from testrota.actions.checkin import CheckIn, check_in
from testrota.actions.sites import list_sites
from testrota.actions.status import PersonStatus, Status, UnknownEmployeeNo, person_status
from testrota.audit import Actor
from testrota.errors import UserError
from testrota.roster.people import AmbiguousEmployeeNo
from testrota.web.deps import (
    AppDep,
    CheckinUser,
    LookupScope,
    LookupUser,
    verify_csrf,
)
from testrota.web.i18n import translator
from testrota.web.render import render, request_language

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)

RECENT = 8


def clean_number(text: str) -> str:
    """What a scanner or a thumb typed: full-width digits and stray spaces are common."""
    import unicodedata

    return unicodedata.normalize("NFKC", text).strip()[:64]


AMBIGUOUS = "{number} could be {n} people: type the whole number."
CANDIDATES_SHOWN = 10


@router.get("/checkin")
def checkin_page(request: Request, app: AppDep, user: CheckinUser) -> Response:
    sites = [(s.code, s.name) for s in list_sites(app)]
    site = request.session.get("site") or (sites[0][0] if len(sites) == 1 else "")
    return render(
        request,
        "checkin.html",
        {
            "sites": sites,
            "site": site,
            "answer": request.session.pop("checkin_answer", None),
            "recent": request.session.get("checkin_recent", []),
        },
    )


@router.post("/checkin")
def checkin(
    request: Request,
    app: AppDep,
    user: CheckinUser,
    employee_no: Annotated[str, Form()] = "",
    site: Annotated[str, Form()] = "",
) -> Response:
    _ = translator(request_language(request))
    number = clean_number(employee_no)
    if site:
        request.session["site"] = site
    answer: dict[str, Any]
    if not number:
        answer = {"kind": "red", "message": _("Type or scan an employee number.")}
    else:
        try:
            result = check_in(app, CheckIn(number, Actor.web(user.name), site=site or None))
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
    return RedirectResponse("/checkin", 303)


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
