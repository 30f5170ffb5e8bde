"""The end of a sampling session: the day's tubes per site with their swab counts, packing
them against the courier's count (CLI and web), and the courier's manifest."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlmodel import Session

from testrota.db.models import AuditEvent, Tube
from tests.web_support import make_user, post_form, sign_in, soup, week19

pytest_plugins = ("tests.web_fixtures",)
ENV = {"TESTROTA_NOW": "2022-05-11T10:00:00+08:00"}


def _ok(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _session(cli: Any) -> None:
    _ok(cli("tube", "open", "T1", "--site", "S1", "--ratio", "5", "--json", env=ENV))
    for number in ("B001", "B002"):
        _ok(cli("checkin", number, "--tube", "T1", "--json", env=ENV))
    _ok(cli("tube", "open", "T2", "--site", "S1", "--ratio", "1", "--json", env=ENV))
    _ok(cli("checkin", "A001", "--tube", "T2", "--json", env=ENV))  # closes itself
    _ok(cli("tube", "open", "T3", "--site", "S1", "--ratio", "5", "--json", env=ENV))


def _statuses(engine: Engine) -> dict[str, str]:
    with Session(engine) as s:
        return {t.code: t.status for t in s.scalars(select(Tube))}


def test_packing_checks_the_count_handed_to_the_courier(engine: Engine, cli: Any) -> None:
    week19(engine)
    _session(cli)
    _ok(cli("checkin", "A002", "--tube", "T3", "--json", env=ENV))
    refused = cli("tube", "pack", "--site", "S1", "--count", "2", env=ENV)
    assert refused.exit_code == 2 and "T3 still open with swabs" in refused.output
    _ok(cli("tube", "close", "T1", "--json", env=ENV))
    _ok(cli("tube", "close", "T3", "--json", env=ENV))
    for count in ("2", "4"):
        refused = cli("tube", "pack", "--site", "S1", "--count", count, env=ENV)
        assert refused.exit_code == 2, refused.output
        assert f"S1 has 3 closed tube(s) of 2022-05-11 to pack and {count} were counted" in (
            refused.output
        )
    assert set(_statuses(engine).values()) == {"closed"}
    packed = _ok(cli("tube", "pack", "--site", "S1", "--count", "3", "--json", env=ENV))
    assert (packed["tubes"], packed["swabs"], packed["already"]) == (["T1", "T2", "T3"], 4, False)
    assert set(_statuses(engine).values()) == {"packed"}
    again = _ok(cli("tube", "pack", "--site", "S1", "--count", "3", "--json", env=ENV))
    assert again["already"] is True
    listed = _ok(cli("tubes", "--site", "S1", "--json", env=ENV))
    assert {t["code"]: (len(t["members"]), t["status"]) for t in listed} == {
        "T1": (2, "packed"),
        "T2": (1, "packed"),
        "T3": (1, "packed"),
    }
    with Session(engine) as s:
        events = list(s.scalars(select(AuditEvent).where(AuditEvent.action == "tube.packed")))
    assert [(e.entity_id, e.details["count"], e.details["swabs"]) for e in events] == [("S1", 3, 4)]


def test_the_session_page_packs_and_prints_a_manifest_without_names(
    client: TestClient, engine: Engine, cli: Any
) -> None:
    week19(engine)
    _session(cli)
    _ok(cli("tube", "close", "T1", "--json", env=ENV))
    make_user(engine, "site1", "site")
    sign_in(client, "site1")
    page = soup(client.get("/tubes", params={"site": "S1", "date": "2022-05-11"}))
    totals = page.select_one(".tube-totals")
    assert totals is not None and (totals["data-tubes"], totals["data-swabs"]) == ("3", "3")
    rows = {r["data-code"]: r["data-status"] for r in page.select("table.tubes tbody tr")}
    assert rows == {"T1": "closed", "T2": "closed", "T3": "open"}
    wrong = post_form(
        client, "/tubes/pack", {"site": "S1", "date": "2022-05-11", "count": "3"}, page="/tubes"
    )
    assert wrong.status_code == 400 and "2 closed tube(s)" in wrong.text
    right = post_form(
        client, "/tubes/pack", {"site": "S1", "date": "2022-05-11", "count": "2"}, page="/tubes"
    )
    assert right.status_code == 303, right.text
    assert _statuses(engine) == {"T1": "packed", "T2": "packed", "T3": "open"}
    manifest = client.get("/tubes/manifest", params={"site": "S1", "date": "2022-05-11"})
    html = soup(manifest)
    assert [r["data-code"] for r in html.select("table.manifest-tubes tbody tr")] == ["T1", "T2"]
    for name in ("李娜", "刘洋", "张伟", "B001", "A001"):
        assert name not in html.select_one("article.manifest").text  # type: ignore[union-attr]
