"""The README stays honest: every setting, policy key and command is documented there."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer.main

from testrota.cli.main import app
from testrota.policy import Policy
from testrota.settings import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _env_names() -> list[str]:
    names = []
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        choices = getattr(alias, "choices", None)
        names.append(str(choices[0]) if choices else f"TESTROTA_{name.upper()}")
    return names


@pytest.mark.parametrize("env", _env_names())
def test_every_setting_is_documented(env: str) -> None:
    assert f"`{env}`" in README, f"README.md does not document the setting {env}"


@pytest.mark.parametrize("key", [f.alias or name for name, f in Policy.model_fields.items()])
def test_every_policy_section_is_documented(key: str) -> None:
    assert f"`{key}" in README, f"README.md does not document policy key {key!r}"


def _commands() -> list[str]:
    group = typer.main.get_command(app)
    found: list[str] = []

    def walk(cmd: object, prefix: str) -> None:
        subcommands = getattr(cmd, "commands", None)
        if not subcommands:
            found.append(prefix)
            return
        if prefix and getattr(cmd, "invoke_without_command", False):
            found.append(prefix)
        for name, sub in subcommands.items():
            walk(sub, f"{prefix} {name}".strip())

    walk(group, "")
    return found


@pytest.mark.parametrize("command", _commands())
def test_every_command_is_documented(command: str) -> None:
    assert f"testrota {command}" in README, f"README.md does not document `testrota {command}`"


def test_every_script_the_makefile_and_readme_name_exists() -> None:
    import re

    root = Path(__file__).resolve().parents[1]
    makefile = (root / "Makefile").read_text(encoding="utf-8")
    named = set(re.findall(r"benchmarks/[\w/]+\.py", makefile + README))
    runs = (root / "benchmarks" / "run_all.py").read_text(encoding="utf-8")
    named |= {f"benchmarks/{name}" for name in re.findall(r'"(bench_\w+\.py)"', runs)}
    assert "benchmarks/run_all.py" in named
    assert [n for n in sorted(named) if not (root / n).is_file()] == []
