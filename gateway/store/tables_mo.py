"""Tables of the receiving side: parts of long MOs, MT segments and their receipts.

`mo_parts` holds each part of a concatenated MO from the moment it arrives
(committed before its deliver_sm_resp, like any MO) until long after its
message is whole, so that a part the SMSC delivers again is recognised.
`mt_segments` is one row per submit_sm an MT took, with the SMSC's message id
as given and folded for matching receipts (gateway/receipts.py says how), and
`mt_deliveries` the status of the MT as a whole.  `unmatched_receipts` keeps
every receipt that named no known segment, or could not be read at all; one
that arrived before its submit_sm_resp is matched when the segment is written.
"""

from sqlalchemy import (
    Column, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Table, UniqueConstraint,
)

from gateway.store.models import metadata

#: A part of a concatenated MO.  ``inbox_id`` is the message it became,
#: whole or (after the timeout) incomplete; until then the part is open.
mo_parts = Table(
    "mo_parts", metadata,
    Column("id", Integer, primary_key=True),
    Column("bind", String(32), nullable=False),
    Column("source_addr", String(21), nullable=False),
    Column("destination_addr", String(21), nullable=False),
    Column("reference", Integer, nullable=False),
    Column("total", Integer, nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("data_coding", Integer, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("inbox_id", Integer, ForeignKey("inbox.id")),
    UniqueConstraint("source_addr", "destination_addr", "reference", "total", "sequence",
                     name="uq_mo_parts_part"),
    Index("ix_mo_parts_received_at", "received_at"),
)

#: One submit_sm of an MT.  ``status`` is the latest receipt's, never an
#: earlier state after a final one.
mt_segments = Table(
    "mt_segments", metadata,
    Column("id", Integer, primary_key=True),
    Column("outbox_id", Integer, ForeignKey("outbox.id"), nullable=False),
    Column("part", Integer, nullable=False),                # 1-based
    Column("message_id", String(64), nullable=False),       # as submit_sm_resp gave it
    Column("message_key", String(64), nullable=False),      # receipts.fold(message_id)
    Column("status", String(8)),
    Column("error", String(8)),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    Column("status_at", DateTime(timezone=True)),
    Index("ix_mt_segments_message_key", "message_key"),
    Index("ix_mt_segments_outbox_id", "outbox_id"),
)

#: An MT's delivery status, from its segments (receipts.message_status).
mt_deliveries = Table(
    "mt_deliveries", metadata,
    Column("outbox_id", Integer, ForeignKey("outbox.id"), primary_key=True),
    Column("status", String(8), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

#: A receipt that matched no segment when it came (``reason`` says why), or
#: could not be read.  ``outbox_id`` is set if its MT turns up later.
unmatched_receipts = Table(
    "unmatched_receipts", metadata,
    Column("id", Integer, primary_key=True),
    Column("bind", String(32), nullable=False),
    Column("id_format", String(8), nullable=False),
    Column("message_key", String(64)),                      # folded ids the receipt gave
    Column("alt_key", String(64)),
    Column("status", String(8)),
    Column("error", String(8)),
    Column("reason", String(80), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("outbox_id", Integer, ForeignKey("outbox.id")),
    Column("matched_at", DateTime(timezone=True)),
    Index("ix_unmatched_receipts_message_key", "message_key"),
    Index("ix_unmatched_receipts_alt_key", "alt_key"),
)
