"""``/badges``: HR (and supervisors, for their departments) print sheets of personal codes.

Names on the sheet are masked for the roles that see personal numbers masked
(``privacy.mask_for_roles``): a badge sheet leaves the building on paper.

The sheet is made by ``POST /badges`` (the form, with its CSRF token): drawing it takes seconds
for a large department, and it is audited as printed by the reader. ``GET /badges`` only shows
the form, also when the address asks for a download (``?department=…&download=1``, the form's
address before): a link followed from another site or opened by a link previewer prints
nothing and records nothing; the form it shows, filled in, prints on a press of its button.
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from testrota.actions.codes import BadgeSheet, badge_sheet
from testrota.audit import Actor
from testrota.auth.scope import Scope
from testrota.errors import UserError
from testrota.roster.people import departments, grid_units
from testrota.web.deps import AppDep, OfficeUser, SessionDep, SupervisorScope, verify_csrf
from testrota.web.i18n import translator
from testrota.web.render import render, request_language

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)

Format = Literal["pdf", "png"]
MAX_FIELD = 200


def _page(
    request: Request,
    session: SessionDep,
    scope: Scope,
    *,
    department: str,
    grid_unit: str,
    format: Format,
    asked: bool = False,
    error: str | None = None,
) -> Response:
    return render(
        request,
        "badges.html",
        {
            "departments": departments(session.connection(), scope),
            "grid_units": grid_units(session.connection(), scope, department),
            "department": department,
            "grid_unit": grid_unit,
            "format": format,
            "asked": asked and error is None,
            "error": error,
        },
        status_code=400 if error else 200,
    )


@router.get("/badges")
def badges_page(
    request: Request,
    session: SessionDep,
    user: OfficeUser,
    scope: SupervisorScope,
    department: str = "",
    grid_unit: str = "",
    format: Format = "pdf",
    download: str = "",
) -> Response:
    # ``download``: the old address of a download, answered with the form to confirm it
    return _page(
        request,
        session,
        scope,
        department=department,
        grid_unit=grid_unit,
        format=format,
        asked=bool(download) and bool(department or grid_unit),
    )


@router.post("/badges")
def badges_download(
    request: Request,
    app: AppDep,
    session: SessionDep,
    user: OfficeUser,
    scope: SupervisorScope,
    department: Annotated[str, Form(max_length=MAX_FIELD)] = "",
    grid_unit: Annotated[str, Form(max_length=MAX_FIELD)] = "",
    format: Annotated[Format, Form()] = "pdf",
) -> Response:
    try:
        sheet = badge_sheet(
            app,
            BadgeSheet(
                Actor.web(user.name),
                format,
                department=department or None,
                grid_unit=grid_unit or None,
                scope=scope,
                mask_names=scope.masker.masked,
            ),
        )
    except UserError as exc:
        return _page(
            request,
            session,
            scope,
            department=department,
            grid_unit=grid_unit,
            format=format,
            error=exc.render(translator(request_language(request))),
        )
    return Response(
        sheet.data,
        media_type=sheet.media_type,
        headers={
            "Content-Disposition": "attachment; filename*=UTF-8''" + quote(sheet.file_name),
            "Cache-Control": "no-store",
        },
    )
