"""Aliyun's delivery receipts (SmsReport), pushed to ``POST /webhooks/aliyun/{token}``.

Aliyun pushes a JSON array of receipts and, when our answer is slow or lost, pushes the same
receipts again after 1, 5 and 10 minutes; they carry no idempotency key of their own. A receipt
is therefore applied once per (BizId, phone): the ``smsreceipt`` row recording it is inserted in
the same transaction as the text's update, so a receipt is either applied and remembered or
neither, and a repeat finds the row and changes nothing.

Parsing is pure (:func:`parse_reports`); :func:`apply_receipts` is the shell.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, Table, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from testrota.db import tables

M: Table = tables.MESSAGE
R: Table = tables.SMS_RECEIPT

MAX_BODY_BYTES = 512 * 1024  # Aliyun pushes at most a few hundred receipts a request
MAX_REPORTS = 1000
# A receipt only moves a text forward: a late "delivered" may follow our own "sent", never undo
# a "delivered" (Aliyun sends one receipt per text, but a number may share a BizId).
_UPDATABLE = ("sent", "unknown", "undelivered")


class BadReceipts(ValueError):
    """A push that is not a JSON array of receipts; Aliyun gets the reason back."""


@dataclass(frozen=True)
class Receipt:
    biz_id: str
    phone: str
    success: bool
    out_id: int | None = None
    err_code: str | None = None
    err_msg: str | None = None


@dataclass
class ReceiptResult:
    received: int = 0
    applied: int = 0
    repeated: int = 0  # already applied (Aliyun's retries)
    unmatched: int = 0  # no text of ours has this BizId / OutId
    errors: list[str] = field(default_factory=list)


def _text(item: dict[str, object], key: str, limit: int) -> str:
    value = item.get(key)
    if value is None:
        return ""
    return str(value).strip()[:limit]


def parse_reports(data: object) -> list[Receipt]:
    """The receipts of one push: a JSON array of SmsReport objects. Raises :class:`BadReceipts`
    for anything else; an object without ``biz_id`` or ``phone_number`` is one too."""
    if not isinstance(data, list):
        raise BadReceipts("a receipt push is a JSON array of receipts")
    if len(data) > MAX_REPORTS:
        raise BadReceipts(f"at most {MAX_REPORTS} receipts a push")
    out: list[Receipt] = []
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            raise BadReceipts(f"receipt {index} is not an object")
        biz_id = _text(item, "biz_id", 64)
        phone = _text(item, "phone_number", 32)
        if not biz_id or not phone:
            raise BadReceipts(f"receipt {index} has no biz_id or phone_number")
        success = item.get("success")
        if isinstance(success, str):
            success = success.strip().lower() == "true"
        out_id = _text(item, "out_id", 20)
        err_code = _text(item, "err_code", 64) or None
        out.append(
            Receipt(
                biz_id=biz_id,
                phone=phone,
                success=success is True,
                out_id=int(out_id) if out_id.isdigit() and len(out_id) < 19 else None,
                err_code=err_code,
                err_msg=_text(item, "err_msg", 200) or None,
            )
        )
    return out


def apply_receipts(
    engine: Engine, now: datetime, receipts: Sequence[Receipt], provider: str = "aliyun"
) -> ReceiptResult:
    """Apply each receipt not applied before, all in one transaction."""
    result = ReceiptResult(received=len(receipts))
    if not receipts:
        return result
    with engine.begin() as conn:
        dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        for receipt in receipts:
            row = conn.execute(
                select(M.c.id, M.c.status, M.c.provider_sid)
                .where(_matches(receipt))
                .order_by(M.c.id)
                .limit(1)
            ).first()
            inserted = conn.execute(
                dialect_insert(R)
                .values(
                    provider=provider,
                    biz_id=receipt.biz_id,
                    phone=receipt.phone,
                    message_id=row.id if row is not None else None,
                    success=receipt.success,
                    error_code=None if receipt.success else receipt.err_code,
                    received_at=now,
                )
                .on_conflict_do_nothing(index_elements=["provider", "biz_id", "phone"])
                .returning(R.c.id)
            ).first()
            if inserted is None:
                result.repeated += 1
                continue
            if row is None:
                result.unmatched += 1
                continue
            values: dict[str, object] = {
                "provider_status": "delivered" if receipt.success else "undelivered",
                "provider_sid": receipt.biz_id,
            }
            if row.status in _UPDATABLE:
                values["status"] = "delivered" if receipt.success else "undelivered"
                values["next_attempt_at"] = None
            if not receipt.success:
                values["error_code"] = receipt.err_code
                values["error_message"] = (receipt.err_msg or "not delivered")[:400]
            # A row still ``sending`` keeps its status: the dispatcher's record of the send is
            # on its way and takes the provider's fields into account.
            conn.execute(
                update(M)
                .where(M.c.id == row.id, M.c.status.in_((*_UPDATABLE, "sending")))
                .values(**values)
            )
            result.applied += 1
    return result


def _matches(receipt: Receipt) -> ColumnElement[bool]:
    by_sid = M.c.provider_sid == receipt.biz_id
    if receipt.out_id is None:
        return by_sid
    # Our id came back as OutId: the row is ours if it has no sid yet, this one, or the one a
    # lookup by OutId gave it.
    return or_(
        by_sid,
        (M.c.id == receipt.out_id)
        & or_(
            M.c.provider_sid.is_(None),
            M.c.provider_sid == receipt.biz_id,
            M.c.provider_sid == f"out:{receipt.out_id}",
        ),
    )
