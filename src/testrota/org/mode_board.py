"""Which emergency modes a reader's units are in on a day, for the dashboard (pure).

A mode is set on one unit and followed by every unit below it that has none of its own
(:func:`testrota.org.modes.modes_on`). The board shows one row per change that matters to the
reader, not one per unit (a company in static control is one row, "and 1,200 units below"):

- each change on a unit the reader sees that puts it in a mode other than the one it would
  inherit (a workshop set back to ``normal`` under a company in ``static`` is shown too);
- each of the reader's top units (one they see whose parent they do not) that inherits a
  mode other than ``normal`` from a unit above it, naming that unit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from testrota.statuses import UnitMode


@dataclass(frozen=True, slots=True)
class UnitRow:
    id: int
    parent_id: int | None
    path: str


@dataclass(frozen=True, slots=True)
class ModeSetting:
    """A mode change as stored (``unitmodechange``)."""

    id: int
    unit_id: int
    mode: str
    start: date
    end: date | None
    reason: str
    set_by: str

    def covers(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


@dataclass(frozen=True, slots=True)
class UnitModeNow:
    """A row of the board: ``path`` is in ``mode`` from ``start`` to ``end`` (None: until
    changed) because of a change set on ``set_on`` (``path`` itself, or a unit above it);
    ``below``: how many units under ``path`` follow the same change."""

    path: str
    mode: str
    start: date
    end: date | None
    reason: str
    set_by: str
    set_on: str
    below: int

    @property
    def inherited(self) -> bool:
        return self.set_on != self.path


def mode_board(
    units: Sequence[UnitRow],
    settings: Iterable[ModeSetting],
    day: date,
    allowed: Callable[[str], bool],
) -> list[UnitModeNow]:
    """The board for ``day``, for a reader who sees the units whose path ``allowed`` accepts.

    Args:
        units: every unit of the tree.
        settings: the mode changes (those not covering ``day`` are ignored; on one unit the
            latest, by id, wins).
        allowed: the reader's scope over unit paths (``Scope.allows_unit``).
    """
    own: dict[int, ModeSetting] = {}
    for s in settings:
        if s.covers(day) and (s.unit_id not in own or s.id > own[s.unit_id].id):
            own[s.unit_id] = s
    if not own:
        return []
    by_id = {u.id: u for u in units}
    source: dict[int, ModeSetting | None] = {}

    def source_of(unit_id: int) -> ModeSetting | None:
        chain: list[int] = []
        current: int | None = unit_id
        found: ModeSetting | None = None
        while current is not None:
            if current in source:
                found = source[current]
                break
            chain.append(current)
            if current in own:
                found = own[current]
                break
            unit = by_id.get(current)
            current = unit.parent_id if unit is not None else None
        for u in chain:
            source[u] = found
        return found

    followers: dict[int, int] = {}
    for u in units:
        followed = source_of(u.id)
        if followed is not None:
            followers[followed.id] = followers.get(followed.id, 0) + 1
    rows: list[UnitModeNow] = []
    for u in units:
        if not allowed(u.path):
            continue
        setting = source[u.id]
        if setting is None:
            continue
        parent = by_id.get(u.parent_id) if u.parent_id is not None else None
        above = source_of(parent.id) if parent is not None else None
        inherited_mode = above.mode if above is not None else UnitMode.NORMAL.value
        if setting.unit_id == u.id:
            if setting.mode == inherited_mode:
                continue  # the same mode as above: says nothing new
            rows.append(_row(u.path, setting, u.path, followers[setting.id] - 1))
        elif parent is None or not allowed(parent.path):
            if setting.mode == UnitMode.NORMAL:
                continue
            set_on = by_id[setting.unit_id].path
            rows.append(_row(u.path, setting, set_on, _below(u, units, source, setting)))
    return sorted(rows, key=lambda r: r.path.split("/"))


def week_board(
    units: Sequence[UnitRow],
    settings: Sequence[ModeSetting],
    days: Sequence[date],
    allowed: Callable[[str], bool],
) -> list[UnitModeNow]:
    """The board over several ``days`` (a week being viewed): every row :func:`mode_board`
    gives on any of them, once, so a mode starting on Wednesday or ended on Tuesday is shown
    with its period. The board is worked out once per distinct set of changes in force, not
    once per day: a group's tree is large and its changes are few."""
    seen: set[frozenset[int]] = set()
    rows: dict[tuple[str, str, str, date, date | None, str, str], UnitModeNow] = {}
    for day in days:
        in_force = frozenset(s.id for s in settings if s.covers(day))
        if not in_force or in_force in seen:
            continue
        seen.add(in_force)
        for r in mode_board(units, settings, day, allowed):
            key = (r.path, r.set_on, r.mode, r.start, r.end, r.reason, r.set_by)
            if key not in rows or r.below > rows[key].below:
                rows[key] = r
    return sorted(rows.values(), key=lambda r: (r.path.split("/"), r.start))


def _row(path: str, s: ModeSetting, set_on: str, below: int) -> UnitModeNow:
    return UnitModeNow(path, s.mode, s.start, s.end, s.reason, s.set_by, set_on, below)


def _below(
    top: UnitRow,
    units: Sequence[UnitRow],
    source: dict[int, ModeSetting | None],
    s: ModeSetting,
) -> int:
    prefix = top.path + "/"
    return sum(1 for u in units if u.path.startswith(prefix) and source.get(u.id) is s)
