"""consultations (options, the roll, opinions) and members' meetings (agenda, minutes) on events

Revision ID: 651f89c2ffb8
Revises: 8a1e5c7d3f92
Create Date: 2026-12-04 18:25:12.881474

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '651f89c2ffb8'
down_revision = '8a1e5c7d3f92'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('consultation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('coalition_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('sections', sa.JSON(), nullable=False),
    sa.Column('opens_at', sa.DateTime(), nullable=True),
    sa.Column('closes_at', sa.DateTime(), nullable=True),
    sa.Column('quorum_percent', sa.Integer(), nullable=True),
    sa.Column('rule', sa.String(length=20), nullable=False),
    sa.Column('secret', sa.Boolean(), nullable=False),
    sa.Column('live_results', sa.Boolean(), nullable=False),
    sa.Column('results_public', sa.Boolean(), nullable=False),
    sa.Column('reminder_days', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('roll_size', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('opened_at', sa.DateTime(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('reminder_sent_at', sa.DateTime(), nullable=True),
    sa.Column('resolution', sa.Text(), nullable=False),
    sa.Column('meeting_event_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['coalition_id'], ['coalition.id'], ),
    sa.ForeignKeyConstraint(['created_by_id'], ['coordinator.id'], ),
    sa.ForeignKeyConstraint(['meeting_event_id'], ['event.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('consultation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consultation_coalition_id'), ['coalition_id'], unique=False)
        batch_op.create_index('ix_consultation_coalition_status', ['coalition_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_consultation_meeting_event_id'), ['meeting_event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_consultation_status'), ['status'], unique=False)

    op.create_table('consultation_option',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consultation_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=300), nullable=False),
    sa.Column('code', sa.String(length=10), nullable=False),
    sa.Column('votes', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultation.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('consultation_id', 'position', name='uq_consultation_option_position')
    )
    with op.batch_alter_table('consultation_option', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consultation_option_consultation_id'), ['consultation_id'], unique=False)

    op.create_table('consultation_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consultation_id', sa.Integer(), nullable=False),
    sa.Column('signature_id', sa.Integer(), nullable=True),
    sa.Column('member_key', sa.String(length=320), nullable=False),
    sa.Column('is_organisation', sa.Boolean(), nullable=False),
    sa.Column('link_nonce', sa.String(length=32), nullable=False),
    sa.Column('took_part_at', sa.DateTime(), nullable=True),
    sa.Column('method', sa.String(length=10), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('choice', sa.JSON(), nullable=True),
    sa.Column('sealed_choice', sa.Text(), nullable=True),
    sa.Column('invited_at', sa.DateTime(), nullable=True),
    sa.Column('reminded_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultation.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['coordinator.id'], ),
    sa.ForeignKeyConstraint(['signature_id'], ['signature.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('consultation_id', 'member_key', name='uq_consultation_member_key')
    )
    with op.batch_alter_table('consultation_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consultation_member_consultation_id'), ['consultation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_consultation_member_signature_id'), ['signature_id'], unique=False)

    op.create_table('consultation_opinion',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consultation_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('section', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['consultation_id'], ['consultation.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['member_id'], ['consultation_member.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('member_id', 'section', name='uq_consultation_opinion_section')
    )
    with op.batch_alter_table('consultation_opinion', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consultation_opinion_consultation_id'), ['consultation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_consultation_opinion_member_id'), ['member_id'], unique=False)

    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_members_meeting', sa.Boolean(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('agenda', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('minutes', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('minutes_file', sa.String(length=100), server_default='', nullable=False))
        batch_op.add_column(sa.Column('minutes_published_at', sa.DateTime(), nullable=True))



def downgrade():
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_column('minutes_published_at')
        batch_op.drop_column('minutes_file')
        batch_op.drop_column('minutes')
        batch_op.drop_column('agenda')
        batch_op.drop_column('is_members_meeting')

    with op.batch_alter_table('consultation_opinion', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consultation_opinion_member_id'))
        batch_op.drop_index(batch_op.f('ix_consultation_opinion_consultation_id'))

    op.drop_table('consultation_opinion')
    with op.batch_alter_table('consultation_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consultation_member_signature_id'))
        batch_op.drop_index(batch_op.f('ix_consultation_member_consultation_id'))

    op.drop_table('consultation_member')
    with op.batch_alter_table('consultation_option', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consultation_option_consultation_id'))

    op.drop_table('consultation_option')
    with op.batch_alter_table('consultation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consultation_status'))
        batch_op.drop_index(batch_op.f('ix_consultation_meeting_event_id'))
        batch_op.drop_index('ix_consultation_coalition_status')
        batch_op.drop_index(batch_op.f('ix_consultation_coalition_id'))

    op.drop_table('consultation')
