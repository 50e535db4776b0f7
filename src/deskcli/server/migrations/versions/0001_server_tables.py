"""The server's tables as deskcli created them before it had schema revisions.

Revision 0001, the first. On an empty database it creates every table. A database made
before revisions existed (``create_all`` at start-up) has these tables already and is
adopted: a table it has is left as it is, and one it lacks (added to deskcli after the
database was made) is created, so every database leaves this revision with the same tables.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _metadata() -> sa.MetaData:
    """The tables with their indexes, written out here rather than taken from
    ``server/models.py``: a revision must create what it created the day it was written,
    whatever the models say later."""
    meta = sa.MetaData()

    def table(name: str, *columns: sa.Column[object]) -> sa.Table:
        return sa.Table(name, meta, *columns)

    def text(name: str, *, primary_key: bool = False, nullable: bool = False,
             unique: bool = False) -> sa.Column[object]:
        return sa.Column(name, sa.String(), primary_key=primary_key, nullable=nullable,
                         unique=unique)

    def number(name: str, *, primary_key: bool = False,
               nullable: bool = False) -> sa.Column[object]:
        return sa.Column(name, sa.Integer(), primary_key=primary_key, nullable=nullable)

    table("srv_meta", text("key", primary_key=True), text("value"))
    table("srv_counter", text("name", primary_key=True), number("value"))
    tech = table("srv_tech", text("handle", primary_key=True), text("name"), number("tier"),
                 sa.Column("is_admin", sa.Boolean(), nullable=False), text("token_hash"),
                 sa.Column("revoked", sa.Boolean(), nullable=False), text("created_at"))
    sa.Index("ix_srv_tech_token_hash", tech.c.token_hash)
    table("srv_tech_client",
          sa.Column("handle", sa.String(), sa.ForeignKey("srv_tech.handle"),
                    primary_key=True),
          text("client_id", primary_key=True), text("client_name"))
    feed = table("srv_op", number("seq", primary_key=True), text("op_id", unique=True),
                 text("origin"), text("tech"), text("entity"), text("entity_id"),
                 text("kind"), text("field", nullable=True),
                 sa.Column("value", sa.Text(), nullable=False), text("hlc"),
                 number("base_seq", nullable=True), text("scope"), text("status"),
                 text("received_at"))
    sa.Index("srv_op_by_scope_seq", feed.c.scope, feed.c.seq)
    table("srv_rejected", text("op_id", primary_key=True), text("reason"),
          text("rejected_at"))
    table("srv_entity", text("entity", primary_key=True), text("entity_id", primary_key=True),
          text("scope"), text("ticket_id", nullable=True))
    table("srv_field", text("entity", primary_key=True), text("entity_id", primary_key=True),
          text("field", primary_key=True), sa.Column("value", sa.Text(), nullable=False),
          text("hlc"), number("seq"), text("origin"), text("tech"))
    lease = table("srv_lease", number("start", primary_key=True), number("end"),
                  text("client_id"), text("granted_at"))
    sa.Index("ix_srv_lease_client_id", lease.c.client_id)
    table("srv_number", number("number", primary_key=True), text("ticket_id", unique=True))
    table("srv_presence", text("ticket_id", primary_key=True), text("tech", primary_key=True),
          text("seen_at"))
    store = table("srv_store", text("store_id", primary_key=True), text("handle"),
                  text("registered_at"))
    sa.Index("ix_srv_store_handle", store.c.handle)
    audience = table("srv_audience", number("seq", primary_key=True), text("source"),
                     text("target"))
    sa.Index("ix_srv_audience_source", audience.c.source)
    table("srv_intake_claim", text("name", primary_key=True), text("owner"), text("until"))
    return meta


def upgrade() -> None:
    bind = op.get_bind()
    present = set(sa.inspect(bind).get_table_names())
    for table in _metadata().sorted_tables:
        if table.name not in present:
            table.create(bind)  # with its indexes


def downgrade() -> None:
    for table in reversed(_metadata().sorted_tables):
        op.drop_table(table.name)
