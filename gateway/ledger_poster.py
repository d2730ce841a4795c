"""`LedgerPoster`: sends the queued ledger postings to the ledger and records what came of them.

With the central ledger (``[ledger] kind = "http"``) every redemption and reversal waits in
``ledger_postings`` (gateway/redeem/postings.py) until this service sends it.  Each round
claims the due rows (with a lease, so gateway processes sharing the database do not send the
same row at once), posts each through the `Ledger` interface, and records the outcome in one
transaction with its consequences (``settle``: self-redemption's or the agency's, routed by
`postings.Owners`; the redemption completed or failed, the SMS queued), then wakes the sender.
If the ledger cannot be reached, the row is put back with a backoff (doubling up to
``max_delay``), its owner hears of it once (``delayed``: an agent is told "being processed"),
and the round ends; nothing is lost while it is away, and a posting sent twice (a crash between
sending and recording) still posts once, because the ledger keys transfers by id.

With the embedded ledger postings are made in the transaction that queued them, so this
service has nothing to do but pick up any row an earlier configuration left queued.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable

import structlog
from twisted.application import service
from twisted.internet import defer, task

from gateway.central_accounts import CentralAccounts
from gateway.redeem import postings
from ledger_client import Ledger, LedgerError

log = structlog.get_logger(__name__)


class LedgerPoster(service.Service):
    def __init__(self, db, ledger: Ledger, settle: Callable, clock,
                 now: Callable[[], datetime], *, interval: float = 2.0,
                 initial_delay: float = 0.5, max_delay: float = 60.0, lease: float = 120.0,
                 batch: int = 50, settled: Callable[[], object] = lambda: None,
                 delayed: Callable | None = None, accounts: CentralAccounts | None = None):
        self._db = db
        self._ledger = ledger
        self._settle = settle           # postings.Owners.settle(conn, posting, error, now)
        self._delayed = delayed         # postings.Owners.delayed(conn, posting, now), or None
        self._clock = clock
        self._now = now
        self._initial_delay = initial_delay
        self._max_delay = max_delay
        self._lease = timedelta(seconds=lease)
        self._batch = batch
        self._settled = settled
        # Account ids by name, shared with RemoteReads when app.py hands in its one cache.
        self._accounts = accounts if accounts is not None else CentralAccounts(ledger)
        self._round: defer.Deferred | None = None
        self._loop = task.LoopingCall(self.wake)
        self._loop.clock = clock
        self._interval = interval

    def startService(self):
        super().startService()
        self._loop.start(self._interval, now=True)

    def stopService(self):
        super().stopService()
        if self._loop.running:
            self._loop.stop()
        return self._round if self._round is not None else None

    def wake(self) -> defer.Deferred:
        """Run a round now (one at a time); the Deferred fires when it is over."""
        if self._round is None:
            self._round = self._run_round()
            self._round.addBoth(self._round_over)
        return self._round

    def _round_over(self, result):
        self._round = None
        return result

    @defer.inlineCallbacks
    def _run_round(self):
        try:
            due = yield self._db.run(postings.claim_due, self._now(), limit=self._batch,
                                     lease=self._lease)
            for n, posting in enumerate(due):
                retry_at = yield self._send(posting)
                if retry_at is not None:
                    # The ledger is away: the rest would wait just the same; give them back.
                    for rest in due[n + 1:]:
                        yield self._put_back(rest, retry_at, "LedgerUnavailable")
                    break
        except Exception as error:  # a round must never kill the loop
            log.error("poster.round_failed", error=f"{type(error).__name__}: {error}"[:200])

    @defer.inlineCallbacks
    def _send(self, posting: postings.Posting):
        """Post one; None if the ledger answered (yes or no), else when to try again."""
        try:
            transfers = yield self._resolve(posting)
            yield self._ledger.post(transfers)
            error = None
        except LedgerError as refusal:
            error = refusal
        except Exception as trouble:  # LedgerUnavailable, or anything else: try again later
            delay = min(self._initial_delay * 2 ** (posting.attempts - 1), self._max_delay)
            retry_at = self._now() + timedelta(seconds=delay)
            yield self._put_back(posting, retry_at, type(trouble).__name__)
            log.warning("poster.ledger_unreachable", posting=posting.id, retry_in=delay,
                        error=type(trouble).__name__)
            return retry_at
        yield self._db.run(self._settle, posting, error, self._now())
        log.info("poster.posted" if error is None else "poster.refused", posting=posting.id,
                 purpose=posting.purpose, error=error and error.code)
        self._settled()
        return None

    @defer.inlineCallbacks
    def _put_back(self, posting: postings.Posting, retry_at: datetime, error: str):
        """Try again at ``retry_at``; after the first failed try the owner may tell someone."""
        told = posting.attempts == 1 and self._delayed is not None
        yield self._db.run(self._retry_later, posting, retry_at, error, told)
        if told:
            self._settled()             # the "being processed" SMS, if any, goes now

    def _retry_later(self, conn, posting: postings.Posting, retry_at: datetime, error: str,
                     tell: bool) -> None:
        postings.retry_later(conn, posting.id, retry_at, error)
        if tell:
            self._delayed(conn, posting, self._now())

    @defer.inlineCallbacks
    def _resolve(self, posting: postings.Posting):
        """The posting's transfers with the configured ledger's account ids."""
        ids: dict[tuple[str, str, str], int] = {}
        for planned in posting.transfers:
            for kind, reference in filter(None, (planned.debit, planned.credit)):
                key = (kind, reference, planned.ledger)
                if key not in ids:
                    ids[key] = yield self._accounts.id(*key)
        return postings.resolve(posting, lambda *key: ids[key])
