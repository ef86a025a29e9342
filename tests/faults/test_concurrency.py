"""20 concurrent uploads, then 100 concurrent downloads, through the real Gunicorn (shipped
config, 3 sync workers) with moto's server as S3 and a database in a throwaway cluster.

Every upload is stored exactly once (one row, one local file, one S3 object, distinct keys) with
its sha256 intact; every download (a presigned S3 URL, fetched for real) returns the exact
bytes; `flask storage check` is clean afterwards. Threads are bounded (20 and 25).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from support import figures
from support.documents import make_pdf, sha256
from support.gunicorn import Gunicorn
from support.s3 import FakeS3

from .support import deploy

BUCKET = "sequoalpha-concurrency"
UPLOADS, DOWNLOADS = 20, 100


@pytest.mark.slow
def test_20_concurrent_uploads_and_100_concurrent_downloads(tmp_path, portal_database):
    with FakeS3(BUCKET) as s3:
        portal = deploy(tmp_path, portal_database(), S3_BUCKET=BUCKET, S3_ENDPOINT_URL=s3.endpoint)
        with Gunicorn(portal.env, tmp_path, workers=3) as server:
            portal.sign_in(server.url)
            files = {f"concurrent-{n:02}.pdf": make_pdf(48 * 1024 + n * 997) for n in range(UPLOADS)}
            assert len({sha256(c) for c in files.values()}) == UPLOADS
            start = threading.Barrier(UPLOADS)

            def send(item):
                name, content = item
                start.wait(30)
                return name, portal.upload(content, name, timeout=120)

            with ThreadPoolExecutor(max_workers=UPLOADS) as pool:
                uploaded = list(pool.map(send, files.items()))
            failed = [(name, r.status_code, r.text[:200]) for name, r in uploaded if r.status_code != 201]
            ids = {name: r.json()["id"] for name, r in uploaded if r.status_code == 201}
            mismatched = [
                name for name, r in uploaded if r.status_code == 201 and r.json()["sha256"] != sha256(files[name])
            ]

            # 100 downloads at once (5 per document), each fetched through its presigned URL.
            jobs = [name for name in ids for _ in range(DOWNLOADS // UPLOADS)]

            def fetch(name):
                try:
                    return name, sha256(portal.download(ids[name], timeout=120)) == sha256(files[name])
                except AssertionError as exc:
                    return name, exc

            with ThreadPoolExecutor(max_workers=25) as pool:
                downloaded = list(pool.map(fetch, jobs))
            bad_downloads = [(name, ok) for name, ok in downloaded if ok is not True]

            listed = portal.get("/api/admin/documents?per_page=100").json()
            checked = portal.cli("storage", "check")
            local_files = sorted(p.name for p in portal.upload_dir.iterdir() if not p.name.startswith("."))
            objects = [o["Key"] for o in s3.client().list_objects_v2(Bucket=BUCKET).get("Contents", [])]
    duplicates = (
        (listed["total"] - len(ids)) + (len(local_files) - len(set(local_files))) + (len(objects) - len(set(objects)))
    )
    figures.add(
        "concurrency",
        uploads=len(uploaded),
        downloads=len(downloaded),
        duplicates=max(duplicates, 0),
        sha256_mismatches=len(mismatched) + sum(ok is False for _, ok in bad_downloads),
        failed=len(failed) + sum(ok is not False for _, ok in bad_downloads),
    )
    assert not failed, failed
    assert not mismatched, mismatched
    assert not bad_downloads, bad_downloads[:5]
    assert listed["total"] == UPLOADS and len({item["id"] for item in listed["items"]}) == UPLOADS
    assert {item["filename"] for item in listed["items"]} == set(files)
    assert all(item["storage"] == {"s3": True, "local": True} for item in listed["items"]), listed["items"][:3]
    assert len(local_files) == UPLOADS and len(objects) == UPLOADS and set(local_files) == set(objects)
    assert checked.returncode == 0 and "0 problem(s)" in checked.stdout, checked.stdout + checked.stderr
