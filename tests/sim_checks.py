"""The simulated week against its ground truth, and the figures a run is measured by.

:func:`check` returns every discrepancy as one line of text (an empty list: the system did
exactly what the truth says); :func:`figures` the wall time, memory, throughput and size.
"""

from __future__ import annotations

import bisect
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from testrota.jobs.worker import JOBS
from testrota.notify.outbox import (
    KIND_DIGEST,
    KIND_MISSED,
    KIND_POSITIVE,
    REMINDER_KINDS,
)
from tests.sim_rules import is_quiet
from tests.sim_week import SimResult
from tests.sim_world import (
    Expectation,
    expected_alert_texts,
    expected_compliance,
    expected_contacts,
    expected_digests,
    expected_missed,
    expected_missed_notices,
    expected_reminders,
)

FIGURES = (
    "people",
    "required",
    "scheduled",
    "done",
    "missed",
    "excused",
    "tests",
    "compliant_people",
)
SHOW = 8  # examples listed per kind of discrepancy


def _some(items: Any) -> str:
    items = sorted(items, key=str)
    more = f" (and {len(items) - SHOW} more)" if len(items) > SHOW else ""
    return ", ".join(str(i) for i in items[:SHOW]) + more


class _Texts:
    """The texts that really went out: accepted at the fake server, tied to outbox rows."""

    def __init__(self, result: SimResult, problems: list[str]) -> None:
        self.rows_by_sid: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.rows_by_key = {r["dedupe_key"]: r for r in result.messages}
        for row in result.messages:
            if row["provider_sid"]:
                self.rows_by_sid[row["provider_sid"]].append(row)
        accepted = {m["sid"]: m for m in result.fake_messages}
        self.accepted = accepted
        orphans = [sid for sid in accepted if len(self.rows_by_sid.get(sid, [])) != 1]
        if orphans:
            problems.append(
                f"{len(orphans)} texts at the provider match no outbox row (or "
                f"several): {_some(orphans)}"
            )
        unconfirmed = [
            r["id"]
            for r in result.messages
            if r["status"] in ("sent", "delivered") and r["provider_sid"] not in accepted
        ]
        if unconfirmed:
            problems.append(
                f"{len(unconfirmed)} outbox rows say sent but the provider has no "
                f"such text: rows {_some(unconfirmed)}"
            )
        per_body = Counter((m["to"], m["body"]) for m in result.fake_messages)
        twice = [to for (to, _), n in per_body.items() if n > 1]
        if twice or result.fake_stats.get("duplicates"):
            problems.append(
                f"{len(twice)} texts reached the provider more than once (to {_some(twice)})"
            )
        self.sent: dict[str, dict[str, Any]] = {}
        for sid in accepted:
            rows = self.rows_by_sid.get(sid, [])
            if len(rows) == 1:
                self.sent[rows[0]["dedupe_key"]] = rows[0]

    def of_kind(self, *kinds: str) -> dict[str, dict[str, Any]]:
        return {k: r for k, r in self.sent.items() if r["kind"] in kinds}


def _compare(
    name: str,
    expectation: Expectation,
    sent: dict[str, dict[str, Any]],
    texts: _Texts,
    problems: list[str],
    tolerated: list[str],
) -> int:
    """Add the discrepancies; returns how many texts injected failures explain."""
    missing = [k for k in expectation.must if k not in sent]
    lost = []
    for key in missing:
        row = texts.rows_by_key.get(key)
        # A send that failed (as injected) is retried at the next round; by then its slot may
        # have started (it expires, correctly not sent late) or the person checked in (it is
        # cancelled). Only a failed send leaves a row unsent with an attempt counted (a claim
        # given back untouched, or deferred for quiet hours, takes its attempt back).
        if (
            row is not None
            and row["status"] in ("expired", "failed", "cancelled")
            and row["attempts"] > 0
        ):
            lost.append(key)
    if lost:
        tolerated.append(f"{len(lost)} {name} lost to injected provider failures: {_some(lost)}")
    really_missing = [k for k in missing if k not in lost]
    if really_missing:
        details = [
            f"{k} ({texts.rows_by_key[k]['status']})"
            if k in texts.rows_by_key
            else f"{k} (no outbox row)"
            for k in really_missing
        ]
        problems.append(
            f"{len(really_missing)} {name} that had to go out did not: {_some(details)}"
        )
    wrong = [f"{k} ({expectation.never[k]})" for k in sent if k in expectation.never]
    if wrong:
        problems.append(f"{len(wrong)} {name} went out that must not have: {_some(wrong)}")
    unexpected = [
        k
        for k in sent
        if k not in expectation.must and k not in expectation.maybe and k not in expectation.never
    ]
    if unexpected:
        problems.append(f"{len(unexpected)} {name} went out unaccounted for: {_some(unexpected)}")
    return len(lost)


def _round_of(result: SimResult, starts: list[float], real: float) -> int | None:
    i = bisect.bisect_right(starts, real) - 1
    if i < 0:
        return None
    log = result.rounds[i]
    return log.step if real <= log.real_end + 0.5 else None


def check(result: SimResult) -> tuple[list[str], list[str]]:
    """``(problems, tolerated)``: discrepancies with the truth, and losses the injected faults
    explain (texts not sent late)."""
    problems = list(result.problems)
    tolerated: list[str] = []
    world = result.world
    policy = world.policy
    rules = policy.reminders
    texts = _Texts(result, problems)

    # When each text went out, on the simulated clock: the round the provider received it in.
    starts = [r.real_start for r in result.rounds]
    late, quiet, outside = [], [], []
    for sid, message in texts.accepted.items():
        rows = texts.rows_by_sid.get(sid, [])
        if len(rows) != 1:
            continue
        row = rows[0]
        k = _round_of(result, starts, float(message["created"]))
        if k is None:
            outside.append(row["dedupe_key"])
            continue
        at = world.steps[k]
        if row["expires_at"] is not None and at >= row["expires_at"]:
            late.append(f"{row['dedupe_key']} at {at}")
        if row["kind"] != KIND_POSITIVE or not rules.alerts_ignore_quiet_hours:
            zone = ZoneInfo(row["tz"] or policy.timezone)
            if is_quiet(at, zone, rules):
                quiet.append(f"{row['dedupe_key']} at {at.astimezone(zone):%a %H:%M}")
    if outside:
        problems.append(
            f"{len(outside)} texts reached the provider outside any round: {_some(outside)}"
        )
    if late:
        problems.append(f"{len(late)} texts went out after they expired: {_some(late)}")
    if quiet:
        problems.append(f"{len(quiet)} texts went out in quiet hours: {_some(quiet)}")

    lost = _compare(
        "reminders",
        expected_reminders(world),
        texts.of_kind(*REMINDER_KINDS),
        texts,
        problems,
        tolerated,
    )
    lost += _compare(
        "missed-test notices",
        expected_missed_notices(world),
        texts.of_kind(KIND_MISSED),
        texts,
        problems,
        tolerated,
    )
    lost += _compare(
        "positive-result alerts",
        expected_alert_texts(world, result.alerts, result.users),
        texts.of_kind(KIND_POSITIVE),
        texts,
        problems,
        tolerated,
    )
    if lost > sum(result.injected.values()):
        problems.append(
            f"{lost} texts not sent after failed sends, more than the "
            f"{sum(result.injected.values())} failures injected"
        )
    digest_spec = next(j for j in JOBS if j.id == "supervisors_digest")
    # The digest's time is the policy's, as the workers read it.
    digests = expected_digests(
        world,
        result.users,
        world.policy.jobs.digest_time,
        timedelta(seconds=digest_spec.misfire_grace_time),
    )
    sent_digests = texts.of_kind(KIND_DIGEST)
    if set(sent_digests) != set(digests):
        problems.append(f"digests: expected {_some(digests)}, sent {_some(sent_digests)}")
    wrong_count = [
        k for k, n in digests.items() if k in sent_digests and str(n) not in sent_digests[k]["body"]
    ]
    if wrong_count:
        problems.append(f"digests with the wrong count: {_some(wrong_count)}")
    known = {*REMINDER_KINDS, KIND_MISSED, KIND_POSITIVE, KIND_DIGEST}
    other = [k for k, r in texts.sent.items() if r["kind"] not in known]
    if other:
        problems.append(f"{len(other)} texts of kinds nobody asked for: {_some(other)}")

    refused = [m["to"] for m in result.fake_messages if m["to"] in result.refused_phones]
    if refused:
        problems.append(f"{len(refused)} texts accepted for numbers that refuse them (21610)")
    not_marked = result.refused_phones - set(result.outputs.get("opted_out", []))
    tried = {r["to"] for r in result.fake_received}
    if not_marked & tried:
        problems.append(
            f"numbers refused with 21610 not marked opted out: {_some(not_marked & tried)}"
        )
    if result.outputs.get("left_open"):
        problems.append(f"{result.outputs['left_open']} texts left sending or unknown")

    _check_missed(result, problems)
    _check_compliance(result, problems)
    _check_alerts(result, problems)
    _check_exemptions(result, problems)
    _check_jobs(result, problems)
    return problems, tolerated


def _check_missed(result: SimResult, problems: list[str]) -> None:
    truth = expected_missed(result.world)
    listed = [
        (r["employee_no"], datetime.fromisoformat(r["slot_start"]))
        for r in result.outputs["missed"]
    ]
    got = set(listed)
    if len(listed) != len(got):
        problems.append("the missed list names an appointment twice")
    if got != truth:
        problems.append(
            f"missed list: {len(got)} rows, truth {len(truth)}; listed but tested "
            f"or excused: {_some(got - truth)}; untested but not listed: "
            f"{_some(truth - got)}"
        )


def _check_compliance(result: SimResult, problems: list[str]) -> None:
    departments, total = expected_compliance(result.world)
    report = result.outputs["compliance"]
    got = {d["department"]: d for d in report["departments"]}
    if set(got) != set(departments):
        problems.append(f"compliance departments differ: {_some(set(got) ^ set(departments))}")
    for name, truth in departments.items():
        row = got.get(name)
        if row is None:
            continue
        diff = {f: (row[f], getattr(truth, f)) for f in FIGURES if row[f] != getattr(truth, f)}
        if diff:
            problems.append(f"compliance of {name}: (reported, truth) {diff}")
    diff = {
        f: (report["total"][f], getattr(total, f))
        for f in FIGURES
        if report["total"][f] != getattr(total, f)
    }
    if diff:
        problems.append(f"compliance total: (reported, truth) {diff}")


def _check_alerts(result: SimResult, problems: list[str]) -> None:
    world = result.world
    alerts = result.outputs["alerts"]
    if len(result.positives) != result.config.positives:
        problems.append(
            f"{len(result.positives)} positive results injected, {result.config.positives} planned"
        )
    if len(alerts) != len(result.positives):
        problems.append(f"{len(alerts)} alerts for {len(result.positives)} positive results")
    by_case = {(a["employee_no"], datetime.fromisoformat(a["sampled_at"])): a for a in alerts}
    for sample, window, moment, employee_no in result.positives:
        alert = by_case.get((employee_no, sample.at))
        if alert is None:
            problems.append(f"no alert for the positive result of {employee_no} at {sample.at}")
            continue
        truth = {
            world.people[pid].employee_no
            for pid in expected_contacts(world, sample, window, moment)
        }
        got = {c["employee_no"] for c in alert["contacts"]}
        if got != truth:
            problems.append(
                f"alert {alert['id']} ({employee_no}): contacts listed but not "
                f"contacts {_some(got - truth)}; contacts missing {_some(truth - got)}"
            )


def _check_exemptions(result: SimResult, problems: list[str]) -> None:
    """Each case is exempt for the days the truth says, and nobody is booked while exempt.
    (What the exemption did to the case's tests, texts and week is in the checks above.)"""
    world = result.world
    truth = {
        (world.people[e.person_id].employee_no, e.first.isoformat(), e.last.isoformat())
        for cases in world.exemptions().values()
        for e in cases
    }
    listed = [
        (r["employee_no"], r["start_date"], r["end_date"])
        for r in result.outputs["exemptions"]
        if r["reason"] == "positive"
    ]
    if sorted(listed) != sorted(truth):
        problems.append(f"positive exemptions: listed {_some(listed)}, truth {_some(truth)}")
    booked = [f"{a.id} ({a.starts_at})" for a in world.booked_while_exempt()]
    if booked:
        problems.append(
            f"{len(booked)} appointments booked for a case while exempt: {_some(booked)}"
        )


def _check_jobs(result: SimResult, problems: list[str]) -> None:
    week = result.config.week
    plans = [p for p in result.outputs["planruns"] if p["week"] == week]
    by = Counter(p["planned_by"] for p in plans)
    doors = Counter(str(actor).split(":", 1)[0] for actor in by.elements())
    if doors != Counter({"job": 1, "cli": 1}) or "job:plan_next_week" not in by:
        problems.append(
            f"{week} was planned {dict(by)} times (want once by a worker on "
            "Friday, once by the re-plan on Wednesday)"
        )
    runs = [
        r for r in result.outputs["jobruns"] if r["job"] == "plan_next_week" and r["period"] == week
    ]
    if len(runs) != 1 or not runs[0]["finished"]:
        problems.append(f"plan_next_week for {week}: job runs {runs}")
    digests = Counter(
        r["period"] for r in result.outputs["jobruns"] if r["job"] == "supervisors_digest"
    )
    if any(n != 1 for n in digests.values()):
        problems.append(f"a day's digest ran more than once: {dict(digests)}")


# ---------------------------------------------------------------- what a run is measured by


def figures(result: SimResult) -> dict[str, Any]:
    world = result.world
    sent_rounds = []
    for log in result.rounds:
        sent = sum(int(r.get("dispatch", {}).get("sent", 0)) for r in log.reports)
        if sent:
            sent_rounds.append((sent, log.real_end - log.real_start))
    texts = len(result.fake_messages)
    sending = sum(s for _, s in sent_rounds)
    kinds = Counter(
        r["kind"]
        for r in result.messages
        if r["provider_sid"] and r["status"] in ("sent", "delivered")
    )
    commands: dict[str, dict[str, float]] = {}
    for c in result.commands:
        entry = commands.setdefault(c.label, {"runs": 0, "seconds": 0.0, "peak_mb": 0.0})
        entry["runs"] += 1
        entry["seconds"] = round(entry["seconds"] + c.seconds, 2)
        entry["peak_mb"] = round(max(entry["peak_mb"], c.peak_mb), 1)
    week_appts = [a for a in world.appts.values() if world.in_week(a)]
    tested = world.tested_days()
    job_seconds: Counter[str] = Counter()
    for log in result.rounds:
        for report in log.reports:
            job_seconds.update(report.get("took", {}))
    return {
        "people": result.config.people,
        "database": result.config.database_url.split(":", 1)[0],
        "high_risk": result.counts.get("high_risk"),
        "appointments_in_week": len(week_appts),
        "appointments_cancelled": sum(1 for a in week_appts if a.cancelled is not None),
        "web_checkins": result.counts.get("web_checkins", 0),
        "lab_results": result.counts.get("lab_results", 0),
        "lab_imports": result.counts.get("lab_imports", 0),
        "positives": len(result.positives),
        # excused by a case's exemption (by the truth; the checks hold the system to it)
        "exempt_excused": sum(
            1
            for a in week_appts
            if a.excused is None and world.final_status(a, tested) == "excused"
        ),
        "steps": len(world.steps),
        "rounds": len(result.rounds),
        "texts_sent": texts,
        "texts_by_kind": dict(sorted(kinds.items())),
        "texts_per_second": round(texts / sending, 1) if sending else None,
        "texts_per_second_peak_round": round(
            max((n / s for n, s in sent_rounds if s > 0), default=0.0), 1
        ),
        "injected_faults": result.injected,
        "wall_seconds": {k: round(v, 1) for k, v in result.seconds.items()},
        "round_seconds_max": round(
            max((r.real_end - r.real_start for r in result.rounds), default=0.0), 2
        ),
        "worker_job_seconds": {k: round(v, 1) for k, v in job_seconds.most_common()},
        "peak_mb": {k: (round(v, 1) if v is not None else None) for k, v in result.peaks.items()},
        "commands": commands,
        "database_mb": round(result.db_bytes / 2**20, 1),
    }
