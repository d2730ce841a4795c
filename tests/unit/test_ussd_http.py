"""http.py: the aggregator's callback form in, CON/END answers out."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.ussd.http import MAX_BODY, Callback, CallbackError, parse_form, render_answer

FAST = settings(max_examples=300, deadline=None)
FORM = {"sessionId": "ATUid_0f1e2d3c4b5a", "serviceCode": "*384*123#", "phoneNumber": "+254712345678",
        "networkCode": "63902", "text": ""}


def body(**changes) -> bytes:
    fields = {**FORM, **changes}
    return urlencode({k: v for k, v in fields.items() if v is not None}).encode()


def test_the_first_request_has_no_answer_yet():
    callback = parse_form(body())
    assert callback == Callback("ATUid_0f1e2d3c4b5a", "*384*123#", "+254712345678", "")
    assert callback.latest() is None and callback.latest(None) is None


@pytest.mark.parametrize("text, seen, latest", [
    ("1", "", "1"),                  # the first answer
    ("1*2", "1", "2"),
    ("1*", "1", ""),                 # sent without typing anything
    ("1*2*3", "1", "2*3"),           # the answer itself has a star in it
    ("1*RICE5", None, "RICE5"),      # without what was seen: the last part is the best guess
    ("3", "1*2", "3"),               # the aggregator started the text again
    ("1", None, "1"),                # dialled with a shortcut (*384*123*1#)
])
def test_the_latest_answer_is_what_came_after_the_text_seen_before(text, seen, latest):
    assert parse_form(body(text=text)).latest(seen) == latest


def test_a_repeated_step_is_recognised():
    callback = parse_form(body(text="1*2"))
    assert callback.repeats("1*2") and not callback.repeats("1") and not callback.repeats(None)


def test_unicode_answers_and_a_charset_in_the_content_type_are_fine():
    callback = parse_form(body(text="1*余额"), "application/x-www-form-urlencoded; charset=UTF-8")
    assert callback.latest("1") == "余额"


@pytest.mark.parametrize("changes, reason", [
    ({"sessionId": None}, "missing field sessionId"),
    ({"serviceCode": None}, "missing field serviceCode"),
    ({"phoneNumber": None}, "missing field phoneNumber"),
    ({"text": None}, "missing field text"),
    ({"sessionId": ""}, "field sessionId must be 1 to 128"),
    ({"sessionId": "a b"}, "field sessionId must be"),
    ({"phoneNumber": "not a number"}, "field phoneNumber must be a phone number"),
    ({"serviceCode": "*123#; DROP"}, "field serviceCode must be a USSD code"),
    ({"text": "1\x00"}, "field text must be the answers so far"),
    ({"text": "1" * 1001}, "field text must be the answers so far, at most 1000 characters"),
])
def test_a_missing_or_malformed_field_is_a_400_naming_it(changes, reason):
    with pytest.raises(CallbackError) as raised:
        parse_form(body(**changes))
    assert raised.value.status == 400 and raised.value.reason.startswith(reason)


@pytest.mark.parametrize("raw, reason", [
    (b"\xff\xfe", "the body is not a UTF-8 urlencoded form"),
    (b"sessionId", "the body is not a UTF-8 urlencoded form"),
    (b"text=%ff", "the body is not a UTF-8 urlencoded form"),
    (b"&".join([b"a=1"] * 40), "the body is not a UTF-8 urlencoded form"),
    (body() + b"&sessionId=other", "field sessionId is given twice"),
    (b"", "missing field sessionId"),
])
def test_a_body_that_is_not_the_form_is_a_400(raw, reason):
    with pytest.raises(CallbackError) as raised:
        parse_form(raw)
    assert (raised.value.status, raised.value.reason) == (400, reason)


def test_an_oversize_body_is_a_413_before_it_is_read():
    with pytest.raises(CallbackError) as raised:
        parse_form(body(text="1" * 900) + b"&pad=" + b"x" * MAX_BODY)
    assert raised.value.status == 413 and "over the limit of 4096" in raised.value.reason
    with pytest.raises(CallbackError, match="413"):
        parse_form(body(), max_body=50)


def test_a_body_that_is_not_a_form_at_all_is_a_415():
    with pytest.raises(CallbackError) as raised:
        parse_form(b'{"sessionId": "x"}', "application/json")
    assert raised.value.status == 415


def test_answers_begin_with_con_or_end():
    assert render_answer("Jifen Rewards\n1 My balance", end=False) == b"CON Jifen Rewards\n1 My balance"
    assert render_answer("积分余额：1,350分。", end=True) == "END 积分余额：1,350分。".encode()
    assert render_answer("a\r\nb", end=True) == b"END a\nb"


@FAST
@given(st.binary(max_size=600) | st.text(max_size=300).map(str.encode))
def test_any_body_gives_a_callback_or_a_callback_error(raw):
    try:
        callback = parse_form(raw)
    except CallbackError as error:
        assert error.status in (400, 413) and "\n" not in error.reason
        return
    assert isinstance(callback.latest(), (str, type(None)))
