"""A fake Twilio REST API: a real threaded HTTP server on 127.0.0.1.

It speaks the part of ``/2010-04-01/Accounts/{sid}/Messages.json`` that testrota uses (create,
fetch, list with ``To`` and ``DateSent>`` filters and paging), checks HTTP Basic auth, and lets a
test switch latency and inject failures: 429, 5xx, error codes 21610 / 21211 / 21614 / others,
the newer RFC 9457 error body, and a dropped connection before or after the message is
accepted. It records every request it received and every message it accepted, and can send
signed status callbacks like Twilio does.

Run it on its own (benchmarks, multi-process tests)::

    python -m tests.fake_twilio --latency 0.05

prints one JSON line ``{"base_url": ..., "account_sid": ..., "auth_token": ...}`` and serves
until SIGTERM; ``GET /_fake/stats`` and ``GET /_fake/messages`` read its records and
``POST /_fake/fail`` / ``POST /_fake/latency`` (JSON bodies) steer it.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import re
import secrets
import signal
import socket
import sys
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlencode, urlsplit

from twilio.request_validator import RequestValidator

ACCOUNT_SID = "AC" + "f" * 32
AUTH_TOKEN = "fake-auth-token-0123456789abcdef"

_MESSAGES = re.compile(r"^/2010-04-01/Accounts/(AC\w+)/Messages\.json$")
_MESSAGE = re.compile(r"^/2010-04-01/Accounts/(AC\w+)/Messages/(\w+)\.json$")

# Error bodies in Twilio's classic format: (HTTP status, code, message).
ERRORS: dict[str, tuple[int, int, str]] = {
    "429": (429, 20429, "Too Many Requests"),
    "500": (500, 20500, "Internal Server Error"),
    "503": (503, 20503, "Service Unavailable"),
    "21610": (400, 21610, "Attempt to send to unsubscribed recipient"),
    "21211": (400, 21211, "The 'To' number is not a valid phone number."),
    "21614": (400, 21614, "'To' number is not a valid mobile number"),
    "21408": (400, 21408, "Permission to send an SMS has not been enabled for the region"),
}
DROPS = ("drop_before", "drop_after")


@dataclass
class FakeMessage:
    sid: str
    to: str
    body: str
    from_: str | None
    messaging_service_sid: str | None
    status: str
    status_callback: str | None
    created: float
    error_code: int | None = None

    def resource(self, account_sid: str) -> dict[str, Any]:
        created = format_datetime(datetime.fromtimestamp(self.created, UTC), usegmt=True)
        return {
            "account_sid": account_sid,
            "api_version": "2010-04-01",
            "body": self.body,
            "date_created": created,
            "date_sent": created,
            "date_updated": created,
            "direction": "outbound-api",
            "error_code": self.error_code,
            "error_message": None,
            "from": self.from_,
            "messaging_service_sid": self.messaging_service_sid,
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": self.sid,
            "status": self.status,
            "subresource_uris": {},
            "to": self.to,
            "uri": f"/2010-04-01/Accounts/{account_sid}/Messages/{self.sid}.json",
        }


@dataclass
class _Rule:
    kind: str
    times: int | None  # None: until cleared
    to: str | None = None
    rfc9457: bool = False


@dataclass
class Received:
    """One create request as it arrived, whatever became of it."""

    at: float
    to: str
    body: str
    outcome: str  # "accepted" or the failure kind
    params: dict[str, str] = field(default_factory=dict)


class FakeTwilio:
    def __init__(
        self,
        latency: float = 0.0,
        account_sid: str = ACCOUNT_SID,
        auth_token: str = AUTH_TOKEN,
        port: int = 0,
        callbacks: bool = False,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.latency = latency
        self.callbacks = callbacks
        self._port = port
        self._lock = threading.Lock()
        self._messages: dict[str, FakeMessage] = {}
        self._order: list[str] = []
        self._received: list[Received] = []
        self._rules: list[_Rule] = []
        self._requests: Counter[str] = Counter()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.callback_log: list[tuple[str, dict[str, str], int]] = []
        self._connections: set[socket.socket] = set()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> Self:
        fake = self

        class Handler(self._handler_class()):  # type: ignore[misc]
            owner = fake

        server = _Server(("127.0.0.1", self._port), Handler)
        self._server = server
        self._port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def _handler_class(self) -> type[_Handler]:
        """The request handler; a subclass of the fake answers more of the API with its own."""
        return _Handler

    def stop(self) -> None:
        """Stop listening and cut open keep-alive connections: the API is down."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self._lock:
            connections, self._connections = list(self._connections), set()
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def restart(self) -> None:
        """Listen again on the same port (after :meth:`stop`)."""
        self.start()

    def __enter__(self) -> FakeTwilio:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def env(self) -> dict[str, str]:
        """Environment for a testrota process that should send through this fake."""
        return {
            "TESTROTA_SMS_BACKEND": "twilio",
            "TWILIO_ACCOUNT_SID": self.account_sid,
            "TWILIO_AUTH_TOKEN": self.auth_token,
            "TWILIO_FROM": "+15005550006",
            "TESTROTA_TWILIO_API_BASE": self.base_url,
        }

    # ------------------------------------------------------------------ steering
    def fail(
        self, kind: str, times: int | None = 1, to: str | None = None, rfc9457: bool = False
    ) -> None:
        """The next ``times`` creates (to ``to``, if given) fail with ``kind``."""
        if kind not in ERRORS and kind not in DROPS:
            raise ValueError(f"unknown failure {kind!r}")
        with self._lock:
            self._rules.append(_Rule(kind, times, to, rfc9457))

    def clear_failures(self) -> None:
        with self._lock:
            self._rules.clear()

    def set_status(self, sid: str, status: str, error_code: int | None = None) -> None:
        with self._lock:
            self._messages[sid].status = status
            self._messages[sid].error_code = error_code

    # ------------------------------------------------------------------ records
    @property
    def messages(self) -> list[FakeMessage]:
        with self._lock:
            return [self._messages[sid] for sid in self._order]

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def count_by_body(self) -> Counter[str]:
        return Counter(m.body for m in self.messages)

    def request_count(self, kind: str) -> int:
        with self._lock:
            return self._requests[kind]

    # ------------------------------------------------------------------ the API
    def _take_rule(self, to: str) -> _Rule | None:
        with self._lock:
            for rule in self._rules:
                if rule.to is None or rule.to == to:
                    if rule.times is not None:
                        rule.times -= 1
                        if rule.times <= 0:
                            self._rules.remove(rule)
                    return rule
        return None

    def _create(self, params: dict[str, str]) -> tuple[_Rule | None, FakeMessage | None]:
        to, body = params.get("To", ""), params.get("Body", "")
        rule = self._take_rule(to)
        outcome = rule.kind if rule and rule.kind != "drop_after" else "accepted"
        message = None
        if rule is None or rule.kind == "drop_after":
            message = FakeMessage(
                sid="SM" + secrets.token_hex(16),
                to=to,
                body=body,
                from_=params.get("From"),
                messaging_service_sid=params.get("MessagingServiceSid"),
                status="accepted" if params.get("MessagingServiceSid") else "queued",
                status_callback=params.get("StatusCallback"),
                created=time.time(),
            )
        with self._lock:
            self._received.append(Received(time.time(), to, body, outcome, dict(params)))
            if message is not None:
                self._messages[message.sid] = message
                self._order.append(message.sid)
        if message is not None and self.callbacks and message.status_callback:
            threading.Thread(target=self._send_callbacks, args=(message,), daemon=True).start()
        return rule, message

    def _list(self, query: dict[str, list[str]]) -> dict[str, Any]:
        to = query.get("To", [None])[0]
        after = query.get("DateSent>", [None])[0]
        after_ts = (
            datetime.strptime(after, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
            if after
            else None
        )
        page_size = int(query.get("PageSize", ["50"])[0])
        page = int(query.get("Page", ["0"])[0])
        with self._lock:
            found = [
                self._messages[sid]
                for sid in reversed(self._order)
                if (to is None or self._messages[sid].to == to)
                and (after_ts is None or self._messages[sid].created >= int(after_ts))
            ]
        chunk = found[page * page_size : (page + 1) * page_size]
        base = f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        keep = {k: v[0] for k, v in query.items() if k not in ("Page", "PageToken")}
        next_uri = None
        if (page + 1) * page_size < len(found):
            next_uri = base + "?" + urlencode({**keep, "Page": page + 1, "PageToken": "PT"})
        return {
            "messages": [m.resource(self.account_sid) for m in chunk],
            "first_page_uri": base + "?" + urlencode({**keep, "Page": 0}),
            "next_page_uri": next_uri,
            "previous_page_uri": None,
            "page": page,
            "page_size": page_size,
            "start": page * page_size,
            "end": page * page_size + len(chunk),
            "uri": base,
        }

    def _send_callbacks(self, message: FakeMessage) -> None:
        """Like Twilio: POST form-encoded, signed status updates to the StatusCallback URL."""
        assert message.status_callback
        validator = RequestValidator(self.auth_token)
        for status in ("sent", "delivered"):
            time.sleep(0.05)
            params = {
                "AccountSid": self.account_sid,
                "ApiVersion": "2010-04-01",
                "From": message.from_ or "",
                "To": message.to,
                "MessageSid": message.sid,
                "SmsSid": message.sid,
                "MessageStatus": status,
                "SmsStatus": status,
            }
            signature = validator.compute_signature(message.status_callback, params)
            request = urllib.request.Request(
                message.status_callback,
                data=urlencode(params).encode(),
                headers={
                    "X-Twilio-Signature": signature,
                    "Content-Type": "application/x-www-form-urlencoded",
                },
            )
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    code = response.status
            except Exception:
                code = 0
            with self._lock:
                message.status = status
                self.callback_log.append((message.status_callback, params, code))

    def stats(self) -> dict[str, Any]:
        with self._lock:
            bodies = Counter((self._messages[s].to, self._messages[s].body) for s in self._order)
            return {
                "accepted": len(self._order),
                "received": len(self._received),
                "duplicates": sum(n - 1 for n in bodies.values() if n > 1),
                "requests": dict(self._requests),
            }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512  # many dispatcher threads connect at once


class _Handler(BaseHTTPRequestHandler):
    owner: FakeTwilio
    protocol_version = "HTTP/1.1"  # keep-alive, as the real API
    # One write per response, and no Nagle: otherwise every request waits for a delayed ACK.
    wbufsize = 1 << 16
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        with self.owner._lock:
            self.owner._connections.add(self.connection)

    def finish(self) -> None:
        with self.owner._lock:
            self.owner._connections.discard(self.connection)
        super().finish()

    # ------------------------------------------------------------------ helpers
    def _send_json(self, status: int, document: object) -> None:
        data = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, code: int, message: str, rfc9457: bool = False) -> None:
        if rfc9457:
            self._send_json(
                status,
                {
                    "type": f"https://www.twilio.com/docs/errors/{code}",
                    "title": message,
                    "status": status,
                    "code": code,
                    "detail": f"fake error {code}",
                },
            )
        else:
            self._send_json(
                status,
                {
                    "code": code,
                    "message": message,
                    "status": status,
                    "more_info": f"https://www.twilio.com/docs/errors/{code}",
                },
            )

    def _authorised(self) -> bool:
        header = self.headers.get("Authorization", "")
        expected = base64.b64encode(
            f"{self.owner.account_sid}:{self.owner.auth_token}".encode()
        ).decode()
        return header == f"Basic {expected}"

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _drop(self) -> None:
        self.close_connection = True

    # ------------------------------------------------------------------ verbs
    def do_POST(self) -> None:
        raw = self._read_body()
        path = urlsplit(self.path).path
        if path.startswith("/_fake/"):
            self._control(path, raw)
            return
        with self.owner._lock:
            self.owner._requests["create"] += 1
        match = _MESSAGES.match(path)
        if match is None:
            self._error(404, 20404, "The requested resource was not found")
            return
        if not self._authorised() or match.group(1) != self.owner.account_sid:
            self._error(401, 20003, "Authenticate")
            return
        params = {k: v[0] for k, v in parse_qs(raw.decode(), keep_blank_values=True).items()}
        if not params.get("To"):
            self._error(400, 21604, "A 'To' phone number is required.")
            return
        if not (params.get("From") or params.get("MessagingServiceSid")):
            self._error(400, 21603, "A 'From' phone number is required.")
            return
        if self.owner.latency:
            time.sleep(self.owner.latency)
        rule, message = self.owner._create(params)
        if rule is not None and rule.kind in DROPS:
            self._drop()
            return
        if rule is not None:
            status, code, text = ERRORS[rule.kind]
            self._error(status, code, text, rule.rfc9457)
            return
        assert message is not None
        self._send_json(201, message.resource(self.owner.account_sid))

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path.startswith("/_fake/"):
            self._control(parts.path, b"")
            return
        if not self._authorised():
            self._error(401, 20003, "Authenticate")
            return
        if self.owner.latency:
            time.sleep(self.owner.latency)
        one = _MESSAGE.match(parts.path)
        if one is not None:
            with self.owner._lock:
                self.owner._requests["fetch"] += 1
                message = self.owner._messages.get(one.group(2))
            if message is None:
                self._error(404, 20404, f"The requested resource {parts.path} was not found")
                return
            self._send_json(200, message.resource(self.owner.account_sid))
            return
        if _MESSAGES.match(parts.path):
            with self.owner._lock:
                self.owner._requests["list"] += 1
            self._send_json(200, self.owner._list(parse_qs(parts.query)))
            return
        self._error(404, 20404, "The requested resource was not found")

    def _control(self, path: str, raw: bytes) -> None:
        body = json.loads(raw or b"{}")
        if path == "/_fake/stats":
            self._send_json(200, self.owner.stats())
        elif path == "/_fake/messages":
            self._send_json(200, [asdict(m) for m in self.owner.messages])
        elif path == "/_fake/received":
            self._send_json(200, [asdict(r) for r in self.owner.received])
        elif path == "/_fake/fail":
            self.owner.fail(body["kind"], body.get("times", 1), body.get("to"))
            self._send_json(200, {"ok": True})
        elif path == "/_fake/clear":
            self.owner.clear_failures()
            self._send_json(200, {"ok": True})
        elif path == "/_fake/latency":
            self.owner.latency = float(body["seconds"])
            self._send_json(200, {"ok": True})
        else:
            self._error(404, 20404, "unknown control path")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args()
    fake = FakeTwilio(latency=args.latency, port=args.port).start()
    print(
        json.dumps(
            {
                "base_url": fake.base_url,
                "account_sid": fake.account_sid,
                "auth_token": fake.auth_token,
            }
        ),
        flush=True,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    fake.stop()
    sys.exit(0)


if __name__ == "__main__":
    main()
