"""Tables of the village shop agent network and of assisted redemption (RDM ... YES).

- ``agents``: the network (agents/network.py's `Agent`, one row each) with the agent's wrong-PIN
  streak and lock-out beside it, written in the transaction of the RDM that carried the PIN.
- ``agent_redemptions``: one per RDM that placed a hold, keyed by its inbox row; the member's
  confirmation code only as a digest; ``state``: pending -> approved | refused | cancelled (three
  wrong codes) | expired, approved -> disputed -> approved | reversed, approved -> reversed.  On
  approval it records how it was priced (plan version and digest, the counters, the chain and the
  shares), so a report or an audit can re-price it exactly.
- ``agent_rdm_attempts``: every RDM an agent sent, refused ones too, with the refusal's reason
  code: the velocity limit reads it, and it is the count of refusals by reason.
- ``agent_disputes``: a member's DISPUTE and the operator's decision.
"""

from sqlalchemy import (
    BigInteger, Column, DateTime, ForeignKey, Index, Integer, String, Table, Text,
)

from gateway.store.models import metadata

agents = Table(
    "agents", metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(10), nullable=False, unique=True),
    Column("msisdn", String(20), nullable=False),           # E.164 digits; one open agent each
    Column("name", String(60), nullable=False),
    Column("location", String(60), nullable=False),
    Column("level", String(12), nullable=False),            # shop | sub_agent | master
    Column("parent", String(10)),                           # an agent code
    Column("status", String(12), nullable=False),           # active | suspended | closed
    Column("pin_hash", String(128)),
    Column("pin_failures", Integer, nullable=False, default=0),
    Column("pin_locked_until", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_agents_msisdn", "msisdn"),
)

agent_redemptions = Table(
    "agent_redemptions", metadata,
    Column("id", Integer, primary_key=True),
    Column("reference", String(12), nullable=False, unique=True),
    Column("idempotency_key", String(64), nullable=False, unique=True),
    Column("agent_code", String(10), nullable=False),
    Column("member_id", Integer, ForeignKey("members.id"), nullable=False),
    Column("member_msisdn", String(20), nullable=False),
    Column("item_id", Integer, ForeignKey("catalog_items.id"), nullable=False),
    Column("category", String(24), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("settlement", BigInteger, nullable=False),       # minor units owed to the shop
    Column("hold_id", String(64), nullable=False),          # the ledger's pending transfer
    Column("code_digest", String(64), nullable=False),      # sha256 of reference:code
    Column("code_attempts", Integer, nullable=False, default=0),
    Column("state", String(12), nullable=False),
    Column("short_code", String(21), nullable=False),
    Column("agent_language", String(8), nullable=False),
    Column("member_language", String(8), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("decided_at", DateTime(timezone=True)),          # approved, refused, expired ...
    Column("reversed_at", DateTime(timezone=True)),
    Column("reversed_by", String(64)),
    # How it was priced, set on approval.
    Column("plan_version", String(32)),
    Column("plan_digest", String(64)),
    Column("month_to_date", BigInteger),
    Column("member_points_today", BigInteger),
    Column("chain", Text),                                  # JSON [[code, level], ...]
    Column("shares", Text),                                 # JSON {code: points}
    Column("pool", BigInteger),
    Index("ix_agent_redemptions_agent_code_created_at", "agent_code", "created_at"),
    Index("ix_agent_redemptions_member_id_state", "member_id", "state"),
    Index("ix_agent_redemptions_state_expires_at", "state", "expires_at"),
)

agent_rdm_attempts = Table(
    "agent_rdm_attempts", metadata,
    Column("id", Integer, primary_key=True),
    Column("agent_code", String(10), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("outcome", String(24), nullable=False),          # "held", or a refusal's reason code
    Index("ix_agent_rdm_attempts_agent_code_at", "agent_code", "at"),
)

agent_disputes = Table(
    "agent_disputes", metadata,
    Column("id", Integer, primary_key=True),
    Column("redemption_id", Integer, ForeignKey("agent_redemptions.id"), nullable=False),
    Column("state", String(12), nullable=False),            # open | upheld | rejected
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("resolved_at", DateTime(timezone=True)),
    Column("resolved_by", String(64)),
    Index("ix_agent_disputes_state", "state"),
)
