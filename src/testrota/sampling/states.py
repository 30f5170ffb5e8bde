"""A person's state for the gate and the pages: ``ok``, ``due``, ``missed`` (this week's
light), or what their latest sample says — ``pool_positive`` (their pooled tube was positive;
a single-tube recheck is due) or ``positive`` (an open alert) — which outranks the light."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select
from sqlmodel import Session, col

from testrota.db.engine import core
from testrota.db.models import Alert, TestResult
from testrota.statuses import AlertStatus, ResultValue

OK, DUE, MISSED = "ok", "due", "missed"
POOL_POSITIVE, POSITIVE, INACTIVE = "pool_positive", "positive", "inactive"
BY_LIGHT = {"green": OK, "amber": DUE, "red": MISSED}
# The words each state is shown with (the web translates them).
WORDS = {
    POOL_POSITIVE: "Pooled tube positive: single-tube recheck due; stay home until it is negative",
    POSITIVE: "Positive result: isolate and follow the epidemic-control office",
}


def state_of(light: str, active: bool, latest: str | None, alert_open: bool) -> str:
    """Pure: the state from the week's light and the person's latest decided sample."""
    if not active:
        return INACTIVE
    if latest == ResultValue.POOL_POSITIVE:
        return POOL_POSITIVE
    if latest == ResultValue.POSITIVE and alert_open:
        return POSITIVE
    return BY_LIGHT.get(light, DUE)


def latest_sample(session: Session, person_id: int, now: datetime) -> tuple[str | None, bool]:
    """The person's latest sample with a result (not pending) up to ``now``, and whether an
    alert on it is still open."""
    conn = core(session)  # behind every status look-up: Core reads, built once
    row = conn.execute(_LATEST, {"person": person_id, "now": now}).first()
    if row is None:
        return None, False
    alert_open = (
        row.result == ResultValue.POSITIVE
        and conn.scalar(_OPEN_ALERT, {"result": row.id}) is not None
    )
    return row.result, alert_open


_LATEST = (
    select(col(TestResult.id), col(TestResult.result))
    .where(
        col(TestResult.person_id) == bindparam("person"),
        col(TestResult.result) != ResultValue.PENDING,
        col(TestResult.sampled_at) <= bindparam("now"),
    )
    .order_by(col(TestResult.sampled_at).desc(), col(TestResult.id).desc())
    .limit(1)
)
_OPEN_ALERT = select(col(Alert.id)).where(
    col(Alert.result_id) == bindparam("result"), col(Alert.status) == AlertStatus.OPEN
)
