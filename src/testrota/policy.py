"""``config/policy.yaml``: the rules HR and the epidemic-control office can change without code.

Each section is its own model, owned by the part of the code that uses it. Unknown keys are an
error so that a misspelt rule is caught when the file loads, not silently ignored.
"""

from __future__ import annotations

from datetime import date, time
from functools import cached_property
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

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
    surge: list[SurgeRule] = []


class ImportPolicy(_Section):
    max_file_mb: float = Field(default=50, gt=0)
    max_uncompressed_mb: float = Field(default=500, gt=0)
    max_deactivate_share: float = Field(default=0.2, ge=0, le=1)


class ReminderPolicy(_Section):
    evening_before: time = time(18, 0)
    before_minutes: int = Field(default=60, ge=0)
    quiet_start: time = time(22, 0)
    quiet_end: time = time(7, 0)
    horizon_hours: int = Field(default=48, ge=1)


class SmsPolicy(_Section):
    rate_per_second: float = Field(default=1.0, ge=0)  # 0 = no limit
    concurrency: int = Field(default=8, ge=1, le=256)
    max_attempts: int = Field(default=5, ge=1)
    sending_timeout_minutes: int = Field(default=10, ge=1)


class Policy(_Section):
    timezone: str = "Asia/Shanghai"
    phone_region: str = "CN"
    week_start: Weekday = "mon"
    testing: TestingPolicy = TestingPolicy()
    shifts: dict[str, ShiftRule] = {}
    imports: ImportPolicy = Field(default=ImportPolicy(), alias="import")
    reminders: ReminderPolicy = ReminderPolicy()
    sms: SmsPolicy = SmsPolicy()
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

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def read_yaml(path: Path) -> object:
    """Read one YAML config file, turning every failure into a :class:`UserError`."""
    try:
        with path.open(encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except FileNotFoundError as exc:
        raise UserError(f"{path}: file not found (set TESTROTA_CONFIG_DIR)") from exc
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not valid YAML: {exc}") from exc


def load_policy(config_dir: Path) -> Policy:
    path = config_dir / "policy.yaml"
    data = read_yaml(path) or {}
    try:
        return Policy.model_validate(data)
    except ValueError as exc:
        raise UserError(f"{path}: {exc}") from exc
