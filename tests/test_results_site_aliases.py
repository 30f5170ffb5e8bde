"""A lab's results sheet names sites its own way: sites.yaml's names and aliases match them to
the site's code (北门 → NORTH), on top of the database's names and codes; a name nobody knows
stays an outside site as written."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session, select

from testrota.actions.results import ImportResults, import_results
from testrota.app import build_app
from testrota.audit import Actor
from testrota.db.models import Person, TestResult
from testrota.settings import Settings
from tests.web_support import two_departments


def test_sites_yaml_names_and_aliases_match(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    two_departments(engine)
    sheet = tmp_path / "lab.csv"
    sheet.write_text(
        "工号,姓名,采样时间,检测结果,采样点\n"
        "A001,张伟,2022-05-10 08:30,阴性,北门\n"
        "A002,王芳,2022-05-10 08:40,阴性, 南区采样点 \n"
        "B001,李娜,2022-05-10 08:50,阴性,南区核酸采样点\n"
        "B002,刘洋,2022-05-10 09:00,阴性,市第一医院\n",
        encoding="utf-8",
    )
    app = build_app(settings, engine=engine)
    out = import_results(app, ImportResults(sheet, Actor.cli("lab")))
    assert out.recorded == 4
    with Session(engine) as s:
        got = {
            no: (r.source, r.site_code, r.site_name)
            for r, no in s.exec(
                select(TestResult, Person.employee_no).where(TestResult.person_id == Person.id)
            )
        }
    assert got == {
        "A001": ("lab", "NORTH", ""),
        "A002": ("lab", "SOUTH", ""),
        "B001": ("lab", "SOUTH", ""),
        "B002": ("outside", None, "市第一医院"),
    }
