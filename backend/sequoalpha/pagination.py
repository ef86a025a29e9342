"""Page a SELECT into the list envelope: one query for the page, one for the total."""

from sqlalchemy import Select, func, select

from .extensions import db


def paginate(stmt: Select, page: int, per_page: int, scalars: bool = True) -> dict:
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    paged = stmt.limit(per_page).offset((page - 1) * per_page)
    items = db.session.scalars(paged).all() if scalars else db.session.execute(paged).all()
    return {"items": items, "total": total, "page": page, "per_page": per_page}
