"""``testrota users set``: HR changes an existing supervisor's units from the command line, through
the same use case as /admin/users, audited, and nothing is written on bad input."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, select

from testrota.db.models import AuditEvent, User
from tests.test_group_scope import _two_companies, _unit_supervisor

pytest_plugins = ("tests.web_fixtures",)


def _user(engine: Engine, name: str) -> User:
    with Session(engine) as s:
        return s.exec(select(User).where(User.name == name)).one()


def test_users_set_replaces_a_supervisors_units_and_is_audited(cli: Any, engine: Engine) -> None:
    _two_companies(engine)
    _unit_supervisor(engine, "sup", ["本钢集团/板材公司"])
    r = cli(
        "users",
        "set",
        "sup",
        "--unit",
        "北营公司/炼钢厂",
        "--unit",
        "板材公司/炼钢厂",
        "--department",
        "物流部",
        "--json",
    )
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["units"] == ["本钢集团/北营公司/炼钢厂", "本钢集团/板材公司/炼钢厂"]
    assert out["departments"] == ["物流部"]
    assert out["role"] == "supervisor"
    user = _user(engine, "sup")
    assert list(user.units) == out["units"]
    with Session(engine) as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "user.changed")).one()
    assert "units" in json.dumps(event.details, ensure_ascii=False)
    assert "本钢集团/北营公司/炼钢厂" in json.dumps(event.details, ensure_ascii=False)

    cleared = cli("users", "set", "sup", "--no-units", "--json")
    assert cleared.exit_code == 0, cleared.output
    assert json.loads(cleared.stdout)["units"] == []
    assert list(_user(engine, "sup").units) == []


def test_users_set_refuses_an_unknown_unit_or_nothing_to_change_and_writes_nothing(
    cli: Any, engine: Engine
) -> None:
    _two_companies(engine)
    _unit_supervisor(engine, "sup", ["本钢集团/板材公司"])
    unknown = cli("users", "set", "sup", "--unit", "鞍钢", "--department", "物流部")
    assert unknown.exit_code == 2 and "no unit" in unknown.output
    nothing = cli("users", "set", "sup")
    assert nothing.exit_code == 2 and "nothing to change" in nothing.output
    both = cli("users", "set", "sup", "--unit", "板材公司", "--no-units")
    assert both.exit_code == 2
    stranger = cli("users", "set", "nobody", "--unit", "板材公司")
    assert stranger.exit_code == 2 and "nobody" in stranger.output
    user = _user(engine, "sup")
    assert list(user.units) == ["本钢集团/板材公司"] and list(user.departments) == []
    with Session(engine) as s:
        assert s.exec(select(AuditEvent).where(AuditEvent.action == "user.changed")).all() == []
