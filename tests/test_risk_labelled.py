"""The labelled set: precision and recall of "is high-risk", and the primary category."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from testrota.risk.matcher import match_many
from testrota.risk.vocabulary import load_vocabulary
from tests.conftest import CONFIG_DIR
from tests.risk_labelled import ENGLISH, LABELLED, SIMPLIFIED, TRADITIONAL, Label

MIN_PRECISION = 0.98
MIN_RECALL = 0.98
MIN_PRIMARY_ACCURACY = 0.95
NONE = "(none)"


def _predictions(labels: list[Label]) -> list[tuple[Label, str | None]]:
    vocab = load_vocabulary(CONFIG_DIR)
    result = match_many([(t, d, None) for t, d, _ in labels], vocab)
    return [(label, result[(label[0], label[1], None)].category) for label in labels]


def _report(predictions: list[tuple[Label, str | None]]) -> str:
    """The confusion (expected -> got, with counts) and every wrong pair."""
    confusion = Counter((expected or NONE, got or NONE) for (_, _, expected), got in predictions)
    lines = ["confusion (expected -> got: count), mistakes only:"]
    for (expected, got), count in sorted(confusion.items()):
        if expected != got:
            lines.append(f"  {expected:>20} -> {got:<20} {count}")
    lines.append("wrong pairs:")
    for (title, department, expected), got in predictions:
        if expected != got:
            lines.append(f"  {title!r} / {department!r}: expected {expected}, got {got}")
    return "\n".join(lines)


def test_the_set_is_large_distinct_and_in_three_scripts() -> None:
    pairs = [(t, d) for t, d, _ in LABELLED]
    assert len(pairs) >= 150
    assert len(set(pairs)) == len(pairs), "a (title, department) pair is listed twice"
    assert len(SIMPLIFIED) >= 50 and len(TRADITIONAL) >= 50 and len(ENGLISH) >= 50
    han = re.compile(r"[\u4e00-\u9fff]")
    assert all(han.search(t + d) for t, d, _ in SIMPLIFIED + TRADITIONAL)
    assert all(not han.search(t + d) for t, d, _ in ENGLISH)
    # Both classes well represented, every category present.
    labels = Counter(code for _, _, code in LABELLED)
    assert labels[None] >= 50
    vocab = load_vocabulary(CONFIG_DIR)
    assert set(vocab.codes) <= set(labels)


@pytest.mark.parametrize(
    ("name", "labels"),
    [
        ("all", LABELLED),
        ("simplified", SIMPLIFIED),
        ("traditional", TRADITIONAL),
        ("english", ENGLISH),
    ],
)
def test_precision_recall_and_primary_category(name: str, labels: list[Label]) -> None:
    predictions = _predictions(labels)
    tp = sum(1 for (_, _, e), g in predictions if e is not None and g is not None)
    fp = sum(1 for (_, _, e), g in predictions if e is None and g is not None)
    fn = sum(1 for (_, _, e), g in predictions if e is not None and g is None)
    high_risk = [(e, g) for (_, _, e), g in predictions if e is not None]
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    primary = sum(1 for e, g in high_risk if e == g) / len(high_risk)
    summary = (
        f"{name}: {len(predictions)} pairs, precision {precision:.3f}, recall {recall:.3f}, "
        f"primary category {primary:.3f}\n" + _report(predictions)
    )
    assert precision >= MIN_PRECISION, summary
    assert recall >= MIN_RECALL, summary
    assert primary >= MIN_PRIMARY_ACCURACY, summary
