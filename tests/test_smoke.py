def test_health(client):
    r = client.get("/api/health")
    assert r.status_code == 200
    assert r.get_json()["database"] == "ok"
