"""The gateway's own tables: members, the MO inbox and the MT outbox.

Declared with SQLAlchemy Core tables, because the hot paths (taking a batch
of MOs, claiming a batch of MTs) are bulk statements, and Core says what
SQL they run.  gateway/store/schema.py gathers every table module for the
migrations; the ledger's tables live in ledger_client/schema.py.
"""

from sqlalchemy import (
    Column, DateTime, ForeignKey, Index, Integer, MetaData, String, Table, Text,
    UniqueConstraint,
)

from ledger_client import schema as ledger_schema

metadata = MetaData(naming_convention=ledger_schema.metadata.naming_convention)

members = Table(
    "members", metadata,
    Column("id", Integer, primary_key=True),
    Column("msisdn", String(20), nullable=False, unique=True),   # E.164 digits, no '+'
    Column("name", String(80), nullable=False),
    Column("language", String(8)),                               # None until known
    Column("points_account_id", Integer, nullable=False),        # in the ledger
    Column("status", String(12), nullable=False, default="active"),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

#: An MO as the SMSC gave it.  ``state``: received -> done.  A row is
#: written and committed before its deliver_sm_resp is sent.  ``kind``:
#: "text" (run as a command), "unreadable" (binary or undecodable: answered
#: so) or "incomplete" (parts of a long message that never all came).  A
#: redelivery of an earlier MO has ``duplicate_of`` set and is answered with
#: copies of that MO's replies, never run.
inbox = Table(
    "inbox", metadata,
    Column("id", Integer, primary_key=True),
    Column("bind", String(32), nullable=False),
    Column("source_addr", String(21), nullable=False),
    Column("destination_addr", String(21), nullable=False),
    Column("text", Text, nullable=False),
    Column("data_coding", Integer, nullable=False),
    Column("state", String(12), nullable=False, default="received"),
    Column("command", String(16)),
    Column("language", String(8)),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("done_at", DateTime(timezone=True)),
    Column("kind", String(12), nullable=False, default="text", server_default="text"),
    Column("duplicate_of", Integer, ForeignKey("inbox.id")),
    # HMAC of kind and text as received (gateway/redaction.py): redelivery is found by it,
    # since ``text`` loses its PINs once the MO has run.  None on rows older than 0008.
    Column("text_digest", String(64)),
    Index("ix_inbox_state", "state"),
    Index("ix_inbox_redelivery", "source_addr", "destination_addr", "received_at"),
)

#: An MT.  ``state``: queued -> submitted (the SMSC took it, we keep its
#: message id) | failed.  Rows are written in the transaction that marks
#: their MO done; ``idempotency_key`` makes writing them twice impossible.
#: A sender holds a queued row by a lease: ``claimed_by`` (its claim token)
#: until ``claimed_until``, so gateway processes sharing the database never
#: submit one row twice, and a crashed process's rows come back by themselves.
outbox = Table(
    "outbox", metadata,
    Column("id", Integer, primary_key=True),
    Column("idempotency_key", String(64), nullable=False),
    Column("inbox_id", Integer, ForeignKey("inbox.id")),
    Column("source_addr", String(21), nullable=False),           # our short code
    Column("destination_addr", String(21), nullable=False),
    Column("text", Text, nullable=False),
    Column("language", String(8), nullable=False),
    Column("state", String(12), nullable=False, default="queued"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("smsc_message_ids", String(255)),                     # one per segment, space-separated; "-" not yet taken
    Column("error", String(255)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("submitted_at", DateTime(timezone=True)),
    Column("claimed_by", String(64)),
    Column("claimed_until", DateTime(timezone=True)),
    UniqueConstraint("idempotency_key", name="uq_outbox_idempotency_key"),
    Index("ix_outbox_state_next_attempt_at", "state", "next_attempt_at"),
)
