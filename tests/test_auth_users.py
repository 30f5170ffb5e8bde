"""Users, passwords, sign-in throttling and department scopes (no web server needed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from testrota.auth.passwords import hash_password, verify_password
from testrota.auth.scope import Scope, scope_for
from testrota.auth.throttle import Attempts, ThrottleRule, pair_failures, retry_after
from testrota.auth.users import SignInRefused, add_user, sign_in, update_user
from testrota.db.engine import session_scope
from testrota.db.models import AuditEvent, LoginAttempt, User
from testrota.errors import UserError

T0 = datetime(2022, 5, 11, 2, 0, tzinfo=UTC)
RULE = ThrottleRule(
    max_failures=3,
    max_failures_per_ip=10,
    max_failures_per_name=20,
    window=timedelta(minutes=15),
    name_window=timedelta(hours=1),
    known_address_for=timedelta(days=30),
)


def test_password_hashes_are_argon2_and_verify() -> None:
    h = hash_password("long enough")
    assert h.startswith("$argon2id$")
    assert verify_password(h, "long enough")
    assert not verify_password(h, "long enougH")
    assert not verify_password(None, "long enough")
    with pytest.raises(UserError, match="too short"):
        hash_password("short")


def test_throttle_waits_until_the_oldest_counting_failure_leaves_the_window() -> None:
    fails = [(T0 + timedelta(minutes=i), False) for i in range(3)]
    assert retry_after(Attempts(pair=fails[:2]), RULE, T0 + timedelta(minutes=3)) == 0
    assert retry_after(Attempts(pair=fails), RULE, T0 + timedelta(minutes=3)) == 12 * 60
    assert retry_after(Attempts(pair=fails), RULE, T0 + timedelta(minutes=15, seconds=1)) == 0
    assert retry_after(Attempts(ip_failures=[T0] * 10), RULE, T0 + timedelta(minutes=5)) == 600
    # the slow per-name limit has its own, longer window
    assert (
        retry_after(Attempts(name_failures=[T0] * 20), RULE, T0 + timedelta(minutes=20)) == 40 * 60
    )


def test_a_success_clears_the_failures_of_its_name_and_address() -> None:
    pair = [
        (T0, False),
        (T0 + timedelta(minutes=1), False),
        (T0 + timedelta(minutes=2), True),
        (T0 + timedelta(minutes=3), False),
        (T0 + timedelta(minutes=4), False),
    ]
    assert pair_failures(pair) == [T0 + timedelta(minutes=3), T0 + timedelta(minutes=4)]
    assert retry_after(Attempts(pair=pair), RULE, T0 + timedelta(minutes=5)) == 0


def test_a_known_address_is_exempt_from_the_wide_limits_only() -> None:
    flood = Attempts(ip_failures=[T0] * 10, name_failures=[T0] * 20, known_address=True)
    assert retry_after(flood, RULE, T0 + timedelta(minutes=1)) == 0
    mine = Attempts(pair=[(T0, False)] * 3, known_address=True)
    assert retry_after(mine, RULE, T0 + timedelta(minutes=1)) == 14 * 60


def test_scopes() -> None:
    assert scope_for("hr", []).is_everything
    sup = scope_for("supervisor", ["炼钢厂"])
    assert sup.allows("炼钢厂") and not sup.allows("物流部")
    assert sup.narrow("物流部").departments == frozenset()
    assert sup.narrow("炼钢厂").departments == frozenset({"炼钢厂"})
    assert scope_for("site", ["x"]).departments == frozenset()
    assert Scope.everything().narrow("物流部").departments == frozenset({"物流部"})


def test_add_user_checks_its_input(engine: Engine) -> None:
    with session_scope(engine) as s:
        add_user(
            s,
            name="sup",
            role="supervisor",
            password="password1",
            departments=["炼钢厂", " 炼钢厂 ", ""],
            now=T0,
        )
    with session_scope(engine) as s:
        user = s.exec(select(User)).one()
        assert user.departments == ["炼钢厂"]
        assert user.password_hash.startswith("$argon2")
        assert s.exec(select(AuditEvent).where(AuditEvent.action == "user.added")).one()
    for kwargs, message in [
        ({"name": "sup", "role": "hr"}, "exists already"),
        ({"name": "x", "role": "boss"}, "unknown role"),
        ({"name": "y", "role": "supervisor"}, "at least one --department"),
        ({"name": "z", "role": "hr", "language": "fr"}, "unknown language"),
    ]:
        with pytest.raises(UserError, match=message), session_scope(engine) as s:
            add_user(s, password="password1", now=T0, **kwargs)  # type: ignore[arg-type]


def _try(
    engine: Engine, password: str, at: datetime, name: str = "hr1", ip: str = "10.0.0.1"
) -> int:
    """0 when signed in, -1 when refused, else the seconds to wait."""
    with session_scope(engine) as s:
        try:
            sign_in(s, name=name, password=password, ip=ip, now=at, rule=RULE)
        except SignInRefused as exc:
            return exc.retry_after or -1
    return 0


def test_sign_in_is_throttled_per_name_and_recorded(engine: Engine) -> None:
    with session_scope(engine) as s:
        add_user(s, name="hr1", role="hr", password="password1", now=T0)
    assert _try(engine, "password1", T0) == 0
    for i in range(3):
        assert _try(engine, "wrong", T0 + timedelta(seconds=i)) == -1
    # the right password is refused too while the name is paused
    assert _try(engine, "password1", T0 + timedelta(minutes=1)) > 0
    assert _try(engine, "password1", T0 + timedelta(minutes=16)) == 0
    with session_scope(engine) as s:
        attempts = s.exec(select(LoginAttempt).order_by(LoginAttempt.at)).all()
    assert [a.ok for a in attempts] == [True, False, False, False, True]
    # an unknown name costs a verify and is refused the same way
    assert _try(engine, "password1", T0 + timedelta(minutes=17), name="nobody") == -1


def test_disabled_user_cannot_sign_in(engine: Engine) -> None:
    with session_scope(engine) as s:
        info = add_user(s, name="site1", role="site", password="password1", now=T0)
    with session_scope(engine) as s:
        update_user(s, info.id, now=T0, actor="admin", active=False)
    assert _try(engine, "password1", T0) == -1
