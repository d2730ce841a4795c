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
    BOUND      ... ESME_RTHROTTLED / ESME_RMSGQFUL  BOUND       SubmitAnswered, SendingPaused
    BOUND      submit_sm unanswered in time         BOUND       SubmitTimedOut
    BOUND      ... and still unanswered after grace BOUND       SubmitAbandoned
    BOUND      enquire_link_resp missing in time    UNBINDING   LinkLost (unbind queued)
    BOUND      unbind from the SMSC                 CLOSED      Unbound (unbind_resp queued)
    BOUND      unbind()                             UNBINDING   (unbind queued)
    UNBINDING  unbind_resp / unbind_timeout         CLOSED      Unbound
    any        bytes that break framing             CLOSED      LinkLost (unbind queued if bound)

In every state an enquire_link is answered and an unknown command gets a
generic_nack; in UNBINDING, answers to earlier submits and deliver_sm still
count.  CLOSED means: drop the connection; a new session is built for the
next one.  The session never closes a bound connection without an unbind
first, or the SMSC may refuse the next bind with ESME_RALYBND.

Sending is paced three ways, all read by `submit_slots(now)`: the window
(at most ``window`` submit_sm unanswered), the operator's TPS (a token
bucket, rate.py) and throttling (ESME_RTHROTTLED or ESME_RMSGQFUL pause
sending for ``throttle_delay`` seconds, doubling while the SMSC keeps
throttling what is sent after each pause, up to ``throttle_max_delay``).
`resume_at(now)` says when time alone will open a slot again.

A submit_sm unanswered after ``response_timeout`` frees its window slot
(`SubmitTimedOut`), but its sequence number is kept for a grace period of
``LATE_ANSWER_GRACE`` response timeouts: an answer within it is reported as
``SubmitAnswered(late=True)``, so a message the SMSC did take is not sent
again.  Only after the grace is it `SubmitAbandoned`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Mapping

from gateway.smpp.codec import Pdu, PDUError, Status, decode, encode, pdu_length
from gateway.smpp.rate import TokenBucket
from gateway.smpp.statuses import PAUSING

__all__ = [
    "State", "EsmeSession", "SessionError", "LATE_ANSWER_GRACE",
    "Event", "Bound", "BindRefused", "MessageReceived", "SubmitAnswered",
    "SubmitTimedOut", "SubmitAbandoned", "SendingPaused", "ResponseUnmatched",
    "LinkLost", "Unbound", "PduRejected",
]

#: How many response timeouts a late submit_sm_resp is still recognised for.
LATE_ANSWER_GRACE = 2


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
    message_id: str | None      # None: absent or empty, which SMSCs do on errors
    late: bool = False          # after SubmitTimedOut, within the grace period


@dataclass(frozen=True)
class SubmitTimedOut(Event):
    """No answer in time: the slot is free, a late answer still counts."""
    sequence: int


@dataclass(frozen=True)
class SubmitAbandoned(Event):
    """No answer within the grace either: treat the submit_sm as unanswered."""
    sequence: int


@dataclass(frozen=True)
class SendingPaused(Event):
    """The SMSC throttled us; `submit_slots` is 0 until ``until``."""
    status: int
    until: float


@dataclass(frozen=True)
class ResponseUnmatched(Event):
    """A response to nothing we are waiting for (too late, or never asked)."""
    command: str
    sequence: int
    status: int


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


@dataclass
class _Submit:
    sent_at: float
    deadline: float


class EsmeSession:
    """One bind's protocol state: sequence numbers, window, pacing, timers."""

    def __init__(self, *, system_id: str, password: str, system_type: str = "",
                 mode: str = "transceiver", enquire_link_interval: float = 30.0,
                 response_timeout: float = 10.0, window: int = 10, tps: float | None = None,
                 throttle_delay: float = 1.0, throttle_max_delay: float = 30.0,
                 unbind_timeout: float = 2.0, now: float = 0.0):
        self.state = State.OPEN
        self._bind = Pdu(_BIND_COMMANDS[mode], 0, params=dict(
            system_id=system_id, password=password, system_type=system_type,
            addr_ton=0, addr_npi=0, address_range=""))
        self.transmits = mode != "receiver"
        self._enquire_interval = enquire_link_interval
        self._timeout = response_timeout
        self._unbind_timeout = unbind_timeout
        self.window = window
        self._bucket = TokenBucket(tps, now) if tps else None
        self._throttle_delay = throttle_delay
        self._throttle_max_delay = throttle_max_delay
        self._paused_since = self._paused_until = float("-inf")
        self._pause_delay = 0.0
        self._sequence = 0
        self._requests: dict[int, tuple[str, float]] = {}     # bind, unbind, enquire_link
        self._submits: dict[int, _Submit] = {}
        self._late: dict[int, float] = {}                      # sequence -> forget at
        self._buffer = bytearray()
        self._out = bytearray()
        self._last_heard = now

    # -- requests ---------------------------------------------------------

    def start(self, now: float) -> None:
        """Queue the bind; call once the connection is up."""
        self._require(State.OPEN)
        self._send_request(self._bind.command, dict(self._bind.params), now, self._timeout)
        self.state = State.BINDING

    @property
    def in_flight(self) -> int:
        """submit_sm sent and neither answered nor timed out."""
        return len(self._submits)

    @property
    def longest_wait(self) -> float:
        """The longest a submit_sm can wait for its answer, grace included."""
        return self._timeout * (1 + LATE_ANSWER_GRACE)

    def submit_slots(self, now: float) -> int:
        """How many submit_sm may be sent at ``now``."""
        if self.state is not State.BOUND or not self.transmits or now < self._paused_until:
            return 0
        free = self.window - len(self._submits)
        if self._bucket is not None and free > 0:
            free = min(free, self._bucket.available(now))
        return max(0, free)

    def resume_at(self, now: float) -> float | None:
        """When time alone opens a slot; None if only an event can (an answer, a bind)."""
        if (self.state is not State.BOUND or not self.transmits
                or len(self._submits) >= self.window):
            return None
        at = max(now, self._paused_until)
        if self._bucket is not None:
            at = max(at, self._bucket.next_token_at(now))
        return at

    def submit(self, params: Mapping[str, Any], now: float) -> int:
        """Queue a submit_sm and return its sequence number."""
        if self.submit_slots(now) < 1:
            raise SessionError(f"cannot submit in state {self.state.value} with "
                               f"{self.in_flight}/{self.window} in flight"
                               f"{' (paused)' if now < self._paused_until else ''}")
        if self._bucket is not None:
            self._bucket.take(now)
        sequence = self._next_sequence()
        self._write(Pdu("submit_sm", sequence, Status.OK, params))
        self._submits[sequence] = _Submit(now, now + self._timeout)
        return sequence

    def acknowledge(self, request: Pdu, status: int = Status.OK) -> None:
        """Answer a deliver_sm the application has taken (or refused)."""
        params = {"message_id": ""} if status == Status.OK else {}
        self._write(request.response(status, **params))

    def unbind(self, now: float) -> None:
        """Start a clean goodbye; `Unbound` follows."""
        if self.state is State.BOUND:
            self._send_request("unbind", {}, now, self._unbind_timeout)
            self.state = State.UNBINDING
        elif self.state in (State.OPEN, State.BINDING):
            self.state = State.CLOSED

    def connection_lost(self) -> None:
        """The transport is gone: nothing more is sent, no timer is wanted."""
        self.state = State.CLOSED
        self._requests.clear()
        self._submits.clear()
        self._late.clear()
        self._out.clear()

    def data_to_send(self) -> bytes:
        data, self._out = bytes(self._out), bytearray()
        return data

    # -- what arrives -----------------------------------------------------

    def data_received(self, data: bytes, now: float) -> list[Event]:
        if self.state is State.CLOSED:
            return []
        self._buffer += data
        self._last_heard = now
        events: list[Event] = []
        while self.state is not State.CLOSED:
            try:
                length = pdu_length(self._buffer)
            except PDUError as error:
                return events + self._framing_lost(str(error))
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
                return self._framing_lost(str(error))
            self._write(Pdu("generic_nack", error.sequence or 0, error.status))
            return [PduRejected(str(error), error.status)]
        if pdu.is_response:
            return self._response_received(pdu, now)
        return self._request_received(pdu)

    def _request_received(self, pdu: Pdu) -> list[Event]:
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

    def _response_received(self, pdu: Pdu, now: float) -> list[Event]:
        if pdu.sequence in self._submits or pdu.sequence in self._late:
            if pdu.command in ("submit_sm_resp", "generic_nack"):
                return self._submit_answered(pdu, now)
        elif pdu.sequence in self._requests:
            command, _ = self._requests[pdu.sequence]
            if pdu.command in (command + "_resp", "generic_nack"):
                del self._requests[pdu.sequence]
                return self._request_answered(command, pdu)
        return [ResponseUnmatched(pdu.command, pdu.sequence, pdu.status)]

    def _submit_answered(self, pdu: Pdu, now: float) -> list[Event]:
        submit = self._submits.pop(pdu.sequence, None)
        late = submit is None
        if late:
            del self._late[pdu.sequence]
        events: list[Event] = [SubmitAnswered(pdu.sequence, pdu.status,
                                              pdu.get("message_id") or None, late)]
        if pdu.status in PAUSING:
            events.extend(self._pause(pdu.status, now, submit))
        elif pdu.status == Status.OK:
            self._pause_delay = 0.0
        return events

    def _pause(self, status: int, now: float, submit: _Submit | None) -> list[Event]:
        # Every submit_sm already in flight when the SMSC started throttling
        # will come back throttled too: only what we sent after the last
        # pause began says the SMSC still wants us slower.  (Nothing can be
        # sent at the very moment a pause begins, hence <=.)
        if submit is not None and submit.sent_at <= self._paused_since:
            return []
        self._pause_delay = min(self._throttle_max_delay,
                                self._pause_delay * 2 or self._throttle_delay)
        self._paused_since, self._paused_until = now, now + self._pause_delay
        return [SendingPaused(status, self._paused_until)]

    def _request_answered(self, command: str, pdu: Pdu) -> list[Event]:
        if command.startswith("bind_"):
            if pdu.status == Status.OK:
                self.state = State.BOUND
                return [Bound(pdu.get("system_id", ""))]
            self.state = State.CLOSED
            return [BindRefused(pdu.status)]
        if command == "unbind":
            self.state = State.CLOSED
            return [Unbound(by_peer=False)]
        return []               # enquire_link_resp: hearing it was the point

    # -- time -------------------------------------------------------------

    def next_deadline(self) -> float | None:
        if self.state is State.CLOSED:
            return None
        deadlines = [deadline for _, deadline in self._requests.values()]
        deadlines += [submit.deadline for submit in self._submits.values()]
        deadlines += self._late.values()
        if self.state is State.BOUND and not self._probing():
            deadlines.append(self._last_heard + self._enquire_interval)
        return min(deadlines, default=None)

    def tick(self, now: float) -> list[Event]:
        if self.state is State.CLOSED:
            return []
        events: list[Event] = []
        for sequence, submit in sorted(self._submits.items()):
            if submit.deadline <= now:
                del self._submits[sequence]
                self._late[sequence] = submit.deadline + self._timeout * LATE_ANSWER_GRACE
                events.append(SubmitTimedOut(sequence))
        for sequence, forget_at in sorted(self._late.items()):
            if forget_at <= now:
                del self._late[sequence]
                events.append(SubmitAbandoned(sequence))
        for sequence, (command, deadline) in sorted(self._requests.items()):
            if deadline <= now and self.state is not State.CLOSED:
                del self._requests[sequence]
                events.extend(self._timed_out(command, now))
        if (self.state is State.BOUND and now >= self._last_heard + self._enquire_interval
                and not self._probing()):
            self._send_request("enquire_link", {}, now, self._timeout)
            self._last_heard = now
        return events

    def _timed_out(self, command: str, now: float) -> list[Event]:
        if command.startswith("bind_"):
            self.state = State.CLOSED
            return [BindRefused(None)]
        if command == "unbind":
            self.state = State.CLOSED
            return [Unbound(by_peer=False)]
        if self.state is State.BOUND:           # enquire_link: the link is dead
            self._send_request("unbind", {}, now, self._unbind_timeout)
            self.state = State.UNBINDING
            return [LinkLost("no answer to enquire_link")]
        return []                               # already saying goodbye

    def _probing(self) -> bool:
        return any(command == "enquire_link" for command, _ in self._requests.values())

    # -- plumbing ---------------------------------------------------------

    def _framing_lost(self, reason: str) -> list[Event]:
        # We cannot read the SMSC any more, but it may still read us: say
        # goodbye without waiting for an answer we could not find.
        if self.state in (State.BOUND, State.UNBINDING):
            self._write(Pdu("unbind", self._next_sequence()))
        self.state = State.CLOSED
        return [LinkLost(reason)]

    def _send_request(self, command: str, params: Mapping[str, Any], now: float,
                      timeout: float) -> int:
        sequence = self._next_sequence()
        self._write(Pdu(command, sequence, Status.OK, params))
        self._requests[sequence] = (command, now + timeout)
        return sequence

    def _next_sequence(self) -> int:
        self._sequence = self._sequence % _MAX_SEQUENCE + 1
        return self._sequence

    def _write(self, pdu: Pdu) -> None:
        self._out += encode(pdu)

    def _require(self, state: State) -> None:
        if self.state is not state:
            raise SessionError(f"expected state {state.value}, in {self.state.value}")
