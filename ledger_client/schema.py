"""The embedded ledger's tables, on their own SQLAlchemy metadata.

The gateway's Alembic migrations include this metadata so that one
``jifen db upgrade`` builds everything, while this package never imports
the gateway.  Amounts are integers in minor units (points); the four
running totals on an account row make a balance one row read, however long
the journal grows (the TigerBeetle model).
"""

from sqlalchemy import (
    BigInteger, CheckConstraint, Column, DateTime, ForeignKey, Integer, MetaData,
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
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("ledger", "kind", "reference", name="uq_ledger_accounts_owner"),
    CheckConstraint("debits_posted >= 0 AND credits_posted >= 0 AND "
                    "debits_pending >= 0 AND credits_pending >= 0", name="totals_positive"),
)

transfers = Table(
    "ledger_transfers", metadata,
    Column("id", String(64), primary_key=True),          # chosen by the caller: the idempotency key
    Column("ledger", String(16), nullable=False),
    Column("debit_account_id", Integer, ForeignKey("ledger_accounts.id"), nullable=False),
    Column("credit_account_id", Integer, ForeignKey("ledger_accounts.id"), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("code", String(32), nullable=False),          # why: issue, redeem, commission, ...
    Column("created_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("amount > 0", name="amount_positive"),
    CheckConstraint("debit_account_id <> credit_account_id", name="distinct_accounts"),
)
