"""``GET /metrics`` for Prometheus: figures read from the database at scrape time, by a
``prometheus_client`` collector (:class:`~testrota.observability.metrics.DatabaseCollector`) on
the read engine.

With ``TESTROTA_METRICS_TOKEN`` set, a scrape needs ``Authorization: Bearer <token>``. Without
it, only a client on the loopback interface is answered, and not through a proxy on the same
machine: a request with forwarding headers came from elsewhere.
"""

from __future__ import annotations

import hmac
from ipaddress import ip_address

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import generate_latest
from sqlalchemy.exc import SQLAlchemyError

from testrota.app import App
from testrota.observability.metrics import CONTENT_TYPE, DatabaseCollector, registry
from testrota.web.deps import AppDep

router = APIRouter()

_FORWARDING = ("forwarded", "x-forwarded-for", "x-real-ip")


def _loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    if any(h in request.headers for h in _FORWARDING):
        return False
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def refusal(request: Request, token: str | None) -> Response | None:
    """Why this request may not scrape (a response to send), or None when it may."""
    if token:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), token.encode()
        ):
            return None
        return PlainTextResponse(
            "metrics need the bearer token (TESTROTA_METRICS_TOKEN)\n",
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    if _loopback(request):
        return None
    return PlainTextResponse(
        "metrics are served to loopback clients only; set TESTROTA_METRICS_TOKEN and scrape "
        "with that bearer token from elsewhere\n",
        status_code=403,
    )


def _collector(app: App) -> DatabaseCollector:
    # The policy is read at each scrape: "today" follows a changed timezone in policy.yaml.
    return DatabaseCollector(app.read_engine, app.now, lambda: app.policy)


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request, app: AppDep) -> Response:
    refused = refusal(request, app.settings.metrics_token)
    if refused is not None:
        return refused
    try:
        body = generate_latest(registry(_collector(app)))
    except SQLAlchemyError as exc:
        return PlainTextResponse(f"database unavailable: {type(exc).__name__}\n", status_code=503)
    return Response(body, media_type=CONTENT_TYPE)
