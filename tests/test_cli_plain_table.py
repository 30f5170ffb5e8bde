"""Listings' tables drawn without rich (testrota.cli.plain_table) look as rich draws them, in
English and Chinese, and fall back to rich where a terminal is too narrow."""

from __future__ import annotations

import io

import pytest
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer.testing import CliRunner

from testrota.cli.common import rows_as
from testrota.cli.plain_table import lines, width

CASES = [
    ("Missed tests (2)", ["employee_no", "name"], [["E1", "张三"], ["E22", "Li Si"]]),
    ("漏检 2022-W19 (1)", ["工号", "姓名", "部门"], [["1001", "王五", ""]]),
    ("", ["a", "bb"], []),
    ("Users", ["name", "note"], [["x", "[bold]not markup[/]"], ["é", "ＡＢ"]]),
]


def _rich(title: str, heads: list[str], rows: list[list[str]]) -> list[str]:
    table = Table(title=escape(title) if title else None)
    for h in heads:
        table.add_column(escape(h))
    for row in rows:
        table.add_row(*(escape(c) for c in row))
    out = io.StringIO()
    Console(file=out, width=200, color_system=None).print(table)
    return out.getvalue().splitlines()


@pytest.mark.parametrize(("title", "heads", "rows"), CASES)
def test_drawn_as_rich_draws_it(title: str, heads: list[str], rows: list[list[str]]) -> None:
    assert lines(title, heads, rows) == _rich(title, heads, rows)


def test_wide_characters_take_two_columns() -> None:
    assert (width("E1"), width("张三"), width("ＡＢ"), width("é"), width("e\u0301")) == (
        2,
        4,
        4,
        1,
        1,
    )


def test_a_table_wider_than_the_terminal_is_left_to_rich() -> None:
    rows = [["x" * 30, "y" * 30]]
    assert lines("t", ["a", "b"], rows, max_width=40) is None
    assert lines("t", ["a", "b"], rows, max_width=80) is not None
    assert lines("a title wider than its table", ["a"], [["x"]]) is None


def test_a_cell_stays_on_its_row() -> None:
    drawn = lines("", ["a"], [["one\ntwo\tthree"]])
    assert drawn is not None and len(drawn) == 5 and "one two three" in drawn[3]


def test_rows_as_prints_one_line_per_row_in_a_pipe() -> None:
    """Not a terminal: no width to wrap to, so a long cell stays whole on its row (rich wrapped
    it to 80 columns)."""
    app = typer.Typer()

    @app.command()
    def show() -> None:
        rows_as("table", [{"n": f"E{i}", "name": "员工" * 30} for i in range(3)], ["n", "name"])

    out = CliRunner().invoke(app, [])
    assert out.exit_code == 0, out.output
    body = [line for line in out.stdout.splitlines() if line.startswith("│")]
    assert len(body) == 3 and all("员工" * 30 in line for line in body)
