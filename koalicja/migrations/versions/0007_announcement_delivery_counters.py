"""announcement delivery counters

Revision ID: cded6fc03f15
Revises: 4e4c6ebdcb62
Create Date: 2026-11-21

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'cded6fc03f15'
down_revision = '4e4c6ebdcb62'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('announcement', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sent_count', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('failed_count', sa.Integer(), server_default='0', nullable=False))



def downgrade():
    with op.batch_alter_table('announcement', schema=None) as batch_op:
        batch_op.drop_column('failed_count')
        batch_op.drop_column('sent_count')

