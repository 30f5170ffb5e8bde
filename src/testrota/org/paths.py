"""Unit paths, pure: a roster row's unit, a typed path's parts, the chain of units above one.

A path is written with ``/`` between names (``本钢集团/板材公司/炼钢厂/转炉车间``); rosters also
use ``／``, ``\\``, ``>`` and ``＞``, read the same. A name never holds one of them (one
written inside a level column becomes ``∕``), so every path has one reading.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from testrota.org.config import MAX_DEPTH, MAX_NAME, MAX_PATH, OrgConfig

SEP = "/"
_SPLIT = re.compile(r"\s*[/／\\>＞]\s*")
_IN_NAME = re.compile(r"[/／\\>＞]")


def has_separator(text: str) -> bool:
    return _IN_NAME.search(text) is not None


def clean_name(text: str) -> str:
    """One unit's name: spaces collapsed, a separator inside it made ``∕``, cut to its limit."""
    return _IN_NAME.sub("∕", " ".join(text.split()))[:MAX_NAME]


def split_path(text: str) -> list[str]:
    """The names of a written path, empty parts dropped: ``" 板材公司 ／炼钢厂/"`` gives
    ``["板材公司", "炼钢厂"]``."""
    if not text:
        return []
    return [n for n in (" ".join(p.split())[:MAX_NAME] for p in _SPLIT.split(text)) if n]


def roster_unit(path_cell: str, levels: list[str]) -> tuple[str, str | None]:
    """A roster row's unit below the root, and a problem to report or None.

    Args:
        path_cell: the row's path column (部门路径), or "" when the sheet has none.
        levels: its level columns, top first (公司, 厂矿, 车间/部门), blanks allowed.

    The path column wins when it is filled; a path deeper than :data:`MAX_DEPTH` levels or
    longer than :data:`MAX_PATH` characters is cut, and the problem says so.
    """
    names = split_path(path_cell) if path_cell else [clean_name(x) for x in levels if x.strip()]
    problem = None
    if len(names) > MAX_DEPTH - 1:  # room for the grid unit below it
        problem = f"a unit path of {len(names)} levels; at most {MAX_DEPTH - 1} are kept"
        names = names[: MAX_DEPTH - 1]
    path = SEP.join(names)
    if len(path) > MAX_PATH - MAX_NAME:
        problem = f"a unit path of {len(path)} characters; cut to {MAX_PATH - MAX_NAME}"
        path = SEP.join(split_path(path[: MAX_PATH - MAX_NAME]))
    return path, problem


@dataclass(frozen=True, slots=True)
class UnitSpec:
    """One unit of a chain from the root down: what its ``orgunit`` row holds."""

    path: str
    name: str
    level: int
    grid: bool
    parent: str | None  # the parent's path; None for the root


def unit_chain(org: OrgConfig, unit_path: str, department: str, grid_unit: str) -> list[UnitSpec]:
    """The units from the root down to where a person sits: their roster unit (``unit_path``,
    else their department, else the root itself) and, below it, their grid unit.

    A path that starts with the root's own name is read below the root all the same; a grid
    unit named like the unit it is in is that unit (a 班组 that is also the grid).
    """
    if unit_path:
        names = split_path(unit_path)
    else:
        names = [clean_name(department)] if department.strip() else []
    if names and names[0] == org.root:
        names = names[1:]
    names = names[: MAX_DEPTH - 1]
    chain = [UnitSpec(org.root, org.root, 0, False, None)]
    for name in names:
        parent = chain[-1]
        chain.append(UnitSpec(parent.path + SEP + name, name, parent.level + 1, False, parent.path))
    grid = clean_name(grid_unit)
    if grid and grid != chain[-1].name:
        parent = chain[-1]
        chain.append(UnitSpec(parent.path + SEP + grid, grid, parent.level + 1, True, parent.path))
    while len(chain[-1].path) > MAX_PATH:  # only names at their limit in a deep tree get here
        chain.pop()
    return chain


def relative(org: OrgConfig, path: str) -> str:
    """A full path below the root, as ``codes`` in org.yaml name it ("" for the root)."""
    return path[len(org.root) + 1 :] if path.startswith(org.root + SEP) else ""


def resolve_path(org: OrgConfig, text: str) -> str:
    """A path as a person types it (with or without the root's name) as a full path."""
    names = split_path(text)
    if names and names[0] == org.root:
        names = names[1:]
    return SEP.join([org.root, *names])


def is_within(path: str, top: str) -> bool:
    """True when ``path`` is ``top`` or below it."""
    return path == top or path.startswith(top + SEP)
