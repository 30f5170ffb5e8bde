"""A masked reader cannot rebuild a masked number by searching for it a digit at a time.

supB sees 刘洋's phone as ``+*********0002``. If a search for part of a number matched, each
request would tell them one more digit (a phone came back in 47 requests). For a masked reader
a number matches only whole, so every wrong guess gets the same answer.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from testrota.settings import Settings
from tests.disclosure_world import seed
from tests.web_support import sign_in, soup

pytest_plugins = ("tests.web_fixtures",)

PHONE = "13922220002"  # 刘洋 (B002), 物流部: supB's own department
ID_NUMBER = "44030419851123002X"


def answer(client: TestClient, q: str) -> tuple[Any, ...]:
    """What a search for ``q`` tells its reader: the page's rows and the API's people."""
    page = soup(client.get("/people", params={"q": q, "active": "all"}))
    rows = tuple(
        tuple(td.get_text(" ", strip=True) for td in tr.select("td"))
        for tr in page.select("table.people tbody tr")
    )
    api = client.get("/api/people", params={"q": q}).json()
    return rows, api["total"], tuple(p["employee_no"] for p in api["people"])


def guesses() -> list[str]:
    """What the attacker tries: the number grown a digit at a time from either end, in every
    spelling, and runs of it from the middle."""
    out = []
    for n in range(1, len(PHONE)):
        for d in "0123456789":
            out += [PHONE[:n] + d, d + PHONE[-n:], "+86" + PHONE[:n] + d]
    out += [PHONE[i : i + n] for n in (4, 6, 8) for i in range(len(PHONE) - n + 1)]
    out += [
        "+86 139 2222",
        "139-2222-000",
        "２２２２０００２",
        ID_NUMBER[:6],
        ID_NUMBER[:17],
        ID_NUMBER[-8:],
    ]
    whole = {PHONE, "86" + PHONE}
    return sorted(q for q in set(out) if re.sub(r"\D", "", q) not in whole)


def test_every_wrong_guess_gets_the_same_answer(
    client: TestClient, engine: Engine, web_settings: Settings
) -> None:
    seed(engine, web_settings)
    sign_in(client, "supB")
    nothing = answer(client, "00000000000")
    assert nothing == ((), 0, ())
    tried = guesses()
    assert len(tried) > 300
    told = {q: answer(client, q) for q in tried}
    learned = {q: a for q, a in told.items() if a != nothing}
    assert not learned, f"a partial number found someone: {sorted(learned)[:10]}"


def test_the_whole_number_still_finds_the_person(
    client: TestClient, engine: Engine, web_settings: Settings
) -> None:
    seed(engine, web_settings)
    sign_in(client, "supB")
    for q in (
        PHONE,
        "139 2222 0002",
        "+86 139-2222-0002",
        "８６１３９２２２２０００２",
        ID_NUMBER,
        ID_NUMBER.lower(),
        "440304 19851123 002X",
    ):
        rows, total, found = answer(client, q)
        assert total == 1, q
        assert found == ("B002",), q
        assert "+*********0002" in rows[0]  # and still masked
    # a whole number of someone in another department finds nothing
    assert answer(client, "13733330001") == ((), 0, ())


def test_readers_who_see_numbers_in_full_find_them_by_part(
    client: TestClient, engine: Engine, web_settings: Settings
) -> None:
    seed(engine, web_settings)
    sign_in(client, "hr1")
    assert answer(client, "2222 0002")[2] == ("B002",)
    assert answer(client, ID_NUMBER)[2] == ("B002",)
    outbox = client.get("/api/outbox", params={"q": "2222 0002"}).json()["messages"]
    assert [m["employee_no"] for m in outbox] == ["B002"]
