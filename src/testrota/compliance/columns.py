"""Header aliases of result sheets (``config/result_columns.yaml``).

Header texts are compared with the roster reader's :func:`normalize_header`, so the same
spelling rules hold for both kinds of sheet.
"""

from __future__ import annotations

from pathlib import Path

from testrota.errors import UserError
from testrota.policy import read_yaml
from testrota.roster.columns import normalize_header

RESULT_FIELDS: tuple[str, ...] = (
    "employee_no",
    "phone",
    "id_number",
    "name",
    "sampled_at",
    "result",
    "site",
    "seq",
)
IDENTITY_FIELDS: tuple[str, ...] = ("employee_no", "phone", "id_number")
REQUIRED_FIELDS: tuple[str, ...] = ("sampled_at", "result")


def load_result_columns(config_dir: Path) -> dict[str, tuple[str, ...]]:
    """``field -> aliases`` from ``result_columns.yaml``; a UserError names any mistake."""
    path = config_dir / "result_columns.yaml"
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise UserError(f"{path}: expected 'field: [alias, ...]' lines, one per field")
    result: dict[str, tuple[str, ...]] = {}
    owner: dict[str, tuple[str, str]] = {}
    for field, names in raw.items():
        if field not in RESULT_FIELDS:
            raise UserError(
                f"{path}: unknown field {field!r}; the fields are {', '.join(RESULT_FIELDS)}"
            )
        if isinstance(names, str):
            names = [names]
        if not isinstance(names, list) or not names:
            raise UserError(f"{path}: {field} needs a list of header names, e.g. [采样时间, Date]")
        aliases: list[str] = []
        for name in names:
            if isinstance(name, bool) or not isinstance(name, str | int | float):
                raise UserError(
                    f"{path}: {field}: {name!r} is not a header name; put words such as "
                    '"No" or "Yes" in quotes'
                )
            alias = str(name).strip()
            key = normalize_header(alias)
            if not key:
                raise UserError(f"{path}: {field}: {alias!r} has no letters or digits")
            if key in owner and owner[key][0] != field:
                raise UserError(
                    f"{path}: {alias!r} ({field}) and {owner[key][1]!r} ({owner[key][0]}) are "
                    "the same header once case, spaces and punctuation are ignored; keep one"
                )
            owner.setdefault(key, (field, alias))
            if alias not in aliases:
                aliases.append(alias)
        result[field] = tuple(aliases)
    missing = [f for f in (*REQUIRED_FIELDS,) if f not in result]
    if missing or not any(f in result for f in IDENTITY_FIELDS):
        raise UserError(
            f"{path}: needs aliases for sampled_at, result and at least one of "
            + ", ".join(IDENTITY_FIELDS)
        )
    return result
