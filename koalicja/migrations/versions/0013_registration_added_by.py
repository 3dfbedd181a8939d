"""registrations: added_by_id (a person a coordinator added by hand, consent given to them)

Revision ID: 5c3f1a9e7d20
Revises: e2a4c6b8d0f1
Create Date: 2026-12-03

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5c3f1a9e7d20'
down_revision = 'e2a4c6b8d0f1'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.add_column(sa.Column('added_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_registration_added_by', 'coordinator', ['added_by_id'], ['id'])


def downgrade():
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.drop_constraint('fk_registration_added_by', type_='foreignkey')
        batch_op.drop_column('added_by_id')
