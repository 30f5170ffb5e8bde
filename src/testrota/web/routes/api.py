"""The JSON API under ``/api/``: the pages' data, with the same sign-in and scoping.

Unsafe methods need the session's CSRF token in ``X-CSRF-Token`` (``GET /api/session``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse

from testrota.actions.checkin import CheckIn, check_in
from testrota.actions.people import SearchPeople, ShowPerson, search_people, show_person
from testrota.actions.report_trend import DEFAULT_WEEKS
from testrota.actions.risk import (
    ListRoles,
    MapRole,
    OverridePerson,
    list_roles,
    map_role,
    override_person,
)
from testrota.audit import Actor
from testrota.compliance.facts import UnknownEmployeeNo
from testrota.errors import UserError
from testrota.jsonable import jsonable
from testrota.org.trend import MAX_WEEKS
from testrota.roster.people import (
    AmbiguousEmployeeNo,
    NoSuchPerson,
    PeopleFilter,
)
from testrota.web import weeks
from testrota.web.api_models import (
    CheckInIn,
    CheckInOut,
    ExcuseIn,
    ExcuseOut,
    ExemptedOut,
    ExemptionEndedOut,
    ExemptionEndIn,
    ExemptionIn,
    ExemptionOut,
    MapRoleIn,
    MissedOut,
    OutboxOut,
    OverrideIn,
    OverrideOut,
    PeopleOut,
    PersonDetailOut,
    RoleMappedOut,
    RoleOut,
    ScheduleOut,
    SessionInfo,
    StatusOut,
    TrendOut,
)
from testrota.web.deps import (
    AppDep,
    CheckinUser,
    CurrentUser,
    HRUser,
    LookupScope,
    SessionDep,
    SupervisorScope,
    verify_csrf,
)
from testrota.web.ids import IdPath
from testrota.web.queries.outbox import outbox
from testrota.web.queries.schedule import appointments_page
from testrota.web.security import csrf_token

router = APIRouter(prefix="/api", dependencies=[Depends(verify_csrf)])

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "Not found or not in scope"}}
AUTH: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in"},
    403: {"description": "This role may not use this call"},
}


@router.get("/session", response_model=SessionInfo, tags=["session"], responses=AUTH)
def session_info(request: Request, user: CurrentUser) -> SessionInfo:
    return SessionInfo(
        name=user.name,
        role=user.role,
        departments=list(user.departments),
        language=user.language,
        csrf_token=csrf_token(request),
    )


@router.get("/people", response_model=PeopleOut, tags=["people"], responses=AUTH)
def api_people(
    app: AppDep,
    scope: SupervisorScope,
    q: Annotated[
        str,
        Query(
            max_length=200,
            description=(
                "a name, the start of an employee number, or a phone or ID number: whole for roles "
                "that see numbers masked, any 4+ digits of a phone for the others"
            ),
        ),
    ] = "",
    department: Annotated[str, Query(max_length=200)] = "",
    grid_unit: Annotated[str, Query(max_length=200)] = "",
    category: Annotated[str, Query(max_length=40, description="a code or 'none'")] = "",
    high_risk: bool | None = None,
    active: Annotated[bool | None, Query(description="omit for active people only")] = True,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    f = PeopleFilter(
        q=q,
        department=department,
        grid_unit=grid_unit,
        category=category,
        high_risk=high_risk,
        active=active,
    )
    result = search_people(app, SearchPeople(f, scope, page, page_size))
    return {
        "total": result.total,
        "page": result.page,
        "pages": result.pages,
        "people": jsonable(result.rows, app.tz),
    }


@router.get(
    "/people/{employee_no}",
    response_model=PersonDetailOut,
    tags=["people"],
    responses={**AUTH, **NOT_FOUND},
)
def api_person(app: AppDep, scope: SupervisorScope, employee_no: str) -> dict[str, Any]:
    try:
        detail = show_person(app, ShowPerson(employee_no, scope))
    except NoSuchPerson:
        raise HTTPException(404, "no such person in your departments") from None
    document: dict[str, Any] = jsonable(detail, app.tz)
    return {**document.pop("person"), **document}


Week = Annotated[
    str,
    Query(
        max_length=10,
        pattern=r"^(\d{4}-?[Ww]\d{1,2})?$",
        description="ISO week, e.g. 2022-W19 (default: this week)",
    ),
]
Text = Annotated[str, Query(max_length=200)]
BAD_INPUT: dict[int | str, dict[str, Any]] = {400: {"description": "Bad input (see detail)"}}


def _user_error(exc: UserError) -> HTTPException:
    return HTTPException(400, str(exc))


AMBIGUOUS: dict[int | str, dict[str, Any]] = {
    409: {"description": "The number could be several people: detail lists the candidates"}
}


def _ambiguous(exc: AmbiguousEmployeeNo) -> JSONResponse:
    # ``detail`` stays one line like every other error; the candidates come alongside.
    return JSONResponse({"detail": str(exc), "candidates": exc.candidates[:10]}, 409)


@router.get(
    "/missed", response_model=list[MissedOut], tags=["compliance"], responses={**AUTH, **BAD_INPUT}
)
def api_missed(
    app: AppDep,
    scope: SupervisorScope,
    week: Week = "",
    department: Text = "",
    grid_unit: Text = "",
) -> list[dict[str, Any]]:
    """The missed-test list of a week (what `testrota missed --format json` prints)."""
    from testrota.actions.missed import Missed, list_missed

    try:
        rows = list_missed(
            app, Missed(week or None, scope.narrow(department), grid_unit=grid_unit or None)
        )
    except UserError as exc:
        raise _user_error(exc) from exc
    out: list[dict[str, Any]] = jsonable(rows, app.tz)
    return out


@router.get(
    "/report/trend",
    response_model=TrendOut,
    tags=["compliance"],
    responses={**AUTH, **BAD_INPUT, **NOT_FOUND},
)
def api_report_trend(
    app: AppDep,
    scope: SupervisorScope,
    user: CurrentUser,
    date: Annotated[
        str,
        Query(
            max_length=10,
            pattern=r"^(\d{4}-\d{2}-\d{2})?$",
            description="a day, e.g. 2022-05-10 (default: yesterday)",
        ),
    ] = "",
    unit: Annotated[
        str,
        Query(
            max_length=400,
            description="a unit's path or code (default: the reader's own unit, or the group)",
        ),
    ] = "",
    weeks: Annotated[
        int, Query(ge=1, le=MAX_WEEKS, description="how many weeks, up to the day's own")
    ] = DEFAULT_WEEKS,
) -> dict[str, Any]:
    """The weekly rate of a unit and everything below it, as the daily report's trend shows it
    (`/report/daily/trend.json`): each week's required and tested summed over its days.

    A supervisor reaches only their own units; another unit answers 404."""
    from testrota.web.routes.report import report_day, trend_document, trend_of

    try:
        day = report_day(app, date)
        out = trend_of(app, scope, user.name, day, unit.strip(), weeks)
    except UserError as exc:
        raise _user_error(exc) from exc
    return trend_document(out, day)


@router.get("/compliance", tags=["compliance"], responses={**AUTH, **BAD_INPUT})
def api_compliance(
    app: AppDep, scope: SupervisorScope, week: Week = "", department: Text = ""
) -> dict[str, Any]:
    """Required, scheduled, done, missed and the rate per department and grid unit, with the
    trend over recent weeks."""
    from testrota.actions.compliance import Compliance, compliance_report

    try:
        report = compliance_report(app, Compliance(week or None, scope.narrow(department)))
    except UserError as exc:
        raise _user_error(exc) from exc
    out: dict[str, Any] = jsonable(report, app.tz)
    return out


@router.post(
    "/excuse",
    response_model=ExcuseOut,
    tags=["compliance"],
    responses={**AUTH, **BAD_INPUT, **NOT_FOUND},
)
def api_excuse(
    app: AppDep, scope: SupervisorScope, user: CurrentUser, body: ExcuseIn
) -> dict[str, Any]:
    """Excuse a person's missed appointment (one by id, or the week's)."""
    from testrota.actions.excuse import Excuse, OutOfScope, excuse

    try:
        out = excuse(
            app,
            Excuse(
                body.employee_no,
                body.reason,
                Actor.web(user.name),
                week=body.week,
                appointment_id=body.appointment_id,
                scope=scope,
            ),
        )
    except (OutOfScope, UnknownEmployeeNo) as exc:
        raise HTTPException(404, "no such person in your departments") from exc
    except UserError as exc:
        raise _user_error(exc) from exc
    doc: dict[str, Any] = jsonable(out, app.tz)
    return doc


Day = Annotated[
    str,
    Query(max_length=10, pattern=r"^(\d{4}-\d{2}-\d{2})?$", description="a day, e.g. 2022-05-10"),
]


@router.get(
    "/exemptions",
    response_model=list[ExemptionOut],
    tags=["compliance"],
    responses={**AUTH, **BAD_INPUT},
)
def api_exemptions(
    app: AppDep,
    scope: SupervisorScope,
    active_on: Day = "",
    ended: Annotated[bool, Query(description="those already over too")] = False,
    department: Text = "",
    limit: Annotated[
        int, Query(ge=1, le=5000, description="at most this many, by first day")
    ] = 1000,
) -> list[dict[str, Any]]:
    """Exemptions not over yet, or those covering `active_on`, by first day (what `testrota
    exempt list --json` prints), at most `limit`. A supervisor gets their own people's only."""
    from testrota.actions.exemptions import Exemptions, list_exemptions
    from testrota.web.routes.exemptions import parse_day

    try:
        day = parse_day(active_on) if active_on else None
    except UserError as exc:
        raise _user_error(exc) from exc
    rows = list_exemptions(
        app,
        Exemptions(scope.narrow(department), active_on=day, include_ended=ended, limit=limit),
    )
    out: list[dict[str, Any]] = jsonable(rows, app.tz)
    return out


@router.post(
    "/exemptions",
    response_model=ExemptedOut,
    tags=["compliance"],
    responses={**AUTH, **BAD_INPUT, **NOT_FOUND, **AMBIGUOUS},
)
def api_exemption_add(
    app: AppDep, scope: SupervisorScope, user: CurrentUser, body: ExemptionIn
) -> dict[str, Any] | JSONResponse:
    """Exempt a person from `start_date` to `end_date` (both included): their appointments
    then that are not done are excused and their reminders cancelled."""
    from testrota.actions.exemptions import AddExemption, OutOfScope, add_exemption

    try:
        out = add_exemption(
            app,
            AddExemption(
                body.employee_no,
                body.start_date,
                body.end_date,
                body.reason,
                Actor.web(user.name),
                scope=scope,
            ),
        )
    except (OutOfScope, UnknownEmployeeNo) as exc:
        raise HTTPException(404, "no such person in your departments") from exc
    except AmbiguousEmployeeNo as exc:
        return _ambiguous(exc)
    except UserError as exc:
        raise _user_error(exc) from exc
    doc: dict[str, Any] = jsonable(out, app.tz)
    return doc


@router.post(
    "/exemptions/{exemption_id}/end",
    response_model=ExemptionEndedOut,
    tags=["compliance"],
    responses={**AUTH, **BAD_INPUT, **NOT_FOUND},
)
def api_exemption_end(
    app: AppDep,
    scope: SupervisorScope,
    user: CurrentUser,
    exemption_id: IdPath,
    body: ExemptionEndIn,
) -> dict[str, Any]:
    """End an exemption early: `back_on` is the person's first day back (one not begun by
    then is removed); the coming appointments it excused are scheduled again."""
    from testrota.actions.exemptions import EndExemption, NoSuchExemption, end_exemption

    try:
        out = end_exemption(
            app,
            EndExemption(exemption_id, Actor.web(user.name), back_on=body.back_on, scope=scope),
        )
    except NoSuchExemption as exc:
        raise HTTPException(404, "no such exemption in your departments") from exc
    except UserError as exc:
        raise _user_error(exc) from exc
    return {**jsonable(out, app.tz), "removed": out.removed}


@router.get("/alerts", tags=["compliance"], responses=AUTH)
def api_alerts(app: AppDep, scope: SupervisorScope, closed: bool = False) -> list[dict[str, Any]]:
    """Open positive-result alerts (closed ones too with `closed=true`) with their contacts.

    A supervisor gets the alerts that concern their departments and only their own people as
    contacts; a case in another department comes as `case_visible: false`, without its name,
    employee number, department or grid unit."""
    from testrota.actions.alerts import Alerts, list_alerts

    rows: list[dict[str, Any]] = jsonable(list_alerts(app, Alerts(scope, closed=closed)), app.tz)
    return rows


@router.get(
    "/status/{employee_no}",
    response_model=StatusOut,
    tags=["check-in"],
    responses={**AUTH, **NOT_FOUND, **AMBIGUOUS},
)
def api_status(app: AppDep, scope: LookupScope, employee_no: str) -> dict[str, Any] | JSONResponse:
    """Green (compliant this week), amber (due) or red (overdue) for one person. The number
    may be typed loosely (case, full-width forms, spaces, missing leading zeros)."""
    from testrota.actions.status import Status, person_status

    try:
        status = person_status(app, Status(employee_no, scope))
    except AmbiguousEmployeeNo as exc:
        return _ambiguous(exc)
    except UserError as exc:  # nobody in scope has that number (or none was given)
        raise HTTPException(404, "no such person") from exc
    doc: dict[str, Any] = jsonable(status, app.tz)
    return doc


@router.post(
    "/checkin",
    response_model=CheckInOut,
    tags=["check-in"],
    responses={**AUTH, **BAD_INPUT, **AMBIGUOUS},
)
def api_checkin(
    app: AppDep, user: CheckinUser, scope: LookupScope, body: CheckInIn
) -> dict[str, Any] | JSONResponse:
    """Record that a person was sampled now (at a site); a repeat in one slot is a no-op."""
    try:
        result = check_in(
            app,
            CheckIn(
                body.employee_no,
                Actor.web(user.name),
                site=body.site,
                tube=body.tube,
                scope=scope,
            ),
        )
    except AmbiguousEmployeeNo as exc:
        return _ambiguous(exc)
    except UserError as exc:
        raise _user_error(exc) from exc
    out: dict[str, Any] = jsonable(result, app.tz)
    return out


@router.get(
    "/schedule", response_model=ScheduleOut, tags=["schedule"], responses={**AUTH, **BAD_INPUT}
)
def api_schedule(
    app: AppDep,
    session: SessionDep,
    scope: SupervisorScope,
    week: Week = "",
    site: Annotated[str, Query(max_length=40)] = "",
    person: Annotated[str, Query(max_length=64, description="an employee number")] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> dict[str, Any]:
    """The week's appointments (not cancelled), by start time."""
    try:
        week = weeks.normalise(week, app.now(), app.tz)
    except UserError as exc:
        raise _user_error(exc) from exc
    total, page, rows = appointments_page(
        session, scope, week, site=site, employee_no=person, page=page, page_size=page_size
    )
    return {
        "week": week,
        "total": total,
        "page": page,
        "pages": max(1, -(-total // page_size)),
        "appointments": rows,
    }


@router.get("/roles", response_model=list[RoleOut], tags=["people"], responses=AUTH)
def api_roles(app: AppDep, user: HRUser, unmatched: bool = False) -> list[dict[str, Any]]:
    """Every distinct (role, department) with its head-count and category (HR)."""
    rows: list[dict[str, Any]] = jsonable(list_roles(app, ListRoles(unmatched_only=unmatched)))
    return rows


@router.post(
    "/people/{employee_no}/override",
    response_model=OverrideOut,
    tags=["people"],
    responses={**AUTH, **BAD_INPUT, **NOT_FOUND},
)
def api_override(app: AppDep, user: HRUser, employee_no: str, body: OverrideIn) -> dict[str, Any]:
    """Set one person's category (a code, a name, `none`), or `clear` the override (HR): the
    same rules as `testrota override`."""
    try:
        result = override_person(
            app, OverridePerson(employee_no, body.category, body.reason, Actor.web(user.name))
        )
    except NoSuchPerson:
        raise HTTPException(404, "no such person") from None
    except UserError as exc:
        raise _user_error(exc) from exc
    plain: dict[str, Any] = jsonable(result)
    return plain


@router.post(
    "/roles/map", response_model=RoleMappedOut, tags=["people"], responses={**AUTH, **BAD_INPUT}
)
def api_map_role(app: AppDep, user: HRUser, body: MapRoleIn) -> dict[str, Any]:
    """Map a role title (in one department, or all) to a category or `none`, or `clear` the
    mapping (HR): the same rules as `testrota roles map` and `roles unmap`."""
    try:
        result = map_role(
            app,
            MapRole(
                body.role,
                body.category,
                body.reason,
                Actor.web(user.name),
                department=body.department,
            ),
        )
    except UserError as exc:
        raise _user_error(exc) from exc
    plain: dict[str, Any] = jsonable(result)
    return plain


@router.get("/outbox", response_model=OutboxOut, tags=["texts"], responses=AUTH)
def api_outbox(
    app: AppDep,
    session: SessionDep,
    user: HRUser,
    scope: SupervisorScope,
    status: Annotated[str, Query(max_length=20)] = "",
    kind: Annotated[str, Query(max_length=40)] = "",
    q: Annotated[str, Query(max_length=64)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """Texts with their status, newest first (HR)."""
    result = outbox(
        session,
        scope,
        phone_region=app.policy.phone_region,
        status=status,
        kind=kind,
        q=q,
        page=page,
        page_size=page_size,
    )
    return {
        "total": result.total,
        "page": result.page,
        "pages": result.pages,
        "counts": result.counts,
        "messages": result.rows,
    }
