"""A simulated week of production: real processes on one database, a clock that jumps.

:func:`run_week` starts the fake Twilio server (latency, injected 5xx / 429 / dropped
connections, numbers that answer 21610), two ``testrota serve`` processes and three simulation
workers (:mod:`tests.sim_worker`: the worker's jobs on the simulated clock), all reading "now"
from one clock file. It then moves the clock from the Friday before an ISO week to the Monday
after, in steps (half an hour by day, an hour at night), and at each step

1. acts as the people and staff would *before* the workers look (``pre``): imports the roster,
   replies STOP, excuses appointments, checks people in early, imports lab results, re-imports
   a roster without the people who left and re-plans, injects provider failures;
2. lets every worker run one round (the jobs due, then one dispatcher pass that sends what is
   due) while site staff check people in through the web app at the same time (``round``);
3. waits until every worker has finished and nothing due is left unsent, then reads what the
   system booked (new appointments, cancellations).

Everything the driver did is recorded in a :class:`~tests.sim_world.World`; at the end
:mod:`tests.sim_checks` compares the system's texts (counted at the fake server), missed list,
compliance figures and alerts with what must follow from it. ``benchmarks/simulate_week.py``
runs it at any size; ``tests/test_simulated_week.py`` at 2,000 people on both databases.
"""

from __future__ import annotations

import csv
import json
import logging
import random
import shutil
import sys
import threading
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import Engine, func, select, text

from testrota.clock import write_clock_file
from testrota.db.engine import make_engine
from testrota.db.models import Appointment, Message, Person, Site, User
from testrota.notify import claims
from testrota.policy import Policy, load_policy
from tests.sim_procs import (
    ROOT,
    FakeTwilioProcess,
    Finished,
    Fleet,
    LineProcess,
    Running,
    WebProcess,
    base_env,
    cli_argv,
    run_measured,
)
from tests.sim_web import WebUser, inbound_text
from tests.sim_world import (
    EARLY,
    EXCUSED,
    LAB,
    PRE,
    ROUND,
    UNTESTED,
    WEB,
    ApptTruth,
    Moment,
    PersonTruth,
    SampleTruth,
    UserTruth,
    World,
    floor_step,
    step_times,
)

log = logging.getLogger("tests.sim_week")

SECRET = "simulated-week-secret-key-0123456789abcdef"
# http: the session cookie of an https site is Secure, and the simulated staff use plain http.
PUBLIC_URL = "http://rota.example-steel.com"
PASSWORD = "simulated week password 1"
FAULT_KINDS = ("503", "503", "429", "drop_before", "drop_after")

A = Appointment.__table__
P = Person.__table__
M = Message.__table__
S = Site.__table__
U = User.__table__


@dataclass
class SimConfig:
    database_url: str
    workdir: Path
    people: int = 2000
    week: str = "2022-W19"
    seed: int = 7
    step_minutes: int = 30
    night_step_minutes: int = 180  # from 22:00 to 06:00 only flagging and alerts happen
    web_processes: int = 2
    workers: int = 3
    latency: float = 0.02  # seconds the fake Twilio API takes per request
    share_untested: float = 0.06
    share_lab: float = 0.2
    share_early: float = 0.03
    excuses: int = 0  # 0: about one in 400 appointments, at least 3
    stops: int = 0  # 0: about one in 200 high-risk people, at least 3
    refusals: int = 0  # numbers the provider refuses with 21610; 0: as many as stops
    leavers: int = 0  # people missing from Wednesday's full roster; 0: as many as stops
    positives: int = 2
    checkin_threads: int = 4
    sms_concurrency: int = 8
    capacity_scale: int = 0  # multiply the sites' capacity; 0: enough for ``people``
    faults: bool = True  # inject 5xx, 429 and dropped connections at the fake, once a day
    progress: bool = False  # one line per simulated day on stderr

    def scaled(self, value: int, per: int, least: int) -> int:
        return value or max(least, self.people // per)


@dataclass
class RoundLog:
    step: int
    at: datetime
    real_start: float  # the machine's clock (epoch seconds), as the fake server stamps texts
    real_end: float
    reports: list[dict[str, Any]]
    checkins: int = 0


@dataclass
class SimResult:
    config: SimConfig
    world: World
    users: list[UserTruth]
    rounds: list[RoundLog]
    problems: list[str]  # from running the week (errors seen by a user, failed commands)
    commands: list[Finished]
    peaks: dict[str, float | None]
    outputs: dict[str, Any]  # missed, compliance, alerts as the CLI printed them
    messages: list[dict[str, Any]]  # the outbox at the end
    fake_messages: list[dict[str, Any]]
    fake_received: list[dict[str, Any]]
    fake_stats: dict[str, Any]
    alerts: dict[int, int]  # alert id -> case person id
    positives: list[tuple[SampleTruth, tuple[datetime, datetime], Moment, str]]
    refused_phones: set[str]
    injected: dict[str, int]
    db_bytes: int
    seconds: dict[str, float]
    counts: dict[str, int] = field(default_factory=dict)


# ---------------------------------------------------------------- set-up


def sim_config_dir(target: Path, config: SimConfig) -> Path:
    """A copy of ``config/`` for the run: no sender rate limit, and sites big enough."""
    shutil.copytree(ROOT / "config", target, dirs_exist_ok=True)
    policy = yaml.safe_load((target / "policy.yaml").read_text(encoding="utf-8"))
    policy["sms"].update(
        {"rate_per_second": 0, "concurrency": config.sms_concurrency, "batch_size": 200}
    )
    (target / "policy.yaml").write_text(
        yaml.safe_dump(policy, allow_unicode=True), encoding="utf-8"
    )
    # The shipped sites hold about 11,000 tests a week; a third of the roster is high-risk
    # and needs two each.
    scale = config.capacity_scale or max(1, -(-int(config.people * 0.8) // 11_000))
    if scale > 1:
        sites = yaml.safe_load((target / "sites.yaml").read_text(encoding="utf-8"))
        sites["capacity"] = int(sites.get("capacity", 20)) * scale
        for site in sites["sites"]:
            if "capacity" in site:
                site["capacity"] = int(site["capacity"]) * scale
        (target / "sites.yaml").write_text(
            yaml.safe_dump(sites, allow_unicode=True), encoding="utf-8"
        )
    return target


def _generator() -> Any:
    """``benchmarks/generate_roster.py``: the synthetic group roster."""
    if str(ROOT / "benchmarks") not in sys.path:
        sys.path.insert(0, str(ROOT / "benchmarks"))
    import generate_roster

    return generate_roster


def _roster_rows(n: int, seed: int) -> list[list[str | int]]:
    return list(_generator().people(n, seed))


def _write_roster_csv(path: Path, rows: list[list[str | int]], leave_out: set[str]) -> Path:
    """The same roster as a CSV, without the people in ``leave_out`` (employee numbers; a
    number cell and its text are the same employee number once imported)."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(_generator().HEADER)
        for row in rows:
            if str(row[0]) not in leave_out:
                writer.writerow(row)
    return path


# ---------------------------------------------------------------- the run


class Simulation:
    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.work = config.workdir
        self.work.mkdir(parents=True, exist_ok=True)
        self.logs = self.work / "logs"
        self.clock_file = self.work / "clock"
        self.config_dir = sim_config_dir(self.work / "config", config)
        self.policy: Policy = load_policy(self.config_dir)
        self.tz: ZoneInfo = self.policy.tz
        self.rng = random.Random(config.seed)
        self.engine: Engine = make_engine(config.database_url)
        self.fleet = Fleet()
        self.problems: list[str] = []
        self.commands: list[Finished] = []
        self.rounds: list[RoundLog] = []
        self.alerts: dict[int, int] = {}
        self.positives: list[tuple[SampleTruth, tuple[datetime, datetime], Moment, str]] = []
        self.injected: dict[str, int] = defaultdict(int)
        self.refused_phones: set[str] = set()
        self.users: list[UserTruth] = []
        self.counts: dict[str, int] = defaultdict(int)
        self.timing: dict[str, float] = defaultdict(float)
        self._max_appt = 0
        self._site_tz: dict[str, ZoneInfo] = {}
        self._lab_pending: list[tuple[ApptTruth, SampleTruth]] = []
        self._web_at: dict[int, list[ApptTruth]] = defaultdict(list)
        self._early_at: dict[int, list[ApptTruth]] = defaultdict(list)
        self._excuse_at: dict[int, list[ApptTruth]] = defaultdict(list)
        self._positive_appts: set[int] = set()
        self._chosen = False
        self._faulted: set[date] = set()
        self.stoppers: list[int] = []
        self.leavers: list[int] = []
        self.refusers: list[int] = []
        self._local = threading.local()
        self._web_users: list[WebUser] = []
        self._web_lock = threading.Lock()
        monday = date.fromisocalendar(*_iso(config.week), 1)
        self.week_start = datetime.combine(monday, dtime(0), tzinfo=self.tz).astimezone(UTC)
        self.week_end = datetime.combine(
            monday + timedelta(days=7), dtime(0), tzinfo=self.tz
        ).astimezone(UTC)
        start = datetime.combine(monday - timedelta(days=3), dtime(10), tzinfo=self.tz)
        # The Monday after: Sunday's missed tests are flagged in the night, their notices and
        # the supervisors' digest go out in the morning.
        end = datetime.combine(monday + timedelta(days=7), dtime(8), tzinfo=self.tz)
        steps = step_times(
            start,
            end.astimezone(UTC),
            self.tz,
            config.step_minutes,
            config.night_step_minutes,
            (self.policy.reminders.quiet_start, dtime(6)),
            extra=[datetime.combine(monday - timedelta(days=3), dtime(12), tzinfo=self.tz)],
            sparse_until=datetime.combine(
                monday - timedelta(days=1), dtime(16), tzinfo=self.tz
            ).astimezone(UTC),
        )
        self.world = World(
            steps=steps,
            policy=self.policy,
            week=config.week,
            week_start=self.week_start,
            week_end=self.week_end,
        )
        self.leave_step = self._step_of(monday + timedelta(days=2), dtime(12))
        self.stop_step = self._step_of(monday, dtime(12))

    # ------------------------------------------------------------------ helpers
    def _step_of(self, day: date, at: dtime) -> int:
        when = datetime.combine(day, at, tzinfo=self.tz).astimezone(UTC)
        k = self.world.step_at_or_after(when)
        assert k is not None
        return k

    def env(self) -> dict[str, str]:
        return base_env(
            TESTROTA_DATABASE_URL=self.config.database_url,
            TESTROTA_CONFIG_DIR=str(self.config_dir),
            TESTROTA_CLOCK_FILE=str(self.clock_file),
            TESTROTA_SECRET_KEY=SECRET,
            TESTROTA_PUBLIC_URL=PUBLIC_URL,
            **self.fake.env(),
        )

    def command(self, label: str, *args: str, check: bool = True) -> Finished:
        done = run_measured(label, cli_argv(*args), self.env())
        self.commands.append(done)
        if check and done.returncode != 0:
            raise RuntimeError(
                f"`testrota {' '.join(args)}` failed ({done.returncode}):\n{done.stderr[-3000:]}"
            )
        return done

    def problem(self, text: str) -> None:
        with self._web_lock:
            self.problems.append(text)

    # ------------------------------------------------------------------ start and stop
    def start(self) -> None:
        write_clock_file(self.clock_file, self.world.steps[0])
        self.fake = FakeTwilioProcess(self.logs, latency=self.config.latency)
        self.fleet.add(self.fake)
        self.command("init", "init")
        self._add_users()
        env = self.env()
        webs = [
            WebProcess(env, self.logs, f"web-{i + 1}") for i in range(self.config.web_processes)
        ]
        for web in webs:
            self.fleet.add(web)
        self.webs = webs
        self.workers = [
            LineProcess(
                [sys.executable, "-m", "tests.sim_worker"], env, self.logs, f"worker-{i + 1}"
            )
            for i in range(self.config.workers)
        ]
        for worker in self.workers:
            self.fleet.add(worker)
        for web in webs:
            web.wait_ready()
        self.hr = WebUser(webs[0].base_url, "sim-hr", PASSWORD)

    def _add_users(self) -> None:
        from testrota.auth.users import add_user
        from testrota.db.engine import session_scope

        rows = _roster_rows(min(self.config.people, 5000), self.config.seed)
        departments = sorted({str(r[2]) for r in rows})
        now = self.world.steps[0]
        specs: list[tuple[str, str, list[str], str | None]] = [
            ("sim-hr", "hr", [], "+8617000000001"),
            ("sim-site", "site", [], None),
        ]
        per = 5
        for i in range(0, len(departments), per):
            specs.append(
                (
                    f"sim-sup-{i // per + 1}",
                    "supervisor",
                    departments[i : i + per],
                    f"+86170000001{i // per:02d}",
                )
            )
        with session_scope(self.engine) as session:
            for name, role, depts, phone in specs:
                add_user(
                    session,
                    name=name,
                    role=role,
                    password=PASSWORD,
                    now=now,
                    departments=depts,
                    phone=phone,
                    language="zh",
                    actor="sim",
                )
        with self.engine.connect() as conn:
            for r in conn.execute(select(U.c.id, U.c.name, U.c.role, U.c.departments, U.c.phone)):
                self.users.append(
                    UserTruth(r.id, r.name, r.role, tuple(r.departments or ()), r.phone)
                )

    def stop(self) -> dict[str, float | None]:
        for user in self._web_users:
            user.close()
        hr = getattr(self, "hr", None)
        if hr is not None:
            hr.close()
        self.fleet.stop_all()
        return {s.label: s.peak_mb for s in self.fleet.services}

    # ------------------------------------------------------------------ the web side
    def _site_user(self) -> WebUser:
        user: WebUser | None = getattr(self._local, "user", None)
        if user is None:
            with self._web_lock:
                web = self.webs[len(self._web_users) % len(self.webs)]
                user = WebUser(web.base_url, "sim-site", PASSWORD)
                self._web_users.append(user)
            self._local.user = user
        return user

    def _check_in(self, appt: ApptTruth, k: int, phase: str, site: str | None) -> None:
        person = self.world.people[appt.person_id]
        response = self._site_user().check_in(person.employee_no, site)
        if response.status_code != 200:
            self.problem(
                f"check-in of {person.employee_no} at {self.world.steps[k]} answered "
                f"{response.status_code}: {response.text[:300]}"
            )
            return
        body = response.json()
        if body.get("status") != "recorded":
            self.problem(
                f"check-in of {person.employee_no} at {self.world.steps[k]} was not "
                f"recorded: {body.get('message')}"
            )
            return
        sample = SampleTruth(
            appt.person_id,
            self.world.steps[k],
            body.get("site") or site,
            "checkin",
            "pending",
            Moment(k, PRE if phase == PRE else ROUND),
        )
        with self._web_lock:
            self.world.samples.append(sample)
            self.counts["web_checkins"] += 1

    # ------------------------------------------------------------------ reading the system
    def sync_people(self) -> None:
        from testrota.compliance.facts import rate_lookup

        rates = rate_lookup(self.config_dir, self.policy)
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(
                    P.c.id,
                    P.c.employee_no,
                    P.c.phone,
                    P.c.department,
                    P.c.grid_unit,
                    P.c.risk_category,
                    P.c.override_category,
                )
            )
            for r in rows:
                if r.id in self.world.people:
                    continue
                category = (
                    (r.override_category or None)
                    if r.override_category is not None
                    else r.risk_category
                )
                self.world.people[r.id] = PersonTruth(
                    r.id,
                    r.employee_no,
                    r.phone,
                    r.department,
                    r.grid_unit,
                    category,
                    rates(category) if category else 0,
                )
            self._site_tz = {
                r.code: ZoneInfo(r.timezone) for r in conn.execute(select(S.c.code, S.c.timezone))
            }

    def sync_appointments(self, k: int, phase: str) -> list[ApptTruth]:
        """Appointments booked and cancelled since the last look, seen at ``(k, phase)``."""
        moment = Moment(k, PRE if phase == PRE else ROUND)
        new: list[ApptTruth] = []
        with self.engine.connect() as conn:
            if not self._site_tz:
                self._site_tz = {
                    r.code: ZoneInfo(r.timezone)
                    for r in conn.execute(select(S.c.code, S.c.timezone))
                }
            for r in conn.execute(
                select(
                    A.c.id,
                    A.c.person_id,
                    A.c.starts_at,
                    A.c.ends_at,
                    A.c.site_code,
                    A.c.week,
                    A.c.reason,
                    A.c.status,
                )
                .where(A.c.id > self._max_appt)
                .order_by(A.c.id)
            ):
                if r.site_code not in self._site_tz:
                    self._site_tz = {
                        s.code: ZoneInfo(s.timezone)
                        for s in conn.execute(select(S.c.code, S.c.timezone))
                    }
                appt = ApptTruth(
                    r.id,
                    r.person_id,
                    r.starts_at,
                    r.ends_at,
                    r.site_code,
                    r.week,
                    r.reason,
                    self._site_tz.get(r.site_code, self.tz),
                    moment,
                )
                self.world.appts[r.id] = appt
                self._max_appt = max(self._max_appt, r.id)
                new.append(appt)
                if r.status == "cancelled":
                    appt.cancelled = moment
            for r in conn.execute(
                select(A.c.id).where(
                    A.c.status == "cancelled",
                    A.c.updated_at >= self.world.steps[k],
                    A.c.id <= self._max_appt,
                )
            ):
                appt = self.world.appts[r.id]
                if appt.cancelled is None:
                    appt.cancelled = moment
                    self.counts["cancelled"] += 1
        if new and self._chosen:
            self._assign(new, k)
        return new

    # ------------------------------------------------------------------ deciding who does what
    def _assign(self, appts: list[ApptTruth], k: int) -> None:
        """Give each new appointment of the week what its person will do, and when."""
        c = self.config
        for appt in sorted(appts, key=lambda a: a.id):
            if not self.world.in_week(appt) or appt.cancelled is not None:
                continue
            web_step = floor_step(self.world, appt.starts_at)
            local = appt.starts_at.astimezone(self.tz)
            early_step = self._step_of(local.date(), self.policy.reminders.quiet_end)
            r = self.rng.random()
            if r < c.share_untested:
                appt.action = UNTESTED
            elif r < c.share_untested + c.share_lab:
                appt.action = LAB
            elif (
                r < c.share_untested + c.share_lab + c.share_early
                and local.hour >= 9
                and early_step > k
            ):
                appt.action = EARLY
            else:
                appt.action = WEB
            if appt.action in (WEB, EARLY) and web_step <= k:
                appt.action = LAB  # booked too late to be caught at the site by the driver
            self._schedule(appt)

    def _schedule(self, appt: ApptTruth) -> None:
        if appt.action == WEB:
            self._web_at[floor_step(self.world, appt.starts_at)].append(appt)
        elif appt.action == EARLY:
            local = appt.starts_at.astimezone(self.tz)
            self._early_at[self._step_of(local.date(), self.policy.reminders.quiet_end)].append(
                appt
            )
        elif appt.action == LAB:
            slot = appt.ends_at - appt.starts_at
            at = appt.starts_at + min(timedelta(minutes=5), slot / 2)
            sample = SampleTruth(appt.person_id, at, appt.site, "lab", "negative", Moment(-1))
            self._lab_pending.append((appt, sample))

    def choose(self, k: int) -> None:
        """Once the week is planned: the special people and appointments, then everyone's
        action."""
        c = self.config
        week = [a for a in self.world.appts.values() if self.world.in_week(a)]
        people_with = defaultdict(list)
        for a in week:
            people_with[a.person_id].append(a)
        phone_count: dict[str, int] = defaultdict(int)
        for p in self.world.people.values():
            if p.phone:
                phone_count[p.phone] += 1
        candidates = sorted(
            pid
            for pid in people_with
            if self.world.people[pid].phone and phone_count[self.world.people[pid].phone or ""] == 1
        )
        self.rng.shuffle(candidates)
        n_stop = c.scaled(c.stops, 600, 3)
        n_refuse = c.scaled(c.refusals, 600, 3)
        n_leave = c.scaled(c.leavers, 600, 3)
        stop_at = self.world.steps[self.stop_step]
        leave_at = self.world.steps[self.leave_step]
        taken: set[int] = set()

        def pick(count: int, after: datetime) -> list[int]:
            out = []
            for pid in candidates:
                if pid in taken or not any(a.starts_at > after for a in people_with[pid]):
                    continue
                out.append(pid)
                taken.add(pid)
                if len(out) == count:
                    break
            return out

        self.stoppers = pick(n_stop, stop_at + timedelta(days=1))
        self.leavers = pick(n_leave, leave_at + timedelta(days=1))
        self.refusers = pick(n_refuse, self.world.steps[k])
        for pid in self.refusers:
            person = self.world.people[pid]
            person.refuses = True
            assert person.phone
            self.refused_phones.add(person.phone)
            self.fake.fail("21610", times=None, to=person.phone)
        self._chosen = True
        self._assign(week, k)
        # Excused the day before their slot, Tuesday to Sunday, by a supervisor.
        n_excuse = c.scaled(c.excuses, 400, 3)
        later = [
            a
            for a in week
            if a.action in (WEB, LAB, UNTESTED)
            and a.starts_at.astimezone(self.tz).weekday() >= 1
            and a.person_id not in taken
        ]
        self.rng.shuffle(later)
        for appt in later[:n_excuse]:
            self._unschedule(appt)
            day_before = appt.starts_at.astimezone(self.tz).date() - timedelta(days=1)
            self._excuse_at[self._step_of(day_before, dtime(12))].append(appt)
        # Positive lab results: Tuesday and Thursday morning slots, sampled and sent to the lab.
        mornings = [
            a
            for a in week
            if a.action == LAB
            and a.person_id not in taken
            and a.starts_at.astimezone(self.tz).weekday() in (1, 3)
            and a.starts_at.astimezone(self.tz).hour < 11
        ]
        self.rng.shuffle(mornings)
        # Cases with a test still to come in the week first: their exemption has something to
        # excuse (a case whose last test of the week was the positive one shows nothing).
        mornings.sort(
            key=lambda a: (
                not any(
                    b.starts_at > a.ends_at and b.action != EXCUSED
                    for b in people_with[a.person_id]
                )
            )
        )
        seen_units: set[str] = set()
        for appt in mornings:
            if len(self._positive_appts) >= c.positives:
                break
            unit = self.world.people[appt.person_id].unit
            if unit in seen_units:
                continue
            seen_units.add(unit)
            self._positive_appts.add(appt.id)

    def _unschedule(self, appt: ApptTruth) -> None:
        """Drop what was planned for ``appt`` (it is excused instead)."""
        if appt.action == LAB:
            self._lab_pending = [(a, s) for a, s in self._lab_pending if a.id != appt.id]
        appt.action = EXCUSED  # a web or early check-in planned for it checks its action

    # ------------------------------------------------------------------ acts before a round
    def _active(self, appt: ApptTruth) -> bool:
        """Whether the driver still acts on ``appt``: a case exempt by their positive result
        stays at home, so their coming check-ins and lab samples are dropped."""
        person = self.world.people[appt.person_id]
        return (
            appt.cancelled is None
            and appt.excused is None
            and person.deactivated is None
            and self.world.exempted(appt) is None
        )

    def pre(self, k: int) -> None:
        at = self.world.steps[k]
        if k == 0:
            roster = self.work / "roster.xlsx"
            _generator().generate_roster(self.config.people, roster, self.config.seed)
            summary = self.command("import", "import", str(roster), "--json").json()
            self.counts["imported"] = int(summary["added"])
            self.counts["high_risk"] = int(summary["high_risk"])
            self.sync_people()
        if k == self.stop_step:
            for pid in self.stoppers:
                person = self.world.people[pid]
                assert person.phone
                web = self.webs[pid % len(self.webs)]
                response = inbound_text(
                    web.base_url,
                    PUBLIC_URL,
                    self.fake.auth_token,
                    person.phone,
                    "STOP",
                    "SM" + uuid.uuid4().hex,
                )
                if response.status_code != 200:
                    self.problem(
                        f"STOP from {person.employee_no} answered "
                        f"{response.status_code}: {response.text[:200]}"
                    )
                    continue
                person.stopped = Moment(k, PRE)
        for appt in self._excuse_at.pop(k, []):
            if not self._active(appt):
                continue
            person = self.world.people[appt.person_id]
            response = self.hr.excuse(person.employee_no, appt.id, "病假 sick leave (simulated)")
            if response.status_code != 200:
                self.problem(
                    f"excusing {person.employee_no} answered {response.status_code}: "
                    f"{response.text[:300]}"
                )
                continue
            appt.excused = Moment(k, PRE)
            self.counts["excused"] += 1
        for appt in self._early_at.pop(k, []):
            if self._active(appt) and appt.action == EARLY:
                self._check_in(appt, k, PRE, appt.site)
                self.counts["early_checkins"] += 1
        if k == self.leave_step:
            self._leave(k)
        if self.config.faults:
            self._inject_faults(k, at)

    def _leave(self, k: int) -> None:
        """HR uploads Wednesday's full roster without the leavers, then re-plans the week."""
        leave_out = {self.world.people[pid].employee_no for pid in self.leavers}
        path = _write_roster_csv(
            self.work / "roster-wednesday.csv",
            _roster_rows(self.config.people, self.config.seed),
            leave_out,
        )
        summary = self.command("import --full", "import", str(path), "--full", "--json").json()
        if summary["deactivated"] != len(leave_out):
            self.problem(
                f"the full import deactivated {summary['deactivated']} people, "
                f"not the {len(leave_out)} left out"
            )
        for pid in self.leavers:
            self.world.people[pid].deactivated = Moment(k, PRE)
        self.command("plan (re-plan)", "plan", "--week", self.config.week, "--json")
        self.sync_appointments(k, PRE)

    def _lab_sheet(self, k: int) -> tuple[Path, list[tuple[ApptTruth, SampleTruth]]] | None:
        """The lab's result sheet due at step ``k``: sent just before the first of its samples
        would be flagged missed (two steps ahead), or at once when it holds a positive."""
        now = self.world.steps[k]
        ahead = self.world.steps[min(k + 2, len(self.world.steps) - 1)]
        grace = self.world.grace()
        ready = [(a, s) for a, s in self._lab_pending if s.at <= now and self._active(a)]
        urgent = (
            any(a.ends_at + grace < ahead for a, _ in ready)
            or k == len(self.world.steps) - 1
            or any(a.id in self._positive_appts for a, _ in ready)
        )
        if not ready or not urgent:
            return None
        path = self.work / f"lab-{k:04d}.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["工号", "采样时间", "检测结果", "采样点"])
            for appt, sample in ready:
                person = self.world.people[appt.person_id]
                result = "阳性" if appt.id in self._positive_appts else "阴性"
                writer.writerow(
                    [
                        person.employee_no,
                        sample.at.astimezone(self.tz).strftime("%Y-%m-%d %H:%M"),
                        result,
                        sample.site,
                    ]
                )
        taken = {id(s) for _, s in ready}
        self._lab_pending = [
            (a, s) for a, s in self._lab_pending if id(s) not in taken and self._active(a)
        ]
        return path, ready

    def _lab_recorded(
        self, k: int, done: Finished, ready: list[tuple[ApptTruth, SampleTruth]]
    ) -> None:
        """The lab sheet imported while the round ran: its samples count from then on."""
        self.commands.append(done)
        now = self.world.steps[k]
        if done.returncode != 0:
            self.problem(f"lab import at {now} failed ({done.returncode}): {done.stderr[-500:]}")
            return
        summary = done.json()
        if summary["unmatched"] or summary.get("errors") or summary["recorded"] != len(ready):
            self.problem(
                f"lab import at {now}: recorded {summary['recorded']} of {len(ready)}, "
                f"unmatched {summary['unmatched'][:3]}, errors "
                f"{summary.get('errors', [])[:3]}"
            )
        moment = Moment(k, ROUND)
        for appt, sample in ready:
            positive = appt.id in self._positive_appts
            recorded = SampleTruth(
                sample.person_id,
                sample.at,
                sample.site,
                "lab",
                "positive" if positive else "negative",
                moment,
            )
            self.world.samples.append(recorded)
            if positive:
                self.positives.append(
                    (
                        recorded,
                        (appt.starts_at, appt.ends_at),
                        moment,
                        self.world.people[appt.person_id].employee_no,
                    )
                )
        self.counts["lab_results"] += len(ready)
        self.counts["lab_imports"] += 1
        by_no = {p.employee_no: p.id for p in self.world.people.values()}
        for alert in summary.get("alerts", []):
            self.alerts[int(alert["alert_id"])] = by_no[alert["employee_no"]]

    def _inject_faults(self, k: int, at: datetime) -> None:
        """Once a day, into the evening's burst of reminders: two 503s, a 429, and two dropped
        connections (one before the provider accepted the text, one after)."""
        day = at.astimezone(self.tz).date()
        if day in self._faulted:
            return
        with self.engine.begin() as conn:
            backlog = claims.due_backlog(conn, at)
        if backlog < 8 * len(FAULT_KINDS):
            return
        self._faulted.add(day)
        for kind in FAULT_KINDS:
            self.fake.fail(kind, times=1)
            self.injected[kind] += 1

    # ------------------------------------------------------------------ a round
    def round(self, k: int) -> None:
        """One round of every worker while site staff check people in and the lab's sheet is
        imported; again while texts are still due (a retry, a lookup that found nothing)."""
        at = self.world.steps[k]
        checkins = [a for a in self._web_at.pop(k, []) if self._active(a) and a.action == WEB]
        sheet = self._lab_sheet(k)
        extra = 0
        while True:
            started = time.time()
            lab = (
                Running(
                    "results import",
                    cli_argv("results", "import", str(sheet[0]), "--json"),
                    self.env(),
                )
                if sheet
                else None
            )
            for worker in self.workers:
                worker.send({"round": k, "at": at.isoformat()})
            if checkins:
                with ThreadPoolExecutor(self.config.checkin_threads) as pool:
                    list(pool.map(lambda a: self._check_in(a, k, ROUND, a.site), checkins))
            reports = [worker.receive() for worker in self.workers]
            if lab is not None and sheet is not None:
                self._lab_recorded(k, lab.wait(), sheet[1])
            self.rounds.append(RoundLog(k, at, started, time.time(), reports, len(checkins)))
            checkins, sheet = [], None
            for report in reports:
                for job, error in report.get("errors", {}).items():
                    self.problem(f"worker job {job} failed at {at}: {error}")
            with self.engine.begin() as conn:
                backlog = claims.due_backlog(conn, at)
            if not backlog:
                return
            extra += 1
            self.counts["extra_rounds"] += 1
            if extra >= 3:
                self.problem(f"{backlog} texts still due at {at} after {extra + 1} rounds")
                return

    # ------------------------------------------------------------------ the whole week
    def run(self) -> None:
        steps = self.world.steps
        last_day: date | None = None
        for k, at in enumerate(steps):
            write_clock_file(self.clock_file, at)
            t0 = time.perf_counter()
            self.pre(k)
            t1 = time.perf_counter()
            self.round(k)
            t2 = time.perf_counter()
            self.sync_appointments(k, ROUND)
            t3 = time.perf_counter()
            self.timing["pre"] += t1 - t0
            self.timing["rounds"] += t2 - t1
            self.timing["sync"] += t3 - t2
            if not self._chosen and any(self.world.in_week(a) for a in self.world.appts.values()):
                self.choose(k)
            day = at.astimezone(self.tz).date()
            if self.config.progress and day != last_day:
                last_day = day
                print(
                    f"[sim] {at.astimezone(self.tz):%a %Y-%m-%d %H:%M} step {k}/{len(steps)}"
                    f", {len(self.world.appts)} appointments, {len(self.world.samples)} "
                    f"samples",
                    file=sys.stderr,
                    flush=True,
                )

    def finish(self) -> dict[str, Any]:
        week = self.config.week
        outputs = {
            "missed": self.command("missed", "missed", "--week", week, "--format", "json").json(),
            "compliance": self.command(
                "compliance", "compliance", "--week", week, "--format", "json"
            ).json(),
            "alerts": self.command("alerts", "alerts", "--all", "--format", "json").json(),
            "exemptions": self.command("exempt list", "exempt", "list", "--format", "json").json(),
        }
        with self.engine.connect() as conn:
            outputs["planruns"] = [
                dict(r._mapping)
                for r in conn.execute(text("SELECT week, planned_by FROM planrun ORDER BY id"))
            ]
            outputs["jobruns"] = [
                dict(r._mapping)
                for r in conn.execute(
                    text("SELECT job, period, finished_at IS NOT NULL AS finished FROM jobrun")
                )
            ]
            outputs["opted_out"] = [
                r[0] for r in conn.execute(select(P.c.phone).where(P.c.opted_out.is_(True)))
            ]
            outputs["left_open"] = int(
                conn.execute(
                    select(func.count())
                    .select_from(M)
                    .where(M.c.status.in_(("sending", "unknown")))
                ).scalar_one()
            )
        return outputs

    def messages(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [
                dict(r._mapping)
                for r in conn.execute(
                    select(
                        M.c.id,
                        M.c.kind,
                        M.c.dedupe_key,
                        M.c.to,
                        M.c.body,
                        M.c.status,
                        M.c.provider_sid,
                        M.c.error_code,
                        M.c.error_message,
                        M.c.attempts,
                        M.c.appointment_id,
                        M.c.person_id,
                        M.c.user_id,
                        M.c.expires_at,
                        M.c.tz,
                    ).order_by(M.c.id)
                )
            ]

    def db_bytes(self) -> int:
        if self.engine.dialect.name == "postgresql":
            with self.engine.connect() as conn:
                return int(
                    conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
                )
        path = Path(self.engine.url.database or "")
        return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


def _iso(week: str) -> tuple[int, int]:
    year, number = week.upper().split("-W")
    return int(year), int(number)


def run_week(config: SimConfig) -> SimResult:
    """Run the simulated week; what the checks need, whatever went wrong on the way."""
    started = time.perf_counter()
    sim = Simulation(config)
    seconds: dict[str, float] = {}
    outputs: dict[str, Any] = {}
    try:
        sim.start()
        seconds["start"] = time.perf_counter() - started
        week_started = time.perf_counter()
        sim.run()
        seconds["week"] = time.perf_counter() - week_started
        outputs = sim.finish()
        fake_messages = sim.fake.messages()
        fake_received = sim.fake.received()
        fake_stats = sim.fake.stats()
        messages = sim.messages()
        db_bytes = sim.db_bytes()
    finally:
        peaks = sim.stop()
        sim.engine.dispose()
    seconds["total"] = time.perf_counter() - started
    seconds.update({f"week_{k}": v for k, v in sim.timing.items()})
    return SimResult(
        config=config,
        world=sim.world,
        users=sim.users,
        rounds=sim.rounds,
        problems=sim.problems,
        commands=sim.commands,
        peaks=peaks,
        outputs=outputs,
        messages=messages,
        fake_messages=fake_messages,
        fake_received=fake_received,
        fake_stats=fake_stats,
        alerts=sim.alerts,
        positives=sim.positives,
        refused_phones=sim.refused_phones,
        injected=dict(sim.injected),
        db_bytes=db_bytes,
        seconds=seconds,
        counts=dict(sim.counts),
    )


def dump_json(path: Path, document: Any) -> None:
    path.write_text(
        json.dumps(document, ensure_ascii=False, indent=1, default=str) + "\n", encoding="utf-8"
    )
