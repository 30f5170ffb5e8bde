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
    row = {"employee_no": "10023", "phone": "+8613812345678", "phone_raw": "138 1234 5678",
           "id_number": "11010119900307451X", "name": "张三"}
    assert supervisor.row(row) == {**row, "phone": "+*********5678",
                                   "phone_raw": "*** **** 5678",
                                   "id_number": "**************451X"}
    assert UNMASKED.row(row) is row


def test_the_policy_may_say_otherwise(tmp_path: Path) -> None:
    custom = load_policy(config_dir(tmp_path, privacy={"mask_for_roles": ["supervisor", "hr"],
                                                       "keep_digits": 0}))
    assert masker_for_policy("hr", custom).phone("+8613812345678") == "+*************"
    assert masker_for_policy("site", custom) is UNMASKED
    assert masker_for("site", [], 4) is UNMASKED


def test_a_wrong_privacy_section_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="mask_for_roles"):
        load_policy(config_dir(tmp_path, privacy={"mask_for_roles": ["superviser"]}))
    with pytest.raises(UserError, match="keep_digits"):
        load_policy(config_dir(tmp_path, privacy={"keep_digits": 12}))
