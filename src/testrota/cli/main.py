"""The ``testrota`` command. Each area registers its commands from its own module.

Commands import their services inside the function body so that ``testrota import`` does not pay
for the web app, Twilio or the planner at start-up.
"""

from __future__ import annotations

import typer

from testrota.cli import (
    compliance_cmds,
    group_cmds,
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
):
    module.register(app)

if __name__ == "__main__":  # pragma: no cover
    app()
