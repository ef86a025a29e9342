"""Single-use tokens that travel in e-mailed links (invitations, password resets).

A token is `secrets.token_urlsafe(32)`; only its SHA-256 is stored, so a copy of the database
opens no account. Issuing one retires the user's earlier unused tokens of the same purpose (the
previous link stops working); using one is a compare-and-set on `used_at`, so two requests with
the same token cannot both succeed."""

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import ColumnElement, exists, insert, literal, select, update

from ..extensions import db
from ..models import AccountToken, User, UTCDateTime, utcnow

INVITATION_LIFETIME = timedelta(hours=72)
RESET_LIFETIME = timedelta(minutes=30)
LIFETIMES = {"invitation": INVITATION_LIFETIME, "reset": RESET_LIFETIME}


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def retire(user: User, *purposes: str) -> None:
    """Make the user's unused tokens of these purposes unusable (a new link replaces them)."""
    db.session.execute(
        update(AccountToken)
        .where(
            AccountToken.user_id == user.id,
            AccountToken.used_at.is_(None),
            AccountToken.purpose.in_(purposes or tuple(LIFETIMES)),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def new_token() -> str:
    return secrets.token_urlsafe(32)


def issue(user: User, purpose: str) -> tuple[AccountToken, str]:
    """A new token for `user` (the row, flushed, and the token itself, which is never stored)."""
    retire(user, purpose)
    token = new_token()
    row = AccountToken(
        token_hash=digest(token), purpose=purpose, user_id=user.id, expires_at=utcnow() + LIFETIMES[purpose]
    )
    db.session.add(row)
    db.session.flush()
    return row, token


def issue_if_account(email: str, purpose: str, token: str) -> ColumnElement[bool]:
    """`issue` for the active account with this e-mail address, if there is one, by statements
    that are the same either way (they change no row when there is none): the time of the
    request does not tell. Returns a condition that holds when the token was stored."""
    now = utcnow()
    holder = select(User.id).where(User.email == email, User.is_active)
    db.session.execute(
        update(AccountToken)
        .where(
            AccountToken.user_id.in_(holder.scalar_subquery()),
            AccountToken.used_at.is_(None),
            AccountToken.purpose == purpose,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        insert(AccountToken).from_select(
            ["token_hash", "purpose", "user_id", "created_at", "expires_at"],
            select(
                literal(digest(token)),
                literal(purpose),
                User.id,
                literal(now, UTCDateTime),
                literal(now + LIFETIMES[purpose], UTCDateTime),
            ).where(User.email == email, User.is_active),
        )
    )
    return exists().where(AccountToken.token_hash == digest(token))


def consume(token: str) -> tuple[User, str] | None:
    """The user and purpose of a valid token, which is used up by this call (in the caller's
    transaction); None for a token that is unknown, used, expired, or whose user is disabled."""
    now = utcnow()
    row = db.session.scalar(select(AccountToken).where(AccountToken.token_hash == digest(token)))
    if row is None or row.used_at is not None or row.expires_at <= now:
        return None
    won = (
        db.session.execute(
            update(AccountToken)
            .where(AccountToken.id == row.id, AccountToken.used_at.is_(None))
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        == 1
    )
    user = db.session.get(User, row.user_id)
    if not won or user is None or not user.is_active:
        return None
    retire(user)  # any other outstanding link of this user stops working too
    return user, row.purpose
