"""Logging for every process: text or JSON lines, the request or job id, personal numbers masked.

``configure_logging(settings)`` installs one handler on the root logger (on stderr: stdout is
for the CLI's JSON). ``TESTROTA_LOG_FORMAT=json`` writes one JSON object a line
(``ts, level, logger, message``, ``request_id`` / ``job_id`` when set, ``pid``, the record's
``extra`` fields, ``exc``); ``text`` is for people. Every record at INFO and above has its phone
and ID numbers masked before any handler formats it, so no full number reaches a log file
whatever a caller logged.

This module imports only the standard library and :mod:`testrota.privacy.masking`: the CLI
calls it before every command, ``testrota import`` included.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Any

from testrota.privacy.masking import mask_personal_numbers

if TYPE_CHECKING:
    from testrota.settings import Settings

request_id_var: ContextVar[str | None] = ContextVar("testrota_request_id", default=None)
job_id_var: ContextVar[str | None] = ContextVar("testrota_job_id", default=None)

# The attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()
    | {"message", "asctime", "request_id", "job_id", "taskName", "ids", "more"}
)
_OURS = "_testrota_handler"
# Libraries that log at INFO what nobody needs (every scheduler tick; alembic's plugins and
# revisions, a dozen lines before `init` or `demo` says anything) or numbers (the SDK's request
# lines); they still show warnings. httpx2 logs every request's URL at INFO: WeCom's gettoken
# carries the secret in its query.
_QUIET = ("apscheduler", "twilio.http_client", "alembic", "httpx2", "httpcore2")


def new_id() -> str:
    """A short random id for a request or a job run."""
    return uuid.uuid4().hex[:16]


@contextmanager
def job_context(job: str, run_id: str | None = None) -> Iterator[str]:
    """Log records inside carry ``job_id`` = ``job:run`` (one id per run of a job)."""
    job_id = f"{job}:{run_id or new_id()[:8]}"
    token = job_id_var.set(job_id)
    try:
        yield job_id
    finally:
        job_id_var.reset(token)


@contextmanager
def request_context(request_id: str) -> Iterator[str]:
    token = request_id_var.set(request_id)
    try:
        yield request_id
    finally:
        request_id_var.reset(token)


class ContextFilter(logging.Filter):
    """Adds ``request_id`` and ``job_id`` and masks personal numbers at ``min_level`` and up.

    Installed on the handler, so it sees the records of every logger that propagates to the
    root, in the thread that logs (where the context variables are set).
    """

    def __init__(self, min_level: int = logging.INFO) -> None:
        super().__init__()
        self.min_level = min_level

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        if not hasattr(record, "job_id"):
            record.job_id = job_id_var.get()
        if record.levelno >= self.min_level and not getattr(record, "_testrota_masked", False):
            mask_record(record)
        return True


def mask_record(record: logging.LogRecord) -> None:
    """Mask the message, the string ``extra`` fields and the traceback of ``record`` in place."""
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: let the handler report it as logging does
        return
    record.msg, record.args = mask_personal_numbers(message), None
    for key, value in list(vars(record).items()):
        if key not in _STANDARD and isinstance(value, str):
            setattr(record, key, mask_personal_numbers(value))
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = mask_personal_numbers(record.exc_text)
    if record.stack_info:
        record.stack_info = mask_personal_numbers(record.stack_info)
    record._testrota_masked = True


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


# Characters that end or rewrite a line in a log viewer: C0 and C1 controls (CR, LF, ESC ...),
# DEL, the Unicode line and paragraph separators, and the bidirectional overrides that reorder
# what a terminal shows. A request path, a user name or a form field may carry any of them.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Within JSON strings, json.dumps escapes C0 but leaves these as they are; line splitters
# (Python's str.splitlines, JavaScript before ES2019) break lines at several of them.
_JSON_UNSAFE = {
    cp: f"\\u{cp:04x}"
    for cp in [
        *range(0x7F, 0xA0),
        0x2028,
        0x2029,
        0x200E,
        0x200F,
        *range(0x202A, 0x202F),
        *range(0x2066, 0x206A),
    ]
}


def escape_controls(text: str) -> str:
    """``text`` with every control character written as a visible escape (``\\r``, ``\\x1b``,
    ``\\u2028``), so one log record stays one line whatever a client sent."""
    return _CONTROLS.sub(_escape_one, text)


def _escape_one(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


class JsonFormatter(logging.Formatter):
    """One JSON object a line (every control character inside a string escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("request_id", "job_id"):
            value = getattr(record, key, None)
            if value:
                doc[key] = value
        doc["pid"] = record.process
        for key, value in _extras(record).items():
            doc.setdefault(key, value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            doc["exc"] = record.exc_text
        if record.stack_info:
            doc["stack"] = record.stack_info
        return json.dumps(doc, ensure_ascii=False, default=str).translate(_JSON_UNSAFE)


class TextFormatter(logging.Formatter):
    """``2022-05-09 08:00:00,123 INFO testrota.sms [req=...]: message key=value``.

    One record is one line: control characters in the message and the fields are escaped, so
    no input can start a line that looks like a record of its own. A traceback follows on lines
    indented by two spaces (a record's first line never starts with a space).
    """

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(ids)s: %(message)s%(more)s")

    def format(self, record: logging.LogRecord) -> str:
        ids = [
            f"{name}={value}"
            for name, value in (
                ("req", getattr(record, "request_id", None)),
                ("job", getattr(record, "job_id", None)),
            )
            if value
        ]
        record.ids = escape_controls(f" [{' '.join(ids)}]") if ids else ""
        record.more = "".join(
            f" {escape_controls(str(k))}={escape_controls(str(v))}"
            for k, v in _extras(record).items()
        )
        record.message = escape_controls(record.getMessage())
        record.asctime = self.formatTime(record, self.datefmt)
        line = self.formatMessage(record)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        for block in (record.exc_text, record.stack_info and self.formatStack(record.stack_info)):
            if block:
                line += "".join(f"\n  {escape_controls(part)}" for part in block.split("\n"))
        return line


class StderrHandler(logging.StreamHandler[IO[str]]):
    """Writes to whatever ``sys.stderr`` is at the time of the record.

    A handler holding the stderr of the moment it was made breaks under test runners that swap
    it (Typer's CliRunner closes its capture afterwards): this one looks it up each time.
    """

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> IO[str]:
        return sys.stderr

    @stream.setter
    def stream(self, _value: IO[str]) -> None:
        pass


def make_handler(log_format: str, stream: IO[str] | None = None) -> logging.Handler:
    handler: logging.Handler = StderrHandler() if stream is None else logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(ContextFilter())
    setattr(handler, _OURS, True)
    return handler


def _is_basic_stderr_handler(handler: logging.Handler) -> bool:
    """A handler ``logging.basicConfig()`` put on stderr (it would print every line twice)."""
    return type(handler) is logging.StreamHandler and getattr(handler, "stream", None) in (
        sys.stderr,
        sys.__stderr__,
    )


def configure_logging(settings: Settings, stream: IO[str] | None = None) -> logging.Handler:
    """Install the root handler for ``settings.log_format`` at ``settings.log_level``.

    Safe to call again: the previous handler of ours (and a ``basicConfig`` one on stderr) is
    replaced. Other handlers on the root (a test runner's capture) stay; ours goes first, so
    they too receive the records already masked.
    """
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, _OURS, False) or _is_basic_stderr_handler(old):
            root.removeHandler(old)
            old.close()
    handler = make_handler(settings.log_format, stream)
    root.handlers.insert(0, handler)
    level = logging.getLevelName(settings.log_level)
    root.setLevel(level)
    for name in _QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, level))
    return handler


def setup_cli_logging(settings: Settings) -> None:
    """For the CLI: :func:`configure_logging` on stderr, once per process and settings."""
    key = (settings.log_format, settings.log_level)
    root = logging.getLogger()
    if getattr(root, "_testrota_cli", None) == key and any(
        getattr(h, _OURS, False) for h in root.handlers
    ):
        return
    configure_logging(settings)
    root._testrota_cli = key  # type: ignore[attr-defined]
