"""The audit trail: who did what, when (UTC) and from where."""

from flask import current_app, has_request_context

from .extensions import db
from .models import AuditEvent, User
from .security import client_ip

_INSERT = AuditEvent.__table__.insert()  # built once: record_now runs on every download


def record(
    action: str,
    actor: User | None = None,
    *,
    document_id: int | None = None,
    target_user_id: int | None = None,
    detail: dict | None = None,
) -> AuditEvent:
    """Add an event to the session; it is committed with the change it describes."""
    event = AuditEvent(**_logged(action, actor, document_id, target_user_id, detail))
    db.session.add(event)
    return event


def record_now(action: str, actor: User, *, document_id: int, detail: dict) -> None:
    """The same, inserted at once without the ORM's unit of work (the download's hot path): for
    an event whose actor is a stored user. It is committed with the caller's transaction."""
    db.session.execute(_INSERT, _logged(action, actor, document_id, None, detail))


def _logged(action: str, actor: User | None, document_id, target_user_id, detail: dict | None) -> dict:
    """The event's columns, logged as they are recorded."""
    values = {
        "action": action,
        "actor_id": actor.id if actor else None,
        "document_id": document_id,
        "target_user_id": target_user_id,
        "ip": client_ip() if has_request_context() else None,
        "detail": detail or {},
    }
    # %r keeps user-supplied text on one line: CR/LF cannot forge log lines.
    current_app.logger.info(
        "audit action=%s actor=%r document=%s target_user=%s ip=%s detail=%r",
        action,
        actor.username if actor else None,
        document_id,
        target_user_id,
        values["ip"],
        values["detail"],
    )
    return values
