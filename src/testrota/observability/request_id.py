"""Give every HTTP request an id: taken from ``X-Request-ID`` or made, echoed in the response.

A pure ASGI middleware (no ``BaseHTTPMiddleware``: it would run the endpoint in another task
and lose the context variable). The id is in ``request_id_var`` for the whole request, so every
log line of the request carries it, in sync handlers too (Starlette copies the context into
its thread pool). It also writes one access line per request to ``testrota.access`` with the
method, the path (personal-link tokens cut out), the status and the duration; query strings are
left out because a search box may hold a phone number.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from testrota.observability.logging import new_id, request_id_var

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

HEADER = "X-Request-ID"
_HEADER_KEY = HEADER.lower().encode("latin-1")
# An id from a proxy or a client is kept only when it looks like one: it goes into every log
# line, so no spaces, quotes or newlines, and not too long.
_VALID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")
# /me/<token>: the signed personal link is a credential.
_TOKEN_PATHS = re.compile(r"^(/me/|/webhooks/aliyun/)[^/]+")

# Scrapes and health checks every few seconds would drown the log: DEBUG for these.
_QUIET_PREFIXES = ("/healthz", "/metrics", "/static/")

access_log = logging.getLogger("testrota.access")


def incoming_id(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The caller's ``X-Request-ID`` when it is a usable id, else None."""
    for key, value in headers:
        if key.lower() == _HEADER_KEY:
            text = value.decode("latin-1").strip()
            return text if _VALID.match(text) else None
    return None


def loggable_path(path: str) -> str:
    return _TOKEN_PATHS.sub(r"\1…", path)


class RequestIdMiddleware:
    """``app.add_middleware(RequestIdMiddleware)``; ``access_log=False`` drops the access line."""

    def __init__(self, app: ASGIApp, access_log: bool = True) -> None:
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = incoming_id(scope.get("headers") or []) or new_id()
        scope.setdefault("state", {})["request_id"] = rid
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != _HEADER_KEY
                ]
                headers.append((_HEADER_KEY, rid.encode("latin-1")))
                message["headers"] = headers
            await send(message)

        token = request_id_var.set(rid)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if self.access_log:
                path = scope.get("path", "")
                access_log.log(
                    logging.DEBUG if path.startswith(_QUIET_PREFIXES) else logging.INFO,
                    "%s %s %s",
                    scope.get("method", ""),
                    loggable_path(scope.get("path", "")),
                    status,
                    extra={
                        "method": scope.get("method", ""),
                        "path": loggable_path(scope.get("path", "")),
                        "status": status,
                        "ms": round((time.perf_counter() - started) * 1000, 1),
                    },
                )
            request_id_var.reset(token)
