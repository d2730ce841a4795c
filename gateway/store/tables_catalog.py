"""Tables of the catalogue and of member self-redemption.

- ``catalog_items`` / ``catalog_item_names``: what members can redeem, with a name per language;
  ``stock`` NULL means unlimited and is only ever lowered by a conditional UPDATE, so it cannot
  go below zero (also a CHECK).
- ``redemptions``: one per redemption, keyed by the caller's idempotency key (the inbox row),
  with a short human reference (R8K2P) and its life: processing -> completed | failed, and
  completed -> reversed.
- ``vouchers``: the codes members receive by SMS, stored as SHA-256 digests (plus the last
  characters for support), so the table lets an operator verify a code without holding it.
- ``member_pins``: the argon2 hash of a member's PIN and the wrong-PIN count and lock-out.
- ``ledger_postings``: the durable queue of what must be posted to the ledger, written in the
  transaction that decided it, drained by the ledger poster; ``state``: queued -> posted |
  refused.  Its transfers are JSON with accounts named by (kind, reference), resolved to the
  configured ledger's ids when posted.
"""

from sqlalchemy import (
    BigInteger, CheckConstraint, Column, DateTime, ForeignKey, Index, Integer, String, Table,
    Text,
)

from gateway.store.models import metadata

catalog_items = Table(
    "catalog_items", metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(16), nullable=False, unique=True),   # upper-case, e.g. RICE5
    Column("category", String(24), nullable=False),
    Column("kind", String(8), nullable=False),                 # goods | voucher | airtime
    Column("price", BigInteger, nullable=False),               # points per unit
    Column("stock", Integer),                                  # NULL: unlimited
    Column("per_member_limit", Integer),                       # NULL: no limit
    Column("sale_starts_at", DateTime(timezone=True)),
    Column("sale_ends_at", DateTime(timezone=True)),
    Column("active", Integer, nullable=False, default=1),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("price > 0", name="price_positive"),
    CheckConstraint("stock IS NULL OR stock >= 0", name="stock_not_negative"),
)

catalog_item_names = Table(
    "catalog_item_names", metadata,
    Column("item_id", Integer, ForeignKey("catalog_items.id"), primary_key=True),
    Column("language", String(8), primary_key=True),
    Column("name", String(60), nullable=False),
)

redemptions = Table(
    "redemptions", metadata,
    Column("id", Integer, primary_key=True),
    Column("reference", String(12), nullable=False, unique=True),
    Column("idempotency_key", String(64), nullable=False, unique=True),
    Column("member_id", Integer, ForeignKey("members.id"), nullable=False),
    Column("item_id", Integer, ForeignKey("catalog_items.id"), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("state", String(12), nullable=False),
    Column("refusal", String(24)),                 # why a queued posting was refused
    # Where to send the final SMS when the posting completes later.
    Column("msisdn", String(20), nullable=False),
    Column("short_code", String(21), nullable=False),
    Column("language", String(8), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("completed_at", DateTime(timezone=True)),
    Column("reversed_at", DateTime(timezone=True)),
    Column("reversed_by", String(64)),
    Column("reversal_reason", String(200)),
    Index("ix_redemptions_member_id_item_id", "member_id", "item_id"),
    Index("ix_redemptions_member_id_created_at", "member_id", "created_at"),
)

vouchers = Table(
    "vouchers", metadata,
    Column("id", Integer, primary_key=True),
    Column("redemption_id", Integer, ForeignKey("redemptions.id"), nullable=False),
    Column("digest", String(64), nullable=False, unique=True),   # sha256 hex of the code
    Column("last_chars", String(4), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_vouchers_redemption_id", "redemption_id"),
)

member_pins = Table(
    "member_pins", metadata,
    Column("member_id", Integer, ForeignKey("members.id"), primary_key=True),
    Column("pin_hash", String(128), nullable=False),
    Column("failed_attempts", Integer, nullable=False, default=0),
    Column("locked_until", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

ledger_postings = Table(
    "ledger_postings", metadata,
    Column("id", Integer, primary_key=True),
    Column("idempotency_key", String(64), nullable=False, unique=True),
    Column("purpose", String(12), nullable=False),     # redemption | reversal
    Column("redemption_id", Integer, ForeignKey("redemptions.id")),
    Column("transfers", Text, nullable=False),         # JSON, see gateway/redeem/postings.py
    Column("state", String(8), nullable=False),        # queued | posted | refused
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", String(200)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("done_at", DateTime(timezone=True)),
    Index("ix_ledger_postings_state_next_attempt_at", "state", "next_attempt_at"),
)
