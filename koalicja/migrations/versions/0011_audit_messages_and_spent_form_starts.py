"""audit entries store their message and parameters; spent bot-trap start times

Revision ID: b61e0d4f2a87
Revises: 7d5a1e3c9b28
Create Date: 2026-12-03

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b61e0d4f2a87'
down_revision = '7d5a1e3c9b28'
branch_labels = None
depends_on = None


def upgrade():
    # Entries written before keep their summary as text (shown as it is); new ones also store
    # the message id and parameters, shown in the reader's language (koalicja/panel/audit.py).
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('message', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('params', sa.JSON(), nullable=False, server_default='{}'))
    # A bot trap's start time is accepted once (koalicja/security.py SpentFormStart).
    op.create_table(
        'spent_form_start',
        sa.Column('nonce', sa.String(length=32), nullable=False),
        sa.Column('used_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('nonce'),
    )
    with op.batch_alter_table('spent_form_start', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_spent_form_start_used_at'), ['used_at'], unique=False)


def downgrade():
    with op.batch_alter_table('spent_form_start', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_spent_form_start_used_at'))
    op.drop_table('spent_form_start')
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.drop_column('params')
        batch_op.drop_column('message')
