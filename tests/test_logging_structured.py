"""Structured logs: JSON lines or text, request and job ids, no personal numbers at INFO."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator

import pytest

from testrota.observability.logging import (
    StderrHandler,
    configure_logging,
    job_context,
    request_context,
    setup_cli_logging,
)
from testrota.privacy.masking import mask_personal_numbers
from testrota.settings import get_settings

PHONE = "+8613812345678"
MOBILE = "13912345678"
ID_NUMBER = "11010119900307451X"


@pytest.fixture
def restore_root() -> Iterator[None]:
    """Each test configures the root logger; put back what pytest had."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(level)
    for name in ("apscheduler", "twilio.http_client"):
        logging.getLogger(name).setLevel(logging.NOTSET)


def _capture(log_format: str = "json", level: str = "INFO") -> io.StringIO:
    stream = io.StringIO()
    configure_logging(get_settings(log_format=log_format, log_level=level), stream=stream)
    return stream


def _json_lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_json_lines_carry_the_fields_and_the_extras(restore_root: None) -> None:
    stream = _capture("json")
    logging.getLogger("testrota.test").info(
        "planned %s: %d tests", "2022-W19", 412, extra={"week": "2022-W19", "tests": 412}
    )
    (doc,) = _json_lines(stream)
    assert doc["level"] == "INFO" and doc["logger"] == "testrota.test"
    assert doc["message"] == "planned 2022-W19: 412 tests"
    assert doc["week"] == "2022-W19" and doc["tests"] == 412
    assert str(doc["ts"]).endswith("+00:00") and "T" in str(doc["ts"])
    assert "request_id" not in doc and "job_id" not in doc


def test_request_and_job_ids_come_from_the_context(restore_root: None) -> None:
    stream = _capture("json")
    log = logging.getLogger("testrota.test")
    with request_context("req-123"):
        log.warning("inside a request")
    with job_context("dispatch_texts") as job_id:
        log.info("inside a job")
    log.info("outside")
    inside_request, inside_job, outside = _json_lines(stream)
    assert inside_request["request_id"] == "req-123"
    assert inside_job["job_id"] == job_id and job_id.startswith("dispatch_texts:")
    assert "request_id" not in outside and "job_id" not in outside


def test_numbers_are_masked_at_info_in_message_args_extras_and_tracebacks(
    restore_root: None,
) -> None:
    stream = _capture("json")
    log = logging.getLogger("testrota.test")
    log.info("text to %s (%s) failed", PHONE, MOBILE, extra={"id_number": ID_NUMBER})
    try:
        raise ValueError(f"duplicate phone {PHONE} for ID {ID_NUMBER}")
    except ValueError:
        log.exception("import failed for 手机%s", MOBILE)
    out = stream.getvalue()
    for secret in (PHONE, MOBILE, ID_NUMBER, "8613812345678", "110101199003"):
        assert secret not in out
    first, second = _json_lines(stream)
    assert first["message"] == "text to +*********5678 (*******5678) failed"
    assert first["id_number"] == "**************451X"
    assert second["message"] == "import failed for 手机*******5678"
    assert "ValueError: duplicate phone +*********5678 for ID **************451X" in str(
        second["exc"]
    )


def test_debug_records_are_not_masked(restore_root: None) -> None:
    stream = _capture("text", level="DEBUG")
    logging.getLogger("testrota.test").debug("raw %s", PHONE)
    assert PHONE in stream.getvalue()


def test_text_format_and_level(restore_root: None) -> None:
    stream = _capture("text", level="WARNING")
    log = logging.getLogger("testrota.test")
    log.info("hidden below the level")
    with job_context("nightly", "r1"):
        log.warning("to %s", PHONE, extra={"week": "2022-W19"})
    (line,) = stream.getvalue().splitlines()
    assert " WARNING testrota.test [job=nightly:r1]: to +*********5678 week=2022-W19" in line


def test_masking_finds_numbers_in_free_text() -> None:
    cases = {
        "call +86 138 1234 5678 now": "call +** *** **** 5678 now",
        "手机13812345678已发送": "手机*******5678已发送",
        "138-1234-5678": "***-****-5678",
        "to 8613812345678": "to *********5678",
        "ID 11010119900307451x.": "ID **************451x.",
        "old ID 110101900307451": "old ID ***********7451",
        "+14155550123 and +442071838750": "+*******0123 and +********8750",
    }
    for text, masked in cases.items():
        assert mask_personal_numbers(text) == masked
    untouched = [
        "SMa13812345678b",  # inside a provider id
        "2022-05-09T08:00:00+08:00 week 2022-W19 employee 10023 count 412",
        "appointment 12345678901234 took 13 ms",  # 14 digits, no valid date inside
        "",
    ]
    for text in untouched:
        assert mask_personal_numbers(text) == text


def test_configure_again_replaces_its_handler_and_basic_config(restore_root: None) -> None:
    root = logging.getLogger()
    logging.basicConfig(stream=sys.stderr)  # what a command may have done before
    basic = [h for h in root.handlers if type(h) is logging.StreamHandler]
    settings = get_settings(log_format="json")
    configure_logging(settings)
    configure_logging(settings)
    ours = [h for h in root.handlers if isinstance(h, StderrHandler)]
    assert len(ours) == 1 and root.handlers[0] is ours[0]
    assert not any(h in root.handlers for h in basic if h.stream is sys.stderr)


def test_cli_logging_follows_a_swapped_stderr(
    restore_root: None, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_cli_logging(get_settings(log_format="json"))
    setup_cli_logging(get_settings(log_format="json"))  # once per process and settings
    assert sum(isinstance(h, StderrHandler) for h in logging.getLogger().handlers) == 1
    swapped = io.StringIO()
    real, sys.stderr = sys.stderr, swapped
    try:
        logging.getLogger("testrota.test").warning("to %s", PHONE)
    finally:
        sys.stderr = real
    (doc,) = _json_lines(swapped)
    assert doc["message"] == "to +*********5678"
    setup_cli_logging(get_settings(log_format="text"))
    logging.getLogger("testrota.test").warning("now as text")
    assert "WARNING testrota.test: now as text" in capsys.readouterr().err


def test_settings_accept_any_case_and_refuse_unknown_values() -> None:
    settings = get_settings(log_format="JSON", log_level="warning")
    assert (settings.log_format, settings.log_level) == ("json", "WARNING")
    with pytest.raises(ValueError, match="log_format"):
        get_settings(log_format="xml")
