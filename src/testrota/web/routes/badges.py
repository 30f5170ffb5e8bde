"""``/badges``: HR (and supervisors, for their departments) print sheets of personal codes.

Names on the sheet are masked for the roles that see personal numbers masked
(``privacy.mask_for_roles``): a badge sheet leaves the building on paper.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from testrota.actions.codes import BadgeSheet, badge_sheet
from testrota.audit import Actor
from testrota.errors import UserError
from testrota.roster.people import departments, grid_units
from testrota.web.deps import AppDep, OfficeUser, SessionDep, SupervisorScope, verify_csrf
from testrota.web.i18n import translator
from testrota.web.render import render, request_language

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


@router.get("/badges")
def badges_page(
    request: Request,
    app: AppDep,
    session: SessionDep,
    user: OfficeUser,
    scope: SupervisorScope,
    department: str = "",
    grid_unit: str = "",
    format: Literal["pdf", "png"] = "pdf",
    download: str = "",
) -> Response:
    error = None
    if download:
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
            error = exc.render(translator(request_language(request)))
        else:
            return Response(
                sheet.data,
                media_type=sheet.media_type,
                headers={
                    "Content-Disposition": "attachment; filename*=UTF-8''" + quote(sheet.file_name),
                    "Cache-Control": "no-store",
                },
            )
    return render(
        request,
        "badges.html",
        {
            "departments": departments(session.connection(), scope),
            "grid_units": grid_units(session.connection(), scope, department),
            "department": department,
            "grid_unit": grid_unit,
            "format": format,
            "error": error,
        },
        status_code=400 if error else 200,
    )
