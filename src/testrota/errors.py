"""Errors a person can act on. The CLI prints the message and exits 2; the web shows it."""

from __future__ import annotations


class UserError(Exception):
    """Bad input from a person: the message says what is wrong and how to fix it."""

    exit_code = 2
