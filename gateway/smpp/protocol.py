"""Twisted adapter for `EsmeSession`: moves bytes and timers, nothing else.

The protocol owns no protocol rules.  It feeds the transport's bytes to the
session, writes what the session queues, keeps one reactor timer set to the
session's next deadline, and turns session events into Deferreds and calls:

* ``bound`` fires once the bind is accepted (ClientService's
  ``prepareConnection`` waits on it, so a connection only counts once bound);
* every deliver_sm goes to ``receive(pdu)``, which returns the command_status
  to answer with, or a Deferred of it.  The answer is sent only when that
  Deferred fires, which is how "commit before acknowledge" is kept;
* `submit` returns a Deferred of the submit_sm_resp, which may come after
  the response timeout (a late answer within the session's grace) and fails
  with `SubmitTimeout` only once the grace is over, or with `ConnectionGone`;
* `submit_slots` and `resume_at` say how many submit_sm may go now and when
  time alone opens the next slot (TPS cap, throttling pause).
"""

from __future__ import annotations

from typing import Callable

import structlog
from twisted.internet import defer
from twisted.internet.protocol import Factory, Protocol

from gateway.smpp.codec import Pdu, Status
from gateway.smpp.session import (
    BindRefused, Bound, EsmeSession, LinkLost, MessageReceived, PduRejected,
    ResponseUnmatched, SendingPaused, State, SubmitAbandoned, SubmitAnswered,
    SubmitTimedOut, Unbound,
)

log = structlog.get_logger(__name__)


class BindFailed(Exception):
    """The SMSC refused the bind, or never answered it."""

    def __init__(self, status):
        super().__init__("bind refused" if status is not None else "bind unanswered",
                         status)
        self.status = status


class SubmitTimeout(Exception):
    """No submit_sm_resp in time, nor late: the message may or may not have been taken."""


class ConnectionGone(Exception):
    """The connection closed while a submit_sm was waiting for its answer."""


class EsmeProtocol(Protocol):
    def __init__(self, session_factory: Callable[[float], EsmeSession],
                 receive: Callable, clock, bind_name: str):
        self._session_factory = session_factory
        self._receive = receive
        self._clock = clock
        self.bind_name = bind_name
        self.session: EsmeSession | None = None
        self.bound = defer.Deferred()
        self._submits: dict[int, defer.Deferred] = {}
        self._unbound = defer.Deferred()
        self._timer = None
        self._deadline = None               # what self._timer is set for
        self._log = log.bind(bind=bind_name)

    # -- Twisted calls these ------------------------------------------------

    def connectionMade(self):
        # Small PDUs answered one by one: Nagle plus delayed ACKs would add
        # 40 ms to every round trip.
        if hasattr(self.transport, "setTcpNoDelay"):
            self.transport.setTcpNoDelay(True)
        self.session = self._session_factory(self._clock.seconds())
        self.session.start(self._clock.seconds())
        self._flush()

    def dataReceived(self, data):
        self._handle(self.session.data_received(data, self._clock.seconds()))

    def connectionLost(self, reason):
        if self.session is not None:
            self.session.connection_lost()
        self._cancel_timer()
        if not self.bound.called:
            self.bound.errback(BindFailed(None))
        for deferred in self._submits.values():
            deferred.errback(ConnectionGone(self.bind_name))
        self._submits.clear()
        if not self._unbound.called:
            self._unbound.callback(None)
        self._log.info("smpp.connection_lost", reason=reason.getErrorMessage())
        factory = getattr(self, "factory", None)
        if factory is not None:
            factory.lost(self)

    # -- the application calls these ----------------------------------------

    def submit_slots(self) -> int:
        """How many submit_sm may be sent now (window, TPS, throttling)."""
        if self.session is None:
            return 0
        return self.session.submit_slots(self._clock.seconds())

    def resume_at(self) -> float | None:
        """Reactor time at which a slot opens by itself; None: wait for an answer."""
        return None if self.session is None else self.session.resume_at(self._clock.seconds())

    def submit(self, params) -> defer.Deferred:
        """Send a submit_sm; fires with `SubmitAnswered`.

        Raises `SessionError` when no slot is free and `PDUError` when the
        params cannot be encoded; either way nothing was sent.
        """
        sequence = self.session.submit(params, self._clock.seconds())
        deferred = self._submits[sequence] = defer.Deferred()
        self._flush()
        return deferred

    def unbind(self) -> defer.Deferred:
        """Unbind and close; fires when the connection is gone."""
        self.session.unbind(self._clock.seconds())
        self._flush()
        self._close_if_done()
        return self._unbound

    # -- plumbing ------------------------------------------------------------

    def _handle(self, events):
        for event in events:
            self._dispatch(event)
        self._flush()
        self._close_if_done()

    def _dispatch(self, event):
        if isinstance(event, MessageReceived):
            self._deliver(event.pdu)
        elif isinstance(event, SubmitAnswered):
            if event.late:
                self._log.info("smpp.submit_answered_late", sequence=event.sequence,
                               status=event.status)
            deferred = self._submits.pop(event.sequence, None)
            if deferred is not None:
                deferred.callback(event)
        elif isinstance(event, SubmitTimedOut):
            # The Deferred waits on: a late answer still settles it.
            self._log.warning("smpp.submit_timed_out", sequence=event.sequence)
        elif isinstance(event, SubmitAbandoned):
            deferred = self._submits.pop(event.sequence, None)
            if deferred is not None:
                deferred.errback(SubmitTimeout(self.bind_name, event.sequence))
        elif isinstance(event, SendingPaused):
            self._log.warning("smpp.sending_paused", status=f"0x{event.status:02x}",
                              seconds=round(event.until - self._clock.seconds(), 3))
        elif isinstance(event, ResponseUnmatched):
            self._log.warning("smpp.response_unmatched", command=event.command,
                              sequence=event.sequence, status=event.status)
        elif isinstance(event, Bound):
            self._log.info("smpp.bound", smsc=event.system_id)
            self.bound.callback(self)
        elif isinstance(event, BindRefused):
            self._log.warning("smpp.bind_refused", status=event.status)
            self.bound.errback(BindFailed(event.status))
        elif isinstance(event, (LinkLost, PduRejected)):
            self._log.warning("smpp." + type(event).__name__.lower(), **vars(event))
        elif isinstance(event, Unbound):
            self._log.info("smpp.unbound", by_peer=event.by_peer)

    def _deliver(self, pdu: Pdu):
        deferred = defer.maybeDeferred(self._receive, pdu, self.bind_name)

        def failed(failure):
            self._log.error("smpp.deliver_failed", sequence=pdu.sequence,
                            error=failure.getErrorMessage())
            return Status.TEMPORARY_APP_ERROR

        def answer(status):
            if self.session.state is not State.CLOSED:
                self.session.acknowledge(pdu, status)
                self._flush()

        deferred.addErrback(failed).addCallback(answer)

    def _flush(self):
        data = self.session.data_to_send()
        if data and self.transport is not None:
            self.transport.write(data)
        self._schedule()

    def _schedule(self):
        deadline = self.session.next_deadline()
        if self._timer is not None and self._timer.active() and deadline == self._deadline:
            return                  # the usual case at load: a new submit's deadline is later
        self._cancel_timer()
        if deadline is not None:
            delay = max(0.0, deadline - self._clock.seconds())
            self._timer, self._deadline = self._clock.callLater(delay, self._tick), deadline

    def _tick(self):
        self._timer = None
        self._handle(self.session.tick(self._clock.seconds()))

    def _cancel_timer(self):
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    def _close_if_done(self):
        if self.session.state is State.CLOSED and self.transport is not None:
            self._cancel_timer()
            self.transport.loseConnection()


class EsmeFactory(Factory):
    """Builds one `EsmeProtocol` per connection, each with a fresh session."""

    def __init__(self, bind_config, receive, clock, made=None, lost=None):
        self.bind_config = bind_config
        self.receive = receive
        self.clock = clock
        self.made = made or (lambda protocol: None)
        self.lost = lost or (lambda protocol: None)

    def _new_session(self, now):
        c = self.bind_config
        # tps is optional: callers' own bind configs (tests, tools) may predate it.
        return EsmeSession(system_id=c.system_id, password=c.password,
                           system_type=c.system_type, mode=c.mode,
                           enquire_link_interval=c.enquire_link_interval,
                           response_timeout=c.response_timeout, window=c.window,
                           tps=getattr(c, "tps", None), now=now)

    def buildProtocol(self, addr):
        protocol = EsmeProtocol(self._new_session, self.receive, self.clock,
                                self.bind_config.name)
        protocol.factory = self
        self.made(protocol)
        return protocol
