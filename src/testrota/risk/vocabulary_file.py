"""``config/risk_categories.yaml`` as written: its shape, checked, and what the file alone says.

The matcher (:mod:`testrota.risk.vocabulary`) normalises and indexes every term of the file,
which costs tens of milliseconds; the tests a week each category asks need none of that, so a
command that only counts tests (``testrota missed``) reads them here without loading the matcher.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from testrota.errors import UserError
from testrota.policy import read_yaml

FILE_NAME = "risk_categories.yaml"
T = TypeVar("T")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NamesFile(_Strict):
    zh_hans: str = Field(min_length=1)
    zh_hant: str = Field(min_length=1)
    en: str = Field(min_length=1)


class CategoryFile(_Strict):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)
    names: NamesFile
    tests_per_week: int | None = Field(default=None, ge=1, le=14)
    aliases: list[str] = []
    titles: list[str] = []
    synonyms: list[str] = []
    departments: list[str] = []
    exclusions: list[str] = []
    not_in_departments: list[str] = []


class VocabularyFile(_Strict):
    version: Literal[1] = 1
    default_tests_per_week: int = Field(default=2, ge=1, le=14)
    exclusions: list[str] = []
    not_high_risk: list[str] = []
    column_suffixes: list[str] = []
    categories: list[CategoryFile] = Field(min_length=1)

    @field_validator("categories")
    @classmethod
    def _unique_codes(cls, value: list[CategoryFile]) -> list[CategoryFile]:
        seen: set[str] = set()
        for category in value:
            if category.code in seen:
                raise ValueError(f"category code {category.code!r} appears twice")
            seen.add(category.code)
        return value


def read_vocabulary_file(path: Path) -> VocabularyFile:
    """The file, checked against its shape; raises :class:`UserError` naming the file and the
    category when it is not."""
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise UserError("{path}: expected a mapping with a 'categories' list", path=path)
    try:
        return VocabularyFile.model_validate(data)
    except ValidationError as exc:
        raise UserError("{path}: {problem}", path=path, problem=_describe(exc, data)) from exc


def cached_by_stamp(path: Path, cache: dict[tuple[str, int, int], T], load: Callable[[], T]) -> T:
    """``load()``'s result for ``path``, kept in ``cache`` until the file changes on disk (a web
    request or a worker tick should not read and check the file every time)."""
    try:
        stat = path.stat()
    except OSError:
        return load()
    stamp = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    cached = cache.get(stamp)
    if cached is None:
        cached = load()
        cache.clear()
        cache[stamp] = cached
    return cached


_RATES: dict[tuple[str, int, int], tuple[dict[str, int], int]] = {}


def _rates(path: Path) -> tuple[dict[str, int], int]:
    parsed = read_vocabulary_file(path)
    default = parsed.default_tests_per_week
    return {c.code: c.tests_per_week or default for c in parsed.categories}, default


def weekly_tests_lookup(config_dir: Path | None, default: int) -> Callable[[str | None], int]:
    """Tests a week per category code (0 for a person in no category).

    The file's own ``default_tests_per_week`` applies to a category that sets none and to a code
    the file does not define; ``default`` (the policy's ``tests_per_week``) applies to everyone
    when there is no vocabulary file to read. A file whose shape is wrong is refused
    (:class:`UserError`); its terms are the matcher's to check.
    """
    if config_dir is None or not (config_dir / FILE_NAME).exists():
        return lambda code: default if code else 0
    path = config_dir / FILE_NAME
    rates, file_default = cached_by_stamp(path, _RATES, lambda: _rates(path))

    def lookup(code: str | None) -> int:
        if not code:
            return 0
        return rates.get(code) or file_default or default

    return lookup


def _describe(exc: ValidationError, data: dict[str, object]) -> str:
    """Name the category by its code rather than its position where possible."""
    raw_categories = data.get("categories")
    parts = []
    for err in exc.errors():
        loc = list(err["loc"])
        where = ".".join(str(p) for p in loc)
        if (
            len(loc) >= 2
            and loc[0] == "categories"
            and isinstance(loc[1], int)
            and isinstance(raw_categories, list)
            and loc[1] < len(raw_categories)
            and isinstance(raw_categories[loc[1]], dict)
            and raw_categories[loc[1]].get("code")
        ):
            rest = ".".join(str(p) for p in loc[2:])
            where = f"category {raw_categories[loc[1]]['code']!r}" + (f" {rest}" if rest else "")
        parts.append(f"{where or 'file'}: {err['msg']}")
    return "; ".join(parts)
