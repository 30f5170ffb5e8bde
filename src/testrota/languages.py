"""Which of our two languages a tag or a locale names; shared by the settings (``TESTROTA_LANG``)
and the command line (``--lang``, the locale). Pure and import-free, so ``--help`` stays fast."""

from __future__ import annotations

from collections.abc import Mapping

CHOICES = ("zh", "en")
LANG_ENV = "TESTROTA_LANG"
# POSIX order: the first of these that is set and not empty names the messages' locale.
LOCALE_ENV = ("LC_ALL", "LC_MESSAGES", "LANG")


def language_of(tag: str | None) -> str | None:
    """``zh``/``en`` for a language tag or locale name (``zh_CN.UTF-8``, ``zh-Hans``, ``en_US``,
    ``EN``), None for anything else (``C``, ``fr_FR``, empty)."""
    primary = (tag or "").strip().lower().replace("-", "_").split(".")[0].split("_")[0]
    return primary if primary in CHOICES else None


def resolve_language(option: str | None, environ: Mapping[str, str]) -> str:
    """The command line's language: the ``--lang`` option, then ``TESTROTA_LANG``, then the
    locale (``zh_*`` is Chinese); English when nothing says otherwise."""
    for tag in (option, environ.get(LANG_ENV)):
        chosen = language_of(tag)
        if chosen:
            return chosen
    for name in LOCALE_ENV:
        value = environ.get(name)
        if value:
            return "zh" if language_of(value) == "zh" else "en"
    return "en"
