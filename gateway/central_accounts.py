"""`CentralAccounts`: the configured ledger's account ids, remembered by their names.

The gateway names a ledger account by (kind, reference), e.g. ("member", "254712345678"): ids
belong to whichever ledger is configured.  Two things turn names into ids with the central
ledger, the `LedgerPoster` (a queued posting's accounts) and `RemoteReads` (the account BAL and
HIST read), and each lookup is a round trip (`Ledger.open_account`, which opens the account if
it is new).  An id never changes once the ledger has given it, so one cache serves both: a
member's first BAL after a redemption finds the id the poster already looked up, and the other
way round.  `app.py` builds one and hands it to both.

An account is opened no-overdraft unless `postings.may_overdraw` says its kind may go below
zero, whoever asks first, so the answer does not depend on which of the two asked.
"""

from __future__ import annotations

from twisted.internet import defer

from gateway.redeem.postings import may_overdraw
from ledger_client import POINTS, Ledger

__all__ = ["CentralAccounts"]

KNOWN_ACCOUNTS = 100_000        # ids remembered; past that the cache starts again (ids stay valid)


class CentralAccounts:
    def __init__(self, ledger: Ledger, *, limit: int = KNOWN_ACCOUNTS):
        self._ledger = ledger
        self._limit = limit
        self._ids: dict[tuple[str, str, str], int] = {}

    def id(self, kind: str, reference: str, ledger: str = POINTS) -> defer.Deferred:
        """Deferred[int]: the account's id, from memory or opened (idempotent) at the ledger."""
        key = (str(kind), reference, ledger)
        known = self._ids.get(key)
        if known is not None:
            return defer.succeed(known)
        opened = self._ledger.open_account(key[0], reference, ledger=ledger,
                                           no_overdraft=not may_overdraw(key[0]))

        def keep(account_id: int) -> int:
            if len(self._ids) >= self._limit:
                self._ids.clear()       # a bound, not an eviction policy: ids are cheap to ask
            self._ids[key] = account_id
            return account_id
        return opened.addCallback(keep)
