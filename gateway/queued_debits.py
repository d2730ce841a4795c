"""What members' queued postings will take from their points, and the balance to show for it.

With the central ledger a redemption is not posted in its MO's transaction: it waits in
``ledger_postings`` (gateway/redeem/postings.py) until the `LedgerPoster` gets it accepted, which
takes as long as the central ledger is slow or away.  The central ledger's balance does not know
about it yet, so BAL and the USSD balance screen, which show that balance, would offer the member
points already spent.  What is queued for a member, by owner and purpose:

- ``redemption`` (REDEEM): a debit of the member's points       -> taken off before it posts;
- ``agent_hold`` (a shop's RDM): a hold on the member's points    -> taken off before it posts;
- ``agent_post`` (YES): posts a hold the centre already holds      -> nothing new;
- ``agent_void`` (NO, wrong codes, expiry), ``reversal`` and ``agent_rev``: points given back
  -> shown only once posted.  A reversal can still be refused (the row goes back to completed or
  approved), and a point shown before it arrives could be redeemed again, only to be refused at
  the centre after the member was told "being processed"; so the balance shown is never more than
  the centre will let the member spend.

A queued debit shows as "on hold" (the templates' word for points committed to a redemption not
yet final), taken from the available points: "1,350 pts (500 on hold)" until it posts, then
"1,350 pts"; HIST lists it as "-500 processing" meanwhile (`QueuedDebit.movement`).  A debit the centre already has but the gateway has not recorded yet (the answer
lost in a timeout, or a crash between posting and recording) must not be taken off twice; the
reads look for it in the centre's history first (remote_reads.py), and `spendable` leaves out
what they found.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, literal, select, union_all

from gateway.agency.postings import HOLD
from gateway.agency.service import HOLDING
from gateway.commands import context
from gateway.redeem import postings
from gateway.redeem.service import State
from gateway.store.batching import among
from gateway.store.tables_agents import agent_redemptions
from gateway.store.tables_catalog import ledger_postings, redemptions
from ledger_client import as_utc

__all__ = ["PROCESSING", "QueuedDebit", "queued_debits", "spendable"]

PROCESSING = "processing"   # HIST's word for a queued debit (template hist.processing)


@dataclass(frozen=True)
class QueuedDebit:
    """Points a queued posting will take from a member: its transfer's id, and since when."""

    transfer_id: str
    points: int
    reference: str | None
    queued_at: datetime

    def movement(self) -> context.Movement:
        """The line HIST shows for it until it posts: "-500 processing R8K2P"."""
        return context.Movement(self.queued_at, -self.points, PROCESSING, self.reference)


Debits = Mapping[int, tuple[QueuedDebit, ...]]     # member id -> queued debits


def queued_debits(conn, member_ids: Collection[int]) -> dict[int, tuple[QueuedDebit, ...]]:
    """The debits still queued for these members, by member id, in one statement.

    Found through the rows that own them, whose state says a debit is queued (a redemption
    ``processing``, a shop's redemption ``holding``: each set in the transaction that queued the
    posting and changed in the one that records its answer), by their members' indexes.
    """
    if not member_ids:
        return {}
    ids = sorted(member_ids)
    posting = (ledger_postings.c.id, ledger_postings.c.idempotency_key, ledger_postings.c.purpose,
               ledger_postings.c.redemption_id, ledger_postings.c.transfers,
               ledger_postings.c.attempts, ledger_postings.c.created_at)
    own = (select(redemptions.c.member_id, redemptions.c.msisdn, *posting)
           .join_from(redemptions, ledger_postings,
                      ledger_postings.c.redemption_id == redemptions.c.id)
           .where(and_(among(conn, redemptions.c.member_id, ids),
                       redemptions.c.state == State.PROCESSING.value,
                       ledger_postings.c.state == postings.QUEUED)))
    # A shop's batches are keyed ardm:<reference>:<purpose> (agency/service.py).
    hold_key = literal("ardm:") + agent_redemptions.c.reference + literal(f":{HOLD}")
    shops = (select(agent_redemptions.c.member_id,
                    agent_redemptions.c.member_msisdn.label("msisdn"), *posting)
             .join_from(agent_redemptions, ledger_postings,
                        ledger_postings.c.idempotency_key == hold_key)
             .where(and_(among(conn, agent_redemptions.c.member_id, ids),
                         agent_redemptions.c.state == HOLDING,
                         ledger_postings.c.state == postings.QUEUED)))
    found: dict[int, tuple[QueuedDebit, ...]] = {}
    for row in conn.execute(union_all(own, shops)).all():
        debits = tuple(QueuedDebit(debit.id, debit.amount, debit.reference,
                                   as_utc(row.created_at))
                       for debit in postings.member_debits(postings.from_row(row), row.msisdn))
        if debits:
            found[row.member_id] = found.get(row.member_id, ()) + debits
    return found


def spendable(balance: context.Balance, debits: Iterable[QueuedDebit],
              posted: Collection[str] = ()) -> context.Balance:
    """``balance`` (the centre's) less the queued ``debits`` it does not show yet, as on hold.

    ``posted``: transfer ids the centre's history showed, read before ``balance``: those are in
    it already.  Never below zero: a debit the centre will refuse for want of points takes only
    what there is, and the member is told of the refusal when it comes.
    """
    waiting = sum(debit.points for debit in debits if debit.transfer_id not in posted)
    taken = min(waiting, max(balance.available, 0))
    return context.Balance(available=balance.available - taken,
                           on_hold=balance.on_hold + taken)
