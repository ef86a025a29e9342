"""Sessions: login, refresh, logout, me, password change; token checks; admin_required."""
import math
from datetime import datetime, timedelta, timezone
from functools import wraps

from flask import current_app, jsonify
from flask_jwt_extended import (
    create_access_token,
    create_refresh_token,
    current_user,
    decode_token,
    get_current_user,
    get_jwt,
    jwt_required,
    set_access_cookies,
    set_refresh_cookies,
    unset_jwt_cookies,
)
from flask_smorest import Blueprint, abort
from sqlalchemy import delete, or_, select

from . import audit
from .errors import error_body
from .extensions import db, jwt, upsert
from .models import Lockout, RevokedToken, UnknownLogin, User, utcnow
from .passwords import burn_check, check_password, hash_password
from .schemas import AccessTokenSchema, LoginResponseSchema, LoginSchema, PasswordChangeSchema, UserSchema

blp = Blueprint("session", __name__, url_prefix="/api", description="Sign in and out")

LOCK_AFTER = 5  # failures in a row
LOCK_BASE_SECONDS = 30  # doubled for every further failure
LOCK_MAX_SECONDS = 3600
UNKNOWN_KEPT = timedelta(days=1)  # how long failures under a name that is no account are remembered
BAD_CREDENTIALS = "Wrong username or password."


def admin_required(fn):
    """A valid token of an active admin, checked against the database on every request."""

    @wraps(fn)
    @jwt_required()
    def wrapper(*args, **kwargs):
        if not current_user.is_admin:
            abort(403, message="This needs an administrator account.")
        return fn(*args, **kwargs)

    return wrapper


# --- token checks (flask-jwt-extended callbacks) -----------------------------------------

@jwt.user_identity_loader
def _identity(user: User) -> str:
    return str(user.id)


@jwt.user_lookup_loader
def _load_user(_header, claims) -> User | None:
    """None (→ 401) when the user is gone, disabled, or their tokens were invalidated."""
    user = db.session.get(User, int(claims["sub"]))
    if user is None or not user.is_active or claims.get("ver") != user.token_version:
        return None
    return user


@jwt.token_in_blocklist_loader
def _is_revoked(_header, claims) -> bool:
    jtis = {claims["jti"], claims.get("rjti")} - {None}
    return db.session.scalar(select(RevokedToken.jti).where(RevokedToken.jti.in_(jtis)).limit(1)) is not None


def _unauthorized(message: str):
    return jsonify(error_body(401, message)), 401


jwt.unauthorized_loader(lambda reason: _unauthorized("You are not signed in."))
jwt.invalid_token_loader(lambda reason: _unauthorized("Your session token is invalid; sign in again."))
jwt.expired_token_loader(lambda h, c: _unauthorized("Your session has expired; sign in again."))
jwt.revoked_token_loader(lambda h, c: _unauthorized("Your session has ended; sign in again."))
jwt.user_lookup_error_loader(lambda h, c: _unauthorized("Your session has ended; sign in again."))
jwt.needs_fresh_token_loader(lambda h, c: _unauthorized("Sign in again to do this."))
jwt.token_verification_failed_loader(lambda h, c: _unauthorized("Your session token is invalid."))


# --- helpers -----------------------------------------------------------------------------

def issue_tokens(user: User) -> tuple[str, str]:
    """A refresh token and an access token tied to it (logout revokes both by jti)."""
    claims = {"ver": user.token_version}
    refresh = create_refresh_token(identity=user, additional_claims=claims)
    rjti = decode_token(refresh)["jti"]
    access = create_access_token(identity=user, additional_claims={**claims, "rjti": rjti})
    return access, refresh


def _lock_seconds(failures: int) -> int:
    if failures < LOCK_AFTER:
        return 0
    return min(LOCK_BASE_SECONDS * 2 ** (failures - LOCK_AFTER), LOCK_MAX_SECONDS)


def _record_failure(subject: Lockout) -> None:
    """One more failure in a row (an atomic increment: concurrent attempts all count), and the
    lock it earns."""
    subject.failed_logins = type(subject).failed_logins + 1
    db.session.flush()  # UPDATE ... SET failed_logins = failed_logins + 1; read back on access
    seconds = _lock_seconds(subject.failed_logins)
    if seconds:
        subject.locked_until = utcnow() + timedelta(seconds=seconds)


def _refuse_while_locked(subject: Lockout, action: str, user: User | None, detail: dict) -> None:
    """429 with the wait while `subject` is locked; the refusal is audited as `action`."""
    now = utcnow()
    if subject.locked_until and subject.locked_until > now:
        wait = math.ceil((subject.locked_until - now).total_seconds())
        audit.record(action, user, detail=detail)
        db.session.commit()
        abort(429, message=f"Too many failed attempts. Try again in {wait} seconds.",
              headers={"Retry-After": str(wait)})


def _unknown_login(name: str) -> UnknownLogin:
    """The lockout row of a name that is no account (made on first use, race-free), after
    purging the rows untouched for a day."""
    now = utcnow()
    db.session.execute(delete(UnknownLogin).where(UnknownLogin.last_failed_at < now - UNKNOWN_KEPT))
    db.session.execute(upsert(UnknownLogin).values(name=name, failed_logins=0, last_failed_at=now)
                       .on_conflict_do_nothing(index_elements=["name"]))
    row = db.session.get(UnknownLogin, name, populate_existing=True)
    row.last_failed_at = now
    return row


def _revoke(*jtis: str | None, until: datetime) -> None:
    """Revoke these token ids; revoking one twice (two logouts at once) is not an error."""
    for jti in filter(None, jtis):
        db.session.execute(upsert(RevokedToken).values(jti=jti, expires_at=until)
                           .on_conflict_do_nothing(index_elements=["jti"]))


# --- routes ------------------------------------------------------------------------------

@blp.post("/login")
@blp.doc(security=[])
@blp.arguments(LoginSchema)
@blp.response(200, LoginResponseSchema)
@blp.alt_response(401, description="Wrong username or password")
@blp.alt_response(403, description="Account disabled")
@blp.alt_response(429, description="Locked after repeated failures (an account, or a name that is no account)")
def login(data):
    """Sign in with a username or email and a password; sets the session cookies."""
    # Lower-casing can lengthen a name ("İ" becomes two characters); no account's name is longer.
    name = data["username"].strip().lower()[:254]
    user = db.session.scalar(select(User).where(or_(User.username == name, User.email == name)))
    # A name that is no account fails and locks exactly like one: same answers, same timing.
    subject = user or _unknown_login(name)
    unknown = {"username": name[:64]} if user is None else {}
    _refuse_while_locked(subject, "login_failed", user, detail={"reason": "locked", **unknown})
    if user is None:
        burn_check()
    if user is None or not check_password(data["password"], user.password_hash):
        _record_failure(subject)
        audit.record("login_failed", user, detail={"reason": "unknown user" if user is None else "wrong password",
                                                   **unknown})
        db.session.commit()
        abort(401, message=BAD_CREDENTIALS)
    if not user.is_active:
        audit.record("login_failed", user, detail={"reason": "disabled"})
        db.session.commit()
        abort(403, message="This account is disabled. Contact your administrator.")
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = utcnow()
    access, refresh = issue_tokens(user)
    audit.record("login", user)
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
@blp.response(204)
def logout():
    """End this session: the access token and its refresh token stop working at once."""
    claims = get_jwt()
    refresh_expiry = datetime.now(timezone.utc) + current_app.config["JWT_REFRESH_TOKEN_EXPIRES"]
    _revoke(claims["jti"], claims.get("rjti"), until=refresh_expiry)
    db.session.execute(RevokedToken.__table__.delete().where(RevokedToken.expires_at < utcnow()))
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


@blp.post("/me/password")
@jwt_required()
@blp.arguments(PasswordChangeSchema)
@blp.response(204)
@blp.alt_response(429, description="Locked after repeated wrong current passwords or failed sign-ins")
def change_password(data):
    """Change my password. Every token issued before stops working; a browser session gets
    fresh cookies, API clients sign in again."""
    user = get_current_user()  # the User itself, not the proxy: _record_failure needs its class
    # Wrong current passwords count towards the account's lock, as failed sign-ins do: a stolen
    # session must not be a way to guess the password without limit.
    _refuse_while_locked(user, "password_change_failed", user, detail={"reason": "locked"})
    if not check_password(data["current_password"], user.password_hash):
        _record_failure(user)
        audit.record("password_change_failed", user, target_user_id=user.id, detail={"reason": "wrong password"})
        db.session.commit()
        abort(422, message="The current password is wrong.",
              errors={"json": {"current_password": ["The current password is wrong."]}})
    user.password_hash = hash_password(data["new_password"])
    user.token_version += 1
    user.failed_logins, user.locked_until = 0, None
    audit.record("password_changed", user, target_user_id=user.id)
    db.session.commit()
    response = current_app.response_class(status=204)
    access, refresh_token = issue_tokens(user)
    set_access_cookies(response, access)
    set_refresh_cookies(response, refresh_token)
    return response
