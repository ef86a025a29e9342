"""Passkeys through the API, with a software authenticator (P-256, "none" attestation) that
answers the options the app hands out: registration, listing, removal, sign-in without a
username, and what must be refused (another origin, a spent challenge, a counter going back,
someone else's passkey). Real Chromium does the same in tests/browser/test_mfa.py."""

import base64
import hashlib
import json
import os

import cbor2
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from support.api import login

ORIGIN = "https://portal.example.com"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SoftAuthenticator:
    """One discoverable P-256 credential, with user presence and verification."""

    FLAGS = 0x01 | 0x04  # UP | UV

    def __init__(self, rp_id="portal.example.com"):
        self.rp_id = rp_id
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(32)
        self.user_handle = None
        self.count = 0

    def _cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})

    def _client_data(self, kind, challenge, origin) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": False}).encode()

    def create(self, options, origin=ORIGIN) -> dict:
        self.user_handle = options["user"]["id"]
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        auth_data = (
            hashlib.sha256(self.rp_id.encode()).digest()
            + bytes([self.FLAGS | 0x40])
            + self.count.to_bytes(4, "big")
            + bytes(16)
            + len(self.credential_id).to_bytes(2, "big")
            + self.credential_id
            + self._cose_key()
        )
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {
            "id": b64url(self.credential_id),
            "rawId": b64url(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "attestationObject": b64url(attestation),
                "transports": ["internal"],
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }

    def get(self, options, origin=ORIGIN, count_step=1) -> dict:
        self.count += count_step
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        auth_data = hashlib.sha256(self.rp_id.encode()).digest() + bytes([self.FLAGS]) + self.count.to_bytes(4, "big")
        signature = self.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return {
            "id": b64url(self.credential_id),
            "rawId": b64url(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(auth_data),
                "signature": b64url(signature),
                "userHandle": self.user_handle,
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }


@pytest.fixture
def app_config(app_config):
    app_config["PUBLIC_URL"] = ORIGIN
    return app_config


def register(client, headers, authenticator, name="Laptop"):
    options = client.post("/api/me/passkeys/options", headers=headers).get_json()
    return client.post(
        "/api/me/passkeys", headers=headers, json={"credential": authenticator.create(options), "name": name}
    )


def passkey_sign_in(client, authenticator, **kw):
    options = client.post("/api/login/passkey/options").get_json()
    return client.post("/api/login/passkey", json={"credential": authenticator.get(options, **kw)})


def test_registration_options_follow_the_contract(client, user_headers):
    options = client.post("/api/me/passkeys/options", headers=user_headers).get_json()
    assert options["rp"] == {"id": "portal.example.com", "name": "SequoAlpha"}
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["user"]["name"] == "client1" and "client1" not in unb64url(options["user"]["id"]).decode("latin-1")
    assert options["excludeCredentials"] == [] and len(unb64url(options["challenge"])) >= 32
    request = client.post("/api/login/passkey/options").get_json()
    assert request["rpId"] == "portal.example.com" and request["userVerification"] == "required"
    assert request.get("allowCredentials", []) == []


def test_register_list_sign_in_and_remove(app, client, user_headers, make_user):
    make_user("admin", is_admin=True)
    admin_headers = login(client, "admin")
    key = SoftAuthenticator()
    created = register(client, user_headers, key, name="  Work laptop ")
    assert created.status_code == 201, created.get_json()
    passkey = created.get_json()
    assert passkey["name"] == "Work laptop" and set(passkey) == {"id", "name", "created_at", "last_used_at"}
    assert client.get("/api/me", headers=user_headers).get_json()["mfa"] == {"totp": False, "passkeys": 1}
    # The existing passkey is excluded from the next registration.
    options = client.post("/api/me/passkeys/options", headers=user_headers).get_json()
    assert [c["id"] for c in options["excludeCredentials"]] == [b64url(key.credential_id)]
    # The password now asks for the second step, with the passkey as the method.
    step = client.post("/api/login", json={"username": "client1", "password": "correct horse battery staple"})
    assert step.get_json()["mfa_required"] is True and step.get_json()["methods"] == ["passkey"]
    # Sign in with the passkey alone: no username.
    browser = app.test_client()
    signed = passkey_sign_in(browser, key)
    assert signed.status_code == 200, signed.get_json()
    assert signed.get_json()["user"]["username"] == "client1"
    assert browser.get_cookie("access_token_cookie", path="/api/") is not None
    listed = client.get("/api/me/passkeys", headers=user_headers).get_json()
    assert [p["id"] for p in listed] == [passkey["id"]] and listed[0]["last_used_at"]
    # Nobody else can see or remove it.
    other = login(client, "admin")
    assert client.get("/api/me/passkeys", headers=other).get_json() == []
    assert client.delete(f"/api/me/passkeys/{passkey['id']}", headers=other).status_code == 404
    assert client.delete(f"/api/me/passkeys/{passkey['id']}", headers=user_headers).status_code == 204
    assert client.delete(f"/api/me/passkeys/{passkey['id']}", headers=user_headers).status_code == 404
    assert passkey_sign_in(app.test_client(), key).status_code == 401
    events = client.get("/api/admin/audit?per_page=100", headers=admin_headers).get_json()["items"]
    actions = [e["action"] for e in events]
    assert {"passkey_added", "passkey_removed"} <= set(actions)
    login_methods = [e["detail"].get("method") for e in events if e["action"] == "login"]
    assert "passkey" in login_methods


def test_failed_verification_is_refused(app, client, user_headers):
    key = SoftAuthenticator()
    # Registration from another origin, or answering a challenge twice: 400.
    options = client.post("/api/me/passkeys/options", headers=user_headers).get_json()
    foreign = client.post(
        "/api/me/passkeys",
        headers=user_headers,
        json={"credential": key.create(options, origin="https://evil.example"), "name": "x"},
    )
    assert foreign.status_code == 400 and foreign.get_json()["code"] == 400
    again = client.post("/api/me/passkeys", headers=user_headers, json={"credential": key.create(options), "name": "x"})
    assert again.status_code == 400  # that challenge was spent by the failed attempt
    bad_shapes = [{}, {"response": "x"}, {"id": "x", "response": {"clientDataJSON": "%%%"}}]
    for credential in bad_shapes:
        r = client.post("/api/me/passkeys", headers=user_headers, json={"credential": credential, "name": "x"})
        assert r.status_code == 400, credential
    assert register(client, user_headers, key).status_code == 201
    assert register(client, user_headers, key).status_code in (400, 409)
    # Sign-in failures answer exactly like a wrong password.
    wrong_password = client.post("/api/login", json={"username": "client1", "password": "not the password"}).get_json()
    for attempt in (
        lambda c: passkey_sign_in(c, key, origin="https://evil.example"),
        lambda c: passkey_sign_in(c, SoftAuthenticator()),
        lambda c: c.post("/api/login/passkey", json={"credential": {"id": "x"}}),
    ):
        r = attempt(app.test_client())
        assert r.status_code == 401 and r.get_json() == wrong_password
    # A spent challenge cannot be answered again.
    options = client.post("/api/login/passkey/options").get_json()
    assertion = key.get(options)
    assert client.post("/api/login/passkey", json={"credential": assertion}).status_code == 200
    assert client.post("/api/login/passkey", json={"credential": assertion}).status_code == 401


def test_a_sign_counter_going_back_is_refused(app, client, user_headers):
    key = SoftAuthenticator()
    assert register(client, user_headers, key).status_code == 201
    assert passkey_sign_in(app.test_client(), key, count_step=5).status_code == 200
    key.count = 2  # a cloned authenticator
    assert passkey_sign_in(app.test_client(), key).status_code == 401
    key.count = 5  # the same count again
    assert passkey_sign_in(app.test_client(), key, count_step=0).status_code == 401
    assert passkey_sign_in(app.test_client(), key).status_code == 200


def test_a_disabled_account_cannot_use_its_passkey(app, client, user_headers, make_user):
    make_user("admin", is_admin=True)
    key = SoftAuthenticator()
    assert register(client, user_headers, key).status_code == 201
    user_id = client.get("/api/me", headers=user_headers).get_json()["id"]
    assert (
        client.patch(
            f"/api/admin/users/{user_id}", headers=login(client, "admin"), json={"is_active": False}
        ).status_code
        == 200
    )
    assert passkey_sign_in(app.test_client(), key).status_code == 403


def test_admin_reset_removes_passkeys(app, client, user_headers, make_user):
    make_user("admin", is_admin=True)
    key = SoftAuthenticator()
    assert register(client, user_headers, key).status_code == 201
    user_id = client.get("/api/me", headers=user_headers).get_json()["id"]
    assert client.delete(f"/api/admin/users/{user_id}/mfa", headers=login(client, "admin")).status_code == 204
    assert client.get("/api/me/passkeys", headers=user_headers).get_json() == []
    assert passkey_sign_in(app.test_client(), key).status_code == 401


@pytest.fixture
def strict_admins(app_config):
    """Admins must enrol (as in production); requested before `app` so the app is built with it."""
    app_config["MFA_REQUIRED_FOR_ADMINS"] = True
    return app_config


def test_a_passkey_is_enough_for_the_admin_policy(strict_admins, client, make_user):
    make_user("admin", is_admin=True)
    headers = login(client, "admin")
    assert client.get("/api/admin/users", headers=headers).status_code == 403
    assert register(client, headers, SoftAuthenticator()).status_code == 201
    assert client.get("/api/admin/users", headers=headers).status_code == 200
