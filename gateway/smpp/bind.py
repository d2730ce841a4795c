"""One configured SMSC bind, kept up for as long as the service runs.

`twisted.application.internet.ClientService` does the reconnecting, with
exponential backoff and jitter so that a fleet of gateways does not hammer
an SMSC that just came back.

A refused or unanswered bind must back off like a refused connection, not
retry at the initial delay forever.  ClientService only counts failures to
connect (a connection that is made and then lost resets its count, and its
``prepareConnection`` hook cannot fail once the transport may close: Twisted
26's state machine has no transition for that disconnect).  So the bind
counts its own consecutive failures and the retry policy takes the larger
of the two counts.  A link that dies within `STABLE_AFTER` seconds of its
bind (an SMSC that unbinds or drops us at once) counts as a failure too, so
a flapping link backs off as a refused one does; only a link that stayed up
resets the count.

What to do with the messages of a lost link is the sender's business: the
protocol fails their Deferreds with `ConnectionGone` and the sender queues
them for the next bind.
"""

from __future__ import annotations

import random

import structlog
from twisted.application import service
from twisted.application.internet import ClientService, backoffPolicy
from twisted.internet import defer
from twisted.internet.endpoints import TCP4ClientEndpoint

from gateway.smpp.protocol import EsmeFactory

log = structlog.get_logger(__name__)

#: How long a clean unbind may take at shutdown before we just close.
UNBIND_GRACE = 5.0
#: A link that lived at least this long was healthy: its loss restarts the backoff.
STABLE_AFTER = 30.0


class SmppBind(service.Service):
    """Keeps one bind up; `protocol` is the bound connection, or None."""

    def __init__(self, config, receive, reactor, clock=None, ready=None):
        self.config = config
        self.name = config.name
        self.short_codes = frozenset(config.short_codes)
        self.transmits = config.mode != "receiver"
        self.protocol = None
        self._clock = clock or reactor
        self._ready = ready or (lambda bind: None)
        self._failures = 0
        self._bound_at = 0.0
        backoff = backoffPolicy(initialDelay=config.reconnect_initial_delay,
                                maxDelay=config.reconnect_max_delay, jitter=random.random)
        factory = EsmeFactory(config, receive, self._clock, made=self._made, lost=self._lost)
        endpoint = TCP4ClientEndpoint(reactor, config.host, config.port,
                                      timeout=config.response_timeout)
        self._client = ClientService(
            endpoint, factory, clock=self._clock,
            retryPolicy=lambda attempts: self._delay(backoff, attempts))

    def _delay(self, backoff, attempts):
        delay = backoff(max(attempts, self._failures))
        log.info("bind.retry_scheduled", bind=self.name, delay=round(delay, 2),
                 failures=max(attempts, self._failures))
        return delay

    def _made(self, protocol):
        protocol.bound.addCallbacks(lambda _: self._bound(protocol), self._refused)

    def _bound(self, protocol):
        self.protocol = protocol
        self._bound_at = self._clock.seconds()
        log.info("bind.ready", bind=self.name, after_failures=self._failures)
        self._ready(self)

    def _refused(self, failure):
        self._failures += 1
        log.warning("bind.failed", bind=self.name, error=failure.getErrorMessage(),
                    failures=self._failures)

    def _lost(self, protocol):
        if self.protocol is protocol:
            self.protocol = None
            up = self._clock.seconds() - self._bound_at
            self._failures = 0 if up >= STABLE_AFTER else self._failures + 1
            log.warning("bind.down", bind=self.name, up_seconds=round(up, 1),
                        failures=self._failures)

    def startService(self):
        super().startService()
        log.info("bind.connecting", bind=self.name, host=self.config.host,
                 port=self.config.port)
        self._client.startService()

    @defer.inlineCallbacks
    def stopService(self):
        super().stopService()
        protocol = self.protocol
        if protocol is not None:
            unbound = protocol.unbind()
            unbound.addTimeout(UNBIND_GRACE, self._clock)
            try:
                yield unbound
            except defer.TimeoutError:
                log.warning("bind.unbind_timeout", bind=self.name)
        yield self._client.stopService()
