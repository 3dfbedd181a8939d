"""outbox messages say what they are about: a withdrawal drops only its entry's own mail

Revision ID: 7d5a1e3c9b28
Revises: 4c2e9a7b5d13
Create Date: 2026-11-28

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7d5a1e3c9b28'
down_revision = '4c2e9a7b5d13'
branch_labels = None
depends_on = None


def upgrade():
    # Messages queued before this have no `about`: a withdrawal leaves them alone (they are
    # delivered within minutes of being queued, long before anyone upgrades mid-queue).
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('about', sa.String(length=60), nullable=True))
        batch_op.create_index(batch_op.f('ix_outbox_message_about'), ['about'], unique=False)


def downgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_message_about'))
        batch_op.drop_column('about')
