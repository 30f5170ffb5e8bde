"""Supervisors' scope entries that cover no active person: pure, plain data in and out.

A supervisor is scoped by names (departments as the roster writes them, unit paths). When
HR's roster renames a department or a unit, the people follow the new name and the supervisor
keeps the old one: their lists, dashboard and daily report go empty and their texts stop,
without anyone noticing. :func:`find_stale` names each such entry, and where a roster import
moved most of the entry's people to one place, that place as the likely new name. Nothing here
changes a scope: who sees whom is HR's decision.
"""

from __future__ import annotations

import shlex
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from testrota.org.paths import SEP, is_within

DEPARTMENT, UNIT = "department", "unit"
# A suggestion needs more than this share of the people who moved out of the entry: a
# department split in two halves has no single new name, and guessing one would widen or
# misdirect a supervisor's access.
CLEAR_SHARE = 0.5

TEMPLATES = {
    (DEPARTMENT, False): "supervisor {user}'s department {entry} no longer has anyone on the "
    "roster: they see no one there and get no texts about it",
    (DEPARTMENT, True): "supervisor {user}'s department {entry} no longer has anyone on the "
    "roster (its {n} people are now in {to})",
    (UNIT, False): "supervisor {user}'s unit {entry} no longer has anyone on the roster: they "
    "see no one there and get no texts about it",
    (UNIT, True): "supervisor {user}'s unit {entry} no longer has anyone on the roster (its "
    "{n} people are now in {to})",
}


@dataclass(frozen=True)
class Supervisor:
    """An active supervisor's scope as stored: with units, the departments are not read
    (``auth.scope.scope_for``), so only the units can go stale."""

    name: str
    departments: tuple[str, ...] = ()
    units: tuple[str, ...] = ()


@dataclass(frozen=True)
class Moves:
    """Where people went: old name -> new name -> how many people. Departments by name, units
    by path (a person's own unit, or a summary's entry: both read the same way)."""

    departments: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    units: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    def merged(self, other: Moves) -> Moves:
        """These moves, with ``other``'s for the names these do not know (newer first)."""
        return Moves({**other.departments, **self.departments}, {**other.units, **self.units})


@dataclass(frozen=True)
class StaleScope:
    """One supervisor's entry that covers nobody, with the likely new name when clear.

    ``message`` is the English sentence (``--json``, the log); ``template`` and ``params``
    render it in another language; ``fix`` is the command that would set the suggestion
    (the users page changes the same fields).
    """

    user: str
    kind: str  # "department" or "unit"
    entry: str
    moved_to: str | None = None
    moved_people: int = 0
    fix: str = ""
    template: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    message: str = ""


def move_counts(pairs: Iterable[tuple[str, str]]) -> dict[str, dict[str, int]]:
    """``(old, new)`` pairs, one a person, as :class:`Moves` holds them."""
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for old, new in pairs:
        if old and new and old != new:
            out[old][new] += 1
    return {old: dict(news) for old, news in out.items()}


def covered_units(occupied: Iterable[str]) -> set[str]:
    """Every unit with an active person in it or below it: the occupied paths and each of
    their ancestors."""
    covered: set[str] = set()
    for path in occupied:
        parts = path.split(SEP)
        for i in range(len(parts), 0, -1):
            above = SEP.join(parts[:i])
            if above in covered:
                break  # its ancestors are in already
            covered.add(above)
    return covered


def find_stale(
    supervisors: Iterable[Supervisor],
    occupied_departments: Collection[str],
    occupied_units: Iterable[str],
    moves: Moves = Moves(),
) -> list[StaleScope]:
    """Each supervisor's department or unit that no active person is in (nor, for a unit,
    below it), in the supervisors' order, each with its likely new name when clear.

    ``occupied_departments``: the departments of the active people (those the supervisors
    name and those ``moves`` took their people to are enough); ``occupied_units``: the
    paths of the units active people sit in directly.
    """
    units = covered_units(occupied_units)
    out: list[StaleScope] = []
    for sup in supervisors:
        if sup.units:
            stale = [(UNIT, u) for u in sup.units if u not in units]
        else:
            stale = [(DEPARTMENT, d) for d in sup.departments if d not in occupied_departments]
        if not stale:
            continue
        found = {
            (kind, entry): (
                _department_move(entry, moves, occupied_departments)
                if kind == DEPARTMENT
                else _unit_move(entry, moves, units)
            )
            for kind, entry in stale
        }
        fix = _fix(sup, found)
        for kind, entry in stale:
            out.append(_stale(sup.name, kind, entry, found[kind, entry], fix))
    return out


def _department_move(entry: str, moves: Moves, occupied: Collection[str]) -> tuple[str, int] | None:
    return _clear(moves.departments.get(entry, {}), lambda to: to in occupied)


def _unit_move(entry: str, moves: Moves, covered: set[str]) -> tuple[str, int] | None:
    """The unit at the entry's level that most of the people who left it went to: a renamed
    unit's people sit in the same units below the new name, so cutting their new paths at
    the entry's depth gives the new name; a person now above that level suggests nothing."""
    depth = len(entry.split(SEP))
    went: Counter[str] = Counter()
    for old, news in moves.units.items():
        if not is_within(old, entry):
            continue
        for new, n in news.items():
            parts = new.split(SEP)
            went[SEP.join(parts[:depth]) if len(parts) >= depth else ""] += n
    return _clear(went, lambda to: bool(to) and to in covered)


def _clear(went: Mapping[str, int], usable: Any) -> tuple[str, int] | None:
    total = sum(went.values())
    if not total:
        return None
    to, n = max(went.items(), key=lambda item: (item[1], item[0]))
    if n <= total * CLEAR_SHARE or not usable(to):
        return None
    return to, n


def _fix(sup: Supervisor, found: Mapping[tuple[str, str], tuple[str, int] | None]) -> str:
    """The one ``users set`` command for all of a supervisor's stale entries: the option
    replaces the whole list, so each entry's own command would undo the others'. An entry
    without a suggestion is left out; ``…`` marks a name HR has to fill in."""
    kind, option = (UNIT, "--unit") if sup.units else (DEPARTMENT, "--department")
    entries: list[str] = []
    for entry in sup.units if sup.units else sup.departments:
        if (kind, entry) not in found:
            entries.append(entry)
        elif (move := found[kind, entry]) is not None and move[0] not in entries:
            entries.append(move[0])
    words = ["testrota", "users", "set", sup.name]
    for entry in entries or ["…"]:
        words += [option, entry]
    return " ".join(w if w == "…" else shlex.quote(w) for w in words)


def _stale(user: str, kind: str, entry: str, move: tuple[str, int] | None, fix: str) -> StaleScope:
    template = TEMPLATES[kind, move is not None]
    params: dict[str, Any] = {"user": user, "entry": entry}
    if move is not None:
        params |= {"to": move[0], "n": move[1]}
    return StaleScope(
        user=user,
        kind=kind,
        entry=entry,
        moved_to=move[0] if move else None,
        moved_people=move[1] if move else 0,
        fix=fix,
        template=template,
        params=params,
        message=template.format(**params),
    )


def as_moves(stale: Iterable[StaleScope]) -> Moves:
    """The suggestions of ``stale`` as moves, to be read again later (an import records them:
    a rename is only seen by the import that made it)."""
    departments: dict[str, dict[str, int]] = {}
    units: dict[str, dict[str, int]] = {}
    for s in stale:
        if s.moved_to:
            (units if s.kind == UNIT else departments)[s.entry] = {s.moved_to: s.moved_people}
    return Moves(departments, units)
