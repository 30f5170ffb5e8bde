"""`testrota --help` starts without the database, settings or web stacks: each command imports
what it uses when it runs (issue 17's start-up goal; the time itself is measured by
`benchmarks/bench_cli_start.py`, never asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CONFIG_DIR = Path(__file__).resolve().parents[1] / "config"

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


def _python(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python ARGS`` as a process of its own: ``-c CODE``, or ``-m testrota.cli.main ...``."""
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=120, env=env, check=False
    )


def _last_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def _loaded_after(code: str) -> list[str]:
    probe = (
        f"{code}\nimport json, sys\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    return list(json.loads(_last_line(_python("-c", probe))))


def test_loading_the_cli_imports_no_heavy_stack() -> None:
    assert _loaded_after("import testrota.cli.main") == []


def test_help_lists_the_commands_without_loading_them() -> None:
    code = (
        "import sys\nfrom typer.testing import CliRunner\nfrom testrota.cli.main import app\n"
        "out = CliRunner().invoke(app, ['--help'])\nassert out.exit_code == 0, out.output\n"
        "assert 'missed' in out.output and 'import' in out.output, out.output"
    )
    assert _loaded_after(code) == []


# What `missed` must never pay for at start: a supervisor's list needs the database and the
# policy, not the web, the spreadsheet readers and writers, the SMS providers or the migrations;
# and with nothing due to be flagged, not the ORM and the models either (it reads with Core);
# nor the role matcher, whose terms it does not match (the tests a week come from the file).
NOT_FOR_MISSED = (
    "sqlmodel",
    "sqlalchemy.orm",
    "testrota.db.models",
    "testrota.db.tables",
    "testrota.compliance.facts",
    "testrota.org.rollup",
    "fastapi",
    "starlette",
    "jinja2",
    "pandas",
    "numpy",
    "openpyxl",
    "python_calamine",
    "phonenumbers",
    "alembic",
    "twilio",
    "apscheduler",
    "httpx",
    "testrota.web",
    "testrota.roster.reader",
    "testrota.scheduling.planner",
    "testrota.notify.dispatcher",
    "testrota.risk.vocabulary",
    "testrota.risk.normalize",
    "opencc",
)


def _program(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    """``testrota ARGV`` as a process of its own, on the database ``env`` names."""
    done = _python("-m", "testrota.cli.main", *argv, env=env)
    assert done.returncode == 0, done.stderr
    return done


def _on_sqlite(db: Path) -> dict[str, str]:
    return {
        **os.environ,
        "TESTROTA_DATABASE_URL": f"sqlite:///{db}",
        "TESTROTA_CONFIG_DIR": str(CONFIG_DIR),
        "TESTROTA_NOW": "2022-05-12T18:00:00+08:00",
    }


def test_missed_runs_without_the_web_spreadsheet_or_sms_stacks(tmp_path: Path) -> None:
    env = _on_sqlite(tmp_path / "empty.db")
    _program(env, "init")
    probe = (
        "import json, sys\nfrom typer.testing import CliRunner\n"
        "from testrota.cli.main import app\n"
        "out = CliRunner().invoke(app, ['missed', '--department', 'D', '--json'])\n"
        "assert out.exit_code == 0, out.output\n"
        "assert json.loads(out.stdout) == [], out.output\n"
        f"print(json.dumps([m for m in {NOT_FOR_MISSED!r} if m in sys.modules]))"
    )
    assert json.loads(_last_line(_python("-c", probe, env=env))) == []


# --- a run builds only the command it names (testrota.cli.main.only_the_command) -----------


def _built(argv: list[str]) -> list[str]:
    import typer.main

    from testrota.cli.main import app, only_the_command

    group = typer.main.get_command(only_the_command(app, argv))
    return sorted(getattr(group, "commands", {}))


def test_a_run_naming_a_command_builds_that_command_alone() -> None:
    assert _built(["missed", "--department", "D"]) == ["missed"]
    assert _built(["--lang", "zh", "missed"]) == ["missed"]
    assert _built(["--lang=en", "results", "import", "f.xlsx"]) == ["results"]


def test_help_no_command_and_an_unknown_one_build_them_all() -> None:
    everything = _built([])
    assert {"missed", "import", "results", "serve"} <= set(everything)
    assert _built(["--help"]) == everything
    assert _built(["--lang", "zh"]) == everything
    assert _built(["misse"]) == everything  # click's error suggests the near names


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TESTROTA_CONFIG_DIR": str(CONFIG_DIR), "TESTROTA_LANG": "en"}
    return _python("-m", "testrota.cli.main", *argv, env=env)


def test_the_program_itself_runs_a_named_command_and_refuses_a_typo() -> None:
    helped = _run("--lang", "en", "results", "import", "--help")
    assert helped.returncode == 0 and "results import [OPTIONS]" in helped.stdout, helped.stderr
    typo = _run("misse")
    assert typo.returncode == 2 and "missed" in typo.stderr, typo.stderr


def test_arguments_given_in_the_call_choose_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    from testrota.cli.main import app

    try:
        app(["--lang", "en", "missed", "--help"], prog_name="testrota")
    except SystemExit as done:
        assert done.code == 0
    out = capsys.readouterr().out
    assert "Usage: testrota missed [OPTIONS]" in out


# --- the end of a run (testrota.cli.main.leave_for_exit) ------------------------------------


def _frozen_at_exit(call: str) -> int:
    probe = (
        "import atexit, gc, sys\n"
        "atexit.register(lambda: print('frozen', gc.get_freeze_count()))\n"
        "sys.argv = ['testrota', '--help']\n"
        "from testrota.cli.main import app\n"
        f"{call}\n"
    )
    word, count = _last_line(_python("-c", probe)).split()
    assert word == "frozen"
    return int(count)


def test_the_program_hides_its_objects_from_the_collector_before_it_shuts_down() -> None:
    # the shutdown's full collections would walk every module's objects again, for nothing
    assert _frozen_at_exit("app()") > 10_000
    # a program (a test) that calls the command line with its own arguments goes on running
    assert _frozen_at_exit("app(['--help'], standalone_mode=False)") == 0


def test_a_command_closes_its_database_before_the_process_ends(tmp_path: Path) -> None:
    env = _on_sqlite(tmp_path / "rota.db")
    # people: a write engine and SQLite's read-only one; missed: Core reads alone
    for argv in (["init"], ["people", "--json"], ["missed", "--department", "D", "--json"]):
        _program(env, *argv)
        # the last connection closed checkpoints the write-ahead log and removes it
        assert sorted(p.name for p in tmp_path.iterdir()) == ["rota.db"], argv


def test_a_goodbye_that_fails_leaves_the_commands_own_outcome() -> None:
    probe = (
        "import sys\n"
        "import testrota.db.engine as engines\n"
        "class Dropped:\n"
        "    def dispose(self):\n"
        "        raise OSError('server closed the connection unexpectedly')\n"
        "dropped = Dropped()\n"
        "engines._LIVE.add(dropped)\n"
        "sys.argv = ['testrota', 'misse']\n"
        "from testrota.cli.main import app\n"
        "app()\n"
    )
    done = _python("-c", probe)
    # click's usage error for the typo, as without the failing engine
    assert done.returncode == 2, done.stderr
    assert "missed" in done.stderr and "OSError" not in done.stderr, done.stderr
