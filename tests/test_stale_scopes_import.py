"""HR's roster renames a department and a grid unit: the supervisors still holding the old
names are named in the import's summary (CLI text and ``--json``, the web's result page, in
Chinese and English) with the likely new name, and on the users list and page until HR
changes them. Nothing changes a supervisor's scope by itself. Both databases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from testrota.db.models import AuditEvent, User
from tests.test_import_cli import person, write_roster
from tests.web_support import PASSWORD, make_user, post_form, sign_in, soup

pytest_plugins = ("tests.web_fixtures",)

ROOT = "本钢集团"
OLD_DEPT, NEW_DEPT = "转炉车间", "炼钢一车间"
OLD_GRID, NEW_GRID = "转炉甲班", "炼钢甲班"


def _before(path: Path) -> Path:
    return write_roster(
        path,
        [
            person("0001", "张伟", OLD_DEPT, "炼钢工", unit=OLD_GRID),
            person("0002", "王芳", OLD_DEPT, "天车工", unit=OLD_GRID),
            person("0003", "李强", OLD_DEPT, "炼钢工", unit=OLD_GRID),
            person("0004", "刘洋", "质检部", "化验员", unit="质检班"),
        ],
    )


def _renamed(path: Path) -> Path:
    """The same people: HR renamed the department and its grid unit."""
    return write_roster(
        path,
        [
            person("0001", "张伟", NEW_DEPT, "炼钢工", unit=NEW_GRID),
            person("0002", "王芳", NEW_DEPT, "天车工", unit=NEW_GRID),
            person("0003", "李强", NEW_DEPT, "炼钢工", unit=NEW_GRID),
            person("0004", "刘洋", "质检部", "化验员", unit="质检班"),
        ],
    )


def _add(cli: Any, name: str, *scope: str) -> None:
    r = cli(
        "users",
        "add",
        name,
        "--role",
        "supervisor",
        *scope,
        "--password-stdin",
        input=PASSWORD + "\n",
    )
    assert r.exit_code == 0, r.output


def _supervisors(cli: Any) -> None:
    _add(cli, "李主管", "--department", OLD_DEPT)
    _add(cli, "王主管", "--unit", f"{OLD_DEPT}/{OLD_GRID}")
    _add(cli, "车间主任", "--unit", OLD_DEPT, "--unit", "质检部")
    _add(cli, "赵主管", "--department", "质检部")


def _set_up(cli: Any, tmp_path: Path) -> None:
    r = cli("import", str(_before(tmp_path / "before.xlsx")), "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["stale_scopes"] == []
    _supervisors(cli)


def test_the_import_names_the_supervisors_left_with_the_old_names(
    cli: Any, engine: Engine, tmp_path: Path
) -> None:
    _set_up(cli, tmp_path)
    r = cli("import", str(_renamed(tmp_path / "after.xlsx")), "--json")
    assert r.exit_code == 0, r.output
    stale = {(s["user"], s["entry"]): s for s in json.loads(r.stdout)["stale_scopes"]}
    assert set(stale) == {
        ("李主管", OLD_DEPT),
        ("王主管", f"{ROOT}/{OLD_DEPT}/{OLD_GRID}"),
        ("车间主任", f"{ROOT}/{OLD_DEPT}"),
    }  # 赵主管's 质检部 still has its people; 车间主任's 质检部 too
    li = stale["李主管", OLD_DEPT]
    assert (li["kind"], li["moved_to"], li["moved_people"]) == ("department", NEW_DEPT, 3)
    assert li["message"] == (
        f"supervisor 李主管's department {OLD_DEPT} no longer has anyone on the roster "
        f"(its 3 people are now in {NEW_DEPT})"
    )
    assert li["fix"] == f"testrota users set '李主管' --department '{NEW_DEPT}'"
    wang = stale["王主管", f"{ROOT}/{OLD_DEPT}/{OLD_GRID}"]
    assert (wang["kind"], wang["moved_to"]) == ("unit", f"{ROOT}/{NEW_DEPT}/{NEW_GRID}")
    head = stale["车间主任", f"{ROOT}/{OLD_DEPT}"]
    assert head["moved_to"] == f"{ROOT}/{NEW_DEPT}"
    # the one command keeps the unit that still has people
    assert (
        head["fix"]
        == f"testrota users set '车间主任' --unit '{ROOT}/{NEW_DEPT}' --unit '{ROOT}/质检部'"
    )
    # nobody's scope was changed for them, and the import's audit event keeps what HR was told
    with Session(engine) as s:
        assert s.exec(select(User.departments).where(User.name == "李主管")).one() == [OLD_DEPT]
        event = s.exec(
            select(AuditEvent)
            .where(AuditEvent.action == "roster.imported")
            .order_by(AuditEvent.id.desc())  # type: ignore[union-attr]
        ).first()
    assert event is not None and event.details["stale_scopes"] == 3
    assert event.details["renamed"]["department"] == {OLD_DEPT: [NEW_DEPT, 3]}


def test_the_import_text_says_it_in_chinese_and_english(
    cli: Any, engine: Engine, tmp_path: Path
) -> None:
    _set_up(cli, tmp_path)
    zh = cli("--lang", "zh", "import", str(_renamed(tmp_path / "after.xlsx")))
    assert zh.exit_code == 0, zh.output
    text = " ".join(zh.stdout.split())
    assert (
        f"主管 李主管 的部门「{OLD_DEPT}」在花名册上已经没有人了（原有的 3 人现在在「{NEW_DEPT}」）"
        in text
    )
    assert f"可用 testrota users set '李主管' --department '{NEW_DEPT}' 或在用户页面修改" in text
    assert "赵主管" not in text
    # the same file again: nothing moves now, and the rename recorded is still suggested
    en = cli("--lang", "en", "import", str(tmp_path / "after.xlsx"))
    assert en.exit_code == 0, en.output
    text = " ".join(en.stdout.split())
    assert (
        f"department {OLD_DEPT} no longer has anyone on the roster "
        f"(its 3 people are now in {NEW_DEPT})" in text
    )
    assert (
        f"change it with testrota users set '李主管' --department '{NEW_DEPT}' or on the users page"
        in text
    )


def test_users_list_warns_until_hr_changes_the_supervisor(
    cli: Any, engine: Engine, tmp_path: Path
) -> None:
    _set_up(cli, tmp_path)
    assert cli("import", str(_renamed(tmp_path / "after.xlsx")), "--json").exit_code == 0
    listed = {u["name"]: u for u in json.loads(cli("users", "list", "--format", "json").stdout)}
    assert [s["entry"] for s in listed["李主管"]["stale"]] == [OLD_DEPT]
    assert listed["李主管"]["stale"][0]["moved_to"] == NEW_DEPT
    assert listed["赵主管"]["stale"] == []
    table = cli("--lang", "en", "users", "list")
    assert f"{OLD_DEPT}: no one on the roster (its 3 people are now in {NEW_DEPT})" in " ".join(
        table.stdout.split()
    )

    # HR follows the suggestion: the warning is gone, the others' stay
    assert cli("users", "set", "李主管", "--department", NEW_DEPT).exit_code == 0
    assert cli("users", "set", "王主管", "--unit", f"{NEW_DEPT}/{NEW_GRID}").exit_code == 0
    listed = {u["name"]: u for u in json.loads(cli("users", "list", "--format", "json").stdout)}
    assert listed["李主管"]["stale"] == [] and listed["王主管"]["stale"] == []
    assert [s["entry"] for s in listed["车间主任"]["stale"]] == [f"{ROOT}/{OLD_DEPT}"]


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _apply_on_the_web(client: TestClient, path: Path) -> Any:
    """HR uploads the file, applies its preview and lands on the upload page's result."""
    staged = post_form(
        client,
        "/upload/roster",
        {},
        page="/upload/roster",
        files={"file": (path.name, path.read_bytes(), XLSX)},
    )
    assert staged.status_code == 303, staged.text
    preview = staged.headers["location"]
    applied = post_form(client, preview + "/apply", {}, page=preview)
    assert applied.status_code == 303, applied.text
    return applied.headers["location"]


def _stale_items(response: Any) -> list[str]:
    section = soup(response).select_one("[data-stale-scopes]")
    return [" ".join(li.get_text().split()) for li in section.select("li")] if section else []


def test_the_web_result_page_and_users_page_warn_hr_and_only_hr(
    cli: Any, engine: Engine, client: TestClient, tmp_path: Path
) -> None:
    _set_up(cli, tmp_path)
    make_user(engine, "人事", "hr", language="zh")
    make_user(engine, "hr-en", "hr", language="en")
    sign_in(client, "人事")
    done = _apply_on_the_web(client, _renamed(tmp_path / "after.xlsx"))
    items = _stale_items(client.get(done))
    assert (
        f"主管 李主管 的部门「{OLD_DEPT}」在花名册上已经没有人了（原有的 3 人现在在「{NEW_DEPT}」）"
        in items
    )
    assert any(i.startswith("主管 王主管 的单位") and f"{NEW_DEPT}/{NEW_GRID}" in i for i in items)
    assert not any("赵主管" in i for i in items) and len(items) == 3

    client.cookies.clear()
    sign_in(client, "hr-en")
    items = _stale_items(client.get(done))
    assert (
        f"supervisor 李主管's department {OLD_DEPT} no longer has anyone on the roster "
        f"(its 3 people are now in {NEW_DEPT})"
    ) in items
    users = client.get("/admin/users")
    notes = {
        n["data-stale"]: " ".join(n.get_text().split()) for n in soup(users).select("[data-stale]")
    }
    assert (
        notes[OLD_DEPT] == f"⚠ {OLD_DEPT}: no one on the roster; its 3 people are now in {NEW_DEPT}"
    )
    assert set(notes) == {OLD_DEPT, f"{ROOT}/{OLD_DEPT}/{OLD_GRID}", f"{ROOT}/{OLD_DEPT}"}
    assert soup(users).select_one("p[data-stale-scopes]") is not None

    # HR changes 李主管 on the page: their warning is gone, the others' stay
    with Session(engine) as s:
        li_id = s.exec(select(User.id).where(User.name == "李主管")).one()
    saved = post_form(
        client,
        f"/admin/users/{li_id}",
        {
            "role": "supervisor",
            "departments": NEW_DEPT,
            "units": "",
            "language": "zh",
            "active": "1",
        },
        page="/admin/users",
    )
    assert saved.status_code == 303, saved.text
    notes = {n["data-stale"] for n in soup(client.get("/admin/users")).select("[data-stale]")}
    assert notes == {f"{ROOT}/{OLD_DEPT}/{OLD_GRID}", f"{ROOT}/{OLD_DEPT}"}
    assert not any("李主管" in i for i in _stale_items(client.get(done)))

    # a supervisor sees nobody else's warnings: not the pages, not the use case
    client.cookies.clear()
    sign_in(client, "赵主管")
    assert client.get("/admin/users").status_code == 403
    assert client.get(done).status_code == 403
    dashboard = client.get("/")
    assert "王主管" not in dashboard.text and "车间主任" not in dashboard.text
    app = client.app.state.testrota  # type: ignore[attr-defined]
    from testrota.actions.stale_scopes import FindStaleScopes, find_stale_scopes
    from testrota.audit import Actor

    assert (
        find_stale_scopes(app, FindStaleScopes(Actor.web("赵主管"), viewer_role="supervisor")) == []
    )
    assert len(find_stale_scopes(app, FindStaleScopes(Actor.web("人事"), viewer_role="hr"))) == 2
