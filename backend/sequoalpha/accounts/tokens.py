"""Session tokens: issued as a refresh/access pair, checked against the database on every
request (flask-jwt-extended callbacks, one statement for the user and the revocation), revoked
by id at sign-out. And the `mfa_token` between the two steps of a sign-in with a second factor,
which is no session token at all."""

import hashlib
import hmac
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import jwt as pyjwt
from flask import current_app, g, jsonify, redirect, request
from flask_jwt_extended import create_access_token, create_refresh_token, decode_token
from flask_smorest import abort
from sqlalchemy import bindparam, exists, select

from ..errors import error_body
from ..extensions import db, jwt, upsert
from ..models import RevokedToken, User


@jwt.user_identity_loader
def _identity(user: User) -> str:
    return str(user.id)


# The user and whether the token (or the refresh token it came from) is revoked, in one
# statement built once: every authenticated request runs it.
_TOKEN_CHECK = select(
    User,
    exists().where(RevokedToken.jti.in_(bindparam("jtis", expanding=True))).label("revoked"),
).where(User.id == bindparam("sub"))


def _token_check(claims) -> tuple[User | None, bool]:
    """(the token's user or None, revoked?). A token whose user is gone is refused by the user
    lookup below whatever its revocation says."""
    jtis = [jti for jti in (claims["jti"], claims.get("rjti")) if jti]
    row = db.session.execute(_TOKEN_CHECK, {"sub": int(claims["sub"]), "jtis": jtis}).first()
    return (row[0], bool(row[1])) if row else (None, False)


# What a user who must replace an admin-chosen password may still do (endpoints, by name).
WHILE_PASSWORD_CHANGE_REQUIRED = frozenset(
    {"session.me", "session.change_password", "session.logout", "session.refresh"}
)


@jwt.token_in_blocklist_loader
def _is_revoked(_header, claims) -> bool:
    """flask-jwt-extended calls this first, then the user lookup of the same token: the lookup
    takes the user from this check (kept on `g` for that one call) instead of a query of its own."""
    user, revoked = _token_check(claims)
    g.sequoalpha_token_check = (claims["jti"], user)
    return revoked


@jwt.user_lookup_loader
def _load_user(_header, claims) -> User | None:
    """None (→ 401) when the user is gone, disabled, or their tokens were invalidated; a 403 on
    every other route while the user must change an admin-chosen password."""
    checked = g.pop("sequoalpha_token_check", None)
    user = checked[1] if checked and checked[0] == claims["jti"] else _token_check(claims)[0]
    if user is None or not user.is_active or claims.get("ver") != user.token_version:
        return None
    if user.must_change_password and request.endpoint not in WHILE_PASSWORD_CHANGE_REQUIRED:
        abort(
            403,
            message="Choose a new password before going on: yours was set by an administrator.",
            reason="password_change_required",
        )
    return user


SIGN_IN_PAGE = "/frontend/signin.html"
# Routes a browser opens by itself (a new tab, a bookmark): without a session it goes to the
# sign-in page, which returns to the route afterwards; API clients still get the JSON 401.
BROWSER_ROUTES = {"documents.download"}


def _unauthorized(message: str):
    if request.endpoint in BROWSER_ROUTES and _browser_navigation():
        target = request.full_path if request.query_string else request.path
        return redirect(f"{SIGN_IN_PAGE}?{urlencode({'next': target})}", code=302)
    return jsonify(error_body(401, message)), 401


def _browser_navigation() -> bool:
    """The request prefers an HTML page (a browser's own navigation), not JSON or anything."""
    accept = request.accept_mimetypes
    return accept["text/html"] > accept["application/json"]


jwt.unauthorized_loader(lambda reason: _unauthorized("You are not signed in."))
jwt.invalid_token_loader(lambda reason: _unauthorized("Your session token is invalid; sign in again."))
jwt.expired_token_loader(lambda h, c: _unauthorized("Your session has expired; sign in again."))
jwt.revoked_token_loader(lambda h, c: _unauthorized("Your session has ended; sign in again."))
jwt.user_lookup_error_loader(lambda h, c: _unauthorized("Your session has ended; sign in again."))
jwt.needs_fresh_token_loader(lambda h, c: _unauthorized("Sign in again to do this."))
jwt.token_verification_failed_loader(lambda h, c: _unauthorized("Your session token is invalid."))


def issue_tokens(user: User) -> tuple[str, str]:
    """A refresh token and an access token tied to it (logout revokes both by jti)."""
    claims = {"ver": user.token_version}
    refresh = create_refresh_token(identity=user, additional_claims=claims)
    rjti = decode_token(refresh)["jti"]
    access = create_access_token(identity=user, additional_claims={**claims, "rjti": rjti})
    return access, refresh


def end_sessions(user: User) -> None:
    """Every token issued to `user` so far stops working (their version no longer matches)."""
    user.token_version += 1


def revoke(*jtis: str | None, until: datetime) -> None:
    """Revoke these token ids; revoking one twice (two logouts at once) is not an error."""
    for jti in filter(None, jtis):
        db.session.execute(
            upsert(RevokedToken).values(jti=jti, expires_at=until).on_conflict_do_nothing(index_elements=["jti"])
        )


# --- the token between the password and the second factor --------------------------------

MFA_TOKEN_TYPE = "mfa"
MFA_AUDIENCE = "sequoalpha:mfa"


def _mfa_key() -> bytes:
    """Its own key (derived from JWT_SECRET_KEY): flask-jwt-extended cannot verify an mfa_token,
    so it can never pass for an access or refresh token."""
    return hmac.new(current_app.config["JWT_SECRET_KEY"].encode(), b"sequoalpha mfa token v1", hashlib.sha256).digest()


def issue_mfa_token(user: User, now: float) -> str:
    """A signed token naming `user`, good for MFA_TOKEN_SECONDS, once, while the account's
    token version is unchanged (a password change or disable ends it)."""
    claims = {
        "sub": str(user.id),
        "type": MFA_TOKEN_TYPE,
        "aud": MFA_AUDIENCE,
        "jti": uuid.uuid4().hex,
        "ver": user.token_version,
        "iat": int(now),
        "exp": int(now) + current_app.config["MFA_TOKEN_SECONDS"],
    }
    return pyjwt.encode(claims, _mfa_key(), algorithm="HS256")


def read_mfa_token(token: str, now: float) -> tuple[User, dict] | None:
    """The user and claims of a valid, unexpired, unused mfa_token; None otherwise. Expiry is
    checked against `now` (the caller's clock)."""
    try:
        claims = pyjwt.decode(
            token,
            _mfa_key(),
            algorithms=["HS256"],
            audience=MFA_AUDIENCE,
            options={
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
                "require": ["sub", "type", "jti", "exp", "ver"],
            },
        )
        user_id = int(claims["sub"])
    except (pyjwt.PyJWTError, ValueError, TypeError):
        return None
    if claims["type"] != MFA_TOKEN_TYPE or not isinstance(claims["exp"], int) or claims["exp"] <= now:
        return None
    user = db.session.get(User, user_id)
    if user is None or not user.is_active or claims["ver"] != user.token_version:
        return None
    if db.session.scalar(select(RevokedToken.jti).where(RevokedToken.jti == claims["jti"])) is not None:
        return None
    return user, claims


def spend_mfa_token(claims: dict) -> bool:
    """The mfa_token has done its work: refuse it from now on. False when another request spent
    it first."""
    until = datetime.fromtimestamp(claims["exp"], UTC) + timedelta(minutes=1)
    return (
        db.session.execute(
            upsert(RevokedToken)
            .values(jti=claims["jti"], expires_at=until)
            .on_conflict_do_nothing(index_elements=["jti"])
            .execution_options(preserve_rowcount=True)  # an INSERT's count is kept only when asked
        ).rowcount
        == 1
    )
