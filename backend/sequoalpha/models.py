"""Database tables (SQLAlchemy 2.0 typed models). Migrations in backend/migrations/ create them."""

import secrets
from datetime import UTC, date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    ColumnElement,
    Date,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Table,
    Text,
    TypeDecorator,
    false,
    or_,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, query_expression, relationship, validates

from .extensions import db


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Stored as naive UTC (SQLite has no time zones), always returned timezone-aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        return value.replace(tzinfo=UTC) if value is not None else None


user_groups = Table(
    "user_groups",
    db.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("group_id", ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Lockout:
    """Failed sign-ins in a row and the lock they earned (see accounts.lockout)."""

    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


# Tables whose ids the audit trail names: AUTOINCREMENT on SQLite, so that a deleted row's id is
# never given to a new one (whose trail would then start with the old one's).
NO_ID_REUSE = {"sqlite_autoincrement": True}


class User(Lockout, db.Model):
    __tablename__ = "users"
    __table_args__ = (NO_ID_REUSE,)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)  # stored lower-case
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-case
    full_name: Mapped[str] = mapped_column(String(200), default="")
    # None while the user is invited: no password can match until they choose one.
    password_hash: Mapped[str | None] = mapped_column(String(100))
    is_admin: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Bumped on password change / disable: tokens carrying an older version stop working. It starts
    # at random: SQLite reuses a deleted user's id, and the new user must not accept the old tokens.
    token_version: Mapped[int] = mapped_column(default=lambda: secrets.randbelow(2**30))
    # A password an admin chose must be replaced at the next sign-in (accounts.tokens enforces it).
    must_change_password: Mapped[bool] = mapped_column(default=False)
    notify_new_documents: Mapped[bool] = mapped_column(default=True)

    groups: Mapped[list["Group"]] = relationship(secondary=user_groups, back_populates="members", order_by="Group.name")
    # Second factors (accounts/mfa.py, accounts/passkeys.py)
    totp: Mapped["TotpFactor | None"] = relationship(cascade="all, delete-orphan", passive_deletes=True)
    passkeys: Mapped[list["Passkey"]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="Passkey.id"
    )

    @property
    def totp_active(self) -> bool:
        return self.totp is not None and self.totp.confirmed_at is not None

    @property
    def mfa(self) -> dict:
        return {"totp": self.totp_active, "passkeys": len(self.passkeys)}

    @property
    def has_second_factor(self) -> bool:
        return self.totp_active or bool(self.passkeys)

    @staticmethod
    def normal(name: str) -> str:
        """A username or email as it is kept: sign-in is case-insensitive, so in lower case."""
        return name.lower()

    @validates("username", "email")
    def _normalise(self, _key: str, value: str) -> str:
        return self.normal(value)

    @property
    def status(self) -> str:
        if not self.is_active:
            return "disabled"
        return "invited" if self.password_hash is None else "active"

    @classmethod
    def named(cls, name: str) -> ColumnElement[bool]:
        """The account whose username or email is `name`, in any case."""
        name = cls.normal(name)
        return or_(cls.username == name, cls.email == name)


class AccountToken(db.Model):
    """A single-use link token (an invitation, a password reset): only its SHA-256 is kept."""

    __tablename__ = "account_tokens"
    __table_args__ = (CheckConstraint("purpose IN ('invitation', 'reset')", name="purpose"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ThrottleCounter(db.Model):
    """Requests under a key (a hashed client address or e-mail address) in a fixed window; in the
    database, so every worker and host counts together (accounts.throttle)."""

    __tablename__ = "throttle_counters"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    count: Mapped[int] = mapped_column(default=0)


class Group(db.Model):
    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    members: Mapped[list[User]] = relationship(secondary=user_groups, back_populates="groups", order_by=User.id)

    @property
    def user_ids(self) -> list[int]:
        return [u.id for u in self.members]


class Category(db.Model):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)


class RevokedToken(db.Model):
    """A token revoked before its expiry (logout); rows past `expires_at` may be purged."""

    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class UnknownLogin(Lockout, db.Model):
    """Failed sign-ins under a name that is no account, locked exactly like an account, so that a
    429 does not tell that an account exists. Rows untouched for a day are purged."""

    __tablename__ = "unknown_logins"

    name: Mapped[str] = mapped_column(String(254), primary_key=True)  # as typed, lower-case
    last_failed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class AuditEvent(db.Model):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_action_at", "action", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    action: Mapped[str] = mapped_column(String(40))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    # Plain ids, not foreign keys: the trail outlives the documents and users it names.
    document_id: Mapped[int | None] = mapped_column(index=True)
    target_user_id: Mapped[int | None] = mapped_column()
    ip: Mapped[str | None] = mapped_column(String(45))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)

    actor: Mapped[User | None] = relationship(lazy="joined")


# --- documents ---------------------------------------------------------------------------


class Document(db.Model):
    """A PDF held in the stores under `storage_key`, or a link to `external_url`."""

    __tablename__ = "documents"
    __table_args__ = (
        CheckConstraint("kind IN ('file', 'link')", name="kind"),
        Index("ix_documents_created_at_id", "created_at", "id"),
        # The few documents for everyone, found without a scan (visibility.visible_ids).
        Index("ix_documents_everyone", "id", postgresql_where=text("everyone"), sqlite_where=text("everyone")),
        Index("ix_documents_date_order", "document_date", "created_at", "id"),  # the default sort
        NO_ID_REUSE,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id", ondelete="SET NULL"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    # Files: the original name is metadata only; the stores use the generated storage_key.
    filename: Mapped[str | None] = mapped_column(String(255))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)  # duplicates are found by it
    content_type: Mapped[str | None] = mapped_column(String(100))
    storage_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    in_s3: Mapped[bool] = mapped_column(default=False)
    in_local: Mapped[bool] = mapped_column(default=False)
    # The current file is version `version`; earlier ones are DocumentVersions. `version_at` is
    # when it replaced the previous one (None for the first: the document's creation).
    version: Mapped[int] = mapped_column(default=1)
    version_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The date the document is about (a statement's "as of"); lists sort by it.
    document_date: Mapped[date] = mapped_column(Date, default=lambda: utcnow().date())
    # The name downloads get; None means the title made safe (see `download_name`).
    custom_download_name: Mapped[str | None] = mapped_column("download_name", String(255))
    # The PDF's text (extract_text) and the normalised words searched (documents/search.py),
    # loaded only by the queries that need them.
    text_content: Mapped[str] = mapped_column(Text, default="", deferred=True)
    search_text: Mapped[str] = mapped_column(Text, default="", deferred=True)
    # Links
    external_url: Mapped[str | None] = mapped_column(String(2048))
    # Visibility (admins see everything)
    everyone: Mapped[bool] = mapped_column(default=False)
    # Each download is marked with the downloader's name (documents/watermark.py).
    watermark: Mapped[bool] = mapped_column(default=False, server_default=false())
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    category: Mapped[Category | None] = relationship()
    uploaded_by: Mapped[User | None] = relationship(foreign_keys=[uploaded_by_id])
    version_by: Mapped[User | None] = relationship(foreign_keys=[version_by_id])
    group_grants: Mapped[list["DocumentGroupGrant"]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="DocumentGroupGrant.group_id"
    )
    user_grants: Mapped[list["DocumentUserGrant"]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="DocumentUserGrant.user_id"
    )
    versions: Mapped[list["DocumentVersion"]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="DocumentVersion.version"
    )
    # Per query: true until the signed-in user has downloaded its current version (visibility.py).
    is_new: Mapped[bool] = query_expression()
    # Per query, in a user's document list for admins: their first download (documents/readers.py).
    opened_at: Mapped[datetime | None] = query_expression()
    # Per search query: plain text around the match (documents/search.py).
    snippet = None  # a plain attribute, not a column

    @property
    def download_name(self) -> str:
        from .documents.names import download_name_for  # names.py imports nothing from here

        return self.custom_download_name or download_name_for(self.title)

    @property
    def visibility(self) -> dict:
        return {
            "everyone": self.everyone,
            "group_ids": [g.group_id for g in self.group_grants],
            "user_ids": [g.user_id for g in self.user_grants],
        }

    @property
    def storage(self) -> dict:
        return {"s3": self.in_s3, "local": self.in_local}


class DocumentVersion(db.Model):
    """An earlier file of a document, kept when a new version replaced it. Its file lives in the
    stores under its own `storage_key`, like a document's (storage sync and check know both)."""

    __tablename__ = "document_versions"
    __table_args__ = (Index("ix_document_versions_document_version", "document_id", "version", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column()
    storage_key: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(String(255))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    in_s3: Mapped[bool] = mapped_column(default=False)
    in_local: Mapped[bool] = mapped_column(default=False)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    uploaded_by: Mapped[User | None] = relationship(lazy="joined")


class Grant:
    """A document granted to a grantee (a group or a user); one row per pair."""

    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True, sort_order=-1
    )


class DocumentGroupGrant(Grant, db.Model):
    """Members of `group_id` may see `document_id`."""

    __tablename__ = "document_group_grants"
    __table_args__ = (Index("ix_document_group_grants_group_document", "group_id", "document_id"),)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True)


class DocumentUserGrant(Grant, db.Model):
    """`user_id` may see `document_id`."""

    __tablename__ = "document_user_grants"
    __table_args__ = (Index("ix_document_user_grants_user_document", "user_id", "document_id"),)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)


class DocumentRead(db.Model):
    """`user_id` has downloaded `document_id` (last at `read_at`): the document is no longer new."""

    __tablename__ = "document_reads"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    read_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Reminder(db.Model):
    """`user_id` was last reminded to open `document_id` at `reminded_at` (documents/readers.py)."""

    __tablename__ = "reminders"

    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    reminded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PendingNotice(db.Model):
    """`document_id` became visible to `user_id`; gathered into one digest e-mail (documents.notices)."""

    __tablename__ = "pending_notices"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


# --- mail ----------------------------------------------------------------------------------


class OutboxMessage(db.Model):
    """An e-mail written in the transaction of the event that causes it and sent later by the
    mail worker (sequoalpha.mail). `dedupe_key` names the event and recipient: one row, one
    message, however often the event is replayed."""

    __tablename__ = "mail_outbox"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sent', 'failed')", name="status"),
        # The worker's poll: the due pending rows, oldest first.
        Index("ix_mail_outbox_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    to: Mapped[str] = mapped_column("recipient", String(254))
    kind: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(300))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))
    dedupe_key: Mapped[str] = mapped_column(String(64), unique=True)
    # The bodies hold a secret (a token in a link's fragment), removed once sent or given up.
    has_secret: Mapped[bool] = mapped_column(default=False)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)


# --- second factor -----------------------------------------------------------------------


class TotpFactor(db.Model):
    """A user's TOTP secret (encrypted with a key derived from SECRET_KEY): pending until
    `confirmed_at`. `last_step` is the last time step accepted, so a code works once."""

    __tablename__ = "totp_factors"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    secret_encrypted: Mapped[str] = mapped_column(String(255))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_step: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RecoveryCode(db.Model):
    """A single-use recovery code, kept as a keyed hash (HMAC-SHA256) only."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Passkey(db.Model):
    """A WebAuthn credential of a user. `credential_id` and `user_handle` are base64url."""

    __tablename__ = "passkeys"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    credential_id: Mapped[str] = mapped_column(String(1400), unique=True)
    user_handle: Mapped[str] = mapped_column(String(100))
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebauthnChallenge(db.Model):
    """A challenge handed to a browser, single-use (deleted when answered) and short-lived.
    `user_id` is set for a registration, null for a passkey sign-in (the user is not known yet)."""

    __tablename__ = "webauthn_challenges"

    challenge: Mapped[str] = mapped_column(String(128), primary_key=True)  # base64url
    purpose: Mapped[str] = mapped_column(String(16))  # "register" | "login"
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
