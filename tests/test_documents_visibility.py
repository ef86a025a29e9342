"""The visibility matrix: who sees which document, through every route that can reveal one."""

import pytest

from support.api import login
from support.documents import upload

USERS = ["admin", "in_group", "granted", "other", "anonymous"]
DOCS = {
    "everyone": "Annual letter to all clients",
    "group": "Fund A quarterly report",
    "user": "Personal tax statement",
    "admins_only": "Board minutes draft",
}
VISIBLE = {  # who sees what, besides admins who see everything
    "in_group": {"everyone", "group"},
    "granted": {"everyone", "user"},
    "other": {"everyone"},
}


@pytest.fixture
def world(client, make_user):
    """Four documents, one per kind of visibility, and a token per kind of user."""
    ids = {
        "admin": make_user("admin", is_admin=True),
        "in_group": make_user("ann", groups=["Fund A"]),
        "granted": make_user("dan"),
        "other": make_user("oscar", groups=["Fund B"]),
    }
    headers = {
        "admin": login(client, "admin"),
        "in_group": login(client, "ann"),
        "granted": login(client, "dan"),
        "other": login(client, "oscar"),
        "anonymous": None,
    }
    group_a = client.get("/api/admin/groups", headers=headers["admin"]).get_json()["items"][0]
    assert group_a["name"] == "Fund A"
    visibility = {
        "everyone": {"everyone": True},
        "group": {"group_ids": [group_a["id"]]},
        "user": {"user_ids": [ids["granted"]]},
        "admins_only": {},
    }
    docs = {}
    for kind, title in DOCS.items():
        response = upload(
            client, headers["admin"], title=title, visibility=visibility[kind], description=f"secret words for {kind}"
        )
        assert response.status_code == 201, response.get_json()
        docs[kind] = response.get_json()["id"]
    return headers, docs


def _expected(user: str, kind: str, action: str) -> int | set:
    if user == "anonymous":
        return 401
    if action == "admin":
        return 200 if user == "admin" else 403
    if user == "admin" or kind in VISIBLE[user]:
        return {"list": True, "get": 200, "download": 200}[action]
    return {"list": False, "get": 404, "download": 404}[action]


def _observe(client, headers, doc_id, title, action):
    if headers is None:  # anonymous: a client without the cookies the sign-ins left behind
        client, headers = client.application.test_client(), {}
    if action == "list":
        response = client.get("/api/documents?per_page=100", headers=headers)
        if response.status_code != 200:
            return response.status_code
        return title in {item["title"] for item in response.get_json()["items"]}
    if action == "get":
        return client.get(f"/api/documents/{doc_id}", headers=headers).status_code
    if action == "download":
        response = client.get(f"/api/documents/{doc_id}/download", headers=headers)
        response.close()
        return response.status_code
    statuses = {
        client.get(f"/api/admin/documents/{doc_id}", headers=headers).status_code,
        client.patch(f"/api/admin/documents/{doc_id}", headers=headers, json={}).status_code,
    }
    return statuses.pop() if len(statuses) == 1 else statuses


def test_visibility_matrix(client, world):
    headers, docs = world
    cells, wrong = 0, []
    for user in USERS:
        for kind, doc_id in docs.items():
            for action in ("list", "get", "download", "admin"):
                cells += 1
                got = _observe(client, headers[user], doc_id, DOCS[kind], action)
                if got != _expected(user, kind, action):
                    wrong.append((user, kind, action, got, _expected(user, kind, action)))
    assert cells == 80
    assert wrong == []


def test_hidden_titles_never_leak_into_lists_or_searches(client, world):
    headers, _docs = world
    for user, visible in VISIBLE.items():
        hidden = [DOCS[kind] for kind in DOCS if kind not in visible]
        for query in ["", "report", "statement", "minutes", "secret", "a", "%", "_"]:
            response = client.get("/api/documents", headers=headers[user], query_string={"q": query})
            assert response.status_code == 200
            assert not any(title in response.get_data(as_text=True) for title in hidden), (user, query)
            assert response.get_json()["total"] == len(response.get_json()["items"]) <= len(visible)


def test_hidden_and_missing_are_the_same_404(client, world):
    headers, docs = world
    hidden = client.get(f"/api/documents/{docs['admins_only']}", headers=headers["other"])
    missing = client.get("/api/documents/999999", headers=headers["other"])
    assert hidden.status_code == missing.status_code == 404
    assert hidden.get_json() == missing.get_json()
    hidden_dl = client.get(f"/api/documents/{docs['admins_only']}/download", headers=headers["other"])
    assert hidden_dl.get_json() == client.get("/api/documents/999999/download", headers=headers["other"]).get_json()


def test_visibility_follows_group_membership_and_edits(client, world):
    headers, docs = world
    admin = headers["admin"]
    groups = {g["name"]: g["id"] for g in client.get("/api/admin/groups", headers=admin).get_json()["items"]}
    # Oscar joins Fund A too: its report appears. Restricted to Fund B, Ann loses it, Oscar keeps it.
    oscar = client.get("/api/admin/users", headers=admin).get_json()["items"][3]
    assert oscar["username"] == "oscar"
    client.patch(
        f"/api/admin/users/{oscar['id']}", headers=admin, json={"group_ids": [groups["Fund A"], groups["Fund B"]]}
    )
    assert client.get(f"/api/documents/{docs['group']}", headers=headers["other"]).status_code == 200
    response = client.patch(
        f"/api/admin/documents/{docs['group']}", headers=admin, json={"visibility": {"group_ids": [groups["Fund B"]]}}
    )
    assert response.get_json()["visibility"] == {"everyone": False, "group_ids": [groups["Fund B"]], "user_ids": []}
    assert client.get(f"/api/documents/{docs['group']}", headers=headers["in_group"]).status_code == 404
    assert client.get(f"/api/documents/{docs['group']}", headers=headers["other"]).status_code == 200
    # Deleting the group removes its grants: only admins see the document now.
    assert client.delete(f"/api/admin/groups/{groups['Fund B']}", headers=admin).status_code == 204
    assert client.get(f"/api/documents/{docs['group']}", headers=headers["other"]).status_code == 404
    assert (
        client.get(f"/api/admin/documents/{docs['group']}", headers=admin).get_json()["visibility"]["group_ids"] == []
    )
