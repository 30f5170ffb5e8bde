"""The short personal link in every text: ``{public_url}/me/{token}``, no login needed.

People in mainland China cannot answer a Twilio text, so the link is the way to see one's slots,
reschedule or opt out; replies by SMS are a convenience. The token is the person id signed with
``TESTROTA_SECRET_KEY`` (itsdangerous), with a timestamp so it expires. It is kept short because
it is paid for in SMS characters: base-62 id, itsdangerous' 6-character timestamp and an HMAC-
SHA256 cut to 96 bits (plenty against guessing: the attacker has no offline oracle).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner
from itsdangerous.signer import SigningAlgorithm

from testrota.clock import clock_from_settings
from testrota.errors import UserError
from testrota.settings import Settings, secret_key_problem

SALT = "testrota.personal-link"
SIGNATURE_BYTES = 12
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# The longest token of a person id below 2**31: its id in base 62 (6), a dot, the timestamp
# as itsdangerous writes a 4-byte one (6, until 2106), a dot, the signature in unpadded base64
# (16). A text channel that limits a variable's length is checked against it at start.
TOKEN_CHARS = 6 + 1 + 6 + 1 + -(-SIGNATURE_BYTES * 4 // 3)
PERSONAL_PATH = "me/"


class InvalidLink(ValueError):
    """The token was not made by us (or was altered)."""


class ExpiredLink(InvalidLink):
    """The token is genuine but older than allowed."""


class _TruncatedHmac(SigningAlgorithm):
    def get_signature(self, key: bytes, value: bytes) -> bytes:
        return hmac.new(key, value, hashlib.sha256).digest()[:SIGNATURE_BYTES]


class _ClockSigner(TimestampSigner):
    """Timestamps from the application clock, so ``TESTROTA_NOW`` governs expiry too."""

    def __init__(self, secret: str, now: datetime) -> None:
        super().__init__(secret, salt=SALT, algorithm=_TruncatedHmac())
        self._now = now

    def get_timestamp(self) -> int:
        return int(self._now.timestamp())


def _secret(settings: Settings) -> str:
    if not settings.secret_key and settings.demo:
        # The demo's key is made at random and kept in its database (testrota.auth.keys), never
        # a constant anyone could sign links with; the demo's processes load it at start.
        raise UserError(
            "demo mode without TESTROTA_SECRET_KEY: the demo's key is kept in its "
            "database; run `testrota demo`, or set TESTROTA_SECRET_KEY"
        )
    problem = secret_key_problem(settings.secret_key)
    if problem:
        raise UserError("every text carries a signed personal link: {problem}", problem=problem)
    assert settings.secret_key is not None
    return settings.secret_key


def signing_secret(settings: Settings) -> str:
    """The key personal links and personal codes are signed with, or a UserError saying how
    to set one."""
    return _secret(settings)


def _b62(number: int) -> str:
    if number < 0:
        raise ValueError("ids are not negative")
    digits = ""
    while True:
        number, rem = divmod(number, 62)
        digits = _ALPHABET[rem] + digits
        if number == 0:
            return digits


def _from_b62(text: str) -> int:
    value = 0
    for ch in text:
        index = _ALPHABET.find(ch)
        if index < 0:
            raise InvalidLink("not a personal link")
        value = value * 62 + index
    return value


def make_personal_token(settings: Settings, person_id: int, now: datetime | None = None) -> str:
    at = now or clock_from_settings(settings).now()
    return _ClockSigner(_secret(settings), at).sign(_b62(person_id)).decode("ascii")


def make_personal_link(settings: Settings, person_id: int, now: datetime | None = None) -> str:
    """``{public_url}/me/{token}`` for one person; ``now`` defaults to the settings' clock."""
    return f"{settings.public_url}/{PERSONAL_PATH}{make_personal_token(settings, person_id, now)}"


def read_personal_token(
    settings: Settings,
    token: str,
    max_age: int | float | timedelta | None = None,
    now: datetime | None = None,
) -> int:
    """The person id in ``token``; :class:`ExpiredLink` or :class:`InvalidLink` otherwise.

    ``max_age`` is in seconds (or a timedelta); None accepts any age.
    """
    at = now or clock_from_settings(settings).now()
    if isinstance(max_age, timedelta):
        max_age = max_age.total_seconds()
    signer = _ClockSigner(_secret(settings), at)
    try:
        value = signer.unsign(token, max_age=None if max_age is None else int(max_age))
    except SignatureExpired as exc:
        raise ExpiredLink("this link has expired") from exc
    except BadSignature as exc:
        raise InvalidLink("not a valid personal link") from exc
    return _from_b62(value.decode("ascii"))
