"""argon2id password hashes (argon2-cffi's defaults follow RFC 9106's recommendations)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from testrota.errors import UserError

MIN_PASSWORD_LENGTH = 8

_hasher = PasswordHasher()
# Verified against when the user name is unknown, so a wrong name costs as long as a wrong
# password and response times do not reveal which names exist.
_DUMMY_HASH = _hasher.hash("testrota-no-such-user")


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(
            "the password is too short: use at least {n} characters", n=MIN_PASSWORD_LENGTH
        )
    if password.strip() != password:
        raise UserError("the password starts or ends with a space; remove it")


def hash_password(password: str) -> str:
    check_password_rules(password)
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; an unknown user (``None``) still pays for one verify."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
