"""The database side: role review list, HR overrides with audit, reclassification."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
import yaml
from sqlmodel import Session, col, select

from testrota.db.models import AuditEvent, RoleOverride
from testrota.errors import UserError
from testrota.risk.service import (
    clear_person_override,
    clear_role_override,
    high_risk_summary,
    list_roles,
    load_role_overrides,
    parse_category,
    reclassify_people,
    set_person_override,
    set_role_override,
)
from testrota.risk.vocabulary import FILE_NAME, load_vocabulary, vocabulary_from_dict
from tests.conftest import CONFIG_DIR
from tests.risk_people import NOW, Row, import_rows, person, plant

VOCAB = load_vocabulary(CONFIG_DIR)


def _audits(session: Session, action: str) -> list[AuditEvent]:
    session.expire_all()
    return list(
        session.exec(
            select(AuditEvent).where(AuditEvent.action == action).order_by(col(AuditEvent.id))
        )
    )


def _by_role(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["role"]: r for r in rows}


def test_list_roles_counts_active_people_per_role_and_department(session: Session) -> None:
    import_rows(session, plant(), VOCAB)
    rows = list_roles(session, vocab=VOCAB)
    assert [(r["role"], r["head_count"]) for r in rows] == [
        ("司机", 3),  # high-risk first, grouped by category
        ("炉前工", 5),
        ("司磅员", 2),
        ("天车工", 1),
    ]
    driver = rows[0]
    assert driver["department"] == "运输部"
    assert (driver["category"], driver["category_name"]) == ("driver", "司机")
    assert (driver["matched_by"], driver["matched_text"]) == ("title", "司机")
    assert driver["categories"] == ["driver"]
    assert driver["other_count"] == 0
    assert "门卫" not in _by_role(rows)  # inactive people are not listed


def test_unmatched_roles_most_common_first(session: Session) -> None:
    import_rows(session, [*plant(), Row("X1", "天车工", "冷轧厂")], VOCAB)
    rows = list_roles(session, unmatched_only=True)
    assert [(r["role"], r["department"], r["head_count"]) for r in rows] == [
        ("炉前工", "炼铁厂", 5),
        ("司磅员", "计量中心", 2),
        ("天车工", "冷轧厂", 1),
        ("天车工", "炼钢厂", 1),
    ]
    assert all(r["category"] is None and r["matched_by"] is None for r in rows)


def test_mapping_a_role_reclassifies_everyone_with_it_and_is_audited(session: Session) -> None:
    import_rows(session, [*plant(), Row("F9", "爐前工", "煉鋼廠")], VOCAB)
    result = set_role_override(
        session, "炉前工", None, "driver", "drives the tap-hole machine", "hr:wang", NOW,
        vocab=VOCAB,
    )
    session.commit()
    assert result == {
        "role": "炉前工",
        "department": "",
        "category": "driver",
        "old_category": None,
        "had_override": False,
        "affected": 6,  # the Traditional spelling too
        "released": 0,  # nobody lost high-risk
    }
    for number in ("F0", "F4", "F9"):
        p = person(session, number)
        assert (p.risk_category, p.risk_categories) == ("driver", "driver")
        assert p.matched_by == "override"
    assert person(session, "F9").matched_text == "爐前工"
    (event,) = _audits(session, "risk.role_override")
    assert event.actor == "hr:wang"
    assert event.at == NOW
    assert event.details["old"] is None
    assert event.details["new"] == {"category": "driver", "reason": "drives the tap-hole machine"}
    assert event.details["affected"] == 6

    later = NOW + timedelta(hours=1)
    result = set_role_override(session, "炉前工", "", None, "not a driver", "hr:li", later)
    session.commit()
    assert (result["old_category"], result["had_override"], result["affected"]) == (
        "driver",
        True,
        6,
    )
    p = person(session, "F0")
    assert (p.risk_category, p.risk_categories, p.matched_by) == (None, "", "override")
    assert len(session.exec(select(RoleOverride)).all()) == 1  # updated, not duplicated
    events = _audits(session, "risk.role_override")
    assert events[-1].details["old"] == {
        "category": "driver",
        "reason": "drives the tap-hole machine",
    }
    assert events[-1].at == later
    assert load_role_overrides(session) == {("炉前工", ""): None}


def test_a_department_mapping_beats_the_all_department_one(session: Session) -> None:
    rows = [Row("A1", "炉前工", "炼铁厂"), Row("A2", "炉前工", "炼铁二厂"), Row("A3", "炉前工", "")]
    import_rows(session, rows, VOCAB)
    set_role_override(session, "炉前工", "", "driver", "r", "hr", NOW)
    set_role_override(session, "炉前工", "煉鐵廠", None, "r", "hr", NOW)
    session.commit()
    assert person(session, "A1").risk_category is None
    assert person(session, "A2").risk_category == "driver"
    # Changing the all-department mapping leaves the department's own mapping alone.
    result = set_role_override(session, "炉前工", None, "cargo_transfer", "r", "hr", NOW)
    session.commit()
    assert result["affected"] == 2
    assert person(session, "A1").risk_category is None
    assert person(session, "A2").risk_category == "cargo_transfer"
    assert person(session, "A3").risk_category == "cargo_transfer"
    assert load_role_overrides(session) == {
        ("炉前工", ""): "cargo_transfer",
        ("炉前工", "炼铁厂"): None,
    }


def test_a_category_column_and_a_person_override_keep_their_answer(session: Session) -> None:
    rows = [Row("B1", "炉前工", "炼铁厂", "门卫"), Row("B2", "炉前工", "炼铁厂")]
    import_rows(session, rows, VOCAB)
    set_person_override(session, "B2", "cleaning", "cleans the cast house", "hr", NOW)
    set_role_override(session, "炉前工", "", "driver", "r", "hr", NOW, vocab=VOCAB)
    session.commit()
    assert (person(session, "B1").risk_category, person(session, "B1").matched_by) == (
        "gate_guard",
        "column",
    )
    assert (person(session, "B2").risk_category, person(session, "B2").matched_text) == (
        "cleaning",
        "cleans the cast house",
    )


def test_overrides_survive_a_reimport(session: Session) -> None:
    rows = plant()
    import_rows(session, rows, VOCAB)
    set_role_override(session, "司磅员", "", "cargo_transfer", "weighs every truck", "hr", NOW)
    set_person_override(session, "D1", None, "on long-term sick leave", "hr", NOW)
    session.commit()
    # The next roster spells the title in Traditional characters with a stray space.
    again = [
        Row(r.employee_no, "司 磅員", r.department) if r.role == "司磅员" else r for r in rows
    ]
    import_rows(session, again, VOCAB)
    for number in ("S0", "S1"):
        p = person(session, number)
        assert (p.risk_category, p.matched_by) == ("cargo_transfer", "override")
    d1 = person(session, "D1")
    assert (d1.risk_category, d1.matched_by, d1.override_category) == (None, "override", "")
    assert person(session, "D0").risk_category == "driver"


def test_person_override_set_and_cleared(session: Session) -> None:
    import_rows(session, plant(), VOCAB)
    result = set_person_override(session, " C0 ", "railway", "shunts on weekends", "hr:zhao", NOW)
    session.commit()
    assert result == {"employee_no": "C0", "category": "railway", "old_category": None,
                      "released": 0}
    c0 = person(session, "C0")
    assert (c0.override_category, c0.override_reason) == ("railway", "shunts on weekends")
    assert (c0.risk_category, c0.risk_categories) == ("railway", "railway")
    assert c0.matched_by == "override"
    (event,) = _audits(session, "risk.person_override")
    assert (event.actor, event.entity, event.entity_id) == ("hr:zhao", "person", "C0")
    assert event.details["old"]["risk_category"] is None
    assert event.details["new"] == {"override_category": "railway"}
    rows = _by_role(list_roles(session))
    assert rows["天车工"]["category"] == "railway"  # one person: their override is the group's

    result = clear_person_override(session, "C0", "mistake", "hr:zhao", NOW, vocab=VOCAB)
    session.commit()
    assert (result["category"], result["old_category"]) == (None, "railway")
    c0 = person(session, "C0")
    assert (c0.override_category, c0.risk_category, c0.matched_by) == (None, None, None)
    with pytest.raises(UserError, match="no override to clear"):
        clear_person_override(session, "C0", "again", "hr", NOW, vocab=VOCAB)


def test_other_count_shows_people_classified_differently(session: Session) -> None:
    import_rows(session, plant(), VOCAB)
    set_person_override(session, "D0", None, "office work only", "hr", NOW)
    session.commit()
    driver = _by_role(list_roles(session))["司机"]
    assert (driver["head_count"], driver["category"], driver["other_count"]) == (3, "driver", 1)


def test_unmapping_a_role_lets_the_rules_decide_again(session: Session) -> None:
    import_rows(session, plant(), VOCAB)
    set_role_override(session, "司机", "", None, "office drivers", "hr", NOW)
    session.commit()
    assert person(session, "D0").risk_category is None
    result = clear_role_override(session, "司机", None, "undo", "hr", NOW, vocab=VOCAB)
    session.commit()
    assert result["affected"] == 3
    d0 = person(session, "D0")
    assert (d0.risk_category, d0.matched_by) == ("driver", "title")
    assert _audits(session, "risk.role_override_cleared")[0].details["old"]["category"] is None
    with pytest.raises(UserError, match="no mapping of the role"):
        clear_role_override(session, "司机", None, "undo", "hr", NOW, vocab=VOCAB)


def test_reclassify_applies_an_edited_vocabulary(session: Session) -> None:
    import_rows(session, plant(), VOCAB)
    with (CONFIG_DIR / FILE_NAME).open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    driver = next(c for c in data["categories"] if c["code"] == "driver")
    driver["titles"].append("炉前工")
    edited = vocabulary_from_dict(data)
    result = reclassify_people(session, edited, NOW, "hr")
    session.commit()
    assert result["changed"] == 5
    assert result["by_category"] == {"driver": 8}
    assert result["high_risk"] == 8
    assert person(session, "F0").matched_by == "title"
    assert high_risk_summary(session) == {"driver": 8}
    assert _audits(session, "risk.reclassify")[0].details["changed"] == 5
    # Running it again changes nothing.
    assert reclassify_people(session, edited, NOW)["changed"] == 0


def test_bad_input_is_refused_with_a_message(session: Session) -> None:
    import_rows(session, plant(), VOCAB)
    with pytest.raises(UserError, match="reason is required"):
        set_role_override(session, "司机", None, "driver", "  ", "hr", NOW)
    with pytest.raises(UserError, match="unknown risk category 'taxi'"):
        set_role_override(session, "司机", None, "taxi", "r", "hr", NOW)
    with pytest.raises(UserError, match="role title is empty"):
        set_role_override(session, " （） ", None, "driver", "r", "hr", NOW)
    with pytest.raises(UserError, match="no person with employee number 'nobody'"):
        set_person_override(session, "nobody", "driver", "r", "hr", NOW)
    with pytest.raises(ValueError, match="aware"):
        set_person_override(session, "D0", "driver", "r", "hr", datetime(2022, 5, 9))
    session.rollback()
    assert session.exec(select(RoleOverride)).all() == []
    assert session.exec(select(AuditEvent)).all() == []


def test_parse_category() -> None:
    assert parse_category("司機", VOCAB) == "driver"
    assert parse_category("Cold Chain", VOCAB) == "cold_chain"
    assert parse_category("none", VOCAB) is None
    assert parse_category("否", VOCAB) is None
    assert parse_category("driver", None) == "driver"
    with pytest.raises(UserError, match="use one of imported_goods"):
        parse_category("taxi", VOCAB)
