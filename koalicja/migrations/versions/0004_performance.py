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
    with op.batch_alter_table('signature', schema=None) as batch_op:
        batch_op.create_index('ix_signature_list_alphabetical', ['declaration_id', 'listed', 'list_sort_key'], unique=False)
        batch_op.create_index('ix_signature_declaration_status', ['declaration_id', 'status'], unique=False)
        batch_op.create_index('ix_signature_status_created', ['status', 'created_at'], unique=False)
        batch_op.create_index('ix_signature_status_decided', ['status', 'decided_at'], unique=False)
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.create_index('ix_registration_email_key', ['email_key'], unique=False)


def downgrade():
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.drop_index('ix_registration_email_key')
    with op.batch_alter_table('signature', schema=None) as batch_op:
        batch_op.drop_index('ix_signature_status_decided')
        batch_op.drop_index('ix_signature_status_created')
        batch_op.drop_index('ix_signature_declaration_status')
        batch_op.drop_index('ix_signature_list_alphabetical')
    if op.get_bind().dialect.name == 'postgresql':
        op.alter_column('signature', 'list_sort_key', existing_type=sa.String(length=300, collation='C'),
                        existing_nullable=False, type_=sa.String(length=300))
    op.drop_table('data_version')
