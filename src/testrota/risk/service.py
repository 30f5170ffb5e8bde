"""The database side of risk matching: the role review list, HR's mappings and overrides, and
the reclassification of the people they apply to.

The changes themselves are the use cases of :mod:`testrota.actions.risk` (the transaction, the
checks and the audit event); these are their parts, each working in the caller's session, so
that what HR sees right after a change is what the planner will use.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from testrota.db import tables
from testrota.db.models import Person, RoleOverride
from testrota.errors import UserError
from testrota.policy import Policy
from testrota.risk.matcher import (
    NO_MATCH,
    RiskMatch,
    match_many,
    storage_fields,
    with_person_override,
)
from testrota.risk.normalize import role_key
from testrota.risk.vocabulary import Vocabulary

ROLE_COLUMNS = [
    "role",
    "department",
    "head_count",
    "category",
    "category_name",
    "matched_by",
    "matched_text",
    "other_count",
]
NONE_WORDS = frozenset({"none", "null", "no", "not-high-risk", "not_high_risk", "无", "否"})
CLEAR_WORDS = frozenset({"clear", "auto", "remove"})
MAX_REASON = 400
_CHUNK = 500


@dataclass(frozen=True)
class RoleRow:
    """One distinct (role, department) of active people and how its people are classified."""

    role: str
    department: str
    role_key: str
    head_count: int
    category: str | None  # that of most people in the group without a personal override
    category_name: str | None  # the category's Simplified Chinese name
    categories: list[str]
    matched_by: str | None
    matched_text: str | None
    other_count: int  # people classified differently (a personal override, a category column)
    override_reason: str | None  # HR's reason, when the title is mapped


# --- reading -----------------------------------------------------------------------------------


def list_roles(
    session: Session, unmatched_only: bool = False, *, vocab: Vocabulary | None = None
) -> list[RoleRow]:
    """Every distinct (role, department) among active people, with its head-count and how its
    people are classified.

    ``category``/``matched_by``/``matched_text`` are those of most people in the group who have
    no per-person override; ``other_count`` counts the people classified differently (by a
    per-person override or a roster category column). With ``unmatched_only``, only the groups
    no rule matched, most common first. ``vocab`` gives ``category_name`` (Simplified Chinese).
    """
    personal = col(Person.override_category).is_not(None).label("personal")
    # sqlalchemy's select: sqlmodel's is typed for at most four columns.
    query = (
        sa_select(
            col(Person.role),
            col(Person.department),
            col(Person.risk_category),
            col(Person.risk_categories),
            col(Person.matched_by),
            col(Person.matched_text),
            personal,
            func.count(col(Person.id)),
        )
        .where(col(Person.active).is_(True))
        .group_by(
            col(Person.role),
            col(Person.department),
            col(Person.risk_category),
            col(Person.risk_categories),
            col(Person.matched_by),
            col(Person.matched_text),
            personal,
        )
    )
    groups: dict[tuple[str, str], list[tuple[bool, int, tuple[Any, ...]]]] = defaultdict(list)
    rows_in = session.connection().execute(query)
    for role, department, category, categories, by, text, is_personal, count in rows_in:
        groups[(role, department)].append(
            (bool(is_personal), int(count), (category, categories, by, text))
        )
    overrides = _override_reasons(session)
    rows: list[RoleRow] = []
    for (role, department), parts in groups.items():
        # The role's own classification: the commonest among people without a personal
        # override, column answers last on a tie.
        parts.sort(key=lambda p: (p[0], -p[1], p[2][2] == "column", p[2][2] is None, str(p[2])))
        head_count = sum(count for _, count, _ in parts)
        _, majority_count, (category, categories, matched_by, matched_text) = parts[0]
        if unmatched_only and (category is not None or matched_by is not None):
            continue
        rk, dk = role_key(role), role_key(department)
        rows.append(
            RoleRow(
                role=role,
                department=department,
                role_key=rk,
                head_count=head_count,
                category=category,
                category_name=vocab.name(category) if (vocab and category) else None,
                categories=[c for c in (categories or "").split(",") if c],
                matched_by=matched_by,
                matched_text=matched_text,
                other_count=head_count - majority_count,
                override_reason=overrides.get((rk, dk), overrides.get((rk, ""))),
            )
        )
    if unmatched_only:
        rows.sort(key=lambda r: (-r.head_count, r.role, r.department))
    else:
        rows.sort(
            key=lambda r: (
                r.category is None,
                r.category or "",
                -r.head_count,
                r.role,
                r.department,
            )
        )
    return rows


def _override_reasons(session: Session) -> dict[tuple[str, str], str]:
    return {(o.role_key, o.department_key): o.reason for o in session.exec(select(RoleOverride))}


def load_role_overrides(session: Session) -> dict[tuple[str, str], str | None]:
    """HR's role mappings for :func:`match_many`: ``(role_key, department_key) -> code | None``."""
    return {(o.role_key, o.department_key): o.category for o in session.exec(select(RoleOverride))}


def high_risk_summary(session: Session) -> dict[str, int]:
    """Active high-risk people per primary category, largest first."""
    query = (
        select(Person.risk_category, func.count(col(Person.id)))
        .where(col(Person.active).is_(True), col(Person.risk_category).is_not(None))
        .group_by(col(Person.risk_category))
    )
    counts = {str(code): int(count) for code, count in session.exec(query)}
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


# --- what a person types ------------------------------------------------------------------------


def says_clear(text: str) -> bool:
    """True for a word that asks to remove an override (``clear``, ``auto``, ``remove``)."""
    return (text or "").strip().casefold() in CLEAR_WORDS


def parse_category(text: str, vocab: Vocabulary) -> str | None:
    """A category as a person gives it (its code, or a name in any script), or None for "not
    high-risk" (``none``, 否...): exactly the categories of ``vocab``, whichever door it came
    through.

    Raises UserError naming the valid codes when the text names nothing.
    """
    cleaned = (text or "").strip()
    if cleaned.casefold() in NONE_WORDS or vocab.says_not_high_risk(cleaned):
        return None
    code = vocab.code_for_name(cleaned)
    if code is not None:
        return code
    if not cleaned:
        raise UserError(
            "no risk category given: use one of {codes}, or 'none' for not high-risk",
            codes=", ".join(vocab.codes),
        )
    raise UnknownCategory(cleaned, vocab.codes)


class UnknownCategory(UserError):
    """A category the loaded vocabulary does not have."""

    def __init__(self, text: str, codes: Sequence[str]) -> None:
        super().__init__(
            "unknown risk category {category!r}: use one of {codes}, or 'none' for not high-risk",
            category=text,
            codes=", ".join(codes),
        )


def require_reason(reason: str) -> str:
    """The reason given for a change, stripped; refused when empty or too long."""
    cleaned = (reason or "").strip()
    if not cleaned:
        raise UserError("a reason is required: say why, it is kept in the audit log")
    if len(cleaned) > MAX_REASON:
        raise UserError("the reason is longer than {n} characters; shorten it", n=MAX_REASON)
    return cleaned


# --- changing ------------------------------------------------------------------------------------


def find_role_override(session: Session, rk: str, dk: str) -> RoleOverride | None:
    return session.exec(
        select(RoleOverride).where(RoleOverride.role_key == rk, RoleOverride.department_key == dk)
    ).first()


def upsert_role_override(session: Session, values: dict[str, Any]) -> None:
    """Write HR's mapping of a title (``values``: the RoleOverride's columns)."""
    # ON CONFLICT so that two HR users mapping the same title at once both succeed (the later
    # one wins) instead of one failing on the unique (role_key, department_key).
    dialect = session.get_bind().dialect.name
    table = tables.ROLE_OVERRIDE
    insert: Any = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    update = {k: v for k, v in values.items() if k not in ("role_key", "department_key")}
    statement = insert.values(**values).on_conflict_do_update(
        index_elements=["role_key", "department_key"], set_=update
    )
    session.exec(statement)
    session.flush()
    session.expire_all()


def set_person_override(person: Person, category: str | None, reason: str, now: datetime) -> None:
    """Fix ``person``'s category (None: not high-risk); it beats every rule."""
    person.override_category = category or ""
    person.override_reason = reason
    store_match(person, with_person_override(NO_MATCH, person.override_category, reason), now)


def classify_people(
    session: Session, people: Iterable[Person], vocab: Vocabulary, now: datetime
) -> list[Person]:
    """Run the whole precedence (column > role mapping > title > department, person override
    on top) for ``people``; returns those whose classification changed."""
    people = list(people)
    overrides = load_role_overrides(session)
    matches = match_many(
        {(p.role, p.department, p.category_column) for p in people}, vocab, overrides
    )
    changed: list[Person] = []
    for person in people:
        match = with_person_override(
            matches[(person.role, person.department, person.category_column)],
            person.override_category,
            person.override_reason,
        )
        if store_match(person, match, now):
            session.add(person)
            changed.append(person)
    session.flush()
    return changed


def reclassify_role(
    session: Session, rk: str, dk: str, now: datetime, vocab: Vocabulary
) -> list[Person]:
    """Reclassify the people a role mapping (rk, dk) applies to; returns those who changed.

    ``dk`` empty is the mapping for every department; a department's own mapping of the title
    wins there, so its people are left alone.
    """
    pairs = session.exec(select(Person.role, Person.department).distinct()).all()
    overrides = load_role_overrides(session)
    targets: set[tuple[str, str]] = set()
    for role, department in pairs:
        if role_key(role) != rk:
            continue
        person_dk = role_key(department)
        if dk and person_dk != dk:
            continue
        if not dk and (rk, person_dk) in overrides and person_dk:
            continue  # a department-specific mapping of this title wins there
        targets.add((role, department))
    if not targets:
        return []
    people: list[Person] = []
    target_list = sorted(targets)
    for start in range(0, len(target_list), _CHUNK):
        chunk = target_list[start : start + _CHUNK]
        roles = {role for role, _ in chunk}
        found = session.exec(select(Person).where(col(Person.role).in_(roles))).all()
        people.extend(p for p in found if (p.role, p.department) in targets)
    return classify_people(session, people, vocab, now)


def release(
    session: Session, changed: Iterable[Person], now: datetime, policy: Policy | None
) -> int:
    """Coming appointments given up, in this transaction, by the active people among
    ``changed`` who are no longer high-risk (``scheduling.release``)."""
    from testrota.scheduling.release import Holder, release_appointments

    holders = [
        Holder(p.id, leaving=False, department=p.department, grid_unit=p.grid_unit)
        for p in changed
        if p.id is not None and p.active and p.risk_category is None
    ]
    if not holders:
        return 0
    return release_appointments(session.connection(), holders, now, policy).appointments


def everyone(session: Session) -> list[Person]:
    return list(session.exec(select(Person).order_by(col(Person.id))))


def store_match(person: Person, match: RiskMatch, now: datetime) -> bool:
    """Store ``match`` on ``person``; False when it is what they already have."""
    fields = storage_fields(match)
    current = {name: getattr(person, name) for name in fields}
    if current == fields:
        return False
    for name, value in fields.items():
        setattr(person, name, value)
    person.updated_at = now
    return True
