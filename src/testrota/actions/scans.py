"""One scan of the scan console (``/scan``): a tube's barcode opens the tube, a person's code
or number puts their swab in it, a close closes it — each taken exactly once.

The browser gives every scan an id and keeps unsent scans in a queue through a network drop;
it may send one again (a retry whose answer was lost). The answer is kept by that id
(``scanreceipt``) and a scan sent again gets it back, changing nothing. The effects are
idempotent by themselves too (a second check-in of a visit, a second open of a tube that day, a
person scanned into their tube again are harmless repeats), so two copies racing each other
still make one sample.

A queued scan happened before it reached us: the browser sends how long ago (``age``), not
its own clock, which on a phone may be anything.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.exc import IntegrityError

from testrota.actions.checkin import CheckIn, check_in
from testrota.actions.tubes import CloseTube, OpenTube, TubeView, close_tube, open_tube
from testrota.app import App
from testrota.audit import Actor
from testrota.auth.scope import Scope
from testrota.db.engine import lookup
from testrota.db.tables import SCAN_RECEIPT as RECEIPT
from testrota.errors import UserError
from testrota.roster.people import AmbiguousEmployeeNo

ScanKind = Literal["tube", "person", "close"]
KEY = re.compile(r"[A-Za-z0-9_-]{8,64}")
MAX_AGE = timedelta(hours=12)  # a scan queued longer is refused: the tube has long gone
RECEIPT_DAYS = 3
# Built once and bound at each scan: every scan reads its receipt and writes one.
_KEPT = select(RECEIPT.c.answer).where(RECEIPT.c.key == bindparam("key"))
_KEEP = insert(RECEIPT)


@dataclass(frozen=True)
class Scan:
    key: str  # the browser's id for this scan
    kind: ScanKind
    value: str  # the barcode or code as read, or typed
    actor: Actor
    site: str | None = None
    tube: str | None = None  # the console's open tube, for a person
    ratio: int | None = None  # for a tube: None is the policy's
    age_seconds: float = 0.0  # how long ago it was scanned
    scope: Scope = field(default_factory=Scope.everything)


@dataclass(frozen=True)
class ScanAnswer:
    """What the console shows: a colour, a message (a template and its parameters, so each
    door renders it in its user's language) and the tube and person it concerns."""

    key: str
    kind: str
    ok: bool
    color: str  # green | amber | red
    message: str
    params: dict[str, Any]
    tube: dict[str, Any] | None = None  # {code, ratio, status, members, places_left}
    person: dict[str, Any] | None = None  # {employee_no, name, expected, recorded}
    replay: bool = False  # sent before: this is the answer it got then


def _tube(view: TubeView) -> dict[str, Any]:
    return {
        "code": view.code,
        "site": view.site,
        "ratio": view.ratio,
        "status": view.status,
        "members": len(view.members),
        "places_left": view.places_left,
    }


def record_scan(app: App, scan: Scan) -> ScanAnswer:
    """Take one scan, once; refusals are answers too (red), kept like the others."""
    if not KEY.fullmatch(scan.key or ""):
        raise UserError("a scan needs an id of 8 to 64 letters, digits, '-' or '_'")
    kept = _kept(app, scan.key)
    if kept is not None:
        return kept
    now = app.now()
    age = timedelta(seconds=max(scan.age_seconds, 0.0))
    if age > MAX_AGE:
        answer = _refused(scan, UserError("this scan is {hours} hours old: scan again", hours=12))
    else:
        try:
            answer = _take(app, scan, now - age)
        except AmbiguousEmployeeNo as exc:
            answer = _refused(
                scan,
                UserError(
                    "{number} could be {n} people: type the whole number.",
                    number=scan.value,
                    n=len(exc.candidates),
                ),
            )
        except UserError as exc:
            answer = _refused(scan, exc)
    return _keep(app, scan, answer, now)


def _refused(scan: Scan, exc: UserError) -> ScanAnswer:
    return ScanAnswer(scan.key, scan.kind, False, "red", exc.template, dict(exc.params))


def _take(app: App, scan: Scan, at: datetime) -> ScanAnswer:
    if scan.kind == "tube":
        if not scan.site:
            raise UserError("choose your site first")
        view = open_tube(app, OpenTube(scan.value, scan.site, scan.actor, scan.ratio, at))
        return ScanAnswer(
            scan.key,
            scan.kind,
            True,
            "green",
            "Tube {code} open: {n} places.",
            {"code": view.code, "n": view.places_left},
            tube=_tube(view),
        )
    if scan.kind == "close":
        view = close_tube(app, CloseTube(scan.value, scan.actor))
        return ScanAnswer(
            scan.key,
            scan.kind,
            True,
            "green",
            "Tube {code} closed with {n} swabs.",
            {"code": view.code, "n": len(view.members)},
            tube=_tube(view),
        )
    if not scan.tube:
        raise UserError("scan the tube first, then the people")
    result = check_in(
        app,
        CheckIn(
            scan.value,
            scan.actor,
            site=scan.site or None,
            at=at,
            scope=scan.scope,
            tube=scan.tube,
        ),
    )
    # The tube as the check-in left it: no second read.
    tube = (
        {
            "code": result.tube,
            "site": result.site,
            "ratio": result.tube_ratio,
            "status": "open" if result.tube_open else "closed",
            "members": result.tube_members,
            "places_left": result.tube_places_left,
        }
        if result.tube
        else None
    )
    if not result.recorded:
        template = "{name} ({employee_no}) was already checked in at {at}."
    elif result.expected:
        template = "{name} ({employee_no}): in tube {tube}, expected now."
    else:
        template = "{name} ({employee_no}): in tube {tube}, but not expected now."
    return ScanAnswer(
        scan.key,
        scan.kind,
        True,
        "green" if result.recorded and result.expected else "amber",
        template,
        {
            "name": result.name,
            "employee_no": result.employee_no,
            "tube": result.tube,
            "at": result.at.astimezone(app.tz).strftime("%H:%M"),
        },
        tube=tube,
        person={
            "employee_no": result.employee_no,
            "name": result.name,
            "expected": result.expected,
            "recorded": result.recorded,
            "tube_closed": result.tube_closed,
        },
    )


def _kept(app: App, key: str) -> ScanAnswer | None:
    """The answer kept for ``key``, marked as a replay. Read with Core on the engine that sees
    the latest write without taking SQLite's write lock: every scan asks this first."""
    with lookup(app.fresh_engine) as conn:
        kept = conn.execute(_KEPT, {"key": key}).scalar()
    return None if kept is None else ScanAnswer(**{**kept, "replay": True})


def _keep(app: App, scan: Scan, answer: ScanAnswer, now: datetime) -> ScanAnswer:
    stored = {k: v for k, v in asdict(answer).items() if k != "replay"}
    try:
        with app.write_lock, app.engine.begin() as conn:
            conn.execute(
                _KEEP,
                {
                    "key": scan.key,
                    "actor": str(scan.actor),
                    "at": now,
                    "kind": scan.kind,
                    "answer": stored,
                },
            )
            # Old receipts go as new ones come, on about one scan in 64: an index range of the
            # rows that aged out since, without a statement on every scan.
            if zlib.crc32(scan.key.encode()) % 64 == 0:
                conn.execute(
                    delete(RECEIPT).where(RECEIPT.c.at < now - timedelta(days=RECEIPT_DAYS))
                )
    except IntegrityError:
        # The same scan, sent twice at once: the first answer kept is the answer.
        kept = _kept(app, scan.key)
        if kept is not None:
            return kept
    return answer
