"""What an agent sees of a member: the number's ends and the first name."""

import pytest

from agents import mask_member, mask_name, mask_number


@pytest.mark.parametrize("national, masked", [
    ("0712345678", "0712***678"),
    ("0712 345 678", "0712***678"),
    ("13800138000", "1380****000"),       # China: 11 digits, four hidden
    ("712345678", "712***678"),
    ("123456", "12***6"),
    ("123", "***"),
    ("", ""),
])
def test_mask_number(national, masked):
    assert mask_number(national) == masked


@pytest.mark.parametrize("name, masked", [
    ("Jane Wanjiru", "JANE W."),
    ("  mary  jane   otieno ", "MARY O."),
    ("Amina", "AMINA"),
    ("李华", "*华"),
    ("欧阳娜娜", "*阳娜娜"),
    ("Wanjiru\x00\nKamau", "WANJIRU K."),
    ("Bartholomewsonius Smith", "BARTHOLOMEWS S."),
    ("", ""),
])
def test_mask_name(name, masked):
    assert mask_name(name) == masked


def test_mask_member_as_the_agent_sees_it():
    assert mask_member("0712345678", "Jane Wanjiru") == "0712***678 JANE W."
    assert mask_member("0712345678", "") == "0712***678"
