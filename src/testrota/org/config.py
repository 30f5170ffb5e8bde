"""``config/org.yaml``: the root's name, the names of the levels below it, unit codes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from testrota.errors import UserError
from testrota.policy import read_yaml

MAX_DEPTH = 8  # levels below the root, grid units included
MAX_NAME = 100  # characters of one unit's name
MAX_PATH = 400  # characters of a whole path, the root's name included


class OrgConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    root: str = Field(default="集团", min_length=1, max_length=MAX_NAME)
    # The names of the levels, the root's first: 集团, 公司, 厂, 车间, 班组.
    levels: list[str] = Field(
        default=["集团", "公司", "厂矿", "车间", "班组"], min_length=1, max_length=MAX_DEPTH + 1
    )
    grid_level: str = Field(default="网格", max_length=40)  # how a grid unit's level is named
    # unit path below the root -> code, e.g. "板材公司/炼钢厂": BC-LG
    codes: dict[str, str] = {}

    @field_validator("root")
    @classmethod
    def _plain_root(cls, value: str) -> str:
        value = " ".join(value.split())
        if "/" in value or not value:
            raise ValueError("root: a name without '/'")
        return value

    @model_validator(mode="before")
    @classmethod
    def _codes_by_unit(cls, data: Any) -> Any:
        """Each key as the unit's path below the root, as a roster's path is read (with the
        root's name or without it, any separator, spaces collapsed): a key written another way
        than the units' paths silently named no unit. Two keys for one unit, or one code for
        two units, are refused: the systems that know units by code could not tell them apart."""
        if not isinstance(data, dict) or not isinstance(data.get("codes"), dict):
            return data
        from testrota.org.paths import split_path

        root = " ".join(str(data.get("root", cls.model_fields["root"].default)).split())
        codes: dict[str, str] = {}
        units: dict[str, str] = {}
        for written, code in data["codes"].items():
            names = split_path(str(written))
            if names and names[0] == root:
                names = names[1:]
            path, code = "/".join(names), " ".join(str(code).split())
            if not path:
                raise ValueError(f"codes: {written!r}: name a unit below the root {root}")
            if path in codes:
                raise ValueError(f"codes: {written!r}: {path} has a code already")
            if code in units:
                raise ValueError(
                    f"codes: {code!r} is the code of {units[code]} and of {path}; "
                    "give each unit its own"
                )
            codes[path], units[code] = code, path
        return {**data, "codes": codes}

    @field_validator("codes")
    @classmethod
    def _short_codes(cls, value: dict[str, str]) -> dict[str, str]:
        for path, code in value.items():
            if not 0 < len(code) <= 40:
                raise ValueError(f"codes: {path}: a code of 1 to 40 characters")
        return value

    def level_name(self, level: int, grid: bool = False) -> str:
        """The name of a depth (0 is the root); a grid unit's is ``grid_level``."""
        if grid:
            return self.grid_level
        return self.levels[level] if level < len(self.levels) else f"L{level}"


def load_org(config_dir: Path) -> OrgConfig:
    """``org.yaml`` of ``config_dir``; a missing file gives the defaults (a group named 集团)."""
    path = config_dir / "org.yaml"
    if not path.exists():
        return OrgConfig()
    data = read_yaml(path) or {}
    try:
        return OrgConfig.model_validate(data)
    except ValidationError as exc:
        raise UserError("{path}: {problem}", path=path, problem=exc) from exc
