"""agents, assisted redemptions, RDM attempts, disputes

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('agent_rdm_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agent_code', sa.String(length=10), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=24), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agent_rdm_attempts'))
    )
    op.create_index('ix_agent_rdm_attempts_agent_code_at', 'agent_rdm_attempts', ['agent_code', 'at'], unique=False)
    op.create_table('agents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=10), nullable=False),
    sa.Column('msisdn', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('location', sa.String(length=60), nullable=False),
    sa.Column('level', sa.String(length=12), nullable=False),
    sa.Column('parent', sa.String(length=10), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('pin_hash', sa.String(length=128), nullable=True),
    sa.Column('pin_failures', sa.Integer(), nullable=False),
    sa.Column('pin_locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agents')),
    sa.UniqueConstraint('code', name=op.f('uq_agents_code'))
    )
    op.create_index('ix_agents_msisdn', 'agents', ['msisdn'], unique=False)
    op.create_table('agent_redemptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=12), nullable=False),
    sa.Column('idempotency_key', sa.String(length=64), nullable=False),
    sa.Column('agent_code', sa.String(length=10), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('member_msisdn', sa.String(length=20), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=24), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('settlement', sa.BigInteger(), nullable=False),
    sa.Column('hold_id', sa.String(length=64), nullable=False),
    sa.Column('code_digest', sa.String(length=64), nullable=False),
    sa.Column('code_attempts', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('short_code', sa.String(length=21), nullable=False),
    sa.Column('agent_language', sa.String(length=8), nullable=False),
    sa.Column('member_language', sa.String(length=8), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reversed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reversed_by', sa.String(length=64), nullable=True),
    sa.Column('plan_version', sa.String(length=32), nullable=True),
    sa.Column('plan_digest', sa.String(length=64), nullable=True),
    sa.Column('month_to_date', sa.BigInteger(), nullable=True),
    sa.Column('member_points_today', sa.BigInteger(), nullable=True),
    sa.Column('chain', sa.Text(), nullable=True),
    sa.Column('shares', sa.Text(), nullable=True),
    sa.Column('pool', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['item_id'], ['catalog_items.id'], name=op.f('fk_agent_redemptions_item_id_catalog_items')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_agent_redemptions_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agent_redemptions')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_agent_redemptions_idempotency_key')),
    sa.UniqueConstraint('reference', name=op.f('uq_agent_redemptions_reference'))
    )
    op.create_index('ix_agent_redemptions_agent_code_created_at', 'agent_redemptions', ['agent_code', 'created_at'], unique=False)
    op.create_index('ix_agent_redemptions_member_id_state', 'agent_redemptions', ['member_id', 'state'], unique=False)
    op.create_index('ix_agent_redemptions_state_expires_at', 'agent_redemptions', ['state', 'expires_at'], unique=False)
    op.create_table('agent_disputes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('redemption_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_by', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['redemption_id'], ['agent_redemptions.id'], name=op.f('fk_agent_disputes_redemption_id_agent_redemptions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agent_disputes'))
    )
    op.create_index('ix_agent_disputes_state', 'agent_disputes', ['state'], unique=False)


def downgrade():
    op.drop_index('ix_agent_disputes_state', table_name='agent_disputes')
    op.drop_table('agent_disputes')
    op.drop_index('ix_agent_redemptions_state_expires_at', table_name='agent_redemptions')
    op.drop_index('ix_agent_redemptions_member_id_state', table_name='agent_redemptions')
    op.drop_index('ix_agent_redemptions_agent_code_created_at', table_name='agent_redemptions')
    op.drop_table('agent_redemptions')
    op.drop_index('ix_agents_msisdn', table_name='agents')
    op.drop_table('agents')
    op.drop_index('ix_agent_rdm_attempts_agent_code_at', table_name='agent_rdm_attempts')
    op.drop_table('agent_rdm_attempts')
