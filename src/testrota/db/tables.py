"""Every model's table, typed, for SQLAlchemy Core (bulk reads and writes, conditional
updates). ``Model.__table__`` is untyped in SQLModel; these come from the metadata instead, and
a test checks each is its model's own table."""

from __future__ import annotations

from sqlalchemy import Table
from sqlmodel import SQLModel

import testrota.db.models  # noqa: F401  (defines the tables)


def _table(name: str) -> Table:
    return SQLModel.metadata.tables[name]


PERSON = _table("person")
ROLE_OVERRIDE = _table("roleoverride")
ROSTER_IMPORT = _table("rosterimport")
AUDIT_EVENT = _table("auditevent")
SITE = _table("site")
SLOT = _table("slot")
APPOINTMENT = _table("appointment")
EXEMPTION = _table("exemption")
TEST_RESULT = _table("testresult")
ALERT = _table("alert")
ALERT_CONTACT = _table("alertcontact")
ALERT_NOTE = _table("alertnote")
MESSAGE = _table("message")
SMS_RECEIPT = _table("smsreceipt")
INBOUND_MESSAGE = _table("inboundmessage")
USER = _table("user")
WEB_SESSION = _table("websession")
APP_SECRET = _table("appsecret")
JOB_RUN = _table("jobrun")
JOB_HEARTBEAT = _table("jobheartbeat")
LOGIN_ATTEMPT = _table("loginattempt")
WEB_UPLOAD = _table("webupload")
RESCHEDULE_OFFER = _table("rescheduleoffer")
SMS_BUDGET = _table("smsbudget")
PLAN_RUN = _table("planrun")
TUBE = _table("tube")
TUBE_MEMBER = _table("tubemember")
ORG_UNIT = _table("orgunit")
REPORT_CONFIRMATION = _table("reportconfirmation")
SCAN_RECEIPT = _table("scanreceipt")
UNIT_MODE_CHANGE = _table("unitmodechange")
UNIT_DAY = _table("unitday")
UNIT_HEADS = _table("unitheads")
ROLLUP_DIRTY = _table("rollupdirty")
PERSON_DAY = _table("personday")
PERSON_WEEK_ROW = _table("personweek")
WEEK_COVERED = _table("weekcovered")
WEEKLY_DIRTY = _table("weeklydirty")
