"""Tests for gateway.smpp.protocol: the Twisted adapter around EsmeSession.

Real code path, no sockets, no sleeps: StringTransport stands for the TCP
connection, task.Clock for the reactor's time.  The protocol is built by its
factory exactly as ClientService would build it.
"""

from types import SimpleNamespace

import pytest
from twisted.internet import defer, task
from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from gateway.smpp.codec import Pdu, Status, decode, encode
from gateway.smpp.protocol import (
    BindFailed,
    ConnectionGone,
    EsmeFactory,
    EsmeProtocol,
    SubmitTimeout,
)
from gateway.smpp.session import LATE_ANSWER_GRACE, SessionError, State, SubmitAnswered

INTERVAL = 30.0
TIMEOUT = 10.0
BIND_CONFIG = SimpleNamespace(
    name="test", system_id="jifen", password="secret", system_type="", mode="transceiver",
    enquire_link_interval=INTERVAL, response_timeout=TIMEOUT, window=10, tps=None)

BIND_TRANSCEIVER_SEQ_1 = bytes.fromhex(
    "00000022 00000009 00000000 00000001"   # length 34, bind_transceiver, status 0, seq 1
    "6a6966656e00 73656372657400 00"        # "jifen", "secret", system_type ""
    "34 00 00 00"                           # interface_version, addr_ton, addr_npi, range
)
BIND_RESP_OK = bytes.fromhex("00000015 80000009 00000000 00000001 534d534300")  # "SMSC"
SUBMIT = dict(source_addr="JIFEN", destination_addr="8613800138000", short_message=b"ok")
DELIVER_SM = encode(Pdu("deliver_sm", 0x77, params=dict(
    source_addr="8613800138000", destination_addr="1234", short_message=b"BAL")))


class Receiver:
    """Stands for the application: records calls, answers as told."""

    def __init__(self, answer=lambda: Status.OK):
        self.calls = []
        self.answer = answer

    def __call__(self, pdu, bind_name):
        self.calls.append((pdu, bind_name))
        return self.answer()


class Harness:
    def __init__(self, receiver=None):
        self.clock = task.Clock()
        self.receiver = receiver or Receiver()
        self.factory = EsmeFactory(BIND_CONFIG, self.receiver, self.clock)
        self.protocol = self.factory.buildProtocol(None)
        self.transport = StringTransport()

    def connect(self):
        self.protocol.makeConnection(self.transport)
        return self

    def written(self):
        data = self.transport.value()
        self.transport.clear()
        return data

    def written_pdus(self):
        data, pdus = self.written(), []
        while data:
            length = int.from_bytes(data[:4], "big")
            pdus.append(decode(data[:length]))
            data = data[length:]
        return pdus

    def bind(self):
        self.connect()
        self.written()
        self.protocol.dataReceived(BIND_RESP_OK)
        assert result_of(self.protocol.bound) is self.protocol
        return self

    def lose(self, reason=ConnectionDone):
        self.protocol.connectionLost(Failure(reason()))


def outcome(deferred):
    """(True, result) or (False, failure) if fired, else None; consumes it."""
    box = []
    deferred.addCallbacks(lambda r: box.append((True, r)), lambda f: box.append((False, f)))
    return box[0] if box else None


def result_of(deferred):
    fired = outcome(deferred)
    assert fired is not None, "Deferred has not fired"
    assert fired[0], fired[1]
    return fired[1]


def failure_of(deferred, *types):
    fired = outcome(deferred)
    assert fired is not None, "Deferred has not fired"
    assert not fired[0], f"Deferred succeeded with {fired[1]!r}"
    assert fired[1].check(*types), fired[1]
    return fired[1].value


# -- binding ------------------------------------------------------------------------

def test_factory_builds_a_protocol_named_after_the_bind():
    harness = Harness()
    assert isinstance(harness.protocol, EsmeProtocol)
    assert harness.protocol.factory is harness.factory
    assert harness.protocol.bind_name == "test"


def test_connection_made_writes_the_bind():
    harness = Harness().connect()
    assert harness.written() == BIND_TRANSCEIVER_SEQ_1
    assert not harness.protocol.bound.called
    assert harness.protocol.submit_slots() == 0


def test_bind_resp_fires_bound_with_the_protocol():
    harness = Harness().connect()
    harness.protocol.dataReceived(BIND_RESP_OK)
    assert result_of(harness.protocol.bound) is harness.protocol
    assert harness.protocol.submit_slots() == BIND_CONFIG.window
    assert not harness.transport.disconnecting


def test_bind_resp_fed_one_byte_at_a_time_fires_bound():
    harness = Harness().connect()
    for i in range(len(BIND_RESP_OK) - 1):
        harness.protocol.dataReceived(BIND_RESP_OK[i:i + 1])
    assert not harness.protocol.bound.called
    harness.protocol.dataReceived(BIND_RESP_OK[-1:])
    assert result_of(harness.protocol.bound) is harness.protocol


def test_bind_refused_fails_bound_and_closes():
    harness = Harness().connect()
    harness.protocol.dataReceived(bytes.fromhex("00000010 80000009 0000000e 00000001"))
    assert failure_of(harness.protocol.bound, BindFailed).status == Status.INVALID_PASSWORD
    assert harness.transport.disconnecting


def test_bind_unanswered_fails_bound_after_response_timeout():
    harness = Harness().connect()
    harness.clock.advance(TIMEOUT - 0.01)
    assert not harness.protocol.bound.called
    harness.clock.advance(0.01)
    assert failure_of(harness.protocol.bound, BindFailed).status is None
    assert harness.transport.disconnecting


def test_connection_lost_before_bind_fails_bound():
    harness = Harness().connect()
    harness.lose(ConnectionLost)
    assert failure_of(harness.protocol.bound, BindFailed).status is None
    assert harness.clock.getDelayedCalls() == []


# -- deliver_sm: commit before acknowledge -----------------------------------------------

def test_deliver_sm_is_acknowledged_only_when_the_receiver_has_committed():
    committed = defer.Deferred()
    harness = Harness(Receiver(answer=lambda: committed)).bind()
    harness.protocol.dataReceived(DELIVER_SM)
    [(pdu, bind_name)] = harness.receiver.calls
    assert (pdu.command, pdu.sequence, pdu["short_message"], bind_name) == (
        "deliver_sm", 0x77, b"BAL", "test")
    assert harness.written() == b""                     # not before the commit
    harness.clock.advance(TIMEOUT)                      # nor after a while
    assert harness.written() == b""
    committed.callback(Status.OK)
    assert harness.written() == bytes.fromhex(
        "00000011 80000005 00000000 00000077 00")        # deliver_sm_resp, ok, seq 0x77


def test_deliver_sm_acknowledged_at_once_by_a_synchronous_receiver():
    harness = Harness(Receiver(answer=lambda: Status.OK)).bind()
    harness.protocol.dataReceived(DELIVER_SM)
    assert harness.written() == bytes.fromhex("00000011 80000005 00000000 00000077 00")


def test_deliver_sm_answered_with_the_status_the_receiver_chose():
    harness = Harness(Receiver(answer=lambda: defer.succeed(0x65))).bind()   # ESME_RX_P_APPN
    harness.protocol.dataReceived(DELIVER_SM)
    assert harness.written() == bytes.fromhex("00000010 80000005 00000065 00000077")


@pytest.mark.parametrize("answer", [
    lambda: defer.fail(RuntimeError("ledger down")),
    lambda: (_ for _ in ()).throw(RuntimeError("ledger down")),   # raises synchronously
], ids=["deferred_fails", "raises"])
def test_failing_receiver_gets_a_temporary_app_error(answer):
    harness = Harness(Receiver(answer=answer)).bind()
    harness.protocol.dataReceived(DELIVER_SM)
    assert harness.written() == bytes.fromhex("00000010 80000005 00000064 00000077")
    assert not harness.transport.disconnecting


def test_two_deliveries_are_acknowledged_in_the_order_they_commit():
    pending = []
    harness = Harness(Receiver(answer=lambda: pending.append(defer.Deferred()) or pending[-1]))
    harness.bind()
    second = encode(Pdu("deliver_sm", 0x78, params=dict(short_message=b"HELP")))
    harness.protocol.dataReceived(DELIVER_SM + second)
    assert len(harness.receiver.calls) == 2
    pending[1].callback(Status.OK)
    assert [(p.command, p.sequence) for p in harness.written_pdus()] == [("deliver_sm_resp", 0x78)]
    pending[0].callback(Status.OK)
    assert [(p.command, p.sequence) for p in harness.written_pdus()] == [("deliver_sm_resp", 0x77)]


# -- submitting ---------------------------------------------------------------------------

def test_submit_fires_with_the_answer_to_its_sequence():
    harness = Harness().bind()
    first = harness.protocol.submit(SUBMIT)
    second = harness.protocol.submit(SUBMIT)
    written = harness.written_pdus()
    assert [(p.command, p.sequence) for p in written] == [("submit_sm", 2), ("submit_sm", 3)]
    assert written[0]["short_message"] == b"ok"
    assert not first.called and not second.called
    harness.protocol.dataReceived(
        encode(Pdu("submit_sm_resp", 3, params={"message_id": "B"})))
    assert result_of(second) == SubmitAnswered(3, Status.OK, "B")
    assert not first.called
    harness.protocol.dataReceived(bytes.fromhex(
        "00000017 80000004 00000000 00000002 376633613963 00"))   # message_id "7f3a9c"
    assert result_of(first) == SubmitAnswered(2, Status.OK, "7f3a9c")


def test_submit_unanswered_frees_its_slot_then_fails_with_submit_timeout_after_the_grace():
    harness = Harness().bind()
    harness.clock.advance(1.0)
    deferred = harness.protocol.submit(SUBMIT)
    assert harness.protocol.submit_slots() == BIND_CONFIG.window - 1
    harness.clock.advance(TIMEOUT)
    assert harness.protocol.submit_slots() == BIND_CONFIG.window
    harness.clock.advance(TIMEOUT * LATE_ANSWER_GRACE - 0.01)
    assert not deferred.called                      # an answer may still come
    harness.clock.advance(0.01)
    failure_of(deferred, SubmitTimeout)
    assert not harness.transport.disconnecting


def test_late_answer_within_the_grace_fires_the_submit_with_it():
    harness = Harness().bind()
    deferred = harness.protocol.submit(SUBMIT)
    harness.clock.advance(TIMEOUT * 2)
    harness.protocol.dataReceived(encode(Pdu("submit_sm_resp", 2, params={"message_id": "L"})))
    assert result_of(deferred) == SubmitAnswered(2, Status.OK, "L", late=True)
    harness.clock.advance(TIMEOUT * 10)             # nothing left to time out
    assert harness.written_pdus()[-1].command == "enquire_link"


def test_submit_window_is_the_configured_one():
    harness = Harness().bind()
    for _ in range(BIND_CONFIG.window):
        assert harness.protocol.submit_slots() > 0
        harness.protocol.submit(SUBMIT)
    assert harness.protocol.submit_slots() == 0
    assert harness.protocol.resume_at() is None
    with pytest.raises(SessionError):
        harness.protocol.submit(SUBMIT)


def test_throttled_answer_pauses_the_bind_until_resume_at():
    harness = Harness().bind()
    deferred = harness.protocol.submit(SUBMIT)
    harness.protocol.dataReceived(encode(Pdu("submit_sm_resp", 2, Status.THROTTLED)))
    assert result_of(deferred) == SubmitAnswered(2, Status.THROTTLED, None)
    assert harness.protocol.submit_slots() == 0
    assert harness.protocol.resume_at() == harness.clock.seconds() + 1.0
    harness.clock.advance(1.0)
    assert harness.protocol.submit_slots() == BIND_CONFIG.window


def test_tps_from_the_config_paces_submits():
    harness = Harness()
    harness.factory.bind_config = SimpleNamespace(**dict(vars(BIND_CONFIG), tps=20))
    harness.protocol = harness.factory.buildProtocol(None)
    harness.bind()
    assert harness.protocol.submit_slots() == 2     # a tenth of a second's worth
    harness.protocol.submit(SUBMIT)
    harness.protocol.submit(SUBMIT)
    assert harness.protocol.resume_at() == pytest.approx(0.05)


# -- keeping the link alive, losing it ---------------------------------------------------------

def test_enquire_link_after_idle_interval_then_link_lost_and_submits_fail():
    harness = Harness().bind()
    harness.clock.advance(INTERVAL - 0.01)
    assert harness.written() == b""
    harness.clock.advance(0.01)
    assert harness.written() == bytes.fromhex("00000010 00000015 00000000 00000002")

    harness.clock.advance(5.0)                  # a submit still waiting when the link dies
    waiting = harness.protocol.submit(SUBMIT)
    harness.written()
    harness.clock.advance(TIMEOUT - 5.0 - 0.01)
    assert not harness.transport.disconnecting
    harness.clock.advance(0.01)
    # An unbind first, whatever happened: else the SMSC may answer the next bind ESME_RALYBND.
    assert [p.command for p in harness.written_pdus()] == ["unbind"]
    assert not harness.transport.disconnecting
    harness.clock.advance(2.0)                  # the unbind timeout: short, bounded
    assert harness.transport.disconnecting
    assert not waiting.called                   # only connectionLost says the submit is lost

    harness.lose(ConnectionDone)
    assert failure_of(waiting, ConnectionGone).args == ("test",)
    assert harness.clock.getDelayedCalls() == []


def test_answered_enquire_link_keeps_the_connection():
    harness = Harness().bind()
    harness.clock.advance(INTERVAL)
    harness.written()
    harness.protocol.dataReceived(bytes.fromhex("00000010 80000015 00000000 00000002"))
    harness.clock.advance(TIMEOUT * 2)
    assert not harness.transport.disconnecting


def test_incoming_enquire_link_is_answered():
    harness = Harness().bind()
    harness.protocol.dataReceived(bytes.fromhex("00000010 00000015 00000000 00000abc"))
    assert harness.written() == bytes.fromhex("00000010 80000015 00000000 00000abc")


def test_absurd_command_length_says_unbind_and_closes_the_connection():
    harness = Harness().bind()
    harness.protocol.dataReceived(bytes.fromhex("7fffffff 00000005 00000000 00000001"))
    assert [p.command for p in harness.written_pdus()] == ["unbind"]
    assert harness.transport.disconnecting
    assert harness.clock.getDelayedCalls() == []


# -- unbinding ---------------------------------------------------------------------------------

def test_unbind_fires_once_answered_and_disconnected():
    harness = Harness().bind()
    done = harness.protocol.unbind()
    assert harness.written() == bytes.fromhex("00000010 00000006 00000000 00000002")
    assert not harness.transport.disconnecting
    assert not done.called
    harness.protocol.dataReceived(bytes.fromhex("00000010 80000006 00000000 00000002"))
    assert harness.transport.disconnecting
    assert not done.called                      # gone only when the transport says so
    harness.lose(ConnectionDone)
    assert result_of(done) is None


def test_unbind_unanswered_closes_after_the_unbind_timeout():
    harness = Harness().bind()
    done = harness.protocol.unbind()
    harness.clock.advance(2.0)
    assert harness.transport.disconnecting
    harness.lose(ConnectionDone)
    assert result_of(done) is None


def test_unbind_from_the_smsc_is_answered_and_closes():
    harness = Harness().bind()
    harness.protocol.dataReceived(bytes.fromhex("00000010 00000006 00000000 00000010"))
    assert harness.written() == bytes.fromhex("00000010 80000006 00000000 00000010")
    assert harness.transport.disconnecting
    assert harness.protocol.session.state is State.CLOSED


# -- after the connection is gone --------------------------------------------------------------

def test_no_submit_is_taken_after_the_connection_is_lost():
    # A TCP reset while bound: the pool must not route submits here any more.
    harness = Harness().bind()
    harness.lose(ConnectionLost)
    assert harness.protocol.submit_slots() == 0
    with pytest.raises(SessionError):
        harness.protocol.submit(SUBMIT)
    assert harness.written() == b""


def test_late_commit_after_the_connection_is_lost_writes_nothing_and_leaves_no_timer():
    committed = defer.Deferred()
    harness = Harness(Receiver(answer=lambda: committed)).bind()
    harness.protocol.dataReceived(DELIVER_SM)
    harness.lose(ConnectionLost)
    assert harness.clock.getDelayedCalls() == []
    committed.callback(Status.OK)
    assert harness.written() == b""
    assert harness.clock.getDelayedCalls() == []


# -- hostile bytes through the whole adapter ---------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from test_session import frames, mutated  # noqa: E402


@settings(max_examples=150, deadline=None)
@given(st.lists(frames() | mutated(), max_size=6), st.integers(0, 3))
def test_any_bytes_never_raise_out_of_the_protocol_and_never_leave_it_stuck(chunks, submits):
    harness = Harness().bind()
    waiting = [harness.protocol.submit(SUBMIT) for _ in range(submits)]
    for chunk in chunks:
        harness.protocol.dataReceived(chunk)        # must not raise
        harness.clock.advance(1.0)
    harness.clock.advance(100.0)                    # every timer it set has fired by now
    state = harness.protocol.session.state
    # Either still bound and able to send, or it said goodbye and closed the transport.
    assert (state is State.BOUND and not harness.transport.disconnecting) or (
        state is State.CLOSED and harness.transport.disconnecting)
    harness.lose(ConnectionDone)
    for deferred in waiting:                        # every submit heard its fate
        assert outcome(deferred) is not None
    assert harness.clock.getDelayedCalls() == []
