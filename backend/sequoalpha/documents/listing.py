"""The documents a client waits for, built for speed: the list (`GET /api/documents`, and the
admins' `GET /api/admin/documents`) and one document (`GET /api/documents/<id>`).

- A statement of each shape (admin or not, sort, category filter, unread filter; one document)
  is built once per process, with the user, the category and the page as bound parameters; only
  a search (`q`), whose words shape the statement, builds its own.
- The list's total rides on each row of the page, a subquery the database runs once:
  unfiltered, the count of the user's visible ids; filtered or searched, the count of the
  matches. A page past the end has no row to carry it and asks again for the first row.
- Rows are plain tuples, encoded to JSON once with orjson, as DocumentSchema would dump them
  (tests/test_documents_listing.py holds them to that schema); the admins' list loads its page
  as documents for the fuller AdminDocumentSchema.
"""

from functools import cache
from typing import NamedTuple

import orjson
from flask import Response, current_app
from flask_smorest import abort
from sqlalchemy import Integer, Row, Select, bindparam, false, func, select

from ..extensions import db
from ..models import Category, Document, User
from . import search
from .names import download_name_for
from .visibility import NOT_FOUND, documents_for, unread_by, visible_ids, visible_to_id

SORTS = {
    "-date": (Document.document_date.desc(), Document.created_at.desc(), Document.id.desc()),
    "date": (Document.document_date.asc(), Document.created_at.asc(), Document.id.asc()),
    "title": (func.lower(Document.title).asc(), Document.id.asc()),
    "-title": (func.lower(Document.title).desc(), Document.id.desc()),
    "-created": (Document.created_at.desc(), Document.id.desc()),
    "created": (Document.created_at.asc(), Document.id.asc()),
}
DEFAULT_SORT = "-date"
USER = bindparam("user_id", type_=Integer)
CATEGORY = bindparam("category_id", type_=Integer)
# The page's bounds are written into the SQL when it is sent: a prepared statement with them as
# parameters keeps being planned anew (PostgreSQL cannot cost a generic plan with an unknown
# LIMIT), which doubled the database's work per listing.
LIMIT = bindparam("limit", type_=Integer, literal_execute=True)
OFFSET = bindparam("offset", type_=Integer, literal_execute=True)

COLUMNS = (  # in the order _item unpacks them
    Document.id,
    Document.title,
    Document.description,
    Document.category_id,
    Category.name.label("category_name"),
    Document.kind,
    Document.filename,
    Document.size_bytes,
    Document.sha256,
    Document.content_type,
    Document.external_url,
    Document.created_at,
    Document.updated_at,
    Document.document_date,
    Document.version,
    Document.custom_download_name,
)


def _matching(is_admin: bool, category: bool, unread: bool) -> Select:
    """The visible documents (with `is_new`) passing the filters, unordered."""
    stmt = (
        select(*COLUMNS, unread_by(USER).label("is_new"))
        .select_from(Document)
        .outerjoin(Category, Category.id == Document.category_id)
    )
    if not is_admin:
        stmt = stmt.where(visible_to_id(USER))
    if category:
        stmt = stmt.where(Document.category_id == CATEGORY)
    if unread:
        stmt = stmt.where(unread_by(USER))
    return stmt


def _paged(matching: Select, order, total=None) -> Select:
    """A page of `matching` in `order`, each row with the total (by default, a count of
    `matching`)."""
    if total is None:
        total = select(func.count()).select_from(matching.subquery()).scalar_subquery()
    return matching.add_columns(total.label("total")).order_by(*order).limit(LIMIT).offset(OFFSET)


@cache
def _statement(is_admin: bool, sort: str, category: bool, unread: bool) -> Select:
    """A page of one shape, built once per process. Unfiltered, the total is the count of the
    user's visible ids (the grant indexes), cheaper than a count of the page's statement."""
    total = None
    if not (category or unread):
        total = select(func.count()).select_from(visible_ids(USER, is_admin).subquery()).scalar_subquery()
    return _paged(_matching(is_admin, category, unread), SORTS[sort], total)


def _search_statement(args: dict, is_admin: bool, q_words: list[str]) -> Select:
    """A page of a search, by relevance unless `sort` is given; with the text for the snippets."""
    stmt = _matching(is_admin, "category_id" in args, bool(args.get("unread")))
    order = SORTS[args.get("sort") or DEFAULT_SORT]
    if not q_words:  # only punctuation: no word to find
        return _paged(stmt.where(false()), order)
    stmt, relevance = search.matching(stmt, q_words, db.session.get_bind().dialect.name)
    if not args.get("sort"):
        order = (relevance.desc(), *order)
    return _paged(stmt, order).add_columns(Document.text_content)


class Page(NamedTuple):
    rows: list[Row]
    total: int
    snippets: dict[int, str]  # with `q`: plain text around the match, by document id


def find(args: dict, user: User) -> Page:
    """The rows of one page of the documents `user` sees matching `q`, `category_id` and
    `unread`, in `sort` order (with `q` and no `sort`: by relevance), the total, and the
    snippets of a search."""
    q_words = search.query_words(args.get("q"))
    if args.get("q"):
        stmt = _search_statement(args, user.is_admin, q_words)
    else:
        stmt = _statement(
            user.is_admin, args.get("sort") or DEFAULT_SORT, "category_id" in args, bool(args.get("unread"))
        )
    params = {"user_id": user.id, "limit": args["per_page"]}
    if "category_id" in args:
        params["category_id"] = args["category_id"]
    rows = db.session.execute(stmt, {**params, "offset": (args["page"] - 1) * args["per_page"]}).all()
    if rows:
        total = rows[0].total
    elif args["page"] == 1:
        total = 0
    else:  # past the end: no row carries the total
        first = db.session.execute(stmt, {**params, "limit": 1, "offset": 0}).first()
        total = first.total if first else 0
    snippets = {row.id: search.snippet(row, q_words) for row in rows} if q_words else {}
    return Page(rows, total, snippets)


@cache
def _one_statement(is_admin: bool) -> Select:
    return _matching(is_admin, category=False, unread=False).where(Document.id == bindparam("document_id"))


def client_document(document_id: int, user: User) -> Response:
    """One document the user may see, as JSON; 404 when it is missing or not visible."""
    params = {"user_id": user.id, "document_id": document_id}
    row = db.session.execute(_one_statement(user.is_admin), params).first()
    if row is None:
        abort(404, message=NOT_FOUND)
    return _json(_item(row, None))


def client_page(args: dict, user: User) -> Response:
    """The page as JSON, encoded once from the rows."""
    page = find(args, user)
    return _json(_envelope([_item(row, page.snippets.get(row.id)) for row in page.rows], page.total, args))


def admin_page(args: dict, user: User) -> dict:
    """The page as documents, for AdminDocumentSchema (grants, uploader, readers' counts)."""
    page = find(args, user)
    stmt = documents_for(user, admin_view=True).where(Document.id.in_([row.id for row in page.rows]))
    by_id = {document.id: document for document in db.session.scalars(stmt.execution_options(populate_existing=True))}
    items = [by_id[row.id] for row in page.rows if row.id in by_id]  # not one deleted meanwhile
    for document in items:
        document.snippet = page.snippets.get(document.id)
    return _envelope(items, page.total, args)


def _envelope(items: list, total: int, args: dict) -> dict:
    return {"items": items, "total": total, "page": args["page"], "per_page": args["per_page"]}


def _json(body: dict) -> Response:
    return current_app.response_class(orjson.dumps(body), mimetype="application/json")


def _item(row: Row, snippet: str | None) -> dict:
    """One document as DocumentSchema dumps it (orjson writes dates and aware datetimes as
    isoformat() does)."""
    (id_, title, description, category_id, category_name, kind, filename, size_bytes, sha256, content_type,
     external_url, created_at, updated_at, document_date, version, custom_name, is_new, *_) = row  # fmt: skip
    return {
        "id": id_,
        "title": title,
        "description": description,
        "category": None if category_id is None else {"id": category_id, "name": category_name},
        "kind": kind,
        "filename": filename,
        "size_bytes": size_bytes,
        "sha256": sha256,
        "content_type": content_type,
        "external_url": external_url,
        "created_at": created_at,
        "updated_at": updated_at,
        "is_new": bool(is_new),
        "document_date": document_date,
        "version": version,
        "download_name": custom_name or download_name_for(title),
        "snippet": snippet,
    }
