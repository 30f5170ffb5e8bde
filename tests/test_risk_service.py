"""The risk use cases: the role review list, HR's mappings and overrides with their audit
events, and reclassification after the vocabulary changes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from testrota.actions.risk import (
    ListRoles,
    MapRole,
    OverridePerson,
    Reclassify,
    RoleMapped,
    RoleRow,
    UnmapRole,
    list_roles,
    map_role,
    override_person,
    reclassify,
    unmap_role,
)
from testrota.app import App
from testrota.audit import Actor
from testrota.db.models import AuditEvent, RoleOverride
from testrota.errors import UserError
from testrota.risk.service import high_risk_summary, load_role_overrides, parse_category
from testrota.risk.vocabulary import FILE_NAME, load_vocabulary
from testrota.roster.people import NoSuchPerson
from tests.compliance_fixtures import app_at, config_dir, policy
from tests.conftest import CONFIG_DIR
from tests.risk_people import NOW, Row, import_rows, person, plant

VOCAB = load_vocabulary(CONFIG_DIR)
WANG, ZHAO, HR = Actor.web("wang"), Actor.web("zhao"), Actor.cli("hr")


@pytest.fixture
def app(engine: Engine) -> App:
    return app_at(engine, NOW, policy())


def _map(
    app: App, role: str, department: str | None, category: str, reason: str = "r", actor: Actor = HR
) -> RoleMapped:
    return map_role(app, MapRole(role, category, reason, actor, department=department))


def _roles(app: App, unmatched_only: bool = False) -> list[RoleRow]:
    return list_roles(app, ListRoles(unmatched_only))


def _audits(session: Session, action: str) -> list[AuditEvent]:
    session.expire_all()
    events = list(
        session.exec(
            select(AuditEvent).where(AuditEvent.action == action).order_by(col(AuditEvent.id))
        )
    )
    session.commit()  # SQLite: a read left open would hold the write lock
    return events


def _by_role(rows: list[RoleRow]) -> dict[str, RoleRow]:
    return {r.role: r for r in rows}


def test_list_roles_counts_active_people_per_role_and_department(
    app: App, session: Session
) -> None:
    import_rows(session, plant(), VOCAB)
    rows = _roles(app)
    assert [(r.role, r.head_count) for r in rows] == [
        ("司机", 3),  # high-risk first, grouped by category
        ("炉前工", 5),
        ("司磅员", 2),
        ("天车工", 1),
    ]
    driver = rows[0]
    assert driver.department == "运输部"
    assert (driver.category, driver.category_name) == ("driver", "司机")
    assert (driver.matched_by, driver.matched_text) == ("title", "司机")
    assert driver.categories == ["driver"]
    assert driver.other_count == 0
    assert "门卫" not in _by_role(rows)  # inactive people are not listed


def test_unmatched_roles_most_common_first(app: App, session: Session) -> None:
    import_rows(session, [*plant(), Row("X1", "天车工", "冷轧厂")], VOCAB)
    rows = _roles(app, unmatched_only=True)
    assert [(r.role, r.department, r.head_count) for r in rows] == [
        ("炉前工", "炼铁厂", 5),
        ("司磅员", "计量中心", 2),
        ("天车工", "冷轧厂", 1),
        ("天车工", "炼钢厂", 1),
    ]
    assert all(r.category is None and r.matched_by is None for r in rows)


def test_mapping_a_role_reclassifies_everyone_with_it_and_is_audited(
    app: App, engine: Engine, session: Session
) -> None:
    import_rows(session, [*plant(), Row("F9", "爐前工", "煉鋼廠")], VOCAB)
    result = _map(app, "炉前工", None, "driver", "drives the tap-hole machine", WANG)
    assert result == RoleMapped(
        role="炉前工",
        department="",
        category="driver",
        old_category=None,
        had_override=False,
        affected=6,  # the Traditional spelling too
        released=0,  # nobody lost high-risk
        departments={"炼铁厂": 5, "煉鋼廠": 1},  # whom it reclassified, by department
    )
    for number in ("F0", "F4", "F9"):
        p = person(session, number)
        assert (p.risk_category, p.risk_categories) == ("driver", "driver")
        assert p.matched_by == "override"
    assert person(session, "F9").matched_text == "爐前工"
    (event,) = _audits(session, "risk.role_override")
    assert event.actor == "web:wang"
    assert event.at == NOW
    assert event.details["old"] is None
    assert event.details["new"] == {"category": "driver", "reason": "drives the tap-hole machine"}
    assert event.details["affected"] == 6

    later = NOW + timedelta(hours=1)
    result = _map(
        app_at(engine, later, policy()), "炉前工", "", "none", "not a driver", Actor.web("li")
    )
    assert (result.old_category, result.had_override, result.affected) == ("driver", True, 6)
    p = person(session, "F0")
    assert (p.risk_category, p.risk_categories, p.matched_by) == (None, "", "override")
    assert len(session.exec(select(RoleOverride)).all()) == 1  # updated, not duplicated
    session.commit()
    events = _audits(session, "risk.role_override")
    assert events[-1].details["old"] == {
        "category": "driver",
        "reason": "drives the tap-hole machine",
    }
    assert events[-1].at == later
    assert load_role_overrides(session) == {("炉前工", ""): None}


def test_a_department_mapping_beats_the_all_department_one(app: App, session: Session) -> None:
    rows = [Row("A1", "炉前工", "炼铁厂"), Row("A2", "炉前工", "炼铁二厂"), Row("A3", "炉前工", "")]
    import_rows(session, rows, VOCAB)
    _map(app, "炉前工", "", "driver")
    _map(app, "炉前工", "煉鐵廠", "none")
    assert person(session, "A1").risk_category is None
    assert person(session, "A2").risk_category == "driver"
    # Changing the all-department mapping leaves the department's own mapping alone.
    result = _map(app, "炉前工", None, "cargo_transfer")
    assert result.affected == 2
    assert person(session, "A1").risk_category is None
    assert person(session, "A2").risk_category == "cargo_transfer"
    assert person(session, "A3").risk_category == "cargo_transfer"
    assert load_role_overrides(session) == {
        ("炉前工", ""): "cargo_transfer",
        ("炉前工", "炼铁厂"): None,
    }


def test_a_category_column_and_a_person_override_keep_their_answer(
    app: App, session: Session
) -> None:
    rows = [Row("B1", "炉前工", "炼铁厂", "门卫"), Row("B2", "炉前工", "炼铁厂")]
    import_rows(session, rows, VOCAB)
    override_person(app, OverridePerson("B2", "cleaning", "cleans the cast house", HR))
    _map(app, "炉前工", "", "driver")
    assert (person(session, "B1").risk_category, person(session, "B1").matched_by) == (
        "gate_guard",
        "column",
    )
    assert (person(session, "B2").risk_category, person(session, "B2").matched_text) == (
        "cleaning",
        "cleans the cast house",
    )


def test_overrides_survive_a_reimport(app: App, session: Session) -> None:
    rows = plant()
    import_rows(session, rows, VOCAB)
    _map(app, "司磅员", "", "cargo_transfer", "weighs every truck")
    override_person(app, OverridePerson("D1", "none", "on long-term sick leave", HR))
    # The next roster spells the title in Traditional characters with a stray space.
    again = [Row(r.employee_no, "司 磅員", r.department) if r.role == "司磅员" else r for r in rows]
    import_rows(session, again, VOCAB)
    for number in ("S0", "S1"):
        p = person(session, number)
        assert (p.risk_category, p.matched_by) == ("cargo_transfer", "override")
    d1 = person(session, "D1")
    assert (d1.risk_category, d1.matched_by, d1.override_category) == (None, "override", "")
    assert person(session, "D0").risk_category == "driver"


def test_person_override_set_and_cleared(app: App, session: Session) -> None:
    import_rows(session, plant(), VOCAB)
    result = override_person(app, OverridePerson(" C0 ", "railway", "shunts on weekends", ZHAO))
    assert (
        result.employee_no,
        result.category,
        result.old_category,
        result.released,
        result.cleared,
    ) == ("C0", "railway", None, 0, False)
    c0 = person(session, "C0")
    assert (c0.override_category, c0.override_reason) == ("railway", "shunts on weekends")
    assert (c0.risk_category, c0.risk_categories) == ("railway", "railway")
    assert c0.matched_by == "override"
    (event,) = _audits(session, "risk.person_override")
    assert (event.actor, event.entity, event.entity_id) == ("web:zhao", "person", "C0")
    assert event.details["old"]["risk_category"] is None
    assert event.details["new"] == {"override_category": "railway"}
    rows = _by_role(_roles(app))
    assert rows["天车工"].category == "railway"  # one person: their override is the group's

    result = override_person(app, OverridePerson("C0", "clear", "mistake", ZHAO))
    assert (result.category, result.old_category, result.cleared) == (None, "railway", True)
    c0 = person(session, "C0")
    assert (c0.override_category, c0.risk_category, c0.matched_by) == (None, None, None)
    assert _audits(session, "risk.person_override_cleared")[0].details["new"] == {
        "risk_category": None
    }
    with pytest.raises(UserError, match="no override to clear"):
        override_person(app, OverridePerson("C0", "auto", "again", HR))


def test_an_override_outside_the_scope_finds_nobody(app: App, session: Session) -> None:
    from testrota.auth.scope import Scope

    import_rows(session, plant(), VOCAB)
    with pytest.raises(NoSuchPerson):
        override_person(app, OverridePerson("D0", "none", "r", HR, scope=Scope.of(["炼钢厂"])))
    assert person(session, "D0").risk_category == "driver"


def test_other_count_shows_people_classified_differently(app: App, session: Session) -> None:
    import_rows(session, plant(), VOCAB)
    override_person(app, OverridePerson("D0", "none", "office work only", HR))
    driver = _by_role(_roles(app))["司机"]
    assert (driver.head_count, driver.category, driver.other_count) == (3, "driver", 1)


def test_unmapping_a_role_lets_the_rules_decide_again(app: App, session: Session) -> None:
    import_rows(session, plant(), VOCAB)
    _map(app, "司机", "", "none", "office drivers")
    assert person(session, "D0").risk_category is None
    result = unmap_role(app, UnmapRole("司机", "undo", HR))
    assert result.affected == 3
    d0 = person(session, "D0")
    assert (d0.risk_category, d0.matched_by) == ("driver", "title")
    assert _audits(session, "risk.role_override_cleared")[0].details["old"]["category"] is None
    with pytest.raises(UserError, match="no mapping of the role"):
        unmap_role(app, UnmapRole("司机", "undo", HR))
    # "clear" through map_role is the same unmapping
    _map(app, "司机", "", "none", "office drivers")
    cleared = _map(app, "司机", None, "clear", "undo again")
    assert (cleared.cleared, cleared.category, cleared.old_category, cleared.affected) == (
        True,
        None,
        None,
        3,
    )
    assert person(session, "D0").risk_category == "driver"


def test_reclassify_applies_an_edited_vocabulary(
    engine: Engine, session: Session, tmp_path: Path
) -> None:
    import_rows(session, plant(), VOCAB)
    config = config_dir(tmp_path)
    with (config / FILE_NAME).open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    driver = next(c for c in data["categories"] if c["code"] == "driver")
    driver["titles"].append("炉前工")
    (config / FILE_NAME).write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    app = app_at(engine, NOW, policy(), config)
    result = reclassify(app, Reclassify(HR))
    assert result.changed == 5
    assert result.by_category == {"driver": 8}
    assert result.high_risk == 8
    assert person(session, "F0").matched_by == "title"
    assert high_risk_summary(session) == {"driver": 8}
    assert _audits(session, "risk.reclassify")[0].details["changed"] == 5
    # Running it again changes nothing.
    assert reclassify(app, Reclassify(HR)).changed == 0


def test_bad_input_is_refused_with_a_message(app: App, session: Session) -> None:
    import_rows(session, plant(), VOCAB)
    with pytest.raises(UserError, match="reason is required"):
        _map(app, "司机", None, "driver", "  ")
    with pytest.raises(UserError, match="unknown risk category 'taxi'"):
        _map(app, "司机", None, "taxi")
    with pytest.raises(UserError, match="role title is empty"):
        _map(app, " （） ", None, "driver")
    with pytest.raises(UserError, match="no risk category given"):
        override_person(app, OverridePerson("D0", " ", "r", HR))
    with pytest.raises(NoSuchPerson, match="no person with employee number 'nobody'"):
        override_person(app, OverridePerson("nobody", "driver", "r", HR))
    session.commit()
    assert session.exec(select(RoleOverride)).all() == []
    assert session.exec(select(AuditEvent)).all() == []


def test_parse_category() -> None:
    assert parse_category("司機", VOCAB) == "driver"
    assert parse_category("Cold Chain", VOCAB) == "cold_chain"
    assert parse_category("none", VOCAB) is None
    assert parse_category("否", VOCAB) is None
    assert parse_category("driver", VOCAB) == "driver"
    with pytest.raises(UserError, match="use one of imported_goods"):
        parse_category("taxi", VOCAB)
