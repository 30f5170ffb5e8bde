"""``testrota demo``: the sample rosters with a realistic past week, and demo users.

The seeding replays time instead of faking rows: the rosters are imported and each week is
planned "as of" the Friday before it, people check in at their slots (most of them; a few
never do, some of those week after week), the lab's results arrive as a result sheet, one of
them positive, and the missed tests are flagged at the real "now". Every step is the same
service the CLI and the pages call, so the demo shows what the product does, not a mock-up.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import random
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from testrota.audit import Actor
from testrota.auth.keys import with_secret_key
from testrota.auth.passwords import verify_password
from testrota.auth.users import add_user, update_user
from testrota.clock import clock_from_settings
from testrota.db.engine import make_engine, session_scope
from testrota.db.models import Appointment, Person, User
from testrota.errors import Phrase, UserError
from testrota.policy import Policy, load_policy
from testrota.settings import Settings

SAMPLE_ROSTERS = Path(__file__).resolve().parents[3] / "sample_rosters"
ACTOR = "demo"
SHOW_UP = 0.85  # share of appointments people turn up to
HABITUAL = 0.03  # share of people who never turn up (they miss week after week)


@dataclass(frozen=True)
class DemoUser:
    name: str
    password: str
    role: str
    departments: tuple[str, ...] = ()


@dataclass
class DemoReport:
    users: list[DemoUser] = field(default_factory=list)
    # what was seeded, as templates with parameters: printed in the reader's language
    facts: list[Phrase] = field(default_factory=list)

    def lines(self, say: Callable[..., str] | None = None) -> list[str]:
        """The facts in the language of ``say`` (a door's ``_(template, **params)``); by
        default the command line's, the door that prints them."""
        if say is None:
            from testrota.cli.lang import say as cli_say

            say = cli_say
        return [say(fact.template, **fact.params) for fact in self.facts]


def demo_settings(settings: Settings, host: str | None = None, port: int | None = None) -> Settings:
    """The demo runs with the console SMS backend, and with its database's own random key if
    none is set (see :mod:`testrota.auth.keys`). Its texts' links point where it serves
    (``host``, ``port``) unless ``TESTROTA_PUBLIC_URL`` says otherwise."""
    update: dict[str, object] = {"demo": True, "sms_backend": "console"}
    if port is not None and "public_url" not in settings.model_fields_set:
        shown = "127.0.0.1" if host in (None, "", "0.0.0.0", "::") else host
        update["public_url"] = f"http://{shown}:{port}"
    return settings.model_copy(update=update)


def rosters_dir(settings: Settings) -> Path:
    """``sample_rosters/`` next to the config directory (a checkout), else the package's."""
    beside = settings.config_dir.resolve().parent / "sample_rosters"
    return beside if beside.is_dir() else SAMPLE_ROSTERS


def seed_demo(settings: Settings, *, rng_seed: int = 42) -> DemoReport:
    """Seed an empty database; on one that has people already, only refresh the demo users."""
    from testrota.db.schema import upgrade

    engine = make_engine(settings.database_url)
    try:
        upgrade(engine)
        policy = load_policy(settings.config_dir)
        now = clock_from_settings(settings).now()
        # The links in the texts queued below are signed with the database's own demo key.
        settings = with_secret_key(settings, engine, now)
        report = DemoReport()
        with Session(engine) as session:
            has_people = session.exec(select(func.count()).select_from(Person)).one() > 0
        if has_people:
            report.facts.append(Phrase("the database has people already: kept as it is"))
        else:
            _seed(engine, settings, policy, now, report, random.Random(rng_seed))
        assert settings.secret_key is not None
        report.users = _users(engine, now, settings.secret_key)
        return report
    finally:
        engine.dispose()


def _local(day: date, at: time, policy: Policy) -> datetime:
    return datetime.combine(day, at, tzinfo=policy.tz)


def _monday(at: datetime, policy: Policy) -> date:
    day = at.astimezone(policy.tz).date()
    return day - timedelta(days=day.weekday())


def _week(day: date) -> str:
    year, number, _ = day.isocalendar()
    return f"{year}-W{number:02d}"


def _seed(
    engine: Engine,
    settings: Settings,
    policy: Policy,
    now: datetime,
    report: DemoReport,
    rng: random.Random,
) -> None:
    from testrota.actions.checkin import CheckIn, check_in
    from testrota.actions.flagging import FlagDue, flag_due
    from testrota.actions.plan import PlanWeek, plan_week
    from testrota.actions.results import ImportResults, import_results
    from testrota.actions.roster import ImportRoster, import_roster
    from testrota.app import build_app
    from testrota.clock import FixedClock
    from testrota.notify.enqueue import sync_reminders

    this_monday = _monday(now, policy)
    last_monday = this_monday - timedelta(days=7)
    files = sorted(p for p in rosters_dir(settings).glob("*.xlsx") if not p.name.startswith("~"))
    if not files:
        raise UserError("no sample rosters in {folder}", folder=rosters_dir(settings))
    imported_at = _local(last_monday - timedelta(days=4), time(9, 0), policy)
    people = high_risk = 0
    by_category: Counter[str] = Counter()
    hr = build_app(settings, engine=engine, clock=FixedClock(imported_at), policy=policy)
    for path in files:
        imported = import_roster(hr, ImportRoster(path, Actor.job("demo")))
        people += imported.added
        high_risk += imported.high_risk
        by_category.update(imported.high_risk_by_category)
        report.facts.append(
            Phrase(
                "  {file}: {rows} rows, {people} people, {high_risk} high-risk, "
                "{errors} row errors",
                file=path.name,
                rows=imported.rows,
                people=imported.added,
                high_risk=imported.high_risk,
                errors=len(imported.errors),
            )
        )
    report.facts.append(
        Phrase(
            "imported {n} sample rosters: {people} people, {high_risk} high-risk",
            n=len(files),
            people=people,
            high_risk=high_risk,
        )
    )
    report.facts.append(
        Phrase(
            "  high-risk by category: {counts}",
            counts=", ".join(f"{code} {n}" for code, n in by_category.most_common()),
        )
    )

    for monday in (last_monday, this_monday):
        planned_at = _local(monday - timedelta(days=3), time(12, 0), policy)
        planner = build_app(settings, engine=engine, clock=FixedClock(planned_at), policy=policy)
        plan = plan_week(planner, PlanWeek(Actor.job(ACTOR), _week(monday))).report
        report.facts.append(
            Phrase(
                "planned {week}: {scheduled} of {required} tests",
                week=plan["week"],
                scheduled=plan["scheduled"],
                required=plan["required"],
            )
        )

    with Session(engine) as session:
        due = session.execute(
            sa_select(
                col(Appointment.id),
                col(Person.employee_no),
                col(Appointment.site_code),
                col(Appointment.starts_at),
                col(Appointment.ends_at),
            )
            .join(Person, col(Person.id) == col(Appointment.person_id))
            .where(col(Appointment.status) == "scheduled", col(Appointment.ends_at) < now)
            .order_by(col(Appointment.starts_at))
        ).all()
    everyone = sorted({row[1] for row in due})
    habitual = (
        set(rng.sample(everyone, max(1, int(len(everyone) * HABITUAL)))) if everyone else set()
    )
    lab_rows: list[tuple[str, datetime]] = []
    checked_in = 0
    site_staff = build_app(settings, engine=engine, clock=FixedClock(now), policy=policy)
    for _id, employee_no, site, starts, ends in due:
        if employee_no in habitual or rng.random() > SHOW_UP:
            continue
        minutes = max(1, int((ends - starts).total_seconds() // 60))
        at = starts + timedelta(minutes=rng.randrange(minutes))
        if starts >= _local(this_monday, time(0), policy):
            # This week's visits go through the site check-in, as the page records them.
            site_staff.clock = FixedClock(at)
            check_in(site_staff, CheckIn(employee_no, Actor.job("demo"), site=site))
            checked_in += 1
        lab_rows.append((employee_no, at))
    report.facts.append(
        Phrase(
            "{n} check-ins at the sites this week, {samples} samples in all",
            n=checked_in,
            samples=len(lab_rows),
        )
    )

    last_week = [r for r in lab_rows if r[1] < _local(this_monday, time(0), policy)]
    this_week = [r for r in lab_rows if r[1] >= _local(this_monday, time(0), policy)]
    positive = (this_week or last_week)[-1] if lab_rows else None
    with tempfile.TemporaryDirectory(prefix="testrota-demo-") as tmp:
        for rows, at in (
            (last_week, _local(this_monday - timedelta(days=1), time(20, 0), policy)),
            (this_week, now - timedelta(minutes=30)),
        ):
            if not rows:
                continue
            path = Path(tmp) / f"lab-{_week(rows[0][1].astimezone(policy.tz).date())}.csv"
            with path.open("w", encoding="utf-8", newline="") as fh:
                writer = csv.writer(fh)
                writer.writerow(["工号", "采样时间", "检测结果", "检测机构"])
                for employee_no, sampled in rows:
                    result = "阳性" if (employee_no, sampled) == positive else "阴性"
                    local_at = sampled.astimezone(policy.tz).strftime("%Y-%m-%d %H:%M")
                    writer.writerow([employee_no, local_at, result, "本溪市第一检测中心"])
            lab = build_app(
                settings,
                engine=engine,
                policy=policy,
                clock=FixedClock(max(at, rows[-1][1] + timedelta(hours=1))),
            )
            results = import_results(lab, ImportResults(path, Actor.job("demo")))
            report.facts.append(
                Phrase(
                    "lab results {name}: {recorded} recorded, {positives} positive",
                    name=path.stem,
                    recorded=results.recorded,
                    positives=results.positives,
                )
            )

    flagged = flag_due(
        build_app(settings, engine=engine, clock=FixedClock(now), policy=policy), FlagDue()
    )
    report.facts.append(
        Phrase(
            "flagged at {at}: {what}",
            at=f"{now.astimezone(policy.tz):%Y-%m-%d %H:%M}",
            what=_describe(flagged),
        )
    )
    sync = sync_reminders(engine, now, policy, settings)
    report.facts.append(
        Phrase(
            "reminders queued for the next {hours} h: {n}",
            hours=policy.reminders.horizon_hours,
            n=sync.created,
        )
    )


def _describe(flagged: Any) -> str:
    parts = [f"{k} {v}" for k, v in vars(flagged).items() if isinstance(v, int)]
    return ", ".join(parts) or str(flagged)


def _users(engine: Engine, now: datetime, key: str) -> list[DemoUser]:
    """Create the demo users, or bring them back to their demo role and password; supervisors
    get the two departments with the most missed tests, so their pages have something to show.

    The passwords are derived from the database's own demo key: the same on every run against
    one database (so a restart neither changes them nor, by changing them, signs anyone out),
    different for every database, and unknown to anyone who cannot read it.
    """
    with Session(engine) as session:
        missed = Counter(
            dict(
                session.exec(
                    select(Person.department, func.count())
                    .join(Appointment, col(Appointment.person_id) == col(Person.id))
                    .where(col(Appointment.status) == "missed")
                    .group_by(col(Person.department))
                ).all()
            )
        )
        departments = [d for d, _ in missed.most_common(2)] or sorted(
            {d for d in session.exec(select(Person.department).distinct()) if d}
        )[:2]
    wanted = [
        DemoUser("admin", _password(key, "admin"), "admin"),
        DemoUser("hr", _password(key, "hr"), "hr"),
    ]
    for i, dept in enumerate(departments, start=1):
        name = f"supervisor{i}"
        wanted.append(DemoUser(name, _password(key, name), "supervisor", (dept,)))
    wanted.append(DemoUser("site", _password(key, "site"), "site"))
    with session_scope(engine) as session:
        existing = {u.name: u for u in session.exec(select(User))}
        for u in wanted:
            user = existing.get(u.name)
            if user is None or user.id is None:
                add_user(
                    session,
                    name=u.name,
                    role=u.role,
                    password=u.password,
                    departments=u.departments,
                    language="zh",
                    now=now,
                    actor=Actor.job(ACTOR),
                )
                continue
            same_password = verify_password(user.password_hash, u.password)
            if (
                same_password
                and user.active
                and user.role == u.role
                and (list(user.departments) == list(u.departments))
            ):
                continue
            update_user(
                session,
                user.id,
                now=now,
                actor=Actor.job(ACTOR),
                role=u.role,
                departments=u.departments,
                active=True,
                password=None if same_password else u.password,
            )
    return wanted


def _password(key: str, name: str) -> str:
    digest = hmac.new(
        key.encode("utf-8"), f"testrota demo user {name}".encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest[:9]).decode("ascii")
