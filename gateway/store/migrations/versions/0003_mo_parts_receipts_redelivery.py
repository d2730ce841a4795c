"""receiving side: parts of long MOs, redelivery marks on the inbox, MT segments and receipts

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=12), server_default='text',
                                      nullable=False))
        batch_op.add_column(sa.Column('duplicate_of', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_inbox_duplicate_of_inbox'), 'inbox',
                                    ['duplicate_of'], ['id'])
        batch_op.create_index('ix_inbox_redelivery',
                              ['source_addr', 'destination_addr', 'received_at'], unique=False)

    op.create_table('mo_parts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bind', sa.String(length=32), nullable=False),
    sa.Column('source_addr', sa.String(length=21), nullable=False),
    sa.Column('destination_addr', sa.String(length=21), nullable=False),
    sa.Column('reference', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('data_coding', sa.Integer(), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('inbox_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['inbox_id'], ['inbox.id'], name=op.f('fk_mo_parts_inbox_id_inbox')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mo_parts')),
    sa.UniqueConstraint('source_addr', 'destination_addr', 'reference', 'total', 'sequence',
                        name='uq_mo_parts_part')
    )
    with op.batch_alter_table('mo_parts', schema=None) as batch_op:
        batch_op.create_index('ix_mo_parts_received_at', ['received_at'], unique=False)

    op.create_table('mt_segments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('outbox_id', sa.Integer(), nullable=False),
    sa.Column('part', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.String(length=64), nullable=False),
    sa.Column('message_key', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=True),
    sa.Column('error', sa.String(length=8), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'],
                            name=op.f('fk_mt_segments_outbox_id_outbox')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mt_segments'))
    )
    with op.batch_alter_table('mt_segments', schema=None) as batch_op:
        batch_op.create_index('ix_mt_segments_message_key', ['message_key'], unique=False)
        batch_op.create_index('ix_mt_segments_outbox_id', ['outbox_id'], unique=False)

    op.create_table('mt_deliveries',
    sa.Column('outbox_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'],
                            name=op.f('fk_mt_deliveries_outbox_id_outbox')),
    sa.PrimaryKeyConstraint('outbox_id', name=op.f('pk_mt_deliveries'))
    )

    op.create_table('unmatched_receipts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bind', sa.String(length=32), nullable=False),
    sa.Column('id_format', sa.String(length=8), nullable=False),
    sa.Column('message_key', sa.String(length=64), nullable=True),
    sa.Column('alt_key', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=8), nullable=True),
    sa.Column('error', sa.String(length=8), nullable=True),
    sa.Column('reason', sa.String(length=80), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('outbox_id', sa.Integer(), nullable=True),
    sa.Column('matched_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'],
                            name=op.f('fk_unmatched_receipts_outbox_id_outbox')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unmatched_receipts'))
    )
    with op.batch_alter_table('unmatched_receipts', schema=None) as batch_op:
        batch_op.create_index('ix_unmatched_receipts_alt_key', ['alt_key'], unique=False)
        batch_op.create_index('ix_unmatched_receipts_message_key', ['message_key'], unique=False)


def downgrade():
    with op.batch_alter_table('unmatched_receipts', schema=None) as batch_op:
        batch_op.drop_index('ix_unmatched_receipts_message_key')
        batch_op.drop_index('ix_unmatched_receipts_alt_key')
    op.drop_table('unmatched_receipts')
    op.drop_table('mt_deliveries')
    with op.batch_alter_table('mt_segments', schema=None) as batch_op:
        batch_op.drop_index('ix_mt_segments_outbox_id')
        batch_op.drop_index('ix_mt_segments_message_key')
    op.drop_table('mt_segments')
    with op.batch_alter_table('mo_parts', schema=None) as batch_op:
        batch_op.drop_index('ix_mo_parts_received_at')
    op.drop_table('mo_parts')
    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.drop_index('ix_inbox_redelivery')
        batch_op.drop_constraint(batch_op.f('fk_inbox_duplicate_of_inbox'), type_='foreignkey')
        batch_op.drop_column('duplicate_of')
        batch_op.drop_column('kind')
