"""Harnesses for tests of code that talks to the ledger service, the project's and an operator's.

`ServedLedger` serves an embedded ledger over HTTP on 127.0.0.1 and can be stopped and started
again on the same port, dropping open connections as a crashed service would, so a test can
show that a client's postings survive an outage.
"""

from __future__ import annotations

from typing import Callable

from twisted.internet import defer
from twisted.protocols.policies import WrappingFactory

from ledger_client.embedded import EmbeddedLedger
from ledger_client.server import ledger_site


class ServedLedger:
    def __init__(self, ledger: EmbeddedLedger, run: Callable[..., defer.Deferred], reactor):
        self._factory = WrappingFactory(ledger_site(ledger, run))
        self._reactor = reactor
        self._listening = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._listening = self._reactor.listenTCP(self.port, self._factory, interface="127.0.0.1")
        self.port = self._listening.getHost().port

    def stop(self) -> defer.Deferred:
        """Stop listening and cut every open connection."""
        for protocol in list(self._factory.protocols):
            protocol.transport.abortConnection()
        listening, self._listening = self._listening, None
        return defer.maybeDeferred(listening.stopListening) if listening else defer.succeed(None)
