"""`HttpLedger`: the `Ledger` interface over the central ledger service's HTTP API (treq).

Every call has a timeout.  What did not get an answer (connection refused or lost, timeout,
a 5xx) is sent again after a backoff (``backoff`` doubling up to ``max_backoff``, with jitter)
up to ``attempts`` times, then fails with `LedgerUnavailable`: safe, because every write is
idempotent by its transfer id, so a resend of a batch that did post returns its first result.
A refusal (4xx) is raised at once as the very `LedgerError` the service raised.
"""

from __future__ import annotations

import random
from typing import Sequence

import structlog
import treq
from twisted.internet import defer, task
from twisted.web.client import Agent, HTTPConnectionPool

from ledger_client import wire
from ledger_client.errors import LedgerUnavailable, refusal
from ledger_client.types import POINTS, Transfer, checked_account_id

log = structlog.get_logger(__name__)

_RETRIED_STATUSES = frozenset((500, 502, 503, 504))


class HttpLedger:
    def __init__(self, url: str, reactor, *, timeout: float = 5.0, attempts: int = 4,
                 backoff: float = 0.25, max_backoff: float = 5.0, client=None,
                 jitter: random.Random | None = None):
        self._base = url.rstrip("/")
        self._reactor = reactor
        self._timeout = timeout
        self._attempts = attempts
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._jitter = jitter or random.Random()
        if client is None:
            pool = HTTPConnectionPool(reactor, persistent=True)
            pool.maxPersistentPerHost = 8
            self.pool = pool
            client = treq.client.HTTPClient(Agent(reactor, pool=pool))
        self._client = client

    def close(self) -> defer.Deferred:
        """Close the pooled connections (a stopping daemon, the end of a test)."""
        pool = getattr(self, "pool", None)
        return pool.closeCachedConnections() if pool else defer.succeed(None)

    def open_account(self, kind: str, reference: str, *, ledger: str = POINTS,
                     no_overdraft: bool = True) -> defer.Deferred:
        body = {"kind": str(kind), "reference": reference, "ledger": ledger,
                "no_overdraft": no_overdraft}
        return self._call("POST", "/v1/accounts", body).addCallback(
            lambda answer: answer["account"]["id"])

    def post(self, batch: Sequence[Transfer]) -> defer.Deferred:
        body = {"transfers": [wire.transfer_to_json(t) for t in batch]}
        return self._call("POST", "/v1/transfers", body).addCallback(
            lambda answer: [wire.result_from_json(r) for r in answer["results"]])

    def balance(self, account_id: int) -> defer.Deferred:
        return self._account("", account_id).addCallback(
            lambda answer: wire.balance_from_json(answer["account"]))

    def history(self, account_id: int, limit: int = 10) -> defer.Deferred:
        return self._account(f"/history?limit={int(limit)}", account_id).addCallback(
            lambda answer: [wire.movement_from_json(m) for m in answer["movements"]])

    def _account(self, rest: str, account_id: int) -> defer.Deferred:
        """GET an account's resource; an id no account can have is `UnknownAccount` at once,
        as the service would answer, without the round trip."""
        checked = defer.maybeDeferred(checked_account_id, account_id)
        return checked.addCallback(lambda known: self._call("GET", f"/v1/accounts/{known}{rest}"))

    @defer.inlineCallbacks
    def _call(self, method: str, path: str, body: dict | None = None):
        delay = self._backoff
        for attempt in range(1, self._attempts + 1):
            try:
                status, answer = yield self._once(method, path, body)
            except Exception as error:  # refused, reset, timed out, not JSON: all "no answer"
                problem = f"{type(error).__name__}"
            else:
                if status < 400:
                    return answer
                if status not in _RETRIED_STATUSES:
                    error = answer.get("error", {}) if isinstance(answer, dict) else {}
                    raise refusal(error.get("code", f"http_{status}"), error.get("details", {}))
                problem = f"HTTP {status}"
            log.warning("ledger.http_retry", path=path.split("?")[0], attempt=attempt,
                        problem=problem)
            if attempt < self._attempts:
                yield task.deferLater(self._reactor, delay * (0.5 + self._jitter.random()),
                                      lambda: None)
                delay = min(delay * 2, self._max_backoff)
        raise LedgerUnavailable(f"the ledger at {self._base} did not answer "
                                f"{method} {path.split('?')[0]} ({problem})")

    def _once(self, method: str, path: str, body: dict | None) -> defer.Deferred:
        """(status, JSON) of one request; the timeout covers reading the body too."""
        kwargs = {}
        if body is not None:
            kwargs.update(data=wire.dumps(body),
                          headers={b"content-type": [b"application/json"]})
        answered = self._client.request(method, self._base + path, **kwargs)
        answered.addCallback(lambda response: treq.content(response).addCallback(
            lambda content: (response.code, wire.loads(content))))
        return answered.addTimeout(self._timeout, self._reactor)
