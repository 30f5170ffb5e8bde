"""Rendering pages: the Jinja2 environment and the context every template gets."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from testrota.auth.users import UserInfo
from testrota.web.i18n import (
    LANGUAGES,
    category_name,
    code_text,
    negotiate,
    render_problem,
    translator,
)
from testrota.web.security import CSRF_FIELD, csrf_token

TEMPLATES = Path(__file__).with_name("templates")

# (path, label, roles) in menu order
NAV: list[tuple[str, str, frozenset[str]]] = [
    ("/", "Dashboard", frozenset({"admin", "hr", "supervisor"})),
    ("/missed", "Missed tests", frozenset({"admin", "hr", "supervisor"})),
    ("/exemptions", "Exemptions", frozenset({"admin", "hr", "supervisor"})),
    ("/report/daily", "Daily report", frozenset({"admin", "hr", "supervisor"})),
    ("/alerts", "Positive alerts", frozenset({"admin", "hr", "supervisor"})),
    ("/pools", "Positive pools", frozenset({"admin", "hr", "supervisor"})),
    ("/people", "People", frozenset({"admin", "hr", "supervisor"})),
    ("/schedule", "Schedule", frozenset({"admin", "hr", "supervisor"})),
    ("/checkin", "Check-in", frozenset({"admin", "hr", "site"})),
    # The tent's tools: in site staff's menu; the office reaches them from the check-in page.
    ("/scan", "Scan console", frozenset({"site"})),
    ("/tubes", "Tubes", frozenset({"site"})),
    ("/status", "Status lookup", frozenset({"admin", "hr", "supervisor", "site"})),
    ("/roles", "Roles", frozenset({"admin", "hr"})),
    ("/upload/roster", "Roster upload", frozenset({"admin", "hr"})),
    ("/upload/results", "Results upload", frozenset({"admin", "hr"})),
    ("/outbox", "Outbox", frozenset({"admin", "hr"})),
    ("/admin/users", "Users", frozenset({"admin", "hr"})),
    ("/badges", "Badges", frozenset({"admin", "hr", "supervisor"})),
    ("/api", "API", frozenset({"admin", "hr", "supervisor"})),
]


def request_language(request: Request) -> str:
    """The user's setting, else the language chosen on this browser, else Accept-Language.

    An employee's personal page speaks the employee's language, even to a staff member who
    happens to be signed in on the same browser."""
    person_language = getattr(request.state, "person_language", None)
    user: UserInfo | None = getattr(request.state, "user", None)
    if person_language is None and user is not None and user.language in LANGUAGES:
        return user.language
    chosen = request.session.get("lang") if "session" in request.scope else None
    if chosen in LANGUAGES:
        return str(chosen)
    if person_language in LANGUAGES:
        return str(person_language)
    return negotiate(request.headers.get("accept-language"))


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES))
    env = templates.env
    env.trim_blocks = True
    env.lstrip_blocks = True
    env.filters["local"] = _local
    env.filters["pct"] = _pct
    env.filters["pair"] = lambda value: (value, value)
    env.filters["inline_code"] = inline_code
    return templates


def inline_code(text: str | None) -> Markup:
    """Text whose `backticked` parts (OpenAPI descriptions are Markdown) read as code, the rest
    escaped: never raw backticks on a page."""
    import re

    parts = re.split(r"`([^`\n]+)`", text or "")
    out = [
        Markup("<code>{}</code>").format(part) if i % 2 else escape(part)
        for i, part in enumerate(parts)
    ]
    return Markup("").join(out)


def _local(value: datetime | date | None, tz: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(tz).strftime(fmt)
    return value.strftime(fmt if "%H" not in fmt else "%Y-%m-%d")


def _pct(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "–"
    return f"{value * 100:.{digits}f}%"


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    templates: Jinja2Templates = request.app.state.templates
    lang = request_language(request)
    user: UserInfo | None = getattr(request.state, "user", None)
    tz = request.app.state.testrota.tz
    base: dict[str, Any] = {
        "user": user,
        "lang": lang,
        "_": translator(lang),
        "cat": category_namer(request, lang),
        "code": lambda kind, value: code_text(kind, value, lang),
        "problem": lambda item: render_problem(item, lang),
        "tz": tz,
        "csrf_field": CSRF_FIELD,
        "csrf_token": csrf_token(request),
        "nav": [(p, label) for p, label, roles in NAV if user and user.role in roles],
        "path": request.url.path,
        "flashes": pop_flashes(request),
        "args": query_args(request),
    }
    base.update(context or {})
    return templates.TemplateResponse(request, name, base, status_code=status_code, headers=headers)


def category_namer(request: Request, lang: str) -> Callable[[str | None], str]:
    """``cat(code)``: a category's name in ``lang`` as the loaded vocabulary gives it (a code
    added to ``risk_categories.yaml`` shows its own name)."""
    from testrota.errors import UserError

    app = request.app.state.testrota
    # Read once per page: a missed list names a category on each of its hundred rows, and each
    # read of the vocabulary resolves and stats its file (a sixth of the page's CPU).
    vocabulary: list[Any] = []

    def cat(code: str | None) -> str:
        if not code:
            return ""
        try:
            if not vocabulary:
                vocabulary.append(app.vocabulary)
            return str(vocabulary[0].name(code, lang))
        except UserError:  # the file was broken by an edit: the built-in names will do
            return category_name(code, lang)

    return cat


def category_choices(request: Request) -> list[tuple[str, str]]:
    """(code, name) of every category of the loaded vocabulary, in its priority order: what a
    form offers, so the web accepts exactly what the CLI accepts."""
    vocab = request.app.state.testrota.vocabulary
    lang = request_language(request)
    return [(code, vocab.name(code, lang)) for code in vocab.codes]


def query_args(request: Request) -> Any:
    """``args(page=2)``: this page's query string with some parameters replaced."""
    from urllib.parse import urlencode

    current = dict(request.query_params)

    def args(**overrides: Any) -> str:
        merged = {**current, **{k: v for k, v in overrides.items()}}
        return urlencode({k: v for k, v in merged.items() if v not in (None, "")})

    return args


def flash(request: Request, message: str, kind: str = "ok") -> None:
    """A one-line message shown on the next page (after a 303 redirect)."""
    request.session.setdefault("flash", [])
    request.session["flash"] = [*request.session["flash"], [kind, message]][-5:]


def pop_flashes(request: Request) -> list[tuple[str, str]]:
    if "session" not in request.scope:
        return []
    items = request.session.pop("flash", None) or []
    return [(str(k), str(m)) for k, m in items]
