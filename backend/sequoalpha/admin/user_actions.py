"""Admin actions on an account: send a new invitation, end a lockout, end every session."""

from flask_jwt_extended import current_user
from flask_smorest import abort

from .. import audit
from ..accounts.guard import admin_required
from ..accounts.invitations import send_invitation
from ..accounts.tokens import end_sessions
from ..extensions import db
from ..models import User
from ..schemas.accounts import UserSchema
from . import blp


@blp.post("/users/<int:user_id>/invite")
@admin_required
@blp.response(202, UserSchema)
@blp.alt_response(409, description="The account is disabled or already has a password")
def invite(user_id):
    """Send a new invitation (72 h); the previous invitation link stops working."""
    user = db.get_or_404(User, user_id)
    if user.status != "invited":
        abort(
            409,
            message="Only an invited account can be invited again: this one is "
            f"{user.status}. An active user can use “Forgot your password?”.",
        )
    send_invitation(user)
    audit.record("invitation_sent", current_user, target_user_id=user.id, detail={"again": True})
    db.session.commit()
    return user


@blp.post("/users/<int:user_id>/unlock")
@admin_required
@blp.response(204)
def unlock(user_id):
    """End the lock after failed sign-ins (and forget the failures)."""
    user = db.get_or_404(User, user_id)
    user.failed_logins, user.locked_until = 0, None
    audit.record("account_unlocked", current_user, target_user_id=user.id)
    db.session.commit()


@blp.post("/users/<int:user_id>/sign-out")
@admin_required
@blp.response(204)
@blp.alt_response(409, description="An admin signing themselves out (POST /api/logout?everywhere=true does that)")
def sign_out(user_id):
    """End every session of the user: each of their tokens stops working at once."""
    user = db.get_or_404(User, user_id)
    if user.id == current_user.id:
        abort(409, message="To end your own sessions, use “Sign out everywhere” in your account menu.")
    end_sessions(user)
    audit.record("signed_out_everywhere", current_user, target_user_id=user.id)
    db.session.commit()
