"""``/scan``: the scan console for site staff on a phone at the tent — camera or scanner, a
tube then its members, an offline queue in the browser (``static/scan.js``).

The page is HTML; each scan is one JSON request to ``/scan/api`` with the page's CSRF token in
a header, answered with what the console shows (``actions.scans``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from testrota.actions.scans import Scan, ScanAnswer, record_scan
from testrota.actions.sites import site_choices
from testrota.audit import Actor
from testrota.errors import UserError
from testrota.web.deps import AppDep, CheckinUser, LookupScope, SessionDep, verify_csrf
from testrota.web.i18n import translator
from testrota.web.render import render, request_language

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)

# The page's own policy: the app's, plus WebAssembly for the barcode reader (ZXing) where the
# browser has no BarcodeDetector of its own, and the camera for this origin only.
SCAN_CSP = (
    "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob: mediastream:; "
    "style-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


class ScanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    kind: Literal["tube", "person", "close"]
    value: str = Field(min_length=1, max_length=200)
    site: str | None = Field(default=None, max_length=40)
    tube: str | None = Field(default=None, max_length=64)
    ratio: Literal[1, 5, 10, 20] | None = None
    age_ms: int = Field(default=0, ge=0, le=7 * 24 * 3600 * 1000)


@router.get("/scan")
def scan_page(request: Request, app: AppDep, session: SessionDep, user: CheckinUser) -> Response:
    sites = site_choices(app)
    response = render(
        request,
        "scan.html",
        {
            "sites": sites,
            "site": request.session.get("site") or (sites[0][0] if len(sites) == 1 else ""),
            "default_ratio": app.policy.testing.pooling.default_ratio,
        },
    )
    response.headers["Content-Security-Policy"] = SCAN_CSP
    response.headers["Permissions-Policy"] = "camera=(self)"
    return response


def _rendered(answer: ScanAnswer, request: Request) -> dict[str, object]:
    _ = translator(request_language(request))
    return {
        "id": answer.key,
        "kind": answer.kind,
        "ok": answer.ok,
        "color": answer.color,
        "message": _(answer.message, **answer.params),
        "tube": answer.tube,
        "person": answer.person,
        "replay": answer.replay,
    }


@router.post("/scan/api")
def scan_api(
    request: Request,
    app: AppDep,
    user: CheckinUser,
    scope: LookupScope,
    body: Annotated[ScanIn, Body()],
) -> Response:
    try:
        answer = record_scan(
            app,
            Scan(
                key=body.id,
                kind=body.kind,
                value=body.value.strip(),
                actor=Actor.web(user.name),
                site=body.site or None,
                tube=body.tube or None,
                ratio=body.ratio,
                age_seconds=body.age_ms / 1000,
                scope=scope,
            ),
        )
    except UserError as exc:
        _ = translator(request_language(request))
        return JSONResponse({"ok": False, "color": "red", "message": exc.render(_)}, 400)
    if body.site:
        request.session["site"] = body.site
    return JSONResponse(_rendered(answer, request))
