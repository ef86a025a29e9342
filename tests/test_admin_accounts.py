"""Admin of users, groups, categories and the audit log."""

from support.api import login


def test_user_crud_and_duplicates(client, admin_headers):
    body = {"username": "Ann", "email": "Ann@Example.com", "password": "0123456789", "full_name": "Ann Lee"}
    r = client.post("/api/admin/users", headers=admin_headers, json=body)
    assert r.status_code == 201
    user = r.get_json()
    assert user["username"] == "ann" and user["email"] == "ann@example.com" and not user["is_admin"]
    assert set(user) == {
        "id",
        "username",
        "email",
        "full_name",
        "is_admin",
        "is_active",
        "groups",
        "created_at",
        "last_login_at",
        "mfa",
        "status",
        "must_change_password",
        "locked_until",
        "notify_new_documents",
    }
    assert user["mfa"] == {"totp": False, "passkeys": 0}
    assert user["status"] == "active" and user["must_change_password"] and user["notify_new_documents"]
    assert client.post("/api/admin/users", headers=admin_headers, json=body).status_code == 409
    r = client.post("/api/admin/users", headers=admin_headers, json={**body, "username": "ann2"})
    assert r.status_code == 409 and "email" in r.get_json()["message"]
    assert list(r.get_json()["errors"]["json"]) == ["email"]
    r = client.patch(f"/api/admin/users/{user['id']}", headers=admin_headers, json={"email": "admin@example.com"})
    assert r.status_code == 409
    r = client.patch(
        f"/api/admin/users/{user['id']}", headers=admin_headers, json={"full_name": "Ann Lee-Smith", "is_admin": True}
    )
    assert r.get_json()["full_name"] == "Ann Lee-Smith" and r.get_json()["is_admin"]
    assert client.get(f"/api/admin/users/{user['id']}", headers=admin_headers).get_json()["is_admin"]
    listing = client.get("/api/admin/users?per_page=1&page=2", headers=admin_headers).get_json()
    assert listing["total"] == 2 and listing["page"] == 2 and listing["per_page"] == 1
    assert [u["username"] for u in listing["items"]] == ["ann"]
    assert client.delete(f"/api/admin/users/{user['id']}", headers=admin_headers).status_code == 204
    assert client.get(f"/api/admin/users/{user['id']}", headers=admin_headers).status_code == 404


def test_admin_cannot_delete_disable_or_demote_self(client, admin_headers):
    me = client.get("/api/me", headers=admin_headers).get_json()["id"]
    for change in ({"is_active": False}, {"is_admin": False}):
        assert client.patch(f"/api/admin/users/{me}", headers=admin_headers, json=change).status_code == 409
    assert client.delete(f"/api/admin/users/{me}", headers=admin_headers).status_code == 409
    assert client.get("/api/admin/users", headers=admin_headers).status_code == 200


def test_password_reset_by_admin_ends_the_users_sessions(client, admin_headers, make_user):
    uid = make_user("bob")
    bob = login(client, "bob")
    r = client.patch(f"/api/admin/users/{uid}", headers=admin_headers, json={"password": "brand new secret"})
    assert r.status_code == 200
    assert client.get("/api/me", headers=bob).status_code == 401
    login(client, "bob", "brand new secret")


def test_groups_and_membership(client, admin_headers, make_user):
    ann, bob = make_user("ann"), make_user("bob")
    r = client.post("/api/admin/groups", headers=admin_headers, json={"name": " Fund A ", "user_ids": [ann]})
    assert r.status_code == 201
    group = r.get_json()
    assert group["name"] == "Fund A" and group["user_ids"] == [ann]
    assert client.post("/api/admin/groups", headers=admin_headers, json={"name": "Fund A"}).status_code == 409
    r = client.post("/api/admin/groups", headers=admin_headers, json={"name": "X", "user_ids": [9999]})
    assert r.status_code == 422 and "user_ids" in r.get_json()["errors"]["json"]
    r = client.patch(f"/api/admin/groups/{group['id']}", headers=admin_headers, json={"user_ids": [bob, ann]})
    assert sorted(r.get_json()["user_ids"]) == sorted([ann, bob])
    user = client.get(f"/api/admin/users/{bob}", headers=admin_headers).get_json()
    assert user["groups"] == [{"id": group["id"], "name": "Fund A"}]
    r = client.patch(f"/api/admin/users/{bob}", headers=admin_headers, json={"group_ids": []})
    assert r.get_json()["groups"] == []
    listing = client.get("/api/admin/groups", headers=admin_headers).get_json()
    assert listing["total"] == 1 and listing["items"][0]["user_ids"] == [ann]
    assert client.delete(f"/api/admin/groups/{group['id']}", headers=admin_headers).status_code == 204
    assert client.get(f"/api/admin/users/{ann}", headers=admin_headers).get_json()["groups"] == []


def test_deleting_a_user_keeps_groups_and_audit(client, admin_headers, make_user):
    ann = make_user("ann", groups=["Fund A"])
    login(client, "ann")
    assert client.delete(f"/api/admin/users/{ann}", headers=admin_headers).status_code == 204
    groups = client.get("/api/admin/groups", headers=admin_headers).get_json()["items"]
    assert groups[0]["user_ids"] == []
    events = client.get("/api/admin/audit?action=login", headers=admin_headers).get_json()["items"]
    assert any(e["actor"] is None for e in events)  # ann's login stays, without the link


def test_categories(client, admin_headers, user_headers):
    r = client.post("/api/admin/categories", headers=admin_headers, json={"name": "Tax forms"})
    assert r.status_code == 201
    cat = r.get_json()
    assert client.post("/api/admin/categories", headers=admin_headers, json={"name": "Tax forms"}).status_code == 409
    assert client.post("/api/admin/categories", headers=admin_headers, json={"name": "   "}).status_code == 422
    client.post("/api/admin/categories", headers=admin_headers, json={"name": "Annual reports"})
    names = [c["name"] for c in client.get("/api/categories", headers=user_headers).get_json()]
    assert names == ["Annual reports", "Tax forms"]
    r = client.patch(f"/api/admin/categories/{cat['id']}", headers=admin_headers, json={"name": "Tax"})
    assert r.get_json() == {"id": cat["id"], "name": "Tax"}
    assert client.delete(f"/api/admin/categories/{cat['id']}", headers=admin_headers).status_code == 204
    assert len(client.get("/api/admin/categories", headers=admin_headers).get_json()) == 1


def test_audit_records_who_what_when_where_and_filters(client, admin_headers, make_user):
    uid = make_user("bob")
    client.post("/api/login", json={"username": "bob", "password": "wrong password"})
    bob = login(client, "bob")
    client.post("/api/logout", headers=bob)
    client.patch(f"/api/admin/users/{uid}", headers=admin_headers, json={"full_name": "Bob"})
    everything = client.get("/api/admin/audit?per_page=100", headers=admin_headers).get_json()
    actions = [e["action"] for e in everything["items"]]
    assert actions[:5] == ["user_updated", "logout", "login", "login_failed", "login"]  # newest first
    updated = everything["items"][0]
    assert updated["actor"]["username"] == "admin" and updated["target_user_id"] == uid
    assert updated["ip"] == "127.0.0.1" and updated["at"].endswith("+00:00")
    assert updated["detail"] == {"fields": ["full_name"]}
    only = client.get(f"/api/admin/audit?action=login&actor_id={uid}", headers=admin_headers).get_json()
    assert only["total"] == 1 and only["items"][0]["actor"]["id"] == uid
    assert client.get("/api/admin/audit?actor_id=abc", headers=admin_headers).status_code == 422


def test_client_ip_from_proxy_only_when_trusted(app, client, admin_headers):
    spoof = {"X-Real-IP": "203.0.113.9", "X-Forwarded-For": "203.0.113.9"}
    client.post("/api/login", json={"username": "x-nobody", "password": "whatever!!"}, headers=spoof)
    app.config["TRUSTED_PROXIES"] = ["127.0.0.1"]
    client.post("/api/login", json={"username": "y-nobody", "password": "whatever!!"}, headers=spoof)
    events = client.get("/api/admin/audit?action=login_failed", headers=admin_headers).get_json()["items"]
    assert [e["ip"] for e in events] == ["203.0.113.9", "127.0.0.1"]
