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
    """``departments`` None means every department; an empty set means none at all."""

    departments: frozenset[str] | None
    # How this user sees phone and ID numbers (privacy.mask_for_roles): the response guard
    # (web.disclosure) masks them, and a masked user's searches match whole numbers only.
    masker: Masker = UNMASKED

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
        return column.in_(sorted(self.departments))

    def filter_rows(self, rows: Iterable[dict[str, Any]], key: str = "department") -> list[Any]:
        return [r for r in rows if self.allows(r.get(key))]


def scope_for(role: str, departments: Iterable[str]) -> Scope:
    """Admins and HR see every department; supervisors their own; site staff none."""
    if role in OFFICE_ROLES:
        return Scope.everything()
    if role == "supervisor":
        return Scope.of(departments)
    return Scope(frozenset())
