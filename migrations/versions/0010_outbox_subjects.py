"""outbox rows point at any subject (subject_type + subject_id), not only a booking

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 23:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subject_type', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('subject_id', sa.Integer(), nullable=True))
    op.execute("UPDATE outbox_message SET subject_type = 'booking', subject_id = booking_id "
               "WHERE booking_id IS NOT NULL")
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_message_booking_id'))
        batch_op.drop_constraint(batch_op.f('fk_outbox_message_booking_id_booking'),
                                 type_='foreignkey')
        batch_op.drop_column('booking_id')
        batch_op.create_index('ix_outbox_subject', ['subject_type', 'subject_id'], unique=False)


def downgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('booking_id', sa.Integer(), nullable=True))
    op.execute("UPDATE outbox_message SET booking_id = subject_id "
               "WHERE subject_type = 'booking'")
    # Messages about other subjects cannot be kept in the old shape.
    op.execute("DELETE FROM outbox_message WHERE subject_type IS NOT NULL "
               "AND subject_type <> 'booking'")
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_subject')
        batch_op.create_foreign_key(batch_op.f('fk_outbox_message_booking_id_booking'),
                                    'booking', ['booking_id'], ['id'], ondelete='CASCADE')
        batch_op.create_index(batch_op.f('ix_outbox_message_booking_id'), ['booking_id'],
                              unique=False)
        batch_op.drop_column('subject_type')
        batch_op.drop_column('subject_id')
