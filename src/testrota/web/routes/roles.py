"""The role-title audit (``testrota roles``) with one-click mapping of a title (HR)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from testrota.actions.risk import ListRoles, MapRole, list_roles, map_role
from testrota.audit import Actor
from testrota.errors import UserError
from testrota.web.deps import AppDep, HRUser, verify_csrf
from testrota.web.i18n import translator
from testrota.web.render import category_choices, category_namer, flash, render, request_language

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


@router.get("/roles")
def roles_page(
    request: Request, app: AppDep, user: HRUser, unmatched: str = "", q: str = ""
) -> Response:
    rows = list_roles(app, ListRoles(unmatched_only=bool(unmatched)))
    if q.strip():
        needle = q.strip().lower()
        rows = [
            r
            for r in rows
            if needle in (r.role or "").lower() or needle in (r.department or "").lower()
        ]
    return render(
        request,
        "roles.html",
        {
            "rows": rows,
            "unmatched": bool(unmatched),
            "q": q,
            "categories": category_choices(request),
            "people": sum(r.head_count for r in rows),
        },
    )


@router.post("/roles/map")
def map_role_form(
    request: Request,
    app: AppDep,
    user: HRUser,
    role: Annotated[str, Form()],
    category: Annotated[str, Form()],
    department: Annotated[str, Form()] = "",
    this_department_only: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "/roles",
) -> Response:
    lang = request_language(request)
    _ = translator(lang)
    target = back if back.startswith("/roles") else "/roles"
    if not category.strip():
        flash(request, _("Choose a category."), "error")
        return RedirectResponse(target, 303)
    why = reason.strip() or _("Mapped on the roles page")
    try:
        result = map_role(
            app,
            MapRole(
                role,
                category,
                why,
                Actor.web(user.name),
                department=department if this_department_only else None,
            ),
        )
    except UserError as exc:
        flash(request, exc.render(_), "error")
        return RedirectResponse(target, 303)
    if result.cleared:
        shown = _("automatic")
    elif result.category:
        shown = category_namer(request, lang)(result.category)
    else:
        shown = _("Not high-risk")
    flash(
        request,
        _(
            "{role} → {category}: {n} people reclassified.",
            role=role,
            category=shown,
            n=result.affected,
        ),
    )
    if result.released:
        flash(request, _("{n} coming appointments released.", n=result.released))
    return RedirectResponse(target, 303)
