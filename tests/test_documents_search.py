"""Full-text search (title, description, file name, the PDF's text) inside the visibility rule;
sorting, unread and read-all; document dates and download names; duplicates; categories in use;
the browser's way to the sign-in page; the reindex command; the PostgreSQL plan."""

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import func, select, text, update

from sequoalpha.documents import search
from sequoalpha.documents.files import content_disposition
from sequoalpha.documents.pdf_text import extract_text
from sequoalpha.documents.visibility import documents_for
from sequoalpha.extensions import db
from sequoalpha.models import Document, DocumentRead, User
from support.api import login
from support.documents import make_pdf, text_pdf, upload

EVERYONE = {"everyone": True}
DAY = datetime(2026, 1, 1, tzinfo=UTC)
LONG_TEXT = (
    "Dear investor, this report covers the third quarter. " * 12
    + "The net asset value per share rose to 104.2 during the period. "
    + "Kind regards. " * 20
)


def _upload(client, headers, title, content=None, filename="report.pdf", **fields):
    fields.setdefault("visibility", EVERYONE)
    response = upload(client, headers, content, filename, title=title, **fields)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _find(client, headers, q, **params):
    response = client.get("/api/documents", headers=headers, query_string={"q": q, **params})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["total"] == len(body["items"])
    return body["items"]


def _titles(items):
    return [item["title"] for item in items]


@pytest.fixture
def library(client, admin_headers):
    lines = [LONG_TEXT[i : i + 100] for i in range(0, len(LONG_TEXT), 100)]
    return {
        "call": _upload(client, admin_headers, "Capital Call Notice No. 7 — Fund I"),
        "q3": _upload(client, admin_headers, "Q3-2026 Quarterly Report"),
        "emission": _upload(client, admin_headers, "Émission obligataire", description="Réservé aux investisseurs"),
        "wire": _upload(client, admin_headers, "Payment details", filename="Wire_Instructions-2026.pdf"),
        "letter": _upload(client, admin_headers, "Investor letter", text_pdf(*lines)),
    }


def test_words_in_any_order_case_accents_and_punctuation(client, user_headers, library):
    cases = {
        "capital call 7": ["Capital Call Notice No. 7 — Fund I"],
        "7 CALL capital": ["Capital Call Notice No. 7 — Fund I"],
        "fund i notice": ["Capital Call Notice No. 7 — Fund I"],
        "Q3 2026": ["Q3-2026 Quarterly Report"],
        "q3-2026": ["Q3-2026 Quarterly Report"],
        "emission RESERVE": ["Émission obligataire"],
        "ÉMISSION obligataire": ["Émission obligataire"],
        "wire instructions": ["Payment details"],  # the file name only
        "net asset value": ["Investor letter"],  # the PDF's text only
        "capital call 8": [],  # every word must match
        "%": [],
        '"call" -notice': ["Capital Call Notice No. 7 — Fund I"],  # no operators: plain words
        "call or notice": [],  # "or" is a word to find too
        # Search as you type: the last word also matches the start of a word, the others whole.
        "capital call not": ["Capital Call Notice No. 7 — Fund I"],
        "emission obli": ["Émission obligataire"],
        "capi call": [],
    }
    for q, expected in cases.items():
        assert _titles(_find(client, user_headers, q)) == expected, q


def test_an_edited_document_is_found_by_its_new_words_only(client, admin_headers, user_headers, library):
    doc_id = library["letter"]["id"]
    client.patch(
        f"/api/admin/documents/{doc_id}",
        headers=admin_headers,
        json={"title": "Année fiscale", "description": "Ledger"},
    )
    assert _find(client, user_headers, "investor letter") == []
    assert _titles(_find(client, user_headers, "annee ledger asset")) == ["Année fiscale"]  # the PDF's text stays
    client.delete(f"/api/admin/documents/{doc_id}", headers=admin_headers)
    assert _find(client, user_headers, "ledger") == []


def test_a_match_inside_the_pdf_comes_with_a_plain_snippet(client, user_headers, library):
    [item] = _find(client, user_headers, "asset value 104.2")
    snippet = item["snippet"]
    assert "net asset value per share rose to 104.2" in snippet
    assert len(snippet) <= 200 and "<" not in snippet and "\n" not in snippet
    assert snippet.startswith("…")  # cut out of a long text
    [title_match] = _find(client, user_headers, "capital call")
    assert title_match["snippet"] == "Capital Call Notice No. 7 — Fund I"
    assert client.get("/api/documents", headers=user_headers).get_json()["items"][0]["snippet"] is None


def test_relevance_order_unless_a_sort_is_given(client, admin_headers, user_headers):
    _upload(client, admin_headers, "Annual figures", description="Mentions the dividend once.")
    _upload(client, admin_headers, "Dividend notice", description="Dividend dividend: the dividend is paid.")
    assert _titles(_find(client, user_headers, "dividend")) == ["Dividend notice", "Annual figures"]
    assert _titles(_find(client, user_headers, "dividend", sort="title")) == ["Annual figures", "Dividend notice"]


def test_search_never_reaches_an_invisible_document(client, admin_headers, make_user):
    make_user("ann", groups=["Fund A"])
    make_user("bob")
    group_id = client.get("/api/admin/groups", headers=admin_headers).get_json()["items"][0]["id"]
    _upload(client, admin_headers, "Zebracorn memo", description="ultraviolet", visibility={})
    _upload(client, admin_headers, "Fund A zebracorn", visibility={"group_ids": [group_id]})
    ann, bob = login(client, "ann"), login(client, "bob")
    for q in ("zebracorn", "ultraviolet", "memo", "zebracorn memo"):
        assert "Zebracorn memo" not in _titles(_find(client, ann, q)) + _titles(_find(client, bob, q))
    assert _titles(_find(client, ann, "zebracorn")) == ["Fund A zebracorn"]
    assert _find(client, bob, "zebracorn") == []
    admin = client.get("/api/admin/documents", headers=admin_headers, query_string={"q": "zebracorn"}).get_json()
    assert sorted(_titles(admin["items"])) == ["Fund A zebracorn", "Zebracorn memo"]


def test_sort_by_date_title_and_creation(client, admin_headers, user_headers):
    _upload(client, admin_headers, "b March", document_date="2026-03-31")
    _upload(client, admin_headers, "C January", document_date="2026-01-31")
    link = client.post(
        "/api/admin/documents/link",
        headers=admin_headers,
        json={
            "title": "a June",
            "external_url": "https://example.com/",
            "document_date": "2026-06-30",
            "visibility": EVERYONE,
        },
    )
    assert link.status_code == 201 and link.get_json()["document_date"] == "2026-06-30"
    expected = {
        None: ["a June", "b March", "C January"],
        "-date": ["a June", "b March", "C January"],
        "date": ["C January", "b March", "a June"],
        "title": ["a June", "b March", "C January"],
        "-title": ["C January", "b March", "a June"],
        "created": ["b March", "C January", "a June"],
        "-created": ["a June", "C January", "b March"],
    }
    for sort, titles in expected.items():
        params = {"sort": sort} if sort else {}
        for path, headers in (("/api/documents", user_headers), ("/api/admin/documents", admin_headers)):
            body = client.get(path, headers=headers, query_string=params).get_json()
            assert _titles(body["items"]) == titles, (path, sort)
    assert client.get("/api/documents?sort=size", headers=user_headers).status_code == 422


def test_document_date_defaults_to_the_upload_date_and_is_editable(client, admin_headers, app):
    doc = _upload(client, admin_headers, "Statement")
    with app.app_context():
        today = db.session.scalar(select(func.current_date()))
    assert doc["document_date"] == str(today)[:10] and doc["version"] == 1 and doc["watermark"] is False
    bad = upload(client, admin_headers, title="Bad date", document_date="31/12/2026")
    assert bad.status_code == 422 and "document_date" in bad.get_json()["errors"]["files"]
    patched = client.patch(
        f"/api/admin/documents/{doc['id']}",
        headers=admin_headers,
        json={"document_date": "2025-12-31", "watermark": True},
    )
    assert patched.status_code == 200
    assert (patched.get_json()["document_date"], patched.get_json()["watermark"]) == ("2025-12-31", True)


def test_unread_filter_and_read_all(client, admin_headers, user_headers, make_user, app):
    docs = [_upload(client, admin_headers, f"Doc {i}") for i in range(3)]
    hidden = _upload(client, admin_headers, "Admins only", visibility={})
    client.get(f"/api/documents/{docs[0]['id']}/download", headers=user_headers).close()

    def unread(headers, path="/api/documents"):
        return sorted(_titles(client.get(path, headers=headers, query_string={"unread": "true"}).get_json()["items"]))

    assert unread(user_headers) == ["Doc 1", "Doc 2"]
    assert unread(admin_headers, "/api/admin/documents") == ["Admins only", "Doc 0", "Doc 1", "Doc 2"]
    assert client.post("/api/documents/read-all", headers=user_headers).status_code == 204
    assert unread(user_headers) == []
    assert unread(admin_headers, "/api/admin/documents") == ["Admins only", "Doc 0", "Doc 1", "Doc 2"]
    with app.app_context():
        client_id = db.session.scalar(select(User.id).where(User.username == "client1"))
        read = set(db.session.scalars(select(DocumentRead.document_id).where(DocumentRead.user_id == client_id)))
    assert read == {d["id"] for d in docs} and hidden["id"] not in read  # nothing outside the rule
    assert client.post("/api/documents/read-all", headers=user_headers).status_code == 204  # idempotent


def test_download_name_defaults_to_the_title_and_is_editable(client, admin_headers, user_headers):
    doc = _upload(client, admin_headers, "Q3/2026: Report", filename="scan_0042.pdf")
    assert (doc["download_name"], doc["filename"]) == ("Q3 2026 Report.pdf", "scan_0042.pdf")
    response = client.get(f"/api/documents/{doc['id']}/download", headers=user_headers)
    assert response.headers["Content-Disposition"] == content_disposition("attachment", "Q3 2026 Report.pdf")
    response.close()
    patched = client.patch(
        f"/api/admin/documents/{doc['id']}", headers=admin_headers, json={"download_name": "Relevé ../trimestriel"}
    )
    assert patched.get_json()["download_name"] == "Relevé .. trimestriel.pdf"
    renamed = client.patch(f"/api/admin/documents/{doc['id']}", headers=admin_headers, json={"title": "Other"})
    assert renamed.get_json()["download_name"] == "Relevé .. trimestriel.pdf"  # an explicit name stays
    reset = client.patch(f"/api/admin/documents/{doc['id']}", headers=admin_headers, json={"download_name": None})
    assert reset.get_json()["download_name"] == "Other.pdf"


def test_download_name_in_the_presigned_url(s3, client, admin_headers, user_headers):
    doc = _upload(client, admin_headers, "Fund letter", download_name="Lettre aux porteurs.pdf")
    response = client.get(f"/api/documents/{doc['id']}/download", headers=user_headers)
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["response-content-disposition"] == [content_disposition("attachment", "Lettre aux porteurs.pdf")]


def test_an_identical_upload_is_refused_unless_confirmed(client, admin_headers):
    content = make_pdf(label="same bytes")
    first = _upload(client, admin_headers, "Original", content)
    again = upload(client, admin_headers, content, title="Copy")
    assert again.status_code == 409
    assert again.get_json()["duplicate_of"] == first["id"] and again.get_json()["message"]
    confirmed = upload(client, admin_headers, content, title="Copy", allow_duplicate="true")
    assert confirmed.status_code == 201 and confirmed.get_json()["sha256"] == first["sha256"]


def test_categories_in_use_are_those_with_a_visible_document(client, admin_headers, user_headers):
    ids = {
        name: client.post("/api/admin/categories", headers=admin_headers, json={"name": name}).get_json()["id"]
        for name in ("Empty", "Hidden", "Reports")
    }
    _upload(client, admin_headers, "Seen", category_id=str(ids["Reports"]))
    _upload(client, admin_headers, "Unseen", category_id=str(ids["Hidden"]), visibility={})

    def names(headers, **params):
        return [c["name"] for c in client.get("/api/categories", headers=headers, query_string=params).get_json()]

    assert names(user_headers) == ["Empty", "Hidden", "Reports"]
    assert names(user_headers, in_use="true") == ["Reports"]
    assert names(admin_headers, in_use="true") == ["Hidden", "Reports"]


BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


def test_a_browser_without_a_session_goes_to_the_sign_in_page(app, admin_headers):
    client = app.test_client()  # no cookies
    doc = _upload(client, admin_headers, "Report")
    path = f"/api/documents/{doc['id']}/download"
    for headers in ({"Accept": BROWSER}, {"Accept": BROWSER, "Authorization": "Bearer not-a-token"}):
        response = client.get(path + "?disposition=inline", headers=headers)
        assert response.status_code == 302
        location = urlsplit(response.headers["Location"])
        assert location.path == "/frontend/signin.html"
        assert parse_qs(location.query) == {"next": [path + "?disposition=inline"]}
    bare = client.get(path, headers={"Accept": BROWSER})
    assert parse_qs(urlsplit(bare.headers["Location"]).query) == {"next": [path]}
    for accept in ("application/json", "*/*", None):
        response = client.get(path, headers={"Accept": accept} if accept else {})
        assert response.status_code == 401 and response.get_json()["code"] == 401
    listing = client.get("/api/documents", headers={"Accept": BROWSER})  # not a page a browser opens
    assert listing.status_code == 401 and listing.get_json()["code"] == 401


def test_extract_text_is_capped_and_never_fails(tmp_path):
    pdf = tmp_path / "a.pdf"
    pdf.write_bytes(text_pdf("Société Générale", "line two"))
    assert extract_text(pdf) == "Société Générale\nline two\n"
    assert extract_text(pdf, max_chars=8) == "Société "
    broken = tmp_path / "b.pdf"
    broken.write_bytes(b"%PDF-1.7\nnot really\n%%EOF")
    assert extract_text(broken) == ""


def test_snippet_is_cut_on_words_around_the_best_place():
    doc = Document(
        title="T",
        description="",
        filename="f.pdf",
        text_content="alpha " * 100 + "the Fund's net asset value " + "omega " * 100,
    )
    snippet = search.snippet(doc, search.query_words("asset value fund"))
    assert "Fund's net asset value" in snippet and len(snippet) <= 200
    assert snippet.startswith("… alpha") is False and snippet.startswith("…") and snippet.endswith("…")


@pytest.mark.parametrize("from_s3", [False, True])
def test_reindex_fills_the_text_of_existing_documents(client, admin_headers, user_headers, app, request, from_s3):
    if from_s3:
        request.getfixturevalue("s3")
        app.config["S3_KEEP_LOCAL_COPY"] = False
    doc = _upload(client, admin_headers, "Old report", text_pdf("Distribution of proceeds"))
    assert doc["storage"]["local"] is not from_s3
    with app.app_context():  # as before the text was extracted at upload
        db.session.execute(update(Document).values(text_content="", search_text="old report"))
        db.session.commit()
    assert _find(client, user_headers, "proceeds") == []
    result = app.test_cli_runner().invoke(args=["documents", "reindex"])
    assert result.exit_code == 0, result.output
    assert f"[1/1] document {doc['id']}: " in result.output and "1 indexed, 0 failed" in result.output
    assert _titles(_find(client, user_headers, "distribution proceeds")) == ["Old report"]
    assert _titles(_find(client, user_headers, "report OLD")) == ["Old report"]


def test_the_migration_indexes_existing_documents(database_url, tmp_path):
    from sequoalpha import create_app
    from support.api import make_config

    app = create_app(make_config(database_url, tmp_path))
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        upgrade(revision="0004")
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO documents (title, description, kind, filename, in_s3, in_local, everyone, "
                    "created_at, updated_at) VALUES ('Capital Call Notice No. 7', 'Fund I', 'file', 'call-7.pdf', "
                    "false, false, true, '2026-01-02 03:04:05', '2026-01-02 03:04:05')"
                )
            )
        upgrade()
        try:
            admin = User(username="boss", email="boss@example.com", password_hash="x", is_admin=True)
            stmt, _ = search.matching(
                documents_for(admin), search.query_words("capital call 7"), db.engine.dialect.name
            )
            [found] = db.session.scalars(stmt).all()
            assert (found.title, str(found.document_date), found.version) == (
                "Capital Call Notice No. 7",
                "2026-01-02",
                1,
            )
            db.session.remove()
            downgrade(revision="0004")  # and back: the way down is clean
            upgrade()
            assert [d.title for d in db.session.scalars(stmt)] == ["Capital Call Notice No. 7"]
        finally:
            db.session.remove()
            db.drop_all()
            with db.engine.begin() as conn:
                conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
            db.engine.dispose()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgresql_search_uses_the_gin_index(app, make_user, database_url):
    client_id = make_user("ann")
    with app.app_context():
        db.session.execute(
            Document.__table__.insert(),
            [
                {
                    "title": f"Document {i}",
                    "description": "",
                    "kind": "link",
                    "external_url": "https://example.com/",
                    "everyone": i % 2 == 0,
                    "search_text": f"document {i} quarterly report",
                    "in_s3": False,
                    "in_local": False,
                    "version": 1,
                    "watermark": False,
                    "text_content": "",
                    "document_date": DAY.date(),
                    "created_at": DAY,
                    "updated_at": DAY,
                }
                for i in range(2000)
            ],
        )
        db.session.commit()
        user = db.session.get(User, client_id)
        stmt, _ = search.matching(documents_for(user), search.query_words("Document 1234"), "postgresql")
        sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True}))
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE documents"))
            conn.execute(text("SET LOCAL enable_seqscan = off"))
            plan = "\n".join(row[0] for row in conn.execute(text("EXPLAIN " + sql)))
        assert search.GIN_INDEX in plan, plan
        assert [d.title for d in db.session.scalars(stmt)] == ["Document 1234"]
