"""a patient's own active bookings never overlap

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 07:10:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        # As booking_no_overlap does for a doctor: two held/confirmed bookings of one patient
        # may not overlap in time (two clinics, one Thursday 8 PM). SQLite: the service checks
        # inside its serialised write.
        op.execute(
            "ALTER TABLE booking ADD CONSTRAINT booking_patient_no_overlap EXCLUDE USING gist "
            "(patient_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) "
            "WHERE (state IN ('held', 'confirmed'))"
        )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE booking DROP CONSTRAINT booking_patient_no_overlap")
