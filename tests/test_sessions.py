"""Sign-in, tokens (cookie and Bearer), CSRF, refresh, revocation, lockout and passwords."""

import time
from datetime import timedelta

import jwt as pyjwt
import pytest

from sequoalpha.accounts.passwords import hash_password
from sequoalpha.extensions import db
from sequoalpha.models import AuditEvent, RevokedToken, UnknownLogin, User, utcnow
from support.api import PASSWORD, SECRETS, login


def cookie(client, name, path="/api/"):
    found = client.get_cookie(name, path=path)
    return found.value if found else None


def test_login_by_username_or_email_case_insensitive(client, make_user):
    make_user("ann", email="Ann@Example.com")
    for name in ("ann", "ANN", "ann@example.com", "ANN@EXAMPLE.COM"):
        r = client.post("/api/login", json={"username": name, "password": PASSWORD})
        assert r.status_code == 200, name
        body = r.get_json()
        assert body["user"]["username"] == "ann"
        assert body["access_token"] and body["refresh_token"]
        assert "password_hash" not in body["user"]


def test_login_sets_httponly_samesite_cookies(client, make_user):
    make_user("ann")
    r = client.post("/api/login", json={"username": "ann", "password": PASSWORD})
    cookies = {c.split("=")[0]: c for c in r.headers.getlist("Set-Cookie")}
    assert "HttpOnly" in cookies["access_token_cookie"]
    assert "HttpOnly" in cookies["refresh_token_cookie"]
    assert "HttpOnly" not in cookies["csrf_access_token"]  # the page must read it
    assert all("SameSite=Strict" in c for c in cookies.values())


def test_cookie_session_needs_csrf_on_writes(client, make_user):
    make_user("ann")
    client.post("/api/login", json={"username": "ann", "password": PASSWORD})
    assert client.get("/api/me").status_code == 200  # reads need no CSRF header
    body = {"current_password": PASSWORD, "new_password": "another fine password"}
    r = client.post("/api/me/password", json=body)
    assert r.status_code == 401 and r.get_json()["code"] == 401
    r = client.post("/api/me/password", json=body, headers={"X-CSRF-TOKEN": "forged"})
    assert r.status_code == 401
    csrf = client.get_cookie("csrf_access_token").value
    assert client.post("/api/me/password", json=body, headers={"X-CSRF-TOKEN": csrf}).status_code == 204


def test_bearer_needs_no_csrf(client, make_user):
    make_user("ann")
    headers = login(client, "ann")
    client.delete_cookie("access_token_cookie", path="/api/")
    r = client.post("/api/logout", headers=headers)
    assert r.status_code == 204


def test_wrong_password_and_unknown_user_answer_identically(client, make_user):
    make_user("ann")
    wrong = client.post("/api/login", json={"username": "ann", "password": "not the password"})
    unknown = client.post("/api/login", json={"username": "nobody", "password": "not the password"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json() == unknown.get_json()
    assert set(wrong.headers.keys()) == set(unknown.headers.keys())


def test_unknown_user_takes_as_long_as_wrong_password(app_config, tmp_path, make_user, client, app):
    app.config["BCRYPT_ROUNDS"] = 10  # long enough to measure, quick enough to test
    make_user("ann")  # hashed at cost 10 now

    def timed(name):
        start = time.perf_counter()
        client.post("/api/login", json={"username": name, "password": "not the password"})
        return time.perf_counter() - start

    timed("ann"), timed("nobody")  # warm up (the dummy hash is made once)
    known = min(timed("ann") for _ in range(3))
    unknown = min(timed("nobody") for _ in range(3))
    assert 0.5 < unknown / known < 2, (known, unknown)


def test_disabled_account_is_403_only_with_the_right_password(client, make_user):
    make_user("ann", is_active=False)
    assert client.post("/api/login", json={"username": "ann", "password": "wrong password!"}).status_code == 401
    r = client.post("/api/login", json={"username": "ann", "password": PASSWORD})
    assert r.status_code == 403
    assert "disabled" in r.get_json()["message"]


def test_lockout_after_five_failures_then_reset(app, client, make_user):
    make_user("ann")
    make_user("bob")
    for _ in range(5):
        assert client.post("/api/login", json={"username": "ann", "password": "wrong wrong"}).status_code == 401
    r = client.post("/api/login", json={"username": "ann", "password": PASSWORD})
    assert r.status_code == 429
    assert 0 < int(r.headers["Retry-After"]) <= 30
    assert r.get_json()["code"] == 429
    login(client, "bob")  # other accounts are unaffected
    # A sixth failure after the lock expires doubles the wait.
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.username == "ann"))
        user.locked_until = utcnow() - timedelta(seconds=1)
        db.session.commit()
    client.post("/api/login", json={"username": "ann", "password": "wrong wrong"})
    r = client.post("/api/login", json={"username": "ann", "password": PASSWORD})
    assert r.status_code == 429 and 30 < int(r.headers["Retry-After"]) <= 60
    # Once the lock expires, a successful login resets the count.
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.username == "ann"))
        user.locked_until = utcnow() - timedelta(seconds=1)
        db.session.commit()
    login(client, "ann")
    assert client.post("/api/login", json={"username": "ann", "password": "wrong wrong"}).status_code == 401
    with app.app_context():
        assert db.session.scalar(db.select(User.failed_logins).where(User.username == "ann")) == 1


def test_a_name_that_is_no_account_locks_like_an_account(app, client, make_user):
    """Five failures then a 429 with the same wait for a real and an unknown name: the lock does
    not tell which names are accounts. Unknown names are remembered for a day, then purged."""
    make_user("ann")
    answers = {}
    for name in ("ann", "Nobody@Example.com"):
        statuses = [
            client.post("/api/login", json={"username": name, "password": "wrong wrong"}).status_code for _ in range(5)
        ]
        locked = client.post("/api/login", json={"username": name, "password": PASSWORD})
        answers[name] = (statuses, locked.status_code, locked.headers.get("Retry-After"), locked.get_json()["message"])
    assert answers["ann"] == answers["Nobody@Example.com"]
    assert answers["ann"][:2] == ([401] * 5, 429) and 0 < int(answers["ann"][2]) <= 30
    assert client.post("/api/login", json={"username": "someone else", "password": "x"}).status_code == 401
    with app.app_context():
        row = db.session.get(UnknownLogin, "nobody@example.com")
        assert row.failed_logins == 5
        row.last_failed_at = utcnow() - timedelta(days=2)
        db.session.commit()
    # The next unknown-name failure purges rows untouched for a day; the stale name starts afresh.
    assert client.post("/api/login", json={"username": "someone else", "password": "x"}).status_code == 401
    with app.app_context():
        assert db.session.get(UnknownLogin, "nobody@example.com") is None
        assert db.session.get(UnknownLogin, "someone else").failed_logins == 2
    assert client.post("/api/login", json={"username": "nobody@example.com", "password": "x"}).status_code == 401


def test_refresh_with_bearer_and_with_cookie(client, make_user):
    make_user("ann")
    r = client.post("/api/login", json={"username": "ann", "password": PASSWORD})
    refresh = r.get_json()["refresh_token"]
    r = client.post("/api/token/refresh", headers={"Authorization": f"Bearer {refresh}"})
    assert r.status_code == 200
    assert client.get("/api/me", headers={"Authorization": f"Bearer {r.get_json()['access_token']}"}).status_code == 200
    # cookie refresh needs the refresh CSRF token
    assert client.post("/api/token/refresh").status_code == 401
    csrf = client.get_cookie("csrf_refresh_token").value
    assert client.post("/api/token/refresh", headers={"X-CSRF-TOKEN": csrf}).status_code == 200


def test_access_token_cannot_refresh_and_refresh_token_cannot_access(client, make_user):
    make_user("ann")
    body = client.post("/api/login", json={"username": "ann", "password": PASSWORD}).get_json()
    client.delete_cookie("access_token_cookie", path="/api/")
    r = client.get("/api/me", headers={"Authorization": f"Bearer {body['refresh_token']}"})
    assert r.status_code == 401
    r = client.post("/api/token/refresh", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert r.status_code == 401


def test_logout_revokes_access_and_refresh_tokens_across_restart(another_app, client, make_user):
    make_user("ann")
    body = client.post("/api/login", json={"username": "ann", "password": PASSWORD}).get_json()
    access = {"Authorization": f"Bearer {body['access_token']}"}
    refresh = {"Authorization": f"Bearer {body['refresh_token']}"}
    r = client.post("/api/logout", headers=access)
    assert r.status_code == 204
    assert any("access_token_cookie=;" in c for c in r.headers.getlist("Set-Cookie"))
    restarted = another_app().test_client()  # a new process reads the same database
    assert restarted.get("/api/me", headers=access).status_code == 401
    assert restarted.post("/api/token/refresh", headers=refresh).status_code == 401


def test_password_change_ends_other_sessions_keeps_this_browser(client, make_user, app):
    make_user("ann")
    other = login(app.test_client(), "ann")
    client.post("/api/login", json={"username": "ann", "password": PASSWORD})
    csrf = client.get_cookie("csrf_access_token").value
    new = "a much better passphrase"
    r = client.post(
        "/api/me/password", json={"current_password": "wrong one!", "new_password": new}, headers={"X-CSRF-TOKEN": csrf}
    )
    assert r.status_code == 422 and "current_password" in r.get_json()["errors"]["json"]
    r = client.post(
        "/api/me/password", json={"current_password": PASSWORD, "new_password": new}, headers={"X-CSRF-TOKEN": csrf}
    )
    assert r.status_code == 204
    assert client.get("/api/me").status_code == 200  # fresh cookies for this browser
    assert client.get("/api/me", headers=other).status_code == 401
    login(app.test_client(), "ann", new)
    assert app.test_client().post("/api/login", json={"username": "ann", "password": PASSWORD}).status_code == 401


def test_wrong_current_passwords_count_towards_the_lock(client, make_user, app):
    """A stolen session cannot guess the account's password without limit."""
    make_user("ann")
    headers = login(client, "ann")
    wrong = {"current_password": "guess guess", "new_password": "a much better passphrase"}
    statuses = [client.post("/api/me/password", json=wrong, headers=headers).status_code for _ in range(6)]
    assert statuses == [422] * 5 + [429]
    right = {**wrong, "current_password": PASSWORD}
    assert client.post("/api/me/password", json=right, headers=headers).status_code == 429
    assert client.post("/api/login", json={"username": "ann", "password": PASSWORD}).status_code == 429
    with app.app_context():
        assert (
            db.session.scalar(
                db.select(db.func.count()).select_from(AuditEvent).where(AuditEvent.action == "password_change_failed")
            )
            == 7
        )  # 5 wrong, 2 locked


def test_revoking_a_token_twice_is_not_an_error(app):
    """Two logouts with the same token at once both revoke it; neither is a 500."""
    from sequoalpha.accounts.tokens import revoke as _revoke

    until = utcnow() + timedelta(days=1)
    with app.app_context():
        _revoke("jti-1", until=until)
        _revoke("jti-1", "jti-2", until=until)
        db.session.commit()
        assert db.session.scalar(db.select(db.func.count()).select_from(RevokedToken)) == 2


def test_a_reused_user_id_does_not_accept_the_old_users_tokens(client, make_user, admin_headers, app):
    """SQLite hands a deleted user's id to the next user; that user's tokens carry a new version."""
    old_id = make_user("mallory")
    stale = login(client, "mallory")
    assert client.delete(f"/api/admin/users/{old_id}", headers=admin_headers).status_code == 204
    with app.app_context():  # the same id again, as SQLite's rowid reuse gives it
        db.session.add(
            User(
                id=old_id,
                username="victim",
                email="victim@example.com",
                password_hash=hash_password(PASSWORD),
                is_admin=True,
            )
        )
        db.session.commit()
    assert client.get("/api/me", headers=stale).status_code == 401
    assert client.get("/api/me", headers=login(client, "victim")).status_code == 200


@pytest.mark.parametrize(
    "password",
    [
        "a" * 10,
        "b" * 72,
        "c" * 73,
        "d" * 128,
        "\U0001f600" * 64,  # 64 emoji: 256 bytes in UTF-8
    ],
)
def test_password_lengths_all_bytes_count(client, admin_headers, password):
    r = client.post(
        "/api/admin/users",
        headers=admin_headers,
        json={"username": "ann", "email": "ann@example.com", "password": password},
    )
    assert r.status_code == 201, r.get_json()
    login(client, "ann", password)
    # Changing only the last character must fail: bcrypt's 72-byte cut would accept it.
    altered = password[:-1] + ("x" if password[-1] != "x" else "y")
    r = client.post("/api/login", json={"username": "ann", "password": altered})
    assert r.status_code == 401


@pytest.mark.parametrize("password, status", [("a" * 9, 422), ("a" * 129, 422), ("a" * 10000, 422)])
def test_password_length_limits(client, admin_headers, password, status):
    r = client.post(
        "/api/admin/users",
        headers=admin_headers,
        json={"username": "ann", "email": "ann@example.com", "password": password},
    )
    assert r.status_code == status
    assert "password" in r.get_json()["errors"]["json"]
    r = client.post("/api/login", json={"username": "admin", "password": "a" * 10000})
    assert r.status_code == 422


def _forge(claims, key, alg="HS256"):
    return pyjwt.encode(claims, key, algorithm=alg)


def test_forged_tokens_are_rejected(client, make_user, app):
    make_user("ann")
    good = client.post("/api/login", json={"username": "ann", "password": PASSWORD}).get_json()["access_token"]
    client.delete_cookie("access_token_cookie", path="/api/")
    claims = pyjwt.decode(good, options={"verify_signature": False})
    header, payload, signature = good.split(".")
    unsigned = pyjwt.utils.base64url_encode(b'{"alg":"none","typ":"JWT"}').decode()
    other_payload = pyjwt.utils.base64url_encode(b'{"sub":"1"}').decode()
    expired = {**claims, "exp": int(time.time()) - 10, "iat": int(time.time()) - 1000, "nbf": int(time.time()) - 1000}
    admin_claims = {**claims, "sub": "1"}
    forged = {
        "alg none": f"{unsigned}.{payload}.",
        "tampered signature": f"{header}.{payload}.{signature[:-4]}AAAA",
        "tampered payload": f"{header}.{other_payload}.{signature}",
        "wrong key": _forge(admin_claims, "x" * 40),
        "expired": _forge(expired, SECRETS["JWT_SECRET_KEY"]),
        "garbage": "not-a-token",
        "HS512": _forge(claims, SECRETS["JWT_SECRET_KEY"], "HS512"),
    }
    assert client.get("/api/me", headers={"Authorization": f"Bearer {good}"}).status_code == 200
    for name, token in forged.items():
        r = client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, name
        assert r.get_json()["code"] == 401, name


def test_disable_and_demote_take_effect_on_next_request(client, make_user, admin_headers):
    bob_id = make_user("bob", is_admin=True)
    bob = login(client, "bob")
    assert client.get("/api/admin/users", headers=bob).status_code == 200
    r = client.patch(f"/api/admin/users/{bob_id}", headers=admin_headers, json={"is_admin": False})
    assert r.status_code == 200
    assert client.get("/api/admin/users", headers=bob).status_code == 403
    assert client.get("/api/me", headers=bob).status_code == 200
    client.patch(f"/api/admin/users/{bob_id}", headers=admin_headers, json={"is_active": False})
    assert client.get("/api/me", headers=bob).status_code == 401
    client.patch(f"/api/admin/users/{bob_id}", headers=admin_headers, json={"is_active": True})
    assert client.get("/api/me", headers=bob).status_code == 401  # old tokens stay dead
    login(client, "bob")


def test_a_token_verified_before_still_expires(app, make_user, another_app):
    """The worker remembers tokens it verified (extensions.VerifyingOnceJWTManager), but not past
    their expiry."""
    make_user("ann")
    client = another_app(JWT_ACCESS_TOKEN_EXPIRES=timedelta(seconds=4)).test_client()
    headers = login(client, "ann")
    client.delete_cookie("access_token_cookie", path="/api/")
    assert client.get("/api/me", headers=headers).status_code == 200  # verified, and remembered
    assert client.get("/api/me", headers=headers).status_code == 200
    expires = pyjwt.decode(headers["Authorization"].split()[1], options={"verify_signature": False})["exp"]
    time.sleep(max(expires - time.time(), 0) + 0.2)
    r = client.get("/api/me", headers=headers)
    assert r.status_code == 401 and "expired" in r.get_json()["message"]


def test_a_token_verified_by_one_app_is_not_taken_by_another_key(client, make_user, another_app):
    make_user("ann")
    headers = login(client, "ann")
    client.delete_cookie("access_token_cookie", path="/api/")
    assert client.get("/api/me", headers=headers).status_code == 200
    other = another_app(JWT_SECRET_KEY="another key of enough length " * 2).test_client()
    assert other.get("/api/me", headers=headers).status_code == 401
