"""former coalition addresses

Revision ID: 8f3b2c7d1a90
Revises: cded6fc03f15
Create Date: 2026-11-21

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8f3b2c7d1a90'
down_revision = 'cded6fc03f15'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'former_slug',
        sa.Column('slug', sa.String(length=80), nullable=False),
        sa.Column('coalition_id', sa.Integer(), nullable=False),
        sa.Column('replaced_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['coalition_id'], ['coalition.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('slug'),
    )
    with op.batch_alter_table('former_slug', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_former_slug_coalition_id'), ['coalition_id'], unique=False)


def downgrade():
    with op.batch_alter_table('former_slug', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_former_slug_coalition_id'))
    op.drop_table('former_slug')
