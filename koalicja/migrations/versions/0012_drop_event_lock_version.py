"""events: drop lock_version (places are locked with SELECT … FOR UPDATE / BEGIN IMMEDIATE)

Revision ID: e2a4c6b8d0f1
Revises: b61e0d4f2a87
Create Date: 2026-12-03

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e2a4c6b8d0f1'
down_revision = 'b61e0d4f2a87'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_column('lock_version')


def downgrade():
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lock_version', sa.Integer(), nullable=False, server_default='0'))
