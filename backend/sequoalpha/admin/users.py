"""Admin routes for users: list, create, read, change, delete."""

from flask_jwt_extended import current_user
from flask_smorest import abort
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .. import audit
from ..accounts import link_tokens
from ..accounts.guard import admin_required
from ..accounts.invitations import send_invitation
from ..accounts.mfa import reset_factors
from ..accounts.passwords import hash_password
from ..extensions import db
from ..integrity import commit_or_conflict, existing, keep_an_admin, unique
from ..models import Group, User
from ..pagination import paginate
from ..schemas.accounts import UserCreateSchema, UserPageSchema, UserSchema, UserUpdateSchema
from ..schemas.fields import PageArgsSchema
from . import blp

USERNAME_TAKEN = "This username is already taken."
EMAIL_TAKEN = "This email is already used by another account."


@blp.get("/users")
@admin_required
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, UserPageSchema)
def list_users(args):
    """Every user, oldest first."""
    # Each user's "mfa" reads its factors: loaded for the whole page at once.
    stmt = select(User).options(selectinload(User.totp), selectinload(User.passkeys)).order_by(User.id)
    return paginate(stmt, args["page"], args["per_page"])


@blp.post("/users")
@admin_required
@blp.arguments(UserCreateSchema)
@blp.response(201, UserSchema)
@blp.alt_response(409, description="Username or email already taken")
def create_user(data):
    """Create a user. Without a password, the user is invited by e-mail to choose one; with one,
    they must change it at their first sign-in."""
    user = User(username=data["username"], email=data["email"], full_name=data["full_name"], is_admin=data["is_admin"])
    unique(User.username, user.username, None, USERNAME_TAKEN)
    unique(User.email, user.email, None, EMAIL_TAKEN)
    if "password" in data:
        user.password_hash = hash_password(data["password"])
        user.must_change_password = True
    user.groups = existing(Group, data["group_ids"], "group_ids")
    db.session.add(user)
    db.session.flush()
    audit.record(
        "user_created",
        current_user,
        target_user_id=user.id,
        detail={"username": user.username, "is_admin": user.is_admin},
    )
    if user.password_hash is None:
        send_invitation(user)
        audit.record("invitation_sent", current_user, target_user_id=user.id)
    commit_or_conflict("This username or email is already taken.")
    return user


@blp.get("/users/<int:user_id>")
@admin_required
@blp.response(200, UserSchema)
def get_user(user_id):
    """One user."""
    return db.get_or_404(User, user_id)


@blp.patch("/users/<int:user_id>")
@admin_required
@blp.arguments(UserUpdateSchema)
@blp.response(200, UserSchema)
@blp.alt_response(409, description="Email taken, or an admin disabling/demoting themselves")
def update_user(data, user_id):
    """Change a user's email, name, password, admin flag, active flag or groups."""
    user = db.get_or_404(User, user_id)
    if user.id == current_user.id and (data.get("is_active") is False or data.get("is_admin") is False):
        abort(409, message="You cannot disable or demote your own account.")
    if data.get("is_active") is False or data.get("is_admin") is False:
        user = keep_an_admin(current_user.id, user.id)
    if "email" in data:
        unique(User.email, User.normal(data["email"]), user.id, EMAIL_TAKEN)
    if "group_ids" in data:
        user.groups = existing(Group, data.pop("group_ids"), "group_ids")
    if "password" in data:
        user.password_hash = hash_password(data.pop("password"))
        user.token_version += 1  # a reset password ends the user's sessions
        user.must_change_password = user.id != current_user.id  # an admin-chosen password is temporary
        link_tokens.retire(user)  # an outstanding invitation or reset link is void now
        data["password_reset"] = True
    for field in ("email", "full_name", "is_admin", "is_active"):
        if field in data:
            setattr(user, field, data[field])
    if data.get("is_active") is False:
        user.token_version += 1
    if data.get("is_active") is True:
        user.failed_logins, user.locked_until = 0, None
    audit.record("user_updated", current_user, target_user_id=user.id, detail={"fields": sorted(data)})
    commit_or_conflict(EMAIL_TAKEN)
    return user


@blp.delete("/users/<int:user_id>")
@admin_required
@blp.response(204)
@blp.alt_response(409, description="An admin deleting themselves")
def delete_user(user_id):
    """Delete a user (their audit events stay, without the link)."""
    user = db.get_or_404(User, user_id)
    if user.id == current_user.id:
        abort(409, message="You cannot delete your own account.")
    user = keep_an_admin(current_user.id, user.id)
    audit.record("user_deleted", current_user, target_user_id=user.id, detail={"username": user.username})
    db.session.delete(user)
    db.session.commit()


@blp.delete("/users/<int:user_id>/mfa")
@admin_required
@blp.response(204)
@blp.alt_response(409, description="An admin resetting their own factors (that needs the password and a code)")
def reset_user_mfa(user_id):
    """Remove every second factor of a user (TOTP, recovery codes, passkeys); the user is told by
    e-mail. For someone who lost their phone and their recovery codes."""
    user = db.get_or_404(User, user_id)
    if user.id == current_user.id:
        abort(409, message="You cannot reset your own second factor; turn it off under Security instead.")
    reset_factors(user, current_user)
    db.session.commit()
