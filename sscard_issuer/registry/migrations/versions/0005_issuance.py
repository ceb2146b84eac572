"""Instant issuance: printers, issuance jobs and their journal.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)
OPEN = "state NOT IN ('ecard_issued', 'withdrawn')"


def upgrade() -> None:
    op.create_table(
        "printer",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("outlet_code", sa.String(16), sa.ForeignKey("outlet.code"), nullable=False, index=True),
        sa.Column("driver", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("conditions", sa.String(256), nullable=False),
        sa.Column("job_id", sa.Integer),
        sa.Column("updated_at", UTC_TIME, nullable=False),
    )
    op.create_table(
        "issuance_job",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("card_ref", sa.String(36), sa.ForeignKey("card.card_ref"), nullable=False, index=True),
        sa.Column("outlet_code", sa.String(16), sa.ForeignKey("outlet.code"), nullable=False, index=True),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("step_started", sa.String(32)),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("printer_name", sa.String(64)),
        sa.Column("on_failure", sa.String(16), nullable=False),
        sa.Column("card_serial", sa.String(16)),
        sa.Column("outcome", sa.Text),
        sa.Column("failure", sa.Text),
        sa.Column("requested_by", sa.Integer, sa.ForeignKey("operator.id"), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("one_open_job_per_card", "issuance_job", ["card_ref"], unique=True,
                    sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))
    op.create_table(
        "issuance_step",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("job_id", sa.Integer, sa.ForeignKey("issuance_job.id"), nullable=False, index=True),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("step", sa.String(32), nullable=False),
        sa.Column("phase", sa.String(16), nullable=False),
        sa.Column("printer_name", sa.String(64)),
        sa.Column("detail", sa.Text),
        sa.Column("at", UTC_TIME, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("issuance_step")
    op.drop_index("one_open_job_per_card", "issuance_job")
    op.drop_table("issuance_job")
    op.drop_table("printer")
