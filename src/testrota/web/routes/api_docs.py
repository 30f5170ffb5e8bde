"""``/api``: the JSON API described from its own OpenAPI document, rendered here (no CDN), in
the reader's language (:mod:`testrota.web.api_text`); and ``/openapi.json``, that document.

Both are for the roles the API page is for (admin, HR, supervisors), signed in: anyone else
asking for the document is answered as for any call of the API (401 JSON when nobody is
signed in, 403 for site staff), and learns no path, parameter or model of it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from testrota.web import api_text
from testrota.web.deps import OfficeUser
from testrota.web.render import render, request_language

router = APIRouter(include_in_schema=False)


@router.head("/openapi.json")
@router.get("/openapi.json")
def openapi_document(request: Request, user: OfficeUser) -> Response:
    return JSONResponse(request.app.openapi(), headers={"Cache-Control": "no-store"})


@router.get("/api")
def api_docs(request: Request, user: OfficeUser) -> Response:
    spec: dict[str, Any] = request.app.openapi()
    lang = request_language(request)
    operations = []
    for path, methods in spec.get("paths", {}).items():
        for method, op in methods.items():
            operations.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": api_text.summary(method.upper(), path, op.get("summary", ""), lang),
                    "description": [
                        api_text.text(p, lang)
                        for p in api_text.paragraphs(op.get("description") or "")
                    ],
                    "tags": op.get("tags", []),
                    "parameters": [
                        {
                            "name": p["name"],
                            "in": p["in"],
                            "required": p.get("required", False),
                            "description": api_text.text(
                                p.get("description") or p.get("schema", {}).get("description", ""),
                                lang,
                            ),
                        }
                        for p in op.get("parameters", [])
                    ],
                    "body": "requestBody" in op,
                    "responses": sorted(op.get("responses", {})),
                }
            )
    info = spec.get("info", {})
    intro = [api_text.text(p, lang) for p in api_text.paragraphs(info.get("description", ""))]
    return render(request, "api.html", {"spec": spec, "intro": intro, "operations": operations})
