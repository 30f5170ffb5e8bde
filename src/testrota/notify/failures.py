"""What a failed send means, and when to try again. Pure: no I/O, randomness passed in."""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

# Twilio error codes with a meaning of their own.
CODE_UNSUBSCRIBED = 21610  # the recipient replied STOP: Twilio refuses to text them
CODE_INVALID_NUMBER = 21211  # "To" is not a valid phone number
CODE_NOT_MOBILE = 21614  # "To" is not a mobile number
CODE_TOO_MANY_REQUESTS = 20429


class Failure(enum.Enum):
    RETRY = "retry"  # 429, 5xx, connection refused: not sent, try again later
    AMBIGUOUS = "ambiguous"  # the request may have arrived (timeout, dropped reply): look it up
    OPTED_OUT = "opted_out"  # 21610
    INVALID_NUMBER = "invalid_number"  # 21211, 21614
    REJECTED = "rejected"  # any other 4xx: fail at once, keep code and message


@dataclass
class SendFailure(Exception):
    """A send that did not succeed, already classified by the backend."""

    kind: Failure
    code: str | None = None
    message: str = ""
    http_status: int | None = None

    def __str__(self) -> str:
        parts = [self.kind.value]
        if self.http_status:
            parts.append(f"HTTP {self.http_status}")
        if self.code:
            parts.append(f"code {self.code}")
        if self.message:
            parts.append(self.message)
        return ": ".join(parts)


def classify_provider_error(http_status: int | None, code: int | str | None) -> Failure:
    """The kind of failure an HTTP status and a Twilio error code stand for."""
    try:
        number = int(code) if code is not None else None
    except (TypeError, ValueError):
        number = None
    if number == CODE_UNSUBSCRIBED:
        return Failure.OPTED_OUT
    if number in (CODE_INVALID_NUMBER, CODE_NOT_MOBILE):
        return Failure.INVALID_NUMBER
    if http_status == 429 or number == CODE_TOO_MANY_REQUESTS:
        return Failure.RETRY
    if http_status is None or http_status >= 500:
        return Failure.RETRY
    return Failure.REJECTED


def retry_delay(
    attempt: int, base_seconds: float, max_seconds: float, rng: random.Random | None = None
) -> timedelta:
    """Exponential backoff with "equal jitter": half the delay fixed, half random.

    ``attempt`` counts from 1 (the attempt that just failed). The fixed half keeps a retry from
    coming back at once; the random half keeps many rows that failed together (a 429 burst)
    from coming back together.
    """
    delay = min(max_seconds, base_seconds * (2 ** max(0, attempt - 1)))
    jitter = (rng or random).uniform(0, delay / 2)
    return timedelta(seconds=delay / 2 + jitter)


def next_attempt_at(
    now: datetime,
    attempt: int,
    base_seconds: float,
    max_seconds: float,
    rng: random.Random | None = None,
) -> datetime:
    return now + retry_delay(attempt, base_seconds, max_seconds, rng)
