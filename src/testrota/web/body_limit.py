"""Request bodies are limited before anything parses them.

Without a limit, a form parser spools whatever it is sent: a 300 MB multipart body from anyone
went to a temporary file before the CSRF check refused it. This pure ASGI middleware sits
outside every parser (FastAPI's form and JSON reading, the CSRF check, the upload handler):

- a declared ``Content-Length`` over the limit is answered 413 before a byte is read;
- a body without one (chunked) is counted as it streams, and the read that crosses the limit
  raises :class:`BodyTooLarge` (a 413) instead of handing the bytes on.

Only a live sign-in of a user who may upload (``may_upload``: HR and admins, looked up when
such a request comes) may send an upload's worth (``web.max_upload_mb``) to an upload path;
every other request gets ``web.max_form_kb``, which no form or API call of ours comes near.
Review found the cookie's token alone was enough: site staff, or a cookie kept after signing
out (its signature outlives the sign-in), had 50 MB parsed and spooled before the refusal.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool as run_sync
from starlette.exceptions import HTTPException

from testrota.auth.sessions import valid_token

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

UPLOAD_PATHS = re.compile(r"^/upload/[a-z]+$")


class BodyTooLarge(HTTPException):
    """The request body is over its limit: 413, nothing of it parsed or kept.

    An ``HTTPException`` so that FastAPI's body reading passes it on (it turns other errors
    into a 400) and the app's error handler renders it.
    """

    def __init__(self, limit: BodyLimit) -> None:
        super().__init__(413, limit.message(), headers={"Connection": "close"})
        self.limit = limit


@dataclass(frozen=True)
class BodyLimit:
    max_bytes: int
    upload: bool

    def message(self) -> str:
        return self.text().format(**self.args())

    def text(self) -> str:
        """The English message with its placeholders, as the translation catalogue has it."""
        if self.upload:
            return "The upload is too large: at most {mb} MB."
        return "The request is too large: at most {kb} KB."

    def args(self) -> dict[str, Any]:
        if self.upload:
            return {"mb": f"{self.max_bytes / 1_000_000:g}"}
        return {"kb": f"{self.max_bytes / 1000:g}"}


@dataclass(frozen=True)
class BodyLimits:
    upload_bytes: int
    form_bytes: int

    def upload_token(self, scope: Scope) -> str | None:
        """The cookie's sign-in token of an upload request, to be looked up; else None (pure:
        reads the method, the path and the cookie)."""
        session = scope.get("session") or {}
        if scope.get("method") == "POST" and UPLOAD_PATHS.match(scope.get("path", "")):
            return valid_token(session.get("sid"))
        return None

    def for_request(self, may_upload: bool) -> BodyLimit:
        if may_upload:
            return BodyLimit(self.upload_bytes, upload=True)
        return BodyLimit(self.form_bytes, upload=False)


def declared_length(scope: Scope) -> int | None:
    """The ``Content-Length`` header as a number, or None.

    A malformed one is the server's to refuse (uvicorn does); the streamed count still holds.
    """
    for key, value in scope.get("headers") or []:
        if key.lower() == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isascii() and text.isdigit() else None
    return None


class BodyLimitMiddleware:
    """``app.add_middleware(BodyLimitMiddleware, limits=..., refuse=...)``.

    ``refuse(scope, limit)`` makes the 413 response for a declared length over the limit; it
    runs inside the session middleware, so it can render a page in the user's language.
    """

    def __init__(
        self,
        app: ASGIApp,
        limits: BodyLimits,
        refuse: Callable[[Scope, BodyLimit], Awaitable[Any]],
        may_upload: Callable[[str], bool],
    ) -> None:
        self.app = app
        self.limits = limits
        self.refuse = refuse
        self.may_upload = may_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = self.limits.upload_token(scope)
        # a database read: in a worker thread, and only for an upload's request
        allowed = token is not None and await run_sync(self.may_upload, token)
        limit = self.limits.for_request(allowed)
        declared = declared_length(scope)
        if declared is not None and declared > limit.max_bytes:
            response = await self.refuse(scope, limit)
            await response(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit.max_bytes:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, limited_receive, send)
