"""signatures: signed_at_event_id, witnessed_by_id (the kiosk at an event, its witness)

Revision ID: 8a1e5c7d3f92
Revises: 3d7f2b9c5e41
Create Date: 2026-12-03

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8a1e5c7d3f92'
down_revision = '3d7f2b9c5e41'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('signature', schema=None) as batch_op:
        batch_op.add_column(sa.Column('signed_at_event_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('witnessed_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_signature_signed_at_event', 'event', ['signed_at_event_id'], ['id'])
        batch_op.create_foreign_key('fk_signature_witnessed_by', 'coordinator', ['witnessed_by_id'], ['id'])


def downgrade():
    with op.batch_alter_table('signature', schema=None) as batch_op:
        batch_op.drop_constraint('fk_signature_witnessed_by', type_='foreignkey')
        batch_op.drop_constraint('fk_signature_signed_at_event', type_='foreignkey')
        batch_op.drop_column('witnessed_by_id')
        batch_op.drop_column('signed_at_event_id')
