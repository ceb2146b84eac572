"""People, documents, applications, cards and their events; outlets, staff, stock, approvals; audit log.

The fourteen service halls of the Nanning service page are the default outlet directory. Halls 1-8
are the city's district halls (城区大厅): the only ones that take employer batch applications, as
the page says. Instant issuance is an outlet setting; the page's list of instant-issuance outlets
is a spreadsheet not in the seed, so it starts on at the seven city halls that serve the public
and is changed with ``sscard outlet set``.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)

# code, name (zh), name (en), address, area code (GB/T 2260), city hall, instant issuance
OUTLETS = [
    ("NN01", "南宁市人力资源社会保障服务大厅（金湖部）", "Nanning HRSS Service Hall, Jinhu", "东悦巷6号", "450100", True, True),
    ("NN02", "南宁市人力资源社会保障服务大厅（民主部）", "Nanning HRSS Service Hall, Minzhu", "民主路16号综合楼2楼", "450100", True, True),
    ("NN03", "南宁市人力资源社会保障服务大厅（星光部）", "Nanning HRSS Service Hall, Xingguang", "星光大道6号1楼", "450100", True, True),
    ("NN04", "南宁市人力资源社会保障服务大厅（民族部）", "Nanning HRSS Service Hall, Minzu", "民族大道45号金融大厦A座2楼", "450100", True, True),
    ("NN05", "南宁市人力资源社会保障服务大厅（科园部）", "Nanning HRSS Service Hall, Keyuan", "科园东五路6号原南宁市政务服务中心2楼", "450100", True, True),
    ("NN06", "南宁市人力资源社会保障服务大厅（仙葫部）", "Nanning HRSS Service Hall, Xianhu", "仙葫大道福兴路3号3楼", "450100", True, True),
    ("NN07", "南宁市人力资源社会保障服务大厅（市民中心部）", "Nanning HRSS Service Hall, Citizen Centre", "玉洞大道33号市民中心4楼B座", "450100", True, True),
    ("NN08", "南宁市人力资源社会保障服务大厅（劳动维权服务大厅）", "Nanning HRSS Service Hall, Labour Rights", "星光淡村路口临街铺面", "450100", True, False),
    ("NN09", "横州市人力资源社会保障服务大厅", "Hengzhou HRSS Service Hall", "横州市横州镇西城路002号1楼", "450181", False, False),
    ("NN10", "宾阳县人力资源社会保障服务大厅", "Binyang County HRSS Service Hall", "宾阳县宾州镇临浦路791号2楼", "450126", False, False),
    ("NN11", "上林县人力资源社会保障服务大厅", "Shanglin County HRSS Service Hall", "上林县新华路68号1楼", "450125", False, False),
    ("NN12", "马山县人力资源社会保障服务大厅", "Mashan County HRSS Service Hall", "马山县白山镇威马大道207号1楼", "450124", False, False),
    ("NN13", "隆安县人力资源社会保障服务大厅", "Long'an County HRSS Service Hall", "隆安县蝶城路201号1楼", "450123", False, False),
    ("NN14", "武鸣区人力资源社会保障服务大厅", "Wuming District HRSS Service Hall", "武鸣区标营路352号1楼", "450110", False, False),
]

_APPEND_ONLY = "the audit log is append-only"


def upgrade() -> None:
    outlet = op.create_table(
        "outlet",
        sa.Column("code", sa.String(16), primary_key=True),
        sa.Column("name_zh", sa.String(128), nullable=False),
        sa.Column("name_en", sa.String(128), nullable=False),
        sa.Column("address_zh", sa.String(256), nullable=False),
        sa.Column("area_code", sa.String(6), nullable=False),
        sa.Column("city_hall", sa.Boolean, nullable=False),
        sa.Column("instant_issuance", sa.Boolean, nullable=False),
        sa.Column("batch_applications", sa.Boolean, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
    )
    op.bulk_insert(outlet, [
        {"code": c, "name_zh": zh, "name_en": en, "address_zh": addr, "area_code": area, "city_hall": city,
         "instant_issuance": instant, "batch_applications": city, "active": True}
        for c, zh, en, addr, area, city, instant in OUTLETS
    ])
    op.create_table(
        "operator",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("display_name", sa.String(128), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("outlet_code", sa.String(16), sa.ForeignKey("outlet.code")),
        sa.Column("password_hash", sa.String(256)),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
    )
    op.create_table(
        "stock_movement",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("outlet_code", sa.String(16), sa.ForeignKey("outlet.code"), nullable=False, index=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("reference", sa.String(128)),
        sa.Column("operator_id", sa.Integer, sa.ForeignKey("operator.id")),
        sa.Column("at", UTC_TIME, nullable=False),
    )
    op.create_table(
        "approval_request",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("outlet_code", sa.String(16), sa.ForeignKey("outlet.code"), nullable=False, index=True),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("requested_by", sa.Integer, sa.ForeignKey("operator.id"), nullable=False),
        sa.Column("requested_at", UTC_TIME, nullable=False),
        sa.Column("decided_by", sa.Integer, sa.ForeignKey("operator.id")),
        sa.Column("decided_at", UTC_TIME),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_table(
        "person",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("sex", sa.String(1), nullable=False),
        sa.Column("birth_date", sa.Date, nullable=False),
        sa.Column("nationality", sa.String(3), nullable=False),
        sa.Column("ethnicity", sa.String(2)),
        sa.Column("social_security_number", sa.String(18), unique=True),
        sa.Column("insured_since", sa.Date),
        sa.Column("phone", sa.String(20)),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
    )
    op.create_table(
        "identity_document",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("person_id", sa.Integer, sa.ForeignKey("person.id"), nullable=False, index=True),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("country", sa.String(3), nullable=False),
        sa.UniqueConstraint("type", "number", "country"),
    )
    op.create_table(
        "application_batch",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("outlet_code", sa.String(16), sa.ForeignKey("outlet.code"), nullable=False),
        sa.Column("operator_id", sa.Integer, sa.ForeignKey("operator.id"), nullable=False),
        sa.Column("organisation_name", sa.String(128), nullable=False),
        sa.Column("organisation_code", sa.String(18), nullable=False),
        sa.Column("file_name", sa.String(256), nullable=False),
        sa.Column("file_sha256", sa.String(64), nullable=False),
        sa.Column("rows_total", sa.Integer, nullable=False),
        sa.Column("rows_accepted", sa.Integer, nullable=False),
        sa.Column("imported_at", UTC_TIME, nullable=False),
    )
    op.create_table(
        "application",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("person_id", sa.Integer, sa.ForeignKey("person.id"), nullable=False, index=True),
        sa.Column("document_id", sa.Integer, sa.ForeignKey("identity_document.id"), nullable=False),
        sa.Column("outlet_code", sa.String(16), sa.ForeignKey("outlet.code"), nullable=False, index=True),
        sa.Column("operator_id", sa.Integer, sa.ForeignKey("operator.id"), nullable=False),
        sa.Column("instant", sa.Boolean, nullable=False),
        sa.Column("photo", sa.LargeBinary),
        sa.Column("photo_sha256", sa.String(64)),
        sa.Column("agent_name", sa.String(64)),
        sa.Column("agent_document_type", sa.String(32)),
        sa.Column("agent_document_number", sa.String(32)),
        sa.Column("agent_document_country", sa.String(3)),
        sa.Column("commitment_reference", sa.String(128)),
        sa.Column("batch_id", sa.Integer, sa.ForeignKey("application_batch.id"), index=True),
        sa.Column("batch_row", sa.Integer),
        sa.Column("school_name", sa.String(128)),
        sa.Column("student_number", sa.String(32)),
        sa.Column("delivery", sa.String(32), nullable=False),
        sa.Column("collection_outlet_code", sa.String(16), sa.ForeignKey("outlet.code")),
        sa.Column("recipient_name", sa.String(64)),
        sa.Column("recipient_phone", sa.String(20)),
        sa.Column("postal_address", sa.String(256)),
        sa.Column("postcode", sa.String(6)),
        sa.Column("tracking_number", sa.String(13), unique=True),
        sa.Column("filed_at", UTC_TIME, nullable=False),
    )
    op.create_table(
        "card",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("card_ref", sa.String(36), nullable=False, unique=True),
        sa.Column("person_id", sa.Integer, sa.ForeignKey("person.id"), nullable=False),
        sa.Column("application_id", sa.Integer, sa.ForeignKey("application.id"), nullable=False, unique=True),
        sa.Column("area_code", sa.String(6), nullable=False),
        sa.Column("card_number", sa.String(9)),
        sa.Column("card_id", sa.String(32), unique=True),
        sa.Column("issued_on", sa.Date),
        sa.Column("expires_on", sa.Date),
        sa.Column("bank", sa.Boolean, nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("live", sa.Boolean, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.Column("state_before_loss", sa.String(32)),
        sa.Column("loss_reported_at", UTC_TIME),
        sa.Column("loss_expires_at", UTC_TIME),
        sa.Column("replaces", sa.String(36)),
        sa.Column("replaced_by", sa.String(36)),
    )
    op.create_index("one_live_card_per_person", "card", ["person_id"], unique=True,
                    sqlite_where=sa.text("live"), postgresql_where=sa.text("live"))
    op.create_index("card_loss_expiry", "card", ["loss_expires_at"])
    op.create_table(
        "card_event",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("card_ref", sa.String(36), nullable=False, index=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("source", sa.String(32)),
        sa.Column("target", sa.String(32), nullable=False),
        sa.Column("status_effect", sa.String(16), nullable=False),
        sa.Column("at", UTC_TIME, nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("operator_id", sa.Integer, sa.ForeignKey("operator.id")),
        sa.Column("outlet_code", sa.String(16), sa.ForeignKey("outlet.code")),
        sa.UniqueConstraint("card_ref", "version", "kind"),
    )
    op.create_table(
        "event_consumer",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("last_event_id", sa.Integer, nullable=False),
    )
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", UTC_TIME, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("outlet_code", sa.String(16)),
        sa.Column("action", sa.String(64), nullable=False, index=True),
        sa.Column("subject", sa.String(128), nullable=False, index=True),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    _append_only_triggers()


def _append_only_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION '{_APPEND_ONLY}'; END $$""")
        op.execute("""CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
                      FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()""")
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"""CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log
                           BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END""")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION audit_log_append_only()")
    for table in ("audit_head", "audit_log", "event_consumer", "card_event", "card", "application",
                  "application_batch", "identity_document", "person", "approval_request",
                  "stock_movement", "operator", "outlet"):
        op.drop_table(table)
