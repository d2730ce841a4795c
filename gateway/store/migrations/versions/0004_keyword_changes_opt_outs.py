"""keywords: operator changes over the file, their audit trail and version, promotional opt-outs

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('keyword_overrides',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('command', sa.String(length=16), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=False),
    sa.Column('keyword', sa.String(length=64), nullable=False),
    sa.Column('keyword_key', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=8), nullable=False),
    sa.Column('first', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_keyword_overrides')),
    sa.UniqueConstraint('command', 'language', 'keyword_key', name='uq_keyword_overrides_keyword')
    )
    op.create_table('keyword_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('changed_by', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('command', sa.String(length=16), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=False),
    sa.Column('keyword', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_keyword_changes'))
    )
    version = op.create_table('keyword_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_keyword_version'))
    )
    # The one row every change bumps; present from the start so that the first two changes,
    # made at once, queue on it like any others.
    op.bulk_insert(version, [{'id': 1, 'version': 0}])
    op.create_table('opt_outs',
    sa.Column('msisdn', sa.String(length=21), nullable=False),
    sa.Column('opted_out', sa.Boolean(), nullable=False),
    sa.Column('opted_out_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('opted_in_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('msisdn', name=op.f('pk_opt_outs'))
    )


def downgrade():
    op.drop_table('opt_outs')
    op.drop_table('keyword_version')
    op.drop_table('keyword_changes')
    op.drop_table('keyword_overrides')
