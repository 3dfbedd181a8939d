"""coalitions: funder_logo (the funder's logo beside the funding line on printouts)

Revision ID: 7b2d9e4f6a13
Revises: 3c7e5a9d1f20
Create Date: 2026-12-03

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7b2d9e4f6a13'
down_revision = '3c7e5a9d1f20'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('coalition', schema=None) as batch_op:
        batch_op.add_column(sa.Column('funder_logo', sa.String(length=200), server_default='', nullable=False))


def downgrade():
    with op.batch_alter_table('coalition', schema=None) as batch_op:
        batch_op.drop_column('funder_logo')
