"""A fake WeCom (企业微信) server API: a real threaded HTTP server on 127.0.0.1.

It speaks the part testrota uses: ``GET /cgi-bin/gettoken`` (checks corpid and corpsecret,
tokens last ``expires_in`` and can be expired at will: 42001), ``POST /cgi-bin/message/send``
(checks the token, the agent id, a text message to one member; honours
``enable_duplicate_check`` within ``duplicate_check_interval``) and ``POST
/cgi-bin/user/getuserid`` (mobile to member, 46004 when none). As WeCom does, it drops a
member's messages past 30 a minute and 1,000 an hour *without an error*, and counts them, so a
test can prove our limiter kept below. Failures can be injected: errcodes (45009, -1), HTTP
500, and a dropped connection before or after the message is taken.

Run on its own: ``python -m tests.fake_wecom`` prints ``{"api_base": ...}`` and serves until
SIGTERM; ``GET /_fake/stats`` and ``GET /_fake/delivered`` read its records.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import secrets
import signal
import socket
import sys
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

CORP_ID = "wwfake0123456789ab"
SECRET = "fake-wecom-secret-0123456789abcdefghijkl"
AGENT_ID = 1000002
PER_MINUTE, PER_HOUR = 30, 1000
FAILURES = ("45009", "-1", "500", "drop_before", "drop_after", "expire")


@dataclass
class Delivered:
    msgid: str
    touser: str
    content: str
    at: float


class FakeWecom:
    def __init__(self, members: dict[str, str] | None = None, port: int = 0) -> None:
        self.corp_id, self.secret, self.agent_id = CORP_ID, SECRET, AGENT_ID
        self.members = dict(members or {})  # mobile (11 digits) -> userid
        self.latency = 0.0
        # Cleared, it holds every text that arrives until set again (counted as "held"), so a
        # test can kill a dispatcher while it is certainly mid-batch.
        self.gate = threading.Event()
        self.gate.set()
        self.token_seconds = 7200
        self.offset = 0.0  # seconds added to the fake's clock (its per-member windows)
        self._port = port
        self._lock = threading.Lock()
        self._tokens: dict[str, float] = {}  # token -> expiry (time.time)
        self._delivered: list[Delivered] = []
        self._per_member: dict[str, list[float]] = {}
        self._recent: dict[tuple[str, str], float] = {}  # (touser, content) -> last taken
        self._rules: list[list[Any]] = []
        self.counts: Counter[str] = Counter()
        self._server: ThreadingHTTPServer | None = None
        self._connections: set[socket.socket] = set()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> Self:
        fake = self

        class Handler(_Handler):
            owner = fake

        server = _Server(("127.0.0.1", self._port), Handler)
        self._server = server
        self._port = server.server_address[1]
        threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self._lock:
            connections, self._connections = list(self._connections), set()
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> FakeWecom:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def env(self) -> dict[str, str]:
        return {
            "TESTROTA_SMS_BACKEND": "wecom",
            "WECOM_CORP_ID": self.corp_id,
            "WECOM_SECRET": self.secret,
            "WECOM_AGENT_ID": str(self.agent_id),
            "TESTROTA_WECOM_API_BASE": self.api_base,
        }

    def settings(self) -> dict[str, object]:
        return {
            "sms_backend": "wecom",
            "wecom_corp_id": self.corp_id,
            "wecom_secret": self.secret,
            "wecom_agent_id": self.agent_id,
            "wecom_api_base": self.api_base,
        }

    # ------------------------------------------------------------------ steering and records
    def fail(self, kind: str, times: int = 1) -> None:
        assert kind in FAILURES, kind
        with self._lock:
            self._rules.append([kind, times])

    def expire_tokens(self) -> None:
        """Every token handed out so far is expired from now on (WeCom's 42001)."""
        with self._lock:
            self._tokens = dict.fromkeys(self._tokens, 0.0)

    @property
    def delivered(self) -> list[Delivered]:
        with self._lock:
            return list(self._delivered)

    def stats(self) -> dict[str, Any]:
        with self._lock:
            keys = Counter((d.touser, d.content) for d in self._delivered)
            return {
                "delivered": len(self._delivered),
                "duplicates": sum(n - 1 for n in keys.values() if n > 1),
                "counts": dict(self.counts),
            }

    def _take_rule(self) -> str | None:
        with self._lock:
            for rule in self._rules:
                if rule[1] > 0:
                    rule[1] -= 1
                    if rule[1] == 0:
                        self._rules.remove(rule)
                    return str(rule[0])
        return None

    def _token_error(self, token: str | None) -> dict[str, Any] | None:
        if not token:
            return {"errcode": 41001, "errmsg": "access_token missing"}
        with self._lock:
            until = self._tokens.get(token)
        if until is None:
            return {"errcode": 40014, "errmsg": "invalid access_token"}
        if until <= time.time():
            return {"errcode": 42001, "errmsg": "access_token expired"}
        return None

    # ------------------------------------------------------------------ the API
    def gettoken(self, query: dict[str, str]) -> dict[str, Any]:
        with self._lock:
            self.counts["gettoken"] += 1
        if query.get("corpid") != self.corp_id:
            return {"errcode": 40013, "errmsg": "invalid corpid"}
        if query.get("corpsecret") != self.secret:
            return {"errcode": 40001, "errmsg": "invalid credential"}
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = time.time() + self.token_seconds
        return {
            "errcode": 0,
            "errmsg": "ok",
            "access_token": token,
            "expires_in": self.token_seconds,
        }

    def getuserid(self, token: str | None, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.counts["getuserid"] += 1
        error = self._token_error(token)
        if error is not None:
            return error
        user = self.members.get(str(body.get("mobile") or ""))
        if user is None:
            return {"errcode": 46004, "errmsg": "user not found"}
        return {"errcode": 0, "errmsg": "ok", "userid": user}

    def send(self, token: str | None, body: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
        with self._lock:
            self.counts["send"] += 1
        error = self._token_error(token)
        if error is not None:
            return None, error
        rule = self._take_rule()
        if rule == "expire":
            self.expire_tokens()
            return None, {"errcode": 42001, "errmsg": "access_token expired"}
        if rule in ("45009", "-1"):
            return None, {"errcode": int(rule), "errmsg": "fake failure"}
        if rule in ("500", "drop_before"):
            return rule, {}
        if body.get("agentid") != self.agent_id:
            return None, {"errcode": 40056, "errmsg": "invalid agentid"}
        content = str((body.get("text") or {}).get("content") or "")
        touser = str(body.get("touser") or "")
        if body.get("msgtype") != "text" or not content:
            return None, {"errcode": 44004, "errmsg": "empty content"}
        if touser not in self.members.values():
            return None, {"errcode": 81013, "errmsg": "user & party & tag all invalid"}
        msgid = secrets.token_hex(12)
        now = time.time() + self.offset
        with self._lock:
            interval = float(body.get("duplicate_check_interval") or 1800)
            last = self._recent.get((touser, content))
            if body.get("enable_duplicate_check") and last is not None and now - last < interval:
                self.counts["duplicate_suppressed"] += 1
            else:
                self._recent[(touser, content)] = now
                sent = [t for t in self._per_member.get(touser, []) if now - t < 3600]
                minute = [t for t in sent if now - t < 60]
                if len(minute) >= PER_MINUTE or len(sent) >= PER_HOUR:
                    self.counts["dropped_over_limit"] += 1  # silently, as WeCom does
                else:
                    sent.append(now)
                    self._delivered.append(Delivered(msgid, touser, content, now))
                self._per_member[touser] = sent
        answer = {"errcode": 0, "errmsg": "ok", "invaliduser": "", "msgid": msgid}
        return rule, answer


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512


class _Handler(BaseHTTPRequestHandler):
    owner: FakeWecom
    protocol_version = "HTTP/1.1"
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

    def _json(self, document: object, status: int = 200) -> None:
        data = json.dumps(document, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query))
        if parts.path == "/cgi-bin/gettoken":
            self._json(self.owner.gettoken(query))
        elif parts.path == "/_fake/stats":
            self._json(self.owner.stats())
        elif parts.path == "/_fake/delivered":
            self._json([asdict(d) for d in self.owner.delivered])
        else:
            self._json({"errcode": 60011, "errmsg": "no such api"}, 404)

    def do_POST(self) -> None:
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query))
        body = self._body()
        token = query.get("access_token")
        if self.owner.latency:
            time.sleep(self.owner.latency)
        if parts.path == "/cgi-bin/user/getuserid":
            self._json(self.owner.getuserid(token, body))
        elif parts.path == "/cgi-bin/message/send":
            if not self.owner.gate.is_set():
                with self.owner._lock:
                    self.owner.counts["held"] += 1
                self.owner.gate.wait(120)
            rule, answer = self.owner.send(token, body)
            if rule in ("drop_before", "drop_after"):
                self.close_connection = True
                return
            if rule == "500":
                self._json({"error": "fake 500"}, 500)
                return
            self._json(answer)
        elif parts.path == "/_fake/fail":
            self.owner.fail(str(body["kind"]), int(body.get("times", 1)))
            self._json({"ok": True})
        else:
            self._json({"errcode": 60011, "errmsg": "no such api"}, 404)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--members", type=int, default=0, help="+86138000000NN -> userNN")
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args()
    members = {f"138{n:08d}": f"user{n}" for n in range(1, args.members + 1)}
    fake = FakeWecom(members, port=args.port).start()
    fake.latency = args.latency
    print(json.dumps({"api_base": fake.api_base}), flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    fake.stop()
    sys.exit(0)


if __name__ == "__main__":
    main()
