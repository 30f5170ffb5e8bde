"""Aliyun SMS (阿里云短信服务) through the official SDK: mainland numbers, approved templates.

Aliyun sends no free text: each kind of text has an approved template (``channels.aliyun`` in
messages.yaml) and the values the body was made from go as ``TemplateParam``. Our message id
goes as ``OutId``, so a text whose fate is unknown (a crash, a timeout) is found again with
``QuerySendDetails``, and a delivery receipt names the row it is about.

Aliyun answers HTTP 200 with a ``Code`` for refusals of a text, and an HTTP error for refusals
of the request (credentials, signature, throttling); both are classified here by meaning.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from testrota.errors import UserError
from testrota.notify.backends import (
    LOOKUP_MARGIN,
    ProviderMessage,
    ProviderUnavailable,
    SendResult,
    TemplateValues,
    mask_phone,
)
from testrota.notify.channel_templates import ChannelSet
from testrota.notify.failures import Failure, SendFailure
from testrota.policy import ChannelsPolicy, SmsPolicy
from testrota.settings import Settings, aliyun_missing

log = logging.getLogger("testrota.sms.aliyun")

# Aliyun keeps its send records by the day in China's time.
CHINA = ZoneInfo("Asia/Shanghai")
PAGE_SIZE = 50  # QuerySendDetails allows at most 50 a page
MAX_PAGES = 20  # a lookup reads at most this many pages of one number's day

# Codes in a 200 answer (the text was refused), by meaning.
RETRY_CODES = frozenset(
    {
        "isv.BUSINESS_LIMIT_CONTROL",  # per-number rate limit: try later
        "isv.DAY_LIMIT_CONTROL",
        "isv.OUT_OF_SERVICE",  # account suspended (arrears): an admin must act; keep the text
        "isv.AMOUNT_NOT_ENOUGH",
        "isp.SYSTEM_ERROR",
        "SignatureNonceUsed",
    }
)
INVALID_NUMBER_CODES = frozenset({"isv.MOBILE_NUMBER_ILLEGAL"})
# Our configuration is wrong (template, signature, parameters, account): every text of the kind
# will fail the same way until an admin fixes it, so say so loudly.
CONFIG_CODES = frozenset(
    {
        "isv.SMS_TEMPLATE_ILLEGAL",
        "isv.SMS_SIGNATURE_ILLEGAL",
        "isv.SMS_SIGN_ILLEGAL",
        "isv.TEMPLATE_MISSING_PARAMETERS",
        "isv.TEMPLATE_PARAMS_ILLEGAL",
        "isv.INVALID_JSON_PARAM",
        "isv.PARAM_LENGTH_LIMIT",
        "isv.SMS_CONTENT_ILLEGAL",
        "isv.SIGN_NAME_ILLEGAL",
        "isv.ACCOUNT_ABNORMAL",
        "isv.ACCOUNT_NOT_EXISTS",
        "InvalidAccessKeyId.NotFound",
        "InvalidAccessKeyId.Inactive",
        "SignatureDoesNotMatch",
        "Forbidden.RAM",
        "isp.RAM_PERMISSION_DENY",
        "no_template",
        "link_not_sendable",  # a link the approved wording cannot carry (channel_templates)
    }
)
LOUD = CONFIG_CODES | {"isv.OUT_OF_SERVICE", "isv.AMOUNT_NOT_ENOUGH"}
# HTTP error codes that mean "too fast": Aliyun's API flow control.
THROTTLING = ("Throttling", "Throttling.User", "Throttling.Api", "ServiceUnavailable")

# QuerySendDetails SendStatus: 1 waiting for the receipt, 2 failed, 3 delivered.
SEND_STATUS = {1: "sent", 2: "undelivered", 3: "delivered"}


def classify_code(code: str) -> Failure:
    """The meaning of an Aliyun ``Code`` refusing a text."""
    if code in RETRY_CODES:
        return Failure.RETRY
    if code in INVALID_NUMBER_CODES:
        return Failure.INVALID_NUMBER
    return Failure.REJECTED


def national_number(phone: str) -> str:
    """The number as Aliyun keys its records: 11 digits for a mainland number (``+86`` dropped),
    the international digits (no ``+``) otherwise."""
    digits = phone.strip().lstrip("+")
    if digits.startswith("86") and len(digits) == 13:
        return digits[2:]
    return digits


def china_days(since: datetime, now: datetime) -> list[date]:
    """The China-time days from ``since`` (less a margin) to ``now``, at most 3, newest first."""
    first = (since - LOOKUP_MARGIN).astimezone(CHINA).date()
    last = max(now.astimezone(CHINA).date(), first)
    days = [last - timedelta(days=i) for i in range((last - first).days + 1)]
    return days[:3]


def _walk(exc: BaseException) -> list[BaseException]:
    """The exception and those it wraps (SDK wrappers, ``__cause__``, ``__context__``)."""
    seen: set[int] = set()
    out: list[BaseException] = []
    stack: list[Any] = [exc]
    while stack:
        item = stack.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        out.append(item)
        stack.extend([getattr(item, "inner_exception", None), item.__cause__, item.__context__])
        stack.extend(a for a in item.args if isinstance(a, BaseException))
    return out


def _never_connected(exc: BaseException) -> bool:
    """Whether the request failed before it could reach the server (refused, connect timeout)."""
    from requests.exceptions import ConnectionError as RequestsConnectionError
    from requests.exceptions import ConnectTimeout, ReadTimeout
    from urllib3.exceptions import NewConnectionError

    chain = _walk(exc)
    if any(isinstance(e, ReadTimeout) for e in chain):
        return False
    if any(isinstance(e, (ConnectTimeout, NewConnectionError)) for e in chain):
        return True
    text = " ".join(str(e) for e in chain)
    if "Connection refused" in text or "NewConnectionError" in text:
        return True
    return any(
        isinstance(e, RequestsConnectionError)
        and "Max retries exceeded" in str(e)
        and "RemoteDisconnected" not in text
        and "Connection aborted" not in text
        for e in chain
    )


def send_failure(exc: Exception) -> SendFailure:
    """Translate whatever the SDK raised into a :class:`SendFailure`."""
    from alibabacloud_tea_openapi.exceptions import (
        AlibabaCloudException,
        ServerException,
        ThrottlingException,
    )

    if isinstance(exc, AlibabaCloudException):
        code = str(exc.code or "") or None
        status = exc.status_code
        message = str(exc.message or "")[:400]
        if isinstance(exc, (ThrottlingException, ServerException)) or code in THROTTLING:
            return SendFailure(Failure.RETRY, code, message, status)
        if status is not None and status >= 500:
            return SendFailure(Failure.RETRY, code, message, status)
        return SendFailure(Failure.REJECTED, code, message, status)
    if _never_connected(exc):
        return SendFailure(Failure.RETRY, None, f"network: {_first_line(exc)}"[:400])
    # A read timeout or a dropped answer: Aliyun may have taken the text; look it up.
    return SendFailure(Failure.AMBIGUOUS, None, f"{type(exc).__name__}: {_first_line(exc)}"[:400])


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [""])[0]


class AliyunBackend:
    """SendSms / QuerySendDetails with ``ALIYUN_*`` credentials against ``TESTROTA_ALIYUN_*``."""

    name = "aliyun"

    def __init__(
        self,
        settings: Settings,
        sms: SmsPolicy,
        channel: ChannelSet,
        channels: ChannelsPolicy | None = None,
    ) -> None:
        from alibabacloud_dysmsapi20170525.client import Client
        from alibabacloud_tea_openapi.utils_models import Config

        missing = aliyun_missing(settings)
        if missing:
            raise ValueError(f"AliyunBackend needs {', '.join(missing)}")
        timeout_ms = int(sms.request_timeout_seconds * 1000)
        config = Config(
            access_key_id=settings.aliyun_access_key_id,
            access_key_secret=settings.aliyun_access_key_secret,
            endpoint=settings.aliyun_endpoint,
            protocol=settings.aliyun_protocol,
            connect_timeout=min(timeout_ms, 5000),
            read_timeout=timeout_ms,
            max_idle_conns=sms.concurrency,
        )
        self.client = Client(config)
        self.sign_name = settings.aliyun_sms_sign_name or ""
        self.channel = channel
        self.public_url = settings.public_url
        # (language, kind) -> why its links cannot go out (channel_templates.link_problems)
        self.link_problems: dict[tuple[str, str], UserError] = {}
        per_day = (channels or ChannelsPolicy()).aliyun_per_day
        self.recipient_limits: tuple[tuple[str, timedelta, int], ...] = (
            ("aliyun", timedelta(days=1), per_day),
        )

    @classmethod
    def from_settings(
        cls, settings: Settings, sms: SmsPolicy, channels: ChannelsPolicy | None = None
    ) -> AliyunBackend:
        """The backend with the approved templates of ``messages.yaml`` (refused without).
        Templates whose links Aliyun would refuse (:func:`link_problems`) are logged and their
        texts fail before the wire; the other kinds are sent."""
        from testrota.notify.channel_templates import link_problems
        from testrota.notify.templates import load_templates

        templates = load_templates(settings.config_dir, sms.max_segments)
        channel = templates.channels.get("aliyun")
        source = str(settings.config_dir / "messages.yaml")
        if channel is None:
            raise UserError(
                "{path}: TESTROTA_SMS_BACKEND=aliyun needs the approved templates under "
                "channels.aliyun (see the README, Connecting Aliyun SMS)",
                path=source,
            )
        backend = cls(settings, sms, channel, channels)
        backend.link_problems = link_problems(channel, settings.public_url, source)
        for problem in backend.link_problems.values():
            log.error("Aliyun texts of a kind will not be sent: %s", problem)
        return backend

    # ------------------------------------------------------------------ sending
    def send(
        self,
        to: str,
        body: str,
        message_id: int | None = None,
        template: TemplateValues | None = None,
    ) -> SendResult:
        from alibabacloud_dysmsapi20170525.models import SendSmsRequest

        from testrota.notify.channel_templates import LinkNotSendable

        call = None
        if template is not None:
            problem = self._link_problem(template)
            if problem is not None:
                failure = SendFailure(Failure.REJECTED, "link_not_sendable", str(problem)[:400])
                log.error("Aliyun text %s not sent: %s", message_id, failure)
                raise failure
            try:
                call = self.channel.call(
                    template.kind, template.language, template.params, self.public_url
                )
            except LinkNotSendable as exc:
                failure = SendFailure(Failure.REJECTED, "link_not_sendable", str(exc)[:400])
                log.error("Aliyun text %s not sent: %s", message_id, failure)
                raise failure from exc
        if call is None:
            what = template.kind if template is not None else "a text without template values"
            failure = SendFailure(
                Failure.REJECTED, "no_template", f"no approved Aliyun template for {what}"
            )
            log.error("Aliyun text %s not sent: %s", message_id, failure)
            raise failure
        request = SendSmsRequest(
            phone_numbers=national_number(to),
            sign_name=self.sign_name,
            template_code=call.code,
            template_param=json.dumps(call.params, ensure_ascii=False),
            out_id=None if message_id is None else str(message_id),
        )
        try:
            response = self.client.send_sms(request)
        except Exception as exc:
            failure = send_failure(exc)
            if failure.code in LOUD:
                log.error("Aliyun refused text %s: %s", message_id, failure)
            raise failure from exc
        answer = response.body
        code = str(getattr(answer, "code", "") or "")
        if code == "OK" and getattr(answer, "biz_id", None):
            return SendResult(str(answer.biz_id), "sent")
        message = str(getattr(answer, "message", "") or "")[:400]
        # No HTTP status: the answer was a 200. For a retried refusal (a rate limit) that also
        # makes the dispatcher keep the text until it expires instead of counting attempts.
        failure = SendFailure(classify_code(code), code or None, message, None)
        if code in LOUD:
            log.error(
                "Aliyun refused text %s to %s (template %s): %s",
                message_id,
                mask_phone(to),
                call.code,
                failure,
            )
        raise failure

    def _link_problem(self, template: TemplateValues) -> UserError | None:
        """Why the template this text would go by cannot carry its link, if it cannot."""
        chosen = self.channel.template(template.kind, template.language)
        for (language, kind), problem in self.link_problems.items():
            if (
                kind == template.kind
                and self.channel.templates.get(language, {}).get(kind) is chosen
            ):
                return problem
        return None

    # ------------------------------------------------------------------ lookups
    def details(
        self, to: str, day: date, biz_id: str | None = None, page: int = 1
    ) -> tuple[list[Any], int]:
        """One page of ``QuerySendDetails``: the texts to ``to`` on ``day`` (China time), and
        how many there are in all."""
        from alibabacloud_dysmsapi20170525.models import QuerySendDetailsRequest

        request = QuerySendDetailsRequest(
            phone_number=national_number(to),
            send_date=day.strftime("%Y%m%d"),
            page_size=PAGE_SIZE,
            current_page=page,
            biz_id=biz_id,
        )
        try:
            response = self.client.query_send_details(request)
        except Exception as exc:
            raise ProviderUnavailable(
                f"could not look up texts to {mask_phone(to)}: {send_failure(exc)}"
            ) from exc
        answer = response.body
        if str(answer.code or "") != "OK":
            raise ProviderUnavailable(f"QuerySendDetails answered {answer.code}: {answer.message}")
        found = answer.sms_send_detail_dtos
        rows = list(found.sms_send_detail_dto or []) if found is not None else []
        return rows, int(answer.total_count or 0)

    def fetch(
        self, sid: str, to: str | None = None, since: datetime | None = None
    ) -> ProviderMessage | None:
        if to is None:
            raise ProviderUnavailable("Aliyun looks texts up by number and day; none given")
        if sid.startswith("out:") and sid[4:].isdigit():  # found by OutId before
            return self.find(to, "", since or datetime.now(UTC), int(sid[4:]))
        now = datetime.now(UTC)
        for day in china_days(since or now, now):
            rows, _ = self.details(to, day, biz_id=sid)
            if rows:
                return _provider_message(sid, to, rows[0])
        return None

    def find(
        self, to: str, body: str, since: datetime, message_id: int | None = None
    ) -> ProviderMessage | None:
        if message_id is None:
            return None
        wanted = str(message_id)
        now = datetime.now(UTC)
        for day in china_days(since, now):
            page = 1
            while page <= MAX_PAGES:
                rows, total = self.details(to, day, page=page)
                for row in rows:
                    if str(row.out_id or "") != wanted:
                        continue
                    # The details carry no BizId: the sid names the OutId instead.
                    found = _provider_message(f"out:{wanted}", to, row)
                    if found.created_at is None or found.created_at >= since - LOOKUP_MARGIN:
                        return found
                if page * PAGE_SIZE >= total or not rows:
                    break
                page += 1
        return None

    def close(self) -> None:
        pass


def _provider_message(sid: str, to: str, row: Any) -> ProviderMessage:
    status = SEND_STATUS.get(int(row.send_status or 1), "sent")
    err = str(row.err_code or "") or None
    created = None
    if row.send_date:
        try:
            created = datetime.strptime(str(row.send_date), "%Y-%m-%d %H:%M:%S").replace(
                tzinfo=CHINA
            )
        except ValueError:
            created = None
    return ProviderMessage(
        sid=sid,
        to=to,
        body=str(row.content or ""),
        status=status,
        error_code=None if status != "undelivered" or err == "DELIVERED" else err,
        error_message=None,
        created_at=created,
    )
