"""Header aliases of result sheets (``config/result_columns.yaml``).

Header texts are compared with the roster reader's :func:`normalize_header`, so the same
spelling rules hold for both kinds of sheet.
"""

from __future__ import annotations

from pathlib import Path

from testrota.errors import UserError
from testrota.roster.columns import load_column_aliases

RESULT_FIELDS: tuple[str, ...] = (
    "employee_no",
    "phone",
    "id_number",
    "name",
    "sampled_at",
    "result",
    "site",
    "seq",
    # tube-keyed sheets (testrota.sampling.results): a tube code instead of a person
    "tube",
    "gene_text",
    "ct",
)
IDENTITY_FIELDS: tuple[str, ...] = ("employee_no", "phone", "id_number")
REQUIRED_FIELDS: tuple[str, ...] = ("sampled_at", "result")


def load_result_columns(config_dir: Path) -> dict[str, tuple[str, ...]]:
    """``field -> aliases`` from ``result_columns.yaml``; a UserError names any mistake."""
    path = config_dir / "result_columns.yaml"
    result = load_column_aliases(
        path, RESULT_FIELDS, required=REQUIRED_FIELDS, example="[采样时间, Date]"
    )
    if not any(f in result for f in IDENTITY_FIELDS):
        raise UserError(
            "{path}: needs aliases for sampled_at, result and at least one of {fields}",
            path=str(path),
            fields=", ".join(IDENTITY_FIELDS),
        )
    return result
