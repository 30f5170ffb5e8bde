"""Request bodies are limited before anything parses them (issue 11, security item 3).

The attack: anyone sends a huge multipart body, chunked (no length to refuse it by), to a page
that parses forms. Before, the whole body was spooled to a temporary file before the CSRF check
answered 403. Now the server stops reading at the limit and answers 413; a real server in its
own process shows that it wrote nothing to disk and grew by no more than a few buffers.
"""

from __future__ import annotations

import io
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from testrota.web.app import create_app
from testrota.web.body_limit import BodyLimits
from tests.conftest import CONFIG_DIR
from tests.web_support import csrf_of, make_user, running_server, sign_in, web_settings_for

pytest_plugins = ("tests.web_fixtures",)

MB = 1_000_000
ATTACK_BYTES = 200 * MB  # what the attacker is prepared to send
CHUNK = b"x" * 65536
MULTIPART_HEAD = (
    b'--B\r\nContent-Disposition: form-data; name="file"; filename="roster.xlsx"\r\n'
    b"Content-Type: application/octet-stream\r\n\r\n"
)


@dataclass
class Outcome:
    status: int
    sent: int
    body: bytes


def post_raw(
    base: str,
    path: str,
    *,
    length: int | None = None,
    content_type: str = "multipart/form-data; boundary=B",
) -> Outcome:
    """POST up to ATTACK_BYTES on a raw socket, chunked unless ``length`` is declared, reading
    the answer while sending and stopping as soon as it comes (as an attacker's script would)."""
    host, port = base.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=30)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAccept-Language: en\r\n"
        f"Content-Type: {content_type}\r\n"
    )
    head += (
        f"Content-Length: {length}\r\n"
        if length is not None
        else ("Transfer-Encoding: chunked\r\n")
    )
    sock.sendall((head + "\r\n").encode())
    answer = bytearray()
    answered = threading.Event()

    def read() -> None:
        while True:
            try:
                data = sock.recv(65536)
            except OSError:
                break
            if not data:
                break
            answer.extend(data)
            if b"\r\n\r\n" in answer:
                answered.set()
        answered.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    sent = 0
    total = ATTACK_BYTES if length is None else length
    try:
        while sent < total and not answered.is_set():
            data = ((MULTIPART_HEAD + CHUNK) if sent == 0 else CHUNK)[: total - sent]
            sock.sendall(data if length is not None else b"%x\r\n%b\r\n" % (len(data), data))
            sent += len(data)
        if length is None and not answered.is_set():
            sock.sendall(b"0\r\n\r\n")  # all sent: let a server that read it all answer
    except OSError:
        pass  # the server closed the connection on us: the answer is what it sent before
    answered.wait(30)
    reader.join(5)
    sock.close()
    status_line = bytes(answer).split(b"\r\n", 1)[0]
    assert status_line.startswith(b"HTTP/1.1 "), bytes(answer[:200])
    return Outcome(int(status_line.split()[1]), sent, bytes(answer))


@dataclass
class Usage:
    written: int  # bytes the process passed to write(): a spooled body would show here
    peak_rss: int


def usage(proc: psutil.Process) -> Usage:
    peak = 0
    with open(f"/proc/{proc.pid}/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                peak = int(line.split()[1]) * 1024
    return Usage(proc.io_counters().write_chars, peak)


@pytest.fixture
def server(database_url: str, engine: Engine) -> Iterator[tuple[str, psutil.Process]]:
    with running_server(database_url) as base:
        port = base.rsplit(":", 1)[1]
        (proc,) = [
            p
            for p in psutil.Process().children(recursive=True)
            if port in p.cmdline() and "serve" in p.cmdline()
        ]
        yield base, proc


def test_a_huge_chunked_upload_from_anyone_is_refused_unread(
    server: tuple[str, psutil.Process],
) -> None:
    base, proc = server
    before = usage(proc)
    started = time.monotonic()
    outcome = post_raw(base, "/upload/roster")
    seconds = time.monotonic() - started
    after = usage(proc)
    assert outcome.status == 413, outcome.body[:300]
    assert b"The request is too large" in outcome.body
    # the server stopped reading at the limit (1 MB for anyone not signed in): what got sent
    # before the answer arrived is socket buffers, not the 200 MB on offer
    assert outcome.sent < 40 * MB
    assert after.written - before.written < 1 * MB, "the body was spooled to disk"
    assert after.peak_rss - before.peak_rss < 40 * MB
    print(
        f"sent {outcome.sent / MB:.1f} MB before the 413 ({seconds:.2f} s); server wrote "
        f"{after.written - before.written} bytes, peak RSS +"
        f"{(after.peak_rss - before.peak_rss) / MB:.1f} MB"
    )


def test_a_declared_length_over_the_limit_is_answered_before_reading(
    server: tuple[str, psutil.Process],
) -> None:
    base, proc = server
    before = usage(proc)
    # /login parses its form before the CSRF check: it must not even start
    outcome = post_raw(base, "/login", length=ATTACK_BYTES)
    assert outcome.status == 413
    assert b"Connection: close" in outcome.body or b"connection: close" in outcome.body
    assert usage(proc).written - before.written < 1 * MB


def config_with(tmp_path: Path, **web: object) -> Path:
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    policy = yaml.safe_load((config / "policy.yaml").read_text(encoding="utf-8"))
    policy["web"].update(web)
    (config / "policy.yaml").write_text(
        yaml.safe_dump(policy, allow_unicode=True), encoding="utf-8"
    )
    return config


def test_a_signed_in_upload_gets_the_upload_limit_and_no_more(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    make_user(engine, "hr1", "hr")
    settings = web_settings_for(
        database_url, config_dir=config_with(tmp_path, max_upload_mb=2, max_form_kb=64)
    )
    with TestClient(create_app(settings), headers={"Accept-Language": "en"}) as client:
        sign_in(client, "hr1")
        token = csrf_of(client, "/upload/roster")

        def upload(size: int) -> int:
            files = {"file": ("roster.xlsx", io.BytesIO(b"\0" * size))}
            r = client.post(
                "/upload/roster", data={"csrf_token": token}, files=files, follow_redirects=False
            )
            return r.status_code

        assert upload(1 * MB) == 400  # within the limit: read, then refused as not a workbook
        assert upload(3 * MB) == 413
        page = client.post(
            "/upload/roster",
            data={"csrf_token": token},
            files={"file": ("roster.xlsx", io.BytesIO(b"\0" * 3 * MB))},
            headers={"Accept-Language": "zh"},
        )
        assert "上传的文件太大：最多 2 MB" in page.text
        # any other form, and the JSON API, get the small limit
        r = client.post(
            "/roles/map", data={"csrf_token": token, "role": "x" * 70_000, "category": "driver"}
        )
        assert r.status_code == 413 and "at most 64 KB" in r.text
        r = client.post(
            "/api/checkin",
            content=b"{" + b" " * 70_000 + b"}",
            headers={"X-CSRF-Token": token, "Content-Type": "application/json"},
        )
        assert r.status_code == 413 and r.json() == {
            "detail": "The request is too large: at most 64 KB."
        }


def test_anyone_gets_the_small_limit_even_on_an_upload_path(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    settings = web_settings_for(database_url, config_dir=config_with(tmp_path, max_form_kb=64))
    with TestClient(create_app(settings)) as client:
        r = client.post("/upload/roster", files={"file": ("r.xlsx", io.BytesIO(b"\0" * 100_000))})
        assert r.status_code == 413


def test_which_requests_have_their_sign_in_looked_up_for_the_upload_limit() -> None:
    limits = BodyLimits(upload_bytes=50 * MB, form_bytes=1_024_000)
    signed_in = {"sid": "t" * 43}
    cases = [
        ({"method": "POST", "path": "/upload/roster", "session": signed_in}, "t" * 43),
        ({"method": "POST", "path": "/upload/results", "session": signed_in}, "t" * 43),
        ({"method": "POST", "path": "/upload/roster", "session": {}}, None),
        ({"method": "POST", "path": "/upload/roster", "session": {"sid": 7}}, None),
        ({"method": "POST", "path": "/upload/roster/abc/apply", "session": signed_in}, None),
        ({"method": "POST", "path": "/login", "session": signed_in}, None),
        ({"method": "PUT", "path": "/upload/roster", "session": signed_in}, None),
    ]
    for scope, expected in cases:
        assert limits.upload_token(scope) == expected, scope
    assert limits.for_request(True).max_bytes == 50 * MB
    assert limits.for_request(False).max_bytes == 1_024_000


def test_only_a_live_hr_sign_in_gets_the_upload_limit(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    """Review: the cookie's token alone gave 50 MB: site staff, and a cookie kept after signing
    out (its signature outlives the sign-in), had the whole body parsed before the refusal.
    A body over the form limit now gets 413 unless the sign-in is live and HR's or an admin's."""
    settings = web_settings_for(database_url, config_dir=config_with(tmp_path, max_form_kb=64))
    make_user(engine, "hr1", "hr")
    make_user(engine, "site1", "site")
    upload = {"file": ("r.xlsx", io.BytesIO(b"\0" * 100_000))}
    with TestClient(create_app(settings), headers={"Accept-Language": "en"}) as client:
        sign_in(client, "site1")
        site = client.post("/upload/roster", files=upload, headers={"X-CSRF-Token": "x"})
        assert site.status_code == 413
    with TestClient(create_app(settings), headers={"Accept-Language": "en"}) as client:
        sign_in(client, "hr1")
        kept = dict(client.cookies)
        token = csrf_of(client, "/upload/roster")
        upload["file"][1].seek(0)
        live = client.post("/upload/roster", files=upload, data={"csrf_token": token})
        assert live.status_code != 413  # read, and answered on its merits
        client.post("/logout", data={"csrf_token": token})
        client.cookies.clear()
        client.cookies.update(kept)  # the cookie saved before signing out
        upload["file"][1].seek(0)
        after = client.post("/upload/roster", files=upload, data={"csrf_token": token})
        assert after.status_code == 413
