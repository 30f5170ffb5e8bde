"""A fake Aliyun SMS API (dysmsapi 2017-05-25): a real threaded HTTP server on 127.0.0.1.

It checks a request the way Aliyun does before it looks at it: the ACS3-HMAC-SHA256
``Authorization`` header recomputed from the signed headers, the query and the body's hash
with the known secret; the access key; a fresh ``x-acs-date`` and a ``x-acs-signature-nonce``
never seen before. Then ``SendSms`` checks the signature name, that the template code is one
approved (by default the ``channels.aliyun`` templates of ``config/messages.yaml``) and that
``TemplateParam`` is a JSON object with exactly the template's variables, each of at most 35
characters as a notification template's variable is (else ``isv.PARAM_LENGTH_LIMIT``), and that
the number is a mainland mobile (else ``isv.MOBILE_NUMBER_ILLEGAL``, as Aliyun answers).
``QuerySendDetails`` pages through one number's texts of one day (China time), optionally by
``BizId``.

A test injects failures: any Aliyun ``Code`` in a 200 answer (``isv.BUSINESS_LIMIT_CONTROL``,
``isv.SMS_TEMPLATE_ILLEGAL``...), HTTP ``500``/``503``, ``throttling`` (HTTP 400
``Throttling.User``), and a dropped connection before or after the text is accepted.

Run on its own (multi-process tests)::

    python -m tests.fake_aliyun

prints one JSON line with ``endpoint``, ``access_key_id``, ``access_key_secret`` and serves
until SIGTERM; ``GET /_fake/stats`` and ``GET /_fake/messages`` read its records.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import hmac
import json
import re
import secrets
import signal
import socket
import sys
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self
from urllib.parse import parse_qsl, quote, urlsplit
from zoneinfo import ZoneInfo

import yaml

ACCESS_KEY_ID = "LTAI5tFakeAccessKeyId01"
ACCESS_KEY_SECRET = "fake-aliyun-secret-0123456789abcdef"
SIGN_NAME = "核酸检测"
CHINA = ZoneInfo("Asia/Shanghai")
CONFIG = Path(__file__).resolve().parents[1] / "config" / "messages.yaml"
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_AUTH = re.compile(
    r"^ACS3-HMAC-SHA256 Credential=(?P<ak>[^,]+),SignedHeaders=(?P<signed>[^,]+),"
    r"Signature=(?P<sig>[0-9a-f]{64})$"
)
# Codes Aliyun puts in a 200 answer that refuses the text.
TEXT_CODES = (
    "isv.BUSINESS_LIMIT_CONTROL",
    "isv.DAY_LIMIT_CONTROL",
    "isv.MOBILE_NUMBER_ILLEGAL",
    "isv.SMS_TEMPLATE_ILLEGAL",
    "isv.SMS_SIGNATURE_ILLEGAL",
    "isv.AMOUNT_NOT_ENOUGH",
    "isv.TEMPLATE_MISSING_PARAMETERS",
)
HTTP_FAILURES = {
    "500": (500, "InternalError", "The request processing has failed due to some unknown error."),
    "503": (503, "ServiceUnavailable", "The request has failed due to a temporary failure."),
    "throttling": (400, "Throttling.User", "Request was denied due to user flow control."),
}
DROPS = ("drop_before", "drop_after")
VARIABLE_MAX_CHARS = 35  # a notification template's variable, since 2018 (longer on request)
PUBLIC_URL = "https://rota.example.com"  # the address config/messages.yaml's wording writes


def approved_templates(path: Path = CONFIG) -> dict[str, tuple[tuple[str, ...], str]]:
    """``{code: (variables, wording)}`` of the Aliyun templates in a messages.yaml."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    out: dict[str, tuple[tuple[str, ...], str]] = {}
    for kinds in data["channels"]["aliyun"]["templates"].values():
        for entry in kinds.values():
            out[entry["code"]] = (tuple(_VARIABLE.findall(entry["text"])), entry["text"])
    return out


@dataclass
class FakeSms:
    biz_id: str
    phone: str
    sign_name: str
    template_code: str
    params: dict[str, str]
    out_id: str | None
    content: str
    created: float
    send_status: int = 1  # 1 waiting for the receipt, 2 failed, 3 delivered
    err_code: str = ""

    def detail(self) -> dict[str, Any]:
        sent = datetime.fromtimestamp(self.created, CHINA).strftime("%Y-%m-%d %H:%M:%S")
        return {
            "PhoneNum": self.phone,
            "SendStatus": self.send_status,
            "ErrCode": self.err_code,
            "TemplateCode": self.template_code,
            "Content": self.content,
            "SendDate": sent,
            "ReceiveDate": sent if self.send_status != 1 else "",
            "OutId": self.out_id or "",
        }

    def receipt(self, success: bool = True, err_code: str = "DELIVERED") -> dict[str, Any]:
        """The SmsReport object Aliyun pushes for this text."""
        sent = datetime.fromtimestamp(self.created, CHINA).strftime("%Y-%m-%d %H:%M:%S")
        return {
            "phone_number": self.phone,
            "send_time": sent,
            "report_time": sent,
            "success": success,
            "err_code": err_code if not success else "DELIVERED",
            "err_msg": "用户接收成功" if success else "失败",
            "sms_size": "1",
            "biz_id": self.biz_id,
            "out_id": self.out_id or "",
        }


@dataclass
class Received:
    action: str
    params: dict[str, str]
    at: float = field(default_factory=time.time)


@dataclass
class _Rule:
    kind: str
    times: int
    phone: str | None = None


class FakeAliyun:
    def __init__(
        self,
        latency: float = 0.0,
        port: int = 0,
        templates: dict[str, tuple[tuple[str, ...], str]] | None = None,
        sign_name: str = SIGN_NAME,
    ) -> None:
        self.access_key_id = ACCESS_KEY_ID
        self.access_key_secret = ACCESS_KEY_SECRET
        self.sign_name = sign_name
        self.templates = approved_templates() if templates is None else templates
        self.latency = latency
        # Cleared, it holds every SendSms that arrives until set again (counted in
        # ``held``), so a test can kill a dispatcher while it is certainly mid-batch.
        self.gate = threading.Event()
        self.gate.set()
        self.held = 0
        self._port = port
        self._lock = threading.Lock()
        self._messages: dict[str, FakeSms] = {}
        self._order: list[str] = []
        self._received: list[Received] = []
        self._rules: list[_Rule] = []
        self._nonces: set[str] = set()
        self._requests: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()  # requests refused before reaching an action
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

    def __enter__(self) -> FakeAliyun:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self._port}"

    def env(self) -> dict[str, str]:
        """Environment for a testrota process that should send through this fake."""
        return {
            "TESTROTA_SMS_BACKEND": "aliyun",
            "ALIYUN_ACCESS_KEY_ID": self.access_key_id,
            "ALIYUN_ACCESS_KEY_SECRET": self.access_key_secret,
            "ALIYUN_SMS_SIGN_NAME": self.sign_name,
            "TESTROTA_ALIYUN_ENDPOINT": self.endpoint,
            "TESTROTA_ALIYUN_PROTOCOL": "http",
            "TESTROTA_PUBLIC_URL": PUBLIC_URL,
        }

    def settings(self) -> dict[str, object]:
        """The same, as keyword arguments of ``get_settings``."""
        return {
            "sms_backend": "aliyun",
            "aliyun_access_key_id": self.access_key_id,
            "aliyun_access_key_secret": self.access_key_secret,
            "aliyun_sms_sign_name": self.sign_name,
            "aliyun_endpoint": self.endpoint,
            "aliyun_protocol": "http",
            "public_url": PUBLIC_URL,
        }

    # ------------------------------------------------------------------ steering and records
    def fail(self, kind: str, times: int = 1, phone: str | None = None) -> None:
        assert kind in TEXT_CODES or kind in HTTP_FAILURES or kind in DROPS, kind
        with self._lock:
            self._rules.append(_Rule(kind, times, phone))

    def deliver(self, biz_id: str, success: bool = True, err_code: str = "DELIVERED") -> FakeSms:
        with self._lock:
            message = self._messages[biz_id]
            message.send_status = 3 if success else 2
            message.err_code = err_code if not success else "DELIVERED"
            return message

    @property
    def messages(self) -> list[FakeSms]:
        with self._lock:
            return [self._messages[b] for b in self._order]

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def request_count(self, action: str) -> int:
        with self._lock:
            return self._requests[action]

    def stats(self) -> dict[str, Any]:
        with self._lock:
            keys = Counter(
                (m.phone, m.out_id or m.biz_id) for m in (self._messages[b] for b in self._order)
            )
            return {
                "accepted": len(self._order),
                "received": len(self._received),
                "duplicates": sum(n - 1 for n in keys.values() if n > 1),
                "requests": dict(self._requests),
                "refused": dict(self.refused),
            }

    def _take_rule(self, phone: str) -> _Rule | None:
        with self._lock:
            for rule in self._rules:
                if rule.phone in (None, phone) and rule.times > 0:
                    rule.times -= 1
                    if rule.times == 0:
                        self._rules.remove(rule)
                    return rule
        return None

    # ------------------------------------------------------------------ the actions
    def _send_sms(self, params: dict[str, str]) -> tuple[_Rule | None, dict[str, Any]]:
        phone = params.get("PhoneNumbers", "")
        with self._lock:
            self._received.append(Received("SendSms", params))
            self._requests["SendSms"] += 1
        rule = self._take_rule(phone)
        if rule is not None and rule.kind != "drop_after":
            if rule.kind in TEXT_CODES:
                return None, _refusal(rule.kind, f"fake {rule.kind}")
            return rule, {}
        if params.get("SignName") != self.sign_name:
            return None, _refusal("isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名")
        template = self.templates.get(params.get("TemplateCode", ""))
        if template is None:
            return None, _refusal("isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板")
        try:
            values = json.loads(params.get("TemplateParam") or "{}")
        except ValueError:
            return None, _refusal("isv.INVALID_JSON_PARAM", "JSON参数不合法")
        variables, wording = template
        if not isinstance(values, dict) or set(values) != set(variables):
            return None, _refusal("isv.TEMPLATE_MISSING_PARAMETERS", "模板变量缺少对应参数值")
        if any(len(str(v)) > VARIABLE_MAX_CHARS for v in values.values()):
            return None, _refusal("isv.PARAM_LENGTH_LIMIT", "参数超出长度限制")
        if not re.fullmatch(r"1\d{10}", phone):
            return None, _refusal("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
        content = f"【{self.sign_name}】" + _VARIABLE.sub(
            lambda m: str(values.get(m.group(1), "")), wording
        )
        message = FakeSms(
            biz_id=f"{int(time.time() * 1000)}^{secrets.randbelow(10**12):012d}",
            phone=phone,
            sign_name=self.sign_name,
            template_code=params["TemplateCode"],
            params={k: str(v) for k, v in values.items()},
            out_id=params.get("OutId") or None,
            content=content,
            created=time.time(),
        )
        with self._lock:
            self._messages[message.biz_id] = message
            self._order.append(message.biz_id)
        return rule, {"Code": "OK", "Message": "OK", "BizId": message.biz_id, **_request_id()}

    def _query(self, params: dict[str, str]) -> dict[str, Any]:
        with self._lock:
            self._requests["QuerySendDetails"] += 1
        phone, day = params.get("PhoneNumber", ""), params.get("SendDate", "")
        if not phone or not re.fullmatch(r"\d{8}", day):
            return _refusal("isv.INVALID_PARAMETERS", "PhoneNumber and SendDate are required")
        size = int(params.get("PageSize") or 10)
        page = int(params.get("CurrentPage") or 1)
        if not 1 <= size <= 50 or page < 1:
            return _refusal("isv.INVALID_PARAMETERS", "PageSize is 1 to 50")
        with self._lock:
            rows = [
                m
                for m in (self._messages[b] for b in self._order)
                if m.phone == phone
                and datetime.fromtimestamp(m.created, CHINA).strftime("%Y%m%d") == day
                and (not params.get("BizId") or m.biz_id == params["BizId"])
            ]
        chunk = rows[(page - 1) * size : page * size]
        return {
            "Code": "OK",
            "Message": "OK",
            "TotalCount": len(rows),
            "SmsSendDetailDTOs": {"SmsSendDetailDTO": [m.detail() for m in chunk]},
            **_request_id(),
        }


def _request_id() -> dict[str, str]:
    return {"RequestId": secrets.token_hex(16).upper()}


def _refusal(code: str, message: str) -> dict[str, Any]:
    return {"Code": code, "Message": message, **_request_id()}


def canonical_query(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{k}={quote(v, safe='~')}" for k, v in sorted(pairs))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512


class _Handler(BaseHTTPRequestHandler):
    owner: FakeAliyun
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

    def _send_json(self, status: int, document: object) -> None:
        data = json.dumps(document, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, code: str, message: str) -> None:
        with self.owner._lock:
            self.owner.refused[code] += 1
        self._send_json(
            status, {"Code": code, "Message": message, "HostId": "fake", **_request_id()}
        )

    def _verify(self, method: str, path: str, pairs: list[tuple[str, str]], body: bytes) -> bool:
        """Aliyun's checks of a signed request (V3); answers the error itself when one fails."""
        match = _AUTH.match(self.headers.get("Authorization", ""))
        if match is None:
            self._error(400, "MissingAuthorization", "Authorization is mandatory for this action.")
            return False
        if match["ak"] != self.owner.access_key_id:
            self._error(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
            return False
        signed = match["signed"].split(";")
        required = {
            "host",
            "x-acs-action",
            "x-acs-version",
            "x-acs-date",
            "x-acs-signature-nonce",
            "x-acs-content-sha256",
        }
        if not required <= set(signed) or signed != sorted(signed):
            self._error(400, "IncompleteSignature", "The request signature does not conform.")
            return False
        if self.headers.get("x-acs-content-sha256") != hashlib.sha256(body).hexdigest():
            self._error(400, "IncompleteSignature", "The payload hash does not match the body.")
            return False
        headers = "".join(f"{h}:{(self.headers.get(h) or '').strip()}\n" for h in signed)
        canonical = "\n".join(
            [
                method,
                path or "/",
                canonical_query(pairs),
                headers,
                ";".join(signed),
                self.headers["x-acs-content-sha256"],
            ]
        )
        to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical.encode()).hexdigest()
        expected = hmac.new(
            self.owner.access_key_secret.encode(), to_sign.encode(), hashlib.sha256
        ).hexdigest()
        if not hmac.compare_digest(expected, match["sig"]):
            self._error(400, "SignatureDoesNotMatch", "Specified signature does not match.")
            return False
        try:
            stamp = datetime.strptime(self.headers["x-acs-date"], "%Y-%m-%dT%H:%M:%SZ")
        except (KeyError, ValueError):
            self._error(400, "InvalidTimeStamp.Format", "Specified time stamp is not valid.")
            return False
        if abs((datetime.now(UTC) - stamp.replace(tzinfo=UTC)).total_seconds()) > 900:
            self._error(400, "InvalidTimeStamp.Expired", "Specified time stamp is expired.")
            return False
        nonce = self.headers["x-acs-signature-nonce"]
        with self.owner._lock:
            used = nonce in self.owner._nonces
            self.owner._nonces.add(nonce)
        if used:
            self._error(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
            return False
        return True

    def _handle(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        if parts.path.startswith("/_fake/"):
            self._control(parts.path, body)
            return
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        if not self._verify(method, parts.path, pairs, body):
            return
        params = dict(pairs)
        if body and "form" in (self.headers.get("Content-Type") or ""):
            params.update(parse_qsl(body.decode(), keep_blank_values=True))
        action = self.headers.get("x-acs-action")
        if self.headers.get("x-acs-version") != "2017-05-25":
            self._error(400, "InvalidVersion", "Specified parameter Version is not valid.")
            return
        if action == "SendSms" and not self.owner.gate.is_set():
            with self.owner._lock:
                self.owner.held += 1
            self.owner.gate.wait(120)
        if self.owner.latency:
            time.sleep(self.owner.latency)
        if action == "SendSms":
            rule, answer = self.owner._send_sms(params)
            if rule is not None and rule.kind in DROPS:
                self.close_connection = True
                return
            if rule is not None:
                status, code, message = HTTP_FAILURES[rule.kind]
                self._error(status, code, message)
                return
            self._send_json(200, answer)
        elif action == "QuerySendDetails":
            self._send_json(200, self.owner._query(params))
        else:
            self._error(404, "InvalidAction.NotFound", f"Specified api {action} is not found.")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_GET(self) -> None:
        self._handle("GET")

    def _control(self, path: str, raw: bytes) -> None:
        body = json.loads(raw or b"{}")
        if path == "/_fake/stats":
            self._send_json(200, self.owner.stats())
        elif path == "/_fake/messages":
            self._send_json(200, [asdict(m) for m in self.owner.messages])
        elif path == "/_fake/fail":
            self.owner.fail(body["kind"], body.get("times", 1), body.get("phone"))
            self._send_json(200, {"ok": True})
        elif path == "/_fake/latency":
            self.owner.latency = float(body["seconds"])
            self._send_json(200, {"ok": True})
        else:
            self._error(404, "InvalidAction.NotFound", "unknown control path")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args()
    fake = FakeAliyun(latency=args.latency, port=args.port).start()
    print(
        json.dumps(
            {
                "endpoint": fake.endpoint,
                "access_key_id": fake.access_key_id,
                "access_key_secret": fake.access_key_secret,
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
