"""The planner's reasons for people left unplaced, as lines in the reader's language: on the
schedule page after a re-plan and in the message after a unit's mode is switched."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from testrota.scheduling.model import REASONS


def unplaced_lines(_: Callable[..., str], unplaced: Mapping[str, int]) -> list[str]:
    """One line per reason code, most people first: "3 people left unplaced: <why>"."""
    ranked = sorted(unplaced.items(), key=lambda item: (-item[1], item[0]))
    return [
        _("{n} people left unplaced: {reason}", n=n, reason=_(REASONS.get(code, code)))
        for code, n in ranked
        if n
    ]
