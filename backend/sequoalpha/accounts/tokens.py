"""Session tokens: issued as a refresh/access pair, checked against the database on every
request (flask-jwt-extended callbacks, one statement for the user and the revocation), revoked
by id at sign-out."""
from datetime import datetime

from flask import g, jsonify
from flask_jwt_extended import create_access_token, create_refresh_token, decode_token
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


@jwt.token_in_blocklist_loader
def _is_revoked(_header, claims) -> bool:
    """flask-jwt-extended calls this first, then the user lookup of the same token: the lookup
    takes the user from this check (kept on `g` for that one call) instead of a query of its own."""
    user, revoked = _token_check(claims)
    g.sequoalpha_token_check = (claims["jti"], user)
    return revoked


@jwt.user_lookup_loader
def _load_user(_header, claims) -> User | None:
    """None (→ 401) when the user is gone, disabled, or their tokens were invalidated."""
    checked = g.pop("sequoalpha_token_check", None)
    user = checked[1] if checked and checked[0] == claims["jti"] else _token_check(claims)[0]
    if user is None or not user.is_active or claims.get("ver") != user.token_version:
        return None
    return user


def _unauthorized(message: str):
    return jsonify(error_body(401, message)), 401


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


def revoke(*jtis: str | None, until: datetime) -> None:
    """Revoke these token ids; revoking one twice (two logouts at once) is not an error."""
    for jti in filter(None, jtis):
        db.session.execute(upsert(RevokedToken).values(jti=jti, expires_at=until)
                           .on_conflict_do_nothing(index_elements=["jti"]))
