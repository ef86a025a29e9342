"""Defects the adversarial suite found, each pinned by a test of its own."""

from support.api import login

HUGE = 2**63  # past SQLite's INTEGER; also past PostgreSQL's integer


def test_ids_past_the_integer_range_are_404_or_422_not_500(app, client, make_user):
    """Found by schemathesis: an id of 2**63 in a path, a query or a body reached SQLite and
    raised OverflowError (500). Ids are now bounded by PostgreSQL's integer (2**31 - 1): a
    larger one in a path names nothing (404), in a query or body it is invalid (422)."""
    make_user("admin", is_admin=True)
    headers = login(client, "admin")
    for path in (
        f"/api/admin/users/{HUGE}",
        f"/api/admin/groups/{HUGE}",
        f"/api/documents/{HUGE}",
        f"/api/documents/{HUGE}/download",
        f"/api/admin/documents/{HUGE}",
        f"/api/admin/users/{2**31}",
    ):
        response = client.get(path, headers=headers)
        assert response.status_code == 404, (path, response.get_json())
        assert response.get_json()["code"] == 404
    for method, path in (("patch", "/api/admin/categories/"), ("delete", "/api/admin/groups/")):
        response = getattr(client, method)(f"{path}{HUGE}", headers=headers, json={"name": "x"})
        assert response.status_code == 404, (path, response.get_json())
    for query in (f"actor_id={HUGE}", f"document_id={HUGE}", f"target_user_id={2**31}"):
        response = client.get(f"/api/admin/audit?{query}", headers=headers)
        assert response.status_code == 422, (query, response.get_json())
    assert client.get(f"/api/documents?category_id={HUGE}", headers=headers).status_code == 422
    response = client.post("/api/admin/groups", headers=headers, json={"name": "Fund", "user_ids": [HUGE]})
    assert response.status_code == 422 and "user_ids" in response.get_json()["errors"]["json"]
    response = client.post(
        "/api/admin/documents/link",
        headers=headers,
        json={"title": "t", "external_url": "https://example.com/", "category_id": HUGE},
    )
    assert response.status_code == 422, response.get_json()
    # The largest id is still an id: a plain 404 when nothing has it.
    assert client.get(f"/api/documents/{2**31 - 1}", headers=headers).status_code == 404


def test_openapi_documents_the_id_bounds(client):
    spec = client.get("/api/openapi.json").get_json()
    parameter = spec["paths"]["/api/documents/{document_id}"]["parameters"][0]
    assert parameter["schema"]["maximum"] == 2**31 - 1


def test_nul_and_control_characters_in_sign_in_names_and_audit_filters_are_422(client, make_user):
    """Found by schemathesis on PostgreSQL: a NUL in the login username (or in the audit log's
    action filter) reached the driver (psycopg2 then), which refuses NUL in a string literal:
    ValueError, a 500. Both fields now refuse control characters like every other text field (422)."""
    make_user("admin", is_admin=True)
    headers = login(client, "admin")
    for name in ("ad\x00min", "admin\x00", "\x00", "admin\r\n", "\x1b[2Kadmin"):
        response = client.post("/api/login", json={"username": name, "password": "correct horse battery staple"})
        assert response.status_code == 422, (name, response.get_json())
        assert "username" in response.get_json()["errors"]["json"]
    response = client.get("/api/admin/audit", headers=headers, query_string={"action": "login\x00"})
    assert response.status_code == 422, response.get_json()
    # Unicode that is not a control character still signs in as before (or fails as before).
    assert client.post("/api/login", json={"username": "ädmin", "password": "x" * 12}).status_code == 401
