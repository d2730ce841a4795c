"""inbox redaction: a keyed digest of each MO, and the gateway's own secrets

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("inbox") as batch:
        batch.add_column(sa.Column("text_digest", sa.String(64)))
    op.create_table(
        "gateway_secrets",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("value", sa.String(128), nullable=False),
    )


def downgrade():
    op.drop_table("gateway_secrets")
    with op.batch_alter_table("inbox") as batch:
        batch.drop_column("text_digest")
