"""Readers of a document: its audience (active non-admin users who can see it), who opened it,
the counts in the admin list, a user's documents, and reminders at most once per 24 hours."""

import random
from datetime import timedelta

import pytest
from sqlalchemy import select

from sequoalpha.documents import readers
from sequoalpha.documents.visibility import audience, visible_to
from sequoalpha.extensions import db
from sequoalpha.models import Document, OutboxMessage, User, utcnow
from support.api import login
from support.documents import upload


def _doc(client, headers, **visibility):
    response = upload(client, headers, visibility={"everyone": False, "group_ids": [], "user_ids": [], **visibility})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _readers(client, headers, doc_id, status=None):
    query = f"?per_page=100&status={status}" if status else "?per_page=100"
    response = client.get(f"/api/admin/documents/{doc_id}/readers{query}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return {r["user"]["username"]: r for r in response.get_json()["items"]}


def _counts(client, headers, doc_id):
    items = client.get("/api/admin/documents?per_page=100", headers=headers).get_json()["items"]
    return next(d["readers"] for d in items if d["id"] == doc_id)


def _download(client, username, doc_id):
    response = client.get(f"/api/documents/{doc_id}/download", headers=login(client, username))
    assert response.status_code == 200
    response.close()


def test_readers_follow_group_and_visibility_changes(client, admin_headers, make_user):
    ann, bob = make_user("ann", groups=["Fund A"]), make_user("bob", groups=["Fund A"])
    make_user("cyd")
    make_user("dan", is_active=False, groups=["Fund A"])
    make_user("eve", is_admin=True, groups=["Fund A"])
    group_id = client.get("/api/admin/groups", headers=admin_headers).get_json()["items"][0]["id"]
    doc = _doc(client, admin_headers, group_ids=[group_id])

    assert set(_readers(client, admin_headers, doc)) == {"ann", "bob"}  # not disabled, not admins
    assert _counts(client, admin_headers, doc) == {"opened": 0, "audience": 2}
    _download(client, "ann", doc)
    _download(client, "ann", doc)
    found = _readers(client, admin_headers, doc)
    assert found["ann"]["downloads"] == 2 and found["ann"]["opened_at"] is not None
    assert found["bob"] == {
        "user": {"id": bob, "username": "bob", "full_name": "", "email": "bob@example.com"},
        "opened_at": None,
        "downloads": 0,
    }
    assert set(_readers(client, admin_headers, doc, "unopened")) == {"bob"}
    assert set(_readers(client, admin_headers, doc, "opened")) == {"ann"}
    assert _counts(client, admin_headers, doc) == {"opened": 1, "audience": 2}

    # Ann leaves the group: she is no longer in the audience, opened or not.
    client.patch(f"/api/admin/users/{ann}", headers=admin_headers, json={"group_ids": []})
    assert set(_readers(client, admin_headers, doc)) == {"bob"}
    assert _counts(client, admin_headers, doc) == {"opened": 0, "audience": 1}
    # For everyone: every active non-admin; granted to Ann directly as well: still counted once.
    client.patch(
        f"/api/admin/documents/{doc}",
        headers=admin_headers,
        json={"visibility": {"everyone": True, "group_ids": [group_id], "user_ids": [ann]}},
    )
    assert set(_readers(client, admin_headers, doc)) == {"ann", "bob", "cyd"}
    assert _counts(client, admin_headers, doc) == {"opened": 1, "audience": 3}
    assert client.get(f"/api/admin/documents/{doc}", headers=admin_headers).get_json()["readers"] == {
        "opened": 1,
        "audience": 3,
    }
    # Admins only again: nobody.
    client.patch(
        f"/api/admin/documents/{doc}",
        headers=admin_headers,
        json={"visibility": {"everyone": False, "group_ids": [], "user_ids": []}},
    )
    assert _readers(client, admin_headers, doc) == {}
    assert _counts(client, admin_headers, doc) == {"opened": 0, "audience": 0}


def test_the_audience_is_the_visibility_rule_seen_from_the_document(app, client, admin_headers, make_user):
    rng = random.Random(7)
    users = [
        make_user(f"user{i}", groups=rng.sample(["A", "B", "C"], rng.randint(0, 2)), is_active=rng.random() > 0.2)
        for i in range(12)
    ]
    groups = {g["name"]: g["id"] for g in client.get("/api/admin/groups", headers=admin_headers).get_json()["items"]}
    docs = [
        _doc(
            client,
            admin_headers,
            everyone=rng.random() < 0.2,
            group_ids=[groups[g] for g in rng.sample(sorted(groups), rng.randint(0, 2))],
            user_ids=rng.sample(users, rng.randint(0, 3)),
        )
        for _ in range(10)
    ]
    with app.app_context():
        pairs = {tuple(row) for row in db.session.execute(audience(docs))}
        expected = set()
        for user in db.session.scalars(select(User).where(User.is_active, ~User.is_admin)):
            seen = db.session.scalars(select(Document.id).where(visible_to(user), Document.id.in_(docs)))
            expected |= {(d, user.id) for d in seen}
        assert pairs == expected
        counted = readers.counts(docs)
    assert {d: counted[d]["audience"] for d in docs} == {d: sum(1 for p in expected if p[0] == d) for d in docs}


def test_a_users_documents_with_opened_at(client, admin_headers, make_user):
    ann = make_user("ann")
    make_user("bob")
    seen, unseen = _doc(client, admin_headers, user_ids=[ann]), _doc(client, admin_headers, everyone=True)
    _doc(client, admin_headers)  # admins only
    _download(client, "ann", seen)
    page = client.get(f"/api/admin/users/{ann}/documents", headers=admin_headers).get_json()
    assert page["total"] == 2
    opened = {d["id"]: d["opened_at"] for d in page["items"]}
    assert opened[unseen] is None and opened[seen] is not None
    assert all("visibility" in d and "readers" in d for d in page["items"])
    only = client.get(f"/api/admin/users/{ann}/documents?status=unopened", headers=admin_headers).get_json()
    assert [d["id"] for d in only["items"]] == [unseen]
    only = client.get(f"/api/admin/users/{ann}/documents?status=opened", headers=admin_headers).get_json()
    assert [d["id"] for d in only["items"]] == [seen]
    assert client.get("/api/admin/users/999/documents", headers=admin_headers).status_code == 404
    assert client.get(f"/api/admin/users/{ann}/documents?status=maybe", headers=admin_headers).status_code == 422


def test_reminders_at_most_once_a_day(client, admin_headers, make_user, monkeypatch):
    make_user("ann")
    make_user("bob")
    doc = _doc(client, admin_headers, everyone=True)
    _download(client, "ann", doc)
    clock = [utcnow()]
    monkeypatch.setattr(readers, "now", lambda: clock[0])

    def remind():
        response = client.post(f"/api/admin/documents/{doc}/remind", headers=admin_headers)
        assert response.status_code == 202, response.get_json()
        return response.get_json()["queued"]

    assert remind() == 1  # bob only: ann opened it
    assert remind() == 0
    clock[0] += timedelta(hours=23, minutes=59)
    assert remind() == 0
    clock[0] += timedelta(minutes=2)
    assert remind() == 1
    _download(client, "bob", doc)
    clock[0] += timedelta(days=2)
    assert remind() == 0
    events = client.get("/api/admin/audit?action=readers_reminded", headers=admin_headers).get_json()["items"]
    assert [e["detail"]["count"] for e in events] == [0, 1, 0, 0, 1]
    assert all(e["document_id"] == doc for e in events)
    with client.application.app_context():
        mails = db.session.execute(select(OutboxMessage.to, OutboxMessage.kind, OutboxMessage.text_body)).all()
    assert [(to, kind) for to, kind, _ in mails] == [("bob@example.com", "reminder")] * 2
    assert all("/frontend/documents.html" in text and "/download" not in text for _, _, text in mails)
    assert client.post("/api/admin/documents/999/remind", headers=admin_headers).status_code == 404


@pytest.mark.parametrize("path", ["/api/admin/documents/1/readers", "/api/admin/users/1/documents"])
def test_readers_are_for_admins_only(client, user_headers, path):
    assert client.get(path, headers=user_headers).status_code == 403
    assert client.post("/api/admin/documents/1/remind", headers=user_headers).status_code == 403
