"""The family service (亲情服务): links from a holder to the relatives whose e-cards they hold.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "family_link",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("holder_person_id", sa.Integer, sa.ForeignKey("person.id"), nullable=False, index=True),
        sa.Column("relative_person_id", sa.Integer, sa.ForeignKey("person.id"), nullable=False, index=True),
        sa.Column("relation", sa.String(16), nullable=False),
        sa.Column("consent_method", sa.String(32), nullable=False),
        sa.Column("consent_reference", sa.String(128), nullable=False),
        sa.Column("consented_at", UTC_TIME, nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("revoked_at", UTC_TIME),
        sa.Column("revoked_by", sa.String(16)),
        sa.CheckConstraint("holder_person_id <> relative_person_id", name="family_link_not_self"),
        sa.CheckConstraint("relation IN ('child', 'elder', 'spouse', 'other')", name="family_link_relation_values"),
        sa.CheckConstraint("revoked_by IS NULL OR revoked_by IN ('holder', 'relative', 'staff')",
                           name="family_link_revoked_by_values"),
        sa.CheckConstraint("(revoked_at IS NULL) = active AND (revoked_by IS NULL) = active",
                           name="family_link_revoked_iff_inactive"),
    )
    op.create_index("one_active_family_link", "family_link", ["holder_person_id", "relative_person_id"], unique=True,
                    sqlite_where=sa.text("active"), postgresql_where=sa.text("active"))


def downgrade() -> None:
    op.drop_table("family_link")
