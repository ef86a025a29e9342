"""Who sees which document: admins everything; others the documents for everyone, granted to one
of their groups, or granted to them. Every read of a document applies this rule (the ORM reads
through `documents_for()`, the hot paths through listing.py and `document_row_or_404`), and a
document that is not visible is a 404, exactly like a missing one.

The rule is written twice, side by side, for two kinds of question: `visible_to` (and
`visible_to_id`) as a condition on one document (a page, one document), `visible_ids` as the set
a user sees, to count it. tests/test_visibility_forms.py proves on a random grant matrix that
they agree."""

from collections.abc import Iterable
from functools import cache

from flask_jwt_extended import current_user
from flask_smorest import abort
from sqlalchemy import BindParameter, ColumnElement, Select, bindparam, exists, or_, select, true, union
from sqlalchemy.orm import joinedload, load_only, selectinload, with_expression

from ..extensions import db
from ..models import Document, DocumentGroupGrant, DocumentRead, DocumentUserGrant, User, user_groups

NOT_FOUND = "No such document."


def visible_to(user: User) -> ColumnElement[bool]:
    """The rule as one SQL condition on a document."""
    return true() if user.is_admin else visible_to_id(user.id)


def visible_to_id(user_id: int | BindParameter) -> ColumnElement[bool]:
    """The rule for a user who is no admin (`user_id` may be a bound parameter, in statements
    built once). Correlated EXISTS probes (grant indexes): a page of the newest documents, or one
    document, costs a few index lookups, not the user's whole visible set."""
    to_group = exists().where(
        DocumentGroupGrant.document_id == Document.id,
        DocumentGroupGrant.group_id == user_groups.c.group_id,
        user_groups.c.user_id == user_id,
    )
    to_user = exists().where(DocumentUserGrant.document_id == Document.id, DocumentUserGrant.user_id == user_id)
    return or_(Document.everyone, to_user, to_group)


def visible_ids(user_id: int | BindParameter, is_admin: bool) -> Select:
    """The rule as the ids a user sees, read from the grant indexes and the partial index of
    `everyone` documents, without scanning every document."""
    if is_admin:
        return select(Document.id)
    return union(
        select(Document.id).where(Document.everyone),
        select(DocumentGroupGrant.document_id)
        .join(user_groups, user_groups.c.group_id == DocumentGroupGrant.group_id)
        .where(user_groups.c.user_id == user_id),
        select(DocumentUserGrant.document_id).where(DocumentUserGrant.user_id == user_id),
    )


def unread_by(user_id: int | BindParameter) -> ColumnElement[bool]:
    """The document is new for `user`: not downloaded since its current version was uploaded.
    (A new version leaves the read marks in place, for the readers' history, and is new again
    because it is younger than them.)"""
    return ~exists().where(
        DocumentRead.document_id == Document.id,
        DocumentRead.user_id == user_id,
        or_(Document.version_at.is_(None), DocumentRead.read_at >= Document.version_at),
    )


def documents_for(user: User, admin_view: bool = False) -> Select:
    """Documents `user` may see (unordered), with their `is_new` and what the dump needs.

    `is_new` is a correlated NOT EXISTS rather than a join, so that it stays self-contained when
    a document expired by a commit is refreshed with the same options."""
    stmt = (
        select(Document)
        .where(visible_to(user))
        .options(with_expression(Document.is_new, unread_by(user.id)), joinedload(Document.category))
    )
    if admin_view:
        stmt = stmt.options(
            joinedload(Document.uploaded_by),
            selectinload(Document.group_grants),
            selectinload(Document.user_grants),
        )
    return stmt


def document_or_404(document_id: int, admin_view: bool = False) -> Document:
    """The document, if the signed-in user may see it; else 404 (admins: the admin view)."""
    stmt = documents_for(current_user, admin_view).where(Document.id == document_id)
    document = db.session.scalar(stmt.execution_options(populate_existing=True))
    if document is None:
        abort(404, message=NOT_FOUND)
    return document


# What serving a download reads of a document (files.serve); another attribute would be loaded
# by a query of its own.
SERVED = (
    Document.id,
    Document.kind,
    Document.external_url,
    Document.title,
    Document.custom_download_name,
    Document.watermark,
    Document.storage_key,
    Document.in_s3,
    Document.in_local,
)


@cache
def _row_statement(is_admin: bool) -> Select:
    stmt = select(Document).options(load_only(*SERVED)).where(Document.id == bindparam("document_id"))
    return stmt if is_admin else stmt.where(visible_to_id(bindparam("user_id")))


def document_row_or_404(document_id: int) -> Document:
    """What a download needs of the document (SERVED; no category, no `is_new`), if the
    signed-in user may see it, by a statement built once: the download's hot path."""
    params = {"document_id": document_id, "user_id": current_user.id}
    document = db.session.scalar(_row_statement(current_user.is_admin), params)
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
