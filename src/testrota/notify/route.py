"""``TESTROTA_SMS_BACKEND=route``: each text through the channel its recipient has.

A person whose roster row says 通知方式 = 企业微信 gets WeCom (their 企业微信账号, or the member
with their mobile) and, when WeCom fails, an SMS; everyone else gets an SMS. The SMS channel is
chosen by the number's country code (policy ``channels.sms_by_region``: +86 -> aliyun, the rest
``channels.sms_default``: twilio).

One send tries each channel at most once, so a text never goes twice through one channel. A
WeCom answer that may have arrived (a timeout) is never followed by an SMS: the text becomes
``unknown``, and the dispatcher's lookup and resend go through the same channels, each with its
own guard (WeCom's duplicate check, Aliyun's OutId, Twilio's body and time).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, Table, select

from testrota.db import tables
from testrota.notify.backends import (
    ProviderMessage,
    SendResult,
    SmsBackend,
    TemplateValues,
    mask_phone,
)
from testrota.notify.failures import Failure, SendFailure
from testrota.policy import ChannelsPolicy, SmsPolicy
from testrota.settings import Settings, SettingsError, aliyun_missing, wecom_missing

log = logging.getLogger("testrota.sms.route")

P: Table = tables.PERSON
M: Table = tables.MESSAGE
# WeCom failures after which the SMS is sent: WeCom surely did not deliver.
FALL_BACK_ON = (Failure.REJECTED, Failure.RETRY, Failure.INVALID_NUMBER, Failure.OPTED_OUT)


@dataclass(frozen=True)
class Preference:
    channel: str | None = None  # sms | wecom | None (by region)
    wecom_userid: str | None = None


def sms_channel(phone: str, channels: ChannelsPolicy) -> str:
    """The SMS channel for ``phone`` (E.164): the longest matching country code's, else the
    default."""
    best = ""
    for prefix in channels.sms_by_region:
        if phone.startswith(prefix) and len(prefix) > len(best):
            best = prefix
    return channels.sms_by_region[best] if best else channels.sms_default


def channel_order(phone: str, preference: Preference, channels: ChannelsPolicy) -> list[str]:
    """The channels to try for one text, in order (each at most once)."""
    sms = sms_channel(phone, channels)
    if preference.channel == "wecom":
        return ["wecom", sms]
    return [sms]


def _missing_for(channel: str, settings: Settings) -> list[str]:
    if channel == "aliyun":
        return aliyun_missing(settings)
    if channel == "wecom":
        return wecom_missing(settings)
    if channel == "twilio":
        missing = [
            name
            for name, value in (
                ("TWILIO_ACCOUNT_SID", settings.twilio_account_sid),
                ("TWILIO_AUTH_TOKEN", settings.twilio_auth_token),
            )
            if not value
        ]
        if not (settings.twilio_from or settings.twilio_messaging_service_sid):
            missing.append("TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID")
        return missing
    return []


class RouteBackend:
    name = "route"

    def __init__(
        self,
        settings: Settings,
        sms: SmsPolicy,
        channels: ChannelsPolicy,
        engine: Engine | None,
        backends: dict[str, SmsBackend] | None = None,
    ) -> None:
        self.channels = channels
        self.engine = engine
        needed = {*channels.sms_by_region.values(), channels.sms_default}
        missing = {c: _missing_for(c, settings) for c in sorted(needed)}
        missing = {c: names for c, names in missing.items() if names}
        if missing and backends is None:
            raise SettingsError(
                "TESTROTA_SMS_BACKEND=route sends through {channels} (policy "
                "channels.sms_by_region, sms_default) and needs {missing}",
                channels=", ".join(sorted(needed)),
                missing="; ".join(f"for {c}: {', '.join(names)}" for c, names in missing.items()),
            )
        self.backends: dict[str, SmsBackend] = dict(backends or {})
        if backends is None:
            from testrota.notify.backends import build_backend

            for channel in sorted(needed):
                self.backends[channel] = build_backend(
                    settings.model_copy(update={"sms_backend": channel}), sms, channels, engine
                )
            # WeCom is optional: without its settings, 企业微信 people get an SMS.
            if not wecom_missing(settings):
                self.backends["wecom"] = build_backend(
                    settings.model_copy(update={"sms_backend": "wecom"}), sms, channels, engine
                )
        limits: list[tuple[str, timedelta, int]] = []
        for backend in self.backends.values():
            limits.extend(getattr(backend, "recipient_limits", ()))
        self.recipient_limits = tuple(limits)

    def preference(self, to: str, message_id: int | None = None) -> Preference:
        """How the text's own person wants it: a household's phone names several people, and
        a text for one of them must never go to another's WeCom account. A text for nobody
        in particular (or unknown) takes the choice of an active person with the number."""
        if self.engine is None:
            return Preference()
        wanted = select(P.c.notify_channel, P.c.wecom_userid)
        with self.engine.connect() as conn:
            row = None
            if message_id is not None:
                row = conn.execute(
                    wanted.join(M, M.c.person_id == P.c.id).where(M.c.id == message_id)
                ).first()
            if row is None:
                row = conn.execute(
                    wanted.where(P.c.phone == to, P.c.active.is_(True)).order_by(P.c.id).limit(1)
                ).first()
        if row is None:
            return Preference()
        return Preference(row.notify_channel, row.wecom_userid)

    def send(
        self,
        to: str,
        body: str,
        message_id: int | None = None,
        template: TemplateValues | None = None,
    ) -> SendResult:
        preference = self.preference(to, message_id)
        order = [c for c in channel_order(to, preference, self.channels) if c in self.backends]
        if not order:
            raise SendFailure(Failure.REJECTED, "no_channel", "no channel configured for it")
        for index, channel in enumerate(order):
            target = to
            if channel == "wecom" and preference.wecom_userid:
                target = f"wecom:{preference.wecom_userid}"
            try:
                result = self.backends[channel].send(target, body, message_id, template)
            except SendFailure as failure:
                if index + 1 < len(order) and failure.kind in FALL_BACK_ON:
                    log.info(
                        "text %s to %s: %s failed (%s); sending it by %s",
                        message_id,
                        mask_phone(to),
                        channel,
                        failure.code or failure.kind.value,
                        order[index + 1],
                    )
                    continue
                raise
            return SendResult(result.sid, result.status, channel)
        raise AssertionError("unreachable")

    def _by_sid(self, sid: str) -> str | None:
        if "^" in sid or sid.startswith("out:"):
            return "aliyun"
        if sid[:2] in ("SM", "MM"):
            return "twilio"
        if sid.startswith("CONSOLE"):
            return "console"
        return "wecom"

    def fetch(
        self, sid: str, to: str | None = None, since: datetime | None = None
    ) -> ProviderMessage | None:
        backend = self.backends.get(self._by_sid(sid) or "")
        return backend.fetch(sid, to, since) if backend is not None else None

    def find(
        self, to: str, body: str, since: datetime, message_id: int | None = None
    ) -> ProviderMessage | None:
        for channel in ("aliyun", "twilio", "console"):
            backend = self.backends.get(channel)
            if backend is not None:
                found = backend.find(to, body, since, message_id)
                if found is not None:
                    return found
        return None  # WeCom cannot be asked; its duplicate check guards the resend

    def close(self) -> None:
        for backend in self.backends.values():
            backend.close()
