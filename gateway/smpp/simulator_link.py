"""One ESME's connection, seen from the SMSC: the simulator's protocol and its factory.

`SmscProtocol` checks the bind, answers every request, numbers the MTs and hands what it reads to
its `Simulator` (simulator.py), which holds what every connection shares: the accounts, the MTs
submitted, the waiters.  Faults (simulator_faults.py) wrap its two narrow paths, `pdu_received`
in and `send` out, so the handlers behind them stay well-behaved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

import structlog
from twisted.internet import defer
from twisted.internet.protocol import Factory, Protocol

from gateway.smpp import simulator_faults
from gateway.smpp.codec import Pdu, PDUError, Status, decode, encode, pdu_length

if TYPE_CHECKING:
    from gateway.smpp.simulator import Simulator

__all__ = ["SmscProtocol", "Submitted", "SYSTEM_ID", "SimulatorError", "NotBound",
           "DeliverRefused", "ConnectionGone", "ResponseLost"]

log = structlog.get_logger("gateway.smpp.simulator")

#: What the simulator calls itself in every bind_*_resp.
SYSTEM_ID = "JIFENSIM"

_MAX_SEQUENCE = 0x7FFFFFFF
_BIND_MODES = {
    "bind_transmitter": "transmitter",
    "bind_receiver": "receiver",
    "bind_transceiver": "transceiver",
}
_RECEIVING = frozenset({"receiver", "transceiver"})
_SUBMITTING = frozenset({"transmitter", "transceiver"})
# Requests that have no *_resp: they can only be answered with generic_nack.
_NO_RESPONSE = frozenset({"alert_notification"})

class SimulatorError(Exception):
    """Base of what a `Simulator.deliver` Deferred can fail with."""


class NotBound(SimulatorError):
    """No bound receiver or transceiver session to deliver an MO to."""


class DeliverRefused(SimulatorError):
    """The gateway answered a deliver_sm with generic_nack (or a stranger PDU)."""

    def __init__(self, message, status):
        super().__init__(message, status)
        self.status = status


class ConnectionGone(SimulatorError):
    """The connection closed before the gateway answered the deliver_sm."""


class ResponseLost(SimulatorError):
    """The gateway answered, but `Simulator.lose_deliver_responses` dropped the answer."""


@dataclass(frozen=True)
class Submitted:
    """An MT the gateway submitted."""

    message_id: str             # what submit_sm_resp said: from 1, in `message_id_style`
    source_addr: str
    destination_addr: str
    data_coding: int
    short_message: bytes
    text: str                   # UDH stripped; "" if the body is not text
    params: Mapping[str, Any]   # the whole submit_sm params
    system_id: str              # which bind it came through


class SmscProtocol(Protocol):
    """One ESME connection, seen from the SMSC."""

    def __init__(self, simulator: "Simulator"):
        self._simulator = simulator
        self.mode: str | None = None        # set while bound
        self.system_id: str | None = None
        self.lost = defer.Deferred()        # fires when the connection is gone
        self._buffer = bytearray()
        self._sequence = 0
        self._delivers: dict[int, defer.Deferred] = {}
        self._closing = False
        self._log = log
        # for simulator_faults: PDUs counted, submit_sm_resp held back
        self.pdus_received = 0
        self.delayed_answers: list = []
        self.releasing = False

    @property
    def is_bound(self) -> bool:
        return self.mode is not None

    @property
    def can_receive(self) -> bool:
        return self.mode in _RECEIVING and not self._closing

    # -- Twisted calls these ------------------------------------------------

    def connectionMade(self):
        # Small PDUs answered one by one: Nagle plus delayed ACKs would add
        # 40 ms to round trips, as on the ESME side.
        if hasattr(self.transport, "setTcpNoDelay"):
            self.transport.setTcpNoDelay(True)
        peer = self.transport.getPeer()
        self._log = log.bind(peer=f"{peer.host}:{peer.port}")
        self._log.info("simulator.connected")

    def dataReceived(self, data):
        self._buffer += data
        while not self._closing:
            try:
                length = pdu_length(self._buffer)
            except PDUError as error:
                self._drop(str(error))
                return
            if length is None or len(self._buffer) < length:
                return
            frame = bytes(self._buffer[:length])
            del self._buffer[:length]
            self._frame_received(frame)

    def connectionLost(self, reason):
        self._closing = True
        self.mode = None
        delivers, self._delivers = self._delivers, {}
        for sequence, deferred in delivers.items():
            deferred.errback(ConnectionGone(f"deliver_sm {sequence} unanswered"))
        simulator_faults.forget(self)
        self._simulator._disconnected(self)
        self._log.info("simulator.disconnected", reason=reason.getErrorMessage())
        self.lost.callback(None)

    # -- the two paths every PDU takes ----------------------------------------

    def pdu_received(self, pdu: Pdu) -> None:
        """Answer one PDU from the ESME."""
        self._log.debug("simulator.pdu_received", command=pdu.command,
                        sequence=pdu.sequence, status=pdu.status)
        if simulator_faults.intercepted(self._simulator, self, pdu):
            return
        if pdu.is_response:
            self._response_received(pdu)
        elif pdu.command in _BIND_MODES:
            self._bind_received(pdu)
        elif pdu.command == "enquire_link":
            self.send(pdu.response())
        elif not self.is_bound:
            self._refuse(pdu, Status.INCORRECT_BIND_STATUS)
        elif pdu.command == "submit_sm":
            self._submit_received(pdu)
        elif pdu.command == "unbind":
            self.send(pdu.response())
            self._log.info("simulator.unbound")
            self._close()
        else:
            self.send(Pdu("generic_nack", pdu.sequence, Status.INVALID_COMMAND))

    def send(self, pdu: Pdu) -> None:
        """Write one PDU; raises `PDUError` (writing nothing) if it cannot be encoded."""
        if simulator_faults.held_back(self._simulator, self, pdu):
            return
        data = encode(pdu)
        self._log.debug("simulator.pdu_sent", command=pdu.command,
                        sequence=pdu.sequence, status=pdu.status)
        self.transport.write(data)

    # -- the simulator calls this ---------------------------------------------

    def deliver(self, params: Mapping[str, Any]) -> defer.Deferred:
        """Send a deliver_sm; fires with the command_status of its answer."""
        self._sequence = self._sequence % _MAX_SEQUENCE + 1
        self.send(Pdu("deliver_sm", self._sequence, params=params))
        deferred = self._delivers[self._sequence] = defer.Deferred()
        self._log.info("simulator.deliver_sent", sequence=self._sequence,
                       source_addr=params.get("source_addr"),
                       destination_addr=params.get("destination_addr"))
        return deferred

    # -- handlers ---------------------------------------------------------------

    def _frame_received(self, frame: bytes) -> None:
        try:
            pdu = decode(frame)
        except PDUError as error:
            if error.fatal:
                self._drop(str(error))
                return
            self._log.warning("simulator.pdu_rejected", error=str(error), status=error.status)
            self.send(Pdu("generic_nack", error.sequence or 0, error.status))
            return
        self.pdu_received(pdu)

    def _bind_received(self, pdu: Pdu) -> None:
        system_id = pdu.get("system_id", "")
        if self.is_bound:
            status = Status.ALREADY_BOUND
        else:
            status = self._simulator._authenticate(system_id, pdu.get("password", ""))
        if status != Status.OK:
            self._log.warning("simulator.bind_refused", system_id=system_id, status=status)
            self.send(pdu.response(status))
            return
        self.mode, self.system_id = _BIND_MODES[pdu.command], system_id
        self._log = self._log.bind(system_id=system_id)
        # Answer before telling the simulator, so that anything waiting on
        # wait_bound() writes its deliver_sm after the bind_resp.
        self.send(pdu.response(system_id=SYSTEM_ID))
        self._log.info("simulator.bound", mode=self.mode)
        self._simulator._bound()

    def _submit_received(self, pdu: Pdu) -> None:
        if self.mode not in _SUBMITTING:
            self._refuse(pdu, Status.INCORRECT_BIND_STATUS)
            return
        submitted = self._simulator._new_submitted(pdu, self.system_id)
        self.send(pdu.response(message_id=submitted.message_id))
        # Never the text: an MT may carry a confirmation or voucher code.
        self._log.info("simulator.submit_received", message_id=submitted.message_id,
                       destination_addr=submitted.destination_addr,
                       length=len(submitted.text))
        self._simulator._record(submitted)

    def _response_received(self, pdu: Pdu) -> None:
        if pdu.command == "unbind_resp":      # to `Simulator.unbind`: goodbye said
            self._close()
            return
        deferred = self._delivers.pop(pdu.sequence, None)
        if deferred is None:
            self._log.warning("simulator.unexpected_response", command=pdu.command,
                              sequence=pdu.sequence, status=pdu.status)
        elif pdu.command == "deliver_sm_resp":
            self._simulator.deliver_responses.append(pdu.status)
            if self._simulator._lose_response():
                self._log.info("simulator.deliver_resp_lost", sequence=pdu.sequence)
                deferred.errback(ResponseLost(f"deliver_sm_resp {pdu.sequence} lost"))
                return
            self._log.info("simulator.deliver_answered", sequence=pdu.sequence,
                           status=pdu.status)
            deferred.callback(pdu.status)
        else:
            self._log.warning("simulator.deliver_refused", command=pdu.command,
                              sequence=pdu.sequence, status=pdu.status)
            deferred.errback(DeliverRefused(
                f"deliver_sm {pdu.sequence} answered with {pdu.command}", pdu.status))

    def _refuse(self, request: Pdu, status: int) -> None:
        if request.command in _NO_RESPONSE:
            self.send(Pdu("generic_nack", request.sequence, status))
        else:
            self.send(request.response(status))

    def _drop(self, reason: str) -> None:
        # Framing is lost: we cannot know where the next PDU starts.
        self._log.warning("simulator.framing_lost", error=reason)
        self._close()

    @property
    def closing(self) -> bool:
        return self._closing

    def next_sequence(self) -> int:
        self._sequence = self._sequence % _MAX_SEQUENCE + 1
        return self._sequence

    def abort(self) -> None:
        """Cut the link without a word, as a failing network does."""
        self._closing = True
        self.mode = None
        self.transport.abortConnection()

    def _close(self) -> None:
        self._closing = True
        self.mode = None
        self.transport.loseConnection()


class _SmscFactory(Factory):
    def __init__(self, simulator: "Simulator"):
        self._simulator = simulator

    def buildProtocol(self, addr):
        protocol = SmscProtocol(self._simulator)
        protocol.factory = self
        self._simulator._connections.append(protocol)
        return protocol
