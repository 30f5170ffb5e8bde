"""The FastAPI application, built from a :class:`Settings` by :func:`create_app`."""

from __future__ import annotations

from fastapi import FastAPI

from testrota.settings import Settings


def create_app(settings: Settings) -> FastAPI:
    app = FastAPI(title="testrota")
    app.state.settings = settings

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
