"""A small SMSC that speaks real SMPP 3.4 over loopback TCP.

Start at `Simulator`: give it accounts, `listen()`, point a gateway bind at
``simulator.port``, then `Simulator.deliver` MOs to the gateway and read the
MTs it submits from `Simulator.submitted` or `Simulator.next_mt`.  It serves
``jifen demo``, the integration tests and operators' own tests.

It is the SMSC side, so unlike the gateway's ESME (session.py plus
protocol.py) it is one plain Twisted protocol: its rules are few (check the
bind, answer every request, number the MTs) and it only ever runs over a
real transport.  Every byte it reads or writes still goes through codec.py,
so the project has one codec.

Fault injection (dropping after N PDUs, throttling, delayed answers,
redelivery, malformed bytes, delivery receipts) is meant to wrap the two
narrow paths every PDU takes: `SmscProtocol.pdu_received` in and
`SmscProtocol.send` out.  The handlers behind them stay well-behaved.
Redelivery (`redeliver_after`, `lose_deliver_responses`) wraps `deliver`;
long MOs and receipts are built in simulator_mo.py.
"""

from __future__ import annotations

from typing import Any, Mapping

import structlog
from twisted.internet import defer, task

from gateway.smpp import simulator_mo
from gateway.smpp import text as smstext
from gateway.smpp.codec import Pdu, Status
from gateway.smpp.simulator_faults import Faults, FaultInjection
from gateway.smpp.simulator_link import (
    SYSTEM_ID, ConnectionGone, DeliverRefused, NotBound, ResponseLost, SimulatorError,
    SmscProtocol, Submitted, _SmscFactory)
from gateway.smpp.simulator_mo import ReceiptPlan

__all__ = [
    "Simulator", "Submitted", "SmscProtocol", "SYSTEM_ID",
    "SimulatorError", "NotBound", "DeliverRefused", "ConnectionGone", "ResponseLost",
    "ReceiptPlan", "Faults",
]

log = structlog.get_logger(__name__)

# codec.Status lists only what the gateway reacts to; ESME_RINVSYSID is
# something only an SMSC says.
_INVALID_SYSTEM_ID = 0x0F
_UDHI = 0x40



class Simulator(simulator_mo.MoTraffic, FaultInjection):
    """The SMSC: accounts, listening port, MOs out, MTs in."""

    def __init__(self, accounts: Mapping[str, str], clock=None):
        if clock is None:
            from twisted.internet import reactor as clock
        self.accounts = dict(accounts)
        #: For timed faults: redelivery, automatic receipts.
        self.clock = clock
        self.submitted: list[Submitted] = []
        self._connections: list[SmscProtocol] = []
        self._listening = None
        self._message_ids = 0
        self._turn = 0
        self._mt_queue = defer.DeferredQueue()
        self._bound_waiters: list[tuple[int, defer.Deferred]] = []
        self._submit_waiters: list[tuple[int, defer.Deferred]] = []
        #: Redeliver a deliver_sm left unanswered (answer lost, connection
        #: gone, no receiver bound) or answered ESME_RX_T_APPN after this many
        #: seconds on `clock`, up to `redelivery_limit` times; None: never.
        self.redeliver_after: float | None = None
        self.redelivery_limit = 10
        #: The command_status of every deliver_sm_resp, lost ones included.
        self.deliver_responses: list[int] = []
        #: How submit_sm_resp writes message ids: "decimal", "hex" or "HEX".
        self.message_id_style = "decimal"
        #: Receipts sent by themselves for every MT taken (None: only `send_receipt`).
        self.auto_receipts: ReceiptPlan | None = None
        self._responses_to_lose = 0
        self._init_faults()                 # simulator_faults.py: faults, received, acknowledged
        #: Called with each MT first; one that returns True takes it (simulator_ussd.py's screens).
        self.submit_listeners: list = []

    def listen(self, reactor=None, port: int = 0) -> int:
        """Listen on 127.0.0.1 (``port`` 0 picks a free one); returns the port."""
        if self._listening is not None:
            raise RuntimeError(f"already listening on port {self.port}")
        if reactor is None:
            from twisted.internet import reactor
        self._listening = reactor.listenTCP(port, _SmscFactory(self), interface="127.0.0.1")
        log.info("simulator.listening", port=self.port)
        return self.port

    def stop(self) -> defer.Deferred:
        """Stop listening and drop every connection; fires once all are gone."""
        waits = [protocol.lost for protocol in self._connections]
        for protocol in list(self._connections):
            protocol._close()
        if self._listening is not None:
            waits.append(defer.maybeDeferred(self._listening.stopListening))
            self._listening = None
        return defer.gatherResults(waits, consumeErrors=True).addCallback(lambda _: None)

    @property
    def port(self) -> int | None:
        """The listening port, or None when not listening."""
        return self._listening.getHost().port if self._listening is not None else None

    @property
    def bound(self) -> int:
        """Number of currently bound sessions, in any mode."""
        return sum(1 for protocol in self._connections if protocol.is_bound)

    def wait_bound(self, count: int = 1) -> defer.Deferred:
        """Fire once ``count`` sessions that can take deliver_sm are bound.

        Only receivers and transceivers count, because what a caller waits
        for is a gateway that `deliver` can reach.
        """
        deferred = defer.Deferred()
        self._bound_waiters.append((count, deferred))
        self._bound()
        return deferred

    def deliver(self, source_addr: str, destination_addr: str, text: str | None = None, *,
                short_message: bytes | None = None, data_coding: int | None = None,
                **params) -> defer.Deferred:
        """Send an MO as deliver_sm to a bound receiver (round-robin if several).

        ``text`` is encoded with `text.encode` (GSM-7 when it fits, else
        UCS-2) unless ``short_message`` is given; ``data_coding=8`` forces
        UCS-2.  Other keywords (esm_class, service_type, ussd_service_op,
        its_session_info, message_payload, ...) go into the PDU as they are.
        Fires with the deliver_sm_resp's command_status; fails with
        `NotBound`, `DeliverRefused`, `ConnectionGone` or `PDUError`.
        Arguments that make no message (text and short_message both, text
        the data_coding cannot carry) raise at once: that is the caller's bug.
        """
        params = _mo_params(source_addr, destination_addr, text, short_message,
                            data_coding, params)
        return self._deliver_params(params, 1)

    def _deliver_params(self, params, attempt: int) -> defer.Deferred:
        receivers = [protocol for protocol in self._connections if protocol.can_receive]
        if receivers:
            self._turn += 1
            answered = defer.maybeDeferred(receivers[self._turn % len(receivers)].deliver, params)
        else:
            answered = defer.fail(NotBound("no receiver or transceiver session is bound"))
        if self.redeliver_after is None or attempt > self.redelivery_limit:
            return answered

        def again(_):
            log.info("simulator.redelivering", attempt=attempt + 1)
            return task.deferLater(self.clock, self.redeliver_after, self._deliver_params,
                                   params, attempt + 1)

        def answered_with(status):
            return again(None) if status == Status.TEMPORARY_APP_ERROR else status

        answered.addCallback(answered_with)
        answered.addErrback(lambda failure: again(failure.trap(
            NotBound, ConnectionGone, ResponseLost)))
        return answered

    def lose_deliver_responses(self, count: int = 1) -> None:
        """Drop the next ``count`` deliver_sm_resp as if lost on the wire."""
        self._responses_to_lose += count

    def _lose_response(self) -> bool:
        if self._responses_to_lose <= 0:
            return False
        self._responses_to_lose -= 1
        return True

    def wait_for_submits(self, count: int) -> defer.Deferred:
        """Fire with a copy of `submitted` once it holds ``count`` MTs."""
        deferred = defer.Deferred()
        self._submit_waiters.append((count, deferred))
        self._wake_submit_waiters()
        return deferred

    def next_mt(self) -> defer.Deferred:
        """Fire with the next MT not yet taken by `next_mt` (a queue)."""
        return self._mt_queue.get()

    def _authenticate(self, system_id: str, password: str) -> int:
        if system_id not in self.accounts:
            return _INVALID_SYSTEM_ID
        if password != self.accounts[system_id]:
            return Status.INVALID_PASSWORD
        return Status.OK

    def _disconnected(self, protocol: SmscProtocol) -> None:
        self._connections.remove(protocol)

    def _new_submitted(self, pdu: Pdu, system_id: str) -> Submitted:
        self._message_ids += 1
        return Submitted(
            message_id=simulator_mo.render_id(self._message_ids, self.message_id_style),
            source_addr=pdu.get("source_addr", ""),
            destination_addr=pdu.get("destination_addr", ""),
            data_coding=pdu.get("data_coding", 0),
            short_message=pdu.get("short_message", b""),
            text=_mt_text(pdu.params),
            params=pdu.params,
            system_id=system_id,
        )

    def _record(self, submitted: Submitted) -> None:
        if any(listener(submitted) for listener in self.submit_listeners):
            return
        self.submitted.append(submitted)
        self._mt_queue.put(submitted)
        self._wake_submit_waiters()
        self._send_auto_receipts(submitted)

    def _bound(self) -> None:
        """A session bound, or someone started waiting for one."""
        receivers = sum(1 for protocol in self._connections if protocol.can_receive)
        _fire_reached(self._bound_waiters, receivers, lambda: receivers)

    def _wake_submit_waiters(self) -> None:
        _fire_reached(self._submit_waiters, len(self.submitted), lambda: list(self.submitted))


def _fire_reached(waiters, level, result):
    """Fire and remove the waiters whose count ``level`` has reached.

    The list is updated before any callback runs, because a callback may
    well start waiting again.
    """
    reached = [deferred for count, deferred in waiters if level >= count]
    waiters[:] = [(count, deferred) for count, deferred in waiters if level < count]
    for deferred in reached:
        deferred.callback(result())


def _mo_params(source_addr, destination_addr, text, short_message, data_coding, extra):
    if text is not None and short_message is not None:
        raise TypeError("deliver() takes text or short_message, not both")
    if text is not None:
        short_message, data_coding = _encode_text(text, data_coding)
    params = dict(source_addr=source_addr, destination_addr=destination_addr,
                  data_coding=data_coding or smstext.DC_SMSC_DEFAULT, **extra)
    if "message_payload" not in extra:      # smpplib refuses both in one PDU
        params["short_message"] = short_message or b""
    return params


def _encode_text(text: str, data_coding: int | None) -> tuple[bytes, int]:
    encoded = smstext.encode(text)
    if data_coding is None or data_coding == encoded.data_coding:
        return encoded.payload, encoded.data_coding
    if data_coding == smstext.DC_UCS2:
        # Handsets send plain Latin text as UCS-2 too; text.encode only
        # picks UCS-2 when it must, so this case is done here.
        return text.encode("utf-16-be"), data_coding
    raise ValueError(f"cannot encode {text!r} as data_coding 0x{data_coding:02X}; "
                     "pass short_message instead")


def _mt_text(params: Mapping[str, Any]) -> str:
    """The text of a submit_sm, or "" when it is not text (binary, bad UDH)."""
    body = params.get("short_message") or params.get("message_payload") or b""
    try:
        if params.get("esm_class", 0) & _UDHI:
            _, body = smstext.strip_udh(body)
        return smstext.decode(body, params.get("data_coding", 0))
    except smstext.TextError as error:
        log.warning("simulator.undecodable_submit", error=str(error))
        return ""
