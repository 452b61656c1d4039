"""peewee records. Named `…Record` so they never clash with Qt item models."""

from __future__ import annotations

import re

import peewee as pw

from app.store.fields import JsonField

database_proxy = pw.DatabaseProxy()


def _table_name(model: type[pw.Model]) -> str:
    """`AuditEventRecord` → `audit_event`."""
    name = model.__name__.removesuffix("Record")
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class BaseRecord(pw.Model):
    # Type-only declarations of what peewee adds at run time (the implicit primary key and
    # the `<fk>_id` columns), so strict type checking sees them.
    id: pw.AutoField

    class Meta:
        database = database_proxy
        table_function = _table_name


class SchemaVersionRecord(BaseRecord):
    version = pw.IntegerField()
    applied_at = pw.DateTimeField()


class SettingRecord(BaseRecord):
    key = pw.CharField(max_length=100, primary_key=True)
    value = pw.TextField()


class TownshipRecord(BaseRecord):
    code = pw.CharField(max_length=9, unique=True)
    name = pw.CharField(max_length=100)
    county_code = pw.CharField(max_length=6)
    county_name = pw.CharField(max_length=100)


class StationRecord(BaseRecord):
    township = pw.ForeignKeyField(TownshipRecord, backref="stations", on_delete="RESTRICT")
    code = pw.CharField(max_length=20)
    name = pw.CharField(max_length=100)

    class Meta:
        indexes = ((("township", "code"), True),)


class DeskRecord(BaseRecord):
    township = pw.ForeignKeyField(TownshipRecord, backref="desks", on_delete="RESTRICT")
    code = pw.CharField(max_length=2)
    name = pw.CharField(max_length=100)

    class Meta:
        indexes = ((("township", "code"), True),)


class AccountRecord(BaseRecord):
    township_id: int | None
    username = pw.CharField(max_length=50, unique=True)
    display_name = pw.CharField(max_length=50)
    role = pw.CharField(max_length=20)
    township = pw.ForeignKeyField(TownshipRecord, null=True, on_delete="RESTRICT")
    station = pw.CharField(max_length=20, null=True)
    password_hash = pw.CharField(max_length=255)
    must_change_password = pw.BooleanField(default=True)
    failed_attempts = pw.IntegerField(default=0)
    locked_until = pw.DateTimeField(null=True)
    disabled = pw.BooleanField(default=False)
    created_at = pw.DateTimeField()
    password_changed_at = pw.DateTimeField(null=True)
    last_login_at = pw.DateTimeField(null=True)


class CatalogVersionRecord(BaseRecord):
    version = pw.CharField(max_length=40, unique=True)
    sha256 = pw.CharField(max_length=64)
    content = pw.TextField()
    imported_at = pw.DateTimeField()
    active = pw.BooleanField(default=False, index=True)


class CatalogItemRecord(BaseRecord):
    catalog = pw.ForeignKeyField(CatalogVersionRecord, backref="items", on_delete="CASCADE")
    code = pw.CharField(max_length=40)
    name = pw.CharField(max_length=200)
    level = pw.CharField(max_length=10)
    station = pw.CharField(max_length=20, null=True)
    promised_days = pw.IntegerField()
    initials = pw.CharField(max_length=100)

    class Meta:
        indexes = ((("catalog", "code"), True),)


class PersonDataMixin(BaseRecord):
    """Encrypted ID and phone with a blind index for exact lookup and the tail for 尾号."""

    id_type = pw.CharField(max_length=40)
    id_cipher = pw.BlobField()
    id_index = pw.CharField(max_length=64, index=True)
    id_tail = pw.CharField(max_length=4, index=True)
    phone_cipher = pw.BlobField(null=True)
    phone_index = pw.CharField(max_length=64, null=True, index=True)
    phone_tail = pw.CharField(max_length=4, null=True, index=True)


class ApplicantRecord(PersonDataMixin):
    kind = pw.CharField(max_length=10)  # person | org
    name = pw.CharField(max_length=100, index=True)
    address_cipher = pw.BlobField(null=True)
    legal_rep = pw.CharField(max_length=50, default="")
    id_override_reason = pw.TextField(default="")
    created_at = pw.DateTimeField()
    updated_at = pw.DateTimeField()


class ProxyRecord(PersonDataMixin):
    name = pw.CharField(max_length=50)
    relation = pw.CharField(max_length=50)
    id_override_reason = pw.TextField(default="")
    created_at = pw.DateTimeField()


class CaseRecord(BaseRecord):
    uuid = pw.UUIDField(unique=True)
    case_no = pw.CharField(max_length=32, unique=True)
    query_code = pw.CharField(max_length=8)
    township = pw.CharField(max_length=9, index=True)
    desk = pw.CharField(max_length=2)
    at_county = pw.BooleanField(default=False)
    item_code = pw.CharField(max_length=40, index=True)
    item_name = pw.CharField(max_length=200)
    catalog_version = pw.CharField(max_length=40)
    level = pw.CharField(max_length=10)
    station = pw.CharField(max_length=20, null=True)
    kind = pw.CharField(max_length=10)
    limit_days = pw.IntegerField()
    handling_mode = pw.CharField(max_length=10, default="window")
    state = pw.CharField(max_length=24, index=True)
    applicant_id: int
    proxy_id: int | None
    received_by_id: int
    applicant = pw.ForeignKeyField(ApplicantRecord, backref="cases", on_delete="RESTRICT")
    applicant_name = pw.CharField(max_length=100, index=True)
    proxy = pw.ForeignKeyField(ProxyRecord, null=True, on_delete="RESTRICT")
    authorisation = pw.TextField(default="")
    commitment = pw.BooleanField(default=False)
    form_cipher = pw.BlobField(null=True)
    received_by = pw.ForeignKeyField(AccountRecord, on_delete="RESTRICT")
    received_at = pw.DateTimeField(index=True)
    accepted_on = pw.DateField(null=True)
    deadline = pw.DateField(null=True, index=True)
    deadline_provisional = pw.BooleanField(default=False)
    paused_since = pw.DateField(null=True)
    paused_working_days = pw.IntegerField(default=0)
    correction_items = JsonField(default=list)
    correction_due = pw.DateField(null=True)
    routed_on = pw.DateField(null=True)
    handed_off_on = pw.DateField(null=True)
    decision = pw.CharField(max_length=10, null=True)
    opinion = pw.TextField(default="")
    decision_basis = pw.TextField(default="")
    decided_on = pw.DateField(null=True)
    refusal_reason = pw.TextField(default="")
    refusal_basis = pw.TextField(default="")
    withdraw_reason = pw.TextField(default="")
    notified_on = pw.DateField(null=True)
    notify_channel = pw.CharField(max_length=10, default="")
    issued_on = pw.DateField(null=True)
    issue_method = pw.CharField(max_length=10, null=True)
    collector_role = pw.CharField(max_length=10, default="")
    carrier = pw.CharField(max_length=20, default="")
    tracking_no = pw.CharField(max_length=30, default="")
    mail_address_cipher = pw.BlobField(null=True)
    county_signed_on = pw.DateField(null=True)
    county_dispatch = pw.CharField(max_length=20, default="")
    finished_on = pw.DateField(null=True)
    version = pw.IntegerField(default=1)
    revision = pw.IntegerField(default=0)
    updated_at = pw.DateTimeField()

    class Meta:
        table_name = "case_file"  # "case" is an SQL keyword
        # Every queue filters by who may see it (township, at_county, maybe station) and by
        # state, then orders by deadline (work queues) or arrival (searches, state filters):
        # these indexes cover both the count and the first page without touching rows.
        indexes = (
            (("township", "at_county", "state", "deadline"), False),
            (("township", "at_county", "state", "received_at"), False),
            (("township", "station", "state", "deadline"), False),
            (("township", "received_at"), False),
            (("state", "deadline"), False),
        )


class CaseMaterialRecord(BaseRecord):
    case = pw.ForeignKeyField(CaseRecord, backref="materials", on_delete="CASCADE")
    position = pw.IntegerField()
    name = pw.CharField(max_length=200)
    form = pw.CharField(max_length=20)
    copies = pw.IntegerField(default=1)
    required = pw.BooleanField()
    deferrable = pw.BooleanField(default=False)
    commitment_allowed = pw.BooleanField(default=False)
    status = pw.CharField(max_length=12)
    due_date = pw.DateField(null=True)
    reason = pw.TextField(default="")

    class Meta:
        indexes = ((("case", "position"), True),)


class AttachmentRecord(BaseRecord):
    case_id: int
    case = pw.ForeignKeyField(CaseRecord, backref="attachments", on_delete="CASCADE")
    material = pw.CharField(max_length=200, default="")
    sha256 = pw.CharField(max_length=64, index=True)
    size = pw.IntegerField()
    mime = pw.CharField(max_length=50)
    original_name = pw.CharField(max_length=255)
    added_at = pw.DateTimeField()
    added_by = pw.ForeignKeyField(AccountRecord, on_delete="RESTRICT")


class AuditEventRecord(BaseRecord):
    seq = pw.BigIntegerField(unique=True)
    at = pw.DateTimeField()
    account = pw.CharField(max_length=50)
    desk = pw.CharField(max_length=20, default="")
    action = pw.CharField(max_length=40, index=True)
    object_type = pw.CharField(max_length=20)
    object_id = pw.CharField(max_length=64, index=True)
    outcome = pw.CharField(max_length=10)
    details = pw.TextField()
    prev_hash = pw.CharField(max_length=64)
    hash = pw.CharField(max_length=64)


class AuditHeadRecord(BaseRecord):
    """The chain's newest seq and hash, updated in the same transaction (detects tail deletion)."""

    id = pw.IntegerField(primary_key=True)
    seq = pw.BigIntegerField()
    hash = pw.CharField(max_length=64)


class OutboxRecord(BaseRecord):
    case = pw.ForeignKeyField(CaseRecord, backref="outbox", on_delete="RESTRICT")
    kind = pw.CharField(max_length=20)
    revision = pw.IntegerField()
    payload = pw.TextField()
    status = pw.CharField(max_length=12, default="pending", index=True)
    attempts = pw.IntegerField(default=0)
    next_attempt_at = pw.DateTimeField()
    last_error = pw.TextField(default="")
    created_at = pw.DateTimeField()
    delivered_at = pw.DateTimeField(null=True)

    class Meta:
        indexes = ((("case", "revision"), True),)


class DocumentRecord(BaseRecord):
    """A 文书 issued for a case (or a township, for guides and statistics).

    `occasion` tells apart documents of one kind that a case may get more than once (a second
    补正通知 after the station sends it back); a reprint of the same occasion is the same
    document with the same number. The row is written `pending` before the PDF is made and
    becomes `issued` only once the file is on disk with this hash."""

    case_id: int | None
    case = pw.ForeignKeyField(CaseRecord, backref="documents", null=True, on_delete="RESTRICT")
    township = pw.CharField(max_length=9)
    kind = pw.CharField(max_length=30)
    occasion = pw.IntegerField(default=0)
    number = pw.CharField(max_length=40, unique=True)
    status = pw.CharField(max_length=10, default="pending")
    sha256 = pw.CharField(max_length=64, default="")
    path = pw.CharField(max_length=500, default="")
    issued_by = pw.CharField(max_length=50)
    issued_at = pw.DateTimeField()

    class Meta:
        indexes = ((("case", "kind", "occasion"), True),)


class EvaluationRecord(BaseRecord):
    case = pw.ForeignKeyField(CaseRecord, backref="evaluations", unique=True, on_delete="CASCADE")
    level = pw.IntegerField()
    comment = pw.TextField(default="")
    channel = pw.CharField(max_length=20, default="窗口评价器")
    at = pw.DateTimeField()


class HolidayRecord(BaseRecord):
    day = pw.DateField(primary_key=True)
    kind = pw.CharField(max_length=10)
    name = pw.CharField(max_length=40)


class HolidayYearRecord(BaseRecord):
    year = pw.IntegerField(primary_key=True)
    source = pw.CharField(max_length=40)
    imported_at = pw.DateTimeField()


class CaseCounterRecord(BaseRecord):
    desk_key = pw.CharField(max_length=12)
    day = pw.DateField()
    last_serial = pw.IntegerField(default=0)

    class Meta:
        indexes = ((("desk_key", "day"), True),)


class ComplaintRecord(BaseRecord):
    township = pw.CharField(max_length=9, index=True)
    case = pw.ForeignKeyField(CaseRecord, null=True, on_delete="SET NULL")
    channel = pw.CharField(max_length=20)
    content = pw.TextField()
    status = pw.CharField(max_length=10, default="open")
    reply = pw.TextField(default="")
    received_at = pw.DateTimeField(index=True)
    received_by = pw.CharField(max_length=50)
    handled_at = pw.DateTimeField(null=True)


class ConsultationRecord(BaseRecord):
    township = pw.CharField(max_length=9, index=True)
    item_code = pw.CharField(max_length=40)
    channel = pw.CharField(max_length=20)
    note = pw.TextField(default="")
    at = pw.DateTimeField(index=True)
    account = pw.CharField(max_length=50)


V1_RECORDS: tuple[type[BaseRecord], ...] = (
    SchemaVersionRecord,
    SettingRecord,
    TownshipRecord,
    StationRecord,
    DeskRecord,
    AccountRecord,
    CatalogVersionRecord,
    CatalogItemRecord,
    ApplicantRecord,
    ProxyRecord,
    CaseRecord,
    CaseMaterialRecord,
    AttachmentRecord,
    AuditEventRecord,
    AuditHeadRecord,
    OutboxRecord,
    DocumentRecord,
    EvaluationRecord,
    HolidayRecord,
    HolidayYearRecord,
    CaseCounterRecord,
)
V2_RECORDS: tuple[type[BaseRecord], ...] = (ComplaintRecord, ConsultationRecord)
ALL_RECORDS: tuple[type[BaseRecord], ...] = V1_RECORDS + V2_RECORDS
