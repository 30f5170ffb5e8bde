"""schemathesis against the OpenAPI spec: no generated request gets a 5xx, signed in as HR and
as a supervisor (whose calls are scoped), with the CSRF header that unsafe calls need."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from sqlalchemy import Engine

from testrota.settings import Settings
from testrota.web.app import create_app
from tests.web_support import make_user, sign_in, week19

pytest_plugins = ("tests.web_fixtures",)

EXAMPLES = 25


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("who", ["hr", "supervisor"])
def test_no_server_errors_for_generated_requests(
    who: str, web_settings: Settings, engine: Engine
) -> None:
    week19(engine)
    make_user(engine, "u", who, ["物流部"] if who == "supervisor" else [])
    app = create_app(web_settings)
    with TestClient(app) as client:
        sign_in(client, "u")
        csrf = client.get("/api/session").json()["csrf_token"]
        cookies = {"testrota_session": client.cookies["testrota_session"]}
        # the document is for signed-in readers of the API page: read as this one
        document = client.get("/openapi.json", headers={"Accept": "application/json"})
        assert document.status_code == 200, document.text
        schema = schemathesis.openapi.from_dict(document.json())
        schema.app = app
        statuses: Counter[int] = Counter()
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 10
        for operation in operations:

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy())
            def check(case: Any) -> None:
                response = case.call(headers={"X-CSRF-Token": csrf}, cookies=cookies)
                statuses[response.status_code] += 1
                assert response.status_code < 500, (
                    f"{case.method} {case.formatted_path} {case.query} {case.body!r}: "
                    f"{response.status_code} {response.text[:500]}"
                )

            check()
    # the calls were signed in: most answered, not 401
    assert statuses[200] > statuses[401]
