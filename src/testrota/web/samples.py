"""What the person page lists as someone's samples: each sample once.

A sample taken at a site is recorded twice: by the check-in (its result ``pending``) and again
when the lab's sheet brings the result. Listing both reads as two tests, one of them still
waiting; the person page shows the sample once, with its result when there is one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

from testrota.roster.people import PersonTest
from testrota.statuses import ResultValue

# A lab's sampling time is the tube's, a little after the check-in; a day's samples go to the
# lab within hours. A result further from the check-in than this is another sample.
BEFORE = timedelta(hours=1)
AFTER = timedelta(hours=12)


def one_per_sample(tests: Sequence[PersonTest]) -> list[PersonTest]:
    """``tests`` (any order) with each check-in that a later result answers folded into that
    result (which keeps the check-in's site when the sheet named none); order kept."""
    results = [t for t in tests if t.result != ResultValue.PENDING]
    folded: dict[int, PersonTest] = {}
    dropped: set[int] = set()
    for i, t in enumerate(tests):
        if t.result != ResultValue.PENDING:
            continue
        match = next(
            (
                j
                for j, r in enumerate(tests)
                if r in results
                and j not in folded
                and t.sampled_at - BEFORE <= r.sampled_at <= t.sampled_at + AFTER
            ),
            None,
        )
        if match is not None:
            dropped.add(i)
            result = tests[match]
            folded[match] = replace(result, site=result.site or t.site)
    return [folded.get(i, t) for i, t in enumerate(tests) if i not in dropped]
