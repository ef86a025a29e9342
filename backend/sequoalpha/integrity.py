"""What a write must respect before it is committed: the rows it names exist, the values that must
be unique are, a race on a unique value ends as the same 409 as the check, and one active admin
always remains."""

from flask_smorest import abort
from sqlalchemy import false, func, select, update
from sqlalchemy.exc import IntegrityError

from .extensions import db
from .models import User

ADMIN_CHANGES_LOCK = 0x5E0A_AD01  # PostgreSQL advisory lock key: changes that can remove an admin


def existing(model, ids: list[int], field: str, location: str = "json", within: str | None = None) -> list:
    """The rows of `model` with these ids, or a 422 naming the ids that do not exist.

    `within` names the object holding the field (`visibility.group_ids`), for the error's place."""
    ids = list(dict.fromkeys(ids))
    rows = db.session.scalars(select(model).where(model.id.in_(ids))).all() if ids else []
    missing = sorted(set(ids) - {row.id for row in rows})
    if missing:
        unknown = [f"Unknown ids: {missing}"]
        if within:
            abort(422, message=f"Invalid {within}: {unknown[0]}", errors={location: {within: {field: unknown}}})
        abort(422, message=f"Unknown {field}.", errors={location: {field: unknown}})
    return rows


def unique(column, value, current_id: int | None, message: str) -> None:
    """409 when another row already has this value; `errors` names the field."""
    existing_id = db.session.scalar(select(column.class_.id).where(column == value))
    if existing_id is not None and existing_id != current_id:
        abort(409, message=message, errors={"json": {column.key: [message]}})


def commit_or_conflict(message: str) -> None:
    """Commit; a unique-constraint race becomes the same 409 as the checked duplicate."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        abort(409, message=message)


def keep_an_admin(actor_id: int, target_id: int) -> User:
    """Before a change that can take an active admin away (demote, disable, delete): wait for any
    other such change to commit, then check on fresh rows that the actor is still an active admin
    (403) and that one remains besides the target (409). Returns the target, re-read (404 if a
    concurrent change deleted it). Without the wait, two admins removing each other both passed
    their checks and left none."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(func.pg_advisory_xact_lock(ADMIN_CHANGES_LOCK)))
    else:  # SQLite: a write takes the database's write lock, held until the commit
        db.session.execute(
            update(User).where(false()).values(is_admin=User.is_admin).execution_options(synchronize_session=False)
        )
    admins = set(db.session.scalars(select(User.id).where(User.is_admin, User.is_active)))
    if actor_id not in admins:
        abort(403, message="This needs an administrator account.")
    if not admins - {target_id}:
        abort(409, message="At least one active administrator must remain.")
    target = db.session.get(User, target_id, populate_existing=True)
    if target is None:
        abort(404, message="This user no longer exists.")
    return target
