"""`LedgerServices`: what the commands may ask of the ledger and the gateway's tables, in the
transaction of the MO (or USSD step) that runs them; and `members_of`, the batch's members.

The Processor runs each command in a savepoint, so one that fails takes nothing else with it.
At load most commands are BAL, which needs only the member's balance: that comes with the
batch's one member lookup (`members_of` joins the points account), and the savepoint is begun
only when a command first touches the database (``isolated``). A batch of BALs thus costs its
few batch statements and no round trip per message. Once any command has touched the database
the batch's balances may be stale, so the Processor stops passing them on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Callable

from sqlalchemy import and_, select

from gateway.agency.services import AgencyServices
from gateway.commands import context
from gateway.member_services import RedemptionServices
from gateway.store import optouts
from gateway.store.batching import among
from gateway.store.models import members
from ledger_client import Balance
from ledger_client.schema import accounts

__all__ = ["LedgerServices", "members_of"]


class LedgerServices(AgencyServices, RedemptionServices):
    """`commands.context.Services` over the ledger and the gateway's tables, in one transaction.

    CAT, REDEEM, HIST and PIN are in `RedemptionServices` (gateway/member_services.py), the
    agent commands in `AgencyServices`. With the central ledger, ``remote`` is the
    `remote_reads.Snapshot` of its figures read before the transaction; balances and histories
    then come from it, never the local tables. ``balances`` (account id -> `context.Balance`)
    are figures read with the batch's members; ``isolated`` begins a savepoint at the first use
    of the connection, which `finish` then releases or rolls back.
    """

    def __init__(self, conn, ledger, now: Callable[[], datetime], redemptions=None, agency=None,
                 remote=None, *, balances=None, isolated: bool = False):
        self._connection = conn
        self._ledger = ledger
        self._now = now
        self._redemptions = redemptions     # a RedemptionService; None: REDEEM says try later
        self._agency = agency               # an AgencyService (gateway/agency/services.py)
        self._remote = remote               # None: the embedded ledger, read in this transaction
        self._balances = balances or {}
        self._isolated = isolated
        self._savepoint = None
        self.read_failed = False            # a figure the central ledger did not give in time

    @property
    def _conn(self):
        if self._isolated and self._savepoint is None:
            self._savepoint = self._connection.begin_nested()
        return self._connection

    @property
    def touched(self) -> bool:
        """Whether the command used the database (through this object)."""
        return self._savepoint is not None or not self._isolated

    def finish(self, ok: bool) -> None:
        """Release the command's savepoint, or roll it back when the command failed."""
        if self._savepoint is not None and self._savepoint.is_active:
            (self._savepoint.commit if ok else self._savepoint.rollback)()

    def points_balance(self, account_id: int) -> context.Balance:
        if self._remote is not None:
            return self._remote_figure(self._remote.balance, account_id)
        known = self._balances.get(account_id)
        if known is not None:
            return known
        balance = self._ledger.balance(self._conn, account_id)
        return context.Balance(available=balance.available, on_hold=balance.on_hold)

    def set_opt_out(self, msisdn: str, opted_out: bool) -> None:
        optouts.set_opt_out(self._conn, msisdn, opted_out, self._now())

    def _remote_figure(self, read: Callable, *args):
        try:
            return read(*args)
        except context.ServiceUnavailable:
            self.read_failed = True
            raise


def members_of(conn, msisdns: set[str]) -> tuple[dict[str, context.Member],
                                                  dict[int, context.Balance]]:
    """The active members among ``msisdns`` by number, and their points balances by account,
    in one query."""
    if not msisdns:
        return {}, {}
    rows = conn.execute(_MEMBERS.where(and_(among(conn, members.c.msisdn, sorted(msisdns)),
                                            members.c.status == "active"))).all()
    found, balances = {}, {}
    for row in rows:
        found[row.msisdn] = context.Member(id=row.id, msisdn=row.msisdn, name=row.name,
                                           language=row.language,
                                           points_account=row.points_account_id)
        if row.credits_posted is not None:      # the embedded ledger holds the account
            balance = Balance(row.points_account_id, row.credits_posted - row.debits_posted,
                              row.debits_pending)
            balances[balance.account_id] = context.Balance(available=balance.available,
                                                           on_hold=balance.on_hold)
    return found, balances


_MEMBERS = (select(members.c.id, members.c.msisdn, members.c.name, members.c.language,
                   members.c.points_account_id, accounts.c.credits_posted,
                   accounts.c.debits_posted, accounts.c.debits_pending)
            .outerjoin(accounts, accounts.c.id == members.c.points_account_id))
