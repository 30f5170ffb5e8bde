"""Response models of the JSON API: what ``/openapi.json`` documents."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from testrota.web.ids import MAX_ID


class SessionInfo(BaseModel):
    name: str
    role: str = Field(description="admin, hr, supervisor or site")
    departments: list[str] = Field(description="departments a supervisor sees; [] = all or none")
    language: str
    csrf_token: str = Field(description="send as X-CSRF-Token with POST requests")


class PersonOut(BaseModel):
    employee_no: str
    name: str
    department: str
    grid_unit: str
    role: str
    phone: str | None
    phone_valid: bool
    person_type: str
    active: bool
    opted_out: bool
    risk_category: str | None = Field(description="a category code, or null: not high-risk")
    risk_categories: list[str]
    matched_by: str | None
    matched_text: str | None


class PeopleOut(BaseModel):
    total: int
    page: int
    pages: int
    people: list[PersonOut]


class AppointmentOut(BaseModel):
    week: str
    site: str
    starts_at: datetime
    ends_at: datetime
    status: str
    reason: str
    excused_reason: str | None = None


class TestOut(BaseModel):
    __test__ = False
    sampled_at: datetime
    result: str
    source: str
    site: str | None


class MessageOut(BaseModel):
    id: int
    kind: str
    due_at: datetime
    sent_at: datetime | None
    status: str
    error: str | None
    body: str = Field(description="the text; its personal link is cut (/me/…)")


class PersonDetailOut(PersonOut):
    override_category: str | None
    override_reason: str | None
    appointments: list[AppointmentOut]
    tests: list[TestOut]
    messages: list[MessageOut]


class MissedOut(BaseModel):
    employee_no: str
    name: str
    department: str
    grid_unit: str
    role: str
    category: str | None
    phone: str | None
    site: str
    slot_start: datetime
    slot_end: datetime
    week: str
    tests_this_week: int
    required: int
    compliant_this_week: bool
    last_test_date: str | None
    weeks_missed_in_row: int
    appointment_id: int


class StatusOut(BaseModel):
    employee_no: str
    name: str
    department: str
    grid_unit: str
    active: bool
    week: str
    status: str = Field(description="green: compliant this week; amber: due; red: overdue")
    tests_this_week: int
    required: int
    missed_this_week: int
    compliant: bool
    last_test_at: datetime | None
    next_slot_start: datetime | None
    next_slot_site: str | None
    state: str = Field(
        default="ok",
        description="ok, due, missed (the week's light), pool_positive (a pooled tube was "
        "positive: a single-tube recheck is due), positive (an open alert) or inactive",
    )


class CheckInIn(BaseModel):
    employee_no: str = Field(
        min_length=1, max_length=64, description="an employee number or a personal code"
    )
    site: str | None = Field(default=None, max_length=40)
    tube: str | None = Field(
        default=None, max_length=40, description="the open tube the swab goes into"
    )


class CheckInOut(BaseModel):
    status: str = Field(description="recorded or already_checked_in")
    recorded: bool
    employee_no: str
    name: str
    department: str
    grid_unit: str
    site: str | None
    at: datetime
    expected: bool
    slot_start: datetime | None
    slot_end: datetime | None
    next_slot_start: datetime | None
    next_slot_site: str | None
    tests_this_week: int
    required: int
    message: str
    identified_by: str = Field(default="employee_no", description="employee_no or code")
    tube: str | None = None
    tube_places_left: int | None = None
    tube_closed: bool = False


class ExcuseIn(BaseModel):
    employee_no: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=400)
    appointment_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    week: str | None = Field(default=None, pattern=r"^\d{4}-?[Ww]\d{1,2}$")


class ExcuseOut(BaseModel):
    employee_no: str
    name: str
    reason: str
    excused_by: str
    excused: list[dict[str, object]]


class ExemptionOut(BaseModel):
    """An exemption as `testrota exempt list --json` prints it, with `source`."""

    id: int
    employee_no: str
    name: str
    department: str
    grid_unit: str
    start_date: date = Field(description="the first day excused")
    end_date: date = Field(description="the last day excused, included")
    reason: str
    created_by: str = Field(description="who added it: door and name, e.g. web:hr1")
    created_at: datetime
    source: str = Field(description="positive: added by a positive result; manual: by a person")


class ExemptionIn(BaseModel):
    employee_no: str = Field(min_length=1, max_length=64)
    start_date: date = Field(description="the first day excused")
    end_date: date = Field(description="the last day excused, included")
    reason: str = Field(min_length=1, max_length=400)


class ExemptedOut(BaseModel):
    """An exemption added, as `testrota exempt add --json` prints it."""

    id: int
    employee_no: str
    name: str
    start_date: date
    end_date: date
    reason: str
    code: str | None
    created_by: str
    excused: list[dict[str, object]] = Field(description="the appointments it excused")


class ExemptionEndIn(BaseModel):
    back_on: date | None = Field(
        default=None, description="the person's first day back (default today)"
    )


class ExemptionEndedOut(BaseModel):
    """An exemption ended, as `testrota exempt end --json` prints it."""

    id: int
    employee_no: str
    name: str
    start_date: date
    previous_end: date
    end_date: date | None = Field(description="its last day now; null: removed, not begun")
    reason: str
    restored: list[int] = Field(description="ids of the appointments scheduled again")
    removed: bool


class ScheduleRowOut(BaseModel):
    employee_no: str
    name: str
    department: str
    site: str
    starts_at: datetime
    ends_at: datetime
    status: str
    grid_unit: str


class ScheduleOut(BaseModel):
    week: str
    total: int
    page: int
    pages: int
    appointments: list[ScheduleRowOut]


class RoleOut(BaseModel):
    role: str
    department: str
    head_count: int
    category: str | None
    matched_by: str | None
    matched_text: str | None
    other_count: int


class OverrideIn(BaseModel):
    category: str = Field(
        min_length=1,
        max_length=100,
        description=(
            "a category code or name of risk_categories.yaml, 'none' (not high-risk) or 'clear' "
            "(remove the override)"
        ),
    )
    reason: str = Field(max_length=400, description="why; kept in the audit log")


class OverrideOut(BaseModel):
    employee_no: str
    category: str | None = Field(description="the person's category now; null: not high-risk")
    old_category: str | None
    released: int = Field(description="coming appointments given up (no longer high-risk)")
    cleared: bool = Field(description="the override was removed: the rules decide again")


class MapRoleIn(BaseModel):
    role: str = Field(min_length=1, max_length=200, description="the title as the roster has it")
    category: str = Field(
        min_length=1,
        max_length=100,
        description=(
            "a category code or name, 'none' (not high-risk) or 'clear' (remove the mapping)"
        ),
    )
    reason: str = Field(max_length=400)
    department: str | None = Field(
        default=None, max_length=200, description="only this department; omit for every one"
    )


class RoleMappedOut(BaseModel):
    role: str
    department: str
    category: str | None
    old_category: str | None
    had_override: bool
    affected: int = Field(description="people reclassified")
    released: int
    cleared: bool


class OutboxRowOut(BaseModel):
    id: int
    kind: str
    to: str
    due_at: datetime
    sent_at: datetime | None
    status: str
    attempts: int
    provider_status: str | None
    error_code: str | None
    error_message: str | None
    employee_no: str | None
    body: str = Field(description="the text; its personal link is cut (/me/…)")


class OutboxOut(BaseModel):
    total: int
    page: int
    pages: int
    counts: dict[str, int]
    messages: list[OutboxRowOut]


class TrendWeekOut(BaseModel):
    week: str = Field(description="ISO week, e.g. 2022-W19")
    first: str = Field(description="its Monday")
    last: str = Field(description="its last day counted: Sunday, or the report's day")
    required: int
    tested: int
    rate: float | None = Field(description="tested / required; null for a week nobody was due")


class TrendOut(BaseModel):
    unit: str = Field(description="the unit's full path")
    day: str
    weeks: list[TrendWeekOut]
