"""The text Excel or Calc shows for a number under its cell's number format.

Only the integer and decimal subset of Excel's format codes is understood: the digit
placeholders ``0 # ?``, a decimal point, thousands separators (and trailing commas that scale
by 1,000), ``%``, quoted literals, ``\\`` escapes, bare literal punctuation, ``_x`` (a space)
and ``*x`` (a fill, dropped), up to four ``;`` sections, and ``[Red]``/``[>100]``/``[$-804]``
prefixes (ignored; ``[$¥-804]`` shows its ``¥``). Anything else — dates and times,
scientific notation, fractions, Chinese numerals, ``General`` and ``@`` — is left to the
caller's default text: :func:`parse_format` returns None for it.

:func:`changes_whole_numbers` says whether a format shows a whole number differently from its
plain digits by padding it (``000000``, ``0000#``) or decorating it with text
(``"E"00000``, ``000-0000-0000``). Those are the formats the reader applies: they are how
employee numbers keep their leading zeros, and they are rare enough that looking for them
costs nothing in the usual file.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal
from functools import lru_cache

_DIGITS = frozenset("0#?")
# Characters Excel shows as themselves without quotes.
_BARE = frozenset(" $-+/():!^&'~{}<>=")
_INF = float("inf")
_CONTEXT = Context(prec=400, rounding=ROUND_HALF_UP)
_COLOURS = frozenset({"black", "blue", "cyan", "green", "magenta", "red", "white", "yellow"})


@dataclass(frozen=True, slots=True)
class _Section:
    """One ``;`` section: tokens around the integer and decimal placeholders."""

    tokens: tuple[tuple[str, str], ...]  # (kind, text): "lit" text, "int"/"dec" placeholder
    grouping: bool
    scale: int  # power of 1,000 to divide by (trailing commas)
    percent: int  # number of % signs (each multiplies by 100)
    decimals: int  # placeholders after the point
    zeros_only: int = 0  # the width of a section of only "0" placeholders ("000000")

    def integer_placeholders(self) -> list[str]:
        return [text for kind, text in self.tokens if kind == "int"]

    def literal_text(self) -> str:
        return "".join(text for kind, text in self.tokens if kind == "lit")


@dataclass(frozen=True, slots=True)
class NumberFormat:
    """A parsed format code; :meth:`render` gives the text a person sees."""

    code: str
    sections: tuple[_Section, ...]

    def render(self, value: float) -> str:
        """The text shown for ``value``; "" for an infinity or NaN, as for an empty cell."""
        if value != value or value in (_INF, -_INF):
            return ""
        value += 0.0  # -0 is shown as 0
        sections = self.sections
        width = sections[0].zeros_only
        if width and 0 < value < 1e15 and value == int(value):
            return str(int(value)).zfill(width)  # "000000": the usual case, without Decimal
        if value < 0 and len(sections) >= 2:
            return _render(sections[1], -value, sign="")
        if value == 0 and len(sections) >= 3:
            return _render(sections[2], 0.0, sign="")
        section = sections[0]
        if value < 0:
            return _render(section, -value, sign="-")
        return _render(section, value, sign="")


def _render(section: _Section, value: float, sign: str) -> str:
    # Precision for any double's digits: the default 28 would refuse to quantize 1e30.
    ctx = _CONTEXT
    number = ctx.multiply(_decimal(value), ctx.power(100, section.percent))
    number = ctx.divide(number, ctx.power(1000, section.scale))
    number = number.quantize(Decimal(1).scaleb(-section.decimals), context=ctx)
    whole, _, fraction = f"{number:f}".partition(".")
    digits = whole.lstrip("0")
    fraction = fraction.ljust(section.decimals, "0")
    places = section.integer_placeholders()
    # Digits fill the integer placeholders from the right; extra ones go to the leftmost.
    extra = len(digits) - len(places)
    fills: list[str | None] = []
    for j in range(len(places)):
        if j == 0 and extra > 0:
            fills.append(digits[: extra + 1])
        elif 0 <= j + extra < len(digits):
            fills.append(digits[j + extra])
        else:
            fills.append(None)
    if not places and digits:
        fills = []  # a format with decimals only (".00"): the whole part is not shown
    shown: list[str] = []
    next_place = 0
    for kind, text in section.tokens:
        if kind == "lit":
            shown.append(text)
        elif kind == "int":
            fill = fills[next_place]
            next_place += 1
            if fill is not None:
                shown.append(fill)
            elif text == "0":
                shown.append("0")
            elif text == "?":
                shown.append(" ")
        elif kind == "point":
            shown.append(".")
        else:  # a decimal placeholder: digits fill them from the left
            index = int(text[1:])
            if text[0] == "0" or fraction[index:].strip("0"):
                shown.append(fraction[index])
            elif text[0] == "?":
                shown.append(" ")
    text = "".join(shown)
    if section.grouping:
        text = _group(text)
    return sign + text if sign and number != 0 else text


def _group(text: str) -> str:
    # The first run of digits is the integer part: separate its thousands.
    start = next((i for i, c in enumerate(text) if c.isdigit()), None)
    if start is None:
        return text
    end = start
    while end < len(text) and text[end].isdigit():
        end += 1
    run = text[start:end]
    head = len(run) % 3 or 3
    parts = [run[:head]] + [run[i : i + 3] for i in range(head, len(run), 3)]
    return text[:start] + ",".join(parts) + text[end:]


def _decimal(value: float) -> Decimal:
    if isinstance(value, int):
        return Decimal(value)
    # Excel keeps 15 significant digits: that is the number it formats.
    return Decimal(f"{value:.15g}")


def parse_format(code: str) -> NumberFormat | None:
    """The format ``code`` if it is in the supported subset, else None."""
    return _parse_cached(code)


@lru_cache(maxsize=512)
def _parse_cached(code: str) -> NumberFormat | None:
    if not code or len(code) > 255:
        return None
    raw_sections = _split_sections(code)
    if raw_sections is None or len(raw_sections) > 4:
        return None
    sections: list[_Section] = []
    for index, raw in enumerate(raw_sections[:3]):  # a fourth section is for text cells
        section = _parse_section(raw, need_digit=index == 0)
        if section is None:
            return None
        sections.append(section)
    return NumberFormat(code, tuple(sections))


def _split_sections(code: str) -> list[str] | None:
    sections, current, i = [], [], 0
    while i < len(code):
        c = code[i]
        if c == '"':
            end = code.find('"', i + 1)
            if end < 0:
                return None
            current.append(code[i : end + 1])
            i = end + 1
            continue
        if c in "\\_*" and i + 1 < len(code):
            current.append(code[i : i + 2])
            i += 2
            continue
        if c == "[":
            end = code.find("]", i + 1)
            if end < 0:
                return None
            current.append(code[i : end + 1])
            i = end + 1
            continue
        if c == ";":
            sections.append("".join(current))
            current = []
        else:
            current.append(c)
        i += 1
    sections.append("".join(current))
    return sections


def _parse_section(raw: str, need_digit: bool) -> _Section | None:
    tokens: list[tuple[str, str]] = []
    grouping = has_point = seen_digit = False
    scale = percent = decimals = pending_commas = 0
    i = 0
    while i < len(raw):
        c = raw[i]
        if c in _DIGITS:
            if pending_commas and not has_point:
                grouping = True  # a comma between placeholders separates thousands
            pending_commas = 0
            seen_digit = True
            if has_point:
                tokens.append(("dec", f"{c}{decimals}"))
                decimals += 1
            else:
                tokens.append(("int", c))
            i += 1
            continue
        if c == "," and seen_digit:
            pending_commas += 1
            i += 1
            continue
        scale += pending_commas  # commas after the last placeholder divide by 1,000
        pending_commas = 0
        if c == '"':
            end = raw.index('"', i + 1)  # _split_sections saw the closing quote
            tokens.append(("lit", raw[i + 1 : end]))
            i = end + 1
        elif c == "\\" and i + 1 < len(raw):
            tokens.append(("lit", raw[i + 1]))
            i += 2
        elif c == "_" and i + 1 < len(raw):
            tokens.append(("lit", " "))  # a space as wide as the next character
            i += 2
        elif c == "*" and i + 1 < len(raw):
            i += 2  # a fill to the column's width: nothing in plain text
        elif c == "[":
            end = raw.index("]", i + 1)
            shown = _bracket(raw[i + 1 : end])
            if shown is None:
                return None
            if shown:
                tokens.append(("lit", shown))
            i = end + 1
        elif c == "." and not has_point:
            has_point = True
            tokens.append(("point", "."))
            i += 1
        elif c == "%":
            percent += 1
            tokens.append(("lit", "%"))
            i += 1
        elif c == "/" and _next_to_digit(raw, i):
            return None  # a fraction such as "# ?/?"
        elif c in _BARE or c in ",.":
            tokens.append(("lit", c))
            i += 1
        else:
            # Dates, times, General, scientific notation, fractions, text (@) and unquoted
            # letters belong to formats this module leaves alone.
            return None
    scale += pending_commas
    if need_digit and not seen_digit:
        return None  # a first section of text only hides numbers; leave the format alone
    zeros = all(kind == "int" and text == "0" for kind, text in tokens)
    width = len(tokens) if zeros and not (grouping or scale or percent) else 0
    return _Section(tuple(tokens), grouping, scale, percent, decimals, width)


def _next_to_digit(raw: str, i: int) -> bool:
    before = raw[:i].rstrip(" ")[-1:]
    after = raw[i + 1 :].lstrip(" ")[:1]
    return bool(before and before in "0#?") or bool(after and after in "0123456789#?")


def _bracket(inner: str) -> str | None:
    """What a ``[...]`` shows: "" for a colour, a currency symbol, or None (unsupported).

    A condition (``[<=99999999]0000-0000;000-0000-0000``, a phone format) picks its section
    by the value, which :meth:`NumberFormat.render` does not: such a format is left to show
    the plain number rather than another section's pattern."""
    if inner.startswith("$"):
        return inner[1:].split("-", 1)[0]
    lowered = inner.lower()
    if lowered in _COLOURS or (lowered.startswith("color") and lowered[5:].isdigit()):
        return ""
    return None  # [h] elapsed time, [DBNum1] Chinese numerals, [NatNum1] ...


def changes_whole_numbers(fmt: NumberFormat) -> bool:
    """True when ``fmt`` pads whole numbers with zeros or shows text around them.

    Formats that only group thousands, add decimals or a percent sign are not counted: they
    do not make an identifier different from its digits.
    """
    checked = [fmt.sections[0]]
    if len(fmt.sections) >= 3:
        checked.append(fmt.sections[2])
    for section in checked:
        places = section.integer_placeholders()
        if sum(1 for p in places if p in "0?") >= 2:
            return True
        literal = section.literal_text().replace("%", "").strip()
        if literal and literal not in {",", "."}:
            return True
    return False
