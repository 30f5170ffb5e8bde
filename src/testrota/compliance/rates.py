"""Tests a week per high-risk category: the one way every reader turns a category into the
number of tests it asks (without the models, so the lean missed list can use it too)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from testrota.policy import Policy

RateLookup = Callable[[str | None], int]


def rate_lookup(config_dir: Path | None, policy: Policy) -> RateLookup:
    """Tests a week per category code, read the same way the planner reads them."""
    from testrota.risk.vocabulary_file import weekly_tests_lookup

    return weekly_tests_lookup(config_dir, policy.testing.tests_per_week)
