"""signatures: panel_search_key (the coordinators' search without case and diacritics on both engines)

Revision ID: 9d41b7e3c5a2
Revises: 5c3f1a9e7d20
Create Date: 2026-12-03

"""
from alembic import op
import sqlalchemy as sa

from koalicja.signatures.models import panel_search_key


# revision identifiers, used by Alembic.
revision = '9d41b7e3c5a2'
down_revision = '5c3f1a9e7d20'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('signature', schema=None) as batch_op:
        batch_op.add_column(sa.Column('panel_search_key', sa.String(length=1000), nullable=False, server_default=''))
    # Existing rows get their key here; new and changed rows get it on every write (models.py).
    signature = sa.table(
        'signature', sa.column('id'), sa.column('full_name'), sa.column('organisation_name'), sa.column('email'),
        sa.column('krs'), sa.column('nip'), sa.column('regon'), sa.column('panel_search_key'),
    )
    connection = op.get_bind()
    rows = connection.execute(sa.select(
        signature.c.id, signature.c.full_name, signature.c.organisation_name, signature.c.email,
        signature.c.krs, signature.c.nip, signature.c.regon,
    )).all()
    keys = [{'row_id': row.id, 'key': panel_search_key(*row[1:])} for row in rows]
    if keys:
        connection.execute(
            signature.update().where(signature.c.id == sa.bindparam('row_id')).values(panel_search_key=sa.bindparam('key')),
            keys,
        )


def downgrade():
    with op.batch_alter_table('signature', schema=None) as batch_op:
        batch_op.drop_column('panel_search_key')
