"""Which high-risk categories a person is in, and why: pure functions over a :class:`Vocabulary`.

Precedence, first answer wins:

1. an explicit category column in the roster (a code, or a category name in any script);
2. HR's mapping of the role title (department-specific before all-department);
3. the job title (``titles`` and ``synonyms`` of every category);
4. the department (``departments`` keywords).

Among the categories one rule gives, the vocabulary's order (the order of the YAML file) picks
the primary one, so specific settings (imported goods, cold chain) outrank generic jobs (driver).

A per-person override beats all four; :func:`with_person_override` applies it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from testrota.risk.normalize import normalize, role_key
from testrota.risk.terms import Hit, TermIndex, contains_term
from testrota.risk.vocabulary import TermKind, Vocabulary

MATCHED_BY = ("column", "override", "title", "synonym", "department")
# Person.matched_text is 200 characters wide.
MATCHED_TEXT_MAX = 200
_COLUMN_SEPARATORS = re.compile(r"[,，、;；/|\n]+")

RoleKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class RiskMatch:
    """The answer for one (title, department, explicit column) triple.

    ``category`` is the primary code or None; ``categories`` every code that applies, primary
    first; ``matched_by`` is title | synonym | department | column | override (None when nothing
    matched) and ``matched_text`` the text that decided it.
    """

    category: str | None
    categories: tuple[str, ...]
    matched_by: str | None
    matched_text: str | None

    @property
    def high_risk(self) -> bool:
        return self.category is not None


NO_MATCH = RiskMatch(None, (), None, None)


@dataclass(frozen=True, slots=True)
class _Evidence:
    position: int  # the category's priority
    kind: str  # title | synonym | department
    text: str


def _rank(kind: str) -> int:
    return 0 if kind == "title" else 1


def _evidence(
    text: str, index: TermIndex[tuple[tuple[int, TermKind], ...]], vocab: Vocabulary
) -> dict[int, _Evidence]:
    """The best occurrence per category of ``index``'s terms in ``text``, exclusions applied."""
    if not text:
        return {}
    found = index.find(text)
    if not found:
        return {}
    blockers = vocab.exclusion_index.find(text)
    best: dict[int, _Evidence] = {}
    for hit, entries in found:
        for position, kind in entries:
            if _excluded(hit, position, blockers):
                continue
            current = best.get(position)
            candidate = _Evidence(position, kind, hit.text)
            if current is None or (_rank(kind), -len(hit.text)) < (
                _rank(current.kind),
                -len(current.text),
            ):
                best[position] = candidate
    return best


def _excluded(hit: Hit, position: int, blockers: list[tuple[Hit, frozenset[int]]]) -> bool:
    """A keyword overlapping an exclusion is ignored (公司机关 hides 司机), unless the keyword is
    the longer phrase that contains the exclusion: 装载机司机 is a driver although 机司机 (the
    operator of a fixed machine) is an exclusion."""
    return any(
        position in applies and hit.overlaps(block) and not _covers(hit, block)
        for block, applies in blockers
    )


def _covers(outer: Hit, inner: Hit) -> bool:
    return (
        outer.start <= inner.start
        and inner.end <= outer.end
        and outer.end - outer.start > inner.end - inner.start
    )


@dataclass
class _Cache:
    """Work shared between the keys of one :func:`match_many` call."""

    titles: dict[str, dict[int, _Evidence]] = field(default_factory=dict)
    departments: dict[str, dict[int, _Evidence]] = field(default_factory=dict)
    blocked: dict[str, frozenset[int]] = field(default_factory=dict)
    pairs: dict[tuple[str, str], RiskMatch] = field(default_factory=dict)
    explicit: dict[str, tuple[str, ...] | None] = field(default_factory=dict)


def infer(title: str, department: str, vocab: Vocabulary) -> RiskMatch:
    """Inference only (rules 3 and 4): categories from the title, then from the department.

    ``title`` and ``department`` may be raw or normalised. The primary category is the first, in
    the vocabulary's priority order, of those the title gives; the department only decides when
    the title gives none.
    """
    return _infer(normalize(title or ""), normalize(department or ""), vocab, _Cache())


def _infer(norm_title: str, norm_dept: str, vocab: Vocabulary, cache: _Cache) -> RiskMatch:
    match = cache.pairs.get((norm_title, norm_dept))
    if match is not None:
        return match
    by_title = cache.titles.get(norm_title)
    if by_title is None:
        by_title = cache.titles[norm_title] = _evidence(norm_title, vocab.title_index, vocab)
    by_dept = cache.departments.get(norm_dept)
    if by_dept is None:
        by_dept = cache.departments[norm_dept] = _evidence(norm_dept, vocab.department_index, vocab)
    blocked = cache.blocked.get(norm_dept)
    if blocked is None:
        blocked = cache.blocked[norm_dept] = _blocked_in(norm_dept, vocab)
    kept = [p for p in sorted(by_title) if p not in blocked]
    ordered = [by_title[p] for p in kept]
    ordered += [by_dept[p] for p in sorted(by_dept) if p not in kept]
    if ordered:
        codes = tuple(vocab.categories[e.position].code for e in ordered)
        match = RiskMatch(codes[0], codes, ordered[0].kind, ordered[0].text)
    else:
        match = NO_MATCH
    cache.pairs[(norm_title, norm_dept)] = match
    return match


def _blocked_in(norm_dept: str, vocab: Vocabulary) -> frozenset[int]:
    """Categories whose title keywords do not count in this department (``not_in_departments``:
    a cashier in Finance is not a supermarket cashier)."""
    if not norm_dept:
        return frozenset()
    return frozenset(
        position
        for position, category in enumerate(vocab.categories)
        if any(contains_term(norm_dept, word) for word in category.not_in_departments)
    )


def read_explicit(text: str | None, vocab: Vocabulary) -> tuple[str, ...] | None:
    """What a roster's category column says: the codes it names (``()`` for an explicit
    "not high-risk" such as 否/无/none), or None when it is empty or names nothing we know,
    in which case inference decides.

    Accepts a code, a category name or alias in any script, several of them separated by
    commas/、/slashes, or a job title that is itself a keyword (驾驶员).
    """
    if text is None or not normalize(text):
        return None
    if vocab.says_not_high_risk(text):
        return ()
    whole = vocab.code_for_name(text)
    if whole is not None:
        return (whole,)
    codes: list[str] = []
    for part in _COLUMN_SEPARATORS.split(text):
        code = vocab.code_for_name(part)
        if code is None:
            keyword = vocab.title_index.get(normalize(part))
            if keyword:
                for position, _kind in keyword:
                    code = vocab.categories[position].code
                    if code not in codes:
                        codes.append(code)
            continue
        if code not in codes:
            codes.append(code)
    return tuple(codes) or None


def match_role(
    title: str, department: str, vocab: Vocabulary, explicit: str | None = None
) -> RiskMatch:
    """Classify one person from their title, department and (optional) category column.

    No HR role overrides here; :func:`match_many` applies those.
    """
    return _classify(title, department, explicit, vocab, {}, _Cache())


def match_many(
    keys: Iterable[tuple[str, str, str | None]],
    vocab: Vocabulary,
    role_overrides: Mapping[RoleKey, str | None] | None = None,
) -> dict[tuple[str, str, str | None], RiskMatch]:
    """Classify many (title, department, explicit column text) keys at once.

    ``role_overrides`` maps ``(role_key(title), role_key(department) or "")`` to a category code,
    or to None for "explicitly not high-risk"; a department-specific mapping beats the
    all-department one. An override whose code the vocabulary no longer defines is ignored.
    Work is shared between keys with the same normalised title, department or column text, so a
    roster of 100,000 people with 2,000 distinct titles costs about 2,000 matches.
    """
    overrides = role_overrides or {}
    cache = _Cache()
    results: dict[tuple[str, str, str | None], RiskMatch] = {}
    for key in keys:
        if key not in results:
            results[key] = _classify(key[0], key[1], key[2], vocab, overrides, cache)
    return results


def _classify(
    title: str,
    department: str,
    explicit: str | None,
    vocab: Vocabulary,
    overrides: Mapping[RoleKey, str | None],
    cache: _Cache,
) -> RiskMatch:
    if explicit is not None and explicit.strip():
        if explicit in cache.explicit:
            named = cache.explicit[explicit]
        else:
            named = cache.explicit[explicit] = read_explicit(explicit, vocab)
        if named is not None:
            return RiskMatch(named[0] if named else None, named, "column", _clip(explicit.strip()))
    norm_title, norm_dept = role_key(title), role_key(department)
    if overrides:
        found, code = _override(overrides, norm_title, norm_dept)
        if found and (code is None or vocab.has(code)):
            return RiskMatch(
                code, (code,) if code else (), "override", _clip((title or "").strip())
            )
    return _infer(norm_title, norm_dept, vocab, cache)


def _override(
    overrides: Mapping[RoleKey, str | None], norm_title: str, norm_dept: str
) -> tuple[bool, str | None]:
    if not norm_title:
        return False, None
    if norm_dept and (norm_title, norm_dept) in overrides:
        return True, overrides[(norm_title, norm_dept)]
    if (norm_title, "") in overrides:
        return True, overrides[(norm_title, "")]
    return False, None


def with_person_override(
    match: RiskMatch, override_category: str | None, reason: str | None = None
) -> RiskMatch:
    """Apply ``Person.override_category`` on top of a match: None leaves it alone, ``""`` means
    "not high-risk", a code sets that category. ``matched_text`` becomes the override's reason."""
    if override_category is None:
        return match
    text = _clip((reason or "").strip() or "person override")
    if override_category == "":
        return RiskMatch(None, (), "override", text)
    return RiskMatch(override_category, (override_category,), "override", text)


def storage_fields(match: RiskMatch) -> dict[str, Any]:
    """The Person columns a match is stored in."""
    return {
        "risk_category": match.category,
        "risk_categories": ",".join(match.categories),
        "matched_by": match.matched_by,
        "matched_text": _clip(match.matched_text) if match.matched_text else None,
    }


def count_by_category(categories: Iterable[str | None]) -> dict[str, int]:
    """High-risk head-count per primary category (for import summaries), largest first."""
    counts = Counter(code for code in categories if code)
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _clip(text: str) -> str:
    return text[:MATCHED_TEXT_MAX]
