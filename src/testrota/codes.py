"""Personal codes (核酸码): a signed, compact text a QR carries, read at the tent.

``TR:<person>.<issued>.<days>.<signature>`` — the person's database id, the local day the code
was issued (days since 2000-01-01) and how many days it stays valid, each in base 36, then an
HMAC-SHA256 of those fields under a key derived from ``TESTROTA_SECRET_KEY``, cut to 80 bits and
written in base 32. No name, number or phone is in it: a photo of a badge tells a stranger
nothing, and a forged or altered code fails the signature.

Everything is upper case letters, digits and ``:.`` so the QR uses its compact alphanumeric mode
and a keyboard-wedge scanner (which may type lower case, or full-width forms under a Chinese input
method) reads back the same code once folded. A code is checked against the clock, not against a
list: a screenshot works offline at the tent until it expires.

Pure: the caller passes the key, the day and the policy's validity.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

from testrota.errors import UserError

PREFIX = "TR:"
EPOCH = date(2000, 1, 1)
SIGNATURE_BYTES = 10  # 80 bits: no offline oracle, and a guess costs a scan at a tent
MAX_CODE_LENGTH = 64  # what the check-in's input keeps
_KEY_PURPOSE = b"testrota.personal-code.v1"
_SHAPE = re.compile(r"TR:([0-9A-Z]{1,12})\.([0-9A-Z]{1,6})\.([0-9A-Z]{1,3})\.([A-Z2-7]{16})")


class InvalidCode(UserError):
    """Not a code we made, or altered since."""


class ExpiredCode(UserError):
    """A genuine code, older than its validity (or than the policy now allows)."""


@dataclass(frozen=True)
class CodeClaim:
    person_id: int
    issued: date
    valid_until: date  # the last local day on which the code is accepted


def _key(secret: str) -> bytes:
    # A key of its own, so a personal code can never pass for a link token or a cookie.
    return hmac.new(secret.encode("utf-8"), _KEY_PURPOSE, hashlib.sha256).digest()


def _b36(number: int) -> str:
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    out = ""
    while True:
        number, rem = divmod(number, 36)
        out = digits[rem] + out
        if number == 0:
            return out


def _signature(secret: str, body: str) -> str:
    mac = hmac.new(_key(secret), body.encode("ascii"), hashlib.sha256).digest()
    return base64.b32encode(mac[:SIGNATURE_BYTES]).decode("ascii")


def make_code(secret: str, person_id: int, issued: date, valid_days: int) -> str:
    """The code of ``person_id`` issued on the local day ``issued``, valid ``valid_days`` days
    (that day included)."""
    if person_id < 0 or valid_days < 1:
        raise ValueError("a code needs a person id and at least one day")
    body = f"{_b36(person_id)}.{_b36((issued - EPOCH).days)}.{_b36(valid_days)}"
    return f"{PREFIX}{body}.{_signature(secret, body)}"


def fold(text: str) -> str:
    """What a scanner or a screenshot reader typed, folded to the code's own form."""
    return unicodedata.normalize("NFKC", text or "").strip().upper()


def looks_like_code(text: str) -> bool:
    """True when ``text`` is meant as a personal code (not an employee number)."""
    return fold(text).startswith(PREFIX)


def read_code(secret: str, text: str, today: date, max_valid_days: int) -> CodeClaim:
    """The person a scanned code names, or :class:`InvalidCode` / :class:`ExpiredCode`.

    ``today`` is the local date at the site; ``max_valid_days`` the policy's validity now, so a
    shortened validity also shortens the codes already handed out.
    """
    folded = fold(text)[:MAX_CODE_LENGTH]
    match = _SHAPE.fullmatch(folded)
    if match is None:
        raise InvalidCode("this is not a valid personal code; type the employee number instead")
    person, issued_days, days, signature = match.groups()
    body = f"{person}.{issued_days}.{days}"
    if not hmac.compare_digest(_signature(secret, body), signature):
        raise InvalidCode("this is not a valid personal code; type the employee number instead")
    issued = EPOCH + timedelta(days=int(issued_days, 36))
    valid_until = issued + timedelta(days=min(int(days, 36), max_valid_days) - 1)
    if issued > today + timedelta(days=1):
        # Signed by us but dated ahead: a clock set wrong where it was made. Refused, since
        # it would otherwise outlive its validity.
        raise InvalidCode("this personal code is dated {issued}, in the future", issued=issued)
    if today > valid_until:
        raise ExpiredCode(
            "this personal code expired on {date}; open the personal page (or ask HR for a "
            "new badge) to show a fresh one, or type the employee number",
            date=valid_until.isoformat(),
        )
    return CodeClaim(int(person, 36), issued, valid_until)
