"""scheduling: plans, exceptions, holidays, bookings, api tokens

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 09:45:03.382211

"""
from alembic import op
import sqlalchemy as sa

import booking.core.types

# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    is_postgres = op.get_bind().dialect.name == "postgresql"
    if is_postgres:
        # btree_gist lets one exclusion constraint combine "=" on doctor_id with "&&" on ranges.
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.create_table('holiday',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_holiday')),
    sa.UniqueConstraint('day', name='uq_holiday_day')
    )
    op.create_table('api_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', booking.core.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', booking.core.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', booking.core.types.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_api_token_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_token_token_hash'))
    )
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_token_user_id'), ['user_id'], unique=False)

    op.create_table('booking',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=12), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('clinic_id', sa.Integer(), nullable=False),
    sa.Column('doctor_id', sa.Integer(), nullable=False),
    sa.Column('consultation_type_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=24), nullable=False),
    sa.Column('starts_at', booking.core.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', booking.core.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('blocked_from', booking.core.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('blocked_until', booking.core.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('hold_expires_at', booking.core.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('patient_timezone', sa.String(length=64), nullable=False),
    sa.Column('deposit_minor', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('cancel_reason', sa.Text(), nullable=False),
    sa.Column('created_at', booking.core.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', booking.core.types.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state IN ('held', 'confirmed', 'completed', 'no_show', 'expired', 'cancelled_by_patient', 'cancelled_by_clinic')", name=op.f('ck_booking_state_known')),
    sa.CheckConstraint('blocked_from <= starts_at AND blocked_until >= ends_at', name=op.f('ck_booking_blocked_covers_consultation')),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_booking_range_ordered')),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinic.id'], name=op.f('fk_booking_clinic_id_clinic')),
    sa.ForeignKeyConstraint(['consultation_type_id'], ['consultation_type.id'], name=op.f('fk_booking_consultation_type_id_consultation_type')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_booking_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['doctor_id'], ['doctor.id'], name=op.f('fk_booking_doctor_id_doctor')),
    sa.ForeignKeyConstraint(['patient_id'], ['user_account.id'], name=op.f('fk_booking_patient_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_booking')),
    sa.UniqueConstraint('reference', name=op.f('uq_booking_reference'))
    )
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_booking_clinic_id'), ['clinic_id'], unique=False)
        batch_op.create_index('ix_booking_doctor_blocked', ['doctor_id', 'blocked_from'], unique=False)
        batch_op.create_index('ix_booking_held_expiry', ['hold_expires_at'], unique=False, postgresql_where=sa.text("state = 'held'"), sqlite_where=sa.text("state = 'held'"))
        batch_op.create_index(batch_op.f('ix_booking_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_booking_state'), ['state'], unique=False)

    if is_postgres:
        # Two active bookings of one doctor may never overlap (sqlstate 23P01 on violation).
        op.execute(
            "ALTER TABLE booking ADD CONSTRAINT booking_no_overlap EXCLUDE USING gist "
            "(doctor_id WITH =, tstzrange(blocked_from, blocked_until, '[)') WITH &&) "
            "WHERE (state IN ('held', 'confirmed'))"
        )
    op.create_table('schedule_exception',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('clinic_id', sa.Integer(), nullable=False),
    sa.Column('doctor_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('starts_at', booking.core.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', booking.core.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('note', sa.String(length=300), nullable=False),
    sa.Column('created_at', booking.core.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', booking.core.types.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('leave', 'extra', 'block')", name=op.f('ck_schedule_exception_kind_known')),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_schedule_exception_range_ordered')),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinic.id'], name=op.f('fk_schedule_exception_clinic_id_clinic')),
    sa.ForeignKeyConstraint(['doctor_id'], ['doctor.id'], name=op.f('fk_schedule_exception_doctor_id_doctor'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_schedule_exception'))
    )
    with op.batch_alter_table('schedule_exception', schema=None) as batch_op:
        batch_op.create_index('ix_schedule_exception_clinic_range', ['clinic_id', 'starts_at'], unique=False)

    op.create_table('working_interval',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('doctor_id', sa.Integer(), nullable=False),
    sa.Column('weekday', sa.Integer(), nullable=False),
    sa.Column('start_time', sa.Time(), nullable=False),
    sa.Column('end_time', sa.Time(), nullable=False),
    sa.CheckConstraint('end_time > start_time', name=op.f('ck_working_interval_interval_ordered')),
    sa.CheckConstraint('weekday BETWEEN 0 AND 6', name=op.f('ck_working_interval_weekday_valid')),
    sa.ForeignKeyConstraint(['doctor_id'], ['doctor.id'], name=op.f('fk_working_interval_doctor_id_doctor'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_working_interval'))
    )
    with op.batch_alter_table('working_interval', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_working_interval_doctor_id'), ['doctor_id'], unique=False)

    op.create_table('booking_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('booking_id', sa.Integer(), nullable=False),
    sa.Column('at', booking.core.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('from_state', sa.String(length=24), nullable=True),
    sa.Column('to_state', sa.String(length=24), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['user_account.id'], name=op.f('fk_booking_event_actor_id_user_account')),
    sa.ForeignKeyConstraint(['booking_id'], ['booking.id'], name=op.f('fk_booking_event_booking_id_booking'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_booking_event'))
    )
    with op.batch_alter_table('booking_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_booking_event_booking_id'), ['booking_id'], unique=False)

    with op.batch_alter_table('consultation_type', schema=None) as batch_op:
        batch_op.add_column(sa.Column('buffer_before_minutes', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('buffer_after_minutes', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('min_notice_minutes', sa.Integer(), server_default='1440', nullable=False))
        batch_op.add_column(sa.Column('horizon_days', sa.Integer(), server_default='120', nullable=False))

        batch_op.create_check_constraint(
            "buffers_not_negative", "buffer_before_minutes >= 0 AND buffer_after_minutes >= 0")
        batch_op.create_check_constraint(
            "window_valid", "min_notice_minutes >= 0 AND horizon_days > 0")

    # ### end Alembic commands ###


def downgrade():
    # ### commands auto generated by Alembic - please adjust! ###
    with op.batch_alter_table('consultation_type', schema=None) as batch_op:
        batch_op.drop_column('horizon_days')
        batch_op.drop_column('min_notice_minutes')
        batch_op.drop_column('buffer_after_minutes')
        batch_op.drop_column('buffer_before_minutes')

    with op.batch_alter_table('booking_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_booking_event_booking_id'))

    op.drop_table('booking_event')
    with op.batch_alter_table('working_interval', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_working_interval_doctor_id'))

    op.drop_table('working_interval')
    with op.batch_alter_table('schedule_exception', schema=None) as batch_op:
        batch_op.drop_index('ix_schedule_exception_clinic_range')

    op.drop_table('schedule_exception')
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_booking_state'))
        batch_op.drop_index(batch_op.f('ix_booking_patient_id'))
        batch_op.drop_index('ix_booking_held_expiry', postgresql_where=sa.text("state = 'held'"), sqlite_where=sa.text("state = 'held'"))
        batch_op.drop_index('ix_booking_doctor_blocked')
        batch_op.drop_index(batch_op.f('ix_booking_clinic_id'))

    op.drop_table('booking')
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_token_user_id'))

    op.drop_table('api_token')
    op.drop_table('holiday')
    # ### end Alembic commands ###
