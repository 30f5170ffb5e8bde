"""The compliance area's services: what the CLI, the web pages and the jobs call.

Each function takes the engine, ``now`` and the policy; the lists and reports flag what is due
before they read, so they are current whether or not a job has run. Functions a supervisor's
page calls take ``departments`` (None: all departments).

- :func:`import_results` reads a result sheet; :func:`record_result` records one result.
- :func:`flag_missed` / :func:`flag_due` flag what is due (the jobs call them every few minutes).
- :func:`missed_list`, :func:`compliance_report`, :func:`person_status` read.
- :func:`excuse` excuses appointments; :func:`list_alerts` / :func:`close_alert` for positives.
"""

from __future__ import annotations

from testrota.compliance.alerts import book_contacts, close_alert, list_alerts, raise_alerts
from testrota.compliance.excuse import OutOfScope, excuse
from testrota.compliance.flagging import FlagReport, flag_due, flag_missed, mark_done_for
from testrota.compliance.importing import import_results
from testrota.compliance.recording import record_result
from testrota.compliance.reports import MISSED_COLUMNS, compliance_report, missed_list
from testrota.compliance.standing import person_status

__all__ = [
    "MISSED_COLUMNS",
    "FlagReport",
    "OutOfScope",
    "book_contacts",
    "close_alert",
    "compliance_report",
    "excuse",
    "flag_due",
    "flag_missed",
    "import_results",
    "list_alerts",
    "mark_done_for",
    "missed_list",
    "person_status",
    "raise_alerts",
    "record_result",
]
