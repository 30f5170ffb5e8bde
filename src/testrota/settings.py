"""The one settings object, read from the environment by :func:`get_settings`.

Nothing reads the environment anywhere else: the CLI, the web app and the worker each build a
:class:`Settings` once and pass it down, and tests construct their own.
"""

from __future__ import annotations

from datetime import datetime
from functools import cached_property
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class SettingsError(ValueError):
    """A setting is missing or unsafe; the message says which and how to fix it.

    Like :class:`~testrota.errors.UserError`, it keeps its message as a template and the
    parameters apart (the settings' names and values are parameters), so the command line
    prints it in its user's language."""

    def __init__(self, template: str, /, **params: object) -> None:
        self.template = template
        self.params = params
        super().__init__(template.format(**params) if params else template)


# HMAC-SHA256 keys shorter than its block's worth of randomness can be brute-forced offline
# from one signed cookie or personal link; 32 bytes is the floor, 48 random ones the advice.
MIN_SECRET_KEY_BYTES = 32
MAKE_SECRET_KEY = (
    "export TESTROTA_SECRET_KEY=\"$(python3 -c 'import secrets; "
    "print(secrets.token_urlsafe(48))')\""
)


def secret_key_problem(key: str | None) -> str | None:
    """Why ``key`` cannot sign sign-in cookies and personal links (one line with the fix), or
    None when it can."""
    refusal = secret_key_refusal(key)
    return str(refusal) if refusal else None


def secret_key_refusal(key: str | None) -> SettingsError | None:
    """:func:`secret_key_problem` as an error to raise (its words translatable)."""
    if not key:
        return SettingsError(
            "TESTROTA_SECRET_KEY is not set; make one with: {command}", command=MAKE_SECRET_KEY
        )
    size = len(key.encode("utf-8"))
    if size < MIN_SECRET_KEY_BYTES:
        return SettingsError(
            "TESTROTA_SECRET_KEY is only {size} bytes long: use at least {minimum} random "
            "bytes, e.g. {command}",
            size=size,
            minimum=MIN_SECRET_KEY_BYTES,
            command=MAKE_SECRET_KEY,
        )
    return None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TESTROTA_", extra="ignore", frozen=True)

    database_url: str = "sqlite:///./testrota.db"
    # Reads that may lag (pages, reports, exports) go here when set: a streaming replica.
    read_database_url: str | None = None
    config_dir: Path = Path("./config")
    now: datetime | None = None
    # A file holding "now" (ISO 8601 with offset), read again whenever it changes: lets a
    # simulation move the clock of long-running processes (web, workers) together.
    clock_file: Path | None = None
    sms_backend: Literal["console", "twilio", "aliyun", "wecom", "route"] = "console"
    twilio_account_sid: str | None = Field(
        default=None, validation_alias=AliasChoices("TWILIO_ACCOUNT_SID", "twilio_account_sid")
    )
    twilio_auth_token: str | None = Field(
        default=None, validation_alias=AliasChoices("TWILIO_AUTH_TOKEN", "twilio_auth_token")
    )
    twilio_from: str | None = Field(
        default=None, validation_alias=AliasChoices("TWILIO_FROM", "twilio_from")
    )
    twilio_messaging_service_sid: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "TWILIO_MESSAGING_SERVICE_SID", "twilio_messaging_service_sid"
        ),
    )
    twilio_api_base: str | None = None
    aliyun_access_key_id: str | None = Field(
        default=None, validation_alias=AliasChoices("ALIYUN_ACCESS_KEY_ID", "aliyun_access_key_id")
    )
    aliyun_access_key_secret: str | None = Field(
        default=None,
        validation_alias=AliasChoices("ALIYUN_ACCESS_KEY_SECRET", "aliyun_access_key_secret"),
    )
    aliyun_sms_sign_name: str | None = Field(
        default=None, validation_alias=AliasChoices("ALIYUN_SMS_SIGN_NAME", "aliyun_sms_sign_name")
    )
    # host[:port] of the SMS API; a local fake in tests (with protocol http)
    aliyun_endpoint: str = "dysmsapi.aliyuncs.com"
    aliyun_protocol: Literal["https", "http"] = "https"
    wecom_corp_id: str | None = Field(
        default=None, validation_alias=AliasChoices("WECOM_CORP_ID", "wecom_corp_id")
    )
    wecom_secret: str | None = Field(
        default=None, validation_alias=AliasChoices("WECOM_SECRET", "wecom_secret")
    )
    wecom_agent_id: int | None = Field(
        default=None, validation_alias=AliasChoices("WECOM_AGENT_ID", "wecom_agent_id")
    )
    wecom_api_base: str = "https://qyapi.weixin.qq.com"
    # The secret path token of the delivery-receipt route /webhooks/aliyun/{token} (the push
    # carries no signature); unset: the route answers 404.
    aliyun_receipt_token: str | None = None
    public_url: str = "http://127.0.0.1:8000"
    secret_key: str | None = None
    demo: bool = False
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    # The command line's language (zh or en; zh_CN, zh-Hans and the like are read as zh);
    # unset: the locale's (LC_ALL, LC_MESSAGES, LANG). ``--lang`` beats it.
    lang: Literal["zh", "en"] | None = None
    # Bearer token for /metrics; unset: /metrics answers loopback clients only.
    metrics_token: str | None = None
    # Reverse proxies (addresses or networks, comma-separated) whose X-Forwarded-For is believed
    # for the client's address; empty: the peer's address is the client's.
    trusted_proxies: str = ""

    @field_validator("now")
    @classmethod
    def _now_is_aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("TESTROTA_NOW needs a UTC offset, e.g. 2022-05-09T08:00:00+08:00")
        return value

    @field_validator("lang", mode="before")
    @classmethod
    def _lang_tag(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        from testrota.languages import language_of

        chosen = language_of(value) if isinstance(value, str) else None
        if chosen is None:
            raise SettingsError("TESTROTA_LANG={value!r}: use zh or en", value=value)
        return chosen

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _format_lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_parse(cls, value: str) -> str:
        _networks(value)
        return value

    @cached_property
    def trusted_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        return _networks(self.trusted_proxies)

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @model_validator(mode="after")
    def _twilio_has_credentials(self) -> Settings:
        if self.sms_backend != "twilio":
            return self
        missing = [
            name
            for name, value in (
                ("TWILIO_ACCOUNT_SID", self.twilio_account_sid),
                ("TWILIO_AUTH_TOKEN", self.twilio_auth_token),
            )
            if not value
        ]
        if not (self.twilio_from or self.twilio_messaging_service_sid):
            missing.append("TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID")
        if missing:
            raise _backend_needs("twilio", missing)
        return self

    @field_validator("aliyun_protocol", mode="before")
    @classmethod
    def _protocol_lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("aliyun_endpoint")
    @classmethod
    def _endpoint_is_a_host(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value or "://" in value or "/" in value:
            raise ValueError(
                "TESTROTA_ALIYUN_ENDPOINT is host[:port], e.g. dysmsapi.aliyuncs.com; "
                "the scheme goes in TESTROTA_ALIYUN_PROTOCOL"
            )
        return value

    @field_validator("wecom_api_base")
    @classmethod
    def _wecom_base(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("https://", "http://")):
            raise ValueError("TESTROTA_WECOM_API_BASE is a URL, e.g. https://qyapi.weixin.qq.com")
        return value

    @model_validator(mode="after")
    def _wecom_has_credentials(self) -> Settings:
        if self.sms_backend != "wecom":
            return self
        missing = wecom_missing(self)
        if missing:
            raise _backend_needs("wecom", missing)
        return self

    @model_validator(mode="after")
    def _aliyun_has_credentials(self) -> Settings:
        if self.sms_backend != "aliyun":
            return self
        missing = aliyun_missing(self)
        if missing:
            raise _backend_needs("aliyun", missing)
        return self

    @model_validator(mode="after")
    def _one_fixed_clock(self) -> Settings:
        if self.now is not None and self.clock_file is not None:
            raise SettingsError(
                "TESTROTA_NOW and TESTROTA_CLOCK_FILE both fix the clock; set only one of them"
            )
        return self

    def with_database(self, url: str | None) -> Settings:
        """A copy pointing at another database (the CLI's ``--db``), which then serves the
        lagging reads too: a replica of the other database would be a different database."""
        if not url:
            return self
        return self.model_copy(update={"database_url": url, "read_database_url": None})


def aliyun_missing(settings: Settings) -> list[str]:
    """The names of the settings Aliyun SMS needs that are not set."""
    return [
        name
        for name, value in (
            ("ALIYUN_ACCESS_KEY_ID", settings.aliyun_access_key_id),
            ("ALIYUN_ACCESS_KEY_SECRET", settings.aliyun_access_key_secret),
            ("ALIYUN_SMS_SIGN_NAME", settings.aliyun_sms_sign_name),
        )
        if not value
    ]


def wecom_missing(settings: Settings) -> list[str]:
    """The names of the settings WeCom application messages need that are not set."""
    return [
        name
        for name, value in (
            ("WECOM_CORP_ID", settings.wecom_corp_id),
            ("WECOM_SECRET", settings.wecom_secret),
            ("WECOM_AGENT_ID", settings.wecom_agent_id),
        )
        if value is None or value == ""
    ]


def _networks(text: str) -> tuple[IPv4Network | IPv6Network, ...]:
    out = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        try:
            out.append(ip_network(item, strict=False))
        except ValueError:
            raise ValueError(
                f"TESTROTA_TRUSTED_PROXIES: {item!r} is not an IP address or network; "
                "write e.g. 127.0.0.1,10.0.0.0/8"
            ) from None
    return tuple(out)


def _backend_needs(backend: str, missing: list[str]) -> SettingsError:
    return SettingsError(
        "TESTROTA_SMS_BACKEND={backend} needs {missing}; set them or use "
        "TESTROTA_SMS_BACKEND=console",
        backend=backend,
        missing=", ".join(missing),
    )


def get_settings(**overrides: object) -> Settings:
    """Read the environment once; keyword arguments win over it (tests use them)."""
    return Settings(**overrides)  # type: ignore[arg-type]
