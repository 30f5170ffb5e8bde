"""Twilio's webhooks: delivery reports and inbound texts. Signed, or refused with 403.

Both check ``X-Twilio-Signature`` with the SDK's ``RequestValidator`` against the URL Twilio
was given, built from ``TESTROTA_PUBLIC_URL`` (behind a proxy the request's own URL differs).
Without ``TWILIO_AUTH_TOKEN`` nothing can be verified, so everything is refused. The database
work runs in the thread pool, never on the event loop. Replies are TwiML.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from testrota.clock import Clock, clock_from_settings
from testrota.policy import Policy, load_policy
from testrota.settings import Settings
from testrota.web.ids import as_id

log = logging.getLogger(__name__)

router = APIRouter(prefix="/twilio", tags=["twilio"], include_in_schema=False)

TWIML = "application/xml"


@dataclass(frozen=True)
class _Deps:
    settings: Settings
    engine: Engine
    policy: Policy
    clock: Clock


def _deps(request: Request) -> _Deps:
    state = request.app.state
    app = getattr(state, "app", None)
    if app is not None:
        return _Deps(app.settings, app.engine, app.policy, app.clock)
    deps: _Deps | None = getattr(state, "twilio_deps", None)
    if deps is None:
        from testrota.db.engine import make_engine

        settings: Settings = state.settings
        deps = _Deps(
            settings,
            make_engine(settings.database_url),
            load_policy(settings.config_dir),
            clock_from_settings(settings),
        )
        state.twilio_deps = deps
    return deps


async def _signed_form(request: Request, settings: Settings) -> dict[str, str]:
    form = await request.form()
    signature = request.headers.get("X-Twilio-Signature", "")
    token = settings.twilio_auth_token
    url = settings.public_url + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    if not token or not signature or not RequestValidator(token).validate(url, form, signature):
        log.warning("refused an unsigned or wrongly signed Twilio webhook to %s", request.url.path)
        raise HTTPException(status_code=403, detail="invalid Twilio signature")
    return {key: str(value) for key, value in form.items()}


def _twiml(reply: str | None = None) -> Response:
    response = MessagingResponse()
    if reply:
        response.message(reply)
    return Response(str(response), media_type=TWIML)


@router.post("/status")
async def twilio_status(request: Request) -> Response:
    deps = _deps(request)
    form = await _signed_form(request, deps.settings)
    from testrota.notify.status import record_status

    message_id = as_id(request.query_params.get("m"))
    status = form.get("MessageStatus") or form.get("SmsStatus") or ""
    await run_in_threadpool(
        record_status,
        deps.engine,
        deps.clock.now(),
        sid=form.get("MessageSid") or form.get("SmsSid") or "",
        status=status,
        error_code=form.get("ErrorCode") or None,
        message_id=message_id,
    )
    return _twiml()


@router.post("/inbound")
async def twilio_inbound(request: Request) -> Response:
    deps = _deps(request)
    form = await _signed_form(request, deps.settings)
    from testrota.notify.inbound import handle_inbound

    result: Any = await run_in_threadpool(
        lambda: handle_inbound(
            deps.engine,
            deps.settings,
            deps.policy,
            deps.clock.now(),
            from_number=form.get("From", ""),
            body=form.get("Body", ""),
            message_sid=form.get("MessageSid") or form.get("SmsSid"),
        )
    )
    return _twiml(result.reply)
