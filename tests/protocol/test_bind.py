"""SmppBind over an in-memory reactor: bind, lose the link, reconnect with backoff."""

from types import SimpleNamespace

from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.python.failure import Failure
from twisted.internet.error import ConnectionDone

from gateway.smpp.bind import SmppBind
from gateway.smpp.codec import Pdu, Status, decode, encode

CONFIG = SimpleNamespace(
    name="main", host="127.0.0.1", port=2775, system_id="jifen", password="secret",
    system_type="", mode="transceiver", short_codes=("10655",), enquire_link_interval=30.0,
    response_timeout=10.0, window=10, tps=None, reconnect_initial_delay=1.0,
    reconnect_max_delay=60.0)


def connect(reactor, attempt):
    """Complete the `attempt`-th connectTCP; returns (protocol, transport)."""
    host, port, factory, _, _ = reactor.tcpClients[attempt]
    assert (host, port) == ("127.0.0.1", 2775)
    protocol = factory.buildProtocol(None)
    transport = StringTransport()
    protocol.makeConnection(transport)
    return protocol, transport


def sent(transport):
    data = transport.value()
    transport.clear()
    pdus = []
    while data:
        length = int.from_bytes(data[:4], "big")
        pdus.append(decode(data[:length]))
        data = data[length:]
    return pdus


def accept_bind(protocol, transport, status=Status.OK):
    [bind] = sent(transport)
    assert bind.command == "bind_transceiver"
    assert (bind["system_id"], bind["password"]) == ("jifen", "secret")
    protocol.dataReceived(encode(bind.response(status, system_id="SMSC") if status == 0
                                 else bind.response(status)))


def started_bind():
    reactor = MemoryReactorClock()
    ready = []
    bind = SmppBind(CONFIG, lambda pdu, name: Status.OK, reactor, ready=ready.append)
    bind.startService()
    return reactor, bind, ready


def test_bind_becomes_ready_once_the_smsc_accepts():
    reactor, bind, ready = started_bind()
    protocol, transport = connect(reactor, 0)
    assert bind.protocol is None
    accept_bind(protocol, transport)
    assert ready == [bind]
    assert bind.protocol is not None and bind.protocol.submit_slots() == 10


def test_enquire_link_timeout_drops_the_link_and_reconnects_with_backoff():
    reactor, bind, _ = started_bind()
    protocol, transport = connect(reactor, 0)
    accept_bind(protocol, transport)

    reactor.advance(30.0)
    [probe] = sent(transport)
    assert probe.command == "enquire_link"
    reactor.advance(10.0)                     # no enquire_link_resp
    [unbind] = sent(transport)
    assert unbind.command == "unbind"         # goodbye first, even to a silent SMSC
    reactor.advance(2.0)
    assert transport.disconnecting
    transport.protocol = protocol
    protocol.connectionLost(Failure(ConnectionDone()))
    assert bind.protocol is None
    assert len(reactor.tcpClients) == 1       # not at once: backoff first

    reactor.advance(5.0)                      # initial delay 1 s, with jitter < 1 s
    assert len(reactor.tcpClients) == 2
    protocol, transport = connect(reactor, 1)
    accept_bind(protocol, transport)
    assert bind.protocol is not None


def test_refused_bind_is_retried_with_growing_delays_not_a_hot_loop():
    reactor, bind, _ = started_bind()
    attempts_at = []
    for attempt in range(4):
        protocol, transport = connect(reactor, attempt)
        attempts_at.append(reactor.seconds())
        accept_bind(protocol, transport, Status.INVALID_PASSWORD)
        assert transport.disconnecting
        protocol.connectionLost(Failure(ConnectionDone()))
        while len(reactor.tcpClients) == attempt + 1:
            reactor.advance(0.1)
            assert reactor.seconds() < 600, "never retried"
    gaps = [b - a for a, b in zip(attempts_at, attempts_at[1:])]
    assert gaps[0] >= 1.0 and gaps[-1] > gaps[0]
    assert bind.protocol is None


def test_stop_unbinds_before_closing():
    reactor, bind, _ = started_bind()
    protocol, transport = connect(reactor, 0)
    accept_bind(protocol, transport)
    stopped = bind.stopService()
    [unbind] = sent(transport)
    assert unbind.command == "unbind"
    assert not stopped.called
    protocol.dataReceived(encode(unbind.response()))
    assert transport.disconnecting
    protocol.connectionLost(Failure(ConnectionDone()))
    assert stopped.called


def test_unbind_from_the_smsc_is_answered_and_followed_by_a_reconnect():
    reactor, bind, ready = started_bind()
    protocol, transport = connect(reactor, 0)
    accept_bind(protocol, transport)
    reactor.advance(100.0)                    # a healthy while
    for pdu in sent(transport):               # keep the link alive meanwhile
        protocol.dataReceived(encode(pdu.response()))
    protocol.dataReceived(encode(Pdu("unbind", 9)))
    assert [(p.command, p.sequence) for p in sent(transport)] == [("unbind_resp", 9)]
    assert transport.disconnecting
    protocol.connectionLost(Failure(ConnectionDone()))
    assert bind.protocol is None
    reactor.advance(3.0)                      # 1.5 s, plus jitter under 1 s
    protocol, transport = connect(reactor, 1)
    accept_bind(protocol, transport)
    assert ready == [bind, bind]


def test_a_link_that_keeps_dropping_right_after_its_bind_backs_off_like_a_refused_one():
    reactor, bind, _ = started_bind()
    attempts_at = []
    for attempt in range(5):
        protocol, transport = connect(reactor, attempt)
        attempts_at.append(reactor.seconds())
        accept_bind(protocol, transport)      # bound ...
        protocol.dataReceived(encode(Pdu("unbind", 9)))   # ... and thrown out at once
        protocol.connectionLost(Failure(ConnectionDone()))
        while len(reactor.tcpClients) == attempt + 1:
            reactor.advance(0.1)
            assert reactor.seconds() < 600, "never retried"
    gaps = [b - a for a, b in zip(attempts_at, attempts_at[1:])]
    assert gaps[-1] > 4.0 > gaps[0]           # 1.5, 2.25, 3.4, 5.1 s (+ jitter under 1 s)
