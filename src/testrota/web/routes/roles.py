"""The role-title audit (``testrota roles``) with one-click mapping of a title (HR)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from testrota.errors import UserError
from testrota.web import services
from testrota.web.deps import AppDep, HRUser, verify_csrf
from testrota.web.i18n import CATEGORY_NAMES, category_name, translator
from testrota.web.render import flash, render, request_language

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


@router.get("/roles")
def roles_page(request: Request, app: AppDep, user: HRUser, unmatched: str = "",
               q: str = "") -> Response:
    lang = request_language(request)
    rows = services.list_roles(app, unmatched_only=bool(unmatched))
    if q.strip():
        needle = q.strip().lower()
        rows = [r for r in rows if needle in (r["role"] or "").lower()
                or needle in (r["department"] or "").lower()]
    return render(request, "roles.html", {
        "rows": rows,
        "unmatched": bool(unmatched),
        "q": q,
        "categories": [(code, category_name(code, lang)) for code in CATEGORY_NAMES],
        "people": sum(r["head_count"] for r in rows),
    })


@router.post("/roles/map")
def map_role(
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
    _ = translator(request_language(request))
    target = back if back.startswith("/roles") else "/roles"
    if category not in (*CATEGORY_NAMES, "none", "clear"):
        flash(request, _("Choose a category."), "error")
        return RedirectResponse(target, 303)
    why = reason.strip() or _("Mapped on the roles page")
    try:
        result = services.map_role(
            app, role=role, department=department if this_department_only else None,
            category=category, reason=why, actor=user.name,
        )
    except UserError as exc:
        flash(request, str(exc), "error")
        return RedirectResponse(target, 303)
    shown = {"none": _("Not high-risk"), "clear": _("automatic")}.get(
        category, category_name(category, request_language(request)))
    flash(request, _("{role} → {category}: {n} people reclassified.", role=role,
                     category=shown, n=result.get("affected", 0)))
    if result.get("released"):
        flash(request, _("{n} coming appointments released.", n=result["released"]))
    return RedirectResponse(target, 303)
