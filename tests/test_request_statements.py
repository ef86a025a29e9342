"""SQL statements per request on the hot paths, counted at the cursor: the token checks (the user,
the token's revocation and the account state) are one statement, whatever else a route does."""

import pytest
from sqlalchemy import text

from sequoalpha.extensions import db
from sequoalpha.models import User
from support.api import login
from support.app import statements


def test_me_costs_the_token_check_its_groups_and_factors(app, client, make_user):
    make_user("ann", groups=["Fund A"])
    headers = login(client, "ann")
    with statements(app) as seen:
        r = client.get("/api/me", headers=headers)
    assert r.status_code == 200 and [g["name"] for g in r.get_json()["groups"]] == ["Fund A"]
    assert len(seen) == 4, seen
    check, groups, totp, passkeys = seen
    assert "FROM users" in check and "revoked_tokens" in check, check  # one statement for both
    # /api/me shows the groups and the second-factor state; other client routes load neither.
    assert "user_groups" in groups, groups
    assert "FROM totp_factors" in totp and "FROM passkeys" in passkeys, (totp, passkeys)


def test_a_revoked_token_is_refused_after_one_statement(app, client, make_user):
    make_user("ann")
    headers = login(client, "ann")
    assert client.post("/api/logout", headers=headers).status_code == 204
    with statements(app) as seen:
        r = client.get("/api/me", headers=headers)
    assert r.status_code == 401 and r.get_json()["message"] == "Your session has ended; sign in again."
    assert len(seen) == 1, seen


def test_a_disabled_account_is_refused_after_one_statement(app, client, make_user):
    user_id = make_user("ann")
    headers = login(client, "ann")
    with app.app_context():
        db.session.get(User, user_id).is_active = False
        db.session.commit()
    with statements(app) as seen:
        r = client.get("/api/me", headers=headers)
    assert r.status_code == 401 and r.get_json()["message"] == "Your session has ended; sign in again."
    assert len(seen) == 1, seen


def test_a_page_of_the_list_or_one_document_is_one_statement_after_the_check(app, client, make_user, admin_headers):
    make_user("ann")
    headers = login(client, "ann")
    for n in range(3):
        link = {"title": f"Link {n}", "external_url": "https://example.com/", "visibility": {"everyone": True}}
        assert client.post("/api/admin/documents/link", headers=admin_headers, json=link).status_code == 201
    for query in ("", "&unread=true&sort=title", "&q=link"):
        with statements(app) as seen:
            r = client.get(f"/api/documents?per_page=2{query}", headers=headers)
        assert r.status_code == 200 and r.get_json()["total"] == 3 and len(r.get_json()["items"]) == 2, query
        assert len(seen) == 2, (query, seen)  # the check, then the page carrying its total
    document_id = r.get_json()["items"][0]["id"]
    with statements(app) as seen:
        r = client.get(f"/api/documents/{document_id}", headers=headers)
    assert r.status_code == 200 and r.get_json()["id"] == document_id
    assert len(seen) == 2, seen  # the check, then the document


def test_a_download_is_the_check_the_document_the_event_and_the_read_mark(app, client, make_user, admin_headers):
    make_user("ann")
    headers = login(client, "ann")
    link = {"title": "Portal", "external_url": "https://example.com/", "visibility": {"everyone": True}}
    document_id = client.post("/api/admin/documents/link", headers=admin_headers, json=link).get_json()["id"]
    with statements(app) as seen:
        r = client.get(f"/api/documents/{document_id}/download", headers=headers)
    assert r.status_code == 302
    writes = [s for s in seen if s.startswith("INSERT")]
    assert len(seen) == 4 and len(writes) == 2, seen
    assert "audit_events" in writes[0] and "document_reads" in writes[1] and "ON CONFLICT" in writes[1], writes


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_the_list_stays_prepared_on_its_connection(app, client, make_user):
    """psycopg prepares a statement a connection has run five times, and forgets them all at a
    ROLLBACK: the list ends its read with a COMMIT (connections.read_only) so that the database
    stops planning it anew."""
    make_user("ann")
    headers = login(client, "ann")
    for _ in range(8):
        assert client.get("/api/documents", headers=headers).status_code == 200
    with app.app_context():
        prepared = db.session.scalars(text("SELECT statement FROM pg_prepared_statements")).all()
    assert any("FROM documents" in statement for statement in prepared), prepared
