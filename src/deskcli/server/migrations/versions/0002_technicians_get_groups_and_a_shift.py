"""technicians get groups and a shift

Revision 0002, after 0001; made 2026-12-02 02:15:49.009342.
Assignment rules (round-robin and least-loaded within a group) need each technician's
groups and shift. A table of its own, so ``srv_tech`` is not altered; technicians that
exist already have no row and count as in no group and always on shift until a lead sets
them with ``deskcli server tech set``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("srv_tech_roster",
    sa.Column("handle", sa.String(), nullable=False),
    sa.Column("groups", sa.Text(), nullable=False),
    sa.Column("shift", sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(["handle"], ["srv_tech.handle"], ),
    sa.PrimaryKeyConstraint("handle")
    )


def downgrade() -> None:
    op.drop_table("srv_tech_roster")
