"""New-document notices: who is told (the visibility rule, asked the other way round), the
gathering into one digest per user per NOTIFY_DIGEST_MINUTES, and the rule checked again when
the digest is built. Mail goes to a real SMTP server."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from sequoalpha.documents.notices import audience_ids, notify_audience
from sequoalpha.documents.visibility import visible_to
from sequoalpha.extensions import db
from sequoalpha.models import Document, Group, PendingNotice, User, utcnow
from support.api import login
from support.documents import make_pdf, upload
from support.mail import deliver, links, outbox_rows, received, text_of


@pytest.fixture
def app_config(app_config, smtp, tmp_path):
    return {**app_config, **smtp.settings(), "MAIL_DIR": str(tmp_path / "mail"), "NOTIFY_DIGEST_MINUTES": 10}


@pytest.fixture
def people(app, make_user):
    """A group of two clients, one outsider, one who turned notices off, an invited client, an
    admin, and a disabled client in the group."""
    ids = {
        "ann": make_user("ann", groups=["Fund A"]),
        "bob": make_user("bob", groups=["Fund A"]),
        "out": make_user("out"),
        "quiet": make_user("quiet", groups=["Fund A"]),
        "gone": make_user("gone", groups=["Fund A"], is_active=False),
        "admin": make_user("admin", is_admin=True),
    }
    with app.app_context():
        db.session.get(User, ids["quiet"]).notify_new_documents = False
        invited = User(
            username="newbie", email="newbie@example.com", password_hash=None, groups=[db.session.scalar(select(Group))]
        )
        db.session.add(invited)
        db.session.commit()
        ids["newbie"] = invited.id
        ids["group"] = db.session.scalar(select(Group.id))
    return ids


def add_link(client, headers, title, visibility):
    r = client.post(
        "/api/admin/documents/link",
        headers=headers,
        json={"title": title, "external_url": "https://example.com/secret-report", "visibility": visibility},
    )
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def pending(app) -> set[tuple[int, int]]:
    with app.app_context():
        return {tuple(row) for row in db.session.execute(select(PendingNotice.user_id, PendingNotice.document_id))}


def later(minutes):
    return lambda: utcnow() + timedelta(minutes=minutes)


def test_one_digest_per_user_lists_the_new_documents_after_the_wait(app, client, people, smtp):
    admin = login(client, "admin")
    first = add_link(
        client, admin, "Q3 letter <draft>", {"everyone": False, "group_ids": [people["group"]], "user_ids": []}
    )
    second = add_link(
        client, admin, "Statement for Ann", {"everyone": False, "group_ids": [], "user_ids": [people["ann"]]}
    )
    add_link(client, admin, "Admins only", {"everyone": False, "group_ids": [], "user_ids": []})
    assert pending(app) == {(people["ann"], first), (people["bob"], first), (people["ann"], second)}

    deliver(app)  # gathered, not sent yet
    deliver(app, later(9))
    assert received(smtp) == [] and outbox_rows(app) == []
    deliver(app, later(11))
    assert sorted(m["To"] for m in received(smtp)) == ["ann@example.com", "bob@example.com"]
    [to_ann] = received(smtp, "ann@example.com")
    assert to_ann["Subject"] == "2 new documents on the Acme Capital portal"
    text = text_of(to_ann)
    assert "- Q3 letter <draft>\r\n- Statement for Ann" in text
    assert links(to_ann) == [("/frontend/documents.html", None)]
    assert "example.com/secret-report" not in text and "download" not in text
    [to_bob] = received(smtp, "bob@example.com")
    assert to_bob["Subject"] == "A new document on the Acme Capital portal"
    assert "Statement for Ann" not in text_of(to_bob)
    assert pending(app) == set()
    deliver(app, later(30))
    assert len(received(smtp)) == 2  # never twice


def test_a_document_hidden_before_the_digest_is_left_out(app, client, people, smtp):
    admin = login(client, "admin")
    shown = add_link(
        client, admin, "Still visible", {"everyone": False, "group_ids": [people["group"]], "user_ids": []}
    )
    hidden = add_link(
        client, admin, "Hidden again", {"everyone": False, "group_ids": [people["group"]], "user_ids": []}
    )
    only_bob = add_link(
        client, admin, "For Bob, then nobody", {"everyone": False, "group_ids": [], "user_ids": [people["bob"]]}
    )
    nobody = {"everyone": False, "group_ids": [], "user_ids": []}
    for document_id in (hidden, only_bob):
        r = client.patch(f"/api/admin/documents/{document_id}", headers=admin, json={"visibility": nobody})
        assert r.status_code == 200
    assert client.delete(f"/api/admin/documents/{shown}", headers=admin).status_code == 204
    add_link(client, admin, "For Ann", {"everyone": False, "group_ids": [], "user_ids": [people["ann"]]})
    deliver(app, later(11))
    [message] = received(smtp)  # Bob's notices all went: no e-mail at all
    assert message["To"] == "ann@example.com" and "- For Ann" in text_of(message)
    assert "Hidden again" not in text_of(message) and "Still visible" not in text_of(message)
    assert pending(app) == set()


def test_widening_visibility_tells_only_the_newly_able(app, client, people, smtp):
    admin = login(client, "admin")
    document = add_link(
        client, admin, "Fund A letter", {"everyone": False, "group_ids": [people["group"]], "user_ids": []}
    )
    deliver(app, later(11))
    assert sorted(m["To"] for m in received(smtp)) == ["ann@example.com", "bob@example.com"]
    r = client.patch(
        f"/api/admin/documents/{document}",
        headers=admin,
        json={"visibility": {"everyone": True, "group_ids": [], "user_ids": []}},
    )
    assert r.status_code == 200
    assert pending(app) == {(people["out"], document)}
    # A title change or the same visibility again tells nobody.
    client.patch(f"/api/admin/documents/{document}", headers=admin, json={"title": "Fund A letter (final)"})
    client.patch(
        f"/api/admin/documents/{document}",
        headers=admin,
        json={"visibility": {"everyone": True, "group_ids": [], "user_ids": []}},
    )
    assert pending(app) == {(people["out"], document)}
    deliver(app, later(22))
    assert [m["To"] for m in received(smtp)][2:] == ["out@example.com"]
    assert "Fund A letter (final)" in text_of(received(smtp)[-1])


def test_an_upload_queues_notices_and_zero_minutes_sends_at_the_next_pass(app, client, people, smtp):
    app.config["NOTIFY_DIGEST_MINUTES"] = 0
    admin = login(client, "admin")
    r = upload(
        client, admin, make_pdf(), title="Annual report", visibility={"everyone": True, "group_ids": [], "user_ids": []}
    )
    assert r.status_code == 201
    expected = {people["ann"], people["bob"], people["out"]}  # not quiet, gone, newbie or the admin
    assert {user for user, _ in pending(app)} == expected
    deliver(app)
    assert sorted(m["To"] for m in received(smtp)) == sorted(f"{n}@example.com" for n in ("ann", "bob", "out"))


def test_a_rolled_back_visibility_change_queues_nothing(app, client, people, smtp):
    admin = login(client, "admin")
    document = add_link(client, admin, "Private", {"everyone": False, "group_ids": [], "user_ids": []})
    r = client.patch(
        f"/api/admin/documents/{document}",
        headers=admin,
        json={"visibility": {"everyone": True, "group_ids": [], "user_ids": [99999]}},
    )
    assert r.status_code == 422
    assert pending(app) == set()
    deliver(app, later(60))
    assert received(smtp) == []


def test_the_audience_is_who_the_visibility_rule_lets_see_the_document(app, client, people):
    """notify_audience for another flow (a new version): everyone who sees it, minus those given."""
    admin = login(client, "admin")
    document = add_link(
        client, admin, "Version 2", {"everyone": False, "group_ids": [people["group"]], "user_ids": [people["out"]]}
    )
    with app.app_context():
        doc = db.session.get(Document, document)
        users = db.session.scalars(select(User)).all()
        by_rule = {
            u.id
            for u in users
            if u.is_active
            and not u.is_admin
            and db.session.scalar(select(Document.id).where(Document.id == document, visible_to(u)))
        }
        assert audience_ids(doc) == by_rule == {people[n] for n in ("ann", "bob", "out", "quiet", "newbie")}
        db.session.execute(PendingNotice.__table__.delete())
        assert notify_audience(doc, previously_visible_user_ids={people["ann"]}) == 2  # bob, out
        db.session.commit()
    assert pending(app) == {(people["bob"], document), (people["out"], document)}
