"""The application: what every door (the CLI, the web app, the job worker) shares.

One :class:`App` per process, built from the settings by :func:`build_app`; every use case in
:mod:`testrota.actions` takes it as its first argument. It holds the handles only — settings,
engines, clock, and the configuration files, which are read again when they change on disk —
and no state of its own, so any number of processes can run against one database.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from testrota.clock import Clock, clock_from_settings
from testrota.policy import Policy, load_policy
from testrota.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

    # org.yaml's models are built when a command reads the group's units, not at start-up
    from testrota.org.config import OrgConfig
    from testrota.risk.vocabulary import Vocabulary

log = logging.getLogger(__name__)

T = TypeVar("T")


class ConfigFile(Generic[T]):
    """A configuration file's parsed content, read again when the file changes on disk.

    The first read raises on a bad file (a command cannot start on it); a later bad edit is
    logged and the last good content kept, so a typo saved into policy.yaml does not take a
    running web app or worker down. A stat per access costs a few microseconds.
    """

    def __init__(self, path: Path, load: Callable[[], T]) -> None:
        self.path = path
        self._load = load
        self._stamp: tuple[int, int] | None = None
        self._value: T | None = None
        self._lock = threading.Lock()

    def get(self) -> T:
        try:
            stat = self.path.stat()
            stamp: tuple[int, int] | None = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            stamp = None  # a missing file: the loader decides (defaults, or a clear error)
        if self._value is not None and stamp == self._stamp:
            return self._value
        with self._lock:
            if self._value is not None and stamp == self._stamp:
                return self._value
            try:
                value = self._load()
            except Exception:
                if self._value is None:
                    raise
                log.exception(
                    "%s changed but cannot be read; keeping the previous version", self.path
                )
                self._stamp = stamp
                return self._value
            self._value, self._stamp = value, stamp
            return value


@dataclass
class App:
    """Settings, engines, clock, policy and vocabulary: the handles every use case needs.

    Engines are made on first use, so a command that fails on its arguments never connects.
    """

    settings: Settings
    clock: Clock
    _engine: Engine | None = field(default=None, repr=False)
    _read_engine: Engine | None = field(default=None, repr=False)
    # The policy as given (tests that vary it), else policy.yaml, read again when it changes.
    fixed_policy: Policy | None = field(default=None, repr=False)
    _policy: ConfigFile[Policy] = field(init=False, repr=False)
    _org: ConfigFile[OrgConfig] = field(init=False, repr=False)
    # Re-entrant: the read engine is made from the primary one, under the same lock.
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _write_lock: AbstractContextManager[Any] | None = field(default=None, repr=False)
    _rollup_on: Engine | None = field(default=None, repr=False)  # the engine hooked last

    def __post_init__(self) -> None:
        config = self.settings.config_dir
        self._policy = ConfigFile(config / "policy.yaml", lambda: load_policy(config))
        self._org = ConfigFile(config / "org.yaml", lambda: _load_org(config))

    # --- configuration ----------------------------------------------------------------------

    @property
    def config_dir(self) -> Path:
        return self.settings.config_dir

    @property
    def policy(self) -> Policy:
        """``policy.yaml``, as it is on disk now."""
        return self.fixed_policy if self.fixed_policy is not None else self._policy.get()

    @property
    def org(self) -> OrgConfig:
        """``org.yaml`` (the group's root and level names, unit codes), as it is on disk now."""
        return self._org.get()

    @property
    def vocabulary(self) -> Vocabulary:
        """``risk_categories.yaml``, as it is on disk now (cached until the file changes)."""
        from testrota.risk.vocabulary import load_vocabulary

        return load_vocabulary(self.config_dir)

    # --- time ---------------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock.now()

    @property
    def tz(self) -> tzinfo:
        return self.policy.tz

    # --- database -----------------------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        """The primary database: every write, and reads that must see the latest writes."""
        engine = self._primary()
        if self._rollup_on is not engine:
            self._keep_rollup(engine)
        return engine

    def _primary(self) -> Engine:
        """The primary engine, made on first use, before the roll-ups' hooks are attached to
        it (:attr:`engine` attaches them): the hooks import the models, which a read with
        Core (the missed list) does not need."""
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    from testrota.db.engine import make_engine

                    self._engine = make_engine(self.settings.database_url)
        return self._engine

    def _keep_rollup(self, engine: Engine) -> None:
        """Every transaction committed on the primary counts the daily roll-up's keys it
        touched again first (:mod:`testrota.org.rollup`), in this app's zone and clock."""
        from testrota.org.rollup import attach

        # The hook holds the clock and the policy's source, not the app: an app holds its
        # engine, and the engine's hook must not keep it alive.
        clock, fixed, source = self.clock, self.fixed_policy, self._policy

        def context() -> tuple[Any, datetime] | None:
            policy = fixed if fixed is not None else source.get()
            return policy.tz, clock.now()

        attach(engine, context)
        self._keep_weekly(engine)
        self._rollup_on = engine

    def _keep_weekly(self, engine: Engine) -> None:
        """The weekly roll-up (:mod:`testrota.org.weekly`) is counted by the same hook, under
        this app's policy and categories' rates."""
        from testrota.compliance.facts import rate_lookup
        from testrota.org import weekly

        clock, fixed, source, config_dir = (
            self.clock,
            self.fixed_policy,
            self._policy,
            self.config_dir,
        )
        # the rates and fingerprint of the policy last seen: a check-in must not re-read the
        # categories' file
        cache: dict[str, Any] = {}

        def context() -> tuple[Any, Any, str, datetime] | None:
            policy = fixed if fixed is not None else source.get()
            if cache.get("policy") is not policy:
                cache.update(
                    policy=policy,
                    rates=rate_lookup(config_dir, policy),
                    print=weekly.fingerprint(policy, config_dir),
                )
            return policy, cache["rates"], cache["print"], clock.now()

        weekly.attach(engine, context)

    @property
    def read_engine(self) -> Engine:
        """For reads that may lag a little (pages, reports, exports).

        ``TESTROTA_READ_DATABASE_URL`` (a streaming replica) when set; else on SQLite a
        read-only engine on the same file that never takes the write lock, and on PostgreSQL
        the primary engine itself.
        """
        if self._read_engine is None:
            with self._lock:
                if self._read_engine is None:
                    self._read_engine = self._make_read_engine()
        return self._read_engine

    def _make_read_engine(self) -> Engine:
        from testrota.db.engine import make_engine, make_read_engine

        url = self.settings.read_database_url
        if url:
            return make_read_engine(make_engine(url))
        # On PostgreSQL this is the primary itself; every write goes through `engine`, which
        # attaches the hooks to this same object before its first commit.
        return make_read_engine(self._primary())

    @property
    def fresh_engine(self) -> Engine:
        """For reads that must see the latest write: a sign-in's session (a revoked one must
        fail at once), the scope it grants. The read engine when it reads the primary's own
        data (SQLite's read-only engine on the same file, PostgreSQL's primary), the primary
        itself when reads go to a replica that may lag."""
        return self.engine if self.settings.read_database_url else self.read_engine

    @property
    def write_lock(self) -> AbstractContextManager[Any]:
        """Taken around a use case's write in a process with many threads (the web app).

        SQLite has one writer at a time and makes the others poll with growing sleeps (up to
        100 ms each), which is what a page's tail latency then shows; queueing this process's
        writers on a lock hands over at once. PostgreSQL needs no such thing.
        """
        if self._write_lock is None:
            self._write_lock = (
                threading.Lock() if self.engine.dialect.name == "sqlite" else nullcontext()
            )
        return self._write_lock

    def close(self) -> None:
        """Dispose of the engines (end of a command, the web app's shutdown)."""
        if self._read_engine is not None and self._read_engine is not self._engine:
            self._read_engine.dispose()
        if self._engine is not None:
            self._engine.dispose()
        self._engine = self._read_engine = None


def build_app(
    settings: Settings,
    *,
    engine: Engine | None = None,
    clock: Clock | None = None,
    policy: Policy | None = None,
) -> App:
    """The app for ``settings``. An engine, a clock or a policy handed in is used instead of
    the one the settings name (tests; the web app, which checks its key on the engine first)."""
    return App(
        settings=settings,
        clock=clock or clock_from_settings(settings),
        _engine=engine,
        fixed_policy=policy,
    )


def _load_org(config_dir: Path) -> OrgConfig:
    from testrota.org.config import load_org

    return load_org(config_dir)
