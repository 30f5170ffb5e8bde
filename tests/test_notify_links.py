"""The signed personal link every text carries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from testrota.errors import UserError
from testrota.notify.links import (
    ExpiredLink,
    InvalidLink,
    make_personal_link,
    make_personal_token,
    read_personal_token,
)
from testrota.settings import get_settings

NOW = datetime(2022, 5, 9, 8, 0, tzinfo=UTC)
SETTINGS = get_settings(secret_key="s" * 48, public_url="https://rota.example.com/")


def test_round_trip_and_shape() -> None:
    link = make_personal_link(SETTINGS, 4711, NOW)
    assert link.startswith("https://rota.example.com/me/")
    token = link.rsplit("/", 1)[1]
    assert len(token) <= 30  # it is paid for in SMS characters
    assert read_personal_token(SETTINGS, token, max_age=3600, now=NOW) == 4711


def test_tampered_or_foreign_tokens_are_refused() -> None:
    token = make_personal_token(SETTINGS, 4711, NOW)
    forged = token.replace(token.split(".")[0], "4712", 1)
    with pytest.raises(InvalidLink):
        read_personal_token(SETTINGS, forged, now=NOW)
    other = get_settings(secret_key="t" * 48)
    with pytest.raises(InvalidLink):
        read_personal_token(other, token, now=NOW)
    with pytest.raises(InvalidLink):
        read_personal_token(SETTINGS, "garbage", now=NOW)


def test_expiry_follows_the_application_clock() -> None:
    token = make_personal_token(SETTINGS, 7, NOW)
    later = NOW + timedelta(days=15)
    assert read_personal_token(SETTINGS, token, max_age=timedelta(days=16), now=later) == 7
    with pytest.raises(ExpiredLink):
        read_personal_token(SETTINGS, token, max_age=timedelta(days=14), now=later)
    # TESTROTA_NOW drives the default clock too.
    fixed = get_settings(secret_key="s" * 48, now=later.isoformat())
    with pytest.raises(ExpiredLink):
        read_personal_token(fixed, token, max_age=14 * 86400)


def test_a_strong_secret_key_is_required() -> None:
    with pytest.raises(UserError, match="TESTROTA_SECRET_KEY is not set"):
        make_personal_link(get_settings(secret_key=None, demo=False), 1, NOW)
    with pytest.raises(UserError, match="only 31 bytes long: use at least 32"):
        make_personal_link(get_settings(secret_key="s" * 31), 1, NOW)
    # the demo signs with its database's own random key (testrota.auth.keys), never a
    # constant: without it loaded, there is nothing to sign with
    with pytest.raises(UserError, match="demo's key is kept in its database"):
        make_personal_token(get_settings(secret_key=None, demo=True), 1, NOW)
