"""Masking phone and ID numbers for roles that do not need them (``policy.privacy``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from testrota.errors import UserError
from testrota.policy import load_policy
from testrota.privacy import (
    UNMASKED,
    mask_id_number,
    mask_phone,
    masker_for,
    masker_for_policy,
)
from tests.notify_data import config_dir, policy


def test_mask_phone_keeps_the_last_digits_and_the_shape() -> None:
    assert mask_phone("+8613812345678") == "+*********5678"
    assert mask_phone("138 1234 5678") == "*** **** 5678"
    assert mask_phone("+8613812345678", keep=0) == "+*************"
    assert mask_phone("+8613812345678", keep=2) == "+***********78"
    assert mask_phone("123") == "123"  # nothing beyond the kept digits
    assert mask_phone(None) is None and mask_phone("") == ""


def test_mask_id_number() -> None:
    assert mask_id_number("11010119900307451X") == "**************451X"
    assert mask_id_number("E12345678") == "*****5678"  # a passport number
    assert mask_id_number("11010119900307451X", keep=0) == "*" * 18
    assert mask_id_number(None) is None


def test_roles_from_the_shipped_policy() -> None:
    shipped = policy()
    assert shipped.privacy.mask_for_roles == ["supervisor", "site"]
    assert shipped.privacy.keep_digits == 4
    supervisor = masker_for_policy("supervisor", shipped)
    assert supervisor.phone("+8613812345678") == "+*********5678"
    assert supervisor.id_number("11010119900307451X") == "**************451X"
    assert masker_for_policy("site", shipped).masked
    for role in ("admin", "hr"):
        assert masker_for_policy(role, shipped) is UNMASKED
    assert masker_for_policy(None, shipped).masked  # no user: masked
    row = {
        "employee_no": "10023",
        "phone": "+8613812345678",
        "phone_raw": "138 1234 5678",
        "id_number": "11010119900307451X",
        "name": "张三",
    }
    assert supervisor.row(row) == {
        **row,
        "phone": "+*********5678",
        "phone_raw": "*** **** 5678",
        "id_number": "**************451X",
    }
    assert UNMASKED.row(row) is row


def test_the_policy_may_say_otherwise(tmp_path: Path) -> None:
    custom = load_policy(
        config_dir(tmp_path, privacy={"mask_for_roles": ["supervisor", "hr"], "keep_digits": 0})
    )
    assert masker_for_policy("hr", custom).phone("+8613812345678") == "+*************"
    assert masker_for_policy("site", custom) is UNMASKED
    assert masker_for("site", [], 4) is UNMASKED


def test_a_wrong_privacy_section_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="mask_for_roles"):
        load_policy(config_dir(tmp_path, privacy={"mask_for_roles": ["superviser"]}))
    with pytest.raises(UserError, match="keep_digits"):
        load_policy(config_dir(tmp_path, privacy={"keep_digits": 12}))


def test_masking_free_text_keeps_what_the_policy_says() -> None:
    from testrota.privacy import mask_personal_numbers

    assert mask_personal_numbers("call 13812345678", keep=2) == "call *********78"
    assert mask_personal_numbers("call 13812345678", keep=0) == "call ***********"
    # a "+" written as %2B in a link: the escape stays, the number is masked
    assert (
        mask_personal_numbers("/people?q=%2B8613812345678&x=1") == "/people?q=%2B*********5678&x=1"
    )


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        # the ideographic space a Chinese keyboard types, and the no-break space of WPS and
        # phones, between a mobile's groups
        ("请假，电话 138\u30001234\u30005678", "请假，电话 ***\u3000****\u30005678"),
        ("手机138\u00a01234\u00a05678", "手机***\u00a0****\u00a05678"),
        ("+86\u00a0138\u00a01234\u00a05678", "+**\u00a0***\u00a0****\u00a05678"),
        ("电话 138.1234.5678 已通知", "电话 ***.****.5678 已通知"),
        # dotted runs of other shapes are addresses and amounts, not phones
        ("client 139.196.12.34 refused", "client 139.196.12.34 refused"),
        ("138.12345678 元", "138.12345678 元"),
    ],
)
def test_a_phone_written_with_other_separators_is_masked(text: str, masked: str) -> None:
    """An excuse's note or a log line with a number spaced as people type it: shown to a
    masked role through the response guard, it was left whole."""
    from testrota.privacy import mask_personal_numbers
    from testrota.privacy.masking import Masker
    from testrota.web.disclosure import Reader

    assert mask_personal_numbers(text) == masked
    page = f"<td>{text}</td>".encode()
    reader = Reader(Masker(masked=True, keep=4))
    assert reader.text(page.decode()) == f"<td>{masked}</td>"


def test_personal_links_are_cut(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from testrota.notify.links import make_personal_link, make_personal_token
    from testrota.privacy.masking import redact_personal_links
    from testrota.settings import get_settings

    settings = get_settings(
        database_url=f"sqlite:///{tmp_path / 'x.db'}",
        secret_key="k" * 40,
        public_url="https://t.example",
    )
    now = datetime(2022, 5, 11, 2, tzinfo=UTC)
    for person_id in (1, 61, 62, 10**9):
        token = make_personal_token(settings, person_id, now)
        link = make_personal_link(settings, person_id, now)
        text = f"改约：{link} 回TD退订"
        assert redact_personal_links(text) == "改约：https://t.example/me/… 回TD退订"
        assert token not in redact_personal_links(f"/login?next=%2Fme%2F{token}")
    untouched = "see /me/{token} in the API docs; /home/me/x; name.me"
    assert redact_personal_links(untouched) == untouched
