"""Every word of the catalogue for a translator: the English template, its Chinese, and what
it is (a message, a stored code of some kind, a high-risk category), as a gettext ``.po`` file
(Poedit, Weblate, ``msgfmt --check``) or a CSV sheet.

The catalogue stays the source (:mod:`testrota.web.i18n` and the modules it merges); this is
its view for people, so nothing has to be kept in step by hand.
"""

from __future__ import annotations

import io
import string
from dataclasses import dataclass

FORMATS = ("po", "csv", "json")


@dataclass(frozen=True)
class Entry:
    """One translatable text: ``context`` tells apart one English word with two meanings
    (``code:message.pending`` "waiting to send", ``code:result.pending`` "awaiting result");
    it is empty for a message template, whose English is its key."""

    context: str
    english: str
    chinese: str

    @property
    def placeholders(self) -> list[str]:
        """The ``{name}`` parameters of the English, in order, each once."""
        return placeholders(self.english)


def placeholders(text: str) -> list[str]:
    """The ``{name}`` fields of a ``str.format`` template, in order, each once (``{{`` is a
    literal brace, not a field)."""
    seen: list[str] = []
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError:
        return seen
    for _literal, field, _spec, _conversion in parsed:
        if field is not None and field not in seen:
            seen.append(field)
    return seen


def entries() -> list[Entry]:
    """Every message template with its Chinese, then every stored code and category's words;
    sorted within each part, so two exports of one catalogue are the same file."""
    from testrota.web.i18n import CATEGORY_NAMES, CODES, ZH

    found = [Entry("", english, chinese) for english, chinese in sorted(ZH.items())]
    found += [
        Entry(f"code:{kind}.{code}", english, chinese)
        for kind, names in sorted(CODES.items())
        for code, (english, chinese) in sorted(names.items())
    ]
    found += [
        Entry(f"category:{code}", english, chinese)
        for code, (chinese, english) in sorted(CATEGORY_NAMES.items())
    ]
    return found


def _po_string(text: str) -> str:
    escaped = (
        text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    )
    return f'"{escaped}"'


def as_po(found: list[Entry]) -> str:
    """A gettext catalogue of zh-Hans: ``msgid`` the English, ``msgstr`` the Chinese; templates
    with parameters are marked ``python-brace-format`` so tools check the Chinese keeps them."""
    lines = [
        'msgid ""',
        'msgstr ""',
        '"Project-Id-Version: testrota\\n"',
        '"Language: zh_Hans\\n"',
        '"Language-Team: zh-Hans\\n"',
        '"Last-Translator: testrota catalogue (src/testrota/web/i18n*.py)\\n"',
        '"MIME-Version: 1.0\\n"',
        '"Content-Type: text/plain; charset=UTF-8\\n"',
        '"Content-Transfer-Encoding: 8bit\\n"',
        '"Plural-Forms: nplurals=1; plural=0;\\n"',
        "",
    ]
    for entry in found:
        if entry.placeholders and entry.context == "":
            lines.append("#, python-brace-format")
        if entry.context:
            lines.append(f"msgctxt {_po_string(entry.context)}")
        lines.append(f"msgid {_po_string(entry.english)}")
        lines.append(f"msgstr {_po_string(entry.chinese)}")
        lines.append("")
    return "\n".join(lines)


CSV_COLUMNS = ["context", "en", "zh-Hans", "parameters"]


def as_rows(found: list[Entry]) -> list[dict[str, str]]:
    return [
        {
            "context": e.context,
            "en": e.english,
            "zh-Hans": e.chinese,
            "parameters": " ".join(e.placeholders) if e.context == "" else "",
        }
        for e in found
    ]


def as_csv(found: list[Entry]) -> str:
    """A sheet for a translator in Excel or WPS: a cell that would run as a formula (a template
    starting with ``-`` or ``=``) is kept as text, as in every export."""
    from testrota.compliance.export import write_csv

    out = io.StringIO()
    write_csv(out, as_rows(found), CSV_COLUMNS)
    return out.getvalue()
