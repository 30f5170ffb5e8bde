"""``testrota doctor``'s checks of the mainland channels: Aliyun SMS and WeCom.

Nothing is sent. Aliyun is asked a ``QuerySendDetails`` (a read: it proves the credentials and
the endpoint), WeCom for an access token (proves the corp id and the secret). Secrets never
appear in a check's message: only the names of the settings do.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, func, select

from testrota.db import tables
from testrota.errors import Phrase, UserError
from testrota.observability.doctor import Check, check
from testrota.policy import Policy
from testrota.settings import Settings, aliyun_missing, wecom_missing

_check = check  # every finding and fix is a template a door translates


def configured_channels(settings: Settings) -> list[str]:
    """The channels this installation sends through."""
    if settings.sms_backend in ("aliyun", "wecom"):
        return [settings.sms_backend]
    if settings.sms_backend == "route":
        out = []
        if not aliyun_missing(settings):
            out.append("aliyun")
        if not wecom_missing(settings):
            out.append("wecom")
        return out
    return []


def check_aliyun(settings: Settings, policy: Policy) -> list[Check]:
    from testrota.notify.aliyun import CHINA, AliyunBackend

    missing = aliyun_missing(settings)
    if missing:
        return [
            _check(
                "aliyun account",
                "fail",
                Phrase("{names} not set", names=", ".join(missing)),
                "set them",
            )
        ]
    quick = policy.sms.model_copy(update={"request_timeout_seconds": 10.0, "concurrency": 1})
    try:
        backend = AliyunBackend.from_settings(settings, quick, policy.channels)
    except UserError as exc:
        return [
            _check(
                "aliyun templates",
                "fail",
                Phrase(exc.template, **exc.params),
                "add channels.aliyun to messages.yaml (README, Connecting Aliyun SMS)",
            )
        ]
    checks = [
        _check(
            "aliyun templates",
            "ok",
            Phrase(
                "approved templates for {n} kinds (signature {signature!r})",
                n=len(backend.channel.templates.get("zh-Hans", {})),
                signature=settings.aliyun_sms_sign_name,
            ),
        )
    ]
    if backend.link_problems:
        # the first in the file's order; every one is in the worker's log
        first = next(iter(backend.link_problems.values()))
        checks.append(
            _check(
                "aliyun links",
                "fail",
                Phrase(first.template, **first.params),
                Phrase(
                    "texts of {n} template(s) fail until fixed (link_not_sendable); the other "
                    "kinds are sent. Have the wording approved with TESTROTA_PUBLIC_URL's "
                    "address before ${{path}} (README, Connecting Aliyun SMS)",
                    n=len(backend.link_problems),
                ),
            )
        )
    try:
        backend.details("+8613800000000", datetime.now(CHINA).date())
    except Exception as exc:  # the SDK's own, or a network error: the message says which
        reason = str(getattr(exc, "__cause__", None) or exc)
        checks.append(
            _check(
                "aliyun account",
                "fail",
                Phrase(
                    "{endpoint} refused a query: {reason}",
                    endpoint=f"{settings.aliyun_protocol}://{settings.aliyun_endpoint}",
                    reason=reason[:300],
                ),
                "check ALIYUN_ACCESS_KEY_ID and ALIYUN_ACCESS_KEY_SECRET (a RAM user with "
                "AliyunDysmsFullAccess) and TESTROTA_ALIYUN_ENDPOINT",
            )
        )
    else:
        checks.append(
            _check(
                "aliyun account",
                "ok",
                Phrase(
                    "{endpoint} answers queries with these credentials",
                    endpoint=settings.aliyun_endpoint,
                ),
            )
        )
    if not settings.aliyun_receipt_token:
        checks.append(
            _check(
                "aliyun receipts",
                "warn",
                "TESTROTA_ALIYUN_RECEIPT_TOKEN is not set: delivery receipts cannot arrive",
                Phrase("set it and give Aliyun {url}", url="{PUBLIC_URL}/webhooks/aliyun/{token}"),
            )
        )
    else:
        checks.append(_check("aliyun receipts", "ok", "the receipt route is open (token set)"))
    return checks


def check_wecom(settings: Settings, policy: Policy) -> list[Check]:
    from testrota.notify.failures import SendFailure
    from testrota.notify.wecom import WecomBackend

    missing = wecom_missing(settings)
    if missing:
        return [
            _check(
                "wecom app", "fail", Phrase("{names} not set", names=", ".join(missing)), "set them"
            )
        ]
    backend = WecomBackend(settings, policy.channels, concurrency=1)
    try:
        backend._token_now(refresh=True)
    except SendFailure as exc:
        return [
            _check(
                "wecom app",
                "fail",
                Phrase(
                    "{api} gave no access token: {problem}",
                    api=settings.wecom_api_base,
                    problem=str(exc),
                ),
                "check WECOM_CORP_ID and WECOM_SECRET (the app's Secret) and "
                "TESTROTA_WECOM_API_BASE",
            )
        ]
    finally:
        backend.close()
    return [
        _check(
            "wecom app",
            "ok",
            Phrase(
                "{api} gives app {agent} an access token",
                api=settings.wecom_api_base,
                agent=settings.wecom_agent_id,
            ),
        )
    ]


def check_refusals(engine: Engine, now: datetime) -> Check:
    """Texts failed in the last day because of our configuration (a template, a signature,
    credentials): every text of that kind fails the same way until an admin acts."""
    from testrota.notify.aliyun import CONFIG_CODES

    m = tables.MESSAGE
    with engine.connect() as conn:
        rows = conn.execute(
            select(m.c.error_code, func.count())
            .where(
                m.c.status == "failed",
                m.c.error_code.in_(sorted(CONFIG_CODES)),
                m.c.due_at > now - timedelta(days=1),
            )
            .group_by(m.c.error_code)
        ).all()
    if not rows:
        return _check("channel refusals", "ok", "no text failed for a configuration reason today")
    listed = ", ".join(f"{code} ×{n}" for code, n in sorted(rows))
    return _check(
        "channel refusals",
        "fail",
        Phrase("texts refused in the last 24 h for our configuration: {codes}", codes=listed),
        "fix the template codes in messages.yaml, ALIYUN_SMS_SIGN_NAME or the credentials; "
        "`testrota outbox --status failed` lists the texts",
    )


def check_channels(settings: Settings, policy: Policy) -> list[Check]:
    checks: list[Check] = []
    channels = configured_channels(settings)
    if "aliyun" in channels or settings.sms_backend == "aliyun":
        checks += check_aliyun(settings, policy)
    if "wecom" in channels or settings.sms_backend == "wecom":
        checks += check_wecom(settings, policy)
    return checks
