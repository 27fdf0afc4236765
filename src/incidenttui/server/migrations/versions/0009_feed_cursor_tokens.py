"""opaque feed cursors and a separate number series for restricted incidents

* ``server_secrets``: the key of the change feed's cursor tokens (server/cursors.py), made
  here so every replica shares it, and the *legacy horizon*: the feed's head now, the last
  integer cursor a client of an older server can hold (still accepted after the upgrade).
* ``incidents.series``: ``INC`` or ``SEC``. An incident restricted when it is logged takes its
  number from its own counter (``SEC-1``, ``SEC-2``, ...), so INC numbers have no gaps that
  tell a responder a hidden incident was opened. The unique number becomes unique per series.
  Incidents already numbered keep their INC numbers.

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-05 23:20:00
"""
import os
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0009'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The name SQLite's batch mode gives 0001's unnamed unique constraint on ``number``, so it
#: can be dropped (PostgreSQL named it ``incidents_number_key`` itself).
_CONVENTION = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _number_constraint() -> str:
    return ("incidents_number_key" if op.get_bind().dialect.name == "postgresql"
            else "uq_incidents_number")


def upgrade() -> None:
    secrets = op.create_table(
        'server_secrets',
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('value', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('name'))
    head = op.get_bind().execute(sa.text("SELECT max(seq) FROM changes")).scalar()
    op.bulk_insert(secrets, [{'name': 'feed_cursor_key', 'value': os.urandom(32).hex()},
                             {'name': 'feed_legacy_horizon', 'value': str(int(head or 0))}])
    with op.batch_alter_table('incidents', schema=None,
                              naming_convention=_CONVENTION) as batch_op:
        batch_op.add_column(sa.Column('series', sa.String(length=8), nullable=False,
                                      server_default='INC'))
        batch_op.drop_constraint(_number_constraint(), type_='unique')
        batch_op.create_unique_constraint('uq_incidents_series_number', ['series', 'number'])
        batch_op.create_index('ix_incidents_number', ['number'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_index('ix_incidents_number')
        batch_op.drop_constraint('uq_incidents_series_number', type_='unique')
        batch_op.drop_column('series')
        batch_op.create_unique_constraint(_number_constraint(), ['number'])
    op.drop_table('server_secrets')
