"""What the inbox keeps of a message once it has run, and the digest redeliveries are found by."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway import redaction
from gateway.commands import dispatch
from gateway.commands.context import Request
from gateway.commands.grammar import KeywordTable

TABLE = KeywordTable.load(Path(__file__).resolve().parents[2] / "config" / "keywords.toml")
KEY = b"k" * 32


@pytest.mark.parametrize("text, kept", [
    ("PIN 1234", "PIN ****"),
    ("pin 1234 5678", "pin **** ****"),
    ("PIN 1234 1234", "PIN **** ****"),                   # the same digits twice, both hidden
    ("REDEEM AIR50 1 1234", "REDEEM AIR50 1 ****"),
    ("RDM 0712345678 RICE5 2 9999", "RDM 0712345678 RICE5 2 ****"),
    ("YES 4821", "YES ****"),
    ("YES:4821.", "YES:****."),                            # punctuation kept as typed
    ("ＰＩＮ　１２３４", "PIN ****"),                          # full-width, folded first
    ("REDEME AIR50 1 1234", "REDEME AIR50 1 ****"),       # a slip still hides the PIN
    ("PIN 1234 56", "PIN **** ****"),                      # does not fit: every number goes
    ("REDEEM AIR50 1 1234 777", "REDEEM AIR50 **** **** ****"),  # does not fit: every number
    ("PIM 1234 5678", "PIM **** ****"),
    ("密码1234 5678", "密码**** ****"),                      # a Chinese keyword glued to the PIN
    ("兑换AIR50 1 1234", "兑换AIR50 1 ****"),                 # glued, but not the secret                    # too short to guess, not to hide
    ("PN 1234", "PN ****"),
    ("YSE 4821", "YSE ****"),
])
def test_secrets_are_masked_and_the_rest_kept_as_typed(text, kept):
    assert redaction.redact(text, TABLE, "KE") == kept


@pytest.mark.parametrize("text", ["BAL", "REDEEM AIR50 2", "RDM 0712345678 RICE5 2",
                                  "HIST", "hello 1234", "", "PIN"])
def test_messages_without_a_secret_are_kept_whole(text):
    assert redaction.redact(text, TABLE, "KE") is None


def test_the_digest_tells_messages_apart_by_kind_text_and_key():
    first = redaction.digest(KEY, "text", "PIN 1111 2222")
    assert redaction.digest(KEY, "text", "PIN 1111 2222") == first
    assert redaction.digest(KEY, "text", "PIN 3333 4444") != first
    assert redaction.digest(KEY, "incomplete", "PIN 1111 2222") != first
    assert redaction.digest(b"x" * 32, "text", "PIN 1111 2222") != first
    assert "1111" not in first and len(first) == 64


def test_the_configured_key_wins_and_an_empty_one_means_the_databases():
    assert redaction.configured_key("s" * 16) == b"s" * 16
    assert redaction.configured_key("") is None


@pytest.mark.parametrize("text, echoed", [
    ("PIM 1234 5678", 'did not understand "PIM **** ****"'),
    ("hello 1234", 'did not understand "hello 1234"'),
    ("PIN 1234 5678 9999", "PIN: too many words."),
])
def test_replies_never_echo_what_may_be_a_pin(text, echoed):
    outcome = dispatch.execute(Request(msisdn="254712345678", short_code="10655", text=text,
                                       member=None, message_id=1),
                               TABLE, services=None, default_language="en", region="KE")
    [answer] = outcome.replies
    assert echoed in answer.text
