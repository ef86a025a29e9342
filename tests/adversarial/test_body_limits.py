"""Request bodies: at most 1 MB on every route but the upload (MAX_UPLOAD_MB), refused with a
JSON 413 before the body is read."""

import io
import json

from support.documents import make_pdf, upload

MB = 1024 * 1024
BIG_JSON = json.dumps(
    {
        "password": "x" * (2 * MB),
        "username": "a",
        "current_password": "b",
        "new_password": "c",
        "name": "n",
        "title": "t",
    }
).encode()
ROUTES = [
    ("post", "/api/login"),
    ("post", "/api/me/password"),
    ("post", "/api/admin/users"),
    ("post", "/api/admin/groups"),
    ("post", "/api/admin/categories"),
    ("post", "/api/admin/documents/link"),
    ("post", "/api/token/refresh"),
    ("post", "/api/logout"),
    ("patch", "/api/admin/users/1"),
    ("get", "/api/documents"),
    ("post", "/api/no-such-route"),
]


class CountingStream(io.BytesIO):
    """A request body that remembers how much of it the app read."""

    def __init__(self, data: bytes):
        super().__init__(data)
        self.taken = 0

    def read(self, size=-1):
        chunk = super().read(size)
        self.taken += len(chunk)
        return chunk

    def readline(self, size=-1):
        line = super().readline(size)
        self.taken += len(line)
        return line


def test_a_2_mb_body_is_a_json_413_on_every_route_before_it_is_read(client, admin_headers):
    """Found by an outside review: every /api/ route took bodies up to the upload limit; 50 MB of
    JSON to /api/me/password held a worker 20 s and grew it to 1.4 GB."""
    for method, path in ROUTES:
        stream = CountingStream(BIG_JSON)
        response = client.open(
            path,
            method=method.upper(),
            headers=admin_headers,
            input_stream=stream,
            content_type="application/json",
            environ_overrides={"CONTENT_LENGTH": str(len(BIG_JSON))},
        )
        assert response.status_code == 413, (path, response.status_code, response.get_json())
        body = response.get_json()
        assert body["code"] == 413 and "1 MB" in body["message"], (path, body)
        assert stream.taken == 0, (path, stream.taken)


def test_a_chunked_body_past_1_mb_is_a_413(client, admin_headers):
    """No Content-Length (chunked): the body is read up to the limit, then refused."""
    response = client.post(
        "/api/admin/groups",
        headers=admin_headers,
        input_stream=io.BytesIO(BIG_JSON),
        content_type="application/json",
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 413, response.get_json()
    assert "1 MB" in response.get_json()["message"]


def test_bodies_under_1_mb_and_uploads_over_it_still_work(client, admin_headers):
    response = client.post("/api/admin/groups", headers=admin_headers, json={"name": "G" * 50, "pad": "x" * 900_000})
    assert response.status_code != 413, response.get_json()
    assert upload(client, admin_headers, make_pdf(size=3 * MB), "big.pdf", title="Big").status_code == 201
