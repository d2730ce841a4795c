"""Tables of the keyword work: the operator's runtime keyword changes, and promotional opt-outs.

`keyword_overrides` holds what the operator changed on top of config/keywords.toml: at most one row
per (command, language, keyword), either "add" (with `first`: shown in replies) or "remove" (a
file keyword taken away). `keyword_changes` is the audit trail, one row per change ever made, never
updated. `keyword_version` is one row whose counter every change bumps: running gateways poll it
(one indexed read) to know when to reload, and a change updates it first, so two operators'
changes are applied one after the other and each is checked against the other's result.

`opt_outs` is one row per phone number that ever sent STOP, member or not: whether it is opted
out now, and when it last opted out and back in. Promotions must skip those opted out; replies to
a phone's own messages are not promotions.
"""

from sqlalchemy import Boolean, Column, DateTime, Integer, String, Table, UniqueConstraint

from gateway.store.models import metadata

keyword_overrides = Table(
    "keyword_overrides", metadata,
    Column("id", Integer, primary_key=True),
    Column("command", String(16), nullable=False),
    Column("language", String(16), nullable=False),
    Column("keyword", String(64), nullable=False),          # as the operator wrote it, folded
    Column("keyword_key", String(64), nullable=False),      # case-folded, for uniqueness
    Column("action", String(8), nullable=False),            # "add" | "remove"
    Column("first", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(64), nullable=False),
    UniqueConstraint("command", "language", "keyword_key", name="uq_keyword_overrides_keyword"),
)

keyword_changes = Table(
    "keyword_changes", metadata,
    Column("id", Integer, primary_key=True),
    Column("changed_at", DateTime(timezone=True), nullable=False),
    Column("changed_by", String(64), nullable=False),
    Column("action", String(16), nullable=False),           # "add" | "add first" | "remove"
    Column("command", String(16), nullable=False),
    Column("language", String(16), nullable=False),
    Column("keyword", String(64), nullable=False),
)

keyword_version = Table(
    "keyword_version", metadata,
    Column("id", Integer, primary_key=True),                # always 1
    Column("version", Integer, nullable=False),
    Column("changed_at", DateTime(timezone=True)),
)

opt_outs = Table(
    "opt_outs", metadata,
    Column("msisdn", String(21), primary_key=True),
    Column("opted_out", Boolean, nullable=False),
    Column("opted_out_at", DateTime(timezone=True)),
    Column("opted_in_at", DateTime(timezone=True)),
)
