"""Which departments a signed-in user may see: the one place scoping is decided."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from testrota.privacy.masking import Masker

UNMASKED = Masker(masked=False)

ROLES = ("admin", "hr", "supervisor", "site")
OFFICE_ROLES = frozenset({"admin", "hr"})


@dataclass(frozen=True)
class Scope:
    """``departments`` None means every department; an empty set means none at all.

    ``units`` (unit paths, testrota.org) narrows a supervisor given units: they see each unit
    and everything below it. Their ``departments`` are then the departments found in those
    units, and :meth:`where` also keeps the people to the units themselves, so a department
    of the same name elsewhere in the group stays out of every list built on it.
    """

    departments: frozenset[str] | None
    # How this user sees phone and ID numbers (privacy.mask_for_roles): the response guard
    # (web.disclosure) masks them, and a masked user's searches match whole numbers only.
    masker: Masker = UNMASKED
    units: frozenset[str] | None = None

    @classmethod
    def everything(cls) -> Scope:
        return cls(None)

    @classmethod
    def of(cls, departments: Iterable[str]) -> Scope:
        return cls(frozenset(d for d in departments if d))

    @property
    def is_everything(self) -> bool:
        return self.departments is None

    def allows(self, department: str | None) -> bool:
        return self.departments is None or (department or "") in self.departments

    def narrow(self, department: str | None) -> Scope:
        """The scope of a request for one department: never wider than this scope."""
        if not department:
            return self
        if self.allows(department):
            return replace(self, departments=frozenset({department}))
        return replace(self, departments=frozenset())

    def where(self, column: Any) -> Any:
        """A SQL condition limiting ``column`` (a department column) to this scope, or None."""
        if self.departments is None:
            return None
        condition = column.in_(sorted(self.departments))
        if self.units:
            from sqlalchemy import and_

            from testrota.org.units import unit_condition

            return and_(condition, unit_condition(sorted(self.units)))
        return condition

    def reaches(self, conn: Any, unit_id: int | None) -> bool:
        """Whether a person sitting in ``unit_id`` is this scope's: always, unless the scope
        is a supervisor's units (their departments alone could name a namesake elsewhere)."""
        if not self.units:
            return True
        if unit_id is None:
            return False
        from sqlalchemy import select

        from testrota.db import tables

        unit = tables.ORG_UNIT
        path = conn.execute(select(unit.c.path).where(unit.c.id == unit_id)).scalar()
        return path is not None and self.allows_unit(str(path))

    def allows_unit(self, path: str) -> bool:
        """Whether a unit's figures are this scope's to see: the unit or one below theirs; for
        a supervisor of departments, a unit named as one of them or below one."""
        if self.departments is None:
            return True
        if self.units:
            return any(path == u or path.startswith(u + "/") for u in self.units)
        return any(name in self.departments for name in path.split("/")[1:])

    def filter_rows(self, rows: Iterable[dict[str, Any]], key: str = "department") -> list[Any]:
        return [r for r in rows if self.allows(r.get(key))]


def scope_for(
    role: str,
    departments: Iterable[str],
    units: Iterable[str] = (),
    unit_departments: Iterable[str] = (),
) -> Scope:
    """Admins and HR see every department; supervisors their own departments, or their units
    with everything below them (``unit_departments``: the departments found there); site
    staff none. A supervisor with both sees the units only: a unit is the narrower grant."""
    if role in OFFICE_ROLES:
        return Scope.everything()
    if role == "supervisor":
        paths = frozenset(u for u in units if u)
        if paths:
            return Scope(frozenset(d for d in unit_departments), units=paths)
        return Scope.of(departments)
    return Scope(frozenset())
