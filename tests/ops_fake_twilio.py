"""The fake Twilio of the tests, also answering what ``testrota doctor`` asks (never a send).

Adds to :class:`tests.fake_twilio.FakeTwilio`: the account (``GET /2010-04-01/Accounts/{sid}
.json``), its phone numbers (``GET .../IncomingPhoneNumbers.json?PhoneNumber=``) and messaging
services (``GET /v1/Services/{sid}``, the messaging domain, reached through the same API base).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fake_twilio import FakeTwilio, _Handler

_ACCOUNT = re.compile(r"^/2010-04-01/Accounts/(AC\w+)\.json$")
_NUMBERS = re.compile(r"^/2010-04-01/Accounts/(AC\w+)/IncomingPhoneNumbers\.json$")
_SERVICE = re.compile(r"^/v1/Services/(MG\w+)$")


class DoctorFakeTwilio(FakeTwilio):
    def __init__(
        self,
        *,
        account_status: str = "active",
        account_type: str = "Full",
        numbers: tuple[str, ...] = ("+15005550006",),
        services: tuple[str, ...] = (),
        sms_capable: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.account_status = account_status
        self.account_type = account_type
        self.numbers = numbers
        self.services = services
        self.sms_capable = sms_capable
        self.lookups: list[str] = []

    def _handler_class(self) -> type[_Handler]:
        return _DoctorHandler

    def __enter__(self) -> DoctorFakeTwilio:
        return self.start()


class _DoctorHandler(_Handler):
    owner: DoctorFakeTwilio

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        path = parts.path
        if not (_ACCOUNT.match(path) or _NUMBERS.match(path) or _SERVICE.match(path)):
            super().do_GET()
            return
        self.owner.lookups.append(path)
        if not self._authorised():
            self._error(401, 20003, "Authenticate")
            return
        fake = self.owner
        if (m := _ACCOUNT.match(path)) is not None:
            if m.group(1) != fake.account_sid:
                self._error(404, 20404, "The requested resource was not found")
                return
            self._send_json(
                200,
                {
                    "sid": fake.account_sid,
                    "friendly_name": "Steel group rota",
                    "status": fake.account_status,
                    "type": fake.account_type,
                    "owner_account_sid": fake.account_sid,
                    "uri": f"/2010-04-01/Accounts/{fake.account_sid}.json",
                },
            )
        elif (m := _NUMBERS.match(path)) is not None:
            wanted = parse_qs(parts.query).get("PhoneNumber", [None])[0]
            found = [n for n in fake.numbers if wanted is None or n == wanted]
            base = f"/2010-04-01/Accounts/{fake.account_sid}/IncomingPhoneNumbers.json"
            self._send_json(
                200,
                {
                    "incoming_phone_numbers": [
                        {
                            "sid": f"PN{i:032d}",
                            "phone_number": n,
                            "account_sid": fake.account_sid,
                            "capabilities": {"sms": fake.sms_capable, "voice": True, "mms": False},
                        }
                        for i, n in enumerate(found)
                    ],
                    "first_page_uri": base,
                    "next_page_uri": None,
                    "previous_page_uri": None,
                    "page": 0,
                    "page_size": 50,
                    "start": 0,
                    "end": len(found),
                    "uri": base,
                },
            )
        elif (m := _SERVICE.match(path)) is not None:
            if m.group(1) not in fake.services:
                self._error(404, 20404, "The requested resource was not found")
                return
            self._send_json(
                200,
                {
                    "sid": m.group(1),
                    "friendly_name": "rota sender",
                    "account_sid": fake.account_sid,
                },
            )
