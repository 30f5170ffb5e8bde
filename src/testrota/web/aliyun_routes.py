"""Aliyun's delivery receipts: ``POST /webhooks/aliyun/{token}``.

Aliyun signs no push, so the route's path carries a secret (``TESTROTA_ALIYUN_RECEIPT_TOKEN``),
compared in constant time; a wrong or unset token is a 404, as if the route did not exist, and
the access log shows the path with the token cut out. The body is read up to a bound before it
is parsed. Aliyun expects ``{"code": 0, "msg": "成功"}``; any other answer makes it push again
(after 1, 5 and 10 minutes), which :mod:`testrota.notify.receipts` is built to absorb.
"""

from __future__ import annotations

import hmac
import json
import logging

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from testrota.notify.receipts import MAX_BODY_BYTES, BadReceipts, apply_receipts, parse_reports
from testrota.web.twilio_routes import _deps

log = logging.getLogger(__name__)

router = APIRouter(prefix="/webhooks/aliyun", tags=["aliyun"], include_in_schema=False)

OK = {"code": 0, "msg": "成功"}


async def _bounded_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(status_code=413, detail=f"at most {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(status_code=413, detail=f"at most {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/{token}")
async def aliyun_receipts(token: str, request: Request) -> Response:
    deps = _deps(request)
    expected = deps.settings.aliyun_receipt_token
    if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
        raise HTTPException(status_code=404, detail="Not Found")
    body = await _bounded_body(request, MAX_BODY_BYTES)
    try:
        receipts = parse_reports(json.loads(body or b"null"))
    except (ValueError, BadReceipts) as exc:
        log.warning("refused an Aliyun receipt push: %s", exc)
        return JSONResponse({"code": 1, "msg": str(exc)[:200]}, status_code=400)
    result = await run_in_threadpool(apply_receipts, deps.engine, deps.clock.now(), receipts)
    log.info(
        "Aliyun receipts: %d received, %d applied, %d repeated, %d unmatched",
        result.received,
        result.applied,
        result.repeated,
        result.unmatched,
    )
    return JSONResponse(OK)
