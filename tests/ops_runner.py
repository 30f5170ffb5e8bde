"""Run the operations commands (doctor, export-person, erase-person) through Typer's runner.

They are registered on an app of their own, the same way ``cli/main.py`` registers them, so
these tests do not depend on the order in which the areas are wired into ``testrota``.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.testing import CliRunner

from testrota.cli import lang, ops_cmds


def ops_app() -> typer.Typer:
    app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)

    @app.callback()
    def language() -> None:
        # as cli/main.py does, so a language an earlier invocation chose does not linger
        lang.choose(None)

    ops_cmds.register(app)
    return app


def runner(base_env: dict[str, str]) -> Any:
    app = ops_app()
    cli_runner = CliRunner()

    def run(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> Any:
        return cli_runner.invoke(app, list(args), env={**base_env, **(env or {})}, input=input)

    return run
