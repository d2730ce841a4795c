"""The SMSC simulator over real loopback TCP.

Two kinds of ESME drive it: the gateway's own `EsmeProtocol`, for what a
well-behaved gateway does, and `RawEsme`, which writes codec bytes directly,
for what the gateway would never send (wrong credentials twice, garbage,
generic_nack to an MO).  Every test waits on Deferreds, never on time, and
leaves no port or connection behind (trial checks).
"""

from __future__ import annotations

from types import SimpleNamespace

from twisted.internet import defer, reactor
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.protocol import Protocol
from twisted.trial import unittest

from gateway.smpp import text as smstext
from gateway.smpp.codec import Pdu, Status, decode, encode, pdu_length
from gateway.smpp.protocol import BindFailed, EsmeFactory
from gateway.smpp.simulator import (
    SYSTEM_ID, ConnectionGone, DeliverRefused, NotBound, Simulator,
)

SYSTEM = "jifen"
PASSWORD = "s3cret"
MEMBER = "8613800138000"
SHORT_CODE = "10655"


class RawEsme(Protocol):
    """A bare TCP client: PDUs in via codec.encode, out via codec.decode."""

    def __init__(self):
        self.pdus = defer.DeferredQueue()
        self.lost = defer.Deferred()
        self._buffer = bytearray()

    def dataReceived(self, data):
        self._buffer += data
        while (length := pdu_length(self._buffer)) and len(self._buffer) >= length:
            self.pdus.put(decode(bytes(self._buffer[:length])))
            del self._buffer[:length]

    def connectionLost(self, reason):
        self.lost.callback(None)

    def send(self, command, sequence, status=Status.OK, **params):
        self.transport.write(encode(Pdu(command, sequence, status, params)))

    def request(self, command, sequence, **params):
        """Send a request; fires with the next PDU received."""
        self.send(command, sequence, **params)
        return self.pdus.get()

    def bind(self, command="bind_transceiver", system_id=SYSTEM, password=PASSWORD):
        return self.request(command, 1, system_id=system_id, password=password,
                            system_type="", interface_version=0x34, addr_ton=0,
                            addr_npi=0, address_range="")


class SimulatorTestCase(unittest.TestCase):

    def setUp(self):
        self.simulator = Simulator({SYSTEM: PASSWORD}, clock=reactor)
        self.simulator.listen(reactor)
        self.addCleanup(self.simulator.stop)
        self.mos = []
        self.mo_status = Status.OK

    def receive(self, pdu, bind_name):
        self.mos.append(pdu)
        return self.mo_status

    @defer.inlineCallbacks
    def connect_esme(self, mode="transceiver", password=PASSWORD, bind=True):
        """The gateway's own ESME; unbinds (and so disconnects) at cleanup."""
        config = SimpleNamespace(
            name="test", system_id=SYSTEM, password=password, system_type="", mode=mode,
            enquire_link_interval=30.0, response_timeout=5.0, window=10)
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", self.simulator.port)
        esme = yield endpoint.connect(EsmeFactory(config, self.receive, reactor))
        self.addCleanup(esme.unbind)
        if bind:
            yield esme.bound
        return esme

    @defer.inlineCallbacks
    def connect_raw(self):
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", self.simulator.port)
        raw = yield connectProtocol(endpoint, RawEsme())

        def disconnect():
            raw.transport.loseConnection()
            return raw.lost

        self.addCleanup(disconnect)
        return raw


class BindTests(SimulatorTestCase):

    @defer.inlineCallbacks
    def test_bind_transceiver(self):
        waiting = self.simulator.wait_bound(1)
        self.assertNoResult(waiting)
        yield self.connect_esme()
        self.assertEqual((yield waiting), 1)
        self.assertEqual(self.simulator.bound, 1)

    @defer.inlineCallbacks
    def test_bind_response_names_the_simulator(self):
        raw = yield self.connect_raw()
        answer = yield raw.bind()
        self.assertEqual((answer.command, answer.status, answer.sequence),
                         ("bind_transceiver_resp", Status.OK, 1))
        self.assertEqual(answer["system_id"], SYSTEM_ID)

    @defer.inlineCallbacks
    def test_wrong_password_refused(self):
        esme = yield self.connect_esme(password="wrong", bind=False)
        failure = yield self.assertFailure(esme.bound, BindFailed)
        self.assertEqual(failure.status, Status.INVALID_PASSWORD)
        self.assertEqual(self.simulator.bound, 0)

    @defer.inlineCallbacks
    def test_unknown_system_id_refused(self):
        raw = yield self.connect_raw()
        answer = yield raw.bind(system_id="stranger")
        self.assertEqual(answer.status, 0x0F)

    @defer.inlineCallbacks
    def test_second_bind_on_one_connection_refused(self):
        raw = yield self.connect_raw()
        yield raw.bind()
        answer = yield raw.bind("bind_receiver")
        self.assertEqual((answer.command, answer.status),
                         ("bind_receiver_resp", Status.ALREADY_BOUND))

    @defer.inlineCallbacks
    def test_requests_before_bind(self):
        raw = yield self.connect_raw()
        answer = yield raw.request("enquire_link", 7)
        self.assertEqual((answer.command, answer.status), ("enquire_link_resp", Status.OK))
        answer = yield raw.request("submit_sm", 8, source_addr=SHORT_CODE,
                                   destination_addr=MEMBER, short_message=b"hi")
        self.assertEqual((answer.command, answer.status, answer.sequence),
                         ("submit_sm_resp", Status.INCORRECT_BIND_STATUS, 8))
        self.assertEqual(self.simulator.submitted, [])

    @defer.inlineCallbacks
    def test_unbind(self):
        esme = yield self.connect_esme()
        yield esme.unbind()
        self.assertEqual(self.simulator.bound, 0)


class DeliverTests(SimulatorTestCase):

    @defer.inlineCallbacks
    def test_mo_delivered_gsm7(self):
        yield self.connect_esme()
        status = yield self.simulator.deliver(MEMBER, SHORT_CODE, "BAL")
        self.assertEqual(status, Status.OK)
        [mo] = self.mos
        self.assertEqual((mo["source_addr"], mo["destination_addr"]), (MEMBER, SHORT_CODE))
        self.assertEqual((mo["data_coding"], mo["short_message"]), (0, b"BAL"))

    @defer.inlineCallbacks
    def test_mo_delivered_ucs2(self):
        yield self.connect_esme(mode="receiver")
        yield self.simulator.deliver(MEMBER, SHORT_CODE, "积分 余额")
        [mo] = self.mos
        self.assertEqual(mo["data_coding"], smstext.DC_UCS2)
        self.assertEqual(smstext.decode(mo["short_message"], mo["data_coding"]), "积分 余额")

    @defer.inlineCallbacks
    def test_given_short_message_or_forced_ucs2(self):
        yield self.connect_esme()
        yield self.simulator.deliver(MEMBER, SHORT_CODE, short_message=b"\x01\x02",
                                     data_coding=0x04)
        yield self.simulator.deliver(MEMBER, SHORT_CODE, "BAL", data_coding=smstext.DC_UCS2)
        self.assertEqual([(mo["data_coding"], mo["short_message"]) for mo in self.mos],
                         [(0x04, b"\x01\x02"), (smstext.DC_UCS2, "BAL".encode("utf-16-be"))])

    def test_text_and_short_message_together_raise(self):
        with self.assertRaises(TypeError):
            self.simulator.deliver(MEMBER, SHORT_CODE, "BAL", short_message=b"BAL")

    @defer.inlineCallbacks
    def test_resp_status_returned(self):
        self.mo_status = Status.TEMPORARY_APP_ERROR
        yield self.connect_esme()
        status = yield self.simulator.deliver(MEMBER, SHORT_CODE, "BAL")
        self.assertEqual(status, Status.TEMPORARY_APP_ERROR)

    @defer.inlineCallbacks
    def test_ussd_params_passed_through(self):
        yield self.connect_esme()
        yield self.simulator.deliver(MEMBER, "*123#", "1", service_type="USSD",
                                     ussd_service_op=1, its_session_info=0x0102)
        [mo] = self.mos
        self.assertEqual((mo["service_type"], mo["ussd_service_op"], mo["its_session_info"]),
                         ("USSD", 1, 0x0102))

    @defer.inlineCallbacks
    def test_round_robin_over_receivers(self):
        first = yield self.connect_raw()
        second = yield self.connect_raw()
        yield first.bind("bind_receiver")
        yield second.bind("bind_transceiver")
        yield self.simulator.wait_bound(2)
        delivered = [self.simulator.deliver(sender, SHORT_CODE, "HELP") for sender in "12"]
        pdus = yield defer.gatherResults([first.pdus.get(), second.pdus.get()])
        self.assertEqual(sorted(pdu["source_addr"] for pdu in pdus), ["1", "2"])
        for raw, pdu in zip((first, second), pdus):
            raw.send("deliver_sm_resp", pdu.sequence, message_id="")
        statuses = yield defer.gatherResults(delivered)
        self.assertEqual(statuses, [Status.OK, Status.OK])

    def test_nobody_bound(self):
        return self.assertFailure(self.simulator.deliver(MEMBER, SHORT_CODE, "BAL"), NotBound)

    @defer.inlineCallbacks
    def test_transmitter_cannot_receive(self):
        yield self.connect_esme(mode="transmitter")
        self.assertEqual(self.simulator.bound, 1)
        yield self.assertFailure(self.simulator.deliver(MEMBER, SHORT_CODE, "BAL"), NotBound)

    @defer.inlineCallbacks
    def test_generic_nack_fails_the_deliver(self):
        raw = yield self.connect_raw()
        yield raw.bind()
        delivered = self.simulator.deliver(MEMBER, SHORT_CODE, "BAL")
        pdu = yield raw.pdus.get()
        raw.send("generic_nack", pdu.sequence, Status.INVALID_COMMAND)
        failure = yield self.assertFailure(delivered, DeliverRefused)
        self.assertEqual(failure.status, Status.INVALID_COMMAND)

    @defer.inlineCallbacks
    def test_connection_lost_fails_the_deliver(self):
        raw = yield self.connect_raw()
        yield raw.bind()
        delivered = self.simulator.deliver(MEMBER, SHORT_CODE, "BAL")
        yield raw.pdus.get()
        raw.transport.loseConnection()
        yield self.assertFailure(delivered, ConnectionGone)


class SubmitTests(SimulatorTestCase):

    def submit(self, esme, text):
        data_coding, [body] = smstext.split(text, reference=1)
        return esme.submit(dict(source_addr=SHORT_CODE, destination_addr=MEMBER,
                                data_coding=data_coding, short_message=body))

    @defer.inlineCallbacks
    def test_gsm7_submit_collected(self):
        esme = yield self.connect_esme(mode="transmitter")
        answer = yield self.submit(esme, "Balance 1,350 pts. Ref R8K2P @ Shop Li")
        self.assertEqual((answer.status, answer.message_id), (Status.OK, "1"))
        mt = yield self.simulator.next_mt()
        self.assertEqual(mt.text, "Balance 1,350 pts. Ref R8K2P @ Shop Li")
        self.assertEqual((mt.message_id, mt.source_addr, mt.destination_addr, mt.system_id),
                         ("1", SHORT_CODE, MEMBER, SYSTEM))
        self.assertEqual(mt.params["short_message"], mt.short_message)

    @defer.inlineCallbacks
    def test_ucs2_chinese_submit_collected(self):
        esme = yield self.connect_esme()
        yield self.submit(esme, "您已兑换2袋大米，余额1,350积分。")
        [mt] = yield self.simulator.wait_for_submits(1)
        self.assertEqual(mt.data_coding, smstext.DC_UCS2)
        self.assertEqual(mt.text, "您已兑换2袋大米，余额1,350积分。")

    @defer.inlineCallbacks
    def test_concatenated_parts_have_udh_stripped(self):
        esme = yield self.connect_esme()
        text = "积分" * 40
        data_coding, parts = smstext.split(text, reference=9)
        for part in parts:
            esme.submit(dict(source_addr=SHORT_CODE, destination_addr=MEMBER, esm_class=0x40,
                             data_coding=data_coding, short_message=part))
        mts = yield self.simulator.wait_for_submits(len(parts))
        self.assertEqual("".join(mt.text for mt in mts), text)
        self.assertEqual([mt.message_id for mt in mts], ["1", "2"])

    @defer.inlineCallbacks
    def test_next_mt_is_a_queue(self):
        esme = yield self.connect_esme()
        first = self.simulator.next_mt()        # waiting before anything arrived
        yield self.submit(esme, "one")
        yield self.submit(esme, "two")
        self.assertEqual((yield first).text, "one")
        self.assertEqual((yield self.simulator.next_mt()).text, "two")
        self.assertEqual(len(self.simulator.submitted), 2)

    @defer.inlineCallbacks
    def test_receiver_cannot_submit(self):
        raw = yield self.connect_raw()
        yield raw.bind("bind_receiver")
        answer = yield raw.request("submit_sm", 2, source_addr=SHORT_CODE,
                                   destination_addr=MEMBER, short_message=b"hi")
        self.assertEqual(answer.status, Status.INCORRECT_BIND_STATUS)


class HostileBytesTests(SimulatorTestCase):

    @defer.inlineCallbacks
    def test_unknown_command_gets_generic_nack(self):
        raw = yield self.connect_raw()
        raw.transport.write(bytes.fromhex("00000010" "000000ff" "00000000" "00000005"))
        answer = yield raw.pdus.get()
        self.assertEqual((answer.command, answer.status, answer.sequence),
                         ("generic_nack", Status.INVALID_COMMAND, 5))

    @defer.inlineCallbacks
    def test_impossible_length_closes_the_connection(self):
        raw = yield self.connect_raw()
        raw.transport.write(bytes.fromhex("00000005" "00000015"))
        yield raw.lost
