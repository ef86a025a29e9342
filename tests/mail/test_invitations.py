"""Invitations, admin-chosen passwords that must be changed, and the account actions (unlock,
sign out everywhere, PATCH /api/me), with the mail they send going to a real SMTP server."""

from datetime import timedelta

from sqlalchemy import select, update

from sequoalpha.accounts.link_tokens import digest
from sequoalpha.extensions import db
from sequoalpha.models import AccountToken, AuditEvent, User, utcnow
from support.api import PASSWORD, login
from support.mail import deliver, links, outbox_rows, received, text_of

NEW_PASSWORD = "my own choice of password"


def invite(client, admin_headers, **extra):
    r = client.post(
        "/api/admin/users",
        headers=admin_headers,
        json={"username": "ann", "email": "Ann@Example.com", "full_name": "Ann Lee", **extra},
    )
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def invitation_token(smtp, to="ann@example.com") -> str:
    message = received(smtp, to)[-1]
    [(path, token)] = links(message)
    assert path == "/frontend/set-password.html" and token
    return token


def actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_an_invited_user_chooses_a_password_with_the_link_and_signs_in(app, client, admin_headers, smtp):
    user = invite(client, admin_headers)
    assert user["status"] == "invited" and not user["must_change_password"] and user["notify_new_documents"]
    # Before choosing a password, no password works, with the answer of a wrong one.
    wrong = client.post("/api/login", json={"username": "ann", "password": ""})
    assert wrong.status_code == 422
    for password in ("anything at all", PASSWORD):
        r = client.post("/api/login", json={"username": "ann", "password": password})
        assert r.status_code == 401 and r.get_json()["message"] == "Wrong username or password."

    deliver(app)
    [message] = received(smtp)
    assert smtp.handler.envelopes == [("portal@firm.example", ["ann@example.com"])]
    assert message["Subject"] == "Your invitation to the Acme Capital client portal"
    assert "Dear Ann Lee," in text_of(message) and "72 hours" in text_of(message)
    token = invitation_token(smtp)
    with app.app_context():  # only the hash is kept, and the sent message no longer holds the token
        row = db.session.scalar(select(AccountToken))
        assert row.token_hash == digest(token) and row.purpose == "invitation"
        assert timedelta(hours=71) < row.expires_at - row.created_at <= timedelta(hours=72)
    [sent] = outbox_rows(app)
    assert sent.status == "sent" and token not in sent.text_body and token not in sent.html_body

    assert client.post("/api/password/reset", json={"token": token, "new_password": NEW_PASSWORD}).status_code == 204
    headers = login(client, "ann", NEW_PASSWORD)
    me = client.get("/api/me", headers=headers).get_json()
    assert me["status"] == "active" and not me["must_change_password"]
    assert client.get("/api/documents", headers=headers).status_code == 200
    # Single use.
    r = client.post("/api/password/reset", json={"token": token, "new_password": "yet another password"})
    assert r.status_code == 400 and r.get_json()["code"] == 400 and "link" in r.get_json()["message"]
    assert {"user_created", "invitation_sent", "invitation_accepted"} <= set(actions(app))


def test_a_new_invitation_replaces_the_previous_link(app, client, admin_headers, smtp):
    user = invite(client, admin_headers)
    deliver(app)
    first = invitation_token(smtp)
    r = client.post(f"/api/admin/users/{user['id']}/invite", headers=admin_headers)
    assert r.status_code == 202 and r.get_json()["status"] == "invited"
    deliver(app)
    second = invitation_token(smtp)
    assert len(received(smtp)) == 2 and first != second
    assert client.post("/api/password/reset", json={"token": first, "new_password": NEW_PASSWORD}).status_code == 400
    assert client.post("/api/password/reset", json={"token": second, "new_password": NEW_PASSWORD}).status_code == 204
    # An active account is not invited again (it has "Forgot your password?"), nor a missing one.
    r = client.post(f"/api/admin/users/{user['id']}/invite", headers=admin_headers)
    assert r.status_code == 409 and "active" in r.get_json()["message"]
    assert client.post("/api/admin/users/999/invite", headers=admin_headers).status_code == 404


def test_an_expired_invitation_is_refused(app, client, admin_headers, smtp):
    invite(client, admin_headers)
    deliver(app)
    token = invitation_token(smtp)
    with app.app_context():
        db.session.execute(update(AccountToken).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert client.post("/api/password/reset", json={"token": token, "new_password": NEW_PASSWORD}).status_code == 400
    for bad in ("", "x" * 101, "not-a-token-at-all-but-long-enough"):
        r = client.post("/api/password/reset", json={"token": bad, "new_password": NEW_PASSWORD})
        assert r.status_code in {400, 422}


def test_a_rolled_back_creation_queues_no_mail(app, client, admin_headers, smtp):
    r = client.post(
        "/api/admin/users",
        headers=admin_headers,
        json={"username": "ann", "email": "ann@example.com", "group_ids": [999]},
    )
    assert r.status_code == 422
    invite(client, admin_headers)
    r = client.post("/api/admin/users", headers=admin_headers, json={"username": "ann2", "email": "ann@example.com"})
    assert r.status_code == 409
    assert len(outbox_rows(app)) == 1
    deliver(app)
    assert [m["To"] for m in received(smtp)] == ["ann@example.com"]


def test_a_password_set_by_an_admin_must_be_changed_before_anything_else(app, client, admin_headers, smtp):
    user = invite(client, admin_headers, password="chosen by the admin")
    assert user["status"] == "active" and user["must_change_password"]
    assert outbox_rows(app) == []  # no invitation: the admin hands the password over
    headers = login(client, "ann", "chosen by the admin")
    for method, path in (
        ("GET", "/api/documents"),
        ("GET", "/api/categories"),
        ("PATCH", "/api/me"),
        ("GET", "/api/documents/1"),
    ):
        r = client.open(path, method=method, headers=headers, json={})
        assert r.status_code == 403, (path, r.get_json())
        body = r.get_json()
        assert body["reason"] == "password_change_required" and body["code"] == 403 and body["status"] == "Forbidden"
    assert client.get("/api/me", headers=headers).get_json()["must_change_password"] is True
    r = client.post(
        "/api/me/password",
        headers=headers,
        json={"current_password": "chosen by the admin", "new_password": "chosen by the admin"},
    )
    assert r.status_code == 422 and "new_password" in r.get_json()["errors"]["json"]
    r = client.post(
        "/api/me/password",
        headers=headers,
        json={"current_password": "chosen by the admin", "new_password": NEW_PASSWORD},
    )
    assert r.status_code == 204
    headers = login(client, "ann", NEW_PASSWORD)
    assert client.get("/api/documents", headers=headers).status_code == 200
    assert client.get("/api/me", headers=headers).get_json()["must_change_password"] is False

    deliver(app)
    [message] = received(smtp)
    assert message["To"] == "ann@example.com" and message["Subject"] == "Your Acme Capital portal password was changed"
    assert "If this was not you" in text_of(message)
    assert links(message) == [("/frontend/forgot.html", None)]

    # PATCH by an admin makes it temporary again (not for the admin's own password).
    client.patch(f"/api/admin/users/{user['id']}", headers=admin_headers, json={"password": "another temp one"})
    headers = login(client, "ann", "another temp one")
    assert client.get("/api/documents", headers=headers).get_json()["reason"] == "password_change_required"
    me = client.get("/api/me", headers=admin_headers).get_json()
    client.patch(f"/api/admin/users/{me['id']}", headers=admin_headers, json={"password": "admin's new password"})
    admin = login(client, "admin", "admin's new password")
    assert client.get("/api/admin/users", headers=admin).status_code == 200


def test_an_admin_must_change_a_temporary_password_before_admin_routes(app, client, admin_headers):
    r = client.post(
        "/api/admin/users",
        headers=admin_headers,
        json={"username": "root2", "email": "root2@example.com", "password": "temporary pass", "is_admin": True},
    )
    assert r.status_code == 201
    headers = login(client, "root2", "temporary pass")
    r = client.get("/api/admin/users", headers=headers)
    assert r.status_code == 403 and r.get_json()["reason"] == "password_change_required"
    assert client.post("/api/token/refresh", headers=headers).status_code == 401  # an access token cannot refresh
    assert client.post("/api/logout", headers=headers).status_code == 204


def test_patch_me_and_sign_out_everywhere(app, client, make_user):
    make_user("bob")
    first, second = login(client, "bob"), login(client, "bob")
    r = client.patch("/api/me", headers=first, json={"full_name": "  Bob Stone ", "notify_new_documents": False})
    assert r.status_code == 200
    assert r.get_json()["full_name"] == "Bob Stone" and r.get_json()["notify_new_documents"] is False
    for bad in ({"notify_new_documents": "maybe"}, {"is_admin": True}, {"full_name": "x" * 201}):
        assert client.patch("/api/me", headers=first, json=bad).status_code == 422
    assert client.get("/api/me", headers=first).get_json()["is_admin"] is False
    assert client.post("/api/logout?everywhere=true", headers=first).status_code == 204
    assert client.get("/api/me", headers=first).status_code == 401
    assert client.get("/api/me", headers=second).status_code == 401
    assert client.get("/api/me", headers=login(client, "bob")).status_code == 200
    assert "signed_out_everywhere" in actions(app)


def test_admin_unlocks_and_signs_out_a_user(app, client, admin_headers, make_user):
    uid = make_user("bob")
    bob = login(client, "bob")
    for _ in range(5):
        client.post("/api/login", json={"username": "bob", "password": "wrong password!"})
    r = client.post("/api/login", json={"username": "bob", "password": PASSWORD})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    listed = client.get(f"/api/admin/users/{uid}", headers=admin_headers).get_json()
    assert listed["locked_until"] is not None
    assert client.post(f"/api/admin/users/{uid}/unlock", headers=admin_headers).status_code == 204
    assert client.get(f"/api/admin/users/{uid}", headers=admin_headers).get_json()["locked_until"] is None
    login(client, "bob")
    assert client.get("/api/me", headers=bob).status_code == 200
    assert client.post(f"/api/admin/users/{uid}/sign-out", headers=admin_headers).status_code == 204
    assert client.get("/api/me", headers=bob).status_code == 401
    me = client.get("/api/me", headers=admin_headers).get_json()["id"]
    assert client.post(f"/api/admin/users/{me}/sign-out", headers=admin_headers).status_code == 409
    assert client.post("/api/admin/users/999/unlock", headers=admin_headers).status_code == 404
    assert {"account_unlocked", "signed_out_everywhere"} <= set(actions(app))
    with app.app_context():
        assert db.session.get(User, uid).failed_logins == 0
