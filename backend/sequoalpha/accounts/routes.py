"""Sessions: sign in, refresh, sign out, me, password change."""

from datetime import UTC, datetime

from flask import current_app, jsonify
from flask_jwt_extended import (
    create_access_token,
    current_user,
    get_current_user,
    get_jwt,
    jwt_required,
    set_access_cookies,
    set_refresh_cookies,
    unset_jwt_cookies,
)
from flask_smorest import Blueprint, abort
from sqlalchemy import select

from .. import audit
from ..extensions import db
from ..models import RevokedToken, User, utcnow
from ..schemas.accounts import (
    LOGIN_ANSWER,
    AccessTokenSchema,
    LoginResponseSchema,
    LoginSchema,
    LogoutArgsSchema,
    MeUpdateSchema,
    PasswordChangeSchema,
    UserSchema,
)
from . import totp
from .lockout import claim_attempt, release_attempt, unknown_login
from .passwords import burn_check, check_password, hash_password
from .resets import confirm_password_changed
from .tokens import end_sessions, issue_mfa_token, issue_tokens, revoke

blp = Blueprint("session", __name__, url_prefix="/api", description="Sign in and out")

BAD_CREDENTIALS = "Wrong username or password."


# --- routes ------------------------------------------------------------------------------


@blp.post("/login")
@blp.doc(security=[])
@blp.arguments(LoginSchema)
@blp.response(200, LOGIN_ANSWER)
@blp.alt_response(401, description="Wrong username or password")
@blp.alt_response(403, description="Account disabled")
@blp.alt_response(429, description="Locked after repeated failures (an account, or a name that is no account)")
def login(data):
    """Sign in with a username or email and a password; sets the session cookies. For an account
    with a second factor the answer is an `mfa_token` instead (no session): the sign-in ends at
    `POST /api/login/mfa` or with a passkey."""
    # Lower-casing can lengthen a name ("İ" becomes two characters); no account's name is longer.
    name = User.normal(data["username"].strip())[:254]
    user = db.session.scalar(select(User).where(User.named(name)))
    # A name that is no account fails and locks exactly like one: same answers, same timing.
    subject = user or unknown_login(name)
    unknown = {"username": name[:64]} if user is None else {}
    claim_attempt(subject, "login_failed", user, detail={"reason": "locked", **unknown})
    # An invited user has no password yet: any password is wrong, in the time of a real check.
    invited = user is not None and user.password_hash is None
    if user is None or invited:
        burn_check()
    if user is None or invited or not check_password(data["password"], user.password_hash):
        audit.record(
            "login_failed",
            user,
            detail={
                "reason": "unknown user" if user is None else "invited" if invited else "wrong password",
                **unknown,
            },
        )
        db.session.commit()
        abort(401, message=BAD_CREDENTIALS)
    if not user.is_active:
        audit.record("login_failed", user, detail={"reason": "disabled"})
        db.session.commit()
        abort(403, message="This account is disabled. Contact your administrator.")
    if user.has_second_factor:
        # No session yet. The password's own attempt is given back, but earlier failures stay: a
        # known password must not be a way to reset the lock between guesses of the code.
        release_attempt(user)
        methods = (["totp", "recovery_code"] if user.totp_active else []) + (["passkey"] if user.passkeys else [])
        db.session.commit()
        return jsonify({"mfa_required": True, "mfa_token": issue_mfa_token(user, totp.now()), "methods": methods})
    return signed_in(user, "password")


def signed_in(user: User, method: str):
    """The answer of a complete sign-in (tokens, cookies, the user), audited with its method."""
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = utcnow()
    access, refresh = issue_tokens(user)
    audit.record("login", user, detail={"method": method})
    db.session.commit()
    response = jsonify(LoginResponseSchema().dump({"access_token": access, "refresh_token": refresh, "user": user}))
    set_access_cookies(response, access)
    set_refresh_cookies(response, refresh)
    return response


@blp.post("/token/refresh")
@jwt_required(refresh=True)
@blp.response(200, AccessTokenSchema)
def refresh():
    """A new access token for the refresh token (Bearer or cookie)."""
    claims = get_jwt()
    access = create_access_token(
        identity=current_user, additional_claims={"ver": current_user.token_version, "rjti": claims["jti"]}
    )
    response = jsonify({"access_token": access})
    set_access_cookies(response, access)
    return response


@blp.post("/logout")
@jwt_required()
@blp.arguments(LogoutArgsSchema, location="query")
@blp.response(204)
def logout(args):
    """End this session: the access token and its refresh token stop working at once. With
    `everywhere=true`, every session of this user ends (other browsers and API clients too)."""
    claims = get_jwt()
    refresh_expiry = datetime.now(UTC) + current_app.config["JWT_REFRESH_TOKEN_EXPIRES"]
    revoke(claims["jti"], claims.get("rjti"), until=refresh_expiry)
    db.session.execute(RevokedToken.__table__.delete().where(RevokedToken.expires_at < utcnow()))
    if args["everywhere"]:
        end_sessions(current_user)
        audit.record("signed_out_everywhere", current_user, target_user_id=current_user.id)
    else:
        audit.record("logout", current_user)
    db.session.commit()
    response = current_app.response_class(status=204)
    unset_jwt_cookies(response)
    return response


@blp.get("/me")
@jwt_required()
@blp.response(200, UserSchema)
def me():
    """The signed-in user."""
    return current_user


@blp.patch("/me")
@jwt_required()
@blp.arguments(MeUpdateSchema)
@blp.response(200, UserSchema)
def update_me(data):
    """Change my name or whether I get e-mail notices of new documents."""
    for field, value in data.items():
        setattr(current_user, field, value)
    if data:
        audit.record("profile_updated", current_user, target_user_id=current_user.id, detail={"fields": sorted(data)})
    db.session.commit()
    return current_user


@blp.post("/me/password")
@jwt_required()
@blp.arguments(PasswordChangeSchema)
@blp.response(204)
@blp.alt_response(429, description="Locked after repeated wrong current passwords or failed sign-ins")
def change_password(data):
    """Change my password. Every token issued before stops working; a browser session gets
    fresh cookies, API clients sign in again."""
    user = get_current_user()  # the User itself, not the proxy: claim_attempt needs its class
    # Wrong current passwords count towards the account's lock, as failed sign-ins do: a stolen
    # session must not be a way to guess the password without limit.
    claim_attempt(user, "password_change_failed", user, detail={"reason": "locked"})
    if not check_password(data["current_password"], user.password_hash):
        audit.record("password_change_failed", user, target_user_id=user.id, detail={"reason": "wrong password"})
        db.session.commit()
        abort(
            422,
            message="The current password is wrong.",
            errors={"json": {"current_password": ["The current password is wrong."]}},
        )
    if user.must_change_password and data["new_password"] == data["current_password"]:
        message = "Choose a password of your own, not the one an administrator gave you."
        abort(422, message=message, errors={"json": {"new_password": [message]}})
    user.password_hash = hash_password(data["new_password"])
    end_sessions(user)
    user.failed_logins, user.locked_until = 0, None
    user.must_change_password = False
    audit.record("password_changed", user, target_user_id=user.id)
    confirm_password_changed(user)
    db.session.commit()
    response = current_app.response_class(status=204)
    access, refresh_token = issue_tokens(user)
    set_access_cookies(response, access)
    set_refresh_cookies(response, refresh_token)
    return response
