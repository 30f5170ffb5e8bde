"""The simulated staff's side of the web app: sign in, check people in, excuse, and Twilio's
inbound webhook (a person replying STOP), over real HTTP to ``testrota serve`` processes."""

from __future__ import annotations

from typing import Any

import httpx2 as httpx
from bs4 import BeautifulSoup
from twilio.request_validator import RequestValidator


class WebUser:
    """One signed-in browser session of one user against one web process.

    A sign-in expires after the policy's idle time on the *simulated* clock (a night without
    requests); the next call then signs in again, as a person at the site would.
    """

    def __init__(self, base_url: str, name: str, password: str) -> None:
        self.base_url = base_url
        self.name, self.password = name, password
        # An idle connection is dropped after 2 s, before the server's 5 s (uvicorn's default):
        # with both at 5 s a request sent on a connection the server was closing at that
        # moment met a reset, as a loaded machine's pauses made it happen.
        self.client = httpx.Client(
            base_url=base_url,
            timeout=120,
            follow_redirects=False,
            limits=httpx.Limits(
                max_connections=100, max_keepalive_connections=20, keepalive_expiry=2
            ),
        )
        self.csrf: str | None = None
        self.sign_ins = 0

    def sign_in(self) -> None:
        page = self.client.get("/login")
        meta = BeautifulSoup(page.text, "html.parser").select_one('meta[name="csrf-token"]')
        if meta is None:
            raise RuntimeError(f"{self.base_url}/login has no CSRF token ({page.status_code})")
        response = self.client.post(
            "/login",
            data={
                "username": self.name,
                "password": self.password,
                "csrf_token": str(meta["content"]),
            },
        )
        if response.status_code != 303:
            raise RuntimeError(
                f"sign-in of {self.name} refused: {response.status_code} {response.text[:300]}"
            )
        session = self.client.get("/api/session")
        session.raise_for_status()
        self.csrf = str(session.json()["csrf_token"])
        self.sign_ins += 1

    def post_json(self, path: str, body: dict[str, Any]) -> httpx.Response:
        response: httpx.Response | None = None
        for attempt in range(2):
            if self.csrf is None:
                self.sign_in()
            assert self.csrf is not None
            response = self.client.post(path, json=body, headers={"X-CSRF-Token": self.csrf})
            if response.status_code in (401, 403) and attempt == 0:
                self.csrf = None  # signed out by the idle timeout: sign in, try once more
                continue
            return response
        assert response is not None
        return response

    def check_in(self, employee_no: str, site: str | None) -> httpx.Response:
        return self.post_json("/api/checkin", {"employee_no": employee_no, "site": site})

    def excuse(self, employee_no: str, appointment_id: int, reason: str) -> httpx.Response:
        return self.post_json(
            "/api/excuse",
            {"employee_no": employee_no, "reason": reason, "appointment_id": appointment_id},
        )

    def close(self) -> None:
        self.client.close()


def inbound_text(
    base_url: str, public_url: str, auth_token: str, from_number: str, body: str, sid: str
) -> httpx.Response:
    """An SMS from a person, delivered as Twilio does: a signed, form-encoded POST."""
    params = {
        "From": from_number,
        "To": "+15005550006",
        "Body": body,
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": "AC" + "f" * 32,
        "NumMedia": "0",
    }
    signature = RequestValidator(auth_token).compute_signature(
        public_url + "/twilio/inbound", params
    )
    return httpx.post(
        base_url + "/twilio/inbound",
        data=params,
        headers={"X-Twilio-Signature": signature},
        timeout=60,
    )
