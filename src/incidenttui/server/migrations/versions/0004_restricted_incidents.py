"""restricted incidents, per-caller change feed rows, named tokens for existing users

* ``incidents.restricted``: marked restricted (security-category incidents are restricted
  whatever it says; domain/permissions.py ``is_restricted``).
* ``changes.incident_id`` / ``changes.restricted`` / ``changes.audience``: the feed is
  filtered per caller in one query (server/visibility.py): a row of a restricted incident
  reaches only those who can see it, a row with an audience only that user (``forget``).
* every ``users.token_hash`` becomes an ``api_tokens`` row named ``default``, so the tokens
  already handed out keep working once authentication reads ``api_tokens``.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 18:40:00
"""
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('restricted', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    with op.batch_alter_table('changes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('incident_id', sqlmodel.sql.sqltypes.AutoString(length=36),
                                      nullable=True))
        batch_op.add_column(sa.Column('restricted', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('audience', sqlmodel.sql.sqltypes.AutoString(length=64),
                                      nullable=True))
    bind = op.get_bind()
    # The feed rows already written: incident and event rows name their incident.
    bind.execute(sa.text("UPDATE changes SET incident_id = entity_id WHERE entity = 'incident'"))
    bind.execute(sa.text(
        "UPDATE changes SET incident_id = (SELECT e.incident_id FROM timeline_events e "
        "WHERE e.id = changes.entity_id) WHERE entity = 'event'"))
    bind.execute(sa.text(
        "UPDATE changes SET restricted = true WHERE incident_id IN "
        "(SELECT id FROM incidents WHERE category = 'security')"))
    now = datetime.now(UTC).replace(tzinfo=None)  # the columns keep naive UTC
    tokens = sa.table('api_tokens', sa.column('id'), sa.column('user_id'), sa.column('name'),
                      sa.column('token_hash'), sa.column('created_at'))
    rows = bind.execute(sa.text(
        "SELECT id, token_hash FROM users WHERE token_hash IS NOT NULL AND token_hash NOT IN "
        "(SELECT token_hash FROM api_tokens)")).all()
    if rows:
        op.bulk_insert(tokens, [{'id': str(uuid.uuid4()), 'user_id': user_id, 'name': 'default',
                                 'token_hash': token_hash, 'created_at': now}
                                for user_id, token_hash in rows])


def downgrade() -> None:
    with op.batch_alter_table('changes', schema=None) as batch_op:
        batch_op.drop_column('audience')
        batch_op.drop_column('restricted')
        batch_op.drop_column('incident_id')
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_column('restricted')
