"""``config/sites.yaml``: the testing sites, their opening hours, and the week's slots.

Slots are computed on each site's own wall clock and converted to UTC with ``zoneinfo``, so a
site in a zone with daylight-saving time gets the right instants on the days the clocks change:
a local time that does not exist (spring forward) has no slot, and a local time that happens twice
(fall back) has one slot, at its first occurrence.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from testrota.errors import UserError
from testrota.policy import WEEKDAYS, Policy, read_yaml
from testrota.scheduling.model import PlanSlot, SiteScope

_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")


def _minutes(text: str, *, allow_24: bool) -> int:
    match = _TIME.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a time: write HH:MM")
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes > 59 or hours > 24 or (hours == 24 and (minutes or not allow_24)):
        raise ValueError(f"{text!r} is not a time of day")
    return hours * 60 + minutes


class WindowConfig(BaseModel):
    """Opening hours; ``end`` at or before ``start`` means the window runs past midnight."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    start: str
    end: str
    capacity: int | None = Field(default=None, ge=1, le=10_000)

    @field_validator("start", "end", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> str:
        if isinstance(value, time):
            return value.strftime("%H:%M")
        if isinstance(value, int):  # YAML 1.1 reads 07:00 unquoted as a sexagesimal number
            return f"{value // 60:02d}:{value % 60:02d}"
        return str(value)

    @field_validator("start")
    @classmethod
    def _start(cls, value: str) -> str:
        _minutes(value, allow_24=False)
        return value

    @field_validator("end")
    @classmethod
    def _end(cls, value: str) -> str:
        _minutes(value, allow_24=True)
        return value


class ServesConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    departments: list[str] = []
    grid_units: list[str] = []


class SiteConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    code: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")
    name: str = Field(min_length=1, max_length=200)
    address: str = ""
    # A link to the site on a map (Amap, Baidu, a plan of the plant): shown to employees
    map_url: str = Field(default="", max_length=500, pattern=r"^(https?://\S+)?$")
    # Other names a lab's sheet may use for the site (北门, 北门采样点): matched like the name
    aliases: list[str] = Field(default=[], max_length=50)
    timezone: str | None = None
    slot_minutes: int | None = Field(default=None, ge=5, le=240)
    capacity: int | None = Field(default=None, ge=1, le=10_000)
    hours: dict[str, list[WindowConfig]] = {}
    serves: ServesConfig | str = "all"
    closed: list[date] = []
    # inside the closed area: in onsite mode (驻厂) people living on site are tested here only
    onsite: bool = False

    @field_validator("hours", mode="before")
    @classmethod
    def _windows(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        return {str(k): [_window(w) for w in (v or [])] for k, v in value.items()}

    @field_validator("serves")
    @classmethod
    def _serves_all(cls, value: ServesConfig | str) -> ServesConfig | str:
        if isinstance(value, str) and value != "all":
            raise ValueError("serves is 'all' or a mapping with departments and/or grid_units")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except Exception as exc:
                raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from exc
        return value


def _window(value: Any) -> Any:
    """``"07:00-11:00"`` is shorthand for ``{start: "07:00", end: "11:00"}``."""
    if isinstance(value, str) and "-" in value:
        start, _, end = value.partition("-")
        return {"start": start.strip(), "end": end.strip()}
    return value


class SitesFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    slot_minutes: int = Field(default=15, ge=5, le=240)
    capacity: int = Field(default=30, ge=1, le=10_000)
    sites: list[SiteConfig]


@dataclass(frozen=True, slots=True)
class Window:
    start: int  # minutes after local midnight
    end: int  # may exceed 1440: the window runs into the next day
    capacity: int


@dataclass(frozen=True)
class SiteSpec:
    """One testing site, validated; ``hours`` maps weekday (0 = Monday) to its windows."""

    code: str
    name: str
    address: str
    timezone: str
    slot_minutes: int
    hours: dict[int, tuple[Window, ...]]
    departments: frozenset[str] | None
    grid_units: frozenset[str] | None
    closed: frozenset[date] = frozenset()
    map_url: str = ""
    aliases: tuple[str, ...] = ()
    onsite: bool = False

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def scope(self) -> SiteScope:
        return SiteScope(self.code, self.departments, self.grid_units, self.onsite)

    def serves(self, department: str, unit: str) -> bool:
        return self.scope.serves(department, unit)


def _weekday_keys(key: str) -> list[int]:
    """``mon``, ``mon-fri``, ``sat-sun`` (wrapping ranges such as ``fri-mon`` too), ``daily``."""
    k = key.strip().lower()
    if k in ("daily", "all", "every day"):
        return list(range(7))
    if "-" in k:
        a, _, b = k.partition("-")
        if a in WEEKDAYS and b in WEEKDAYS:
            i, j = WEEKDAYS.index(a), WEEKDAYS.index(b)
            return [(i + n) % 7 for n in range(((j - i) % 7) + 1)]
    elif k in WEEKDAYS:
        return [WEEKDAYS.index(k)]
    raise ValueError(
        f"hours: {key!r} is not a weekday: use mon..sun, a range like mon-fri, or daily"
    )


def _build(cfg: SiteConfig, defaults: SitesFile, policy: Policy) -> SiteSpec:
    slot = cfg.slot_minutes or defaults.slot_minutes
    capacity = cfg.capacity or defaults.capacity
    hours: dict[int, list[Window]] = {d: [] for d in range(7)}
    for key, windows in cfg.hours.items():
        for day in _weekday_keys(key):
            for w in windows:
                start = _minutes(w.start, allow_24=False)
                end = _minutes(w.end, allow_24=True)
                if end <= start:
                    end += 1440
                if end - start < slot:
                    raise ValueError(
                        f"hours {key}: {w.start}-{w.end} is shorter than one slot ({slot} min)"
                    )
                hours[day].append(Window(start, end, w.capacity or capacity))
    for day, day_windows in hours.items():
        day_windows.sort(key=lambda w: w.start)
        for a, b in itertools.pairwise(day_windows):
            if b.start < a.end:
                raise ValueError(f"hours on {WEEKDAYS[day]} overlap: two windows share a time")
        tomorrow = hours[(day + 1) % 7]
        for late in day_windows:
            if late.end > 1440 and any(t.start < late.end - 1440 for t in tomorrow):
                raise ValueError(
                    f"hours on {WEEKDAYS[day]} run past midnight into "
                    f"{WEEKDAYS[(day + 1) % 7]}'s opening hours"
                )
    serves = cfg.serves
    departments = grid_units = None
    if isinstance(serves, ServesConfig) and (serves.departments or serves.grid_units):
        departments = frozenset(serves.departments)
        grid_units = frozenset(serves.grid_units)
    return SiteSpec(
        code=cfg.code,
        name=cfg.name,
        address=cfg.address,
        timezone=cfg.timezone or policy.timezone,
        slot_minutes=slot,
        hours={d: tuple(ws) for d, ws in hours.items()},
        departments=departments,
        grid_units=grid_units,
        closed=frozenset(cfg.closed),
        map_url=cfg.map_url,
        aliases=tuple(a.strip() for a in cfg.aliases if a.strip()),
        onsite=cfg.onsite,
    )


def parse_sites(data: object, policy: Policy, source: str = "sites.yaml") -> list[SiteSpec]:
    """Validate the sites document; any problem is a :class:`UserError` naming the site."""
    if not isinstance(data, dict):
        raise UserError("{source}: expected a mapping with a 'sites' list", source=source)
    try:
        doc = SitesFile.model_validate(data)
    except ValidationError as exc:
        raise UserError(
            "{source}: {problem}", source=source, problem=_first_error(exc, data)
        ) from None
    specs: list[SiteSpec] = []
    seen: set[str] = set()
    for cfg in doc.sites:
        if cfg.code in seen:
            raise UserError(
                "{source}: site code {code!r} appears twice; codes are unique",
                source=source,
                code=cfg.code,
            )
        seen.add(cfg.code)
        try:
            specs.append(_build(cfg, doc, policy))
        except ValueError as exc:
            raise UserError(
                "{source}: site {code}: {problem}", source=source, code=cfg.code, problem=exc
            ) from None
    if not specs:
        raise UserError("{source}: no sites: add at least one under 'sites'", source=source)
    return specs


def _first_error(exc: ValidationError, data: dict[str, Any]) -> str:
    err = exc.errors()[0]
    loc = list(err["loc"])
    where = ".".join(str(p) for p in loc)
    if len(loc) >= 2 and loc[0] == "sites" and isinstance(loc[1], int):
        sites = data.get("sites") or []
        if loc[1] < len(sites) and isinstance(sites[loc[1]], dict):
            code = sites[loc[1]].get("code")
            where = f"site {code or '#' + str(loc[1] + 1)}: " + ".".join(str(p) for p in loc[2:])
    return f"{where}: {err['msg']}"


def load_sites(config_dir: Path, policy: Policy) -> list[SiteSpec]:
    path = config_dir / "sites.yaml"
    return parse_sites(read_yaml(path), policy, str(path))


def week_slots(sites: list[SiteSpec], monday: date) -> list[PlanSlot]:
    """Every slot of the ISO week starting ``monday``, in site order then time; ids are positions.

    A window running past midnight gives slots on the next day, so Sunday night's window of the
    week before can give slots early on this Monday.
    """
    out: list[PlanSlot] = []
    for site in sites:
        tz = site.tz
        length = timedelta(minutes=site.slot_minutes)
        seen: set[datetime] = set()
        for offset in range(-1, 7):
            opening_day = monday + timedelta(days=offset)
            for w in site.hours[opening_day.weekday()]:
                for m in range(w.start, w.end - site.slot_minutes + 1, site.slot_minutes):
                    local_day = opening_day + timedelta(days=m // 1440)
                    day = (local_day - monday).days
                    if not 0 <= day < 7 or local_day in site.closed:
                        continue
                    minute = m % 1440
                    local = datetime.combine(local_day, time(minute // 60, minute % 60), tz)
                    starts_at = local.astimezone(UTC)
                    if starts_at.astimezone(tz).replace(tzinfo=None) != local.replace(tzinfo=None):
                        continue  # the clocks skip this local time (spring forward)
                    if starts_at in seen:
                        continue
                    seen.add(starts_at)
                    out.append(
                        PlanSlot(
                            id=len(out),
                            site_code=site.code,
                            starts_at=starts_at,
                            ends_at=starts_at + length,
                            capacity=w.capacity,
                            day=day,
                            minute=minute,
                            length=site.slot_minutes,
                        )
                    )
    out.sort(key=lambda s: (s.site_code, s.starts_at))
    return [
        PlanSlot(i, s.site_code, s.starts_at, s.ends_at, s.capacity, s.day, s.minute, s.length)
        for i, s in enumerate(out)
    ]
