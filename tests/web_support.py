"""Helpers for the web tests: an app on the test database, users, sign-in, people."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import select

from testrota.auth.users import add_user
from testrota.db.engine import session_scope
from testrota.db.models import Appointment, Person, Site, Slot
from testrota.settings import Settings, get_settings
from tests.conftest import CONFIG_DIR

SECRET = "test-secret-key-that-is-long-enough-0123456789"
# Wednesday of ISO week 2022-W19, 10:00 in Shanghai
NOW = "2022-05-11T10:00:00+08:00"
PASSWORD = "correct horse battery"


def web_settings_for(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "config_dir": CONFIG_DIR,
        "secret_key": SECRET,
        "now": NOW,
    }
    values.update(overrides)
    return get_settings(**values)


def make_user(
    engine: Engine,
    name: str,
    role: str,
    departments: Iterable[str] = (),
    password: str = PASSWORD,
    language: str = "en",
) -> None:
    with session_scope(engine) as s:
        add_user(
            s,
            name=name,
            role=role,
            password=password,
            departments=departments,
            language=language,
            now=datetime(2022, 5, 1, tzinfo=UTC),
        )


def soup(response: Any) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def csrf_of(client: TestClient, path: str = "/login") -> str:
    page = soup(client.get(path))
    meta = page.select_one('meta[name="csrf-token"]')
    assert meta is not None, "no csrf meta on " + path
    return str(meta["content"])


def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> Any:
    token = csrf_of(client)
    response = client.post(
        "/login",
        data={"username": name, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return response


def post_form(
    client: TestClient,
    path: str,
    data: dict[str, Any],
    *,
    page: str | None = None,
    files: Any = None,
) -> Any:
    """POST a form the way a browser does: with the CSRF token of the page it came from."""
    token = csrf_of(client, page or "/login")
    return client.post(
        path, data={**data, "csrf_token": token}, files=files, follow_redirects=False
    )


def add_people(engine: Engine, rows: Iterable[dict[str, Any]]) -> None:
    at = datetime(2022, 5, 1, tzinfo=UTC)
    with session_scope(engine) as s:
        for row in rows:
            s.add(Person(**{"created_at": at, "updated_at": at, **row}))


def two_departments(engine: Engine) -> None:
    """A small roster: 炼钢厂 (steel plant) and 物流部 (logistics), some high-risk."""
    add_people(
        engine,
        [
            {
                "employee_no": "A001",
                "name": "张伟",
                "department": "炼钢厂",
                "grid_unit": "炼钢一班",
                "role": "司机",
                "phone": "+8613800000001",
                "risk_category": "driver",
                "risk_categories": "driver",
                "matched_by": "title",
                "matched_text": "司机",
            },
            {
                "employee_no": "A002",
                "name": "王芳",
                "department": "炼钢厂",
                "grid_unit": "炼钢一班",
                "role": "炉前工",
                "phone": "+8613800000002",
            },
            {
                "employee_no": "B001",
                "name": "李娜",
                "department": "物流部",
                "grid_unit": "物流二组",
                "role": "装卸工",
                "phone": "+8613900000001",
                "risk_category": "cargo_transfer",
                "risk_categories": "cargo_transfer",
                "matched_by": "title",
                "matched_text": "装卸工",
            },
            {
                "employee_no": "B002",
                "name": "刘洋",
                "department": "物流部",
                "grid_unit": "物流二组",
                "role": "叉车司机",
                "phone": "+8613900000002",
                "risk_category": "driver",
                "risk_categories": "driver",
                "matched_by": "title",
                "matched_text": "司机",
            },
        ],
    )


SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(text: str) -> datetime:
    """``"2022-05-09 08:00"`` in Shanghai, as an aware datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def add_site(engine: Engine, code: str = "S1", name: str = "一号检测点") -> None:
    with session_scope(engine) as s:
        s.add(Site(code=code, name=name))


def add_slot(
    engine: Engine, start: str, *, site: str = "S1", minutes: int = 15, capacity: int = 10
) -> int:
    starts = local(start)
    year, week, _ = starts.date().isocalendar()
    with session_scope(engine) as s:
        slot = Slot(
            site_code=site,
            week=f"{year}-W{week:02d}",
            starts_at=starts,
            ends_at=starts + timedelta(minutes=minutes),
            capacity=capacity,
        )
        s.add(slot)
        s.flush()
        assert slot.id is not None
        return slot.id


def book(engine: Engine, employee_no: str, slot_id: int, status: str = "scheduled") -> int:
    with session_scope(engine) as s:
        person = s.exec(select(Person).where(Person.employee_no == employee_no)).one()
        slot = s.get(Slot, slot_id)
        assert slot is not None and person.id is not None
        appt = Appointment(
            person_id=person.id,
            slot_id=slot_id,
            site_code=slot.site_code,
            week=slot.week,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            grid_unit=person.grid_unit,
            status=status,
            created_at=slot.starts_at - timedelta(days=3),
            updated_at=slot.starts_at - timedelta(days=3),
        )
        s.add(appt)
        s.flush()
        assert appt.id is not None
        return appt.id


def week19(engine: Engine) -> dict[str, int]:
    """Two departments' high-risk people booked in 2022-W19; Monday's slot has passed untested.

    At NOW (Wednesday 10:00) the Monday appointments of A001, B001 and B002 are missed;
    the Thursday ones are still to come.
    """
    two_departments(engine)
    add_site(engine)
    mon = add_slot(engine, "2022-05-09 08:00")
    thu = add_slot(engine, "2022-05-12 08:00")
    thu2 = add_slot(engine, "2022-05-12 09:00")
    ids = {"mon": mon, "thu": thu, "thu2": thu2}
    for no in ("A001", "B001", "B002"):
        ids[f"{no}-mon"] = book(engine, no, mon)
        ids[f"{no}-thu"] = book(engine, no, thu)
    return ids


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_server(
    database_url: str,
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 30,
    healthy: bool = True,
) -> Iterator[str]:
    """``testrota serve`` in its own process on a free port; yields its base URL once
    ``/healthz`` says 200 (``healthy=False``: once it answers at all, a 503 when the server's
    database is down)."""
    port = free_port()
    environment = {
        **os.environ,
        "TESTROTA_DATABASE_URL": database_url,
        "TESTROTA_CONFIG_DIR": str(CONFIG_DIR),
        "TESTROTA_SECRET_KEY": SECRET,
        "TESTROTA_NOW": NOW,
        **(env or {}),
    }
    exe = Path(sys.executable).with_name("testrota")
    proc = subprocess.Popen(
        [str(exe), "serve", "--host", "127.0.0.1", "--port", str(port), *args],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                output = proc.stdout.read() if proc.stdout else ""
                raise RuntimeError(f"testrota serve exited: {output}")
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=1) as r:
                    if r.status == 200:
                        break
            except urllib.error.HTTPError:
                if not healthy:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("testrota serve did not answer /healthz in time")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


CHROMIUM = Path("/usr/bin/chromium")
PHONE = {"width": 390, "height": 844}  # a cheap Android phone
DESKTOP = {"width": 1366, "height": 768}  # an office laptop
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def sign_in_page(page: Any, base: str, name: str, password: str = PASSWORD) -> None:
    """Sign in on the staff sign-in page as a person does: type, press the button."""
    page.goto(f"{base}/login")
    page.fill('input[name="username"]', name)
    page.fill('input[name="password"]', password)
    page.click("button.primary")
    page.wait_for_load_state()


def skip_without_browser() -> bool:
    """Whether the browser tests skip: only where Debian's chromium is missing and the run does
    not require it. CI sets ``TESTROTA_REQUIRE_BROWSER=1``: a missing browser fails there."""
    return not CHROMIUM.exists() and not os.environ.get("TESTROTA_REQUIRE_BROWSER")
