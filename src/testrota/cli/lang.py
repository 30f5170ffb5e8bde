"""The language the command line speaks: ``--lang``, else ``TESTROTA_LANG``, else the locale.

Messages are rendered through the web's catalogue (:mod:`testrota.web.i18n`), imported only
when a word is printed, so ``testrota --help`` does not pay for it. English needs no catalogue
at all: the templates are English.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from testrota.errors import Phrase, UserError
from testrota.languages import resolve_language

_chosen: str | None = None


def choose(option: str | None) -> str:
    """Fix the language of this invocation (the global ``--lang`` option, else the environment)."""
    global _chosen
    _chosen = resolve_language(option, os.environ)
    return _chosen


def current() -> str:
    return _chosen if _chosen is not None else resolve_language(None, os.environ)


def translator() -> Callable[..., str]:
    """``_(template, **params)`` in the CLI's language."""
    lang = current()
    if lang == "en":
        return _english
    from testrota.web.i18n import translator as catalogue

    return catalogue(lang)


def _english(text: str, /, **values: Any) -> str:
    return text.format(**values) if values else text


def say(template: str, /, **params: Any) -> str:
    """A status line, header or title in the CLI's language; :class:`Phrase` parameters are
    rendered in the same language."""
    _ = translator()
    return _(template, **{k: _rendered(v, _) for k, v in params.items()})


def _rendered(value: Any, _: Callable[..., str]) -> Any:
    """A parameter as shown: a :class:`Phrase` in the language of ``_``, its own Phrases too
    (a doctor's finding says "failed {ago}", and "{n} minutes ago" is a phrase of its own)."""
    if not isinstance(value, Phrase):
        return value
    return _(value.template, **{k: _rendered(v, _) for k, v in value.params.items()})


def render(error: UserError) -> str:
    return error.render(translator())


def code(kind: str, value: str | None) -> str:
    """A stored code (a status, a mode) as words in Chinese; English output keeps the code,
    which is what scripts and ``--json`` see too."""
    if not value:
        return ""
    if current() == "en":
        return value
    from testrota.web.i18n import code_text

    return code_text(kind, value, current())


def header(column: str, words: str | None = None) -> str:
    """A table's column header: the JSON key in English (what ``--format json`` prints, so the
    two read alike), the field's words in Chinese, or those of ``words`` when the column's own
    would mislead (a unit's ``name`` is 名称, a person's 姓名)."""
    if current() == "en":
        return column
    from testrota.web.i18n import CODES
    from testrota.web.i18n_cli import COLUMNS_ZH

    key = words or column
    names = CODES["field"].get(key)
    return names[1] if names else COLUMNS_ZH.get(key, key)


def count_header(key: str) -> str:
    """A figure's header in a summary table (``added``, ``high_risk``): the key in English."""
    if current() == "en":
        return key
    from testrota.web.i18n import CODES

    names = CODES["count"].get(key)
    return names[1] if names else header(key)


def category(code_: str | None) -> str:
    """A high-risk category code as its name in Chinese; the code itself in English output."""
    if current() == "en" or not code_:
        return code_ or ""
    from testrota.web.i18n import category_name

    return category_name(code_, "zh")


def problem(item: Any) -> str:
    """A row problem, skipped sheet or warning of an import in the CLI's language (its template
    and parameters where it has them, else its English message)."""
    english = _english_of(item)
    if current() == "en":
        return english
    from testrota.web.i18n import render_problem

    return render_problem(item, current()) or english


def _english_of(item: Any) -> str:
    for name in ("message", "reason"):
        value = item.get(name) if isinstance(item, dict) else getattr(item, name, None)
        if isinstance(value, str) and value:
            return value
    return ""


def in_language(document: Any) -> Any:
    """A JSON document with each problem's ``message`` (or a skipped sheet's ``reason``) in the
    CLI's language. Keys never change; in English the document is returned as it is."""
    if current() == "en":
        return document
    if isinstance(document, list):
        return [in_language(item) for item in document]
    if not isinstance(document, dict):
        return document
    out = {key: in_language(value) for key, value in document.items()}
    if document.get("template") or document.get("parts"):
        text = problem(document)
        for name in ("message", "reason"):
            if isinstance(document.get(name), str):
                out[name] = text
                break
    return out


def escape(text: str) -> str:
    """``text`` safe inside rich markup (a name or a translation with square brackets)."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def shown(value: object, kind: str | None = None) -> str:
    """A table cell: a code of ``kind`` in words, yes/no, a time in ISO 8601 (as JSON has it);
    in English every value reads as before (``True``, the code)."""
    from datetime import date, datetime

    if isinstance(value, datetime | date):
        return value.isoformat()
    if current() == "en":
        return str(value)
    if isinstance(value, bool):
        return say("Yes") if value else say("No")
    if kind == "category":
        return category(str(value))
    if kind is not None:
        return code(kind, str(value))
    return str(value)
