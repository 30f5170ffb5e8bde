"""Errors a person can act on. The CLI prints the message and exits 2; the web shows it.

A :class:`UserError` carries its message as a template (English, with ``{named}`` parameters)
and the parameters apart, so each door renders it in its user's language: the template is the
key of the translation catalogues, and the parameters — a column as the clerk wrote it, an
employee number — are filled in after translation, never translated themselves.
"""

from __future__ import annotations

from collections.abc import Callable
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
        return translate(self.template, **self.params)


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
        params = {
            key: value.render(translate) if isinstance(value, Phrase) else value
            for key, value in self.params.items()
        }
        return translate(self.template, **params)
