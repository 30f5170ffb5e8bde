"""The SMS outbox: every text with its status, filters, and a retry of failed ones (HR)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from testrota.actions.messages import RetryMessages, retry_messages
from testrota.audit import Actor
from testrota.web.deps import AppDep, HRUser, SessionDep, SupervisorScope, verify_csrf
from testrota.web.i18n import translator
from testrota.web.ids import IdList
from testrota.web.queries.outbox import STATUSES, outbox
from testrota.web.render import flash, render, request_language

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


@router.get("/outbox")
def outbox_page(
    request: Request,
    app: AppDep,
    session: SessionDep,
    user: HRUser,
    scope: SupervisorScope,
    status: str = "",
    kind: str = "",
    q: str = "",
    page: int = 1,
) -> Response:
    result = outbox(
        session,
        scope,
        phone_region=app.policy.phone_region,
        status=status,
        kind=kind,
        q=q[:64],
        page=page,
    )
    return render(
        request,
        "outbox.html",
        {"result": result, "statuses": STATUSES, "status": status, "kind": kind, "q": q},
    )


@router.post("/outbox/retry")
def retry(
    request: Request,
    app: AppDep,
    user: HRUser,
    message_id: IdList = None,
    all_failed: Annotated[str, Form()] = "",
) -> Response:
    _ = translator(request_language(request))
    ids = None if all_failed else list(message_id or [])
    count = retry_messages(app, RetryMessages(Actor.web(user.name), ids)).count
    flash(request, _("{n} texts queued again.", n=count), "ok" if count else "warn")
    return RedirectResponse("/outbox?status=pending" if count else "/outbox?status=failed", 303)
