"""TOTP second factor: enrolment, sign-in in two steps, replay, recovery codes, lockout, the
mfa_token's limits, the admin policy and reset, and log hygiene. The TOTP clock is frozen
(sequoalpha.accounts.totp.now), so every code is computed for a known instant."""

import logging

import pyotp
import pytest
from sqlalchemy import select

from sequoalpha.accounts import totp
from sequoalpha.accounts.lockout import LOCK_AFTER
from sequoalpha.extensions import db
from sequoalpha.models import OutboxMessage
from support.api import PASSWORD, login

T0 = 1_900_000_020.0  # the start of a 30-second step


@pytest.fixture
def clock(monkeypatch):
    """The frozen TOTP clock: clock.t is "now"; move it with clock.t += seconds."""

    class Clock:
        t = T0

    monkeypatch.setattr(totp, "now", lambda: Clock.t)
    return Clock


def code_at(secret, t, steps=0):
    return pyotp.TOTP(secret).at(t + steps * 30)


def enrol(client, headers, clock):
    """Enrol TOTP for the signed-in user; returns (secret, recovery codes). Uses the previous
    step's code, so that codes of the current step are still unused."""
    start = client.post("/api/me/mfa/totp", headers=headers)
    assert start.status_code == 200, start.get_json()
    secret = start.get_json()["secret"]
    confirm = client.post("/api/me/mfa/totp/confirm", headers=headers, json={"code": code_at(secret, clock.t, -1)})
    assert confirm.status_code == 200, confirm.get_json()
    return secret, confirm.get_json()["recovery_codes"]


def first_step(client, username="client1", password=PASSWORD):
    response = client.post("/api/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def audit_actions(client, admin_headers):
    return [e["action"] for e in client.get("/api/admin/audit?per_page=100", headers=admin_headers).get_json()["items"]]


def test_enrolment_answers_secret_uri_and_a_qr_code_and_stays_pending(client, user_headers, clock):
    body = client.post("/api/me/mfa/totp", headers=user_headers).get_json()
    assert set(body) == {"secret", "otpauth_uri", "qr_svg"}
    assert body["otpauth_uri"].startswith("otpauth://totp/SequoAlpha:client1?secret=" + body["secret"])
    assert (
        body["qr_svg"].startswith("<svg")
        and "</svg>" in body["qr_svg"]
        and "http" not in body["qr_svg"].split("xmlns")[0]
    )
    me = client.get("/api/me", headers=user_headers).get_json()
    assert me["mfa"] == {"totp": False, "passkeys": 0}
    # Pending: the password alone still signs in.
    assert "access_token" in first_step(client)
    # A wrong confirmation code does not turn it on.
    wrong = client.post("/api/me/mfa/totp/confirm", headers=user_headers, json={"code": "000000"})
    assert wrong.status_code == 422 and wrong.get_json()["errors"]["json"]["code"]
    codes = client.post(
        "/api/me/mfa/totp/confirm", headers=user_headers, json={"code": code_at(body["secret"], clock.t)}
    ).get_json()["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert client.get("/api/me", headers=user_headers).get_json()["mfa"] == {"totp": True, "passkeys": 0}
    # The secret is never shown again, and an active factor cannot be replaced without turning it off.
    again = client.post("/api/me/mfa/totp", headers=user_headers)
    assert again.status_code == 409 and body["secret"] not in again.get_data(as_text=True)


def test_secret_is_stored_encrypted(app, client, user_headers, clock):
    secret, _codes = enrol(client, user_headers, clock)
    from sequoalpha.extensions import db
    from sequoalpha.models import RecoveryCode, TotpFactor

    with app.app_context():
        row = db.session.scalars(db.select(TotpFactor)).one()
        assert secret not in row.secret_encrypted and totp.decrypt_secret(row) == secret
        hashes = db.session.scalars(db.select(RecoveryCode.code_hash)).all()
        assert len(hashes) == 10 and all(len(h) == 64 for h in hashes)


def test_sign_in_in_two_steps_and_a_code_works_once(app, client, user_headers, clock):
    secret, _codes = enrol(client, user_headers, clock)
    client = app.test_client()  # a browser with no cookies yet
    answer = first_step(client)
    assert answer["mfa_required"] is True and answer["methods"] == ["totp", "recovery_code"]
    assert "access_token" not in answer and "refresh_token" not in answer
    assert (
        client.get_cookie("access_token_cookie", path="/api/") is None
        and client.get_cookie("refresh_token_cookie", path="/api/token/refresh") is None
    )
    code = code_at(secret, clock.t)
    done = client.post("/api/login/mfa", json={"mfa_token": answer["mfa_token"], "code": code})
    assert done.status_code == 200
    body = done.get_json()
    assert body["user"]["username"] == "client1" and body["user"]["mfa"]["totp"] is True
    assert client.get_cookie("access_token_cookie", path="/api/") is not None
    me = client.get("/api/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    # The same code again, with a fresh mfa_token: refused (replay), and so is the used token.
    second = first_step(client)
    replay = client.post("/api/login/mfa", json={"mfa_token": second["mfa_token"], "code": code})
    assert replay.status_code == 401
    used = client.post("/api/login/mfa", json={"mfa_token": answer["mfa_token"], "code": code_at(secret, clock.t, 1)})
    assert used.status_code == 401
    # An older step's code is refused too once a later one was accepted.
    assert (
        client.post(
            "/api/login/mfa", json={"mfa_token": second["mfa_token"], "code": code_at(secret, clock.t, -1)}
        ).status_code
        == 401
    )
    # The next step's code (within the drift) works.
    ok = client.post("/api/login/mfa", json={"mfa_token": second["mfa_token"], "code": code_at(secret, clock.t, 1)})
    assert ok.status_code == 200


def test_drift_is_one_step_either_way(client, user_headers, clock):
    secret, _codes = enrol(client, user_headers, clock)
    clock.t += 300  # later steps than the one used at enrolment
    for steps, status in ((2, 401), (-2, 401), (1, 200)):
        answer = first_step(client)
        response = client.post(
            "/api/login/mfa", json={"mfa_token": answer["mfa_token"], "code": code_at(secret, clock.t, steps)}
        )
        assert response.status_code == status, steps


def test_recovery_codes_work_once_each_and_can_be_renewed(client, user_headers, clock):
    secret, codes = enrol(client, user_headers, clock)
    answer = first_step(client)
    # Case and spaces do not matter; the code is single-use.
    typed = "  " + codes[0].upper() + " "
    assert client.post("/api/login/mfa", json={"mfa_token": answer["mfa_token"], "code": typed}).status_code == 200
    answer = first_step(client)
    assert client.post("/api/login/mfa", json={"mfa_token": answer["mfa_token"], "code": codes[0]}).status_code == 401
    assert client.post("/api/login/mfa", json={"mfa_token": answer["mfa_token"], "code": codes[1]}).status_code == 200
    # A new set (needs a current code) replaces the old one entirely.
    wrong = client.post("/api/me/mfa/recovery-codes", headers=user_headers, json={"code": "123456"})
    assert wrong.status_code == 422
    fresh = client.post("/api/me/mfa/recovery-codes", headers=user_headers, json={"code": code_at(secret, clock.t)})
    assert fresh.status_code == 200
    new_codes = fresh.get_json()["recovery_codes"]
    assert len(new_codes) == 10 and not set(new_codes) & set(codes)
    answer = first_step(client)
    assert client.post("/api/login/mfa", json={"mfa_token": answer["mfa_token"], "code": codes[2]}).status_code == 401
    assert (
        client.post("/api/login/mfa", json={"mfa_token": answer["mfa_token"], "code": new_codes[0]}).status_code == 200
    )


def test_wrong_codes_and_passwords_share_one_lock(client, user_headers, clock, make_user):
    make_user("admin", is_admin=True)
    admin_headers = login(client, "admin")
    secret, _codes = enrol(client, user_headers, clock)
    # Two wrong passwords, then wrong codes: the fifth failure in a row locks the account.
    for _ in range(2):
        assert client.post("/api/login", json={"username": "client1", "password": "not it"}).status_code == 401
    answer = first_step(client)  # a right password does not reset the count for an account with a factor
    for _ in range(LOCK_AFTER - 2 - 1):
        assert (
            client.post("/api/login/mfa", json={"mfa_token": answer["mfa_token"], "code": "000000"}).status_code == 401
        )
    last = client.post("/api/login/mfa", json={"mfa_token": answer["mfa_token"], "code": "000000"})
    assert last.status_code == 401
    # Locked now: even the right code is refused with 429, and so is the password.
    right = client.post("/api/login/mfa", json={"mfa_token": answer["mfa_token"], "code": code_at(secret, clock.t)})
    assert right.status_code == 429 and int(right.headers["Retry-After"]) > 0
    assert client.post("/api/login", json={"username": "client1", "password": PASSWORD}).status_code == 429
    actions = audit_actions(client, admin_headers)
    assert actions.count("mfa_failed") >= LOCK_AFTER - 2
    assert "login_failed" in actions


def test_mfa_token_is_no_session_token_and_expires(app, client, user_headers, clock):
    secret, _codes = enrol(client, user_headers, clock)
    token = first_step(client)["mfa_token"]
    for path in ("/api/me", "/api/documents"):
        assert client.get(path, headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert client.post("/api/token/refresh", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    # An access token is no mfa_token either.
    access = user_headers["Authorization"].split()[1]
    assert (
        client.post("/api/login/mfa", json={"mfa_token": access, "code": code_at(secret, clock.t)}).status_code == 401
    )
    # After MFA_TOKEN_SECONDS the token is refused, even with the right code.
    clock.t += app.config["MFA_TOKEN_SECONDS"] + 1
    late = client.post("/api/login/mfa", json={"mfa_token": token, "code": code_at(secret, clock.t)})
    assert late.status_code == 401 and "expired" in late.get_json()["message"]
    # A tampered token is refused.
    fresh = first_step(client)["mfa_token"]
    tampered = fresh[:-3] + ("AAA" if not fresh.endswith("AAA") else "BBB")
    assert (
        client.post("/api/login/mfa", json={"mfa_token": tampered, "code": code_at(secret, clock.t)}).status_code == 401
    )


def test_a_password_change_ends_pending_mfa_tokens(client, user_headers, clock):
    secret, _codes = enrol(client, user_headers, clock)
    token = first_step(client)["mfa_token"]
    changed = client.post(
        "/api/me/password",
        headers=user_headers,
        json={"current_password": PASSWORD, "new_password": "another long password"},
    )
    assert changed.status_code == 204
    assert client.post("/api/login/mfa", json={"mfa_token": token, "code": code_at(secret, clock.t)}).status_code == 401


def test_turning_totp_off_needs_the_password_and_a_code(client, user_headers, clock):
    secret, _codes = enrol(client, user_headers, clock)
    wrong_password = client.delete(
        "/api/me/mfa", headers=user_headers, json={"password": "not it", "code": code_at(secret, clock.t)}
    )
    assert wrong_password.status_code == 422 and "password" in wrong_password.get_json()["errors"]["json"]
    wrong_code = client.delete("/api/me/mfa", headers=user_headers, json={"password": PASSWORD, "code": "111111"})
    assert wrong_code.status_code == 422 and "code" in wrong_code.get_json()["errors"]["json"]
    assert (
        client.delete(
            "/api/me/mfa", headers=user_headers, json={"password": PASSWORD, "code": code_at(secret, clock.t)}
        ).status_code
        == 204
    )
    assert client.get("/api/me", headers=user_headers).get_json()["mfa"]["totp"] is False
    assert "access_token" in first_step(client)  # the password alone again
    assert (
        client.delete(
            "/api/me/mfa", headers=user_headers, json={"password": PASSWORD, "code": code_at(secret, clock.t, 1)}
        ).status_code
        == 409
    )


@pytest.fixture
def strict_admins(app_config):
    """Admins must enrol (as in production); requested before `app` so the app is built with it."""
    app_config["MFA_REQUIRED_FOR_ADMINS"] = True
    return app_config


def test_policy_admin_without_factor_gets_403_until_enrolled(strict_admins, client, make_user, clock):
    make_user("admin", is_admin=True)
    make_user("client1")
    headers = login(client, "admin")
    refused = client.get("/api/admin/users", headers=headers)
    assert refused.status_code == 403
    assert refused.get_json()["reason"] == "mfa_enrolment_required" and refused.get_json()["message"]
    # Non-admin routes and enrolment itself stay open.
    assert client.get("/api/documents", headers=headers).status_code == 200
    enrol(client, headers, clock)
    assert client.get("/api/admin/users", headers=headers).status_code == 200
    # A client is unaffected by the admin policy.
    assert client.get("/api/documents", headers=login(client, "client1")).status_code == 200


def test_policy_is_off_by_default_outside_production(app):
    assert app.config["MFA_REQUIRED_FOR_ADMINS"] is False
    assert app.config["MFA_TOKEN_SECONDS"] == 300


def test_admin_reset_removes_every_factor_and_is_audited(client, make_user, clock):
    make_user("admin", is_admin=True)
    user_id = make_user("client1")
    admin_headers = login(client, "admin")
    user_headers = login(client, "client1")
    enrol(client, user_headers, clock)
    assert client.delete(f"/api/admin/users/{user_id}/mfa", headers=user_headers).status_code == 403
    assert client.delete(f"/api/admin/users/{user_id}/mfa", headers=admin_headers).status_code == 204
    with client.application.app_context():
        told = db.session.execute(select(OutboxMessage.to, OutboxMessage.kind, OutboxMessage.text_body)).all()
    assert [(to, kind) for to, kind, _ in told] == [("client1@example.com", "mfa_reset")]
    assert "/frontend/security.html" in told[0][2]
    assert client.get(f"/api/admin/users/{user_id}", headers=admin_headers).get_json()["mfa"] == {
        "totp": False,
        "passkeys": 0,
    }
    assert "access_token" in first_step(client)
    event = client.get("/api/admin/audit?action=mfa_reset", headers=admin_headers).get_json()["items"][0]
    assert event["target_user_id"] == user_id and event["actor"]["username"] == "admin"
    # Not on oneself (that needs the password and a code), and 404 for nobody.
    me = client.get("/api/me", headers=admin_headers).get_json()["id"]
    assert client.delete(f"/api/admin/users/{me}/mfa", headers=admin_headers).status_code == 409
    assert client.delete("/api/admin/users/999999/mfa", headers=admin_headers).status_code == 404


def test_audit_names_the_sign_in_method(client, make_user, clock):
    make_user("admin", is_admin=True)
    make_user("client1")
    admin_headers = login(client, "admin")
    user_headers = login(client, "client1")
    secret, codes = enrol(client, user_headers, clock)
    for code in (code_at(secret, clock.t), codes[0]):
        token = first_step(client)["mfa_token"]
        assert client.post("/api/login/mfa", json={"mfa_token": token, "code": code}).status_code == 200
    events = client.get("/api/admin/audit?action=login&per_page=100", headers=admin_headers).get_json()["items"]
    methods = [e["detail"].get("method") for e in events]
    assert methods[:2] == ["recovery_code", "totp"] and "password" in methods
    assert "mfa_enabled" in audit_actions(client, admin_headers)


def test_codes_secrets_and_mfa_tokens_stay_out_of_logs(client, user_headers, clock, caplog):
    caplog.set_level(logging.DEBUG)
    start = client.post("/api/me/mfa/totp", headers=user_headers).get_json()
    secret = start["secret"]
    first_code = code_at(secret, clock.t)
    codes = client.post("/api/me/mfa/totp/confirm", headers=user_headers, json={"code": first_code}).get_json()[
        "recovery_codes"
    ]
    token = first_step(client)["mfa_token"]
    client.post("/api/login/mfa", json={"mfa_token": token, "code": "999999"})
    second_code = code_at(secret, clock.t, 1)
    client.post("/api/login/mfa", json={"mfa_token": token, "code": second_code})
    token2 = first_step(client)["mfa_token"]
    client.post("/api/login/mfa", json={"mfa_token": token2, "code": codes[3]})
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "audit action=login " in logged  # the log is being kept
    for value in [
        secret,
        token,
        token2,
        first_code,
        second_code,
        "999999",
        *codes,
        codes[3].replace("-", ""),
        start["otpauth_uri"],
    ]:
        assert value not in logged, value


def test_bad_input_is_a_json_error(client, user_headers):
    for body in ({}, {"code": ""}, {"code": "1" * 41}, {"code": "12\n3456"}):
        r = client.post("/api/me/mfa/totp/confirm", headers=user_headers, json=body)
        assert r.status_code == 422 and r.get_json()["code"] == 422
    # Confirming with nothing pending.
    assert client.post("/api/me/mfa/totp/confirm", headers=user_headers, json={"code": "123456"}).status_code == 409
    for body in ({"mfa_token": "x", "code": "123456"}, {"mfa_token": "a.b.c", "code": "123456"}):
        r = client.post("/api/login/mfa", json=body)
        assert r.status_code == 401 and r.get_json()["message"]
