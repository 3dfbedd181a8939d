"""organisation profiles: logo, website and description of an approved organisation, moderated

Revision ID: 4e8a2c6f0b19
Revises: 7b2d9e4f6a13
Create Date: 2026-12-03

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '4e8a2c6f0b19'
down_revision = '7b2d9e4f6a13'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'organisation_profile',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('signature_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('logo_file', sa.String(length=100), nullable=False),
        sa.Column('logo_content_type', sa.String(length=30), nullable=False),
        sa.Column('website_url', sa.String(length=300), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('submitted_at', sa.DateTime(), nullable=False),
        sa.Column('decided_at', sa.DateTime(), nullable=True),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['signature_id'], ['signature.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['decided_by_id'], ['coordinator.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('organisation_profile', schema=None) as batch_op:
        batch_op.create_index('ix_organisation_profile_signature_status', ['signature_id', 'status'], unique=False)
        batch_op.create_index('ix_organisation_profile_status', ['status'], unique=False)


def downgrade():
    with op.batch_alter_table('organisation_profile', schema=None) as batch_op:
        batch_op.drop_index('ix_organisation_profile_status')
        batch_op.drop_index('ix_organisation_profile_signature_status')
    op.drop_table('organisation_profile')
