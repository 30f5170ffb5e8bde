"""The pure part of an import: compare the file's people with the stored ones.

:func:`diff_roster` takes plain data (validated records, their risk matches, the stored people)
and returns what would change. It touches no database, so the CLI's ``--dry-run``, the web
preview and the real import all see the same numbers.

A column that is not in the file changes nothing: :func:`keep_absent_fields` gives a stored
person the values they have for every field their sheet has no column for (a new-hires file
without ID numbers must not wipe anyone's). Only a present, empty cell clears a value, and the
diff counts those clears per field so the preview can say so in words.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, NamedTuple, overload

from testrota.errors import UserError
from testrota.risk.matcher import RiskMatch, storage_fields, with_person_override
from testrota.roster.validate import PersonRecord

# Fields that come from the roster; a difference in any of them is an update.
ROSTER_FIELDS: tuple[str, ...] = (
    "name",
    "department",
    "grid_unit",
    "role",
    "phone",
    "phone_valid",
    "id_number",
    "person_type",
    "host_employee_no",
    "language",
    "shift",
    "vaccination",
    "booster",
    "category_column",
    "unit_path",
    "notify_channel",
    "wecom_userid",
    "on_site",
    "key_post",
)
# Fields derived by the matcher; they change when the vocabulary or an override changes.
RISK_FIELDS: tuple[str, ...] = ("risk_category", "risk_categories", "matched_by", "matched_text")
STORED_FIELDS: tuple[str, ...] = ROSTER_FIELDS + RISK_FIELDS
# A new person's row: the stored fields, then what only an addition writes.
ADDED_FIELDS: tuple[str, ...] = (*STORED_FIELDS, "employee_no", "phone_raw")
ADDED_NO = ADDED_FIELDS.index("employee_no")

# The file's columns (``roster.columns`` fields) each stored field is read from. A person's
# field is kept as stored when their sheet has none of these columns. A host employee is read
# only for a co-resident, so it follows the person type; a booster may be read from the
# vaccination note.
SOURCE_COLUMNS: dict[str, tuple[str, ...]] = {
    "department": ("department", "unit_path"),
    "grid_unit": ("grid_unit",),
    "role": ("role",),
    "phone": ("phone",),
    "phone_valid": ("phone",),
    "id_number": ("id_number",),
    "person_type": ("person_type",),
    "host_employee_no": ("person_type",),
    "language": ("language",),
    "shift": ("shift",),
    "vaccination": ("vaccination",),
    "booster": ("booster", "vaccination"),
    "category_column": ("category",),
    "unit_path": ("unit_path", "company", "plant", "department"),
    "notify_channel": ("notify_channel",),
    "wecom_userid": ("wecom_userid",),
    "on_site": ("on_site",),
    "key_post": ("key_post",),
}
# Fields an empty cell leaves empty, and how the preview names them ("clears the ID number of
# 3 people"). The others fall back to a default (shift: day), which is a change, not a clear.
CLEARABLE: dict[str, str] = {
    "department": "department",
    "grid_unit": "grid unit",
    "role": "role",
    "phone": "phone number",
    "id_number": "ID number",
    "vaccination": "vaccination note",
    "booster": "booster record",
    "category_column": "risk category",
    "unit_path": "unit",
    "notify_channel": "way to notify",
    "wecom_userid": "WeCom account",
}
_RISK_AT = STORED_FIELDS.index("risk_category")
# The fields that say where a person sits in the unit tree (``org.units.unit_chain``'s key).
UNIT_FIELDS: tuple[str, str, str] = ("unit_path", "department", "grid_unit")
_UNIT_AT = tuple(STORED_FIELDS.index(name) for name in UNIT_FIELDS)
UnitKey = tuple[str, str, str]  # a person's UNIT_FIELDS, as org.units keys their unit
_RECORD_FIELDS: tuple[str, ...] = PersonRecord._fields
# A record is a tuple: its stored fields are picked by position, a risk dict's by key.
_roster_tuple = itemgetter(*(_RECORD_FIELDS.index(name) for name in ROSTER_FIELDS))
_risk_tuple = itemgetter(*RISK_FIELDS)


class StoredPerson(NamedTuple):
    """A stored person as the diff needs it (a tuple: 100,000 of them are built per import)."""

    id: int
    employee_no: str
    active: bool
    override_category: str | None
    values: tuple[Any, ...]  # STORED_FIELDS, as stored (SQLite booleans may be 0/1)
    override_reason: str | None = None


MatchKey = tuple[str, str, str | None]  # what the risk matcher reads (``match_key``)


class AddedPeople(Sequence[tuple[Any, ...]]):
    """The people a roster adds: each one's row, ADDED_FIELDS in order, and the same rows as
    columns for the write.

    Kept as the records and their titles' classifications, not as rows: a group's first
    roster adds 300,000 people, and every tuple built from a record touches each of its
    fields' objects, scattered over memory (a row built by joining three tuples, taken apart
    into columns for ``COPY`` and given its unit cost a second of an import).
    """

    def __init__(
        self,
        records: Sequence[PersonRecord] = (),
        keys: Sequence[MatchKey] = (),
        risk_of: Mapping[MatchKey, tuple[Any, ...]] | None = None,
    ) -> None:
        self._records, self._keys, self._risk_of = records, keys, risk_of or {}

    def __len__(self) -> int:
        return len(self._records)

    @overload
    def __getitem__(self, at: int) -> tuple[Any, ...]: ...

    @overload
    def __getitem__(self, at: slice) -> list[tuple[Any, ...]]: ...

    def __getitem__(self, at: int | slice) -> tuple[Any, ...] | list[tuple[Any, ...]]:
        if isinstance(at, slice):
            return [self._row(r, k) for r, k in zip(self._records[at], self._keys[at], strict=True)]
        return self._row(self._records[at], self._keys[at])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def _row(self, record: PersonRecord, key: MatchKey) -> tuple[Any, ...]:
        row: tuple[Any, ...] = _roster_tuple(record) + self._risk_of[key] + _added_tail(record)
        return row

    def columns(self) -> dict[str, Sequence[Any]]:
        """ADDED_FIELDS -> that field's values, in the rows' order."""
        if not self._records:
            return {name: [] for name in ADDED_FIELDS}
        fields = list(zip(*self._records, strict=True))
        out: dict[str, Sequence[Any]] = {
            name: fields[_RECORD_FIELDS.index(name)]
            for name in ADDED_FIELDS
            if name not in RISK_FIELDS
        }
        risks = list(map(self._risk_of.__getitem__, self._keys))  # a few thousand tuples
        for at, name in enumerate(RISK_FIELDS):
            out[name] = list(map(itemgetter(at), risks))
        return {name: out[name] for name in ADDED_FIELDS}


@dataclass
class RosterDiff:
    added: AddedPeople = field(default_factory=AddedPeople)
    updated: list[tuple[int, str, dict[str, tuple[Any, Any]]]] = field(default_factory=list)
    # (person id, STORED_FIELDS values) of each updated person, in the order of ``updated``:
    # the whole row, so that the write is one statement however the changes differ
    updated_rows: list[tuple[int, tuple[Any, ...]]] = field(default_factory=list)
    unchanged: int = 0
    deactivated: list[tuple[int, str]] = field(default_factory=list)
    high_risk_by_category: Counter[str] = field(default_factory=Counter)
    unmatched_roles: Counter[str] = field(default_factory=Counter)
    # field -> employee numbers of the people whose stored value an empty cell clears
    cleared: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    # (person id, department, grid unit) of the active people this import makes not high-risk
    not_high_risk: list[tuple[int, str, str]] = field(default_factory=list)

    @property
    def high_risk(self) -> int:
        return sum(self.high_risk_by_category.values())


def risk_values(
    match: RiskMatch, override_category: str | None, override_reason: str | None = None
) -> dict[str, Any]:
    """The stored classification of one person; a per-person HR override wins over everything."""
    return storage_fields(with_person_override(match, override_category, override_reason))


def stored_values(record: PersonRecord, risk: Mapping[str, Any]) -> tuple[Any, ...]:
    """What a person's row holds after importing ``record``, in ``STORED_FIELDS`` order."""
    values: tuple[Any, ...] = _roster_tuple(record) + _risk_tuple(risk)
    return values


def unit_key(values: tuple[Any, ...]) -> tuple[str, str, str]:
    """Where a row (``STORED_FIELDS`` values, or a new person's ``ADDED_FIELDS``, which begin
    with them) puts its person, as ``org.units`` keys it."""
    return (values[_UNIT_AT[0]] or "", values[_UNIT_AT[1]] or "", values[_UNIT_AT[2]] or "")


# What a new person's row adds after their stored fields (ADDED_FIELDS).
_added_tail = itemgetter(
    *(_RECORD_FIELDS.index(name) for name in ADDED_FIELDS[len(STORED_FIELDS) :])
)
# What the risk matcher reads of a record: (role, department, category column).
match_key: Callable[[PersonRecord], tuple[str, str, str | None]] = itemgetter(
    *(_RECORD_FIELDS.index(name) for name in ("role", "department", "category_column"))
)


def keep_absent_fields(
    records: Iterable[PersonRecord],
    stored: Mapping[str, StoredPerson],
    present: Mapping[str, Collection[str]],
) -> list[PersonRecord]:
    """``records`` with each stored person's values for the fields their sheet has no column
    for (``SOURCE_COLUMNS``), so that what a file does not say changes nothing.

    Args:
        records: validated records; new people are returned as they are.
        stored: the stored people by employee number.
        present: sheet name -> the columns (``roster.columns`` fields) the sheet has.
    """
    plans: dict[str, _Keep | None] = {}
    out: list[PersonRecord] = []
    for record in records:
        prior = stored.get(record.employee_no)
        if prior is None:
            out.append(record)
            continue
        if record.sheet not in plans:
            plans[record.sheet] = _Keep.for_columns(present.get(record.sheet, ()))
        plan = plans[record.sheet]
        # Most people's blanks already equal what is stored (the same kind of file as last
        # time): a record is rebuilt only when a kept value differs.
        if plan is None or plan.as_read(record) == plan.as_stored(prior.values):
            out.append(record)
            continue
        values: list[Any] = list(record)
        for at, stored_at, name in plan.fields:
            values[at] = _as_stored(name, prior.values[stored_at])
        out.append(PersonRecord(*values))
    return out


@dataclass(frozen=True)
class _Keep:
    """The fields one sheet has no column for: where they are in a record and in stored values."""

    fields: list[tuple[int, int, str]]
    as_read: Callable[[PersonRecord], Any]
    as_stored: Callable[[tuple[Any, ...]], Any]

    @classmethod
    def for_columns(cls, columns: Collection[str]) -> _Keep | None:
        names = [
            name
            for name, sources in SOURCE_COLUMNS.items()
            if not any(c in columns for c in sources)
        ]
        if not names:
            return None
        at = [STORED_FIELDS.index(n) for n in names]
        # One name gives a value, several a tuple, from both getters alike.
        return cls(
            fields=[(_RECORD_FIELDS.index(n), i, n) for n, i in zip(names, at, strict=True)],
            as_read=itemgetter(*(_RECORD_FIELDS.index(n) for n in names)),
            as_stored=itemgetter(*at),
        )


def diff_roster(
    records: Iterable[PersonRecord],
    matches: Mapping[tuple[str, str, str | None], RiskMatch],
    stored: Mapping[str, StoredPerson],
    *,
    full: bool,
    seen_employee_nos: Collection[str],
) -> RosterDiff:
    """What importing ``records`` would change.

    ``seen_employee_nos`` holds every employee number in the file, including rows rejected for an
    error: a person whose row merely has a typo is still on the roster and must not be
    deactivated by ``full``.
    """
    diff = RosterDiff()
    # Most people share their classification with others of the same title and department.
    plain_risk: dict[tuple[str, str, str | None], dict[str, Any]] = {}
    records = list(records)
    returning = [r for r in records if r.employee_no in stored] if stored else []
    newcomers = [r for r in records if r.employee_no not in stored] if returning else records
    _add_new(diff, newcomers, matches, plain_risk)
    unmatched_again: list[bool] = []  # each returning person's role counted as unmatched
    for record in returning:
        prior = stored[record.employee_no]
        key = match_key(record)
        if prior.override_category is not None:
            risk = risk_values(matches[key], prior.override_category, prior.override_reason)
        else:
            risk = plain_risk.get(key) or plain_risk.setdefault(
                key, risk_values(matches[key], None)
            )
        if risk["risk_category"]:
            diff.high_risk_by_category[risk["risk_category"]] += 1
        unmatched_again.append(_unmatched(risk, record.role))
        if unmatched_again[-1]:
            diff.unmatched_roles[record.role] += 1
        values = stored_values(record, risk)
        if prior.values == values and prior.active:
            diff.unchanged += 1
        else:
            changes = {
                name: (_as_stored(name, old), new)
                for name, old, new in zip(STORED_FIELDS, prior.values, values, strict=True)
                if old != new
            }
            if not prior.active:
                changes["active"] = (False, True)
            for name, (old, new) in changes.items():
                if name in CLEARABLE and old not in (None, "") and new in (None, ""):
                    diff.cleared[name].append(record.employee_no)
            if prior.active and prior.values[_RISK_AT] is not None and not risk["risk_category"]:
                diff.not_high_risk.append((prior.id, record.department, record.grid_unit))
            diff.updated.append((prior.id, record.employee_no, changes))
            diff.updated_rows.append((prior.id, values))
    if newcomers and returning and len(diff.unmatched_roles) > 1:
        # The roles in the order the file first names them unmatched, as one pass would have
        # counted them: the preview lists the most common, ties in that order. A title can be
        # matched in one department (an override) and not in another.
        counts, again = diff.unmatched_roles, iter(unmatched_again)
        order = dict.fromkeys(
            r.role
            for r in records
            if (
                next(again)
                if r.employee_no in stored
                else _unmatched(plain_risk[match_key(r)], r.role)
            )
        )
        diff.unmatched_roles = Counter({role: counts[role] for role in order})
    if full:
        seen = set(seen_employee_nos)
        diff.deactivated = sorted(
            (p.id, p.employee_no) for p in stored.values() if p.active and p.employee_no not in seen
        )
    return diff


def moved_units(diff: RosterDiff) -> list[tuple[UnitKey, UnitKey]]:
    """``(before, after)`` of the ``UNIT_FIELDS`` of each active person ``diff`` puts
    somewhere else: where a renamed department's or unit's people went (``auth.stale``). One
    pass over the people updated, not over the roster; people coming back moved from nowhere."""
    moved: list[tuple[UnitKey, UnitKey]] = []
    for (_, _, changes), (_, values) in zip(diff.updated, diff.updated_rows, strict=True):
        if "active" in changes or changes.keys().isdisjoint(UNIT_FIELDS):
            continue
        path, department, grid = (str(values[i] or "") for i in _UNIT_AT)
        was = (
            _before(changes, "unit_path", path),
            _before(changes, "department", department),
            _before(changes, "grid_unit", grid),
        )
        moved.append((was, (path, department, grid)))
    return moved


def _before(changes: Mapping[str, tuple[Any, Any]], name: str, now: str) -> str:
    return str((changes[name][0] if name in changes else now) or "")


def moved_grid_unit(diff: RosterDiff) -> list[int]:
    """The ids of the people ``diff`` gives another grid unit (their coming appointments go
    with them: ``scheduling.regroup``)."""
    return [person_id for person_id, _, changes in diff.updated if "grid_unit" in changes]


def _add_new(
    diff: RosterDiff,
    new: list[PersonRecord],
    matches: Mapping[tuple[str, str, str | None], RiskMatch],
    plain_risk: dict[tuple[str, str, str | None], dict[str, Any]],
) -> None:
    """Add the people not stored yet to ``diff``, in file order.

    A new person's row is their record's fields and their title's classification, worked out
    once a title: a group's first roster adds 300,000 people of a few thousand titles, counted
    by titles with no Python step per person.
    """
    keys = list(map(match_key, new))
    risk_of: dict[MatchKey, tuple[Any, ...]] = {}
    for key, n in Counter(keys).items():
        risk = plain_risk.setdefault(key, risk_values(matches[key], None))
        risk_of[key] = _risk_tuple(risk)
        category = risk["risk_category"]
        if category:
            diff.high_risk_by_category[category] += n
        elif _unmatched(risk, key[0]):  # the key's first part is the role
            diff.unmatched_roles[key[0]] += n
    diff.added = AddedPeople(new, keys, risk_of)


def _unmatched(risk: Mapping[str, Any], role: str) -> bool:
    """A role no rule names: counted for the preview's list of titles to classify."""
    return not risk["risk_category"] and risk["matched_by"] is None and bool(role)


_BOOL_FIELDS = frozenset({"phone_valid", "booster", "on_site", "key_post"})


def _as_stored(name: str, value: Any) -> Any:
    """SQLite hands booleans back as 0/1; the audit trail should say False/True."""
    return bool(value) if name in _BOOL_FIELDS and value is not None else value


def deactivation_guard(
    to_deactivate: int, active: int, max_share: float, force: bool
) -> UserError | None:
    """The refusal when ``--full`` would deactivate too many people, else None."""
    if force or active == 0 or to_deactivate <= max_share * active:
        return None
    return UserError(
        "this import would deactivate {n} of {active} active people ({share}), more than the "
        "{limit} allowed by policy import.max_deactivate_share; if the file really is the whole "
        "roster, run again with --force, otherwise import it without --full",
        n=to_deactivate,
        active=active,
        share=f"{to_deactivate / active:.0%}",
        limit=f"{max_share:.0%}",
    )
