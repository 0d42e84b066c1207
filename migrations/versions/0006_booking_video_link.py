"""booking video link and calendar sequence

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 12:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.add_column(sa.Column('video_url', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('ics_sequence', sa.Integer(), nullable=False,
                                      server_default='0'))
    # Until now the calendar SEQUENCE was the number of moves: keep it for existing bookings.
    op.execute("UPDATE booking SET ics_sequence = (SELECT count(*) FROM booking_event "
               "WHERE booking_event.booking_id = booking.id "
               "AND booking_event.from_state = booking_event.to_state)")


def downgrade():
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.drop_column('ics_sequence')
        batch_op.drop_column('video_url')
