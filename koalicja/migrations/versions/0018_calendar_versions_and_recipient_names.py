"""events: calendar_token, sequence, updated_at (stable UID, SEQUENCE, LAST-MODIFIED in .ics);
outbox: recipient_name (the To header shows the person's name)

Revision ID: ea1526498682
Revises: 4e8a2c6f0b19
Create Date: 2026-12-03

"""
import secrets

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'ea1526498682'
down_revision = '4e8a2c6f0b19'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('calendar_token', sa.String(length=16), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('sequence', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(), nullable=True))
    event = sa.table('event', sa.column('id', sa.Integer), sa.column('calendar_token', sa.String),
                     sa.column('created_at', sa.DateTime), sa.column('updated_at', sa.DateTime))
    connection = op.get_bind()
    # Each existing event gets its own random token; its UID changes this once.
    for (event_id,) in connection.execute(sa.select(event.c.id)).all():
        connection.execute(event.update().where(event.c.id == event_id).values(calendar_token=secrets.token_hex(8)))
    connection.execute(event.update().values(updated_at=event.c.created_at))
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.alter_column('updated_at', existing_type=sa.DateTime(), nullable=False)

    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recipient_name', sa.String(length=200), nullable=False, server_default=''))


def downgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_column('recipient_name')
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_column('updated_at')
        batch_op.drop_column('sequence')
        batch_op.drop_column('calendar_token')
