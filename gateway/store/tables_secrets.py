"""Secrets the gateway makes for itself, one row each, shared by every process on the database.

``mo_digest`` is the key of inbox digests (gateway/redaction.py) when the operator set none.
"""

from sqlalchemy import Column, String, Table

from gateway.store.models import metadata

gateway_secrets = Table(
    "gateway_secrets", metadata,
    Column("name", String(32), primary_key=True),
    Column("value", String(128), nullable=False),
)
