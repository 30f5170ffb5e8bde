"""``/pools``: positive pooled tubes, their members and each member's single-tube recheck — for
HR, the epidemic-control office and supervisors (their own people only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from testrota.actions.pools import PositivePools, positive_pools
from testrota.web.deps import AppDep, OfficeUser, SupervisorScope, verify_csrf
from testrota.web.i18n import translator
from testrota.web.render import render, request_language

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


@router.get("/pools")
def pools_page(
    request: Request,
    app: AppDep,
    user: OfficeUser,
    scope: SupervisorScope,
    days: Annotated[int, Query(ge=1, le=60)] = 7,
) -> Response:
    _ = translator(request_language(request))
    states = {
        "pool_positive": _("Pooled tube positive"),
        "positive": _("Positive result"),
        "cleared": _("cleared"),
        "inactive": _("Inactive"),
    }
    return render(
        request,
        "pools.html",
        {
            "pools": positive_pools(app, PositivePools(days, scope)),
            "days": days,
            "states": states,
        },
    )
