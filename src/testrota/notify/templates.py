"""SMS templates from ``config/messages.yaml``, rendered in the person's language.

Every kind has variants, longest first; :meth:`Templates.render` picks the first that fits the
segment budget, so a long site name or a long link costs detail, not a third segment.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, tzinfo
from pathlib import Path

from testrota.errors import UserError
from testrota.notify.channel_templates import ChannelSet, parse_channels
from testrota.notify.segments import SegmentInfo, sms_segments
from testrota.policy import read_yaml

LANGUAGES = ("zh-Hans", "en")
DEFAULT_LANGUAGE = "zh-Hans"

# The placeholders each kind may use; a template naming another is refused at load time.
PLACEHOLDERS: dict[str, frozenset[str]] = {
    "reminder_eve": frozenset({"name", "date", "time", "site", "link"}),
    "reminder_before": frozenset({"name", "date", "time", "site", "link"}),
    "missed": frozenset({"name", "date", "time", "site", "link"}),
    "positive_alert": frozenset(
        {"person", "employee_no", "department", "grid_unit", "date", "contacts", "link"}
    ),
    "digest": frozenset({"name", "date", "count", "departments", "link"}),
    "booster": frozenset({"name", "link"}),
    "confirm_late": frozenset({"name", "unit", "date", "deadline", "link"}),
    "recheck": frozenset({"name", "date", "time", "site", "link"}),
    "plan_changed": frozenset({"name", "when", "link"}),
    "reply_help": frozenset({"link"}),
    "reply_help_unknown": frozenset(),
    "reply_stop": frozenset(),
    "reply_start": frozenset(),
    "reply_offer": frozenset({"date", "time", "site", "minutes"}),
    "reply_offer_again": frozenset({"date", "time", "site", "minutes"}),
    "reply_offer_none": frozenset({"link"}),
    "reply_no_appointment": frozenset({"link"}),
    "reply_confirmed": frozenset({"date", "time", "site"}),
    "reply_nothing_to_confirm": frozenset(),
}

_ZH_WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
_EN_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_EN_MONTHS = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)


def language_key(language: str | None) -> str:
    """The template language for a person's ``language`` field (``en``, ``en-GB`` -> ``en``)."""
    if language and language.strip().lower().startswith("en"):
        return "en"
    return DEFAULT_LANGUAGE


def format_date(day: date, language: str) -> str:
    if language_key(language) == "en":
        return f"{_EN_WEEKDAYS[day.weekday()]} {day.day} {_EN_MONTHS[day.month - 1]}"
    return f"{day.month}月{day.day}日{_ZH_WEEKDAYS[day.weekday()]}"


def format_time(moment: time) -> str:
    return f"{moment.hour:02d}:{moment.minute:02d}"


def local_date_time(at: datetime, tz: tzinfo, language: str) -> tuple[str, str]:
    """``(date, time)`` strings of an aware instant in a site's zone, for a template."""
    local = at.astimezone(tz)
    return format_date(local.date(), language), format_time(local.time())


@dataclass(frozen=True)
class Rendered:
    body: str
    segments: SegmentInfo
    language: str = DEFAULT_LANGUAGE
    # the values the body was made from: a template channel (Aliyun) sends these instead
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Templates:
    variants: Mapping[str, Mapping[str, tuple[str, ...]]]  # language -> kind -> variants
    max_segments: int = 2
    channels: Mapping[str, ChannelSet] = field(default_factory=dict)  # approved templates

    def render(self, kind: str, language: str | None, **values: object) -> Rendered:
        """The first variant of ``kind`` that fits ``max_segments``; the shortest otherwise."""
        lang = language_key(language)
        options = self.variants[lang][kind]
        strings = {k: "" if v is None else str(v) for k, v in values.items()}
        params = {k: strings[k] for k in sorted(PLACEHOLDERS.get(kind, ())) if k in strings}
        chosen: Rendered | None = None
        for template in options:
            body = template.format_map(strings)
            body = " ".join(body.split())  # empty fields must not leave double spaces
            chosen = Rendered(body, sms_segments(body), lang, params)
            if chosen.segments.segments <= self.max_segments:
                return chosen
        assert chosen is not None
        return chosen

    def with_max_segments(self, max_segments: int) -> Templates:
        return Templates(self.variants, max_segments, self.channels)


def parse_templates(data: object, source: str = "messages.yaml") -> Templates:
    """Validate the YAML document: both languages, every kind, known placeholders only."""
    if not isinstance(data, dict):
        raise UserError("{source}: expected a mapping of language -> kind -> texts", source=source)
    data = dict(data)
    channels = parse_channels(data.pop("channels", None), PLACEHOLDERS, source)
    variants: dict[str, dict[str, tuple[str, ...]]] = {}
    for lang in LANGUAGES:
        kinds = data.get(lang)
        if not isinstance(kinds, dict):
            raise UserError("{source}: language {lang!r} is missing", source=source, lang=lang)
        variants[lang] = {}
        for kind, allowed in PLACEHOLDERS.items():
            texts = kinds.get(kind)
            if isinstance(texts, str):
                texts = [texts]
            if not texts or not all(isinstance(t, str) and t.strip() for t in texts):
                raise UserError(
                    "{source}: {lang}.{kind} needs at least one text",
                    source=source,
                    lang=lang,
                    kind=kind,
                )
            for text in texts:
                names = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
                unknown = names - allowed
                if unknown:
                    raise UserError(
                        "{source}: {lang}.{kind} uses unknown placeholder(s) {unknown}; "
                        "allowed: {allowed}",
                        source=source,
                        lang=lang,
                        kind=kind,
                        unknown=", ".join(sorted("{" + n + "}" for n in unknown)),
                        allowed=", ".join(sorted("{" + n + "}" for n in allowed)) or "none",
                    )
            variants[lang][kind] = tuple(texts)
        extra = set(kinds) - set(PLACEHOLDERS)
        if extra:
            raise UserError(
                "{source}: {lang} has unknown kind(s) {extra}",
                source=source,
                lang=lang,
                extra=", ".join(sorted(extra)),
            )
    extra_langs = set(data) - set(LANGUAGES)
    if extra_langs:
        raise UserError(
            "{source}: unknown language(s) {extra}; use {languages}",
            source=source,
            extra=", ".join(sorted(extra_langs)),
            languages=" and ".join(LANGUAGES),
        )
    return Templates(variants, channels=channels)


def load_templates(config_dir: Path, max_segments: int = 2) -> Templates:
    path = config_dir / "messages.yaml"
    return parse_templates(read_yaml(path), str(path)).with_max_segments(max_segments)
