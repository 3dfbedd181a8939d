"""reach: the sites allowed to frame a coalition's widgets; announcements published on the site

Revision ID: 3c7e5a9d1f20
Revises: 9d41b7e3c5a2
Create Date: 2026-12-03

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3c7e5a9d1f20'
down_revision = '9d41b7e3c5a2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('coalition', schema=None) as batch_op:
        batch_op.add_column(sa.Column('embed_origins', sa.Text(), nullable=False, server_default=''))
    with op.batch_alter_table('announcement', schema=None) as batch_op:
        batch_op.add_column(sa.Column('public', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('announcement', schema=None) as batch_op:
        batch_op.drop_column('public')
    with op.batch_alter_table('coalition', schema=None) as batch_op:
        batch_op.drop_column('embed_origins')
