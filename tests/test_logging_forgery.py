"""Logs cannot be forged (issue 11, security item 10).

The attack: a request path (or a user name, or any field that reaches a log line) carrying CR LF
and a line that looks like a record of its own. In the text format every control character is
written as a visible escape, so one record stays one line; the JSON format escapes them inside
its strings, the Unicode line separators and C1 controls included.
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from testrota.observability.logging import configure_logging, escape_controls
from testrota.settings import Settings, get_settings
from testrota.web.app import create_app
from tests.web_support import csrf_of

pytest_plugins = ("tests.web_fixtures",)

FAKE = "2022-05-09 08:00:00,000 INFO testrota.auth: user admin signed in"
Capture = Callable[[str], io.StringIO]
RECORD_START = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ ")


@pytest.fixture
def capture() -> Iterator[Capture]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level

    def start(log_format: str) -> io.StringIO:
        stream = io.StringIO()
        configure_logging(get_settings(log_format=log_format), stream=stream)
        return stream

    yield start
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


def records(text: str) -> list[str]:
    """Lines that start a record (a traceback's lines are indented)."""
    return [line for line in text.split("\n") if RECORD_START.match(line)]


def test_a_forged_line_in_the_path_stays_in_its_own_line(
    capture: Capture, web_settings: Settings, engine: Engine
) -> None:
    stream = capture("text")
    with TestClient(create_app(web_settings)) as client:
        client.get("/people%0d%0a" + FAKE.replace(" ", "%20"))
    text = stream.getvalue()
    (access,) = [line for line in records(text) if " testrota.access " in line]
    assert "GET /people\\r\\n2022-05-09" in access
    assert not any(line.startswith("2022-05-09 08:00:00,000") for line in text.split("\n"))
    assert "\r" not in text


def test_a_forged_user_name_stays_in_its_own_line(
    capture: Capture, web_settings: Settings, engine: Engine
) -> None:
    stream = capture("text")
    with TestClient(create_app(web_settings)) as client:
        token = csrf_of(client)
        client.post(
            "/login",
            data={
                "username": "nobody\n" + FAKE + "\x1b[2K",
                "password": "whatever-it-is",
                "csrf_token": token,
            },
        )
    text = stream.getvalue()
    (refused,) = [line for line in records(text) if "sign-in refused" in line]
    assert "user=nobody\\n2022-05-09 08:00:00,000 INFO testrota.auth" in refused
    assert "\\x1b[2K" in refused and "\x1b" not in text
    assert len([line for line in text.split("\n") if FAKE in line]) == 1


def test_every_kind_of_control_is_escaped_in_text(capture: Capture) -> None:
    stream = capture("text")
    nasty = "a\rb\nc\x1bd\x00e\x7ff\x85g\x9bh\u2028i\u2029j\u202ek\tl"
    logging.getLogger("testrota.test").warning("value %s", nasty, extra={"field": nasty})
    (line,) = stream.getvalue().splitlines()  # splitlines also breaks at \x85, \u2028 ...
    expected = "a\\rb\\nc\\x1bd\\x00e\\x7ff\\x85g\\x9bh\\u2028i\\u2029j\\u202ek\\tl"
    assert line.endswith(f"value {expected} field={expected}")
    assert escape_controls("正常的中文 and plain text") == "正常的中文 and plain text"


def test_a_traceback_cannot_start_a_record(capture: Capture) -> None:
    stream = capture("text")
    try:
        raise ValueError("bad value\n" + FAKE)
    except ValueError:
        logging.getLogger("testrota.test").exception("import failed")
    text = stream.getvalue()
    assert len(records(text)) == 1
    assert all(line.startswith("  ") for line in text.rstrip("\n").split("\n")[1:])
    assert "ValueError: bad value" in text


def test_json_lines_escape_every_line_breaker(capture: Capture) -> None:
    stream = capture("json")
    nasty = "x\r\n" + FAKE + "\u2028y\u2029z\x85\x1b\u202e"
    logging.getLogger("testrota.test").warning("user %s", nasty, extra={"path": nasty})
    (line,) = stream.getvalue().splitlines()
    doc = json.loads(line)
    assert doc["message"] == "user " + nasty and doc["path"] == nasty
    assert not any(c in line for c in "\u2028\u2029\x85\u202e\x1b\r")
