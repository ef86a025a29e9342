"""Forgotten passwords: ask for a reset link by e-mail, and set a password with a link's token
(a reset or an invitation). Also the confirmation e-mail of every password change."""

from datetime import timedelta

from flask_smorest import Blueprint, abort
from sqlalchemy import select

from .. import audit
from ..extensions import db
from ..mail import messages
from ..mail.outbox import enqueue
from ..models import User
from ..schemas.accounts import ForgotPasswordAnswerSchema, ForgotPasswordSchema, ResetPasswordSchema
from ..security import client_ip
from . import link_tokens, throttle
from .passwords import hash_password
from .tokens import end_sessions

blp = Blueprint("password", __name__, url_prefix="/api/password", description="Forgotten passwords")

WINDOW = timedelta(minutes=15)
PER_ADDRESS = 5  # requests per client address per window
PER_ACCOUNT = 3  # reset e-mails per e-mail address per window
TOO_MANY = "Too many password reset requests. Try again later."
ON_ITS_WAY = (
    "If this address is an account's, a link to choose a new password is on its way. It works once, for 30 minutes."
)
BAD_LINK = "This link is invalid, was already used, or has expired. Ask for a new one."


def confirm_password_changed(user: User) -> None:
    """Queue the "your password was changed" e-mail (the caller commits). Called after the
    user's sessions were ended, so the new token version names this change."""
    enqueue(
        "password_changed",
        user.email,
        messages.password_changed(user),
        event=f"password_changed:{user.id}:{user.token_version}",
        user_id=user.id,
    )


@blp.post("/forgot")
@blp.doc(security=[])
@blp.arguments(ForgotPasswordSchema)
@blp.response(202, ForgotPasswordAnswerSchema)
@blp.alt_response(429, description="Too many requests from this address or for this e-mail address")
def forgot(data):
    """Ask for a password reset link. The answer is the same, in the same time, whether or not
    the address is an account's; an active account's address receives a link valid 30 minutes."""
    email = User.normal(data["email"])
    throttle.purge(WINDOW)
    throttle.limit(f"forgot-ip:{client_ip()}", PER_ADDRESS, WINDOW, TOO_MANY)
    # Counted per address typed, account or not: a 429 must not tell that an account exists.
    throttle.limit(f"forgot-email:{email}", PER_ACCOUNT, WINDOW, TOO_MANY)
    user = db.session.scalar(select(User).where(User.email == email, User.is_active))
    # The same statements whether or not the address is an account's (they store nothing when it
    # is not), and no bcrypt on either path: the answer and its time tell nothing.
    token = link_tokens.new_token()
    minutes = int(link_tokens.RESET_LIFETIME.total_seconds() // 60)
    message = messages.password_reset(user or User(username="", email=email, full_name=""), token, minutes)
    stored = link_tokens.issue_if_account(email, "reset", token)
    enqueue(
        "password_reset",
        email,
        message,
        event=f"reset:{link_tokens.digest(token)}",
        user_id=user.id if user else None,
        secret=token,
        only_if=stored,
    )
    audit.record(
        "password_reset_requested",
        None,
        target_user_id=user.id if user else None,
        detail={"email": email, "account": user is not None},
    )
    db.session.commit()
    return {"message": ON_ITS_WAY}


@blp.post("/reset")
@blp.doc(security=[])
@blp.arguments(ResetPasswordSchema)
@blp.response(204)
@blp.alt_response(400, description="The token is unknown, used or expired")
def reset(data):
    """Choose a password with the token of an invitation or a reset link. Ends every session of
    the user, clears a lockout, and activates an invited account."""
    used = link_tokens.consume(data["token"])
    if used is None:
        db.session.rollback()
        abort(400, message=BAD_LINK)
    user, purpose = used
    user.password_hash = hash_password(data["new_password"])
    user.must_change_password = False
    user.failed_logins, user.locked_until = 0, None
    end_sessions(user)
    action = "invitation_accepted" if purpose == "invitation" else "password_reset"
    audit.record(action, user, target_user_id=user.id)
    if purpose == "reset":
        confirm_password_changed(user)
    db.session.commit()
