"""The audit trail: who did what, when (UTC) and from where."""

from flask import current_app, has_request_context

from .extensions import db
from .models import AuditEvent, User
from .security import client_ip


def record(
    action: str,
    actor: User | None = None,
    *,
    document_id: int | None = None,
    target_user_id: int | None = None,
    detail: dict | None = None,
) -> AuditEvent:
    """Add an event to the session; it is committed with the change it describes."""
    event = AuditEvent(
        action=action,
        actor_id=actor.id if actor else None,
        document_id=document_id,
        target_user_id=target_user_id,
        ip=client_ip() if has_request_context() else None,
        detail=detail or {},
    )
    db.session.add(event)
    # %r keeps user-supplied text on one line: CR/LF cannot forge log lines.
    current_app.logger.info(
        "audit action=%s actor=%r document=%s target_user=%s ip=%s detail=%r",
        action,
        actor.username if actor else None,
        document_id,
        target_user_id,
        event.ip,
        event.detail,
    )
    return event
