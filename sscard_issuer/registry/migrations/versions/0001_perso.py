"""Card number allocation and the personalisation journal.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "area_sequence",
        sa.Column("area_code", sa.String(6), primary_key=True),
        sa.Column("next_serial", sa.Integer, nullable=False),
    )
    op.create_table(
        "card_allocation",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("area_code", sa.String(6), nullable=False),
        sa.Column("serial", sa.Integer, nullable=False),
        sa.Column("card_number", sa.String(9), nullable=False),
        sa.Column("card_id", sa.String(32), nullable=False, unique=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("allocated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("area_code", "serial"),
        sa.UniqueConstraint("area_code", "card_number"),
    )
    op.create_table(
        "perso_job",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("card_serial", sa.String(16), nullable=False, index=True),
        sa.Column("profile", sa.String(32), nullable=False),
        sa.Column("record", sa.Text, nullable=False),
        sa.Column("allocation_id", sa.Integer, sa.ForeignKey("card_allocation.id"), nullable=False, unique=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    op.create_table(
        "perso_step",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("job_id", sa.Integer, sa.ForeignKey("perso_job.id"), nullable=False, index=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("perso_step")
    op.drop_table("perso_job")
    op.drop_table("card_allocation")
    op.drop_table("area_sequence")
