"""Security headers on every answer, and no NUL character in a request: a pure ASGI middleware.

It was an ``@app.middleware("http")`` function, which Starlette runs as a ``BaseHTTPMiddleware``:
each request then costs a task and a memory stream carrying the response body between two
coroutines, several hundred microseconds of CPU on the busiest path there is. This one only
looks at the response's start message on its way out.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_ALWAYS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
)


class SecurityHeaders:
    def __init__(self, app: ASGIApp, csp: str) -> None:
        self.app = app
        self.csp = csp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if b"%00" in scope.get("query_string", b"") or "\x00" in scope.get("path", ""):
            # PostgreSQL cannot store or even compare text with NUL in it.
            refusal = JSONResponse({"detail": "the request contains a NUL character"}, 400)
            await refusal(scope, receive, self._send_with_headers(send))
            return
        static = scope.get("path", "").startswith("/static/")
        await self.app(scope, receive, self._send_with_headers(send, static))

    def _send_with_headers(self, send: Send, static: bool = False) -> Send:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _ALWAYS:
                    headers.setdefault(name, value)
                if headers.get("content-type", "").startswith("text/html"):
                    headers.setdefault("Content-Security-Policy", self.csp)
                if not static:
                    # Pages, JSON and exports alike: HR's unmasked export must not stay in a
                    # shared PC's browser cache after sign-out. The app's own files may.
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        return send_with_headers
