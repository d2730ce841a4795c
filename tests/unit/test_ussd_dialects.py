"""USSD dialects: hand-checked deliver_sm bytes in, events out; replies out as submit_sm bytes.

The hex was written field by field from SMPP 3.4 (section 4.6.1 deliver_sm, 4.4.1 submit_sm,
5.3.2.43 its_session_info, 5.3.2.44 ussd_service_op) and each vendor's convention as docs/ussd.md
states it, not produced by the code under test. The test decodes it with the real codec, as the
gateway will, and hands the plain parameters to the dialect; replies go the other way through
`codec.encode`. Then the refusals: every op code or session field a dialect cannot read raises
UssdError, and nothing else does (a property over arbitrary parameters).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_codec import h  # hex with spaces and # comments, as the codec's fixtures are written

from gateway.smpp import text
from gateway.smpp.codec import Pdu, decode, encode
from gateway.ussd.dialects import (
    DIALECTS,
    Dialect,
    Dialogue15Dialect,
    Smpp5Dialect,
    UmrDialect,
    UssdError,
    UssdEvent,
    UssdSession,
    dialect,
)

FAST = settings(max_examples=300, deadline=None)


def text_decode(payload: bytes, data_coding: int) -> str:
    return text.decode(payload, data_coding)


def text_encode(value: str) -> tuple[int, bytes]:
    encoded = text.encode(value)
    return encoded.data_coding, encoded.payload


def make(name: str) -> Dialect:
    return dialect(name, text_decode, text_encode)


# deliver_sm from 254712345678 to the service "123"; the part that differs per fixture is given.
_HEAD = """
    55 53 53 44 00              # service_type "USSD" NUL
    01 01                       # source_addr_ton 1 (international), source_addr_npi 1 (E.164)
    32 35 34 37 31 32 33 34 35 36 37 38 00
                                # source_addr "254712345678" NUL
    00 00                       # dest_addr_ton, dest_addr_npi
    31 32 33 00                 # destination_addr "123" NUL
    00 00 00                    # esm_class, protocol_id, priority_flag
    00 00                       # schedule_delivery_time "", validity_period ""
    00 00 00 00                 # registered_delivery, replace_if_present, data_coding 0, sm_default_msg_id
"""


def deliver_sm(length: str, rest: str) -> bytes:
    return h(f"""
        {length}                # command_length
        00000005                # command_id deliver_sm
        00000000                # command_status
        00000007                # sequence_number 7
        {_HEAD}
        {rest}
    """)


# --- smpp5: its_session_info = session number (high octet), sequence << 1 | end (low octet) -----

SMPP5_BEGIN = deliver_sm("00000044", """    # 68 = 16 + 52
    05 2a 31 32 33 23           # sm_length 5, "*123#"
    1383 0002 11 00             # its_session_info: session 0x11 = 17, sequence 0, end 0
    0501 0001 01                # ussd_service_op 1: PSSR indication
""")
SMPP5_CONTINUE = deliver_sm("00000040", """    # 64 = 16 + 48
    01 32                       # sm_length 1, "2"
    1383 0002 11 02             # session 17, sequence 1, end 0
    0501 0001 12                # ussd_service_op 18: USSR confirm
""")
SMPP5_END = deliver_sm("0000003f", """    # 63 = 16 + 47
    00                          # sm_length 0
    1383 0002 11 05             # session 17, sequence 2, end 1
    0501 0001 13                # ussd_service_op 19: USSN confirm
""")
SMPP5_ABORT = deliver_sm("0000003f", """    # 63
    00                          # sm_length 0
    1383 0002 11 05             # session 17, sequence 2, end 1: released instead of answering
    0501 0001 12                # ussd_service_op 18: USSR confirm
""")

# --- umr: the session id in user_message_reference ----------------------------------------------

UMR_BEGIN = deliver_sm("00000044", """    # 68
    05 2a 31 32 33 23           # sm_length 5, "*123#"
    0204 0002 12 34             # user_message_reference 0x1234 = 4660
    0501 0001 01                # ussd_service_op 1: PSSR indication
""")
UMR_CONTINUE = deliver_sm("00000040", """    # 64
    01 32                       # sm_length 1, "2"
    0204 0002 12 34             # user_message_reference 4660
    0501 0001 12                # ussd_service_op 18: USSR confirm
""")
UMR_END = deliver_sm("0000003f", """    # 63
    00                          # sm_length 0
    0204 0002 12 34             # user_message_reference 4660
    0501 0001 11                # ussd_service_op 17: PSSR response, the network closed the session
""")
UMR_ABORT = deliver_sm("0000003f", """    # 63
    00                          # sm_length 0
    0204 0002 12 34             # user_message_reference 4660
    0501 0001 20                # ussd_service_op 32: the vendor's abort
""")

# --- dialogue15: its_session_info = dialogue id << 1 | end --------------------------------------

D15_BEGIN = deliver_sm("00000044", """    # 68
    05 2a 31 32 33 23           # sm_length 5, "*123#"
    1383 0002 24 68             # its_session_info 0x2468: dialogue 0x1234 = 4660, end 0
    0501 0001 01                # ussd_service_op 1
""")
D15_CONTINUE = deliver_sm("00000040", """    # 64
    01 32                       # sm_length 1, "2"
    1383 0002 24 68             # dialogue 4660, end 0
    0501 0001 12                # ussd_service_op 18
""")
D15_END = deliver_sm("0000003f", """    # 63
    00                          # sm_length 0
    1383 0002 24 69             # dialogue 4660, end 1
    0501 0001 11                # ussd_service_op 17: PSSR response
""")
D15_ABORT = deliver_sm("0000003f", """    # 63
    00                          # sm_length 0
    1383 0002 24 68             # dialogue 4660, end 0
    0501 0001 81                # ussd_service_op 0x81: the vendor's user abort
""")

INBOUND = [
    ("smpp5", SMPP5_BEGIN, "begin", "17", "*123#", {"session_number": 17, "sequence": 0}),
    ("smpp5", SMPP5_CONTINUE, "continue", "17", "2", {"session_number": 17, "sequence": 1}),
    ("smpp5", SMPP5_END, "end", "17", "", {"session_number": 17, "sequence": 2}),
    ("smpp5", SMPP5_ABORT, "abort", "17", "", {"session_number": 17, "sequence": 2}),
    ("umr", UMR_BEGIN, "begin", "4660", "*123#", {"user_message_reference": 4660}),
    ("umr", UMR_CONTINUE, "continue", "4660", "2", {"user_message_reference": 4660}),
    ("umr", UMR_END, "end", "4660", "", {"user_message_reference": 4660}),
    ("umr", UMR_ABORT, "abort", "4660", "", {"user_message_reference": 4660}),
    ("dialogue15", D15_BEGIN, "begin", "4660", "*123#", {"dialogue": 4660}),
    ("dialogue15", D15_CONTINUE, "continue", "4660", "2", {"dialogue": 4660}),
    ("dialogue15", D15_END, "end", "4660", "", {"dialogue": 4660}),
    ("dialogue15", D15_ABORT, "abort", "4660", "", {"dialogue": 4660}),
]


@pytest.mark.parametrize("name, raw, kind, key, typed, info", INBOUND,
                         ids=[f"{row[0]}-{row[2]}" for row in INBOUND])
def test_each_dialect_reads_begin_continue_end_and_abort(name, raw, kind, key, typed, info):
    pdu = decode(raw)
    assert pdu.command == "deliver_sm"
    event = make(name).parse(pdu.params)
    assert event == UssdEvent(kind, UssdSession(name, "254712345678", "123", key, info), typed)
    assert event.session_key == key


def submit_sm(sequence: int, params: dict) -> bytes:
    """The reply as the sender will send it: the dialect's fields over zeroed mandatory ones."""
    base = dict(source_addr_ton=0, source_addr_npi=0, dest_addr_ton=1, dest_addr_npi=1, esm_class=0,
                protocol_id=0, priority_flag=0, schedule_delivery_time="", validity_period="",
                registered_delivery=0, replace_if_present_flag=0, sm_default_msg_id=0)
    return encode(Pdu("submit_sm", sequence, params={**base, **params}))


_SUBMIT_HEAD = """
    00000004                    # command_id submit_sm
    00000000                    # command_status
    00000002                    # sequence_number 2
    55 53 53 44 00              # service_type "USSD" NUL
    00 00                       # source_addr_ton, source_addr_npi
    31 32 33 00                 # source_addr "123": answered from the service the phone dialled
    01 01                       # dest_addr_ton 1, dest_addr_npi 1
    32 35 34 37 31 32 33 34 35 36 37 38 00
                                # destination_addr "254712345678" NUL
    00 00 00 00 00 00 00        # esm_class .. replace_if_present_flag
    00 00                       # data_coding 0 (GSM-7), sm_default_msg_id
"""

SMPP5_REPLY_CONTINUE = h(f"""
    00000049                    # command_length 73 = 16 + 57
    {_SUBMIT_HEAD}
    0a 31 20 59 65 73 0a 32 20 4e 6f
                                # sm_length 10, "1 Yes\\n2 No" (GSM-7 unpacked)
    1383 0002 11 04             # its_session_info: session 17, sequence 2 (after the phone's 1), end 0
    0501 0001 02                # ussd_service_op 2: USSR request, show and wait
""")
SMPP5_REPLY_END = h(f"""
    00000045                    # command_length 69 = 16 + 53
    {_SUBMIT_HEAD}
    06 54 68 61 6e 6b 73        # sm_length 6, "Thanks"
    1383 0002 11 05             # session 17, sequence 2, end 1
    0501 0001 11                # ussd_service_op 17: PSSR response, show and close
""")
UMR_REPLY_CONTINUE = h(f"""
    00000049                    # command_length 73
    {_SUBMIT_HEAD}
    0a 31 20 59 65 73 0a 32 20 4e 6f
    0204 0002 12 34             # user_message_reference 4660, echoed
    0501 0001 02                # ussd_service_op 2
""")
UMR_REPLY_END = h(f"""
    00000045                    # command_length 69
    {_SUBMIT_HEAD}
    06 54 68 61 6e 6b 73        # "Thanks"
    0204 0002 12 34             # user_message_reference 4660
    0501 0001 11                # ussd_service_op 17
""")
D15_REPLY_CONTINUE = h(f"""
    00000049                    # command_length 73
    {_SUBMIT_HEAD}
    0a 31 20 59 65 73 0a 32 20 4e 6f
    1383 0002 24 68             # its_session_info: dialogue 4660, end 0
    0501 0001 02                # ussd_service_op 2
""")
D15_REPLY_END = h(f"""
    00000045                    # command_length 69
    {_SUBMIT_HEAD}
    06 54 68 61 6e 6b 73        # "Thanks"
    1383 0002 24 69             # dialogue 4660, end 1
    0501 0001 11                # ussd_service_op 17
""")

OUTBOUND = [
    ("smpp5", SMPP5_CONTINUE, SMPP5_REPLY_CONTINUE, SMPP5_REPLY_END),
    ("umr", UMR_CONTINUE, UMR_REPLY_CONTINUE, UMR_REPLY_END),
    ("dialogue15", D15_CONTINUE, D15_REPLY_CONTINUE, D15_REPLY_END),
]


@pytest.mark.parametrize("name, inbound, to_continue, to_end", OUTBOUND, ids=[row[0] for row in OUTBOUND])
def test_each_dialect_answers_to_continue_and_to_end(name, inbound, to_continue, to_end):
    chosen = make(name)
    session = chosen.parse(decode(inbound).params).session
    assert submit_sm(2, chosen.reply(session, "1 Yes\n2 No", end=False)) == to_continue
    assert submit_sm(2, chosen.reply(session, "Thanks", end=True)) == to_end


def test_a_reply_in_chinese_goes_as_ucs2():
    chosen = make("smpp5")
    session = chosen.parse(decode(SMPP5_BEGIN).params).session
    params = chosen.reply(session, "余额", end=True)
    assert (params["data_coding"], params["short_message"]) == (8, bytes.fromhex("4f59989d"))


def test_a_stored_session_answers_like_the_live_one():
    chosen = make("dialogue15")
    session = chosen.parse(decode(D15_CONTINUE).params).session
    stored = UssdSession.from_dict(session.to_dict())
    assert chosen.reply(stored, "x", end=True) == chosen.reply(session, "x", end=True)


@pytest.mark.parametrize("bad", [None, "x", {"dialect": "smpp5"},
                                 {**UssdSession("a", "b", "c", "d").to_dict(), "info": {"n": -1}}])
def test_a_malformed_stored_session_is_a_ussd_error(bad):
    with pytest.raises(UssdError):
        UssdSession.from_dict(bad)


def test_a_session_is_answered_only_in_its_own_dialect():
    session = make("umr").parse(decode(UMR_BEGIN).params).session
    with pytest.raises(UssdError, match="umr session cannot be answered in the smpp5 dialect"):
        make("smpp5").reply(session, "x", end=True)


# --- network-initiated push ---------------------------------------------------------------------

SMPP5_PUSH = h(f"""
    00000049                    # command_length 73
    {_SUBMIT_HEAD}
    0a 31 20 59 65 73 0a 32 20 4e 6f
    1383 0002 2a 00             # its_session_info: session 42 chosen by the gateway, sequence 0, end 0
    0501 0001 02                # ussd_service_op 2: USSR request to a phone not in a session
""")
D15_PUSH = h(f"""
    00000049                    # command_length 73
    {_SUBMIT_HEAD}
    0a 31 20 59 65 73 0a 32 20 4e 6f
    1383 0002 00 54             # its_session_info: dialogue 42, end 0
    0501 0001 02                # ussd_service_op 2
""")


@pytest.mark.parametrize("name, expected", [("smpp5", SMPP5_PUSH), ("dialogue15", D15_PUSH)])
def test_a_dialect_that_can_push_starts_a_session_towards_a_phone(name, expected):
    chosen = make(name)
    session, params = chosen.push("254712345678", "123", "1 Yes\n2 No", 42)
    assert submit_sm(2, params) == expected
    assert (session.msisdn, session.key) == ("254712345678", "42")


def test_the_phones_answer_to_a_push_continues_the_pushed_session():
    chosen = make("smpp5")
    pushed, _ = chosen.push("254712345678", "123", "1 Yes\n2 No", 17)
    answer = chosen.parse(decode(SMPP5_CONTINUE).params)
    assert (answer.kind, answer.session.key) == ("continue", pushed.key)


def test_push_where_the_dialect_cannot_is_a_clear_error():
    with pytest.raises(UssdError, match="umr dialect cannot start a session.*SMS"):
        make("umr").push("254712345678", "123", "hello", 1)


@pytest.mark.parametrize("name, number", [("smpp5", 256), ("smpp5", -1), ("dialogue15", 1 << 15),
                                          ("dialogue15", "7")])
def test_push_refuses_a_session_number_the_dialect_cannot_carry(name, number):
    with pytest.raises(UssdError, match="session number"):
        make(name).push("254712345678", "123", "hello", number)


# --- refusals -----------------------------------------------------------------------------------

def params_of(raw: bytes, **changes) -> dict:
    params = dict(decode(raw).params)
    params.update(changes)
    return {key: value for key, value in params.items() if value is not None}


@pytest.mark.parametrize("name, raw, changes, message", [
    ("smpp5", SMPP5_BEGIN, {"ussd_service_op": None}, "no ussd_service_op: not a USSD message"),
    ("smpp5", SMPP5_BEGIN, {"ussd_service_op": 2}, r"2 \(USSR request\) is sent to phones"),
    ("smpp5", SMPP5_BEGIN, {"ussd_service_op": 17}, r"17 \(PSSR response\) is sent to phones"),
    ("smpp5", SMPP5_BEGIN, {"ussd_service_op": 0}, "USSD phase 1"),
    ("smpp5", SMPP5_BEGIN, {"ussd_service_op": 7}, "reserved"),
    ("smpp5", SMPP5_BEGIN, {"ussd_service_op": 0x81}, "vendor code the smpp5 dialect does not know"),
    ("smpp5", SMPP5_BEGIN, {"ussd_service_op": 300}, "not an octet"),
    ("smpp5", SMPP5_BEGIN, {"source_addr": ""}, "no source_addr"),
    ("smpp5", SMPP5_BEGIN, {"data_coding": 0x04}, "cannot be decoded"),  # 8-bit binary
    ("umr", UMR_BEGIN, {"user_message_reference": None}, "user_message_reference missing"),
    ("umr", UMR_BEGIN, {"ussd_service_op": 0x81}, "vendor code the umr dialect does not know"),
    ("dialogue15", D15_BEGIN, {"its_session_info": None}, "its_session_info missing"),
    ("dialogue15", D15_BEGIN, {"its_session_info": "0x2468"}, "its_session_info '0x2468'"),
])
def test_what_a_dialect_cannot_read_is_one_clear_error(name, raw, changes, message):
    with pytest.raises(UssdError, match=message):
        make(name).parse(params_of(raw, **changes))


def test_smpp5_without_its_session_info_is_session_zero():
    event = make("smpp5").parse(params_of(SMPP5_BEGIN, its_session_info=None))
    assert (event.kind, event.session.key) == ("begin", "0")


def test_unknown_dialect_names_the_known_ones():
    with pytest.raises(ValueError, match="unknown USSD dialect 'mica' .known: smpp5, umr, dialogue15"):
        dialect("mica", text_decode, text_encode)
    assert set(DIALECTS) == {"smpp5", "umr", "dialogue15"}
    assert [Smpp5Dialect.pushes, UmrDialect.pushes, Dialogue15Dialect.pushes] == [True, False, True]


_VALUES = st.one_of(st.none(), st.integers(-5, 70000), st.text(max_size=8), st.binary(max_size=8),
                    st.booleans())


@FAST
@given(name=st.sampled_from(sorted(DIALECTS)),
       params=st.dictionaries(st.sampled_from(["ussd_service_op", "its_session_info",
                                               "user_message_reference", "source_addr",
                                               "destination_addr", "short_message", "message_payload",
                                               "data_coding"]), _VALUES))
def test_any_parameters_give_an_event_or_a_ussd_error(name, params):
    try:
        event = make(name).parse(params)
    except UssdError:
        return
    assert event.kind in ("begin", "continue", "end", "abort")
