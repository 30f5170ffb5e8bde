"""Reading the cells of a result sheet: result words, sampling times, identity numbers. Pure.

Lab sheets come from many hands: 阴性 / 陰性 / Negative / neg / "-", Excel datetimes, text such
as ``2022/5/9 8:30`` or ``2022年5月9日 08时30分``, US or European day order. Naive times are local
times of the policy's zone.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from testrota.statuses import ResultValue

NEGATIVE, POSITIVE = ResultValue.NEGATIVE, ResultValue.POSITIVE
PENDING, INVALID = ResultValue.PENDING, ResultValue.INVALID

_EXACT = {
    # the words labs write, after NFKC and lower-casing and dropping spaces
    "阴性": NEGATIVE,
    "陰性": NEGATIVE,
    "阴": NEGATIVE,
    "陰": NEGATIVE,
    "negative": NEGATIVE,
    "neg": NEGATIVE,
    "-": NEGATIVE,
    "(-)": NEGATIVE,
    "−": NEGATIVE,
    "–": NEGATIVE,
    "未检出": NEGATIVE,
    "未檢出": NEGATIVE,
    "notdetected": NEGATIVE,
    "阳性": POSITIVE,
    "陽性": POSITIVE,
    "阳": POSITIVE,
    "陽": POSITIVE,
    "positive": POSITIVE,
    "pos": POSITIVE,
    "+": POSITIVE,
    "(+)": POSITIVE,
    "detected": POSITIVE,
    "pending": PENDING,
    "待检": PENDING,
    "待檢": PENDING,
    "检测中": PENDING,
    "檢測中": PENDING,
    "待出": PENDING,
    "待出结果": PENDING,
    "未出": PENDING,
    "inprogress": PENDING,
    "processing": PENDING,
    "awaiting": PENDING,
    "待定": PENDING,
    "": PENDING,
    "invalid": INVALID,
    "无效": INVALID,
    "無效": INVALID,
    "重采": INVALID,
    "重採": INVALID,
    "复采": INVALID,
    "復採": INVALID,
    "void": INVALID,
    "rejected": INVALID,
}
# Checked in this order: a weak or suspected positive must raise the alarm, so positives first,
# and 未检出 ("not detected") before the bare 检出.
_CONTAINS: tuple[tuple[tuple[str, ...], ResultValue], ...] = (
    (("无效", "無效", "invalid", "重采", "重採", "复采", "復採"), INVALID),
    (("阴性", "陰性", "negative", "未检出", "未檢出", "notdetected"), NEGATIVE),
    (("阳", "陽", "positive"), POSITIVE),
    (("待", "检测中", "檢測中", "pending", "未出"), PENDING),
)
_SPACES = re.compile(r"[\s\u3000]+")


def normalize_text(value: str) -> str:
    """NFKC (full-width to ASCII), trimmed, single spaces."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", value)).strip()


def parse_result(value: str) -> ResultValue | None:
    """A result word as a :class:`ResultValue`; None when it is not one.

    An empty cell is ``pending``: a booth's sampling list has no result yet.
    """
    key = _SPACES.sub("", unicodedata.normalize("NFKC", value or "")).lower()
    key = key.replace("（", "(").replace("）", ")")
    found = _EXACT.get(key)
    if found is not None:
        return found
    for words, result in _CONTAINS:
        if any(w in key for w in words):
            return result
    return None


def normalize_employee_no(value: str) -> str:
    """Trim and fold full-width digits; ``10023.0`` (a number Excel kept) becomes ``10023``."""
    if value.isascii() and value.isalnum():
        return value  # the usual case, and the index of 100,000 people builds on it
    text = normalize_text(value or "")
    if re.fullmatch(r"\d+\.0+", text):
        text = text.split(".", 1)[0]
    return text


def normalize_id_number(value: str) -> str:
    """Mainland ID numbers: no spaces, upper-case check letter X."""
    return re.sub(r"[\s\-]", "", normalize_text(value or "")).upper()


# ---------------------------------------------------------------- sampling times

_DATE_YMD = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T](.*))?$")
_DATE_XXY = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})(?:[ T](.*))?$")
_DATE_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:[ T]?(\d{2})(\d{2})(\d{2})?)?$")
_TIME = re.compile(
    r"^(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2})(?:\.(?P<f>\d{1,6})\d*)?)?"
    r"\s*(?P<ampm>am|pm)?\s*(?P<tz>z|[+-]\d{2}:?\d{2})?$",
    re.IGNORECASE,
)
_EXCEL_EPOCH = datetime(1899, 12, 30)  # noqa: DTZ001  (Excel serials are zone-less by nature)
_EXCEL_MIN, _EXCEL_MAX = 20000.0, 80000.0  # 1954 .. 2119: anything else is not a date


@dataclass(frozen=True)
class _Parts:
    year: int
    a: int  # the month for year-first dates; the first number of 05/09/2022
    b: int
    clock: time
    offset: timedelta | None
    year_first: bool

    def month_day(self, day_first: bool) -> tuple[int, int]:
        if self.year_first:
            return self.a, self.b
        if self.a > 12 >= self.b:  # only one reading is a date: no choice to make
            day_first = True
        elif self.b > 12 >= self.a:
            day_first = False
        return (self.b, self.a) if day_first else (self.a, self.b)


def _normalise_datetime_text(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).strip().lower()
    pm = "下午" in text or "晚上" in text
    text = text.replace("上午", "").replace("下午", "").replace("晚上", "").replace("早上", "")
    text = re.sub(r"(\d)\s*年\s*", r"\1-", text)
    text = re.sub(r"(\d)\s*月\s*", r"\1-", text)
    text = re.sub(r"(\d)\s*[日号號]\s*", r"\1 ", text)
    text = re.sub(r"(\d)\s*[时時点點]\s*(?=\d)", r"\1:", text)
    text = re.sub(r"(\d)\s*[时時点點]\s*$", r"\1:00", text)
    text = re.sub(r"(\d)\s*分\s*(?=\d)", r"\1:", text)
    text = re.sub(r"(\d)\s*[分秒]\s*$", r"\1", text)
    text = _SPACES.sub(" ", text).strip().rstrip("-")
    if pm and not re.search(r"(am|pm)$", text):
        text += " pm"
    return text


class SampledAtError(ValueError):
    """A sampling time that cannot be read: the English message, and its template and
    parameters (a nested reason is itself ``{"template": ..., "params": ...}``) for a page."""

    def __init__(self, template: str, /, **params: Any) -> None:
        english = {k: v["text"] if isinstance(v, dict) else v for k, v in params.items()}
        super().__init__(template.format(**english) if params else template)
        self.template = template
        self.params = params

    def as_param(self) -> dict[str, Any]:
        return {"template": self.template, "params": self.params, "text": str(self)}


def _parse_clock(text: str | None) -> tuple[time, timedelta | None]:
    if not text:
        return time(0), None
    m = _TIME.match(text.strip())
    if not m:
        raise SampledAtError("cannot read the time of day {text!r}", text=text)
    hour, minute = int(m["h"]), int(m["m"])
    second = int(m["s"] or 0)
    micro = int((m["f"] or "0").ljust(6, "0"))
    if m["ampm"]:
        if not 1 <= hour <= 12:
            raise SampledAtError("hour {hour} with AM/PM", hour=hour)
        hour = hour % 12 + (12 if m["ampm"].lower() == "pm" else 0)
    offset = None
    if m["tz"]:
        raw = m["tz"].lower()
        if raw == "z":
            offset = timedelta(0)
        else:
            sign = -1 if raw[0] == "-" else 1
            digits = raw[1:].replace(":", "")
            offset = sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return time(hour, minute, second, micro), offset


def _split(text: str) -> _Parts:
    m = _DATE_YMD.match(text)
    if m:
        clock, offset = _parse_clock(m.group(4))
        return _Parts(int(m.group(1)), int(m.group(2)), int(m.group(3)), clock, offset, True)
    m = _DATE_COMPACT.match(text)
    if m:
        clock = time(int(m.group(4) or 0), int(m.group(5) or 0), int(m.group(6) or 0))
        return _Parts(int(m.group(1)), int(m.group(2)), int(m.group(3)), clock, None, True)
    m = _DATE_XXY.match(text)
    if m:
        clock, offset = _parse_clock(m.group(4))
        return _Parts(int(m.group(3)), int(m.group(1)), int(m.group(2)), clock, offset, False)
    raise SampledAtError(
        "cannot read the sampling time {text!r}: write it like 2022-05-09 08:30", text=text
    )


def _excel_serial(text: str) -> datetime | None:
    try:
        serial = float(text)
    except ValueError:
        return None
    if not _EXCEL_MIN <= serial <= _EXCEL_MAX:
        return None
    # Round to the second: a float serial carries binary noise in the last microseconds.
    seconds = round(serial * 86400)
    return _EXCEL_EPOCH + timedelta(seconds=seconds)


def _assemble(parts: _Parts, day_first: bool, tz: ZoneInfo) -> datetime:
    month, day = parts.month_day(day_first)
    try:
        naive = datetime.combine(date(parts.year, month, day), parts.clock)
    except ValueError as exc:
        raise SampledAtError(
            "{date} is not a real date", date=f"{parts.year}-{month}-{day}"
        ) from exc
    if parts.offset is not None:
        return naive.replace(tzinfo=timezone(parts.offset)).astimezone(UTC)
    return naive.replace(tzinfo=tz).astimezone(UTC)


def parse_sampled_at(value: str, tz: ZoneInfo, day_first: bool = False) -> datetime:
    """One sampling time to an aware UTC datetime; ValueError with a plain message otherwise.

    Args:
        value: the cell as text: ISO 8601 (with or without offset), ``2022/5/9 8:30``,
            ``2022年5月9日 8时30分``, ``5/9/2022 8:30 PM``, ``20220509 083000``, or an Excel
            serial number such as ``44690.35``. A date alone means local midnight.
        tz: the zone of times written without an offset.
        day_first: how to read ``05/09/2022`` (9 May when True); see :func:`day_first_for`.
    """
    raw = (value or "").strip()
    if not raw:
        raise SampledAtError("the sampling time is empty")
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        parsed = None
    if parsed is not None:
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=tz)
        return parsed.astimezone(UTC)
    serial = _excel_serial(raw)
    if serial is not None:
        return serial.replace(tzinfo=tz).astimezone(UTC)
    try:
        return _assemble(_split(_normalise_datetime_text(raw)), day_first, tz)
    except SampledAtError as exc:
        if exc.template.startswith("cannot read the sampling time"):
            raise
        reason = exc.as_param()
    except ValueError as exc:  # Python's own words (an hour of 25): shown as they are
        reason = {"template": "", "params": {}, "text": str(exc)}
    raise SampledAtError(
        "cannot read the sampling time {text!r}: {reason}", text=raw, reason=reason
    ) from None


def day_first_for(values: Sequence[str], tz: ZoneInfo, now: datetime) -> bool:
    """Decide, for a whole column, whether ``05/09/2022`` means 5 September (False) or 9 May.

    A value that can only be read one way (``13/05/2022``) settles it. When every value is
    ambiguous, the reading that puts more samples in the recent past (the 60 days before ``now``)
    wins: lab sheets report recent samples. Month first (Excel's US text) breaks a tie.
    """
    votes_df = votes_mf = 0
    recent_df = recent_mf = 0
    low, high = now - timedelta(days=60), now + timedelta(days=1)
    # A sheet's times repeat (a slot's minute): each distinct one is read once, with its count.
    for raw, count in Counter(values).items():
        if not raw or (raw[:4].isdigit() and not raw[4:5].isdigit()):
            continue  # year first (2022-05-09 ...): no day order to decide
        text = _normalise_datetime_text(raw)
        m = _DATE_XXY.match(text)
        if not m:
            continue
        a, b = int(m.group(1)), int(m.group(2))
        if a > 12 >= b:
            votes_df += count
        elif b > 12 >= a:
            votes_mf += count
        elif votes_df == votes_mf == 0:
            try:
                parts = _split(text)
                if low <= _assemble(parts, True, tz) <= high:
                    recent_df += count
                if low <= _assemble(parts, False, tz) <= high:
                    recent_mf += count
            except ValueError:
                continue
    if votes_df or votes_mf:
        return votes_df > votes_mf
    return recent_df > recent_mf
