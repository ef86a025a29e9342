"""The lock after failed attempts in a row: an account's, or a name's that is no account (so
that a 429 does not tell whether an account exists)."""

import math
from datetime import timedelta

from flask_smorest import abort
from sqlalchemy import case, delete, inspect, or_, select, update

from .. import audit
from ..extensions import db, upsert
from ..models import Lockout, UnknownLogin, User, utcnow

LOCK_AFTER = 5  # failures in a row
LOCK_BASE_SECONDS = 30  # doubled for every further failure
LOCK_MAX_SECONDS = 3600
UNKNOWN_KEPT = timedelta(days=1)  # how long failures under a name that is no account are remembered


def lock_seconds(failures: int) -> int:
    if failures < LOCK_AFTER:
        return 0
    return min(LOCK_BASE_SECONDS * 2 ** (failures - LOCK_AFTER), LOCK_MAX_SECONDS)


def record_failure(subject: Lockout) -> None:
    """One more failure in a row (an atomic increment: concurrent attempts all count), and the
    lock it earns."""
    subject.failed_logins = type(subject).failed_logins + 1
    db.session.flush()  # UPDATE ... SET failed_logins = failed_logins + 1; read back on access
    seconds = lock_seconds(subject.failed_logins)
    if seconds:
        subject.locked_until = utcnow() + timedelta(seconds=seconds)


def refuse_while_locked(subject: Lockout, action: str, user: User | None, detail: dict) -> None:
    """429 with the wait while `subject` is locked; the refusal is audited as `action`."""
    if subject.locked_until and subject.locked_until > utcnow():
        _refuse(subject.locked_until, action, user, detail)


def _refuse(locked_until, action: str, user: User | None, detail: dict) -> None:
    wait = max(math.ceil((locked_until - utcnow()).total_seconds()), 1) if locked_until else 1
    audit.record(action, user, detail=detail)
    db.session.commit()
    abort(429, message=f"Too many failed attempts. Try again in {wait} seconds.", headers={"Retry-After": str(wait)})


def claim_attempt(subject: Lockout, action: str, user: User | None, detail: dict) -> None:
    """Count this attempt as a failure, and the lock it earns, BEFORE the password is checked,
    and commit: the increment only happens while `subject` is not locked (one UPDATE, which holds
    the row until the commit), so of concurrent attempts only as many reach the check as the lock
    allows; the others get the 429 (audited as `action`). A right password then clears the count."""
    model = type(subject)
    key = inspect(model).primary_key[0]
    this = key == inspect(subject).identity[0]
    now = utcnow()
    failures = db.session.scalar(
        update(model)
        .where(this, or_(model.locked_until.is_(None), model.locked_until <= now))
        .values(failed_logins=model.failed_logins + 1)
        .returning(model.failed_logins)
        .execution_options(synchronize_session=False)
    )
    if failures is None:
        _refuse(db.session.scalar(select(model.locked_until).where(this)), action, user, detail)
    if seconds := lock_seconds(failures):
        db.session.execute(
            update(model)
            .where(this)
            .values(locked_until=now + timedelta(seconds=seconds))
            .execution_options(synchronize_session=False)
        )
    db.session.commit()


def release_attempt(subject: Lockout) -> None:
    """Give back the attempt `claim_attempt` counted, once it proved right but the sign-in is not
    over (a second factor follows): earlier failures stay counted, and a lock stays unless this
    attempt alone earned it. The caller commits."""
    model = type(subject)
    key = inspect(model).primary_key[0]
    remaining = model.failed_logins - 1
    db.session.execute(
        update(model)
        .where(key == inspect(subject).identity[0], model.failed_logins > 0)
        .values(failed_logins=remaining, locked_until=case((remaining < LOCK_AFTER, None), else_=model.locked_until))
        .execution_options(synchronize_session=False)
    )


def unknown_login(name: str) -> UnknownLogin:
    """The lockout row of a name that is no account (made on first use, race-free), after
    purging the rows untouched for a day."""
    now = utcnow()
    db.session.execute(delete(UnknownLogin).where(UnknownLogin.last_failed_at < now - UNKNOWN_KEPT))
    db.session.execute(
        upsert(UnknownLogin)
        .values(name=name, failed_logins=0, last_failed_at=now)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    row = db.session.get(UnknownLogin, name, populate_existing=True)
    row.last_failed_at = now
    return row
