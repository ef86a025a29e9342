"""The audit trail: date and target filters, the CSV export (the JSON list's rows, streamed,
safe in a spreadsheet), edits as before and after, links, deleted documents, no id reuse."""

import csv
import io
import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from sequoalpha.extensions import db
from sequoalpha.models import AuditEvent
from support.documents import upload


def _events(client, headers, query=""):
    response = client.get(f"/api/admin/audit?per_page=100{query}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def _csv(client, headers, query=""):
    response = client.get(f"/api/admin/audit.csv?{query}", headers=headers)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.is_streamed and "attachment" in response.headers["Content-Disposition"]
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_csv_has_the_rows_of_the_json_list_and_the_same_filters(app, client, admin_headers, make_user):
    ann = make_user("ann")
    client.patch(f"/api/admin/users/{ann}", headers=admin_headers, json={"full_name": '=HYPERLINK("x")'})
    with app.app_context():  # a week-old event, and enough rows for several CSV batches
        db.session.add(AuditEvent(action="login", at=datetime.now(UTC) - timedelta(days=8), detail={}))
        db.session.add_all(AuditEvent(action="login_failed", detail={"name": f"-x{i}"}) for i in range(1100))
        db.session.commit()
    today = datetime.now(UTC).date()
    for query in (
        "",
        f"&from={today}",
        f"&to={today - timedelta(days=7)}",
        f"&target_user_id={ann}",
        f"&from={today}&to={today}&action=user_updated",
    ):
        listed, page = [], 1
        while True:
            response = client.get(f"/api/admin/audit?per_page=100&page={page}{query}", headers=admin_headers)
            listed += response.get_json()["items"]
            if page * 100 >= response.get_json()["total"]:
                break
            page += 1
        rows = _csv(client, admin_headers, query.lstrip("&"))
        assert rows[0] == ["id", "at", "action", "actor", "document_id", "target_user_id", "ip", "detail"]
        assert [int(r[0]) for r in rows[1:]] == [e["id"] for e in listed], query
        for row, event in zip(rows[1:], listed, strict=True):
            assert row[2] == event["action"] and row[1] == event["at"]
            assert row[3] == (event["actor"]["username"] if event["actor"] else "")
            detail = row[7][1:] if row[7].startswith("'") else row[7]
            assert json.loads(detail) == event["detail"]
    assert len(_csv(client, admin_headers, f"to={today - timedelta(days=7)}")) == 2  # header + the old login
    updated = _csv(client, admin_headers, f"target_user_id={ann}&action=user_updated")[1]
    assert updated[3] == "admin"
    failed = _csv(client, admin_headers, "action=login_failed")
    assert len(failed) == 1101 and all(not r[7].startswith(("=", "+", "-", "@")) for r in failed)
    assert (
        client.get(
            f"/api/admin/audit.csv?from={today}&to={today - timedelta(days=1)}", headers=admin_headers
        ).status_code
        == 422
    )


def test_formula_cells_are_quoted():
    from sequoalpha.admin.audit_log import _safe

    assert [_safe(v) for v in ("=SUM(A1)", "+1", "-1", "@x", "plain", None, 5)] == [
        "'=SUM(A1)",
        "'+1",
        "'-1",
        "'@x",
        "plain",
        "",
        "5",
    ]


def test_edits_links_and_deleted_documents(client, admin_headers):
    doc = upload(client, admin_headers, title="Q3 report").get_json()
    client.patch(
        f"/api/admin/documents/{doc['id']}",
        headers=admin_headers,
        json={"title": "Q3 report", "description": "Final", "watermark": True, "visibility": {"everyone": True}},
    )
    [updated] = _events(client, admin_headers, "&action=document_updated")
    assert updated["detail"] == {
        "changes": {
            "description": ["", "Final"],
            "watermark": [False, True],
            "visibility": [
                {"everyone": False, "group_ids": [], "user_ids": []},
                {"everyone": True, "group_ids": [], "user_ids": []},
            ],
        }
    }  # the title did not change
    link = client.post(
        "/api/admin/documents/link",
        headers=admin_headers,
        json={"title": "Deck", "external_url": "https://example.com/deck"},
    ).get_json()
    assert [e["document_id"] for e in _events(client, admin_headers, "&action=link_created")] == [link["id"]]
    assert [e["document_id"] for e in _events(client, admin_headers, "&action=document_uploaded")] == [doc["id"]]

    assert client.delete(f"/api/admin/documents/{doc['id']}", headers=admin_headers).status_code == 204
    trail = _events(client, admin_headers, f"&document_id={doc['id']}")
    assert {e["action"] for e in trail} == {"document_uploaded", "document_updated", "document_deleted"}
    assert all(e["document_title"] == "Q3 report" and e["document_deleted"] for e in trail)
    deleted = next(e for e in trail if e["action"] == "document_deleted")
    assert "storage_key" not in deleted["detail"] and deleted["detail"]["title"] == "Q3 report"
    listed = _events(client, admin_headers, f"&document_id={link['id']}")
    assert listed[0]["document_title"] == "Deck" and not listed[0]["document_deleted"]


def test_a_deleted_rows_id_is_never_reused(app, client, admin_headers, make_user):
    first_user = make_user("ann")
    doc = upload(client, admin_headers).get_json()["id"]
    client.delete(f"/api/admin/users/{first_user}", headers=admin_headers)
    client.delete(f"/api/admin/documents/{doc}", headers=admin_headers)
    # Both were the newest rows: without AUTOINCREMENT, SQLite would hand their ids out again.
    bob = make_user("bob")
    assert bob > first_user and upload(client, admin_headers).get_json()["id"] > doc
    assert _events(client, admin_headers, f"&target_user_id={bob}") == []  # ann's trail stays hers
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        with app.app_context(), db.engine.connect() as conn:
            for table in ("users", "documents"):
                sql = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = :t"), {"t": table}).scalar()
                assert "AUTOINCREMENT" in sql
