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
