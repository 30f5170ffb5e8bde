"""The sign-in cookie, CSRF tokens and the client's address.

The cookie (Starlette's ``SessionMiddleware``, signed with ``TESTROTA_SECRET_KEY`` by
itsdangerous) holds only the sign-in token (see :mod:`testrota.auth.sessions`), the CSRF token
and the language chosen on this browser; the sign-in, the user, their role and departments are
read from the database on every request, so a change by an admin takes effect at once.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Sequence
from ipaddress import IPv4Network, IPv6Network, ip_address

from starlette.requests import Request

from testrota.auth.sessions import valid_token

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def csrf_matches(request: Request, offered: str | None) -> bool:
    expected = request.session.get("csrf")
    if not isinstance(expected, str) or not offered:
        return False
    return hmac.compare_digest(expected.encode(), offered.encode())


def start_session(request: Request, token: str) -> None:
    """Sign in: a fresh cookie (and a fresh CSRF token) so nothing from before carries over."""
    lang = request.session.get("lang")
    request.session.clear()
    request.session.update({"sid": token, "csrf": secrets.token_urlsafe(32)})
    if lang:
        request.session["lang"] = lang


def end_session(request: Request, signed_out: str | None = None) -> None:
    """Clear the cookie; ``signed_out`` (why) is shown on the sign-in page that follows."""
    lang = request.session.get("lang")
    request.session.clear()
    if lang:
        request.session["lang"] = lang
    if signed_out:
        request.session["signed_out"] = signed_out


def session_token(request: Request) -> str | None:
    """The sign-in token in the cookie, or None (nobody signed in on this browser)."""
    return valid_token(request.session.get("sid"))


def client_ip(request: Request) -> str:
    """The client's address: the peer's, or behind a trusted proxy the one it forwarded.

    ``X-Forwarded-For`` is anyone's to write, so it is read only when the peer is one of
    ``TESTROTA_TRUSTED_PROXIES``; then the right-most address that is not a trusted proxy is
    the client (proxies append, so everything left of it may be forged).
    """
    peer = request.client.host if request.client else ""
    settings = getattr(request.app.state, "settings", None)
    trusted = settings.trusted_networks if settings is not None else ()
    return forwarded_client(peer, request.headers.getlist("x-forwarded-for"), trusted)


def forwarded_client(
    peer: str, forwarded_for: Sequence[str], trusted: Sequence[IPv4Network | IPv6Network]
) -> str:
    """The client address seen through ``trusted`` proxies (pure; see :func:`client_ip`)."""
    if not trusted or not _is_in(peer, trusted):
        return peer
    hops = [h.strip() for header in forwarded_for for h in header.split(",")]
    client = peer
    for hop in reversed(hops):
        try:
            ip_address(hop)
        except ValueError:
            break  # a proxy wrote garbage: keep the last address we can vouch for
        client = hop
        if not _is_in(hop, trusted):
            break
    return client


def _is_in(address: str, networks: Sequence[IPv4Network | IPv6Network]) -> bool:
    try:
        ip = ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)
