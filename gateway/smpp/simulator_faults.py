"""What a real SMSC does to an ESME, on demand: the simulator's sending-side faults.

Set fields of `Simulator.faults` (a `Faults`) and they apply from the next
PDU on, to every connection: drop the link after N PDUs, throttle every k-th
submit_sm, answer submit_sm late, ignore enquire_link, refuse binds.  The
`FaultInjection` methods act at once: write malformed bytes, unbind the
gateway from the SMSC's side.  Each wraps one of the two narrow paths of
`SmscProtocol` (`pdu_received` in, `send` out); the handlers behind them stay
well-behaved.  (Redelivery and receipts are in simulator.py and simulator_mo.py.)
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import structlog
from twisted.internet import defer

from gateway.smpp.codec import Pdu, Status

__all__ = ["Faults", "FaultInjection", "MALFORMED"]

log = structlog.get_logger(__name__)

_BINDS = frozenset({"bind_transmitter", "bind_receiver", "bind_transceiver"})

#: Bytes no SMSC should send, each breaking a different rule of the framing.
MALFORMED = {
    # a command_id SMPP 3.4 does not have: answered generic_nack, the link goes on
    "unknown_command": bytes.fromhex("00000010 000000ff 00000000 00000042"),
    # a deliver_sm whose C-string never ends: generic_nack, the link goes on
    "truncated_body": bytes.fromhex("00000014 00000005 00000000 00000043 61626364"),
    # a command_length below the header's own 16 octets: framing lost, unbind and close
    "short_length": bytes.fromhex("00000008 00000005 00000000 00000044"),
    # a command_length of 2 GB: framing lost, unbind and close
    "absurd_length": bytes.fromhex("7fffffff 00000005 00000000 00000045"),
}


@dataclass
class Faults:
    """What the simulator does wrong; the defaults are a well-behaved SMSC."""

    #: Drop the connection that brings the N-th PDU from now (counted over all
    #: connections), without a word and before handling it; then behave again.
    #: It counts down as PDUs arrive.
    drop_after: int | None = None
    #: Answer every k-th submit_sm (counted over all connections) ESME_RTHROTTLED.
    throttle_every: int | None = None
    #: Take each submit_sm at once but send its submit_sm_resp this many seconds later.
    response_delay: float = 0.0
    #: False: enquire_link goes unanswered, as from an SMSC that hung.
    answer_enquire_link: bool = True
    #: Refuse this many binds with `refuse_bind_status` (e.g. ESME_RBINDFAIL).
    refuse_binds: int = 0
    refuse_bind_status: int = Status.BIND_FAILED


def intercepted(simulator, protocol, pdu: Pdu) -> bool:
    """Apply the faults to a PDU from the ESME; True when a fault took it."""
    faults = simulator.faults
    simulator.received[pdu.command] += 1
    if faults.drop_after is not None:
        faults.drop_after -= 1
        if faults.drop_after <= 0:
            faults.drop_after = None
            log.info("simulator.fault_drop", command=pdu.command, sequence=pdu.sequence)
            protocol.abort()
            return True
    if pdu.command == "enquire_link" and not faults.answer_enquire_link:
        return True
    if pdu.command in _BINDS and faults.refuse_binds > 0:
        faults.refuse_binds -= 1
        log.info("simulator.fault_bind_refused", status=faults.refuse_bind_status)
        protocol.send(pdu.response(faults.refuse_bind_status))
        return True
    if pdu.command == "submit_sm" and protocol.is_bound and faults.throttle_every:
        if simulator.received["submit_sm"] % faults.throttle_every == 0:
            log.info("simulator.fault_throttled", sequence=pdu.sequence)
            protocol.send(pdu.response(Status.THROTTLED))
            return True
    return False


def held_back(simulator, protocol, pdu: Pdu) -> bool:
    """A PDU on its way out: hold back a submit_sm_resp when `Faults.response_delay`
    says so (True), else note what the ESME is told it got taken."""
    delay = simulator.faults.response_delay
    if pdu.command != "submit_sm_resp" or delay <= 0 or protocol.releasing:
        if pdu.command == "submit_sm_resp" and pdu.status == Status.OK:
            simulator.acknowledged.append(pdu.get("message_id"))
        return False

    def release():
        protocol.delayed_answers.remove(call)
        if not protocol.closing:
            protocol.releasing = True
            try:
                protocol.send(pdu)
            finally:
                protocol.releasing = False
    call = simulator.clock.callLater(delay, release)
    protocol.delayed_answers.append(call)
    return True


def forget(protocol) -> None:
    """The connection is gone: the answers held back for it never go."""
    for call in protocol.delayed_answers:
        if call.active():
            call.cancel()
    protocol.delayed_answers.clear()


class FaultInjection:
    """Faults that act at once, mixed into `Simulator`, and what the faults need to count."""

    def _init_faults(self) -> None:
        #: Sending-side faults; the default behaves.
        self.faults = Faults()
        #: Every PDU command received from the ESMEs, counted.
        self.received: Counter = Counter()
        #: The message id of every submit_sm_resp ok actually sent (not held back, not lost).
        self.acknowledged: list[str] = []

    def send_raw(self, data: bytes) -> int:
        """Write ``data`` as is to every bound connection; returns how many."""
        bound = [protocol for protocol in self._connections if protocol.is_bound]
        for protocol in bound:
            protocol.transport.write(data)
        return len(bound)

    def drop_links(self, system_id: str | None = None) -> None:
        """Cut every connection (of ``system_id``, if given) without a word."""
        for protocol in list(self._connections):
            if system_id is None or protocol.system_id == system_id:
                protocol.abort()

    def unbind(self) -> defer.Deferred:
        """Unbind every bound ESME from the SMSC's side; fires once their links are gone."""
        gone = []
        for protocol in list(self._connections):
            if protocol.is_bound:
                protocol.send(Pdu("unbind", protocol.next_sequence()))
                gone.append(protocol.lost)
        return defer.gatherResults(gone, consumeErrors=True)

