"""The ESME side of one SMPP 3.4 session, without I/O.

Feed it what the SMSC sent with `data_received(bytes, now)` and it returns
`Event` values; ask it to bind, submit, acknowledge or unbind and it queues
PDU bytes that `data_to_send()` hands over.  Time is a parameter: `tick(now)`
fires whatever timers are due and `next_deadline()` says when to call it next.
The Twisted adapter (protocol.py) only moves bytes and timers.

States and what moves between them::

    state      on                                   next        events
    ---------  -----------------------------------  ----------  ----------------------
    OPEN       start()                              BINDING     (bind_* queued)
    BINDING    bind_*_resp ok                       BOUND       Bound
    BINDING    bind_*_resp error / timeout          CLOSED      BindRefused
    BOUND      deliver_sm                           BOUND       MessageReceived
    BOUND      submit_sm_resp / generic_nack        BOUND       SubmitAnswered
    BOUND      submit_sm unanswered in time         BOUND       SubmitTimedOut
    BOUND      enquire_link_resp missing in time    CLOSED      LinkLost
    BOUND      unbind from the SMSC                 CLOSED      Unbound (unbind_resp queued)
    BOUND      unbind()                             UNBINDING   (unbind queued)
    UNBINDING  unbind_resp / timeout                CLOSED      Unbound
    any        bytes that break framing             CLOSED      LinkLost

In every state an enquire_link is answered and an unknown command gets a
generic_nack.  CLOSED means: drop the connection; a new session is built
for the next one.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Mapping

from gateway.smpp.codec import Pdu, PDUError, Status, decode, encode, pdu_length

__all__ = [
    "State", "EsmeSession", "SessionError",
    "Event", "Bound", "BindRefused", "MessageReceived", "SubmitAnswered",
    "SubmitTimedOut", "LinkLost", "Unbound", "PduRejected",
]


class State(enum.Enum):
    OPEN = "open"
    BINDING = "binding"
    BOUND = "bound"
    UNBINDING = "unbinding"
    CLOSED = "closed"


class SessionError(RuntimeError):
    """A request the session cannot take in its current state."""


class Event:
    """Base of everything `EsmeSession` reports."""


@dataclass(frozen=True)
class Bound(Event):
    system_id: str


@dataclass(frozen=True)
class BindRefused(Event):
    status: int | None          # None: the SMSC never answered


@dataclass(frozen=True)
class MessageReceived(Event):
    """A deliver_sm; answer it with `EsmeSession.acknowledge`."""
    pdu: Pdu


@dataclass(frozen=True)
class SubmitAnswered(Event):
    sequence: int
    status: int
    message_id: str | None


@dataclass(frozen=True)
class SubmitTimedOut(Event):
    sequence: int


@dataclass(frozen=True)
class LinkLost(Event):
    reason: str


@dataclass(frozen=True)
class Unbound(Event):
    by_peer: bool


@dataclass(frozen=True)
class PduRejected(Event):
    """The SMSC sent something we could not read; we answered generic_nack."""
    reason: str
    status: int


_BIND_COMMANDS = {
    "transceiver": "bind_transceiver",
    "transmitter": "bind_transmitter",
    "receiver": "bind_receiver",
}
_MAX_SEQUENCE = 0x7FFFFFFF


class EsmeSession:
    """One bind's protocol state: sequence numbers, window, timers."""

    def __init__(self, *, system_id: str, password: str, system_type: str = "",
                 mode: str = "transceiver", enquire_link_interval: float = 30.0,
                 response_timeout: float = 10.0, window: int = 10, now: float = 0.0):
        self.state = State.OPEN
        self._bind = Pdu(_BIND_COMMANDS[mode], 0, params=dict(
            system_id=system_id, password=password, system_type=system_type,
            addr_ton=0, addr_npi=0, address_range=""))
        self._enquire_interval = enquire_link_interval
        self._timeout = response_timeout
        self.window = window
        self._sequence = 0
        self._pending: dict[int, tuple[str, float]] = {}
        self._buffer = bytearray()
        self._out = bytearray()
        self._last_heard = now

    # -- requests ---------------------------------------------------------

    def start(self, now: float) -> None:
        """Queue the bind; call once the connection is up."""
        self._require(State.OPEN)
        self._send_request(self._bind.command, dict(self._bind.params), now)
        self.state = State.BINDING

    @property
    def can_submit(self) -> bool:
        return self.state is State.BOUND and self.in_flight < self.window

    @property
    def in_flight(self) -> int:
        return sum(1 for command, _ in self._pending.values() if command == "submit_sm")

    def submit(self, params: Mapping[str, Any], now: float) -> int:
        """Queue a submit_sm and return its sequence number."""
        if not self.can_submit:
            raise SessionError(f"cannot submit in state {self.state.value} "
                               f"with {self.in_flight}/{self.window} in flight")
        return self._send_request("submit_sm", params, now)

    def acknowledge(self, request: Pdu, status: int = Status.OK) -> None:
        """Answer a deliver_sm the application has taken (or refused)."""
        params = {"message_id": ""} if status == Status.OK else {}
        self._write(request.response(status, **params))

    def unbind(self, now: float) -> None:
        """Start a clean goodbye; `Unbound` follows."""
        if self.state is State.BOUND:
            self._send_request("unbind", {}, now)
            self.state = State.UNBINDING
        elif self.state in (State.OPEN, State.BINDING):
            self.state = State.CLOSED

    def connection_lost(self) -> None:
        """The transport is gone: nothing more is sent, no timer is wanted."""
        self.state = State.CLOSED
        self._pending.clear()
        self._out.clear()

    def data_to_send(self) -> bytes:
        data, self._out = bytes(self._out), bytearray()
        return data

    # -- what arrives -----------------------------------------------------

    def data_received(self, data: bytes, now: float) -> list[Event]:
        self._buffer += data
        self._last_heard = now
        events: list[Event] = []
        while self.state is not State.CLOSED:
            try:
                length = pdu_length(self._buffer)
            except PDUError as error:
                return events + self._lose(str(error))
            if length is None or len(self._buffer) < length:
                break
            frame = bytes(self._buffer[:length])
            del self._buffer[:length]
            events.extend(self._frame_received(frame, now))
        return events

    def _frame_received(self, frame: bytes, now: float) -> list[Event]:
        try:
            pdu = decode(frame)
        except PDUError as error:
            if error.fatal:
                return self._lose(str(error))
            self._write(Pdu("generic_nack", error.sequence or 0, error.status))
            return [PduRejected(str(error), error.status)]
        if pdu.is_response:
            return self._response_received(pdu)
        return self._request_received(pdu, now)

    def _request_received(self, pdu: Pdu, now: float) -> list[Event]:
        if pdu.command == "enquire_link":
            self._write(pdu.response())
            return []
        if pdu.command == "unbind":
            self._write(pdu.response())
            self.state = State.CLOSED
            return [Unbound(by_peer=True)]
        if pdu.command == "deliver_sm":
            if self.state not in (State.BOUND, State.UNBINDING):
                self._write(pdu.response(Status.INCORRECT_BIND_STATUS))
                return []
            return [MessageReceived(pdu)]
        self._write(Pdu("generic_nack", pdu.sequence, Status.INVALID_COMMAND))
        return [PduRejected(f"unsupported request {pdu.command}", Status.INVALID_COMMAND)]

    def _response_received(self, pdu: Pdu) -> list[Event]:
        pending = self._pending.pop(pdu.sequence, None)
        if pending is None:
            return []           # late answer to something we already gave up on
        command, _ = pending
        if command.startswith("bind_"):
            if pdu.status == Status.OK:
                self.state = State.BOUND
                return [Bound(pdu.get("system_id", ""))]
            self.state = State.CLOSED
            return [BindRefused(pdu.status)]
        if command == "submit_sm":
            return [SubmitAnswered(pdu.sequence, pdu.status, pdu.get("message_id") or None)]
        if command == "unbind":
            self.state = State.CLOSED
            return [Unbound(by_peer=False)]
        return []               # enquire_link_resp: hearing it was the point

    # -- time -------------------------------------------------------------

    def next_deadline(self) -> float | None:
        if self.state is State.CLOSED:
            return None
        deadlines = [deadline for _, deadline in self._pending.values()]
        if self.state is State.BOUND and not self._probing():
            deadlines.append(self._last_heard + self._enquire_interval)
        return min(deadlines, default=None)

    def tick(self, now: float) -> list[Event]:
        events: list[Event] = []
        for sequence, (command, deadline) in sorted(self._pending.items()):
            if deadline > now or self.state is State.CLOSED:
                continue
            del self._pending[sequence]
            events.extend(self._timed_out(command, sequence))
        if (self.state is State.BOUND and now >= self._last_heard + self._enquire_interval
                and not self._probing()):
            self._send_request("enquire_link", {}, now)
            self._last_heard = now
        return events

    def _timed_out(self, command: str, sequence: int) -> list[Event]:
        if command == "submit_sm":
            return [SubmitTimedOut(sequence)]
        if command.startswith("bind_"):
            self.state = State.CLOSED
            return [BindRefused(None)]
        if command == "unbind":
            self.state = State.CLOSED
            return [Unbound(by_peer=False)]
        return self._lose("no answer to enquire_link")

    def _probing(self) -> bool:
        return any(command == "enquire_link" for command, _ in self._pending.values())

    # -- plumbing ---------------------------------------------------------

    def _lose(self, reason: str) -> list[Event]:
        self.state = State.CLOSED
        return [LinkLost(reason)]

    def _send_request(self, command: str, params: Mapping[str, Any], now: float) -> int:
        self._sequence = self._sequence % _MAX_SEQUENCE + 1
        self._write(Pdu(command, self._sequence, Status.OK, params))
        self._pending[self._sequence] = (command, now + self._timeout)
        return self._sequence

    def _write(self, pdu: Pdu) -> None:
        self._out += encode(pdu)

    def _require(self, state: State) -> None:
        if self.state is not state:
            raise SessionError(f"expected state {state.value}, in {self.state.value}")
