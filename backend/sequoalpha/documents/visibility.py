"""Who sees which document: admins everything; others the documents for everyone, granted to one
of their groups, or granted to them. Every read of a document goes through `documents_for()`,
and a document that is not visible is a 404, exactly like a missing one.

The rule is written twice, side by side, for two kinds of question: `visible_to` as a condition
on one document (a page, one document), `visible_ids` as the set a user sees, to count it.
tests/test_documents_visibility.py proves on a random grant matrix that they agree."""
from flask_jwt_extended import current_user
from flask_smorest import abort
from sqlalchemy import ColumnElement, Select, exists, func, or_, select, true, union
from sqlalchemy.orm import joinedload, selectinload, with_expression

from ..extensions import db
from ..models import Document, DocumentGroupGrant, DocumentRead, DocumentUserGrant, User, user_groups
from ..pagination import paginate

NOT_FOUND = "No such document."


def visible_to(user: User) -> ColumnElement[bool]:
    """The rule as one SQL condition on a document. Correlated EXISTS probes (grant indexes): a
    page of the newest documents, or one document, costs a few index lookups, not the user's
    whole visible set."""
    if user.is_admin:
        return true()
    to_group = exists().where(DocumentGroupGrant.document_id == Document.id,
                              DocumentGroupGrant.group_id == user_groups.c.group_id,
                              user_groups.c.user_id == user.id)
    to_user = exists().where(DocumentUserGrant.document_id == Document.id, DocumentUserGrant.user_id == user.id)
    return or_(Document.everyone, to_user, to_group)


def visible_ids(user: User) -> Select:
    """The rule as the ids a user sees, read from the grant indexes and the partial index of
    `everyone` documents, without scanning every document."""
    if user.is_admin:
        return select(Document.id)
    return union(
        select(Document.id).where(Document.everyone),
        select(DocumentGroupGrant.document_id)
        .join(user_groups, user_groups.c.group_id == DocumentGroupGrant.group_id)
        .where(user_groups.c.user_id == user.id),
        select(DocumentUserGrant.document_id).where(DocumentUserGrant.user_id == user.id),
    )


def visible_count(user: User) -> int:
    """How many documents `user` sees."""
    return db.session.scalar(select(func.count()).select_from(visible_ids(user).subquery()))


def documents_for(user: User, admin_view: bool = False) -> Select:
    """Documents `user` may see, newest first, with their `is_new` and what the dump needs.

    `is_new` is a correlated NOT EXISTS rather than a join, so that it stays self-contained when
    a document expired by a commit is refreshed with the same options."""
    unread = ~exists().where(DocumentRead.document_id == Document.id, DocumentRead.user_id == user.id)
    stmt = (
        select(Document)
        .where(visible_to(user))
        .options(with_expression(Document.is_new, unread), joinedload(Document.category))
        .order_by(Document.created_at.desc(), Document.id.desc())
    )
    if admin_view:
        stmt = stmt.options(
            joinedload(Document.uploaded_by),
            selectinload(Document.group_grants),
            selectinload(Document.user_grants),
        )
    return stmt


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_documents(args: dict, admin_view: bool = False) -> dict:
    """One page of the visible documents matching `q` and `category_id`, and the total."""
    stmt = documents_for(current_user, admin_view)
    if args.get("q"):
        pattern = f"%{escape_like(args['q'])}%"
        stmt = stmt.where(or_(Document.title.ilike(pattern, escape="\\"),
                              Document.description.ilike(pattern, escape="\\")))
    if "category_id" in args:
        stmt = stmt.where(Document.category_id == args["category_id"])
    filtered = bool(args.get("q")) or "category_id" in args
    total = None if filtered else visible_count(current_user)
    return paginate(stmt, args["page"], args["per_page"], total=total)


def document_or_404(document_id: int, admin_view: bool = False) -> Document:
    """The document, if the signed-in user may see it; else 404 (admins: the admin view)."""
    stmt = documents_for(current_user, admin_view).where(Document.id == document_id)
    document = db.session.scalar(stmt.execution_options(populate_existing=True))
    if document is None:
        abort(404, message=NOT_FOUND)
    return document


def audience(document_id: int) -> Select:
    """The ids of the active non-admin users who can see document `document_id`, as one query
    (the same rule as `visible_to`, asked the other way round: who sees this document)."""
    granted = union(
        select(user_groups.c.user_id)
        .join(DocumentGroupGrant, DocumentGroupGrant.group_id == user_groups.c.group_id)
        .where(DocumentGroupGrant.document_id == document_id),
        select(DocumentUserGrant.user_id).where(DocumentUserGrant.document_id == document_id),
    )
    for_everyone = select(Document.everyone).where(Document.id == document_id).scalar_subquery()
    return select(User.id).where(User.is_active, ~User.is_admin,
                                 or_(for_everyone.is_(True), User.id.in_(granted)))
