"""The role-title audit (``testrota roles``) and mapping a title to a category (HR).

Nothing changes on a single gesture (WCAG 3.2.2: a select never submits): HR opens one title,
chooses first whom the change is for (this department or every one), then the category and a
reason, and sees what the change would do ("this changes N people", worked out by the use
case's dry run) before confirming it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from testrota.actions.risk import ListRoles, MapRole, RoleMapped, list_roles, map_role
from testrota.audit import Actor
from testrota.errors import UserError
from testrota.risk.service import MAX_REASON, RoleRow
from testrota.web.deps import AppDep, HRUser, verify_csrf
from testrota.web.i18n import translator
from testrota.web.render import category_choices, category_namer, flash, render, request_language

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)

PAGE_SIZE = 50
MAX_QUERY = 100
MAX_TITLE = 200
SCOPES = ("department", "all")  # the change is for this department's title / every department's


def _back(back: str) -> str:
    """Only a path of the roles list itself: never a redirect elsewhere."""
    return back if back.startswith("/roles") and "//" not in back and len(back) < 500 else "/roles"


def _matches(row: RoleRow, needle: str, category_name: str) -> bool:
    return any(
        needle in text.lower()
        for text in (row.role or "", row.department or "", row.category or "", category_name)
    )


@router.get("/roles")
def roles_page(
    request: Request,
    app: AppDep,
    user: HRUser,
    unmatched: str = "",
    q: Annotated[str, Query(max_length=MAX_QUERY)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    rows = list_roles(app, ListRoles(unmatched_only=bool(unmatched)))
    cat = category_namer(request, request_language(request))
    if q.strip():
        needle = q.strip().lower()
        rows = [r for r in rows if _matches(r, needle, cat(r.category).lower())]
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    page = min(page, pages)
    shown = rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return render(
        request,
        "roles.html",
        {
            "rows": shown,
            "titles": len(rows),
            "unmatched": bool(unmatched),
            "q": q,
            "page": page,
            "pages": pages,
            "people": sum(r.head_count for r in rows),
            "change_link": lambda r: (
                "/roles/change?"
                + urlencode({"role": r.role, "department": r.department, "back": here})
            ),
        },
    )


@dataclass
class Draft:
    """A change as the form holds it, before and after review."""

    role: str
    department: str
    scope: str = ""
    category: str = ""
    reason: str = ""
    back: str = "/roles"


def _form(
    request: Request,
    draft: Draft,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    app = request.app.state.testrota
    current = next(
        (
            r
            for r in list_roles(app, ListRoles())
            if r.role == draft.role and r.department == draft.department
        ),
        None,
    )
    return render(
        request,
        "role_change.html",
        {
            "draft": draft,
            "current": current,
            "errors": errors or {},
            "categories": category_choices(request),
            "max_reason": MAX_REASON,
        },
        status_code=status_code,
    )


@router.get("/roles/change")
def change_form(
    request: Request,
    user: HRUser,
    role: Annotated[str, Query(max_length=MAX_TITLE)] = "",
    department: Annotated[str, Query(max_length=MAX_TITLE)] = "",
    back: Annotated[str, Query(max_length=500)] = "/roles",
    # "Back to the form" from the review keeps what was chosen
    scope: Annotated[str, Query(max_length=20)] = "",
    category: Annotated[str, Query(max_length=100)] = "",
    reason: Annotated[str, Query(max_length=MAX_REASON)] = "",
) -> Response:
    if not role.strip():
        return RedirectResponse("/roles", 303)
    return _form(request, Draft(role, department, scope, category, reason, _back(back)))


def _check(draft: Draft, _: Callable[..., str]) -> dict[str, str]:
    """What is missing from the form, by field (each message in the user's language)."""
    errors: dict[str, str] = {}
    if draft.scope not in SCOPES:
        errors["scope"] = _("Choose whom the change is for first.")
    if not draft.category.strip():
        errors["category"] = _("Choose a category.")
    if not draft.reason.strip():
        errors["reason"] = _("Give a reason: it is kept in the audit log.")
    return errors


@router.post("/roles/map")
def map_role_form(
    request: Request,
    app: AppDep,
    user: HRUser,
    role: Annotated[str, Form(max_length=MAX_TITLE)],
    department: Annotated[str, Form(max_length=MAX_TITLE)] = "",
    scope: Annotated[str, Form(max_length=20)] = "",
    category: Annotated[str, Form(max_length=100)] = "",
    reason: Annotated[str, Form(max_length=MAX_REASON * 2)] = "",
    confirm: Annotated[str, Form(max_length=10)] = "",
    back: Annotated[str, Form(max_length=500)] = "/roles",
) -> Response:
    """Review (no ``confirm``): show what the change would do. Confirmed: make it."""
    _ = translator(request_language(request))
    draft = Draft(role, department, scope, category, reason, _back(back))
    errors = _check(draft, _)
    if errors:
        return _form(request, draft, errors, 400)
    command = MapRole(
        draft.role,
        draft.category,
        draft.reason,
        Actor.web(user.name),
        department=draft.department if draft.scope == "department" else None,
    )
    try:
        if not confirm:
            preview = map_role(app, replace(command, dry_run=True))
            return render(request, "role_review.html", {"draft": draft, "preview": preview})
        result = map_role(app, command)
    except UserError as exc:
        return _form(request, draft, {"form": exc.render(_)}, 400)
    _flash_done(request, role, result)
    return RedirectResponse(draft.back, 303)


def _flash_done(request: Request, role: str, result: RoleMapped) -> None:
    lang = request_language(request)
    _ = translator(lang)
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
