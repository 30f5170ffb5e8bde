"""Risk matching for a 100,000-person roster: ``match_many`` (cached) against row by row.

    python benchmarks/bench_match.py [--people 100000] [--json]

Two rosters, both from one ``Random(42)``:

- ``import roster``: the import benchmark's own rows (``generate_roster.people``: about 2,000
  distinct titles with Zipf-like frequencies, 40 departments), so the figures add directly to
  that benchmark's;
- ``mixed scripts``: the same people, a third of them with the title and department in
  Traditional characters, a tenth with a spaced or bracketed spelling, 5 % with a category
  column, and 200 HR role mappings: more distinct keys, and every precedence rule exercised.

Each is matched three ways, every cache emptied before each: ``match_many`` over the distinct
(title, department, column) keys then one dictionary lookup per person (what the import does);
``match_role`` once per person; and, for scale, loading the vocabulary. Both ways must give
every person the same answer; the run fails otherwise.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import opencc

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from generate_roster import HEADER, people  # noqa: E402
from testrota.risk.matcher import RiskMatch, match_many, match_role  # noqa: E402
from testrota.risk.normalize import normalize, role_key  # noqa: E402
from testrota.risk.vocabulary import Vocabulary, load_vocabulary  # noqa: E402

T = TypeVar("T")
Key = tuple[str, str, str | None]
COLUMN_VALUES = ["司机", "门卫", "否", "冷链人员", "是", "見備註", "cleaning"]


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def import_rows(n: int) -> list[Key]:
    title_at, dept_at = HEADER.index("岗位"), HEADER.index("部门")
    return [(str(row[title_at]), str(row[dept_at]), None) for row in people(n)]


def mixed_rows(rows: list[Key], rng: random.Random) -> list[Key]:
    to_traditional = opencc.OpenCC("s2t")
    out: list[Key] = []
    for title, department, _ in rows:
        roll = rng.random()
        if roll < 1 / 3:
            title, department = to_traditional.convert(title), to_traditional.convert(department)
        elif roll < 1 / 3 + 0.1:
            title = rng.choice([" ".join(title), f"{title}（临时）", f"【{title}】"])
        column = rng.choice(COLUMN_VALUES) if rng.random() < 0.05 else None
        out.append((title, department, column))
    return out


def role_overrides(rows: list[Key], rng: random.Random) -> dict[tuple[str, str], str | None]:
    titles = sorted({role_key(t) for t, _, _ in rows})
    departments = sorted({role_key(d) for _, d, _ in rows})
    chosen = rng.sample(titles, min(200, len(titles)))
    return {
        (t, rng.choice(["", *departments]) if i % 4 == 0 else ""): rng.choice(
            [None, "driver", "cleaning", "cargo_transfer"]
        )
        for i, t in enumerate(chosen)
    }


def by_distinct_key(
    rows: list[Key], vocab: Vocabulary, overrides: dict[tuple[str, str], str | None]
) -> list[RiskMatch]:
    results = match_many(set(rows), vocab, overrides)
    return [results[row] for row in rows]


def row_by_row(
    rows: list[Key], vocab: Vocabulary, overrides: dict[tuple[str, str], str | None]
) -> list[RiskMatch]:
    out: list[RiskMatch] = []
    for title, department, column in rows:
        # match_role has no role-override argument; match_many with one key applies them
        # exactly as per-row code would.
        if overrides:
            out.append(
                match_many([(title, department, column)], vocab, overrides)[
                    (title, department, column)
                ]
            )
        else:
            out.append(match_role(title, department, vocab, column))
    return out


def scenario(
    name: str,
    rows: list[Key],
    vocab: Vocabulary,
    overrides: dict[tuple[str, str], str | None],
) -> dict[str, Any]:
    normalize.cache_clear()
    cached_s, cached = timed(lambda: by_distinct_key(rows, vocab, overrides))
    normalize.cache_clear()
    rows_s, per_row = timed(lambda: row_by_row(rows, vocab, overrides))
    if cached != per_row:
        raise SystemExit(f"{name}: match_many and row-by-row disagree")
    categories = Counter(m.category for m in cached if m.category)
    return {
        "roster": name,
        "people": len(rows),
        "distinct_titles": len({t for t, _, _ in rows}),
        "distinct_keys": len(set(rows)),
        "role_overrides": len(overrides),
        "high_risk": sum(categories.values()),
        "match_many_s": round(cached_s, 3),
        "row_by_row_s": round(rows_s, 3),
        "speed_up": round(rows_s / cached_s, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args()
    rng = random.Random(42)

    load_s, vocab = timed(lambda: load_vocabulary(ROOT / "config"))
    base = import_rows(args.people)
    mixed = mixed_rows(base, rng)
    results = [
        scenario("import roster", base, vocab, {}),
        scenario("mixed scripts", mixed, vocab, role_overrides(mixed, rng)),
    ]
    if args.json:
        json.dump({"load_vocabulary_s": round(load_s, 3), "results": results}, sys.stdout)
        sys.stdout.write("\n")
        return
    print(f"risk matching, {args.people:,} people; loading the vocabulary took {load_s:.2f} s")
    print()
    print(
        "| roster | distinct titles | distinct keys | HR mappings | high-risk | "
        "match_many | row by row | speed-up |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['roster']} | {r['distinct_titles']:,} | {r['distinct_keys']:,} | "
            f"{r['role_overrides']} | {r['high_risk']:,} | {r['match_many_s']:.2f} s | "
            f"{r['row_by_row_s']:.2f} s | {r['speed_up']:.0f}x |"
        )


if __name__ == "__main__":
    main()
