"""WeCom (企业微信) application messages over its HTTP API (``TESTROTA_WECOM_API_BASE``).

``gettoken`` gives an access token for two hours; it is cached per process and fetched again
when WeCom says it expired or is invalid (42001, 40014, 41001), and the request is then retried
once. A text goes with ``message/send`` to one member (``touser``) as a text message with
``enable_duplicate_check``: WeCom then drops the same content to the same member within the
interval, so a text whose fate is unknown after a timeout (WeCom has no API to look a message
up) can be sent again without reaching the person twice.

A member is the roster's 企业微信账号 of the person with the number (``person.wecom_userid``),
else the member with that mobile (``user/getuserid``, remembered per process); a caller that
knows the member passes ``wecom:<userid>`` as ``to``.

WeCom drops messages past 30 a minute and 1,000 an hour to one member *without an error*; the
dispatcher keeps below the policy's ``channels`` limits before sending (:attr:`recipient_limits`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx2
from sqlalchemy import Engine, select

from testrota.db import tables
from testrota.notify.backends import (
    ProviderMessage,
    SendResult,
    TemplateValues,
    mask_phone,
)
from testrota.notify.failures import Failure, SendFailure
from testrota.policy import ChannelsPolicy
from testrota.settings import Settings, wecom_missing

log = logging.getLogger("testrota.sms.wecom")

TOKEN_ERRORS = frozenset({40014, 42001, 41001})  # invalid, expired, missing access token
RETRY_ERRORS = frozenset({-1, 45009, 45033, 45011})  # busy, API rate limits
NOT_A_MEMBER = frozenset({46004, 60111, 40031, 60103})  # no such member / bad mobile
CONFIG_ERRORS = frozenset({40001, 40013, 40056, 60020, 48002, 301002, 82001, 40091, 40014})
TOKEN_MARGIN_SECONDS = 300  # fetch a new token this long before WeCom's expiry
DUPLICATE_CHECK_SECONDS = 4 * 3600  # WeCom's longest duplicate-check interval
MAX_CONTENT_BYTES = 2048  # WeCom's limit on a text message's content
USER_PREFIX = "wecom:"


class _TokenExpired(Exception):
    pass


def _fits(body: str) -> str:
    data = body.encode("utf-8")
    if len(data) <= MAX_CONTENT_BYTES:
        return body
    return data[: MAX_CONTENT_BYTES - 3].decode("utf-8", errors="ignore") + "…"


def mobile_of(phone: str) -> str:
    """The mobile as WeCom stores it: 11 digits for a mainland number, else the digits with +."""
    digits = phone.strip()
    if digits.startswith("+86") and len(digits) == 14:
        return digits[3:]
    return digits


class WecomBackend:
    """Application messages from ``WECOM_AGENT_ID`` of ``WECOM_CORP_ID``."""

    name = "wecom"

    def __init__(
        self,
        settings: Settings,
        channels: ChannelsPolicy,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        concurrency: int = 8,
        engine: Engine | None = None,
    ) -> None:
        missing = wecom_missing(settings)
        if missing:
            raise ValueError(f"WecomBackend needs {', '.join(missing)}")
        # httpx2 logs each request's URL at INFO, and gettoken's URL carries the secret: keep
        # its log quiet even where configure_logging did not run (a test, a library user).
        quiet = logging.getLogger("httpx2")
        if quiet.getEffectiveLevel() < logging.WARNING:
            quiet.setLevel(logging.WARNING)
        self.base = settings.wecom_api_base
        self._corp_id = settings.wecom_corp_id or ""
        self._secret = settings.wecom_secret or ""
        self.agent_id = int(settings.wecom_agent_id or 0)
        self._monotonic = monotonic
        self._engine = engine  # for the roster's 企业微信账号 (person.wecom_userid)
        timeout = channels.wecom_request_timeout_seconds
        self.client = httpx2.Client(
            base_url=self.base,
            timeout=httpx2.Timeout(timeout, connect=min(timeout, 5.0)),
            limits=httpx2.Limits(
                max_connections=concurrency, max_keepalive_connections=concurrency
            ),
            trust_env=False,
        )
        self._lock = threading.Lock()
        self._token: str | None = None
        self._token_until = 0.0
        self._users: dict[str, str] = {}
        self.recipient_limits: tuple[tuple[str, timedelta, int], ...] = (
            ("wecom", timedelta(minutes=1), channels.wecom_per_minute),
            ("wecom", timedelta(hours=1), channels.wecom_per_hour),
        )

    # ------------------------------------------------------------------ the API
    def _token_now(self, refresh: bool = False) -> str:
        with self._lock:
            if not refresh and self._token and self._monotonic() < self._token_until:
                return self._token
        # Fetched outside the lock: a slow gettoken must not hold every sending thread.
        answer = self._call("GET", "/cgi-bin/gettoken", None, token=False)
        token = str(answer.get("access_token") or "")
        if not token:
            raise SendFailure(Failure.REJECTED, "gettoken", "WeCom gave no access token")
        expires = float(answer.get("expires_in") or 7200)
        with self._lock:
            self._token = token
            self._token_until = self._monotonic() + max(60.0, expires - TOKEN_MARGIN_SECONDS)
        return token

    def _call(
        self, method: str, path: str, payload: dict[str, Any] | None, *, token: bool = True
    ) -> dict[str, Any]:
        """One API call, refreshing the token once when WeCom says it expired."""
        for attempt in (1, 2):
            try:
                return self._request(method, path, payload, token, refresh=attempt == 2)
            except _TokenExpired:
                if attempt == 2:
                    raise SendFailure(
                        Failure.RETRY, "42001", "WeCom refused a fresh access token"
                    ) from None
                log.info("WeCom access token expired; fetching a new one")
        raise AssertionError("unreachable")

    def _request(
        self,
        method: str,
        path: str,
        payload: dict[str, Any] | None,
        token: bool,
        refresh: bool,
    ) -> dict[str, Any]:
        params: dict[str, str] = {}
        if token:
            params["access_token"] = self._token_now(refresh=refresh)
        else:
            params = {"corpid": self._corp_id, "corpsecret": self._secret}
        try:
            response = self.client.request(method, path, params=params, json=payload)
        except httpx2.ConnectError as exc:
            raise SendFailure(Failure.RETRY, None, f"network: {type(exc).__name__}") from exc
        except httpx2.ConnectTimeout as exc:
            raise SendFailure(Failure.RETRY, None, "network: connect timeout") from exc
        except httpx2.HTTPError as exc:
            # The request may have arrived (a read timeout, a dropped answer).
            raise SendFailure(Failure.AMBIGUOUS, None, f"network: {type(exc).__name__}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise SendFailure(
                Failure.RETRY,
                None,
                f"WeCom answered HTTP {response.status_code}",
                response.status_code,
            )
        try:
            answer = response.json()
        except ValueError as exc:
            raise SendFailure(
                Failure.AMBIGUOUS, None, f"WeCom answered HTTP {response.status_code}, not JSON"
            ) from exc
        if not isinstance(answer, dict):
            raise SendFailure(Failure.AMBIGUOUS, None, "WeCom answered something unexpected")
        code = int(answer.get("errcode") or 0)
        if code == 0:
            return answer
        if token and code in TOKEN_ERRORS:
            raise _TokenExpired()
        message = str(answer.get("errmsg") or "")[:300]
        if code in RETRY_ERRORS:
            raise SendFailure(Failure.RETRY, str(code), message)
        failure = SendFailure(Failure.REJECTED, str(code), message)
        if code in CONFIG_ERRORS or not token:
            log.error("WeCom refused %s: %s", path, failure)  # credentials, agent, permissions
        raise failure

    def _roster_userid(self, to: str) -> str | None:
        if self._engine is None:
            return None
        person = tables.PERSON
        with self._engine.connect() as conn:
            found = conn.execute(
                select(person.c.wecom_userid)
                .where(person.c.phone == to, person.c.wecom_userid.is_not(None))
                .limit(1)
            ).scalar()
        return str(found) if found else None

    def userid(self, to: str) -> str:
        """The member to write to: ``wecom:<userid>``, the roster's 企业微信账号 of the person
        with this number, or the member with this mobile."""
        if to.startswith(USER_PREFIX):
            return to[len(USER_PREFIX) :]
        with self._lock:
            known = self._users.get(to)
        if known:
            return known
        listed = self._roster_userid(to)
        if listed:
            return listed  # not cached: a roster import may change it
        answer = self._call("POST", "/cgi-bin/user/getuserid", {"mobile": mobile_of(to)})
        user = str(answer.get("userid") or "")
        if not user:
            raise SendFailure(Failure.REJECTED, "46004", "no WeCom member with this mobile")
        with self._lock:
            self._users[to] = user
        return user

    # ------------------------------------------------------------------ SmsBackend
    def send(
        self,
        to: str,
        body: str,
        message_id: int | None = None,
        template: TemplateValues | None = None,
    ) -> SendResult:
        try:
            user = self.userid(to)
        except SendFailure as failure:
            if failure.code in {str(c) for c in NOT_A_MEMBER}:
                log.warning("no WeCom member for %s (text %s)", mask_phone(to), message_id)
            raise
        answer = self._call(
            "POST",
            "/cgi-bin/message/send",
            {
                "touser": user,
                "msgtype": "text",
                "agentid": self.agent_id,
                "text": {"content": _fits(body)},
                "safe": 0,
                "enable_duplicate_check": 1,
                "duplicate_check_interval": DUPLICATE_CHECK_SECONDS,
            },
        )
        invalid = str(answer.get("invaliduser") or "")
        if user in invalid.split("|"):
            with self._lock:
                self._users.pop(to, None)
            raise SendFailure(Failure.REJECTED, "invaliduser", "WeCom: not a member of the app")
        return SendResult(str(answer.get("msgid") or f"wecom-{message_id}"), "sent")

    def fetch(
        self, sid: str, to: str | None = None, since: datetime | None = None
    ) -> ProviderMessage | None:
        # WeCom cannot look a message up; a message id means WeCom took it.
        return ProviderMessage(sid, to or "", "", "sent")

    def find(
        self, to: str, body: str, since: datetime, message_id: int | None = None
    ) -> ProviderMessage | None:
        # No lookup API: a text of unknown fate is sent again, and WeCom's duplicate check
        # (same content to the same member within four hours) keeps it from arriving twice.
        return None

    def close(self) -> None:
        self.client.close()
