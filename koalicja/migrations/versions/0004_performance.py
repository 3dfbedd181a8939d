"""performance: data version for cached pages, indexes for the list, the queue and registrations

Revision ID: 5f3a9c1e7b20
Revises: d01530b99fa0
Create Date: 2026-11-28

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5f3a9c1e7b20'
down_revision = 'd01530b99fa0'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('data_version',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.execute("INSERT INTO data_version (id, version) VALUES (1, 0)")
    if op.get_bind().dialect.name == 'postgresql':
        # The Polish sort key must compare bytewise, whatever the database's collation.
        op.alter_column('signature', 'list_sort_key', existing_type=sa.String(length=300), existing_nullable=False,
                        type_=sa.String(length=300, collation='C'))


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.alter_column('signature', 'list_sort_key', existing_type=sa.String(length=300, collation='C'),
                        existing_nullable=False, type_=sa.String(length=300))
    op.drop_table('data_version')
