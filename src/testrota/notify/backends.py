"""Where texts go: the console (default, no account needed), Twilio, or Aliyun SMS
(:mod:`testrota.notify.aliyun`, mainland numbers, approved templates only).

All satisfy :class:`SmsBackend`; one contract test runs against each. A backend classifies its
own failures (:class:`~testrota.notify.failures.SendFailure`) so the dispatcher never sees a
provider's exception types.
"""

from __future__ import annotations

import collections
import logging
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from testrota.notify.failures import Failure, SendFailure, classify_provider_error
from testrota.policy import ChannelsPolicy, SmsPolicy
from testrota.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

log = logging.getLogger("testrota.sms")

# A provider's clock and ours disagree a little; a lookup by time looks this much further back.
LOOKUP_MARGIN = timedelta(minutes=5)


@dataclass(frozen=True)
class SendResult:
    sid: str
    status: str  # the provider's status: queued, accepted, sent...
    channel: str | None = None  # the channel that took it, when a router chose one


@dataclass(frozen=True)
class ProviderMessage:
    sid: str
    to: str
    body: str
    status: str
    error_code: str | None = None
    error_message: str | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class TemplateValues:
    """What a text was made from: a channel sending only approved templates sends these."""

    kind: str
    language: str | None
    params: Mapping[str, str]


class ProviderUnavailable(Exception):
    """The provider could not be asked (network, 5xx); the row stays unknown and is asked later."""


class SmsBackend(Protocol):
    name: str

    def send(
        self,
        to: str,
        body: str,
        message_id: int | None = None,
        template: TemplateValues | None = None,
    ) -> SendResult:
        """Hand one text to the provider; raises :class:`SendFailure`."""
        ...

    def fetch(
        self, sid: str, to: str | None = None, since: datetime | None = None
    ) -> ProviderMessage | None:
        """The provider's record of ``sid`` (sent to ``to`` at or after ``since``, for providers
        that look texts up by number and day); None when it has none."""
        ...

    def find(
        self, to: str, body: str, since: datetime, message_id: int | None = None
    ) -> ProviderMessage | None:
        """A text with this recipient and body (or our ``message_id``, for providers that keep
        it and not the body) created at or after ``since``, if any."""
        ...

    def close(self) -> None: ...


def mask_phone(phone: str) -> str:
    """``+8613812345678`` -> ``+86138****5678``: logs at info level carry no full number."""
    if len(phone) <= 7:
        return "*" * len(phone)
    return phone[: len(phone) - 8] + "****" + phone[-4:]


class ConsoleBackend:
    """Writes each text to the log and reports it sent; remembers recent ones for lookups.

    The memory is per process: after a crash, a row left ``unknown`` is not found here and is
    written to the log again, which is harmless for a log.
    """

    name = "console"

    def __init__(self, remember: int = 100_000) -> None:
        self._lock = threading.Lock()
        self._recent: collections.OrderedDict[str, ProviderMessage] = collections.OrderedDict()
        self._remember = remember

    def send(
        self,
        to: str,
        body: str,
        message_id: int | None = None,
        template: TemplateValues | None = None,
    ) -> SendResult:
        sid = f"CONSOLE{uuid.uuid4().hex}"
        log.info("SMS to %s [%s]: %s", mask_phone(to), sid, body)
        record = ProviderMessage(sid, to, body, "sent", created_at=datetime.now(UTC))
        with self._lock:
            self._recent[sid] = record
            while len(self._recent) > self._remember:
                self._recent.popitem(last=False)
        return SendResult(sid, "sent")

    def fetch(
        self, sid: str, to: str | None = None, since: datetime | None = None
    ) -> ProviderMessage | None:
        with self._lock:
            return self._recent.get(sid)

    def find(
        self, to: str, body: str, since: datetime, message_id: int | None = None
    ) -> ProviderMessage | None:
        with self._lock:
            for record in reversed(self._recent.values()):
                if (
                    record.to == to
                    and record.body == body
                    and record.created_at is not None
                    and record.created_at >= since - LOOKUP_MARGIN
                ):
                    return record
        return None

    def close(self) -> None:
        pass


def _twilio_http_client_class() -> type:
    from requests.adapters import HTTPAdapter
    from twilio.http.http_client import TwilioHttpClient

    class ApiBaseHttpClient(TwilioHttpClient):  # type: ignore[misc]  # the SDK is untyped
        """Twilio's HTTP client, sending every request to ``api_base`` instead of twilio.com.

        The SDK has no base-URL argument, and setting ``client.api.base_url`` breaks as soon as
        a region or an edge is configured (the client rewrites the host afterwards). Rewriting
        scheme and host here, the last step before the wire, works for every domain and for
        the next-page URLs of a list.
        """

        def __init__(self, api_base: str | None, pool_size: int, timeout: float) -> None:
            super().__init__(timeout=timeout, logger=logging.getLogger("testrota.twilio.http"))
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size)
            assert self.session is not None
            self.session.mount("https://", adapter)
            self.session.mount("http://", adapter)
            self._base = urlsplit(api_base.rstrip("/")) if api_base else None
            # requests reads the proxy and CA-bundle variables on every request (a scan of the
            # whole environment, a fifth of a send's CPU); every request goes to one host, so
            # read them once, here, and let the session stop looking.
            env = self.session.merge_environment_settings(
                api_base or "https://api.twilio.com", {}, None, None, None
            )
            self.proxy = env.get("proxies") or {}
            self.session.verify = env.get("verify", True)
            self.session.trust_env = False

        def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            if self._base is not None:
                parts = urlsplit(url)
                url = urlunsplit(
                    (
                        self._base.scheme,
                        self._base.netloc,
                        self._base.path + parts.path,
                        parts.query,
                        parts.fragment,
                    )
                )
            return super().request(method, url, *args, **kwargs)

        # The SDK logs every request at INFO, numbers included; keep that out of our logs.
        def log_request(self, kwargs: dict[str, Any]) -> None:
            self.logger.debug("twilio %s %s", kwargs["method"], urlsplit(kwargs["url"]).path)

        def log_response(self, status_code: int, response: Any) -> None:
            self.logger.debug("twilio response %s", status_code)

    return ApiBaseHttpClient


def _never_connected(exc: BaseException) -> bool:
    """Whether a requests error happened before the request could reach the server."""
    from urllib3.exceptions import ConnectTimeoutError, MaxRetryError

    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        item = stack.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, ConnectTimeoutError):  # includes NewConnectionError (refused)
            return True
        if isinstance(item, MaxRetryError):
            stack.append(item.reason)
        stack.extend(a for a in item.args if isinstance(a, BaseException))
        stack.extend([item.__cause__, item.__context__])
    return False


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


class TwilioBackend:
    """The real ``twilio`` client. Sender: ``TWILIO_FROM`` or ``TWILIO_MESSAGING_SERVICE_SID``."""

    name = "twilio"

    def __init__(self, settings: Settings, sms: SmsPolicy) -> None:
        from twilio.rest import Client

        if not (settings.twilio_account_sid and settings.twilio_auth_token):
            raise ValueError("TwilioBackend needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN")
        http_client = _twilio_http_client_class()(
            settings.twilio_api_base, sms.concurrency, sms.request_timeout_seconds
        )
        self.client = Client(
            settings.twilio_account_sid, settings.twilio_auth_token, http_client=http_client
        )
        self._from = settings.twilio_from
        self._service = settings.twilio_messaging_service_sid
        # Real Twilio refuses a callback URL it cannot reach; a local fake does not care.
        self._callback: str | None = f"{settings.public_url}/twilio/status"
        if settings.twilio_api_base is None and _is_loopback(settings.public_url):
            log.warning(
                "TESTROTA_PUBLIC_URL is %s: Twilio cannot reach it, so texts are sent without a "
                "StatusCallback and delivery reports will not arrive",
                settings.public_url,
            )
            self._callback = None

    def send(
        self,
        to: str,
        body: str,
        message_id: int | None = None,
        template: TemplateValues | None = None,
    ) -> SendResult:
        from twilio.base import values

        callback: Any = values.unset
        if self._callback:
            callback = self._callback + (f"?m={message_id}" if message_id is not None else "")
        try:
            msg = self.client.messages.create(
                to=to,
                body=body,
                from_=self._from or values.unset,
                messaging_service_sid=self._service or values.unset,
                status_callback=callback,
            )
        except Exception as exc:
            raise _send_failure(exc) from exc
        return SendResult(str(msg.sid), str(msg.status or "queued"))

    def fetch(
        self, sid: str, to: str | None = None, since: datetime | None = None
    ) -> ProviderMessage | None:
        try:
            msg = self.client.messages(sid).fetch()
        except Exception as exc:
            if getattr(exc, "status", None) == 404:
                return None
            raise ProviderUnavailable(f"could not look up {sid}: {exc}") from exc
        return _provider_message(msg)

    def find(
        self, to: str, body: str, since: datetime, message_id: int | None = None
    ) -> ProviderMessage | None:
        after = since - LOOKUP_MARGIN
        try:
            candidates = self.client.messages.list(
                to=to, date_sent_after=after, limit=200, page_size=50
            )
        except Exception as exc:
            raise ProviderUnavailable(f"could not list texts to {mask_phone(to)}: {exc}") from exc
        matches = [
            m
            for m in candidates
            if m.body == body and (m.date_created is None or m.date_created >= after)
        ]
        if not matches:
            return None
        matches.sort(key=lambda m: m.date_created or after)
        return _provider_message(matches[-1])

    def close(self) -> None:
        session = getattr(self.client.http_client, "session", None)
        if session is not None:
            session.close()


def _provider_message(msg: Any) -> ProviderMessage:
    return ProviderMessage(
        sid=str(msg.sid),
        to=str(msg.to),
        body=str(msg.body or ""),
        status=str(msg.status or ""),
        error_code=None if msg.error_code in (None, 0) else str(msg.error_code),
        error_message=msg.error_message,
        created_at=msg.date_created,
    )


def _send_failure(exc: Exception) -> SendFailure:
    """Translate whatever the SDK or requests raised into a :class:`SendFailure`."""
    import requests
    from twilio.base.exceptions import (
        TwilioException,
        TwilioRestException,
        TwilioServiceException,
    )

    if isinstance(exc, TwilioRestException):
        return SendFailure(
            classify_provider_error(exc.status, exc.code),
            None if exc.code is None else str(exc.code),
            str(exc.msg)[:400],
            exc.status,
        )
    if isinstance(exc, TwilioServiceException):
        # The newer (RFC 9457) error body: not a TwilioRestException, same meaning.
        message = exc.title + (f": {exc.detail}" if exc.detail else "")
        return SendFailure(
            classify_provider_error(exc.status, exc.code),
            str(exc.code),
            message[:400],
            exc.status,
        )
    if isinstance(exc, TwilioException):
        # Raised after a response arrived (e.g. an unreadable body): the text may be out.
        return SendFailure(Failure.AMBIGUOUS, None, str(exc)[:400])
    if isinstance(exc, requests.exceptions.RequestException):
        if _never_connected(exc):
            return SendFailure(Failure.RETRY, None, f"network: {exc}"[:400])
        return SendFailure(Failure.AMBIGUOUS, None, f"network: {exc}"[:400])
    return SendFailure(Failure.AMBIGUOUS, None, f"{type(exc).__name__}: {exc}"[:400])


def build_backend(
    settings: Settings,
    sms: SmsPolicy,
    channels: ChannelsPolicy | None = None,
    engine: Engine | None = None,
) -> SmsBackend:
    """The backend ``TESTROTA_SMS_BACKEND`` names (the settings refuse one without creds).

    ``route`` reads each recipient's channel from the database (``engine``)."""
    if settings.sms_backend == "twilio":
        return TwilioBackend(settings, sms)
    if settings.sms_backend == "aliyun":
        from testrota.notify.aliyun import AliyunBackend

        return AliyunBackend.from_settings(settings, sms, channels or ChannelsPolicy())
    if settings.sms_backend == "wecom":
        from testrota.notify.wecom import WecomBackend

        return WecomBackend(
            settings, channels or ChannelsPolicy(), concurrency=sms.concurrency, engine=engine
        )
    if settings.sms_backend == "route":
        from testrota.notify.route import RouteBackend

        return RouteBackend(settings, sms, channels or ChannelsPolicy(), engine)
    return ConsoleBackend()
