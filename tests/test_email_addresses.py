"""E-mail addresses are read by email-validator (syntax only, no DNS look-up): control characters,
markup, spaces and look-alike characters are a 422 on every route that takes an address; real
addresses, internationalised ones included, are accepted and kept lower-case."""

BAD = [
    "ann\x00@example.com",  # NUL
    "ann@example.com\n",  # a trailing newline forges a log line
    "ann\r\nBcc: eve@example.com",  # header injection
    "ann\x1b[31m@example.com",  # terminal escape
    "ann\x7f@example.com",  # DEL
    "<script>alert(1)</script>@example.com",
    "ann@<script>.com",
    '"ann<b>"@example.com',  # a quoted local part could carry markup
    "ann lee@example.com",
    " ann@example .com",
    "ann.example.com",  # no @
    "ann@",
    "@example.com",
    "ann@@example.com",
    "ann@example",  # no dot in the domain
    "ann@[127.0.0.1]",  # an address literal
    "ann\u202e@example.com",  # right-to-left override
    "ann\u200b@example.com",  # zero-width space
    "ann@exa\u200dmple.com",  # zero-width joiner in the domain
    "ann\uff20example.com",  # full-width at sign
    "ann@example.com\u2028",  # line separator
    "ann@localhost",
    "ann@portal.test",  # a reserved name: no mail reaches it
    "a" * 65 + "@example.com",  # local part over 64
    "ann@" + "a" * 64 + ".com",  # a label over 63
]
GOOD = [
    ("ann+fund-a@example.com", "ann+fund-a@example.com"),
    ("Ann.Lee@Example.COM", "ann.lee@example.com"),
    ("ann@münchen.de", "ann@münchen.de"),  # an IDN domain
    ("ann@xn--mnchen-3ya.de", "ann@münchen.de"),  # the same, as punycode: one spelling is kept
    ("zoë@example.com", "zoë@example.com"),  # an internationalised local part
    ("o'brien@firm.example", "o'brien@firm.example"),
]


def test_a_bad_address_is_refused_on_create_and_update(client, admin_headers):
    for address in BAD:
        r = client.post(
            "/api/admin/users",
            headers=admin_headers,
            json={"username": "ann", "email": address, "password": "0123456789"},
        )
        assert r.status_code == 422, (address, r.get_json())
        assert list(r.get_json()["errors"]["json"]) == ["email"], address
        r = client.patch("/api/admin/users/1", headers=admin_headers, json={"email": address})
        assert r.status_code == 422, (address, r.get_json())
    assert client.get("/api/admin/users/1", headers=admin_headers).get_json()["email"] == "admin@example.com"


def test_a_control_character_is_named_as_such(client, admin_headers):
    r = client.post(
        "/api/admin/users",
        headers=admin_headers,
        json={"username": "ann", "email": "ann\x00@example.com", "password": "0123456789"},
    )
    assert r.get_json()["errors"]["json"]["email"] == ["Control characters are not allowed."]


def test_a_real_address_is_accepted_and_kept_normalised(client, admin_headers):
    for number, (address, kept) in enumerate(GOOD):
        r = client.post(
            "/api/admin/users",
            headers=admin_headers,
            json={"username": f"ann{number}", "email": address, "password": "0123456789"},
        )
        assert r.status_code == 201, (address, r.get_json())
        assert r.get_json()["email"] == kept
        user = r.get_json()["id"]
        r = client.patch(f"/api/admin/users/{user}", headers=admin_headers, json={"email": address.upper()})
        assert r.status_code == 200 and r.get_json()["email"] == kept, address
        assert client.delete(f"/api/admin/users/{user}", headers=admin_headers).status_code == 204


def test_the_same_address_in_another_spelling_is_taken(client, admin_headers):
    r = client.post(
        "/api/admin/users",
        headers=admin_headers,
        json={"username": "ann", "email": "ann@münchen.de", "password": "0123456789"},
    )
    assert r.status_code == 201
    r = client.post(
        "/api/admin/users",
        headers=admin_headers,
        json={"username": "bob", "email": "ANN@xn--mnchen-3ya.de", "password": "0123456789"},
    )
    assert r.status_code == 409 and list(r.get_json()["errors"]["json"]) == ["email"]


def test_the_openapi_document_still_says_email(client):
    spec = client.get("/api/openapi.json").get_json()
    assert spec["components"]["schemas"]["UserCreate"]["properties"]["email"]["format"] == "email"
