"""registrations: walk_in (added at the door); check_in_scan (check-ins queued offline, one per device key)

Revision ID: 3d7f2b9c5e41
Revises: ea1526498682
Create Date: 2026-12-03

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3d7f2b9c5e41'
down_revision = 'ea1526498682'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.add_column(sa.Column('walk_in', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        'check_in_scan',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=36), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('registration_id', sa.Integer(), nullable=False),
        sa.Column('device_id', sa.String(length=36), nullable=False),
        sa.Column('scanned_at', sa.DateTime(), nullable=False),
        sa.Column('received_at', sa.DateTime(), nullable=False),
        sa.Column('coordinator_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['coordinator_id'], ['coordinator.id']),
        sa.ForeignKeyConstraint(['event_id'], ['event.id']),
        sa.ForeignKeyConstraint(['registration_id'], ['registration.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('key'),
    )
    with op.batch_alter_table('check_in_scan', schema=None) as batch_op:
        batch_op.create_index('ix_check_in_scan_event_id', ['event_id'], unique=False)
        batch_op.create_index('ix_check_in_scan_registration_id', ['registration_id'], unique=False)


def downgrade():
    op.drop_table('check_in_scan')
    with op.batch_alter_table('registration', schema=None) as batch_op:
        batch_op.drop_column('walk_in')
