"""The page and API routers, one module per page."""

from __future__ import annotations

from fastapi import FastAPI


def register_routes(app: FastAPI) -> None:
    from testrota.web.routes import (
        admin_users,
        alerts,
        api,
        api_docs,
        auth,
        badges,
        checkin,
        dashboard,
        exemptions,
        health,
        missed,
        outbox,
        people,
        personal,
        pools,
        report,
        roles,
        scan,
        schedule,
        tubes,
        uploads,
    )

    pages = (
        dashboard,
        alerts,
        pools,
        people,
        missed,
        exemptions,
        report,
        schedule,
        checkin,
        scan,
        tubes,
        roles,
        uploads,
        outbox,
        admin_users,
        badges,
    )
    for module in (health, auth, *pages, personal, api_docs, api):
        app.include_router(module.router)
