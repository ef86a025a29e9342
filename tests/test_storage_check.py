"""`flask storage check` finds every kind of inconsistency between the rows and both stores."""

import os
import time

from sequoalpha.documents import storage
from sequoalpha.extensions import db
from sequoalpha.models import Document
from support.common import free_port
from support.documents import make_pdf, sha256, upload

ORPHAN_KEY = "0123456789abcdef0123456789abcdef.pdf"


def _check(app, *args):
    return app.test_cli_runner().invoke(args=["storage", "check", *args])


def _problems(output: str) -> set[str]:
    return {line for line in output.splitlines() if not line.startswith("check: ")}


def test_check_reports_each_inconsistency(s3, client, admin_headers, app):
    ids = [upload(client, admin_headers, make_pdf(1024 + n), f"doc{n}.pdf").get_json()["id"] for n in range(7)]
    clean = _check(app)
    assert clean.exit_code == 0 and clean.output.strip() == "check: 7 file document(s), 0 problem(s)"

    with app.app_context():
        docs = [db.session.get(Document, doc_id) for doc_id in ids]
        keys = [doc.storage_key for doc in docs]
        local = storage.local_store()
        os.remove(local.path(keys[0]))  # local file missing
        s3.delete_object(Bucket=s3.bucket, Key=keys[1])  # S3 object missing
        local.path(keys[2]).write_bytes(make_pdf(5000))  # local bytes changed
        other = make_pdf(6000)  # S3 bytes changed
        s3.put_object(Bucket=s3.bucket, Key=keys[3], Body=other, Metadata={"sha256": sha256(other)})
        os.remove(local.path(keys[4]))  # no store holds it
        s3.delete_object(Bucket=s3.bucket, Key=keys[4])
        docs[4].in_local = docs[4].in_s3 = False
        docs[5].in_s3 = False  # present, not recorded
        db.session.commit()
    local_orphan = os.path.join(app.config["UPLOAD_FOLDER"], ORPHAN_KEY)
    with open(local_orphan, "wb") as fh:  # local file, no row
        fh.write(b"stray")
    s3.put_object(Bucket=s3.bucket, Key="stray/object.pdf", Body=b"stray")  # S3 object, no row
    stale = os.path.join(app.config["UPLOAD_FOLDER"], ".upload-dead.part")  # a killed upload
    fresh = os.path.join(app.config["UPLOAD_FOLDER"], ".upload-live.part")  # one in progress
    for path in (stale, fresh):
        with open(path, "wb") as fh:
            fh.write(b"%PDF-")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))

    result = _check(app)
    assert result.exit_code == 1
    assert _problems(result.output) == {
        f"local: document {ids[0]} ({keys[0]}): file missing",
        f"s3: document {ids[1]} ({keys[1]}): file missing",
        f"local: document {ids[2]} ({keys[2]}): sha256 mismatch (the stored bytes changed)",
        f"s3: document {ids[3]} ({keys[3]}): sha256 mismatch (the stored bytes changed)",
        f"document {ids[4]} ({keys[4]}): no store holds it",
        f"s3: document {ids[5]} ({keys[5]}): file present but not recorded (storage.s3 is false)",
        f"local: {ORPHAN_KEY}: file without a document row",
        "s3: stray/object.pdf: file without a document row",
        "local: .upload-dead.part: stale temporary upload (storage sync removes it)",
    }
    assert result.output.splitlines()[-1] == "check: 7 file document(s), 9 problem(s)"
    fast = _check(app, "--no-hash")
    assert fast.exit_code == 1 and not any("sha256" in line for line in _problems(fast.output))
    assert len(_problems(fast.output)) == 7


def test_check_says_when_s3_cannot_be_checked(s3, client, admin_headers, app):
    upload(client, admin_headers)
    app.config["S3_ENDPOINT_URL"] = f"http://127.0.0.1:{free_port()}"
    result = _check(app)
    assert result.exit_code == 1
    assert any(line.startswith("s3: cannot be checked") for line in _problems(result.output)), result.output


def test_check_without_s3_looks_at_the_local_store_only(client, admin_headers, app):
    upload(client, admin_headers)
    assert _check(app).exit_code == 0
    with open(os.path.join(app.config["UPLOAD_FOLDER"], "notes.txt"), "w") as fh:
        fh.write("not ours")
    result = _check(app)
    assert result.exit_code == 1 and _problems(result.output) == {"local: notes.txt: file without a document row"}


def test_sync_removes_only_stale_temporary_uploads(s3, client, admin_headers, app):
    upload(client, admin_headers)
    stale = os.path.join(app.config["UPLOAD_FOLDER"], ".upload-dead.part")
    fresh = os.path.join(app.config["UPLOAD_FOLDER"], ".upload-live.part")
    for path in (stale, fresh):
        with open(path, "wb") as fh:
            fh.write(b"%PDF-")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    result = app.test_cli_runner().invoke(args=["storage", "sync"])
    assert result.exit_code == 0, result.output
    assert "removed .upload-dead.part" in result.output
    assert not os.path.exists(stale) and os.path.exists(fresh)
    os.remove(fresh)
    assert _check(app).exit_code == 0
