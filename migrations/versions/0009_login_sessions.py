"""server-side sign-ins; invited staff who have not accepted yet

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 08:30:00

"""
from alembic import op
import sqlalchemy as sa

import booking.core.types


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('login_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', booking.core.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', booking.core.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('user_agent', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_login_session_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_session')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_login_session_token_hash'))
    )
    with op.batch_alter_table('login_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_session_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('invite_pending', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))

    # Staff an admin created (an invitation) who have never chosen a password since: still
    # pending. Those made on the command line chose theirs there. (Every earlier cookie names
    # no login_session row, so everyone signs in once more after this upgrade.)
    op.execute(
        "UPDATE user_account SET invite_pending = TRUE "
        "WHERE role IN ('coordinator', 'admin') "
        "AND EXISTS (SELECT 1 FROM audit_event a WHERE a.object_type = 'User' "
        "AND a.object_id = CAST(user_account.id AS VARCHAR(80)) "
        "AND a.action = 'user.created' AND a.actor_id IS NOT NULL) "
        "AND NOT EXISTS (SELECT 1 FROM audit_event a WHERE a.object_type = 'User' "
        "AND a.object_id = CAST(user_account.id AS VARCHAR(80)) "
        "AND a.action IN ('user.password_reset', 'user.password_changed'))"
    )


def downgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('invite_pending')

    with op.batch_alter_table('login_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_session_user_id'))

    op.drop_table('login_session')
