"""ussd sessions: where each USSD dialogue stands between two answers

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "ussd_sessions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("channel", sa.String(40), nullable=False),
        sa.Column("msisdn", sa.String(20), nullable=False),
        sa.Column("session_key", sa.String(160), nullable=False),
        sa.Column("service", sa.String(21), nullable=False),
        sa.Column("session", sa.Text, nullable=False),
        sa.Column("state", sa.Text),
        sa.Column("step", sa.Integer, nullable=False),
        sa.Column("screen", sa.Text, nullable=False),
        sa.Column("ends", sa.Boolean, nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("result", sa.String(8)),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_ussd_sessions_key", "ussd_sessions", ["channel", "msisdn", "session_key"],
                    unique=True)
    op.create_index("ix_ussd_sessions_expires", "ussd_sessions", ["expires_at"])


def downgrade():
    op.drop_index("ix_ussd_sessions_expires", table_name="ussd_sessions")
    op.drop_index("ix_ussd_sessions_key", table_name="ussd_sessions")
    op.drop_table("ussd_sessions")
