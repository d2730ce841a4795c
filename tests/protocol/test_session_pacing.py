"""How fast the session lets the application submit: window, TPS cap, throttling pauses,
and which binds may submit at all.  Plain float times, as in test_session.py."""

import pytest

from gateway.smpp.codec import Pdu, Status, encode
from gateway.smpp.session import (
    LinkLost, SendingPaused, SessionError, State, SubmitAnswered, Unbound,
)

from test_session import SUBMIT, bound_session, sent


def answer(session, sequence, status=Status.OK, now=0.0):
    params = {"message_id": f"M{sequence}"} if status == Status.OK else {}
    return session.data_received(encode(Pdu("submit_sm_resp", sequence, status, params)), now)


def submit_all(session, now):
    """Submit as many as the session allows at `now`; their sequences."""
    sequences = [session.submit(SUBMIT, now) for _ in range(session.submit_slots(now))]
    session.data_to_send()
    return sequences


# -- TPS cap ------------------------------------------------------------------------------

def test_tps_caps_submits_per_second_whatever_the_window():
    session = bound_session(window=1000, tps=50)
    sent_at = []
    for step in range(301):                         # three seconds in steps of 10 ms
        now = step / 100
        for sequence in submit_all(session, now):
            sent_at.append(now)
            answer(session, sequence, now=now)      # answered at once: only the cap limits
    assert sent_at[:5] == [0.0] * 5                 # a tenth of a second's worth at once
    for start in (0.0, 0.5, 1.0, 1.7, 2.0):
        in_a_second = [t for t in sent_at if start <= t < start + 1.0]
        assert len(in_a_second) <= 50 + 5
    assert len(sent_at) == pytest.approx(5 + 50 * 3, abs=1)


def test_resume_at_says_when_the_next_token_comes():
    session = bound_session(window=10, tps=2)       # a token every half second, one at once
    [sequence] = submit_all(session, 1.0)
    assert session.submit_slots(1.0) == 0
    assert session.resume_at(1.0) == pytest.approx(1.5)
    with pytest.raises(SessionError):
        session.submit(SUBMIT, 1.2)
    assert session.submit_slots(1.5) == 1
    answer(session, sequence, now=1.5)


def test_no_tps_means_only_the_window_limits():
    session = bound_session(window=3)
    assert len(submit_all(session, 0.0)) == 3
    assert session.submit_slots(0.0) == 0 and session.resume_at(0.0) is None


# -- throttling -----------------------------------------------------------------------------

def test_throttled_answer_pauses_sending_then_it_resumes():
    session = bound_session(throttle_delay=1.0, throttle_max_delay=30.0)
    first, second = session.submit(SUBMIT, 0.0), session.submit(SUBMIT, 0.0)
    events = answer(session, first, Status.THROTTLED, now=2.0)
    assert events == [SubmitAnswered(first, Status.THROTTLED, None), SendingPaused(0x58, 3.0)]
    assert session.submit_slots(2.5) == 0
    assert session.resume_at(2.5) == 3.0
    # The other one sent before the pause comes back throttled too: no longer pause.
    assert answer(session, second, Status.THROTTLED, now=2.1) == [
        SubmitAnswered(second, Status.THROTTLED, None)]
    assert session.submit_slots(3.0) == 10
    assert session.state is State.BOUND


@pytest.mark.parametrize("status", [Status.THROTTLED, Status.QUEUE_FULL])
def test_throttling_that_goes_on_doubles_the_pause_up_to_the_limit(status):
    session = bound_session(throttle_delay=1.0, throttle_max_delay=5.0)
    now, pauses = 0.0, []
    for _ in range(5):
        sequence = session.submit(SUBMIT, now)
        [_, paused] = answer(session, sequence, status, now=now)
        pauses.append(paused.until - now)
        now = paused.until
    assert pauses == [1.0, 2.0, 4.0, 5.0, 5.0]
    sequence = session.submit(SUBMIT, now)
    answer(session, sequence, now=now)              # taken: the next throttle starts over
    sequence = session.submit(SUBMIT, now)
    [_, paused] = answer(session, sequence, status, now=now)
    assert paused.until - now == 1.0


def test_other_errors_do_not_pause():
    session = bound_session()
    sequence = session.submit(SUBMIT, 0.0)
    assert answer(session, sequence, Status.SYSTEM_ERROR, now=1.0) == [
        SubmitAnswered(sequence, Status.SYSTEM_ERROR, None)]
    assert session.submit_slots(1.0) == 10


# -- who may submit ----------------------------------------------------------------------------

def test_a_receiver_bind_never_submits():
    session = bound_session(mode="receiver")
    assert session.state is State.BOUND
    assert session.submit_slots(1.0) == 0 and session.resume_at(1.0) is None
    with pytest.raises(SessionError):
        session.submit(SUBMIT, 1.0)


def test_a_transmitter_bind_submits():
    assert bound_session(mode="transmitter").submit_slots(1.0) == 10


# -- goodbyes --------------------------------------------------------------------------------------

def test_lost_framing_still_says_unbind_before_closing():
    session = bound_session()
    events = session.data_received(bytes.fromhex("ffffffff 00000005"), 3.0)
    assert [type(event) for event in events] == [LinkLost]
    assert [pdu.command for pdu in sent(session)] == ["unbind"]
    assert session.state is State.CLOSED


def test_lost_framing_before_the_bind_just_closes():
    from test_session import new_session
    session = new_session()
    session.start(0.0)
    session.data_to_send()
    session.data_received(bytes.fromhex("00000001"), 0.5)
    assert session.state is State.CLOSED
    assert session.data_to_send() == b""


def test_unbind_from_the_smsc_with_submits_in_flight_closes_at_once():
    session = bound_session()
    session.submit(SUBMIT, 1.0)
    session.data_to_send()
    events = session.data_received(encode(Pdu("unbind", 50)), 2.0)
    assert events == [Unbound(by_peer=True)]
    assert [pdu.command for pdu in sent(session)] == ["unbind_resp"]
    assert session.state is State.CLOSED
    session.connection_lost()
    assert session.in_flight == 0 and session.next_deadline() is None
