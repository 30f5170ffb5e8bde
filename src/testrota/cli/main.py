"""The ``testrota`` command. Each area registers its commands from its own module.

Commands import their services inside the function body so that ``testrota import`` does not pay
for the web app, Twilio or the planner at start-up.
"""

from __future__ import annotations

from typing import Annotated

import typer

from testrota.cli import (
    compliance_cmds,
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

app = typer.Typer(
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
