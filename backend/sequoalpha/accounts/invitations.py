"""Invitations: a user created without a password receives a link to choose one (72 h, single
use). Sending a new invitation retires the previous link."""

from ..mail import messages
from ..mail.outbox import enqueue
from ..models import User
from . import link_tokens


def send_invitation(user: User) -> None:
    """Queue an invitation for `user` in the caller's transaction (the caller commits)."""
    row, token = link_tokens.issue(user, "invitation")
    hours = int(link_tokens.INVITATION_LIFETIME.total_seconds() // 3600)
    enqueue(
        "invitation",
        user.email,
        messages.invitation(user, token, hours),
        event=f"invitation:{row.id}",
        user_id=user.id,
        secret=token,
    )
