"""Who sees which document: admins everything; others the documents for everyone, granted to one
of their groups, or granted to them. Every read of a document goes through `documents_for()`,
and a document that is not visible is a 404, exactly like a missing one.

The rule is written twice, side by side, for two kinds of question: `visible_to` as a condition
on one document (a page, one document), `visible_ids` as the set a user sees, to count it.
tests/test_documents_visibility.py proves on a random grant matrix that they agree."""

from collections.abc import Iterable

from flask_jwt_extended import current_user
from flask_smorest import abort
from sqlalchemy import ColumnElement, Select, exists, false, func, or_, select, true, union
from sqlalchemy.orm import joinedload, selectinload, undefer, with_expression

from ..extensions import db
from ..models import Document, DocumentGroupGrant, DocumentRead, DocumentUserGrant, User, user_groups
from ..pagination import paginate
from . import search

NOT_FOUND = "No such document."


def visible_to(user: User) -> ColumnElement[bool]:
    """The rule as one SQL condition on a document. Correlated EXISTS probes (grant indexes): a
    page of the newest documents, or one document, costs a few index lookups, not the user's
    whole visible set."""
    if user.is_admin:
        return true()
    to_group = exists().where(
        DocumentGroupGrant.document_id == Document.id,
        DocumentGroupGrant.group_id == user_groups.c.group_id,
        user_groups.c.user_id == user.id,
    )
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


def unread_by(user: User) -> ColumnElement[bool]:
    """The document is new for `user`: not downloaded since its current version was uploaded.
    (A new version leaves the read marks in place, for the readers' history, and is new again
    because it is younger than them.)"""
    return ~exists().where(
        DocumentRead.document_id == Document.id,
        DocumentRead.user_id == user.id,
        or_(Document.version_at.is_(None), DocumentRead.read_at >= Document.version_at),
    )


SORTS = {
    "-date": (Document.document_date.desc(), Document.created_at.desc(), Document.id.desc()),
    "date": (Document.document_date.asc(), Document.created_at.asc(), Document.id.asc()),
    "title": (func.lower(Document.title).asc(), Document.id.asc()),
    "-title": (func.lower(Document.title).desc(), Document.id.desc()),
    "-created": (Document.created_at.desc(), Document.id.desc()),
    "created": (Document.created_at.asc(), Document.id.asc()),
}
DEFAULT_SORT = "-date"


def documents_for(user: User, admin_view: bool = False) -> Select:
    """Documents `user` may see, by document date (newest first), with their `is_new` and what
    the dump needs.

    `is_new` is a correlated NOT EXISTS rather than a join, so that it stays self-contained when
    a document expired by a commit is refreshed with the same options."""
    stmt = (
        select(Document)
        .where(visible_to(user))
        .options(with_expression(Document.is_new, unread_by(user)), joinedload(Document.category))
        .order_by(*SORTS[DEFAULT_SORT])
    )
    if admin_view:
        stmt = stmt.options(
            joinedload(Document.uploaded_by),
            selectinload(Document.group_grants),
            selectinload(Document.user_grants),
        )
    return stmt


def list_documents(args: dict, admin_view: bool = False) -> dict:
    """One page of the visible documents matching `q` (full text), `category_id` and `unread`,
    in `sort` order (with `q` and no `sort`: by relevance), and the total. Found documents carry
    a snippet."""
    stmt = documents_for(current_user, admin_view)
    q_words = search.query_words(args.get("q"))
    order = SORTS[args.get("sort") or DEFAULT_SORT]
    if args.get("q") and not q_words:  # only punctuation: no word to find
        stmt = stmt.where(false())
    if q_words:
        dialect = db.session.get_bind().dialect.name
        stmt, relevance = search.matching(stmt, q_words, dialect)
        stmt = stmt.options(undefer(Document.text_content))
        if not args.get("sort"):
            order = (relevance.desc(), *order)
    if "category_id" in args:
        stmt = stmt.where(Document.category_id == args["category_id"])
    if args.get("unread"):
        stmt = stmt.where(unread_by(current_user))
    filtered = bool(args.get("q")) or "category_id" in args or bool(args.get("unread"))
    total = None if filtered else visible_count(current_user)
    page = paginate(stmt.order_by(None).order_by(*order), args["page"], args["per_page"], total=total)
    if q_words:
        for document in page["items"]:
            document.snippet = search.snippet(document, q_words)
    return page


def document_or_404(document_id: int, admin_view: bool = False) -> Document:
    """The document, if the signed-in user may see it; else 404 (admins: the admin view)."""
    stmt = documents_for(current_user, admin_view).where(Document.id == document_id)
    document = db.session.scalar(stmt.execution_options(populate_existing=True))
    if document is None:
        abort(404, message=NOT_FOUND)
    return document


def audience(document_ids: Iterable[int]) -> Select:
    """(document_id, user_id) of every active non-admin user who can see one of the documents (the
    rule of `visible_to`, asked the other way round: who sees these documents):
    everyone's documents to all such users, plus the user grants, plus the members of the
    granted groups. Only the given documents' grants are read."""
    ids = list(document_ids)
    pairs = union(
        select(Document.id.label("document_id"), User.id.label("user_id"))
        .select_from(Document)
        .join(User, true())
        .where(Document.id.in_(ids), Document.everyone),
        select(DocumentUserGrant.document_id, DocumentUserGrant.user_id).where(DocumentUserGrant.document_id.in_(ids)),
        select(DocumentGroupGrant.document_id, user_groups.c.user_id)
        .join(user_groups, user_groups.c.group_id == DocumentGroupGrant.group_id)
        .where(DocumentGroupGrant.document_id.in_(ids)),
    ).subquery()
    return (
        select(pairs.c.document_id, pairs.c.user_id)
        .join(User, User.id == pairs.c.user_id)
        .where(User.is_active, ~User.is_admin)
    )
