"""The ``testrota`` command. Each area registers its commands from its own module.

Commands import their services inside the function body so that ``testrota import`` does not pay
for the web app, Twilio or the planner at start-up.
"""

from __future__ import annotations

import contextlib
import copy
import gc
import sys
from typing import Annotated, Any

import typer
import typer.main

from testrota.cli import (
    compliance_cmds,
    exempt_cmds,
    group_cmds,
    i18n_cmds,
    notify_cmds,
    ops_cmds,
    plan_cmds,
    risk_cmds,
    roster_cmds,
    sampling_cmds,
    web_cmds,
)


class _Testrota(typer.Typer):
    """The command line, which builds only the command it is asked to run.

    Typer turns every registered command into a click command, inspecting each signature, when
    the program starts: 35 ms for some fifty commands, of the half second ``testrota missed``
    costs in all. A run that names a known command (after the global ``--lang``) builds that one
    alone; ``--help``, no command or an unknown one (whose error suggests the near names) build
    them all. Tests invoke :data:`app` through ``CliRunner``, which builds them all.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        given = kwargs.get("args", args[0] if args else None)  # click's own default: argv
        argv = sys.argv[1:] if given is None else [str(a) for a in given]
        try:
            return typer.Typer.__call__(only_the_command(self, argv), *args, **kwargs)
        finally:
            if given is None:  # the process's own command line: the process ends with it
                leave_for_exit()


def leave_for_exit() -> None:
    """Close the command's database connections, then hide what the process has built from the
    cyclic collector before the interpreter shuts down.

    Shutting down runs full collections that walk every object still alive: the modules a
    command imported (SQLAlchemy's, pydantic's, the models': some 100,000 objects) several
    times over, for garbage there is none of: a fifth of ``testrota missed``'s CPU. Frozen,
    they are left to reference counting, which frees the modules as before; only a cycle is
    left to the operating system. Connections are such cycles (a pool and its records), so the
    engines are disposed of first: SQLite removes its write-ahead log as it closes, and
    PostgreSQL is told goodbye. ``atexit`` still runs and the output is flushed as before.
    """
    # ``--help`` never imported SQLAlchemy, and is not to start now
    engines = sys.modules.get("testrota.db.engine")
    if engines is not None:
        # a connection the server already dropped: the exit closes it all the same, and the
        # command's own outcome (its exit status, its error) is what the user is to see
        with contextlib.suppress(Exception):
            engines.dispose_engines()
    gc.freeze()


def only_the_command(whole: typer.Typer, argv: list[str]) -> typer.Typer:
    """``whole`` with only the command ``argv`` runs registered (the same object when it runs
    none, several or an unknown one)."""
    rest = list(argv)
    while rest and rest[0].startswith("--lang"):
        rest = rest[1:] if "=" in rest[0] else rest[2:]
    if not rest or rest[0].startswith("-"):
        return whole
    name = rest[0]
    commands = [
        c
        for c in whole.registered_commands
        if (c.name or typer.main.get_command_name(getattr(c.callback, "__name__", ""))) == name
    ]
    groups = [g for g in whole.registered_groups if g.name == name]
    if len(commands) + len(groups) != 1:
        return whole
    lean = copy.copy(whole)
    lean.registered_commands, lean.registered_groups = commands, groups
    return lean


app = _Testrota(
    name="testrota",
    help="Twice-weekly testing schedules for high-risk staff.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def main(
    lang: Annotated[
        str | None,
        typer.Option(
            "--lang",
            help="Language of messages and tables: zh or en (default: TESTROTA_LANG, else the "
            "locale, LC_ALL / LC_MESSAGES / LANG).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Twice-weekly testing schedules for high-risk staff."""
    from testrota.cli.lang import choose
    from testrota.languages import CHOICES, language_of

    if lang is not None and language_of(lang) is None:
        raise typer.BadParameter(
            f"{lang!r}: use {' or '.join(CHOICES)} / 请用 zh 或 en", param_hint="--lang"
        )
    choose(lang)


for module in (
    roster_cmds,
    risk_cmds,
    plan_cmds,
    compliance_cmds,
    exempt_cmds,
    sampling_cmds,
    group_cmds,
    notify_cmds,
    web_cmds,
    ops_cmds,
    i18n_cmds,
):
    module.register(app)

if __name__ == "__main__":  # pragma: no cover
    app()
