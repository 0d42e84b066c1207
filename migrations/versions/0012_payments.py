"""deposits: checkout attempts, the payments ledger, handled Stripe events, refund windows

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 13:00:00

"""
from alembic import op
import sqlalchemy as sa

from booking.core.types import UtcDateTime


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'checkout_attempt',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('booking_id', sa.Integer(), nullable=False),
        sa.Column('attempt', sa.Integer(), nullable=False),
        sa.Column('session_id', sa.String(length=255), nullable=False),
        sa.Column('url', sa.Text(), nullable=False),
        sa.Column('state', sa.String(length=10), nullable=False),
        sa.Column('amount_minor', sa.Integer(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('base_amount_minor', sa.Integer(), nullable=False),
        sa.Column('base_currency', sa.String(length=3), nullable=False),
        sa.Column('rate', sa.String(length=32), nullable=False),
        sa.Column('expires_at', UtcDateTime(timezone=True), nullable=False),
        sa.Column('payment_intent_id', sa.String(length=255), nullable=True),
        sa.Column('finished_at', UtcDateTime(timezone=True), nullable=True),
        sa.Column('created_at', UtcDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("state IN ('open', 'paid', 'expired', 'failed')",
                           name=op.f('ck_checkout_attempt_state_known')),
        sa.CheckConstraint('amount_minor > 0', name=op.f('ck_checkout_attempt_amount_positive')),
        sa.ForeignKeyConstraint(['booking_id'], ['booking.id'], ondelete='CASCADE',
                                name=op.f('fk_checkout_attempt_booking_id_booking')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_checkout_attempt')),
        sa.UniqueConstraint('booking_id', 'attempt', name='uq_checkout_attempt_number'),
        sa.UniqueConstraint('session_id', name=op.f('uq_checkout_attempt_session_id')),
        sa.UniqueConstraint('payment_intent_id',
                            name=op.f('uq_checkout_attempt_payment_intent_id')),
    )
    op.create_index(op.f('ix_checkout_attempt_booking_id'), 'checkout_attempt', ['booking_id'])
    op.create_index('uq_checkout_attempt_open', 'checkout_attempt', ['booking_id'], unique=True,
                    postgresql_where=sa.text("state = 'open'"),
                    sqlite_where=sa.text("state = 'open'"))
    op.create_table(
        'ledger_entry',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('booking_id', sa.Integer(), nullable=False),
        sa.Column('checkout_id', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('amount_minor', sa.Integer(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('payment_intent_id', sa.String(length=255), nullable=True),
        sa.Column('refund_id', sa.String(length=255), nullable=True),
        sa.Column('cause', sa.String(length=16), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('request_key', sa.String(length=100), nullable=True),
        sa.Column('failure', sa.String(length=300), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('created_at', UtcDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('charge', 'refund')", name=op.f('ck_ledger_entry_kind_known')),
        sa.CheckConstraint("status IN ('pending', 'succeeded', 'failed')",
                           name=op.f('ck_ledger_entry_status_known')),
        sa.CheckConstraint('amount_minor > 0', name=op.f('ck_ledger_entry_amount_positive')),
        sa.ForeignKeyConstraint(['booking_id'], ['booking.id'], ondelete='CASCADE',
                                name=op.f('fk_ledger_entry_booking_id_booking')),
        sa.ForeignKeyConstraint(['checkout_id'], ['checkout_attempt.id'],
                                name=op.f('fk_ledger_entry_checkout_id_checkout_attempt')),
        sa.ForeignKeyConstraint(['actor_id'], ['user_account.id'],
                                name=op.f('fk_ledger_entry_actor_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_entry')),
        sa.UniqueConstraint('refund_id', name=op.f('uq_ledger_entry_refund_id')),
        sa.UniqueConstraint('booking_id', 'request_key', name='uq_ledger_request_key'),
    )
    op.create_index(op.f('ix_ledger_entry_booking_id'), 'ledger_entry', ['booking_id'])
    op.create_index('ix_ledger_entry_created', 'ledger_entry', ['created_at'])
    op.create_index('uq_ledger_charge_intent', 'ledger_entry', ['payment_intent_id'],
                    unique=True, postgresql_where=sa.text("kind = 'charge'"),
                    sqlite_where=sa.text("kind = 'charge'"))
    op.create_table(
        'stripe_event',
        sa.Column('id', sa.String(length=255), nullable=False),
        sa.Column('type', sa.String(length=100), nullable=False),
        sa.Column('booking_id', sa.Integer(), nullable=True),
        sa.Column('outcome', sa.String(length=40), nullable=False),
        sa.Column('received_at', UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['booking_id'], ['booking.id'], ondelete='SET NULL',
                                name=op.f('fk_stripe_event_booking_id_booking')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_stripe_event')),
    )
    op.create_table(
        'refund_window',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('clinic_id', sa.Integer(), nullable=False),
        sa.Column('min_hours', sa.Integer(), nullable=False),
        sa.Column('percent', sa.Integer(), nullable=False),
        sa.CheckConstraint('min_hours >= 0', name=op.f('ck_refund_window_hours_not_negative')),
        sa.CheckConstraint('percent BETWEEN 0 AND 100', name=op.f('ck_refund_window_percent_valid')),
        sa.ForeignKeyConstraint(['clinic_id'], ['clinic.id'], ondelete='CASCADE',
                                name=op.f('fk_refund_window_clinic_id_clinic')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_refund_window')),
        sa.UniqueConstraint('clinic_id', 'min_hours', name='uq_refund_window_hours'),
    )
    op.create_index(op.f('ix_refund_window_clinic_id'), 'refund_window', ['clinic_id'])


def downgrade():
    op.drop_table('refund_window')
    op.drop_table('stripe_event')
    op.drop_table('ledger_entry')
    op.drop_table('checkout_attempt')
