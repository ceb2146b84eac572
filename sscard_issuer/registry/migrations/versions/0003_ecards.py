"""The electronic social security card: e-cards, status list shards, signing keys, used presentation codes.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "signing_key",
        sa.Column("kid", sa.String(64), primary_key=True),
        sa.Column("alg", sa.String(16), nullable=False),
        sa.Column("jwk", sa.Text, nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("retired_at", UTC_TIME),
        sa.Column("not_after", UTC_TIME),
    )
    op.create_table(
        "status_shard",
        sa.Column("shard", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
    )
    op.create_table(
        "ecard",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("ecard_id", sa.String(36), nullable=False, unique=True),
        sa.Column("card_ref", sa.String(36), sa.ForeignKey("card.card_ref"), nullable=False, index=True),
        sa.Column("person_id", sa.Integer, sa.ForeignKey("person.id"), nullable=False),
        sa.Column("issuance_number", sa.String(20), nullable=False, unique=True),
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("area_code", sa.String(6), nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("status_shard", sa.Integer, sa.ForeignKey("status_shard.shard"), nullable=False),
        sa.Column("status_index", sa.Integer, nullable=False),
        sa.Column("issued_at", UTC_TIME, nullable=False),
        sa.Column("expires_at", UTC_TIME, nullable=False),
        sa.Column("kid", sa.String(64), sa.ForeignKey("signing_key.kid")),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("revoked_at", UTC_TIME),
        sa.UniqueConstraint("status_shard", "status_index"),
        sa.CheckConstraint("status IN (0, 1, 2)", name="ecard_status_values"),
        sa.CheckConstraint("level IN (1, 2)", name="ecard_level_values"),
        sa.CheckConstraint("(status = 1) <> active", name="ecard_revoked_iff_inactive"),
    )
    op.create_index("one_active_ecard_per_card", "ecard", ["card_ref"], unique=True,
                    sqlite_where=sa.text("active"), postgresql_where=sa.text("active"))
    op.create_index("one_active_ecard_per_person", "ecard", ["person_id"], unique=True,
                    sqlite_where=sa.text("active"), postgresql_where=sa.text("active"))
    op.create_index("ecard_not_valid", "ecard", ["status_shard", "status_index"],
                    sqlite_where=sa.text("status <> 0"), postgresql_where=sa.text("status <> 0"))
    op.create_table(
        "used_code",
        sa.Column("jti", sa.String(128), primary_key=True),
        sa.Column("expires_at", UTC_TIME, nullable=False, index=True),
    )


def downgrade() -> None:
    for table in ("used_code", "ecard", "status_shard", "signing_key"):
        op.drop_table(table)
