"""``/healthz`` for a load balancer: the process answers and the database does too."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from testrota.web.deps import AppDep

router = APIRouter()


@router.get("/healthz", tags=["health"])
def healthz(app: AppDep) -> JSONResponse:
    try:
        with app.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        return JSONResponse({"status": "error", "database": type(exc).__name__}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})
