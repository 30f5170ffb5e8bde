"""`testrota --help` starts without the database, settings or web stacks: each command imports
what it uses when it runs (issue 17's start-up goal; the time itself is measured by
`benchmarks/bench_cli_start.py`, never asserted)."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = (
    "pydantic",
    "pydantic_settings",
    "sqlalchemy",
    "sqlmodel",
    "fastapi",
    "pandas",
    "openpyxl",
    "twilio",
    "testrota.app",
    "testrota.settings",
    "testrota.db.models",
    # the words' catalogue: loaded when a word is printed in Chinese, not for --help
    "testrota.web.i18n",
)


def _loaded_after(code: str) -> list[str]:
    probe = (
        f"{code}\nimport json, sys\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


def test_loading_the_cli_imports_no_heavy_stack() -> None:
    assert _loaded_after("import testrota.cli.main") == []


def test_help_lists_the_commands_without_loading_them() -> None:
    code = (
        "import sys\nfrom typer.testing import CliRunner\nfrom testrota.cli.main import app\n"
        "out = CliRunner().invoke(app, ['--help'])\nassert out.exit_code == 0, out.output\n"
        "assert 'missed' in out.output and 'import' in out.output, out.output"
    )
    assert _loaded_after(code) == []
