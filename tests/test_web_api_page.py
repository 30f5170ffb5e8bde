"""The API page (``/api``) in the reader's language: every operation has a summary written for
people (not a function's name), and every description paragraph and parameter description of
the OpenAPI document has Chinese; backticked names read as code, never as raw backticks."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from testrota.settings import Settings
from testrota.web import api_text
from testrota.web.app import create_app
from tests.web_support import make_user, sign_in, soup

pytest_plugins = ("tests.web_fixtures",)


def test_every_operation_and_text_of_the_api_has_both_languages(web_settings: Settings) -> None:
    spec = create_app(web_settings).openapi()
    missing = []
    texts = api_text.paragraphs(spec["info"]["description"])
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            if (method.upper(), path) not in api_text.SUMMARIES:
                missing.append(f"summary of {method.upper()} {path}")
            texts += api_text.paragraphs(op.get("description") or "")
            texts += [
                api_text.even(p.get("description") or p.get("schema", {}).get("description", ""))
                for p in op.get("parameters", [])
            ]
    missing += [t for t in texts if t and t not in api_text.ZH_TEXTS]
    assert not missing, missing


def _ops(page: object) -> dict[str, tuple[str, str]]:
    return {
        " ".join(s.select_one("h2").get_text(" ", strip=True).split()[:2]): (  # type: ignore[union-attr]
            s.select_one("h2 .muted").get_text(strip=True),  # type: ignore[union-attr]
            " ".join(p.get_text(" ", strip=True) for p in s.select("p:not(.small)")),
        )
        for s in page.select("section.api-op")  # type: ignore[attr-defined]
    }


def test_the_api_page_reads_in_chinese_and_in_english(client: TestClient, engine: Engine) -> None:
    make_user(engine, "hr_zh", "hr", language="zh")
    sign_in(client, "hr_zh")
    page = soup(client.get("/api"))
    ops = _ops(page)
    assert ops["GET /api/missed"][0] == "一周的漏检名单"
    assert "漏检名单" in ops["GET /api/missed"][1]
    alerts = ops["GET /api/alerts"][1]
    assert "未关闭的阳性预警" in alerts and "主管只能看到" in alerts
    main = page.select_one("main")
    assert main is not None and "`" not in main.get_text()
    assert "Api " not in main.get_text()  # no function names for summaries
    assert "ISO 周" in main.get_text() and "请先在" in main.get_text()
    make_user(engine, "hr_en", "hr", language="en")
    sign_in(client, "hr_en")
    ops = _ops(soup(client.get("/api")))
    assert ops["GET /api/missed"][0] == "Missed tests of a week"
    assert "The missed-test list of a week" in ops["GET /api/missed"][1]
