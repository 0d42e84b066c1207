"""an index for a clinic's bookings by start time (calendar, dashboard, digest)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 14:00:00

"""
from alembic import op


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_booking_clinic_start', 'booking', ['clinic_id', 'starts_at'])


def downgrade():
    op.drop_index('ix_booking_clinic_start', table_name='booking')
