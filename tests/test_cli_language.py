"""The command line speaks its user's language: ``--lang``, else ``TESTROTA_LANG``, else the
locale. Errors, refusals, status lines and table headers come from the same catalogue as the
web; JSON keys never change, and a JSON problem's message follows the language."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from testrota.languages import language_of, resolve_language
from tests.conftest import CONFIG_DIR
from tests.test_import_cli import BASE, person, write_roster

EXE = Path(sys.executable).with_name("testrota")
HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize(
    ("option", "environ", "expected"),
    [
        (None, {}, "en"),
        (None, {"LANG": "zh_CN.UTF-8"}, "zh"),
        (None, {"LANG": "zh_TW.Big5"}, "zh"),
        (None, {"LANG": "C.UTF-8"}, "en"),
        (None, {"LANG": "fr_FR.UTF-8"}, "en"),
        # POSIX order: LC_ALL beats LC_MESSAGES beats LANG; an empty one is not set
        (None, {"LC_ALL": "C", "LANG": "zh_CN.UTF-8"}, "en"),
        (None, {"LC_ALL": "", "LC_MESSAGES": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"}, "zh"),
        (None, {"LC_MESSAGES": "en_GB.UTF-8", "LANG": "zh_CN.UTF-8"}, "en"),
        # TESTROTA_LANG beats the locale, --lang beats both
        (None, {"TESTROTA_LANG": "zh-Hans", "LC_ALL": "en_US.UTF-8"}, "zh"),
        (None, {"TESTROTA_LANG": "en", "LANG": "zh_CN.UTF-8"}, "en"),
        ("zh", {"TESTROTA_LANG": "en"}, "zh"),
        ("EN", {"LC_ALL": "zh_CN.UTF-8"}, "en"),
        # a value we cannot read falls through to the next source
        (None, {"TESTROTA_LANG": "fr", "LANG": "zh_CN.UTF-8"}, "zh"),
    ],
)
def test_the_language_is_the_option_then_the_setting_then_the_locale(
    option: str | None, environ: dict[str, str], expected: str
) -> None:
    assert resolve_language(option, environ) == expected


def test_language_tags() -> None:
    assert [
        language_of(t) for t in ("zh", "zh_CN.UTF-8", "zh-Hant-TW", "en_US", "C", "", None)
    ] == [
        "zh",
        "zh",
        "zh",
        "en",
        None,
        None,
        None,
    ]


def test_an_error_is_printed_in_chinese_with_lang_zh(cli: Any) -> None:
    zh = cli("--lang", "zh", "plan", "--week", "2022-W99")
    assert zh.exit_code == 2, zh.output
    assert zh.output.strip() == "错误：周 '2022-W99' 不存在：2022 年没有第 99 周"
    en = cli("--lang", "en", "plan", "--week", "2022-W99")
    assert en.exit_code == 2, en.output
    assert en.output.strip() == "Error: week '2022-W99' does not exist: 2022 has no week 99"


def test_testrota_lang_sets_the_language(cli: Any) -> None:
    out = cli("people", "--json", "--format", "csv", env={"TESTROTA_LANG": "zh"})
    assert out.exit_code == 2
    assert out.output.strip() == "错误：--json 与 --format csv 指定了两种格式：请只给一种"


def test_an_unknown_language_is_refused(cli: Any) -> None:
    out = cli("--lang", "fr", "people")
    assert out.exit_code == 2
    assert "--lang" in out.output and "zh" in out.output and "en" in out.output
    bad = cli("people", env={"TESTROTA_LANG": "klingon"})
    assert bad.exit_code == 2
    assert bad.output.strip() == "Error: TESTROTA_LANG='klingon': use zh or en"
    zh_env = {"TESTROTA_LANG": "klingon", "LANG": "zh_CN.UTF-8", "LC_ALL": "", "LC_MESSAGES": ""}
    zh = cli("people", env=zh_env)
    assert zh.output.strip() == "错误：TESTROTA_LANG='klingon'：请用 zh 或 en"
    assert "Traceback" not in bad.output


def _roster_with_problems(tmp_path: Path) -> Path:
    rows = [*BASE, person("0006", "", "运输部", "司机"), person("0001", "重复", "运输部", "司机")]
    return write_roster(tmp_path / "roster.xlsx", rows)


def test_import_json_keeps_its_keys_and_its_messages_follow_the_language(
    cli: Any, tmp_path: Path
) -> None:
    roster = _roster_with_problems(tmp_path)
    en = cli("--lang", "en", "import", str(roster), "--dry-run", "--json")
    zh = cli("--lang", "zh", "import", str(roster), "--dry-run", "--json")
    assert en.exit_code == 0 and zh.exit_code == 0, (en.output, zh.output)
    english, chinese = json.loads(en.stdout), json.loads(zh.stdout)
    assert english.keys() == chinese.keys()
    assert [e.keys() for e in english["errors"]] == [e.keys() for e in chinese["errors"]]
    assert [(e["row"], e["column"], e["value"]) for e in english["errors"]] == [
        (e["row"], e["column"], e["value"]) for e in chinese["errors"]
    ]
    messages = {e["row"]: e["message"] for e in chinese["errors"]}
    assert messages[8] == "缺少姓名"
    assert "missing name" in {e["message"] for e in english["errors"]}
    assert all(HAN.search(m) for m in messages.values()), messages
    assert not any("duplicate" in m or "missing" in m for m in messages.values()), messages
    # everything else is the same document
    assert {k: v for k, v in english.items() if k != "errors"} == {
        k: v for k, v in chinese.items() if k != "errors"
    }


def test_import_table_reads_in_chinese(cli: Any, tmp_path: Path) -> None:
    out = cli("--lang", "zh", "import", str(_roster_with_problems(tmp_path)), "--dry-run")
    assert out.exit_code == 0, out.output
    text = out.output
    for words in ("试运行：未写入任何内容", "新增", "2 行有错误", "工作表", "缺少姓名"):
        assert words in text, text
    for english in ("dry run", "row errors", "missing name", "… reading"):
        assert english not in text, text
    assert "… 读取中" in text


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TESTROTA_LANG", "LC_ALL", "LANGUAGE")}
    env.pop("LC_MESSAGES", None)
    return {**env, "TESTROTA_CONFIG_DIR": str(CONFIG_DIR), **extra}


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(EXE), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_a_real_process_follows_the_locale(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'lang.db'}"
    zh = _env(LANG="zh_CN.UTF-8", TESTROTA_DATABASE_URL=db)
    done = _run(["init"], zh)
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith("数据库结构版本 "), done.stderr

    refused = _run(["people", "--format", "xml"], zh)
    assert refused.returncode == 2
    assert refused.stderr.strip() == "错误：未知格式 'xml'：请用 table, json 或 csv"
    assert refused.stdout == ""

    # LC_ALL beats LANG; TESTROTA_LANG beats both
    english = _run(["people", "--format", "xml"], {**zh, "LC_ALL": "C.UTF-8"})
    assert english.stderr.strip() == "Error: unknown format 'xml': use table, json or csv"
    setting = _run(["people", "--format", "xml"], {**zh, "LC_ALL": "C", "TESTROTA_LANG": "zh"})
    assert setting.stderr.strip().startswith("错误：未知格式")

    roster = write_roster(tmp_path / "roster.xlsx", BASE)
    assert _run(["import", str(roster), "--json"], zh).returncode == 0
    listed = _run(["people", "--all"], {**zh, "COLUMNS": "200"})
    assert listed.returncode == 0, listed.stderr
    header = next(line for line in listed.stdout.splitlines() if "工号" in line)
    assert "姓名" in header and "部门" in header and "employee_no" not in header
    # codes read as words: person type, category, how it was matched, yes/no
    for words in ("员工", "门卫", "岗位名称", "是"):
        assert words in listed.stdout, listed.stdout
    for code in ("gate_guard", "canteen", "employee", "title", "True"):
        assert code not in listed.stdout, listed.stdout
    in_english = _run(["people", "--all"], {**zh, "COLUMNS": "200", "TESTROTA_LANG": "en"})
    assert "gate_guard" in in_english.stdout and "employee_no" in in_english.stdout
    as_json = json.loads(_run(["--lang", "zh", "people", "--json"], zh).stdout)
    assert {"employee_no", "name", "risk_category", "matched_by"} <= as_json[0].keys()


def test_the_catalogue_is_loaded_only_when_a_chinese_word_is_printed() -> None:
    probe = (
        "import sys\nfrom typer.testing import CliRunner\nfrom testrota.cli.main import app\n"
        "r = CliRunner().invoke(app, ['--lang', 'en', 'plan', '--week', '2022-W99'])\n"
        "assert r.exit_code == 2, r.output\n"
        "print('testrota.web.i18n' in sys.modules)\n"
        "r = CliRunner().invoke(app, ['--lang', 'zh', 'plan', '--week', '2022-W99'])\n"
        "assert '不存在' in r.output, r.output\n"
        "print('testrota.web.i18n' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=_env(TESTROTA_DATABASE_URL="sqlite://"),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True"]


# --- the catalogue for translators -------------------------------------------------------


def _po_entries(text: str) -> dict[tuple[str, str], str]:
    """``(msgctxt, msgid) -> msgstr`` of a .po file (one-line strings, as the export writes)."""
    found: dict[tuple[str, str], str] = {}
    context = msgid = ""
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key in ("msgctxt", "msgid", "msgstr"):
            decoded = json.loads(value)
            if key == "msgctxt":
                context = decoded
            elif key == "msgid":
                msgid = decoded
            else:
                if msgid:
                    found[(context, msgid)] = decoded
                context = msgid = ""
    return found


def test_i18n_export_po_lists_every_template_with_both_languages(cli: Any, tmp_path: Path) -> None:
    from testrota.web.i18n import CODES, ZH
    from tests.test_i18n_coverage import _calls, _message_classes

    out = cli("i18n", "export", "--output", str(tmp_path / "zh.po"))
    assert out.exit_code == 0, out.output
    entries = _po_entries((tmp_path / "zh.po").read_text(encoding="utf-8"))
    templates = {
        arg.value
        for _, _, arg in _calls(_message_classes())
        if hasattr(arg, "value") and isinstance(arg.value, str)
    }
    assert templates and all(("", t) in entries for t in templates)
    assert entries[("", "week {text!r} does not exist: {year} has no week {week}")] == (
        "周 {text!r} 不存在：{year} 年没有第 {week} 周"
    )
    assert len([k for k in entries if k[0] == ""]) == len(ZH)
    assert entries[("code:result.pending", "awaiting result")] == "待出结果"
    assert entries[("code:message.pending", "waiting to send")] == "待发送"
    assert entries[("category:cold_chain", "cold chain")] == "冷链"
    assert sum(len(v) for v in CODES.values()) == len(
        [k for k in entries if k[0].startswith("code:")]
    )


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="gettext's msgfmt is not installed")
def test_gettext_accepts_the_po_file(cli: Any, tmp_path: Path) -> None:
    po = tmp_path / "zh.po"
    assert cli("i18n", "export", "--format", "po", "-o", str(po)).exit_code == 0
    # --check includes --check-format: each python-brace-format msgstr keeps the msgid's fields
    done = subprocess.run(
        ["msgfmt", "--check", "-o", str(tmp_path / "zh.mo"), str(po)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_i18n_export_csv_and_json(cli: Any) -> None:
    import csv
    import io

    from testrota.web.i18n import ZH

    sheet = cli("i18n", "export", "--format", "csv")
    assert sheet.exit_code == 0, sheet.output
    rows = list(csv.DictReader(io.StringIO(sheet.stdout)))
    assert list(rows[0]) == ["context", "en", "zh-Hans", "parameters"]
    messages = {r["en"].removeprefix("'"): r for r in rows if r["context"] == ""}
    assert messages.keys() == ZH.keys()
    assert messages["{path}: file not found (set TESTROTA_CONFIG_DIR)"]["parameters"] == "path"
    # a template Excel would run as a formula stays text
    flagged = next(r for r in rows if r["en"].endswith("ask for two formats: give one of them"))
    assert flagged["en"].startswith("'--json")

    doc = json.loads(cli("i18n", "export", "--json").stdout)
    assert len(doc) == len(rows) and {"context", "en", "zh-Hans"} <= doc[0].keys()


def test_every_translation_keeps_the_templates_parameters() -> None:
    from testrota.web.i18n_export import entries, placeholders

    broken = [
        (e.english, e.chinese)
        for e in entries()
        if sorted(placeholders(e.english)) != sorted(placeholders(e.chinese))
    ]
    assert broken == []


def test_a_settings_refusal_reads_in_chinese(cli: Any) -> None:
    import socket

    with socket.socket() as taken:  # were the key accepted, uvicorn would fail to bind
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        short = cli(
            "--lang", "zh", "serve", "--port", port, env={"TESTROTA_SECRET_KEY": "short-key"}
        )
    assert short.exit_code == 2, short.output
    (line,) = short.output.strip().splitlines()
    assert line.startswith("错误：TESTROTA_SECRET_KEY 只有 9 字节：请至少使用 32 个随机字节"), line
    # a refusal pydantic wraps (a model check) keeps its words too
    twilio = cli("--lang", "zh", "dispatch", "--once", env={"TESTROTA_SMS_BACKEND": "twilio"})
    assert twilio.exit_code == 2
    assert twilio.output.strip() == (
        "错误：TESTROTA_SMS_BACKEND=twilio 需要 TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, "
        "TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID；请设置这些变量，或改用 "
        "TESTROTA_SMS_BACKEND=console"
    )


def test_site_staff_check_in_reads_in_chinese(cli: Any, tmp_path: Path) -> None:
    env = {"TESTROTA_NOW": "2022-05-10T09:05:00+08:00", "TESTROTA_SECRET_KEY": "k" * 48}
    roster = write_roster(
        tmp_path / "roster.xlsx", [*BASE, person("0006", "赵敏", "运输部", "司机")]
    )
    assert cli("import", str(roster), "--json", env=env).exit_code == 0
    assert cli("plan", "--week", "2022-W19", "--json", env=env).exit_code == 0

    first = cli("--lang", "zh", "checkin", "0001", "--site", "NORTH", env=env)
    assert first.exit_code == 0, first.output
    assert first.output.startswith("张伟（0001）于 09:05 签到："), first.output
    assert "checked in" not in first.output
    again = cli("--lang", "zh", "checkin", "0001", "--site", "NORTH", env=env)
    assert again.output.strip() == "张伟（0001）已于 09:05 在本时段签到，无需重复。"
    english = cli("checkin", "0001", "--site", "NORTH", env=env)
    assert english.output.strip() == (
        "张伟 (0001) already checked in at 09:05 in this slot; nothing to do."
    )

    assert cli("tube", "open", "T1", "--site", "NORTH", "--ratio", "5", env=env).exit_code == 0
    tubed = cli("--lang", "zh", "checkin", "0006", "--tube", "T1", env=env)
    assert tubed.exit_code == 0, tubed.output
    assert tubed.output.strip().endswith("试管 T1：还可装 4 人。"), tubed.output
    as_json = json.loads(
        cli("--lang", "zh", "checkin", "0006", "--tube", "T1", "--json", env=env).stdout
    )
    assert as_json["message"].endswith("Already in tube T1.")  # the JSON keeps the English
    assert as_json["message_parts"][-1] == {
        "template": "Already in tube {code}.",
        "params": {"code": "T1"},
    }


def test_results_import_json_unmatched_rows_follow_the_language(cli: Any, tmp_path: Path) -> None:
    env = {"TESTROTA_NOW": "2022-05-10T15:00:00+08:00"}
    assert cli("import", str(write_roster(tmp_path / "r.xlsx", BASE)), "--json").exit_code == 0
    sheet = tmp_path / "lab.csv"
    sheet.write_text("工号,采样时间,检测结果\n9999,2022-05-10 09:00,阴性\n", encoding="utf-8")
    en = json.loads(cli("results", "import", str(sheet), "--dry-run", "--json", env=env).stdout)
    zh = json.loads(
        cli("--lang", "zh", "results", "import", str(sheet), "--dry-run", "--json", env=env).stdout
    )
    assert en.keys() == zh.keys() and len(en["unmatched"]) == len(zh["unmatched"]) == 1
    english, chinese = en["unmatched"][0], zh["unmatched"][0]
    assert english.keys() == chinese.keys() and english["value"] == chinese["value"] == "9999"
    assert "9999" in english["message"] and not HAN.search(english["message"])
    assert HAN.search(chinese["message"]) and "employee" not in chinese["message"], chinese


def _english_fragments() -> set[str]:
    """Pieces of the CLI's English templates long enough to be telling (the text between
    parameters), leaving out those the Chinese keeps too (a command's name, a setting)."""
    from testrota.web.i18n_cli import ZH_CLI
    from testrota.web.i18n_doctor import ZH_DOCTOR

    found: set[str] = set()
    for english, chinese in {**ZH_CLI, **ZH_DOCTOR}.items():
        for piece in re.split(r"\{[^}]*\}", english):
            piece = piece.strip(" .,;:()")
            if len(piece) >= 12 and re.search(r"[a-z]{3}", piece) and piece not in chinese:
                found.add(piece)
    return found


def test_every_command_in_chinese_leaks_no_english_template(cli: Any, tmp_path: Path) -> None:
    """The commands of a working week, run as people do (tables, status lines) with --lang zh:
    each prints Chinese, and no piece of an English template the catalogue translates."""
    from tests.test_cli_json import ENV, _invocations

    fragments = _english_fragments()
    assert len(fragments) > 100
    chinese = 0
    for path, args, stdin in _invocations(tmp_path, cli):
        if path in ("i18n export", "export-person"):
            continue  # they print data, not words
        result = cli("--lang", "zh", *path.split(), *args, env=ENV, input=stdin)
        # doctor's exit code 1 means a check failed; it still prints its report
        assert result.exit_code in ((0, 1) if path == "doctor" else (0,)), (path, result.output)
        leaked = sorted(f for f in fragments if f in result.output)
        assert not leaked, (path, leaked, result.output)
        chinese += bool(HAN.search(result.output))
    assert chinese >= 30


def test_the_error_report_workbook_is_written_in_the_clis_language(
    cli: Any, tmp_path: Path
) -> None:
    from openpyxl import load_workbook

    roster = _roster_with_problems(tmp_path)
    texts = {}
    for lang in ("en", "zh"):
        report = tmp_path / f"errors-{lang}.xlsx"
        out = cli("--lang", lang, "import", str(roster), "--dry-run", "--errors", str(report))
        assert out.exit_code == 0, out.output
        sheet = load_workbook(report).worksheets[0]
        texts[lang] = " ".join(str(c.value) for row in sheet.iter_rows() for c in row if c.value)
    assert "missing name" in texts["en"]
    assert "缺少姓名" in texts["zh"] and "missing name" not in texts["zh"], texts["zh"]


def _roster_that_clears_and_hides_phones(cli: Any, tmp_path: Path) -> Path:
    """A full roster imported, then a file whose ID numbers are empty (clearing them) and
    whose phones sit under a header the import does not know ("H/P")."""
    from tests.roster_files import write_xlsx
    from tests.test_import_columns_kept import _full

    _full(cli, tmp_path)
    return write_xlsx(
        tmp_path / "ids.xlsx",
        {
            "S": [
                ["工号", "姓名", "身份证号", "H/P"],
                ["1001", "张伟", "", "13812345601"],
                ["1002", "王芳", "", "13812345602"],
            ]
        },
    )


def test_an_imports_column_warnings_and_cleared_fields_read_in_chinese(
    cli: Any, tmp_path: Path
) -> None:
    """HR imports a file whose phones sit under an unknown header: the warnings and the
    "clears the ID number" line read in Chinese, and in English exactly as the JSON says."""
    roster = _roster_that_clears_and_hides_phones(cli, tmp_path)
    wide = {"COLUMNS": "300"}
    doc = json.loads(cli("import", str(roster), "--dry-run", "--json").stdout)
    english = cli("--lang", "en", "import", str(roster), "--dry-run", env=wide)
    assert english.exit_code == 0, english.output
    for warning in doc["warnings"]:
        assert f"warning: {warning['message']}" in english.output
    assert "clears the ID number of 2 people: 1001, 1002" in english.output
    assert {w["kind"] for w in doc["warnings"]} == {"unrecognised_column", "no_phone_column"}

    chinese = cli("--lang", "zh", "import", str(roster), "--dry-run", env=wide)
    assert chinese.exit_code == 0, chinese.output
    out = chinese.output
    assert "将清空 2 人的身份证号: 1001, 1002" in out, out
    assert "'H/P'（第 D 列）未导入，但其中 100% 的值看起来是手机号" in out, out
    assert "没有手机号列：其 2 人中有 0 人收不到提醒短信" in out, out
    assert "was not imported" not in out and "no phone column" not in out and "clears" not in out
    # --json keeps its keys and its English in every language
    again = json.loads(cli("--lang", "zh", "import", str(roster), "--dry-run", "--json").stdout)
    assert again["warnings"] == doc["warnings"]


def test_every_reason_a_person_is_not_scheduled_reads_in_both_languages(cli: Any) -> None:
    """The plan's table says why each person was left out, in the CLI's language: the words
    of the reason's code, the new static and onsite reasons too."""
    from testrota.cli import lang
    from testrota.cli.plan_cmds import unscheduled_reason
    from testrota.scheduling.model import NO_ONSITE_SITE, NO_SLOT_OF_OWN, REASONS

    assert {NO_SLOT_OF_OWN, NO_ONSITE_SITE} <= REASONS.keys()
    try:
        for code, words in REASONS.items():
            row = {"reason": code, "message": words}
            lang.choose("en")
            assert unscheduled_reason(row) == words
            lang.choose("zh")
            said = unscheduled_reason(row)
            assert HAN.search(said) and not re.search(r"[a-z]{4}", said), (code, said)
        # a code this version does not know keeps the report's message
        assert unscheduled_reason({"reason": "new_code", "message": "why"}) == "why"
    finally:
        lang.choose("en")


def test_a_mode_switch_says_how_many_were_texted_and_how_many_could_not_be(
    cli: Any, tmp_path: Path
) -> None:
    """HR puts a unit in static mode after the week is planned: the command says which weeks
    were planned again, how many people were texted and, without a signing key, how many
    could not be, in the CLI's language."""
    from tests.test_mode_switch_texts import FRIDAY, HEADER, ROWS, write_xlsx

    roster = write_xlsx(tmp_path / "r.xlsx", HEADER, ROWS)
    assert cli("import", str(roster), "--json", env=FRIDAY).exit_code == 0
    assert cli("plan", "--week", "2022-W19", "--json", env=FRIDAY).exit_code == 0
    args = ["mode", "set", "static", "--unit", "板材公司/炼钢厂", "--from", "2022-05-09"]
    texted = cli("--lang", "zh", *args, "--reason", "防控通知", env=FRIDAY)
    assert texted.exit_code == 0, texted.output
    assert "已重新排班的周：2022-W19" in texted.output, texted.output
    assert "已向 2 人发送“您的检测安排有变”短信" in texted.output, texted.output

    no_key = {"TESTROTA_NOW": FRIDAY["TESTROTA_NOW"], "TESTROTA_SECRET_KEY": ""}
    back = ["mode", "set", "normal", "--unit", "板材公司/炼钢厂", "--from", "2022-05-09"]
    untold = cli("--lang", "zh", *back, "--reason", "解除", env=no_key)
    assert untold.exit_code == 0, untold.output
    assert "2 名安排有变的人员未能收到短信" in untold.output, untold.output
    english = cli("--lang", "en", *args, "--reason", "again", env=no_key)
    assert english.exit_code == 0, english.output
    assert "2 people whose plan changed could not be texted" in english.output, english.output
    assert "static from 2022-05-09\nweeks planned again: 2022-W19\n" in english.output


def test_doctor_reads_in_chinese_and_its_json_stays_english(cli: Any) -> None:
    """An operator runs doctor with --lang zh: every finding and fix reads in Chinese (the
    values it names, a URL or a revision, as they are); English and --json read as before."""
    wide = {"COLUMNS": "300", "TESTROTA_SECRET_KEY": ""}
    assert cli("init", env=wide).exit_code == 0
    doc = json.loads(cli("--lang", "zh", "doctor", "--json", env=wide).stdout)
    english = cli("--lang", "en", "doctor", env=wide).output
    chinese = cli("--lang", "zh", "doctor", env=wide).output
    assert set(doc["checks"][0]) == {"name", "status", "message", "fix"}
    for check in doc["checks"]:
        assert check["message"] in english, (check, english)
        assert not HAN.search(check["message"] + check["fix"]), check
        assert check["message"] not in chinese, (check, chinese)
    lines = [line for line in chinese.splitlines() if line.strip()]
    assert lines and all(HAN.search(line) for line in lines), chinese
    assert "未设置 TESTROTA_SECRET_KEY：网页应用无法启动" in chinese
    assert "每个进程都用同一个值" in chinese and "the same value" not in chinese


def test_demo_says_what_it_seeded_in_chinese(cli: Any) -> None:
    """Someone trying testrota runs ``testrota --lang zh demo``: the seeding lines read in
    Chinese (file names, weeks and figures as they are); a second run in English keeps its
    English line."""
    now = {"TESTROTA_NOW": "2022-05-11T10:00:00+08:00", "TESTROTA_SECRET_KEY": ""}
    seeded = cli("--lang", "zh", "demo", "--no-serve", env=now)
    assert seeded.exit_code == 0, seeded.output
    # the log's lines (timestamped) stay English: they are for operators' log files
    log = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ ")
    out = "\n".join(line for line in seeded.output.splitlines() if not log.match(line))
    assert re.search(r"已导入 \d+ 份示例花名册：\d+ 人，高风险 \d+ 人", out), out
    assert re.search(r"已排班 2022-W19：应检 \d+ 次，已安排 \d+ 次", out), out
    assert re.search(r"本周在采样点签到 \d+ 次，共采样 \d+ 份", out), out
    assert re.search(r"已为接下来 \d+ 小时排入提醒：\d+ 条", out), out
    for english in ("sample rosters", "rows,", "planned 2022", "check-ins", "reminders queued"):
        assert english not in out, (english, out)
    again = cli("--lang", "en", "demo", "--no-serve", env=now)
    assert "the database has people already: kept as it is" in again.output, again.output
