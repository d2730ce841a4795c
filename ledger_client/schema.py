"""The embedded ledger's tables, on their own SQLAlchemy metadata.

The gateway's Alembic migrations include this metadata so that one
``jifen db upgrade`` builds everything, while this package never imports
the gateway.  Amounts are integers in minor units (points); the four
running totals on an account row make a balance one row read, however long
the journal grows (the TigerBeetle model).

The journal is append-only.  What is mutable about a hold (pending, then
posted, voided or expired) lives in the small ``ledger_holds`` table beside
it, so the sweep for expired holds reads an index, not the journal.
"""

from sqlalchemy import (
    BigInteger, CheckConstraint, Column, DateTime, ForeignKey, Index, Integer, MetaData,
    String, Table, UniqueConstraint,
)

metadata = MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

accounts = Table(
    "ledger_accounts", metadata,
    Column("id", Integer, primary_key=True),
    Column("ledger", String(16), nullable=False),        # "points", or a currency code
    Column("kind", String(24), nullable=False),          # member, operator, agent_commission, ...
    Column("reference", String(64), nullable=False),     # who it belongs to, e.g. a member id
    Column("debits_posted", BigInteger, nullable=False, default=0),
    Column("credits_posted", BigInteger, nullable=False, default=0),
    Column("debits_pending", BigInteger, nullable=False, default=0),
    Column("credits_pending", BigInteger, nullable=False, default=0),
    # A member may never spend more than they were credited; an operator's
    # issuing account may go negative (that is where points come from).
    Column("no_overdraft", Integer, nullable=False, default=1),
    Column("closed", Integer, nullable=False, default=0, server_default="0"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("ledger", "kind", "reference", name="uq_ledger_accounts_owner"),
    CheckConstraint("debits_posted >= 0 AND credits_posted >= 0 AND "
                    "debits_pending >= 0 AND credits_pending >= 0", name="totals_positive"),
)

transfers = Table(
    "ledger_transfers", metadata,
    Column("id", String(64), primary_key=True),          # chosen by the caller: the idempotency key
    Column("ledger", String(16), nullable=False),
    # No foreign keys: a batch changes every account it names or is rolled back whole, which
    # says as much, and the per-row trigger would be the most expensive part of an insert.
    # audit.problems() checks it all the same.
    Column("debit_account_id", Integer, nullable=False),
    Column("credit_account_id", Integer, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("code", String(32), nullable=False),          # why: issue, redeem, commission, ...
    # single | pending | post | void (ledger_client.types.TransferKind)
    Column("kind", String(8), nullable=False, default="single", server_default="single"),
    Column("pending_id", String(64)),                    # the hold a post or void resolves
    Column("reference", String(64)),                     # the caller's, shown in history
    Column("created_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("amount > 0", name="amount_positive"),
    CheckConstraint("debit_account_id <> credit_account_id", name="distinct_accounts"),
    # An account's recent history is two index range scans, however long the journal.
    Index("ix_ledger_transfers_debit_history", "debit_account_id", "created_at"),
    Index("ix_ledger_transfers_credit_history", "credit_account_id", "created_at"),
)

#: The state of each pending transfer.  ``state``: pending -> posted | voided
#: | expired, changed only by a conditional UPDATE (``WHERE state = 'pending'``),
#: so a post racing a void or the expiry sweep can succeed only once.
holds = Table(
    "ledger_holds", metadata,
    Column("transfer_id", String(64), ForeignKey("ledger_transfers.id"), primary_key=True),
    Column("state", String(8), nullable=False),
    Column("expires_at", DateTime(timezone=True)),       # None: held until posted or voided
    Column("resolved_at", DateTime(timezone=True)),
    Index("ix_ledger_holds_state_expires_at", "state", "expires_at"),
)
