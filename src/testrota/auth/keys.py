"""The key that signs sign-in cookies and personal links: refused when weak, made for the demo.

Outside the demo ``TESTROTA_SECRET_KEY`` must be set and long (see
:func:`testrota.settings.secret_key_problem`). The demo needs no configuration, but a key known
to everyone would let anyone forge a cookie or a personal link, so the demo makes a random key
the first time and keeps it in the database (``appsecret``): every process on that database
signs with the same key, and a restart keeps everyone signed in.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlmodel import Session

from testrota.db.models import AppSecret
from testrota.settings import Settings, SettingsError, secret_key_refusal

DEMO_KEY = "demo_signing_key"


def stored_key(engine: Engine, name: str, now: datetime) -> str:
    """The key called ``name`` kept in the database, made (randomly) on first use.

    Two processes starting together may both make one; the primary key lets one insert win and
    the other reads the winner's, so they agree.
    """
    for _ in range(2):
        with Session(engine) as session:
            row = session.get(AppSecret, name)
            if row is not None:
                return row.value
            session.add(AppSecret(name=name, value=secrets.token_urlsafe(48), created_at=now))
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                continue
    with Session(engine) as session:
        row = session.get(AppSecret, name)
        if row is None:  # pragma: no cover - only if the row vanished between two reads
            raise SettingsError("could not keep the {name} in the database", name=name)
        return row.value


def with_secret_key(settings: Settings, engine: Engine, now: datetime) -> Settings:
    """``settings`` with a key that may sign cookies and links, or :class:`SettingsError`.

    A set key must be long enough; with none set, the demo gets its key from the database.
    """
    if settings.secret_key or not settings.demo:
        refusal = secret_key_refusal(settings.secret_key)
        if refusal:
            raise refusal
        return settings
    try:
        key = stored_key(engine, DEMO_KEY, now)
    except (OperationalError, ProgrammingError) as exc:
        raise SettingsError(
            "the demo keeps its signing key in the database, which has no schema yet: run "
            "`testrota init` (or `testrota demo`) first"
        ) from exc
    return settings.model_copy(update={"secret_key": key})
