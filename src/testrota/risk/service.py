"""The database side of risk matching: the role review list, HR overrides, reclassification.

Every override is written together with an :class:`AuditEvent` (who, when, why, old and new) and
the affected people are reclassified in the same transaction, so what HR sees right after the
change is what the planner will use. Callers own the transaction (``session_scope``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from testrota.db import tables
from testrota.db.models import AuditEvent, Person, RoleOverride
from testrota.errors import UserError
from testrota.policy import Policy
from testrota.risk.matcher import (
    NO_MATCH,
    RiskMatch,
    count_by_category,
    match_many,
    storage_fields,
    with_person_override,
)
from testrota.risk.normalize import role_key
from testrota.risk.vocabulary import CONTRACT_CODES, Vocabulary

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
_CHUNK = 500


# --- reading -----------------------------------------------------------------------------------


def list_roles(
    session: Session, unmatched_only: bool = False, *, vocab: Vocabulary | None = None
) -> list[dict[str, Any]]:
    """Every distinct (role, department) among active people, with its head-count and how its
    people are classified.

    ``category``/``matched_by``/``matched_text`` are those of most people in the group who have
    no per-person override; ``other_count`` counts the people classified differently (by a
    per-person override or a roster category column). With ``unmatched_only``, only the groups
    no rule matched, most common first. ``vocab`` adds ``category_name`` (Simplified Chinese).
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
    rows: list[dict[str, Any]] = []
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
            {
                "role": role,
                "department": department,
                "role_key": rk,
                "head_count": head_count,
                "category": category,
                "category_name": vocab.name(category) if (vocab and category) else None,
                "categories": [c for c in (categories or "").split(",") if c],
                "matched_by": matched_by,
                "matched_text": matched_text,
                "other_count": head_count - majority_count,
                "override_reason": overrides.get((rk, dk), overrides.get((rk, ""))),
            }
        )
    if unmatched_only:
        rows.sort(key=lambda r: (-r["head_count"], r["role"], r["department"]))
    else:
        rows.sort(
            key=lambda r: (
                r["category"] is None,
                r["category"] or "",
                -r["head_count"],
                r["role"],
                r["department"],
            )
        )
    return rows


def _override_reasons(session: Session) -> dict[tuple[str, str], str]:
    return {
        (o.role_key, o.department_key): o.reason for o in session.exec(select(RoleOverride))
    }


def load_role_overrides(session: Session) -> dict[tuple[str, str], str | None]:
    """HR's role mappings for :func:`match_many`: ``(role_key, department_key) -> code | None``."""
    return {
        (o.role_key, o.department_key): o.category for o in session.exec(select(RoleOverride))
    }


def high_risk_summary(session: Session) -> dict[str, int]:
    """Active high-risk people per primary category, largest first."""
    query = (
        select(Person.risk_category, func.count(col(Person.id)))
        .where(col(Person.active).is_(True), col(Person.risk_category).is_not(None))
        .group_by(col(Person.risk_category))
    )
    counts = {str(code): int(count) for code, count in session.exec(query)}
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


# --- argument parsing shared by the CLI and the web ----------------------------------------------


def parse_category(text: str, vocab: Vocabulary | None) -> str | None:
    """A category given by a person (code, or a name in any script), or None for "none".

    Raises UserError naming the valid codes when the text names nothing.
    """
    cleaned = (text or "").strip()
    if cleaned.casefold() in NONE_WORDS or (vocab and vocab.says_not_high_risk(cleaned)):
        return None
    if vocab is not None:
        code = vocab.code_for_name(cleaned)
        if code is not None:
            return code
        codes: Sequence[str] = vocab.codes
    else:
        codes = CONTRACT_CODES
        if cleaned in codes:
            return cleaned
    raise UserError(
        f"unknown risk category {cleaned!r}: use one of {', '.join(codes)}, or 'none' for "
        "not high-risk"
    )


# --- overrides -----------------------------------------------------------------------------------


def set_role_override(
    session: Session,
    role: str,
    department: str | None,
    category: str | None,
    reason: str,
    actor: str,
    now: datetime,
    *,
    vocab: Vocabulary | None = None,
    policy: Policy | None = None,
) -> dict[str, Any]:
    """Map a role title (in one department, or in every department when ``department`` is empty)
    to a category, or to None for "not high-risk", and reclassify everyone it applies to.

    People with a per-person override or a recognised category column keep theirs (those
    rules come first). Returns what changed, including ``affected`` (people reclassified) and
    ``released`` (coming appointments given up by people no longer high-risk; ``policy``'s
    surge rules keep the days they cover).
    """
    _check_now(now)
    reason = _require_reason(reason)
    rk = role_key(role)
    if not rk:
        raise UserError("the role title is empty: give the title as it appears in the roster")
    dk = role_key(department or "")
    _check_code(category, vocab)
    existing = session.exec(
        select(RoleOverride).where(RoleOverride.role_key == rk, RoleOverride.department_key == dk)
    ).first()
    old = {"category": existing.category, "reason": existing.reason} if existing else None
    values = {
        "role_key": rk,
        "department_key": dk,
        "role": role.strip(),
        "department": (department or "").strip() if dk else "",
        "category": category,
        "reason": reason,
        "created_by": actor,
        "created_at": now,
    }
    _upsert_override(session, values)
    changed = _reclassify_role(session, rk, dk, now, vocab)
    affected = len(changed)
    released = _release(session, changed, now, policy)
    _audit(
        session,
        now,
        actor,
        "risk.role_override",
        "role_override",
        f"{rk}@{dk}" if dk else rk,
        {
            "role": role.strip(),
            "department": values["department"],
            "old": old,
            "new": {"category": category, "reason": reason},
            "reason": reason,
            "affected": affected,
            "released": released,
        },
    )
    return {
        "role": values["role"],
        "department": values["department"],
        "category": category,
        "old_category": old["category"] if old else None,
        "had_override": old is not None,
        "affected": affected,
        "released": released,
    }


def clear_role_override(
    session: Session,
    role: str,
    department: str | None,
    reason: str,
    actor: str,
    now: datetime,
    *,
    vocab: Vocabulary,
    policy: Policy | None = None,
) -> dict[str, Any]:
    """Remove HR's mapping of a role title; its people are matched by the rules again (those
    it leaves not high-risk give up their coming appointments: ``released``)."""
    _check_now(now)
    reason = _require_reason(reason)
    rk, dk = role_key(role), role_key(department or "")
    existing = session.exec(
        select(RoleOverride).where(RoleOverride.role_key == rk, RoleOverride.department_key == dk)
    ).first()
    if existing is None:
        where = f" in department {department!r}" if dk else " for every department"
        raise UserError(f"no mapping of the role {role!r}{where}; `testrota roles` lists them")
    old = {"category": existing.category, "reason": existing.reason}
    session.delete(existing)
    session.flush()
    changed = _reclassify_role(session, rk, dk, now, vocab)
    affected = len(changed)
    released = _release(session, changed, now, policy)
    _audit(
        session,
        now,
        actor,
        "risk.role_override_cleared",
        "role_override",
        f"{rk}@{dk}" if dk else rk,
        {
            "role": existing.role,
            "department": existing.department,
            "old": old,
            "new": None,
            "reason": reason,
            "affected": affected,
            "released": released,
        },
    )
    return {"role": existing.role, "department": existing.department, "affected": affected,
            "released": released}


def set_person_override(
    session: Session,
    employee_no: str,
    category: str | None,
    reason: str,
    actor: str,
    now: datetime,
    *,
    vocab: Vocabulary | None = None,
    policy: Policy | None = None,
) -> dict[str, Any]:
    """Fix one person's category (None = not high-risk); it beats every rule and survives
    re-imports. The person is reclassified at once, and made not high-risk gives up their
    coming appointments (``released``)."""
    _check_now(now)
    reason = _require_reason(reason)
    _check_code(category, vocab)
    person = _person(session, employee_no)
    old = {
        "override_category": person.override_category,
        "risk_category": person.risk_category,
        "matched_by": person.matched_by,
    }
    person.override_category = category or ""
    person.override_reason = reason
    _store(person, with_person_override(NO_MATCH, person.override_category, reason), now)
    session.add(person)
    session.flush()
    released = _release(session, [person], now, policy)
    _audit(
        session,
        now,
        actor,
        "risk.person_override",
        "person",
        person.employee_no,
        {"old": old, "new": {"override_category": category}, "reason": reason,
         "released": released},
    )
    return {
        "employee_no": person.employee_no,
        "category": category,
        "old_category": old["risk_category"],
        "released": released,
    }


def clear_person_override(
    session: Session,
    employee_no: str,
    reason: str,
    actor: str,
    now: datetime,
    *,
    vocab: Vocabulary,
    policy: Policy | None = None,
) -> dict[str, Any]:
    """Remove one person's override; the rules classify them again (``released``: coming
    appointments given up when the rules say not high-risk)."""
    _check_now(now)
    reason = _require_reason(reason)
    person = _person(session, employee_no)
    if person.override_category is None:
        raise UserError(f"employee {person.employee_no} has no override to clear")
    old = {"override_category": person.override_category, "risk_category": person.risk_category}
    person.override_category = None
    person.override_reason = None
    released = _release(session, _classify_people(session, [person], vocab, now), now, policy)
    _audit(
        session,
        now,
        actor,
        "risk.person_override_cleared",
        "person",
        person.employee_no,
        {"old": old, "new": {"risk_category": person.risk_category}, "reason": reason,
         "released": released},
    )
    return {
        "employee_no": person.employee_no,
        "category": person.risk_category,
        "old_category": old["risk_category"],
        "released": released,
    }


def reclassify_people(
    session: Session,
    vocab: Vocabulary,
    now: datetime,
    actor: str = "",
    *,
    policy: Policy | None = None,
) -> dict[str, Any]:
    """Match everyone again with the current vocabulary and HR mappings (after editing
    ``risk_categories.yaml``). Returns how many people changed, the new high-risk counts and
    the appointments released by people no longer high-risk."""
    _check_now(now)
    people = list(session.exec(select(Person).order_by(col(Person.id))))
    changed_people = _classify_people(session, people, vocab, now)
    changed = len(changed_people)
    released = _release(session, changed_people, now, policy)
    summary = count_by_category(p.risk_category for p in people if p.active)
    _audit(
        session,
        now,
        actor,
        "risk.reclassify",
        "person",
        "",
        {"people": len(people), "changed": changed, "high_risk": summary,
         "released": released},
    )
    return {
        "people": len(people),
        "changed": changed,
        "high_risk": sum(summary.values()),
        "by_category": summary,
        "released": released,
    }


# --- helpers -------------------------------------------------------------------------------------


def _classify_people(
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
        if _store(person, match, now):
            session.add(person)
            changed.append(person)
    session.flush()
    return changed


def _reclassify_role(
    session: Session, rk: str, dk: str, now: datetime, vocab: Vocabulary | None
) -> list[Person]:
    """Reclassify the people a role mapping (rk, dk) applies to; returns those who changed."""
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
    if vocab is not None:
        return _classify_people(session, people, vocab, now)
    # Without the vocabulary, precedence is decided from what is stored: a recognised category
    # column (matched_by "column") and per-person overrides keep their answer.
    code_found, code = _lookup(overrides, rk, dk)
    changed: list[Person] = []
    for person in people:
        if person.override_category is not None or person.matched_by == "column":
            continue
        if not code_found:
            continue
        match = RiskMatch(code, (code,) if code else (), "override", person.role.strip())
        if _store(person, match, now):
            session.add(person)
            changed.append(person)
    session.flush()
    return changed


def _release(
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


def _lookup(
    overrides: dict[tuple[str, str], str | None], rk: str, dk: str
) -> tuple[bool, str | None]:
    if (rk, dk) in overrides:
        return True, overrides[(rk, dk)]
    return False, None


def _store(person: Person, match: RiskMatch, now: datetime) -> bool:
    fields = storage_fields(match)
    current = {name: getattr(person, name) for name in fields}
    if current == fields:
        return False
    for name, value in fields.items():
        setattr(person, name, value)
    person.updated_at = now
    return True


def _person(session: Session, employee_no: str) -> Person:
    number = (employee_no or "").strip()
    person = session.exec(select(Person).where(Person.employee_no == number)).first()
    if person is None:
        raise UserError(
            f"no person with employee number {number!r}; check it with `testrota people --all`"
        )
    return person


def _upsert_override(session: Session, values: dict[str, Any]) -> None:
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


def _audit(
    session: Session,
    now: datetime,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    details: dict[str, Any],
) -> None:
    session.add(
        AuditEvent(
            at=now,
            actor=actor,
            action=action,
            entity=entity,
            entity_id=entity_id[:64],
            details=details,
        )
    )
    session.flush()


def _require_reason(reason: str) -> str:
    cleaned = (reason or "").strip()
    if not cleaned:
        raise UserError("a reason is required (--reason): say why, it is kept in the audit log")
    if len(cleaned) > 400:
        raise UserError("the reason is longer than 400 characters; shorten it")
    return cleaned


def _check_code(category: str | None, vocab: Vocabulary | None) -> None:
    if category is None:
        return
    known = vocab.codes if vocab is not None else CONTRACT_CODES
    if category not in known:
        raise UserError(
            f"unknown risk category {category!r}: use one of {', '.join(known)}, or none"
        )


def _check_now(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
