"""Errors a person can act on. The CLI prints the message and exits 2; the web shows it.

A :class:`UserError` carries its message as a template (English, with ``{named}`` parameters)
and the parameters apart, so each door renders it in its user's language: the template is the
key of the translation catalogues, and the parameters — a column as the clerk wrote it, an
employee number — are filled in after translation, never translated themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


class Phrase:
    """A translatable part of a message ("the file", "sheet 'Plan'"), passed to a
    :class:`UserError` as a parameter: rendered in the same language as the message."""

    def __init__(self, template: str, /, **params: Any) -> None:
        self.template = template
        self.params = params

    def __str__(self) -> str:
        return self.template.format(**self.params) if self.params else self.template

    def render(self, translate: Callable[..., str]) -> str:
        # a phrase inside a phrase ("sheet 'x': no header ...") is in the same language too
        return translate(self.template, **_rendered(self.params, translate))


@dataclass(frozen=True)
class Words:
    """A name in each language that the catalogue cannot hold, since it comes from the
    configuration: a column as a clerk heads it (工号, Employee ID, from roster_columns.yaml).
    A door's translator picks its language's; as plain text (the English message) it is the
    English. In JSON it is ``{"en": ..., "zh": ...}``."""

    en: str
    zh: str

    def __str__(self) -> str:
        return self.en

    def in_language(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en

    @classmethod
    def joined(cls, items: Sequence[Words], last: str) -> Words:
        """``items`` as one list, ``last`` ("or", "and") before the last one in English and
        its Chinese (或, 和) in Chinese: "Employee ID or Name", 工号或姓名."""
        chinese = {"or": "或", "and": "和"}[last]
        en = [w.en for w in items]
        zh = [w.zh for w in items]
        if len(items) < 2:
            return cls("".join(en), "".join(zh))
        return cls(f"{', '.join(en[:-1])} {last} {en[-1]}", "、".join(zh[:-1]) + chinese + zh[-1])


def _rendered(params: dict[str, Any], translate: Callable[..., str]) -> dict[str, Any]:
    return {
        key: value.render(translate) if isinstance(value, Phrase) else value
        for key, value in params.items()
    }


class UserError(Exception):
    """Bad input from a person: the message says what is wrong and how to fix it.

    ``UserError("unknown site {site}; the sites are: {known}", site=code, known=listed)``
    """

    exit_code = 2

    def __init__(self, template: str, /, **params: Any) -> None:
        self.template = template
        self.params = params
        super().__init__(template.format(**params) if params else template)

    def render(self, translate: Callable[..., str]) -> str:
        """The message in a language: ``translate`` is a door's ``_(template, **params)``."""
        return translate(self.template, **_rendered(self.params, translate))
