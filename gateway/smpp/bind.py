"""One configured SMSC bind, kept up for as long as the service runs.

`twisted.application.internet.ClientService` does the reconnecting, with
exponential backoff and jitter so that a fleet of gateways does not hammer
an SMSC that just came back.  Its ``prepareConnection`` hook waits for the
bind to be accepted, so a refused bind counts as a failed attempt and is
retried with the same backoff instead of a hot loop.
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


class SmppBind(service.Service):
    """Keeps one bind up; `protocol` is the bound connection, or None."""

    def __init__(self, config, receive, reactor, clock=None, ready=None):
        self.config = config
        self.name = config.name
        self.short_codes = frozenset(config.short_codes)
        self.protocol = None
        self._clock = clock or reactor
        self._ready = ready or (lambda bind: None)
        factory = EsmeFactory(config, receive, self._clock, lost=self._lost)
        endpoint = TCP4ClientEndpoint(reactor, config.host, config.port,
                                      timeout=config.response_timeout)
        self._client = ClientService(
            endpoint, factory, clock=self._clock, prepareConnection=self._bind,
            retryPolicy=backoffPolicy(initialDelay=config.reconnect_initial_delay,
                                      maxDelay=config.reconnect_max_delay,
                                      jitter=random.random))

    def _bind(self, protocol):
        def bound(_):
            self.protocol = protocol
            log.info("bind.ready", bind=self.name)
            self._ready(self)
        return protocol.bound.addCallback(bound)

    def _lost(self, protocol):
        if self.protocol is protocol:
            self.protocol = None
            log.warning("bind.down", bind=self.name)

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
