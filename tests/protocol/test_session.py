"""Tests for gateway.smpp.session: the sans-I/O ESME, driven with bytes and
plain float times, one test per row of the state table in its docstring.

Bytes the session must write are spelled out in hex; bytes the SMSC sends
are built with the codec, whose own tests pin them to the spec.
"""

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.smpp.codec import Pdu, Status, decode, encode
from gateway.smpp.session import (
    LATE_ANSWER_GRACE,
    BindRefused,
    Bound,
    EsmeSession,
    Event,
    LinkLost,
    MessageReceived,
    PduRejected,
    ResponseUnmatched,
    SessionError,
    State,
    SubmitAbandoned,
    SubmitAnswered,
    SubmitTimedOut,
    Unbound,
)

FAST = settings(max_examples=250, deadline=None)
INTERVAL = 30.0
TIMEOUT = 10.0

BIND_TRANSCEIVER_SEQ_1 = bytes.fromhex(
    "00000022 00000009 00000000 00000001"   # length 34, bind_transceiver, status 0, seq 1
    "6a6966656e00"                          # system_id "jifen"
    "73656372657400"                        # password "secret"
    "00"                                    # system_type ""
    "34 00 00"                              # interface_version 3.4, addr_ton, addr_npi
    "00"                                    # address_range ""
)

SUBMIT = dict(source_addr="JIFEN", destination_addr="8613800138000", short_message=b"ok")


def deliver_sm(sequence, text=b"BAL"):
    """A deliver_sm as the session reports it (every mandatory field present)."""
    return decode(encode(Pdu("deliver_sm", sequence, params=dict(
        source_addr="8613800138000", destination_addr="1234", short_message=text))))


def new_session(**overrides):
    options = dict(system_id="jifen", password="secret", enquire_link_interval=INTERVAL,
                   response_timeout=TIMEOUT, window=10, now=0.0)
    options.update(overrides)
    return EsmeSession(**options)


def bound_session(now=0.0, **overrides):
    session = new_session(now=now, **overrides)
    session.start(now)
    [bind] = sent(session)
    events = session.data_received(encode(bind.response(system_id="SMSC")), now)
    assert events == [Bound("SMSC")]
    return session


def sent(session):
    """What the session queued, as PDUs."""
    data = session.data_to_send()
    pdus = []
    while data:
        length = struct.unpack(">L", data[:4])[0]
        pdus.append(decode(data[:length]))
        data = data[length:]
    return pdus


# -- binding ----------------------------------------------------------------------

def test_start_queues_the_bind_and_waits_for_its_answer():
    session = new_session()
    session.start(0.0)
    assert session.data_to_send() == BIND_TRANSCEIVER_SEQ_1
    assert session.data_to_send() == b""            # handed over once
    assert session.state is State.BINDING
    assert session.next_deadline() == TIMEOUT
    assert session.submit_slots(0.0) == 0


@pytest.mark.parametrize("mode,command_id", [
    ("transmitter", 0x00000002), ("receiver", 0x00000001), ("transceiver", 0x00000009)])
def test_start_binds_in_the_configured_mode(mode, command_id):
    session = new_session(mode=mode)
    session.start(0.0)
    assert session.data_to_send()[4:8] == struct.pack(">L", command_id)


def test_start_twice_is_refused():
    session = new_session()
    session.start(0.0)
    with pytest.raises(SessionError):
        session.start(1.0)


def test_bind_accepted():
    session = new_session()
    session.start(0.0)
    session.data_to_send()
    events = session.data_received(bytes.fromhex(
        "00000015 80000009 00000000 00000001"   # bind_transceiver_resp, ok, seq 1
        "534d534300"), 0.5)                     # system_id "SMSC"
    assert events == [Bound("SMSC")]
    assert session.state is State.BOUND
    assert session.submit_slots(0.5) == 10
    assert session.data_to_send() == b""


def test_bind_refused():
    session = new_session()
    session.start(0.0)
    events = session.data_received(bytes.fromhex(
        "00000010 80000009 0000000e 00000001"), 0.5)   # ESME_RINVPASWD, no body
    assert events == [BindRefused(Status.INVALID_PASSWORD)]
    assert session.state is State.CLOSED
    assert session.next_deadline() is None


def test_bind_answered_with_generic_nack_is_refused():
    session = new_session()
    session.start(0.0)
    events = session.data_received(encode(Pdu("generic_nack", 1, Status.INVALID_COMMAND)), 0.5)
    assert events == [BindRefused(Status.INVALID_COMMAND)]
    assert session.state is State.CLOSED


def test_bind_unanswered_within_response_timeout():
    session = new_session()
    session.start(0.0)
    assert session.tick(TIMEOUT - 0.01) == []
    assert session.state is State.BINDING
    assert session.tick(TIMEOUT) == [BindRefused(None)]
    assert session.state is State.CLOSED
    assert session.tick(TIMEOUT + 100) == []        # only once


def test_answer_to_another_sequence_does_not_bind():
    session = new_session()
    session.start(0.0)
    events = session.data_received(
        encode(Pdu("bind_transceiver_resp", 7, params={"system_id": "SMSC"})), 0.5)
    assert events == [ResponseUnmatched("bind_transceiver_resp", 7, Status.OK)]
    assert session.state is State.BINDING


def test_answer_of_another_command_to_the_bind_sequence_does_not_bind():
    session = new_session()
    session.start(0.0)
    events = session.data_received(encode(Pdu("enquire_link_resp", 1)), 0.5)
    assert events == [ResponseUnmatched("enquire_link_resp", 1, Status.OK)]
    assert session.state is State.BINDING


def test_submit_before_bound_is_refused():
    session = new_session()
    session.start(0.0)
    with pytest.raises(SessionError):
        session.submit(SUBMIT, 0.0)


# -- submitting ---------------------------------------------------------------------

def test_submit_queues_a_submit_sm_with_the_next_sequence():
    session = bound_session()
    sequence = session.submit(SUBMIT, 1.0)
    assert sequence == 2
    [pdu] = sent(session)
    assert (pdu.command, pdu.sequence) == ("submit_sm", 2)
    assert pdu["destination_addr"] == "8613800138000"
    assert pdu["short_message"] == b"ok"
    assert session.in_flight == 1


def test_submit_answers_are_matched_by_sequence_out_of_order():
    session = bound_session()
    first = session.submit(SUBMIT, 1.0)
    second = session.submit(SUBMIT, 1.0)
    assert first != second
    events = session.data_received(
        encode(Pdu("submit_sm_resp", second, params={"message_id": "B"}))
        + encode(Pdu("submit_sm_resp", first, params={"message_id": "A"})), 2.0)
    assert events == [SubmitAnswered(second, Status.OK, "B"), SubmitAnswered(first, Status.OK, "A")]
    assert session.in_flight == 0


def test_submit_refused_by_the_smsc():
    session = bound_session()
    sequence = session.submit(SUBMIT, 1.0)
    events = session.data_received(
        encode(Pdu("submit_sm_resp", sequence, Status.INVALID_PASSWORD)), 2.0)
    assert events == [SubmitAnswered(sequence, Status.INVALID_PASSWORD, None)]
    assert session.submit_slots(2.0) == 10


@pytest.mark.parametrize("body", [
    b"",            # what SMPP 3.4 says an error response is: no body
    b"\0",          # what many SMSCs send: an empty message_id
])
def test_error_answer_with_no_body_or_an_empty_message_id_is_taken(body):
    session = bound_session()
    sequence = session.submit(SUBMIT, 1.0)
    session.data_to_send()
    header = struct.pack(">LLLL", 16 + len(body), 0x80000004, Status.SYSTEM_ERROR, sequence)
    assert session.data_received(header + body, 2.0) == [
        SubmitAnswered(sequence, Status.SYSTEM_ERROR, None)]
    assert session.data_to_send() == b""            # nothing to nack


def test_ok_answer_without_a_message_id_is_taken():
    session = bound_session()
    sequence = session.submit(SUBMIT, 1.0)
    header = struct.pack(">LLLL", 16, 0x80000004, Status.OK, sequence)
    assert session.data_received(header, 2.0) == [SubmitAnswered(sequence, Status.OK, None)]


def test_submit_answered_with_generic_nack():
    session = bound_session()
    sequence = session.submit(SUBMIT, 1.0)
    events = session.data_received(encode(Pdu("generic_nack", sequence, Status.INVALID_LENGTH)), 2.0)
    assert events == [SubmitAnswered(sequence, Status.INVALID_LENGTH, None)]
    assert session.in_flight == 0


def test_window_limits_submits_in_flight():
    session = bound_session(window=2)
    first = session.submit(SUBMIT, 1.0)
    assert session.submit_slots(1.0) == 1
    session.submit(SUBMIT, 1.0)
    assert session.submit_slots(1.0) == 0
    assert session.resume_at(1.0) is None           # only an answer opens the window
    assert session.in_flight == 2
    with pytest.raises(SessionError):
        session.submit(SUBMIT, 1.0)
    assert len(sent(session)) == 2                  # the refused one queued nothing
    session.data_received(encode(Pdu("submit_sm_resp", first, params={"message_id": "A"})), 2.0)
    assert session.submit_slots(2.0) == 1
    session.submit(SUBMIT, 2.0)


def test_submit_times_out_frees_its_slot_and_a_late_answer_within_the_grace_counts():
    session = bound_session(window=1)
    sequence = session.submit(SUBMIT, 5.0)
    session.data_to_send()
    assert session.next_deadline() == 5.0 + TIMEOUT
    assert session.tick(5.0 + TIMEOUT - 0.01) == []
    assert session.tick(5.0 + TIMEOUT) == [SubmitTimedOut(sequence)]
    assert session.in_flight == 0
    assert session.submit_slots(5.0 + TIMEOUT) == 1     # the window moves on
    late = session.data_received(
        encode(Pdu("submit_sm_resp", sequence, params={"message_id": "late"})), 20.0)
    assert late == [SubmitAnswered(sequence, Status.OK, "late", late=True)]
    assert session.data_to_send() == b""
    assert session.state is State.BOUND
    assert session.tick(1000.0) == []               # nothing left to abandon


def test_submit_unanswered_after_the_grace_is_abandoned_and_its_answer_then_unmatched():
    session = bound_session(enquire_link_interval=1000.0)
    sequence = session.submit(SUBMIT, 5.0)
    session.tick(5.0 + TIMEOUT)
    forget_at = 5.0 + TIMEOUT * (1 + LATE_ANSWER_GRACE)
    assert session.next_deadline() == forget_at
    assert session.tick(forget_at - 0.01) == []
    assert session.tick(forget_at) == [SubmitAbandoned(sequence)]
    assert session.longest_wait == forget_at - 5.0
    events = session.data_received(
        encode(Pdu("submit_sm_resp", sequence, params={"message_id": "too late"})), forget_at + 1)
    assert events == [ResponseUnmatched("submit_sm_resp", sequence, Status.OK)]
    assert session.state is State.BOUND


def test_sequence_numbers_wrap_within_the_spec_range():
    session = bound_session()
    session._sequence = 0x7FFFFFFE             # reach the top without 2**31 submits
    assert session.submit(SUBMIT, 1.0) == 0x7FFFFFFF
    assert session.submit(SUBMIT, 1.0) == 1


# -- keeping the link alive -----------------------------------------------------------

def test_enquire_link_after_idle_interval_and_link_lost_without_answer():
    session = bound_session(unbind_timeout=2.0)
    assert session.next_deadline() == INTERVAL
    assert session.tick(INTERVAL - 0.01) == []
    assert session.data_to_send() == b""
    assert session.tick(INTERVAL) == []
    assert session.data_to_send() == bytes.fromhex("00000010 00000015 00000000 00000002")
    assert session.next_deadline() == INTERVAL + TIMEOUT
    assert session.tick(INTERVAL + TIMEOUT - 0.01) == []
    assert session.state is State.BOUND
    [event] = session.tick(INTERVAL + TIMEOUT)
    assert isinstance(event, LinkLost)
    # Never close a bound link without an unbind: the SMSC would refuse the next bind.
    assert session.state is State.UNBINDING
    assert session.data_to_send() == bytes.fromhex("00000010 00000006 00000000 00000003")
    assert session.submit_slots(INTERVAL + TIMEOUT) == 0
    assert session.next_deadline() == INTERVAL + TIMEOUT + 2.0
    assert session.tick(INTERVAL + TIMEOUT + 2.0) == [Unbound(by_peer=False)]
    assert session.state is State.CLOSED
    assert session.next_deadline() is None


def test_link_lost_unbind_answered_closes_at_once_and_answers_to_submits_still_count():
    session = bound_session()
    session.tick(INTERVAL)                          # enquire_link, answer due at 40
    sequence = session.submit(SUBMIT, INTERVAL + 1)
    session.data_to_send()
    assert session.tick(INTERVAL + TIMEOUT) == [LinkLost("no answer to enquire_link")]
    [unbind] = sent(session)
    events = session.data_received(
        encode(Pdu("submit_sm_resp", sequence, params={"message_id": "7"}))
        + encode(unbind.response()), INTERVAL + TIMEOUT + 0.5)
    assert events == [SubmitAnswered(sequence, Status.OK, "7"), Unbound(by_peer=False)]
    assert session.state is State.CLOSED


def test_answered_enquire_link_keeps_the_link():
    session = bound_session()
    session.tick(INTERVAL)
    [enquire] = sent(session)
    assert session.data_received(encode(enquire.response()), INTERVAL + 1) == []
    assert session.tick(INTERVAL + TIMEOUT) == []
    assert session.state is State.BOUND
    assert session.next_deadline() == 2 * INTERVAL + 1


def test_any_traffic_postpones_the_enquire_link():
    session = bound_session()
    session.data_received(encode(Pdu("enquire_link", 77)), 20.0)
    session.data_to_send()
    assert session.tick(INTERVAL) == []
    assert session.data_to_send() == b""
    assert session.next_deadline() == 20.0 + INTERVAL


def test_next_deadline_is_in_the_future_after_tick():
    session = bound_session(enquire_link_interval=5.0, response_timeout=10.0)
    session.tick(5.0)                               # enquire_link sent, answer due at 15
    assert [p.command for p in sent(session)] == ["enquire_link"]
    session.tick(10.0)
    assert session.next_deadline() > 10.0


def test_incoming_enquire_link_is_answered_with_its_sequence():
    session = bound_session()
    events = session.data_received(bytes.fromhex("00000010 00000015 00000000 0000abcd"), 3.0)
    assert events == []
    assert session.data_to_send() == bytes.fromhex("00000010 80000015 00000000 0000abcd")


def test_enquire_link_is_answered_while_binding():
    session = new_session()
    session.start(0.0)
    session.data_to_send()
    session.data_received(encode(Pdu("enquire_link", 5)), 0.1)
    assert session.data_to_send() == encode(Pdu("enquire_link_resp", 5))


# -- unbinding -----------------------------------------------------------------------

def test_unbind_from_the_smsc():
    session = bound_session()
    events = session.data_received(bytes.fromhex("00000010 00000006 00000000 00000063"), 3.0)
    assert events == [Unbound(by_peer=True)]
    assert session.data_to_send() == bytes.fromhex("00000010 80000006 00000000 00000063")
    assert session.state is State.CLOSED


def test_our_unbind_then_its_answer():
    session = bound_session()
    session.unbind(3.0)
    assert session.data_to_send() == bytes.fromhex("00000010 00000006 00000000 00000002")
    assert session.state is State.UNBINDING
    assert session.submit_slots(3.0) == 0
    events = session.data_received(bytes.fromhex("00000010 80000006 00000000 00000002"), 4.0)
    assert events == [Unbound(by_peer=False)]
    assert session.state is State.CLOSED


def test_our_unbind_unanswered_closes_after_the_unbind_timeout():
    session = bound_session(unbind_timeout=2.0)
    session.unbind(3.0)
    assert session.tick(3.0 + 2.0 - 0.01) == []
    assert session.tick(3.0 + 2.0) == [Unbound(by_peer=False)]
    assert session.state is State.CLOSED


def test_unbind_while_unbinding_still_delivers_messages():
    session = bound_session()
    session.unbind(3.0)
    session.data_to_send()
    message = deliver_sm(40)
    assert session.data_received(encode(message), 3.5) == [MessageReceived(message)]


def test_unbind_before_bound_just_closes():
    session = new_session()
    session.start(0.0)
    session.data_to_send()
    session.unbind(0.5)
    assert session.state is State.CLOSED
    assert session.data_to_send() == b""


# -- what the SMSC sends ----------------------------------------------------------------

def test_deliver_sm_is_reported_and_acknowledged_on_request():
    session = bound_session()
    message = deliver_sm(0x1234)
    events = session.data_received(encode(message), 3.0)
    assert events == [MessageReceived(message)]
    assert session.data_to_send() == b""            # no answer before the application's
    session.acknowledge(message)
    assert session.data_to_send() == bytes.fromhex(
        "00000011 80000005 00000000 00001234 00")   # deliver_sm_resp, message_id NULL


def test_deliver_sm_refused_by_the_application():
    session = bound_session()
    message = deliver_sm(0x1234)
    session.data_received(encode(message), 3.0)
    session.acknowledge(message, Status.TEMPORARY_APP_ERROR)
    assert session.data_to_send() == bytes.fromhex("00000010 80000005 00000064 00001234")


def test_deliver_sm_before_bound_is_refused_with_incorrect_bind_status():
    session = new_session()
    session.start(0.0)
    session.data_to_send()
    events = session.data_received(encode(deliver_sm(8)), 0.1)
    assert events == []
    assert session.data_to_send() == bytes.fromhex("00000010 80000005 00000004 00000008")


def test_unknown_command_id_is_answered_with_generic_nack():
    session = bound_session()
    events = session.data_received(bytes.fromhex("00000010 000000ff 00000000 00000042"), 3.0)
    assert [type(event) for event in events] == [PduRejected]
    assert events[0].status == Status.INVALID_COMMAND
    assert session.data_to_send() == bytes.fromhex("00000010 80000000 00000003 00000042")
    assert session.state is State.BOUND


def test_unreadable_body_is_answered_with_generic_nack_and_the_session_goes_on():
    session = bound_session()
    broken = bytes.fromhex("00000014 00000005 00000000 00000042 61626364")   # no NUL
    events = session.data_received(broken + encode(deliver_sm(43)), 3.0)
    assert [type(event) for event in events] == [PduRejected, MessageReceived]
    assert session.data_to_send() == bytes.fromhex("00000010 80000000 00000002 00000042")


def test_request_we_do_not_serve_is_answered_with_generic_nack():
    session = bound_session()
    events = session.data_received(encode(Pdu("submit_sm", 9, params=SUBMIT)), 3.0)
    assert [type(event) for event in events] == [PduRejected]
    assert session.data_to_send() == bytes.fromhex("00000010 80000000 00000003 00000009")


def test_absurd_command_length_loses_the_link():
    session = bound_session()
    message = deliver_sm(5)
    events = session.data_received(encode(message) + bytes.fromhex("ffffffff 00000005"), 3.0)
    assert events[0] == MessageReceived(message)    # what came before still counts
    assert [type(event) for event in events[1:]] == [LinkLost]
    assert session.state is State.CLOSED
    assert session.data_received(encode(deliver_sm(6)), 4.0) == []


def test_bytes_one_at_a_time_give_the_same_events_and_answers():
    stream = b"".join([
        encode(Pdu("bind_transceiver_resp", 1, params={"system_id": "SMSC"})),
        encode(deliver_sm(100)),
        encode(Pdu("enquire_link", 101)),
        bytes.fromhex("00000010 000000ff 00000000 00000066"),
        encode(deliver_sm(102, "余额".encode("utf-16-be"))),
        encode(Pdu("unbind", 103)),
    ])

    def run(chunks):
        session = new_session()
        session.start(0.0)
        session.data_to_send()
        events = []
        for chunk in chunks:
            events += session.data_received(chunk, 1.0)
        return events, session.data_to_send(), session.state

    at_once = run([stream])
    one_by_one = run([stream[i:i + 1] for i in range(len(stream))])
    assert one_by_one == at_once
    assert [type(event) for event in at_once[0]] == [
        Bound, MessageReceived, PduRejected, MessageReceived, Unbound]
    assert at_once[2] is State.CLOSED


# -- the fuzz contract -------------------------------------------------------------------

COMMAND_IDS = [0x80000009, 0x00000004, 0x80000004, 0x00000005, 0x80000005, 0x00000015,
               0x80000015, 0x80000000, 0x00000006, 0x80000006, 0x00000102, 0x00000103]


@st.composite
def frames(draw):
    """One chunk of what an SMSC might send: raw bytes or a framed PDU with a
    real command_id, any status, a sequence near ours, and any body."""
    if draw(st.integers(0, 4)) == 0:
        return draw(st.binary(max_size=40))
    body = draw(st.binary(max_size=60))
    command_id = draw(st.sampled_from(COMMAND_IDS) | st.integers(0, 0xFFFFFFFF))
    status = draw(st.sampled_from([0, 0x58]) | st.integers(0, 0xFFFFFFFF))
    sequence = draw(st.integers(0, 6) | st.integers(0, 0xFFFFFFFF))
    return struct.pack(">LLLL", 16 + len(body), command_id, status, sequence) + body


VALID_STREAM = [
    encode(deliver_sm(100)),
    encode(Pdu("submit_sm_resp", 2, params={"message_id": "A1"})),
    encode(Pdu("submit_sm_resp", 3, Status.THROTTLED)),
    encode(Pdu("enquire_link", 101)),
    encode(Pdu("enquire_link_resp", 4)),
    encode(Pdu("generic_nack", 4, Status.INVALID_COMMAND)),
    encode(deliver_sm(102, "余额".encode("utf-16-be"))),
    encode(Pdu("unbind", 103)),
]


@st.composite
def mutated(draw):
    """Real SMSC traffic with a few bytes flipped, cut, doubled or inserted."""
    data = bytearray(b"".join(draw(st.lists(st.sampled_from(VALID_STREAM), min_size=1,
                                            max_size=6))))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["flip", "cut", "insert", "repeat"]))
        if kind == "flip" and at < len(data):
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "cut":
            del data[at:at + draw(st.integers(1, 8))]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        else:
            data[at:at] = data[at:at + draw(st.integers(1, 20))]
    return bytes(data)


def chunked(draw, data):
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=4)))
    return [data[a:b] for a, b in zip([0] + cuts, cuts + [len(data)])]


WRITTEN = {"generic_nack", "enquire_link_resp", "unbind_resp", "enquire_link", "unbind"}


def check_the_contract(chunks, submits):
    """For any bytes: only events come out, only well-formed PDUs go back, and the
    session ends up usable or cleanly closed, never stuck half-way."""
    session = bound_session(window=10)
    for _ in range(submits):
        session.submit(SUBMIT, 0.0)
    session.data_to_send()
    events = []
    for now, chunk in enumerate(chunks, start=1):
        events += session.data_received(chunk, float(now))
        events += session.tick(float(now))
    while session.state is State.UNBINDING:         # an unbind under way finishes in time
        events += session.tick(session.next_deadline())
    assert all(isinstance(event, Event) for event in events)
    for pdu in sent(session):                       # whatever it wrote is well-formed
        assert pdu.command in WRITTEN
    assert session.state in (State.BOUND, State.CLOSED)
    if session.state is State.CLOSED:
        assert session.next_deadline() is None
        assert session.data_received(encode(deliver_sm(9)), 20.0) == []
        assert session.submit_slots(20.0) == 0
    else:                                           # a throttling pause is over by then
        assert session.submit_slots(20.0) >= 10 - submits
        session.submit(SUBMIT, 20.0)
        assert [pdu.command for pdu in sent(session)] == ["submit_sm"]


@FAST
@given(st.lists(frames(), max_size=8), st.integers(0, 3))
def test_any_bytes_give_only_events_and_leave_a_usable_or_closed_session(chunks, submits):
    check_the_contract(chunks, submits)


@FAST
@given(st.data(), mutated(), st.integers(0, 3))
def test_mutated_smsc_traffic_gives_only_events_and_a_usable_or_closed_session(
        data, stream, submits):
    check_the_contract(chunked(data.draw, stream), submits)
