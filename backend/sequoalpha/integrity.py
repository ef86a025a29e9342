"""What a write must respect before it is committed: the rows it names exist, the values that must
be unique are, and a race on a unique value ends as the same 409 as the check."""
from flask_smorest import abort
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .extensions import db


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
