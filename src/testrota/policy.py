"""``config/policy.yaml``: the rules HR and the epidemic-control office can change without code.

Each section is its own model, owned by the part of the code that uses it. Unknown keys are an
error so that a misspelt rule is caught when the file loads, not silently ignored.
"""

from __future__ import annotations

from datetime import date, time
from functools import cached_property
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from testrota.errors import UserError

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TimeWindow(_Section):
    start: time
    end: time  # may be earlier than start: the window crosses midnight


class ShiftRule(_Section):
    windows: list[TimeWindow]


class SurgeRule(_Section):
    """Static-management (静态管控) testing frequency between two dates, inclusive."""

    name: str
    start: date
    end: date
    tests_per_week: int = Field(ge=1, le=14)
    departments: list[str] = []
    grid_units: list[str] = []
    categories: list[str] = []
    all_staff: bool = False
    # Set by a unit's static mode (testrota.org.modes), not written in policy.yaml.
    person_ids: frozenset[int] = frozenset()
    # The gap while the rule applies; by default the widest gap (up to testing.min_gap_days)
    # that still fits the rule's tests into its days, e.g. 1 for daily testing.
    min_gap_days: int | None = Field(default=None, ge=1, le=6)

    @model_validator(mode="after")
    def _dates_and_scope(self) -> SurgeRule:
        if self.end < self.start:
            raise ValueError(f"surge {self.name!r}: end {self.end} is before start {self.start}")
        if not (
            self.all_staff
            or self.departments
            or self.grid_units
            or self.categories
            or self.person_ids
        ):
            raise ValueError(
                f"surge {self.name!r}: say whom it covers: all_staff: true, or departments, "
                "grid_units or categories"
            )
        return self


Ratio = Literal[1, 5, 10, 20]  # validated for pooled PCR (5:1, 10:1, 20:1); 1 is a single tube


class PoolingPolicy(_Section):
    """How many swabs go in one tube (混采): by default, for some categories, during a surge."""

    default_ratio: Ratio = 10
    # Key groups tested one per tube (单采单检), whatever the default.
    single_categories: list[str] = ["cold_chain", "imported_goods"]
    # While a testing.surge rule covers the day (mass screening), every other tube takes this
    # many. None: the default ratio then too.
    surge_ratio: Ratio | None = None


class TestingPolicy(_Section):
    __test__ = False
    tests_per_week: int = Field(default=2, ge=1, le=14)
    min_gap_days: int = Field(default=2, ge=0, le=6)
    preferred_day_pairs: list[tuple[Weekday, Weekday]] = [
        ("mon", "thu"),
        ("tue", "fri"),
        ("wed", "sat"),
    ]
    grace_hours: float = Field(default=4, ge=0)
    # check-in: how early before a slot a person still counts as "expected in this slot", and
    # how long a second check-in of a walk-in (no slot) is treated as the same visit
    checkin_early_minutes: int = Field(default=30, ge=0, le=240)
    checkin_repeat_minutes: int = Field(default=60, ge=1, le=1440)
    trend_weeks: int = Field(default=4, ge=1, le=26)  # weeks shown in compliance trends
    surge: list[SurgeRule] = []
    pooling: PoolingPolicy = PoolingPolicy()
    # A tube takes people of one grid unit only (the seed's smallest units), so a positive
    # tube points at one unit.
    keep_grid_units_apart: bool = True
    # The members of a positive tube are re-tested one per tube within this many hours.
    recheck_hours: int = Field(default=24, ge=1, le=168)
    recheck_ignores_quiet_hours: bool = False  # the recheck text waits for the morning


class ImportPolicy(_Section):
    max_file_mb: float = Field(default=50, gt=0)
    max_uncompressed_mb: float = Field(default=500, gt=0)
    max_deactivate_share: float = Field(default=0.2, ge=0, le=1)
    # A sheet with more rows is refused before it is read whole (its memory grows with them).
    max_rows: int = Field(default=300_000, ge=1, le=10_000_000)
    # ... and one whose cells span more than this many cells from A1 to the farthest one: a
    # reader allocates that rectangle, so two stray cells far apart cost as much as a full one.
    max_cells: int = Field(default=10_000_000, ge=1, le=1_000_000_000)
    # calamine reads a workbook in a child process capped at this much memory beyond what the
    # importing process has, and this much CPU time: a file built to exhaust memory ends the
    # child with a message, not the process serving everyone (testrota.roster.isolation).
    isolate_reader: bool = True
    reader_memory_mb: int = Field(default=2048, ge=64, le=65536)
    reader_seconds: int = Field(default=120, ge=5, le=3600)


class ReminderPolicy(_Section):
    """When texts go out. Times are local to the testing site."""

    evening_before: time | None = time(18, 0)  # None: no evening-before text
    before_minutes: int = Field(default=60, ge=0)  # 0: no text shortly before the slot
    quiet_start: time = time(22, 0)
    quiet_end: time = time(7, 0)
    horizon_hours: int = Field(default=48, ge=1)
    send_within_minutes: int = Field(default=30, ge=1)  # a due text should be out within this
    missed_notice: bool = True  # text a person who missed a slot, offering another
    missed_lookback_hours: int = Field(default=24, ge=1)  # only for slots missed this recently
    alerts_ignore_quiet_hours: bool = True  # a positive result does not wait for the morning
    digest_when_none: bool = False  # send the supervisors' digest on a day nobody missed
    booster_include_unknown: bool = False  # booster campaign also to people with no record
    offer_valid_minutes: int = Field(default=120, ge=5)  # an "R" offer must be confirmed in this
    reschedule_lead_minutes: int = Field(default=60, ge=0)  # earliest offered slot from now


class SmsPolicy(_Section):
    """The sender's limits and the dispatcher's retry rules."""

    rate_per_second: float = Field(default=1.0, ge=0)  # 0 = no limit
    concurrency: int = Field(default=8, ge=1, le=256)
    max_attempts: int = Field(default=5, ge=1)
    sending_timeout_minutes: int = Field(default=10, ge=1)
    max_segments: int = Field(default=2, ge=1, le=10)
    retry_base_seconds: float = Field(default=30, gt=0)
    retry_max_seconds: float = Field(default=1800, gt=0)
    request_timeout_seconds: float = Field(default=15, gt=0)
    batch_size: int = Field(default=200, ge=1, le=5000)


class ChannelsPolicy(_Section):
    """The mainland channels' own limits (Aliyun SMS, WeCom application messages)."""

    # WeCom drops, without an error, application messages past 30 a minute and 1,000 an hour
    # to one member; ours stay below with room for texts already on the wire from other
    # dispatchers. A text over the limit waits for the window to pass (deferred, not dropped).
    wecom_per_minute: int = Field(default=25, ge=1, le=30)
    wecom_per_hour: int = Field(default=900, ge=1, le=1000)
    wecom_request_timeout_seconds: float = Field(default=10, gt=0, le=120)
    # Aliyun refuses more than 50 texts a day to a number per signature and template; ours
    # count every template together, so a number never reaches that.
    aliyun_per_day: int = Field(default=50, ge=1, le=50)
    # TESTROTA_SMS_BACKEND=route: the SMS channel by the number's country code (longest prefix
    # wins), the rest by `sms_default`. A person whose roster says 企业微信 gets WeCom first and
    # this channel when WeCom fails.
    sms_by_region: dict[str, Literal["aliyun", "twilio", "console"]] = {"+86": "aliyun"}
    sms_default: Literal["aliyun", "twilio", "console"] = "twilio"
    # Each provider's own sending ceiling, texts a second, for the sender-capacity check of the
    # texts that go through it (`sms-capacity`, the plan report); a channel left out is checked
    # against sms.rate_per_second, which the dispatchers share for every channel together.
    rate_per_second: dict[Literal["aliyun", "twilio", "wecom", "console"], float] = {}

    @field_validator("rate_per_second")
    @classmethod
    def _rates(cls, value: dict[str, float]) -> dict[str, float]:
        if any(rate < 0 for rate in value.values()):
            raise ValueError("a channel's rate_per_second cannot be negative (0 = no limit)")
        return value

    @field_validator("sms_by_region")
    @classmethod
    def _prefixes(cls, value: dict[str, str]) -> dict[str, str]:
        for prefix in value:
            if not (prefix.startswith("+") and prefix[1:].isdigit() and len(prefix) <= 5):
                raise ValueError(f"{prefix!r} is not a country code such as +86")
        return value


class WebPolicy(_Section):
    """Sign-in rules and request limits of the web app."""

    session_hours: float = Field(default=12, gt=0)  # a sign-in lasts this long at most
    idle_minutes: int = Field(default=120, ge=5)  # and ends after this long without a request
    # sign-in throttling (testrota.auth.throttle): per user name from one address ...
    login_max_failures: int = Field(default=5, ge=1, le=1000)
    login_max_failures_per_ip: int = Field(default=30, ge=1, le=10_000)  # ... per address
    login_window_minutes: int = Field(default=15, ge=1)
    # ... and per user name from every address, a slower and much higher limit
    login_max_failures_per_name: int = Field(default=100, ge=1, le=100_000)
    login_name_window_minutes: int = Field(default=60, ge=1)
    # an address the user signed in from this recently is exempt from the two wide limits
    login_known_address_days: int = Field(default=30, ge=0, le=365)
    # request bodies: an upload (the whole form, signed-in only) and any other request
    max_upload_mb: float = Field(default=50, gt=0, le=2000)
    max_form_kb: int = Field(default=1024, ge=16, le=100_000)
    personal_link_days: int = Field(default=14, ge=1)  # how long a texted /me link stays valid
    compliance_target: float = Field(default=0.95, ge=0, le=1)  # the dashboard's dashed line
    dashboard_cache_seconds: int = Field(default=120, ge=0)  # 0: recompute on every request
    # (week, scope) pairs each web process keeps, the least recently read dropped first
    dashboard_cache_entries: int = Field(default=256, ge=1, le=100_000)


class PrivacyPolicy(_Section):
    """Who sees personal numbers in full (pages, exports)."""

    # Users of these roles see phone and ID numbers masked, all but the last keep_digits.
    mask_for_roles: list[Literal["admin", "hr", "supervisor", "site"]] = ["supervisor", "site"]
    keep_digits: int = Field(default=4, ge=0, le=8)


class CodesPolicy(_Section):
    """Personal codes (QR) and the printed badge sheets (``testrota.codes``)."""

    # A code shown on the personal page (or printed) is accepted this many days, its day of
    # issue included: long enough for a screenshot to do at the tent, short enough that a
    # leaver's old badge stops working soon.
    valid_days: int = Field(default=7, ge=1, le=90)
    # The font the badge sheets print names in: a file path. None: the first of the usual
    # CJK fonts found on the machine (Noto CJK, WenQuanYi, Droid Sans Fallback, ...).
    badge_font: str | None = None
    max_badges: int = Field(default=2000, ge=1, le=20_000)  # people on one sheet at most


class JobsPolicy(_Section):
    """When the worker's periodic jobs run (``testrota worker``, ``serve --with-worker``).
    Times are local, in the policy's timezone. A running worker reschedules its jobs when
    these change in policy.yaml (within a tick of its most frequent job)."""

    plan_day: Weekday = "fri"  # next week's plan is made on this day ...
    plan_time: time = time(12, 0)  # ... at this time
    digest_time: time = time(8, 0)  # the supervisors' digest of yesterday's missed tests
    nightly_time: time = time(2, 30)  # retention
    # The frequent jobs: sending what is due, reminder rows, positive-result alerts, flagging
    # missed tests.
    dispatch_seconds: int = Field(default=30, ge=5, le=3600)
    reminders_minutes: int = Field(default=5, ge=1, le=1440)
    alerts_minutes: int = Field(default=1, ge=1, le=60)
    flag_missed_minutes: int = Field(default=10, ge=1, le=1440)


class ReportPolicy(_Section):
    """The group's daily report (日报): excuse reasons, colours, the confirmation deadline."""

    # Excuse reason codes -> how the report names them; an excuse without a code is "other".
    excuse_reasons: dict[str, str] = {
        "leave": "请假 leave",
        "quarantine": "隔离 quarantine",
        "trip": "出差 trip",
        "recovering": "阳性康复 recovering",
        "other": "其他 other",
    }
    red_below: float = Field(default=0.9, ge=0, le=1)  # a rate below this is red
    yellow_below: float = Field(default=0.95, ge=0, le=1)  # ... below this, yellow
    confirm_by: time = time(10, 0)  # local time the day's figures should be confirmed by
    bottom_units: int = Field(default=10, ge=1, le=100)  # the lowest rates ranked on the page
    remind_minutes: int = Field(default=10, ge=1, le=1440)  # how often late units are looked for

    @field_validator("excuse_reasons")
    @classmethod
    def _codes(cls, value: dict[str, str]) -> dict[str, str]:
        import re

        if not value or len(value) > 20:
            raise ValueError("excuse_reasons: 1 to 20 codes")
        for code in value:
            if not re.fullmatch(r"[a-z][a-z_]{0,19}", code) or code == "none":
                raise ValueError(
                    f"excuse_reasons: {code!r} is not a code (lower-case letters and _, up to "
                    "20; 'none' is kept for untested people nobody excused)"
                )
        if "other" not in value:
            raise ValueError("excuse_reasons: keep 'other', for excuses given without a code")
        return value

    @model_validator(mode="after")
    def _colours(self) -> ReportPolicy:
        if self.red_below > self.yellow_below:
            raise ValueError("report: red_below must not be above yellow_below")
        return self


class AlertsPolicy(_Section):
    """What a positive result does to the person besides raising their alert."""

    # The person is exempt (not planned, their appointments excused) from the sample's day for
    # this many days, that day included; 0: no automatic exemption. HR ends one early with
    # ``testrota exempt end`` when the person is back sooner.
    positive_exempt_days: int = Field(default=14, ge=0, le=366)
    # The daily report's reason code for the appointments it excuses (report.excuse_reasons).
    positive_exempt_code: str = "recovering"


class Policy(_Section):
    timezone: str = "Asia/Shanghai"
    phone_region: str = "CN"
    week_start: Weekday = "mon"
    testing: TestingPolicy = TestingPolicy()
    shifts: dict[str, ShiftRule] = {}
    imports: ImportPolicy = Field(default=ImportPolicy(), alias="import")
    reminders: ReminderPolicy = ReminderPolicy()
    sms: SmsPolicy = SmsPolicy()
    channels: ChannelsPolicy = ChannelsPolicy()
    web: WebPolicy = WebPolicy()
    privacy: PrivacyPolicy = PrivacyPolicy()
    jobs: JobsPolicy = JobsPolicy()
    codes: CodesPolicy = CodesPolicy()
    report: ReportPolicy = ReportPolicy()
    alerts: AlertsPolicy = AlertsPolicy()
    retention_days: int = Field(default=90, ge=1)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except Exception as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from exc
        return value

    @model_validator(mode="after")
    def _positive_code(self) -> Policy:
        # A code written in the file is checked here, not when a positive result arrives: a
        # results import is no time to find it misspelt. The default is not: a policy written
        # before it existed, with reasons of its own, still loads (and its excuses count as
        # "other", see positive_code).
        alerts = self.alerts
        if "positive_exempt_code" not in alerts.model_fields_set:
            return self
        if alerts.positive_exempt_code not in self.report.excuse_reasons:
            raise ValueError(
                f"alerts: positive_exempt_code {self.alerts.positive_exempt_code!r} is not one "
                f"of report.excuse_reasons ({', '.join(self.report.excuse_reasons)})"
            )
        return self

    @property
    def positive_code(self) -> str | None:
        """The reason code of the appointments a positive result excuses; None: "other"."""
        code = self.alerts.positive_exempt_code
        return code if code in self.report.excuse_reasons else None

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path) -> object:
    """Read one YAML config file, turning every failure into a :class:`UserError`."""
    try:
        with path.open(encoding="utf-8") as fh:
            # libyaml's loader where PyYAML was built with it: the same documents, parsed ten
            # times faster (the vocabulary file is a fifth of a second of every command's start
            # with the pure-Python one).
            return yaml.load(fh, Loader=_SAFE_LOADER)
    except FileNotFoundError as exc:
        raise UserError("{path}: file not found (set TESTROTA_CONFIG_DIR)", path=path) from exc
    except yaml.YAMLError as exc:
        raise UserError("{path}: not valid YAML: {problem}", path=path, problem=exc) from exc


def load_policy(config_dir: Path) -> Policy:
    path = config_dir / "policy.yaml"
    data = read_yaml(path) or {}
    try:
        return Policy.model_validate(data)
    except ValueError as exc:
        raise UserError("{path}: {problem}", path=path, problem=exc) from exc
