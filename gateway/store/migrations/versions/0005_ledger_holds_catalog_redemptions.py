"""ledger holds and history; catalogue, redemptions, vouchers, PINs, postings queue

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('ledger_accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('closed', sa.Integer(), server_default='0', nullable=False))

    with op.batch_alter_table('ledger_transfers', schema=None) as batch_op:
        batch_op.drop_constraint('fk_ledger_transfers_debit_account_id_ledger_accounts', type_='foreignkey')
        batch_op.drop_constraint('fk_ledger_transfers_credit_account_id_ledger_accounts', type_='foreignkey')
        batch_op.add_column(sa.Column('kind', sa.String(length=8), server_default='single', nullable=False))
        batch_op.add_column(sa.Column('pending_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('reference', sa.String(length=64), nullable=True))
        batch_op.create_index('ix_ledger_transfers_debit_history', ['debit_account_id', 'created_at'], unique=False)
        batch_op.create_index('ix_ledger_transfers_credit_history', ['credit_account_id', 'created_at'], unique=False)

    op.create_table('ledger_holds',
    sa.Column('transfer_id', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=8), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['transfer_id'], ['ledger_transfers.id'], name=op.f('fk_ledger_holds_transfer_id_ledger_transfers')),
    sa.PrimaryKeyConstraint('transfer_id', name=op.f('pk_ledger_holds'))
    )
    with op.batch_alter_table('ledger_holds', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_holds_state_expires_at', ['state', 'expires_at'], unique=False)

    op.create_table('catalog_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('category', sa.String(length=24), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('price', sa.BigInteger(), nullable=False),
    sa.Column('stock', sa.Integer(), nullable=True),
    sa.Column('per_member_limit', sa.Integer(), nullable=True),
    sa.Column('sale_starts_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sale_ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('active', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('price > 0', name=op.f('ck_catalog_items_price_positive')),
    sa.CheckConstraint('stock IS NULL OR stock >= 0', name=op.f('ck_catalog_items_stock_not_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalog_items')),
    sa.UniqueConstraint('code', name=op.f('uq_catalog_items_code'))
    )
    op.create_table('catalog_item_names',
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['catalog_items.id'], name=op.f('fk_catalog_item_names_item_id_catalog_items')),
    sa.PrimaryKeyConstraint('item_id', 'language', name=op.f('pk_catalog_item_names'))
    )
    op.create_table('member_pins',
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('pin_hash', sa.String(length=128), nullable=False),
    sa.Column('failed_attempts', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_member_pins_member_id_members')),
    sa.PrimaryKeyConstraint('member_id', name=op.f('pk_member_pins'))
    )
    op.create_table('redemptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=12), nullable=False),
    sa.Column('idempotency_key', sa.String(length=64), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('refusal', sa.String(length=24), nullable=True),
    sa.Column('msisdn', sa.String(length=20), nullable=False),
    sa.Column('short_code', sa.String(length=21), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reversed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reversed_by', sa.String(length=64), nullable=True),
    sa.Column('reversal_reason', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['item_id'], ['catalog_items.id'], name=op.f('fk_redemptions_item_id_catalog_items')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_redemptions_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_redemptions')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_redemptions_idempotency_key')),
    sa.UniqueConstraint('reference', name=op.f('uq_redemptions_reference'))
    )
    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.create_index('ix_redemptions_member_id_created_at', ['member_id', 'created_at'], unique=False)
        batch_op.create_index('ix_redemptions_member_id_item_id', ['member_id', 'item_id'], unique=False)

    op.create_table('ledger_postings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=64), nullable=False),
    sa.Column('purpose', sa.String(length=12), nullable=False),
    sa.Column('redemption_id', sa.Integer(), nullable=True),
    sa.Column('transfers', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=8), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['redemption_id'], ['redemptions.id'], name=op.f('fk_ledger_postings_redemption_id_redemptions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_postings')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_ledger_postings_idempotency_key'))
    )
    with op.batch_alter_table('ledger_postings', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_postings_state_next_attempt_at', ['state', 'next_attempt_at'], unique=False)

    op.create_table('vouchers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('redemption_id', sa.Integer(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('last_chars', sa.String(length=4), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['redemption_id'], ['redemptions.id'], name=op.f('fk_vouchers_redemption_id_redemptions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vouchers')),
    sa.UniqueConstraint('digest', name=op.f('uq_vouchers_digest'))
    )
    with op.batch_alter_table('vouchers', schema=None) as batch_op:
        batch_op.create_index('ix_vouchers_redemption_id', ['redemption_id'], unique=False)


def downgrade():
    with op.batch_alter_table('vouchers', schema=None) as batch_op:
        batch_op.drop_index('ix_vouchers_redemption_id')
    op.drop_table('vouchers')
    with op.batch_alter_table('ledger_postings', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_postings_state_next_attempt_at')
    op.drop_table('ledger_postings')
    with op.batch_alter_table('redemptions', schema=None) as batch_op:
        batch_op.drop_index('ix_redemptions_member_id_item_id')
        batch_op.drop_index('ix_redemptions_member_id_created_at')
    op.drop_table('redemptions')
    op.drop_table('member_pins')
    op.drop_table('catalog_item_names')
    op.drop_table('catalog_items')
    with op.batch_alter_table('ledger_holds', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_holds_state_expires_at')
    op.drop_table('ledger_holds')
    with op.batch_alter_table('ledger_transfers', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_transfers_credit_history')
        batch_op.drop_index('ix_ledger_transfers_debit_history')
        batch_op.drop_column('reference')
        batch_op.drop_column('pending_id')
        batch_op.drop_column('kind')
        batch_op.create_foreign_key('fk_ledger_transfers_debit_account_id_ledger_accounts', 'ledger_accounts', ['debit_account_id'], ['id'])
        batch_op.create_foreign_key('fk_ledger_transfers_credit_account_id_ledger_accounts', 'ledger_accounts', ['credit_account_id'], ['id'])
    with op.batch_alter_table('ledger_accounts', schema=None) as batch_op:
        batch_op.drop_column('closed')
