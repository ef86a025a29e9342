"""Listing: search, filters, pagination, order, is_new, and a constant number of SQL queries."""

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select

from sequoalpha.documents.visibility import documents_for
from sequoalpha.extensions import db
from sequoalpha.models import (
    Category,
    Document,
    DocumentGroupGrant,
    DocumentRead,
    DocumentUserGrant,
    Group,
    User,
)
from sequoalpha.schemas.documents import DocumentSchema
from support.api import login
from support.app import statements
from support.documents import upload

START = datetime(2026, 1, 1, tzinfo=UTC)
CLIENT_FIELDS = {
    "id",
    "title",
    "description",
    "category",
    "kind",
    "filename",
    "size_bytes",
    "sha256",
    "content_type",
    "external_url",
    "created_at",
    "updated_at",
    "is_new",
    "document_date",
    "version",
    "download_name",
    "snippet",
}


def add_documents(app, count: int, first: int = 0, **values) -> list[int]:
    """Insert `count` link documents in one statement, one second apart (newest = highest i)."""
    rows = [
        {
            "title": f"Document {i:04d}",
            "description": "",
            "kind": "link",
            "external_url": f"https://example.com/{i}",
            "everyone": True,
            "created_at": START + timedelta(seconds=i),
            "updated_at": START,
            **values,
        }
        for i in range(first, first + count)
    ]
    with app.app_context():
        ids = db.session.scalars(insert(Document).returning(Document.id), rows).all()
        db.session.commit()
        return list(ids)


def _titles(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [item["title"] for item in response.get_json()["items"]]


def test_newest_first_and_pages(client, user_headers, app):
    add_documents(app, 30)
    first = client.get("/api/documents?per_page=10", headers=user_headers).get_json()
    assert (first["total"], first["page"], first["per_page"]) == (30, 1, 10)
    assert [i["title"] for i in first["items"]] == [f"Document {i:04d}" for i in range(29, 19, -1)]
    third = _titles(client.get("/api/documents?per_page=10&page=3", headers=user_headers))
    assert third == [f"Document {i:04d}" for i in range(9, -1, -1)]
    assert _titles(client.get("/api/documents?per_page=10&page=4", headers=user_headers)) == []
    for bad in ("per_page=101", "per_page=0", "page=0", "page=x", "category_id=0", "q=" + "x" * 201):
        assert client.get(f"/api/documents?{bad}", headers=user_headers).status_code == 422, bad


def test_search_is_case_insensitive_and_wildcards_are_literal(client, admin_headers, user_headers, app):
    for title, description in [
        ("100% sure", ""),
        ("1000 sure", ""),
        ("a_b", ""),
        ("axb", ""),
        ("back\\slash", ""),
        ("Plain", "Mentions the FUND letter"),
    ]:
        client.post(
            "/api/admin/documents/link",
            headers=admin_headers,
            json={
                "title": title,
                "description": description,
                "external_url": "https://example.com/",
                "visibility": {"everyone": True},
            },
        )

    def search(q):
        return sorted(_titles(client.get("/api/documents", headers=user_headers, query_string={"q": q})))

    # Full-text: whole words, punctuation separates them and is never a wildcard.
    assert search("SURE") == ["100% sure", "1000 sure"]
    assert search("%") == search("0%") == search("_") == search("\\") == []
    assert search("a-b") == ["a_b"]
    assert search("slash BACK") == ["back\\slash"]
    assert search("fund letter") == ["Plain"]
    assert search("nothing like it") == []


def test_category_filter_and_client_view(client, admin_headers, user_headers, app):
    category = client.post("/api/admin/categories", headers=admin_headers, json={"name": "Tax"}).get_json()
    upload(client, admin_headers, title="Tax form", category_id=str(category["id"]), visibility={"everyone": True})
    upload(client, admin_headers, title="Other", visibility={"everyone": True})
    response = client.get(f"/api/documents?category_id={category['id']}", headers=user_headers)
    items = response.get_json()["items"]
    assert [i["title"] for i in items] == ["Tax form"]
    assert set(items[0]) == CLIENT_FIELDS  # no visibility, storage or uploader for clients
    assert items[0]["category"] == {"id": category["id"], "name": "Tax"}
    assert _titles(client.get("/api/documents?category_id=9999", headers=user_headers)) == []
    # Deleting the category leaves its documents uncategorised.
    client.delete(f"/api/admin/categories/{category['id']}", headers=admin_headers)
    assert client.get(f"/api/documents/{items[0]['id']}", headers=user_headers).get_json()["category"] is None


def test_is_new_until_this_user_downloads(client, admin_headers, make_user, app):
    doc = upload(client, admin_headers, visibility={"everyone": True}).get_json()
    make_user("ann")
    make_user("bob")
    ann, bob = login(client, "ann"), login(client, "bob")
    assert client.get(f"/api/documents/{doc['id']}", headers=ann).get_json()["is_new"] is True
    client.get(f"/api/documents/{doc['id']}/download", headers=ann).close()
    client.get(f"/api/documents/{doc['id']}/download", headers=ann).close()  # again: an upsert
    assert client.get("/api/documents", headers=ann).get_json()["items"][0]["is_new"] is False
    assert client.get("/api/documents", headers=bob).get_json()["items"][0]["is_new"] is True
    with app.app_context():
        assert len(db.session.scalars(select(DocumentRead)).all()) == 1


def _populate(app, first: int, count: int) -> set[int]:
    """`count` documents reaching client1 every way (everyone, one of their groups, directly) or
    not at all, each with grants to others too, a category, an uploader, some reads: all that a
    dump touches. Returns the ids client1 may see."""
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.username == "client1"))
        admin_id = db.session.scalar(select(User.id).where(User.username == "admin"))
        outsider_id = db.session.scalar(select(User.id).where(User.username == "outsider"))
        groups = dict(db.session.execute(select(Group.name, Group.id)).all())
        category_id = db.session.scalar(select(Category.id))
    ids = add_documents(app, count, first, everyone=False, uploaded_by_id=admin_id, category_id=category_id)
    kinds = {doc_id: doc_id % 4 for doc_id in ids}  # 0 everyone, 1 group, 2 user, 3 hidden
    with app.app_context():
        everyone = [doc_id for doc_id, kind in kinds.items() if kind == 0]
        db.session.execute(Document.__table__.update().where(Document.id.in_(everyone)).values(everyone=True))
        db.session.execute(
            insert(DocumentGroupGrant),
            [
                {"document_id": doc_id, "group_id": groups["Fund A" if kind == 1 else "Outsiders"]}
                for doc_id, kind in kinds.items()
            ],
        )
        db.session.execute(
            insert(DocumentUserGrant),
            [
                {"document_id": doc_id, "user_id": user_id if kind == 2 else outsider_id}
                for doc_id, kind in kinds.items()
            ],
        )
        db.session.execute(
            insert(DocumentRead), [{"document_id": doc_id, "user_id": user_id, "read_at": START} for doc_id in ids[::5]]
        )
        db.session.commit()
    return {doc_id for doc_id, kind in kinds.items() if kind != 3}


def test_is_new_survives_a_refresh_after_commit(app, make_user):
    """A document loaded through documents_for() and expired by a commit reloads with the same
    `is_new` (it once reloaded with a cross join against every user's reads)."""
    [doc_id] = add_documents(app, 1)
    ann, bob = make_user("ann"), make_user("bob")
    with app.app_context():
        db.session.add(DocumentRead(user_id=bob, document_id=doc_id))
        db.session.commit()
        for user_id, expected in ((ann, True), (bob, False)):
            stmt = documents_for(db.session.get(User, user_id)).where(Document.id == doc_id)
            document = db.session.scalar(stmt.execution_options(populate_existing=True))
            assert document.is_new is expected
            db.session.commit()
            assert (document.title, document.is_new) == ("Document 0000", expected)


def test_listing_query_count_does_not_grow_with_documents(client, admin_headers, make_user, app):
    make_user("client1", groups=["Fund A", "Fund B", "Fund C", "Fund D"])
    make_user("outsider", groups=["Outsiders"])
    user_headers = login(client, "client1")
    client.post("/api/admin/categories", headers=admin_headers, json={"name": "Reports"})
    urls = {
        "client list": ("/api/documents?per_page=100", user_headers),
        "client search": ("/api/documents?per_page=100&q=document&category_id=1", user_headers),
        "client download": ("/api/documents/4/download", user_headers),
        "client get": ("/api/documents/5", user_headers),
        "admin list": ("/api/admin/documents?per_page=100", admin_headers),
        "admin search": ("/api/admin/documents?per_page=100&q=Document", admin_headers),
    }

    def measure() -> dict:
        counts = {}
        for label, (url, headers) in urls.items():
            with statements(app) as seen:
                response = client.get(url, headers=headers)
            assert response.status_code in (200, 302), (label, response.get_json())
            counts[label] = len(seen)
        return counts

    visible = _populate(app, 0, 10)
    small = measure()
    visible |= _populate(app, 10, 990)
    large = measure()
    assert large == small, (small, large)
    page = client.get("/api/documents?per_page=100", headers=user_headers).get_json()
    assert page["total"] == len(visible) == 750 and len(page["items"]) == 100
    assert {item["id"] for item in page["items"]} <= visible
    assert {item["is_new"] for item in page["items"]} == {True, False}
    admin_page = client.get("/api/admin/documents?per_page=100", headers=admin_headers).get_json()
    assert admin_page["total"] == 1000
    assert all(item["visibility"]["group_ids"] and item["visibility"]["user_ids"] for item in admin_page["items"])
    # Sign-in checks (user, revoked token) + count + page; the admin view adds two grant loads
    # and one grouped count of each document's readers.
    assert small["client list"] <= 4 and small["admin list"] <= 7, small


def test_the_json_of_rows_is_what_document_schema_dumps(client, admin_headers, make_user, app):
    """The client list and one document are encoded from rows (documents/listing.py): each item,
    with or without a search or filter, is what DocumentSchema dumps of the ORM document (the
    search adds its snippet), and so is the single document."""
    user_id = make_user("ann", groups=["Fund A"])
    headers = login(client, "ann")
    category = client.post("/api/admin/categories", headers=admin_headers, json={"name": "Reports"}).get_json()
    visible = {"everyone": False, "group_ids": [1], "user_ids": []}
    for title, extra in [
        ("Käpital call — Q3", {"category_id": category["id"], "download_name": "Call Q3"}),
        ("Letter", {"document_date": "2025-12-31", "description": "A letter about the call."}),
    ]:
        assert upload(client, admin_headers, title=title, visibility=visible, **extra).status_code == 201
    link = {"title": "Call portal", "external_url": "https://example.com/call", "visibility": visible}
    assert client.post("/api/admin/documents/link", headers=admin_headers, json=link).status_code == 201
    first = client.get("/api/documents", headers=headers).get_json()["items"][0]["id"]
    assert client.get(f"/api/documents/{first}/download", headers=headers).status_code in (200, 302)  # read

    def dumped(document_id: int) -> dict:
        with app.app_context():
            user = db.session.get(User, user_id)
            stmt = documents_for(user).where(Document.id == document_id)
            return json.loads(json.dumps(DocumentSchema().dump(db.session.scalar(stmt)), default=str))

    for query in ("", "?q=call", "?category_id=1", "?unread=true", "?sort=title"):
        page = client.get(f"/api/documents{query}", headers=headers)
        assert page.status_code == 200 and page.mimetype == "application/json"
        items = page.get_json()["items"]
        assert items, query
        for item in items:
            assert {**item, "snippet": None} == dumped(item["id"]), query
            assert (item["snippet"] is not None) == ("q=" in query), query
            assert client.get(f"/api/documents/{item['id']}", headers=headers).get_json() == dumped(item["id"])
    listed = {item["id"]: item["is_new"] for item in client.get("/api/documents", headers=headers).get_json()["items"]}
    assert listed[first] is False and list(listed.values()).count(True) == 2
