"""``config/risk_categories.yaml``: the high-risk categories and the words that identify them.

The file is validated when it loads (unknown keys, duplicate codes, a keyword that an exclusion
always hides, a name claimed by two categories are all refused with the file name and the
category), then every term is normalised and indexed once, so matching is a few dictionary
lookups per title.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar

from testrota.errors import UserError
from testrota.risk.normalize import normalize
from testrota.risk.terms import TermIndex, expand
from testrota.risk.vocabulary_file import FILE_NAME as FILE_NAME
from testrota.risk.vocabulary_file import VocabularyFile, cached_by_stamp, read_vocabulary_file
from testrota.risk.vocabulary_file import weekly_tests_lookup as weekly_tests_lookup

# The sixteen codes of the contract (design.md). Other parts of the system store and compare these
# strings, so the shipped file must define all of them; a deployment may add more.
CONTRACT_CODES: tuple[str, ...] = (
    "imported_goods",
    "cold_chain",
    "food_delivery",
    "logistics_services",
    "construction_site",
    "canteen",
    "hotel",
    "supermarket",
    "school",
    "apartment",
    "commuter_bus",
    "cargo_transfer",
    "railway",
    "cleaning",
    "gate_guard",
    "driver",
)

# Where a keyword was found decides ``matched_by``.
TermKind = Literal["title", "synonym", "department"]
T = TypeVar("T")


@dataclass(frozen=True)
class Category:
    """One high-risk category; every term is already normalised and expanded."""

    code: str
    zh_hans: str
    zh_hant: str
    en: str
    tests_per_week: int
    aliases: tuple[str, ...] = ()
    titles: tuple[str, ...] = ()
    synonyms: tuple[str, ...] = ()
    departments: tuple[str, ...] = ()
    exclusions: tuple[str, ...] = ()
    not_in_departments: tuple[str, ...] = ()


@dataclass(frozen=True)
class Vocabulary:
    """The categories in priority order (the first that applies is a person's primary category)
    and the indexes the matcher searches."""

    categories: tuple[Category, ...]
    default_tests_per_week: int = 2
    exclusions: tuple[str, ...] = ()
    not_high_risk: tuple[str, ...] = ()
    column_suffixes: tuple[str, ...] = ()
    # Built from the fields above; value = category positions (priority order).
    title_index: TermIndex[tuple[tuple[int, TermKind], ...]] = field(
        init=False, repr=False, compare=False, hash=False
    )
    department_index: TermIndex[tuple[tuple[int, TermKind], ...]] = field(
        init=False, repr=False, compare=False, hash=False
    )
    exclusion_index: TermIndex[frozenset[int]] = field(
        init=False, repr=False, compare=False, hash=False
    )
    _by_code: dict[str, int] = field(init=False, repr=False, compare=False, hash=False)
    _by_name: dict[str, int] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        titles: dict[str, list[tuple[int, TermKind]]] = {}
        departments: dict[str, list[tuple[int, TermKind]]] = {}
        exclusions: dict[str, set[int]] = {}
        everyone = set(range(len(self.categories)))
        for term in self.exclusions:
            exclusions.setdefault(term, set()).update(everyone)
        for pos, cat in enumerate(self.categories):
            for term in cat.titles:
                _add_once(titles.setdefault(term, []), (pos, "title"))
            for term in cat.synonyms:
                entries = titles.setdefault(term, [])
                if (pos, "title") not in entries:
                    _add_once(entries, (pos, "synonym"))
            for term in cat.departments:
                _add_once(departments.setdefault(term, []), (pos, "department"))
            for term in cat.exclusions:
                exclusions.setdefault(term, set()).add(pos)
        by_code = {cat.code: pos for pos, cat in enumerate(self.categories)}
        by_name: dict[str, int] = {}
        for pos, cat in enumerate(self.categories):
            for name in (cat.code, cat.zh_hans, cat.zh_hant, cat.en, *cat.aliases):
                by_name.setdefault(normalize(name), pos)
        object.__setattr__(self, "title_index", TermIndex({t: tuple(v) for t, v in titles.items()}))
        object.__setattr__(
            self, "department_index", TermIndex({t: tuple(v) for t, v in departments.items()})
        )
        object.__setattr__(
            self, "exclusion_index", TermIndex({t: frozenset(v) for t, v in exclusions.items()})
        )
        object.__setattr__(self, "_by_code", by_code)
        object.__setattr__(self, "_by_name", by_name)

    @property
    def codes(self) -> tuple[str, ...]:
        """Category codes in priority order."""
        return tuple(cat.code for cat in self.categories)

    def category(self, code: str) -> Category:
        try:
            return self.categories[self._by_code[code]]
        except KeyError:
            raise KeyError(f"unknown risk category {code!r}") from None

    def position(self, code: str) -> int:
        """Priority of ``code`` (0 is highest); KeyError for an unknown code."""
        return self._by_code[code]

    def has(self, code: str) -> bool:
        return code in self._by_code

    def tests_per_week(self, code: str) -> int:
        """Tests per week for a category; the file's default for a code it does not define."""
        pos = self._by_code.get(code)
        return self.default_tests_per_week if pos is None else self.categories[pos].tests_per_week

    def name(self, code: str, lang: str = "zh") -> str:
        """The category's display name: ``zh``/``zh-CN`` Simplified, ``zh-TW``/``zh-HK``/
        ``zh_hant`` Traditional, anything else English. An unknown code is returned as is."""
        pos = self._by_code.get(code)
        if pos is None:
            return code
        cat = self.categories[pos]
        tag = lang.casefold().replace("-", "_")
        if tag.startswith("zh"):
            traditional = any(part in tag for part in ("hant", "tw", "hk", "mo"))
            return cat.zh_hant if traditional else cat.zh_hans
        return cat.en

    def code_for_name(self, text: str) -> str | None:
        """The category a text names: its code, a name in any script, or an alias; a trailing
        generic suffix (类, 人员, staff...) is ignored. None when it names no category."""
        key = normalize(text)
        if not key:
            return None
        pos = self._by_name.get(key)
        if pos is None:
            for suffix in self.column_suffixes:
                if key.endswith(suffix) and len(key) > len(suffix):
                    pos = self._by_name.get(key[: -len(suffix)].rstrip())
                    if pos is not None:
                        break
        return None if pos is None else self.categories[pos].code

    def says_not_high_risk(self, text: str) -> bool:
        """True for an explicit "not high-risk" (否, 无, none, 非高风险...)."""
        return normalize(text) in self.not_high_risk


def _add_once(items: list[T], item: T) -> None:
    if item not in items:
        items.append(item)


_CACHE: dict[tuple[str, int, int], Vocabulary] = {}


def load_vocabulary(config_dir: Path) -> Vocabulary:
    """Read and validate ``risk_categories.yaml``; raises :class:`UserError` on a bad file.

    Parsing and checking the file costs tens of milliseconds; the result is kept until the file
    changes on disk.
    """
    path = config_dir / FILE_NAME
    return cached_by_stamp(path, _CACHE, lambda: _load(path))


def _load(path: Path) -> Vocabulary:
    parsed = read_vocabulary_file(path)
    try:
        return build_vocabulary(parsed)
    except ValueError as exc:
        raise UserError("{path}: {problem}", path=path, problem=exc) from exc


def vocabulary_from_dict(data: object) -> Vocabulary:
    """Build a vocabulary from already-parsed YAML (tests and tools); ValueError when bad."""
    return build_vocabulary(VocabularyFile.model_validate(data))


def _terms(raw: Iterable[str], what: str) -> tuple[str, ...]:
    out: list[str] = []
    for pattern in raw:
        try:
            expanded = expand(str(pattern))
        except ValueError as exc:
            raise ValueError(f"{what}: {exc}") from exc
        for term in expanded:
            key = normalize(term)
            if not key:
                raise ValueError(f"{what}: {pattern!r} has no letters or digits left to match")
            if key not in out:
                out.append(key)
    return tuple(out)


def build_vocabulary(parsed: VocabularyFile) -> Vocabulary:
    global_exclusions = _terms(parsed.exclusions, "exclusions")
    categories: list[Category] = []
    for raw in parsed.categories:
        label = f"category {raw.code!r}"
        cat = Category(
            code=raw.code,
            zh_hans=raw.names.zh_hans.strip(),
            zh_hant=raw.names.zh_hant.strip(),
            en=raw.names.en.strip(),
            tests_per_week=raw.tests_per_week or parsed.default_tests_per_week,
            aliases=_terms(raw.aliases, f"{label} aliases"),
            titles=_terms(raw.titles, f"{label} titles"),
            synonyms=_terms(raw.synonyms, f"{label} synonyms"),
            departments=_terms(raw.departments, f"{label} departments"),
            exclusions=_terms(raw.exclusions, f"{label} exclusions"),
            not_in_departments=_terms(raw.not_in_departments, f"{label} not_in_departments"),
        )
        if not (cat.titles or cat.synonyms or cat.departments):
            raise ValueError(f"{label}: needs at least one of titles, synonyms or departments")
        _check_reachable(cat, global_exclusions)
        categories.append(cat)
    _check_names(categories)
    not_high_risk = _terms(parsed.not_high_risk, "not_high_risk")
    for term in not_high_risk:
        for cat in categories:
            if term in (normalize(cat.code), normalize(cat.zh_hans), normalize(cat.en)):
                raise ValueError(f"not_high_risk: {term!r} is also a name of {cat.code!r}")
    return Vocabulary(
        categories=tuple(categories),
        default_tests_per_week=parsed.default_tests_per_week,
        exclusions=global_exclusions,
        not_high_risk=not_high_risk,
        column_suffixes=_terms(parsed.column_suffixes, "column_suffixes"),
    )


def _check_reachable(cat: Category, global_exclusions: tuple[str, ...]) -> None:
    """Refuse a keyword that is also an exclusion of its category (or a global one): it could
    never match, which is not what whoever added it meant."""
    blockers = (*global_exclusions, *cat.exclusions)
    for kind, terms in (
        ("titles", cat.titles),
        ("synonyms", cat.synonyms),
        ("departments", cat.departments),
    ):
        for term in terms:
            for blocker in blockers:
                if term == blocker:
                    raise ValueError(
                        f"category {cat.code!r}: {kind} term {term!r} is also an exclusion, so "
                        "it can never match; remove it from one of the two lists"
                    )


def _check_names(categories: list[Category]) -> None:
    owner: dict[str, str] = {}
    for cat in categories:
        for name in (cat.code, cat.zh_hans, cat.zh_hant, cat.en, *cat.aliases):
            key = normalize(name)
            other = owner.get(key)
            if other is not None and other != cat.code:
                raise ValueError(
                    f"the name {name!r} belongs to both {other!r} and {cat.code!r}; "
                    "a roster column naming it would be ambiguous"
                )
            owner[key] = cat.code
