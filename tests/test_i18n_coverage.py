"""Every word a person reads has its Chinese (and every stored code its English words).

Extracted from the source, so a new message cannot be added without its translation: the
templates of every :class:`UserError` and :class:`Phrase` (any door may show them, the command
line included; none may be an f-string), the templates of the row problems an import reports,
and every value of ``testrota.statuses`` and the other codes pages show (message kinds, result
sources, roster and result fields).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path

import pytest

import testrota.statuses as statuses
from testrota.compliance.checkin import CHECKIN
from testrota.compliance.result_rows import LAB, OUTSIDE
from testrota.errors import Phrase, UserError
from testrota.notify.outbox import ALL_KINDS
from testrota.risk.matcher import MATCHED_BY
from testrota.roster.columns import ROSTER_FIELDS
from testrota.settings import SettingsError
from testrota.web.i18n import CODES, ZH, code_text, translator

SRC = Path(__file__).resolve().parents[1] / "src" / "testrota"

# Which kind of CODES each enumeration of testrota.statuses is shown as.
ENUM_KINDS = {
    "AppointmentStatus": "appointment",
    "AppointmentReason": "reason",
    "ResultValue": "result",
    "AlertStatus": "alert",
    "ContactReason": "contact_reason",
    "MessageStatus": "message",
    "OfferStatus": "offer",
    "PersonType": "person_type",
    "Role": "role",
    "JobRunStatus": "job",
    "TubeStatus": "tube",
    "TubeResult": "tube_result",
    "NotifyChannel": "channel",
    "UnitKind": "unit_kind",
    "UnitMode": "mode",
}
RESULT_FIELDS = ("employee_no", "name", "sampled_at", "result", "site")


def _message_classes() -> set[str]:
    """UserError, Phrase, SettingsError and every class deriving from them (by name, across
    the package)."""
    bases: dict[str, set[str]] = {}
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                bases[node.name] = {
                    b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases
                }
    found = {UserError.__name__, Phrase.__name__, SettingsError.__name__}
    grew = True
    while grew:
        grew = False
        for name, parents in bases.items():
            if name not in found and parents & found:
                found.add(name)
                grew = True
    return found


def _calls(classes: set[str]) -> Iterator[tuple[Path, int, ast.expr]]:
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name in classes:
                yield path, node.lineno, node.args[0]


def test_the_extraction_finds_the_messages() -> None:
    classes = _message_classes()
    assert {"UserError", "Phrase", "NotChangeable", "SlotGone"} <= classes
    literals = {a.value for _, _, a in _calls(classes) if isinstance(a, ast.Constant)}
    assert "{name}: this is a Word document, not a spreadsheet" in literals
    assert len(literals) > 60


def test_every_message_template_has_chinese() -> None:
    missing = sorted(
        f"{path.relative_to(SRC)}:{line}: {arg.value}"
        for path, line, arg in _calls(_message_classes())
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value not in ZH
    )
    assert not missing, "add to testrota.web.i18n.ZH:\n" + "\n".join(missing)


def test_no_message_is_made_from_an_fstring() -> None:
    made = sorted(
        f"{path.relative_to(SRC)}:{line}"
        for path, line, arg in _calls(_message_classes())
        if isinstance(arg, ast.JoinedStr)
    )
    assert not made, (
        "write UserError('template {param}', param=value) so the message can be "
        f"translated: {made}"
    )


def test_every_word_the_command_line_says_has_chinese() -> None:
    """``say("template", ...)`` in testrota/cli: status lines, titles and headers."""
    missing = []
    for path in (SRC / "cli").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            if node.func.id != "say" or not node.args:
                continue
            arg = node.args[0]
            branches = [arg.body, arg.orelse] if isinstance(arg, ast.IfExp) else [arg]
            missing += [
                f"{path.relative_to(SRC)}:{node.lineno}: {b.value}"
                for b in branches
                if isinstance(b, ast.Constant) and isinstance(b.value, str) and b.value not in ZH
            ]
    assert not missing, "add to testrota.web.i18n_cli.ZH_CLI:\n" + "\n".join(sorted(missing))


def test_a_refusal_of_a_file_reads_in_chinese() -> None:
    from testrota.policy import load_policy
    from testrota.roster.spreadsheet import sniff_format
    from tests.conftest import CONFIG_DIR

    limits = load_policy(CONFIG_DIR).imports
    with pytest.raises(UserError) as caught:
        sniff_format("名单.docx", b"%PDF-1.7 something", limits)
    assert str(caught.value) == (
        "名单.docx: this is a PDF, not a spreadsheet; upload the Excel file instead"
    )
    assert (
        caught.value.render(translator("zh")) == "名单.docx：这是 PDF，不是表格；请上传 Excel 文件"
    )


def test_a_phrase_inside_a_message_is_in_the_same_language() -> None:
    from testrota.policy import load_policy
    from testrota.roster.spreadsheet import SheetTooLarge, too_large
    from tests.conftest import CONFIG_DIR

    limits = load_policy(CONFIG_DIR).imports
    error = too_large("a.xlsx", SheetTooLarge("花名册", limits.max_rows + 1, 3, "rows"), limits)
    assert "sheet '花名册' has" in str(error)
    assert "工作表 '花名册'有" in error.render(translator("zh"))


def _enums() -> list[type[StrEnum]]:
    return [
        value
        for value in vars(statuses).values()
        if isinstance(value, type) and issubclass(value, StrEnum) and value is not StrEnum
    ]


def test_every_status_has_words_in_both_languages() -> None:
    unmapped = sorted(e.__name__ for e in _enums() if e.__name__ not in ENUM_KINDS)
    assert not unmapped, f"say in ENUM_KINDS (and web.i18n.CODES) how to show {unmapped}"
    missing = [
        f"{enum.__name__}.{member.name}"
        for enum in _enums()
        for member in enum
        if member.value not in CODES[ENUM_KINDS[enum.__name__]]
    ]
    assert not missing, "add to testrota.web.i18n.CODES: " + ", ".join(missing)


@pytest.mark.parametrize(
    ("kind", "values"),
    [
        ("kind", ALL_KINDS),
        ("source", (LAB, OUTSIDE, CHECKIN)),
        ("matched_by", MATCHED_BY),
        ("field", ROSTER_FIELDS + RESULT_FIELDS),
    ],
)
def test_every_code_shown_has_words(kind: str, values: tuple[str, ...]) -> None:
    assert sorted(v for v in values if v not in CODES[kind]) == []


def test_no_code_is_shown_as_itself() -> None:
    for kind, names in CODES.items():
        for code, (english, chinese) in names.items():
            assert english and chinese, (kind, code)
            assert "_" not in english, (kind, code, english)  # a raw code, not words
            assert chinese != code, (kind, code)
    # one code, two meanings: a sample waiting for its result is not a text waiting to be sent
    assert code_text("result", "pending", "zh") != code_text("message", "pending", "zh")
    assert code_text("kind", "reminder_eve", "en") == "evening-before reminder"
    assert code_text("field", "sampled_at", "zh") == "采样时间"
    assert code_text("nope", "x", "en") == "x"


# The row problems an import reports: (file, call, which argument is the template).
ROW_PROBLEM_CALLS = {
    "roster/validate.py": {"error": 4, "error_at": 4},
    "compliance/result_rows.py": {"of": 4, "why": 0},
    "compliance/results_parse.py": {"SampledAtError": 0},
    "roster/reader.py": {"why": 2},
}


def _row_problem_templates() -> set[str]:
    from testrota.compliance.result_rows import UNMATCHED_HINT
    from testrota.roster import phones, validate

    found: set[str] = set()
    for rel, calls in ROW_PROBLEM_CALLS.items():
        for node in ast.walk(ast.parse((SRC / rel).read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name in calls and len(node.args) > calls[name]:
                arg = node.args[calls[name]]
                branches = [arg.body, arg.orelse] if isinstance(arg, ast.IfExp) else [arg]
                found |= {
                    b.value
                    for b in branches
                    if isinstance(b, ast.Constant) and isinstance(b.value, str)
                }
    # a phone's problem is its reason and what the import did about it
    found |= {
        t + validate.KEPT_WITHOUT_PHONE
        for t in (phones.LANDLINE, phones.SCIENTIFIC, phones.INVALID)
    }
    found.add(UNMATCHED_HINT)
    found |= set(validate._LOOKALIKE.values())  # a number written as a stored one's
    for value in ("11010519491231002X"[:-1] + "0", "110105194912310000"):
        problem = validate.id_number_problem(value)
        if problem:
            found.add(problem)
    return found


def test_every_row_problem_of_an_import_has_chinese() -> None:
    templates = _row_problem_templates()
    assert {"missing name", "the sampling time is empty", "empty sheet"} <= templates
    assert "co-resident without a host employee number" in templates
    missing = sorted(t for t in templates if t not in ZH)
    assert not missing, "add to testrota.web.i18n.ZH:\n" + "\n".join(missing)


def test_no_english_words_have_two_chinese_translations() -> None:
    """The catalogue is merged from parts (web/i18n_*.py): a key given again in another part
    is silently shadowed, so a page meant to read 止 ("until") read 收件人 ("recipient")."""
    import importlib
    import pkgutil

    import testrota.web

    clashes = []
    for info in pkgutil.iter_modules(testrota.web.__path__):
        if not info.name.startswith("i18n_"):
            continue
        module = importlib.import_module(f"testrota.web.{info.name}")
        for name, part in vars(module).items():
            if name.startswith("ZH_") and isinstance(part, dict):
                clashes += [
                    (info.name, english, chinese, ZH[english])
                    for english, chinese in part.items()
                    if ZH.get(english) != chinese
                ]
    assert clashes == []
