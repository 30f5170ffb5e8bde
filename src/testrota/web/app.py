"""The FastAPI application, built from a :class:`Settings` by :func:`create_app`.

Pages are server-rendered (Jinja2, plain CSS, a little JavaScript, all inside the package); the
JSON API under ``/api/`` serves the same data behind the same sign-in and scoping.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    ProgrammingError,
)
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from testrota.app import App, build_app
from testrota.auth.keys import with_secret_key
from testrota.clock import clock_from_settings
from testrota.db.engine import make_engine
from testrota.errors import UserError
from testrota.settings import Settings, SettingsError, get_settings
from testrota.web.body_limit import BodyLimit, BodyLimitMiddleware, BodyLimits, BodyTooLarge
from testrota.web.dashboard import DashboardCache
from testrota.web.deps import UPLOAD_ROLES, CsrfRefused, Forbidden, NotSignedIn
from testrota.web.i18n import translator
from testrota.web.render import make_templates, render, request_language
from testrota.web.security_headers import SecurityHeaders

log = logging.getLogger(__name__)

STATIC = Path(__file__).with_name("static")
NUMERIC_OUT_OF_RANGE, FOREIGN_KEY_VIOLATION = "22003", "23503"  # PostgreSQL's SQLSTATEs
SESSION_COOKIE = "testrota_session"

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def create_app(
    settings: Settings,
    *,
    with_worker: bool = False,
    worker_factory: Callable[[Settings], Any] | None = None,
) -> FastAPI:
    """The web app for ``settings``.

    ``with_worker`` runs the periodic jobs in this process (a background scheduler started and
    stopped with the app); ``worker_factory`` builds it (default: the jobs package's).
    """
    engine = make_engine(settings.database_url)
    clock = clock_from_settings(settings)
    try:
        # The demo's key is random and kept in its database; any other key must be strong.
        settings = with_secret_key(settings, engine, clock.now())
    except SettingsError:
        engine.dispose()
        raise
    assert settings.secret_key is not None
    testrota = build_app(settings, engine=engine, clock=clock)
    policy = testrota.policy

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        worker = None
        if with_worker:
            worker = (worker_factory or _default_worker_factory)(settings)
            worker.start()
            log.info("job worker started in the web process")
        try:
            yield
        finally:
            if worker is not None:
                worker.shutdown()
            testrota.close()

    app = FastAPI(
        title="testrota",
        version="1",
        summary="Twice-weekly testing schedules for high-risk staff.",
        description=(
            "The JSON API of testrota. Sign in at `/login` (the session cookie) first; every "
            "call is scoped like the pages: supervisors see their own departments only, site "
            "staff reach check-in and status lookup only. Unsafe methods need the session's "
            "CSRF token in the `X-CSRF-Token` header (GET `/api/session` returns it)."
        ),
        # The document is served by ``routes/api_docs.py`` to those who may read the API page
        # (signed in, office roles), not to anyone who asks; no Swagger UI nor ReDoc (CDN).
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.testrota = testrota
    app.state.templates = make_templates()
    app.state.dashboard = DashboardCache(
        policy.web.dashboard_cache_seconds, policy.web.dashboard_cache_entries
    )

    # Added before the session middleware, so inside it: the limit may depend on the cookie.
    app.add_middleware(
        BodyLimitMiddleware,
        limits=BodyLimits(
            upload_bytes=int(policy.web.max_upload_mb * 1_000_000),
            form_bytes=policy.web.max_form_kb * 1000,
        ),
        refuse=_refuse_body,
        may_upload=lambda token: _may_upload(testrota, token),
    )
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie=SESSION_COOKIE,
        max_age=int(policy.web.session_hours * 3600),
        same_site="lax",
        https_only=settings.public_url.startswith("https://"),
    )

    # Outside the session, so a refused request (a NUL in it) never reaches the cookie.
    app.add_middleware(SecurityHeaders, csp=CSP)

    _install_error_handlers(app)

    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    from testrota.web.routes import register_routes

    register_routes(app)
    from testrota.observability.request_id import RequestIdMiddleware
    from testrota.web.aliyun_routes import router as aliyun_router
    from testrota.web.disclosure import DisclosureGuard
    from testrota.web.metrics_routes import router as metrics_router
    from testrota.web.twilio_routes import router as twilio_router

    app.add_middleware(DisclosureGuard, policy=policy)  # masks numbers, cuts personal links
    # Added last, so it is outermost: every log line of a request carries its id.
    app.add_middleware(RequestIdMiddleware)
    app.include_router(twilio_router)
    app.include_router(aliyun_router)
    app.include_router(metrics_router)
    return app


def create_app_from_env() -> FastAPI:
    """For ``uvicorn --factory testrota.web.app:create_app_from_env --workers N``."""
    from testrota.observability.logging import configure_logging

    settings = get_settings()
    configure_logging(settings)
    app = create_app(settings)
    settle_process()
    return app


def settle_process() -> None:
    """Before a server process takes its first request: what is built by then (modules, the
    models' metadata, templates, the app) lives as long as the process, and is frozen out of
    the collector's sight. Each full collection walked all of it, 70-160 ms of a server at
    300,000 people in which every request of the process waited. Garbage is collected first
    so none of it is kept frozen."""
    gc.collect()
    gc.freeze()


def _default_worker_factory(settings: Settings) -> Any:
    from testrota.jobs import scheduler

    return scheduler.build_background_scheduler(settings)


JSON_PATHS = ("/openapi.json",)  # documents outside /api/ answered as JSON, errors too


def _wants_json(request: Request) -> bool:
    return (
        request.url.path.startswith("/api/")
        or request.url.path in JSON_PATHS
        or "application/json" in request.headers.get("accept", "").split(",")[0]
    )


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, exc: NotSignedIn) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": "sign in first (POST /login)"}, status_code=401)
        target = request.url.path
        if request.url.query:
            target += "?" + request.url.query
        from urllib.parse import quote

        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        return _error(request, 403, "You do not have access to this page.")

    @app.exception_handler(CsrfRefused)
    async def csrf_refused(request: Request, exc: CsrfRefused) -> Response:
        return _error(
            request,
            403,
            "The form has expired or was sent from another page. Reload the page and try again.",
        )

    @app.exception_handler(UserError)
    async def user_error(request: Request, exc: UserError) -> Response:
        return _error(request, 400, str(exc), translate=False)

    @app.exception_handler(BodyTooLarge)
    async def body_too_large(request: Request, exc: BodyTooLarge) -> Response:
        return _too_large(request, exc.limit)

    @app.exception_handler(DataError)
    async def data_error(request: Request, exc: DataError) -> Response:
        # A value the database refuses: bad input, so 400, with what was wrong with it.
        log.info("database refused a value: %s", exc.orig)
        if getattr(exc.orig, "sqlstate", None) == NUMERIC_OUT_OF_RANGE:
            return _error(request, 400, "A number in the request is out of range.")
        return _error(request, 400, "The input contains characters that cannot be stored.")

    @app.exception_handler(OverflowError)
    async def overflow_error(request: Request, exc: OverflowError) -> Response:
        # SQLite's driver cannot bind an integer beyond 64 bits; the doors bound ids before it.
        log.info("a number too large for the database: %s", exc)
        return _error(request, 400, "A number in the request is out of range.")

    @app.exception_handler(IntegrityError)
    async def integrity_error(request: Request, exc: IntegrityError) -> Response:
        # A row the change refers to is gone, or another change got there first: nothing was
        # written (the transaction rolled back), and trying again after a reload is the fix.
        log.info("database refused a change: %s", exc.orig)
        return _error(
            request,
            400 if _is_foreign_key(exc) else 409,
            "The change refers to something that has changed or no longer exists. "
            "Reload the page and try again.",
        )

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    @app.exception_handler(ProgrammingError)
    async def database_trouble(request: Request, exc: DBAPIError) -> Response:
        # The database down or restarting, busy, or not set up: the moment's or the
        # operator's, not the user's, so a page saying to wait, not "Internal Server Error".
        # The operator gets the driver's words in the log; a bug (our SQL) stays a 500, and a
        # conflict is an IntegrityError, answered 409 above.
        from testrota.db.trouble import Trouble, trouble_of

        found = trouble_of(exc)
        if found is None:
            raise exc
        trouble, reason = found
        if trouble is Trouble.NO_SCHEMA:
            log.error(
                "the database has no schema, or an older one: run `testrota init` (%s)", reason
            )
            message, wait = "testrota is being set up or upgraded. Try again in a few minutes.", 120
        elif trouble is Trouble.BUSY:
            log.warning("the database was too busy: %s", reason)
            message, wait = "The system is busy. Try again in a moment.", 5
        else:
            log.warning("cannot use the database: %s", reason)
            message, wait = "The database cannot be reached just now. Try again in a minute.", 30
        return _error(request, 503, message, headers={"Retry-After": str(wait)})

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": _jsonable_errors(exc)}, status_code=422)
        message = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors()
        )
        # A form's fields: 400, as a form re-rendered with its messages answers.
        return _error(request, 400, message, translate=False)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return _error(
                request,
                404,
                str(exc.detail) if exc.detail != "Not Found" else "Not found.",
                translate=exc.detail == "Not Found",
            )
        return _error(
            request,
            exc.status_code,
            str(exc.detail),
            translate=False,
            headers=getattr(exc, "headers", None),
        )


def _is_foreign_key(exc: IntegrityError) -> bool:
    return getattr(exc.orig, "sqlstate", None) == FOREIGN_KEY_VIOLATION or (
        "FOREIGN KEY" in str(exc.orig)
    )


def _may_upload(app: App, token: str) -> bool:
    """Whether the sign-in of ``token`` is live and its user one who uploads rosters and
    results (the roles the upload routes take)."""
    from testrota.auth.sessions import SessionRule, SessionState, find_session, judge
    from testrota.db.engine import lookup
    from testrota.db.trouble import trouble_of

    try:
        with lookup(app.fresh_engine) as conn:
            found = find_session(conn, token)
    except DBAPIError as exc:
        if trouble_of(exc) is None:
            raise
        # The database down or busy: the route's own look-up meets it too and answers 503
        # with Retry-After; out here it would be a bare 500. An upload's worth at most.
        return True
    if judge(found, app.now(), SessionRule.of(app.policy.web)) is not SessionState.OK:
        return False
    return found is not None and found.user.role in UPLOAD_ROLES


async def _refuse_body(scope: Any, limit: BodyLimit) -> Response:
    return _too_large(Request(scope), limit)


def _too_large(request: Request, limit: BodyLimit) -> Response:
    if _wants_json(request):
        return _error(request, 413, limit.message(), headers={"Connection": "close"})
    text = translator(request_language(request))(limit.text(), **limit.args())
    return _error(request, 413, text, translate=False, headers={"Connection": "close"})


def _jsonable_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type", "")}
        for e in exc.errors()
    ]


def _error(
    request: Request,
    status: int,
    message: str,
    *,
    translate: bool = True,
    headers: dict[str, str] | None = None,
) -> Response:
    if _wants_json(request):
        return JSONResponse({"detail": message}, status_code=status, headers=headers)
    text = translator(request_language(request))(message) if translate else message
    return render(
        request,
        "error.html",
        {"status": status, "message": text},
        status_code=status,
        headers=headers,
    )
