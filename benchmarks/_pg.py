"""A fresh PostgreSQL database for one benchmark run, dropped afterwards."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.engine import make_url

from testrota.db.engine import make_engine


def make_database(server: str, prefix: str) -> tuple[str, str]:
    """Create ``<prefix>_<random>`` on the server of ``server``; returns its URL and name."""
    url = make_url(server)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = make_engine(url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False), name


def drop_database(server: str, name: str) -> None:
    admin = make_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def database_mb(url: str) -> float:
    engine = make_engine(url)
    with engine.connect() as conn:
        size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
    engine.dispose()
    return int(size) / 2**20


class DatabaseCpu:
    """CPU seconds the server's backends for one database spent, read from ``/proc`` while a
    step runs (the server on this machine): a backend's process title names its database, and a
    backend that has exited is counted with its last reading. Other databases' work (other
    benchmarks on the same server) is not counted. None of it is seen for a remote server.
    """

    def __init__(self, name: str, every: float = 0.1) -> None:
        import threading

        self._name, self._every = name, every
        self._seen: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> DatabaseCpu:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._read()

    @property
    def seconds(self) -> float:
        return sum(self._seen.values())

    def _watch(self) -> None:
        while not self._stop.wait(self._every):
            self._read()

    def _read(self) -> None:
        import os
        from pathlib import Path

        tick = os.sysconf("SC_CLK_TCK")
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                title = (
                    (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                )
                if not title.startswith("postgres:") or f" {self._name} " not in title:
                    continue
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            self._seen[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
